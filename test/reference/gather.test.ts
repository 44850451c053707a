import { describe, expect, it } from 'vitest';
import { gatherBatch } from '../../src/reference/gather.ts';

describe('gather reference', () => {
  // 5 images of 3 pixels: image n is [10n, 10n + 1, 255 − n], label 100 + n.
  const N = 5;
  const IN = 3;
  const images = Uint8Array.from({ length: N * IN }, (_, k) => {
    const n = Math.floor(k / IN);
    return [10 * n, 10 * n + 1, 255 - n][k % IN];
  });
  const labels = Uint32Array.from({ length: N }, (_, n) => 100 + n);
  const indices = [3, 0, 4, 1, 2]; // the epoch's permutation

  it('gathers a full batch through the permutation, scaled to [0, 1]', () => {
    const { x, y } = gatherBatch(images, labels, indices, 0, 2, 2, IN);
    expect(Array.from(x)).toEqual([30 / 255, 31 / 255, 252 / 255, 0, 1 / 255, 1]);
    expect(Array.from(y)).toEqual([103, 100]);
  });

  it('zero-pads the short last batch', () => {
    // Batches of B = 3 over 5 images: the second starts at 3 and has 2 valid rows.
    const { x, y } = gatherBatch(images, labels, indices, 3, 2, 3, IN);
    expect(Array.from(x)).toEqual([10 / 255, 11 / 255, 254 / 255, 20 / 255, 21 / 255, 253 / 255, 0, 0, 0]);
    expect(Array.from(y)).toEqual([101, 102, 0]);
  });

  it('takes f32 features as they are', () => {
    const values = Float32Array.from(images, (b) => b - 100.5);
    const { x, y } = gatherBatch(values, labels, indices, 0, 2, 3, IN);
    expect(Array.from(x)).toEqual([-70.5, -69.5, 151.5, -100.5, -99.5, 154.5, 0, 0, 0]);
    expect(Array.from(y)).toEqual([103, 100, 0]);
  });

  it('standardizes f32 features with the affine, in two f32 roundings', () => {
    const values = Float32Array.from(images, (b) => b / 7);
    const affine = { mean: Float32Array.of(1.5, -2, 0.1), scale: Float32Array.of(0.3, 1, 3) };
    const { x } = gatherBatch(values, labels, indices, 0, 1, 1, IN, affine);
    const n = indices[0];
    const expected = [0, 1, 2].map((k) => Math.fround(Math.fround(values[n * IN + k] - affine.mean[k]) * affine.scale[k]));
    expect(Array.from(x)).toEqual(expected);
    // Not the same as computing in float64: the reference rounds as the GPU does.
    expect(expected[2]).not.toBe((values[n * IN + 2] - affine.mean[2]) * affine.scale[2]);
  });

  it('rejects rows past the end of the permutation', () => {
    expect(() => gatherBatch(images, labels, indices, 3, 3, 3, IN)).toThrow(/exceed/);
  });
});
