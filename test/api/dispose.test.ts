// dispose() frees every GPU buffer a model made, readback staging buffers included; several models
// share one device; memory stays flat over many fit/dispose cycles in one process (the way a search
// or a long-lived service uses the library).
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, openGpu } from '../../src/index.ts';
import { loadMnist } from '../../src/node.ts';

const gpu = await openGpu();
afterAll(() => gpu.close());

/** Every buffer created on the device from now on, and whether it was destroyed since. */
const live = new Set<GPUBuffer>();
let created = 0;
const { device } = gpu;
const createBuffer = device.createBuffer.bind(device);
device.createBuffer = (descriptor: GPUBufferDescriptor) => {
  const buffer = createBuffer(descriptor);
  created += 1;
  live.add(buffer);
  const destroy = buffer.destroy.bind(buffer);
  buffer.destroy = () => {
    live.delete(buffer);
    destroy();
  };
  return buffer;
};
const liveBytes = () => [...live].reduce((sum, b) => sum + b.size, 0);

const { train, test } = await loadMnist({ train: 1200, test: 500 });
const split = train.split(200);

describe('dispose', () => {
  it('frees every buffer the model made: parameters, training, evaluation and inference plans, staging', async () => {
    gpu.upload(split.train);
    gpu.upload(split.validation!);
    gpu.upload(test);
    const datasets = live.size;
    const model = await createModel(gpu, { layers: [784, 64, 32, 10], epochs: 2, batchSize: 100 });
    await model.fit(train, { valSplit: 200, checkpointEvery: 5, onCheckpoint: (info) => void info.checkpoint({ resumable: true }) });
    await model.evaluate(test);
    await model.predict(test);
    await model.save();
    const withModel = live.size - datasets;
    console.log(`buffers: ${datasets} for the datasets, ${withModel} more with a trained model (${(liveBytes() / 1e6).toFixed(1)} MB live)`);
    expect(withModel).toBeGreaterThan(10);
    model.dispose();
    expect(live.size - datasets).toBe(0);
    model.dispose(); // idempotent
    for (const set of [split.train, split.validation!, test]) gpu.release(set);
    expect(live.size).toBe(0);
  });

  it('keeps device memory and the process flat over 50 fit/evaluate/dispose cycles', async () => {
    const buffersAt: number[] = [];
    const rssAt: number[] = [];
    for (let cycle = 1; cycle <= 50; cycle++) {
      const model = await createModel(gpu, { layers: [784, 16, 10], epochs: 1, batchSize: 200, seed: cycle });
      await model.fit(train, { valSplit: 200 });
      await model.evaluate(test);
      await model.predict(test.slice(0, 10));
      model.dispose();
      if (cycle === 1 || cycle === 10 || cycle === 50) {
        (globalThis as { gc?: () => void }).gc?.();
        buffersAt.push(live.size);
        rssAt.push(process.memoryUsage().rss);
      }
    }
    console.log(`after cycles 1, 10, 50: ${buffersAt.join(', ')} live buffers; RSS ${rssAt.map((r) => (r / 1e6).toFixed(0)).join(', ')} MB; ${created} buffers created in all`);
    // The datasets' copies stay (uploaded once, reused by every cycle); nothing else survives a cycle.
    expect(buffersAt[1]).toBe(buffersAt[0]);
    expect(buffersAt[2]).toBe(buffersAt[0]);
    // Host memory: a leak of one model's plans per cycle would be megabytes; allow noise only.
    expect(rssAt[2] - rssAt[1]).toBeLessThan(40e6);
  });
});
