// Memory of a long run: RSS, V8 heap, array buffers and GPU buffer bytes after every epoch of a run
// with the default model and optimizer, saving a resumable checkpoint each epoch as the CLI does.
// Not a test (test/reliability/memory.test.ts proves no GPU object is made per step): run it by hand.
//   node --expose-gc --import ./bin/register.mjs test/reliability/measure/memory.ts [trainImages] [epochs]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveCheckpoint } from '../../../src/checkpoint/files.ts';

import { loadIdxDataset } from '../../../src/data/files.ts';
import { openGpu } from '../../../src/gpu/device.ts';
import { initialParams } from '../../../src/model/init.ts';
import { DEFAULT_CONFIG } from '../../../src/train/config.ts';
import { createGpuEngine, GpuSession } from '../../../src/train/gpu-engine.ts';
import { runTrainer } from '../../../src/train/trainer.ts';

const [trainImages = 50000, epochs = 20] = process.argv.slice(2).map(Number);
const config = { ...DEFAULT_CONFIG, epochs };
const mnist = await loadIdxDataset();
const data = {
  train: mnist.train.slice(0, trainImages, 'train'),
  validation: mnist.train.slice(50000, 60000, 'validation'),
  test: mnist.test,
};
const gpu = await openGpu();
const session = new GpuSession(gpu, data);
const engine = await createGpuEngine(session, config.spec, config.optimizer, config);
engine.writeParams(initialParams(config.spec, config.init, config.seed));
const dir = mkdtempSync(join(tmpdir(), 'webgpu-mlp-memory-'));

const MB = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
console.log(`${config.spec.layers.join('-')} ${config.optimizer.kind}, batch ${config.batchSize}, ${trainImages} training images, ${epochs} epochs`);
console.log('epoch   rss MB  heapUsed MB  external MB  arrayBuffers MB  device MB  val acc   s');
await runTrainer(engine, { ...config, progressPerEpoch: 10 }, {
  epochEnd: async (record, state, _improved, snapshot) => {
    await saveCheckpoint(join(dir, 'last.safetensors'), {
      spec: config.spec,
      params: snapshot.params,
      optimizer: { config: config.optimizer, state: snapshot.optimizerState },
      training: { trainer: state },
      config,
      version: 'measure',
    });
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    console.log(
      [record.epoch, MB(m.rss), MB(m.heapUsed), MB(m.external), MB(m.arrayBuffers), MB(engine.deviceBytes), record.valAccuracy!.toFixed(4), record.seconds.toFixed(1)]
        .map((v, i) => String(v).padStart(i === 0 ? 5 : 12))
        .join(''),
    );
  },
});
engine.close();
session.destroy();
gpu.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
