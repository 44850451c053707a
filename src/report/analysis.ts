// What the report computes from a model rather than reads from the run directory: the logits of
// every test image (on the GPU when there is one, else the CPU reference), and the hidden-unit
// activations of a few sample images (the CPU reference: a handful of rows).
import type { ImageSet } from '../data/dataset.ts';
import type { GpuContext } from '../gpu/device.ts';
import { optimizerConfig } from '../model/optimizer.ts';
import { classCount, type ModelSpec } from '../model/spec.ts';
import { denseLayers } from '../model/tensors.ts';
import { ReferenceMlp } from '../reference/mlp.ts';
import { InferencePlan } from '../train/inference.ts';
import { evalBatchRows } from '../train/plan.ts';
import { predictionsFromLogits, type Prediction } from './stats.ts';

/** Rows per GPU inference batch, cut to fit one binding (no dispatch runs long: matmuls go in bands). */
const MAX_INFERENCE_ROWS = 1000;
/** Rows per CPU reference forward pass (float64 activations of 500 × 256 stay small). */
const CPU_BATCH_ROWS = 500;

export interface SetEvaluation {
  readonly device: 'gpu' | 'cpu';
  readonly predictions: Prediction[];
  readonly correct: number;
  readonly count: number;
  readonly seconds: number;
}

/** x [rows, IN] in [0, 1] (f32) for `rows` images starting at `start`. */
function inputRows(set: ImageSet, start: number, rows: number): Float32Array {
  const x = new Float32Array(rows * set.inputSize);
  const offset = start * set.inputSize;
  for (let i = 0; i < x.length; i++) x[i] = set.images[offset + i] / 255;
  return x;
}

/** Logits [count, C] of `params` over every image of `set`. */
export async function setLogits(spec: ModelSpec, params: Float32Array, set: ImageSet, gpu?: GpuContext): Promise<Float32Array | Float64Array> {
  const C = classCount(spec);
  if (!gpu) {
    const mlp = new ReferenceMlp(spec, optimizerConfig('sgd'), params);
    const logits = new Float64Array(set.count * C);
    for (let start = 0; start < set.count; start += CPU_BATCH_ROWS) {
      const rows = Math.min(CPU_BATCH_ROWS, set.count - start);
      const { a } = mlp.forward(inputRows(set, start, rows), rows, false);
      logits.set(a[a.length - 1], start * C);
    }
    return logits;
  }
  const capacity = evalBatchRows(gpu.device, denseLayers(spec), Math.min(MAX_INFERENCE_ROWS, set.count));
  const plan = await InferencePlan.create(gpu, spec, capacity);
  try {
    plan.model.writeParams(params);
    const logits = new Float32Array(set.count * C);
    for (let start = 0; start < set.count; start += capacity) {
      const rows = Math.min(capacity, set.count - start);
      logits.set(await plan.logits(inputRows(set, start, rows)), start * C);
    }
    return logits;
  } finally {
    plan.destroy();
  }
}

/** Prediction, confidence and correctness of every image of `set`. */
export async function evaluateSet(spec: ModelSpec, params: Float32Array, set: ImageSet, gpu?: GpuContext): Promise<SetEvaluation> {
  const started = performance.now();
  const logits = await setLogits(spec, params, set, gpu);
  const predictions = predictionsFromLogits(logits, set.labels, classCount(spec));
  return {
    device: gpu ? 'gpu' : 'cpu',
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

/** The CPU reference's forward pass over a few images of `set`. */
export function sampleActivations(spec: ModelSpec, params: Float32Array, set: ImageSet, indices: readonly number[]): SampleActivations {
  const mlp = new ReferenceMlp(spec, optimizerConfig('sgd'), params);
  const x = new Float32Array(indices.length * set.inputSize);
  indices.forEach((index, r) => x.set(inputRows(set, index, 1), r * set.inputSize));
  const { a } = mlp.forward(x, indices.length, false);
  const C = classCount(spec);
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
