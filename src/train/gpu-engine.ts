// The GPU training engine: datasets uploaded once per session, a model's buffers and plans per run.
// A session outlives runs, so a search of many small runs reuses the device, the uploaded data and
// the compiled pipelines.
import { adapterName, type GpuContext } from '../gpu/device.ts';
import { BufferArena } from '../gpu/arena.ts';
import { IdleWaiter } from '../gpu/idle-wait.ts';
import { KernelCache } from '../gpu/program.ts';
import type { StepParams } from '../gpu/step-params.ts';
import type { ImageSet } from '../data/dataset.ts';
import type { KernelContext } from '../kernels/context.ts';
import type { OptimizerConfig } from '../model/optimizer.ts';
import type { ModelSpec } from '../model/spec.ts';
import type { EvalSetName, TrainingEngine } from './engine.ts';
import { uploadImageSet, type GpuImageSet } from './gpu-data.ts';
import { GpuParameters } from './gpu-model.ts';
import { EvalPlan, TrainPlan, type EvalResult, type StepRecords } from './plan.ts';

export interface SessionData {
  readonly train: ImageSet;
  readonly validation?: ImageSet;
  readonly test?: ImageSet;
}

/** A device with its kernel cache and the GPU-resident datasets. */
export class GpuSession {
  readonly cache: KernelCache;
  private readonly dataArena: BufferArena;
  readonly sets: { train: GpuImageSet } & Partial<Record<EvalSetName, GpuImageSet>>;

  constructor(
    readonly gpu: GpuContext,
    data: SessionData,
  ) {
    this.cache = new KernelCache(gpu.device);
    this.dataArena = new BufferArena(gpu.device);
    this.sets = {
      train: uploadImageSet(this.dataArena, data.train),
      ...(data.validation && data.validation.count > 0 ? { validation: uploadImageSet(this.dataArena, data.validation) } : {}),
      ...(data.test ? { test: uploadImageSet(this.dataArena, data.test) } : {}),
    };
  }

  get dataBytes(): number {
    return this.dataArena.bytes;
  }

  destroy(): void {
    this.dataArena.destroy();
  }
}

export interface GpuEngineOptions {
  readonly batchSize: number;
  readonly stepsPerSubmit: number;
  /** Seeds the dropout masks. */
  readonly seed: number;
  readonly evalBatchSize: number;
}

export async function createGpuEngine(
  session: GpuSession,
  spec: ModelSpec,
  optimizer: OptimizerConfig,
  options: GpuEngineOptions,
): Promise<TrainingEngine> {
  const { gpu } = session;
  const arena = new BufferArena(gpu.device);
  const ctx: KernelContext = { device: gpu.device, cache: session.cache, arena, adapterKind: gpu.report.kind };
  try {
    const model = new GpuParameters(arena, spec, optimizer.kind);
    const train = session.sets.train;
    const stepsPerEpoch = Math.ceil(train.count / options.batchSize);
    const plan = await TrainPlan.create(ctx, spec, optimizer, model, train, {
      batchSize: options.batchSize,
      stepsPerSubmit: options.stepsPerSubmit,
      stepsPerEpoch,
      seed: options.seed,
    });
    const evalPlans: Partial<Record<EvalSetName, EvalPlan>> = {};
    for (const name of ['validation', 'test'] as const) {
      const set = session.sets[name];
      if (set) evalPlans[name] = await EvalPlan.create(ctx, spec, model, set, options.evalBatchSize);
    }
    return new GpuEngine(session, arena, model, plan, evalPlans, stepsPerEpoch, options);
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

  constructor(
    private readonly session: GpuSession,
    private readonly arena: BufferArena,
    private readonly model: GpuParameters,
    private readonly plan: TrainPlan,
    private readonly evalPlans: Partial<Record<EvalSetName, EvalPlan>>,
    readonly stepsPerEpoch: number,
    options: GpuEngineOptions,
  ) {
    this.description = adapterName(session.gpu.report);
    this.trainCount = session.sets.train.count;
    this.batchSize = options.batchSize;
    this.stepsPerSubmit = options.stepsPerSubmit;
    this.trainWait = new IdleWaiter(session.gpu.busyWaits);
    this.evalWait = new IdleWaiter(session.gpu.busyWaits);
  }

  setOrder(order: Uint32Array): void {
    this.plan.setOrder(order);
  }

  async runSteps(steps: readonly StepParams[]): Promise<void> {
    this.throwIfLost();
    this.plan.submit(steps);
    this.trainWait.submitted(steps.length);
  }

  readRecords(from: number, count: number): Promise<StepRecords> {
    this.throwIfLost();
    return this.trainWait.wait(() => this.plan.readRecords(from, count));
  }

  firstNonFiniteStep(): Promise<number> {
    return this.plan.readStatus();
  }

  has(set: EvalSetName): boolean {
    return this.evalPlans[set] !== undefined;
  }

  evaluate(set: EvalSetName): Promise<EvalResult> {
    const plan = this.evalPlans[set];
    if (!plan) throw new Error(`no ${set} set was given to this engine`);
    this.throwIfLost();
    plan.submit();
    this.evalWait.submitted(1);
    return this.evalWait.wait(() => plan.collect());
  }

  readParams(): Promise<Float32Array> {
    return this.model.readParams();
  }

  readOptimizerState(): Promise<Float32Array[]> {
    return this.model.readState();
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

  private throwIfLost(): void {
    const message = this.session.gpu.lostMessage;
    if (message) throw new Error(message);
  }

  close(): void {
    this.arena.destroy();
  }
}
