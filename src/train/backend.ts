// Where a model's parameters live and its passes run: on a GPU workspace's device, or in the CPU
// reference. The Model (src/api/model.ts) is written once against this interface, so fit, evaluate
// and predict are the same code for `--device gpu|cpu`.
//
// Device loss: a GPU backend keeps a host copy of its parameters whenever the host knows them (every
// writeParams, and a fit's last snapshot through remember()). When its workspace has moved to a new
// device (GpuWorkspace.recover), the next call rebuilds the parameter buffer there from that copy;
// evaluation and inference plans are rebuilt as they are used.
import { BufferArena } from '../gpu/arena.ts';
import { adapterName } from '../gpu/device.ts';
import { MlpError } from '../errors.ts';
import type { Dataset } from '../data/dataset.ts';
import type { KernelContext } from '../kernels/context.ts';
import { optimizerConfig } from '../model/optimizer.ts';
import { classCount, inputSize, type ModelSpec } from '../model/spec.ts';
import { denseLayers, paramLayout } from '../model/tensors.ts';
import { ReferenceMlp } from '../reference/mlp.ts';
import type { TrainConfig } from './config.ts';
import { CPU_REFERENCE, CpuEngine } from './cpu-engine.ts';
import type { EngineSetup, TrainingEngine } from './engine.ts';
import type { MatmulSelection } from '../kernels/matmul.ts';
import type { GpuContext } from '../gpu/device.ts';
import { GPU_TUNING_BUDGET_MS, tuningFor } from '../tune/session.ts';
import { createGpuEngine, type SessionData } from './gpu-engine.ts';
import { GpuParameters } from './gpu-model.ts';
import { evaluateReference, InferencePlan } from './inference.ts';
import { EvalPlan, evalBatchRows, type EvalResult } from './plan.ts';
import type { GpuWorkspace } from './workspace.ts';
import type { InputAffine } from '../data/standardize.ts';

/**
 * Rows a forward pass takes at once when predicting (cut further to fit one storage binding): the
 * default evaluation batch, so that prediction runs on the pipelines evaluation compiled (their
 * shapes are override constants: another batch size would mean other pipelines to compile).
 */
const PREDICT_ROWS = 1000;
/** Evaluation plans a GPU model keeps (one per dataset it was evaluated on lately). */
const EVAL_PLANS_KEPT = 4;

/** What an engine is built with beyond the config: what to prepare with it, and how to choose its kernels. */
export interface EnginePrepare {
  /** Sets to be evaluated after training (with the config's evaluation batch size): prepared with the engine, before its first step. */
  readonly evaluate?: readonly Dataset[];
  /** Predictions will be asked for: the inference plan is prepared with the engine too. */
  readonly predict?: boolean;
  /** Matrix-product variants to use, by product key (a run's record: a resume computes exactly as before). */
  readonly kernels?: Readonly<Record<string, string>>;
  /** Time the variants of products not measured yet on this adapter (default: on GPU adapters only; src/tune/). */
  readonly tune?: boolean;
}

export interface ModelBackend {
  readonly device: 'gpu' | 'cpu';
  /** The adapter, or "CPU reference", for logs and summaries. */
  readonly description: string;
  readParams(): Promise<Float32Array>;
  writeParams(params: Float32Array): void;
  /**
   * A training engine over this backend's parameters (trained in place; see adoptTrained). `prepare`:
   * what the caller will do after training (evaluate sets, predict), made ready with the engine.
   */
  createEngine(config: TrainConfig, data: SessionData, prepare?: EnginePrepare): Promise<TrainingEngine>;
  /** After training with `engine`: make its parameters this backend's (a no-op where they are shared). */
  adoptTrained(engine: TrainingEngine): Promise<void>;
  evaluate(set: Dataset, batchSize: number): Promise<EvalResult>;
  /** Logits [rows, C] of model inputs x [rows, IN] (f32, pixels already / 255, table values already standardized), any number of rows. */
  logits(x: Float32Array): Promise<Float32Array>;
  /** The affine applied to f32 features where the model gathers them (training, evaluate): its standardization. */
  setInputAffine(affine: InputAffine): void;
  /** Device memory held by the model (not its datasets). */
  readonly deviceBytes: number;
  /** Which device the backend works on: 0 for the first, one more after each recovery (always 0 on the CPU). */
  readonly generation: number;
  /** Whether `error`, thrown by work on device `generation`, means that device was lost (never on the CPU). */
  isDeviceLoss(error: unknown, generation: number): Promise<boolean>;
  /** Why device `generation` was lost (the driver's words), if it was. */
  lostReason(generation: number): string | undefined;
  /** Replaces the device now if it is known to be lost and can be replaced (a fit about to start does this). */
  recoverIfLost(): Promise<void>;
  /** Replaces the lost device `generation` (once for all models on it); throws DEVICE_LOST when it cannot. */
  recoverDevice(generation: number): Promise<void>;
  /** The parameters as the host knows them now (after a fit: its last snapshot); undefined: the device alone holds them. */
  remember(params: Float32Array | undefined): void;
  dispose(): void;
}

export class GpuBackend implements ModelBackend {
  readonly device = 'gpu';
  private arena: BufferArena;
  private params: GpuParameters;
  /** The workspace generation (device) the buffers above were made on. */
  private builtOn: number;
  /** The parameters as last known on the host, to rebuild from after a device loss. */
  private hostParams: Float32Array | undefined;
  /** Set when a rebuild found no host copy: the weights went with the lost device. */
  private paramsLost = false;
  /** The input affine the device holds (kept to restore it after a device recovery). */
  private affine: InputAffine | undefined;
  /** By dataset, most recently used last; each plan in its own arena, so it can be freed alone. */
  private readonly evalPlans = new Map<Dataset, { batchSize: number; arena: BufferArena; plan: EvalPlan }>();
  /** The kernel choices of the device it was loaded for (src/tune/session.ts). */
  private selection: MatmulSelection | undefined;
  private selectedOn: GpuContext | undefined;
  /** The selection of the engine being built, whose log collects the products of every plan built meanwhile. */
  private building: MatmulSelection | undefined;
  /** Built on first use; a promise, so that calls made while it builds share one plan. */
  private inferenceArena: BufferArena | undefined;
  private inference: Promise<{ arena: BufferArena; plan: InferencePlan }> | undefined;

  constructor(
    private readonly workspace: GpuWorkspace,
    readonly spec: ModelSpec,
  ) {
    this.builtOn = workspace.generation;
    this.arena = new BufferArena(workspace.gpu.device);
    try {
      this.params = new GpuParameters(this.arena, spec, null);
    } catch (error) {
      this.arena.destroy();
      throw error;
    }
  }

  get generation(): number {
    return this.workspace.generation;
  }

  /** The adapter of the current device (a recovery may, rarely, find another). */
  get description(): string {
    return adapterName(this.workspace.gpu.report);
  }

  /** After a recovery of the workspace: the parameter buffer again on the new device, from the host copy; plans dropped. */
  private current(): void {
    if (this.builtOn === this.workspace.generation) return;
    this.dropPlans();
    this.arena.destroy();
    this.arena = new BufferArena(this.workspace.gpu.device);
    this.params = new GpuParameters(this.arena, this.spec, null);
    this.builtOn = this.workspace.generation;
    if (this.hostParams) this.params.writeParams(this.hostParams);
    if (this.affine) this.params.writeInputAffine(this.affine.mean, this.affine.scale);
    this.paramsLost = !this.hostParams;
  }

  isDeviceLoss(error: unknown, generation: number): Promise<boolean> {
    return this.workspace.isLoss(error, generation);
  }

  recoverDevice(generation: number): Promise<void> {
    return this.workspace.recover(generation);
  }

  async recoverIfLost(): Promise<void> {
    if (this.workspace.canRecover && this.workspace.gpu.lostMessage !== undefined) await this.workspace.recover();
  }

  lostReason(generation: number): string | undefined {
    return this.workspace.lostReason(generation);
  }

  remember(params: Float32Array | undefined): void {
    this.hostParams = params;
  }

  private context(arena: BufferArena): KernelContext {
    const { gpu, cache } = this.workspace;
    return { device: gpu.device, cache, arena, adapterKind: gpu.report.kind, matmul: this.building ?? this.selection };
  }

  /** The kernel choices plans are built with on this device (loaded once; a fit's tuning may change them). */
  private async select(forced?: Readonly<Record<string, string>>): Promise<MatmulSelection> {
    if (!this.selection || this.selectedOn !== this.workspace.gpu || forced) {
      const { choices, exclude } = await tuningFor(this.workspace.gpu).selection(forced);
      this.selection = { choices, exclude };
      this.selectedOn = this.workspace.gpu;
    }
    return this.selection;
  }

  readParams(): Promise<Float32Array> {
    this.current();
    if (this.paramsLost) {
      return Promise.reject(new MlpError('DEVICE_LOST', "this model's weights were lost with the GPU device (the host had no copy of them): load the model again from a checkpoint"));
    }
    return this.params.readParams();
  }

  writeParams(params: Float32Array): void {
    this.current();
    this.params.writeParams(params);
    this.hostParams = params;
    this.paramsLost = false;
  }

  async createEngine(config: TrainConfig, data: SessionData, prepare: EnginePrepare = {}): Promise<TrainingEngine> {
    this.current();
    const startedAt = performance.now();
    const build = async (tuning?: EngineSetup['tuning']) => {
      // The plans built now (the engine's, and those prepared with it) log their products here.
      const matmul: Required<MatmulSelection> = { choices: {}, exclude: [], ...(await this.select(prepare.kernels)), log: [] };
      this.building = matmul;
      // Built while the engine builds its own plans: every pipeline compiles at once, before the first step.
      const alsoPrepare = [
        ...(prepare.evaluate ?? []).map(async (set) => (await this.evalPlan(set, config.evalBatchSize)).dispatches),
        ...(prepare.predict ? [(this.inference ??= this.createInference()).then(({ plan }) => plan.dispatches)] : []),
      ];
      const engine = await createGpuEngine(this.workspace.session(data), config.spec, config.optimizer, {
        ...config,
        params: this.params.params,
        inputAffine: this.params.inputAffine,
        alsoPrepare,
        matmul,
        startedAt,
        tuning,
      }).finally(() => (this.building = undefined));
      return { engine, matmul };
    };
    const first = await build();
    const tuning = tuningFor(this.workspace.gpu);
    if (!tuning.wants(prepare.tune)) return first.engine;
    // Products never measured on this adapter: time their variants on the plans just built (whose
    // buffers hold nothing yet), keep the fastest, and build again with them.
    const forced = new Set(Object.keys(prepare.kernels ?? {}));
    const products = first.matmul.log.filter((p) => !forced.has(p.key));
    const arena = new BufferArena(this.workspace.gpu.device);
    let pass;
    try {
      const budgetMs = this.workspace.gpu.report.kind === 'gpu' ? GPU_TUNING_BUDGET_MS : undefined;
      pass = await tuning.tune({ ...this.context(arena), matmul: undefined }, this.workspace.cache, products, { budgetMs });
    } finally {
      arena.destroy();
    }
    if (pass.timings.length === 0) return first.engine;
    first.engine.close();
    this.dropPlans();
    this.selection = undefined;
    return (await build({ seconds: pass.seconds, products: pass.timings.length })).engine;
  }

  async adoptTrained(): Promise<void> {}

  setInputAffine(affine: InputAffine): void {
    this.current();
    this.affine = affine;
    this.params.writeInputAffine(affine.mean, affine.scale);
  }

  async evaluate(set: Dataset, batchSize: number): Promise<EvalResult> {
    this.current();
    return (await this.evalPlan(set, batchSize)).run();
  }

  /** The evaluation plan of `set` at `batchSize`, built on first use and kept (EVAL_PLANS_KEPT). */
  private async evalPlan(set: Dataset, batchSize: number): Promise<EvalPlan> {
    await this.select();
    let entry = this.evalPlans.get(set);
    if (entry?.batchSize !== batchSize) {
      this.dropEvalPlan(set);
      const arena = new BufferArena(this.workspace.gpu.device);
      try {
        entry = { batchSize, arena, plan: await EvalPlan.create(this.context(arena), this.spec, this.params, this.workspace.upload(set), batchSize) };
      } catch (error) {
        arena.destroy();
        throw error;
      }
    }
    // Most recently used last; the least recently used plans go beyond EVAL_PLANS_KEPT.
    this.evalPlans.delete(set);
    this.evalPlans.set(set, entry);
    for (const old of [...this.evalPlans.keys()].slice(0, -EVAL_PLANS_KEPT)) this.dropEvalPlan(old);
    return entry.plan;
  }

  private dropEvalPlan(set: Dataset): void {
    const entry = this.evalPlans.get(set);
    entry?.plan.destroy();
    entry?.arena.destroy();
    this.evalPlans.delete(set);
  }

  async logits(x: Float32Array): Promise<Float32Array> {
    const IN = inputSize(this.spec);
    const C = classCount(this.spec);
    const rows = x.length / IN;
    this.current();
    this.inference ??= this.createInference();
    const { plan } = await this.inference;
    const logits = new Float32Array(rows * C);
    for (let start = 0; start < rows; start += plan.capacity) {
      const n = Math.min(plan.capacity, rows - start);
      logits.set(await plan.logits(x.subarray(start * IN, (start + n) * IN)), start * C);
    }
    return logits;
  }

  private async createInference(): Promise<{ arena: BufferArena; plan: InferencePlan }> {
    await this.select();
    const capacity = evalBatchRows(this.workspace.gpu.device, denseLayers(this.spec), PREDICT_ROWS);
    const arena = new BufferArena(this.workspace.gpu.device);
    this.inferenceArena = arena;
    try {
      return { arena, plan: await InferencePlan.create(this.context(arena), this.params, capacity) };
    } catch (error) {
      arena.destroy();
      this.inference = undefined;
      throw error;
    }
  }

  get deviceBytes(): number {
    let bytes = this.arena.bytes + (this.inferenceArena?.bytes ?? 0);
    for (const entry of this.evalPlans.values()) bytes += entry.arena.bytes;
    return bytes;
  }

  /** Frees the evaluation and inference plans (built again on their next use). */
  private dropPlans(): void {
    for (const set of [...this.evalPlans.keys()]) this.dropEvalPlan(set);
    this.inferenceArena?.destroy();
    this.inferenceArena = undefined;
    this.inference = undefined;
  }

  dispose(): void {
    this.dropPlans();
    this.arena.destroy();
    this.hostParams = undefined;
  }
}

export class CpuBackend implements ModelBackend {
  readonly device = 'cpu';
  readonly description = CPU_REFERENCE;
  readonly deviceBytes = 0;
  readonly generation = 0;
  private params: Float32Array;
  private affine: InputAffine | undefined;

  constructor(readonly spec: ModelSpec) {
    this.params = new Float32Array(paramLayout(spec).totalElements);
  }

  async readParams(): Promise<Float32Array> {
    return this.params.slice();
  }

  writeParams(params: Float32Array): void {
    if (params.length !== this.params.length) throw new RangeError(`parameters: ${params.length} values, expected ${this.params.length} (the tensor table's layout)`);
    this.params = params.slice();
  }

  async createEngine(config: TrainConfig, data: SessionData): Promise<TrainingEngine> {
    return new CpuEngine(config.spec, config.optimizer, this.params, data, { ...config, affine: this.affine });
  }

  async adoptTrained(engine: TrainingEngine): Promise<void> {
    this.params = await engine.readParams();
  }

  async evaluate(set: Dataset, batchSize: number): Promise<EvalResult> {
    return evaluateReference(this.mlp(), set, batchSize, this.affine);
  }

  setInputAffine(affine: InputAffine): void {
    this.affine = affine;
  }

  async logits(x: Float32Array): Promise<Float32Array> {
    const mlp = this.mlp();
    const IN = inputSize(this.spec);
    const C = classCount(this.spec);
    const rows = x.length / IN;
    const logits = new Float32Array(rows * C);
    for (let start = 0; start < rows; start += PREDICT_ROWS) {
      const n = Math.min(PREDICT_ROWS, rows - start);
      const { a } = mlp.forward(x.subarray(start * IN, (start + n) * IN), n, false);
      logits.set(a[a.length - 1], start * C);
    }
    return logits;
  }

  private mlp(): ReferenceMlp {
    return new ReferenceMlp(this.spec, optimizerConfig('sgd'), this.params);
  }

  async isDeviceLoss(): Promise<boolean> {
    return false;
  }

  async recoverDevice(): Promise<void> {}

  async recoverIfLost(): Promise<void> {}

  lostReason(): undefined {
    return undefined;
  }

  remember(): void {}

  dispose(): void {}
}
