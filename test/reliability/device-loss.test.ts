// Device loss: the trainer reports it, keeps what it last synchronised (the last checkpoint, which a
// resume continues from exactly), and exits non-zero. The CLI is driven through its debug hook
// WEBGPU_MLP_LOSE_DEVICE_AFTER_STEPS (src/train/gpu-engine.ts), the trainer by destroy() directly.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/checkpoint/files.ts';

import { loadIdxDataset } from '../../src/data/files.ts';
import { openGpu } from '../../src/gpu/device.ts';
import { initialParams } from '../../src/model/init.ts';
import { optimizerConfig } from '../../src/model/optimizer.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { DEFAULT_CONFIG } from '../../src/train/config.ts';
import { createGpuEngine, DeviceLostError, GpuSession } from '../../src/train/gpu-engine.ts';
import { runTrainer } from '../../src/train/trainer.ts';
import { cli, ourStderr, tensorBytes, writeIdxDataset } from './helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-device-loss-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const mnist = await loadIdxDataset();

describe('through the CLI', () => {
  // 600 training images at batch 32: 19 steps per epoch.
  const data = writeIdxDataset(join(work, 'data'), mnist.train.slice(0, 700, 'train'), mnist.test.slice(0, 200, 'test'));
  const args = ['train', '--data-dir', data, '--val-split', '100', '--layers', '784,32,10', '--batch-size', '32', '--epochs', '3', '--no-report'];
  const LOSE = { WEBGPU_MLP_LOSE_DEVICE_AFTER_STEPS: '30' };

  it('reports the loss, names the checkpoint it kept, exits 1; --resume then ends as an uninterrupted run', async () => {
    const run = join(work, 'lost');
    const lost = cli(work, [...args, '--run-dir', run, '--checkpoint-every', '7'], LOSE);
    expect(ourStderr(lost.stderr)).toBe('');
    expect(lost.code).toBe(1);
    // Checkpoints at steps 7 and 14, the end of epoch 1 (19), 21 and 28; the device goes at 30.
    expect(lost.stdout).toMatch(
      `training stopped: GPU device lost (destroyed): device was destroyed. What the device held since the last checkpoint is lost; ` +
        `${join(run, 'last.safetensors')} holds the model after step 28 (epoch 2, step 9); continue with: webgpu-mlp train --resume ${run}`,
    );
    const kept = await loadCheckpoint(join(run, 'last.safetensors'));
    expect((kept.training as { trainer: { t: number } }).trainer.t).toBe(28);
    expect(existsSync(join(run, 'summary.json'))).toBe(false);

    const resumed = cli(work, ['train', '--resume', run, '--no-report']);
    expect(resumed.code).toBe(0);
    const whole = join(work, 'whole');
    expect(cli(work, [...args, '--run-dir', whole]).code).toBe(0);
    const expected = tensorBytes(join(whole, 'last.safetensors'));
    const actual = tensorBytes(join(run, 'last.safetensors'));
    for (const [name, bytes] of expected) expect(Buffer.compare(actual.get(name)!, bytes), name).toBe(0);
  });

  it('says so when no checkpoint had been saved yet', () => {
    const lost = cli(work, [...args, '--run-dir', join(work, 'early')], { WEBGPU_MLP_LOSE_DEVICE_AFTER_STEPS: '5' });
    expect(lost.code).toBe(1);
    expect(lost.stdout).toMatch(/training stopped: GPU device lost \(destroyed\).*no checkpoint had been saved yet\./);
    expect(existsSync(join(work, 'early', 'last.safetensors'))).toBe(false);
  });
});

describe('in the trainer', () => {
  it('raises DeviceLostError when the device is destroyed mid-epoch, from the next call to the engine', async () => {
    // A device of its own: this test destroys it.
    const gpu = await openGpu();
    const session = new GpuSession(gpu, { train: mnist.train.slice(0, 640, 'train') });
    const spec: ModelSpec = { layers: [784, 16, 10], activation: 'relu', loss: 'ce', dropout: 0 };
    const engine = await createGpuEngine(session, spec, optimizerConfig('adam'), { batchSize: 32, stepsPerSubmit: 4, seed: 1, evalBatchSize: 640 });
    engine.writeParams(initialParams(spec, { kind: 'he' }, 1));
    let steps = 0;
    const outcome = runTrainer(engine, { ...DEFAULT_CONFIG, epochs: 2, progressPerEpoch: 5 }, {
      progress: (event) => {
        steps = event.step;
        if (event.epoch === 1 && event.step >= 8) gpu.device.destroy();
      },
    });
    await expect(outcome).rejects.toThrow(DeviceLostError);
    await expect(outcome).rejects.toThrow(/GPU device lost \(destroyed\)/);
    expect(steps).toBeGreaterThanOrEqual(8);
    expect(gpu.isLost).toBe(true);
    engine.close();
    session.destroy();
    gpu.close();
  });
});
