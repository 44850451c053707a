// Elementwise activation, for layers whose matmul does not apply it in its epilogue (and for tests):
// A = act(Z) and dZ = dA ⊙ act'(A). Given the same binding as input and output, it runs in place.
import activationWgsl from '../../shaders/activation.wgsl?raw';
import { packUniform } from '../gpu/arena.ts';
import { bindKernel, type BindingResource, type Dispatch, type KernelDef } from '../gpu/program.ts';
import type { ActivationKind } from '../model/spec.ts';
import type { KernelContext } from './context.ts';
import { ELEMENTWISE_WORKGROUP_SIZE, elementwiseWorkgroups, sameBinding } from './elementwise.ts';
import { ACTIVATION_CODE, activationFnsWgsl } from './includes.ts';

function def(entryPoint: string, bindings: KernelDef['bindings']): KernelDef {
  return { name: `activation_${entryPoint}`, source: activationWgsl, includes: [activationFnsWgsl], entryPoint, bindings };
}

const params = { name: 'params', kind: 'uniform' } as const;
const FORWARD = def('forward', [params, { name: 'a', kind: 'write' }, { name: 'z', kind: 'read' }]);
const FORWARD_IN_PLACE = def('forward_in_place', [params, { name: 'a', kind: 'write' }]);
const BACKWARD = def('backward', [params, { name: 'dz', kind: 'write' }, { name: 'a', kind: 'read' }, { name: 'da', kind: 'read' }]);
const BACKWARD_IN_PLACE = def('backward_in_place', [params, { name: 'dz', kind: 'write' }, { name: 'a', kind: 'read' }]);

export interface ActivationDims {
  /** Elements (any shape, e.g. B·OUT). */
  readonly count: number;
  readonly activation: ActivationKind;
}

async function record(ctx: KernelContext, kernelDef: KernelDef, resources: Record<string, BindingResource>, dims: ActivationDims): Promise<Dispatch> {
  const kernel = await ctx.cache.compile(kernelDef, {
    ACTIVATION: ACTIVATION_CODE[dims.activation],
    WORKGROUP_SIZE: ELEMENTWISE_WORKGROUP_SIZE,
  });
  const uniform = ctx.arena.uniform(`${kernel.label} params`, packUniform([['u32', dims.count]]));
  return bindKernel(ctx.device, kernel, { params: uniform, ...resources }, elementwiseWorkgroups(ctx, dims.count));
}

/** a[count] = act(z[count]); in place when `z` and `a` are the same binding. */
export function activationForward(ctx: KernelContext, io: { z: BindingResource; a: BindingResource }, dims: ActivationDims): Promise<Dispatch> {
  return sameBinding(io.z, io.a)
    ? record(ctx, FORWARD_IN_PLACE, { a: io.a }, dims)
    : record(ctx, FORWARD, { a: io.a, z: io.z }, dims);
}

/** dz[count] = da ⊙ act'(a), with act' from the output a; in place when `da` and `dz` are the same binding. */
export function activationBackward(
  ctx: KernelContext,
  io: { a: BindingResource; da: BindingResource; dz: BindingResource },
  dims: ActivationDims,
): Promise<Dispatch> {
  return sameBinding(io.da, io.dz)
    ? record(ctx, BACKWARD_IN_PLACE, { dz: io.dz, a: io.a }, dims)
    : record(ctx, BACKWARD, { dz: io.dz, a: io.a, da: io.da }, dims);
}
