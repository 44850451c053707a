// What the page shows after (or during) training: test accuracy, the confusion matrix, and the
// test images the model gets most confidently wrong.
import type { Dataset, Model, Predictions } from 'webgpu-mlp';
import type { Analysis, GalleryItem } from '../protocol.ts';

/** Misclassified images shown. */
export const GALLERY_SIZE = 32;
/**
 * Mistakes whose probabilities are computed to rank the gallery (in test-set order). A trained model
 * makes a few hundred; an untrained one thousands, which need not all be ranked.
 */
const MAX_EXAMINED = 1024;

/**
 * Evaluates `model` on `test` and ranks its mistakes. `predict` runs model.predict (the worker
 * passes one that queues behind the drawing pad's predictions).
 */
export async function analyse(
  source: string,
  model: Model,
  test: Dataset<Uint8Array>,
  predict: (rows: Uint8Array) => Promise<Predictions>,
): Promise<Analysis> {
  const result = await model.evaluate(test);
  const wrong: number[] = [];
  for (let i = 0; i < test.count; i++) if (result.predictions[i] !== test.labels[i]) wrong.push(i);
  const examined = wrong.slice(0, MAX_EXAMINED);
  const items: GalleryItem[] = [];
  if (examined.length > 0) {
    const IN = test.inputSize;
    const rows = new Uint8Array(examined.length * IN);
    examined.forEach((index, r) => rows.set(test.sample(index), r * IN));
    // predict scales the bytes by 1/255 as training does, and batches the rows itself.
    const { probabilities, classes } = await predict(rows);
    examined.forEach((index, r) => {
      const predicted = result.predictions[index];
      items.push({
        index,
        image: test.sample(index).slice(),
        label: test.labels[index],
        predicted,
        confidence: probabilities[r * classes + predicted],
      });
    });
  }
  items.sort((a, b) => b.confidence - a.confidence);
  return {
    source,
    accuracy: result.accuracy,
    loss: result.loss,
    count: result.count,
    confusion: result.confusionMatrix,
    mistakes: wrong.length,
    gallery: items.slice(0, GALLERY_SIZE),
  };
}
