// What the page shows after (or during) training: test accuracy, the confusion matrix, and the
// test images the model gets most confidently wrong.
import type { ImageSet } from '../../../src/data/dataset.ts';
import { toModelInput } from '../../../src/data/preprocess.ts';
import { softmaxRows, type InferencePlan } from '../../../src/train/inference.ts';
import { confusionMatrix } from '../../../src/train/metrics.ts';
import type { EvalResult } from '../../../src/train/plan.ts';
import type { Analysis, GalleryItem } from '../protocol.ts';

/** Misclassified images shown. */
export const GALLERY_SIZE = 32;
/**
 * Mistakes whose probabilities are computed to rank the gallery (in test-set order). A trained model
 * makes a few hundred; an untrained one thousands, which need not all be ranked.
 */
const MAX_EXAMINED = 1024;

/** `inference` must hold the parameters that produced `result`. */
export async function analyse(
  source: string,
  result: EvalResult,
  test: ImageSet,
  inference: InferencePlan,
  classes: number,
): Promise<Analysis> {
  const confusion = confusionMatrix(result.predictions, test.labels, classes);
  const wrong: number[] = [];
  for (let i = 0; i < test.count; i++) if (result.predictions[i] !== test.labels[i]) wrong.push(i);
  const examined = wrong.slice(0, MAX_EXAMINED);
  const items: GalleryItem[] = [];
  const IN = test.inputSize;
  for (let start = 0; start < examined.length; start += inference.capacity) {
    const batch = examined.slice(start, start + inference.capacity);
    const x = new Float32Array(batch.length * IN);
    batch.forEach((index, r) => x.set(toModelInput(test.images.subarray(index * IN, (index + 1) * IN)), r * IN));
    const probabilities = softmaxRows(await inference.logits(x), batch.length, classes);
    batch.forEach((index, r) => {
      const predicted = result.predictions[index];
      items.push({
        index,
        image: test.images.slice(index * IN, (index + 1) * IN),
        label: test.labels[index],
        predicted,
        confidence: probabilities[r][predicted],
      });
    });
  }
  items.sort((a, b) => b.confidence - a.confidence);
  return {
    source,
    accuracy: result.accuracy,
    loss: result.loss,
    count: result.count,
    confusion,
    mistakes: wrong.length,
    gallery: items.slice(0, GALLERY_SIZE),
  };
}
