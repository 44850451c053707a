// Measures how long each single dispatch of a training step and of an evaluation batch runs on this
// adapter (timestamp queries, one pass per dispatch), to keep every dispatch far from a GPU watchdog.
// Not a test: run it by hand and read the table.
//   node --import ./bin/register.mjs test/reliability/measure/dispatch-durations.ts [layers] [trainB] [evalB] ...
// e.g. `784,256,128,10 128 1000` (the defaults) or `784,2048,10 128 10000`.
import { Dataset } from '../../../src/data/dataset.ts';
import { BufferArena } from '../../../src/gpu/arena.ts';
import { readBuffer } from '../../../src/gpu/buffers.ts';
import { openGpu } from '../../../src/gpu/device.ts';
import { encodeDispatches, KernelCache, type Dispatch } from '../../../src/gpu/program.ts';
import type { KernelContext } from '../../../src/kernels/context.ts';
import { optimizerConfig } from '../../../src/model/optimizer.ts';
import type { ModelSpec } from '../../../src/model/spec.ts';
import { Random } from '../../../src/util/random.ts';
import { uploadDataset } from '../../../src/train/gpu-data.ts';
import { GpuParameters } from '../../../src/train/gpu-model.ts';
import { EvalPlan, TrainPlan } from '../../../src/train/plan.ts';

const REPEATS = 3;

const [layersText = '784,256,128,10', ...sizes] = process.argv.slice(2);
const layers = layersText.split(',').map(Number);
const [trainB = 128, evalB = 1000] = sizes.map(Number);
const spec: ModelSpec = { layers, activation: 'relu', loss: 'ce', dropout: 0.2 };

const gpu = await openGpu();
const { device } = gpu;
if (!device.features.has('timestamp-query')) throw new Error('this adapter has no timestamp-query');
const arena = new BufferArena(device);
const ctx: KernelContext = { device, cache: new KernelCache(device), arena, adapterKind: gpu.report.kind };

function randomSet(name: string, count: number): Dataset {
  const rng = new Random(1, name);
  const images = Uint8Array.from({ length: count * layers[0] }, () => rng.below(256));
  const labels = Uint8Array.from({ length: count }, () => rng.below(layers[layers.length - 1]));
  return Dataset.create({ name, features: images, labels });
}

/** Milliseconds of each dispatch run alone in a timestamped pass (the largest of REPEATS runs after a warm-up run). */
async function time(dispatches: readonly Dispatch[]): Promise<number[]> {
  const n = dispatches.length;
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * n });
  const resolved = device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const worst = new Array<number>(n).fill(0);
  for (let r = -1; r < REPEATS; r++) {
    const encoder = device.createCommandEncoder();
    dispatches.forEach((d, i) => {
      const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      encodeDispatches(pass, [d], 0);
      pass.end();
    });
    encoder.resolveQuerySet(querySet, 0, 2 * n, resolved, 0);
    device.queue.submit([encoder.finish()]);
    const ns = new BigUint64Array(await readBuffer(device, resolved));
    // Run -1 warms up: lavapipe may finish compiling a pipeline at its first dispatch.
    if (r >= 0) for (let i = 0; i < n; i++) worst[i] = Math.max(worst[i], Number(ns[2 * i + 1] - ns[2 * i]) / 1e6);
  }
  querySet.destroy();
  resolved.destroy();
  return worst;
}

function report(title: string, dispatches: readonly Dispatch[], ms: number[]): void {
  console.log(`\n${title}: ${ms.reduce((a, b) => a + b, 0).toFixed(1)} ms in ${ms.length} dispatches`);
  const order = ms.map((_, i) => i).sort((a, b) => ms[b] - ms[a]);
  for (const i of order.slice(0, 6)) console.log(`  ${ms[i].toFixed(2).padStart(9)} ms  ${dispatches[i].label}`);
}

const model = new GpuParameters(arena, spec, 'adam');
const trainSet = uploadDataset(arena, randomSet('train', Math.max(trainB, 1024)));
const train = await TrainPlan.create(ctx, spec, optimizerConfig('adam'), model, trainSet, { batchSize: trainB, stepsPerSubmit: 1, stepsPerEpoch: 8, seed: 1 });
train.setOrder(Uint32Array.from({ length: trainSet.count }, (_, i) => i));
train.submit([{ t: 1, batchStart: 0, rows: trainB, record: 0, lr: 1e-3, beta1: 0.9, beta2: 0.999 }]);
await train.requestRecords(0, 1)();
report(`training step, ${layersText}, batch ${trainB}`, train.dispatches, await time(train.dispatches));

const evalSet = uploadDataset(arena, randomSet('test', evalB));
const evaluation = await EvalPlan.create(ctx, spec, model, evalSet, evalB);
report(`evaluation batch, ${layersText}, ${evalB} rows requested`, evaluation.dispatches, await time(evaluation.dispatches));

arena.destroy();
gpu.close();
process.exit(0);
