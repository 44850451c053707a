// `webgpu-mlp train`: load and split the data, then one training run into a run directory
// (trainRun of webgpu-mlp/node): checkpoints and metrics, the best validation weights restored and
// tested once at the end, and the HTML report unless --no-report.
//
// What it does when things go wrong: bad flags, data or checkpoints are refused before anything is
// written (an existing run is cleared, with --overwrite, only once the new one is ready to start);
// Ctrl-C or SIGTERM finishes the steps in flight, saves a resumable last.safetensors and exits 130
// (a second Ctrl-C quits at once); a lost device is replaced and the run goes on from its last
// snapshot (--max-recoveries times at most); divergence, and a device lost beyond that, stop the run
// with a message and exit 1, leaving the last checkpoint saved. A resumed run is the same run: the settings recorded in its
// config.json (device, data, reporting, checkpoint interval, JSON output) are its settings again.
import type { Command } from 'commander';
import { join } from 'node:path';
import type { TrainConfig } from '../index.ts';
import { defaultRunName, describeSource, openResume, prepareData, RunDirectory, splitData, trainRun, type LoadedData, type RunSettings, type RunTarget } from '../node.ts';
import { dataSourceFrom, loadRunData, type DataFlags } from './data-options.ts';
import { UsageError } from './errors.ts';
import { createReporter, type Reporter } from './progress.ts';
import { reportWriter } from './report-command.ts';
import { givenOptions } from './train-options.ts';

export interface TrainCommandFlags extends DataFlags {
  runDir?: string;
  overwrite?: boolean;
  resume?: string;
  json?: boolean;
  /** Optimizer steps between mid-epoch checkpoints (0: at epoch ends only). */
  checkpointEvery: number;
  /** Device losses a run recovers from (0: none), and steps between the host snapshots it goes on from. */
  maxRecoveries: number;
  snapshotEvery: number;
  /** false for --no-report. */
  report: boolean;
  device: 'gpu' | 'cpu';
  dataDir?: string;
  /** --tune: time the kernel variants on this adapter first (GPU adapters do it by themselves). */
  tune?: boolean;
}

/** Flags a resume cannot take: the directory is the one resumed. */
const NEW_RUN_FLAGS = ['runDir', 'overwrite', 'hidden'] as const;

/** "--run-dir" from "runDir". */
export function flagName(option: string): string {
  return '--' + option.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** The settings the flags choose. */
export function settingsFrom(flags: Pick<TrainCommandFlags, 'device' | 'report' | 'checkpointEvery' | 'json' | 'maxRecoveries' | 'snapshotEvery'> & DataFlags): RunSettings {
  return {
    device: flags.device,
    data: dataSourceFrom(flags),
    report: flags.report,
    checkpointEvery: flags.checkpointEvery,
    json: flags.json ?? false,
    recovery: { maxRecoveries: flags.maxRecoveries, snapshotEvery: flags.snapshotEvery },
  };
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
  if (!(Number.isInteger(flags.checkpointEvery) && flags.checkpointEvery >= 0)) {
    throw new UsageError(`--checkpoint-every must be an integer ≥ 0 (optimizer steps; 0 = at epoch ends only), found ${flags.checkpointEvery}`);
  }
  if (!(flags.maxRecoveries >= 0)) throw new UsageError(`--max-recoveries must be an integer ≥ 0 (0 = stop at the first device loss), found ${flags.maxRecoveries}`);
  if (!(flags.snapshotEvery >= 0)) throw new UsageError(`--snapshot-every must be an integer ≥ 0 (optimizer steps; 0 = at checkpoints and epoch ends only), found ${flags.snapshotEvery}`);
  let config: TrainConfig;
  let settings: RunSettings;
  let target: RunTarget;
  let loaded: LoadedData | undefined;
  if (flags.resume) {
    const changed = [...Object.keys(givenOptions(command)), ...NEW_RUN_FLAGS.filter((name) => command.getOptionValueSource(name) === 'cli')];
    if (changed.length) throw new UsageError(`--resume continues a run with its saved settings; drop ${changed.map(flagName).join(', ')}`);
    const opened = await openResume(flags.resume);
    ({ config, settings } = opened);
    target = { kind: 'resume', run: opened.run, point: opened.point };
    // The run's own settings, recorded in its config.json: repeating one is fine, changing one is not.
    const given = settingsFrom(flags);
    const differing = (['device', 'report', 'checkpointEvery', 'json'] as const)
      .filter((name) => command.getOptionValueSource(name) === 'cli' && given[name] !== settings[name])
      .map((name) => `${flagName(name)} (the run has ${JSON.stringify(settings[name])})`);
    const dataFlags = ['dataDir', 'data', 'testData', 'label', 'ignore', 'testSplit'].filter((name) => command.getOptionValueSource(name) === 'cli');
    if (dataFlags.length && describeSource(given.data) !== describeSource(settings.data)) differing.push(`${dataFlags.map(flagName).join(', ')} (the run has ${describeSource(settings.data)})`);
    for (const name of ['maxRecoveries', 'snapshotEvery'] as const) {
      const saved = settings.recovery?.[name];
      if (command.getOptionValueSource(name) === 'cli' && saved !== undefined && given.recovery![name] !== saved) differing.push(`${flagName(name)} (the run has ${saved})`);
    }
    if (differing.length) {
      opened.run.close();
      throw new UsageError(`--resume continues a run with the settings it was started with; drop ${differing.join(', ')}`);
    }
  } else {
    // The data first: a bad table is refused before any directory is touched, and a table's size chooses its defaults.
    ({ config, loaded } = await loadRunData(flags, command));
    settings = settingsFrom(flags);
    const path = flags.runDir ?? join('runs', defaultRunName(config.spec.layers));
    target = { kind: 'new', path, overwrite: flags.overwrite ?? false };
    RunDirectory.checkNew(path, target);
  }

  const reporter = createReporter({ json: settings.json });
  try {
    const prepare = async () => (loaded ? splitData(loaded, config) : prepareData(settings.data, config));
    const data = await prepare().catch((error: unknown) => {
      if (target.kind === 'resume') target.run.close(); // openResume locked it; no run follows
      throw error;
    });
    const result = await withInterrupts(reporter, 'finishing the current steps and saving a resumable checkpoint', (signal) =>
      trainRun({ config, settings, data, target, reporter, signal, writeReport: reportWriter(), ...(flags.tune ? { tune: true } : {}) }),
    );
    return result.exitCode;
  } finally {
    reporter.close();
  }
}
