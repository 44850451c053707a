// `webgpu-mlp train`: load and split the data, build the engine, train with checkpoints and
// metrics in a run directory, restore the best validation weights, and test once at the end.
//
// What it does when things go wrong: bad flags, data or checkpoints are refused before anything is
// written (an existing run is cleared, with --overwrite, only once the new one is ready to start);
// Ctrl-C or SIGTERM finishes the steps in flight, saves a resumable last.safetensors and exits 130;
// divergence and a lost device stop the run with a message and exit 1, leaving the last checkpoint
// saved (every checkpoint is written atomically and holds only finite values).
import type { Command } from 'commander';
import { CheckpointError, type Checkpoint } from '../checkpoint/checkpoint.ts';
import { adapterName } from '../gpu/device.ts';
import { initialParams } from '../model/init.ts';
import { classCount, describeSpec } from '../model/spec.ts';
import { paramLayout } from '../model/tensors.ts';
import { configFromJson, type TrainConfig } from '../train/config.ts';
import { createEngine, type EngineHandle } from '../train/create-engine.ts';
import { DeviceLostError } from '../train/gpu-engine.ts';
import { confusionMatrix, perClassAccuracy } from '../train/metrics.ts';
import { describeSchedule } from '../train/schedule.ts';
import { runTrainer, type TrainerSnapshot, type TrainerState, type TrainOutcome } from '../train/trainer.ts';
import { VERSION } from '../version.ts';
import { prepareData } from './data.ts';
import { describeInit } from './parse.ts';
import { createReporter, type Reporter } from './progress.ts';
import { defaultRunName, RunDirectory } from './run-dir.ts';
import { configFromFlags, TRAINING_OPTIONS, type TrainingFlags } from './train-options.ts';
import { UsageError } from './errors.ts';
import { join } from 'node:path';

export interface TrainCommandFlags extends TrainingFlags {
  runDir?: string;
  overwrite?: boolean;
  resume?: string;
  json?: boolean;
  /** Optimizer steps between mid-epoch checkpoints (0: at epoch ends only). */
  checkpointEvery: number;
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

/** Where a saved trainer state stands, for messages: "after step 120 (epoch 3, step 20)". */
function describeSaved(state: Pick<TrainerState, 'epoch' | 'step' | 't'>): string {
  return `after step ${state.t} (${state.step === 0 ? `end of epoch ${state.epoch}` : `epoch ${state.epoch + 1}, step ${state.step}`})`;
}

export async function trainCommand(flags: TrainCommandFlags, command: Command): Promise<number> {
  const reporter = createReporter({ json: flags.json ?? false });
  if (!(Number.isInteger(flags.checkpointEvery) && flags.checkpointEvery >= 0)) {
    throw new UsageError(`--checkpoint-every must be an integer ≥ 0 (optimizer steps; 0 = at epoch ends only), found ${flags.checkpointEvery}`);
  }
  let config: TrainConfig;
  let run: RunDirectory | undefined;
  let newRun: { path: string; overwrite: boolean } | undefined;
  let resume: { checkpoint: Checkpoint; state: TrainerState; best?: Float32Array } | undefined;

  if (flags.resume) {
    const changed = TRAINING_OPTIONS.filter((name) => command.getOptionValueSource(name) === 'cli');
    if (changed.length || flags.runDir || flags.overwrite) {
      const names = [...changed, ...(flags.runDir ? ['runDir'] : []), ...(flags.overwrite ? ['overwrite'] : [])];
      throw new UsageError(`--resume continues a run with its saved settings; drop ${names.map((n) => '--' + n.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(', ')}`);
    }
    run = await RunDirectory.resume(flags.resume);
    const lastPath = run.file('last');
    const checkpoint = await run.loadCheckpoint('last');
    const state = trainerStateFrom(checkpoint, lastPath);
    config = configFromJson(checkpoint.config, lastPath);
    await run.keepStepsUpTo(state.t);
    const best = state.best && run.has('best') ? (await run.loadCheckpoint('best')).params : undefined;
    resume = { checkpoint, state, best };
  } else {
    config = configFromFlags(flags);
    newRun = { path: flags.runDir ?? join('runs', defaultRunName(config.spec.layers)), overwrite: flags.overwrite ?? false };
    RunDirectory.checkNew(newRun.path, newRun);
  }

  const data = await prepareData(config);
  const initial = () => (resume ? resume.checkpoint.params : initialParams(config.spec, config.init, config.seed));
  const handle = await createEngine(config, data, initial);
  try {
    if (resume) handle.engine.writeOptimizerState(resume.checkpoint.optimizer!.state);
    // Data and model are known good only now: an existing run is cleared (--overwrite) no earlier.
    run ??= await RunDirectory.create(newRun!.path, newRun!);
    return await trainWithEngine(config, handle, data, run, reporter, resume, flags.checkpointEvery);
  } finally {
    handle.close();
    reporter.close();
  }
}

async function trainWithEngine(
  config: TrainConfig,
  handle: EngineHandle,
  data: Awaited<ReturnType<typeof prepareData>>,
  run: RunDirectory,
  reporter: Reporter,
  resume: { state: TrainerState; best?: Float32Array } | undefined,
  checkpointEvery: number,
): Promise<number> {
  const { engine } = handle;
  const adapter = handle.gpu ? adapterName(handle.gpu.report) : engine.description;
  const parameters = paramLayout(config.spec).parameterCount;
  reporter.message(`webgpu-mlp ${VERSION} on ${adapter}`);
  reporter.message(
    `model ${describeSpec(config.spec)}: ${parameters.toLocaleString('en-US')} parameters, init ${describeInit(config.init)}`,
  );
  reporter.message(
    `${config.optimizer.kind} lr ${config.lr} (${describeSchedule(config.schedule)}${config.warmupEpochs ? `, warm-up ${config.warmupEpochs} epochs` : ''})` +
      `${config.optimizer.weightDecay ? `, weight decay ${config.optimizer.weightDecay}` : ''}, batch ${config.batchSize}, ${config.epochs} epochs` +
      `${config.patience ? `, patience ${config.patience}` : ''}, seed ${config.seed}`,
  );
  reporter.message(
    `data ${data.dir}: train ${data.train.count}, validation ${data.validation.count}, test ${data.test.count}` +
      `${resume ? `; resuming at epoch ${resume.state.epoch + 1}, step ${resume.state.step}` : ''}`,
  );
  reporter.message(`run directory ${run.path}`);
  reporter.event('start', { config, adapter, parameters, runDir: run.path, resumed: Boolean(resume) });
  await run.writeJson('config', { ...config, version: VERSION, adapter, command: process.argv.slice(2) });

  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(130);
    reporter.message(`\n${signal}: finishing the current steps and saving a resumable checkpoint (press Ctrl-C again to quit at once)`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The trainer stops at its next call to the engine, which raises DeviceLostError (handled below).
  handle.gpu?.lost.then(() => abort.abort());

  const started = performance.now();
  // What last.safetensors holds: only ever a state the trainer checked to be finite.
  let saved: Pick<TrainerState, 'epoch' | 'step' | 't'> | undefined = resume?.state;
  const saveLast = async (state: TrainerState, snapshot: TrainerSnapshot) => {
    await run.flushSteps();
    await run.saveCheckpoint('last', checkpointOf(config, snapshot.params, snapshot.optimizerState, state));
    saved = { epoch: state.epoch, step: state.step, t: state.t };
  };
  const resumeHint = () => `continue with: webgpu-mlp train --resume ${run.path}`;

  try {
    let outcome: TrainOutcome;
    try {
      outcome = await runTrainer(
        engine,
        { ...config, progressPerEpoch: 10, checkpointEvery },
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
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }

    if (outcome.reason === 'interrupted') {
      await saveLast(outcome.state, outcome.snapshot!);
      reporter.message(`interrupted at epoch ${outcome.state.epoch + 1}, step ${outcome.state.step}; saved ${run.file('last')}`);
      reporter.message(resumeHint());
      return 130;
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
      return 1;
    }
    return await finishRun({ config, engine, data, run, reporter, adapter, parameters, started }, outcome);
  } catch (error) {
    if (!(error instanceof DeviceLostError || handle.gpu?.isLost)) throw error;
    const reason = handle.gpu?.lostMessage ?? (error as Error).message;
    await run.flushSteps();
    reporter.message(
      `training stopped: ${reason}. What the device held since the last checkpoint is lost; ` +
        (saved ? `${run.file('last')} holds the model ${describeSaved(saved)}; ${resumeHint()}` : 'no checkpoint had been saved yet.'),
    );
    reporter.event('device-lost', { message: reason, saved: saved ?? null });
    return 1;
  }
}

interface FinishContext {
  readonly config: TrainConfig;
  readonly engine: EngineHandle['engine'];
  readonly data: Awaited<ReturnType<typeof prepareData>>;
  readonly run: RunDirectory;
  readonly reporter: Reporter;
  readonly adapter: string;
  readonly parameters: number;
  readonly started: number;
}

/** After training stopped for good: test with the best validation weights, write the summary. */
async function finishRun(context: FinishContext, outcome: TrainOutcome): Promise<number> {
  const { config, engine, data, run, reporter, adapter, parameters, started } = context;
  if (outcome.reason === 'early-stopped') {
    reporter.message(`early stopping: no better validation accuracy for ${config.patience} epochs (best: epoch ${outcome.state.best?.epoch})`);
  }

  // Test once, with the weights of the best validation epoch (test data never selects anything).
  if (outcome.bestParams) engine.writeParams(outcome.bestParams);
  const test = await engine.evaluate('test');
  const classes = classCount(config.spec);
  const matrix = confusionMatrix(test.predictions, data.test.labels, classes);
  const history = outcome.state.history;
  const trainSeconds = history.reduce((sum, r) => sum + r.seconds, 0);
  const summary = {
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
  reporter.event('summary', summary);
  reporter.message(
    `test accuracy ${(100 * test.accuracy).toFixed(2)}% (${test.correct}/${test.count}), loss ${test.loss.toFixed(4)}` +
      ` with the weights of epoch ${summary.bestEpoch}; ${summary.timing.meanEpochSeconds.toFixed(2)} s/epoch; results in ${run.path}`,
  );
  return 0;
}
