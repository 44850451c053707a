// Checkpoints are interchangeable between the library and the CLI, both ways: what `webgpu-mlp
// train` saves loads with loadModel and evaluates to the accuracy the run reported; what the
// library saves evaluates with `webgpu-mlp eval` to the accuracy the library measured.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, openGpu } from '../../src/index.ts';
import { loadMnist, readModel, saveModel } from '../../src/node.ts';
import { cli, ourStderr } from '../reliability/helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-interchange-'));
const gpu = await openGpu();
afterAll(() => {
  gpu.close();
  rmSync(work, { recursive: true, force: true });
});

describe('checkpoints between the CLI and the library', () => {
  it("loads the CLI's best.safetensors, which evaluates to the run's test accuracy", async () => {
    const run = join(work, 'cli-run');
    const trained = cli(work, ['train', '--layers', '784,32,10', '--epochs', '2', '--train-subset', '2000', '--lr', '0.003', '--no-report', '--run-dir', run]);
    expect(ourStderr(trained.stderr)).toBe('');
    expect(trained.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
    const model = await readModel(gpu, join(run, 'best.safetensors'));
    expect(model.config.lr).toBe(0.003); // the run's config travels in the checkpoint
    const { test } = await loadMnist();
    const result = await model.evaluate(test);
    expect(result.correct).toBe(summary.test.correct);
    model.dispose();
  });

  it('saves a model that `webgpu-mlp eval` evaluates to the same accuracy', async () => {
    const { train, test } = await loadMnist({ train: 2000 });
    const model = await createModel(gpu, { layers: [784, 32, 10], epochs: 2, lr: 0.003 });
    await model.fit(train, { valSplit: 200 });
    const path = join(work, 'library.safetensors');
    await saveModel(model, path);
    const ours = await model.evaluate(test);
    model.dispose();
    const evaluated = cli(work, ['eval', path, '--json']);
    expect(evaluated.code).toBe(0);
    const result = JSON.parse(evaluated.stdout.trim().split('\n').pop()!);
    expect(result.correct).toBe(ours.correct);
    expect(result.confusionMatrix).toEqual(ours.confusionMatrix);
  });
});
