// Forward passes outside training: evaluating a labelled set (CPU reference), and logits for inputs
// the host supplies (prediction, the demo's drawing canvas, the report's gallery) on the GPU.
import { readFloat32 } from '../gpu/buffers.ts';
import { submitDispatches, type Dispatch } from '../gpu/program.ts';
import type { Dataset, Features } from '../data/dataset.ts';
import { applyAffine, type InputAffine } from '../data/standardize.ts';
import type { KernelContext } from '../kernels/context.ts';
import { classCount, inputSize } from '../model/spec.ts';
import { denseLayers } from '../model/tensors.ts';
import type { ReferenceMlp } from '../reference/mlp.ts';
import type { GpuParameters } from './gpu-model.ts';
import { allocateLayerBuffers, forwardDispatches, type EvalResult } from './plan.ts';

/**
 * Model inputs as f32 [rows, IN]: u8 features scaled by 1/255 (b / 255 in float64, then rounded:
 * the correctly rounded f32, exactly what the GPU's gather computes), f32 features as they are.
 */
export function modelInput(features: Features): Float32Array {
  if (features instanceof Float32Array) return features;
  const x = new Float32Array(features.length);
  for (let i = 0; i < x.length; i++) x[i] = features[i] / 255;
  return x;
}

/** Forward-only pass of the CPU reference over a labelled set, in batches; f32 features through `affine` when given. */
export function evaluateReference(mlp: ReferenceMlp, set: Dataset, batchSize: number, affine?: InputAffine): EvalResult {
  const B = Math.min(batchSize, set.count);
  const predictions = new Uint32Array(set.count);
  const IN = set.inputSize;
  const x = new Float32Array(B * IN);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < set.count; start += B) {
    const rows = Math.min(B, set.count - start);
    x.fill(0);
    const input = modelInput(set.features.subarray(start * IN, (start + rows) * IN));
    x.set(affine && set.features instanceof Float32Array ? applyAffine(input, affine) : input);
    const result = mlp.evaluate(x, set.labels.subarray(start, start + rows), B, rows);
    lossSum += result.lossSum;
    correct += result.correct;
    predictions.set(result.predictions.subarray(0, rows), start);
  }
  return { loss: lossSum / set.count, correct, count: set.count, accuracy: correct / set.count, predictions };
}

/**
 * Logits for host-supplied inputs, up to `capacity` rows per call, from a model's parameters on the
 * GPU: the input is written with queue.writeBuffer and the forward plan (built once) replayed.
 */
export class InferencePlan {
  private constructor(
    private readonly ctx: KernelContext,
    private readonly model: GpuParameters,
    readonly capacity: number,
    private readonly input: GPUBuffer,
    private readonly output: GPUBuffer,
    /** The forward pass, replayed for every call. */
    readonly dispatches: readonly Dispatch[],
  ) {}

  /** Buffers come from ctx.arena (freed with it). */
  static async create(ctx: KernelContext, model: GpuParameters, capacity: number): Promise<InferencePlan> {
    const layers = denseLayers(model.spec, model.layout);
    const buffers = allocateLayerBuffers(ctx.arena, layers, capacity, false, 'inference');
    const dispatches = await forwardDispatches(ctx, model, layers, buffers, { B: capacity, train: false, seed: 0, dropout: 0 });
    return new InferencePlan(ctx, model, capacity, buffers.x, buffers.a[layers.length - 1], dispatches);
  }

  /** x: f32 [rows, IN] (model inputs: pixels already / 255); returns logits [rows, C]. */
  async logits(x: Float32Array): Promise<Float32Array> {
    const IN = inputSize(this.model.spec);
    const rows = x.length / IN;
    if (!Number.isInteger(rows) || rows < 1 || rows > this.capacity) {
      throw new RangeError(`inference input of ${x.length} values is not 1..${this.capacity} rows of ${IN}`);
    }
    const { device } = this.ctx;
    device.queue.writeBuffer(this.input, 0, x);
    submitDispatches(device, this.dispatches, { label: 'inference' });
    return readFloat32(device, this.output, 0, rows * classCount(this.model.spec));
  }
}
