// Hyperparameter search with the classic protocol:
//   1. every trial (a grid point, or a seeded random sample) trains on the training split and is
//      validated each epoch; the test set is not given to the trials at all;
//   2. the trials are ranked by their best validation accuracy, and the best one is selected;
//   3. the selected configuration is retrained on training + validation data (all 60,000 MNIST
//      training images) for the number of epochs at which its validation accuracy peaked, and
//      tested once: the search's test accuracy;
//   4. beside it, the multinomial logistic regression (IN-C) is trained on the same split and
//      tested, as the classic studies compared.
//
// Directory layout (DIR = --dir):
//   search.json                 the definition: base config, axes, mode; a rerun must match it
//   trials/NNN-<point>/         one run directory per trial (no summary.json: trials are not tested), result.json
//   final/                      the retrained selection: a complete run directory with summary.json, report.html
//   baseline-784-10/            the logistic regression on the final split
//   results.csv, results.md     the table (every trial, best validation accuracy first) and the outcome
//   comparison.html, figures/   one page over every run (with --report)
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resolveConfig, type TrainConfig, type TrainOptions } from '../index.ts';
import { baselineDirName, prepareData, RUN_FILES, writeFileAtomic, writeReportSafely, type RunData } from '../node.ts';
import { finished, recordsCsv, resultTable, sortByValidation, tableMarkdown, tableText, type RunRecord } from './results.ts';
import { claimExperiment, runPlanned, startExperiment, type ExperimentOptions, type PlannedRun } from './runner.ts';
import { applyPoint, gridPoints, pointLabel, pointSlug, randomPoints, SpaceError, type Axis, type SearchPoint } from './space.ts';

export interface SearchSpec {
  /** The training options every trial starts from (the usual `train` flags). */
  readonly base: Partial<TrainOptions>;
  readonly axes: readonly Axis[];
  /** 'grid': every combination; 'random': `samples` points drawn with `seed`. */
  readonly mode: 'grid' | 'random';
  readonly samples?: number;
  readonly seed?: number;
}

export interface SearchOptions extends ExperimentOptions {
  /** Retrain the selected configuration on train + validation and test it (default true). */
  readonly retrain?: boolean;
  /** Train the logistic-regression baseline on the final split (default true; needs retrain). */
  readonly baseline?: boolean;
}

export interface SearchResult {
  /** 0 done, 130 interrupted, 1 no trial finished or a run failed. */
  readonly exitCode: number;
  /** Every recorded trial, best validation accuracy first. */
  readonly trials: readonly RunRecord[];
  readonly selected: RunRecord | null;
  readonly final: RunRecord | null;
  readonly baseline: RunRecord | null;
  readonly files: readonly string[];
  readonly tally: Record<string, unknown>;
}

/** The trials of a search, in the order they run. */
export function planTrials(spec: SearchSpec): PlannedRun[] {
  if (resolveConfig(spec.base).validation === 0) throw new SpaceError('a search selects on validation accuracy: --val-split must hold out some training images (it is 0)');
  const points: SearchPoint[] = spec.mode === 'grid' ? gridPoints(spec.axes) : randomPoints(spec.axes, spec.samples ?? 0, spec.seed ?? 1);
  const digits = Math.max(3, String(points.length).length);
  return points.map((point, i) => ({
    name: join('trials', `${String(i + 1).padStart(digits, '0')}-${pointSlug(point)}`),
    role: 'trial',
    label: pointLabel(point),
    point,
    config: resolveConfig(applyPoint(spec.base, point)),
  }));
}

/** What search.json holds: everything that decides the trials, and where their data comes from. */
export function searchDefinition(spec: SearchSpec, where: Pick<ExperimentOptions, 'data' | 'device'> = {}): Record<string, unknown> {
  return {
    kind: 'search',
    mode: spec.mode,
    ...(spec.mode === 'random' ? { samples: spec.samples, seed: spec.seed ?? 1 } : {}),
    axes: spec.axes,
    base: resolveConfig(spec.base),
    data: where.data ?? { dir: null },
    device: where.device ?? 'gpu',
  };
}

/**
 * The selected configuration retrained on training + validation data for `epochs` (its peak
 * epoch), without a validation set. With --train-subset N the trials saw N training images, so the
 * retrain sees the first N + validation images of the training file.
 */
export function finalConfig(selected: TrainConfig, epochs: number): TrainConfig {
  return {
    ...selected,
    epochs,
    patience: 0,
    validation: 0,
    validationShuffle: false,
    // A validation fraction (tables) held out rows at random: the retrain takes every training row.
    trainSubset: selected.trainSubset > 0 && selected.validation >= 1 ? selected.trainSubset + selected.validation : 0,
  };
}

/** The multinomial logistic regression (IN-C, softmax cross-entropy) trained like `config` on its split. */
export function baselineConfig(config: TrainConfig): TrainConfig {
  const layers = config.spec.layers;
  return { ...config, spec: { ...config.spec, layers: [layers[0], layers[layers.length - 1]], loss: 'ce', dropout: 0 } };
}

const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(2)}%`);

export async function runSearch(spec: SearchSpec, options: SearchOptions): Promise<SearchResult> {
  const { log } = options;
  const dir = resolve(options.dir);
  const loadData = options.loadData ?? ((config: TrainConfig) => prepareData(options.data ?? { dir: null }, config));
  const retrain = options.retrain ?? true;
  const withBaseline = (options.baseline ?? true) && retrain;
  const report = options.report ?? true;
  const trials = planTrials(spec);
  const base = resolveConfig(spec.base);
  const { state, lock } = await claimExperiment(dir, 'search.json', searchDefinition(spec, options), 'search', log);
  log(
    `search: ${trials.length} trials (${spec.mode === 'grid' ? 'grid' : `random, seed ${spec.seed ?? 1}`}) in ${dir}` +
      (state === 'same' ? ' (continuing: finished trials are skipped)' : ''),
  );

  const { ctx, tally, close } = await startExperiment(dir, options, lock);
  const { gpu } = ctx;
  const done = (exitCode: number, records: RunRecord[], extra: Partial<SearchResult> = {}): SearchResult => ({
    exitCode,
    trials: sortByValidation(records),
    selected: null,
    final: null,
    baseline: null,
    files: [],
    tally: tally.toJson(gpu),
    ...extra,
  });
  try {
    // Selection data: the training and validation split only. The test set is not handed over.
    const prepared = await loadData(base);
    const selection: RunData = { description: prepared.description, train: prepared.train, validation: prepared.validation };
    const records: RunRecord[] = [];
    for (const [i, trial] of trials.entries()) {
      log(`\n[${i + 1}/${trials.length}] trial ${trial.name}: ${trial.label}`);
      const outcome = await runPlanned(trial, selection, ctx, false);
      tally.add(outcome);
      if (outcome.skipped) log(`already done: best validation ${pct(outcome.record!.valAccuracy)} at epoch ${outcome.record!.bestEpoch}`);
      if (!outcome.record) return done(outcome.exitCode, records);
      records.push(outcome.record);
    }
    gpu?.release(selection.train);
    if (selection.validation) gpu?.release(selection.validation);

    const ranked = sortByValidation(records);
    const selected = ranked.find((r) => finished(r) && r.valAccuracy !== null) ?? null;
    const files = await writeSearchTables(dir, ranked, selected, null, null);
    log(`\n${tableText(resultTable(ranked))}`);
    if (!selected) {
      log('\nno trial finished with a validation accuracy (every one diverged, or --val-split is 0): nothing to select');
      return done(1, records, { files });
    }
    log(`\nselected on validation accuracy: ${selected.name} (${selected.label}), ${pct(selected.valAccuracy)} at epoch ${selected.bestEpoch} of ${selected.epochs}`);
    if (!retrain) {
      log(`${tally.describe(gpu)}`);
      log(`results: ${files.join(', ')} (--no-retrain: the selection was neither retrained nor tested)`);
      return done(0, records, { selected, files });
    }

    // The one use of the test set: the selected configuration, retrained, then the baseline beside it.
    const config = finalConfig(selected.config, selected.bestEpoch!);
    const finalData = await loadData(config);
    const runs: PlannedRun[] = [
      {
        name: 'final',
        role: 'final',
        label: `${selected.label} retrained on ${finalData.train.count} samples for ${config.epochs} epochs`,
        point: selected.point,
        config,
      },
      ...(withBaseline
        ? [{ name: baselineDirName(config.spec), role: 'baseline' as const, label: `logistic regression ${baselineConfig(config).spec.layers.join('-')}`, config: baselineConfig(config) }]
        : []),
    ];
    const finals: RunRecord[] = [];
    for (const run of runs) {
      log(`\n${run.role === 'final' ? `final: ${run.label}, then tested once on the test set` : `baseline: logistic regression ${run.config.spec.layers.join('-')} on the same split`}`);
      const outcome = await runPlanned(run, finalData, ctx, false);
      tally.add(outcome);
      if (!outcome.record) return done(outcome.exitCode, records, { selected, files });
      finals.push(outcome.record);
    }
    const [final, baseline = null] = finals;
    if (report && options.writeReport) {
      // Written once both are trained, so the final run's report shows the baseline beside it.
      const reporter = options.reporter();
      for (const run of runs) {
        if (!existsSync(join(dir, run.name, RUN_FILES.report))) await writeReportSafely(options.writeReport, join(dir, run.name), finalData, gpu, ctx.settings.device, reporter);
      }
      reporter.close();
    }
    const written = await writeSearchTables(dir, ranked, selected, final, baseline);
    if (report && options.writeComparison) {
      const comparison = await writeComparisonSafely(options.writeComparison, dir, [...ranked, ...finals], spec, log);
      if (comparison) written.push(comparison);
    }
    log(`\n${describeOutcome(selected, final, baseline)}`);
    log(`${tally.describe(gpu)}`);
    log(`results: ${written.join(', ')}`);
    return done(final.testAccuracy === null ? 1 : 0, records, { selected, final, baseline, files: written });
  } finally {
    close();
  }
}

/** The search's result in two sentences: what was selected and how it tested, beside the baseline. */
export function describeOutcome(selected: RunRecord, final: RunRecord | null, baseline: RunRecord | null): string {
  const lines = [
    `Selected on validation accuracy only: ${selected.label} (${selected.config.spec.layers.join('-')}), ` +
      `best validation accuracy ${pct(selected.valAccuracy)} at epoch ${selected.bestEpoch} of ${selected.epochs}.`,
  ];
  if (final) {
    const images = final.config.trainSubset || 'all';
    lines.push(
      `Retrained on training + validation data (${images === 'all' ? 'the whole training file' : `${images} images`}) for ${final.config.epochs} epochs ` +
        `(the peak epoch) and tested once: test accuracy ${pct(final.testAccuracy)}` +
        (final.status === 'diverged' ? ' (the retrain diverged)' : '') +
        (baseline ? `; logistic regression ${baseline.config.spec.layers.join('-')} on the same split: ${pct(baseline.testAccuracy)}.` : '.'),
    );
  }
  return lines.join('\n');
}

async function writeSearchTables(dir: string, ranked: RunRecord[], selected: RunRecord | null, final: RunRecord | null, baseline: RunRecord | null): Promise<string[]> {
  const encoder = new TextEncoder();
  const all = [...ranked, ...(final ? [final] : []), ...(baseline ? [baseline] : [])];
  const csv = join(dir, 'results.csv');
  const md = join(dir, 'results.md');
  await writeFileAtomic(csv, encoder.encode(recordsCsv(all)));
  const text = [
    `Trials sorted by best validation accuracy ("peak epoch": the epoch at which it peaked, of the epochs trained). The test set was not used by any trial.`,
    '',
    tableMarkdown(resultTable(ranked)),
    ...(selected ? ['', describeOutcome(selected, final, baseline)] : []),
  ].join('\n');
  await writeFileAtomic(md, encoder.encode(text + '\n'));
  return [csv, md];
}

async function writeComparisonSafely(
  writeComparison: NonNullable<ExperimentOptions['writeComparison']>,
  dir: string,
  records: RunRecord[],
  spec: SearchSpec,
  log: (line: string) => void,
): Promise<string | null> {
  try {
    const baseline = records.find((r) => r.role === 'baseline');
    const [htmlPath] = await writeComparison(
      records.map((r) => ({ dir: join(dir, r.name), label: r.role === 'trial' ? r.label : r.role === 'final' ? `final: ${r.label}` : r.label })),
      {
        out: join(dir, 'comparison.html'),
        title: `Search over ${spec.axes.map((a) => a.key).join(', ')}`,
        description: `${records.filter((r) => r.role === 'trial').length} trials (${spec.mode}); trials are not tested; the final run is the selection retrained on training + validation data`,
        baseline: baseline ? join(dir, baseline.name) : null,
      },
    );
    return htmlPath;
  } catch (error) {
    log(`comparison report not written: ${(error as Error).message}`);
    return null;
  }
}
