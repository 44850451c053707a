// The optimizer step: one dispatch over the whole flat parameter buffer (weights, then biases).
// Static hyperparameters go in a uniform made once; lr and Adam's bias corrections come from the
// step's StepParams slot. After a non-finite loss (status[0] ≠ 0) the step changes nothing.
import adagradWgsl from '../../shaders/optimizer_adagrad.wgsl?raw';
import adamWgsl from '../../shaders/optimizer_adam.wgsl?raw';
import optimizerCommonWgsl from '../../shaders/optimizer_common.wgsl?raw';
import sgdWgsl from '../../shaders/optimizer_sgd.wgsl?raw';
import { packUniform } from '../gpu/arena.ts';
import { bindingOffset, bindKernel, type BindingResource, type Dispatch, type KernelDef } from '../gpu/program.ts';
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
  { name: 'step', kind: 'slot' },
  { name: 'status', kind: 'read' },
  { name: 'params', kind: 'write' },
  { name: 'grads', kind: 'read' },
] as const;
const includes = [stepParamsWgsl, optimizerCommonWgsl];
const stateBindings = (kind: OptimizerKind) => optimizerStateNames(kind).map((name) => ({ name, kind: 'write' }) as const);

/** Each optimizer's kernel in two forms: scalar (any count) and vec4 (see `vec4Ready`). */
function defs(name: string, source: string, entryPoint: string, bindings: KernelDef['bindings']): Record<'scalar' | 'vec4', KernelDef> {
  return {
    scalar: { name, source, includes, entryPoint, bindings },
    vec4: { name: `${name}_vec4`, source, includes, entryPoint: `${entryPoint}_vec4`, bindings },
  };
}

const SGD = defs('optimizer_sgd', sgdWgsl, 'sgd', common);
const MOMENTUM = defs('optimizer_momentum', sgdWgsl, 'momentum', [...common, ...stateBindings('momentum')]);
const ADAGRAD = defs('optimizer_adagrad', adagradWgsl, 'main', [...common, ...stateBindings('adagrad')]);
const ADAM = defs('optimizer_adam', adamWgsl, 'main', [...common, ...stateBindings('adam')]);

/**
 * Whether the vec4 entry points apply: four elements per load, which a software adapter rewards
 * (it pays per load, bench/RESULTS.md). Needs counts that are multiples of 4 and 16-byte aligned
 * bindings; the parameter layout (64-element aligned tensors) always gives both.
 */
function vec4Ready(io: OptimizerIo, dims: OptimizerDims): boolean {
  const aligned = (r: BindingResource) => bindingOffset(r) % 16 === 0;
  return dims.count % 4 === 0 && dims.weightsEnd % 4 === 0 && [io.params, io.grads, ...io.state].every(aligned);
}

/** The kernel, its override constants and its static uniform for one optimizer configuration. */
function variant(c: OptimizerConfig, dims: OptimizerDims): { defs: Record<'scalar' | 'vec4', KernelDef>; constants: Record<string, number>; uniform: Uint8Array } {
  const shape = [
    ['u32', dims.count],
    ['u32', dims.weightsEnd],
    ['f32', c.weightDecay],
  ] as const;
  switch (c.kind) {
    case 'sgd':
      return { defs: SGD, constants: {}, uniform: packUniform([...shape, ['f32', 0]]) };
    case 'momentum':
    case 'nesterov':
      return { defs: MOMENTUM, constants: { NESTEROV: Number(c.kind === 'nesterov') }, uniform: packUniform([...shape, ['f32', c.momentum]]) };
    case 'adagrad':
      return { defs: ADAGRAD, constants: {}, uniform: packUniform([...shape, ['f32', c.eps]]) };
    case 'adam':
    case 'adamw':
      return {
        defs: ADAM,
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
  const { defs, constants, uniform } = variant(config, dims);
  const vec4 = vec4Ready(io, dims);
  const kernel = await ctx.cache.compile(vec4 ? defs.vec4 : defs.scalar, { ...constants, WORKGROUP_SIZE: ELEMENTWISE_WORKGROUP_SIZE });
  const state = Object.fromEntries(optimizerStateNames(config.kind).map((name, s) => [name, io.state[s]]));
  return bindKernel(
    ctx.device,
    kernel,
    { config: ctx.arena.uniform(`${kernel.label} config`, uniform), step: io.step, status: io.status, params: io.params, grads: io.grads, ...state },
    elementwiseWorkgroups(ctx, vec4 ? dims.count / 4 : dims.count),
  );
}
