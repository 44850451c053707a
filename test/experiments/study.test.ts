// A study preset end to end on a small budget (1 epoch, 300 training images): the baseline first,
// every run tested once with its report (which finds the baseline), the table, the comparison page
// and its PNG charts; then the same study again skips every run. Also what every preset plans.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reporter } from '../../src/cli/progress.ts';
import { defaultStudyDir, planStudy, runStudy, STUDIES, studyPreset, type StudyOptions, type StudyResult } from '../../src/experiments/studies.ts';
import { comparisonWriter, reportWriter } from '../../src/cli/report-command.ts';
import { openGpu, type Gpu } from '../../src/index.ts';
import { splitDifferences } from '../../src/node.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-study-'));
let gpu: Gpu;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => {
  gpu?.close();
  rmSync(work, { recursive: true, force: true });
});

const silent: Reporter = { progress: () => {}, epoch: () => {}, message: () => {}, event: () => {}, close: () => {} };

describe('study presets', () => {
  it.each(STUDIES.map((s) => [s.name]))('%s plans a baseline-784-10 first and every run on one split', (name) => {
    const runs = planStudy(studyPreset(name));
    expect(runs[0]).toMatchObject({ name: 'baseline-784-10', role: 'baseline' });
    expect(runs[0].config.spec).toMatchObject({ layers: [784, 10], loss: 'ce' });
    expect(new Set(runs.map((r) => r.name)).size).toBe(runs.length);
    for (const run of runs) {
      expect(splitDifferences(runs[0].config, run.config)).toEqual([]);
      expect(run.config.epochs).toBe(runs[0].config.epochs); // one budget per study
    }
  });

  it('presets vary what they are named for', () => {
    const activations = planStudy(studyPreset('activations')).slice(1);
    expect(activations.map((r) => r.config.spec.activation)).toEqual(['sigmoid', 'tanh', 'relu']);
    expect(new Set(activations.map((r) => r.config.spec.layers.join('-')))).toEqual(new Set(['784-256-128-10']));
    const depth = planStudy(studyPreset('depth-width')).map((r) => r.config.spec.layers.join('-'));
    expect(depth).toEqual(expect.arrayContaining(['784-10', '784-30-10', '784-256-10', '784-256-64-10']));
    const cells = planStudy(studyPreset('loss-activation')).slice(1).map((r) => `${r.config.spec.loss}-${r.config.spec.activation}`);
    expect(new Set(cells)).toEqual(new Set(['mse-sigmoid', 'mse-relu', 'ce-sigmoid', 'ce-relu']));
    const optimizers = new Set(planStudy(studyPreset('optimizers')).map((r) => r.config.optimizer.kind));
    expect(optimizers).toEqual(new Set(['sgd', 'momentum', 'nesterov', 'adagrad', 'adam', 'adamw']));
    const grid = planStudy(studyPreset('grid')).slice(1);
    expect(new Set(grid.map((r) => r.config.spec.layers[1]))).toEqual(new Set([64, 128, 256, 512, 1024]));
    expect(grid).toHaveLength(5 * 2 * 2);
  });

  it('applies the budget overrides to every run, and names the default directory after them', () => {
    const preset = studyPreset('optimizers');
    for (const run of planStudy(preset, { epochs: 2, trainSubset: 1000 })) expect(run.config).toMatchObject({ epochs: 2, trainSubset: 1000 });
    expect(defaultStudyDir(preset, {})).toBe(join('runs', 'study-optimizers'));
    expect(defaultStudyDir(preset, { epochs: 2, trainSubset: 1000 })).toBe(join('runs', 'study-optimizers-epochs2-subset1000'));
    expect(() => studyPreset('dropout')).toThrow(/unknown study "dropout"; studies: activations, depth-width, loss-activation, optimizers, grid/);
  });
});

describe('study activations, 1 epoch on 300 images', () => {
  const dir = join(work, 'activations');
  const log: string[] = [];
  const options = (): StudyOptions => ({ dir, epochs: 1, trainSubset: 300, gpu, writeReport: reportWriter(), writeComparison: comparisonWriter(), log: (line) => log.push(line), reporter: () => silent, command: ['study', 'activations', '(test)'] });
  let result: StudyResult;

  // Compiles the sigmoid, tanh and ReLU pipelines (tens of seconds on lavapipe with a cold shader cache).
  it('trains the baseline and every run, each tested once and reported', { timeout: 300_000 }, async () => {
    result = await runStudy(studyPreset('activations'), options());
    expect(result.exitCode).toBe(0);
    expect(result.records.map((r) => r.name).sort()).toEqual(['baseline-784-10', 'relu', 'sigmoid', 'tanh']);
    for (const record of result.records) {
      expect(record.testAccuracy, record.name).not.toBeNull();
      expect(record.bestEpoch).toBe(1);
      for (const file of ['summary.json', 'result.json', 'report.html', 'best.safetensors']) expect(existsSync(join(dir, record.name, file)), `${record.name}/${file}`).toBe(true);
      const summary = JSON.parse(readFileSync(join(dir, record.name, 'summary.json'), 'utf8'));
      expect(summary.test.accuracy).toBe(record.testAccuracy);
    }
    // Each MLP's report shows the baseline beside it, found in the study directory.
    for (const name of ['sigmoid', 'tanh', 'relu']) expect(readFileSync(join(dir, name, 'report.html'), 'utf8')).toMatch(/id="baseline" data-state="found"/);
    expect(log.findIndex((l) => l.includes('baseline-784-10'))).toBeLessThan(log.findIndex((l) => l.includes('] sigmoid')));
  });

  it('writes the table sorted by validation accuracy, and the comparison page with its charts', () => {
    const accuracies = result.records.map((r) => r.valAccuracy!);
    expect(accuracies).toEqual([...accuracies].sort((a, b) => b - a));
    const md = readFileSync(join(dir, 'results.md'), 'utf8');
    expect(md).toMatch(/^### Activations: sigmoid vs tanh vs ReLU/);
    expect(md).toMatch(/`npx webgpu-mlp study activations \(test\)`/);
    expect(md).toMatch(/\| # \| run \| layers \| activation \| init \| peak epoch \| val acc \| val loss \| test acc \| s\/epoch \|/);
    expect(md).toMatch(/\| logistic regression 784-10 \(baseline\) \| 784-10 \|/);
    expect(readFileSync(join(dir, 'results.csv'), 'utf8').trim().split('\n')).toHaveLength(5);
    const comparison = readFileSync(join(dir, 'comparison.html'), 'utf8');
    expect(comparison).toMatch(/<h1>Activations: sigmoid vs tanh vs ReLU<\/h1>/);
    expect(comparison.match(/<tr[^>]*data-baseline="true"/g)).toHaveLength(1);
    expect(readdirSync(join(dir, 'figures')).sort()).toEqual(['comparison-test-accuracy.png', 'comparison-validation-loss.png', 'comparison-validation.png']);
    // One split for every run: its training, validation and test sets, each uploaded once.
    expect(result.tally).toMatchObject({ trained: 4, skipped: 0, uploads: 3 });
  });

  it('skips every finished run when run again, writing only a report that is missing', async () => {
    rmSync(join(dir, 'relu', 'report.html'));
    const again = await runStudy(studyPreset('activations'), options());
    expect(existsSync(join(dir, 'relu', 'report.html'))).toBe(true);
    expect(again.exitCode).toBe(0);
    expect(again.tally).toMatchObject({ trained: 0, skipped: 4 });
    expect(again.records.map((r) => [r.name, r.testAccuracy])).toEqual(result.records.map((r) => [r.name, r.testAccuracy]));
  });

  it('refuses another budget in the same directory', async () => {
    await expect(runStudy(studyPreset('activations'), { ...options(), epochs: 2 })).rejects.toThrow(/holds a different study \(runs\.0\.config\.epochs: 1 → 2;/);
  });
});
