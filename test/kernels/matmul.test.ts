import { afterAll, describe, expect, it } from 'vitest';
import { elementView } from '../../src/gpu/arena.ts';
import { readFloat32 } from '../../src/gpu/buffers.ts';
import type { Dispatch } from '../../src/gpu/program.ts';
import { StepParamsRing } from '../../src/kernels/step-params.ts';
import {
  defaultMatmulVariant,
  MATMUL_VARIANTS,
  matmulForward,
  matmulInputGrad,
  matmulVariantSupported,
  matmulWeightGrad,
  type DispatchBudget,
  type MatmulVariantName,
} from '../../src/kernels/matmul.ts';
import type { FusedDropout } from '../../src/kernels/dropout.ts';
import type { ActivationKind } from '../../src/model/spec.ts';
import { activationBackward, activationForward } from '../../src/reference/activation.ts';
import { dropoutBackward, dropoutForward } from '../../src/reference/dropout.ts';
import * as reference from '../../src/reference/matmul.ts';
import { fusedForwardTolerance, fusedInputGradTolerance, matmulTolerance } from '../../src/check/tolerances.ts';
import { compareArrays } from '../helpers/compare.ts';
import { runDispatches, testGpu, testKernelContext } from '../helpers/gpu.ts';
import { randomArray } from '../helpers/random.ts';

// Tolerances (and why they are that size): src/check/tolerances.ts, shared with `webgpu-mlp check`.
const tolerance = matmulTolerance;

/** The step whose mask the fused tests draw (t is read from the StepParams binding). */
const DROPOUT_T = 5;

interface Shape {
  readonly B: number;
  readonly IN: number;
  readonly OUT: number;
}

const ACTIVATIONS: readonly ActivationKind[] = ['identity', 'relu', 'sigmoid', 'tanh'];
/**
 * Nothing a multiple of any tile; IN and OUT multiples of 4, so 'subgroup' takes its vec4 paths in
 * every product: U along k in the forward (X) and the input grad (dY), along m in the weight grad
 * (dYᵀ); V along k in the forward (Wᵀ), vec2 along n in the grads (W, X). B (the weight grad's K) odd.
 */
const AWKWARD: Shape = { B: 37, IN: 100, OUT: 36 };
/** IN odd: W's and X's rows are not 8-byte aligned, so 'subgroup' loads V (and the forward's U) as scalars. */
const UNALIGNED: Shape = { B: 37, IN: 33, OUT: 100 };
const TINY: readonly Shape[] = [
  { B: 1, IN: 1, OUT: 1 },
  { B: 1, IN: 3, OUT: 5 },
  { B: 5, IN: 3, OUT: 1 },
  { B: 3, IN: 5, OUT: 3 },
];
/** Larger than every variant's tile in every dimension: tiled 64×64 (k step 16), subgroup 16×16 (k block 8), regblock 4×256. */
const BIG: Shape = { B: 70, IN: 300, OUT: 270 };

/**
 * Budgets that cut every product of the banded tests into several dispatches: a work budget below
 * one row of workgroups (tile rows × N × K multiply-adds) gives one row per band; two workgroups per
 * dimension also cut the rows into bands of columns.
 */
const BUDGETS: Record<string, DispatchBudget> = {
  'bands of workgroup rows': { macs: 1 },
  'bands of rows and columns': { macs: 1, workgroupsPerDimension: 2 },
};

const describeShape = ({ B, IN, OUT }: Shape) => `B=${B} IN=${IN} OUT=${OUT}`;

/** Worst |GPU − reference| per variant and product, printed after the tests. */
const worst = new Map<string, number>();
function record(variant: MatmulVariantName, form: string, maxAbsDiff: number): void {
  const key = `${variant} ${form}`;
  worst.set(key, Math.max(worst.get(key) ?? 0, maxAbsDiff));
}

function inputs({ B, IN, OUT }: Shape, activation: ActivationKind) {
  const tag = `${B}x${IN}x${OUT}`;
  return {
    x: randomArray(B * IN, `x ${tag}`),
    w: randomArray(OUT * IN, `w ${tag}`),
    b: randomArray(OUT, `b ${tag}`),
    dy: randomArray(B * OUT, `dy ${tag}`),
    // A is a post-activation output, so draw it through the activation (relu gives exact zeros).
    a: Float32Array.from(activationForward(activation, randomArray(B * IN, `z ${tag}`))),
  };
}

/**
 * Runs one product's dispatches. With a budget (tests pass ones far below DISPATCH_MACS and the
 * device's limit) the product must have been cut into several bands.
 */
async function runProduct(device: GPUDevice, dispatches: Dispatch[], budget: DispatchBudget | undefined): Promise<void> {
  if (budget !== undefined) {
    expect(dispatches.length, 'bands').toBeGreaterThan(1);
    expect(dispatches.map((d) => d.label).join('\n')).toMatch(new RegExp(`band ${dispatches.length}/${dispatches.length}$`));
  } else {
    expect(dispatches).toHaveLength(1);
  }
  await runDispatches(device, dispatches);
}

async function checkForward(variant: MatmulVariantName, shape: Shape, activation: ActivationKind, budget?: DispatchBudget): Promise<void> {
  const { B, IN, OUT } = shape;
  const ctx = await testKernelContext();
  const d = inputs(shape, activation);
  const y = ctx.arena.tensor('y', B * OUT * 4);
  const io = { x: ctx.arena.tensorWithData('x', d.x), w: ctx.arena.tensorWithData('w', d.w), b: ctx.arena.tensorWithData('b', d.b), y };
  await runProduct(ctx.device, await matmulForward(ctx, io, { B, IN, OUT, activation }, variant, budget), budget);
  const expected = reference.matmulForward(d.x, d.w, d.b, B, IN, OUT, activation);
  const got = await readFloat32(ctx.device, y);
  record(variant, 'forward', compareArrays(`${variant} forward ${describeShape(shape)} ${activation}`, got, expected, tolerance(IN), [B, OUT]).maxAbsDiff);
  ctx.arena.destroy();
}

async function checkInputGrad(variant: MatmulVariantName, shape: Shape, activation: ActivationKind, budget?: DispatchBudget): Promise<void> {
  const { B, IN, OUT } = shape;
  const ctx = await testKernelContext();
  const d = inputs(shape, activation);
  const dx = ctx.arena.tensor('dx', B * IN * 4);
  // identity reads no A: leave it out, as the training plan does for the first hidden layer's input.
  const a = activation === 'identity' ? undefined : ctx.arena.tensorWithData('a', d.a);
  const io = { dy: ctx.arena.tensorWithData('dy', d.dy), w: ctx.arena.tensorWithData('w', d.w), a, dx };
  await runProduct(ctx.device, await matmulInputGrad(ctx, io, { B, IN, OUT, activation }, variant, budget), budget);
  const expected = reference.matmulInputGrad(d.dy, d.w, a ? d.a : null, B, IN, OUT, activation);
  const got = await readFloat32(ctx.device, dx);
  record(variant, 'input grad', compareArrays(`${variant} input grad ${describeShape(shape)} ${activation}`, got, expected, tolerance(OUT), [B, IN]).maxAbsDiff);
  ctx.arena.destroy();
}

/** The weight grad, and with `withBias` the bias gradient from the same dispatch (a sum over B, as dW's). */
async function checkWeightGrad(variant: MatmulVariantName, shape: Shape, withBias = false, budget?: DispatchBudget): Promise<void> {
  const { B, IN, OUT } = shape;
  const ctx = await testKernelContext();
  const d = inputs(shape, 'identity');
  const dw = ctx.arena.tensor('dw', OUT * IN * 4);
  const db = withBias ? ctx.arena.tensor('db', OUT * 4) : undefined;
  const io = { dy: ctx.arena.tensorWithData('dy', d.dy), x: ctx.arena.tensorWithData('x', d.x), dw, db };
  await runProduct(ctx.device, await matmulWeightGrad(ctx, io, { B, IN, OUT }, variant, budget), budget);
  const expected = reference.matmulWeightGrad(d.dy, d.x, B, IN, OUT);
  const got = await readFloat32(ctx.device, dw);
  const label = `${variant} weight grad${withBias ? ' + bias' : ''} ${describeShape(shape)}`;
  record(variant, 'weight grad', compareArrays(label, got, expected, tolerance(B), [OUT, IN]).maxAbsDiff);
  if (db) {
    const bias = await readFloat32(ctx.device, db);
    record(variant, 'bias grad (row sums)', compareArrays(`${label}: db`, bias, reference.biasGrad(d.dy, B, OUT), tolerance(B)).maxAbsDiff);
  }
  ctx.arena.destroy();
}

/** A StepParams ring of one slot holding t = DROPOUT_T. */
function stepRing(ctx: Awaited<ReturnType<typeof testKernelContext>>): GPUBuffer {
  const ring = new StepParamsRing(ctx.device, 1, 'test step');
  ctx.arena.adopt(ring.buffer);
  ring.set(0, { t: DROPOUT_T, batchStart: 0, rows: 1, record: 0, lr: 0 });
  ring.flush();
  return ring.buffer;
}

/**
 * The dropout masks agree exactly: the GPU output is 0 precisely where the reference composition's
 * is (dropped elements, and ReLU's zeros, which both sides produce exactly).
 */
function expectSameZeros(label: string, got: Float32Array, expected: Float64Array): void {
  const differing = [...got.keys()].filter((i) => (got[i] === 0) !== (expected[i] === 0));
  expect(differing.length, `${label}: elements zero on one side only (first: ${differing.slice(0, 5).join(', ')})`).toBe(0);
  expect(expected.some((value) => value === 0), `${label}: the mask dropped something`).toBe(true);
}

/** The fused forward against the reference's matmulForward, then dropoutForward. */
async function checkForwardDropout(variant: MatmulVariantName, shape: Shape, activation: ActivationKind, dropout: FusedDropout, budget?: DispatchBudget): Promise<void> {
  const { B, IN, OUT } = shape;
  const ctx = await testKernelContext();
  const d = inputs(shape, activation);
  const y = ctx.arena.tensor('h', B * OUT * 4);
  const io = { x: ctx.arena.tensorWithData('x', d.x), w: ctx.arena.tensorWithData('w', d.w), b: ctx.arena.tensorWithData('b', d.b), y, step: stepRing(ctx) };
  await runProduct(ctx.device, await matmulForward(ctx, io, { B, IN, OUT, activation, dropout }, variant, budget), budget);
  const a = reference.matmulForward(d.x, d.w, d.b, B, IN, OUT, activation);
  const expected = dropoutForward(a, dropout.seed, DROPOUT_T, dropout.layer, dropout.rate);
  const got = await readFloat32(ctx.device, y);
  const label = `${variant} forward + dropout ${dropout.rate} ${describeShape(shape)} ${activation}`;
  expectSameZeros(label, got, expected);
  record(variant, 'forward + dropout', compareArrays(label, got, expected, fusedForwardTolerance(IN, 1 - dropout.rate), [B, OUT]).maxAbsDiff);
  ctx.arena.destroy();
}

/**
 * The fused input grad, given H (what the fused forward of the layer below stores), against the
 * reference composition with the true A: matmulInputGrad through identity, dropoutBackward, then
 * activationBackward.
 */
async function checkInputGradDropout(variant: MatmulVariantName, shape: Shape, activation: ActivationKind, dropout: FusedDropout, budget?: DispatchBudget): Promise<void> {
  const { B, IN, OUT } = shape;
  const ctx = await testKernelContext();
  const d = inputs(shape, activation);
  const h = Float32Array.from(dropoutForward(d.a, dropout.seed, DROPOUT_T, dropout.layer, dropout.rate));
  const dx = ctx.arena.tensor('dx', B * IN * 4);
  const io = { dy: ctx.arena.tensorWithData('dy', d.dy), w: ctx.arena.tensorWithData('w', d.w), a: ctx.arena.tensorWithData('h', h), dx, step: stepRing(ctx) };
  await runProduct(ctx.device, await matmulInputGrad(ctx, io, { B, IN, OUT, activation, dropout }, variant, budget), budget);
  const dh = reference.matmulInputGrad(d.dy, d.w, null, B, IN, OUT, 'identity');
  const expected = activationBackward(activation, d.a, dropoutBackward(dh, dropout.seed, DROPOUT_T, dropout.layer, dropout.rate));
  const got = await readFloat32(ctx.device, dx);
  const label = `${variant} input grad + dropout ${dropout.rate} ${describeShape(shape)} through ${activation}`;
  expectSameZeros(label, got, expected);
  record(variant, 'input grad + dropout', compareArrays(label, got, expected, fusedInputGradTolerance(OUT, 1 - dropout.rate), [B, IN]).maxAbsDiff);
  ctx.arena.destroy();
}

/**
 * All three products (the weight grad with its bias gradient) with every operand a view at a nonzero
 * 256-byte-aligned offset of a larger buffer, as parameter tensors are views of the flat params
 * buffer. The output views sit between sentinel-filled neighbours that must come back untouched.
 */
async function checkViews(variant: MatmulVariantName): Promise<void> {
  const { B, IN, OUT } = AWKWARD;
  const activation: ActivationKind = 'relu';
  const ctx = await testKernelContext();
  const d = inputs(AWKWARD, activation);
  const align = (n: number) => Math.ceil(n / 64) * 64; // 64 f32 = 256 bytes
  const pack = (label: string, parts: Float32Array[]) => {
    const offsets: number[] = [];
    let end = 64; // nothing at offset 0
    for (const part of parts) {
      offsets.push(end);
      end = align(end + part.length) + 64;
    }
    const data = new Float32Array(end).fill(-7); // sentinel
    parts.forEach((part, i) => data.set(part, offsets[i]));
    const buffer = ctx.arena.tensorWithData(label, data);
    return { buffer, data, offsets, views: parts.map((part, i) => elementView(buffer, offsets[i], part.length)) };
  };
  const params = pack('params', [d.w, d.b]);
  const acts = pack('activations', [d.x, d.a, d.dy]);
  const sizes = [B * OUT, B * IN, OUT * IN, OUT];
  const outs = pack('outputs', sizes.map((n) => new Float32Array(n)));
  const [w, b] = params.views;
  const [x, a, dy] = acts.views;
  const [y, dx, dw, db] = outs.views;
  await runDispatches(ctx.device, [
    ...(await matmulForward(ctx, { x, w, b, y }, { B, IN, OUT, activation }, variant)),
    ...(await matmulInputGrad(ctx, { dy, w, a, dx }, { B, IN, OUT, activation }, variant)),
    ...(await matmulWeightGrad(ctx, { dy, x, dw, db }, { B, IN, OUT }, variant)),
  ]);
  const got = await readFloat32(ctx.device, outs.buffer);
  const part = (i: number, n: number) => got.subarray(outs.offsets[i], outs.offsets[i] + n);
  const label = `${variant} views at offsets`;
  compareArrays(`${label}: forward`, part(0, B * OUT), reference.matmulForward(d.x, d.w, d.b, B, IN, OUT, activation), tolerance(IN));
  compareArrays(`${label}: input grad`, part(1, B * IN), reference.matmulInputGrad(d.dy, d.w, d.a, B, IN, OUT, activation), tolerance(OUT));
  compareArrays(`${label}: weight grad`, part(2, OUT * IN), reference.matmulWeightGrad(d.dy, d.x, B, IN, OUT), tolerance(B));
  compareArrays(`${label}: bias grad`, part(3, OUT), reference.biasGrad(d.dy, B, OUT), tolerance(B));
  const outside = got.filter((_, i) => !outs.offsets.some((o, j) => i >= o && i < o + sizes[j]));
  expect(outside.every((value) => value === -7)).toBe(true);
  ctx.arena.destroy();
}

// 'subgroup' needs subgroups of exactly 8 invocations: lavapipe has them, most GPUs do not. A variant
// the adapter cannot run is reported as skipped, and on lavapipe that is itself a failure (below).
const testAdapter = await testGpu();
const supported = (variant: MatmulVariantName) => matmulVariantSupported(testAdapter.device, variant);

describe('matmul', () => {
  it('runs every variant on lavapipe', () => {
    if (!testAdapter.report.description.includes('llvmpipe')) return;
    expect(MATMUL_VARIANTS.filter((variant) => !supported(variant))).toEqual([]);
  });

  for (const variant of MATMUL_VARIANTS) {
    describe.skipIf(!supported(variant))(variant, () => {

      for (const activation of ACTIVATIONS) {
        it(`forward ${describeShape(AWKWARD)} ${activation}`, () => checkForward(variant, AWKWARD, activation));
      }
      it(`forward ${describeShape(UNALIGNED)} relu`, () => checkForward(variant, UNALIGNED, 'relu'));
      it('forward, tiny shapes', async () => {
        for (const shape of TINY) await checkForward(variant, shape, 'sigmoid');
      });
      it(`forward ${describeShape(BIG)} tanh`, () => checkForward(variant, BIG, 'tanh'));

      for (const activation of ACTIVATIONS) {
        it(`input grad ${describeShape(AWKWARD)} through ${activation}`, () => checkInputGrad(variant, AWKWARD, activation));
      }
      it(`input grad ${describeShape(UNALIGNED)} through sigmoid`, () => checkInputGrad(variant, UNALIGNED, 'sigmoid'));
      it('input grad, tiny shapes', async () => {
        for (const shape of TINY) await checkInputGrad(variant, shape, 'relu');
      });
      it(`input grad ${describeShape(BIG)} through relu`, () => checkInputGrad(variant, BIG, 'relu'));

      it(`weight grad ${describeShape(AWKWARD)}`, () => checkWeightGrad(variant, AWKWARD));
      it(`weight grad ${describeShape(UNALIGNED)}`, () => checkWeightGrad(variant, UNALIGNED));
      it('weight grad, tiny shapes', async () => {
        for (const shape of TINY) await checkWeightGrad(variant, shape);
      });
      it(`weight grad ${describeShape(BIG)}`, () => checkWeightGrad(variant, BIG));
      for (const shape of [AWKWARD, UNALIGNED, BIG]) {
        it(`weight grad + bias ${describeShape(shape)}`, () => checkWeightGrad(variant, shape, true));
      }
      it('weight grad + bias, tiny shapes', async () => {
        for (const shape of TINY) await checkWeightGrad(variant, shape, true);
      });

      it('reads and writes views at offsets inside larger buffers', () => checkViews(variant));

      // Fused dropout: (seed, layer) pairs differ per test, so different masks are drawn.
      it(`forward + dropout ${describeShape(AWKWARD)} sigmoid`, () => checkForwardDropout(variant, AWKWARD, 'sigmoid', { seed: 99, layer: 0, rate: 0.3 }));
      it(`forward + dropout ${describeShape(UNALIGNED)} relu`, () => checkForwardDropout(variant, UNALIGNED, 'relu', { seed: 7, layer: 1, rate: 0.5 }));
      it(`forward + dropout ${describeShape(BIG)} tanh`, () => checkForwardDropout(variant, BIG, 'tanh', { seed: 0xffffffff, layer: 3, rate: 0.2 }));
      for (const activation of ACTIVATIONS) {
        it(`input grad + dropout ${describeShape(AWKWARD)} through ${activation}`, () =>
          checkInputGradDropout(variant, AWKWARD, activation, { seed: 99, layer: 0, rate: 0.3 }));
      }
      it(`input grad + dropout ${describeShape(UNALIGNED)} through tanh`, () => checkInputGradDropout(variant, UNALIGNED, 'tanh', { seed: 7, layer: 1, rate: 0.5 }));
      it(`input grad + dropout ${describeShape(BIG)} through relu`, () => checkInputGradDropout(variant, BIG, 'relu', { seed: 0xffffffff, layer: 3, rate: 0.2 }));

      // Cut into bands (a dispatch each) by tiny budgets, as training cuts products beyond
      // DISPATCH_MACS or grids beyond the per-dimension limit: every band must cover its part of the
      // grid and only that. BIG has more than one row and column of workgroups in every variant (tiled:
      // 64×64 per workgroup).
      describe.each(Object.entries(BUDGETS))('in %s', (_, banded) => {
        it(`forward ${describeShape(BIG)} relu`, () => checkForward(variant, BIG, 'relu', banded));
        it(`input grad ${describeShape(BIG)} through sigmoid`, () => checkInputGrad(variant, BIG, 'sigmoid', banded));
        it(`weight grad + bias ${describeShape(BIG)}`, () => checkWeightGrad(variant, BIG, true, banded));
        it(`weight grad + bias ${describeShape(UNALIGNED)}`, () => checkWeightGrad(variant, UNALIGNED, true, banded));
        it(`forward + dropout ${describeShape(BIG)} tanh`, () => checkForwardDropout(variant, BIG, 'tanh', { seed: 3, layer: 2, rate: 0.4 }, banded));
        it(`input grad + dropout ${describeShape(BIG)} through relu`, () => checkInputGradDropout(variant, BIG, 'relu', { seed: 3, layer: 2, rate: 0.4 }, banded));
      });
    });
  }

  it('defaults to subgroup on CPU adapters with subgroups, tiled on GPUs', async () => {
    const cpu = await testKernelContext('cpu');
    const gpu = await testKernelContext('gpu');
    expect(defaultMatmulVariant(cpu)).toBe(matmulVariantSupported(cpu.device, 'subgroup') ? 'subgroup' : 'regblock');
    expect(defaultMatmulVariant(gpu)).toBe('tiled');
    const [dispatch] = await matmulWeightGrad(
      cpu,
      { dy: cpu.arena.tensor('dy', 64), x: cpu.arena.tensor('x', 64), dw: cpu.arena.tensor('dw', 64) },
      { B: 4, IN: 4, OUT: 4 },
    );
    expect(dispatch.label).toContain(`[${defaultMatmulVariant(cpu)}]`);
    cpu.arena.destroy();
  });

  it.skipIf(!supported('subgroup'))('subgroup loads U as vec4 where the strides and the bindings allow', async () => {
    const ctx = await testKernelContext();
    const { B, IN, OUT } = AWKWARD;
    const t = (n: number) => ctx.arena.tensor('t', n * 4);
    const kernelOf = async (dispatches: Promise<Dispatch[]>) => (await dispatches)[0].pipeline.label.split('[')[0];
    const forward = (x: GPUBufferBinding | GPUBuffer) => matmulForward(ctx, { x, w: t(OUT * IN), b: t(OUT), y: t(B * OUT) }, { B, IN, OUT, activation: 'relu' }, 'subgroup');
    expect(await kernelOf(forward(t(B * IN)))).toBe('matmul_subgroup_u4_v4');
    expect(await kernelOf(matmulInputGrad(ctx, { dy: t(B * OUT), w: t(OUT * IN), dx: t(B * IN) }, { B, IN, OUT, activation: 'identity' }, 'subgroup'))).toBe('matmul_subgroup_u4_v2');
    expect(await kernelOf(matmulWeightGrad(ctx, { dy: t(B * OUT), x: t(B * IN), dw: t(OUT * IN), db: t(OUT) }, { B, IN, OUT }, 'subgroup'))).toBe('matmul_subgroup_um4_v2_row_sums');
    // X as a view 4 bytes into its buffer: no longer 16-byte aligned, so U is loaded as scalars.
    expect(await kernelOf(forward(elementView(t(B * IN + 1), 1, B * IN)))).toBe('matmul_subgroup_v4');
    ctx.arena.destroy();
  });

  it('rejects bindings that are too small and a missing A', async () => {
    const ctx = await testKernelContext();
    const t = (n: number) => ctx.arena.tensor('t', n * 4);
    await expect(matmulForward(ctx, { x: t(6), w: t(9), b: t(3), y: t(5) }, { B: 2, IN: 3, OUT: 3, activation: 'relu' })).rejects.toThrow(/binding y holds 5 f32, needs 6/);
    await expect(matmulInputGrad(ctx, { dy: t(6), w: t(9), dx: t(6) }, { B: 2, IN: 3, OUT: 3, activation: 'tanh' })).rejects.toThrow(/binding a .* is required for tanh/);
    const dropout = { seed: 1, layer: 0, rate: 0.5 };
    await expect(matmulForward(ctx, { x: t(6), w: t(9), b: t(3), y: t(6) }, { B: 2, IN: 3, OUT: 3, activation: 'relu', dropout })).rejects.toThrow(/needs the step binding/);
    await expect(
      matmulForward(ctx, { x: t(6), w: t(9), b: t(3), y: t(6), step: t(64) }, { B: 2, IN: 3, OUT: 3, activation: 'relu', dropout: { ...dropout, rate: 1 } }),
    ).rejects.toThrow(/dropout rate must be in \[0, 1\)/);
    ctx.arena.destroy();
  });
});

afterAll(() => {
  const lines = [...worst].map(([key, diff]) => `  ${key.padEnd(32)} ${diff.toExponential(2)}`);
  console.log(`matmul: worst |GPU − reference| per variant and product\n${lines.join('\n')}`);
});
