// Metrics derived from predictions, and the tabular forms runs are written in.
import type { EpochRecord } from './trainer.ts';

/** counts[true][predicted], C × C. */
export function confusionMatrix(predictions: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number[][] {
  const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) matrix[labels[i]][predictions[i]] += 1;
  return matrix;
}

/** Per-class recall (the diagonal over the row sums) of a confusion matrix. */
export function perClassAccuracy(matrix: number[][]): number[] {
  return matrix.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? 0 : row[c] / total;
  });
}

export const EPOCH_COLUMNS = [
  'epoch',
  'trainLoss',
  'trainAccuracy',
  'valLoss',
  'valAccuracy',
  'lr',
  'seconds',
  'samplesPerSecond',
  'evalSeconds',
] as const satisfies readonly (keyof EpochRecord)[];

function csvValue(value: number | undefined): string {
  return value === undefined ? '' : String(value);
}

export function epochsToCsv(history: readonly EpochRecord[]): string {
  const lines = [EPOCH_COLUMNS.join(',')];
  for (const record of history) lines.push(EPOCH_COLUMNS.map((column) => csvValue(record[column])).join(','));
  return lines.join('\n') + '\n';
}

export function epochsToJsonl(history: readonly EpochRecord[]): string {
  return history.map((record) => JSON.stringify(record)).join('\n') + (history.length ? '\n' : '');
}
