// Whole training step parity: the GPU engine and the CPU reference engine run the same 20 steps
// (same initial weights, same batches, same dropout masks) and must agree on the loss of every
// step and on every parameter tensor at the end. Dropout, the bias gradients, the output layer (forward,
// then backward and step) and the optimizer step run inside other dispatches (the plan's default on GPU
// adapters) in most cases, and as separate dispatches (fuseDropout, fuseBiasGrad, fuseOutputLayer and
// fuseOptimizer false) in a few; one case keeps all but the output layer's backward in the loss.
import { afterAll, describe, expect, it } from 'vitest';
import type { StepParams } from '../../src/kernels/step-params.ts';
import { initialParams } from '../../src/model/init.ts';
import { optimizerConfig, type OptimizerKind } from '../../src/model/optimizer.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { paramLayout } from '../../src/model/tensors.ts';
import { CpuEngine } from '../../src/train/cpu-engine.ts';
import { readRecords, type TrainingEngine } from '../../src/train/engine.ts';
import { createGpuEngine, GpuSession } from '../../src/train/gpu-engine.ts';
import { syntheticSet } from '../../src/train/step-check.ts';
import { epochOrder } from '../../src/train/trainer.ts';
import { STEP_LOSS, STEP_PARAMS } from '../../src/check/tolerances.ts';
import { compareArrays } from '../helpers/compare.ts';
import { testGpu } from '../helpers/gpu.ts';

/** The synthetic set `webgpu-mlp check` also trains on: 300 = 8·37 + 4 samples (every epoch ends with a short batch of 4 rows) of 64 pixels. */
const SET = syntheticSet();
const IN = SET.inputSize;
const N = SET.count;
const B = 37;
const STEPS = 20;
const SEED = 7;

// Tolerances (and the largest differences measured): src/check/tolerances.ts, shared with `webgpu-mlp check`.
const LOSS_TOL = STEP_LOSS;
const PARAM_TOL = STEP_PARAMS;


interface Case {
  activation: ModelSpec['activation'];
  loss: ModelSpec['loss'];
  optimizer: OptimizerKind;
  dropout: number;
  /**
   * The plan's fusions (dropout, bias gradients, output layer, optimizer step, and the output layer's
   * backward and step in the loss's dispatch), all of them but the last, or none.
   */
  path: 'fused' | 'output step separate' | 'separate';
  weightDecay: number;
  lr: number;
}

const LR: Record<OptimizerKind, number> = { sgd: 0.1, momentum: 0.05, nesterov: 0.05, adagrad: 0.05, adam: 3e-3, adamw: 3e-3 };

const cases: Case[] = [];
for (const optimizer of ['sgd', 'momentum', 'nesterov', 'adagrad', 'adam', 'adamw'] as const) {
  cases.push({ activation: 'relu', loss: 'ce', optimizer, dropout: 0.3, path: 'fused', weightDecay: 1e-2, lr: LR[optimizer] });
  cases.push({ activation: 'tanh', loss: 'mse', optimizer, dropout: 0, path: 'fused', weightDecay: 0, lr: LR[optimizer] });
}
cases.push({ activation: 'sigmoid', loss: 'ce', optimizer: 'momentum', dropout: 0.5, path: 'fused', weightDecay: 0, lr: 0.5 });
cases.push({ activation: 'sigmoid', loss: 'mse', optimizer: 'adam', dropout: 0, path: 'fused', weightDecay: 1e-2, lr: 3e-3 });
// tanh's act' is the one most sensitive to recovering A as H·keep in the fused input grad.
cases.push({ activation: 'tanh', loss: 'ce', optimizer: 'adam', dropout: 0.2, path: 'fused', weightDecay: 0, lr: 3e-3 });
cases.push({ activation: 'relu', loss: 'ce', optimizer: 'adam', dropout: 0.3, path: 'output step separate', weightDecay: 1e-2, lr: 3e-3 });
cases.push({ activation: 'relu', loss: 'ce', optimizer: 'adam', dropout: 0.3, path: 'separate', weightDecay: 1e-2, lr: 3e-3 });
cases.push({ activation: 'sigmoid', loss: 'ce', optimizer: 'momentum', dropout: 0.5, path: 'separate', weightDecay: 0, lr: 0.5 });
cases.push({ activation: 'tanh', loss: 'mse', optimizer: 'sgd', dropout: 0.2, path: 'separate', weightDecay: 0, lr: 0.1 });

/** Runs STEPS steps through an engine exactly as the trainer would, returning per-step mean losses. */
async function runSteps(engine: TrainingEngine, lr: number, beta1: number, beta2: number): Promise<number[]> {
  const S = engine.stepsPerEpoch;
  const losses: number[] = [];
  for (let t = 1; t <= STEPS; ) {
    const epoch = Math.floor((t - 1) / S);
    engine.setOrder(epochOrder(SEED, epoch, N));
    const first = (t - 1) % S;
    const steps: StepParams[] = [];
    for (let s = first; s < S && t <= STEPS; s++, t++) {
      steps.push({ t, batchStart: s * B, rows: Math.min(B, N - s * B), record: s, lr, beta1, beta2 });
    }
    for (let i = 0; i < steps.length; i += engine.stepsPerSubmit) await engine.runSteps(steps.slice(i, i + engine.stepsPerSubmit));
    const { lossSum } = await readRecords(engine, first, steps.length);
    steps.forEach((step, i) => losses.push(lossSum[i] / step.rows));
  }
  return losses;
}

describe('whole training step: GPU vs CPU reference', async () => {
  const gpu = await testGpu();
  const data = { train: SET };
  const session = new GpuSession(gpu, data);
  afterAll(() => session.destroy());

  it.each(cases)('64-32-16-10 $activation, $loss, $optimizer, dropout $dropout, weight decay $weightDecay, $path', async (c) => {
    const spec: ModelSpec = { layers: [IN, 32, 16, 10], activation: c.activation, loss: c.loss, dropout: c.dropout };
    const optimizer = optimizerConfig(c.optimizer, { weightDecay: c.weightDecay });
    const init = initialParams(spec, { kind: 'xavier' }, SEED);
    const options = { batchSize: B, seed: SEED, evalBatchSize: 64 };
    // Several steps per submit, as in training: each step must read its own StepParams slot.
    const fused = c.path !== 'separate';
    const fusions = { fuseDropout: fused, fuseBiasGrad: fused, fuseOutputLayer: fused, fuseOptimizer: fused, fuseOutputStep: c.path === 'fused' };
    const gpuEngine = await createGpuEngine(session, spec, optimizer, { ...options, stepsPerSubmit: 3, ...fusions });
    gpuEngine.writeParams(init);
    const cpuEngine = new CpuEngine(spec, optimizer, init, data, options);
    try {
      const gpuLosses = await runSteps(gpuEngine, c.lr, optimizer.beta1, optimizer.beta2);
      const cpuLosses = await runSteps(cpuEngine, c.lr, optimizer.beta1, optimizer.beta2);
      compareArrays('per-step loss', gpuLosses, cpuLosses, LOSS_TOL);
      expect(cpuLosses[STEPS - 1]).toBeLessThan(cpuLosses[0]); // it learns: the comparison is not of two idle models

      const gpuParams = await gpuEngine.readParams();
      const cpuParams = await cpuEngine.readParams();
      for (const tensor of paramLayout(spec).tensors) {
        const slice = (p: Float32Array) => p.subarray(tensor.offset, tensor.offset + tensor.size);
        compareArrays(tensor.name, slice(gpuParams), slice(cpuParams), PARAM_TOL[c.optimizer], tensor.shape);
      }
      const [gpuState, cpuState] = [await gpuEngine.readOptimizerState(), await cpuEngine.readOptimizerState()];
      expect(gpuState.length).toBe(cpuState.length);
      gpuState.forEach((state, i) => compareArrays(`optimizer state ${i}`, state, cpuState[i], PARAM_TOL[c.optimizer]));
      expect((await readRecords(gpuEngine, 0, 0)).nonFiniteStep).toBe(0);
    } finally {
      gpuEngine.close();
    }
  });
});
