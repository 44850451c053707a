// The training loop: epochs, seeded shuffles, the learning-rate schedule, progress, validation,
// early stopping, checkpoints and divergence, over either engine. It never reads back per step:
// progress reads the GPU's per-step records a few times per epoch, and once at the end of each
// epoch; the parameters come back at epoch ends and at the checkpoints and snapshots asked for
// (snapshots: host copies for device-loss recovery, src/train/recovery.ts).
//
// A progress readback within an epoch is asked for when the steps it reports are queued, and taken
// one progress interval later: by then they have run, and the steps queued since keep the device
// busy while the host waits for it (waiting for the last steps queued would empty the queue at each
// report). Epoch ends, checkpoints, snapshots and interruptions read everything queued.
//
// Divergence is caught in two places. The loss kernel flags the first step whose loss is not
// finite, on the GPU, and the optimizer then leaves every parameter as it was; the trainer reads the
// flag with each progress readback. The parameters and optimizer state it reads for checkpoints and
// snapshots are checked too: they can go non-finite while every loss stays finite (ReLU's max(z, 0) may turn a NaN
// into 0, an Adam second moment can overflow to +Infinity), and such a checkpoint could not be
// loaded again. Either way no hook ever receives non-finite values, so the last checkpoint saved
// stays the last good one.
import type { StepParams } from '../kernels/step-params.ts';
import type { OptimizerConfig } from '../model/optimizer.ts';
import { Random } from '../util/random.ts';
import type { TrainingEngine } from './engine.ts';
import type { TrainRecords } from './plan.ts';
import { learningRate, type LrPlan, type Schedule } from './schedule.ts';

export interface TrainerConfig {
  readonly epochs: number;
  /** Seeds the epoch shuffles (dropout masks are seeded inside the engine). */
  readonly seed: number;
  readonly lr: number;
  readonly schedule: Schedule;
  readonly warmupEpochs: number;
  readonly optimizer: OptimizerConfig;
  /** Stop when validation accuracy has not improved for this many epochs (0 = never). */
  readonly patience: number;
  /** Progress readbacks per epoch. */
  readonly progressPerEpoch: number;
  /** Also call hooks.checkpoint within epochs, every this many optimizer steps (0 or absent: never). */
  readonly checkpointEvery?: number;
  /** Also call hooks.snapshot within epochs, every this many optimizer steps (0 or absent: never). */
  readonly snapshotEvery?: number;
}

/** A progress report within an epoch: the running loss and accuracy, speed, and the per-step losses read since the last one. */
export interface ProgressEvent {
  readonly epoch: number; // 1-based
  readonly epochs: number;
  readonly step: number; // steps of this epoch reported so far
  readonly stepsPerEpoch: number;
  readonly samplesPerSecond: number;
  /** Mean training loss and accuracy over this epoch so far. */
  readonly loss: number;
  readonly accuracy: number;
  readonly lr: number;
  /** Per-step mean losses read since the previous event (for loss curves). */
  readonly stepLosses: readonly number[];
  readonly firstStep: number; // t of stepLosses[0]
}

/** One epoch of a fit: training loss and accuracy, validation loss and accuracy, learning rate, timings. */
export interface EpochRecord {
  readonly epoch: number; // 1-based
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly lr: number;
  /** Training time of the epoch (validation excluded). */
  readonly seconds: number;
  readonly samplesPerSecond: number;
  readonly evalSeconds: number;
}

/** Everything needed to continue a run exactly where it stopped (saved in resumable checkpoints). */
export interface TrainerState {
  /** The epoch in progress (0-based) and the steps of it already done. */
  epoch: number;
  step: number;
  /** Optimizer steps done since the start of the run. */
  t: number;
  /** Sums over the steps of the epoch in progress. */
  partial: { lossSum: number; correct: number; samples: number; seconds: number };
  best: { epoch: number; valAccuracy: number; valLoss: number } | null;
  epochsSinceBest: number;
  history: EpochRecord[];
}

export type StopReason = 'completed' | 'early-stopped' | 'interrupted' | 'diverged';

/** The model as read back at a sync point, every value finite: what checkpoints save. */
export interface TrainerSnapshot {
  readonly params: Float32Array;
  readonly optimizerState: Float32Array[];
}

/** Why and when a fit diverged: what went non-finite, at which optimizer step. */
export interface Divergence {
  /**
   * 'loss': the loss of step t was NaN or infinite (flagged on the GPU; the parameters were left as
   * they were before that step). 'parameters' or 'optimizer state': found non-finite when read back
   * after step t, though every loss up to it was finite.
   */
  readonly what: 'loss' | 'parameters' | 'optimizer state';
  /** The epoch (1-based) and step of t. */
  readonly epoch: number;
  readonly t: number;
  readonly stepInEpoch: number;
}

export interface TrainOutcome {
  readonly reason: StopReason;
  readonly state: TrainerState;
  /** For 'diverged': what went non-finite, and when. */
  readonly divergence?: Divergence;
  /** Parameters of the best validation epoch, when there was a validation set. */
  readonly bestParams?: Float32Array;
  /** For 'interrupted': the model at `state`, to save for a resume. */
  readonly snapshot?: TrainerSnapshot;
}

export interface TrainerHooks {
  progress?(event: ProgressEvent): void;
  /** Within an epoch, every `checkpointEvery` steps: the state to resume from and the model at it. */
  checkpoint?(state: TrainerState, snapshot: TrainerSnapshot): Promise<void> | void;
  /**
   * Within an epoch, every `snapshotEvery` steps: the same as checkpoint, for a copy kept on the host
   * (device-loss recovery resumes from it). Where both are due, one readback serves both.
   */
  snapshot?(state: TrainerState, snapshot: TrainerSnapshot): Promise<void> | void;
  /** After each epoch's validation; `improved` when it is the best so far (save checkpoints here). */
  epochEnd?(record: EpochRecord, state: TrainerState, improved: boolean, snapshot: TrainerSnapshot): Promise<void> | void;
}

export function initialTrainerState(): TrainerState {
  return { epoch: 0, step: 0, t: 0, partial: { lossSum: 0, correct: 0, samples: 0, seconds: 0 }, best: null, epochsSinceBest: 0, history: [] };
}

/** The epoch's visiting order: a pure function of (seed, epoch), so a resumed run rebuilds it. */
export function epochOrder(seed: number, epoch: number, count: number): Uint32Array {
  return new Random(seed, 'shuffle', epoch).permutation(count);
}

export function lrPlanFor(config: TrainerConfig, stepsPerEpoch: number): LrPlan {
  return {
    baseLr: config.lr,
    schedule: config.schedule,
    warmupSteps: Math.round(config.warmupEpochs * stepsPerEpoch),
    stepsPerEpoch,
    totalSteps: config.epochs * stepsPerEpoch,
  };
}

function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

export async function runTrainer(
  engine: TrainingEngine,
  config: TrainerConfig,
  hooks: TrainerHooks = {},
  options: {
    resume?: TrainerState;
    bestParams?: Float32Array;
    signal?: AbortSignal;
    /** Called after each submit with the t of its last step (steps handed to the engine so far). */
    onSubmit?: (t: number) => void;
  } = {},
): Promise<TrainOutcome> {
  const state: TrainerState = options.resume ? structuredClone(options.resume) : initialTrainerState();
  const S = engine.stepsPerEpoch;
  const B = engine.batchSize;
  const N = engine.trainCount;
  const lrPlan = lrPlanFor(config, S);
  const progressEvery = Math.max(1, Math.ceil(S / Math.max(1, config.progressPerEpoch)));
  const hasValidation = engine.has('validation');
  // A resumed run gets its best parameters back from its best checkpoint.
  let bestParams = options.bestParams;

  const checkpointEvery = hooks.checkpoint ? (config.checkpointEvery ?? 0) : 0;
  const snapshotEvery = hooks.snapshot ? (config.snapshotEvery ?? 0) : 0;
  const untilDue = (every: number) => (every > 0 ? every - (state.t % every) : Infinity);

  const rowsOf = (s: number) => Math.min(B, N - s * B);
  const diverged = (what: Divergence['what'], t: number): TrainOutcome => ({
    reason: 'diverged',
    state,
    divergence: { what, epoch: Math.floor((t - 1) / S) + 1, t, stepInEpoch: ((t - 1) % S) + 1 },
    bestParams,
  });

  /** Reads the model back; a non-finite value anywhere ends the run instead. */
  const takeSnapshot = async (): Promise<TrainerSnapshot | TrainOutcome> => {
    const snapshot = { params: await engine.readParams(), optimizerState: await engine.readOptimizerState() };
    if (!allFinite(snapshot.params)) return diverged('parameters', state.t);
    if (!snapshot.optimizerState.every(allFinite)) return diverged('optimizer state', state.t);
    return snapshot;
  };
  const isOutcome = (value: TrainerSnapshot | TrainOutcome): value is TrainOutcome => 'reason' in value;

  while (state.epoch < config.epochs) {
    const epoch = state.epoch;
    engine.setOrder(epochOrder(config.seed, epoch, N));
    // Every step of the epoch, built once (t and the learning rate are functions of the step), and
    // handed to the engine at once: the GPU engine writes all their parameters in one upload.
    const firstT = state.t - state.step;
    const epochSteps: StepParams[] = Array.from({ length: S }, (_, s) => ({
      t: firstT + s + 1,
      batchStart: s * B,
      rows: rowsOf(s),
      record: s,
      lr: learningRate(lrPlan, firstT + s + 1),
      beta1: config.optimizer.beta1,
      beta2: config.optimizer.beta2,
    }));
    engine.planEpoch?.(epochSteps);
    let read = state.step; // records before this index have been read
    let epochStart = performance.now() - state.partial.seconds * 1000;
    let lastLr = learningRate(lrPlan, Math.max(1, state.t));

    /** A progress readback asked for, not taken yet: the records of the steps before upTo. */
    let requested: { readonly upTo: number; readonly take: () => Promise<TrainRecords> } | undefined;
    const request = () => ({ upTo: state.step, take: engine.requestRecords(read, state.step - read) });

    /** Takes a readback: adds its records to the epoch's sums, checks the GPU's divergence flag, reports progress. */
    const take = async (readback: NonNullable<typeof requested>): Promise<TrainOutcome | undefined> => {
      const firstStep = epoch * S + read + 1;
      const { lossSum, correct, nonFiniteStep } = await readback.take();
      const stepLosses: number[] = [];
      for (let i = 0; i < lossSum.length; i++) {
        const rows = rowsOf(read + i);
        state.partial.lossSum += lossSum[i];
        state.partial.correct += correct[i];
        state.partial.samples += rows;
        stepLosses.push(lossSum[i] / rows);
      }
      read = readback.upTo;
      if (nonFiniteStep !== 0) return diverged('loss', nonFiniteStep);
      state.partial.seconds = (performance.now() - epochStart) / 1000;
      if (stepLosses.length === 0) return undefined;
      hooks.progress?.({
        epoch: epoch + 1,
        epochs: config.epochs,
        step: read,
        stepsPerEpoch: S,
        samplesPerSecond: state.partial.samples / state.partial.seconds,
        loss: state.partial.lossSum / state.partial.samples,
        accuracy: state.partial.correct / state.partial.samples,
        lr: epochSteps[read - 1].lr,
        stepLosses,
        firstStep,
      });
      return undefined;
    };

    /** Takes the readback asked for at the last report, if any (its steps have run by now). */
    const takeRequested = async (): Promise<TrainOutcome | undefined> => {
      const readback = requested;
      requested = undefined;
      return readback && take(readback);
    };

    /** Reads the records of every step queued so far (taking the readback asked for first). */
    const sync = async (): Promise<TrainOutcome | undefined> => (await takeRequested()) ?? take(request());

    while (state.step < S) {
      if (options.signal?.aborted) {
        const stopped = await sync();
        if (stopped) return stopped;
        const snapshot = await takeSnapshot();
        if (isOutcome(snapshot)) return snapshot;
        return { reason: 'interrupted', state, bestParams, snapshot };
      }
      // A submit ends where a checkpoint or snapshot is due, so they land on exact multiples of their interval.
      const count = Math.min(engine.stepsPerSubmit, S - state.step, untilDue(checkpointEvery), untilDue(snapshotEvery));
      const steps = epochSteps.slice(state.step, state.step + count);
      lastLr = steps[count - 1].lr;
      await engine.runSteps(steps);
      state.step += count;
      state.t += count;
      options.onSubmit?.(state.t);

      if (state.step === S) break;
      const crossed = Math.floor(state.step / progressEvery) > Math.floor((state.step - count) / progressEvery);
      const checkpointDue = checkpointEvery > 0 && state.t % checkpointEvery === 0;
      const snapshotDue = snapshotEvery > 0 && state.t % snapshotEvery === 0;
      if (checkpointDue || snapshotDue) {
        const stopped = await sync();
        if (stopped) return stopped;
      } else if (crossed) {
        const stopped = await takeRequested();
        if (stopped) return stopped;
        requested = request();
      }
      if (checkpointDue || snapshotDue) {
        const snapshot = await takeSnapshot();
        if (isOutcome(snapshot)) return snapshot;
        if (snapshotDue) await hooks.snapshot!(state, snapshot);
        if (checkpointDue) await hooks.checkpoint!(state, snapshot);
      }
    }

    const stopped = await sync();
    if (stopped) return stopped;
    const seconds = state.partial.seconds;
    const trainLoss = state.partial.lossSum / state.partial.samples;
    const trainAccuracy = state.partial.correct / state.partial.samples;

    const evalStart = performance.now();
    const validation = hasValidation ? await engine.evaluate('validation') : undefined;
    const evalSeconds = (performance.now() - evalStart) / 1000;
    const snapshot = await takeSnapshot();
    if (isOutcome(snapshot)) return snapshot;
    const record: EpochRecord = {
      epoch: epoch + 1,
      trainLoss,
      trainAccuracy,
      valLoss: validation?.loss,
      valAccuracy: validation?.accuracy,
      lr: lastLr,
      seconds,
      samplesPerSecond: state.partial.samples / seconds,
      evalSeconds,
    };
    state.history.push(record);
    state.epoch += 1;
    state.step = 0;
    state.partial = { lossSum: 0, correct: 0, samples: 0, seconds: 0 };
    epochStart = performance.now();

    let improved = false;
    if (validation) {
      improved = !state.best || validation.accuracy > state.best.valAccuracy;
      if (improved) {
        state.best = { epoch: epoch + 1, valAccuracy: validation.accuracy, valLoss: validation.loss };
        state.epochsSinceBest = 0;
        bestParams = snapshot.params;
      } else {
        state.epochsSinceBest += 1;
      }
    }
    await hooks.epochEnd?.(record, state, improved, snapshot);
    if (config.patience > 0 && state.epochsSinceBest >= config.patience && state.epoch < config.epochs) {
      return { reason: 'early-stopped', state, bestParams };
    }
  }
  return { reason: 'completed', state, bestParams };
}
