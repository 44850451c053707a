// `webgpu-mlp train`: load and split the data, then one in-process training run
// (src/experiments/training-run.ts): checkpoints and metrics in a run directory, the best validation
// weights restored and tested once at the end, and the HTML report unless --no-report.
//
// What it does when things go wrong: bad flags, data or checkpoints are refused before anything is
// written (an existing run is cleared, with --overwrite, only once the new one is ready to start);
// Ctrl-C or SIGTERM finishes the steps in flight, saves a resumable last.safetensors and exits 130
// (a second Ctrl-C quits at once); divergence and a lost device stop the run with a message and exit
// 1, leaving the last checkpoint saved.
import type { Command } from 'commander';
import { join } from 'node:path';
import { openResume, trainRun, type RunTarget } from '../experiments/training-run.ts';
import type { TrainConfig } from '../train/config.ts';
import { prepareData } from './data.ts';
import { UsageError } from './errors.ts';
import { createReporter, type Reporter } from './progress.ts';
import { defaultRunName, RunDirectory } from './run-dir.ts';
import { configFromFlags, TRAINING_OPTIONS, type TrainingFlags } from './train-options.ts';

export interface TrainCommandFlags extends TrainingFlags {
  runDir?: string;
  overwrite?: boolean;
  resume?: string;
  json?: boolean;
  /** Optimizer steps between mid-epoch checkpoints (0: at epoch ends only). */
  checkpointEvery: number;
  /** false for --no-report. */
  report: boolean;
}

/** "--run-dir" from "runDir". */
export function flagName(option: string): string {
  return '--' + option.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/**
 * Runs `body` with an abort signal that SIGINT and SIGTERM trigger: the first finishes the steps in
 * flight and saves a resumable checkpoint, a second quits at once (exit 130).
 */
export async function withInterrupts<T>(reporter: Reporter, what: string, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(130);
    reporter.message(`\n${signal}: ${what} (press Ctrl-C again to quit at once)`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(abort.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export async function trainCommand(flags: TrainCommandFlags, command: Command): Promise<number> {
  const reporter = createReporter({ json: flags.json ?? false });
  if (!(Number.isInteger(flags.checkpointEvery) && flags.checkpointEvery >= 0)) {
    throw new UsageError(`--checkpoint-every must be an integer ≥ 0 (optimizer steps; 0 = at epoch ends only), found ${flags.checkpointEvery}`);
  }
  let config: TrainConfig;
  let target: RunTarget;
  if (flags.resume) {
    const changed = TRAINING_OPTIONS.filter((name) => command.getOptionValueSource(name) === 'cli');
    if (changed.length || flags.runDir || flags.overwrite) {
      const names = [...changed, ...(flags.runDir ? ['runDir'] : []), ...(flags.overwrite ? ['overwrite'] : [])];
      throw new UsageError(`--resume continues a run with its saved settings; drop ${names.map(flagName).join(', ')}`);
    }
    const opened = await openResume(flags.resume);
    config = opened.config;
    target = { kind: 'resume', run: opened.run, point: opened.point };
  } else {
    config = configFromFlags(flags);
    const path = flags.runDir ?? join('runs', defaultRunName(config.spec.layers));
    target = { kind: 'new', path, overwrite: flags.overwrite ?? false };
    RunDirectory.checkNew(path, target);
  }

  const data = await prepareData(config);
  try {
    const result = await withInterrupts(reporter, 'finishing the current steps and saving a resumable checkpoint', (signal) =>
      trainRun({ config, data, target, reporter, signal, checkpointEvery: flags.checkpointEvery, report: flags.report }),
    );
    return result.exitCode;
  } finally {
    reporter.close();
  }
}
