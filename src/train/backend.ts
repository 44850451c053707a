// Where a model's parameters live and its passes run: on a GPU workspace's device, or in the CPU
// reference. The Model (src/api/model.ts) is written once against this interface, so fit, evaluate
// and predict are the same code for `--device gpu|cpu`.
import { BufferArena } from '../gpu/arena.ts';
import { adapterName } from '../gpu/device.ts';
import type { Dataset } from '../data/dataset.ts';
import type { KernelContext } from '../kernels/context.ts';
import { optimizerConfig } from '../model/optimizer.ts';
import { classCount, inputSize, type ModelSpec } from '../model/spec.ts';
import { denseLayers, paramLayout } from '../model/tensors.ts';
import { ReferenceMlp } from '../reference/mlp.ts';
import type { TrainConfig } from './config.ts';
import { CpuEngine } from './cpu-engine.ts';
import type { TrainingEngine } from './engine.ts';
import { createGpuEngine, type SessionData } from './gpu-engine.ts';
import { GpuParameters } from './gpu-model.ts';
import { evaluateReference, InferencePlan } from './inference.ts';
import { EvalPlan, evalBatchRows, type EvalResult } from './plan.ts';
import type { GpuWorkspace } from './workspace.ts';

/** Rows a forward pass takes at once when predicting (cut further to fit one storage binding). */
const PREDICT_ROWS = 1024;
/** Evaluation plans a GPU model keeps (one per dataset it was evaluated on lately). */
const EVAL_PLANS_KEPT = 4;

export interface ModelBackend {
  readonly device: 'gpu' | 'cpu';
  /** The adapter, or "CPU reference", for logs and summaries. */
  readonly description: string;
  readParams(): Promise<Float32Array>;
  writeParams(params: Float32Array): void;
  /** A training engine over this backend's parameters (trained in place; see adoptTrained). */
  createEngine(config: TrainConfig, data: SessionData): Promise<TrainingEngine>;
  /** After training with `engine`: make its parameters this backend's (a no-op where they are shared). */
  adoptTrained(engine: TrainingEngine): Promise<void>;
  evaluate(set: Dataset, batchSize: number): Promise<EvalResult>;
  /** Logits [rows, C] of model inputs x [rows, IN] (f32, pixels already / 255), any number of rows. */
  logits(x: Float32Array): Promise<Float32Array>;
  /** Device memory held by the model (not its datasets). */
  readonly deviceBytes: number;
  dispose(): void;
}

export class GpuBackend implements ModelBackend {
  readonly device = 'gpu';
  readonly description: string;
  private readonly arena: BufferArena;
  private readonly params: GpuParameters;
  /** By dataset, most recently used last; each plan in its own arena, so it can be freed alone. */
  private readonly evalPlans = new Map<Dataset, { batchSize: number; arena: BufferArena; plan: EvalPlan }>();
  /** Built on first use; a promise, so that calls made while it builds share one plan. */
  private inferenceArena: BufferArena | undefined;
  private inference: Promise<{ arena: BufferArena; plan: InferencePlan }> | undefined;

  constructor(
    private readonly workspace: GpuWorkspace,
    readonly spec: ModelSpec,
  ) {
    this.description = adapterName(workspace.gpu.report);
    this.arena = new BufferArena(workspace.gpu.device);
    try {
      this.params = new GpuParameters(this.arena, spec, null);
    } catch (error) {
      this.arena.destroy();
      throw error;
    }
  }

  private context(arena: BufferArena): KernelContext {
    const { gpu, cache } = this.workspace;
    return { device: gpu.device, cache, arena, adapterKind: gpu.report.kind };
  }

  readParams(): Promise<Float32Array> {
    return this.params.readParams();
  }

  writeParams(params: Float32Array): void {
    this.params.writeParams(params);
  }

  createEngine(config: TrainConfig, data: SessionData): Promise<TrainingEngine> {
    return createGpuEngine(this.workspace.session(data), config.spec, config.optimizer, { ...config, params: this.params.params });
  }

  async adoptTrained(): Promise<void> {}

  async evaluate(set: Dataset, batchSize: number): Promise<EvalResult> {
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
    return entry.plan.run();
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

  dispose(): void {
    for (const set of [...this.evalPlans.keys()]) this.dropEvalPlan(set);
    this.inferenceArena?.destroy();
    this.inferenceArena = undefined;
    this.inference = undefined;
    this.arena.destroy();
  }
}

export class CpuBackend implements ModelBackend {
  readonly device = 'cpu';
  readonly description = 'CPU reference (float64 loops)';
  readonly deviceBytes = 0;
  private params: Float32Array;

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
    return new CpuEngine(config.spec, config.optimizer, this.params, data, config);
  }

  async adoptTrained(engine: TrainingEngine): Promise<void> {
    this.params = await engine.readParams();
  }

  async evaluate(set: Dataset, batchSize: number): Promise<EvalResult> {
    return evaluateReference(this.mlp(), set, batchSize);
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

  dispose(): void {}
}
