// Host time per training step: what the main thread spends to keep the GPU fed. Shared by
// `npm run bench:host` (bench/host-overhead.ts) and `npm run bench:gpu`.
//
// Two figures, both main-thread CPU time (Linux: /proc/self/task/<pid>/schedstat, so the adapter's
// own threads, lavapipe's workers, are not counted):
//   issue    the steps of an epoch handed to the engine back to back, as the trainer builds them, and
//            nothing else: StepParams, encoding, submits. The cost a GPU step pays on the host.
//   trainer  a whole epoch through runTrainer as `webgpu-mlp train` drives it (progress readbacks,
//            idle waits, validation excluded), divided by its steps: the issue cost plus the
//            trainer's bookkeeping plus whatever waiting costs (Dawn polls while a readback is
//            pending; the idle wait sleeps through most of it).
import { readFileSync } from 'node:fs';
import type { GpuContext } from '../src/gpu/device.ts';
import type { StepParams } from '../src/kernels/step-params.ts';
import { initialParams } from '../src/model/init.ts';
import type { TrainConfig } from '../src/train/config.ts';
import { readRecords, type TrainingEngine } from '../src/train/engine.ts';
import { learningRate } from '../src/train/schedule.ts';
import { epochOrder, lrPlanFor, runTrainer } from '../src/train/trainer.ts';

const futex = new Int32Array(new SharedArrayBuffer(4));

/** Main-thread CPU nanoseconds so far (undefined off Linux). */
export function mainThreadCpuNs(): number | undefined {
  try {
    // schedstat is brought up to date only at a context switch or a scheduler tick (4 ms at HZ=250):
    // read bare, an epoch's issue (391 steps, ~12 ms) came out in steps of ~10 µs per step. A 50 µs
    // sleep first (a futex wait) switches the thread out, so the figure is exact to a few µs in all.
    Atomics.wait(futex, 0, 0, 0.05);
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

export interface HostCost {
  /** Main-thread µs per step handing an epoch's steps to the engine back to back. */
  readonly issueMicros: number;
  /** Main-thread µs per step of whole epochs through runTrainer (median over the epochs after the first). */
  readonly trainerMicros: number;
  /** Seconds per epoch of those epochs (median). */
  readonly epochSeconds: number;
  readonly steps: number;
}

/** The steps of epoch `epoch`, as the trainer builds them. */
function epochSteps(engine: TrainingEngine, config: TrainConfig, epoch: number): StepParams[] {
  const S = engine.stepsPerEpoch;
  const B = engine.batchSize;
  const plan = lrPlanFor({ ...config, progressPerEpoch: 10 }, S);
  return Array.from({ length: S }, (_, s) => {
    const t = epoch * S + s + 1;
    return { t, batchStart: s * B, rows: Math.min(B, engine.trainCount - s * B), record: s, lr: learningRate(plan, t), beta1: config.optimizer.beta1, beta2: config.optimizer.beta2 };
  });
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Measures `engine` (fresh, of `config`) on `gpu`: an issue-only epoch, then `epochs` trainer epochs. */
export async function measureHostCost(gpu: GpuContext, engine: TrainingEngine, config: TrainConfig, epochs = 3): Promise<HostCost> {
  engine.writeParams(initialParams(config.spec, config.init, config.seed));
  // Issue only: one epoch's steps back to back (the queue holds them; the adapter runs them meanwhile).
  engine.setOrder(epochOrder(config.seed, 0, engine.trainCount));
  const steps = epochSteps(engine, config, 0);
  engine.planEpoch?.(steps);
  // The first submit is the engine's (it may wait for it, to learn a step's time): not counted.
  const k = engine.stepsPerSubmit;
  await engine.runSteps(steps.slice(0, k));
  await gpu.device.queue.onSubmittedWorkDone();
  const cpu0 = mainThreadCpuNs() ?? 0;
  for (let s = k; s < steps.length; s += k) await engine.runSteps(steps.slice(s, s + k));
  const issueMicros = ((mainThreadCpuNs() ?? 0) - cpu0) / 1e3 / (steps.length - k);
  await readRecords(engine, 0, 1);
  await gpu.device.queue.onSubmittedWorkDone();

  engine.writeParams(initialParams(config.spec, config.init, config.seed));
  const cpu: number[] = [];
  const seconds: number[] = [];
  let epochCpu = mainThreadCpuNs() ?? 0;
  let epochStart = performance.now();
  await runTrainer(engine, { ...config, epochs, progressPerEpoch: 10 }, {
    progress: (e) => {
      if (e.step !== e.stepsPerEpoch) return;
      cpu.push(((mainThreadCpuNs() ?? 0) - epochCpu) / 1e3 / e.stepsPerEpoch);
      seconds.push((performance.now() - epochStart) / 1000);
    },
    epochEnd: () => {
      epochCpu = mainThreadCpuNs() ?? 0;
      epochStart = performance.now();
    },
  });
  return { issueMicros, trainerMicros: median(cpu.slice(1)), epochSeconds: median(seconds.slice(1)), steps: steps.length };
}
