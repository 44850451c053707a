// The weight grad with the optimizer step in its epilogue (shaders/matmul_update.wgsl), against the
// same step taken the unfused way on the GPU (weight grad storing dW and db, then the optimizer's own
// kernel) and against the CPU reference optimizer applied to those gradients. The layer's W and b sit
// at unaligned offsets of a larger flat buffer whose other elements, and whose state, must come back
// untouched; two steps (t = 1, 2) so that the state carried from one step feeds the next.
import { afterAll, describe, expect, it } from 'vitest';
import { readFloat32 } from '../../src/gpu/buffers.ts';
import type { Dispatch } from '../../src/gpu/program.ts';
import { defaultMatmulVariant, MATMUL_VARIANTS, matmulVariantSupported, matmulWeightGrad, type DispatchBudget, type MatmulVariantName } from '../../src/kernels/matmul.ts';
import { optimizerEpilogue, optimizerUpdate } from '../../src/kernels/optimizer.ts';
import { StepParamsRing } from '../../src/kernels/step-params.ts';
import { OPTIMIZERS, optimizerConfig, optimizerStateSlots, type OptimizerKind } from '../../src/model/optimizer.ts';
import * as reference from '../../src/reference/index.ts';
import { matmulTolerance, optimizerTolerance } from '../../src/check/tolerances.ts';
import { compareArrays } from '../helpers/compare.ts';
import { runDispatches, testGpu, testKernelContext } from '../helpers/gpu.ts';
import { randomArray } from '../helpers/random.ts';

interface Shape {
  readonly B: number;
  readonly IN: number;
  readonly OUT: number;
}

/** The matmul tests' shapes: vec4 paths in the subgroup kernel (AWKWARD), and scalar ones (UNALIGNED). */
const AWKWARD: Shape = { B: 37, IN: 100, OUT: 36 };
const UNALIGNED: Shape = { B: 37, IN: 33, OUT: 100 };
const STEPS = 2;
const LR = [0.01, 0.02];
const SENTINEL = -7;

/** Where the layer sits in the flat buffers: W from an offset no vector load could take, b after a gap. */
function layout({ IN, OUT }: Shape) {
  const weightsAt = 70;
  const biasAt = weightsAt + OUT * IN + 13;
  return { weightsAt, biasAt, count: biasAt + OUT + 29 };
}

/** Worst |fused − unfused| per variant, printed after the tests. */
const worst = new Map<string, number>();

async function checkUpdate(variant: MatmulVariantName, kind: OptimizerKind, shape: Shape, options: { budget?: DispatchBudget; frozen?: boolean } = {}): Promise<void> {
  const { B, IN, OUT } = shape;
  const { weightsAt, biasAt, count } = layout(shape);
  const config = optimizerConfig(kind, { weightDecay: 0.05 });
  const ctx = await testKernelContext();
  const { arena, device } = ctx;
  const tag = `${kind} ${B}x${IN}x${OUT}`;
  const [dyData, xData] = [randomArray(B * OUT, `dy ${tag}`), randomArray(B * IN, `x ${tag}`)];
  const [dy, x] = [arena.tensorWithData('dy', dyData), arena.tensorWithData('x', xData)];
  const initialParams = new Float32Array(count).fill(SENTINEL);
  initialParams.set(randomArray(OUT * IN, `w ${tag}`), weightsAt);
  initialParams.set(randomArray(OUT, `b ${tag}`), biasAt);
  // Non-negative, as Adagrad's G and Adam's v must be.
  const initialState = Array.from({ length: optimizerStateSlots(kind) }, (_, s) => {
    const state = new Float32Array(count).fill(SENTINEL);
    const values = randomArray(count, `state ${s} ${tag}`, 0, 1);
    for (const [at, n] of [[weightsAt, OUT * IN], [biasAt, OUT]]) state.set(values.subarray(at, at + n), at);
    return state;
  });
  const ring = new StepParamsRing(device, STEPS);
  arena.adopt(ring.buffer);
  LR.forEach((lr, k) => ring.set(k, { t: k + 1, batchStart: 0, rows: B, record: 0, lr, beta1: config.beta1, beta2: config.beta2 }));
  ring.flush();
  const status = arena.tensorWithData('status', new Uint32Array([options.frozen ? 1 : 0, 0, 0, 0]));
  const copy = (label: string) => ({ params: arena.tensorWithData(`${label} params`, initialParams), state: initialState.map((s, i) => arena.tensorWithData(`${label} state ${i}`, s)) });
  const fused = copy('fused');
  const unfused = copy('unfused');
  const dw = arena.tensor('dw', OUT * IN * 4);
  const db = arena.tensor('db', OUT * 4);
  // weightsEnd: the standalone kernel decays the elements before it; the fused one W's and not b's.
  const dims = { count, weightsEnd: biasAt, config };

  const epilogue = optimizerEpilogue(ctx, { ...fused, status, step: ring.buffer }, dims);
  const update = { optimizer: epilogue, weightsAt, biasAt };
  const fusedStep = await matmulWeightGrad(ctx, { dy, x, dw, db, update }, { B, IN, OUT }, variant, options.budget);
  if (options.budget) expect(fusedStep.length, 'bands').toBeGreaterThan(1);
  const gradStep = await matmulWeightGrad(ctx, { dy, x, dw, db }, { B, IN, OUT }, variant, options.budget);
  // The unfused optimizer sees a flat gradient: dW and db at the layer's offsets, 0 elsewhere (so
  // that decay and momentum move the sentinels there; only the layer's elements are compared).
  const grads = arena.tensor('grads', count * 4);
  const unfusedStep: Dispatch = await optimizerUpdate(ctx, { ...unfused, grads, status, step: ring.buffer }, dims);
  const cpuParams = Float64Array.from(initialParams);
  const cpuState = initialState.map((s) => Float64Array.from(s));
  for (let k = 0; k < STEPS; k++) {
    await runDispatches(device, fusedStep, k);
    await runDispatches(device, gradStep, k);
    const [gw, gb] = [await readFloat32(device, dw), await readFloat32(device, db)];
    compareArrays(`${variant} ${tag} dW`, gw, reference.matmulWeightGrad(dyData, xData, B, IN, OUT), matmulTolerance(B));
    const flat = new Float32Array(count);
    flat.set(gw, weightsAt);
    flat.set(gb, biasAt);
    device.queue.writeBuffer(grads, 0, flat);
    await runDispatches(device, [unfusedStep], k);
    if (!options.frozen) reference.optimizerUpdate(config, cpuParams, flat, cpuState, Math.fround(LR[k]), k + 1, biasAt);
  }

  const layer = (values: ArrayLike<number>) => [...Array.from(values).slice(weightsAt, weightsAt + OUT * IN), ...Array.from(values).slice(biasAt, biasAt + OUT)];
  const outside = (values: Float32Array, initial: Float32Array) => values.every((v, i) => (i >= weightsAt && i < weightsAt + OUT * IN) || (i >= biasAt && i < biasAt + OUT) || v === initial[i]);
  const label = `${variant} ${kind} step in the weight grad, ${B}x${IN}x${OUT}${options.budget ? ', in bands' : ''}${options.frozen ? ', frozen' : ''}`;
  const buffers = [{ name: 'params', fused: fused.params, unfused: unfused.params, cpu: cpuParams, initial: initialParams }];
  initialState.forEach((initial, s) => buffers.push({ name: `state ${s}`, fused: fused.state[s], unfused: unfused.state[s], cpu: cpuState[s], initial }));
  for (const b of buffers) {
    const got = await readFloat32(device, b.fused);
    expect(outside(got, b.initial), `${label}: ${b.name} outside the layer untouched`).toBe(true);
    if (options.frozen) {
      expect(Array.from(got), `${label}: ${b.name} frozen`).toEqual(Array.from(b.initial));
      continue;
    }
    const expected = layer(b.cpu);
    const tolerance = optimizerTolerance(expected, STEPS);
    const diff = compareArrays(`${label}: ${b.name} vs unfused`, layer(got), layer(await readFloat32(device, b.unfused)), tolerance).maxAbsDiff;
    compareArrays(`${label}: ${b.name} vs reference`, layer(got), expected, tolerance);
    worst.set(variant, Math.max(worst.get(variant) ?? 0, diff));
  }
  arena.destroy();
}

const testAdapter = await testGpu();
const variants = MATMUL_VARIANTS.filter((variant) => matmulVariantSupported(testAdapter.device, variant));
const defaultVariant = defaultMatmulVariant(await testKernelContext());

describe('weight grad with the optimizer step', () => {
  afterAll(() => {
    for (const [variant, diff] of worst) console.log(`matmul-update ${variant}: worst |fused − unfused| ${diff.toExponential(2)}`);
  });

  // Each variant wires the step into its stores (and its row sums into the bias's); every optimizer's
  // step is the same WGSL in all of them, so the other optimizers run in the adapter's default variant.
  for (const variant of variants) {
    describe(variant, () => {
      it(`adam ${AWKWARD.OUT}x${AWKWARD.IN} over ${AWKWARD.B}`, () => checkUpdate(variant, 'adam', AWKWARD));
      it(`adam ${UNALIGNED.OUT}x${UNALIGNED.IN} over ${UNALIGNED.B}`, () => checkUpdate(variant, 'adam', UNALIGNED));
      it('momentum, cut into bands of rows and columns', () => checkUpdate(variant, 'momentum', AWKWARD, { budget: { macs: 1, workgroupsPerDimension: 2 } }));
      it('adam after a non-finite loss: nothing moves', () => checkUpdate(variant, 'adam', AWKWARD, { frozen: true }));
    });
  }
  for (const kind of OPTIMIZERS.filter((k) => k !== 'adam')) {
    it(`${kind} ${AWKWARD.OUT}x${AWKWARD.IN} over ${AWKWARD.B}, the default variant`, () => checkUpdate(defaultVariant, kind, AWKWARD));
  }

  it('refuses a step without the bias gradient, or a layer beyond the parameter buffer', async () => {
    const ctx = await testKernelContext();
    const { arena } = ctx;
    const [B, IN, OUT] = [4, 8, 4];
    const config = optimizerConfig('sgd');
    const params = arena.tensor('params', 40 * 4);
    const ring = new StepParamsRing(ctx.device, 1);
    arena.adopt(ring.buffer);
    const epilogue = optimizerEpilogue(ctx, { params, state: [], status: arena.tensor('status', 16), step: ring.buffer }, { count: 40, weightsEnd: 32, config });
    const io = { dy: arena.tensor('dy', B * OUT * 4), x: arena.tensor('x', B * IN * 4), dw: arena.tensor('dw', OUT * IN * 4) };
    await expect(matmulWeightGrad(ctx, { ...io, update: { optimizer: epilogue, weightsAt: 0, biasAt: 32 } }, { B, IN, OUT })).rejects.toThrow(/needs db/);
    const db = arena.tensor('db', OUT * 4);
    await expect(matmulWeightGrad(ctx, { ...io, db, update: { optimizer: epilogue, weightsAt: 8, biasAt: 38 } }, { B, IN, OUT })).rejects.toThrow(/params holds 40 f32, needs 42/);
    arena.destroy();
  });
});
