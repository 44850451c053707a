// TensorFlow.js peer of `npm run bench`: the default MLP trained by TF.js's WebGPU backend on the same
// adapter, in Node, with Dawn (the `webgpu` package) as navigator.gpu.
// Run: node --import ./bin/register.mjs bench/peers/tfjs.ts [--steps=100] [--rounds=3] [--batch-size=128]
//   [--layers=784,256,128,10 --dropout=0.2 --optimizer=adam|sgd --lr=0.001] (default: the default model)
//
// The model is a tfjs-layers Sequential (Dense 256 relu, Dropout 0.2, Dense 128 relu, Dropout 0.2,
// Dense 10), trained by a custom loop: optimizer.minimize over tf.losses.softmaxCrossEntropy with
// tf.train.adam(1e-3). The loss sum accumulates on the GPU and is read back once per round, so no
// step waits for the GPU; before that readback we sleep as our own trainer does (src/gpu/idle-wait.ts),
// so TF.js gets the same protection from Dawn's busy-polling wait. Each step uploads its batch
// (128×784 f32) from the host: the whole training set as f32 (157 MB) would pass the adapter's
// 128 MiB maxStorageBufferBindingSize, which is how `model.fit` on the whole set fails here.
// tfjs-layers is imported for the model and because its Node bundle registers the gradients that
// tfjs-core's Node bundle leaves out. Timed: `rounds` rounds of `steps` steps after a warm-up; the
// epoch time is the median ms per step × steps per epoch (extrapolated, and reported as such).
import type { Scalar, Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import { create, globals } from 'webgpu';
import { prepareData } from '../../src/runs/data.ts';
import { IdleWaiter } from '../../src/gpu/idle-wait.ts';
import { DEFAULT_CONFIG } from '../../src/train/config.ts';
import { epochOrder } from '../../src/train/trainer.ts';

const value = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const STEPS = value('steps', 100);
const ROUNDS = value('rounds', 3);
const WARMUP = value('warmup', 10);
const B = value('batch-size', DEFAULT_CONFIG.batchSize);
const EVAL_BATCH = DEFAULT_CONFIG.evalBatchSize;
const text = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const LAYERS = text('layers')?.split(',').map(Number) ?? DEFAULT_CONFIG.spec.layers;
const DROPOUT = value('dropout', DEFAULT_CONFIG.spec.dropout);
const OPTIMIZER = text('optimizer') ?? 'adam';
const LR = value('lr', DEFAULT_CONFIG.lr);

// Dawn's instance must outlive the device TF.js makes from it (see src/gpu/device.ts): module scope.
Object.assign(globalThis, globals);
process.env.XDG_RUNTIME_DIR ??= (await import('node:os')).tmpdir();
const gpu = create([]);
Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node' }, configurable: true });
// Imported only now: the backend registers itself at import time only if navigator.gpu exists.
const tf = await import('@tensorflow/tfjs-core');
const tfl = await import('@tensorflow/tfjs-layers');
await import('@tensorflow/tfjs-backend-webgpu');

const adapter = await gpu.requestAdapter();
if (!adapter) throw new Error('no WebGPU adapter');
if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not initialise its WebGPU backend');

const spec = { ...DEFAULT_CONFIG.spec, layers: LAYERS, dropout: DROPOUT };
const data = await prepareData({ dir: null }, DEFAULT_CONFIG);
const { train } = data;
const validation = data.validation!;
const IN = train.inputSize;
const C = spec.layers[spec.layers.length - 1];

const model = tfl.sequential();
spec.layers.slice(1).forEach((units, l) => {
  const hidden = l < spec.layers.length - 2;
  model.add(tfl.layers.dense({ units, activation: hidden ? spec.activation : 'linear', kernelInitializer: 'heNormal', ...(l === 0 ? { inputShape: [IN] } : {}) }));
  if (hidden && spec.dropout > 0) model.add(tfl.layers.dropout({ rate: spec.dropout }));
});
const optimizer = OPTIMIZER === 'sgd' ? tf.train.sgd(LR) : tf.train.adam(LR);

const stepsPerEpoch = Math.ceil(train.count / B);
const order = epochOrder(DEFAULT_CONFIG.seed, 0, train.count);
const identity = Uint32Array.from({ length: validation.count }, (_, i) => i);

/** Rows [start, start + rows) of `set` in `indices` order: pixels scaled to [0, 1] [rows, IN], labels [rows]. */
function batchOf(set: typeof train, indices: ArrayLike<number>, start: number, rows: number): { x: Tensor2D; y: Tensor1D } {
  const xs = new Float32Array(rows * IN);
  const ys = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const i = indices[start + r];
    for (let k = 0; k < IN; k++) xs[r * IN + k] = set.features[i * IN + k] / 255;
    ys[r] = set.labels[i];
  }
  return { x: tf.tensor2d(xs, [rows, IN]), y: tf.tensor1d(ys, 'int32') };
}

let lossTotal = tf.keep(tf.scalar(0));

function trainStep(s: number): void {
  const rows = Math.min(B, train.count - s * B);
  const next = tf.tidy(() => {
    const { x, y } = batchOf(train, order, s * B, rows);
    const onehot = tf.oneHot(y, C);
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(onehot, model.apply(x, { training: true }) as Tensor) as Scalar, true)!;
    return tf.add<Scalar>(lossTotal, tf.mul(loss, rows));
  });
  lossTotal.dispose();
  lossTotal = tf.keep(next);
}

const waiter = new IdleWaiter(true);

/** Runs `count` steps from step `first` and waits for them; returns wall ms and CPU ms (all threads). */
async function round(first: number, count: number, learn = true): Promise<{ wall: number; cpu: number }> {
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  for (let k = 0; k < count; k++) {
    trainStep((first + k) % stepsPerEpoch);
    waiter.submitted(1, { learn });
  }
  await waiter.wait(() => lossTotal.data());
  const cpu = process.cpuUsage(cpu0);
  return { wall: performance.now() - start, cpu: (cpu.user + cpu.system) / 1000 };
}

const log = (message: string) => process.stderr.write(`tfjs: ${message}\n`);
const t0 = performance.now();
await round(0, WARMUP, false); // compiles TF.js's pipelines (and lavapipe's shaders) on first use: nothing to learn from
log(`warm-up ${WARMUP} steps: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const msPerStep: number[] = [];
const cpuMsPerStep: number[] = [];
let next = WARMUP;
for (let r = 0; r < ROUNDS; r++) {
  const { wall, cpu } = await round(next, STEPS);
  msPerStep.push(wall / STEPS);
  cpuMsPerStep.push(cpu / STEPS);
  next += STEPS;
  log(`round ${r + 1}: ${msPerStep[r].toFixed(1)} ms/step, CPU ${cpuMsPerStep[r].toFixed(1)} ms/step`);
}
const trainLoss = (await lossTotal.data())[0] / (next * B);

/** Forward pass over the validation set in batches of EVAL_BATCH; returns the accuracy. */
async function evaluate(): Promise<number> {
  let correct = tf.keep(tf.scalar(0, 'int32'));
  for (let start = 0; start < validation.count; start += EVAL_BATCH) {
    const sum = tf.tidy(() => {
      const { x, y } = batchOf(validation, identity, start, Math.min(EVAL_BATCH, validation.count - start));
      const predicted = tf.argMax(model.predict(x, { batchSize: EVAL_BATCH }) as Tensor, 1);
      return tf.add<Scalar>(correct, tf.sum(tf.cast(tf.equal(predicted, y), 'int32')));
    });
    correct.dispose();
    correct = tf.keep(sum);
  }
  return (await correct.data())[0] / validation.count;
}
await evaluate(); // warm-up: the evaluation pipelines
const evalStart = performance.now();
const valAccuracy = await evaluate();
const evalSeconds = (performance.now() - evalStart) / 1000;

const sorted = [...msPerStep].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
const info = adapter.info;
process.stdout.write(
  JSON.stringify({
    peer: 'tfjs',
    version: tf.version_core,
    layersVersion: tfl.version_layers,
    backend: tf.getBackend(),
    adapter: info.description || info.device,
    batchSize: B,
    trainCount: train.count,
    stepsPerEpoch,
    warmupSteps: WARMUP,
    stepsPerRound: STEPS,
    msPerStep,
    cpuMsPerStep,
    medianEpochSeconds: (median * stepsPerEpoch) / 1000,
    extrapolated: true,
    medianEvalSeconds: evalSeconds,
    trainLoss,
    valAccuracy,
  }) + '\n',
);
tf.disposeVariables();
process.exit(0);
