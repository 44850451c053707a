// The named tolerances of GPU-vs-reference comparisons: |gpu − ref| ≤ atol + rtol·|ref|, elementwise.
// One definition for the kernel tests (test/kernels/, test/train/step-parity.test.ts) and for
// `webgpu-mlp check`, which runs the same comparisons on a user's own adapter. Each says why it is
// that size; the measured maxima quoted are lavapipe's (Mesa 25, 2-core x86-64).

/** An elementwise bound: |actual − expected| ≤ atol + rtol·|expected|. */
export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

// --- Matrix products (shaders/matmul_*.wgsl) ----------------------------------------------------

/**
 * Inputs are uniform in [-1, 1], so each product has magnitude ≤ 1 and a K-term sum random-walks to
 * ~√K. Every f32 fma rounds by up to 2^-24 of the running sum; over K terms that is at most
 * ~K·2^-24·√K in theory and ~√K·2^-24·√K = K·2^-24 in practice. We allow K·2^-20 (16× the practical
 * size): measured maxima are ~20× below it, while one missing or doubled term (~0.3) is >100× above
 * it for every K tested.
 */
export const MATMUL_ATOL_PER_TERM = 2 ** -20;
/** The last rounding of a large sum, and the adapter's f32 exp/tanh in the epilogue (a few ulp). */
export const MATMUL_RTOL = 1e-5;
/** A K-term product of inputs in [-1, 1]. */
export const matmulTolerance = (K: number): Tolerance => ({ atol: K * MATMUL_ATOL_PER_TERM, rtol: MATMUL_RTOL });

/**
 * Fused dropout divides the epilogue's value by keep, which scales the product's absolute error by
 * 1/keep (the division's own rounding, ≤ 2.5 ulp, is inside MATMUL_RTOL). The input grad also
 * recovers A as H·keep, a few ulp from A (shaders/matmul_dropout.wgsl): act' moves by ≤ 2^-21 (tanh:
 * |2a·Δa|; sigmoid half that; ReLU not at all), times |dY·W| ≤ K for inputs in [-1, 1], then / keep.
 */
export const RECOVERED_A_PER_TERM = 2 ** -21;
export const fusedForwardTolerance = (K: number, keep: number): Tolerance => ({ atol: (K * MATMUL_ATOL_PER_TERM) / keep, rtol: MATMUL_RTOL });
export const fusedInputGradTolerance = (K: number, keep: number): Tolerance => ({
  atol: (K * (MATMUL_ATOL_PER_TERM + RECOVERED_A_PER_TERM)) / keep,
  rtol: MATMUL_RTOL,
});

// --- Elementwise kernels ---------------------------------------------------------------------------

/**
 * Activations: identity and ReLU copy or select f32 values: exact. Sigmoid and tanh go through the
 * GPU's f32 exp/tanh, which WebGPU allows a few ulp (for tanh near 0 only an absolute bound): 1e-6
 * absolute plus 1e-5 relative is ~100 f32 ulp, far below a wrong formula's error. Measured:
 * ≤ 1.1e-7 (sigmoid) and ≤ 1.4e-7 (tanh) absolute.
 */
export const TRANSCENDENTAL: Tolerance = { atol: 1e-6, rtol: 1e-5 };
export const EXACT: Tolerance = { atol: 0, rtol: 0 };
/**
 * Activation backward multiplies dA (|dA| ≤ 1) by act'(A) computed in f32 from the same A: a couple
 * of ulp, except that tanh's 1 − a² cancels near |a| = 1, leaving a² rounding's 6e-8 as an absolute
 * error. Measured: ≤ 4.6e-8 absolute.
 */
export const ACTIVATION_BACKWARD: Tolerance = { atol: 1e-7, rtol: 1e-6 };

/**
 * Dropout: kept values are in / keep: keep is rounded to f32 (½ ulp) and WebGPU's f32 division may
 * be off by 2.5 ulp, so up to ~4 ulp (4·2^-23 relative) from the f64 reference. Measured: ≤ 1 ulp.
 */
export const DROPOUT_SCALED: Tolerance = { atol: 0, rtol: 4 * 2 ** -23 };

/**
 * Bias gradient (a column sum over B rows of values in [-1, 1], in f32): the running sum is ~√B in
 * magnitude, each addition rounds by up to half an ulp of it (2^-24·√B), and B such errors
 * random-walk to ~B·2^-24 (measured: 1.7e-4 at B = 4096). 8× that for the tails; a missing or
 * doubled row (|dy| ~ 0.5) stays far outside it (the bound is 2e-3 at B = 4096).
 */
export const columnSumTolerance = (B: number): Tolerance => ({ atol: 8 * B * 2 ** -24, rtol: 0 });

// --- Loss ------------------------------------------------------------------------------------------

/**
 * Row losses come from f32 exp/log (WebGPU allows a few ulp, more for large arguments) summed in
 * f32 over the rows; measured: ≤ 6.4e-8 relative. 5e-6 relative leaves room for other GPUs' exp and
 * still catches a dropped or doubled row (≥ 1/rows of the sum, 2.5e-4 at rows = 4000).
 */
export const LOSS_SUM: Tolerance = { atol: 1e-6, rtol: 5e-6 };
/**
 * Loss gradient entries are (p − onehot)·inv_rows with p from f32 exp: a few ulp of p, scaled by
 * 1/rows (measured: ≤ 4.6e-6 relative, where p − 1 cancels). The absolute part (1e-6 of 1/rows)
 * covers p near 0 (logits ±80 underflow exp to 0 on one side and not the other).
 */
export const lossGradTolerance = (rows: number): Tolerance => ({ atol: 1e-6 / rows, rtol: 1e-5 });

// --- Optimizer -------------------------------------------------------------------------------------

/**
 * Each f32 optimizer step rounds every stored value (parameter, velocity, moment) by up to half an
 * ulp of its magnitude, and the update's few operations add about as much: ~2 half-ulps per step of
 * the array's largest magnitude (measured: at most 4.9 over five steps for parameters ~1). A wrong
 * hyperparameter or a missed decay moves values by ≥ 1e-4 of that scale.
 */
export const OPTIMIZER_HALF_ULPS_PER_STEP = 2;
export function optimizerTolerance(reference: ArrayLike<number>, steps: number): Tolerance {
  let scale = 0;
  for (let i = 0; i < reference.length; i++) scale = Math.max(scale, Math.abs(reference[i]));
  return { atol: OPTIMIZER_HALF_ULPS_PER_STEP * steps * 2 ** -24 * scale, rtol: 0 };
}

// --- Whole training steps --------------------------------------------------------------------------

/**
 * Whole steps, GPU engine against the CPU reference engine: f32 GPU arithmetic (different summation
 * orders, fused multiply-adds) against float64, compounded over up to 20 updates. Largest differences
 * measured over all cases: loss 1.2e-6 (1.5e-6 relative), SGD-family parameters 3.6e-7,
 * Adam/Adagrad 7.9e-7 (Adagrad's accumulated G, larger in magnitude: 1.9e-6).
 */
/** Per-step mean loss. */
export const STEP_LOSS: Tolerance = { atol: 1e-5, rtol: 1e-5 };
/**
 * Final parameters and optimizer state. SGD-family updates are linear in the gradient; Adam and
 * Adagrad divide by running gradient magnitudes, which amplifies the relative rounding error of
 * tiny gradients, so they get a looser bound.
 */
export const STEP_PARAMS: Readonly<Record<'sgd' | 'momentum' | 'nesterov' | 'adagrad' | 'adam' | 'adamw', Tolerance>> = {
  sgd: { atol: 2e-6, rtol: 2e-5 },
  momentum: { atol: 2e-6, rtol: 2e-5 },
  nesterov: { atol: 2e-6, rtol: 2e-5 },
  adagrad: { atol: 5e-6, rtol: 1e-4 },
  adam: { atol: 5e-6, rtol: 1e-4 },
  adamw: { atol: 5e-6, rtol: 1e-4 },
};
