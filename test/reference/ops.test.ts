// The reference's ops, each on its own: hand-checked values, and analytic gradients against central
// finite differences of the forward functions.
import { describe, expect, it } from 'vitest';
import { ACTIVATIONS, type ActivationKind } from '../../src/model/spec.ts';
import { activationBackward, activationForward } from '../../src/reference/activation.ts';
import { lossFor, meanSquaredError, softmaxCrossEntropy } from '../../src/reference/loss.ts';
import { biasGrad, matmulForward, matmulInputGrad, matmulWeightGrad } from '../../src/reference/matmul.ts';
import { randomArray, randomLabels } from '../helpers/random.ts';
import { FD_RELATIVE_TOLERANCE, dot, f64, maxGradientError } from './finite-difference.ts';

const KINDS: ActivationKind[] = ['identity', ...ACTIVATIONS];

/** Values in ±[0.1, 1]: far enough from ReLU's kink at 0 that a step of FD_STEP never crosses it. */
function awayFromZero(n: number, label: string): Float64Array {
  const magnitude = randomArray(n, `${label}.magnitude`, 0.1, 1);
  const sign = randomArray(n, `${label}.sign`);
  return Float64Array.from(magnitude, (m, i) => (sign[i] < 0 ? -m : m));
}

/** As a plain array, −0 turned into 0 (toEqual tells them apart; the math does not). */
function plain(values: ArrayLike<number>): number[] {
  return Array.from(values, (v) => v + 0);
}

/** Results of float64 loops over a few terms: equal to the hand value up to a few ulps. */
const EXACT = 1e-12;

describe('matmul reference', () => {
  it('computes act(x·wᵀ + b) by hand', () => {
    const x = [1, 2, 3, -1, 0, 2]; // [2, 3]
    const w = [1, 0, -1, 0.5, 0.5, 0.5]; // [2, 3]
    const b = [0.5, -4];
    // row 0: [1 − 3 + 0.5, 3 − 4] = [−1.5, −1]; row 1: [−1 − 2 + 0.5, 0.5 − 4] = [−2.5, −3.5]
    expect(Array.from(matmulForward(x, w, b, 2, 3, 2, 'identity'))).toEqual([-1.5, -1, -2.5, -3.5]);
    expect(Array.from(matmulForward(x, w, null, 2, 3, 2, 'identity'))).toEqual([-2, 3, -3, 0.5]);
    expect(Array.from(matmulForward(x, w, null, 2, 3, 2, 'relu'))).toEqual([0, 3, 0, 0.5]);
  });

  it('computes the gradients of a tiny layer by hand', () => {
    const dy = [1, -1, 2, 0]; // [2, 2]
    const w = [1, 0, -1, 0.5, 0.5, 0.5]; // [2, 3]
    const x = [1, 2, 3, -1, 0, 2]; // [2, 3]
    expect(Array.from(matmulInputGrad(dy, w, null, 2, 3, 2, 'identity'))).toEqual([0.5, -0.5, -1.5, 2, 0, -2]);
    // relu' from the output a of the layer below: only a > 0 passes
    expect(plain(matmulInputGrad(dy, w, [1, 0, 2, 0, 3, 0], 2, 3, 2, 'relu'))).toEqual([0.5, 0, -1.5, 0, 0, 0]);
    expect(Array.from(matmulWeightGrad(dy, x, 2, 3, 2))).toEqual([-1, 2, 7, -1, -2, -3]);
    expect(Array.from(biasGrad(dy, 2, 2))).toEqual([3, -1]);
  });

  // Awkward sizes: nothing divides anything.
  const B = 5;
  const IN = 7;
  const OUT = 3;

  it('matmulWeightGrad and biasGrad match finite differences of matmulForward', () => {
    const x = f64(randomArray(B * IN, 'x'));
    const w = f64(randomArray(OUT * IN, 'w'));
    const b = f64(randomArray(OUT, 'b'));
    const dy = f64(randomArray(B * OUT, 'dy'));
    const f = () => dot(dy, matmulForward(x, w, b, B, IN, OUT, 'identity'));
    const dwError = maxGradientError(f, w, matmulWeightGrad(dy, x, B, IN, OUT));
    const dbError = maxGradientError(f, b, biasGrad(dy, B, OUT));
    expect(dwError).toBeLessThan(FD_RELATIVE_TOLERANCE);
    expect(dbError).toBeLessThan(FD_RELATIVE_TOLERANCE);
  });

  it.each(KINDS)('matmulInputGrad matches finite differences through the %s activation below', (kind) => {
    // The layer below produced a = act(zBelow); f(zBelow) = Σ dy ⊙ (act(zBelow)·wᵀ + b).
    const zBelow = awayFromZero(B * IN, 'zBelow');
    const w = f64(randomArray(OUT * IN, 'w'));
    const b = f64(randomArray(OUT, 'b'));
    const dy = f64(randomArray(B * OUT, 'dy'));
    const f = () => dot(dy, matmulForward(activationForward(kind, zBelow), w, b, B, IN, OUT, 'identity'));
    const analytic = matmulInputGrad(dy, w, activationForward(kind, zBelow), B, IN, OUT, kind);
    expect(maxGradientError(f, zBelow, analytic)).toBeLessThan(FD_RELATIVE_TOLERANCE);
  });
});

describe('activation reference', () => {
  it('has the hand values', () => {
    expect(Array.from(activationForward('relu', [-2, 0, 3]))).toEqual([0, 0, 3]);
    expect(activationForward('sigmoid', [0])[0]).toBe(0.5);
    expect(activationForward('tanh', [Math.log(2)])[0]).toBeCloseTo(0.6, 15); // (4 − 1)/(4 + 1)
    expect(Array.from(activationBackward('sigmoid', [0.5, 0.25], [1, 2]))).toEqual([0.25, 0.375]);
    expect(Array.from(activationBackward('tanh', [0.5, -1], [1, 3]))).toEqual([0.75, 0]);
    expect(Array.from(activationBackward('relu', [0, 2], [5, 7]))).toEqual([0, 7]);
  });

  it.each(KINDS)('%s backward matches finite differences of the forward', (kind) => {
    const z = awayFromZero(40, 'z');
    const da = f64(randomArray(40, 'da'));
    const f = () => dot(da, activationForward(kind, z));
    expect(maxGradientError(f, z, activationBackward(kind, activationForward(kind, z), da))).toBeLessThan(FD_RELATIVE_TOLERANCE);
  });
});

describe('loss reference', () => {
  it('softmax cross-entropy of [0, ln 2, ln 4] has probabilities 1/7, 2/7, 4/7', () => {
    const result = softmaxCrossEntropy([0, Math.log(2), Math.log(4)], [1], 1, 3);
    expect(result.lossSum).toBeCloseTo(-Math.log(2 / 7), 14);
    const expected = [1 / 7, 2 / 7 - 1, 4 / 7];
    result.grad.forEach((g, c) => expect(Math.abs(g - expected[c])).toBeLessThan(EXACT));
    expect(result.correct).toBe(0);
    expect(Array.from(result.predictions)).toEqual([2]);
  });

  it('softmax cross-entropy stays finite and exact for huge logits (max subtraction)', () => {
    const result = softmaxCrossEntropy([1000, 0, -1000, 0, 1000, 1000], [0, 2], 2, 3);
    // row 0: p = [1, e^−1000, 0] → loss 0; row 1: two equal maxima → loss ln 2
    expect(Math.abs(result.lossSum - Math.log(2))).toBeLessThan(EXACT);
    expect(plain(result.grad)).toEqual([0, 0, 0, 0, 0.25, -0.25]);
  });

  it('mean squared error by hand, with padding rows and the mean in the gradient', () => {
    // rows = 2 of B = 3; the third row is padding and must not count.
    const z = [0.5, 0, 1, 1, 9, 9];
    const result = meanSquaredError(z, [0, 0, 1], 3, 2, 2);
    // row 0: ½((0.5−1)² + 0²) = 0.125; row 1: ½((1−1)² + 1²) = 0.5
    expect(result.lossSum).toBe(0.625);
    expect(Array.from(result.grad)).toEqual([-0.25, 0, 0, 0.5, 0, 0]);
    expect(result.correct).toBe(2); // row 1: tie between 1 and 1 → index 0 = label
    expect(Array.from(result.predictions)).toEqual([0, 0]);
  });

  it('argmax ties go to the lowest index and padding rows are not counted', () => {
    const z = [3, 3, 1, 0, 2, 2, 5, 5, 5, 9, 0, 0];
    const result = softmaxCrossEntropy(z, [1, 1, 0, 0], 4, 3, 3);
    expect(Array.from(result.predictions)).toEqual([0, 1, 0]);
    expect(result.correct).toBe(2);
    expect(Array.from(result.grad.subarray(9))).toEqual([0, 0, 0]);
  });

  it('rejects labels outside the classes', () => {
    expect(() => softmaxCrossEntropy([0, 1], [2], 1, 2)).toThrow(/label 2/);
  });

  it.each(['ce', 'mse'] as const)('%s gradient matches finite differences of lossSum/rows (rows < B)', (kind) => {
    const B = 6;
    const C = 5;
    const rows = 4;
    const z = f64(randomArray(B * C, 'z', -3, 3));
    const labels = randomLabels(B, C);
    const f = () => lossFor(kind, z, labels, B, C, rows).lossSum / rows;
    expect(maxGradientError(f, z, lossFor(kind, z, labels, B, C, rows).grad)).toBeLessThan(FD_RELATIVE_TOLERANCE);
  });
});
