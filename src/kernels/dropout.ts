// Inverted dropout on a [B, OUT] activation: out = kept ? in / keep : 0, the mask redrawn from
// (seed, step.t, layer, element) in both passes. Given the same binding as input and output, it
// runs in place. The training plan fuses dropout into the matmul epilogues by default (matmul.ts);
// these separate dispatches are its fuseDropout: false path.
import dropoutWgsl from '../../shaders/dropout.wgsl?raw';
import { packUniform } from '../gpu/arena.ts';
import { bindKernel, type BindingResource, type Dispatch, type KernelDef } from '../gpu/program.ts';
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
