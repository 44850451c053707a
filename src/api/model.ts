// The public model: an MLP whose parameters live on a Gpu (or in the CPU reference), trained by fit,
// measured by evaluate, used by predict, saved and loaded as safetensors bytes (the CLI's checkpoint
// format, both ways), freed by dispose. It drives the same trainer, plans and kernels as the CLI.
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../checkpoint/checkpoint.ts';
import { checkFitsModel, Dataset, type Features } from '../data/dataset.ts';
import { DataError } from '../data/idx.ts';
import { MlpError } from '../errors.ts';
import { describeInit, initialParams } from '../model/init.ts';
import { classCount, describeSpec, inputSize, type ModelSpec } from '../model/spec.ts';
import { denseLayers, paramLayout } from '../model/tensors.ts';
import { optimizerConfig } from '../model/optimizer.ts';
import { ReferenceMlp } from '../reference/mlp.ts';
import { CpuBackend, GpuBackend, type EnginePrepare, type ModelBackend } from '../train/backend.ts';
import { ConfigError, configFromJson, type TrainConfig } from '../train/config.ts';
import type { EngineSetup, TrainingEngine } from '../train/engine.ts';
import { confusionMatrix, perClassAccuracy } from '../train/metrics.ts';
import { MODEL_OPTIONS, optionsOf, readOptions, resolveConfig, TRAIN_OPTIONS, type TrainOptions } from '../train/options.ts';
import { modelInput } from '../train/inference.ts';
import { affineOf, applyAffine, computeStandardization, type Standardization } from '../data/standardize.ts';
import type { CheckpointData } from '../checkpoint/checkpoint.ts';
import { subset, trainingSplit } from '../train/split.ts';
import {
  initialTrainerState,
  runTrainer,
  type Divergence,
  type EpochRecord,
  type ProgressEvent,
  type TrainerHooks,
  type TrainerSnapshot,
  type TrainerState,
  type TrainOutcome,
} from '../train/trainer.ts';
import { progressOnce, recoveryLimitMessage, resolveRecovery, type HostSnapshot, type RecoverOptions, type Recovery } from '../train/recovery.ts';
import { VERSION } from '../version.ts';
import { workspaceOf, type Gpu } from './gpu.ts';

/** Where a model lives: a {@link Gpu}, or 'cpu' for the CPU reference (float64 loops: slow, exact). */
export type Backend = Gpu | 'cpu';

/**
 * Training options: {@link TrainOptions} in camelCase, or any of them in kebab-case as a search file
 * would write them (`'batch-size': 64`). Every value is checked when the model is made.
 */
export type Options = Partial<TrainOptions> | Readonly<Record<string, unknown>>;

/** Where a fit stands after an epoch or a mid-epoch checkpoint: passed to the fit's callbacks. */
export interface CheckpointInfo {
  /** Optimizer steps done since the fit (or the run it resumes) began. */
  readonly step: number;
  /** The records of the epochs ended so far (of the whole run, when resumed). */
  readonly history: readonly EpochRecord[];
  /** The epoch in progress (1-based) and the steps of it done; 0 steps: at the end of the epoch before. */
  readonly epoch: number;
  readonly stepInEpoch: number;
  /**
   * The model at this point as safetensors bytes. `resumable` adds the optimizer state and the
   * training state, so that {@link loadModel} then `fit(train, { resume: true })` continues exactly here.
   */
  checkpoint(options?: { readonly resumable?: boolean }): Uint8Array;
}

/** What {@link FitControl.onEpochEnd} gets beside the epoch's record. */
export interface EpochInfo extends CheckpointInfo {
  /** The epoch's validation accuracy is the best so far (the weights early stopping would keep). */
  readonly improved: boolean;
}

/** What {@link Model.fit} takes beyond the training options. */
export interface FitControl {
  /** A validation set; without it `valSplit` samples are held out of the training set (0: none). */
  readonly validation?: Dataset;
  /** Aborting stops at the next steps; the fit returns with reason 'interrupted', resumable. */
  readonly signal?: AbortSignal;
  /**
   * Called once the fit is set up, before its first step: the sets it trains and validates on, its
   * steps per epoch, and what getting ready took (`setup`: plans built and every pipeline compiled;
   * null when the fit continued on the previous fit's engine, or on the CPU).
   */
  readonly onStart?: (info: { readonly trainCount: number; readonly validationCount: number; readonly stepsPerEpoch: number; readonly setup: EngineSetup | null }) => void;
  /**
   * What the caller will do once the fit ends: sets it will evaluate (with the fit's evaluation batch
   * size) and whether it will predict. Their plans are built and their pipelines compiled with the
   * fit's, before its first step, so that no compilation lands inside the timed training or later.
   */
  readonly prepare?: { readonly evaluate?: readonly Dataset[]; readonly predict?: boolean };
  /**
   * The matrix-product variant of each product, by key (what `onStart`'s `setup.kernels` reported, and
   * a run's config.json records): the fit computes exactly as that one did, so a resumed run stays
   * bit for bit the same even if the adapter's measured choices changed since.
   */
  readonly kernels?: Readonly<Record<string, string>>;
  /**
   * Time the kernel variants of this model's products on this adapter before the first step and
   * keep the fastest (remembered per adapter and driver). Default: on GPU adapters, for products not
   * measured before (≤ 2 s, once); on CPU adapters (lavapipe, SwiftShader) only when true.
   */
  readonly tune?: boolean;
  /** Called a few times per epoch (see `progressEvery`) with the epoch's running loss and accuracy. */
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Optimizer steps between progress events (default: a tenth of an epoch). */
  readonly progressEvery?: number;
  /** Called after each epoch's validation; awaited (save checkpoints here). */
  readonly onEpochEnd?: (record: EpochRecord, info: EpochInfo) => void | Promise<void>;
  /** Optimizer steps between onCheckpoint calls within epochs (0: none). */
  readonly checkpointEvery?: number;
  readonly onCheckpoint?: (info: CheckpointInfo) => void | Promise<void>;
  /** When training ends (completed or early-stopped), keep the best validation epoch's weights (default true). */
  readonly restoreBest?: boolean;
  /**
   * Continue the fit this model was in when it was interrupted (or saved resumable and loaded):
   * same config, same step, bit-identical to an uninterrupted fit. `best`: the best epoch's
   * checkpoint (safetensors bytes), when it was saved elsewhere; otherwise a resumed fit restores
   * the best epoch only if it saw it.
   */
  readonly resume?: boolean | { readonly best?: Uint8Array };
  /**
   * Device-loss recovery (on by default; GPU models of a Gpu that openGpu opened): when the device
   * is lost, the fit opens a new one, restores its last snapshot on the host and goes on, ending
   * with the weights an uninterrupted fit would have. `false` turns it off: a loss then ends the fit
   * with an MlpError 'DEVICE_LOST', as it does after `maxRecoveries` losses.
   */
  readonly recover?: boolean | RecoverOptions;
  /** Called after each recovery from a lost device (also listed in the result's `recoveries`). */
  readonly onRecovery?: (recovery: Recovery) => void;
}

/** Options of {@link Model.fit}: training options and {@link FitControl}. */
export type FitOptions = Partial<TrainOptions> & FitControl;

/** Why a fit ended: it ran its epochs, early stopping ended it, the signal interrupted it (resumable), or it diverged. */
export type FitStatus = 'completed' | 'early-stopped' | 'interrupted' | 'diverged';

/** How a fit ended and what it recorded. */
export interface FitResult {
  /** 'completed', 'early-stopped', 'interrupted' (by the signal: resumable) or 'diverged'. */
  readonly status: FitStatus;
  /** One record per epoch (of the whole run, when resumed). */
  readonly history: readonly EpochRecord[];
  /** The best validation epoch; null without a validation set. */
  readonly best: { readonly epoch: number; readonly valAccuracy: number; readonly valLoss: number } | null;
  /** Whether the model now holds the best validation epoch's weights. */
  readonly restoredBest: boolean;
  /** For 'diverged': what went non-finite, and when. */
  readonly divergence?: Divergence;
  /** Optimizer steps done (of the whole run, when resumed). */
  readonly steps: number;
  /** The device losses this fit recovered from (empty when none). */
  readonly recoveries: readonly Recovery[];
  /** The resolved configuration the fit trained with. */
  readonly config: TrainConfig;
  readonly trainCount: number;
  readonly validationCount: number;
  /** Wall time of this call. */
  readonly seconds: number;
  /** Getting ready before the first step (plans built, pipelines compiled): null when no engine was built (see FitControl.onStart). */
  readonly setup: EngineSetup | null;
}

/** What {@link Model.evaluate} measures on a labelled dataset. */
export interface Evaluation {
  /** Mean loss per sample. */
  readonly loss: number;
  readonly accuracy: number;
  readonly correct: number;
  readonly count: number;
  /** Predicted class per sample, in the dataset's order. */
  readonly predictions: Uint32Array;
  /** counts[true][predicted], classes × classes. */
  readonly confusionMatrix: number[][];
  /** Recall per class (the diagonal over the row sums). */
  readonly perClassAccuracy: number[];
}

/** What {@link Model.predict} returns for its rows. */
export interface Predictions {
  readonly count: number;
  readonly classes: number;
  /** [count, classes] row-major: the last layer's outputs. */
  readonly logits: Float32Array;
  /** [count, classes] row-major: softmax of the logits (computed in float64). */
  readonly probabilities: Float32Array;
  /** [count]: the most probable class of each row. */
  readonly predicted: Uint32Array;
}

/** One dense layer's parameters, in PyTorch's nn.Linear layout. */
export interface LayerWeights {
  /** [outputs, inputs] row-major. */
  readonly weight: Float32Array;
  /** [outputs] */
  readonly bias: Float32Array;
  readonly inputs: number;
  readonly outputs: number;
}

/** Where an interrupted fit stands: its trainer state, and the optimizer state while it is not on an engine. */
interface Pending {
  readonly config: TrainConfig;
  readonly state: TrainerState;
  readonly optimizerState?: readonly Float32Array[];
}

/** The engine of the last fit, kept so that a resumed or repeated fit continues on it. */
interface Training {
  readonly engine: TrainingEngine;
  readonly key: string;
  /** The device (workspace generation) the engine was built on. */
  readonly generation: number;
}

/**
 * What a fit keeps on the host while it runs (see src/train/recovery.ts): the last good state, where
 * a lost device's replacement goes on from (the fit's start, then every snapshot, checkpoint and
 * epoch end), and the best epoch's weights so far.
 */
class HostTrack {
  last: HostSnapshot | undefined;

  constructor(public bestParams: Float32Array | undefined) {}

  keep(state: TrainerState, snapshot: TrainerSnapshot): void {
    this.last = { state: structuredClone(state), params: snapshot.params, optimizerState: snapshot.optimizerState, bestParams: this.bestParams };
  }
}

/** One fit's training, as Model.trainRecovering runs it. */
interface FitRun {
  readonly engine: TrainingEngine;
  readonly config: TrainConfig;
  readonly sets: { readonly train: Dataset; readonly validation: Dataset | undefined };
  readonly request: EnginePrepare;
  readonly trainerConfig: Parameters<typeof runTrainer>[1];
  readonly hooks: TrainerHooks;
  readonly track: HostTrack;
  /** Where a resumed fit starts (undefined: from the beginning). */
  readonly state: TrainerState | undefined;
  readonly recovery: Required<RecoverOptions>;
  readonly signal: AbortSignal | undefined;
  readonly onRecovery: ((recovery: Recovery) => void) | undefined;
}

/** A multi-layer perceptron on a {@link Gpu} or the CPU reference. Make one with {@link createModel} or {@link loadModel}. */
export class Model {
  /** Layer widths, activation, loss and dropout. */
  readonly spec: ModelSpec;
  private current: TrainConfig;
  private readonly backend: ModelBackend;
  private training: Training | undefined;
  private pending: Pending | undefined;
  /** The best validation epoch's weights the last fit saw (host copy). */
  private bestParams: Float32Array | undefined;
  private disposed = false;
  /** What the model takes and names: learned from its first fit's data, or read from its checkpoint. */
  private data: CheckpointData;
  /** Made by createModel and not fitted yet: its first fit decides the data it takes (and standardizes). */
  private fresh: boolean;

  /** @internal Use {@link createModel} or {@link loadModel}. */
  constructor(backend: unknown, config: TrainConfig, params: Float32Array, pending?: unknown, data?: unknown) {
    this.backend = backend as ModelBackend;
    this.spec = config.spec;
    this.current = config;
    this.pending = pending as Pending | undefined;
    this.data = (data as CheckpointData | undefined) ?? {};
    this.fresh = data === undefined;
    try {
      this.backend.writeParams(params);
      if (this.data.standardization) this.backend.setInputAffine(affineOf(this.data.standardization));
    } catch (error) {
      this.backend.dispose();
      throw error;
    }
  }

  /** The resolved configuration: the one the model was made with, or of its last fit. */
  get config(): TrainConfig {
    return this.current;
  }

  /** 'gpu' or 'cpu' (the CPU reference). */
  get device(): 'gpu' | 'cpu' {
    return this.backend.device;
  }

  /** The adapter the model runs on, or "CPU reference". */
  get deviceName(): string {
    return this.backend.description;
  }

  get inputSize(): number {
    return inputSize(this.spec);
  }

  get classes(): number {
    return classCount(this.spec);
  }

  /** Weights and biases (padding excluded). */
  get parameterCount(): number {
    return paramLayout(this.spec).parameterCount;
  }

  /** Device memory this model holds (parameters, training buffers, plans; not its datasets). */
  get deviceBytes(): number {
    return this.backend.deviceBytes + (this.training?.engine.deviceBytes ?? 0);
  }

  /** The class names, one per output (from the first fit's data, or the checkpoint); absent: classes are their indices. */
  get classNames(): readonly string[] | undefined {
    return this.data.classNames;
  }

  /** The feature (column) names, one per input, when the model was trained on a table with a header. */
  get featureNames(): readonly string[] | undefined {
    return this.data.featureNames;
  }

  /** The label column a table model was trained on. */
  get labelName(): string | undefined {
    return this.data.labelName;
  }

  /** The feature type it trained on: 'u8' (pixels, / 255) or 'f32' (values); undefined before its first fit. */
  get featureType(): 'u8' | 'f32' | undefined {
    return this.data.features;
  }

  /**
   * The per-feature standardization the model applies to f32 inputs, (x − mean) / std: computed by
   * its first fit on float features from the training split (option `standardize`, default on),
   * saved and loaded with it. Undefined when it has none. Copies.
   */
  get standardization(): Standardization | undefined {
    const s = this.data.standardization;
    return s && { mean: Float32Array.from(s.mean), std: Float32Array.from(s.std) };
  }

  /** The class name of class c: its name, or its index as text. */
  className(c: number): string {
    return this.data.classNames?.[c] ?? String(c);
  }

  /**
   * Before a fit: the first fit of a new model learns what its data is (feature type, names,
   * classes) and, for float features with `standardize` on, the training split's standardization.
   * Later fits and loaded models check that the data names the same classes and features.
   */
  private adoptData(train: Dataset, trainSplit: Dataset, config: TrainConfig, resuming: boolean): void {
    if (!this.fresh || resuming) {
      this.checkNames(train, `training set "${train.name}"`);
      return;
    }
    const standardization = train.features instanceof Float32Array && config.standardize ? computeStandardization(trainSplit.features as Float32Array, trainSplit.inputSize) : undefined;
    this.data = {
      features: train.featureType,
      ...(train.featureNames ? { featureNames: train.featureNames } : {}),
      ...(train.labelName !== undefined ? { labelName: train.labelName } : {}),
      ...(train.classNames ? { classNames: train.classNames } : {}),
      ...(standardization ? { standardization } : {}),
    };
    if (standardization) this.backend.setInputAffine(affineOf(standardization));
    this.fresh = false;
  }

  /** Throws when `set` names its classes or features otherwise than the model. */
  private checkNames(set: Dataset, source: string): void {
    const same = (a: readonly string[] | undefined, b: readonly string[] | undefined) => !a || !b || (a.length === b.length && a.every((x, i) => x === b[i]));
    const show = (names: readonly string[]) => names.slice(0, 8).join(', ') + (names.length > 8 ? `, … (${names.length})` : '');
    if (!same(set.classNames, this.data.classNames)) {
      throw new DataError(`${source}: its classes (${show(set.classNames!)}) are not the model's (${show(this.data.classNames!)}), index for index`);
    }
    if (!same(set.featureNames, this.data.featureNames)) {
      throw new DataError(`${source}: its features (${show(set.featureNames!)}) are not the model's (${show(this.data.featureNames!)}), in order`);
    }
  }

  /** The first layer's inputs for features: u8 / 255, f32 through the model's standardization. */
  private inputsOf(features: Features): Float32Array {
    const x = modelInput(features);
    const s = this.data.standardization;
    return s && features instanceof Float32Array ? applyAffine(x, affineOf(s)) : x;
  }

  /** Whether `fit(train, { resume: true })` has a fit to continue. */
  get resumable(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Where the fit that `fit(train, { resume: true })` would continue stands: the epoch in progress (0-based)
   * and the steps of it done, optimizer steps in all, and whether it has a best epoch yet.
   */
  get resumePoint(): { readonly epoch: number; readonly step: number; readonly t: number; readonly hasBest: boolean } | undefined {
    const state = this.pending?.state;
    return state && { epoch: state.epoch, step: state.step, t: state.t, hasBest: state.best !== null };
  }

  /** The parameters of a checkpoint of this very model (same spec), flat. */
  private paramsOf(bytes: Uint8Array, source: string): Float32Array {
    const checkpoint = decodeCheckpoint(bytes, source);
    if (describeSpec(checkpoint.spec) !== describeSpec(this.spec) || checkpoint.spec.layers.join() !== this.spec.layers.join()) {
      throw new MlpError('CHECKPOINT', `${source}: a model ${describeSpec(checkpoint.spec)}, not this ${describeSpec(this.spec)}`);
    }
    return checkpoint.params;
  }

  private check(): void {
    if (this.disposed) throw new MlpError('STATE', 'this model was disposed');
  }

  /**
   * Trains on `train` with the model's options, overridden by `options` (any training option but
   * the model's shape: layers, activation, loss, dropout, init). Validation comes from
   * `options.validation`, else `valSplit` samples held out of `train`. Returns when training ends:
   * completed, early-stopped (patience), interrupted (signal; resumable) or diverged.
   */
  async fit(train: Dataset, options: FitOptions = {}): Promise<FitResult> {
    this.check();
    const started = performance.now();
    const { validation: givenValidation, signal, onStart, onProgress, progressEvery, onEpochEnd, checkpointEvery, onCheckpoint, restoreBest, resume, recover, onRecovery, prepare, kernels, tune, ...rest } = options;
    const recovery = resolveRecovery(recover);
    const resuming = resume !== undefined && resume !== false;
    const overrides = readOptions(rest as Readonly<Record<string, unknown>>);
    const config = resuming ? this.resumeConfig(overrides) : this.fitConfig(overrides);
    const sets = this.fitSets(train, givenValidation, config, resuming);

    const recovering = recovery.maxRecoveries > 0 && this.backend.device === 'gpu';
    // A device lost before the fit (between fits, or one that gave up): replaced before anything is built on it.
    if (recovering) await this.backend.recoverIfLost();
    const previous = this.training?.engine;
    const request = { ...prepare, kernels, tune };
    const engine = await this.engineFor(config, sets.train, sets.validation, request);
    const setup = engine !== previous ? (engine.setup ?? null) : null;
    let state: TrainerState | undefined;
    if (resuming) {
      const pending = this.pending!;
      state = pending.state;
      if (pending.optimizerState) engine.writeOptimizerState(pending.optimizerState);
    }
    const track = new HostTrack(typeof resume === 'object' && resume.best ? this.paramsOf(resume.best, 'the best checkpoint') : undefined);
    // Recovery's first restart point: the fit's start.
    if (recovering) track.keep(state ?? initialTrainerState(), { params: await engine.readParams(), optimizerState: await engine.readOptimizerState() });
    const snapshotInfo = (state: TrainerState, snapshot: TrainerSnapshot): CheckpointInfo => ({
      step: state.t,
      history: state.history,
      epoch: state.step === 0 ? state.epoch : state.epoch + 1,
      stepInEpoch: state.step,
      checkpoint: (o = {}) => this.encode(config, snapshot.params, o.resumable ? { state, optimizerState: snapshot.optimizerState } : undefined),
    });
    const stepsPerEpoch = engine.stepsPerEpoch;
    onStart?.({ trainCount: sets.train.count, validationCount: sets.validation?.count ?? 0, stepsPerEpoch, setup });
    const trainerConfig = {
      ...config,
      progressPerEpoch: progressEvery ? Math.ceil(stepsPerEpoch / Math.max(1, progressEvery)) : 10,
      checkpointEvery: onCheckpoint ? (checkpointEvery ?? 0) : 0,
      snapshotEvery: recovering ? recovery.snapshotEvery : 0,
    };
    const hooks: TrainerHooks = {
      // Steps replayed after a recovery are not reported twice.
      progress: onProgress && progressOnce(onProgress, state?.t ?? 0),
      snapshot: (s, snapshot) => track.keep(s, snapshot),
      checkpoint: async (s, snapshot) => {
        track.keep(s, snapshot);
        await onCheckpoint?.(snapshotInfo(s, snapshot));
      },
      epochEnd: async (record, s, improved, snapshot) => {
        if (improved) track.bestParams = snapshot.params;
        track.keep(s, snapshot);
        await onEpochEnd?.(record, { ...snapshotInfo(s, snapshot), improved });
      },
    };
    const run = await this.trainRecovering({ engine, config, sets, request, trainerConfig, hooks, track, state, recovery, signal, onRecovery });
    const restoredBest = await this.endFit(run.engine, run.outcome, track, config, restoreBest !== false);
    const { outcome } = run;
    return {
      status: outcome.reason,
      history: outcome.state.history,
      best: outcome.state.best,
      restoredBest,
      ...(outcome.divergence ? { divergence: outcome.divergence } : {}),
      steps: outcome.state.t,
      recoveries: run.recoveries,
      config,
      trainCount: sets.train.count,
      validationCount: sets.validation?.count ?? 0,
      seconds: (performance.now() - started) / 1000,
      setup,
    };
  }

  /** The sets a fit trains and validates on, checked against the model, with the training data adopted (see adoptData). */
  private fitSets(train: Dataset, givenValidation: Dataset | undefined, config: TrainConfig, resuming: boolean): { train: Dataset; validation: Dataset | undefined } {
    if (!(train instanceof Dataset)) throw new DataError(`fit: the training set must be a Dataset, found ${typeof train}`);
    checkFitsModel(train, this.inputSize, this.classes, `training set "${train.name}"`);
    const split = givenValidation ? { train: subset(train, config.trainSubset), validation: givenValidation } : trainingSplit(train, config);
    if (split.validation) checkFitsModel(split.validation, this.inputSize, this.classes, `validation set "${split.validation.name}"`);
    if (config.patience > 0 && !split.validation) throw new ConfigError('patience needs a validation set: pass validation, or a valSplit above 0');
    this.adoptData(train, split.train, config, resuming);
    if (split.validation) this.checkNames(split.validation, `validation set "${split.validation.name}"`);
    return { train: split.train, validation: split.validation };
  }

  /**
   * Runs the trainer; when the device is lost (and recovery allows), opens a new one, rebuilds the
   * engine there, restores the last host snapshot and goes on, until the trainer returns.
   */
  private async trainRecovering(run: FitRun): Promise<{ engine: TrainingEngine; outcome: TrainOutcome; recoveries: Recovery[] }> {
    const { config, sets, request, track, recovery } = run;
    let { engine, state } = run;
    const recoveries: Recovery[] = [];
    /** Devices replaced in this fit (a loss while a new one was being set up counts too). */
    let replaced = 0;
    let submitted = state?.t ?? 0;
    /** Set after a loss: the new device's engine is still to build, and then the recovery to report. */
    let rebuild: (Omit<Recovery, 'seconds'> & { began: number; snapshot: HostSnapshot }) | undefined;
    for (;;) {
      const generation = this.backend.generation;
      try {
        if (rebuild) {
          const { began, snapshot, ...lost } = rebuild;
          engine = await this.engineFor(config, sets.train, sets.validation, request);
          this.backend.writeParams(snapshot.params);
          engine.writeOptimizerState(snapshot.optimizerState);
          const event: Recovery = { ...lost, seconds: (performance.now() - began) / 1000 };
          rebuild = undefined;
          recoveries.push(event);
          run.onRecovery?.(event);
        }
        const outcome = await runTrainer(engine, run.trainerConfig, run.hooks, { resume: state, bestParams: track.bestParams, signal: run.signal, onSubmit: (t) => (submitted = t) });
        return { engine, outcome, recoveries };
      } catch (error) {
        const snapshot = track.last;
        if (!snapshot || !(await this.backend.isDeviceLoss(error, generation))) {
          this.backend.remember(undefined); // the device alone knows where training stopped
          throw error;
        }
        // What the host holds stays this model's: after gpu.recover(), save({ resumable: true }) or fit({ resume: true }) go on from it.
        this.backend.remember(snapshot.params);
        this.bestParams = snapshot.bestParams;
        this.pending = { config, state: snapshot.state, optimizerState: snapshot.optimizerState };
        const reason = this.backend.lostReason(generation) ?? (error as Error).message;
        if (replaced >= recovery.maxRecoveries) throw new MlpError('DEVICE_LOST', recoveryLimitMessage(reason, recovery.maxRecoveries), { cause: error });
        const began = performance.now();
        await this.backend.recoverDevice(generation);
        replaced += 1;
        state = snapshot.state;
        track.bestParams = snapshot.bestParams;
        rebuild = { count: replaced, reason, lostAt: submitted, restoredAt: snapshot.state.t, replayed: submitted - snapshot.state.t, began: rebuild?.began ?? began, snapshot };
      }
    }
  }

  /**
   * What the model holds after a fit: the trained engine, the host's copy of the weights where it
   * knows them, where a later fit may resume, and (finished, if asked) the best epoch's weights.
   * Returns whether those were restored.
   */
  private async endFit(engine: TrainingEngine, outcome: TrainOutcome, track: HostTrack, config: TrainConfig, restoreBest: boolean): Promise<boolean> {
    await this.backend.adoptTrained(engine);
    if (outcome.snapshot) track.keep(outcome.state, outcome.snapshot);
    // The host knows the weights where training stopped when its last snapshot is of that step.
    const final = track.last?.state.t === outcome.state.t && outcome.reason !== 'diverged' ? track.last : undefined;
    this.backend.remember(final?.params);
    this.bestParams = outcome.bestParams;
    this.pending = outcome.reason === 'interrupted' || outcome.reason === 'completed' || outcome.reason === 'early-stopped'
      ? { config, state: outcome.state, ...(final ? { optimizerState: final.optimizerState } : {}) }
      : undefined;
    const finished = outcome.reason === 'completed' || outcome.reason === 'early-stopped';
    const restoredBest = finished && restoreBest && outcome.bestParams !== undefined;
    if (restoredBest) this.backend.writeParams(outcome.bestParams!);
    // A finished fit that restored the best weights cannot be continued: its engine no longer holds where it ended.
    if (restoredBest) this.pending = undefined;
    this.current = config;
    return restoredBest;
  }

  /**
   * Runs work on the model's device; if the device is lost meanwhile, opens a new one (as
   * {@link Gpu.recover} does; the weights come back from their host copy) and runs it again, once.
   */
  private async onDevice<T>(work: () => Promise<T>): Promise<T> {
    const generation = this.backend.generation;
    try {
      return await work();
    } catch (error) {
      if (!(await this.backend.isDeviceLoss(error, generation))) throw error;
      await this.backend.recoverDevice(generation);
      return work();
    }
  }

  /** This model's config with `overrides`; the model's shape cannot change. */
  private fitConfig(overrides: Partial<TrainOptions>): TrainConfig {
    const config = resolveConfig(optionsOf(this.current) as unknown as Record<string, unknown>, overrides as Record<string, unknown>);
    const shape = (c: TrainConfig) => `${describeSpec(c.spec)}, init ${describeInit(c.init)}`;
    if (shape(config) !== shape(this.current)) {
      const given = MODEL_OPTIONS.filter((key) => key in overrides);
      throw new ConfigError(`${given.join(', ')} cannot change once a model exists (it is ${shape(this.current)}); create another model`);
    }
    return config;
  }

  /** The interrupted fit's config: resuming continues it as it was, so no option may change. */
  private resumeConfig(overrides: Partial<TrainOptions>): TrainConfig {
    if (!this.pending) throw new MlpError('STATE', 'there is no fit to resume: fit was not interrupted, or the model was not loaded from a resumable checkpoint');
    const given = Object.keys(overrides);
    if (given.length) throw new ConfigError(`resume continues a fit with its saved settings; drop ${given.join(', ')}`);
    return this.pending.config;
  }

  /** The engine for `config` on these sets: the last fit's if it matches (its optimizer state continues), else a new one. */
  private async engineFor(config: TrainConfig, train: Dataset, validation: Dataset | undefined, prepare?: EnginePrepare): Promise<TrainingEngine> {
    // An engine lives on one device: after a recovery (a new generation) it is built again.
    const generation = this.backend.generation;
    const key = JSON.stringify([config.optimizer, config.batchSize, config.stepsPerSubmit, config.seed, config.evalBatchSize, idOf(train), validation ? idOf(validation) : null, generation]);
    if (this.training?.key === key) return this.training.engine;
    // An interrupted fit continued on other sets: its optimizer state moves to the new engine.
    if (this.training && this.training.generation === generation && this.pending && !this.pending.optimizerState) {
      this.pending = { ...this.pending, optimizerState: await this.training.engine.readOptimizerState() };
    }
    this.training?.engine.close();
    this.training = undefined;
    const engine = await this.backend.createEngine(config, { train, ...(validation ? { validation } : {}) }, prepare);
    this.training = { engine, key, generation };
    return engine;
  }

  /**
   * Ends an interrupted fit (or one run with restoreBest: false) the way a completed one ends: the
   * model takes the weights of the best validation epoch that fit saw. Returns false when there are
   * none (no validation set, or no epoch finished); the weights then stay as they are.
   */
  restoreBestWeights(): boolean {
    this.check();
    if (!this.bestParams) return false;
    this.backend.writeParams(this.bestParams);
    this.pending = undefined;
    return true;
  }

  /** Loss, accuracy, predictions and confusion matrix on a labelled dataset (no dropout). */
  async evaluate(data: Dataset, options: { readonly batchSize?: number } = {}): Promise<Evaluation> {
    this.check();
    checkFitsModel(data, this.inputSize, this.classes, data.name);
    this.checkNames(data, data.name);
    const result = await this.onDevice(() => this.backend.evaluate(data, options.batchSize ?? this.current.evalBatchSize));
    const matrix = confusionMatrix(result.predictions, data.labels, this.classes);
    return { ...result, confusionMatrix: matrix, perClassAccuracy: perClassAccuracy(matrix) };
  }

  /**
   * Class probabilities of any number of rows: a Dataset (labels unused), or features [rows, inputs]
   * (Uint8Array pixels, scaled by 1/255 as in training, or Float32Array values). Runs in batches.
   */
  async predict(input: Dataset | Features): Promise<Predictions> {
    this.check();
    const features = input instanceof Dataset ? input.features : input;
    if (!(features instanceof Uint8Array) && !(features instanceof Float32Array)) {
      throw new DataError(`predict: expected a Dataset, a Uint8Array or a Float32Array, found ${typeof input}`);
    }
    const IN = this.inputSize;
    const count = features.length / IN;
    if (!Number.isInteger(count) || count < 1) throw new DataError(`predict: ${features.length} values are not whole rows of the model's ${IN} inputs`);
    const C = this.classes;
    const rows = this.inputsOf(features);
    const logits = await this.onDevice(() => this.backend.logits(rows));
    const probabilities = new Float32Array(logits.length);
    const predicted = new Uint32Array(count);
    for (let r = 0; r < count; r++) {
      let max = -Infinity;
      let best = 0;
      for (let c = 0; c < C; c++) {
        if (logits[r * C + c] > max) {
          max = logits[r * C + c];
          best = c;
        }
      }
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(logits[r * C + c] - max);
      for (let c = 0; c < C; c++) probabilities[r * C + c] = Math.exp(logits[r * C + c] - max) / sum;
      predicted[r] = best;
    }
    return { count, classes: C, logits, probabilities, predicted };
  }

  /**
   * Every layer's outputs after its activation (no dropout), for a few rows of inputs: the hidden
   * layers' activations and, last, the logits. Computed by the CPU reference in float64.
   */
  async activations(input: Features): Promise<Float64Array[]> {
    this.check();
    const rows = input.length / this.inputSize;
    if (!Number.isInteger(rows) || rows < 1) throw new DataError(`activations: ${input.length} values are not whole rows of the model's ${this.inputSize} inputs`);
    const mlp = new ReferenceMlp(this.spec, optimizerConfig('sgd'), await this.onDevice(() => this.backend.readParams()));
    return mlp.forward(this.inputsOf(input), rows, false).a;
  }

  /** Each dense layer's weight [outputs, inputs] and bias [outputs], copied to the host. */
  async getWeights(): Promise<LayerWeights[]> {
    this.check();
    const params = await this.onDevice(() => this.backend.readParams());
    return denseLayers(this.spec).map((layer) => ({
      weight: params.slice(layer.weight.offset, layer.weight.offset + layer.weight.size),
      bias: params.slice(layer.bias.offset, layer.bias.offset + layer.bias.size),
      inputs: layer.in,
      outputs: layer.out,
    }));
  }

  /** Sets every layer's weight and bias (shapes as {@link Model.getWeights} returns them). */
  setWeights(layers: readonly Pick<LayerWeights, 'weight' | 'bias'>[]): void {
    this.check();
    const dense = denseLayers(this.spec);
    if (layers.length !== dense.length) throw new DataError(`setWeights: ${layers.length} layers given, the model has ${dense.length}`);
    const params = new Float32Array(paramLayout(this.spec).totalElements);
    dense.forEach((layer, l) => {
      for (const [role, tensor] of [['weight', layer.weight], ['bias', layer.bias]] as const) {
        const values = layers[l][role];
        if (!(values instanceof Float32Array) || values.length !== tensor.size) {
          throw new DataError(`setWeights: layer ${l} ${role} must be a Float32Array of ${tensor.size} values ([${tensor.shape.join(', ')}]), found ${values?.length ?? values}`);
        }
        params.set(values, tensor.offset);
      }
    });
    this.backend.writeParams(params);
    this.pending = undefined;
  }

  /**
   * The model as safetensors bytes: the CLI's checkpoint format (PyTorch's nn.Linear names; the
   * spec and config in the metadata). `resumable` adds the optimizer and training state of an
   * interrupted (or finished) fit, for {@link loadModel} and `fit(train, { resume: true })`.
   */
  async save(options: { readonly resumable?: boolean } = {}): Promise<Uint8Array> {
    this.check();
    const params = await this.onDevice(() => this.backend.readParams());
    if (!options.resumable) return this.encode(this.current, params, undefined);
    const pending = this.pending;
    if (!pending) throw new MlpError('STATE', 'nothing to save for resuming: this model has no fit in progress (fit was not interrupted)');
    const optimizerState = pending.optimizerState ?? (await this.training!.engine.readOptimizerState());
    return this.encode(pending.config, params, { state: pending.state, optimizerState });
  }

  private encode(config: TrainConfig, params: Float32Array, training: { state: TrainerState; optimizerState: readonly Float32Array[] } | undefined): Uint8Array {
    const checkpoint: Checkpoint = {
      spec: this.spec,
      params,
      version: VERSION,
      config,
      ...(this.fresh ? {} : { data: this.data }),
      ...(training ? { optimizer: { config: config.optimizer, state: training.optimizerState }, training: { trainer: training.state } } : {}),
    };
    return encodeCheckpoint(checkpoint);
  }

  /** Frees every GPU buffer this model made (its datasets stay on the Gpu until released). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.training?.engine.close();
    this.training = undefined;
    this.pending = undefined;
    this.bestParams = undefined;
    this.backend.dispose();
  }
}

/** A stable identity per dataset object (datasets are immutable): engines are reused only on the same ones. */
const ids = new WeakMap<Dataset, number>();
let nextId = 1;
function idOf(set: Dataset): number {
  let id = ids.get(set);
  if (id === undefined) {
    id = nextId++;
    ids.set(set, id);
  }
  return id;
}

function backendFor(backend: Backend, spec: ModelSpec): ModelBackend {
  if (backend === 'cpu') return new CpuBackend(spec);
  return new GpuBackend(workspaceOf(backend), spec);
}

/**
 * A new model with freshly initialised weights: `options` are the training options (the CLI's
 * flags in camelCase or kebab-case), every one optional; `layers` gives the shape. They are checked
 * here (ConfigError, code 'CONFIG', names the option) and become the defaults of every fit.
 */
export async function createModel(backend: Backend, options: Options = {}): Promise<Model> {
  const config = resolveConfig(options as Readonly<Record<string, unknown>>);
  return new Model(backendFor(backend, config.spec), config, initialParams(config.spec, config.init, config.seed));
}

/**
 * A model from safetensors bytes (Model.save, the CLI's best.safetensors or last.safetensors, or a
 * PyTorch state_dict saved with the spec in the metadata). A resumable checkpoint keeps its training
 * state: `fit(train, { resume: true })` continues it. `source` names the bytes in errors.
 */
export async function loadModel(backend: Backend, bytes: Uint8Array, options: { readonly source?: string } = {}): Promise<Model> {
  const source = options.source ?? 'checkpoint';
  const checkpoint = decodeCheckpoint(bytes, source);
  const { spec } = checkpoint;
  const config = checkpoint.config === undefined ? resolveConfig({ layers: [...spec.layers], activation: spec.activation, loss: spec.loss, dropout: spec.dropout }) : configFromJson(checkpoint.config, source);
  const trainer = (checkpoint.training as { trainer?: TrainerState } | undefined)?.trainer;
  const pending = trainer && checkpoint.optimizer ? { config: { ...config, spec }, state: trainer, optimizerState: checkpoint.optimizer.state } : undefined;
  // A checkpoint without data metadata (before 0.3, or PyTorch's) loads as a model that was fitted: it standardizes nothing.
  return new Model(backendFor(backend, spec), { ...config, spec }, checkpoint.params, pending, checkpoint.data ?? {});
}

/** A model from a resolved config (for the library's own layers, which hold configs, not options). */
export async function modelFromConfig(backend: Backend, config: TrainConfig): Promise<Model> {
  return new Model(backendFor(backend, config.spec), config, initialParams(config.spec, config.init, config.seed));
}

/** The option declarations, for building forms and command lines: name, flag, help, default, choices. */
export const OPTIONS = TRAIN_OPTIONS;
