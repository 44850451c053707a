// Device loss: a run whose device is lost opens a new one and goes on from its last snapshot on the
// host, to exactly the weights of an uninterrupted run; beyond --max-recoveries (or with recovery
// off) it stops as before, keeping the last checkpoint, which a resume continues from exactly. The
// CLI and the API are driven through the debug hook WEBGPU_MLP_LOSE_DEVICE_AFTER_STEPS
// (src/train/gpu-engine.ts: "N1,N2,...", the k-th loss after N_k steps of an engine; its count
// starts again whenever the variable takes a new value), the trainer by destroy() directly.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/checkpoint/files.ts';

import { loadIdxDataset } from '../../src/data/files.ts';
import { openGpu as openContext } from '../../src/gpu/device.ts';
import { createModel, MlpError, openGpu, type FitOptions, type Gpu, type LayerWeights, type Recovery } from '../../src/index.ts';
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

function expectSameTensors(file: string, reference: string): void {
  const expected = tensorBytes(reference);
  const actual = tensorBytes(file);
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [name, bytes] of expected) expect(Buffer.compare(actual.get(name)!, bytes), `${file} ${name}`).toBe(0);
}

describe('through the CLI', () => {
  // 600 training images at batch 32: 19 steps per epoch, 57 in all.
  const data = writeIdxDataset(join(work, 'data'), mnist.train.slice(0, 700, 'train'), mnist.test.slice(0, 200, 'test'));
  const args = ['train', '--data-dir', data, '--val-split', '100', '--layers', '784,32,10', '--dropout', '0.2', '--batch-size', '32', '--epochs', '3', '--no-report'];
  const whole = join(work, 'whole');
  const summaryOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));

  it('runs uninterrupted for reference', () => {
    const run = cli(work, [...args, '--run-dir', whole]);
    expect(ourStderr(run.stderr)).toBe('');
    expect(run.code).toBe(0);
    expect(summaryOf(whole).recoveries).toEqual([]);
  });

  it('recovers from a lost device: a new device, on from the last snapshot, the weights of an uninterrupted run', () => {
    const run = join(work, 'recovered');
    // Snapshots every 10 steps, submits of 4 steps cut there: the device goes once 30 steps are
    // submitted (t = 30, before the snapshot of step 30 is read), the run goes on from step 20; the
    // next device goes once it has 12 steps (t = 34; the snapshot of step 30 was read at 10).
    const lost = cli(work, [...args, '--run-dir', run, '--snapshot-every', '10'], { WEBGPU_MLP_LOSE_DEVICE_AFTER_STEPS: '30,12' });
    expect(ourStderr(lost.stderr)).toBe('');
    expect(lost.code).toBe(0);
    const lines = lost.stdout.split('\n');
    const recoveries = lines.filter((line) => line.startsWith('GPU device lost'));
    console.log(`recovered run's log:\n${lines.filter((line) => /GPU device lost|recovered from|test accuracy/.test(line)).join('\n')}`);
    expect(recoveries).toEqual([
      expect.stringMatching(
        /^GPU device lost \(destroyed\): device was destroyed; opened a new device \(recovery 1 of 3, \d+\.\d s\) and went on from the snapshot after step 20 \(epoch 2, step 1\): 10 steps replayed$/,
      ),
      expect.stringMatching(/^GPU device lost \(destroyed\): device was destroyed; opened a new device \(recovery 2 of 3, \d+\.\d s\) and went on from the snapshot after step 30 \(epoch 2, step 11\): 4 steps replayed$/),
    ]);
    expect(lost.stdout).toMatch('recovered from 2 device losses (14 steps replayed)');
    const summary = summaryOf(run);
    expect(summary.recoveries.map((r: Recovery) => [r.count, r.lostAt, r.restoredAt, r.replayed])).toEqual([[1, 30, 20, 10], [2, 34, 30, 4]]);
    expect(summary.test).toEqual(summaryOf(whole).test);
    console.log(`test accuracy: recovered ${summary.test.accuracy}, uninterrupted ${summaryOf(whole).test.accuracy}`);
    for (const file of ['last.safetensors', 'best.safetensors']) expectSameTensors(join(run, file), join(whole, file));
    // Every step's loss once, as an uninterrupted run records it: nothing replayed is written twice.
    expect(readFileSync(join(run, 'steps.csv'), 'utf8')).toBe(readFileSync(join(whole, 'steps.csv'), 'utf8'));
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).run.recovery).toEqual({ maxRecoveries: 3, snapshotEvery: 10 });
  });

  it('stops at the loss beyond --max-recoveries, naming the checkpoint it kept; --resume then ends as an uninterrupted run', async () => {
    const run = join(work, 'limit');
    const lost = cli(work, [...args, '--run-dir', run, '--checkpoint-every', '7', '--max-recoveries', '1'], { WEBGPU_MLP_LOSE_DEVICE_AFTER_STEPS: '30,5' });
    expect(ourStderr(lost.stderr)).toBe('');
    expect(lost.code).toBe(1);
    // Checkpoints at steps 7 and 14, the end of epoch 1 (19), 21 and 28; the device goes at 30,
    // the run goes on from 28 and the second device goes 5 steps later, at 33 (no checkpoint between).
    expect(lost.stdout).toMatch(/recovery 1 of 1, .*went on from the snapshot after step 28 \(epoch 2, step 9\): 4 steps replayed/);
    expect(lost.stdout).toMatch(
      `training stopped: GPU device lost (destroyed): device was destroyed: the 2nd device loss in this fit, which recovers from 1 at most. ` +
        `What the device held since the last checkpoint is lost; ${join(run, 'last.safetensors')} holds the model after step 28 (epoch 2, step 9); ` +
        `continue with: webgpu-mlp train --resume ${run}`,
    );
    const kept = await loadCheckpoint(join(run, 'last.safetensors'));
    expect((kept.training as { trainer: { t: number } }).trainer.t).toBe(28);
    expect(existsSync(join(run, 'summary.json'))).toBe(false);

    const resumed = cli(work, ['train', '--resume', run]);
    expect(ourStderr(resumed.stderr)).toBe('');
    expect(resumed.code).toBe(0);
    expectSameTensors(join(run, 'last.safetensors'), join(whole, 'last.safetensors'));
    // The resumed run is the same run: started with --no-report, it writes no report.
    expect(existsSync(join(run, 'report.html'))).toBe(false);
  });

  it('a resumed run is the same run: its reporting, JSON output, checkpoint interval and recovery settings hold on --resume', () => {
    const run = join(work, 'settings');
    const messages = (stdout: string) => stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; text?: string }).filter((e) => e.type === 'message').map((e) => e.text!);
    // Checkpoints every 3 steps, no recovery: the loss after 10 steps (t = 12) stops the run at the checkpoint of step 9.
    const first = cli(work, [...args, '--run-dir', run, '--checkpoint-every', '3', '--max-recoveries', '0', '--json'], { WEBGPU_MLP_LOSE_DEVICE_AFTER_STEPS: '10' });
    expect(first.code).toBe(1);
    expect(messages(first.stdout).find((m) => m.startsWith('training stopped'))).toMatch(/holds the model after step 9 \(/);
    // Resumed with no flags: JSON lines again, checkpoints every 3 steps, and still no recovery (t = 18: the checkpoint of step 15).
    const second = cli(work, ['train', '--resume', run], { WEBGPU_MLP_LOSE_DEVICE_AFTER_STEPS: '8' });
    expect(second.code).toBe(1);
    expect(messages(second.stdout).find((m) => m.startsWith('training stopped'))).toMatch(/holds the model after step 15 \(/);
    // Changing one of them on --resume is refused, naming what the run has.
    const changed = cli(work, ['train', '--resume', run, '--max-recoveries', '2']);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch('--resume continues a run with the settings it was started with; drop --max-recoveries (the run has 0)');
    const third = cli(work, ['train', '--resume', run]);
    expect(third.code).toBe(0);
    expect(messages(third.stdout).some((m) => m.startsWith('test accuracy'))).toBe(true);
    expect(existsSync(join(run, 'report.html'))).toBe(false);
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).run).toMatchObject({ report: false, json: true, checkpointEvery: 3, recovery: { maxRecoveries: 0, snapshotEvery: 100 } });
    expectSameTensors(join(run, 'last.safetensors'), join(whole, 'last.safetensors'));
  });

  it('with --max-recoveries 0, stops at the first loss and says when no checkpoint had been saved yet', () => {
    const lost = cli(work, [...args, '--run-dir', join(work, 'early'), '--max-recoveries', '0'], { WEBGPU_MLP_LOSE_DEVICE_AFTER_STEPS: '5' });
    expect(lost.code).toBe(1);
    expect(lost.stdout).toMatch(/training stopped: GPU device lost \(destroyed\): device was destroyed\. .*no checkpoint had been saved yet\./);
    expect(existsSync(join(work, 'early', 'last.safetensors'))).toBe(false);
  });
});

describe('through the API', () => {
  const { train, test } = { train: mnist.train.slice(0, 1200, 'api train'), test: mnist.test.slice(0, 500, 'api test') };
  const options = { layers: [784, 32, 10], epochs: 3, batchSize: 50, dropout: 0.2, seed: 3 };
  const LOSE = 'WEBGPU_MLP_LOSE_DEVICE_AFTER_STEPS';

  async function fitOn(gpu: Gpu, lose: string | undefined, fit: FitOptions = {}) {
    if (lose) process.env[LOSE] = lose;
    try {
      const model = await createModel(gpu, options);
      const recoveries: Recovery[] = [];
      const result = await model.fit(train, { valSplit: 200, onRecovery: (r) => recoveries.push(r), ...fit }).finally(() => delete process.env[LOSE]);
      return { model, result, recoveries };
    } finally {
      delete process.env[LOSE];
    }
  }

  const same = (a: LayerWeights[], b: LayerWeights[]) =>
    a.every((layer, i) => Buffer.compare(Buffer.from(layer.weight.buffer), Buffer.from(b[i].weight.buffer)) === 0 && Buffer.compare(Buffer.from(layer.bias.buffer), Buffer.from(b[i].bias.buffer)) === 0);

  it('fit recovers on the same Gpu handle: bit-identical weights, the recoveries reported; evaluate and predict go on', async () => {
    const gpu = await openGpu();
    try {
      const whole = await fitOn(gpu, undefined);
      const reference = await whole.model.getWeights();
      const firstDevice = gpu.device;
      const lost = await fitOn(gpu, '25,9', { recover: { snapshotEvery: 8 } });
      expect(lost.result.status).toBe('completed');
      expect(lost.result.recoveries).toEqual(lost.recoveries);
      expect(lost.recoveries.map((r) => [r.count, r.lostAt, r.restoredAt, r.replayed])).toEqual([[1, 28, 24, 4], [2, 36, 32, 4]]);
      expect(gpu.device).not.toBe(firstDevice);
      expect(gpu.recoveries).toHaveLength(2);
      expect(same(await lost.model.getWeights(), reference)).toBe(true);
      // The model that trained on the first device rebuilds its buffers from its host copy.
      expect((await whole.model.evaluate(test)).accuracy).toBe((await lost.model.evaluate(test)).accuracy);
      expect(same(await whole.model.getWeights(), reference)).toBe(true);
      whole.model.dispose();

      // A loss while not training: evaluate and predict replace the device themselves.
      const before = await lost.model.predict(test.slice(0, 20));
      gpu.device.destroy();
      await gpu.lost;
      const after = await lost.model.predict(test.slice(0, 20));
      expect(after.predicted).toEqual(before.predicted);
      expect(gpu.recoveries).toHaveLength(3);
      lost.model.dispose();
    } finally {
      gpu.close();
    }
  });

  it('gives up after maxRecoveries with DEVICE_LOST; the model keeps the last snapshot, resumable once the Gpu recovers', async () => {
    const gpu = await openGpu();
    try {
      const whole = await fitOn(gpu, undefined);
      const reference = await whole.model.getWeights();
      whole.model.dispose();
      const model = await createModel(gpu, options);
      process.env[LOSE] = '10,10,10';
      const fit = model.fit(train, { valSplit: 200, recover: { maxRecoveries: 2, snapshotEvery: 5 } });
      await expect(fit).rejects.toThrow(MlpError);
      await expect(fit).rejects.toThrow(/GPU device lost \(destroyed\): device was destroyed: the 3rd device loss in this fit, which recovers from 2 at most/);
      await fit.catch((error: MlpError) => expect(error.code).toBe('DEVICE_LOST'));
      delete process.env[LOSE];
      // Snapshots every 5 steps: each device goes once it has 10 steps, before the snapshot at its
      // last step is read; the devices train 0-10, 5-15 and 10-20, and the last snapshot is of step 15.
      expect(model.resumePoint?.t).toBe(15);
      expect(gpu.isLost).toBe(true);
      // The fit replaces the lost device itself before it starts (gpu.recover() would too).
      const resumed = await model.fit(train, { resume: true });
      expect(resumed.status).toBe('completed');
      expect(same(await model.getWeights(), reference)).toBe(true);
      model.dispose();
    } finally {
      delete process.env[LOSE];
      gpu.close();
    }
  });

  it("a device the application gave cannot be reopened: the fit fails, saying so", async () => {
    const context = await openContext();
    const gpu = await openGpu({ device: context.device });
    try {
      expect(gpu.recoverable).toBe(false);
      const model = await createModel(gpu, options);
      process.env[LOSE] = '7';
      const fit = model.fit(train, { valSplit: 200 });
      await expect(fit).rejects.toThrow(/GPU device lost \(destroyed\): device was destroyed\. The device was the application's \(openGpu\(\{ device \}\)\), so webgpu-mlp cannot open another/);
      delete process.env[LOSE];
      model.dispose();
    } finally {
      delete process.env[LOSE];
      gpu.close();
      context.close();
    }
  });
});

describe('in the trainer', () => {
  it('raises DeviceLostError when the device is destroyed mid-epoch, from the next call to the engine', async () => {
    // A device of its own: this test destroys it.
    const gpu = await openContext();
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
