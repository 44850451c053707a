// What the report computes from a model rather than reads from the run directory: the predictions
// of every test sample (Model.predict: in batches, on the model's GPU or the CPU reference), and the
// hidden-unit activations of a few samples (Model.activations: the CPU reference, a handful of rows).
import type { Dataset, Model } from '../index.ts';
import { predictionsFromLogits, type Prediction } from './stats.ts';

export interface SetEvaluation {
  readonly device: 'gpu' | 'cpu';
  readonly predictions: Prediction[];
  readonly correct: number;
  readonly count: number;
  readonly seconds: number;
}

/** Prediction, confidence (float64 softmax of the logits) and correctness of every sample of `set`. */
export async function evaluateSet(model: Model, set: Dataset): Promise<SetEvaluation> {
  const started = performance.now();
  const { logits, classes } = await model.predict(set);
  const predictions = predictionsFromLogits(logits, set.labels, classes);
  return {
    device: model.device,
    predictions,
    correct: predictions.filter((p) => p.predicted === p.label).length,
    count: set.count,
    seconds: (performance.now() - started) / 1000,
  };
}

export interface SampleActivations {
  /** Indices into the set. */
  readonly indices: readonly number[];
  /** hidden[l] [samples, OUT_l]: post-activation outputs of hidden layer l (no dropout). */
  readonly hidden: Float64Array[];
  /** [samples, C] softmax of the logits. */
  readonly probabilities: Float64Array;
}

/** Every layer's outputs for the samples of `set` at `indices` (the CPU reference, float64). */
export async function sampleActivations(model: Model, set: Dataset, indices: readonly number[]): Promise<SampleActivations> {
  const C = model.classes;
  if (indices.length === 0) return { indices, hidden: model.spec.layers.slice(1, -1).map(() => new Float64Array(0)), probabilities: new Float64Array(0) };
  const a = await model.activations(set.select(indices, 'samples').features);
  const logits = a[a.length - 1];
  const probabilities = new Float64Array(logits.length);
  for (let r = 0; r < indices.length; r++) {
    const row = logits.subarray(r * C, (r + 1) * C);
    const max = Math.max(...row);
    const e = row.map((z) => Math.exp(z - max));
    const sum = e.reduce((s, v) => s + v, 0);
    probabilities.set(e.map((v) => v / sum), r * C);
  }
  return { indices, hidden: a.slice(0, -1), probabilities };
}
