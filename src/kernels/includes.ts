// WGSL shared by several kernels (prepended through KernelDef.includes) and the host-side codes
// that select among their variants.
import activationFnsWgsl from '../../shaders/activation_fns.wgsl?raw';
import dropoutHashWgsl from '../../shaders/dropout_hash.wgsl?raw';
import type { ActivationKind } from '../model/spec.ts';

export { activationFnsWgsl, dropoutHashWgsl };
export { stepParamsWgsl } from './step-params.ts';

/** Values of the ACTIVATION override constant in activation_fns.wgsl. */
export const ACTIVATION_CODE: Record<ActivationKind, number> = { identity: 0, relu: 1, sigmoid: 2, tanh: 3 };

/** keep_threshold of dropout_hash.wgsl: an element is kept when its hash is below this. */
export function dropoutKeepThreshold(rate: number): number {
  return Math.min(Math.floor((1 - rate) * 2 ** 32), 2 ** 32 - 1);
}
