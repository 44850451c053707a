import { describe, expect, it } from 'vitest';
import { dropoutBackward, dropoutBits, dropoutForward, dropoutKeepMask, keepThreshold, pcg } from '../../src/reference/dropout.ts';
import { randomArray } from '../helpers/random.ts';

describe('dropout reference', () => {
  // Literal values computed independently in Python, on unbounded integers masked to 32 bits after
  // every product and sum (M = 0xFFFFFFFF):
  //   def pcg(v): s = (v*747796405 + 2891336453) & M; w = (((s >> ((s >> 28) + 4)) ^ s)*277803737) & M; return ((w >> 22) ^ w) & M
  //   def bits(seed, t, layer, i): return pcg((i + pcg((layer + pcg((t + pcg(seed)) & M)) & M)) & M)
  it('pcg and the dropout bits have the values of an independent implementation', () => {
    expect(pcg(0)).toBe(129708002);
    expect(pcg(1)).toBe(2831084092);
    expect(pcg(0xffffffff)).toBe(3861530882);
    expect(dropoutBits(1, 2, 3, 4)).toBe(1787075052);
    expect(dropoutBits(0, 0, 0, 0)).toBe(2368882721);
    expect(dropoutBits(7, 1, 0, 123456)).toBe(720156238);
  });

  it('keeps an element exactly when its bits are below the threshold', () => {
    expect(keepThreshold(0.5)).toBe(2 ** 31);
    expect(keepThreshold(0)).toBe(2 ** 32 - 1);
    expect(keepThreshold(0.1)).toBe(3865470566); // floor(0.9 · 2^32), from Python
    const mask = dropoutKeepMask(42, 5, 1, 1000, 0.3);
    for (let i = 0; i < 1000; i++) expect(mask[i]).toBe(dropoutBits(42, 5, 1, i) < keepThreshold(0.3) ? 1 : 0);
  });

  it.each([0.1, 0.5, 0.9])('keeps a fraction 1 − %s of 1e5 elements, within 5 binomial standard deviations', (rate) => {
    const n = 100_000;
    const keep = 1 - rate;
    const kept = dropoutKeepMask(2024, 17, 0, n, rate).reduce((sum, k) => sum + k, 0);
    // Binomial(n, keep): σ = √(n·keep·(1−keep)) ≤ 158; 5σ fails a correct hash with probability ~6e-7.
    expect(Math.abs(kept - n * keep)).toBeLessThan(5 * Math.sqrt(n * keep * (1 - keep)));
  });

  it('is deterministic, and changes with the seed, the step and the layer', () => {
    const n = 10_000;
    const rate = 0.5;
    const base = dropoutKeepMask(9, 3, 1, n, rate);
    expect(dropoutKeepMask(9, 3, 1, n, rate)).toEqual(base);
    // A prefix does not depend on the count (element i hashes i alone).
    expect(dropoutKeepMask(9, 3, 1, 100, rate)).toEqual(base.subarray(0, 100));
    // Independent masks of rate ½ disagree on half the elements; demand at least 40%.
    const disagreement = (other: Uint8Array) => other.reduce((sum, k, i) => sum + (k !== base[i] ? 1 : 0), 0) / n;
    expect(disagreement(dropoutKeepMask(10, 3, 1, n, rate))).toBeGreaterThan(0.4);
    expect(disagreement(dropoutKeepMask(9, 4, 1, n, rate))).toBeGreaterThan(0.4);
    expect(disagreement(dropoutKeepMask(9, 3, 2, n, rate))).toBeGreaterThan(0.4);
  });

  it('scales kept elements by 1/keep in both directions and zeroes the dropped ones', () => {
    const rate = 0.25;
    const a = randomArray(500, 'a');
    const mask = dropoutKeepMask(1, 2, 0, 500, rate);
    const h = dropoutForward(a, 1, 2, 0, rate);
    const da = dropoutBackward(a, 1, 2, 0, rate);
    for (let i = 0; i < 500; i++) {
      const expected = mask[i] ? a[i] / 0.75 : 0;
      expect(h[i]).toBe(expected);
      expect(da[i]).toBe(expected);
    }
    expect(mask.includes(0) && mask.includes(1)).toBe(true);
  });
});
