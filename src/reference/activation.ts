// CPU reference of the activations. The backward pass uses the post-activation output `a`
// (relu: a > 0; sigmoid: a(1 − a); tanh: 1 − a²), as the GPU kernels do, so no pre-activation is kept.
import type { ActivationKind } from '../model/spec.ts';

export function activate(kind: ActivationKind, z: number): number {
  switch (kind) {
    case 'identity':
      return z;
    case 'relu':
      return z > 0 ? z : 0;
    case 'sigmoid':
      return 1 / (1 + Math.exp(-z));
    case 'tanh':
      return Math.tanh(z);
  }
}

/** act'(z) written in terms of a = act(z). */
export function activationGradFromOutput(kind: ActivationKind, a: number): number {
  switch (kind) {
    case 'identity':
      return 1;
    case 'relu':
      return a > 0 ? 1 : 0;
    case 'sigmoid':
      return a * (1 - a);
    case 'tanh':
      return 1 - a * a;
  }
}

/** Elementwise act(z), any shape. */
export function activationForward(kind: ActivationKind, z: ArrayLike<number>): Float64Array {
  const out = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = activate(kind, z[i]);
  return out;
}

/** Elementwise da ⊙ act'(a), where `a` is the activation's output. */
export function activationBackward(kind: ActivationKind, a: ArrayLike<number>, da: ArrayLike<number>): Float64Array {
  if (a.length !== da.length) throw new Error(`activationBackward: a has ${a.length} elements, da has ${da.length}`);
  const out = new Float64Array(da.length);
  for (let i = 0; i < da.length; i++) out[i] = da[i] * activationGradFromOutput(kind, a[i]);
  return out;
}
