// The optimizer step, in either of two places: its own kernel, one dispatch over the whole flat
// parameter buffer (weights, then biases) once every gradient is stored (optimizerUpdate), or the
// epilogue of each weight grad, which steps each parameter as its gradient is computed
// (optimizerEpilogue, for kernels/matmul.ts). One WGSL file per optimizer defines the step of an
// element (shaders/optimizer_common.wgsl says how) and serves both. Static hyperparameters go in a
// uniform made once; lr and Adam's bias corrections come from the step's StepParams slot. After a
// non-finite loss (status[0] ≠ 0) the step changes nothing.
import adagradWgsl from '../../shaders/optimizer_adagrad.wgsl?raw';
import adamWgsl from '../../shaders/optimizer_adam.wgsl?raw';
import optimizerWgsl from '../../shaders/optimizer.wgsl?raw';
import optimizerCommonWgsl from '../../shaders/optimizer_common.wgsl?raw';
import momentumWgsl from '../../shaders/optimizer_momentum.wgsl?raw';
import oneStateWgsl from '../../shaders/optimizer_one_state.wgsl?raw';
import sgdWgsl from '../../shaders/optimizer_sgd.wgsl?raw';
import { packUniform } from '../gpu/arena.ts';
import { bindingOffset, bindKernel, type BindingDecl, type BindingResource, type Dispatch } from '../gpu/program.ts';
import { optimizerStateNames, optimizerStateSlots, type OptimizerConfig, type OptimizerKind } from '../model/optimizer.ts';
import type { KernelContext } from './context.ts';
import { ELEMENTWISE_WORKGROUP_SIZE, elementwiseWorkgroups } from './elementwise.ts';
import { stepParamsWgsl } from './includes.ts';

/** Where an optimizer step finds its parameters, state and flags. */
export interface OptimizerState {
  /** f32 [count] all weights, then all biases. */
  readonly params: BindingResource;
  /** optimizerStateSlots(kind) f32 [count] arrays, in optimizerStateNames(kind) order. */
  readonly state: readonly BindingResource[];
  /** u32 [≥ 1]: the loss kernel's status; status[0] ≠ 0 freezes every update. */
  readonly status: BindingResource;
  /** The StepParams ring (lr, bias corrections). */
  readonly step: BindingResource;
}

export interface OptimizerIo extends OptimizerState {
  /** f32 [count] */
  readonly grads: BindingResource;
}

export interface OptimizerDims {
  /** Elements of params, grads and each state array (ParamLayout.totalElements). */
  readonly count: number;
  /** Elements before this are weights, which weight decay applies to (ParamLayout.weightsEnd). */
  readonly weightsEnd: number;
  readonly config: OptimizerConfig;
}

/**
 * The optimizer's @binding numbers, the same in its own kernel, in a weight grad's epilogue and in the
 * loss kernel's output layer (shaders/optimizer_common.wgsl): clear of the matrix products' 0-5, the
 * loss kernel's 0-7 and 15, and fused dropout's 14.
 */
const BINDING = { config: 8, status: 9, params: 10, state: [11, 12], grads: 13 } as const;

/** The optimizer's bindings, in both of its places; `grads` only in its own kernel. */
function bindings(kind: OptimizerKind): BindingDecl[] {
  return [
    { name: 'config', kind: 'uniform', binding: BINDING.config },
    { name: 'step', kind: 'slot' },
    { name: 'status', kind: 'read', binding: BINDING.status },
    { name: 'params', kind: 'write', binding: BINDING.params },
    ...optimizerStateNames(kind).map((name, s) => ({ name, kind: 'write', binding: BINDING.state[s] }) as const),
  ];
}

/**
 * One optimizer's WGSL (its file, and the one-state step where it keeps one state array), the name of
 * its file (nesterov is momentum's, adamw Adam's), override constants and static uniform (config).
 */
function variant(c: OptimizerConfig, dims: OptimizerDims): { family: string; sources: readonly string[]; constants: Record<string, number>; uniform: Uint8Array } {
  const shape = [
    ['u32', dims.count],
    ['u32', dims.weightsEnd],
    ['f32', c.weightDecay],
  ] as const;
  switch (c.kind) {
    case 'sgd':
      return { family: 'sgd', sources: [sgdWgsl], constants: {}, uniform: packUniform(shape) };
    case 'momentum':
    case 'nesterov':
      return { family: 'momentum', sources: [momentumWgsl, oneStateWgsl], constants: { NESTEROV: Number(c.kind === 'nesterov') }, uniform: packUniform([...shape, ['f32', c.momentum]]) };
    case 'adagrad':
      return { family: 'adagrad', sources: [adagradWgsl, oneStateWgsl], constants: {}, uniform: packUniform([...shape, ['f32', c.eps]]) };
    case 'adam':
    case 'adamw':
      return {
        family: 'adam',
        sources: [adamWgsl],
        constants: { DECOUPLED: Number(c.kind === 'adamw') },
        uniform: packUniform([...shape, ['f32', c.beta1], ['f32', c.beta2], ['f32', 1 - c.beta1], ['f32', 1 - c.beta2], ['f32', c.eps]]),
      };
  }
}

/** The resources of the optimizer's bindings (bindings(kind)), its config uniform made here. */
function resources(ctx: KernelContext, label: string, io: OptimizerState, config: OptimizerConfig, uniform: Uint8Array): Record<string, BindingResource> {
  const slots = optimizerStateSlots(config.kind);
  if (io.state.length !== slots) throw new RangeError(`optimizer '${config.kind}' needs ${slots} state arrays, got ${io.state.length}`);
  const state = Object.fromEntries(optimizerStateNames(config.kind).map((name, s) => [name, io.state[s]]));
  return { config: ctx.arena.uniform(`${label} config`, uniform), step: io.step, status: io.status, params: io.params, ...state };
}

/**
 * Whether the vec4 entry point applies: four elements per load, which a software adapter rewards
 * (it pays per load, bench/RESULTS.md). Needs counts that are multiples of 4 and 16-byte aligned
 * bindings; the parameter layout (64-element aligned tensors) always gives both.
 */
function vec4Ready(io: OptimizerIo, dims: OptimizerDims): boolean {
  const aligned = (r: BindingResource) => bindingOffset(r) % 16 === 0;
  return dims.count % 4 === 0 && dims.weightsEnd % 4 === 0 && [io.params, io.grads, ...io.state].every(aligned);
}

/**
 * One optimizer step over all parameters, as a dispatch of its own. The host's StepParams for the
 * step must carry lr, t and (for Adam) the config's beta1 and beta2, from which the ring computes the
 * bias corrections.
 */
export async function optimizerUpdate(ctx: KernelContext, io: OptimizerIo, dims: OptimizerDims): Promise<Dispatch> {
  const { config } = dims;
  const { family, sources, constants, uniform } = variant(config, dims);
  const vec4 = vec4Ready(io, dims);
  const name = `optimizer_${family}`;
  const def = {
    name: vec4 ? `${name}_vec4` : name,
    source: optimizerWgsl,
    includes: [stepParamsWgsl, optimizerCommonWgsl, ...sources],
    entryPoint: vec4 ? 'main_vec4' : 'main',
    bindings: [...bindings(config.kind), { name: 'grads', kind: 'read', binding: BINDING.grads } as const],
  };
  const kernel = await ctx.cache.compile(def, { ...constants, WORKGROUP_SIZE: ELEMENTWISE_WORKGROUP_SIZE });
  return bindKernel(
    ctx.device,
    kernel,
    { ...resources(ctx, kernel.label, io, config, uniform), grads: io.grads },
    elementwiseWorkgroups(ctx, vec4 ? dims.count / 4 : dims.count),
  );
}

/**
 * The optimizer step as a weight grad's epilogue (shaders/matmul_update.wgsl): what the matrix
 * product's kernel adds to take it. `includes` go ahead of the store hook; `bindings` and
 * `resources` join the product's; `constants` are the optimizer's overrides.
 */
export interface OptimizerEpilogue {
  /** Names the kernels built with it: the optimizer's file (sgd, momentum, adagrad, adam). */
  readonly name: string;
  readonly includes: readonly string[];
  readonly bindings: readonly BindingDecl[];
  readonly resources: Readonly<Record<string, BindingResource>>;
  readonly constants: Readonly<Record<string, number>>;
}

/**
 * The optimizer step for the weight grads' epilogues: made once per plan (one config uniform), used
 * by every layer's weight grad. `io.params` and `io.state` are the whole flat buffers (each layer's
 * kernel finds its W and b in them by offset).
 */
export function optimizerEpilogue(ctx: KernelContext, io: OptimizerState, dims: OptimizerDims): OptimizerEpilogue {
  const { config } = dims;
  const { family, sources, constants, uniform } = variant(config, dims);
  return {
    name: family,
    includes: [stepParamsWgsl, optimizerCommonWgsl, ...sources],
    bindings: bindings(config.kind),
    resources: resources(ctx, `optimizer ${config.kind} epilogue`, io, config, uniform),
    constants,
  };
}
