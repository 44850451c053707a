// Batch gather from the GPU-resident dataset: x [B, IN] = pixels / 255 and y [B] = labels of the
// images the epoch's permutation lists at step.batch_start .. + step.rows; padding rows are zero.
import gatherWgsl from '../../shaders/gather.wgsl?raw';
import { packUniform } from '../gpu/arena.ts';
import { bindKernel, type BindingResource, type Dispatch, type KernelDef } from '../gpu/program.ts';
import type { KernelContext } from './context.ts';
import { ELEMENTWISE_WORKGROUP_SIZE, elementwiseWorkgroups } from './elementwise.ts';
import { stepParamsWgsl } from './includes.ts';

const BINDINGS: KernelDef['bindings'] = [
  { name: 'params', kind: 'uniform' },
  { name: 'step', kind: 'step' },
  { name: 'images', kind: 'read' },
  { name: 'labels', kind: 'read' },
  { name: 'indices', kind: 'read' },
  { name: 'x', kind: 'write' },
  { name: 'y', kind: 'write' },
];
const GATHER: KernelDef = { name: 'gather', source: gatherWgsl, includes: [stepParamsWgsl], bindings: BINDINGS };
/** Four pixels per load and store; for IN a multiple of 4 (image rows then start on a word). */
const GATHER_VEC4: KernelDef = { ...GATHER, name: 'gather_vec4', entryPoint: 'main_vec4' };

export interface GatherIo {
  /** u8 [N, IN] packed 4 per u32, little-endian (the byte array's buffer, padded to 4 bytes). */
  readonly images: BindingResource;
  /** u32 [N] */
  readonly labels: BindingResource;
  /** u32 [N] the epoch's permutation. */
  readonly indices: BindingResource;
  /** f32 [B, IN] */
  readonly x: BindingResource;
  /** u32 [B] */
  readonly y: BindingResource;
  /** The StepParams ring (batch_start, rows). */
  readonly step: BindingResource;
}

/** x [B, IN] = images[indices[batch_start + r], :] / 255 and y [B] = their labels; rows ≥ step.rows zero. */
export async function gatherBatch(ctx: KernelContext, io: GatherIo, dims: { B: number; IN: number }): Promise<Dispatch> {
  const vec4 = dims.IN % 4 === 0 && (io.x instanceof GPUBuffer || (io.x.offset ?? 0) % 16 === 0);
  const kernel = await ctx.cache.compile(vec4 ? GATHER_VEC4 : GATHER, { WORKGROUP_SIZE: ELEMENTWISE_WORKGROUP_SIZE });
  const params = ctx.arena.uniform(`${kernel.label} params`, packUniform([['u32', dims.B], ['u32', dims.IN]]));
  return bindKernel(ctx.device, kernel, { params, ...io }, elementwiseWorkgroups(ctx, (dims.B * dims.IN) / (vec4 ? 4 : 1)));
}
