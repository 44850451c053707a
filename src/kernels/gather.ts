// Batch gather from the GPU-resident dataset: x [B, IN] and y [B] = the samples and labels the
// epoch's permutation lists at step.batch_start .. + step.rows; padding rows are zero. u8 features
// (images) are scaled by 1/255 on the way; f32 features (tables) are copied as they are.
import gatherWgsl from '../../shaders/gather.wgsl?raw';
import { packUniform } from '../gpu/arena.ts';
import { bindKernel, type BindingResource, type Dispatch, type KernelDef } from '../gpu/program.ts';
import type { KernelContext } from './context.ts';
import { ELEMENTWISE_WORKGROUP_SIZE, elementwiseWorkgroups } from './elementwise.ts';
import { stepParamsWgsl } from './includes.ts';

const BINDINGS: KernelDef['bindings'] = [
  { name: 'params', kind: 'uniform' },
  { name: 'step', kind: 'slot' },
  { name: 'features', kind: 'read' },
  { name: 'labels', kind: 'read' },
  { name: 'indices', kind: 'read' },
  { name: 'x', kind: 'write' },
  { name: 'y', kind: 'write' },
];
const GATHER: KernelDef = { name: 'gather', source: gatherWgsl, includes: [stepParamsWgsl], bindings: BINDINGS };
/** Entry points by feature type, and whether they move four values per load and store. */
const VARIANTS = {
  u8: { scalar: GATHER, vec4: { ...GATHER, name: 'gather_vec4', entryPoint: 'main_vec4' } },
  f32: { scalar: { ...GATHER, name: 'gather_f32', entryPoint: 'main_f32' }, vec4: { ...GATHER, name: 'gather_f32_vec4', entryPoint: 'main_f32_vec4' } },
} satisfies Record<string, { scalar: KernelDef; vec4: KernelDef }>;

/** How the dataset's features are stored on the GPU. */
export type FeatureType = keyof typeof VARIANTS;

export interface GatherIo {
  /** u8: [N, IN] bytes packed 4 per u32, little-endian (padded to 4 bytes); f32: [N, IN]. */
  readonly features: BindingResource;
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

/** x [B, IN] = features[indices[batch_start + r], :] (u8: / 255) and y [B] = their labels; rows ≥ step.rows zero. */
export async function gatherBatch(ctx: KernelContext, io: GatherIo, dims: { B: number; IN: number; features: FeatureType }): Promise<Dispatch> {
  // Four at a time when rows start on a word (u8) or a vec4 (f32), and x is 16-byte aligned.
  const vec4 = dims.IN % 4 === 0 && (io.x instanceof GPUBuffer || (io.x.offset ?? 0) % 16 === 0);
  const variant = VARIANTS[dims.features];
  const kernel = await ctx.cache.compile(vec4 ? variant.vec4 : variant.scalar, { WORKGROUP_SIZE: ELEMENTWISE_WORKGROUP_SIZE });
  const params = ctx.arena.uniform(`${kernel.label} params`, packUniform([['u32', dims.B], ['u32', dims.IN]]));
  return bindKernel(ctx.device, kernel, { params, ...io }, elementwiseWorkgroups(ctx, (dims.B * dims.IN) / (vec4 ? 4 : 1)));
}
