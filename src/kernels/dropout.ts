// Inverted dropout on a [B, OUT] activation: out = kept ? in / keep : 0, the mask redrawn from
// (seed, step.t, layer, element) in both passes. Given the same binding as input and output, it
// runs in place. The training plan fuses dropout into the matmul epilogues by default (matmul.ts;
// fusedDropout below makes their parameters); these separate dispatches are its fuseDropout: false path.
import dropoutWgsl from '../../shaders/dropout.wgsl?raw';
import { packUniform } from '../gpu/arena.ts';
import { bindKernel, KernelError, type BindingDecl, type BindingResource, type Dispatch, type KernelDef } from '../gpu/program.ts';
import type { KernelContext } from './context.ts';
import { ELEMENTWISE_WORKGROUP_SIZE, elementwiseWorkgroups, sameBinding } from './elementwise.ts';
import { dropoutHashWgsl, dropoutKeepThreshold, stepParamsWgsl } from './includes.ts';

const common = [
  { name: 'params', kind: 'uniform' },
  { name: 'step', kind: 'slot' },
  { name: 'dst', kind: 'write' },
] as const;
const includes = [stepParamsWgsl, dropoutHashWgsl];
const DROPOUT: KernelDef = { name: 'dropout', source: dropoutWgsl, includes, bindings: [...common, { name: 'src', kind: 'read' }] };
const DROPOUT_IN_PLACE: KernelDef = { name: 'dropout_in_place', source: dropoutWgsl, includes, entryPoint: 'in_place', bindings: common };

export interface DropoutDims {
  /** Elements of the [B, OUT] tensor; element i is its row-major index. */
  readonly count: number;
  readonly seed: number;
  /** Index of the dense layer whose output this is. */
  readonly layer: number;
  /** Probability of dropping an element, in [0, 1). */
  readonly rate: number;
}

export interface DropoutIo {
  /** [count] A (forward) or dH (backward). */
  readonly input: BindingResource;
  /** [count] H (forward) or dA (backward); the same binding as `input` to run in place. */
  readonly output: BindingResource;
  /** The StepParams ring (t). */
  readonly step: BindingResource;
}

async function applyMask(ctx: KernelContext, io: DropoutIo, dims: DropoutDims): Promise<Dispatch> {
  if (!(dims.rate >= 0 && dims.rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), found ${dims.rate}`);
  const inPlace = sameBinding(io.input, io.output);
  const kernel = await ctx.cache.compile(inPlace ? DROPOUT_IN_PLACE : DROPOUT, { WORKGROUP_SIZE: ELEMENTWISE_WORKGROUP_SIZE });
  const params = ctx.arena.uniform(
    `${kernel.label} params (layer ${dims.layer})`,
    packUniform([
      ['u32', dims.count],
      ['u32', dims.seed],
      ['u32', dims.layer],
      ['u32', dropoutKeepThreshold(dims.rate)],
      ['f32', 1 - dims.rate],
    ]),
  );
  const resources = { params, step: io.step, dst: io.output };
  return bindKernel(ctx.device, kernel, inPlace ? resources : { ...resources, src: io.input }, elementwiseWorkgroups(ctx, dims.count));
}

/** Forward: H = kept ? A / keep : 0 over a [B, OUT] activation (input A, output H). */
export function dropoutForward(ctx: KernelContext, io: DropoutIo, dims: DropoutDims): Promise<Dispatch> {
  return applyMask(ctx, io, dims);
}

/** Backward: dA = kept ? dH / keep : 0 with the forward pass's mask (input dH, output dA). */
export function dropoutBackward(ctx: KernelContext, io: DropoutIo, dims: DropoutDims): Promise<Dispatch> {
  return applyMask(ctx, io, dims);
}

/**
 * Inverted dropout fused into an epilogue: element i (row-major in the [B, OUT] forward output, or
 * the [B, IN] input gradient) is kept ⇔ dropout_bits(seed, step.t, layer, i) < keep_threshold, as in
 * shaders/dropout_hash.wgsl. The step t comes from the StepParams binding (`step` in the io).
 */
export interface FusedDropout {
  readonly seed: number;
  /** The dense layer whose output the mask belongs to (for the input grad: the layer below). */
  readonly layer: number;
  /** Probability of dropping an element, in [0, 1). */
  readonly rate: number;
}

/** The fused-dropout parameters' binding, as shaders/matmul_dropout.wgsl declares it (clear of every includer's own). */
export const FUSED_DROPOUT_BINDING = { name: 'dropout', kind: 'uniform', binding: 14 } as const satisfies BindingDecl;

/**
 * The extra bindings of a fused-dropout kernel: its parameters (a uniform made here) and the step ring.
 * A uniform rather than override constants: the seed changes from run to run, and a new override
 * value means new pipelines (0.3-0.9 s each on lavapipe); as overrides the kernel was no faster
 * (forward 128x784->256 + dropout: 3.04-3.06 vs 3.07 ms of CPU).
 */
export function fusedDropout(
  ctx: KernelContext,
  label: string,
  dropout: FusedDropout | undefined,
  step: BindingResource | undefined,
): { dropout: BindingResource; step: BindingResource } | undefined {
  if (!dropout) return undefined;
  if (!(dropout.rate >= 0 && dropout.rate < 1)) throw new KernelError(`${label}: dropout rate must be in [0, 1), found ${dropout.rate}`);
  if (!step) throw new KernelError(`${label}: fused dropout needs the step binding (the StepParams ring: t picks the mask)`);
  const params = ctx.arena.uniform(
    `${label} dropout params`,
    packUniform([
      ['u32', dropout.seed],
      ['u32', dropout.layer],
      ['u32', dropoutKeepThreshold(dropout.rate)],
      ['f32', 1 - dropout.rate],
    ]),
  );
  return { dropout: params, step };
}
