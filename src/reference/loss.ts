// CPU reference of the losses on the last layer's output z [B, C], over the first `rows` rows of
// the batch (rows ≥ `rows` are padding: zero gradient, not counted). Both return the summed loss;
// the gradient is already of the mean (divided by rows), as the GPU step uses it.
import type { Loss } from '../model/spec.ts';

type Numbers = ArrayLike<number>;

export interface LossResult {
  /** Σ over valid rows of the per-row loss (mean = lossSum / rows). */
  lossSum: number;
  /** Valid rows whose argmax (lowest index on ties) equals the label. */
  correct: number;
  /** [B, C] d(lossSum / rows)/dz; rows ≥ `rows` are zero. */
  grad: Float64Array;
  /** [rows] argmax of each valid row. */
  predictions: Uint32Array;
}

function checkArgs(op: string, z: Numbers, labels: Numbers, B: number, C: number, rows: number): void {
  if (z.length < B * C) throw new Error(`${op}: outputs have ${z.length} elements, need B·C = ${B * C}`);
  if (!(Number.isInteger(rows) && rows >= 0 && rows <= B)) throw new Error(`${op}: rows must be an integer in [0, ${B}], found ${rows}`);
  if (labels.length < rows) throw new Error(`${op}: ${labels.length} labels for ${rows} rows`);
  for (let r = 0; r < rows; r++) {
    const y = labels[r];
    if (!(Number.isInteger(y) && y >= 0 && y < C)) throw new Error(`${op}: label ${y} of row ${r} is not a class in [0, ${C})`);
  }
}

/** Index of the largest of z[row·C .. row·C + C); ties go to the lowest index. */
export function argmaxRow(z: Numbers, row: number, C: number): number {
  let best = 0;
  for (let c = 1; c < C; c++) if (z[row * C + c] > z[row * C + best]) best = c;
  return best;
}

/**
 * The part both losses share: checks, and the argmax and correct count of every valid row. `rowLoss`
 * returns row r's loss and writes its gradient (already divided by rows) into grad[r·C .. r·C + C).
 */
function overRows(
  op: string,
  z: Numbers,
  labels: Numbers,
  B: number,
  C: number,
  rows: number,
  rowLoss: (base: number, y: number, best: number, grad: Float64Array) => number,
): LossResult {
  checkArgs(op, z, labels, B, C, rows);
  const grad = new Float64Array(B * C);
  const predictions = new Uint32Array(rows);
  let lossSum = 0;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const y = labels[r];
    const best = argmaxRow(z, r, C);
    predictions[r] = best;
    if (best === y) correct++;
    lossSum += rowLoss(r * C, y, best, grad);
  }
  return { lossSum, correct, grad, predictions };
}

/** Softmax cross-entropy on logits [B, C]: lossSum = Σ_r logsumexp(z_r) − z_r,y; grad = (softmax − onehot)/rows. */
export function softmaxCrossEntropy(logits: Numbers, labels: Numbers, B: number, C: number, rows = B): LossResult {
  return overRows('softmaxCrossEntropy', logits, labels, B, C, rows, (base, y, best, grad) => {
    const max = logits[base + best];
    let sumExp = 0;
    for (let c = 0; c < C; c++) sumExp += Math.exp(logits[base + c] - max);
    for (let c = 0; c < C; c++) {
      const p = Math.exp(logits[base + c] - max) / sumExp;
      grad[base + c] = (p - (c === y ? 1 : 0)) / rows;
    }
    return Math.log(sumExp) + (max - logits[base + y]); // logsumexp − z_y, the large terms cancelled first
  });
}

/** Squared error on one-hot targets: lossSum = Σ_r ½ Σ_c (z_rc − onehot_rc)²; grad = (z − onehot)/rows. */
export function meanSquaredError(outputs: Numbers, labels: Numbers, B: number, C: number, rows = B): LossResult {
  return overRows('meanSquaredError', outputs, labels, B, C, rows, (base, y, _best, grad) => {
    let loss = 0;
    for (let c = 0; c < C; c++) {
      const diff = outputs[base + c] - (c === y ? 1 : 0);
      loss += 0.5 * diff * diff;
      grad[base + c] = diff / rows;
    }
    return loss;
  });
}

export function lossFor(kind: Loss, outputs: Numbers, labels: Numbers, B: number, C: number, rows = B): LossResult {
  switch (kind) {
    case 'ce':
      return softmaxCrossEntropy(outputs, labels, B, C, rows);
    case 'mse':
      return meanSquaredError(outputs, labels, B, C, rows);
  }
}
