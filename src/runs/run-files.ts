// Reading a run directory back (the layout run-dir.ts writes), and finding the logistic-
// regression baseline a report compares the run with.
//
// Baseline convention: a run directory is compared with the 784-10 (generally IN-C) softmax
// regression trained by the same engine on the same split. It is, in order:
//   1. the directory given explicitly (`--baseline DIR`, `baseline` option);
//   2. RUN_DIR/../baseline-{IN}-{C}/  (e.g. runs/baseline-784-10/ beside runs/my-run/): searches and
//      studies train it once per split into their runs folder under that name;
//   3. none: the report says "no baseline run" and where it looked.
// A run without hidden layers is its own baseline.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { classCount, inputSize, type ModelSpec } from '../model/spec.ts';
import { MlpError } from '../errors.ts';
import { configFromJson, type TrainConfig } from '../train/config.ts';
import { settingsFromJson, type RunSettings } from './settings.ts';
import { describeSource } from './data.ts';
import type { EpochRecord } from '../train/trainer.ts';

/** A run directory that cannot be read back (missing, not a run, malformed files). */
export class RunFilesError extends MlpError {
  constructor(message: string) {
    super('RUN_DIR', message);
    this.name = 'RunFilesError';
  }
}

/** What `train` writes into config.json beside the TrainConfig. */
export interface RunConfig extends TrainConfig {
  readonly run: RunSettings;
  readonly version?: string;
  readonly adapter?: string;
  readonly command?: readonly string[];
}

/** summary.json: present once a run has finished. */
export interface RunSummary {
  readonly version: string;
  readonly finishedAt: string;
  readonly reason: string;
  readonly adapter: string;
  readonly device: 'gpu' | 'cpu';
  readonly parameters: number;
  readonly epochs: number;
  readonly bestEpoch: number;
  readonly validation: { readonly loss: number; readonly accuracy: number } | null;
  readonly test: {
    readonly loss: number;
    readonly accuracy: number;
    readonly correct: number;
    readonly count: number;
    readonly confusionMatrix: number[][];
    readonly perClassAccuracy: number[];
  };
  readonly timing: {
    readonly wallSeconds: number;
    readonly trainSeconds: number;
    readonly meanEpochSeconds: number;
    readonly samplesPerSecond: number;
    /** Getting ready before the first step: plans built, every pipeline compiled (absent in runs of older versions). */
    readonly setupSeconds?: number;
    /** Pipelines the run used, and how many of them it compiled (the rest were compiled before in the process). */
    readonly pipelines?: number;
    readonly pipelinesCompiled?: number;
  };
}

/** One step's training loss, as steps.csv records it. */
export interface StepLoss {
  readonly t: number;
  readonly epoch: number;
  readonly loss: number;
}

/** A run directory as read back by {@link loadRunFiles}. */
export interface RunFiles {
  readonly dir: string;
  /** The directory's name: how tables and legends call the run. */
  readonly name: string;
  readonly config: RunConfig;
  readonly summary: RunSummary | null;
  readonly epochs: EpochRecord[];
  readonly steps: StepLoss[];
  /** The weights a report evaluates: best.safetensors, else last.safetensors, else none. */
  readonly checkpoint: { readonly which: 'best' | 'last'; readonly path: string } | null;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RunFilesError(`${path}: cannot read: ${(error as Error).message}`);
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RunFilesError(`${path}: not valid JSON: ${(error as Error).message}`);
  }
}

/** Reads a run directory back: its config, summary (if finished), epoch and step metrics, and which checkpoint it holds. */
export async function loadRunFiles(path: string): Promise<RunFiles> {
  const dir = resolve(path);
  const configPath = join(dir, 'config.json');
  const configText = await readText(configPath);
  if (configText === null) {
    throw new RunFilesError(existsSync(dir) ? `${dir}: no config.json here; is this a run directory written by webgpu-mlp train?` : `${dir}: no such directory`);
  }
  const raw = parseJson(configText, configPath) as Record<string, unknown>;
  const config: RunConfig = {
    ...configFromJson(raw, configPath),
    run: settingsFromJson(raw),
    version: raw.version as string | undefined,
    adapter: raw.adapter as string | undefined,
    command: raw.command as string[] | undefined,
  };

  const summaryPath = join(dir, 'summary.json');
  const summaryText = await readText(summaryPath);
  const summary = summaryText === null ? null : (parseJson(summaryText, summaryPath) as RunSummary);

  const metricsPath = join(dir, 'metrics.jsonl');
  const metricsText = (await readText(metricsPath)) ?? '';
  const epochs = metricsText
    .split('\n')
    .filter((line) => line.trim())
    .map((line, i) => parseJson(line, `${metricsPath} line ${i + 1}`) as EpochRecord);

  const stepsText = (await readText(join(dir, 'steps.csv'))) ?? '';
  const steps = stepsText
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((line) => {
      const [t, epoch, loss] = line.split(',').map(Number);
      return { t, epoch, loss };
    });

  const best = join(dir, 'best.safetensors');
  const last = join(dir, 'last.safetensors');
  const checkpoint = existsSync(best) ? ({ which: 'best', path: best } as const) : existsSync(last) ? ({ which: 'last', path: last } as const) : null;
  return { dir, name: basename(dir), config, summary, epochs, steps, checkpoint };
}

/** The best validation accuracy and its epoch: the summary's, or for an unfinished run the best so far. */
export function bestValidation(run: RunFiles): { accuracy: number; loss: number | undefined; epoch: number } | null {
  if (run.summary?.validation) return { accuracy: run.summary.validation.accuracy, loss: run.summary.validation.loss, epoch: run.summary.bestEpoch };
  let best: { accuracy: number; loss: number | undefined; epoch: number } | null = null;
  for (const r of run.epochs) {
    if (r.valAccuracy !== undefined && (!best || r.valAccuracy > best.accuracy)) best = { accuracy: r.valAccuracy, loss: r.valLoss, epoch: r.epoch };
  }
  return best;
}

/** True for a model without hidden layers: multinomial logistic regression. */
export function isLogisticRegression(spec: ModelSpec): boolean {
  return spec.layers.length === 2;
}

/** The directory name searches and studies give the baseline of a split: baseline-784-10. */
export function baselineDirName(spec: ModelSpec): string {
  return `baseline-${inputSize(spec)}-${classCount(spec)}`;
}

/** Where {@link findBaseline} found a run's logistic-regression baseline, or where it looked. */
export type BaselineLookup =
  | { readonly kind: 'found'; readonly run: RunFiles; readonly how: 'given' | 'convention' }
  | { readonly kind: 'self' }
  | { readonly kind: 'missing'; readonly lookedAt: string };

/** The baseline for `run` following the convention above; `given` (a directory) wins, `null` skips the search. */
export async function findBaseline(run: RunFiles, given?: string | null): Promise<BaselineLookup> {
  if (given) {
    const baseline = await loadRunFiles(given);
    if (!isLogisticRegression(baseline.config.spec)) {
      throw new RunFilesError(`${baseline.dir}: a baseline must be a logistic regression (layers IN,C), found ${baseline.config.spec.layers.join('-')}`);
    }
    return { kind: 'found', run: baseline, how: 'given' };
  }
  if (isLogisticRegression(run.config.spec)) return { kind: 'self' };
  const conventional = join(dirname(run.dir), baselineDirName(run.config.spec));
  if (given === null || !existsSync(join(conventional, 'config.json'))) return { kind: 'missing', lookedAt: conventional };
  const baseline = await loadRunFiles(conventional);
  if (!isLogisticRegression(baseline.config.spec)) return { kind: 'missing', lookedAt: conventional };
  return { kind: 'found', run: baseline, how: 'convention' };
}

const SPLIT_FIELDS = ['validation', 'validationShuffle', 'trainSubset'] as const;

/** Ways in which two runs did not train and validate on the same split (empty when they did); `run` compares their data too. */
export function splitDifferences(a: TrainConfig & { readonly run?: RunSettings }, b: TrainConfig & { readonly run?: RunSettings }): string[] {
  const differences: string[] = SPLIT_FIELDS.filter((field) => a[field] !== b[field]).map(
    (field) => `${field} ${JSON.stringify(a[field])} vs ${JSON.stringify(b[field])}`,
  );
  if (a.run && b.run && describeSource(a.run.data) !== describeSource(b.run.data)) differences.push(`data ${describeSource(a.run.data)} vs ${describeSource(b.run.data)}`);
  // A shuffled hold-out is drawn from the seed: different seeds hold out different samples.
  if (a.validationShuffle && b.validationShuffle && a.seed !== b.seed) differences.push(`validation drawn with seed ${a.seed} vs ${b.seed}`);
  return differences;
}
