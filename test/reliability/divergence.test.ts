// Divergence: caught on the GPU without a per-step readback, reported with its epoch and step, and
// never allowed to overwrite the last good checkpoint; parameters or optimizer state that go
// non-finite while the loss stays finite are caught too, before any checkpoint could hold them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/checkpoint/files.ts';

import { loadIdxDataset } from '../../src/data/files.ts';
import { initialParams } from '../../src/model/init.ts';
import { optimizerConfig, type OptimizerConfig } from '../../src/model/optimizer.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { paramLayout, paramTensor } from '../../src/model/tensors.ts';
import { DEFAULT_CONFIG } from '../../src/train/config.ts';
import { readRecords, type TrainingEngine } from '../../src/train/engine.ts';
import { createGpuEngine, GpuSession } from '../../src/train/gpu-engine.ts';
import { runTrainer, type TrainerConfig, type TrainerSnapshot } from '../../src/train/trainer.ts';
import { testGpu } from '../helpers/gpu.ts';
import { cli, ourStderr, tensorBytes, writeIdxDataset } from './helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-divergence-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const mnist = await loadIdxDataset();
const train = mnist.train.slice(0, 600, 'train');
const test = mnist.test.slice(0, 200, 'test');

// A linear model under squared error and plain SGD: with lr above 2/λmax of the inputs' second
// moment the error grows geometrically, so it overflows a few epochs in (measured: epoch 6, step 8),
// after several good checkpoints. (Cross-entropy's gradient is bounded; it diverges only far later.)
const DIVERGING = ['--layers', '784,10', '--loss', 'mse', '--optimizer', 'sgd', '--schedule', 'constant', '--lr', '0.08', '--batch-size', '50'];

describe('through the CLI', () => {
  const data = writeIdxDataset(join(work, 'data'), mnist.train.slice(0, 700, 'train'), test);
  const common = ['train', '--data-dir', data, '--val-split', '100', '--no-report', ...DIVERGING];

  it('stops with the epoch, the step and a lower learning rate, exit 1, the last good checkpoint byte-for-byte intact', async () => {
    const diverged = cli(work, [...common, '--epochs', '20', '--run-dir', join(work, 'diverged')]);
    expect(ourStderr(diverged.stderr)).toBe('');
    expect(diverged.code).toBe(1);
    const [, epoch, step, t] =
      /training diverged: the loss became NaN or infinite at epoch (\d+), step (\d+) \(optimizer step (\d+)\)\. Try a lower learning rate than 0\.08\./.exec(
        diverged.stdout,
      ) ?? [];
    expect(Number(epoch), diverged.stdout).toBeGreaterThan(1);
    expect(Number(t)).toBe((Number(epoch) - 1) * 12 + Number(step)); // 12 steps per epoch
    expect(diverged.stdout).toMatch(`holds the model after step ${(Number(epoch) - 1) * 12} (end of epoch ${Number(epoch) - 1}) and was not overwritten`);

    // The same run stopped by its epoch count just before: its checkpoint is what the diverged run must have kept.
    const before = cli(work, [...common, '--epochs', String(Number(epoch) - 1), '--run-dir', join(work, 'before')]);
    expect(before.code).toBe(0);
    const kept = tensorBytes(join(work, 'diverged', 'last.safetensors'));
    const expected = tensorBytes(join(work, 'before', 'last.safetensors'));
    expect([...kept.keys()]).toEqual([...expected.keys()]);
    for (const [name, bytes] of expected) expect(Buffer.compare(kept.get(name)!, bytes), name).toBe(0);
    const checkpoint = await loadCheckpoint(join(work, 'diverged', 'last.safetensors'));
    expect(checkpoint.params.every(Number.isFinite)).toBe(true);
  });
});

describe('in the trainer', async () => {
  const gpu = await testGpu();
  const session = new GpuSession(gpu, { train });
  afterAll(() => session.destroy());

  const linear: ModelSpec = { layers: [784, 10], activation: 'relu', loss: 'mse', dropout: 0 };
  const hidden: ModelSpec = { layers: [784, 16, 10], activation: 'relu', loss: 'ce', dropout: 0 };

  async function engineFor(spec: ModelSpec, optimizer: OptimizerConfig, edit?: (params: Float32Array) => void): Promise<TrainingEngine> {
    const engine = await createGpuEngine(session, spec, optimizer, { batchSize: 50, stepsPerSubmit: 4, seed: 1, evalBatchSize: 600 });
    const params = initialParams(spec, { kind: 'he' }, 1);
    edit?.(params);
    engine.writeParams(params);
    return engine;
  }

  const trainerConfig = (optimizer: OptimizerConfig, lr: number): TrainerConfig => ({
    ...DEFAULT_CONFIG,
    optimizer,
    lr,
    schedule: { kind: 'constant' },
    epochs: 20,
    progressPerEpoch: 2,
  });

  it('flags the first non-finite loss on the GPU, reading back twice per epoch, and freezes the parameters before that step', async () => {
    const sgd = optimizerConfig('sgd');
    const engine = await engineFor(linear, sgd);
    // Count every host read of the GPU's records and divergence flag.
    let reads = 0;
    const counted = new Proxy(engine, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (typeof value !== 'function') return value;
        if (key === 'requestRecords') reads++;
        return value.bind(target);
      },
    });
    const outcome = await runTrainer(counted, trainerConfig(sgd, 0.08));
    expect(outcome.reason).toBe('diverged');
    const { t, epoch, stepInEpoch, what } = outcome.divergence!;
    expect(what).toBe('loss');
    expect(epoch).toBeGreaterThan(1);
    expect(t).toBe((epoch - 1) * 12 + stepInEpoch);
    // Two syncs per epoch (records + flag each), not one per step.
    console.log(`divergence: loss non-finite at step ${t} (epoch ${epoch}, step ${stepInEpoch}), found with ${reads} small readbacks`);
    expect(reads).toBeLessThanOrEqual(2 * 2 * epoch);
    expect(reads).toBeLessThan(t / 2);
    const frozen = await engine.readParams();

    // A second run, checkpointed at step t − 1, holds the same parameters: step t changed nothing.
    const replay = await engineFor(linear, sgd);
    const snapshots = new Map<number, TrainerSnapshot>();
    await runTrainer(
      replay,
      { ...trainerConfig(sgd, 0.08), epochs: epoch, checkpointEvery: t - 1 },
      {
        checkpoint: (state, snapshot) => void snapshots.set(state.t, snapshot),
        epochEnd: (_record, state, _improved, snapshot) => void snapshots.set(state.t, snapshot),
      },
    );
    const atPrevious = snapshots.get(t - 1);
    expect(atPrevious, `snapshots at ${[...snapshots.keys()]}`).toBeDefined();
    expect(Buffer.compare(Buffer.from(frozen.buffer), Buffer.from(atPrevious!.params.buffer))).toBe(0);
    engine.close();
    replay.close();
  });

  it('catches parameters that went non-finite while the loss stayed finite, before any checkpoint hook sees them', async () => {
    // A hidden unit with bias −∞ outputs ReLU(−∞) = 0 for every input: the loss stays finite, the
    // unit's gradient is 0, and the bias stays −∞ (as one that overflowed during training would).
    const adam = optimizerConfig('adam');
    const engine = await engineFor(hidden, adam, (params) => {
      params[paramTensor(paramLayout(hidden), 0, 'bias').offset + 3] = -Infinity;
    });
    let hooked = 0;
    const outcome = await runTrainer(engine, { ...trainerConfig(adam, 1e-3), checkpointEvery: 5 }, {
      checkpoint: () => void hooked++,
      epochEnd: () => void hooked++,
    });
    expect(outcome.reason).toBe('diverged');
    expect(outcome.divergence).toEqual({ what: 'parameters', epoch: 1, t: 5, stepInEpoch: 5 });
    expect(hooked).toBe(0);
    // The loss was finite all along: the GPU's flag never tripped.
    expect((await readRecords(engine, 0, 0)).nonFiniteStep).toBe(0);
    engine.close();
  });

  it('catches an optimizer state that overflowed (Adam second moment +∞) while the parameters stay finite', async () => {
    const adam = optimizerConfig('adam');
    const engine = await engineFor(hidden, adam);
    const state = (await engine.readOptimizerState()).map((array) => array.slice());
    state[1][7] = Infinity; // exp_avg_sq of one weight: its update becomes m / ∞ = 0
    engine.writeOptimizerState(state);
    const outcome = await runTrainer(engine, { ...trainerConfig(adam, 1e-3), epochs: 2 }, { epochEnd: () => expect.unreachable() });
    expect(outcome.reason).toBe('diverged');
    expect(outcome.divergence).toEqual({ what: 'optimizer state', epoch: 1, t: 12, stepInEpoch: 12 });
    const params = await engine.readParams();
    expect(params.every(Number.isFinite)).toBe(true);
    engine.close();
  });
});
