// The run directory: everything a training run leaves behind, each file written atomically so a
// crash or Ctrl-C never leaves a torn file (README documents the layout).
//
//   config.json        the resolved configuration (and the command line)
//   metrics.jsonl/.csv one row per epoch: train loss/acc, val loss/acc, lr, seconds, samples/s
//   steps.csv          the training loss of every step (t, epoch, loss)
//   summary.json       final test metrics, confusion matrix, timings, adapter (present = finished)
//   best.safetensors   weights of the best validation epoch
//   last.safetensors   weights, optimizer state and trainer state of the latest epoch (resumable)
//   .webgpu-mlp.lock   present while a process writes the run: which one (src/runs/lock.ts)
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readCheckpointFile, removeStaleTempFiles, writeFileAtomic } from '../checkpoint/files.ts';
import { MlpError } from '../errors.ts';
import { acquireLock, refuseIfLocked, type RunLock } from './lock.ts';
import { epochsToCsv, epochsToJsonl } from '../train/metrics.ts';
import type { EpochRecord } from '../train/trainer.ts';

/** The files of a run directory, by role. */
export const RUN_FILES = {
  config: 'config.json',
  metricsJsonl: 'metrics.jsonl',
  metricsCsv: 'metrics.csv',
  steps: 'steps.csv',
  summary: 'summary.json',
  best: 'best.safetensors',
  last: 'last.safetensors',
  report: 'report.html',
} as const;

export class RunDirError extends MlpError {
  constructor(message: string, options?: ErrorOptions) {
    super('RUN_DIR', message, options);
    this.name = 'RunDirError';
  }
}

const encoder = new TextEncoder();

/** The name of a new run's directory: "20261207-161500-784-256-128-10" (local date and time, then the layers). */
export function defaultRunName(layers: readonly number[], now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `${stamp}-${layers.join('-')}`;
}

/** The run files present in `dir`. */
function runFilesIn(dir: string): string[] {
  return Object.values(RUN_FILES).filter((file) => existsSync(join(dir, file)));
}

/**
 * A run directory being written: created (or opened to resume) under an exclusive lock, each file
 * written atomically, released by close().
 */
export class RunDirectory {
  private stepLines: string[] = [];

  private constructor(
    readonly path: string,
    /** Held from create/resume until close(): no other process writes the run meanwhile. */
    private readonly lock?: RunLock,
  ) {}

  /**
   * Opens `path` for a new run. An existing run there is never overwritten silently: a finished
   * one needs `overwrite`, an unfinished one `overwrite` (or `--resume` to continue it).
   */
  static async create(path: string, options: { overwrite: boolean }): Promise<RunDirectory> {
    const dir = resolve(path);
    // Locked before anything is checked or cleared: a run another process is writing is refused
    // (RunLockError), --overwrite or not. The lock is held until close().
    return RunDirectory.open(dir, async () => {
      RunDirectory.checkNew(path, options);
      await Promise.all(runFilesIn(dir).map((file) => rm(join(dir, file), { force: true })));
      mkdirSync(dir, { recursive: true });
    });
  }

  /** Throws as `create` would, touching nothing: to refuse early, before any work. */
  static checkNew(path: string, options: { overwrite: boolean }): void {
    const dir = resolve(path);
    refuseIfLocked(dir);
    const ours = runFilesIn(dir);
    if (ours.length > 0 && !options.overwrite) {
      const finished = ours.includes(RUN_FILES.summary);
      throw new RunDirError(
        finished
          ? `${dir} already holds a finished run; choose another --run-dir or pass --overwrite to replace it`
          : `${dir} holds an unfinished run; continue it with --resume ${path}, or pass --overwrite to start over`,
      );
    }
  }

  /** Opens an unfinished run to continue it. */
  static async resume(path: string): Promise<RunDirectory> {
    const dir = resolve(path);
    refuseIfLocked(dir); // a run another process writes: said first, whatever the files there say
    if (!existsSync(join(dir, RUN_FILES.last))) {
      throw new RunDirError(`${dir}: no ${RUN_FILES.last} to resume from (is this a run directory?)`);
    }
    return RunDirectory.open(dir, async () => {
      if (existsSync(join(dir, RUN_FILES.summary))) {
        throw new RunDirError(`${dir}: this run has finished (${RUN_FILES.summary} exists); there is nothing to resume`);
      }
    });
  }

  /** Locks `dir`, runs `prepare` under the lock, and opens the run; the lock is released if anything fails. */
  private static async open(dir: string, prepare: () => Promise<void>): Promise<RunDirectory> {
    const lock = await acquireLock(dir);
    try {
      await prepare();
      const run = new RunDirectory(dir, lock);
      await run.removeStaleTempFiles();
      return run;
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /** Set when opening took over a stale lock (its process gone): a line for the user. */
  get lockNotice(): string | undefined {
    return this.lock?.notice;
  }

  /** Releases the directory's lock: the run writes nothing more. Idempotent. */
  close(): void {
    this.lock?.release();
  }

  /** Temporary files of writes a killed process left (each file is written atomically, via one). */
  private async removeStaleTempFiles(): Promise<void> {
    await Promise.all(Object.values(RUN_FILES).map((file) => removeStaleTempFiles(join(this.path, file))));
  }

  /** Keeps the step losses already written up to step `t` (a resumed run rewrites the rest). */
  async keepStepsUpTo(t: number): Promise<void> {
    if (!this.has('steps')) return;
    const lines = (await readFile(this.file('steps'), 'utf8')).split('\n').slice(1).filter(Boolean);
    this.stepLines = lines.filter((line) => Number(line.split(',')[0]) <= t);
  }

  file(name: keyof typeof RUN_FILES): string {
    return join(this.path, RUN_FILES[name]);
  }

  writeJson(name: 'config' | 'summary', value: unknown): Promise<void> {
    return writeFileAtomic(this.file(name), encoder.encode(JSON.stringify(value, null, 2) + '\n'));
  }

  async writeMetrics(history: readonly EpochRecord[]): Promise<void> {
    await writeFileAtomic(this.file('metricsJsonl'), encoder.encode(epochsToJsonl(history)));
    await writeFileAtomic(this.file('metricsCsv'), encoder.encode(epochsToCsv(history)));
  }

  /** Adds per-step losses (t = firstStep, firstStep+1, ...) to steps.csv at the next flush. */
  addStepLosses(firstStep: number, epoch: number, losses: readonly number[]): void {
    losses.forEach((loss, i) => this.stepLines.push(`${firstStep + i},${epoch},${loss}`));
  }

  flushSteps(): Promise<void> {
    return writeFileAtomic(this.file('steps'), encoder.encode(['t,epoch,loss', ...this.stepLines].join('\n') + '\n'));
  }

  /** config.json as written (an object; RunDirError when missing or not JSON). */
  async readConfigJson(): Promise<Record<string, unknown>> {
    const path = this.file('config');
    let value: unknown;
    try {
      value = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new RunDirError(`${path}: cannot read the run's config: ${(error as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RunDirError(`${path}: not a JSON object`);
    return value as Record<string, unknown>;
  }

  /** Writes a checkpoint's bytes (Model.save, or a fit's checkpoint()) atomically. */
  saveCheckpoint(which: 'best' | 'last', bytes: Uint8Array): Promise<void> {
    return writeFileAtomic(this.file(which), bytes);
  }

  readCheckpoint(which: 'best' | 'last'): Promise<Uint8Array> {
    return readCheckpointFile(this.file(which));
  }

  has(name: keyof typeof RUN_FILES): boolean {
    return existsSync(this.file(name));
  }
}
