import { describe, expect, it } from 'vitest';
import { elementView } from '../../src/gpu/arena.ts';
import { readFloat32 } from '../../src/gpu/buffers.ts';
import { encodeDispatches, type Dispatch } from '../../src/gpu/program.ts';
import { StepParamsRing } from '../../src/kernels/step-params.ts';
import { optimizerUpdate } from '../../src/kernels/optimizer.ts';
import { OPTIMIZERS, optimizerConfig, optimizerStateSlots, type OptimizerConfig } from '../../src/model/optimizer.ts';
import * as reference from '../../src/reference/optimizer.ts';
import { optimizerTolerance } from '../../src/check/tolerances.ts';
import { compareArrays } from '../helpers/compare.ts';
import { expectNoGpuErrors, testKernelContext } from '../helpers/gpu.ts';
import { randomArray } from '../helpers/random.ts';

// The rounding tolerance (why it is that size): src/check/tolerances.ts, shared with `webgpu-mlp check`.
const roundingTolerance = optimizerTolerance;

const STEPS = 5;
const LR = [0.01, 0.02, 0.015, 0.005, 0.01];
/** Views into a storage buffer must start at 256-byte multiples: each step's grads get a slot of this many elements. */
const slotElements = (count: number) => Math.ceil(count / 64) * 64;

interface Run {
  config: OptimizerConfig;
  count: number;
  weightsEnd: number;
  /** Kernel variant (workgroup cap); 'cpu' unless given. */
  variant?: 'cpu' | 'gpu';
}

function inputs(run: Run) {
  const label = `${run.config.kind} ${run.count}`;
  return {
    params: randomArray(run.count, `params ${label}`),
    grads: Array.from({ length: STEPS }, (_, k) => randomArray(run.count, `grads ${label} step ${k}`)),
  };
}

/** Steps 1..STEPS in order, in one submit per phase; `freezeAfter` sets status[0] after that many steps. */
async function runOnGpu(run: Run, freezeAfter?: number) {
  const ctx = await testKernelContext(run.variant ?? 'cpu');
  const { device } = ctx;
  const { params, grads } = inputs(run);
  const stride = slotElements(run.count);
  const ring = new StepParamsRing(device, STEPS);
  ctx.arena.adopt(ring.buffer);
  LR.forEach((lr, k) => ring.set(k, { t: k + 1, batchStart: 0, rows: 1, record: 0, lr, beta1: run.config.beta1, beta2: run.config.beta2 }));
  ring.flush();
  const allGrads = new Float32Array(stride * STEPS);
  grads.forEach((g, k) => allGrads.set(g, k * stride));
  const paramsBuffer = ctx.arena.tensorWithData('params', params);
  const gradsBuffer = ctx.arena.tensorWithData('grads', allGrads);
  const status = ctx.arena.tensor('status', 4);
  const state = Array.from({ length: optimizerStateSlots(run.config.kind) }, (_, s) => ctx.arena.tensor(`state ${s}`, run.count * 4));
  const dims = { count: run.count, weightsEnd: run.weightsEnd, config: run.config };
  const dispatches: Dispatch[] = [];
  for (let k = 0; k < STEPS; k++) {
    const io = { params: paramsBuffer, grads: elementView(gradsBuffer, k * stride, run.count), state, status, step: ring.buffer };
    dispatches.push(await optimizerUpdate(ctx, io, dims));
  }
  // Counts that are multiples of 4 take the vec4 entry point, others the scalar one.
  expect(dispatches[0].label.includes('_vec4')).toBe(run.count % 4 === 0);
  const submit = async (from: number, to: number) =>
    expectNoGpuErrors(device, async () => {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      for (let k = from; k < to; k++) encodeDispatches(pass, [dispatches[k]], k);
      pass.end();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
    });
  if (freezeAfter === undefined) {
    await submit(0, STEPS);
  } else {
    await submit(0, freezeAfter);
    device.queue.writeBuffer(status, 0, Uint32Array.of(freezeAfter + 1));
    await submit(freezeAfter, STEPS);
  }
  const result = { params: await readFloat32(device, paramsBuffer), state: await Promise.all(state.map((s) => readFloat32(device, s))) };
  ctx.arena.destroy();
  return result;
}

function runOnCpu(run: Run, steps = STEPS) {
  const { params: initial, grads } = inputs(run);
  const params = Float64Array.from(initial);
  const state = reference.initialOptimizerState(run.config, run.count);
  for (let k = 0; k < steps; k++) {
    reference.optimizerUpdate(run.config, params, grads[k], state, Math.fround(LR[k]), k + 1, run.weightsEnd);
  }
  return { params, state };
}

function compareRuns(gpu: { params: Float32Array; state: Float32Array[] }, cpu: { params: Float64Array; state: Float64Array[] }, steps = STEPS) {
  compareArrays('params', gpu.params, cpu.params, roundingTolerance(cpu.params, steps));
  gpu.state.forEach((s, i) => compareArrays(`state ${i}`, s, cpu.state[i], roundingTolerance(cpu.state[i], steps)));
}

describe('optimizerUpdate', () => {
  for (const kind of OPTIMIZERS) {
    for (const weightDecay of [0, 0.05]) {
      // 1000 elements (a multiple of 4: the vec4 entry point), weights ending mid-buffer (as biases follow them).
      it(`${kind}, weight decay ${weightDecay}, ${STEPS} steps in one submit (vec4)`, async () => {
        const run = { config: optimizerConfig(kind, { weightDecay }), count: 1000, weightsEnd: 640 };
        compareRuns(await runOnGpu(run), runOnCpu(run));
      });
    }

    for (const variant of ['cpu', 'gpu'] as const) {
      // 70001 elements (not a multiple of 4: the scalar entry point); the 'cpu' variant's 8 × 256
      // invocations loop over them 35 times.
      it(`${kind}, 70001 elements, non-default hyperparameters, ${variant} variant (scalar)`, async () => {
        const config = optimizerConfig(kind, { weightDecay: 0.01, momentum: 0.8, beta1: 0.85, beta2: 0.99, eps: 1e-6 });
        const run = { config, count: 70001, weightsEnd: 65536, variant };
        compareRuns(await runOnGpu(run), runOnCpu(run));
      });
    }

    it(`${kind} changes nothing once status is set`, async () => {
      // Two good steps, then the loss kernel's flag: steps 3..5 must leave params and state as they were.
      const run = { config: optimizerConfig(kind, { weightDecay: 0.05 }), count: 1000, weightsEnd: 640 };
      const gpu = await runOnGpu(run, 2);
      const cpu = runOnCpu(run, 2);
      compareRuns(gpu, cpu, 2);
      // And it really did move before the flag: the comparison above is not of untouched buffers.
      expect(gpu.params).not.toEqual(inputs(run).params);
    });
  }
});
