// The whole reference MLP: its gradients against central finite differences of the mean loss, for every
// activation, both losses, with and without dropout, on a batch with padding rows; and the step's plumbing.
import { describe, expect, it } from 'vitest';
import { optimizerConfig } from '../../src/model/optimizer.ts';
import { ACTIVATIONS, LOSSES, classCount, type ModelSpec } from '../../src/model/spec.ts';
import { paramLayout } from '../../src/model/tensors.ts';
import { dropoutForward } from '../../src/reference/dropout.ts';
import { lossFor } from '../../src/reference/loss.ts';
import { ReferenceMlp, type ReferenceStep } from '../../src/reference/mlp.ts';
import { optimizerUpdate } from '../../src/reference/optimizer.ts';
import { Random } from '../../src/util/random.ts';
import { randomArray, randomLabels } from '../helpers/random.ts';
import { FD_RELATIVE_TOLERANCE, FD_STEP, relativeError } from './finite-difference.ts';

/** Real parameters (uniform ±0.8, biases too so their gradients are exercised), padding zero. */
function randomParams(spec: ModelSpec, seed = 5): Float64Array {
  const layout = paramLayout(spec);
  const params = new Float64Array(layout.totalElements);
  const rng = new Random(seed, 'test-params');
  for (const tensor of layout.tensors) for (let k = 0; k < tensor.size; k++) params[tensor.offset + k] = rng.uniform(-0.8, 0.8);
  return params;
}

/** Where a real parameter lives (padding excluded). */
function realIndices(spec: ModelSpec): number[] {
  return paramLayout(spec).tensors.flatMap((t) => Array.from({ length: t.size }, (_, k) => t.offset + k));
}

/**
 * A perturbation of ±FD_STEP may flip a ReLU unit across its kink, where the loss is not differentiable and
 * the finite difference is meaningless. Such parameters are skipped; with pre-activations spread over ~±1
 * it happens to well under this fraction of them.
 */
const MAX_KINK_SKIPS = 0.02;

interface GradientCheck {
  maxRelativeError: number;
  checked: number;
  skipped: number;
}

function checkGradients(spec: ModelSpec, B: number, rows: number, step: ReferenceStep): GradientCheck {
  const mlp = new ReferenceMlp(spec, optimizerConfig('sgd'), randomParams(spec));
  const x = randomArray(B * spec.layers[0], 'x', 0, 1);
  const y = randomLabels(B, classCount(spec));
  mlp.lossAndGradients(x, y, B, rows, step);
  const grads = mlp.grads.slice();

  // The mean training loss, and which hidden units are active (their pattern must not change under ±h).
  const evaluate = () => {
    const { a } = mlp.forward(x, B, true, step);
    const loss = lossFor(spec.loss, a[a.length - 1], y, B, classCount(spec), rows).lossSum / rows;
    const pattern = a.slice(0, -1).map((al) => Array.from(al, (v) => (v > 0 ? '1' : '0')).join('')).join('|');
    return { loss, pattern };
  };
  const base = evaluate().pattern;
  let maxRelativeError = 0;
  let checked = 0;
  let skipped = 0;
  for (const i of realIndices(spec)) {
    const saved = mlp.params[i];
    mlp.params[i] = saved + FD_STEP;
    const plus = evaluate();
    mlp.params[i] = saved - FD_STEP;
    const minus = evaluate();
    mlp.params[i] = saved;
    if (spec.activation === 'relu' && (plus.pattern !== base || minus.pattern !== base)) {
      skipped++;
      continue;
    }
    const numeric = (plus.loss - minus.loss) / (2 * FD_STEP);
    maxRelativeError = Math.max(maxRelativeError, relativeError(grads[i], numeric));
    checked++;
  }
  // Padding never moves: exactly zero gradient.
  const real = new Set(realIndices(spec));
  grads.forEach((g, i) => {
    if (!real.has(i)) expect(g, `padding gradient at ${i}`).toBe(0);
  });
  return { maxRelativeError, checked, skipped };
}

describe('reference MLP gradients', () => {
  const B = 7;
  const rows = 5; // rows 5 and 6 are padding (random inputs, which must not count)
  const step: ReferenceStep = { t: 3, lr: 0.1, seed: 11 };
  const cases = ACTIVATIONS.flatMap((activation) => LOSSES.flatMap((loss) => [0, 0.4].map((dropout) => ({ activation, loss, dropout }))));

  it.each(cases)('$activation, $loss loss, dropout $dropout: match finite differences of the mean loss', ({ activation, loss, dropout }) => {
    const spec: ModelSpec = { layers: [6, 7, 5, 4], activation, loss, dropout };
    const result = checkGradients(spec, B, rows, step);
    expect(result.maxRelativeError).toBeLessThan(FD_RELATIVE_TOLERANCE);
    expect(result.skipped).toBeLessThanOrEqual(MAX_KINK_SKIPS * (result.checked + result.skipped));
  });

  it.each(LOSSES)('a single dense layer (no hidden layer), %s loss, matches finite differences', (loss) => {
    const result = checkGradients({ layers: [9, 3], activation: 'tanh', loss, dropout: 0.5 }, B, rows, step);
    expect(result.maxRelativeError).toBeLessThan(FD_RELATIVE_TOLERANCE);
  });
});

describe('reference MLP step', () => {
  const spec: ModelSpec = { layers: [6, 7, 5, 4], activation: 'tanh', loss: 'ce', dropout: 0.5 };
  const B = 8;
  const x = randomArray(B * 6, 'x', 0, 1);
  const y = randomLabels(B, 4);
  const step: ReferenceStep = { t: 1, lr: 0.05, seed: 3 };

  it('applies dropout to hidden layers in training only, with the layer index in the hash', () => {
    const mlp = new ReferenceMlp(spec, optimizerConfig('sgd'), randomParams(spec));
    const train = mlp.forward(x, B, true, step);
    expect(train.h[0]).toEqual(dropoutForward(train.a[0], step.seed, step.t, 0, 0.5));
    expect(train.h[1]).toEqual(dropoutForward(train.a[1], step.seed, step.t, 1, 0.5));
    expect(train.h[2]).toBe(train.a[2]); // never after the output layer
    const inference = mlp.forward(x, B, false);
    inference.a.forEach((a, l) => expect(inference.h[l]).toBe(a));
    expect(() => mlp.forward(x, B, true)).toThrow(/needs the step/);
  });

  it('evaluate is the inference loss and leaves the gradients alone', () => {
    const mlp = new ReferenceMlp(spec, optimizerConfig('sgd'), randomParams(spec));
    const { a } = mlp.forward(x, B, false);
    const expected = lossFor('ce', a[2], y, B, 4, 6);
    const result = mlp.evaluate(x, y, B, 6);
    expect(result.lossSum).toBe(expected.lossSum);
    expect(result.correct).toBe(expected.correct);
    expect(mlp.grads.every((g) => g === 0)).toBe(true);
  });

  it('trainStep is lossAndGradients followed by optimizerUpdate', () => {
    const config = optimizerConfig('adamw', { weightDecay: 0.01 });
    const stepped = new ReferenceMlp(spec, config, randomParams(spec));
    const manual = new ReferenceMlp(spec, config, randomParams(spec));
    for (let t = 1; t <= 3; t++) {
      const s = { ...step, t };
      const loss = stepped.trainStep(x, y, B, 6, s);
      expect(manual.lossAndGradients(x, y, B, 6, s).lossSum).toBe(loss.lossSum);
      optimizerUpdate(config, manual.params, manual.grads, manual.state, s.lr, t, manual.layout.weightsEnd);
    }
    expect(stepped.params).toEqual(manual.params);
    expect(stepped.state).toEqual(manual.state);
  });

  it('learns a fixed batch: the loss falls by half in 100 steps of momentum SGD', () => {
    const noDropout = { ...spec, dropout: 0 };
    const mlp = new ReferenceMlp(noDropout, optimizerConfig('momentum'), randomParams(noDropout));
    const first = mlp.evaluate(x, y, B, B).lossSum;
    for (let t = 1; t <= 100; t++) mlp.trainStep(x, y, B, B, { t, lr: 0.1, seed: 0 });
    const last = mlp.evaluate(x, y, B, B);
    expect(last.lossSum).toBeLessThan(first / 2);
    expect(last.correct).toBe(B);
  });

  it('rejects a parameter array of the wrong length', () => {
    expect(() => new ReferenceMlp(spec, optimizerConfig('sgd'), new Float64Array(10))).toThrow(/10 parameters given/);
  });
});
