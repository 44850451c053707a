import { appendFileSync } from 'node:fs';

// GPU-vs-reference comparison with named tolerances: |gpu − ref| ≤ atol + rtol·|ref|, elementwise.
// A failure reports the worst element and the first mismatches, so a broken kernel says where.

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

export interface Comparison {
  maxAbsDiff: number;
  maxRelDiff: number;
  mismatches: number;
}

type Numbers = ArrayLike<number>;

/** With WEBGPU_MLP_DIFF_LOG=path, every comparison appends its worst differences there (JSON lines). */
const diffLog = process.env.WEBGPU_MLP_DIFF_LOG;

export function compareArrays(label: string, actual: Numbers, expected: Numbers, tol: Tolerance, shape?: readonly number[]): Comparison {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} differs from the reference's ${expected.length}`);
  }
  let maxAbsDiff = 0;
  let maxRelDiff = 0;
  let worst = -1;
  const bad: number[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const diff = Math.abs(a - e);
    const ok = diff <= tol.atol + tol.rtol * Math.abs(e) || (Number.isNaN(a) && Number.isNaN(e)) || a === e;
    if (!(diff <= maxAbsDiff) || Number.isNaN(diff)) {
      maxAbsDiff = Number.isNaN(diff) ? Infinity : diff;
      worst = i;
    }
    if (e !== 0) maxRelDiff = Math.max(maxRelDiff, diff / Math.abs(e));
    if (!ok) bad.push(i);
  }
  if (diffLog) appendFileSync(diffLog, JSON.stringify({ label, n: expected.length, maxAbsDiff, maxRelDiff, ...tol }) + '\n');
  if (bad.length) {
    const where = (i: number) => (shape && shape.length > 1 ? `[${unravel(i, shape).join(', ')}]` : `[${i}]`);
    const lines = bad.slice(0, 8).map((i) => `  ${where(i)}: got ${actual[i]}, expected ${expected[i]}, diff ${Math.abs(actual[i] - expected[i]).toExponential(3)}`);
    throw new Error(
      `${label}: ${bad.length} of ${expected.length} elements outside atol ${tol.atol} + rtol ${tol.rtol}·|ref|; ` +
        `max |diff| ${maxAbsDiff.toExponential(3)} at ${where(worst)}\n` +
        `first mismatches:\n${lines.join('\n')}`,
    );
  }
  return { maxAbsDiff, maxRelDiff, mismatches: 0 };
}

function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = index % shape[d];
    index = Math.floor(index / shape[d]);
  }
  return out;
}
