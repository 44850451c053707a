// The CPU engine: the reference MLP (float64 loops) behind the trainer's interface. Slow; it is
// for validating the GPU end to end and for machines without WebGPU (`--device cpu`).
import type { InputAffine } from '../data/standardize.ts';
import type { StepParams } from '../kernels/step-params.ts';
import type { OptimizerConfig } from '../model/optimizer.ts';
import type { ModelSpec } from '../model/spec.ts';
import { gatherBatch } from '../reference/gather.ts';
import { ReferenceMlp } from '../reference/mlp.ts';
import { optimizerUpdate } from '../reference/optimizer.ts';
import type { EvalSetName, TrainingEngine } from './engine.ts';
import { evaluateReference } from './inference.ts';
import type { EvalResult, TrainRecords } from './plan.ts';
import type { SessionData } from './gpu-engine.ts';

export interface CpuEngineOptions {
  readonly batchSize: number;
  readonly seed: number;
  readonly evalBatchSize: number;
  /** The model's input affine for f32 features (its standardization); absent: none. */
  readonly affine?: InputAffine;
}

/** How the CPU reference names itself where an adapter would be named. */
export const CPU_REFERENCE = 'CPU reference (float64 loops)';

export class CpuEngine implements TrainingEngine {
  readonly device = 'cpu';
  readonly description = CPU_REFERENCE;
  readonly stepsPerSubmit = 1;
  readonly deviceBytes = 0;
  readonly trainCount: number;
  readonly batchSize: number;
  readonly stepsPerEpoch: number;
  private readonly mlp: ReferenceMlp;
  private order: Uint32Array;
  private readonly lossSums: Float32Array;
  private readonly corrects: Uint32Array;
  private nonFiniteStep = 0;

  constructor(
    spec: ModelSpec,
    optimizer: OptimizerConfig,
    initial: Float32Array,
    private readonly data: SessionData,
    private readonly options: CpuEngineOptions,
  ) {
    this.mlp = new ReferenceMlp(spec, optimizer, initial);
    this.trainCount = data.train.count;
    this.batchSize = options.batchSize;
    this.stepsPerEpoch = Math.ceil(this.trainCount / options.batchSize);
    this.order = Uint32Array.from({ length: this.trainCount }, (_, i) => i);
    this.lossSums = new Float32Array(this.stepsPerEpoch);
    this.corrects = new Uint32Array(this.stepsPerEpoch);
  }

  setOrder(order: Uint32Array): void {
    this.order = order;
  }

  async runSteps(steps: readonly StepParams[]): Promise<void> {
    const { train } = this.data;
    for (const step of steps) {
      const { x, y } = gatherBatch(train.features, train.labels, this.order, step.batchStart, step.rows, this.batchSize, train.inputSize, this.options.affine);
      const result = this.mlp.lossAndGradients(x, y, this.batchSize, step.rows, { t: step.t, lr: step.lr, seed: this.options.seed });
      this.lossSums[step.record] = result.lossSum;
      this.corrects[step.record] = result.correct;
      // As on the GPU: after a non-finite loss the parameters stay at their last finite values.
      if (!Number.isFinite(result.lossSum) && this.nonFiniteStep === 0) this.nonFiniteStep = step.t;
      if (this.nonFiniteStep === 0) {
        optimizerUpdate(this.mlp.optimizer, this.mlp.params, this.mlp.grads, this.mlp.state, step.lr, step.t, this.mlp.layout.weightsEnd);
      }
    }
  }

  requestRecords(from: number, count: number): () => Promise<TrainRecords> {
    const records = { lossSum: this.lossSums.slice(from, from + count), correct: this.corrects.slice(from, from + count), nonFiniteStep: this.nonFiniteStep };
    return async () => records;
  }

  has(set: EvalSetName): boolean {
    const data = this.data[set];
    return data !== undefined && data.count > 0;
  }

  async evaluate(name: EvalSetName): Promise<EvalResult> {
    const set = this.data[name];
    if (!set) throw new Error(`no ${name} set was given to this engine`);
    return evaluateReference(this.mlp, set, this.options.evalBatchSize, this.options.affine);
  }

  async readParams(): Promise<Float32Array> {
    return Float32Array.from(this.mlp.params);
  }

  async readOptimizerState(): Promise<Float32Array[]> {
    return this.mlp.state.map((array) => Float32Array.from(array));
  }

  writeParams(params: Float32Array): void {
    this.mlp.params.set(params);
  }

  writeOptimizerState(state: readonly Float32Array[]): void {
    state.forEach((array, i) => this.mlp.state[i].set(array));
  }

  close(): void {}
}
