// The optimizer step: one dispatch over the whole flat parameter buffer (weights, then biases).
// Static hyperparameters go in a uniform made once; lr and Adam's bias corrections come from the
// step's StepParams slot. After a non-finite loss (status[0] ≠ 0) the step changes nothing.
import adagradWgsl from '../../shaders/optimizer_adagrad.wgsl?raw';
import adamWgsl from '../../shaders/optimizer_adam.wgsl?raw';
import sgdWgsl from '../../shaders/optimizer_sgd.wgsl?raw';
import { packUniform } from '../gpu/arena.ts';
import { bindKernel, type BindingResource, type Dispatch, type KernelDef } from '../gpu/program.ts';
import { optimizerStateNames, optimizerStateSlots, type OptimizerConfig, type OptimizerKind } from '../model/optimizer.ts';
import type { KernelContext } from './context.ts';
import { ELEMENTWISE_WORKGROUP_SIZE, elementwiseWorkgroups } from './elementwise.ts';
import { stepParamsWgsl } from './includes.ts';

export interface OptimizerIo {
  /** f32 [count] all weights, then all biases. */
  readonly params: BindingResource;
  /** f32 [count] */
  readonly grads: BindingResource;
  /** optimizerStateSlots(kind) f32 [count] arrays, in optimizerStateNames(kind) order. */
  readonly state: readonly BindingResource[];
  /** u32 [≥ 1]: the loss kernel's status; status[0] ≠ 0 freezes every update. */
  readonly status: BindingResource;
  /** The StepParams ring (lr, bias corrections). */
  readonly step: BindingResource;
}

export interface OptimizerDims {
  /** Elements of params, grads and each state array (ParamLayout.totalElements). */
  readonly count: number;
  /** Elements before this are weights, which weight decay applies to (ParamLayout.weightsEnd). */
  readonly weightsEnd: number;
  readonly config: OptimizerConfig;
}

const common = [
  { name: 'config', kind: 'uniform' },
  { name: 'step', kind: 'step' },
  { name: 'status', kind: 'read' },
  { name: 'params', kind: 'write' },
  { name: 'grads', kind: 'read' },
] as const;
const includes = [stepParamsWgsl];
const stateBindings = (kind: OptimizerKind) => optimizerStateNames(kind).map((name) => ({ name, kind: 'write' }) as const);

const SGD: KernelDef = { name: 'optimizer_sgd', source: sgdWgsl, includes, entryPoint: 'sgd', bindings: common };
const MOMENTUM: KernelDef = {
  name: 'optimizer_momentum',
  source: sgdWgsl,
  includes,
  entryPoint: 'momentum',
  bindings: [...common, ...stateBindings('momentum')],
};
const ADAGRAD: KernelDef = { name: 'optimizer_adagrad', source: adagradWgsl, includes, bindings: [...common, ...stateBindings('adagrad')] };
const ADAM: KernelDef = { name: 'optimizer_adam', source: adamWgsl, includes, bindings: [...common, ...stateBindings('adam')] };

/** The kernel, its override constants and its static uniform for one optimizer configuration. */
function variant(c: OptimizerConfig, dims: OptimizerDims): { def: KernelDef; constants: Record<string, number>; uniform: Uint8Array } {
  const shape = [
    ['u32', dims.count],
    ['u32', dims.weightsEnd],
    ['f32', c.weightDecay],
  ] as const;
  switch (c.kind) {
    case 'sgd':
      return { def: SGD, constants: {}, uniform: packUniform([...shape, ['f32', 0]]) };
    case 'momentum':
    case 'nesterov':
      return { def: MOMENTUM, constants: { NESTEROV: Number(c.kind === 'nesterov') }, uniform: packUniform([...shape, ['f32', c.momentum]]) };
    case 'adagrad':
      return { def: ADAGRAD, constants: {}, uniform: packUniform([...shape, ['f32', c.eps]]) };
    case 'adam':
    case 'adamw':
      return {
        def: ADAM,
        constants: { DECOUPLED: Number(c.kind === 'adamw') },
        uniform: packUniform([...shape, ['f32', c.beta1], ['f32', c.beta2], ['f32', 1 - c.beta1], ['f32', 1 - c.beta2], ['f32', c.eps]]),
      };
  }
}

/**
 * One optimizer step over all parameters. The host's StepParams for the step must carry lr, t and
 * (for Adam) the config's beta1 and beta2, from which the ring computes the bias corrections.
 */
export async function optimizerUpdate(ctx: KernelContext, io: OptimizerIo, dims: OptimizerDims): Promise<Dispatch> {
  const { config } = dims;
  const slots = optimizerStateSlots(config.kind);
  if (io.state.length !== slots) throw new RangeError(`optimizer '${config.kind}' needs ${slots} state arrays, got ${io.state.length}`);
  const { def, constants, uniform } = variant(config, dims);
  const kernel = await ctx.cache.compile(def, { ...constants, WORKGROUP_SIZE: ELEMENTWISE_WORKGROUP_SIZE });
  const state = Object.fromEntries(optimizerStateNames(config.kind).map((name, s) => [name, io.state[s]]));
  return bindKernel(
    ctx.device,
    kernel,
    { config: ctx.arena.uniform(`${kernel.label} config`, uniform), step: io.step, status: io.status, params: io.params, grads: io.grads, ...state },
    elementwiseWorkgroups(ctx, dims.count),
  );
}
