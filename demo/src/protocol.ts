// The typed messages between the page and the training worker (which owns the WebGPU device).
// Everything in them is plain data: the library's own types where it has them.
import type { AdapterReport, EpochRecord, FitStatus, LayerWeights, ModelSpec, ProgressEvent, TrainConfig, TrainOptions } from 'webgpu-mlp';

/** Page → worker. */
export type ToWorker =
  /**
   * Open the GPU and fetch MNIST from `dataUrl` (absolute URL of the mnist/ folder).
   * `loseDeviceAfterSteps` (the page's `?lose-device-after-steps=N`, for tests): destroy the device
   * once, N steps into a run, as a GPU reset would.
   */
  | { readonly type: 'init'; readonly dataUrl: string; readonly loseDeviceAfterSteps?: number }
  /** Training options as createModel and fit take them, already checked by resolveConfig on the page. */
  | { readonly type: 'start'; readonly options: Partial<TrainOptions> }
  | { readonly type: 'pause' }
  | { readonly type: 'resume' }
  | { readonly type: 'stop' }
  /** input: u8 [784], a preprocessed drawing (pixels 0..255, as MNIST stores them). */
  | { readonly type: 'predict'; readonly id: number; readonly input: Uint8Array }
  | { readonly type: 'save' }
  /**
   * Train on a CSV table (a file dropped on the page) instead of MNIST: its text, its file name,
   * and the label column (default: the last column). Ignored columns: those that are not numbers.
   */
  | { readonly type: 'table'; readonly name: string; readonly text: string; readonly label?: string; readonly ignore?: readonly string[] }
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

/** A table loaded from a CSV file: what the page shows of it, and the training defaults that suit its size. */
export interface TableSummary {
  readonly name: string;
  /** The file's columns (header), the label column and the features (the other numeric columns). */
  readonly columns: readonly string[];
  readonly label: string;
  readonly features: readonly string[];
  readonly ignored: readonly string[];
  readonly classNames: readonly string[];
  readonly rows: number;
  readonly train: number;
  readonly test: number;
  /** Per feature of the training rows (the first 20 features). */
  readonly stats: readonly { readonly name: string; readonly min: number; readonly mean: number; readonly std: number; readonly max: number }[];
  /** tableOptions(train): layers from the table, validation fraction, batch size, epochs. */
  readonly options: Partial<TrainOptions>;
  readonly labelCounts: DatasetSummary['labelCounts'];
}

/** A misclassified table row: its class, the prediction, and its first feature values. */
export interface TableMistake {
  readonly index: number;
  readonly label: number;
  readonly predicted: number;
  readonly confidence: number;
  readonly values: readonly number[];
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
  /** The most confident mistakes among those examined, most confident first (images). */
  readonly gallery: GalleryItem[];
  /** For a table: the most confident mistakes as rows, and the class names. */
  readonly rows?: TableMistake[];
  readonly classNames?: readonly string[];
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
  | { readonly type: 'table'; readonly table: TableSummary }
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
  | { readonly type: 'device-lost'; readonly message: string }
  /** The device was lost and replaced; a run in progress went on (the text says from where). */
  | { readonly type: 'recovered'; readonly text: string };

export type ErrorContext = 'init' | 'train' | 'predict' | 'save' | 'load' | 'table';
