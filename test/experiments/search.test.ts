// Search end to end, in process, on one shared device: selection on validation only (the test set
// is first read by the final retrain), the final retrain's epochs and split, the tables, resuming
// an interrupted search (finished trials skipped, the interrupted one continued to the same
// result), and refusing a changed search in the same directory. Tiny models on MNIST subsets.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparisonWriter, reportWriter } from '../../src/cli/report-command.ts';
import { DefinitionError } from '../../src/experiments/runner.ts';
import { runSearch, type SearchOptions, type SearchResult, type SearchSpec } from '../../src/experiments/search.ts';
import { parseAxis } from '../../src/experiments/space.ts';
import { openGpu, type EpochRecord, type Gpu, type ProgressEvent, type TrainConfig } from '../../src/index.ts';
import { prepareData, type Reporter, type RunData } from '../../src/node.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-search-'));
let gpu: Gpu;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => {
  gpu?.close();
  rmSync(work, { recursive: true, force: true });
});

// 600 training images at batch 50: 12 steps per epoch; 1,000 validation images.
const spec: SearchSpec = {
  base: { layers: [784, 16, 10], trainSubset: 600, valSplit: 1000, batchSize: 50, epochs: 3, dropout: 0 },
  axes: [parseAxis('lr=0.01,0.001'), parseAxis('hidden=16,24-12')],
  mode: 'grid',
};

/** A reporter that keeps every message, and calls `onProgress` for progress events. */
function recordingReporter(messages: string[], onProgress?: (event: ProgressEvent) => void): Reporter {
  return {
    progress: (event) => onProgress?.(event),
    epoch: (record: EpochRecord) => messages.push(`epoch ${record.epoch}`),
    message: (text) => messages.push(text),
    event: () => {},
    close: () => {},
  };
}

function options(dir: string, events: string[], extra: Partial<SearchOptions> = {}): SearchOptions {
  return {
    dir,
    gpu,
    writeReport: reportWriter(),
    writeComparison: comparisonWriter(),
    log: (line) => events.push(line),
    reporter: () => recordingReporter(events),
    command: ['search', '(test)'],
    ...extra,
  };
}

/** prepareData, with the test set behind a getter that notes every read in `events`. */
function watchedData(events: string[]): (config: TrainConfig) => Promise<RunData> {
  return async (config) => {
    const data = await prepareData({ dir: null }, config);
    const watched = { description: data.description, train: data.train, validation: data.validation } as RunData;
    Object.defineProperty(watched, 'test', {
      enumerable: true,
      get: () => {
        events.push(`TEST READ (split with validation ${config.validation}, ${config.trainSubset} training images)`);
        return data.test;
      },
    });
    return watched;
  };
}

function bestOfMetrics(runDir: string): { accuracy: number; epoch: number } {
  const epochs = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as EpochRecord);
  return epochs.reduce((best, r) => (r.valAccuracy! > best.accuracy ? { accuracy: r.valAccuracy!, epoch: r.epoch } : best), { accuracy: -1, epoch: 0 });
}

describe('grid search', () => {
  const dir = join(work, 'grid');
  const events: string[] = [];
  let result: SearchResult;

  // The first search compiles every pipeline (tens of seconds on lavapipe with a cold shader cache).
  it('trains every trial without a test set, then retrains the selection and tests it once', { timeout: 300_000 }, async () => {
    result = await runSearch(spec, options(dir, events, { loadData: watchedData(events) }));
    expect(result.exitCode).toBe(0);
    expect(result.trials).toHaveLength(4);

    // Trials: validated, never tested; their run directories hold no summary.
    for (const trial of result.trials) {
      expect(trial.role).toBe('trial');
      expect(trial.testAccuracy).toBeNull();
      expect(existsSync(join(dir, trial.name, 'summary.json'))).toBe(false);
      expect(existsSync(join(dir, trial.name, 'result.json'))).toBe(true);
    }
    // The test set is read only for the final split (no validation), and only after the last trial.
    const reads = events.map((e, i) => [e, i] as const).filter(([e]) => e.startsWith('TEST READ'));
    expect(reads.length).toBeGreaterThan(0);
    for (const [event] of reads) expect(event).toBe('TEST READ (split with validation 0, 1600 training images)');
    const lastTrial = events.findLastIndex((e) => e.trimStart().startsWith('[4/4] trial'));
    const finalStart = events.findIndex((e) => e.trimStart().startsWith('final:'));
    expect(lastTrial).toBeGreaterThan(0);
    expect(finalStart).toBeGreaterThan(lastTrial);
    expect(reads[0][1]).toBeGreaterThan(finalStart);
  });

  it('selects the trial with the best validation accuracy, and retrains it on train + validation for its peak epoch', () => {
    const peaks = result.trials.map((t) => ({ name: t.name, ...bestOfMetrics(join(dir, t.name)) }));
    for (const [i, trial] of result.trials.entries()) {
      expect(trial.valAccuracy).toBe(peaks[i].accuracy);
      expect(trial.bestEpoch).toBe(peaks[i].epoch);
    }
    const best = peaks.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
    expect(result.selected!.name).toBe(best.name);
    expect(result.trials[0].name).toBe(best.name);

    const final = result.final!;
    expect(final.config.spec).toEqual(result.selected!.config.spec);
    expect(final.config.lr).toBe(result.selected!.config.lr);
    expect(final.config.epochs).toBe(best.epoch);
    expect(final.config.validation).toBe(0);
    expect(final.config.trainSubset).toBe(600 + 1000);
    expect(final.testAccuracy).toBeGreaterThan(0.5);
    const summary = JSON.parse(readFileSync(join(dir, 'final', 'summary.json'), 'utf8'));
    expect(summary.test.accuracy).toBe(final.testAccuracy);
    expect(summary.validation).toBeNull();

    const baseline = result.baseline!;
    expect(baseline.config.spec.layers).toEqual([784, 10]);
    expect(baseline.config.trainSubset).toBe(1600);
    expect(baseline.testAccuracy).toBeGreaterThan(0.5);
  });

  it('writes the table (CSV, Markdown), the reports and the comparison page', () => {
    const csv = readFileSync(join(dir, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(1 + 4 + 2);
    expect(csv[1]).toContain(result.selected!.name);
    const md = readFileSync(join(dir, 'results.md'), 'utf8');
    expect(md).toMatch(/The test set was not used by any trial/);
    expect(md).toMatch(/\| # \| run \| layers \| lr \| peak epoch \| val acc \| val loss \| s\/epoch \|/);
    expect(md).toMatch(/Retrained on training \+ validation data \(1600 images\) for \d epochs \(the peak epoch\) and tested once: test accuracy \d+\.\d\d%; logistic regression 784-10 on the same split: \d+\.\d\d%\./);
    for (const file of ['final/report.html', 'baseline-784-10/report.html', 'comparison.html', 'figures/comparison-validation.png']) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    expect(readFileSync(join(dir, 'final', 'report.html'), 'utf8')).toMatch(/id="baseline" data-state="found"/);
    // Each set is uploaded once however many runs use it: the selection's training and validation
    // sets, then the final split's training and test sets.
    expect(result.tally).toMatchObject({ trained: 6, skipped: 0, uploads: 4 });
  });

  it('refuses a changed search in the same directory, training nothing', async () => {
    const changed: SearchSpec = { ...spec, axes: [parseAxis('lr=0.01,0.003'), parseAxis('hidden=16,24-12')] };
    const run = runSearch(changed, options(dir, []));
    await expect(run).rejects.toThrow(DefinitionError);
    await expect(run).rejects.toThrow(/holds a different search \(axes\.0\.values\.1: 0\.001 → 0\.003\)/);
  });

  it('resumes after an interruption: finished trials are skipped, the interrupted one continues to the same result', async () => {
    const resumed = join(work, 'resumed');
    const abort = new AbortController();
    const first: string[] = [];
    let runs = 0;
    const interrupted = await runSearch(
      spec,
      options(resumed, first, {
        retrain: false,
        signal: abort.signal,
        // Stop in the second trial's second epoch.
        reporter: () => {
          runs += 1;
          const run = runs;
          return recordingReporter(first, (event) => run === 2 && event.epoch === 2 && abort.abort());
        },
      }),
    );
    expect(interrupted.exitCode).toBe(130);
    const [trial1, trial2, trial3] = ['001-lr-0.01_hidden-16', '002-lr-0.01_hidden-24-12', '003-lr-0.001_hidden-16'].map((n) => join(resumed, 'trials', n));
    expect(existsSync(join(trial1, 'result.json'))).toBe(true);
    expect(existsSync(join(trial2, 'result.json'))).toBe(false);
    expect(existsSync(join(trial2, 'last.safetensors'))).toBe(true);
    expect(existsSync(trial3)).toBe(false);
    expect(first.some((line) => /^interrupted; run the same command again to continue/.test(line))).toBe(true);
    const trial1Written = statSync(join(trial1, 'result.json')).mtimeMs;

    const second: string[] = [];
    const again = await runSearch(spec, options(resumed, second, { retrain: false }));
    expect(again.exitCode).toBe(0);
    expect(again.tally).toMatchObject({ trained: 3, skipped: 1 });
    expect(second).toContain('search: 4 trials (grid) in ' + resumed + ' (continuing: finished trials are skipped)');
    expect(second.some((line) => /^data .*; resuming at epoch 2, step \d+$/.test(line))).toBe(true);
    expect(statSync(join(trial1, 'result.json')).mtimeMs).toBe(trial1Written);
    // Interrupted and resumed, the search ends exactly as the uninterrupted one did.
    const summary = (r: SearchResult) => r.trials.map((t) => [t.name, t.valAccuracy, t.valLoss, t.bestEpoch]);
    expect(summary(again)).toEqual(summary(result));
    expect(again.selected!.name).toBe(result.selected!.name);
  });
});
