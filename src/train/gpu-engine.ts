// The GPU training engine: datasets uploaded once per session, a model's buffers and plans per run.
// A session outlives runs, so a search of many small runs reuses the device, the uploaded data and
// the compiled pipelines.
//
// What can go wrong on the device is turned into errors that say so: sizes beyond the adapter's
// limits are refused while the plans are built (GpuLimitError, naming the limit); any WebGPU error
// while building or running is raised at the next call instead of training on garbage; a lost
// device raises DeviceLostError.
//
// Debug hook (Node): WEBGPU_MLP_LOSE_DEVICE_AFTER_STEPS=N destroys the device once an engine has
// submitted N training steps, to exercise device-loss handling end to end (test/reliability). A list
// N1,N2,... loses the device that many times in the process: the first after N1 steps of an engine,
// then (an engine on the recovered device) after N2, and so on; N alone loses it once.
import { MlpError } from '../errors.ts';
import { adapterName, type GpuContext } from '../gpu/device.ts';
import { BufferArena } from '../gpu/arena.ts';
import { IdleWaiter } from '../gpu/idle-wait.ts';
import { GpuLimitError } from '../gpu/limits.ts';
import { KernelCache, type Dispatch } from '../gpu/program.ts';
import type { StepParams } from '../kernels/step-params.ts';
import type { Dataset } from '../data/dataset.ts';
import type { KernelContext } from '../kernels/context.ts';
import type { MatmulSelection } from '../kernels/matmul.ts';
import type { OptimizerConfig } from '../model/optimizer.ts';
import type { ModelSpec } from '../model/spec.ts';
import type { EngineSetup, EvalSetName, TrainingEngine } from './engine.ts';
import { uploadDataset, type GpuDataset } from './gpu-data.ts';
import { GpuParameters } from './gpu-model.ts';
import { EvalPlan, TrainPlan, type EvalResult, type TrainRecords } from './plan.ts';

export interface SessionData {
  readonly train: Dataset;
  readonly validation?: Dataset;
  readonly test?: Dataset;
}

/** A device with its kernel cache and the GPU copies of one engine's datasets. */
export class GpuSession {
  readonly cache: KernelCache;
  /** Owns the uploads when no `upload` was given (else the workspace that gave it does). */
  private readonly dataArena: BufferArena | undefined;
  readonly sets: { train: GpuDataset } & Partial<Record<EvalSetName, GpuDataset>>;

  /**
   * `cache`: share compiled pipelines with other sessions on the device; `upload`: the device copy
   * of a dataset, shared with other sessions (GpuWorkspace.upload). Without it the session uploads
   * its own copies and frees them in destroy().
   */
  constructor(
    readonly gpu: GpuContext,
    data: SessionData,
    cache?: KernelCache,
    upload?: (set: Dataset) => GpuDataset,
  ) {
    this.cache = cache ?? new KernelCache(gpu.device);
    const arena = upload ? undefined : new BufferArena(gpu.device);
    this.dataArena = arena;
    const get = upload ?? ((set: Dataset) => uploadDataset(arena!, set));
    this.sets = {
      train: get(data.train),
      ...(data.validation && data.validation.count > 0 ? { validation: get(data.validation) } : {}),
      ...(data.test ? { test: get(data.test) } : {}),
    };
  }

  get dataBytes(): number {
    return this.dataArena?.bytes ?? 0;
  }

  destroy(): void {
    this.dataArena?.destroy();
  }
}

/** The device was lost (destroyed, reset or removed); the message is the driver's reason. */
export class DeviceLostError extends MlpError {
  constructor(message: string, options?: ErrorOptions) {
    super('DEVICE_LOST', message, options);
    this.name = 'DeviceLostError';
  }
}

/** Device losses WEBGPU_MLP_LOSE_DEVICE_AFTER_STEPS caused so far, counted from when it took its present value. */
let lossesCaused = 0;
let lossesValue: string | undefined;

/** The steps after which WEBGPU_MLP_LOSE_DEVICE_AFTER_STEPS (see the top of this file) loses the device next, or 0. */
function loseDeviceAfterSteps(): number {
  const value = typeof process === 'undefined' ? undefined : process.env?.WEBGPU_MLP_LOSE_DEVICE_AFTER_STEPS;
  if (value !== lossesValue) {
    lossesValue = value;
    lossesCaused = 0;
  }
  return value ? Number(value.split(',')[lossesCaused] ?? 0) : 0;
}

/** Runs `build` inside WebGPU error scopes, so a validation or out-of-memory error surfaces here, named. */
async function withErrorScopes<T>(device: GPUDevice, what: string, build: () => Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  const result = await build().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  if ('error' in result) throw result.error;
  if (oom) throw new GpuLimitError(`${what}: the adapter ran out of memory (${oom.message})`);
  if (validation) throw new Error(`${what}: WebGPU validation failed: ${validation.message}`);
  return result.value;
}

export interface GpuEngineOptions {
  readonly batchSize: number;
  readonly stepsPerSubmit: number;
  /** Seeds the dropout masks. */
  readonly seed: number;
  readonly evalBatchSize: number;
  /**
   * Dropout and bias gradients inside the matmul dispatches, the output layer inside the loss's (default
   * true), the optimizer step inside the weight grads' (default: on GPU adapters), and then the output
   * layer's backward and step inside the loss's too (default: wherever it applies); see TrainPlanOptions.
   */
  readonly fuseDropout?: boolean;
  readonly fuseBiasGrad?: boolean;
  readonly fuseOutputLayer?: boolean;
  readonly fuseOptimizer?: boolean;
  readonly fuseOutputStep?: boolean;
  /** The parameter buffer to train (a model's, which outlives the engine); absent: the engine makes one. */
  readonly params?: GPUBuffer;
  /** The model's input affine (its standardization of f32 features); absent: the identity. */
  readonly inputAffine?: GPUBuffer;
  /**
   * Other plans' dispatches, being built meanwhile (a model's test evaluation and prediction): their
   * pipelines are compiled with the engine's, before its first step, and counted in its setup.
   */
  readonly alsoPrepare?: readonly Promise<readonly Dispatch[]>[];
  /** Which matrix-product variants the plans use (measured choices; the products recorded go to its log). */
  readonly matmul?: MatmulSelection;
  /** When getting ready began, if before this call (a tuning pass first): the setup's seconds count from it. */
  readonly startedAt?: number;
  /** A tuning pass that ran before this build, for the setup's record. */
  readonly tuning?: EngineSetup['tuning'];
}

export async function createGpuEngine(
  session: GpuSession,
  spec: ModelSpec,
  optimizer: OptimizerConfig,
  options: GpuEngineOptions,
): Promise<TrainingEngine> {
  const { gpu } = session;
  const arena = new BufferArena(gpu.device);
  const ctx: KernelContext = { device: gpu.device, cache: session.cache, arena, adapterKind: gpu.report.kind, matmul: options.matmul };
  const train = session.sets.train;
  // A batch larger than the training set trains exactly as one of the set's size (every step sees
  // all of it, divided by the rows present), so the buffers need no more rows than that.
  const batchSize = Math.min(options.batchSize, train.count);
  const started = options.startedAt ?? performance.now();
  // Awaited below; meanwhile an early failure of one must not count as unhandled.
  for (const other of options.alsoPrepare ?? []) other.catch(() => {});
  try {
    const stepsPerEpoch = Math.ceil(train.count / batchSize);
    const { model, plan, evalPlans, setup } = await withErrorScopes(gpu.device, `building the plans for model ${spec.layers.join('-')}`, async () => {
      const model = new GpuParameters(arena, spec, optimizer.kind, options.params, options.inputAffine);
      // Every plan built at once, so their pipelines compile concurrently; then each pipeline runs
      // once (KernelCache.warm) so that no step or evaluation pays for a compilation.
      const names = (['validation', 'test'] as const).filter((name) => session.sets[name]);
      const [plan, ...evals] = await Promise.all([
        TrainPlan.create(ctx, spec, optimizer, model, train, {
          batchSize,
          stepsPerSubmit: options.stepsPerSubmit,
          stepsPerEpoch,
          seed: options.seed,
          fuseDropout: options.fuseDropout,
          fuseBiasGrad: options.fuseBiasGrad,
          fuseOutputLayer: options.fuseOutputLayer,
          fuseOptimizer: options.fuseOptimizer,
          fuseOutputStep: options.fuseOutputStep,
        }),
        ...names.map((name) => EvalPlan.create(ctx, spec, model, session.sets[name]!, options.evalBatchSize)),
      ]);
      const evalPlans: Partial<Record<EvalSetName, EvalPlan>> = {};
      names.forEach((name, i) => (evalPlans[name] = evals[i] as EvalPlan));
      const others = await Promise.all(options.alsoPrepare ?? []);
      const dispatches = [...plan.dispatches, ...evals.flatMap((e) => e.dispatches), ...others.flat()];
      const compiled = await session.cache.warm(dispatches);
      const kernels: Record<string, string> = {};
      for (const product of options.matmul?.log ?? []) kernels[product.key] = product.variant;
      const setup: EngineSetup = {
        seconds: (performance.now() - started) / 1000,
        pipelines: new Set(dispatches.map((d) => d.pipeline)).size,
        compiled,
        kernels,
        ...(options.tuning ? { tuning: options.tuning } : {}),
      };
      return { model, plan: plan as TrainPlan, evalPlans, setup };
    });
    return new GpuEngine(session, arena, model, plan, evalPlans, stepsPerEpoch, { ...options, batchSize }, setup);
  } catch (error) {
    arena.destroy();
    throw error;
  }
}

class GpuEngine implements TrainingEngine {
  readonly device = 'gpu';
  readonly description: string;
  readonly trainCount: number;
  readonly batchSize: number;
  readonly stepsPerSubmit: number;
  private readonly trainWait: IdleWaiter;
  private readonly evalWait: IdleWaiter;
  /** The first WebGPU error nobody caught (an error scope would have), raised at the next call. */
  private uncaptured: string | undefined;
  private readonly onUncapturedError = (event: GPUUncapturedErrorEvent) => {
    this.uncaptured ??= event.error.message;
  };
  private stepsSubmitted = 0;
  private loseDeviceAfter = loseDeviceAfterSteps();

  constructor(
    private readonly session: GpuSession,
    private readonly arena: BufferArena,
    private readonly model: GpuParameters,
    private readonly plan: TrainPlan,
    private readonly evalPlans: Partial<Record<EvalSetName, EvalPlan>>,
    readonly stepsPerEpoch: number,
    options: GpuEngineOptions,
    readonly setup: EngineSetup,
  ) {
    this.description = adapterName(session.gpu.report);
    this.trainCount = session.sets.train.count;
    this.batchSize = options.batchSize;
    this.stepsPerSubmit = options.stepsPerSubmit;
    this.trainWait = new IdleWaiter(session.gpu.busyWaits);
    this.evalWait = new IdleWaiter(session.gpu.busyWaits);
    session.gpu.device.addEventListener('uncapturederror', this.onUncapturedError);
  }

  setOrder(order: Uint32Array): void {
    this.plan.setOrder(order);
  }

  planEpoch(steps: readonly StepParams[]): void {
    this.plan.planEpoch(steps);
  }

  async runSteps(steps: readonly StepParams[]): Promise<void> {
    this.throwIfFailed();
    this.plan.submit(steps);
    this.trainWait.submitted(steps.length);
    this.stepsSubmitted += steps.length;
    if (this.loseDeviceAfter > 0 && this.stepsSubmitted >= this.loseDeviceAfter) {
      this.loseDeviceAfter = 0;
      lossesCaused += 1;
      this.session.gpu.device.destroy();
      return;
    }
  }

  requestRecords(from: number, count: number): () => Promise<TrainRecords> {
    this.throwIfFailed();
    const take = this.plan.requestRecords(from, count);
    // The wait is for the steps queued up to now, not for those queued after this request.
    const upTo = this.trainWait.submittedUnits;
    return () => this.checked(() => this.trainWait.wait(take, { upTo }));
  }

  has(set: EvalSetName): boolean {
    return this.evalPlans[set] !== undefined;
  }

  evaluate(set: EvalSetName): Promise<EvalResult> {
    const plan = this.evalPlans[set];
    if (!plan) throw new Error(`no ${set} set was given to this engine`);
    return this.checked(() => {
      plan.submit();
      this.evalWait.submitted(1);
      return this.evalWait.wait(() => plan.collect());
    });
  }

  readParams(): Promise<Float32Array> {
    return this.checked(() => this.model.readParams());
  }

  readOptimizerState(): Promise<Float32Array[]> {
    return this.checked(() => this.model.readState());
  }

  writeParams(params: Float32Array): void {
    this.model.writeParams(params);
  }

  writeOptimizerState(state: readonly Float32Array[]): void {
    this.model.writeState(state);
  }

  get deviceBytes(): number {
    return this.arena.bytes + this.session.dataBytes;
  }

  /** The parameter buffer this engine trains. */
  get paramsBuffer(): GPUBuffer {
    return this.model.params;
  }

  private throwIfFailed(): void {
    const lost = this.session.gpu.lostMessage;
    if (lost) throw new DeviceLostError(lost);
    if (this.uncaptured) throw new Error(`a WebGPU error stopped training: ${this.uncaptured}`);
  }

  /**
   * Runs a readback, raising what went wrong on the device before, during or after it: results read
   * after a WebGPU error, or from a device being lost, are not to be trusted.
   */
  private async checked<T>(read: () => Promise<T>): Promise<T> {
    this.throwIfFailed();
    let result: T;
    try {
      result = await read();
    } catch (error) {
      this.throwIfFailed();
      throw error;
    }
    this.throwIfFailed();
    return result;
  }

  close(): void {
    this.session.gpu.device.removeEventListener('uncapturederror', this.onUncapturedError);
    this.plan.destroy();
    for (const plan of Object.values(this.evalPlans)) plan.destroy();
    this.arena.destroy();
  }
}
