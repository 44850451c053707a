// Sizes beyond the adapter's limits: handled (a batch larger than the data, an evaluation batch
// whose activations would not fit one binding) or refused before training with the limit named
// (exit 2), never a WebGPU validation error from inside Dawn followed by a "trained" model of zeros.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Dataset } from '../../src/data/dataset.ts';
import { loadIdxDataset } from '../../src/data/files.ts';
import { BufferArena } from '../../src/gpu/arena.ts';
import { openGpu } from '../../src/gpu/device.ts';
import { GpuLimitError } from '../../src/gpu/limits.ts';
import { initialParams } from '../../src/model/init.ts';
import { optimizerConfig } from '../../src/model/optimizer.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { denseLayers } from '../../src/model/tensors.ts';
import { uploadDataset } from '../../src/train/gpu-data.ts';
import { readRecords } from '../../src/train/engine.ts';
import { createGpuEngine, GpuSession } from '../../src/train/gpu-engine.ts';
import { evalBatchRows } from '../../src/train/plan.ts';
import { Random } from '../../src/util/random.ts';
import { testGpu } from '../helpers/gpu.ts';
import { createModel } from '../../src/api/model.ts';
import { openGpu as openApiGpu } from '../../src/api/gpu.ts';
import { cli, ourStderr, tensorBytes, writeIdxDataset } from './helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-limits-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A set of `count` samples of 4 features whose class is the quadrant-like code of the first two. */
function fourFeatures(name: string, count: number, seed: number): Dataset<Uint8Array> {
  const rng = new Random(seed, name);
  const images = Uint8Array.from({ length: count * 4 }, () => rng.below(256));
  const labels = Uint8Array.from({ length: count }, (_, i) => (images[4 * i] >> 6) * 2 + (images[4 * i + 1] >> 7));
  return Dataset.create({ name, features: images, labels });
}

function randomFeatures(name: string, count: number, width: number): Dataset<Uint8Array> {
  const rng = new Random(3, name);
  const images = Uint8Array.from({ length: count * width }, () => rng.below(256));
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  return Dataset.create({ name, features: images, labels });
}

const mnist = await loadIdxDataset();
const small = writeIdxDataset(join(work, 'mnist-small'), mnist.train.slice(0, 700, 'train'), mnist.test.slice(0, 200, 'test'));
const features = writeIdxDataset(join(work, 'four-features'), fourFeatures('train', 1100, 1), fourFeatures('test', 900, 2));
const fewFeatures = writeIdxDataset(join(work, 'few-features'), fourFeatures('train', 84, 1), fourFeatures('test', 20, 2));
/** 1,100,000 features per sample (20 training, 10 test samples). */
const wideInput = writeIdxDataset(join(work, 'wide-input'), randomFeatures('train', 20, 1_100_000), randomFeatures('test', 10, 1_100_000));
const BINDING = 'maxStorageBufferBindingSize (134,217,728 bytes)';

describe('refused up front, the limit named, exit 2', () => {
  it('a parameter buffer beyond maxStorageBufferBindingSize (--layers 784,200000,10: 636 MB)', () => {
    const run = cli(work, ['train', '--data-dir', small, '--val-split', '100', '--layers', '784,200000,10', '--run-dir', join(work, 'r1')]);
    expect(ourStderr(run.stderr)).toMatch(
      `error: the parameters of model 784-200000-10 (159,000,010 f32) needs 636,000,256 bytes, more than this adapter's ${BINDING}; use narrower or fewer layers`,
    );
    expect(run.code).toBe(2);
  });

  it('a training batch whose activations exceed it (--batch-size 70000 on MNIST: 50,000 rows of 784)', () => {
    const run = cli(work, ['train', '--batch-size', '70000', '--run-dir', join(work, 'r2')]);
    expect(ourStderr(run.stderr)).toMatch(
      `error: a training batch of 50000: its widest activation [50000, 784] (f32) needs 156,800,000 bytes, more than this adapter's ${BINDING}; ` +
        'the largest batch size that fits is 42799',
    );
    expect(run.code).toBe(2);
  });

  it('labels beyond it (33,554,433 samples: their u32 labels need 128 MiB + 4)', async () => {
    const gpu = await testGpu();
    const images = new Uint8Array(gpu.device.limits.maxStorageBufferBindingSize + 4);
    const huge = Dataset.create({ name: 'train', features: images, labels: new Uint8Array(images.length / 4), inputSize: 4 });
    const arena = new BufferArena(gpu.device);
    expect(() => uploadDataset(arena, huge)).toThrow(GpuLimitError);
    expect(() => uploadDataset(arena, huge)).toThrow(
      `the labels of the train set (33554433 samples of 4 u8 features) needs 134,217,732 bytes, more than this adapter's ${BINDING}; use fewer samples`,
    );
    expect(arena.bytes).toBe(0);
  });
});

describe('handled', () => {
  it('features beyond it: uploaded as chunks of whole samples, gathered by one dispatch per chunk', async () => {
    const gpu = await testGpu();
    const limit = gpu.device.limits.maxStorageBufferBindingSize;
    // f32 rows of 64 features (256 bytes): a binding holds limit / 256 of them; 10 more need a second chunk.
    const IN = 64;
    const rows = limit / 256 + 10;
    const features = new Float32Array(rows * IN);
    for (let r = 0; r < rows; r++) features[r * IN + (r % IN)] = 1 + (r % 3);
    const labels = Uint32Array.from({ length: rows }, (_, r) => r % 3);
    const set = Dataset.create({ name: 'wide', features, labels, inputSize: IN });
    const arena = new BufferArena(gpu.device);
    const uploaded = uploadDataset(arena, set);
    expect(uploaded.features.map((c) => [c.start, c.count])).toEqual([
      [0, limit / 256],
      [limit / 256, 10],
    ]);
    arena.destroy();
    // A linear model that reads the label off the row sum (1, 2 or 3), evaluated on the GPU over both chunks: every row right.
    const api = await openApiGpu();
    try {
      const model = await createModel(api, { layers: [IN, 3] });
      model.setWeights([{ weight: Float32Array.from({ length: 3 * IN }, (_, i) => 10 * Math.floor(i / IN)), bias: Float32Array.of(0, -15, -40) }]);
      const evaluation = await model.evaluate(set);
      expect(evaluation.count).toBe(rows);
      expect(evaluation.correct).toBe(rows);
      model.dispose();
    } finally {
      api.close();
    }
  });

  // 1,100,000 units need 68,750 workgroups of 16 columns side by side, beyond maxComputeWorkgroupsPerDimension
  // (65,535): those products run as several dispatches, each a band of columns (kernels/matmul.ts).
  it.each([
    ['a hidden layer', fewFeatures, ['4,1100000,10', '--val-split', '20', '--optimizer', 'sgd', '--lr', '0.01'], 20],
    ['an input', wideInput, ['1100000,4,10', '--val-split', '4'], 10],
  ] as const)('%s wider than one row of workgroups can cover (1,100,000 units) trains', (_, data, [layers, ...split], testCount) => {
    const dir = join(work, `wide-${layers}`);
    const run = cli(work, ['train', '--data-dir', data, '--layers', layers, ...split, '--batch-size', '16', '--epochs', '1', '--run-dir', dir, '--no-report']);
    expect(ourStderr(run.stderr)).toBe('');
    expect(run.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(summary.test.count).toBe(testCount);
    expect(Number.isFinite(summary.test.loss)).toBe(true);
  });

  it('a batch larger than the training set trains exactly as one of the set’s size', () => {
    const common = ['train', '--data-dir', small, '--val-split', '100', '--layers', '784,32,10', '--epochs', '2', '--no-report'];
    expect(cli(work, [...common, '--batch-size', '70000', '--run-dir', join(work, 'b70000')]).code).toBe(0);
    expect(cli(work, [...common, '--batch-size', '600', '--run-dir', join(work, 'b600')]).code).toBe(0);
    const a = tensorBytes(join(work, 'b70000', 'last.safetensors'));
    const b = tensorBytes(join(work, 'b600', 'last.safetensors'));
    for (const [name, bytes] of b) expect(Buffer.compare(a.get(name)!, bytes), name).toBe(0);
  });

  it('an evaluation batch too large for one binding or one short dispatch is cut, with the same predictions', () => {
    // 4-40000-10: [900, 40000] f32 activations would take 144 MB; the work budget cuts further.
    const run = join(work, 'wide');
    const train = cli(work, ['train', '--data-dir', features, '--val-split', '100', '--layers', '4,40000,10', '--epochs', '1', '--eval-batch-size', '100000', '--run-dir', run, '--no-report']);
    expect(ourStderr(train.stderr)).toBe('');
    expect(train.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
    expect(summary.test.count).toBe(900);
    // The CPU reference, batch by batch of 900, predicts the same classes from the saved weights.
    const reference = cli(work, ['eval', join(run, 'best.safetensors'), '--data-dir', features, '--device', 'cpu', '--batch-size', '900', '--json']);
    expect(reference.code).toBe(0);
    const result = JSON.parse(reference.stdout);
    expect(Math.abs(result.correct - summary.test.correct)).toBeLessThanOrEqual(1);
    expect(summary.test.accuracy).toBeGreaterThan(0.3); // learned something: 8 classes, chance 12.5%
  });

  it('evalBatchRows: the requested rows, cut to one binding', async () => {
    const { device } = await testGpu();
    const layers = (widths: number[]) => denseLayers({ layers: widths, activation: 'relu', loss: 'ce', dropout: 0 });
    expect(evalBatchRows(device, layers([784, 256, 128, 10]), 1000)).toBe(1000); // the default: not cut
    expect(evalBatchRows(device, layers([784, 2048, 10]), 10000)).toBe(10000); // its matmuls go in bands
    expect(evalBatchRows(device, layers([1, 40000, 1]), 10000)).toBe(Math.floor(device.limits.maxStorageBufferBindingSize / (4 * 40000)));
  });
});

describe('WebGPU errors nobody expected', () => {
  it('while the plans are built, fail the build with the error, naming the model', async () => {
    // A device of its own: the error is provoked on it.
    const gpu = await openGpu();
    const session = new GpuSession(gpu, { train: mnist.train.slice(0, 256, 'train') });
    const spec: ModelSpec = { layers: [784, 16, 10], activation: 'relu', loss: 'ce', dropout: 0 };
    const building = createGpuEngine(session, spec, optimizerConfig('sgd'), { batchSize: 64, stepsPerSubmit: 4, seed: 1, evalBatchSize: 256 });
    // A mistake made while the build awaits its first pipeline.
    gpu.device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    await expect(building).rejects.toThrow(/^building the plans for model 784-16-10: WebGPU validation failed: .*usage/is);
    session.destroy();
    gpu.close();
  });

  it('stop training at the next call instead of training on garbage', async () => {
    // A device of its own: the error is provoked on it.
    const gpu = await openGpu();
    const train = mnist.train.slice(0, 256, 'train');
    const session = new GpuSession(gpu, { train });
    const spec: ModelSpec = { layers: [784, 16, 10], activation: 'relu', loss: 'ce', dropout: 0 };
    const engine = await createGpuEngine(session, spec, optimizerConfig('sgd'), { batchSize: 64, stepsPerSubmit: 4, seed: 1, evalBatchSize: 256 });
    engine.writeParams(initialParams(spec, { kind: 'he' }, 1));
    engine.setOrder(Uint32Array.from({ length: 256 }, (_, i) => i));
    await engine.runSteps([{ t: 1, batchStart: 0, rows: 64, record: 0, lr: 0.1 }]);
    await readRecords(engine, 0, 1);
    // Some other code on the device makes a mistake outside any error scope.
    gpu.device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    await expect(readRecords(engine, 0, 1)).rejects.toThrow(/a WebGPU error stopped training: .*usage/i);
    await expect(engine.runSteps([{ t: 2, batchStart: 64, rows: 64, record: 1, lr: 0.1 }])).rejects.toThrow(/a WebGPU error stopped training/);
    engine.close();
    session.destroy();
    gpu.close();
  });
});
