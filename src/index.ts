/**
 * Train multi-layer perceptrons on the GPU through WebGPU, in Node (Dawn) and in browsers: open a
 * `Gpu`, make a `Dataset` from typed arrays, `createModel`, then `fit`, `evaluate`,
 * `predict`, `save` and `dispose`. Node-only helpers (files, MNIST, run directories) are in
 * `webgpu-mlp/node`. Importing this module has no side effects: nothing runs and no global is
 * touched until `openGpu()` is called.
 *
 * @example
 * ```js
 * const gpu = await openGpu();
 * const train = createDataset({ features, labels });             // Float32Array or Uint8Array [N, D]
 * const model = await createModel(gpu, { layers: [D, 64, C] });
 * await model.fit(train, { epochs: 10, valSplit: 0.1 });
 * const { probabilities } = await model.predict(rows);
 * model.dispose(); gpu.close();
 * ```
 *
 * @packageDocumentation
 */
import { Dataset, type DatasetInit, type Features } from './data/dataset.ts';

export { openGpu, Gpu, type OpenGpuOptions } from './api/gpu.ts';
export type { AdapterReport } from './gpu/device.ts';
export { Dataset, type DatasetInit, type Features } from './data/dataset.ts';
export { parseCsvText, type CsvOptions } from './data/csv.ts';
export { tableOptions, type TableShape } from './train/table-defaults.ts';
export {
  createModel,
  loadModel,
  Model,
  OPTIONS,
  type Backend,
  type CheckpointInfo,
  type EpochInfo,
  type Evaluation,
  type FitControl,
  type FitOptions,
  type FitResult,
  type FitStatus,
  type LayerWeights,
  type Options,
  type Predictions,
} from './api/model.ts';
export { optionsOf, resolveConfig, type OptionKey, type OptionSpec, type TrainOptions } from './train/options.ts';
export { describeConfig, describeLrSchedule, describeModel, describeOptimizer } from './train/describe.ts';
export type { TrainConfig } from './train/config.ts';
export type { ModelSpec, Activation, Loss } from './model/spec.ts';
export type { OptimizerConfig, OptimizerKind } from './model/optimizer.ts';
export type { InitScheme } from './model/init.ts';
export type { Schedule } from './train/schedule.ts';
export type { EpochRecord, ProgressEvent, Divergence } from './train/trainer.ts';
export type { RecoverOptions, Recovery } from './train/recovery.ts';
export type { EngineSetup } from './train/engine.ts';
export { checkGpu, type CheckOptions, type CheckReport, type CheckResult } from './api/check.ts';
export { tuneKernels, type TuneReport, type TunedKernel } from './api/tune.ts';
export { exportOnnx, exportTfjs } from './api/export.ts';
export type { ExportOptions, InputTransform, Standardization } from './export/common.ts';
export type { TfjsExport, TfjsModelJson, TfjsWeightSpec } from './export/tfjs.ts';
export { MlpError, ERROR_CODES, type ErrorCode } from './errors.ts';
export { grayFromRgba, preprocessDigit, type GrayImage } from './data/preprocess.ts';
export { Random } from './util/random.ts';
export { VERSION } from './version.ts';

/**
 * A dataset from typed arrays: `features` [count, inputSize] row-major (Uint8Array pixels, which the
 * model sees divided by 255, or Float32Array values), `labels` one class index per sample, and
 * optionally `classNames`, `shape` ([height, width] of images) and `name`. Checked: a DataError
 * (code 'DATA') names what is wrong. The same as Dataset.create.
 */
export function createDataset<F extends Features>(init: DatasetInit & { readonly features: F }): Dataset<F> {
  return Dataset.create(init);
}
