// Running a planned list of training runs into one directory, as searches and studies do: each run
// in its own run directory, all on one shared GpuWorkspace, each finished run's record on disk
// (result.json) so that running the same command again skips it, and an interrupted run continued
// from its last checkpoint. The directory's definition file (search.json, study.json) pins what the
// directory holds: a different definition is refused, never mixed in.
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../checkpoint/files.ts';
import type { Reporter } from '../cli/progress.ts';
import { RUN_FILES } from '../cli/run-dir.ts';
import type { PreparedData } from '../cli/data.ts';
import type { TrainConfig } from '../train/config.ts';
import { readRecord, recordOf, writeRecord, type RunRecord, type RunRole } from './results.ts';
import type { SearchPoint } from './space.ts';
import { openResume, trainRun, writeReportSafely, type RunData, type RunTarget } from './training-run.ts';
import { GpuWorkspace } from './workspace.ts';

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

/** What a search or a study is given by its command (or a test). */
export interface ExperimentOptions {
  /** The experiment directory. */
  readonly dir: string;
  /** Each run's report.html and the comparison page (default true). */
  readonly report?: boolean;
  readonly workspace?: GpuWorkspace;
  readonly signal?: AbortSignal;
  /** Free-form lines for the user. */
  readonly log: (line: string) => void;
  /** A reporter for each run (a fresh one per run: its progress bar and ETA are per run). */
  readonly reporter: () => Reporter;
  /** What every run's config.json records as the command. */
  readonly command: readonly string[];
  /** Loads and splits the data a config names (default prepareData); tests wrap it to watch the test set. */
  readonly loadData?: (config: TrainConfig) => Promise<PreparedData>;
}

export interface RunnerContext {
  /** The experiment directory (search or study). */
  readonly dir: string;
  readonly workspace?: GpuWorkspace;
  /** A reporter for each run (a fresh one per run: its progress bar and ETA are per run). */
  readonly reporter: () => Reporter;
  readonly signal?: AbortSignal;
  /** What every run's config.json records as the command. */
  readonly command: readonly string[];
  /** How to continue after an interruption (printed by an interrupted run). */
  readonly resumeHint: string;
}

/** What a search or a study runs its runs with; `close` releases the GPU workspace it opened, if any. */
export interface Experiment {
  readonly ctx: RunnerContext;
  readonly tally: RunTally;
  close(): void;
}

/** Opens a GPU workspace for the experiment's runs unless it was given one (or its runs use the CPU). */
export async function startExperiment(dir: string, options: ExperimentOptions, device: TrainConfig['device']): Promise<Experiment> {
  const own = device === 'gpu' && !options.workspace ? await GpuWorkspace.open() : undefined;
  const ctx: RunnerContext = {
    dir,
    workspace: options.workspace ?? own,
    reporter: options.reporter,
    signal: options.signal,
    command: options.command,
    resumeHint: `interrupted; run the same command again to continue (finished runs are skipped): webgpu-mlp ${options.command.join(' ')}`,
  };
  return { ctx, tally: new RunTally(), close: () => own?.close() };
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
      if (report && record.testAccuracy !== null && !existsSync(join(runDir, RUN_FILES.report))) {
        await writeReportSafely(runDir, data, record.config, ctx.workspace?.gpu, reporter);
      }
    };
    if (existing && canonicalJson(existing.config) === canonicalJson(plan.config)) {
      await reportOf(existing);
      return { record: existing, skipped: true, exitCode: 0 };
    }
    const target = await targetFor(runDir, plan.config);
    const result = await trainRun({
      config: plan.config,
      data,
      target,
      reporter,
      workspace: ctx.workspace,
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
  describe(workspace?: GpuWorkspace): string {
    const minutes = this.wallSeconds / 60;
    const rate = this.trained > 0 ? `${(this.trained / minutes).toFixed(1)} runs/min` : 'none trained';
    const skipped = this.skipped ? `; ${this.skipped} already done, skipped` : '';
    const shared = workspace
      ? `; one device, ${workspace.stats.uploads} dataset upload${workspace.stats.uploads === 1 ? '' : 's'}, ${workspace.stats.pipelines} pipelines compiled`
      : '';
    return `${this.trained} run${this.trained === 1 ? '' : 's'} trained in ${formatMinutes(this.wallSeconds)} (${rate}${skipped})${shared}`;
  }

  toJson(workspace?: GpuWorkspace): Record<string, unknown> {
    return {
      trained: this.trained,
      skipped: this.skipped,
      wallSeconds: this.wallSeconds,
      runsPerMinute: this.trained > 0 ? this.trained / (this.wallSeconds / 60) : null,
      trainingSeconds: this.trainingSeconds,
      ...(workspace ? workspace.stats : {}),
    };
  }
}

export function formatMinutes(seconds: number): string {
  return seconds < 120 ? `${seconds.toFixed(1)} s` : `${(seconds / 60).toFixed(1)} min`;
}
