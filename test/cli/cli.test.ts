// The command line as a user meets it: exit codes, error messages, and a small end-to-end run
// (train → eval → predict) on a subset of MNIST.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { cli as runCli, type CliResult } from '../reliability/helpers.ts';
import { loadIdxDataset } from '../../src/data/files.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The CLI run in the test's folder, as a user runs it. */
function cli(...args: string[]): CliResult {
  return runCli(work, args);
}

describe('usage', () => {
  it('prints help for every command and exits 0', () => {
    for (const command of [[], ['train'], ['search'], ['study'], ['eval'], ['predict'], ['info']]) {
      const { code, stdout } = cli(...command, '--help');
      expect(code).toBe(0);
      expect(stdout).toMatch(/Usage: webgpu-mlp/);
    }
  });

  it.each([
    [['train', '--bogus'], /unknown option '--bogus'/],
    [['train', '--lr', 'fast'], /expected a number, found "fast"/],
    [['train', '--lr', '0'], /lr must be a positive number, found 0/],
    [['train', '--batch-size', '0'], /batch-size must be an integer ≥ 1, found 0/],
    [['train', '--dropout', '1'], /dropout must be in \[0, 1\), found 1/],
    [['train', '--layers', '784,,10'], /expected comma-separated positive widths/],
    [['train', '--activation', 'gelu'], /argument 'gelu' is invalid/],
    [['train', '--init', 'uniform:-1'], /needs a positive bound/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['eval'], /missing required argument 'checkpoint'/],
  ])('rejects %j with exit code 2', (args, message) => {
    const { code, stderr } = cli(...args);
    expect(stderr).toMatch(message);
    expect(code).toBe(2);
  });

  it('refuses layers that do not fit the data, naming both sizes', () => {
    const wrongInput = cli('train', '--layers', '100,10', '--run-dir', join(work, 'wrong'));
    expect(wrongInput.stderr).toMatch(/images have 784 pixels \(28×28\), but the model's input layer expects 100/);
    expect(wrongInput.code).toBe(1);
    const fewClasses = cli('train', '--layers', '784,5', '--run-dir', join(work, 'few'));
    expect(fewClasses.stderr).toMatch(/label \d+ at index \d+ is out of range for a model with 5 classes/);
  });

  it('names a missing dataset file', () => {
    const { code, stderr } = cli('train', '--data-dir', join(work, 'nowhere'), '--run-dir', join(work, 'x'));
    expect(stderr).toMatch(/train-images-idx3-ubyte: file not found/);
    expect(code).toBe(1);
  });
});

describe('train → eval → predict', () => {
  const run = join(work, 'run');

  it('trains a small model and writes the run directory', () => {
    const { code, stdout, stderr } = cli(
      'train', '--layers', '784,64,10', '--train-subset', '3000', '--epochs', '2', '--lr', '0.003', '--run-dir', run, '--no-report',
    );
    // Nothing on stderr but Dawn's two start-up notices on lavapipe.
    expect(stderr.split('\n').filter((line) => line && !line.startsWith('Warning: maxDynamic'))).toEqual([]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/epoch 2\/2 .* val loss/);
    for (const file of ['config.json', 'metrics.jsonl', 'metrics.csv', 'steps.csv', 'summary.json', 'best.safetensors', 'last.safetensors']) {
      expect(existsSync(join(run, file)), file).toBe(true);
    }
    const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
    expect(summary.test.count).toBe(10000);
    expect(summary.test.accuracy).toBeGreaterThan(0.85);
    expect(summary.test.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0)).toBe(10000);
    const csv = readFileSync(join(run, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(3);
    expect(readFileSync(join(run, 'steps.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 2 * Math.ceil(3000 / 128));
  });

  it('refuses to overwrite a finished run unless asked', () => {
    const again = cli('train', '--train-subset', '500', '--epochs', '1', '--run-dir', run);
    expect(again.stderr).toMatch(/already holds a finished run; choose another --run-dir or pass --overwrite/);
    expect(again.code).toBe(2);
  });

  it('evaluates the best checkpoint to the accuracy the run reported', () => {
    const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
    const { code, stdout } = cli('eval', join(run, 'best.safetensors'), '--json');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.correct).toBe(summary.test.correct);
    expect(result.confusionMatrix).toEqual(summary.test.confusionMatrix);
  });

  it('predicts digits from PNG and PGM files of any size', async () => {
    const { test } = await loadIdxDataset();
    // Test images 0 and 1 are a 7 and a 2: one as an upscaled PNG (dark ink on white), one as a PGM.
    const seven = test.features.subarray(0, 784);
    const big = new Uint8Array(84 * 84);
    for (let y = 0; y < 84; y++) for (let x = 0; x < 84; x++) big[y * 84 + x] = 255 - seven[Math.floor(y / 3) * 28 + Math.floor(x / 3)];
    writeFileSync(join(work, 'seven.png'), encode({ width: 84, height: 84, data: big, channels: 1, depth: 8 }));
    const two = test.features.subarray(784, 2 * 784);
    writeFileSync(join(work, 'two.pgm'), Buffer.concat([Buffer.from('P5\n28 28\n255\n'), Buffer.from(two)]));
    const { code, stdout } = cli('predict', join(run, 'best.safetensors'), join(work, 'seven.png'), join(work, 'two.pgm'), '--json');
    expect(code).toBe(0);
    const results = JSON.parse(stdout);
    expect(results.map((r: { predicted: number }) => r.predicted)).toEqual([7, 2]);
    for (const r of results) expect(r.probabilities.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('rejects a file that is not a checkpoint', () => {
    writeFileSync(join(work, 'bogus.safetensors'), 'not a checkpoint at all');
    const { code, stderr } = cli('eval', join(work, 'bogus.safetensors'));
    expect(stderr).toMatch(/bogus\.safetensors/);
    expect(code).toBe(1);
  });
});
