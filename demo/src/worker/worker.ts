// The training worker: owns the GPU, the MNIST data and the model, so the page never freezes. It
// answers the messages of protocol.ts; every failure becomes an 'error' message. It uses the
// library's public API only, as any application would.
import {
  createModel,
  loadModel,
  MlpError,
  openGpu,
  parseCsvText,
  resolveConfig,
  tableOptions,
  type Dataset,
  type FitControl,
  type FitResult,
  type Gpu,
  type LayerWeights,
  type Model,
  type ModelSpec,
  type Predictions,
  type TrainOptions,
} from 'webgpu-mlp';
import type { ErrorContext, FinishReason, FromWorker, ModelSnapshot, TableSummary, ToWorker } from '../protocol.ts';
import { analyse } from './analysis.ts';
import { datasetSummary, MNIST_CLASSES, runLabelCounts, splitForRun, stepsPerEpoch, tableStats, type RunData } from './data.ts';
import { loadMnist, type Mnist } from './mnist.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

/** Progress events per epoch at most: points on the live curves (each costs one small GPU round trip). */
const PROGRESS_PER_EPOCH = 20;
const IMAGE_SIZE = 28 * 28;
/** The safetensors metadata key under which webgpu-mlp records the version that wrote a checkpoint. */
const VERSION_KEY = 'webgpu_mlp.version';

interface Run {
  readonly model: Model;
  readonly stepsPerEpoch: number;
  phase: 'training' | 'paused' | 'finished';
  abort: AbortController;
  stopRequested: boolean;
  /** The fit that ended last (while paused: the interrupted one). */
  last?: FitResult;
}

let gpu: Gpu | undefined;
let mnist: Mnist | undefined;
/** The current model: the run's, or one loaded from a file. */
let model: Model | undefined;
/** The run the current model comes from (absent for a loaded model). */
let run: Run | undefined;
/** The training and validation sets on the device for the last run (released when no longer used). */
let runData: RunData | undefined;
/**
 * A CSV table dropped on the page, trained on instead of MNIST: its rows split into training rows
 * and a seeded 20% test set (as the command line's --test-split does).
 */
interface Table {
  readonly summary: TableSummary;
  readonly train: Dataset<Float32Array>;
  readonly test: Dataset<Float32Array>;
}
let table: Table | undefined;
/** The seed of a table's test split (the same rows every time the same file is dropped). */
const TABLE_TEST_SEED = 20_240_601;
/** `?lose-device-after-steps=N` (tests): the device is destroyed once, N steps into a run. */
let loseDeviceAfterSteps = 0;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

/** A message as a sentence: "…destroyed." from "…destroyed" or "…destroyed." (browsers end theirs with one). */
function sentence(message: string): string {
  return message.endsWith('.') ? message : `${message}.`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Watches the current device. A loss during a fit is the fit's to handle (it opens a new device and
 * goes on: onRecovery below); a loss while idle is repaired here, so the model stays usable.
 */
function watchLoss(opened: Gpu): void {
  void opened.lost.then(async (message) => {
    if (gpu !== opened || run?.phase === 'training') return;
    try {
      await opened.recover();
    } catch (error) {
      post({ type: 'device-lost', message: error instanceof MlpError ? error.message : message });
      return;
    }
    post({ type: 'recovered', text: `${sentence(message)} A new GPU device was opened; the model is as it was.` });
    watchLoss(opened);
  });
}

async function init(dataUrl: string, loseAfter = 0): Promise<void> {
  loseDeviceAfterSteps = loseAfter;
  if (typeof navigator === 'undefined' || !('gpu' in navigator) || !navigator.gpu) {
    post({ type: 'no-webgpu', message: 'This browser does not expose WebGPU (navigator.gpu) to workers.' });
    return;
  }
  post({ type: 'status', text: 'Opening the GPU…' });
  let opened: Gpu;
  try {
    opened = await openGpu();
  } catch (error) {
    const noAdapter = error instanceof MlpError && error.code === 'NO_ADAPTER';
    post({ type: 'no-webgpu', message: noAdapter ? 'WebGPU is there, but no adapter was found (requestAdapter() returned null).' : messageOf(error) });
    return;
  }
  gpu = opened;
  watchLoss(opened);
  let lastStatus = 0;
  mnist = await loadMnist(dataUrl, (megabytes) => {
    if (performance.now() - lastStatus < 100) return;
    lastStatus = performance.now();
    post({ type: 'status', text: `Loading MNIST… ${megabytes.toFixed(1)} MB` });
  });
  // The label distribution of the default split (the CLI's defaults) until a run starts.
  post({ type: 'ready', adapter: opened.adapter, dataset: datasetSummary(mnist, splitForRun(mnist, resolveConfig({}))) });
}

function requireReady(): { gpu: Gpu; mnist: Mnist } {
  if (!gpu || !mnist) throw new Error('the GPU and the data are not ready yet');
  return { gpu, mnist };
}

/** What runs train and test on: the dropped table, else MNIST. */
function currentData(): { train: Dataset; test: Dataset } {
  return table ?? requireReady().mnist;
}

/** The columns of a CSV header line (quotes and a byte-order mark removed): to choose the default label column. */
function headerColumns(text: string): string[] {
  const line = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const delimiter = line.includes('\t') && !line.includes(',') ? '\t' : ',';
  return line.split(delimiter).map((name) => name.trim().replace(/^"(.*)"$/, '$1'));
}

/**
 * Reads a dropped CSV file: the label column (given, else the last), every other column a feature
 * unless its first data row is not a number (ids, names, dates: ignored, and said so).
 */
async function loadTable(name: string, text: string, label?: string, ignore?: readonly string[]): Promise<void> {
  requireReady();
  if (run && run.phase !== 'finished') throw new Error('a run is in progress: stop it before loading a table');
  const columns = headerColumns(text);
  const labelColumn = label ?? columns[columns.length - 1];
  const firstRow = (text.replace(/^\uFEFF/, '').split(/\r?\n/, 2)[1] ?? '').split(columns.length > 1 && text.includes('\t') && !text.split('\n', 1)[0].includes(',') ? '\t' : ',');
  const ignored = ignore ?? columns.filter((column, i) => column !== labelColumn && firstRow[i] !== undefined && !Number.isFinite(Number(firstRow[i].trim().replace(/^"(.*)"$/, '$1'))));
  const all = parseCsvText(text, name, { label: labelColumn, ignore: ignored });
  const split = all.count >= 10 ? all.split(0.2, { seed: TABLE_TEST_SEED }) : { train: all, validation: all };
  const train = split.train.renamed('train');
  const test = split.validation!.renamed('test');
  const options = tableOptions(train);
  const config = resolveConfig(options);
  const classes = train.classes;
  const counts = splitForRun({ train, test }, config);
  const summary: TableSummary = {
    name,
    columns,
    label: labelColumn,
    features: [...(all.featureNames ?? [])],
    ignored,
    classNames: Array.from({ length: classes }, (_, c) => train.className(c)),
    rows: all.count,
    train: train.count,
    test: all.count >= 10 ? test.count : 0,
    stats: tableStats(train, 20),
    options,
    labelCounts: runLabelCounts(counts, classes),
  };
  replaceModel(undefined);
  releaseRunData(undefined);
  table = { summary, train, test };
  post({ type: 'table', table: summary });
}

function requireModel(): Model {
  if (!model) throw new Error('train or load a model first');
  return model;
}

/** Rejects models that do not take MNIST's 28×28 images and 10 digits; `name` says whose. */
function checkMnistShape(spec: ModelSpec, name: string): void {
  const layers = spec.layers;
  const inputs = layers[0];
  const classes = layers[layers.length - 1];
  if (inputs !== IMAGE_SIZE) throw new Error(`${name} takes ${inputs} inputs, but MNIST images have ${IMAGE_SIZE} (28×28)`);
  if (classes !== MNIST_CLASSES) throw new Error(`${name} has ${classes} classes, but MNIST has ${MNIST_CLASSES} (the digits 0–9)`);
}

/** Rejects models that do not take the table's features and classes. */
function checkTableShape(spec: ModelSpec, name: string): void {
  const { features, classNames } = table!.summary;
  const layers = spec.layers;
  if (layers[0] !== features.length || layers[layers.length - 1] !== classNames.length) {
    throw new Error(`${name} is ${layers.join('-')}, but the table has ${features.length} features and ${classNames.length} classes: its layers must start with ${features.length} and end with ${classNames.length}`);
  }
}

/** Makes `next` the current model (or none), freeing the one before it. */
function replaceModel(next: Model | undefined): void {
  if (model !== next) model?.dispose();
  model = next;
  run = undefined;
}

/** Frees the device copies of the last run's sets that `next` does not use. */
function releaseRunData(next: RunData | undefined): void {
  if (runData && gpu) {
    const kept = new Set([next?.train, next?.validation]);
    for (const set of [runData.train, runData.validation]) if (set && !kept.has(set)) gpu.release(set);
  }
  runData = next;
}

/**
 * Predictions one at a time: the drawing pad's and the gallery's share the model's inference
 * buffers, so a second call waits for the first.
 */
let predicting: Promise<unknown> = Promise.resolve();
function predictRows(target: Model, rows: Uint8Array | Float32Array): Promise<Predictions> {
  const result = predicting.then(() => target.predict(rows));
  predicting = result.catch(() => undefined);
  return result;
}

/** The buffers behind a model's weights, each once (a transfer list may not name one twice). */
function weightBuffers(layers: readonly LayerWeights[]): ArrayBuffer[] {
  return [...new Set(layers.flatMap((layer) => [layer.weight.buffer, layer.bias.buffer]))] as ArrayBuffer[];
}

/** Sends the page the model's weights and its test-set analysis. */
async function publish(target: Model, source: string): Promise<number> {
  const layers = await target.getWeights();
  const snapshot: ModelSnapshot = { spec: target.spec, layers, source };
  post({ type: 'model', model: snapshot }, weightBuffers(layers));
  const analysis = await analyse(source, target, currentData().test, (rows) => predictRows(target, rows));
  post({ type: 'analysis', analysis });
  return analysis.accuracy;
}

async function start(options: Partial<TrainOptions>): Promise<void> {
  const ready = requireReady();
  if (run && run.phase !== 'finished') throw new Error('a run is in progress: stop it first');
  // The form edits the hidden widths; a table's input and output widths are its own.
  if (table && options.layers) options = { ...options, layers: [table.summary.features.length, ...options.layers.slice(1, -1), table.summary.classNames.length] };
  // The page checked the options already; resolving them again gives the split's settings.
  const config = resolveConfig(options);
  if (table) checkTableShape(config.spec, `the model ${config.spec.layers.join('-')}`);
  else checkMnistShape(config.spec, `the model ${config.spec.layers.join('-')}`);
  const data = splitForRun(currentData(), config);
  replaceModel(undefined);
  releaseRunData(data);
  post({ type: 'status', text: 'Building the model…' });
  const created = await createModel(ready.gpu, options);
  replaceModel(created);
  const steps = stepsPerEpoch(data.train.count, config.batchSize);
  const current: Run = { model: created, stepsPerEpoch: steps, phase: 'training', abort: new AbortController(), stopRequested: false };
  run = current;
  post({
    type: 'started',
    run: {
      config: created.config,
      trainCount: data.train.count,
      validationCount: data.validation?.count ?? 0,
      stepsPerEpoch: steps,
      parameters: created.parameterCount,
      labelCounts: runLabelCounts(data, table?.train.classes),
    },
  });
  const layers = await created.getWeights();
  post({ type: 'model', model: { spec: created.spec, layers, source: 'initial weights' } }, weightBuffers(layers));
  await train(current, false);
}

/** Fits (or, with `resume`, continues the interrupted fit) until it ends or is paused. */
async function train(current: Run, resume: boolean): Promise<void> {
  current.phase = 'training';
  current.abort = new AbortController();
  const control: FitControl = {
    signal: current.abort.signal,
    progressEvery: Math.max(1, Math.ceil(current.stepsPerEpoch / PROGRESS_PER_EPOCH)),
    onProgress: (event) => {
      post({ type: 'progress', event });
      if (loseDeviceAfterSteps > 0 && event.firstStep + event.stepLosses.length - 1 >= loseDeviceAfterSteps) {
        loseDeviceAfterSteps = 0;
        gpu?.device.destroy();
      }
    },
    onRecovery: (recovery) => {
      post({
        type: 'recovered',
        text:
          `${sentence(recovery.reason)} A new GPU device was opened and training went on from step ${recovery.restoredAt} ` +
          `(${recovery.replayed} step${recovery.replayed === 1 ? '' : 's'} replayed; the result is the same as without the loss).`,
      });
      if (gpu) watchLoss(gpu);
    },
    onEpochEnd: async (record, info) => {
      post({ type: 'epoch', record, improved: info.improved });
      await publish(current.model, `after epoch ${record.epoch}`);
    },
  };
  let result: FitResult;
  try {
    // A resumed fit takes no training options: it continues with the interrupted one's settings.
    result = await current.model.fit(currentData().train, resume ? { ...control, resume: true } : control);
  } catch (error) {
    current.phase = 'finished';
    // A device lost beyond what the fit recovers from (or one that cannot be replaced).
    if (error instanceof MlpError && error.code === 'DEVICE_LOST') {
      post({ type: 'device-lost', message: error.message });
      return;
    }
    throw error;
  }
  current.last = result;
  if (result.status === 'interrupted' && !current.stopRequested) {
    current.phase = 'paused';
    post({ type: 'paused' });
    await publish(current.model, `paused in epoch ${result.history.length + 1}`);
    return;
  }
  await finish(current, result);
}

const epochsText = (n: number) => `${n} epoch${n === 1 ? '' : 's'}`;

/**
 * Ends a run with the best validation epoch's weights (as the CLI does) and tests them. A completed
 * or early-stopped fit restored them already; a stopped (interrupted) or diverged one does it here.
 */
async function finish(current: Run, result: FitResult): Promise<void> {
  current.phase = 'finished';
  const reason: FinishReason = result.status === 'interrupted' ? 'stopped' : result.status;
  const restored = reason === 'stopped' || reason === 'diverged' ? current.model.restoreBestWeights() : result.restoredBest;
  const source = restored && result.best ? `best epoch (${result.best.epoch})` : 'end of training';
  const accuracy = await publish(current.model, source);
  const tested = `test accuracy ${(100 * accuracy).toFixed(2)}% with the weights of the ${source}`;
  const { best, history } = result;
  const bestText = best ? `best validation accuracy ${(100 * best.valAccuracy).toFixed(2)}% at epoch ${best.epoch}; ` : '';
  let message: string;
  switch (reason) {
    case 'completed':
      message = `Finished ${epochsText(history.length)}: ${bestText}${tested}.`;
      break;
    case 'early-stopped':
      message = `Early stopping after ${epochsText(history.length)}: ${bestText}${tested}.`;
      break;
    case 'stopped':
      message = `Stopped in epoch ${history.length + 1}: ${bestText}${tested}.`;
      break;
    case 'diverged': {
      const at = result.divergence!;
      message =
        `Training diverged: the loss became NaN or infinite at epoch ${at.epoch}, step ${at.stepInEpoch}. ` +
        `Try a learning rate below ${result.config.lr}. Shown: ${tested}.`;
      break;
    }
  }
  post({ type: 'finished', reason, message });
}

function pause(): void {
  if (run?.phase === 'training') run.abort.abort();
}

async function resume(): Promise<void> {
  if (run?.phase !== 'paused') throw new Error('there is no paused run to resume');
  post({ type: 'resumed' });
  await train(run, true);
}

async function stop(): Promise<void> {
  if (run?.phase === 'training') {
    run.stopRequested = true;
    run.abort.abort();
  } else if (run?.phase === 'paused') {
    await finish(run, run.last!);
  }
}

async function predict(id: number, input: Uint8Array): Promise<void> {
  // predict scales the pixels by 1/255, as training does.
  const { probabilities } = await predictRows(requireModel(), input);
  post({ type: 'prediction', id, probabilities: [...probabilities] });
}

async function save(): Promise<void> {
  const current = requireModel();
  const bytes = await current.save();
  const buffer = bytes.slice().buffer;
  post({ type: 'saved', fileName: `mlp-${current.spec.layers.join('-')}.safetensors`, bytes: buffer }, [buffer]);
}

/** The webgpu-mlp version recorded in a safetensors file's metadata (the API does not report it). */
function savedBy(bytes: Uint8Array): string | undefined {
  try {
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as { __metadata__?: Record<string, unknown> };
    const version = header.__metadata__?.[VERSION_KEY];
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

async function load(name: string, buffer: ArrayBuffer): Promise<void> {
  const ready = requireReady();
  if (run && run.phase !== 'finished') throw new Error('a run is in progress: stop it before loading a model');
  const bytes = new Uint8Array(buffer);
  const loaded = await loadModel(ready.gpu, bytes, { source: name });
  try {
    if (table) checkTableShape(loaded.spec, `${name}: this model`);
    else checkMnistShape(loaded.spec, `${name}: this model`);
  } catch (error) {
    loaded.dispose();
    throw error;
  }
  replaceModel(loaded);
  releaseRunData(undefined);
  post({ type: 'loaded', name, spec: loaded.spec, version: savedBy(bytes) });
  await publish(loaded, `loaded ${name}`);
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'init':
      return init(message.dataUrl, message.loseDeviceAfterSteps);
    case 'start':
      return start(message.options);
    case 'pause':
      return pause();
    case 'resume':
      return resume();
    case 'stop':
      return stop();
    case 'predict':
      return predict(message.id, message.input);
    case 'save':
      return save();
    case 'load':
      return load(message.name, message.bytes);
    case 'table':
      return loadTable(message.name, message.text, message.label, message.ignore);
  }
}

const CONTEXTS: Record<ToWorker['type'], ErrorContext> = {
  init: 'init',
  start: 'train',
  pause: 'train',
  resume: 'train',
  stop: 'train',
  predict: 'predict',
  save: 'save',
  table: 'table',
  load: 'load',
};

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  handle(event.data).catch((error: unknown) => {
    // After a device loss every GPU call fails; the page already got 'device-lost'.
    if (gpu?.isLost) return;
    post({ type: 'error', context: CONTEXTS[event.data.type], message: messageOf(error) });
  });
};
