// One training run into a run directory: what `webgpu-mlp train` does, and what every run of a
// search or a study does, built on the public Model API. Given a config, the run's settings (device,
// data source, reporting, checkpoint interval), data already loaded and split, a run directory and a
// reporter (and, for many runs in one process, a shared Gpu), it fits with checkpoints and metrics,
// keeps the best validation weights, tests once when it was given a test set, writes the summary
// and, if the caller gave a report writer, the report.
//
// What it does when things go wrong: the signal (Ctrl-C in the CLI) finishes the steps in flight
// and saves a resumable last.safetensors (status 'interrupted', exit code 130); a lost device is
// replaced and the fit goes on from its last snapshot on the host (Model.fit's recovery, as
// settings.recovery says), each recovery a line in the log and an entry in summary.json; divergence,
// and a lost device beyond settings.recovery.maxRecoveries (or one that cannot be replaced), stop the
// run with a message (exit code 1), leaving the last checkpoint saved (every checkpoint is written
// atomically and holds only finite values). A report that fails prints a line and never fails the run.
import { openGpu, type Gpu } from '../api/gpu.ts';
import { loadModel, modelFromConfig, type Backend, type Model } from '../api/model.ts';
import { MlpError } from '../errors.ts';
import { describeInit } from '../model/init.ts';
import { describeSpec } from '../model/spec.ts';
import type { TrainConfig } from '../train/config.ts';
import type { Recovery } from '../train/recovery.ts';
import type { EpochRecord } from '../train/trainer.ts';
import type { EngineSetup } from '../train/engine.ts';
import { describeLrSchedule } from '../train/describe.ts';
import { VERSION } from '../version.ts';
import type { RunData } from './data.ts';
import type { Reporter } from './reporter.ts';
import { RunDirectory } from './run-dir.ts';
import type { RunSummary } from './run-files.ts';
import { settingsFromJson, type RunSettings } from './settings.ts';

/** Where an unfinished run stands: its model (holding the interrupted fit) and its best weights so far. */
export interface ResumePoint {
  readonly lastBytes: Uint8Array;
  /** The best validation epoch's checkpoint so far (best.safetensors), when there is one. */
  readonly best?: Uint8Array;
  /** Where the saved state stands (for messages). */
  readonly at: { readonly epoch: number; readonly step: number; readonly t: number };
  /** The matrix-product variants the run used (config.json's `kernels`): the resume uses them again, bit for bit. */
  readonly kernels?: Readonly<Record<string, string>>;
}

/** Where a run writes: a new run directory, or the unfinished one it resumes. */
export type RunTarget =
  /** A new run; an existing run at `path` is cleared (with `overwrite`) only once the model is built. */
  | { readonly kind: 'new'; readonly path: string; readonly overwrite: boolean }
  | { readonly kind: 'resume'; readonly run: RunDirectory; readonly point: ResumePoint };

/** Writes a finished run's report (the CLI passes the report module's writer: runs know nothing of reports). */
export type ReportWriter = (runDir: string, context: { readonly data: RunData; readonly gpu?: Gpu; readonly device: 'gpu' | 'cpu' }) => Promise<string>;

/** What {@link trainRun} is given. */
export interface TrainingRunOptions {
  readonly config: TrainConfig;
  readonly settings: RunSettings;
  /** The data, loaded and split as `config` says; pass the same objects to every run on a split (one upload). */
  readonly data: RunData;
  readonly target: RunTarget;
  readonly reporter: Reporter;
  /** A device shared with other runs (its pipelines and uploads); absent: opened for this run and closed after it. */
  readonly gpu?: Gpu;
  /** Aborting it stops the run at the next steps with a resumable checkpoint (status 'interrupted'). */
  readonly signal?: AbortSignal;
  /** Writes report.html when settings.report is on and the run was tested. */
  readonly writeReport?: ReportWriter;
  /** What config.json records as the command (default: this process's arguments). */
  readonly command?: readonly string[];
  /** The line that tells the user how to continue an interrupted run. */
  readonly resumeHint?: string;
  /** Time the kernel variants of this model on this adapter first (see FitControl.tune; default: GPU adapters only). */
  readonly tune?: boolean;
}

/** How a training run ended: a fit status, or the device lost. */
export type RunStatus = 'completed' | 'early-stopped' | 'interrupted' | 'diverged' | 'device-lost';

/** summary.json: the report's RunSummary plus memory use. */
export interface SummaryJson extends RunSummary {
  readonly memory: { readonly deviceBytes: number; readonly rssBytes: number };
  /** The device losses the run recovered from in its last process (empty when none). */
  readonly recoveries: readonly Recovery[];
}

/** How a training run ended, and what it wrote. */
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
  readonly best: { readonly epoch: number; readonly valAccuracy: number; readonly valLoss: number } | null;
  /** What summary.json holds; null when the run was not tested (no test set, or it did not finish). */
  readonly summary: SummaryJson | null;
  readonly wallSeconds: number;
}

/** What config.json holds: the model config, the run's settings, and provenance. */
export interface ConfigJson extends TrainConfig {
  readonly run: RunSettings;
  readonly version: string;
  readonly adapter: string;
  readonly command: readonly string[];
  /** The matrix-product variant of each product (written once the plans are built; a resume uses them again). */
  readonly kernels?: Readonly<Record<string, string>>;
}

/** Opens an unfinished run directory to continue it: its config, its settings, and where it stopped. */
export async function openResume(path: string): Promise<{ run: RunDirectory; config: TrainConfig; settings: RunSettings; point: ResumePoint }> {
  const run = await RunDirectory.resume(path);
  try {
    const lastPath = run.file('last');
    const lastBytes = await run.readCheckpoint('last');
    // Loaded on the CPU to read where it stands; the run loads it again on its own device.
    const probe = await loadModel('cpu', lastBytes, { source: lastPath });
    const at = probe.resumePoint;
    const config = probe.config;
    probe.dispose();
    if (!at) throw new MlpError('CHECKPOINT', `${lastPath}: not a resumable checkpoint (no optimizer and trainer state in it)`);
    const configJson = await run.readConfigJson();
    const settings = settingsFromJson(configJson);
    await run.keepStepsUpTo(at.t);
    const best = at.hasBest && run.has('best') ? await run.readCheckpoint('best') : undefined;
    return { run, config, settings, point: { lastBytes, best, at, ...kernelsOf(configJson) } };
  } catch (error) {
    run.close();
    throw error;
  }
}

/** config.json's `kernels`, when it has a valid one. */
function kernelsOf(configJson: unknown): { kernels?: Record<string, string> } {
  const kernels = (configJson as { kernels?: unknown } | null)?.kernels;
  if (typeof kernels !== 'object' || kernels === null || Array.isArray(kernels)) return {};
  const entries = Object.entries(kernels).filter(([, v]) => typeof v === 'string') as [string, string][];
  return entries.length ? { kernels: Object.fromEntries(entries) } : {};
}

/** Where a saved state stands, for messages: "after step 120 (epoch 3, step 20)". */
function describeSaved(at: ResumePoint['at']): string {
  return `after step ${at.t} (${at.step === 0 ? `end of epoch ${at.epoch}` : `epoch ${at.epoch + 1}, step ${at.step}`})`;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/**
 * Trains `options.config` into a run directory, as `webgpu-mlp train` does: checkpoints and metrics
 * as it goes, the best validation weights tested once at the end, summary.json, and the report if a
 * writer was given. Ctrl-C (the signal) leaves a resumable last.safetensors; see the top of this file.
 */
export async function trainRun(options: TrainingRunOptions): Promise<TrainingRunResult> {
  const started = performance.now();
  const { config, settings, target } = options;
  const ownGpu = settings.device === 'gpu' && !options.gpu ? await openGpu() : undefined;
  const gpu = options.gpu ?? ownGpu;
  const backend: Backend = settings.device === 'cpu' ? 'cpu' : gpu!;
  let run: RunDirectory | undefined = target.kind === 'resume' ? target.run : undefined;
  try {
    const model = target.kind === 'resume' ? await loadModel(backend, target.point.lastBytes, { source: target.run.file('last') }) : await modelFromConfig(backend, config);
    try {
      // Data and model are known good only now: an existing run is cleared (overwrite) no earlier.
      run ??= await RunDirectory.create((target as { path: string }).path, target as { overwrite: boolean });
      return await fitRun(options, model, gpu, run, started);
    } finally {
      model.dispose();
    }
  } finally {
    // The run writes nothing more: another process may take the directory.
    run?.close();
    ownGpu?.close();
  }
}

async function fitRun(options: TrainingRunOptions, model: Model, gpu: Gpu | undefined, run: RunDirectory, started: number): Promise<TrainingRunResult> {
  const { config, settings, data, reporter } = options;
  const resume = options.target.kind === 'resume' ? options.target.point : undefined;
  const adapter = model.deviceName;
  reporter.message(`webgpu-mlp ${VERSION} on ${adapter}`);
  reporter.message(`model ${describeSpec(config.spec)}: ${model.parameterCount.toLocaleString('en-US')} parameters, init ${describeInit(config.init)}`);
  reporter.message(
    `${config.optimizer.kind} lr ${config.lr} (${describeLrSchedule(config)})` +
      `${config.optimizer.weightDecay ? `, weight decay ${config.optimizer.weightDecay}` : ''}, batch ${config.batchSize}, ${config.epochs} epochs` +
      `${config.patience ? `, patience ${config.patience}` : ''}, seed ${config.seed}`,
  );
  reporter.message(
    `data ${data.description}: train ${data.train.count}, validation ${data.validation?.count ?? 0}, ${data.test ? `test ${data.test.count}` : 'no test set (selection only)'}` +
      `${resume ? `; resuming at epoch ${resume.at.epoch + 1}, step ${resume.at.step}` : ''}`,
  );
  reporter.message(`run directory ${run.path}`);
  if (run.lockNotice) reporter.message(run.lockNotice);
  reporter.event('start', { config, settings, adapter, parameters: model.parameterCount, runDir: run.path, resumed: Boolean(resume) });
  const configJson: ConfigJson = { ...config, run: settings, version: VERSION, adapter, command: options.command ?? process.argv.slice(2) };
  await run.writeJson('config', configJson);
  let configWritten: Promise<void> = Promise.resolve();

  // What last.safetensors holds: only ever a state the trainer checked to be finite.
  let saved: ResumePoint['at'] | undefined = resume?.at;
  const saveLast = async (bytes: Uint8Array, at: ResumePoint['at']) => {
    await run.flushSteps();
    await run.saveCheckpoint('last', bytes);
    saved = at;
  };
  const resumeHint = options.resumeHint ?? `continue with: webgpu-mlp train --resume ${run.path}`;
  const result = (status: RunStatus, history: readonly EpochRecord[], best: TrainingRunResult['best'], summary: SummaryJson | null = null): TrainingRunResult => ({
    status,
    exitCode: status === 'completed' || status === 'early-stopped' ? 0 : status === 'interrupted' ? 130 : 1,
    runDir: run.path,
    config,
    adapter,
    history,
    best,
    summary,
    wallSeconds: (performance.now() - started) / 1000,
  });

  // A lost device is noticed by the fit at its next call to the GPU: replaced (recovery), or DEVICE_LOST below.
  const abort = new AbortController();
  const forward = () => abort.abort();
  if (options.signal?.aborted) abort.abort();
  options.signal?.addEventListener('abort', forward, { once: true });
  let history: readonly EpochRecord[] = [];
  let stepsPerEpoch = 1;
  const stepAt = (t: number) => describeSaved({ epoch: Math.floor(t / stepsPerEpoch), step: t % stepsPerEpoch, t });
  try {
    reporter.event('preparing', {});
    const fit = await model
      .fit(data.train, {
        validation: data.validation,
        signal: abort.signal,
        ...(resume ? { resume: { best: resume.best } } : {}),
        ...(settings.recovery ? { recover: settings.recovery } : {}),
        // Everything the run will do after training, compiled with it before the first step.
        prepare: { evaluate: data.test ? [data.test] : [], predict: Boolean(data.test && settings.report && options.writeReport) },
        ...(resume?.kernels ? { kernels: resume.kernels } : {}),
        ...(options.tune !== undefined ? { tune: options.tune } : {}),
        onStart: (info) => {
          stepsPerEpoch = info.stepsPerEpoch;
          if (info.setup) {
            const { seconds, pipelines, compiled } = info.setup;
            const before = pipelines - compiled;
            reporter.message(
              `ready in ${seconds.toFixed(1)} s: ${pipelines} pipelines compiled before the first step` +
                (before > 0 ? ` (${before} of them by earlier runs in this process)` : ''),
            );
            reporter.event('setup', { ...info.setup });
            if (info.setup.tuning) reporter.message(`tuned ${info.setup.tuning.products} matrix products in ${info.setup.tuning.seconds.toFixed(1)} s (kept per adapter for later runs)`);
            // The variants used, recorded: a resume uses them again (bit for bit), whatever is measured later.
            configWritten = run.writeJson('config', { ...configJson, kernels: info.setup.kernels });
            configWritten.catch(() => {}); // awaited after the fit; a failure surfaces there
          }
        },
        onRecovery: (recovery) => {
          const max = settings.recovery?.maxRecoveries;
          // Bit for bit the same weights as an uninterrupted run needs the same adapter: say so when it is another.
          const other = model.deviceName !== adapter ? ` on another adapter, ${model.deviceName}` : '';
          reporter.message(
            `${recovery.reason}; opened a new device${other} (recovery ${recovery.count}${max ? ` of ${max}` : ''}, ${recovery.seconds.toFixed(1)} s) ` +
              `and went on from the snapshot ${stepAt(recovery.restoredAt)}: ${recovery.replayed} step${recovery.replayed === 1 ? '' : 's'} replayed`,
          );
          reporter.event('recovered', { ...recovery });
        },
        onProgress: (event) => {
          reporter.progress(event);
          run.addStepLosses(event.firstStep, event.epoch, event.stepLosses);
        },
        checkpointEvery: settings.checkpointEvery,
        onCheckpoint: settings.checkpointEvery > 0 ? (info) => saveLast(info.checkpoint({ resumable: true }), atOf(info)) : undefined,
        onEpochEnd: async (record, info) => {
          reporter.epoch(record, info.improved);
          history = info.history;
          await run.writeMetrics(info.history);
          // Best before last: a resumable checkpoint that names a best epoch finds its weights saved.
          if (info.improved) await run.saveCheckpoint('best', info.checkpoint());
          await saveLast(info.checkpoint({ resumable: true }), atOf(info));
        },
      })
      .finally(() => options.signal?.removeEventListener('abort', forward));
    await configWritten;

    if (fit.status === 'interrupted') {
      if (gpu?.isLost) throw new MlpError('DEVICE_LOST', await gpu.lost);
      const at = model.resumePoint!;
      await saveLast(await model.save({ resumable: true }), at);
      reporter.message(`interrupted at epoch ${at.epoch + 1}, step ${at.step}; saved ${run.file('last')}`);
      reporter.message(resumeHint);
      return result('interrupted', fit.history, fit.best);
    }
    if (fit.status === 'diverged') {
      const divergence = fit.divergence!;
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
      return result('diverged', fit.history, fit.best);
    }
    if (fit.status === 'early-stopped') {
      reporter.message(`early stopping: no better validation accuracy for ${config.patience} epochs (best: epoch ${fit.best?.epoch})`);
    }
    if (fit.recoveries.length > 0) {
      const replayed = fit.recoveries.reduce((sum, r) => sum + r.replayed, 0);
      const losses = fit.recoveries.length;
      reporter.message(`recovered from ${losses} device loss${losses === 1 ? '' : 'es'} (${replayed} step${replayed === 1 ? '' : 's'} replayed)`);
    }
    const summary = data.test ? await testAndSummarize(options, model, gpu, run, fit.history, fit.best, fit.status, adapter, started, fit.recoveries, fit.setup) : null;
    if (!summary) {
      const best = fit.best;
      const history = fit.history;
      reporter.message(
        (best ? `best validation accuracy ${pct(best.valAccuracy)} at epoch ${best.epoch} of ${history.length}` : `trained ${history.length} epochs`) +
          `; ${(history.reduce((s, r) => s + r.seconds, 0) / Math.max(1, history.length)).toFixed(2)} s/epoch; no test evaluation; results in ${run.path}`,
      );
    }
    if (summary && settings.report && options.writeReport) await writeReportSafely(options.writeReport, run.path, data, gpu, settings.device, reporter);
    return result(fit.status, fit.history, fit.best, summary);
  } catch (error) {
    if (!((error instanceof MlpError && error.code === 'DEVICE_LOST') || gpu?.isLost)) throw error;
    const reason = (error as Error).message;
    await run.flushSteps();
    reporter.message(
      `training stopped: ${reason}. What the device held since the last checkpoint is lost; ` +
        (saved ? `${run.file('last')} holds the model ${describeSaved(saved)}; ${resumeHint}` : 'no checkpoint had been saved yet.'),
    );
    reporter.event('device-lost', { message: reason, saved: saved ?? null });
    return result('device-lost', history, null);
  }
}

function atOf(info: { readonly epoch: number; readonly stepInEpoch: number; readonly step: number }): ResumePoint['at'] {
  // info.epoch is 1-based and names the epoch in progress, or the one just ended (stepInEpoch 0).
  return { epoch: info.stepInEpoch === 0 ? info.epoch : info.epoch - 1, step: info.stepInEpoch, t: info.step };
}

/** After training stopped for good: test once with the best validation weights, write the summary. */
async function testAndSummarize(
  options: TrainingRunOptions,
  model: Model,
  gpu: Gpu | undefined,
  run: RunDirectory,
  history: readonly EpochRecord[],
  best: TrainingRunResult['best'],
  reason: 'completed' | 'early-stopped',
  adapter: string,
  started: number,
  recoveries: readonly Recovery[],
  setup: EngineSetup | null,
): Promise<SummaryJson> {
  const { settings, data, reporter } = options;
  // Test once, with the weights of the best validation epoch (test data never selects anything).
  const test = await model.evaluate(data.test!);
  const trainSeconds = history.reduce((sum, r) => sum + r.seconds, 0);
  const summary: SummaryJson = {
    version: VERSION,
    finishedAt: new Date().toISOString(),
    reason,
    adapter,
    device: settings.device,
    parameters: model.parameterCount,
    epochs: history.length,
    bestEpoch: best?.epoch ?? history.length,
    validation: best ? { loss: best.valLoss, accuracy: best.valAccuracy } : null,
    test: {
      loss: test.loss,
      accuracy: test.accuracy,
      correct: test.correct,
      count: test.count,
      confusionMatrix: test.confusionMatrix,
      perClassAccuracy: test.perClassAccuracy,
    },
    timing: {
      wallSeconds: (performance.now() - started) / 1000,
      trainSeconds,
      meanEpochSeconds: trainSeconds / Math.max(1, history.length),
      samplesPerSecond: history.reduce((sum, r) => sum + r.samplesPerSecond, 0) / Math.max(1, history.length),
      // Before the first step: plans built and pipelines compiled (a first run on an adapter compiles them all).
      ...(setup ? { setupSeconds: setup.seconds, pipelines: setup.pipelines, pipelinesCompiled: setup.compiled } : {}),
    },
    memory: { deviceBytes: model.deviceBytes + (gpu?.stats.datasetBytes ?? 0), rssBytes: process.memoryUsage().rss },
    recoveries,
  };
  await run.writeJson('summary', summary);
  reporter.event('summary', { ...summary });
  reporter.message(
    `test accuracy ${pct(test.accuracy)} (${test.correct}/${test.count}), loss ${test.loss.toFixed(4)}` +
      ` with the weights of epoch ${summary.bestEpoch}; ${summary.timing.meanEpochSeconds.toFixed(2)} s/epoch; results in ${run.path}`,
  );
  return summary;
}

/** A tested run's report; a failure is a line of output, never a failed run. */
export async function writeReportSafely(
  writeReport: ReportWriter,
  runDir: string,
  data: RunData,
  gpu: Gpu | undefined,
  device: 'gpu' | 'cpu',
  reporter: Reporter,
): Promise<void> {
  try {
    const line = await writeReport(runDir, { data, gpu, device });
    reporter.message(line);
    reporter.event('report', { runDir });
  } catch (error) {
    reporter.message(`report not written: ${(error as Error).message} (the run itself is complete; try webgpu-mlp report ${runDir})`);
    reporter.event('report-failed', { message: (error as Error).message });
  }
}

