// One GPU-vs-reference comparison, measured rather than asserted: the worst difference and how it
// stands against its tolerance. The kernel tests assert on it (test/helpers/compare.ts throws with
// the first mismatches); `webgpu-mlp check` prints it beside the tolerance.
import type { Tolerance } from './tolerances.ts';

/** How `actual` compares with `expected` under `tolerance`. */
export interface Measured {
  /** The largest |actual − expected| (Infinity where one side is NaN and the other is not). */
  readonly maxAbsDiff: number;
  /**
   * The largest |actual − expected| / (atol + rtol·|expected|) over the elements: ≤ 1 passes. With a
   * zero bound (an exact tolerance) a difference counts as Infinity.
   */
  readonly worstRatio: number;
  /** Elements outside the tolerance. */
  readonly mismatches: number;
  readonly count: number;
}

export function measure(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: Tolerance): Measured {
  if (actual.length !== expected.length) throw new RangeError(`${actual.length} values against the reference's ${expected.length}`);
  let maxAbsDiff = 0;
  let worstRatio = 0;
  let mismatches = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const diff = Math.abs(a - e);
    const bound = tolerance.atol + tolerance.rtol * Math.abs(e);
    const ratio = Number.isNaN(diff) ? Infinity : bound > 0 ? diff / bound : Infinity;
    if (Number.isNaN(diff) || diff > maxAbsDiff) maxAbsDiff = Number.isNaN(diff) ? Infinity : diff;
    if (ratio > worstRatio) worstRatio = ratio;
    if (!(diff <= bound)) mismatches += 1;
  }
  return { maxAbsDiff, worstRatio, mismatches, count: expected.length };
}
