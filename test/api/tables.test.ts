// Tables through the public API: awkward shapes (1 feature, 1,000 features, 2 and 50 classes, 10
// rows), standardization as model state (computed from the training split only, saved, loaded,
// applied by evaluate and predict alike), and the GPU against the CPU reference on float features.
import { describe, expect, it } from 'vitest';
import { createDataset, createModel, loadModel, openGpu, parseCsvText, tableOptions, type Dataset, type Gpu } from '../../src/index.ts';
import { computeStandardization } from '../../src/data/standardize.ts';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/checkpoint/checkpoint.ts';
import { Random } from '../../src/util/random.ts';

let gpuPromise: Promise<Gpu> | undefined;
const gpu = () => (gpuPromise ??= openGpu());

/**
 * A learnable table: class c's rows centred on its own point, features on wildly different scales
 * (feature k scaled by 10^(k mod 7 − 3)) and offsets, the last feature constant.
 */
function table(rows: number, features: number, classes: number, seed = 1): Dataset<Float32Array> {
  const rng = new Random(seed, 'table', rows * 1_000_003 + features * 101 + classes);
  // Feature 0 alone separates the classes (centres 1 apart, noise ±0.3); the others add random centres.
  const centres = Array.from({ length: classes }, (_, c) => Float64Array.from({ length: features }, (_, k) => rng.uniform(-1, 1) + (k === 0 ? c : 0)));
  const x = new Float32Array(rows * features);
  const labels = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) {
    const c = r % classes;
    labels[r] = c;
    for (let k = 0; k < features; k++) {
      const scale = 10 ** ((k % 7) - 3);
      x[r * features + k] = k === features - 1 && features > 1 ? 42 : (centres[c][k] + rng.uniform(-0.3, 0.3)) * scale + 1000 * scale;
    }
  }
  return createDataset({ features: x, labels, classNames: Array.from({ length: classes }, (_, c) => `class ${c}`), featureNames: Array.from({ length: features }, (_, k) => `f${k}`) });
}

describe('awkward shapes', () => {
  it.each([
    ['1 feature, 2 classes', 200, 1, 2],
    ['1,000 features, 3 classes', 300, 1000, 3],
    ['50 classes', 1000, 8, 50],
    ['10 rows', 10, 3, 2],
  ] as const)('%s: trains, evaluates, predicts and round-trips through a checkpoint', async (_, rows, features, classes) => {
    const data = table(rows, features, classes);
    const options = tableOptions(data, { hidden: [16] });
    const model = await createModel(await gpu(), { ...options, epochs: Math.min(options.epochs!, 100) });
    try {
      const fit = await model.fit(data);
      expect(fit.status).toBe('completed');
      expect(model.classNames).toEqual(data.classNames);
      expect(model.featureNames).toEqual(data.featureNames);
      const evaluation = await model.evaluate(data);
      expect(evaluation.count).toBe(rows);
      // Above chance on every shape but the tiniest (10 rows: it must just run).
      if (rows >= 200) expect(evaluation.accuracy).toBeGreaterThan(Math.min(0.9, 2 / classes));
      const predicted = await model.predict(data);
      // Host standardization (predict) and the GPU gather's (evaluate) give the same classes.
      expect([...predicted.predicted]).toEqual([...evaluation.predictions]);
      const loaded = await loadModel(await gpu(), await model.save());
      try {
        expect(loaded.standardization).toEqual(model.standardization);
        expect(loaded.classNames).toEqual(data.classNames);
        expect([...(await loaded.predict(data)).logits]).toEqual([...predicted.logits]);
      } finally {
        loaded.dispose();
      }
    } finally {
      model.dispose();
    }
  });
});

describe('standardization', () => {
  it('comes from the training split only, and handles constant features', async () => {
    const data = table(100, 4, 2);
    const model = await createModel('cpu', { layers: [4, 8, 2], valSplit: 0.25, valShuffle: true, epochs: 1 });
    await model.fit(data);
    const train = data.split(0.25, { seed: model.config.seed }).train;
    expect(model.standardization).toEqual(computeStandardization(train.features, 4));
    expect(model.standardization).not.toEqual(computeStandardization(data.features, 4));
    expect(model.standardization!.std[3]).toBe(1); // the constant feature: centred, not divided
    expect(model.standardization!.mean[3]).toBe(42);
    // A later fit keeps the model's standardization: its weights were trained on it.
    const before = model.standardization;
    await model.fit(table(100, 4, 2, 9), { epochs: 1 });
    expect(model.standardization).toEqual(before);
    model.dispose();
  });

  it('is off with standardize: false, and never applies to bytes', async () => {
    const off = await createModel('cpu', { layers: [4, 2], standardize: false, valSplit: 0, epochs: 1 });
    await off.fit(table(20, 4, 2));
    expect(off.standardization).toBeUndefined();
    expect(off.featureType).toBe('f32');
    const bytes = await createModel('cpu', { layers: [4, 2], valSplit: 0, epochs: 1 });
    await bytes.fit(createDataset({ features: new Uint8Array(80).map((_, i) => i * 3), labels: Uint32Array.from({ length: 20 }, (_, i) => i % 2) }));
    expect(bytes.standardization).toBeUndefined();
    expect(bytes.featureType).toBe('u8');
  });

  it('makes training indifferent to the features\' scales', async () => {
    // The same table with one feature multiplied by 10^6: standardized, the training is the same.
    const data = table(200, 3, 2);
    const scaled = Float32Array.from(data.features, (v, i) => (i % 3 === 0 ? v * 1e6 : v));
    const other = createDataset({ features: scaled, labels: data.labels });
    const fits = [];
    for (const set of [data, other]) {
      const model = await createModel('cpu', { layers: [3, 8, 2], valSplit: 0, epochs: 5, batchSize: 20 });
      await model.fit(set);
      fits.push((await model.evaluate(set)).accuracy);
    }
    expect(fits[1]).toBe(fits[0]);
  });

  it('loads checkpoints written before it existed (no data metadata): nothing is standardized', async () => {
    const model = await createModel('cpu', { layers: [3, 2], valSplit: 0, epochs: 1 });
    await model.fit(table(20, 3, 2));
    const { data: _data, ...old } = decodeCheckpoint(await model.save(), 'new');
    const loaded = await loadModel('cpu', encodeCheckpoint(old));
    expect(loaded.standardization).toBeUndefined();
    expect(loaded.classNames).toBeUndefined();
  });

  it('refuses data whose classes differ from the model\'s', async () => {
    const model = await createModel('cpu', { layers: [3, 2], valSplit: 0, epochs: 1 });
    await model.fit(table(20, 3, 2));
    const renamed = createDataset({ features: table(20, 3, 2).features, labels: table(20, 3, 2).labels, classNames: ['b', 'a'] });
    await expect(model.evaluate(renamed)).rejects.toThrow(/its classes \(b, a\) are not the model's \(class 0, class 1\)/);
  });
});

describe('GPU against the CPU reference on float features', () => {
  it('k steps of a standardized table: the same losses and weights', async () => {
    // 37 rows of 13 features on many scales, 5 classes, 2 hidden layers, Adam, no dropout.
    const data = table(37 * 4, 13, 5, 3);
    const options = { layers: [13, 17, 9, 5], batchSize: 37, epochs: 3, valSplit: 0, dropout: 0, lr: 3e-3, seed: 5 };
    const results = [];
    for (const backend of [await gpu(), 'cpu' as const]) {
      const model = await createModel(backend, options);
      const fit = await model.fit(data);
      results.push({ losses: fit.history.map((r) => r.trainLoss), weights: await model.getWeights(), standardization: model.standardization });
      model.dispose();
    }
    const [g, c] = results;
    expect(g.standardization).toEqual(c.standardization);
    // The GPU sums in f32 (the reference in f64): per-epoch mean losses agree to ~1e-5 relative.
    g.losses.forEach((loss, i) => expect(Math.abs(loss - c.losses[i])).toBeLessThan(1e-4 * Math.max(1, c.losses[i])));
    g.weights.forEach((layer, l) => {
      let max = 0;
      layer.weight.forEach((w, i) => (max = Math.max(max, Math.abs(w - c.weights[l].weight[i]))));
      // 12 Adam steps of lr 3e-3 from f32 differences of ~1e-7: well within 1e-4.
      expect(max).toBeLessThan(1e-4);
    });
  });
});

describe('a table from text', () => {
  it('parseCsvText → tableOptions → fit → predict names classes', async () => {
    const lines = ['length,width,kind'];
    for (let i = 0; i < 60; i++) lines.push(`${i % 2 ? 10 + (i % 5) : 1 + (i % 3) / 10},${i % 2 ? 0.001 : 0.002},${i % 2 ? 'long' : 'short'}`);
    const data = parseCsvText(lines.join('\n'), 'shapes.csv', { label: 'kind' });
    const model = await createModel('cpu', { ...tableOptions(data), epochs: 30 });
    await model.fit(data);
    const { predicted } = await model.predict(Float32Array.of(12, 0.001, 1.1, 0.002));
    expect([...predicted].map((c) => model.className(c))).toEqual(['long', 'short']);
  });
});
