// The typed messages between the page and the training worker (which owns the WebGPU device).
// Everything in them is plain data: the library's own types where it has them.
import type { AdapterReport, EpochRecord, FitStatus, LayerWeights, ModelSpec, ProgressEvent, TrainConfig, TrainOptions } from 'webgpu-mlp';

/** Page → worker. */
export type ToWorker =
  /** Open the GPU and fetch MNIST from `dataUrl` (absolute URL of the mnist/ folder). */
  | { readonly type: 'init'; readonly dataUrl: string }
  /** Training options as createModel and fit take them, already checked by resolveConfig on the page. */
  | { readonly type: 'start'; readonly options: Partial<TrainOptions> }
  | { readonly type: 'pause' }
  | { readonly type: 'resume' }
  | { readonly type: 'stop' }
  /** input: u8 [784], a preprocessed drawing (pixels 0..255, as MNIST stores them). */
  | { readonly type: 'predict'; readonly id: number; readonly input: Uint8Array }
  | { readonly type: 'save' }
  | { readonly type: 'load'; readonly name: string; readonly bytes: ArrayBuffer };

/** How many images of each class (index = label). */
export type LabelCounts = number[];

export interface DatasetSummary {
  readonly trainFile: number;
  readonly test: number;
  /** A few images of each class from the training file: u8 [count, 784], row-major, grouped by class. */
  readonly sampleImages: Uint8Array;
  readonly sampleLabels: Uint8Array;
  readonly labelCounts: { readonly train: LabelCounts; readonly validation: LabelCounts; readonly test: LabelCounts };
}

export interface RunInfo {
  /** The resolved configuration of the run (the model's). */
  readonly config: TrainConfig;
  readonly trainCount: number;
  readonly validationCount: number;
  readonly stepsPerEpoch: number;
  readonly parameters: number;
  readonly labelCounts: DatasetSummary['labelCounts'];
}

export interface GalleryItem {
  /** Index in the test set. */
  readonly index: number;
  /** u8 [784] */
  readonly image: Uint8Array;
  readonly label: number;
  readonly predicted: number;
  /** Probability the model gave its (wrong) prediction. */
  readonly confidence: number;
}

export interface Analysis {
  /** What was evaluated, e.g. "after epoch 3", "best epoch (2)", "loaded model.safetensors". */
  readonly source: string;
  readonly accuracy: number;
  readonly loss: number;
  readonly count: number;
  /** counts[true][predicted] */
  readonly confusion: number[][];
  readonly mistakes: number;
  /** The most confident mistakes among those examined, most confident first. */
  readonly gallery: GalleryItem[];
}

export interface ModelSnapshot {
  readonly spec: ModelSpec;
  /** Each dense layer's weight [outputs, inputs] and bias [outputs], as model.getWeights() gives them. */
  readonly layers: readonly LayerWeights[];
  readonly source: string;
}

/** Why a run ended: the fit's status, or 'stopped' (the Stop button; the fit was interrupted). */
export type FinishReason = Exclude<FitStatus, 'interrupted'> | 'stopped';

/** Worker → page. */
export type FromWorker =
  | { readonly type: 'status'; readonly text: string }
  | { readonly type: 'ready'; readonly adapter: AdapterReport; readonly dataset: DatasetSummary }
  | { readonly type: 'started'; readonly run: RunInfo }
  | { readonly type: 'progress'; readonly event: ProgressEvent }
  | { readonly type: 'epoch'; readonly record: EpochRecord; readonly improved: boolean }
  | { readonly type: 'paused' }
  | { readonly type: 'resumed' }
  | { readonly type: 'finished'; readonly reason: FinishReason; readonly message: string }
  | { readonly type: 'model'; readonly model: ModelSnapshot }
  | { readonly type: 'analysis'; readonly analysis: Analysis }
  | { readonly type: 'prediction'; readonly id: number; readonly probabilities: number[] }
  | { readonly type: 'saved'; readonly fileName: string; readonly bytes: ArrayBuffer }
  | { readonly type: 'loaded'; readonly name: string; readonly spec: ModelSpec; readonly version: string | undefined }
  | { readonly type: 'error'; readonly context: ErrorContext; readonly message: string }
  /** No WebGPU, or no adapter: the page explains what to do. */
  | { readonly type: 'no-webgpu'; readonly message: string }
  | { readonly type: 'device-lost'; readonly message: string };

export type ErrorContext = 'init' | 'train' | 'predict' | 'save' | 'load';
