// One training run, in process: what `webgpu-mlp train` does, and what every run of a search or a
// study does. Given a config, data already loaded and split, a run directory, a reporter and an
// abort signal (and, for many runs in one process, a shared GpuWorkspace), it trains with
// checkpoints and metrics, restores the best validation weights, tests once when it was given a
// test set, writes the summary and, if asked, the HTML report.
//
// What it does when things go wrong: the signal (Ctrl-C in the CLI) finishes the steps in flight
// and saves a resumable last.safetensors (status 'interrupted', exit code 130); divergence and a lost
// device stop the run with a message (exit code 1), leaving the last checkpoint saved (every
// checkpoint is written atomically and holds only finite values). A report that fails prints a
// line and never fails the run.
import { CheckpointError, type Checkpoint } from '../checkpoint/checkpoint.ts';
import type { PreparedData } from '../cli/data.ts';
import type { Reporter } from '../cli/progress.ts';
import { RunDirectory } from '../cli/run-dir.ts';
import { describeInit } from '../cli/parse.ts';
import type { ImageSet } from '../data/dataset.ts';
import { adapterName, type GpuContext } from '../gpu/device.ts';
import { initialParams } from '../model/init.ts';
import { classCount, describeSpec } from '../model/spec.ts';
import { paramLayout } from '../model/tensors.ts';
import type { RunSummary } from '../report/run-files.ts';
import { configFromJson, type TrainConfig } from '../train/config.ts';
import { createEngine } from '../train/create-engine.ts';
import type { TrainingEngine } from '../train/engine.ts';
import { createGpuEngine, DeviceLostError } from '../train/gpu-engine.ts';
import { confusionMatrix, perClassAccuracy } from '../train/metrics.ts';
import { describeSchedule } from '../train/schedule.ts';
import { runTrainer, type EpochRecord, type TrainerSnapshot, type TrainerState, type TrainOutcome } from '../train/trainer.ts';
import { VERSION } from '../version.ts';
import { GpuWorkspace } from './workspace.ts';

/** A split as the run sees it. Without `test` the run never evaluates one (search trials). */
export interface RunData {
  readonly dir: string;
  readonly train: ImageSet;
  readonly validation: ImageSet;
  readonly test?: ImageSet;
}

/** Where a resumable checkpoint stands. */
export interface ResumePoint {
  readonly checkpoint: Checkpoint;
  readonly state: TrainerState;
  /** Weights of the best validation epoch so far (best.safetensors), when there is one. */
  readonly best?: Float32Array;
}

export type RunTarget =
  /** A new run; an existing run at `path` is cleared (with `overwrite`) only once the engine is built. */
  | { readonly kind: 'new'; readonly path: string; readonly overwrite: boolean }
  | { readonly kind: 'resume'; readonly run: RunDirectory; readonly point: ResumePoint };

export interface TrainingRunOptions {
  readonly config: TrainConfig;
  /** The data, loaded and split as `config` says; pass the same object to every run on a split (one upload). */
  readonly data: RunData;
  readonly target: RunTarget;
  readonly reporter: Reporter;
  /** A device, kernel cache and uploaded datasets shared with other runs; absent: opened for this run and closed after it. */
  readonly workspace?: GpuWorkspace;
  /** Aborting it stops the run at the next steps with a resumable checkpoint (status 'interrupted'). */
  readonly signal?: AbortSignal;
  /** Optimizer steps between mid-epoch checkpoints (0 or absent: at epoch ends only). */
  readonly checkpointEvery?: number;
  /** Write report.html and figures/ at the end (needs a test set). */
  readonly report?: boolean;
  /** What config.json records as the command (default: this process's arguments). */
  readonly command?: readonly string[];
  /** The line that tells the user how to continue an interrupted run. */
  readonly resumeHint?: string;
}

export type RunStatus = TrainOutcome['reason'] | 'device-lost';

/** summary.json: the report's RunSummary plus memory use. */
export interface SummaryJson extends RunSummary {
  readonly memory: { readonly deviceBytes: number; readonly rssBytes: number };
}

export interface TrainingRunResult {
  readonly status: RunStatus;
  /** 0 finished, 130 interrupted, 1 diverged or device lost. */
  readonly exitCode: number;
  readonly runDir: string;
  readonly config: TrainConfig;
  /** The adapter (or "CPU reference") the run trained on. */
  readonly adapter: string;
  readonly history: readonly EpochRecord[];
  /** The best validation epoch (null without a validation set). */
  readonly best: TrainerState['best'];
  /** What summary.json holds; null when the run was not tested (no test set, or it did not finish). */
  readonly summary: SummaryJson | null;
  readonly wallSeconds: number;
}

/** What a resumable checkpoint's "training" metadata holds. */
interface TrainingMetadata {
  trainer: TrainerState;
}

function checkpointOf(config: TrainConfig, params: Float32Array, optimizerState: Float32Array[], trainer?: TrainerState): Checkpoint {
  return {
    spec: config.spec,
    params,
    version: VERSION,
    config,
    ...(trainer ? { optimizer: { config: config.optimizer, state: optimizerState }, training: { trainer } satisfies TrainingMetadata } : {}),
  };
}

function trainerStateFrom(checkpoint: Checkpoint, source: string): TrainerState {
  const training = checkpoint.training as Partial<TrainingMetadata> | undefined;
  const trainer = training?.trainer;
  if (!trainer || typeof trainer.epoch !== 'number' || typeof trainer.t !== 'number' || !Array.isArray(trainer.history)) {
    throw new CheckpointError(`${source}: not a resumable checkpoint (no trainer state in its metadata)`);
  }
  if (!checkpoint.optimizer) throw new CheckpointError(`${source}: not a resumable checkpoint (no optimizer state)`);
  if (checkpoint.config === undefined) throw new CheckpointError(`${source}: not a resumable checkpoint (no training config in its metadata)`);
  return trainer;
}

/** Opens an unfinished run directory to continue it: its saved config and where it stopped. */
export async function openResume(path: string): Promise<{ run: RunDirectory; config: TrainConfig; point: ResumePoint }> {
  const run = await RunDirectory.resume(path);
  const lastPath = run.file('last');
  const checkpoint = await run.loadCheckpoint('last');
  const state = trainerStateFrom(checkpoint, lastPath);
  const config = configFromJson(checkpoint.config, lastPath);
  await run.keepStepsUpTo(state.t);
  const best = state.best && run.has('best') ? (await run.loadCheckpoint('best')).params : undefined;
  return { run, config, point: { checkpoint, state, best } };
}

/** Where a saved trainer state stands, for messages: "after step 120 (epoch 3, step 20)". */
function describeSaved(state: Pick<TrainerState, 'epoch' | 'step' | 't'>): string {
  return `after step ${state.t} (${state.step === 0 ? `end of epoch ${state.epoch}` : `epoch ${state.epoch + 1}, step ${state.step}`})`;
}

interface Built {
  readonly engine: TrainingEngine;
  readonly gpu?: GpuContext;
}

/** The engine for `config`: on the workspace's device (sharing its pipelines and uploads), or the CPU reference. */
async function buildEngine(config: TrainConfig, data: RunData, workspace: GpuWorkspace | undefined, initial: () => Float32Array): Promise<Built> {
  if (config.device === 'cpu') return { engine: (await createEngine(config, data, initial)).engine };
  const engine = await createGpuEngine(workspace!.session(data), config.spec, config.optimizer, config);
  engine.writeParams(initial());
  return { engine, gpu: workspace!.gpu };
}

export async function trainRun(options: TrainingRunOptions): Promise<TrainingRunResult> {
  const started = performance.now();
  const { config, data, target } = options;
  const ownWorkspace = config.device === 'gpu' && !options.workspace ? await GpuWorkspace.open() : undefined;
  const workspace = options.workspace ?? ownWorkspace;
  try {
    const resume = target.kind === 'resume' ? target.point : undefined;
    const initial = () => (resume ? resume.checkpoint.params : initialParams(config.spec, config.init, config.seed));
    const built = await buildEngine(config, data, workspace, initial);
    try {
      if (resume) built.engine.writeOptimizerState(resume.checkpoint.optimizer!.state);
      // Data and model are known good only now: an existing run is cleared (overwrite) no earlier.
      const run = target.kind === 'resume' ? target.run : await RunDirectory.create(target.path, target);
      return await trainOnEngine(options, built, run, resume, started);
    } finally {
      built.engine.close();
    }
  } finally {
    ownWorkspace?.close();
  }
}

/** `started`: when the run began (building the engine included), for its wall time. */
async function trainOnEngine(options: TrainingRunOptions, built: Built, run: RunDirectory, resume: ResumePoint | undefined, started: number): Promise<TrainingRunResult> {
  const { config, data, reporter } = options;
  const { engine, gpu } = built;
  const adapter = gpu ? adapterName(gpu.report) : engine.description;
  const parameters = paramLayout(config.spec).parameterCount;
  reporter.message(`webgpu-mlp ${VERSION} on ${adapter}`);
  reporter.message(`model ${describeSpec(config.spec)}: ${parameters.toLocaleString('en-US')} parameters, init ${describeInit(config.init)}`);
  reporter.message(
    `${config.optimizer.kind} lr ${config.lr} (${describeSchedule(config.schedule)}${config.warmupEpochs ? `, warm-up ${config.warmupEpochs} epochs` : ''})` +
      `${config.optimizer.weightDecay ? `, weight decay ${config.optimizer.weightDecay}` : ''}, batch ${config.batchSize}, ${config.epochs} epochs` +
      `${config.patience ? `, patience ${config.patience}` : ''}, seed ${config.seed}`,
  );
  reporter.message(
    `data ${data.dir}: train ${data.train.count}, validation ${data.validation.count}, ${data.test ? `test ${data.test.count}` : 'no test set (selection only)'}` +
      `${resume ? `; resuming at epoch ${resume.state.epoch + 1}, step ${resume.state.step}` : ''}`,
  );
  reporter.message(`run directory ${run.path}`);
  reporter.event('start', { config, adapter, parameters, runDir: run.path, resumed: Boolean(resume) });
  await run.writeJson('config', { ...config, version: VERSION, adapter, command: options.command ?? process.argv.slice(2) });

  // The trainer stops at its next call to the engine once aborted: by the caller's signal, or by a
  // lost device (the engine then raises DeviceLostError, handled below).
  const abort = new AbortController();
  const forward = () => abort.abort();
  if (options.signal?.aborted) abort.abort();
  options.signal?.addEventListener('abort', forward, { once: true });
  gpu?.lost.then(forward);

  // What last.safetensors holds: only ever a state the trainer checked to be finite.
  let saved: Pick<TrainerState, 'epoch' | 'step' | 't'> | undefined = resume?.state;
  const saveLast = async (state: TrainerState, snapshot: TrainerSnapshot) => {
    await run.flushSteps();
    await run.saveCheckpoint('last', checkpointOf(config, snapshot.params, snapshot.optimizerState, state));
    saved = { epoch: state.epoch, step: state.step, t: state.t };
  };
  const resumeHint = options.resumeHint ?? `continue with: webgpu-mlp train --resume ${run.path}`;
  const result = (status: RunStatus, state: TrainerState | undefined, summary: SummaryJson | null = null): TrainingRunResult => ({
    status,
    exitCode: status === 'completed' || status === 'early-stopped' ? 0 : status === 'interrupted' ? 130 : 1,
    runDir: run.path,
    config,
    adapter,
    history: state?.history ?? resume?.state.history ?? [],
    best: state?.best ?? null,
    summary,
    wallSeconds: (performance.now() - started) / 1000,
  });

  try {
    let outcome: TrainOutcome;
    try {
      outcome = await runTrainer(
        engine,
        { ...config, progressPerEpoch: 10, checkpointEvery: options.checkpointEvery ?? 0 },
        {
          progress: (event) => {
            reporter.progress(event);
            run.addStepLosses(event.firstStep, event.epoch, event.stepLosses);
          },
          checkpoint: saveLast,
          epochEnd: async (record, state, improved, snapshot) => {
            reporter.epoch(record, improved);
            await run.writeMetrics(state.history);
            // Best before last: a resumable checkpoint that names a best epoch finds its weights saved.
            if (improved) await run.saveCheckpoint('best', checkpointOf(config, snapshot.params, []));
            await saveLast(state, snapshot);
          },
        },
        { resume: resume?.state, bestParams: resume?.best, signal: abort.signal },
      );
    } finally {
      options.signal?.removeEventListener('abort', forward);
    }

    if (outcome.reason === 'interrupted') {
      await saveLast(outcome.state, outcome.snapshot!);
      reporter.message(`interrupted at epoch ${outcome.state.epoch + 1}, step ${outcome.state.step}; saved ${run.file('last')}`);
      reporter.message(resumeHint);
      return result('interrupted', outcome.state);
    }
    if (outcome.reason === 'diverged') {
      const divergence = outcome.divergence!;
      await run.flushSteps();
      const what =
        divergence.what === 'loss'
          ? `the loss became NaN or infinite at epoch ${divergence.epoch}, step ${divergence.stepInEpoch}`
          : `the ${divergence.what} became NaN or infinite by epoch ${divergence.epoch}, step ${divergence.stepInEpoch} (the loss was still finite)`;
      reporter.message(
        `training diverged: ${what} (optimizer step ${divergence.t}). Try a lower learning rate than ${config.lr}. ` +
          (saved
            ? `The last good checkpoint, ${run.file('last')}, holds the model ${describeSaved(saved)} and was not overwritten.`
            : 'No checkpoint was saved before it diverged.'),
      );
      reporter.event('diverged', { ...divergence });
      return result('diverged', outcome.state);
    }
    if (outcome.reason === 'early-stopped') {
      reporter.message(`early stopping: no better validation accuracy for ${config.patience} epochs (best: epoch ${outcome.state.best?.epoch})`);
    }
    const summary = data.test ? await testAndSummarize(options, built, run, outcome, adapter, parameters, started) : null;
    if (!summary) {
      const best = outcome.state.best;
      const history = outcome.state.history;
      reporter.message(
        (best ? `best validation accuracy ${(100 * best.valAccuracy).toFixed(2)}% at epoch ${best.epoch} of ${history.length}` : `trained ${history.length} epochs`) +
          `; ${(history.reduce((s, r) => s + r.seconds, 0) / Math.max(1, history.length)).toFixed(2)} s/epoch; no test evaluation; results in ${run.path}`,
      );
    }
    if (summary && options.report) await writeReportSafely(run.path, data, config, gpu, reporter);
    return result(outcome.reason, outcome.state, summary);
  } catch (error) {
    if (!(error instanceof DeviceLostError || gpu?.isLost)) throw error;
    const reason = gpu?.lostMessage ?? (error as Error).message;
    await run.flushSteps();
    reporter.message(
      `training stopped: ${reason}. What the device held since the last checkpoint is lost; ` +
        (saved ? `${run.file('last')} holds the model ${describeSaved(saved)}; ${resumeHint}` : 'no checkpoint had been saved yet.'),
    );
    reporter.event('device-lost', { message: reason, saved: saved ?? null });
    return result('device-lost', undefined);
  }
}

/** After training stopped for good: test once with the best validation weights, write the summary. */
async function testAndSummarize(
  options: TrainingRunOptions,
  built: Built,
  run: RunDirectory,
  outcome: TrainOutcome,
  adapter: string,
  parameters: number,
  started: number,
): Promise<SummaryJson> {
  const { config, data, reporter } = options;
  const { engine } = built;
  // Test once, with the weights of the best validation epoch (test data never selects anything).
  if (outcome.bestParams) engine.writeParams(outcome.bestParams);
  const test = await engine.evaluate('test');
  const matrix = confusionMatrix(test.predictions, data.test!.labels, classCount(config.spec));
  const history = outcome.state.history;
  const trainSeconds = history.reduce((sum, r) => sum + r.seconds, 0);
  const summary: SummaryJson = {
    version: VERSION,
    finishedAt: new Date().toISOString(),
    reason: outcome.reason,
    adapter,
    device: config.device,
    parameters,
    epochs: history.length,
    bestEpoch: outcome.state.best?.epoch ?? history.length,
    validation: outcome.state.best ? { loss: outcome.state.best.valLoss, accuracy: outcome.state.best.valAccuracy } : null,
    test: {
      loss: test.loss,
      accuracy: test.accuracy,
      correct: test.correct,
      count: test.count,
      confusionMatrix: matrix,
      perClassAccuracy: perClassAccuracy(matrix),
    },
    timing: {
      wallSeconds: (performance.now() - started) / 1000,
      trainSeconds,
      meanEpochSeconds: trainSeconds / Math.max(1, history.length),
      samplesPerSecond: history.reduce((sum, r) => sum + r.samplesPerSecond, 0) / Math.max(1, history.length),
    },
    memory: { deviceBytes: engine.deviceBytes, rssBytes: process.memoryUsage().rss },
  };
  await run.writeJson('summary', summary);
  reporter.event('summary', { ...summary });
  reporter.message(
    `test accuracy ${(100 * test.accuracy).toFixed(2)}% (${test.correct}/${test.count}), loss ${test.loss.toFixed(4)}` +
      ` with the weights of epoch ${summary.bestEpoch}; ${summary.timing.meanEpochSeconds.toFixed(2)} s/epoch; results in ${run.path}`,
  );
  return summary;
}

/** A tested run's HTML report, on the device it used; a failure is a line of output, never a failed run. */
export async function writeReportSafely(runDir: string, data: RunData, config: TrainConfig, gpu: GpuContext | undefined, reporter: Reporter): Promise<void> {
  try {
    // Loaded on use: Vega and resvg add start-up time that --no-report need not pay.
    const { writeRunReport } = await import('../report/run-report.ts');
    const { htmlPath, pngPaths, report } = await writeRunReport(runDir, { gpu, data: data as PreparedData, device: config.device === 'cpu' ? 'cpu' : 'gpu' });
    reporter.message(`report ${htmlPath} (${pngPaths.length} PNG figures, ${report.seconds.toFixed(1)} s)`);
    reporter.event('report', { html: htmlPath, png: pngPaths });
  } catch (error) {
    reporter.message(`report not written: ${(error as Error).message} (the run itself is complete; try webgpu-mlp report ${runDir})`);
    reporter.event('report-failed', { message: (error as Error).message });
  }
}
