// A few whole training steps on the GPU against the CPU reference engine, for `webgpu-mlp check`:
// the same comparison as test/train/step-parity.test.ts (same synthetic data, same tolerances), in
// two configurations, on whatever adapter the caller has. Each step's loss and, at the end, every
// parameter tensor and the optimizer state are compared.
import { checkCase, type KernelCheck } from '../check/kernels.ts';
import { STEP_LOSS, STEP_PARAMS } from '../check/tolerances.ts';
import { Dataset } from '../data/dataset.ts';
import type { GpuContext } from '../gpu/device.ts';
import type { KernelCache } from '../gpu/program.ts';
import { BufferArena } from '../gpu/arena.ts';
import type { StepParams } from '../kernels/step-params.ts';
import { initialParams } from '../model/init.ts';
import { optimizerConfig, type OptimizerKind } from '../model/optimizer.ts';
import type { ModelSpec } from '../model/spec.ts';
import { paramLayout } from '../model/tensors.ts';
import { Random } from '../util/random.ts';
import { CpuEngine } from './cpu-engine.ts';
import { readRecords, type TrainingEngine } from './engine.ts';
import { createGpuEngine, GpuSession } from './gpu-engine.ts';
import { epochOrder } from './trainer.ts';

const IN = 64;
const N = 300; // 8·37 + 4: the epoch ends with a short batch
const B = 37;
const SEED = 7;

interface StepCase {
  readonly activation: ModelSpec['activation'];
  readonly loss: ModelSpec['loss'];
  readonly optimizer: OptimizerKind;
  readonly dropout: number;
  readonly weightDecay: number;
  readonly lr: number;
}

/** The default model's kind of step (ReLU, cross-entropy, Adam, dropout, decay), and the other activation, loss and optimizer family. */
const CASES: readonly StepCase[] = [
  { activation: 'relu', loss: 'ce', optimizer: 'adam', dropout: 0.3, weightDecay: 1e-2, lr: 3e-3 },
  { activation: 'tanh', loss: 'mse', optimizer: 'momentum', dropout: 0, weightDecay: 0, lr: 0.05 },
];

/** A synthetic 64-pixel, 10-class set with learnable structure (class-dependent pixel means); the step-parity test trains on it too. */
export function syntheticSet(): Dataset {
  const rng = new Random(99, 'parity data');
  const labels = Uint8Array.from({ length: N }, () => rng.below(10));
  const images = new Uint8Array(N * IN);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < IN; i++) {
      const signal = (i * 7 + labels[n] * 13) % 10 < 3 ? 150 : 30;
      images[n * IN + i] = Math.min(255, Math.max(0, Math.round(signal + 40 * rng.normal())));
    }
  }
  return Dataset.create({ name: 'train', features: images, labels, shape: [8, 8] });
}

/** Runs `steps` steps through an engine as the trainer would; returns the per-step mean losses. */
async function runSteps(engine: TrainingEngine, steps: number, lr: number, beta1: number, beta2: number): Promise<number[]> {
  const S = engine.stepsPerEpoch;
  const losses: number[] = [];
  for (let t = 1; t <= steps; ) {
    engine.setOrder(epochOrder(SEED, Math.floor((t - 1) / S), N));
    const first = (t - 1) % S;
    const batch: StepParams[] = [];
    for (let s = first; s < S && t <= steps; s++, t++) batch.push({ t, batchStart: s * B, rows: Math.min(B, N - s * B), record: s, lr, beta1, beta2 });
    for (let i = 0; i < batch.length; i += engine.stepsPerSubmit) await engine.runSteps(batch.slice(i, i + engine.stepsPerSubmit));
    const { lossSum } = await readRecords(engine, first, batch.length);
    batch.forEach((step, i) => losses.push(lossSum[i] / step.rows));
  }
  return losses;
}

/** `steps` training steps of 64-32-16-10 models, GPU against the CPU reference, in two configurations. */
export async function checkTrainingSteps(gpu: GpuContext, cache: KernelCache, steps = 10): Promise<KernelCheck[]> {
  const data = { train: syntheticSet() };
  const session = new GpuSession(gpu, data, cache);
  const results: KernelCheck[] = [];
  try {
    for (const c of CASES) {
      const spec: ModelSpec = { layers: [IN, 32, 16, 10], activation: c.activation, loss: c.loss, dropout: c.dropout };
      const optimizer = optimizerConfig(c.optimizer, { weightDecay: c.weightDecay });
      const what = `${steps} steps of ${spec.layers.join('-')} ${c.activation}, ${c.loss}, ${c.optimizer}${c.dropout ? `, dropout ${c.dropout}` : ''}${c.weightDecay ? `, weight decay ${c.weightDecay}` : ''}`;
      const ctx = { device: gpu.device, cache, arena: new BufferArena(gpu.device), adapterKind: gpu.report.kind };
      try {
        results.push(
          ...(await checkCase(ctx, { kernel: 'training step', what }, async () => {
            const init = initialParams(spec, { kind: 'xavier' }, SEED);
            const options = { batchSize: B, seed: SEED, evalBatchSize: 64 };
            const gpuEngine = await createGpuEngine(session, spec, optimizer, { ...options, stepsPerSubmit: 3 });
            try {
              gpuEngine.writeParams(init);
              const cpuEngine = new CpuEngine(spec, optimizer, init, data, options);
              const gpuLosses = await runSteps(gpuEngine, steps, c.lr, optimizer.beta1, optimizer.beta2);
              const cpuLosses = await runSteps(cpuEngine, steps, c.lr, optimizer.beta1, optimizer.beta2);
              const [gpuParams, cpuParams] = [await gpuEngine.readParams(), await cpuEngine.readParams()];
              const [gpuState, cpuState] = [await gpuEngine.readOptimizerState(), await cpuEngine.readOptimizerState()];
              const tolerance = STEP_PARAMS[c.optimizer];
              return [
                ['loss per step', gpuLosses, cpuLosses, STEP_LOSS],
                ...paramLayout(spec).tensors.map(
                  (tensor) => [tensor.name, gpuParams.subarray(tensor.offset, tensor.offset + tensor.size), cpuParams.subarray(tensor.offset, tensor.offset + tensor.size), tolerance] as const,
                ),
                ...gpuState.map((state, i) => [`optimizer state ${i}`, state, cpuState[i], tolerance] as const),
              ];
            } finally {
              gpuEngine.close();
            }
          })),
        );
      } finally {
        ctx.arena.destroy();
      }
    }
  } finally {
    session.destroy();
  }
  return results;
}
