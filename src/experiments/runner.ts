// Running a planned list of training runs into one directory, as searches and studies do: each run
// in its own run directory, all on one shared GpuWorkspace, each finished run's record on disk
// (result.json) so that running the same command again skips it, and an interrupted run continued
// from its last checkpoint. The directory's definition file (search.json, study.json) pins what the
// directory holds: a different definition is refused, never mixed in.
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { openGpu, type Gpu, type TrainConfig } from '../index.ts';
import {
  acquireLock,
  openResume,
  RUN_FILES,
  trainRun,
  writeFileAtomic,
  writeReportSafely,
  type DataSource,
  type Reporter,
  type ReportWriter,
  type RunData,
  type RunLock,
  type RunSettings,
  type RunTarget,
} from '../node.ts';
import { readRecord, recordOf, writeRecord, type RunRecord, type RunRole } from './results.ts';
import type { SearchPoint } from './space.ts';

export class DefinitionError extends Error {
  override name = 'DefinitionError';
}

export interface PlannedRun {
  /** Directory name inside the experiment directory (may contain '/'). */
  readonly name: string;
  readonly role: RunRole;
  readonly label: string;
  readonly config: TrainConfig;
  readonly point?: SearchPoint;
}

/** JSON with object keys sorted: equal values give equal text whatever order their keys were built in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

/** Paths at which two JSON values differ ("base.lr: 0.1 → 0.01"), for refusal messages. */
export function jsonDifferences(before: unknown, after: unknown, path = ''): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  // Objects, and arrays of one length, are compared field by field: the message names what changed.
  const bothArrays = Array.isArray(before) && Array.isArray(after) && before.length === after.length;
  if ((isObject(before) && isObject(after)) || bothArrays) {
    const keys = [...new Set([...Object.keys(before as object), ...Object.keys(after as object)])];
    const at = (v: unknown, key: string) => (v as Record<string, unknown>)[key];
    return keys.flatMap((key) => jsonDifferences(at(before, key), at(after, key), path ? `${path}.${key}` : key));
  }
  if (canonicalJson(before) === canonicalJson(after)) return [];
  const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));
  return [`${path || '(all)'}: ${show(before)} → ${show(after)}`];
}

/**
 * Writes `definition` into `dir/file`, or checks it against the one there. A different definition
 * is refused with what changed: the directory's results belong to the old one.
 */
export async function pinDefinition(dir: string, file: string, definition: Record<string, unknown>, what: string): Promise<'new' | 'same'> {
  const path = join(dir, file);
  if (existsSync(path)) {
    let saved: unknown;
    try {
      saved = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new DefinitionError(`${path}: not valid JSON (${(error as Error).message}); remove the directory or choose another`);
    }
    if (canonicalJson(saved) === canonicalJson(definition)) return 'same';
    const changes = jsonDifferences(saved, definition);
    const shown = changes.slice(0, 8).join('; ') + (changes.length > 8 ? `; and ${changes.length - 8} more` : '');
    throw new DefinitionError(
      `${resolve(dir)} holds a different ${what} (${shown}). Its results belong to that one: ` +
        `choose another --dir for this ${what}, or remove ${resolve(dir)} to start it over.`,
    );
  }
  if (existsSync(dir) && existsSync(join(dir, RUN_FILES.config))) {
    throw new DefinitionError(`${resolve(dir)} is a run directory of train, not a ${what} directory; choose another --dir`);
  }
  mkdirSync(dir, { recursive: true });
  await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(definition, null, 2) + '\n'));
  return 'new';
}

/**
 * Locks the experiment directory `dir` for this process, then pins its definition (pinDefinition).
 * The lock is held for the whole command: pass it to startExperiment, whose close() releases it
 * (it is released here if pinning fails). Each run in the directory also locks its own subdirectory.
 */
export async function claimExperiment(
  dir: string,
  file: string,
  definition: Record<string, unknown>,
  what: string,
  log: (line: string) => void,
): Promise<{ state: 'new' | 'same'; lock: RunLock }> {
  const lock = await acquireLock(dir);
  try {
    if (lock.notice) log(lock.notice);
    return { state: await pinDefinition(dir, file, definition, what), lock };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** Writes a comparison page of several run directories; returns the files written. */
export type ComparisonWriter = (
  runs: readonly { readonly dir: string; readonly label: string }[],
  options: { readonly out: string; readonly title: string; readonly description: string; readonly baseline?: string | null },
) => Promise<string[]>;

/** What a search or a study is given by its command (or a test). */
export interface ExperimentOptions {
  /** The experiment directory. */
  readonly dir: string;
  /** Where every run's data comes from, and on what device they train. */
  readonly data?: DataSource;
  readonly device?: 'gpu' | 'cpu';
  /** Each run's report and the comparison page (default true; needs the writers below). */
  readonly report?: boolean;
  /** Report writers: the CLI passes the report module's (experiments know nothing of reports). */
  readonly writeReport?: ReportWriter;
  readonly writeComparison?: ComparisonWriter;
  /** A device shared with the caller; absent: opened for the experiment (GPU runs) and closed after it. */
  readonly gpu?: Gpu;
  readonly signal?: AbortSignal;
  /** Free-form lines for the user. */
  readonly log: (line: string) => void;
  /** A reporter for each run (a fresh one per run: its progress bar and ETA are per run). */
  readonly reporter: () => Reporter;
  /** What every run's config.json records as the command. */
  readonly command: readonly string[];
  /** Loads and splits the data for a config (default prepareData on `data`); tests wrap it to watch the test set. */
  readonly loadData?: (config: TrainConfig) => Promise<RunData>;
}

export interface RunnerContext {
  /** The experiment directory (search or study). */
  readonly dir: string;
  /** Every run's settings but its reporting (the experiment writes reports once a run is recorded). */
  readonly settings: RunSettings;
  readonly gpu?: Gpu;
  readonly writeReport?: ReportWriter;
  /** A reporter for each run (a fresh one per run: its progress bar and ETA are per run). */
  readonly reporter: () => Reporter;
  readonly signal?: AbortSignal;
  /** What every run's config.json records as the command. */
  readonly command: readonly string[];
  /** How to continue after an interruption (printed by an interrupted run). */
  readonly resumeHint: string;
}

/** What a search or a study runs its runs with; `close` releases what it opened (device, directory lock). */
export interface Experiment {
  readonly ctx: RunnerContext;
  readonly tally: RunTally;
  close(): void;
}

/**
 * Opens a GPU for the experiment's runs unless it was given one (or its runs use the CPU).
 * `lock` (from claimExperiment) is released by close(), or here if opening fails.
 */
export async function startExperiment(dir: string, options: ExperimentOptions, lock?: RunLock): Promise<Experiment> {
  const device = options.device ?? 'gpu';
  let own: Gpu | undefined;
  try {
    own = device === 'gpu' && !options.gpu ? await openGpu() : undefined;
  } catch (error) {
    lock?.release();
    throw error;
  }
  const ctx: RunnerContext = {
    dir,
    settings: { device, data: options.data ?? { dir: null }, report: false, checkpointEvery: 0, json: false },
    gpu: options.gpu ?? own,
    writeReport: (options.report ?? true) ? options.writeReport : undefined,
    reporter: options.reporter,
    signal: options.signal,
    command: options.command,
    resumeHint: `interrupted; run the same command again to continue (finished runs are skipped): webgpu-mlp ${options.command.join(' ')}`,
  };
  return {
    ctx,
    tally: new RunTally(),
    close: () => {
      own?.close();
      lock?.release();
    },
  };
}

export interface PlannedOutcome {
  /** Null when the run did not finish (interrupted, device lost): nothing is recorded. */
  readonly record: RunRecord | null;
  /** True when the record was already on disk and nothing was trained. */
  readonly skipped: boolean;
  readonly exitCode: number;
}

/** Where a planned run starts: a resumable checkpoint of this very config, else from scratch (clearing what is there). */
async function targetFor(runDir: string, config: TrainConfig): Promise<RunTarget> {
  if (existsSync(join(runDir, RUN_FILES.last)) && !existsSync(join(runDir, RUN_FILES.summary))) {
    try {
      const opened = await openResume(runDir);
      if (canonicalJson(opened.config) === canonicalJson(config)) return { kind: 'resume', run: opened.run, point: opened.point };
      opened.run.close(); // not resumed: started over below, which locks it again
    } catch {
      // An unreadable checkpoint: start the run over.
    }
  }
  return { kind: 'new', path: runDir, overwrite: true };
}

/**
 * Runs `plan` in ctx.dir/plan.name unless its record says it finished with this config. `report`
 * writes the run's HTML report (tested runs only) once its record is safe on disk, so an
 * interruption while reporting costs the report, which the next invocation writes, not the run.
 */
export async function runPlanned(plan: PlannedRun, data: RunData, ctx: RunnerContext, report: boolean): Promise<PlannedOutcome> {
  const runDir = join(ctx.dir, plan.name);
  const existing = await readRecord(runDir);
  const reporter = ctx.reporter();
  try {
    const reportOf = async (record: RunRecord) => {
      if (report && ctx.writeReport && record.testAccuracy !== null && !existsSync(join(runDir, RUN_FILES.report))) {
        await writeReportSafely(ctx.writeReport, runDir, data, ctx.gpu, ctx.settings.device, reporter);
      }
    };
    if (existing && canonicalJson(existing.config) === canonicalJson(plan.config)) {
      await reportOf(existing);
      return { record: existing, skipped: true, exitCode: 0 };
    }
    const target = await targetFor(runDir, plan.config);
    const result = await trainRun({
      config: plan.config,
      settings: ctx.settings,
      data,
      target,
      reporter,
      gpu: ctx.gpu,
      signal: ctx.signal,
      command: ctx.command,
      resumeHint: ctx.resumeHint,
    });
    if (result.status === 'interrupted' || result.status === 'device-lost') return { record: null, skipped: false, exitCode: result.exitCode };
    // A diverged run is recorded too (its status says so): re-running the command does not retry it.
    const record = recordOf(plan, result);
    await writeRecord(runDir, record);
    await reportOf(record);
    return { record, skipped: false, exitCode: 0 };
  } finally {
    reporter.close();
  }
}

/** Counts and times of the runs of one command, for its closing line. */
export class RunTally {
  trained = 0;
  skipped = 0;
  private trainingSeconds = 0;
  private readonly started = performance.now();

  add(outcome: PlannedOutcome): void {
    if (outcome.skipped) this.skipped += 1;
    else if (outcome.record) {
      this.trained += 1;
      this.trainingSeconds += outcome.record.wallSeconds;
    }
  }

  get wallSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** "12 runs trained in 3.2 min (3.8 runs/min; 2 already done, skipped); one device, 1 dataset upload (47.1 MB), 31 pipelines compiled" */
  describe(gpu?: Gpu): string {
    const minutes = this.wallSeconds / 60;
    const rate = this.trained > 0 ? `${(this.trained / minutes).toFixed(1)} runs/min` : 'none trained';
    const skipped = this.skipped ? `; ${this.skipped} already done, skipped` : '';
    const shared = gpu ? `; one device, ${gpu.stats.uploads} dataset upload${gpu.stats.uploads === 1 ? '' : 's'}, ${gpu.stats.pipelines} pipelines compiled` : '';
    return `${this.trained} run${this.trained === 1 ? '' : 's'} trained in ${formatMinutes(this.wallSeconds)} (${rate}${skipped})${shared}`;
  }

  toJson(gpu?: Gpu): Record<string, unknown> {
    return {
      trained: this.trained,
      skipped: this.skipped,
      wallSeconds: this.wallSeconds,
      runsPerMinute: this.trained > 0 ? this.trained / (this.wallSeconds / 60) : null,
      trainingSeconds: this.trainingSeconds,
      ...(gpu ? gpu.stats : {}),
    };
  }
}

export function formatMinutes(seconds: number): string {
  return seconds < 120 ? `${seconds.toFixed(1)} s` : `${(seconds / 60).toFixed(1)} min`;
}
