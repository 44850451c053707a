// The training loss with the output layer's forward, backward and optimizer step in one dispatch
// (denseLossStep, shaders/loss_dense_step.wgsl), against the CPU reference, phase by phase: the
// logits against the reference dense layer; the loss, correct count and gradient g against the
// reference loss of those logits; dz against the reference input grad of g (with the layer below's
// activation and dropout); W, b and the optimizer state against the reference optimizer applied to
// the reference dW = gᵀ·x and db = Σ g. W and b sit in a larger flat buffer whose other elements,
// and state, must come back untouched.
import { describe, expect, it } from 'vitest';
import { BufferArena } from '../../src/gpu/arena.ts';
import { KernelCache } from '../../src/gpu/program.ts';
import { syntheticSet } from '../../src/train/step-check.ts';
import { uploadDataset } from '../../src/train/gpu-data.ts';
import { GpuParameters } from '../../src/train/gpu-model.ts';
import { TrainPlan } from '../../src/train/plan.ts';
import { readBuffer, readFloat32, readUint32 } from '../../src/gpu/buffers.ts';
import { denseLossStep, denseLossStepStorageBuffers, LOSS_RECORD_BYTES } from '../../src/kernels/loss.ts';
import { optimizerEpilogue } from '../../src/kernels/optimizer.ts';
import { StepParamsRing } from '../../src/kernels/step-params.ts';
import { optimizerConfig, optimizerStateSlots, type OptimizerKind } from '../../src/model/optimizer.ts';
import type { ActivationKind, Loss } from '../../src/model/spec.ts';
import * as reference from '../../src/reference/index.ts';
import { fusedInputGradTolerance, LOSS_SUM, lossGradTolerance, matmulTolerance, STEP_PARAMS } from '../../src/check/tolerances.ts';
import { compareArrays } from '../helpers/compare.ts';
import { runDispatches, testGpu, testKernelContext } from '../helpers/gpu.ts';
import { randomArray, randomLabels } from '../helpers/random.ts';

interface Case {
  readonly loss: Loss;
  readonly B: number;
  readonly rows: number;
  readonly IN: number;
  readonly C: number;
  /** The layer below's activation and dropout rate. */
  readonly activation: ActivationKind;
  readonly dropout: number;
  readonly optimizer: OptimizerKind;
  /** status[0] before the step: non-zero freezes the parameters. */
  readonly status?: number;
}

const CASES: Case[] = [
  { loss: 'ce', B: 37, rows: 30, IN: 36, C: 10, activation: 'relu', dropout: 0.3, optimizer: 'adam' },
  { loss: 'mse', B: 37, rows: 37, IN: 100, C: 33, activation: 'tanh', dropout: 0, optimizer: 'momentum' },
  { loss: 'ce', B: 128, rows: 111, IN: 128, C: 10, activation: 'sigmoid', dropout: 0.5, optimizer: 'sgd' },
  { loss: 'ce', B: 37, rows: 37, IN: 36, C: 10, activation: 'relu', dropout: 0, optimizer: 'adagrad' },
  { loss: 'ce', B: 37, rows: 30, IN: 36, C: 10, activation: 'relu', dropout: 0.3, optimizer: 'adamw', status: 5 },
];

const T = 3;
const SEED = 11;
const LAYER = 1; // the layer below's index (the dropout mask's)
const LR = 0.05;
const SENTINEL = -7;

async function checkStep(c: Case): Promise<void> {
  const { B, rows, IN, C } = c;
  const tag = `${c.loss} ${B}x${IN}->${C}`;
  const ctx = await testKernelContext();
  const { device, arena } = ctx;
  const config = optimizerConfig(c.optimizer, { weightDecay: 0.05 });
  // The layer's place in the flat parameters: aligned as the layout aligns it, with b's padding to a
  // multiple of 4 zero (stepped with a zero gradient, as the optimizer's own kernel steps it).
  const weightsAt = 64;
  const biasAt = weightsAt + 64 * Math.ceil((C * IN) / 64);
  const count = biasAt + 64;
  const bEnd = biasAt + 4 * Math.ceil(C / 4);
  const initialParams = new Float32Array(count).fill(SENTINEL);
  const w = randomArray(C * IN, `w ${tag}`, -0.5, 0.5);
  initialParams.set(w, weightsAt);
  initialParams.fill(0, biasAt, bEnd);
  initialParams.set(randomArray(C, `b ${tag}`, -0.5, 0.5), biasAt);
  const initialState = Array.from({ length: optimizerStateSlots(c.optimizer) }, () => {
    const state = new Float32Array(count).fill(SENTINEL);
    state.fill(0, weightsAt, weightsAt + C * IN);
    state.fill(0, biasAt, bEnd);
    return state;
  });
  // x is what the layer below stored: A = act(z), or H = mask ⊙ A / keep after its dropout.
  const a = reference.activationForward(c.activation, randomArray(B * IN, `z ${tag}`, -2, 2));
  const x = Float32Array.from(c.dropout ? reference.dropoutForward(a, SEED, T, LAYER, c.dropout) : a);
  const labels = randomLabels(B, C, `labels ${tag}`);

  const ring = new StepParamsRing(device, 1);
  arena.adopt(ring.buffer);
  const { beta1, beta2 } = config;
  ring.set(0, { t: T, batchStart: 0, rows, record: 1, lr: LR, beta1, beta2 });
  ring.flush();
  const params = arena.tensorWithData('params', initialParams);
  const state = initialState.map((s, i) => arena.tensorWithData(`state ${i}`, s));
  const status = arena.tensorWithData('status', Uint32Array.of(c.status ?? 0, 0, 0, 0));
  const io = {
    logits: arena.tensor('logits', B * C * 4),
    labels: arena.tensorWithData('labels', labels),
    records: arena.tensor('records', 4 * LOSS_RECORD_BYTES),
    status,
    grad: arena.tensor('grad', B * C * 4),
    step: ring.buffer,
    x: arena.tensorWithData('x', x),
    dz: arena.tensor('dz', B * IN * 4),
  };
  const epilogue = optimizerEpilogue(ctx, { params, state, status, step: ring.buffer }, { count, weightsEnd: biasAt, config });
  const dropout = c.dropout ? { seed: SEED, layer: LAYER, rate: c.dropout } : undefined;
  const dispatch = await denseLossStep(ctx, c.loss, io, { B, C, IN, activation: c.activation, dropout }, { optimizer: epilogue, weightsAt, biasAt });
  await runDispatches(device, [dispatch]);
  const [logits, grad, dz] = [await readFloat32(device, io.logits), await readFloat32(device, io.grad), await readFloat32(device, io.dz)];
  const record = new Uint32Array(await readBuffer(device, io.records, LOSS_RECORD_BYTES, LOSS_RECORD_BYTES));
  const gotParams = await readFloat32(device, params);
  const gotState = await Promise.all(state.map((s) => readFloat32(device, s)));
  const gotStatus = (await readUint32(device, status))[0];
  arena.destroy();

  // 1. Forward and loss.
  const valid = rows * C;
  const b = initialParams.subarray(biasAt, biasAt + C);
  compareArrays('logits', logits.subarray(0, valid), reference.matmulForward(x, w, b, B, IN, C, 'identity').subarray(0, valid), matmulTolerance(IN), [rows, C]);
  const ref = reference.lossFor(c.loss, logits, labels, B, C, rows);
  compareArrays('lossSum', [new Float32Array(record.buffer)[0]], [ref.lossSum], LOSS_SUM);
  expect(record[1], 'correct').toBe(ref.correct);
  compareArrays('grad', grad, ref.grad, lossGradTolerance(rows), [B, C]);
  expect(gotStatus, 'status').toBe(c.status ?? 0);

  // 2. The layer below's gradient, from the kernel's own g.
  const dA = reference.matmulInputGrad(grad, w, a, B, IN, C, c.activation);
  const expectedDz = c.dropout ? reference.dropoutBackward(dA, SEED, T, LAYER, c.dropout) : dA;
  compareArrays('dz', dz, expectedDz, fusedInputGradTolerance(C, 1 - c.dropout), [B, IN]);

  // 3. The step on W and b (nothing at all after a non-finite loss), and nothing else moved.
  const inLayer = (i: number) => (i >= weightsAt && i < weightsAt + C * IN) || (i >= biasAt && i < bEnd);
  const outside = (got: Float32Array, initial: Float32Array) => got.every((v, i) => inLayer(i) || Object.is(v, initial[i]));
  expect(outside(gotParams, initialParams), 'params outside the layer untouched').toBe(true);
  gotState.forEach((s, i) => expect(outside(s, initialState[i]), `state ${i} outside the layer untouched`).toBe(true));
  if (c.status) {
    expect(Array.from(gotParams), 'frozen params').toEqual(Array.from(initialParams));
    gotState.forEach((s, i) => expect(Array.from(s), `frozen state ${i}`).toEqual(Array.from(initialState[i])));
    return;
  }
  const flatGrad = new Float64Array(count);
  flatGrad.set(reference.matmulWeightGrad(grad, x, B, IN, C), weightsAt);
  flatGrad.set(reference.biasGrad(grad, B, C), biasAt);
  const cpuParams = Float64Array.from(initialParams);
  const cpuState = initialState.map((s) => Float64Array.from(s));
  reference.optimizerUpdate(config, cpuParams, flatGrad, cpuState, Math.fround(LR), T, biasAt);
  const layer = (values: ArrayLike<number>) => [...Array.from(values).slice(weightsAt, weightsAt + C * IN), ...Array.from(values).slice(biasAt, bEnd)];
  // One step from the reference gradient: the whole-step tolerances (f32 sums of dW, the step's rounding).
  compareArrays('params', layer(gotParams), layer(cpuParams), STEP_PARAMS[c.optimizer]);
  gotState.forEach((s, i) => compareArrays(`state ${i}`, layer(s), layer(cpuState[i]), STEP_PARAMS[c.optimizer]));
}

let defaultLimitsInstance: GPU | undefined;

describe('loss batch with the output layer forward, backward and step (training)', () => {
  for (const c of CASES) {
    const what = `${c.loss}, B=${c.B}, rows=${c.rows}, ${c.IN}->${c.C}, below ${c.activation}${c.dropout ? ` + dropout ${c.dropout}` : ''}, ${c.optimizer}`;
    it(c.status ? `${what}, after a non-finite loss: nothing moves` : what, () => checkStep(c));
  }

  // WebGPU guarantees 8 storage buffers per shader stage: enough for SGD's form (no state), not for
  // Adam's (10). On a device with only those, the plan keeps the output layer's three dispatches.
  it('on a device with the 8 storage buffers WebGPU guarantees: refused for Adam, the plan keeps three dispatches', async () => {
    await testGpu(); // sets up Dawn's globals and environment
    // The shared adapter is spent on the shared device: a second Dawn instance gives a fresh one,
    // kept referenced for the test's life (an instance collected under a live device aborts Node).
    const dawn = (await import('webgpu')) as unknown as { create(flags: string[]): GPU };
    defaultLimitsInstance ??= dawn.create([]);
    const adapter = await defaultLimitsInstance.requestAdapter();
    if (!adapter) throw new Error('no second adapter');
    const device = await adapter.requestDevice({ label: 'default limits' });
    try {
      expect(device.limits.maxStorageBuffersPerShaderStage).toBe(8);
      const arena = new BufferArena(device);
      const ctx = { device, cache: new KernelCache(device), arena, adapterKind: 'gpu' as const };
      const set = syntheticSet();
      const data = uploadDataset(arena, set);
      const spec = { layers: [set.inputSize, 16, 12], activation: 'relu', loss: 'ce', dropout: 0 } as const;
      const dispatches = async (kind: OptimizerKind, fuseOutputStep?: boolean) => {
        const model = new GpuParameters(arena, spec, kind);
        const plan = await TrainPlan.create(ctx, spec, optimizerConfig(kind), model, data, { batchSize: 37, stepsPerSubmit: 1, stepsPerEpoch: 9, seed: 1, fuseOptimizer: true, fuseOutputStep });
        plan.destroy();
        return plan.dispatches.length;
      };
      expect(await dispatches('sgd')).toBe((await dispatches('sgd', false)) - 2);
      expect(await dispatches('adam')).toBe(await dispatches('adam', false));
      const t = (bytes: number) => arena.tensor('t', bytes);
      const params = t(4096 * 4);
      const state = [t(4096 * 4), t(4096 * 4)];
      const epilogue = optimizerEpilogue(ctx, { params, state, status: t(16), step: t(256) }, { count: 4096, weightsEnd: 2048, config: optimizerConfig('adam') });
      const io = { logits: t(64), labels: t(16), records: t(8), status: t(16), grad: t(64), step: t(256), x: t(4096), dz: t(4096) };
      await expect(denseLossStep(ctx, 'ce', io, { B: 1, C: 10, IN: 36, activation: 'relu' }, { optimizer: epilogue, weightsAt: 0, biasAt: 2048 })).rejects.toThrow(
        /needs 10 storage buffers per shader stage, this device allows 8/,
      );
      arena.destroy();
    } finally {
      device.destroy();
    }
  });

  it('counts its storage bindings, and refuses output layers it cannot take', async () => {
    expect(denseLossStepStorageBuffers(2)).toBe(10);
    const ctx = await testKernelContext();
    const { arena, device } = ctx;
    const t = (bytes: number) => arena.tensor('t', bytes);
    const ring = new StepParamsRing(device, 1);
    arena.adopt(ring.buffer);
    const params = t(4096 * 4);
    const epilogue = optimizerEpilogue(ctx, { params, state: [], status: t(16), step: ring.buffer }, { count: 4096, weightsEnd: 2048, config: optimizerConfig('sgd') });
    const io = { logits: t(64), labels: t(16), records: t(8), status: t(16), grad: t(64), step: ring.buffer, x: t(4096), dz: t(4096) };
    const dims = { B: 1, C: 10, IN: 36, activation: 'relu' } as const;
    await expect(denseLossStep(ctx, 'ce', io, { ...dims, IN: 33 }, { optimizer: epilogue, weightsAt: 0, biasAt: 2048 })).rejects.toThrow(/33x10 needs IN a multiple of 4/);
    await expect(denseLossStep(ctx, 'ce', io, dims, { optimizer: epilogue, weightsAt: 2, biasAt: 2048 })).rejects.toThrow(/multiples of 4 elements/);
    await expect(denseLossStep(ctx, 'ce', io, dims, { optimizer: epilogue, weightsAt: 0, biasAt: 4092 })).rejects.toThrow(/params holds 4096 f32, needs 4104/);
    arena.destroy();
  });
});
