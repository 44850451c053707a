// Memory over a long run: a training step creates no GPU object (buffers, bind groups, pipelines are
// all made when the plan is built), and nothing stays alive from one epoch to the next, so GPU
// memory cannot grow however long a run is. (RSS over 20 real epochs: measure/memory.ts.)
import { afterAll, describe, expect, it } from 'vitest';

import { loadIdxDataset } from '../../src/data/files.ts';
import { initialParams } from '../../src/model/init.ts';
import { DEFAULT_CONFIG } from '../../src/train/config.ts';
import { readRecords } from '../../src/train/engine.ts';
import { createGpuEngine, GpuSession } from '../../src/train/gpu-engine.ts';
import { runTrainer } from '../../src/train/trainer.ts';
import { testGpu } from '../helpers/gpu.ts';

const CREATE = [
  'createBuffer',
  'createBindGroup',
  'createBindGroupLayout',
  'createPipelineLayout',
  'createShaderModule',
  'createComputePipeline',
  'createComputePipelineAsync',
  'createQuerySet',
  'createTexture',
] as const;

/** Counts GPU objects the device creates, and buffers alive (created and not destroyed), while installed. */
function countCreations(device: GPUDevice) {
  const counts: Record<string, number> = Object.fromEntries(CREATE.map((name) => [name, 0]));
  const live = new Set<GPUBuffer>();
  const originals = CREATE.map((name) => [name, device[name]] as const);
  for (const [name, original] of originals) {
    (device as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      counts[name]++;
      const made = (original as (...a: unknown[]) => unknown).apply(device, args);
      if (name === 'createBuffer') {
        const buffer = made as GPUBuffer;
        live.add(buffer);
        const destroy = buffer.destroy.bind(buffer);
        buffer.destroy = () => (live.delete(buffer), destroy());
      }
      return made;
    };
  }
  return {
    counts,
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    live,
    restore: () => originals.forEach(([name, original]) => ((device as unknown as Record<string, unknown>)[name] = original)),
  };
}

describe('GPU memory over epochs', async () => {
  const gpu = await testGpu();
  const mnist = await loadIdxDataset();
  const data = { train: mnist.train.slice(0, 1280, 'train'), validation: mnist.train.slice(50000, 50256, 'validation') };
  const session = new GpuSession(gpu, data);
  afterAll(() => session.destroy());
  const spec = DEFAULT_CONFIG.spec; // 784-256-128-10, ReLU, dropout 0.2, Adam
  const engine = await createGpuEngine(session, spec, DEFAULT_CONFIG.optimizer, { batchSize: 128, stepsPerSubmit: 4, seed: 1, evalBatchSize: 256 });
  afterAll(() => engine.close());
  engine.writeParams(initialParams(spec, DEFAULT_CONFIG.init, 1));
  const config = { ...DEFAULT_CONFIG, epochs: 1, progressPerEpoch: 2 };

  it('creates no GPU object in a training step, nor in a progress readback', async () => {
    await runTrainer(engine, config); // warm-up: staging buffers reach their size
    engine.setOrder(Uint32Array.from({ length: 1280 }, (_, i) => i));
    const spy = countCreations(gpu.device);
    try {
      for (let s = 0; s < 10; s += 2) {
        await engine.runSteps([0, 1].map((k) => ({ t: 100 + s + k, batchStart: (s + k) * 128, rows: 128, record: s + k, lr: 1e-3, beta1: 0.9, beta2: 0.999 })));
        await readRecords(engine, s, 2);
      }
    } finally {
      spy.restore();
    }
    expect(spy.counts).toEqual(Object.fromEntries(CREATE.map((name) => [name, 0])));
  });

  it('holds the same device bytes and live buffers after every epoch, however many steps an epoch has', async () => {
    const bytes = engine.deviceBytes;
    const spy = countCreations(gpu.device);
    const perEpoch: { creations: number; live: number; deviceBytes: number }[] = [];
    try {
      await runTrainer(engine, { ...config, epochs: 3 }, {
        epochEnd: () => void perEpoch.push({ creations: spy.total(), live: spy.live.size, deviceBytes: engine.deviceBytes }),
      });
    } finally {
      spy.restore();
    }
    expect(perEpoch.map((e) => e.deviceBytes)).toEqual([bytes, bytes, bytes]);
    // The only objects an epoch creates are the staging buffers of its one read of the parameters
    // and optimizer state (3 with Adam), each destroyed once read: none stays alive.
    expect(perEpoch.map((e) => e.creations)).toEqual([3, 6, 9]);
    expect(perEpoch.map((e) => e.live)).toEqual([0, 0, 0]);
    expect(spy.counts.createBindGroup).toBe(0);
  });
});
