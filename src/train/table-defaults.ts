// Defaults that suit a table's size. The global defaults are MNIST's (50,000 training images: hold
// out the last 10,000, 20 epochs of batch 128); a CSV of 400 rows needs others: a validation
// fraction, a seeded random hold-out (tables are often sorted by class), smaller batches and enough
// epochs for the optimizer to take a few thousand steps. The CLI applies these to CSV data under the
// flags given explicitly; library users spread them under their own options:
//
//   createModel(gpu, { ...tableOptions(train, { hidden: [64, 32] }), lr: 3e-3 })
//
// The rule (README "Tables"), for a training set of N rows:
//   layers      [features, ...hidden, classes]            hidden default [64, 32]
//   valSplit    10,000 when N ≥ 50,000; else 0.2 (N ≥ 5); else 0 (no validation)
//   valShuffle  true                                        a seeded random hold-out
//   batchSize   32 up to 2,000 training rows, 64 up to 20,000, else 128
//   epochs      enough for 4,000 optimizer steps, at least 5 and at most 300
//   dropout     0 (small tables: early-stopping-free training keeps the best validation epoch anyway)
import type { TrainOptions } from './options.ts';

/** Hidden widths when a table model gets none. */
export const TABLE_HIDDEN: readonly number[] = [64, 32];
/** Optimizer steps the default epochs aim at. */
export const TABLE_STEPS = 4000;

/** What the defaults depend on: a training set's size, width and classes (a Dataset has them all). */
export interface TableShape {
  readonly count: number;
  readonly inputSize: number;
  readonly classes: number;
}

/** The validation split the table defaults hold out of `count` rows. */
export function tableValSplit(count: number): number {
  return count >= 50_000 ? 10_000 : count >= 5 ? 0.2 : 0;
}

/**
 * Training options for a table of `data`'s size (see the rule above): layers from its width and
 * classes with `hidden` between (default [64, 32]; [] for none), a validation fraction, batch size
 * and epochs. Spread them under options of your own.
 */
export function tableOptions(data: TableShape, options: { readonly hidden?: readonly number[] } = {}): Partial<TrainOptions> {
  const hidden = options.hidden ?? TABLE_HIDDEN;
  const valSplit = tableValSplit(data.count);
  const held = valSplit > 0 && valSplit < 1 ? Math.round(valSplit * data.count) : valSplit;
  const trainRows = Math.max(1, data.count - held);
  const batchSize = trainRows <= 2_000 ? 32 : trainRows <= 20_000 ? 64 : 128;
  const stepsPerEpoch = Math.ceil(trainRows / Math.min(batchSize, trainRows));
  const epochs = Math.min(300, Math.max(5, Math.ceil(TABLE_STEPS / stepsPerEpoch)));
  return {
    layers: [data.inputSize, ...hidden, data.classes],
    valSplit,
    valShuffle: true,
    batchSize,
    epochs,
    dropout: 0,
  };
}
