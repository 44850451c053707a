// The plans: what one training step and one evaluation batch dispatch, built once from the
// tensor table and replayed. Building creates every pipeline, buffer and bind group; replaying
// a step is a loop of setPipeline / setBindGroup / dispatchWorkgroups with no allocation.
import type { BufferArena } from '../gpu/arena.ts';
import { checkStorageBinding } from '../gpu/limits.ts';
import { encodeDispatches, type Dispatch } from '../gpu/program.ts';
import { StepParamsRing, type StepParams } from '../kernels/step-params.ts';
import { Readback } from '../gpu/buffers.ts';
import { biasGrad } from '../kernels/bias-grad.ts';
import type { KernelContext } from '../kernels/context.ts';
import { dropoutBackward, dropoutForward } from '../kernels/dropout.ts';
import { gatherBatch } from '../kernels/gather.ts';
import { denseLoss, denseLossFits, denseLossStep, denseLossStepFits, meanSquaredError, softmaxCrossEntropy } from '../kernels/loss.ts';
import { matmulForward, matmulInputGrad, matmulWeightGrad } from '../kernels/matmul.ts';
import { optimizerEpilogue, optimizerUpdate } from '../kernels/optimizer.ts';
import type { OptimizerConfig } from '../model/optimizer.ts';
import { classCount, type ModelSpec } from '../model/spec.ts';
import { denseLayers, type DenseLayer } from '../model/tensors.ts';
import type { GpuDataset } from './gpu-data.ts';
import type { GpuParameters } from './gpu-model.ts';

/** What the loss kernel writes per step (or per evaluation batch): struct { loss_sum: f32, correct: u32 }. */
export const RECORD_BYTES = 8;

export interface StepRecords {
  /** Sum of the per-sample losses of each step's batch. */
  readonly lossSum: Float32Array;
  readonly correct: Uint32Array;
}

/** A training readback: some steps' records, and the divergence flag. */
export interface TrainRecords extends StepRecords {
  /** The first step t whose loss was not finite, or 0 (later steps left the parameters unchanged). */
  readonly nonFiniteStep: number;
}

/**
 * Activations of one batch, per dense layer. a[l] is what layer l's matmul writes: A (after the
 * activation) or, where dropout is fused into it, H (after dropout; A itself is never stored). h[l]
 * is H written by a separate dropout dispatch (the unfused path), beside A in a[l].
 */
export interface LayerBuffers {
  readonly x: GPUBuffer; // [B, IN₀] the gathered batch
  readonly y: GPUBuffer; // [B] labels
  readonly a: GPUBuffer[]; // a[l]: [B, OUT_l]; for the last layer, the logits
  readonly h: (GPUBuffer | undefined)[]; // h[l]: [B, OUT_l], only where a separate dropout dispatch applies
}

/** `separateDropout`: allocate h[l] for the layers with dropout (a training plan that does not fuse it). */
export function allocateLayerBuffers(arena: BufferArena, layers: readonly DenseLayer[], B: number, separateDropout: boolean, prefix: string): LayerBuffers {
  return {
    x: arena.tensor(`${prefix} x`, B * layers[0].in * 4),
    y: arena.tensor(`${prefix} y`, B * 4),
    a: layers.map((layer) => arena.tensor(`${prefix} a${layer.index}`, B * layer.out * 4)),
    h: layers.map((layer) => (separateDropout && layer.dropout ? arena.tensor(`${prefix} h${layer.index}`, B * layer.out * 4) : undefined)),
  };
}

/** Values per row of the widest activation a batch holds: the input or some layer's output. */
function widestRow(layers: readonly DenseLayer[]): number {
  return Math.max(layers[0].in, ...layers.map((layer) => layer.out));
}

/** The most batch rows whose activations each fit one storage binding on this device. */
export function maxBatchRows(device: GPUDevice, layers: readonly DenseLayer[]): number {
  return Math.floor(device.limits.maxStorageBufferBindingSize / (4 * widestRow(layers)));
}

/** The input of dense layer l: the batch, or the previous layer's output after dropout. */
function layerInput(buffers: LayerBuffers, l: number): GPUBuffer {
  return l === 0 ? buffers.x : (buffers.h[l - 1] ?? buffers.a[l - 1]);
}

/**
 * Dispatches in recording order, their pipelines compiled concurrently: each kernel wrapper starts
 * its compile (createComputePipelineAsync) when it is called, and nothing is awaited until all are.
 */
class DispatchList {
  private readonly parts: Promise<Dispatch | Dispatch[]>[] = [];

  add(part: Promise<Dispatch | Dispatch[]>): void {
    part.catch(() => {}); // awaited in all(); this only keeps an early failure from being unhandled meanwhile
    this.parts.push(part);
  }

  async all(): Promise<Dispatch[]> {
    return (await Promise.all(this.parts)).flat();
  }
}

interface ForwardOptions {
  readonly B: number;
  readonly train: boolean;
  readonly seed: number;
  readonly dropout: number;
  /** Training with dropout: in the forward matmul's epilogue (default) or a separate dispatch into h[l]. */
  readonly fuseDropout?: boolean;
}

export async function forwardDispatches(
  ctx: KernelContext,
  model: GpuParameters,
  layers: readonly DenseLayer[],
  buffers: LayerBuffers,
  options: ForwardOptions,
  /** The StepParams ring: dropout reads the step t from it (training only). */
  step?: GPUBuffer,
): Promise<Dispatch[]> {
  const dispatches = new DispatchList();
  const fuse = options.fuseDropout ?? true;
  for (const layer of layers) {
    const { index: l, in: IN, out: OUT } = layer;
    const dropout = options.train && layer.dropout ? { seed: options.seed, layer: l, rate: options.dropout } : undefined;
    if (dropout && !step) throw new Error('a training forward pass with dropout needs the step params ring');
    dispatches.add(
      matmulForward(
        ctx,
        { x: layerInput(buffers, l), w: model.paramView(layer.weight), b: model.paramView(layer.bias), y: buffers.a[l], step },
        { B: options.B, IN, OUT, activation: layer.activation, dropout: fuse ? dropout : undefined },
      ),
    );
    if (dropout && !fuse) {
      const h = buffers.h[l];
      if (!h || !step) throw new Error(`layer ${l}: unfused dropout needs its h buffer (allocateLayerBuffers with separateDropout) and the step params ring`);
      dispatches.add(dropoutForward(ctx, { input: buffers.a[l], output: h, step }, { count: options.B * OUT, ...dropout }));
    }
  }
  return dispatches.all();
}

/** The batch gather of a plan: x and y from the dataset rows `indices` lists (the model's input standardization applied). */
function gatherDispatches(ctx: KernelContext, data: GpuDataset, model: GpuParameters, buffers: LayerBuffers, indices: GPUBuffer, step: GPUBuffer, B: number) {
  return gatherBatch(
    ctx,
    { features: data.features, labels: data.labels, indices, x: buffers.x, y: buffers.y, step, affine: model.inputAffine },
    { B, IN: data.inputSize, features: data.featureType },
  );
}

function lossKernel(spec: ModelSpec) {
  return spec.loss === 'ce' ? softmaxCrossEntropy : meanSquaredError;
}

export interface TrainPlanOptions {
  readonly batchSize: number;
  /** Steps encoded into one submit (each reads its own StepParams slot). */
  readonly stepsPerSubmit: number;
  /** Steps in an epoch: the capacity of the per-step records. */
  readonly stepsPerEpoch: number;
  /** Seeds the dropout masks. */
  readonly seed: number;
  /**
   * Dropout inside the matmul epilogues (default): the forward stores H in place of A and the input
   * grad masks its output, reading H. false: separate dropout dispatches, A and H both stored.
   */
  readonly fuseDropout?: boolean;
  /**
   * Each layer's bias gradient computed by extra workgroups of its weight-grad dispatch (default),
   * or by the separate bias_grad kernel (one more dispatch per layer).
   */
  readonly fuseBiasGrad?: boolean;
  /**
   * The output layer computed inside the loss dispatch (default, where denseLossFits its size), or
   * by its own matrix product before the loss.
   */
  readonly fuseOutputLayer?: boolean;
  /**
   * The optimizer step taken by each layer's weight grad as it computes the gradient (needs
   * fuseBiasGrad), or by a dispatch of its own after the backward pass, from stored gradients.
   * Default: fused on GPU adapters (one dispatch and one round trip of the gradients fewer); separate
   * on software adapters, where a step costs per-lane loads and stores and the epilogue's scalar ones
   * made the default model's step 8-11% slower than the separate kernel's vec4 ones (bench/RESULTS.md).
   */
  readonly fuseOptimizer?: boolean;
  /**
   * The output layer's backward pass and optimizer step inside the loss dispatch too, after its
   * forward (kernels/loss.ts, denseLossStep): two dispatches fewer per step. Applies where the output
   * layer is fused (fuseOutputLayer), the optimizer step is (fuseOptimizer), dropout is, a layer lies
   * below, and the device has the storage bindings; default: wherever it applies.
   */
  readonly fuseOutputStep?: boolean;
}

/**
 * One training step, replayed: gather → dense layers (+ dropout) → loss (with the output layer, where
 * it is small, and then its backward pass and step too, where the step is fused) → backward, layer by
 * layer from the top: input grad, then weight grad with the optimizer step on that layer (or all
 * gradients first, then one optimizer dispatch).
 * Per step the host writes one StepParams slot; losses and correct counts accumulate in
 * `records` on the GPU and are read back only when the trainer asks.
 */
export class TrainPlan {
  private readonly ring: StepParamsRing;
  private readonly readback: Readback;
  /** The epoch whose step parameters the ring holds (planEpoch). */
  private planned: readonly StepParams[] | undefined;

  private constructor(
    private readonly ctx: KernelContext,
    readonly options: TrainPlanOptions,
    readonly dispatches: readonly Dispatch[],
    private readonly indices: GPUBuffer,
    readonly records: GPUBuffer,
    readonly status: GPUBuffer,
    ring: StepParamsRing,
  ) {
    this.ring = ring;
    this.readback = new Readback(ctx.device, 'train records');
  }

  static async create(
    ctx: KernelContext,
    spec: ModelSpec,
    optimizer: OptimizerConfig,
    model: GpuParameters,
    data: GpuDataset,
    options: TrainPlanOptions,
  ): Promise<TrainPlan> {
    const { arena } = ctx;
    const B = options.batchSize;
    const layers = denseLayers(spec, model.layout);
    const C = classCount(spec);
    checkStorageBinding(
      ctx.device,
      `a training batch of ${B}: its widest activation [${B}, ${widestRow(layers)}] (f32)`,
      B * widestRow(layers) * 4,
      `the largest batch size that fits is ${maxBatchRows(ctx.device, layers)}`,
    );
    const fuseDropout = options.fuseDropout ?? true;
    const fuseBiasGrad = options.fuseBiasGrad ?? true;
    // The step needs the bias gradient in the weight grad's dispatch: its row-sum workgroups step b.
    const fuseOptimizer = (options.fuseOptimizer ?? ctx.adapterKind === 'gpu') && fuseBiasGrad;
    const buffers = allocateLayerBuffers(arena, layers, B, !fuseDropout, 'train');
    // dZ_l [B, OUT_l]: gradient of the loss w.r.t. layer l's pre-activation.
    const dz = layers.map((layer) => arena.tensor(`train dz${layer.index}`, B * layer.out * 4));
    const indices = arena.tensor('train indices', data.count * 4);
    const records = arena.tensor('train records', options.stepsPerEpoch * RECORD_BYTES);
    const status = arena.tensor('train status', 16);
    // A slot per step of the epoch (step s reads slot s): an epoch's parameters go up in one write.
    const ring = new StepParamsRing(ctx.device, options.stepsPerEpoch, 'train step params');
    arena.adopt(ring.buffer);
    const step = ring.buffer;

    const last = layers[layers.length - 1];
    const lastHidden = layers.at(-2);
    // The output layer is always the identity without dropout (model/spec.ts).
    const fuseOutput = (options.fuseOutputLayer ?? true) && denseLossFits(last.in, last.out);
    const fuseOutputStep =
      fuseOutput &&
      fuseOptimizer &&
      lastHidden !== undefined &&
      (fuseDropout || !lastHidden.dropout) &&
      (options.fuseOutputStep ?? true) &&
      denseLossStepFits(ctx.device, last.in, last.out, model.state.length);

    const dispatches = new DispatchList();
    dispatches.add(gatherDispatches(ctx, data, model, buffers, indices, step, B));
    const forward = { B, train: true, seed: options.seed, dropout: spec.dropout, fuseDropout };
    dispatches.add(forwardDispatches(ctx, model, fuseOutput ? layers.slice(0, -1) : layers, buffers, forward, step));
    const lossIo = { logits: buffers.a[last.index], labels: buffers.y, grad: dz[last.index], records, status, step };
    const optimizerIo = { params: model.params, state: model.state, status, step };
    const optimizerDims = { count: model.layout.totalElements, weightsEnd: model.layout.weightsEnd, config: optimizer };
    const epilogue = fuseOptimizer ? optimizerEpilogue(ctx, optimizerIo, optimizerDims) : undefined;
    const update = (layer: DenseLayer) => epilogue && { optimizer: epilogue, weightsAt: layer.weight.offset, biasAt: layer.bias.offset };
    /** The dropout on layer l's output, whose mask the input grad of the layer above applies. */
    const dropoutOf = (l: number) => (layers[l].dropout ? { seed: options.seed, layer: l, rate: spec.dropout } : undefined);
    const outputUpdate = fuseOutputStep ? update(last) : undefined;
    dispatches.add(
      outputUpdate && lastHidden
        ? denseLossStep(
            ctx,
            spec.loss,
            { ...lossIo, x: layerInput(buffers, last.index), dz: dz[lastHidden.index] },
            { B, C, IN: last.in, activation: lastHidden.activation, dropout: dropoutOf(lastHidden.index) },
            outputUpdate,
          )
        : fuseOutput
        ? denseLoss(
            ctx,
            spec.loss,
            { ...lossIo, x: layerInput(buffers, last.index), w: model.paramView(last.weight), b: model.paramView(last.bias) },
            { B, C, IN: last.in },
          )
        : lossKernel(spec)(ctx, lossIo, { B, C, mode: 'train' }),
    );
    for (let l = layers.length - (fuseOutputStep ? 2 : 1); l >= 0; l--) {
      const layer = layers[l];
      // The input grad first: it reads W, which a fused optimizer step in the weight grad changes.
      if (l > 0) {
        const below = layers[l - 1];
        // dZ = (dZ_next·W) ⊙ act'(A) ⊙ mask/keep. Fused, the epilogue applies all of it, reading the
        // stored H (a[l − 1]) for A; unfused, the products commute, so dropout's backward scales the
        // matmul's output in place.
        const dropout = dropoutOf(l - 1);
        dispatches.add(
          matmulInputGrad(
            ctx,
            { dy: dz[l], w: model.paramView(layer.weight), a: buffers.a[l - 1], dx: dz[l - 1], step },
            { B, IN: layer.in, OUT: layer.out, activation: below.activation, dropout: fuseDropout ? dropout : undefined },
          ),
        );
        if (dropout && !fuseDropout) {
          dispatches.add(dropoutBackward(ctx, { input: dz[l - 1], output: dz[l - 1], step }, { count: B * below.out, ...dropout }));
        }
      }
      const db = model.gradView(layer.bias);
      dispatches.add(
        matmulWeightGrad(
          ctx,
          { dy: dz[l], x: layerInput(buffers, l), dw: model.gradView(layer.weight), db: fuseBiasGrad ? db : undefined, update: update(layer) },
          { B, IN: layer.in, OUT: layer.out },
        ),
      );
      if (!fuseBiasGrad) dispatches.add(biasGrad(ctx, { dy: dz[l], db }, { B, OUT: layer.out }));
    }
    if (!fuseOptimizer) dispatches.add(optimizerUpdate(ctx, { ...optimizerIo, grads: model.grads }, optimizerDims));
    return new TrainPlan(ctx, options, await dispatches.all(), indices, records, status, ring);
  }

  /** Sets the order in which this epoch visits the training set (a permutation of its indices). */
  setOrder(order: Uint32Array): void {
    this.ctx.device.queue.writeBuffer(this.indices, 0, order);
  }

  /**
   * Writes the parameters of every step of the coming epoch (steps[s] is step s) in one upload;
   * submits of these very step objects then write nothing. (Queue-ordered: steps of the previous
   * epoch still in flight read their parameters before this write lands.)
   */
  planEpoch(steps: readonly StepParams[]): void {
    if (steps.length > this.ring.slots) throw new RangeError(`${steps.length} steps in an epoch, the plan holds ${this.ring.slots}`);
    steps.forEach((step, s) => this.ring.set(s, step));
    this.ring.flush(steps.length);
    this.planned = steps;
  }

  /**
   * Encodes `steps` (at most stepsPerSubmit) into one command buffer and submits it. Step s of the
   * epoch (`record`) reads slot s; steps not given to planEpoch have their slots written first.
   */
  submit(steps: readonly StepParams[]): void {
    if (steps.length > this.options.stepsPerSubmit) throw new RangeError(`${steps.length} steps in one submit, the plan takes ${this.options.stepsPerSubmit}`);
    let first = Infinity;
    let last = -1;
    for (const step of steps) {
      const slot = step.record;
      if (!(slot >= 0 && slot < this.ring.slots)) throw new RangeError(`step record ${slot} outside the epoch's ${this.ring.slots} steps`);
      if (this.planned?.[slot] === step) continue;
      this.ring.set(slot, step);
      first = Math.min(first, slot);
      last = Math.max(last, slot);
    }
    if (last >= 0) this.ring.flushRange(first, last - first + 1);
    const encoder = this.ctx.device.createCommandEncoder({ label: 'train steps' });
    const pass = encoder.beginComputePass({ label: 'train steps' });
    for (const step of steps) encodeDispatches(pass, this.dispatches, step.record);
    pass.end();
    this.ctx.device.queue.submit([encoder.finish()]);
  }

  /**
   * Copies records [from, from + count) of the current epoch and the status now, behind the steps
   * submitted so far; the function returned waits for those steps and gives them back (Readback.request).
   */
  requestRecords(from: number, count: number): () => Promise<TrainRecords> {
    const take = this.readback.request([
      { source: this.records, offset: from * RECORD_BYTES, size: count * RECORD_BYTES },
      { source: this.status, offset: 0, size: 4 },
    ]);
    return async () => {
      const [records, status] = await take();
      return { ...recordsFrom(records), nonFiniteStep: new Uint32Array(status)[0] };
    };
  }

  clearStatus(): void {
    this.ctx.device.queue.writeBuffer(this.status, 0, new Uint32Array(4));
  }

  /** Frees the readback staging buffer (the arena that built the plan frees the rest). */
  destroy(): void {
    this.readback.destroy();
  }
}

function recordsFrom(bytes: ArrayBuffer): StepRecords {
  const n = bytes.byteLength / RECORD_BYTES;
  const f32 = new Float32Array(bytes);
  const u32 = new Uint32Array(bytes);
  const lossSum = new Float32Array(n);
  const correct = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    lossSum[i] = f32[2 * i];
    correct[i] = u32[2 * i + 1];
  }
  return { lossSum, correct };
}

export interface EvalResult {
  /** Mean loss over the set. */
  readonly loss: number;
  readonly correct: number;
  readonly count: number;
  readonly accuracy: number;
  /** Predicted class per sample, in the set's order. */
  readonly predictions: Uint32Array;
}

/**
 * Rows per evaluation batch: `requested`, cut to fit one storage binding. (No dispatch runs long
 * however large the batch: the matmuls cut themselves into bands of DISPATCH_MACS, kernels/matmul.ts.)
 */
export function evalBatchRows(device: GPUDevice, layers: readonly DenseLayer[], requested: number): number {
  return Math.max(1, Math.min(requested, maxBatchRows(device, layers)));
}

/** Forward-only evaluation of a GPU-resident set, in large batches, with no dropout. */
export class EvalPlan {
  private readonly readback: Readback;

  private constructor(
    private readonly ctx: KernelContext,
    private readonly data: GpuDataset,
    /** One batch: gather, forward, loss (replayed once per batch, each with its own step slot). */
    readonly dispatches: readonly Dispatch[],
    private readonly ring: StepParamsRing,
    private readonly records: GPUBuffer,
    private readonly predictions: GPUBuffer,
  ) {
    this.readback = new Readback(ctx.device, `${data.name} evaluation`);
  }

  static async create(ctx: KernelContext, spec: ModelSpec, model: GpuParameters, data: GpuDataset, batchSize: number): Promise<EvalPlan> {
    const { arena } = ctx;
    const layers = denseLayers(spec, model.layout);
    const B = evalBatchRows(ctx.device, layers, Math.min(batchSize, data.count));
    const batches = Math.ceil(data.count / B);
    const prefix = `eval ${data.name}`;
    const buffers = allocateLayerBuffers(arena, layers, B, false, prefix);
    const identity = Uint32Array.from({ length: data.count }, (_, i) => i);
    const indices = arena.tensorWithData(`${prefix} indices`, identity);
    const records = arena.tensor(`${prefix} records`, batches * RECORD_BYTES);
    const predictions = arena.tensor(`${prefix} predictions`, data.count * 4);
    // Every batch of a pass is one submit, so each needs its own slot.
    const ring = new StepParamsRing(ctx.device, batches, `${prefix} step params`);
    arena.adopt(ring.buffer);
    const step = ring.buffer;
    for (let batch = 0; batch < batches; batch++) {
      const start = batch * B;
      ring.set(batch, { t: 0, batchStart: start, rows: Math.min(B, data.count - start), record: batch, lr: 0 });
    }
    ring.flush();

    const last = layers[layers.length - 1];
    const dispatches = new DispatchList();
    dispatches.add(gatherDispatches(ctx, data, model, buffers, indices, step, B));
    dispatches.add(forwardDispatches(ctx, model, layers, buffers, { B, train: false, seed: 0, dropout: 0 }, step));
    dispatches.add(
      lossKernel(spec)(
        ctx,
        { logits: buffers.a[last.index], labels: buffers.y, predictions, records, step },
        { B, C: classCount(spec), mode: 'eval' },
      ),
    );
    return new EvalPlan(ctx, data, await dispatches.all(), ring, records, predictions);
  }

  async run(): Promise<EvalResult> {
    this.submit();
    return this.collect();
  }

  /** Queues a pass over the whole set. */
  submit(): void {
    const { device } = this.ctx;
    const encoder = device.createCommandEncoder({ label: `evaluate ${this.data.name}` });
    const pass = encoder.beginComputePass({ label: `evaluate ${this.data.name}` });
    for (let batch = 0; batch < this.ring.slots; batch++) encodeDispatches(pass, this.dispatches, batch);
    pass.end();
    device.queue.submit([encoder.finish()]);
  }

  /** Waits for the pass submitted last and sums its records. */
  async collect(): Promise<EvalResult> {
    const { lossSum, correct } = recordsFrom(await this.readback.read(this.records));
    const predictions = new Uint32Array(await this.readback.read(this.predictions));
    let loss = 0;
    let right = 0;
    for (let i = 0; i < lossSum.length; i++) {
      loss += lossSum[i];
      right += correct[i];
    }
    const count = this.data.count;
    return { loss: loss / count, correct: right, count, accuracy: right / count, predictions: predictions.subarray(0, count) };
  }

  /** Frees the readback staging buffer (the arena that built the plan frees the rest). */
  destroy(): void {
    this.readback.destroy();
  }
}
