// Forward passes outside training: evaluating saved parameters on a labelled set (`eval`), and
// class probabilities for images the host supplies (`predict`, the demo's drawing canvas).
import { BufferArena } from '../gpu/arena.ts';
import { readFloat32 } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';
import { encodeDispatches, KernelCache, type Dispatch } from '../gpu/program.ts';
import type { ImageSet } from '../data/dataset.ts';
import type { KernelContext } from '../kernels/context.ts';
import { optimizerConfig } from '../model/optimizer.ts';
import { classCount, inputSize, type ModelSpec } from '../model/spec.ts';
import { denseLayers } from '../model/tensors.ts';
import { ReferenceMlp } from '../reference/mlp.ts';
import { uploadImageSet } from './gpu-data.ts';
import { GpuParameters } from './gpu-model.ts';
import { allocateLayerBuffers, EvalPlan, forwardDispatches, type EvalResult } from './plan.ts';

/** Row-wise softmax of logits [rows, C], in float64 on the host (a handful of rows). */
export function softmaxRows(logits: ArrayLike<number>, rows: number, C: number): Float64Array[] {
  return Array.from({ length: rows }, (_, r) => {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, logits[r * C + c]);
    const e = Float64Array.from({ length: C }, (_, c) => Math.exp(logits[r * C + c] - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  });
}

function kernelContext(gpu: GpuContext, arena: BufferArena, cache = new KernelCache(gpu.device)): KernelContext {
  return { device: gpu.device, cache, arena, adapterKind: gpu.report.kind };
}

/** Forward-only pass of the CPU reference over a labelled set, in batches. */
export function evaluateReference(mlp: ReferenceMlp, set: ImageSet, batchSize: number): EvalResult {
  const B = Math.min(batchSize, set.count);
  const predictions = new Uint32Array(set.count);
  const x = new Float64Array(B * set.inputSize);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < set.count; start += B) {
    const rows = Math.min(B, set.count - start);
    x.fill(0);
    for (let i = 0; i < rows * set.inputSize; i++) x[i] = set.images[start * set.inputSize + i] / 255;
    const result = mlp.evaluate(x, set.labels.subarray(start, start + rows), B, rows);
    lossSum += result.lossSum;
    correct += result.correct;
    predictions.set(result.predictions.subarray(0, rows), start);
  }
  return { loss: lossSum / set.count, correct, count: set.count, accuracy: correct / set.count, predictions };
}

/** Accuracy, loss and predictions of `params` on `set` (GPU when `gpu` is given, else the CPU reference). */
export async function evaluateParams(
  spec: ModelSpec,
  params: Float32Array,
  set: ImageSet,
  batchSize: number,
  gpu?: GpuContext,
): Promise<EvalResult> {
  if (!gpu) return evaluateReference(new ReferenceMlp(spec, optimizerConfig('sgd'), params), set, batchSize);
  const arena = new BufferArena(gpu.device);
  try {
    const model = new GpuParameters(arena, spec, 'sgd');
    model.writeParams(params);
    const plan = await EvalPlan.create(kernelContext(gpu, arena), spec, model, uploadImageSet(arena, set), batchSize);
    return await plan.run();
  } finally {
    arena.destroy();
  }
}

/**
 * Logits for host-supplied inputs, up to `capacity` rows per call: the input is written with
 * queue.writeBuffer and the forward plan (built once) replayed, so the demo can predict as the
 * user draws.
 */
export class InferencePlan {
  private constructor(
    private readonly gpu: GpuContext,
    private readonly arena: BufferArena,
    readonly model: GpuParameters,
    private readonly spec: ModelSpec,
    readonly capacity: number,
    private readonly input: GPUBuffer,
    private readonly output: GPUBuffer,
    private readonly dispatches: readonly Dispatch[],
  ) {}

  static async create(gpu: GpuContext, spec: ModelSpec, capacity: number, cache?: KernelCache): Promise<InferencePlan> {
    const arena = new BufferArena(gpu.device);
    const ctx = kernelContext(gpu, arena, cache);
    const model = new GpuParameters(arena, spec, 'sgd');
    const layers = denseLayers(spec, model.layout);
    const buffers = allocateLayerBuffers(arena, layers, capacity, false, 'inference');
    const dispatches = await forwardDispatches(ctx, model, layers, buffers, { B: capacity, train: false, seed: 0, dropout: 0 });
    return new InferencePlan(gpu, arena, model, spec, capacity, buffers.x, buffers.a[layers.length - 1], dispatches);
  }

  /** x: f32 [rows, IN] in [0, 1]; returns logits [rows, C]. */
  async logits(x: Float32Array): Promise<Float32Array> {
    const IN = inputSize(this.spec);
    const rows = x.length / IN;
    if (!Number.isInteger(rows) || rows < 1 || rows > this.capacity) {
      throw new RangeError(`inference input of ${x.length} values is not 1..${this.capacity} rows of ${IN}`);
    }
    const { device } = this.gpu;
    device.queue.writeBuffer(this.input, 0, x);
    const encoder = device.createCommandEncoder({ label: 'inference' });
    const pass = encoder.beginComputePass({ label: 'inference' });
    encodeDispatches(pass, this.dispatches);
    pass.end();
    device.queue.submit([encoder.finish()]);
    return readFloat32(device, this.output, 0, rows * classCount(this.spec));
  }

  destroy(): void {
    this.arena.destroy();
  }
}
