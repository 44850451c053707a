// CPU reference of the dense layer: Y[B, OUT] = act(X[B, IN]·W[OUT, IN]ᵀ + b[OUT]) and its
// gradients. Plain loops with float64 accumulation; W is in PyTorch's nn.Linear layout [OUT, IN].
import type { ActivationKind } from '../model/spec.ts';
import { activate, activationGradFromOutput } from './activation.ts';

type Numbers = ArrayLike<number>;

function checkLength(op: string, name: string, array: Numbers, expected: number): void {
  if (array.length < expected) throw new Error(`${op}: ${name} has ${array.length} elements, needs ${expected}`);
}

/** [B, OUT] = act(x·wᵀ + b); x [B, IN], w [OUT, IN], b [OUT] or null (no bias). */
export function matmulForward(x: Numbers, w: Numbers, b: Numbers | null, B: number, IN: number, OUT: number, activation: ActivationKind): Float64Array {
  checkLength('matmulForward', 'x', x, B * IN);
  checkLength('matmulForward', 'w', w, OUT * IN);
  if (b) checkLength('matmulForward', 'b', b, OUT);
  const y = new Float64Array(B * OUT);
  for (let r = 0; r < B; r++) {
    const xRow = r * IN;
    for (let o = 0; o < OUT; o++) {
      const wRow = o * IN;
      let sum = b ? b[o] : 0;
      for (let i = 0; i < IN; i++) sum += x[xRow + i] * w[wRow + i];
      y[r * OUT + o] = activate(activation, sum);
    }
  }
  return y;
}

/**
 * [B, IN] = (dy·w) ⊙ act'(a): the gradient reaching the layer below, through its activation.
 * dy [B, OUT], w [OUT, IN], a [B, IN] the post-activation output of the layer below;
 * a = null or activation 'identity' leave the product unmultiplied.
 */
export function matmulInputGrad(dy: Numbers, w: Numbers, a: Numbers | null, B: number, IN: number, OUT: number, activation: ActivationKind): Float64Array {
  checkLength('matmulInputGrad', 'dy', dy, B * OUT);
  checkLength('matmulInputGrad', 'w', w, OUT * IN);
  if (a) checkLength('matmulInputGrad', 'a', a, B * IN);
  const dx = new Float64Array(B * IN);
  for (let r = 0; r < B; r++) {
    const dxRow = r * IN;
    for (let o = 0; o < OUT; o++) {
      const g = dy[r * OUT + o];
      const wRow = o * IN;
      for (let i = 0; i < IN; i++) dx[dxRow + i] += g * w[wRow + i];
    }
  }
  if (a && activation !== 'identity') {
    for (let k = 0; k < B * IN; k++) dx[k] *= activationGradFromOutput(activation, a[k]);
  }
  return dx;
}

/** [OUT, IN] = dyᵀ·x; dy [B, OUT], x [B, IN]. */
export function matmulWeightGrad(dy: Numbers, x: Numbers, B: number, IN: number, OUT: number): Float64Array {
  checkLength('matmulWeightGrad', 'dy', dy, B * OUT);
  checkLength('matmulWeightGrad', 'x', x, B * IN);
  const dw = new Float64Array(OUT * IN);
  for (let r = 0; r < B; r++) {
    const xRow = r * IN;
    for (let o = 0; o < OUT; o++) {
      const g = dy[r * OUT + o];
      const dwRow = o * IN;
      for (let i = 0; i < IN; i++) dw[dwRow + i] += g * x[xRow + i];
    }
  }
  return dw;
}

/** [OUT] = Σ_b dy[b, :]; dy [B, OUT]. */
export function biasGrad(dy: Numbers, B: number, OUT: number): Float64Array {
  checkLength('biasGrad', 'dy', dy, B * OUT);
  const db = new Float64Array(OUT);
  for (let r = 0; r < B; r++) {
    for (let o = 0; o < OUT; o++) db[o] += dy[r * OUT + o];
  }
  return db;
}
