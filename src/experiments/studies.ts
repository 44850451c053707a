// The classic MNIST MLP studies, one command each (`webgpu-mlp study NAME`). A study trains a fixed
// list of runs on one split, each tested once with its best-validation weights, beside the
// multinomial logistic regression (run `baseline-784-10`, trained first so every run's report shows
// it), then writes its table (sorted by validation accuracy), a comparison page and PNG charts.
//
// Budgets are chosen to finish in minutes on a 2-core machine without a GPU (lavapipe) while
// keeping the comparison fair: within a study every run has the same epochs, batch size, schedule
// and data; learning rates differ only where the classic studies tuned them per method (optimizers),
// or are swept and the comparison made at each method's best (loss × activation).
// --epochs and --train-subset shrink a study further.
//
// Directory layout (DIR = --dir, default runs/study-NAME):
//   study.json                 the definition (every run's config); a rerun must match it
//   baseline-784-10/, NAME/    one complete run directory per run (summary.json, report.html), result.json
//   results.csv, results.md    the table; results.md is the section bench/RESULTS.md quotes
//   comparison.html, figures/  the comparison page and its PNG charts
import { join, resolve } from 'node:path';
import { optionsOf, resolveConfig, tableOptions, type TableShape, type TrainConfig } from '../index.ts';
import { baselineDirName, prepareData, splitDifferences, writeFileAtomic, type RunData } from '../node.ts';
import { recordsCsv, resultTable, sortByValidation, tableMarkdown, tableText, type RunRecord } from './results.ts';
import { claimExperiment, formatMinutes, runPlanned, startExperiment, type ExperimentOptions, type PlannedRun } from './runner.ts';

type FlagValues = Readonly<Record<string, string | number | boolean | readonly number[]>>;

export interface StudyRun {
  /** Directory name and table label. */
  readonly name: string;
  /** Training options on top of the study's base (kebab-case names, as on the command line). */
  readonly flags: FlagValues;
}

export interface StudyPreset {
  readonly name: string;
  readonly title: string;
  /** What the study varies and how it keeps the comparison fair. */
  readonly description: string;
  /** Training options every run starts from (the baseline too). */
  readonly base: FlagValues;
  /** Options of the logistic-regression baseline beyond the base (its layers are always IN-C, cross-entropy). */
  readonly baseline?: FlagValues;
  readonly runs: readonly StudyRun[];
}

/**
 * Brackets every combination's best step size: a 2-epoch probe on 10,000 images peaked at 0.1 for
 * squared error (0.3 and 1 broke sigmoid + MSE) and at 0.3-1 for cross-entropy.
 */
const LOSS_ACTIVATION_LRS = [0.03, 0.1, 0.3, 1];

const lrSweep = (name: string, flags: FlagValues, lrs: readonly number[]): StudyRun[] => lrs.map((lr) => ({ name: `${name}-lr${lr}`, flags: { ...flags, lr } }));

export const STUDIES: readonly StudyPreset[] = [
  {
    name: 'activations',
    title: 'Activations: sigmoid vs tanh vs ReLU',
    description:
      '784-256-128-10 trained identically (SGD with momentum 0.9, lr 0.01, batch 128, constant schedule, no dropout) with each hidden activation; ' +
      'each with its customary initialisation (Glorot/Xavier for sigmoid and tanh, He for ReLU).',
    base: { layers: '784,256,128,10', optimizer: 'momentum', momentum: 0.9, lr: 0.01, schedule: 'constant', dropout: 0, 'batch-size': 128, epochs: 10 },
    runs: [
      { name: 'sigmoid', flags: { activation: 'sigmoid', init: 'xavier' } },
      { name: 'tanh', flags: { activation: 'tanh', init: 'xavier' } },
      { name: 'relu', flags: { activation: 'relu', init: 'he' } },
    ],
  },
  {
    name: 'depth-width',
    title: 'Depth and width',
    description:
      'From logistic regression (784-10) to deeper and wider ReLU networks, all with Adam lr 0.001, cosine schedule, batch 128, no dropout, same epochs.',
    base: { optimizer: 'adam', lr: 0.001, schedule: 'cosine', dropout: 0, activation: 'relu', 'batch-size': 128, epochs: 10 },
    runs: [
      { name: '784-30-10', flags: { layers: '784,30,10' } },
      { name: '784-256-10', flags: { layers: '784,256,10' } },
      { name: '784-1024-10', flags: { layers: '784,1024,10' } },
      { name: '784-256-64-10', flags: { layers: '784,256,64,10' } },
      { name: '784-256-128-64-10', flags: { layers: '784,256,128,64,10' } },
      { name: '784-512-512-10', flags: { layers: '784,512,512,10' } },
    ],
  },
  {
    name: 'loss-activation',
    title: 'Loss × activation: {MSE, cross-entropy} × {sigmoid, ReLU}',
    description:
      '784-100-10 with plain SGD (batch 32, constant schedule, 10 epochs); each combination at the same four learning rates, ' +
      'since each needs its own step size: compare each combination at its best validation accuracy. The output layer is linear ' +
      '(logits) for both losses, so squared error is on the logits.',
    base: { layers: '784,100,10', optimizer: 'sgd', schedule: 'constant', dropout: 0, 'batch-size': 32, epochs: 10 },
    baseline: { lr: 0.1 },
    runs: [
      ...lrSweep('mse-sigmoid', { loss: 'mse', activation: 'sigmoid', init: 'xavier' }, LOSS_ACTIVATION_LRS),
      ...lrSweep('mse-relu', { loss: 'mse', activation: 'relu', init: 'he' }, LOSS_ACTIVATION_LRS),
      ...lrSweep('ce-sigmoid', { loss: 'ce', activation: 'sigmoid', init: 'xavier' }, LOSS_ACTIVATION_LRS),
      ...lrSweep('ce-relu', { loss: 'ce', activation: 'relu', init: 'he' }, LOSS_ACTIVATION_LRS),
    ],
  },
  {
    name: 'optimizers',
    title: 'Optimizers, weight decay and dropout',
    description:
      '784-256-10 ReLU, batch 128, constant schedule, 10 epochs; each optimizer at its customary learning rate (SGD 0.1, momentum and Nesterov 0.01 with μ 0.9, ' +
      'Adagrad 0.01, Adam 0.001), then Adam with L2 weight decay, AdamW, and dropout.',
    base: { layers: '784,256,10', activation: 'relu', schedule: 'constant', dropout: 0, 'batch-size': 128, epochs: 10 },
    baseline: { optimizer: 'adam', lr: 0.001 },
    runs: [
      { name: 'sgd', flags: { optimizer: 'sgd', lr: 0.1 } },
      { name: 'momentum', flags: { optimizer: 'momentum', momentum: 0.9, lr: 0.01 } },
      { name: 'nesterov', flags: { optimizer: 'nesterov', momentum: 0.9, lr: 0.01 } },
      { name: 'adagrad', flags: { optimizer: 'adagrad', lr: 0.01 } },
      { name: 'adam', flags: { optimizer: 'adam', lr: 0.001 } },
      { name: 'adam-l2-1e-4', flags: { optimizer: 'adam', lr: 0.001, 'weight-decay': 1e-4 } },
      { name: 'adamw-0.05', flags: { optimizer: 'adamw', lr: 0.001, 'weight-decay': 0.05 } },
      { name: 'adam-dropout-0.2', flags: { optimizer: 'adam', lr: 0.001, dropout: 0.2 } },
      { name: 'adam-dropout-0.5', flags: { optimizer: 'adam', lr: 0.001, dropout: 0.5 } },
    ],
  },
  {
    name: 'grid',
    title: 'Grid: hidden units × learning rate × L2',
    description:
      'One hidden ReLU layer of 64 to 1024 units × Adam learning rate {0.001, 0.003} × L2 weight decay {0, 0.0001}: ' +
      'batch 128, cosine schedule, no dropout, same epochs, as the classic homework grids searched.',
    base: { optimizer: 'adam', activation: 'relu', schedule: 'cosine', dropout: 0, 'batch-size': 128, epochs: 8 },
    baseline: { lr: 0.001 },
    runs: [64, 128, 256, 512, 1024].flatMap((hidden) =>
      [0.001, 0.003].flatMap((lr) =>
        [0, 1e-4].map((l2) => ({ name: `h${hidden}-lr${lr}-l2-${l2}`, flags: { layers: `784,${hidden},10`, lr, 'weight-decay': l2 } })),
      ),
    ),
  },
];

export function studyPreset(name: string): StudyPreset {
  const preset = STUDIES.find((s) => s.name === name);
  if (!preset) throw new StudyError(`unknown study "${name}"; studies: ${STUDIES.map((s) => s.name).join(', ')}`);
  return preset;
}

export class StudyError extends Error {
  override name = 'StudyError';
}

/** What a user may change about a preset's runs: their budget and seed (data and device are the experiment's). */
export interface StudyOverrides {
  readonly epochs?: number;
  readonly trainSubset?: number;
  readonly seed?: number;
  /**
   * The study on a table: every run's input and output widths become the table's (its hidden
   * layers stay the preset's), and validation is the table defaults' seeded split for its size.
   */
  readonly table?: TableShape;
}

/** The runs of a study, the baseline first (so every other run's report finds it). */
export function planStudy(preset: StudyPreset, overrides: StudyOverrides = {}): PlannedRun[] {
  const budget = { epochs: overrides.epochs, trainSubset: overrides.trainSubset, seed: overrides.seed };
  const { table } = overrides;
  const configOf = (flags: FlagValues): TrainConfig => {
    const config = resolveConfig(preset.base, flags, budget);
    if (!table) return config;
    const layers = [table.inputSize, ...config.spec.layers.slice(1, -1), table.classes];
    return resolveConfig({ ...optionsOf(config) }, { layers, valSplit: tableOptions(table).valSplit, valShuffle: true });
  };
  const reference = configOf({});
  const layers = reference.spec.layers;
  const baselineLayers = `${layers[0]},${layers[layers.length - 1]}`;
  const baseline = configOf({ ...preset.baseline, layers: baselineLayers, loss: 'ce', dropout: 0 });
  const runs: PlannedRun[] = [
    { name: baselineDirName(baseline.spec), role: 'baseline', label: `logistic regression ${baselineLayers.replace(',', '-')}`, config: baseline },
    ...preset.runs.map((run): PlannedRun => ({ name: run.name, role: 'run', label: run.name, config: configOf(run.flags) })),
  ];
  for (const run of runs) {
    // One split for every run: one upload, and every comparison on the same images.
    const differences = splitDifferences(baseline, run.config);
    if (differences.length) throw new StudyError(`study ${preset.name}: run ${run.name} is not on the study's split (${differences.join('; ')})`);
  }
  return runs;
}

/** Default directory: runs/study-NAME, with the budget in the name when it was changed. */
export function defaultStudyDir(preset: StudyPreset, overrides: StudyOverrides & Pick<ExperimentOptions, 'device'>): string {
  const parts = [
    overrides.epochs !== undefined ? `epochs${overrides.epochs}` : '',
    overrides.trainSubset !== undefined ? `subset${overrides.trainSubset}` : '',
    overrides.seed !== undefined ? `seed${overrides.seed}` : '',
    overrides.device === 'cpu' ? 'cpu' : '',
  ].filter(Boolean);
  return join('runs', ['study', preset.name, ...parts].join('-'));
}

export interface StudyOptions extends StudyOverrides, ExperimentOptions {}

export interface StudyResult {
  readonly exitCode: number;
  /** Best validation accuracy first (the baseline among them). */
  readonly records: readonly RunRecord[];
  readonly files: readonly string[];
  readonly markdown: string;
  readonly tally: Record<string, unknown>;
}

export async function runStudy(preset: StudyPreset, options: StudyOptions): Promise<StudyResult> {
  const { log } = options;
  const dir = resolve(options.dir);
  const report = options.report ?? true;
  const runs = planStudy(preset, options);
  const definition = { kind: 'study', name: preset.name, runs: runs.map(({ name, config }) => ({ name, config })), data: options.data ?? { dir: null }, device: options.device ?? 'gpu' };
  const { state, lock } = await claimExperiment(dir, 'study.json', definition, 'study', log);
  log(`study ${preset.name}: ${runs.length} runs (the logistic-regression baseline first) in ${dir}${state === 'same' ? ' (continuing: finished runs are skipped)' : ''}`);
  log(preset.description);

  const { ctx, tally, close } = await startExperiment(dir, options, lock);
  const { gpu } = ctx;
  const records: RunRecord[] = [];
  const result = (exitCode: number, files: string[] = [], markdown = ''): StudyResult => ({
    exitCode,
    records: sortByValidation(records),
    files,
    markdown,
    tally: tally.toJson(gpu),
  });
  try {
    const data: RunData = await (options.loadData ?? ((config: TrainConfig) => prepareData(options.data ?? { dir: null }, config)))(runs[0].config);
    for (const [i, run] of runs.entries()) {
      log(`\n[${i + 1}/${runs.length}] ${run.name}: ${run.label}`);
      const outcome = await runPlanned(run, data, ctx, report);
      tally.add(outcome);
      if (outcome.skipped) log(`already done: validation ${percent(outcome.record!.valAccuracy)}, test ${percent(outcome.record!.testAccuracy)}`);
      if (!outcome.record) return result(outcome.exitCode);
      records.push(outcome.record);
    }
    const ranked = sortByValidation(records);
    const table = resultTable(ranked);
    const markdown = studyMarkdown(preset, ranked, options.command);
    const csv = join(dir, 'results.csv');
    const md = join(dir, 'results.md');
    await writeFileAtomic(csv, new TextEncoder().encode(recordsCsv(ranked)));
    await writeFileAtomic(md, new TextEncoder().encode(markdown + '\n'));
    const files = [csv, md];
    if (report && options.writeComparison) {
      try {
        files.push(
          ...(await options.writeComparison(
            ranked.map((r) => ({ dir: join(dir, r.name), label: r.label })),
            { out: join(dir, 'comparison.html'), title: preset.title, description: preset.description },
          )),
        );
      } catch (error) {
        log(`comparison report not written: ${(error as Error).message}`);
      }
    }
    log(`\n${preset.title}\n${tableText(table)}`);
    log(`\n${tally.describe(gpu)}`);
    log(`results: ${files.filter((f) => !f.endsWith('.png')).join(', ')}`);
    return result(0, files, markdown);
  } finally {
    close();
  }
}

const percent = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(2)}%`);

/**
 * The study's section for bench/RESULTS.md: what it is, the command, when and where its runs
 * trained and how long they took (from the records, so a rerun that skips them says the same), the table.
 */
export function studyMarkdown(preset: StudyPreset, ranked: readonly RunRecord[], command: readonly string[]): string {
  const seconds = ranked.reduce((sum, r) => sum + r.wallSeconds, 0);
  const dates = [...new Set(ranked.map((r) => (r.finishedAt ?? '').slice(0, 10)))].sort();
  const adapters = [...new Set(ranked.map((r) => r.adapter))];
  return [
    `### ${preset.title}`,
    '',
    preset.description,
    '',
    `\`npx webgpu-mlp ${command.join(' ')}\` — ${dates.join(' to ')}, ${adapters.join('; ')}. ` +
      `${ranked.length} runs in ${formatMinutes(seconds)} (building, training, validating and testing each; ${(ranked.length / (seconds / 60)).toFixed(1)} runs/min), in one process on one device.`,
    'Sorted by best validation accuracy; "peak epoch" is the epoch whose weights were tested (the test set was used once per run); s/epoch is the median epoch.',
    '',
    tableMarkdown(resultTable(ranked)),
  ].join('\n');
}
