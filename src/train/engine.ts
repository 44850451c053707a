// What the trainer drives: the GPU plans or the CPU reference, behind one interface, so epochs,
// schedules, early stopping, checkpoints and metrics are the same code for `--device gpu|cpu`.
import type { StepParams } from '../kernels/step-params.ts';
import type { EvalResult, TrainRecords } from './plan.ts';

export type EvalSetName = 'validation' | 'test';

/** What getting an engine ready took: its plans built and every pipeline they use compiled, before the first step. */
export interface EngineSetup {
  readonly seconds: number;
  /** Distinct pipelines the engine's plans (and any prepared with them) use. */
  readonly pipelines: number;
  /** How many of them were compiled now; the others were ready already (earlier runs on this device). */
  readonly compiled: number;
  /**
   * The matrix-product variant each product runs in, by product key (for example
   * `forward 128x784->256 relu dropout` → `subgroup`): record it to compute the same way again (a resume).
   */
  readonly kernels: Readonly<Record<string, string>>;
  /** Present when products were timed on this adapter to choose their variants (included in `seconds`). */
  readonly tuning?: { readonly seconds: number; readonly products: number };
}

export interface TrainingEngine {
  readonly device: 'gpu' | 'cpu';
  /** The adapter (or "CPU reference") for logs and summaries. */
  readonly description: string;
  readonly trainCount: number;
  readonly batchSize: number;
  /** ceil(trainCount / batchSize): the last batch of an epoch may be short. */
  readonly stepsPerEpoch: number;
  /** How many steps `runSteps` accepts at once. */
  readonly stepsPerSubmit: number;
  /** Sets the order in which the coming epoch visits the training set. */
  setOrder(order: Uint32Array): void;
  /**
   * The parameters of every step of the coming epoch (index s: its step s), before its first
   * runSteps: an engine may upload them at once, and then take the same step objects in runSteps
   * without writing anything per submit. Optional; runSteps works without it.
   */
  planEpoch?(steps: readonly StepParams[]): void;
  /** Queues training steps; the GPU engine returns before they have run. */
  runSteps(steps: readonly StepParams[]): Promise<void>;
  /**
   * Asks for the loss sums and correct counts of steps [from, from + count) of the current epoch, and
   * the divergence flag, as they stand once the steps queued so far have run; the function returned
   * gives them. The GPU engine copies them now and waits only when that function is called, so that
   * steps queued in between keep the device busy through the readback (the trainer takes each progress
   * readback one report later).
   */
  requestRecords(from: number, count: number): () => Promise<TrainRecords>;
  has(set: EvalSetName): boolean;
  evaluate(set: EvalSetName): Promise<EvalResult>;
  readParams(): Promise<Float32Array>;
  readOptimizerState(): Promise<Float32Array[]>;
  writeParams(params: Float32Array): void;
  writeOptimizerState(state: readonly Float32Array[]): void;
  /** GPU engines: building the plans and compiling the pipelines, done before the first step. */
  readonly setup?: EngineSetup;
  /** Bytes of device memory held (0 for the CPU engine). */
  readonly deviceBytes: number;
  close(): void;
}

/** Records [from, from + count) and the divergence flag, waited for at once. */
export async function readRecords(engine: TrainingEngine, from: number, count: number): Promise<TrainRecords> {
  return engine.requestRecords(from, count)();
}
