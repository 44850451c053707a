// Host cost of a training step's dispatches, with and without each fusion: `node --import
// ./bin/register.mjs bench/encode-cost.ts [--models=784-256-128-10/128,784-32-10/32] [--reps=30]`.
// For each model it builds the training plan fused (the default) and with one fusion undone at a
// time (fuseOutputStep, fuseOptimizer, fuseOutputLayer, fuseDropout, fuseBiasGrad false), then encodes 400 steps of each (4 per
// command buffer, as the trainer submits them) and finishes the command buffers without submitting
// them, the forms interleaved in one process so that the machine's drift falls on all alike. The
// GPU stays idle, so the figure is the main thread's CPU for encoding and validating a step
// (bench/host.ts's clock), the part of the host cost that the dispatch count sets.
import { DEFAULT_CONFIG } from '../src/train/config.ts';
import { prepareData } from '../src/runs/data.ts';
import { BufferArena } from '../src/gpu/arena.ts';
import { openGpu } from '../src/gpu/device.ts';
import { encodeDispatches, type Dispatch } from '../src/gpu/program.ts';
import { GpuSession } from '../src/train/gpu-engine.ts';
import { GpuParameters } from '../src/train/gpu-model.ts';
import { TrainPlan } from '../src/train/plan.ts';
import { mainThreadCpuNs } from './host.ts';

const value = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const models = (value('models') ?? '784-256-128-10/128,784-32-10/32').split(',').map((m) => {
  const [layers, batch] = m.split('/');
  return { layers: layers.split('-').map(Number), batchSize: Number(batch ?? 128) };
});
const reps = Number(value('reps') ?? 30);
const STEPS = 400;
const PER_BUFFER = 4;

const gpu = await openGpu();
const data = await prepareData({ dir: null }, { ...DEFAULT_CONFIG, trainSubset: 4096 });
const session = new GpuSession(gpu, { train: data.train, validation: data.validation });
// Every fusion (GPU adapters' default), then one undone at a time (the optimizer separate is the
// software adapters' default).
const FORMS = {
  fused: { fuseOptimizer: true },
  'output step separate': { fuseOptimizer: true, fuseOutputStep: false },
  'optimizer separate': { fuseOptimizer: false },
  'output layer separate': { fuseOptimizer: true, fuseOutputLayer: false },
  'dropout separate': { fuseOptimizer: true, fuseDropout: false },
  'bias grad separate': { fuseBiasGrad: false },
} as const;

function encodeMicros(dispatches: readonly Dispatch[]): number {
  const c0 = mainThreadCpuNs() ?? 0;
  for (let s = 0; s < STEPS; s += PER_BUFFER) {
    const encoder = gpu.device.createCommandEncoder({ label: 'encode cost' });
    const pass = encoder.beginComputePass({ label: 'encode cost' });
    for (let i = 0; i < PER_BUFFER; i++) encodeDispatches(pass, dispatches, s + i);
    pass.end();
    encoder.finish();
  }
  return ((mainThreadCpuNs() ?? 0) - c0) / 1e3 / STEPS;
}

for (const m of models) {
  const config = { ...DEFAULT_CONFIG, spec: { ...DEFAULT_CONFIG.spec, layers: m.layers }, batchSize: m.batchSize };
  const arena = new BufferArena(gpu.device);
  const ctx = { device: gpu.device, cache: session.cache, arena, adapterKind: gpu.report.kind };
  const model = new GpuParameters(arena, config.spec, config.optimizer.kind);
  const steps = Math.ceil(session.sets.train.count / config.batchSize);
  const forms = [];
  for (const [name, fusion] of Object.entries(FORMS)) {
    const plan = await TrainPlan.create(ctx, config.spec, config.optimizer, model, session.sets.train, {
      batchSize: config.batchSize,
      stepsPerSubmit: PER_BUFFER,
      stepsPerEpoch: Math.max(steps, STEPS),
      seed: config.seed,
      ...fusion,
    });
    forms.push({ name, plan, micros: [] as number[] });
  }
  for (let r = 0; r < reps; r++) for (const f of forms) f.micros.push(encodeMicros(f.plan.dispatches));
  for (const f of forms) {
    const sorted = [...f.micros].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.floor(p * (sorted.length - 1))].toFixed(1);
    console.log(`${m.layers.join('-')} batch ${m.batchSize}, ${f.name} (${f.plan.dispatches.length} dispatches): encode + finish ${q(0)} min, ${q(0.25)} q1, ${q(0.5)} median µs/step`);
    f.plan.destroy();
  }
  arena.destroy();
}
session.destroy();
gpu.close();
process.exit(0);
