// Host time per training step: `npm run bench:host` (node --import ./bin/register.mjs bench/host-overhead.ts).
// For each model, main-thread CPU µs per step handing steps to the engine (issue) and over whole
// trainer epochs (trainer), with seconds per epoch; see bench/host.ts for how each is measured.
// Options: --models=784-256-128-10/128,784-32-10/32 (layers/batch)  --epochs=3  --steps-per-submit=N
//   --fuse-optimizer (the optimizer step inside the weight grads, as on GPU adapters)  --json
import { DEFAULT_CONFIG } from '../src/train/config.ts';
import { prepareData } from '../src/runs/data.ts';
import { adapterName, openGpu } from '../src/gpu/device.ts';
import { createGpuEngine, GpuSession } from '../src/train/gpu-engine.ts';
import { measureHostCost } from './host.ts';

const value = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const models = (value('models') ?? '784-256-128-10/128,784-32-10/32').split(',').map((m) => {
  const [layers, batch] = m.split('/');
  return { layers: layers.split('-').map(Number), batchSize: Number(batch ?? 128) };
});
const epochs = Number(value('epochs') ?? 3);
const stepsPerSubmit = value('steps-per-submit') ? Number(value('steps-per-submit')) : undefined;
const fuseOptimizer = process.argv.includes('--fuse-optimizer') ? { fuseOptimizer: true } : {};

const gpu = await openGpu();
const data = await prepareData({ dir: null }, DEFAULT_CONFIG);
const session = new GpuSession(gpu, { train: data.train, validation: data.validation });
const rows = [];
for (const m of models) {
  const config = { ...DEFAULT_CONFIG, spec: { ...DEFAULT_CONFIG.spec, layers: m.layers }, batchSize: m.batchSize, epochs, ...(stepsPerSubmit ? { stepsPerSubmit } : {}) };
  const engine = await createGpuEngine(session, config.spec, config.optimizer, { ...config, ...fuseOptimizer });
  try {
    const cost = await measureHostCost(gpu, engine, config, epochs);
    rows.push({ model: `${m.layers.join('-')} batch ${m.batchSize}`, stepsPerSubmit: config.stepsPerSubmit, ...cost });
    process.stderr.write(
      `${m.layers.join('-')} batch ${m.batchSize}, ${config.stepsPerSubmit} steps per submit: issue ${cost.issueMicros.toFixed(1)} µs/step, ` +
        `trainer ${cost.trainerMicros.toFixed(1)} µs/step (main-thread CPU), ${cost.epochSeconds.toFixed(2)} s/epoch (${cost.steps} steps)\n`,
    );
  } finally {
    engine.close();
  }
}
if (process.argv.includes('--json')) process.stdout.write(JSON.stringify({ date: new Date().toISOString(), adapter: adapterName(gpu.report), rows }) + '\n');
session.destroy();
gpu.close();
process.exit(0);
