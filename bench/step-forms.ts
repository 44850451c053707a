// GPU time of a training step with the optimizer step fused into the weight grads (and the output
// layer's backward into the loss dispatch, or not) or in a dispatch of its own: `node --import ./bin/register.mjs bench/step-forms.ts [--models=784-256-128-10/128,784-32-10/32]
// [--rounds=8] [--steps=40]`. Both plans are built in one process on the same data and replayed in
// interleaved rounds (each round: `steps` steps of one form, submitted and waited for, then of the
// other), so that the machine's drift falls on both alike; per form the median over rounds of wall
// milliseconds and process CPU milliseconds (the adapter's threads included: on lavapipe, its
// workers) per step. What decides the adapter's defaults (TrainPlanOptions.fuseOptimizer, fuseOutputStep).
import { cpuUsage } from 'node:process';
import { BufferArena } from '../src/gpu/arena.ts';
import { adapterName, openGpu } from '../src/gpu/device.ts';
import { submitDispatches } from '../src/gpu/program.ts';
import { initialParams } from '../src/model/init.ts';
import { prepareData } from '../src/runs/data.ts';
import { DEFAULT_CONFIG } from '../src/train/config.ts';
import { GpuSession } from '../src/train/gpu-engine.ts';
import { GpuParameters } from '../src/train/gpu-model.ts';
import { TrainPlan } from '../src/train/plan.ts';
import { epochOrder } from '../src/train/trainer.ts';

const value = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const models = (value('models') ?? '784-256-128-10/128,784-32-10/32').split(',').map((m) => {
  const [layers, batch] = m.split('/');
  return { layers: layers.split('-').map(Number), batchSize: Number(batch ?? 128) };
});
const rounds = Number(value('rounds') ?? 8);
const steps = Number(value('steps') ?? 40);
// The optimizer step fused, with the output layer's backward in the loss dispatch (GPU adapters'
// default) and without it; the optimizer step separate (software adapters' default).
const FORMS = {
  'optimizer fused': { fuseOptimizer: true },
  'optimizer fused, output step separate': { fuseOptimizer: true, fuseOutputStep: false },
  'optimizer separate': { fuseOptimizer: false },
} as const;

const gpu = await openGpu();
console.log(`adapter: ${adapterName(gpu.report)}; ${rounds} rounds of ${steps} steps per form (the first round not counted)`);
const data = await prepareData({ dir: null }, { ...DEFAULT_CONFIG, trainSubset: 8192 });
const session = new GpuSession(gpu, { train: data.train, validation: data.validation });
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

for (const m of models) {
  const config = { ...DEFAULT_CONFIG, spec: { ...DEFAULT_CONFIG.spec, layers: m.layers }, batchSize: m.batchSize };
  const arena = new BufferArena(gpu.device);
  const ctx = { device: gpu.device, cache: session.cache, arena, adapterKind: gpu.report.kind };
  const slots = Math.min(steps, Math.floor(session.sets.train.count / m.batchSize));
  const forms = [];
  for (const [name, fusion] of Object.entries(FORMS)) {
    const model = new GpuParameters(arena, config.spec, config.optimizer.kind);
    model.writeParams(initialParams(config.spec, config.init, config.seed));
    const plan = await TrainPlan.create(ctx, config.spec, config.optimizer, model, session.sets.train, {
      batchSize: m.batchSize,
      stepsPerSubmit: 1,
      stepsPerEpoch: slots,
      seed: config.seed,
      ...fusion,
    });
    plan.setOrder(epochOrder(config.seed, 0, session.sets.train.count));
    const { beta1, beta2 } = config.optimizer;
    plan.planEpoch(Array.from({ length: slots }, (_, s) => ({ t: s + 1, batchStart: s * m.batchSize, rows: m.batchSize, record: s, lr: config.lr, beta1, beta2 })));
    forms.push({ name, plan, wall: [] as number[], cpu: [] as number[] });
  }
  await session.cache.warm(forms.flatMap((f) => f.plan.dispatches));
  for (let round = 0; round < rounds; round++) {
    for (const form of forms) {
      await gpu.device.queue.onSubmittedWorkDone();
      const cpu0 = cpuUsage();
      const started = performance.now();
      for (let s = 0; s < steps; s++) submitDispatches(gpu.device, form.plan.dispatches, { slot: s % slots });
      await gpu.device.queue.onSubmittedWorkDone();
      const cpu = cpuUsage(cpu0);
      if (round === 0) continue;
      form.wall.push((performance.now() - started) / steps);
      form.cpu.push((cpu.user + cpu.system) / 1e3 / steps);
    }
  }
  for (const form of forms) {
    console.log(
      `${m.layers.join('-')} batch ${m.batchSize}, ${form.name} (${form.plan.dispatches.length} dispatches): ` +
        `wall ${median(form.wall).toFixed(2)} ms/step (min ${Math.min(...form.wall).toFixed(2)}), process CPU ${median(form.cpu).toFixed(2)} ms/step`,
    );
    form.plan.destroy();
  }
  arena.destroy();
}
session.destroy();
gpu.close();
process.exit(0);
