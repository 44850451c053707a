// The training worker: owns the WebGPU device, the MNIST data and the training run, so the page
// never freezes. It answers the messages of protocol.ts; every failure becomes an 'error' message.
import { decodeCheckpoint, encodeCheckpoint } from '../../../src/checkpoint/checkpoint.ts';
import { NoAdapterError, openGpu, type GpuContext } from '../../../src/gpu/device.ts';
import { KernelCache } from '../../../src/gpu/program.ts';
import { initialParams } from '../../../src/model/init.ts';
import { classCount, inputSize, type ModelSpec } from '../../../src/model/spec.ts';
import { paramLayout } from '../../../src/model/tensors.ts';
import { DEFAULT_CONFIG, type TrainConfig } from '../../../src/train/config.ts';
import type { TrainingEngine } from '../../../src/train/engine.ts';
import { createGpuEngine, GpuSession } from '../../../src/train/gpu-engine.ts';
import { evaluateParams, InferencePlan, softmaxRows } from '../../../src/train/inference.ts';
import type { EvalResult } from '../../../src/train/plan.ts';
import { runTrainer, type TrainerState, type TrainOutcome } from '../../../src/train/trainer.ts';
import { VERSION } from '../../../src/version.ts';
import type { Analysis, ErrorContext, FinishReason, FromWorker, ToWorker } from '../protocol.ts';
import { analyse } from './analysis.ts';
import { datasetSummary, MNIST_CLASSES, splitForRun, type RunData } from './data.ts';
import { loadMnist, type Mnist } from './mnist.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

/** Progress readbacks per epoch: points on the live curves (each costs one small GPU round trip). */
const PROGRESS_PER_EPOCH = 20;
/** Rows per inference call: a drawing is one; ranking the gallery's mistakes uses batches of this many. */
const INFERENCE_CAPACITY = 256;
const IMAGE_SIZE = 28 * 28;

interface Run {
  readonly config: TrainConfig;
  readonly data: RunData;
  readonly session: GpuSession;
  readonly engine: TrainingEngine;
  phase: 'training' | 'paused' | 'finished';
  abort: AbortController;
  stopRequested: boolean;
  state?: TrainerState;
  bestParams?: Float32Array;
}

let gpu: GpuContext | undefined;
let mnist: Mnist | undefined;
let inferenceCache: KernelCache | undefined;
let inference: { key: string; plan: InferencePlan } | undefined;
/** The run whose model is current, or a loaded model: never both. */
let run: Run | undefined;
let loaded: { spec: ModelSpec; params: Float32Array; name: string } | undefined;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function init(dataUrl: string): Promise<void> {
  if (typeof navigator === 'undefined' || !('gpu' in navigator) || !navigator.gpu) {
    post({ type: 'no-webgpu', message: 'This browser does not expose WebGPU (navigator.gpu) to workers.' });
    return;
  }
  post({ type: 'status', text: 'Opening the GPU…' });
  try {
    gpu = await openGpu();
  } catch (error) {
    post({ type: 'no-webgpu', message: error instanceof NoAdapterError ? 'WebGPU is there, but no adapter was found (requestAdapter() returned null).' : messageOf(error) });
    return;
  }
  const context = gpu;
  context.lost.then((message) => {
    run?.abort.abort();
    post({ type: 'device-lost', message });
  });
  inferenceCache = new KernelCache(context.device);
  let lastStatus = 0;
  mnist = await loadMnist(dataUrl, (megabytes) => {
    if (performance.now() - lastStatus < 100) return;
    lastStatus = performance.now();
    post({ type: 'status', text: `Loading MNIST… ${megabytes.toFixed(1)} MB` });
  });
  post({ type: 'ready', adapter: context.report, dataset: datasetSummary(mnist, splitForRun(mnist, DEFAULT_CONFIG)) });
}

function requireReady(): { gpu: GpuContext; mnist: Mnist } {
  if (!gpu || !mnist) throw new Error('the GPU and the data are not ready yet');
  return { gpu, mnist };
}

function closeRun(): void {
  if (!run) return;
  run.engine.close();
  run.session.destroy();
  run = undefined;
}

async function inferenceFor(spec: ModelSpec): Promise<InferencePlan> {
  const key = `${spec.layers.join('-')} ${spec.activation}`;
  if (inference?.key !== key) {
    inference?.plan.destroy();
    inference = undefined;
    inference = { key, plan: await InferencePlan.create(requireReady().gpu, spec, INFERENCE_CAPACITY, inferenceCache) };
  }
  return inference.plan;
}

/** Sends the page the model's weights and its test-set analysis. */
async function publishModel(spec: ModelSpec, params: Float32Array, result: EvalResult, source: string): Promise<Analysis> {
  const plan = await inferenceFor(spec);
  plan.model.writeParams(params);
  post({ type: 'model', model: { spec, params, source } });
  const analysis = await analyse(source, result, requireReady().mnist.test, plan, classCount(spec));
  post({ type: 'analysis', analysis });
  return analysis;
}

async function publishRun(current: Run, source: string): Promise<Analysis> {
  return publishModel(current.config.spec, await current.engine.readParams(), await current.engine.evaluate('test'), source);
}

async function start(config: TrainConfig): Promise<void> {
  const ready = requireReady();
  if (run && run.phase !== 'finished') throw new Error('a run is in progress: stop it first');
  closeRun();
  loaded = undefined;
  const data = splitForRun(ready.mnist, config);
  post({ type: 'status', text: 'Uploading data and building the training plan…' });
  const session = new GpuSession(ready.gpu, data);
  let engine: TrainingEngine;
  try {
    engine = await createGpuEngine(session, config.spec, config.optimizer, config);
  } catch (error) {
    session.destroy();
    throw error;
  }
  const initial = initialParams(config.spec, config.init, config.seed);
  engine.writeParams(initial);
  run = { config, data, session, engine, phase: 'training', abort: new AbortController(), stopRequested: false };
  const summary = datasetSummary(ready.mnist, data);
  post({
    type: 'started',
    run: {
      config,
      trainCount: data.train.count,
      validationCount: data.validation.count,
      stepsPerEpoch: engine.stepsPerEpoch,
      parameters: paramLayout(config.spec).parameterCount,
      labelCounts: summary.labelCounts,
    },
  });
  post({ type: 'model', model: { spec: config.spec, params: initial, source: 'initial weights' } });
  await train(run);
}

async function train(current: Run): Promise<void> {
  current.phase = 'training';
  current.abort = new AbortController();
  let outcome: TrainOutcome;
  try {
    outcome = await runTrainer(
      current.engine,
      { ...current.config, progressPerEpoch: PROGRESS_PER_EPOCH },
      {
        progress: (event) => post({ type: 'progress', event }),
        epochEnd: async (record, _state, improved) => {
          post({ type: 'epoch', record, improved });
          await publishRun(current, `after epoch ${record.epoch}`);
        },
      },
      { resume: current.state, bestParams: current.bestParams, signal: current.abort.signal },
    );
  } catch (error) {
    current.phase = 'finished';
    throw error;
  }
  current.state = outcome.state;
  current.bestParams = outcome.bestParams;
  if (outcome.reason === 'interrupted' && !current.stopRequested) {
    current.phase = 'paused';
    post({ type: 'paused' });
    await publishRun(current, `paused in epoch ${outcome.state.epoch + 1}`);
    return;
  }
  await finish(current, outcome);
}

const epochsText = (n: number) => `${n} epoch${n === 1 ? '' : 's'}`;

/** Ends a run: restores the best validation epoch's weights (as the CLI does) and tests them. */
async function finish(current: Run, outcome: TrainOutcome): Promise<void> {
  current.phase = 'finished';
  const { state } = outcome;
  const reason: FinishReason = outcome.reason === 'interrupted' ? 'stopped' : outcome.reason;
  if (outcome.bestParams) current.engine.writeParams(outcome.bestParams);
  const source = state.best ? `best epoch (${state.best.epoch})` : 'end of training';
  const analysis = await publishRun(current, source);
  const tested = `test accuracy ${(100 * analysis.accuracy).toFixed(2)}% with the weights of the ${source}`;
  const best = state.best ? `best validation accuracy ${(100 * state.best.valAccuracy).toFixed(2)}% at epoch ${state.best.epoch}; ` : '';
  let message: string;
  switch (reason) {
    case 'completed':
      message = `Finished ${epochsText(state.history.length)}: ${best}${tested}.`;
      break;
    case 'early-stopped':
      message = `Early stopping after ${epochsText(state.history.length)}: ${best}${tested}.`;
      break;
    case 'stopped':
      message = `Stopped in epoch ${state.epoch + 1}: ${best}${tested}.`;
      break;
    case 'diverged': {
      const at = outcome.divergence!;
      message =
        `Training diverged: the loss became NaN or infinite at epoch ${at.epoch}, step ${at.stepInEpoch}. ` +
        `Try a learning rate below ${current.config.lr}. Shown: ${tested}.`;
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
  await train(run);
}

async function stop(): Promise<void> {
  if (run?.phase === 'training') {
    run.stopRequested = true;
    run.abort.abort();
  } else if (run?.phase === 'paused') {
    await finish(run, { reason: 'interrupted', state: run.state!, bestParams: run.bestParams });
  }
}

/** The current model: the run's (its engine holds the weights) or a loaded one. */
async function currentModel(): Promise<{ spec: ModelSpec; params: Float32Array; config?: TrainConfig } | undefined> {
  if (run) return { spec: run.config.spec, params: await run.engine.readParams(), config: run.config };
  return loaded;
}

async function predict(id: number, input: Float32Array): Promise<void> {
  const model = await currentModel();
  if (!model) throw new Error('train or load a model first');
  const plan = await inferenceFor(model.spec);
  plan.model.writeParams(model.params);
  const [probabilities] = softmaxRows(await plan.logits(input), 1, classCount(model.spec));
  post({ type: 'prediction', id, probabilities: [...probabilities] });
}

async function save(): Promise<void> {
  const model = await currentModel();
  if (!model) throw new Error('train or load a model first');
  const bytes = encodeCheckpoint({ spec: model.spec, params: model.params, version: VERSION, ...(model.config ? { config: model.config } : {}) });
  const buffer = bytes.slice().buffer;
  post({ type: 'saved', fileName: `mlp-${model.spec.layers.join('-')}.safetensors`, bytes: buffer }, [buffer]);
}

async function load(name: string, bytes: ArrayBuffer): Promise<void> {
  const ready = requireReady();
  if (run && run.phase !== 'finished') throw new Error('a run is in progress: stop it before loading a model');
  const checkpoint = decodeCheckpoint(new Uint8Array(bytes), name);
  const { spec, params } = checkpoint;
  if (inputSize(spec) !== IMAGE_SIZE) {
    throw new Error(`${name}: this model takes ${inputSize(spec)} inputs, but MNIST images have ${IMAGE_SIZE} (28×28)`);
  }
  if (classCount(spec) !== MNIST_CLASSES) {
    throw new Error(`${name}: this model has ${classCount(spec)} classes, but MNIST has ${MNIST_CLASSES} (the digits 0–9)`);
  }
  closeRun();
  loaded = { spec, params, name };
  post({ type: 'loaded', name, spec, version: checkpoint.version });
  const result = await evaluateParams(spec, params, ready.mnist.test, DEFAULT_CONFIG.evalBatchSize, ready.gpu);
  await publishModel(spec, params, result, `loaded ${name}`);
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'init':
      return init(message.dataUrl);
    case 'start':
      return start(message.config);
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
  load: 'load',
};

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  handle(event.data).catch((error: unknown) => {
    // After a device loss every GPU call fails; the page already got 'device-lost'.
    if (gpu?.isLost) return;
    post({ type: 'error', context: CONTEXTS[event.data.type], message: messageOf(error) });
  });
};
