// What the page shows after (or during) training: test accuracy, the confusion matrix, and the
// test images the model gets most confidently wrong.
import type { Dataset, Model, Predictions } from 'webgpu-mlp';
import type { Analysis, GalleryItem, TableMistake } from '../protocol.ts';

/** Misclassified images shown. */
export const GALLERY_SIZE = 32;
/** Feature values shown per misclassified table row. */
const TABLE_VALUES = 8;
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
  test: Dataset,
  predict: (rows: Uint8Array | Float32Array) => Promise<Predictions>,
): Promise<Analysis> {
  const result = await model.evaluate(test);
  const wrong: number[] = [];
  for (let i = 0; i < test.count; i++) if (result.predictions[i] !== test.labels[i]) wrong.push(i);
  const examined = wrong.slice(0, MAX_EXAMINED);
  const items: GalleryItem[] = [];
  if (examined.length > 0) {
    const IN = test.inputSize;
    const rows = test.features instanceof Uint8Array ? new Uint8Array(examined.length * IN) : new Float32Array(examined.length * IN);
    examined.forEach((index, r) => rows.set(test.sample(index), r * IN));
    // predict scales the bytes by 1/255 as training does, and batches the rows itself.
    const { probabilities, classes } = await predict(rows);
    examined.forEach((index, r) => {
      const predicted = result.predictions[index];
      items.push({
        index,
        image: test.features instanceof Uint8Array ? (test.sample(index) as Uint8Array).slice() : new Uint8Array(0),
        label: test.labels[index],
        predicted,
        confidence: probabilities[r * classes + predicted],
      });
    });
  }
  items.sort((a, b) => b.confidence - a.confidence);
  const table = !test.isImage;
  const rows: TableMistake[] = table
    ? items.slice(0, GALLERY_SIZE).map(({ index, label, predicted, confidence }) => ({ index, label, predicted, confidence, values: [...test.sample(index).subarray(0, TABLE_VALUES)] }))
    : [];
  return {
    source,
    accuracy: result.accuracy,
    loss: result.loss,
    count: result.count,
    confusion: result.confusionMatrix,
    mistakes: wrong.length,
    gallery: table ? [] : items.slice(0, GALLERY_SIZE),
    ...(table ? { rows, classNames: Array.from({ length: model.classes }, (_, c) => model.className(c)) } : {}),
  };
}
