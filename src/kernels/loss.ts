// The loss of one batch, fused into one dispatch (shaders/loss_batch.wgsl with the row functions of
// softmax_xent.wgsl or mse.wgsl): per valid row the loss, the argmax and the gradient, reduced in
// a fixed order into records[step.record] = { loss_sum, correct }.
//   training:   also writes grad [B, C] (zero on padding rows) and flags a non-finite loss in status
//   evaluation (dims.mode 'eval'): writes predictions[step.batch_start + r] instead of a gradient and
//               binds no status (a non-finite test loss shows in its record; it must not freeze training)
// denseLoss is the training form with the output layer in front (its logits computed in the same
// dispatch), for output layers of few multiply-adds per row; denseLossStep goes on to that layer's
// backward pass and optimizer step (shaders/loss_dense_step.wgsl).
import lossBatchWgsl from '../../shaders/loss_batch.wgsl?raw';
import lossDenseStepWgsl from '../../shaders/loss_dense_step.wgsl?raw';
import dropoutEpilogueWgsl from '../../shaders/matmul_dropout.wgsl?raw';
import noDropoutEpilogueWgsl from '../../shaders/matmul_no_dropout.wgsl?raw';
import mseWgsl from '../../shaders/mse.wgsl?raw';
import softmaxXentWgsl from '../../shaders/softmax_xent.wgsl?raw';
import { packUniform } from '../gpu/arena.ts';
import { bindingOffset, bindKernel, checkBinding, KernelError, type BindingDecl, type BindingResource, type Constants, type Dispatch, type KernelDef } from '../gpu/program.ts';
import type { ActivationKind, Loss } from '../model/spec.ts';
import type { KernelContext } from './context.ts';
import { FUSED_DROPOUT_BINDING, fusedDropout, type FusedDropout } from './dropout.ts';
import { ACTIVATION_CODE, activationFnsWgsl, dropoutHashWgsl, stepParamsWgsl } from './includes.ts';
import type { FusedUpdate } from './matmul.ts';

/** Bytes per record: struct Record { loss_sum: f32, correct: u32 }. */
export const LOSS_RECORD_BYTES = 8;

interface LossIoBase {
  /** [B, C] the last layer's output. */
  readonly logits: BindingResource;
  /** u32 [B] */
  readonly labels: BindingResource;
  /** Record[steps]: the step writes records[step.record]. */
  readonly records: BindingResource;
  /** The StepParams ring (rows, inv_rows, record, t, batch_start). */
  readonly step: BindingResource;
}

export interface TrainLossIo extends LossIoBase {
  /** [B, C] d(mean loss)/d logits; zero on padding rows. */
  readonly grad: BindingResource;
  /** u32 [≥ 1]: status[0] = first step t whose loss was not finite (0: none yet). */
  readonly status: BindingResource;
}

export interface EvalLossIo extends LossIoBase {
  /** u32 [N]: the argmax of row r lands at predictions[step.batch_start + r]. */
  readonly predictions: BindingResource;
}

export interface LossDims {
  readonly B: number;
  readonly C: number;
  /** 'train' (the default) writes the gradient; 'eval' writes predictions instead. */
  readonly mode?: 'train' | 'eval';
}

export interface TrainLossDims extends LossDims {
  readonly mode?: 'train';
}

export interface EvalLossDims extends LossDims {
  readonly mode: 'eval';
}

/**
 * Invocations of the single workgroup. On lavapipe (one workgroup runs on one core, 8 lanes at a
 * time) a small group loops less over idle lanes: at B = 128, C = 10, 64 invocations took 34 µs and
 * 256 took 67 µs (best of 5). GPUs want a wider group.
 */
const WORKGROUP_SIZE = { cpu: 64, gpu: 256 } as const;

const rowFunctions: Record<Loss, string> = { ce: softmaxXentWgsl, mse: mseWgsl };
const kernelName: Record<Loss, string> = { ce: 'softmax_xent', mse: 'mse' };
type Mode = NonNullable<LossDims['mode']>;

/** 'dense': training with the output layer in front (denseLoss). */
type Entry = Mode | 'dense';

function def(loss: Loss, entry: Entry): KernelDef {
  const common = [
    { name: 'shape', kind: 'uniform' },
    { name: 'logits', kind: 'write' }, // read_write: train_dense writes it (the other entries only read)
    { name: 'labels', kind: 'read' },
    { name: 'records', kind: 'write' },
    { name: 'step', kind: 'slot' },
  ] as const;
  const training = [...common, { name: 'status', kind: 'write' }, { name: 'grad', kind: 'write' }] as const;
  return {
    name: `${kernelName[loss]}_${entry}`,
    source: lossBatchWgsl,
    includes: [stepParamsWgsl, rowFunctions[loss]],
    entryPoint: { train: 'train', eval: 'evaluate', dense: 'train_dense' }[entry],
    bindings:
      entry === 'eval'
        ? [...common, { name: 'predictions', kind: 'write' }]
        : entry === 'train'
          ? training
          : [...training, { name: 'x', kind: 'read' }, { name: 'w', kind: 'read' }, { name: 'b', kind: 'read' }],
  };
}

const defs = (loss: Loss): Record<Entry, KernelDef> => ({
  train: def(loss, 'train'),
  eval: def(loss, 'eval'),
  dense: def(loss, 'dense'),
});
const DEFS: Record<Loss, Record<Entry, KernelDef>> = { ce: defs('ce'), mse: defs('mse') };

async function lossDispatch(ctx: KernelContext, kind: Loss, entry: Entry, io: Record<string, BindingResource>, shape: { B: number; C: number; IN: number }): Promise<Dispatch> {
  return bindLoss(ctx, DEFS[kind][entry], {}, io, shape);
}

async function bindLoss(ctx: KernelContext, def: KernelDef, constants: Constants, io: Record<string, BindingResource>, shape: { B: number; C: number; IN: number }): Promise<Dispatch> {
  const kernel = await ctx.cache.compile(def, { WORKGROUP_SIZE: WORKGROUP_SIZE[ctx.adapterKind], ...constants });
  const uniform = ctx.arena.uniform(`${kernel.label} shape`, packUniform([['u32', shape.B], ['u32', shape.C], ['u32', shape.IN]]));
  return bindKernel(ctx.device, kernel, { shape: uniform, ...io }, [1, 1, 1]);
}

/** The loss `kind` over one batch (see the top of this file); io must match dims.mode. */
export function lossBatch(ctx: KernelContext, kind: Loss, io: TrainLossIo | EvalLossIo, dims: LossDims): Promise<Dispatch> {
  return lossDispatch(ctx, kind, dims.mode ?? 'train', { ...io }, { B: dims.B, C: dims.C, IN: 0 });
}

export interface DenseLossIo extends TrainLossIo {
  /** [B, IN] the output layer's input. */
  readonly x: BindingResource;
  /** [C, IN] its weight. */
  readonly w: BindingResource;
  /** [C] its bias. */
  readonly b: BindingResource;
}

/**
 * Multiply-adds per row up to which the output layer goes into the loss's single workgroup (C·IN:
 * 1,280 for the default 128→10 layer). Above it the layer keeps its own matrix product, spread over
 * many workgroups: one invocation per row would serialize W2's 1024→10 layer.
 */
export const DENSE_LOSS_MAX_MACS_PER_ROW = 4096;

/**
 * Whether denseLoss takes an output layer of these sizes: few multiply-adds per row, and IN a
 * multiple of 4 (x and W are loaded as vec4; the parameter layout aligns every tensor to 256 bytes).
 */
export function denseLossFits(IN: number, C: number): boolean {
  return IN % 4 === 0 && IN * C <= DENSE_LOSS_MAX_MACS_PER_ROW;
}

/**
 * Training's loss with the identity output layer in front: logits = x·Wᵀ + b for the valid rows
 * (written to io.logits), then exactly lossBatch's training work. One dispatch instead of two.
 */
export async function denseLoss(ctx: KernelContext, kind: Loss, io: DenseLossIo, dims: { readonly B: number; readonly C: number; readonly IN: number }): Promise<Dispatch> {
  if (!denseLossFits(dims.IN, dims.C)) {
    throw new RangeError(`denseLoss: an output layer of ${dims.IN}x${dims.C} needs IN a multiple of 4 and at most ${DENSE_LOSS_MAX_MACS_PER_ROW} multiply-adds per row`);
  }
  const misaligned = Object.entries({ x: io.x, w: io.w }).filter(([, r]) => bindingOffset(r) % 16 !== 0);
  if (misaligned.length) throw new RangeError(`denseLoss: ${misaligned.map(([name]) => name).join(' and ')} must start at a multiple of 16 bytes (vec4 loads)`);
  return lossDispatch(ctx, kind, 'dense', { ...io }, dims);
}

export interface DenseLossStepIo extends TrainLossIo {
  /** [B, IN] the output layer's input: the stored output of the layer below (A, or H after its dropout). */
  readonly x: BindingResource;
  /** [B, IN] written: the layer below's pre-activation gradient, (g·W) ⊙ act'(A) ⊙ mask / keep. */
  readonly dz: BindingResource;
}

export interface DenseLossStepDims {
  readonly B: number;
  readonly C: number;
  readonly IN: number;
  /** The layer below's activation, whose derivative dz takes. */
  readonly activation: ActivationKind;
  /** The layer below's dropout, whose mask and 1/keep scale dz. */
  readonly dropout?: FusedDropout;
}

/** dz's @binding in shaders/loss_dense_step.wgsl: past the loss's 0-7 and the optimizer's 8-13. */
const DZ_BINDING = 15;

/**
 * Storage buffers denseLossStep binds with this many optimizer state arrays: logits, labels, records,
 * status, grad, x, dz and the parameters, then the state. WebGPU guarantees 8 per shader stage;
 * adapters may offer more (device.ts raises the limit to the adapter's).
 */
export function denseLossStepStorageBuffers(stateArrays: number): number {
  return 8 + stateArrays;
}

/** Whether denseLossStep takes this output layer on this device (denseLossFits, and enough storage bindings). */
export function denseLossStepFits(device: GPUDevice, IN: number, C: number, stateArrays: number): boolean {
  return denseLossFits(IN, C) && denseLossStepStorageBuffers(stateArrays) <= device.limits.maxStorageBuffersPerShaderStage;
}

function denseStepDef(kind: Loss, optimizer: FusedUpdate['optimizer'], dropout: boolean): KernelDef {
  const own: BindingDecl[] = [
    ...DEFS[kind].dense.bindings.filter((b) => b.name !== 'w' && b.name !== 'b'),
    { name: 'dz', kind: 'write', binding: DZ_BINDING },
    ...(dropout ? [FUSED_DROPOUT_BINDING] : []),
  ];
  // The optimizer's step slot is the loss's, and its status the one the loss writes.
  const names = new Set(own.map((b) => b.name));
  return {
    name: `${kernelName[kind]}_dense_step_${optimizer.name}${dropout ? '_dropout' : ''}`,
    source: lossDenseStepWgsl,
    includes: [
      ...optimizer.includes, // step_params.wgsl first
      activationFnsWgsl,
      ...(dropout ? [dropoutHashWgsl, dropoutEpilogueWgsl] : [noDropoutEpilogueWgsl]),
      rowFunctions[kind],
      lossBatchWgsl,
    ],
    entryPoint: 'train_dense_step',
    bindings: [...own, ...optimizer.bindings.filter((b) => !names.has(b.name))],
  };
}

/**
 * denseLoss followed by the output layer's backward pass and optimizer step, in the same single
 * workgroup (shaders/loss_dense_step.wgsl): the layer below's dZ into io.dz, then dW and db, each
 * element stepped in place by `update`'s optimizer (nothing moves after a non-finite loss). One
 * dispatch where the plan would otherwise record three (loss, input grad, weight grad); it reads W
 * and b from the flat parameter buffer at update.weightsAt and update.biasAt.
 */
export async function denseLossStep(ctx: KernelContext, kind: Loss, io: DenseLossStepIo, dims: DenseLossStepDims, update: FusedUpdate): Promise<Dispatch> {
  const { B, C, IN } = dims;
  const label = `denseLossStep ${kernelName[kind]} ${IN}->${C} over ${B} + ${update.optimizer.name} step`;
  if (!denseLossFits(IN, C)) {
    throw new RangeError(`${label}: an output layer of ${IN}x${C} needs IN a multiple of 4 and at most ${DENSE_LOSS_MAX_MACS_PER_ROW} multiply-adds per row`);
  }
  const { optimizer, weightsAt, biasAt } = update;
  const stateArrays = optimizer.bindings.filter((b) => b.kind === 'write' && b.name !== 'params').length;
  const needed = denseLossStepStorageBuffers(stateArrays);
  if (needed > ctx.device.limits.maxStorageBuffersPerShaderStage) {
    throw new KernelError(`${label}: needs ${needed} storage buffers per shader stage, this device allows ${ctx.device.limits.maxStorageBuffersPerShaderStage}`);
  }
  const misaligned = Object.entries({ x: io.x, dz: io.dz }).filter(([, r]) => bindingOffset(r) % 16 !== 0);
  if (misaligned.length) throw new RangeError(`${label}: ${misaligned.map(([name]) => name).join(' and ')} must start at a multiple of 16 bytes (vec4 loads)`);
  if (weightsAt % 4 !== 0 || biasAt % 4 !== 0) throw new RangeError(`${label}: W and b must start at multiples of 4 elements of the parameters (vec4 steps), found ${weightsAt} and ${biasAt}`);
  // b is stepped four at a time, its alignment padding with it.
  checkBinding(label, 'params', optimizer.resources.params, Math.max(weightsAt + C * IN, biasAt + 4 * Math.ceil(C / 4)));
  checkBinding(label, 'x', io.x, B * IN);
  checkBinding(label, 'dz', io.dz, B * IN);
  const def = denseStepDef(kind, optimizer, dims.dropout !== undefined);
  const constants = { ...optimizer.constants, ACTIVATION: ACTIVATION_CODE[dims.activation], WEIGHTS_AT: weightsAt, BIAS_AT: biasAt };
  // The optimizer's resources but its step slot and status, which are the loss's own (io).
  const optimizerOnly = Object.fromEntries(Object.entries(optimizer.resources).filter(([name]) => !(name in io)));
  return bindLoss(ctx, def, constants, { ...optimizerOnly, ...io, ...fusedDropout(ctx, label, dims.dropout, io.step) }, dims);
}

/** Softmax cross-entropy: loss = logsumexp(z) − z_y per row; grad = (softmax(z) − onehot) · inv_rows. */
export function softmaxCrossEntropy(ctx: KernelContext, io: TrainLossIo, dims: TrainLossDims): Promise<Dispatch>;
export function softmaxCrossEntropy(ctx: KernelContext, io: EvalLossIo, dims: EvalLossDims): Promise<Dispatch>;
export function softmaxCrossEntropy(ctx: KernelContext, io: TrainLossIo | EvalLossIo, dims: LossDims): Promise<Dispatch> {
  return lossBatch(ctx, 'ce', io, dims);
}

/** Squared error on one-hot targets: loss = ½ Σ_c (z − onehot)² per row; grad = (z − onehot) · inv_rows. */
export function meanSquaredError(ctx: KernelContext, io: TrainLossIo, dims: TrainLossDims): Promise<Dispatch>;
export function meanSquaredError(ctx: KernelContext, io: EvalLossIo, dims: EvalLossDims): Promise<Dispatch>;
export function meanSquaredError(ctx: KernelContext, io: TrainLossIo | EvalLossIo, dims: LossDims): Promise<Dispatch> {
  return lossBatch(ctx, 'mse', io, dims);
}
