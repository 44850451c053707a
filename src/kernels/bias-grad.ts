// Bias gradient db[OUT] = Σ_b dY[b, :], deterministic (no float atomics). The training plan computes
// it inside the weight-grad dispatch by default (matmulWeightGrad with db); this separate kernel is
// its fuseBiasGrad: false path, and the baseline the fused form is benchmarked against.
import biasGradWgsl from '../../shaders/bias_grad.wgsl?raw';
import { packUniform } from '../gpu/arena.ts';
import { bindKernel, type BindingResource, type Dispatch, type KernelDef } from '../gpu/program.ts';
import type { KernelContext } from './context.ts';

const BIAS_GRAD: KernelDef = {
  name: 'bias_grad',
  source: biasGradWgsl,
  bindings: [
    { name: 'params', kind: 'uniform' },
    { name: 'dy', kind: 'read' },
    { name: 'db', kind: 'write' },
  ],
};

/**
 * Columns per workgroup; rows split among ROW_SPLIT invocations per column (see bias_grad.wgsl).
 * On lavapipe the split only adds a barrier (B = 128, OUT = 256: 46 µs unsplit, 54-69 µs split in 4);
 * on a GPU it gives small OUT (10 classes) ROW_SPLIT× more invocations to hide memory latency with.
 */
const COLS = 64;
const ROW_SPLIT = { cpu: 1, gpu: 4 } as const;

/** db[OUT] = column sums of dy[B, OUT]. */
export async function biasGrad(
  ctx: KernelContext,
  io: { dy: BindingResource; db: BindingResource },
  dims: { B: number; OUT: number },
): Promise<Dispatch> {
  const kernel = await ctx.cache.compile(BIAS_GRAD, { COLS, ROW_SPLIT: ROW_SPLIT[ctx.adapterKind] });
  const params = ctx.arena.uniform(`${kernel.label} params`, packUniform([['u32', dims.B], ['u32', dims.OUT]]));
  return bindKernel(ctx.device, kernel, { params, dy: io.dy, db: io.db }, [Math.ceil(dims.OUT / COLS), 1, 1]);
}
