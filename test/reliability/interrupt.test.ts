// Interruption through the CLI, as a user meets it: Ctrl-C (SIGINT) mid-epoch then --resume, and
// SIGKILL at random moments while checkpoints are written every step. Either way the run must end
// with exactly the weights of a run that was never interrupted, and no checkpoint may ever be torn.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, removeStaleTempFiles } from '../../src/checkpoint/files.ts';

import { loadIdxDataset } from '../../src/data/files.ts';
import { Random } from '../../src/util/random.ts';
import { cli, CliProcess, ourStderr, tensorBytes, writeIdxDataset } from './helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-interrupt-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const mnist = await loadIdxDataset();
// 2,000 training images at batch 20: 100 steps per epoch, so a signal lands mid-epoch.
const data = writeIdxDataset(join(work, 'data'), mnist.train.slice(0, 2400, 'train'), mnist.test.slice(0, 300, 'test'));
// Dropout (masks seeded by step) and Adam (bias corrections by step) make any off-by-one step show.
const training = ['train', '--data-dir', data, '--val-split', '400', '--layers', '784,48,10', '--dropout', '0.2', '--batch-size', '20', '--seed', '5', '--no-report'];

function expectSameRun(dir: string, reference: string): void {
  for (const file of ['last.safetensors', 'best.safetensors']) {
    const expected = tensorBytes(join(reference, file));
    const actual = tensorBytes(join(dir, file));
    expect([...actual.keys()], file).toEqual([...expected.keys()]);
    for (const [name, bytes] of expected) expect(Buffer.compare(actual.get(name)!, bytes), `${file} ${name}`).toBe(0);
  }
  const summary = (d: string) => JSON.parse(readFileSync(join(d, 'summary.json'), 'utf8'));
  expect(summary(dir).test).toEqual(summary(reference).test);
  // Every step's loss, as steps.csv records it: the resumed run leaves neither gaps nor repeats.
  expect(readFileSync(join(dir, 'steps.csv'), 'utf8')).toBe(readFileSync(join(reference, 'steps.csv'), 'utf8'));
}

describe('Ctrl-C (or SIGTERM) mid-epoch, then --resume', () => {
  const args = [...training, '--epochs', '3'];
  const whole = join(work, 'whole');

  it('runs uninterrupted for reference', () => {
    const run = cli(work, [...args, '--run-dir', whole]);
    expect(ourStderr(run.stderr)).toBe('');
    expect(run.code).toBe(0);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('stops at %s with a resumable checkpoint and exit 130, and resumes to bit-identical weights', async (signal) => {
    const cut = join(work, signal);
    const child = new CliProcess(work, [...args, '--run-dir', cut]);
    await child.waitFor((e) => e.type === 'progress' && e.epoch === 2 && Number(e.step) >= 10);
    child.child.kill(signal);
    const { code } = await child.exited;
    expect(code).toBe(130);
    const stopped = child.messages().find((m) => m.startsWith('interrupted at'));
    const [, epoch, step] = /^interrupted at epoch (\d+), step (\d+)/.exec(stopped ?? '') ?? [];
    expect(Number(epoch), stopped).toBeGreaterThanOrEqual(2);
    expect(Number(step)).toBeGreaterThan(0);
    expect(Number(step)).toBeLessThan(100); // mid-epoch
    expect(child.messages()).toContain(`continue with: webgpu-mlp train --resume ${cut}`);
    const saved = await loadCheckpoint(join(cut, 'last.safetensors'));
    expect((saved.training as { trainer: { step: number } }).trainer.step).toBe(Number(step));
    expect(existsSync(join(cut, 'summary.json'))).toBe(false);

    const resumed = cli(work, ['train', '--resume', cut, '--no-report']);
    expect(ourStderr(resumed.stderr)).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(`resuming at epoch ${epoch}, step ${step}`);
    expectSameRun(cut, whole);
  });
});

describe('SIGKILL at random moments with --checkpoint-every 1', () => {
  // 600 training images at batch 20: 30 steps per epoch, 240 in all, each followed by a checkpoint.
  const args = ['train', '--data-dir', data, '--val-split', '1800', '--layers', '784,24,10', '--batch-size', '20', '--seed', '6', '--epochs', '8', '--no-report'];
  const KILLS = 8;

  it('never leaves a torn last.safetensors, and resuming from whatever is there ends as an uninterrupted run', async () => {
    const whole = join(work, 'kill-whole');
    expect(cli(work, [...args, '--run-dir', whole]).code).toBe(0);

    const dir = join(work, 'killed');
    const last = join(dir, 'last.safetensors');
    const rng = new Random(7, 'kill delays');
    let previousT = 0;
    let kills = 0;
    let tempFilesSeen = 0;
    const savedSteps: number[] = [];
    for (let round = 0; round < KILLS && !existsSync(join(dir, 'summary.json')); round++) {
      const start = existsSync(last) ? ['train', '--resume', dir, '--no-report'] : [...args, '--run-dir', dir, '--overwrite'];
      const child = new CliProcess(work, [...start, '--checkpoint-every', '1']);
      // Training has begun once progress shows (with --checkpoint-every 1, after every step).
      await child.waitFor((e) => e.type === 'progress');
      await new Promise((resolve) => setTimeout(resolve, rng.below(150)));
      child.child.kill('SIGKILL');
      const { signal } = await child.exited;
      if (signal === 'SIGKILL') kills++;
      tempFilesSeen += readdirSync(dir).filter((name) => name.endsWith('.tmp')).length;
      if (!existsSync(last)) continue;
      // Old or new, never torn: the checkpoint always decodes (finite values, every tensor, valid header).
      const checkpoint = await loadCheckpoint(last);
      const t = (checkpoint.training as { trainer: { t: number } }).trainer.t;
      expect(t).toBeGreaterThanOrEqual(previousT);
      previousT = t;
      savedSteps.push(t);
    }
    console.log(`SIGKILL test: ${kills} kills; last.safetensors held steps ${savedSteps.join(', ')}; ${tempFilesSeen} temporary files left by killed writes`);
    // Most rounds end in a kill (a round may instead see the run finish on a fast machine).
    expect(kills).toBeGreaterThanOrEqual(3);

    // Finish from whatever the kills left: resume, or (killed before the first checkpoint) start over.
    if (!existsSync(join(dir, 'summary.json'))) {
      const finish = existsSync(last) ? cli(work, ['train', '--resume', dir, '--no-report']) : cli(work, [...args, '--run-dir', dir, '--overwrite']);
      expect(ourStderr(finish.stderr)).toBe('');
      expect(finish.code).toBe(0);
    }
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expectSameRun(dir, whole);
  });
});

describe('temporary files of killed writes', () => {
  it('are removed (those of the target only) when a run directory is opened again', async () => {
    const dir = join(work, 'stale');
    mkdirSync(dir);
    const names = ['.last.safetensors.0123456789ab.tmp', '.last.safetensors.notours.tmp', '.best.safetensors.0123456789ab.tmp', 'last.safetensors'];
    for (const name of names) writeFileSync(join(dir, name), 'x');
    await removeStaleTempFiles(join(dir, 'last.safetensors'));
    expect(readdirSync(dir).sort()).toEqual(['.best.safetensors.0123456789ab.tmp', '.last.safetensors.notours.tmp', 'last.safetensors']);
  });
});
