// Batch gather from the GPU-resident dataset: x [B, IN] and y [B] = the samples and labels the
// epoch's permutation lists at step.batch_start .. + step.rows; padding rows are zero. u8 features
// (images) are scaled by 1/255 on the way; f32 features (tables) are standardized with the model's
// per-feature affine (x − mean) · scale (the identity when it has none). A dataset stored as
// several chunks (each within one storage binding) is gathered by one dispatch per chunk.
import gatherWgsl from '../../shaders/gather.wgsl?raw';
import { packUniform } from '../gpu/arena.ts';
import { bindingOffset, bindKernel, type BindingResource, type Dispatch, type KernelDef } from '../gpu/program.ts';
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
/** f32 features also read the input affine: [2, IN] f32, the mean then the scale per feature. */
const GATHER_F32: KernelDef = { ...GATHER, bindings: [...BINDINGS, { name: 'affine', kind: 'read' }] };
/** Entry points by feature type, and whether they move four values per load and store. */
const VARIANTS = {
  u8: { scalar: GATHER, vec4: { ...GATHER, name: 'gather_vec4', entryPoint: 'main_vec4' } },
  f32: { scalar: { ...GATHER_F32, name: 'gather_f32', entryPoint: 'main_f32' }, vec4: { ...GATHER_F32, name: 'gather_f32_vec4', entryPoint: 'main_f32_vec4' } },
} satisfies Record<string, { scalar: KernelDef; vec4: KernelDef }>;

/** How the dataset's features are stored on the GPU. */
export type FeatureType = keyof typeof VARIANTS;

/** Samples [start, start + count) of a dataset, in one buffer. */
export interface FeatureChunk {
  /** u8: [count, IN] bytes packed 4 per u32, little-endian (padded to 4 bytes); f32: [count, IN]. */
  readonly buffer: BindingResource;
  readonly start: number;
  readonly count: number;
}

export interface GatherIo {
  /** The dataset's features: one buffer (all N samples), or chunks covering samples 0..N in order. */
  readonly features: BindingResource | readonly FeatureChunk[];
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
  /** f32 features only: [2, IN] f32, mean then scale per feature (x' = (x − mean) · scale). Required for f32. */
  readonly affine?: BindingResource;
}

/**
 * x [B, IN] = features[indices[batch_start + r], :] (u8: / 255; f32: (x − mean) · scale) and y [B] =
 * their labels; rows ≥ step.rows zero. One dispatch per feature chunk (one for a single buffer).
 */
export async function gatherBatch(
  ctx: KernelContext,
  io: GatherIo,
  dims: { B: number; IN: number; features: FeatureType; N?: number },
): Promise<Dispatch[]> {
  // Four at a time when rows start on a word (u8) or a vec4 (f32), and x is 16-byte aligned.
  const vec4 = dims.IN % 4 === 0 && bindingOffset(io.x) % 16 === 0;
  const variant = VARIANTS[dims.features];
  const kernel = await ctx.cache.compile(vec4 ? variant.vec4 : variant.scalar, { WORKGROUP_SIZE: ELEMENTWISE_WORKGROUP_SIZE });
  const { features, affine, ...rest } = io;
  if (dims.features === 'f32' && !affine) throw new Error('gatherBatch: f32 features need the input affine (mean and scale per feature)');
  const chunks: readonly FeatureChunk[] = Array.isArray(features)
    ? (features as readonly FeatureChunk[])
    : [{ buffer: features as BindingResource, start: 0, count: dims.N ?? 0xffffffff }];
  const workgroups = elementwiseWorkgroups(ctx, (dims.B * dims.IN) / (vec4 ? 4 : 1));
  return chunks.map((chunk, i) => {
    const params = ctx.arena.uniform(
      `${kernel.label} params`,
      packUniform([['u32', dims.B], ['u32', dims.IN], ['u32', chunk.start], ['u32', chunk.count], ['u32', i === 0 ? 1 : 0]]),
    );
    const resources = { params, ...rest, features: chunk.buffer, ...(dims.features === 'f32' ? { affine: affine! } : {}) };
    const label = chunks.length > 1 ? `${kernel.label} chunk ${i + 1}/${chunks.length}` : kernel.label;
    return bindKernel(ctx.device, kernel, resources, workgroups, label);
  });
}
