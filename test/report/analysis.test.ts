// The report's evaluation of a whole set through the public Model: the GPU path (predict, in several
// batches) against the CPU reference, the report's own counting of its predictions, and the
// activations of sample images.
import { afterAll, describe, expect, it } from 'vitest';
import { createDataset, createModel, openGpu, type Dataset, type Gpu, type Model } from '../../src/index.ts';
import { evaluateSet, sampleActivations } from '../../src/report/analysis.ts';
import { Random } from '../../src/util/random.ts';
import { compareArrays } from '../helpers/compare.ts';

/**
 * GPU logits (f32 sums of 784 and 100 terms) against the float64 reference (rounded to f32).
 * Measured on lavapipe: at most 6e-7 apart for logits of magnitude ~1-10; 1e-5 leaves room for
 * other adapters' summation orders and still fails a wrong batch offset or a stale row by orders of
 * magnitude.
 */
const LOGITS = { atol: 1e-5, rtol: 1e-5 };

/** 784-100-10 with random weights and biases; 1,337 images make predict run a full batch and a partial one. */
const LAYERS = [784, 100, 10];
const COUNT = 1337;

function randomSet(count: number): Dataset {
  const rng = new Random(3, 'report-analysis');
  const features = Uint8Array.from({ length: count * 784 }, () => (rng.uniform(0, 1) < 0.8 ? 0 : rng.below(256)));
  const labels = Uint8Array.from({ length: count }, () => rng.below(10));
  return createDataset({ name: 'random', features, labels, shape: [28, 28] });
}

/** He-initialised weights (seed 5) and random biases, so that a bias slip shows. */
async function randomModel(): Promise<Model> {
  const model = await createModel('cpu', { layers: LAYERS, seed: 5 });
  const rng = new Random(5, 'report-biases');
  const layers = (await model.getWeights()).map(({ weight, bias }) => ({ weight, bias: bias.map(() => rng.uniform(-0.5, 0.5)) }));
  model.setWeights(layers);
  return model;
}

describe('evaluating a set for the report', () => {
  const set = randomSet(COUNT);
  let gpu: Gpu | undefined;
  afterAll(() => gpu?.close());

  it('gives the same logits on the GPU as the CPU reference, across batches', async () => {
    const onCpu = await randomModel();
    gpu = await openGpu();
    const onGpu = await createModel(gpu, { layers: LAYERS, seed: 5 });
    onGpu.setWeights(await onCpu.getWeights());
    const [gpuLogits, cpuLogits] = [(await onGpu.predict(set)).logits, (await onCpu.predict(set)).logits];
    const { maxAbsDiff } = compareArrays('report logits', gpuLogits, cpuLogits, LOGITS, [COUNT, 10]);
    console.log(`report logits: max |GPU − CPU| ${maxAbsDiff.toExponential(2)} over ${COUNT}×10`);
    const evaluation = await evaluateSet(onGpu, set);
    expect(evaluation.device).toBe('gpu');
    expect(evaluation.count).toBe(COUNT);
    onGpu.dispose();
    onCpu.dispose();
  });

  it('counts correct predictions from its own predictions', async () => {
    const model = await randomModel();
    const evaluation = await evaluateSet(model, set);
    expect(evaluation.device).toBe('cpu');
    expect(evaluation.count).toBe(COUNT);
    expect(evaluation.predictions).toHaveLength(COUNT);
    expect(evaluation.correct).toBe(evaluation.predictions.filter((p) => p.predicted === set.labels[p.index]).length);
    for (const p of evaluation.predictions) expect(p.confidence).toBeGreaterThanOrEqual(0.1);
    // The same argmax as the model's own predictions.
    expect(evaluation.predictions.map((p) => p.predicted)).toEqual(Array.from((await model.predict(set)).predicted));
    model.dispose();
  });

  it('returns hidden activations and output probabilities of sample images', async () => {
    const model = await randomModel();
    const acts = await sampleActivations(model, set, [5, 0, 1336]);
    expect(acts.hidden).toHaveLength(1);
    expect(acts.hidden[0]).toHaveLength(3 * 100);
    expect(Math.min(...acts.hidden[0])).toBeGreaterThanOrEqual(0); // ReLU
    for (let r = 0; r < 3; r++) expect(acts.probabilities.subarray(10 * r, 10 * r + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // Row 1 is sample 0: the same probabilities as predict gives it (f32 there).
    const predicted = await model.predict(set.slice(0, 1));
    for (let c = 0; c < 10; c++) expect(acts.probabilities[10 + c]).toBeCloseTo(predicted.probabilities[c], 6);
    model.dispose();
  });
});
