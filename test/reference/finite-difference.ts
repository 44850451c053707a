// Central finite differences in float64, for checking the reference's analytic gradients.

/** Step of the central difference: truncation error ~h²·f''' ≈ 1e-12, round-off ~ε·|f|/h ≈ 1e-11. */
export const FD_STEP = 1e-5;

/**
 * |analytic − numeric| / max(|analytic| + |numeric|, FD_SCALE_FLOOR). The floor keeps gradients that are
 * (near) zero — padding, dead ReLU units, dropped elements — from turning round-off into a huge ratio:
 * there the check becomes an absolute one, |analytic − numeric| < FD_SCALE_FLOOR · FD_RELATIVE_TOLERANCE.
 */
export const FD_SCALE_FLOOR = 1e-4;

/**
 * With the errors above (~1e-11 absolute) against gradients of 1e-4 .. 1, correct gradients measured at
 * most 6e-8 here; a wrong one (a missing factor, a dropped mask, a transposed index) gives ~1e-1.
 */
export const FD_RELATIVE_TOLERANCE = 1e-6;

/** (f(x + h·e_i) − f(x − h·e_i)) / 2h, perturbing x[i] in place and restoring it. */
export function centralDifference(f: () => number, x: Float64Array, i: number, h = FD_STEP): number {
  const saved = x[i];
  x[i] = saved + h;
  const plus = f();
  x[i] = saved - h;
  const minus = f();
  x[i] = saved;
  return (plus - minus) / (2 * h);
}

export function relativeError(analytic: number, numeric: number): number {
  return Math.abs(analytic - numeric) / Math.max(Math.abs(analytic) + Math.abs(numeric), FD_SCALE_FLOOR);
}

/** Max relative error of `analytic` against the central difference of f w.r.t. every element of x. */
export function maxGradientError(f: () => number, x: Float64Array, analytic: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, relativeError(analytic[i], centralDifference(f, x, i)));
  return worst;
}

/** Σ_i weights[i]·values[i]: turns a tensor-valued op into a scalar whose gradient is the op's VJP. */
export function dot(weights: ArrayLike<number>, values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += weights[i] * values[i];
  return sum;
}

/** Float64 copy of seeded uniform values. */
export function f64(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values);
}
