// The public API end to end, as a user calls it: datasets from typed arrays, createModel, fit with
// callbacks, an AbortSignal and resume, early stopping, evaluate, predict, save and load (GPU and CPU
// reference, both ways), and typed errors with stable codes.
import { afterAll, describe, expect, it } from 'vitest';
import { createDataset, createModel, Dataset, loadModel, MlpError, openGpu, type EpochRecord } from '../../src/index.ts';
import { loadMnist } from '../../src/node.ts';
import { compareArrays } from '../helpers/compare.ts';

const gpu = await openGpu();
afterAll(() => gpu.close());
const mnist = await loadMnist({ train: 3000, test: 1000 });
/** A small, quick recipe: 2,700 training images, 300 validation, 43 steps per epoch. */
const SMALL = { layers: [784, 32, 10], batchSize: 64, lr: 0.003, seed: 5 };

/** Two interleaved spirals of float features on very different scales: a table no linear model separates. */
function spirals(count: number, seed = 1): Dataset<Float32Array> {
  const features = new Float32Array(count * 3);
  const labels = new Uint32Array(count);
  let s = seed;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < count; i++) {
    const label = i % 2;
    const t = 0.5 + 3 * rand();
    const angle = t * 2.2 + label * Math.PI;
    features[i * 3] = t * Math.cos(angle) + 0.05 * rand();
    features[i * 3 + 1] = 10 * t * Math.sin(angle); // a column ten times larger
    features[i * 3 + 2] = rand(); // noise
    labels[i] = label;
  }
  return createDataset({ features, labels, classNames: ['inner', 'outer'], name: 'spirals' });
}

describe('createDataset', () => {
  it('checks what it is given and says what is wrong', () => {
    const expectData = (init: unknown, message: RegExp) => {
      let error: unknown;
      try {
        createDataset(init as Parameters<typeof createDataset>[0]);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(MlpError);
      expect((error as MlpError).code).toBe('DATA');
      expect((error as Error).message).toMatch(message);
    };
    expectData({ features: [1, 2, 3], labels: [0] }, /features must be a Uint8Array \(pixels\) or a Float32Array, found Array/);
    expectData({ features: new Float32Array(7), labels: [0, 1] }, /7 feature values do not divide into 2 samples/);
    expectData({ features: new Float32Array([1, NaN, 3, 4]), labels: [0, 1] }, /feature 1 of sample 0 is NaN/);
    expectData({ features: new Float32Array(4), labels: [0, -1] }, /label of sample 1 is -1/);
    expectData({ features: new Float32Array(4), labels: [0, 2], classNames: ['a', 'b'] }, /label of sample 1 is 2, expected an integer in \[0, 1\]/);
    expectData({ features: new Float32Array(4), labels: [0, 1], classNames: ['a', 'a'] }, /class name "a" appears twice/);
    expectData({ features: new Uint8Array(8), labels: [0, 1], shape: [3, 3] }, /features hold 8 values, expected 2 samples × 9 = 18/);
    expectData({ features: new Uint8Array(8), labels: [0, 1], shape: [3, 3], inputSize: 4 }, /shape 3×3 does not hold 4 features/);
  });

  it('splits, slices and selects, reusing the same objects for the same split', () => {
    const set = spirals(100);
    expect(set.classes).toBe(2);
    expect(set.className(1)).toBe('outer');
    const a = set.split(0.2);
    expect(a.train.count).toBe(80);
    expect(a.validation!.count).toBe(20);
    expect(set.split(20)).toBe(a); // a fraction and a count that agree: one split, one GPU upload
    const shuffled = set.split(0.2, { seed: 3 });
    expect(shuffled.validation!.labels).not.toEqual(a.validation!.labels);
    expect(set.split(0.2, { seed: 3 })).toBe(shuffled);
    expect(set.slice(10, 20).sample(0)).toEqual(set.sample(10));
    expect(() => set.split(1.5)).toThrow(/fraction in \(0, 1\) or a number of samples in \[0, 99\]/);
  });
});

describe('fit, evaluate, predict', () => {
  it('trains MNIST on the GPU, with progress and epoch callbacks, and restores the best epoch', async () => {
    const model = await createModel(gpu, { ...SMALL, epochs: 3 });
    const progress: number[] = [];
    const epochs: EpochRecord[] = [];
    const result = await model.fit(mnist.train, {
      valSplit: 300,
      progressEvery: 10,
      onProgress: (event) => progress.push(event.step),
      onEpochEnd: (record) => {
        epochs.push(record);
      },
    });
    expect(result.status).toBe('completed');
    expect(result.trainCount).toBe(2700);
    expect(result.validationCount).toBe(300);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(result.history).toEqual(epochs);
    expect(progress.filter((step) => step < 43).length).toBeGreaterThanOrEqual(4); // every 10 of 43 steps
    expect(result.restoredBest).toBe(true);
    const test = await model.evaluate(mnist.test);
    // Measured 0.88 (3 epochs of 2,700 images); chance is 0.1.
    expect(test.accuracy).toBeGreaterThan(0.8);
    expect(test.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(1000);
    // The model holds the best epoch's weights: its validation accuracy is the best one recorded.
    const validation = mnist.train.split(300).validation!;
    expect((await model.evaluate(validation)).accuracy).toBe(result.best!.valAccuracy);

    // predict: any number of rows (beyond one inference batch), probabilities summing to 1, the
    // same classes as evaluate.
    const rows = mnist.test.slice(0, 1000);
    const predictions = await model.predict(rows);
    expect(predictions.count).toBe(1000);
    expect(Array.from(predictions.predicted)).toEqual(Array.from(test.predictions));
    for (let r = 0; r < 5; r++) {
      const sum = predictions.probabilities.slice(r * 10, r * 10 + 10).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
    }
    expect((await model.predict(rows.features.subarray(0, 784))).predicted[0]).toBe(predictions.predicted[0]);
    model.dispose();
  });

  it('trains a float table (f32 features) on the GPU and matches the CPU reference', async () => {
    const table = spirals(800);
    const options = { layers: [3, 32, 32, 2], activation: 'tanh', optimizer: 'momentum', batchSize: 50, lr: 0.05, epochs: 4, seed: 2 } as const;
    const onGpu = await createModel(gpu, options);
    const onCpu = await createModel('cpu', options);
    const a = await onGpu.fit(table, { valSplit: 0.25 });
    const b = await onCpu.fit(table, { valSplit: 0.25 });
    // 64 steps of f32 against float64: the epoch losses agree closely.
    const tolerance = { atol: 1e-5, rtol: 1e-4 };
    expect(compareArrays('epoch losses', a.history.map((r) => r.trainLoss), b.history.map((r) => r.trainLoss), tolerance).mismatches).toBe(0);
    const [gpuWeights, cpuWeights] = [await onGpu.getWeights(), await onCpu.getWeights()];
    expect(compareArrays('first-layer weights', gpuWeights[0].weight, cpuWeights[0].weight, tolerance).mismatches).toBe(0);
    onGpu.dispose();
    onCpu.dispose();
  });

  it('stops on the signal, resumes to exactly the weights of an uninterrupted fit', async () => {
    const options = { ...SMALL, epochs: 2, dropout: 0.2 };
    const whole = await createModel(gpu, options);
    await whole.fit(mnist.train, { valSplit: 300, restoreBest: false });
    const expected = (await whole.getWeights())[0].weight;

    const model = await createModel(gpu, options);
    const abort = new AbortController();
    const first = await model.fit(mnist.train, {
      valSplit: 300,
      restoreBest: false,
      progressEvery: 8,
      signal: abort.signal,
      onProgress: (event) => {
        if (event.epoch === 1 && event.step >= 24) abort.abort();
      },
    });
    expect(first.status).toBe('interrupted');
    expect(model.resumable).toBe(true);
    // Through bytes, as across processes: save resumable, load into a new model, continue.
    const bytes = await model.save({ resumable: true });
    const loaded = await loadModel(gpu, bytes);
    expect(loaded.resumable).toBe(true);
    await expect(loaded.fit(mnist.train, { resume: true, epochs: 5 })).rejects.toThrow(/resume continues a fit with its saved settings; drop epochs/);
    const second = await loaded.fit(mnist.train, { resume: true, restoreBest: false });
    expect(second.status).toBe('completed');
    expect(second.history.length).toBe(2);
    expect(compareArrays('resumed weights', (await loaded.getWeights())[0].weight, expected, { atol: 0, rtol: 0 }).mismatches).toBe(0);
    for (const m of [whole, model, loaded]) m.dispose();
  });

  it('early stopping ends the fit and keeps the best epoch', async () => {
    // A learning rate this high makes validation accuracy stall within a few epochs.
    const model = await createModel(gpu, { ...SMALL, lr: 0.05, optimizer: 'sgd', schedule: 'constant', epochs: 30, patience: 2 });
    const result = await model.fit(mnist.train.slice(0, 1200), { valSplit: 200 });
    expect(result.status).toBe('early-stopped');
    expect(result.history.length).toBe(result.best!.epoch + 2);
    expect((await model.evaluate(mnist.train.slice(0, 1200).split(200).validation!)).accuracy).toBe(result.best!.valAccuracy);
    model.dispose();
  });

  it('refuses bad options with a CONFIG error naming the option', async () => {
    const codeOf = async (body: () => Promise<unknown>) => body().then(() => 'none', (e: MlpError) => `${e.code}: ${e.message}`);
    expect(await codeOf(() => createModel(gpu, { layers: [784, 10], lr: -1 }))).toMatch(/^CONFIG: lr must be a positive number, found -1/);
    expect(await codeOf(() => createModel(gpu, { layers: [784, 10], optimizr: 'adam' }))).toMatch(/^CONFIG: unknown option "optimizr"/);
    expect(await codeOf(() => createModel(gpu, { 'batch-size': 'many' }))).toMatch(/^CONFIG: option batch-size: expected a number, found "many"/);
    const model = await createModel(gpu, { layers: [784, 16, 10] });
    expect(await codeOf(() => model.fit(mnist.train, { layers: [784, 32, 10] } as never))).toMatch(/^CONFIG: layers cannot change once a model exists/);
    expect(await codeOf(() => model.fit(createDataset({ features: new Float32Array(20), labels: [0, 1] })))).toMatch(/^DATA: training set "dataset": samples have 10 features, but the model's input layer expects 784/);
    model.dispose();
    expect(await codeOf(() => model.evaluate(mnist.test))).toMatch(/^STATE: this model was disposed/);
  });
});

describe('several models on one device', () => {
  it('train side by side on one uploaded dataset and stay independent', async () => {
    const uploadsBefore = gpu.stats.uploads;
    const models = await Promise.all([1, 2, 3].map((seed) => createModel(gpu, { ...SMALL, seed, epochs: 1 })));
    const results = [];
    for (const model of models) results.push(await model.fit(mnist.train, { valSplit: 300 }));
    // One upload of each split, whatever the number of models.
    expect(gpu.stats.uploads - uploadsBefore).toBeLessThanOrEqual(2);
    const weights = await Promise.all(models.map(async (m) => (await m.getWeights())[0].weight));
    expect(weights[0]).not.toEqual(weights[1]);
    // Each model's own weights: evaluating them again gives each its own validation accuracy.
    const validation = mnist.train.split(300).validation!;
    for (const [i, model] of models.entries()) expect((await model.evaluate(validation)).accuracy).toBe(results[i].best!.valAccuracy);
    for (const model of models) model.dispose();
  });
});
