// The loss of one batch, fused into one dispatch (shaders/loss_batch.wgsl with the row functions of
// softmax_xent.wgsl or mse.wgsl): per valid row the loss, the argmax and the gradient, reduced in
// a fixed order into records[step.record] = { loss_sum, correct }.
//   training:   also writes grad [B, C] (zero on padding rows) and flags a non-finite loss in status
//   evaluation (dims.mode 'eval'): writes predictions[step.batch_start + r] instead of a gradient and
//               binds no status (a non-finite test loss shows in its record; it must not freeze training)
import lossBatchWgsl from '../../shaders/loss_batch.wgsl?raw';
import mseWgsl from '../../shaders/mse.wgsl?raw';
import softmaxXentWgsl from '../../shaders/softmax_xent.wgsl?raw';
import { packUniform } from '../gpu/arena.ts';
import { bindKernel, type BindingResource, type Dispatch, type KernelDef } from '../gpu/program.ts';
import type { Loss } from '../model/spec.ts';
import type { KernelContext } from './context.ts';
import { stepParamsWgsl } from './includes.ts';

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

function def(loss: Loss, mode: Mode): KernelDef {
  const common = [
    { name: 'params', kind: 'uniform' },
    { name: 'logits', kind: 'read' },
    { name: 'labels', kind: 'read' },
    { name: 'records', kind: 'write' },
    { name: 'step', kind: 'slot' },
  ] as const;
  return {
    name: `${kernelName[loss]}_${mode}`,
    source: lossBatchWgsl,
    includes: [stepParamsWgsl, rowFunctions[loss]],
    entryPoint: mode === 'train' ? 'train' : 'evaluate',
    bindings:
      mode === 'train'
        ? [...common, { name: 'status', kind: 'write' }, { name: 'grad', kind: 'write' }]
        : [...common, { name: 'predictions', kind: 'write' }],
  };
}

const DEFS: Record<Loss, Record<Mode, KernelDef>> = {
  ce: { train: def('ce', 'train'), eval: def('ce', 'eval') },
  mse: { train: def('mse', 'train'), eval: def('mse', 'eval') },
};

/** The loss `kind` over one batch (see the top of this file); io must match dims.mode. */
export async function lossBatch(ctx: KernelContext, kind: Loss, io: TrainLossIo | EvalLossIo, dims: LossDims): Promise<Dispatch> {
  const kernel = await ctx.cache.compile(DEFS[kind][dims.mode ?? 'train'], { WORKGROUP_SIZE: WORKGROUP_SIZE[ctx.adapterKind] });
  const params = ctx.arena.uniform(`${kernel.label} params`, packUniform([['u32', dims.B], ['u32', dims.C]]));
  return bindKernel(ctx.device, kernel, { params, ...io }, [1, 1, 1]);
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
