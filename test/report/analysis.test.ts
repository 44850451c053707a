// The report's evaluation of a whole set: the GPU path (the inference plan, replayed over several
// batches) against the CPU reference, and the activations of sample images.
import { describe, expect, it } from 'vitest';
import type { ImageSet } from '../../src/data/dataset.ts';
import { initialParams } from '../../src/model/init.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { denseLayers } from '../../src/model/tensors.ts';
import { evaluateSet, sampleActivations, setLogits } from '../../src/report/analysis.ts';
import { Random } from '../../src/util/random.ts';
import { compareArrays } from '../helpers/compare.ts';
import { testGpu } from '../helpers/gpu.ts';

/**
 * GPU logits (f32 sums of 784 and 100 terms) against the float64 reference. Measured on lavapipe:
 * at most 6e-7 apart for logits of magnitude ~1-10; 1e-5 leaves room for other adapters'
 * summation orders and still fails a wrong batch offset or a stale row by orders of magnitude.
 */
const LOGITS = { atol: 1e-5, rtol: 1e-5 };

/** 784-100-10 with random weights and biases; 1,337 images make the plan run a full batch of 1,000 and a partial one. */
const SPEC: ModelSpec = { layers: [784, 100, 10], activation: 'relu', loss: 'ce', dropout: 0 };
const COUNT = 1337;

function randomSet(count: number): ImageSet {
  const rng = new Random(3, 'report-analysis');
  const images = Uint8Array.from({ length: count * 784 }, () => (rng.uniform(0, 1) < 0.8 ? 0 : rng.below(256)));
  const labels = Uint8Array.from({ length: count }, () => rng.below(10));
  return { name: 'random', images, labels, count, height: 28, width: 28, inputSize: 784 };
}

function randomParams(): Float32Array {
  const params = initialParams(SPEC, { kind: 'he' }, 5);
  const rng = new Random(5, 'report-biases');
  for (const layer of denseLayers(SPEC)) for (let i = 0; i < layer.bias.size; i++) params[layer.bias.offset + i] = rng.uniform(-0.5, 0.5);
  return params;
}

describe('evaluating a set for the report', () => {
  const set = randomSet(COUNT);
  const params = randomParams();

  it('gives the same logits on the GPU as the CPU reference, across batches', async () => {
    const gpu = await testGpu();
    const [onGpu, onCpu] = [await setLogits(SPEC, params, set, gpu), await setLogits(SPEC, params, set)];
    expect(onGpu).toBeInstanceOf(Float32Array);
    expect(onCpu).toBeInstanceOf(Float64Array);
    const { maxAbsDiff } = compareArrays('report logits', onGpu, onCpu, LOGITS, [COUNT, 10]);
    console.log(`report logits: max |GPU − CPU| ${maxAbsDiff.toExponential(2)} over ${COUNT}×10`);
  });

  it('counts correct predictions from its own predictions', async () => {
    const evaluation = await evaluateSet(SPEC, params, set);
    expect(evaluation.device).toBe('cpu');
    expect(evaluation.count).toBe(COUNT);
    expect(evaluation.predictions).toHaveLength(COUNT);
    expect(evaluation.correct).toBe(evaluation.predictions.filter((p) => p.predicted === set.labels[p.index]).length);
    for (const p of evaluation.predictions) expect(p.confidence).toBeGreaterThanOrEqual(0.1);
  });

  it('returns hidden activations and output probabilities of sample images', () => {
    const acts = sampleActivations(SPEC, params, set, [5, 0, 1336]);
    expect(acts.hidden).toHaveLength(1);
    expect(acts.hidden[0]).toHaveLength(3 * 100);
    expect(Math.min(...acts.hidden[0])).toBeGreaterThanOrEqual(0); // ReLU
    for (let r = 0; r < 3; r++) expect(acts.probabilities.subarray(10 * r, 10 * r + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});
