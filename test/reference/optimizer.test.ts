// Two steps of each optimizer on one weight (w = 1, decayed) and one bias (b = −0.5, never decayed),
// against values worked out from the formulas by hand (the square roots with a calculator).
import { describe, expect, it } from 'vitest';
import { optimizerConfig, type OptimizerKind } from '../../src/model/optimizer.ts';
import { initialOptimizerState, optimizerUpdate } from '../../src/reference/optimizer.ts';

const LR = 0.1;
const DECAY = 0.01;
const WEIGHTS_END = 1; // element 0 is a weight, element 1 a bias
const GRADS = [
  [0.5, 0.2],
  [-0.3, 0.4],
];

/** A handful of float64 operations per value: a few ulps of round-off against the hand values. */
const HAND_TOLERANCE = 1e-13;

interface Expected {
  /** [w, b] after step 1 and after step 2. */
  params: [number[], number[]];
  /** Each state array after step 2. */
  state: number[][];
}

const EXPECTED: Record<OptimizerKind, Expected> = {
  // g1 = [0.5 + 0.01·1, 0.2] = [0.51, 0.2] → [1 − 0.051, −0.5 − 0.02]
  // g2 = [−0.3 + 0.01·0.949, 0.4] = [−0.29051, 0.4] → [0.949 + 0.029051, −0.52 − 0.04]
  sgd: { params: [[0.949, -0.52], [0.978051, -0.56]], state: [] },
  // v1 = g1 = [0.51, 0.2] → [0.949, −0.52]
  // v2 = 0.9·v1 + g2 = [0.459 − 0.29051, 0.18 + 0.4] = [0.16849, 0.58] → [0.949 − 0.016849, −0.52 − 0.058]
  momentum: { params: [[0.949, -0.52], [0.932151, -0.578]], state: [[0.16849, 0.58]] },
  // v1 = [0.51, 0.2]; step g1 + 0.9·v1 = [0.969, 0.38] → [0.9031, −0.538]
  // g2 = [−0.3 + 0.009031, 0.4] = [−0.290969, 0.4]; v2 = [0.459 − 0.290969, 0.58] = [0.168031, 0.58]
  // step g2 + 0.9·v2 = [−0.290969 + 0.1512279, 0.4 + 0.522] = [−0.1397411, 0.922] → [0.91707411, −0.6302]
  nesterov: { params: [[0.9031, -0.538], [0.91707411, -0.6302]], state: [[0.168031, 0.58]] },
  // G1 = [0.2601, 0.04]; w −= 0.1·0.51/(0.51 + 1e-10), b −= 0.1·0.2/(0.2 + 1e-10) (≈ 0.1 each, eps visible at 1e-11)
  // g2 = [−0.3 + 0.01·0.9000000000196078, 0.4] = [−0.2909999999998039, 0.4]; G2 = [0.2601 + 0.0846809999998859, 0.2]
  // w = 0.9000000000196078 + 0.1·0.2909999999998039/(√0.3447809999998859 + 1e-10) = 0.949558862150202
  // b = −0.59999999995 − 0.1·0.4/(√0.2 + 1e-10) = −0.6894427190299915
  adagrad: {
    params: [[0.9000000000196078, -0.59999999995], [0.949558862150202, -0.6894427190299915]],
    state: [[0.3447809999998859, 0.2]],
  },
  // t = 1: m̂ = g, v̂ = g², so each moves by lr·|g|/(|g| + 1e-8): w = 1 − 0.1·0.51/0.51000001, b = −0.5 − 0.1·0.2/0.20000001
  // t = 2: g2 = [−0.3 + 0.01·0.9000000019607843, 0.4] = [−0.29099999998039216, 0.4]
  //   m2 = 0.9·[0.051, 0.02] + 0.1·g2 = [0.016800000001960778, 0.058]
  //   v2 = 0.999·[0.0002601, 0.00004] + 0.001·g2² = [0.00034452089998858855, 0.00019996]
  //   w −= 0.1·(m2/0.19)/(√(v2/0.001999) + 1e-8) → 0.8787012438702138; b likewise → −0.6965181945304615
  adam: {
    params: [[0.9000000019607843, -0.5999999950000002], [0.8787012438702138, -0.6965181945304615]],
    state: [
      [0.016800000001960778, 0.058],
      [0.00034452089998858855, 0.00019996],
    ],
  },
  // t = 1: w = 1 − 0.1·0.01·1 = 0.999, then the Adam step on g = 0.5: 0.999 − 0.1·0.5/0.50000001 = 0.899000002; b as in adam
  // t = 2: w = 0.899000002·(1 − 0.001) ≈ 0.898101002, then m2 = 0.9·0.05 − 0.03 = 0.015, v2 = 0.999·0.00025 + 0.001·0.09 = 0.00033975
  //   w −= 0.1·(0.015/0.19)/(√(0.00033975/0.001999) + 1e-8) → 0.8789511989397751
  adamw: {
    params: [[0.899000002, -0.5999999950000002], [0.8789511989397751, -0.6965181945304615]],
    state: [
      [0.015, 0.058],
      [0.00033975, 0.00019996],
    ],
  },
};

function expectClose(label: string, actual: ArrayLike<number>, expected: number[]): void {
  expect(actual.length, label).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i] - e), `${label}[${i}]: got ${actual[i]}, expected ${e}`).toBeLessThan(HAND_TOLERANCE));
}

describe('optimizer reference', () => {
  it.each(Object.keys(EXPECTED) as OptimizerKind[])('%s: two steps match the hand computation', (kind) => {
    const config = optimizerConfig(kind, { weightDecay: DECAY });
    const params = Float64Array.from([1, -0.5]);
    const state = initialOptimizerState(config, 2);
    const expected = EXPECTED[kind];
    GRADS.forEach((grads, step) => {
      optimizerUpdate(config, params, grads, state, LR, step + 1, WEIGHTS_END);
      expectClose(`${kind} params after step ${step + 1}`, params, expected.params[step]);
    });
    expect(state.length).toBe(expected.state.length);
    state.forEach((slot, s) => expectClose(`${kind} state ${s}`, slot, expected.state[s]));
  });

  it('leaves zero-gradient padding at zero, decay or not', () => {
    const config = optimizerConfig('adamw', { weightDecay: 0.5 });
    const params = Float64Array.from([0, 0, 1, 0]);
    const state = initialOptimizerState(config, 4);
    optimizerUpdate(config, params, [0, 0, 0.1, 0], state, 0.1, 1, 2);
    expect(Array.from(params.subarray(0, 2))).toEqual([0, 0]);
    expect(params[3]).toBe(0);
  });

  it('rejects a 0-based step and a wrong number of state arrays', () => {
    const config = optimizerConfig('adam');
    expect(() => optimizerUpdate(config, new Float64Array(1), [0], initialOptimizerState(config, 1), 0.1, 0, 1)).toThrow(/t must be/);
    expect(() => optimizerUpdate(config, new Float64Array(1), [0], [], 0.1, 1, 1)).toThrow(/needs 2 state arrays/);
  });
});
