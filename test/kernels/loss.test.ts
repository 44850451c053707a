import { describe, expect, it } from 'vitest';
import { readBuffer, readFloat32, readUint32 } from '../../src/gpu/buffers.ts';
import { StepParamsRing } from '../../src/kernels/step-params.ts';
import { DENSE_LOSS_MAX_MACS_PER_ROW, denseLoss, denseLossFits, LOSS_RECORD_BYTES, lossBatch } from '../../src/kernels/loss.ts';
import type { Loss } from '../../src/model/spec.ts';
import { lossFor } from '../../src/reference/loss.ts';
import { matmulForward } from '../../src/reference/matmul.ts';
import { LOSS_SUM, lossGradTolerance, matmulTolerance } from '../../src/check/tolerances.ts';
import { compareArrays } from '../helpers/compare.ts';
import { runDispatches, testKernelContext } from '../helpers/gpu.ts';
import { randomArray, randomLabels } from '../helpers/random.ts';

// Tolerances: src/check/tolerances.ts (shared with `webgpu-mlp check`).
const gradTolerance = lossGradTolerance;

const RECORDS = 4;
const FILL = 0x7fc00000; // a NaN bit pattern: buffers start full of it, so unwritten elements show

interface Case {
  loss: Loss;
  B: number;
  C: number;
  rows: number;
  /** Logits uniform in [−scale, scale]. */
  scale: number;
  /** Logits rounded to multiples of this (creates argmax ties). */
  quantum?: number;
}

function logitsFor(c: Case): Float32Array {
  const z = randomArray(c.B * c.C, `logits ${c.loss} ${c.B}x${c.C}`, -c.scale, c.scale);
  if (c.quantum) for (let i = 0; i < z.length; i++) z[i] = Math.round(z[i] / c.quantum) * c.quantum;
  return z;
}

function filled(n: number): Uint32Array {
  return new Uint32Array(n).fill(FILL);
}

async function runLoss(c: Case, logits: Float32Array, labels: Uint32Array, mode: 'train' | 'eval', opts: { t?: number; batchStart?: number; status?: number } = {}) {
  const ctx = await testKernelContext();
  const { device } = ctx;
  const t = opts.t ?? 7;
  const record = 2;
  const batchStart = opts.batchStart ?? 0;
  const ring = new StepParamsRing(device, 1);
  ctx.arena.adopt(ring.buffer);
  ring.set(0, { t, batchStart, rows: c.rows, record, lr: 0 });
  ring.flush();
  const io = {
    logits: ctx.arena.tensorWithData('logits', logits),
    labels: ctx.arena.tensorWithData('labels', labels),
    records: ctx.arena.tensorWithData('records', filled(RECORDS * 2)),
    step: ring.buffer,
  };
  const status = ctx.arena.tensorWithData('status', Uint32Array.of(opts.status ?? 0));
  const grad = ctx.arena.tensorWithData('grad', filled(c.B * c.C));
  const predictions = ctx.arena.tensorWithData('predictions', filled(batchStart + c.B));
  const dispatch =
    mode === 'train'
      ? await lossBatch(ctx, c.loss, { ...io, grad, status }, { B: c.B, C: c.C })
      : await lossBatch(ctx, c.loss, { ...io, predictions }, { B: c.B, C: c.C, mode: 'eval' });
  await runDispatches(device, [dispatch]);
  const recordBytes = await readBuffer(device, io.records, record * LOSS_RECORD_BYTES, LOSS_RECORD_BYTES);
  const result = {
    lossSum: new Float32Array(recordBytes)[0],
    correct: new Uint32Array(recordBytes)[1],
    otherRecords: Array.from(await readUint32(device, io.records)).filter((_, i) => i >> 1 !== record),
    status: (await readUint32(device, status))[0],
    grad: await readFloat32(device, grad),
    predictions: await readUint32(device, predictions),
  };
  ctx.arena.destroy();
  return result;
}

const CASES: Case[] = [
  { loss: 'ce', B: 37, C: 10, rows: 37, scale: 4 },
  { loss: 'ce', B: 37, C: 33, rows: 20, scale: 4 },
  { loss: 'ce', B: 128, C: 10, rows: 128, scale: 8 },
  { loss: 'ce', B: 300, C: 7, rows: 299, scale: 2, quantum: 0.5 },
  { loss: 'ce', B: 37, C: 10, rows: 33, scale: 80 },
  { loss: 'ce', B: 64, C: 1000, rows: 61, scale: 80 },
  { loss: 'ce', B: 4096, C: 1000, rows: 4000, scale: 10 },
  { loss: 'mse', B: 37, C: 10, rows: 37, scale: 1 },
  { loss: 'mse', B: 37, C: 33, rows: 20, scale: 2 },
  { loss: 'mse', B: 128, C: 10, rows: 128, scale: 1 },
  { loss: 'mse', B: 300, C: 7, rows: 299, scale: 2, quantum: 0.5 },
  { loss: 'mse', B: 4096, C: 1000, rows: 4000, scale: 1 },
];

const describeCase = (c: Case) =>
  `${c.loss}, B=${c.B}, C=${c.C}, rows=${c.rows}, logits ±${c.scale}${c.quantum ? ` in steps of ${c.quantum} (ties)` : ''}`;

describe('loss batch (training)', () => {
  for (const c of CASES) {
    it(describeCase(c), async () => {
      const logits = logitsFor(c);
      const labels = randomLabels(c.B, c.C, `labels ${c.B}x${c.C}`);
      const gpu = await runLoss(c, logits, labels, 'train');
      const ref = lossFor(c.loss, logits, labels, c.B, c.C, c.rows);
      compareArrays('lossSum', [gpu.lossSum], [ref.lossSum], LOSS_SUM);
      expect(gpu.correct, 'correct').toBe(ref.correct);
      compareArrays('grad', gpu.grad, ref.grad, gradTolerance(c.rows), [c.B, c.C]);
      expect(gpu.status, 'status').toBe(0);
      expect(new Set(gpu.otherRecords), 'records of other steps').toEqual(new Set([FILL]));
    });
  }
});

describe('loss batch (evaluation)', () => {
  for (const c of CASES.filter((c) => c.B <= 300)) {
    it(describeCase(c), async () => {
      const logits = logitsFor(c);
      const labels = randomLabels(c.B, c.C, `labels ${c.B}x${c.C}`);
      const batchStart = 5;
      const gpu = await runLoss(c, logits, labels, 'eval', { batchStart });
      const ref = lossFor(c.loss, logits, labels, c.B, c.C, c.rows);
      compareArrays('lossSum', [gpu.lossSum], [ref.lossSum], LOSS_SUM);
      expect(gpu.correct, 'correct').toBe(ref.correct);
      // Predictions land at batch_start + r for the valid rows; nothing else is written.
      expect(Array.from(gpu.predictions.subarray(batchStart, batchStart + c.rows))).toEqual(Array.from(ref.predictions));
      expect(new Set([...gpu.predictions.subarray(0, batchStart), ...gpu.predictions.subarray(batchStart + c.rows)])).toEqual(new Set([FILL]));
    });
  }
});

describe('non-finite losses', () => {
  const c: Case = { loss: 'ce', B: 37, C: 10, rows: 30, scale: 4 };
  const labels = randomLabels(c.B, c.C, 'labels nonfinite');

  for (const [what, value] of [['NaN', NaN], ['+Inf', Infinity]] as const) {
    it(`${what} in a valid row sets status to t`, async () => {
      const logits = logitsFor(c);
      logits[12 * c.C + 3] = value;
      const gpu = await runLoss(c, logits, labels, 'train', { t: 41 });
      expect(gpu.status).toBe(41);
      expect(Number.isFinite(gpu.lossSum)).toBe(false);
    });
  }

  it('overflowing squared error sets status to t', async () => {
    const m: Case = { ...c, loss: 'mse' };
    const outputs = logitsFor(m);
    outputs[5] = 3e38; // finite, but its square is not
    const gpu = await runLoss(m, outputs, labels, 'train', { t: 9 });
    expect(gpu.status).toBe(9);
  });

  it('keeps the first step that failed', async () => {
    const logits = logitsFor(c);
    logits[0] = NaN;
    const gpu = await runLoss(c, logits, labels, 'train', { t: 41, status: 17 });
    expect(gpu.status).toBe(17);
  });

  it('ignores non-finite values in padding rows', async () => {
    const logits = logitsFor(c);
    logits[(c.rows + 1) * c.C] = NaN;
    const gpu = await runLoss(c, logits, labels, 'train', { t: 41 });
    expect(gpu.status).toBe(0);
    compareArrays('lossSum', [gpu.lossSum], [lossFor(c.loss, logits, labels, c.B, c.C, c.rows).lossSum], LOSS_SUM);
  });

  it('reports a non-finite evaluation loss in its record', async () => {
    const logits = logitsFor(c);
    logits[0] = NaN;
    const gpu = await runLoss(c, logits, labels, 'eval', { t: 41 });
    expect(Number.isNaN(gpu.lossSum)).toBe(true);
  });
});

// The output layer inside the training loss's dispatch (denseLoss). Its two halves are compared
// each with its own tolerance: the logits it writes for the valid rows against the reference dense
// layer (float64), and the loss, correct count and gradient against the reference loss of those
// very logits, as the loss kernel alone is.
describe('loss batch with the output layer in front (training)', () => {
  const DENSE_CASES = [
    { loss: 'ce', B: 37, IN: 36, C: 10, rows: 30 },
    { loss: 'ce', B: 128, IN: 128, C: 10, rows: 128 },
    { loss: 'ce', B: 37, IN: 100, C: 33, rows: 37 },
    { loss: 'mse', B: 37, IN: 4, C: 3, rows: 20 },
    { loss: 'mse', B: 128, IN: 128, C: 10, rows: 111 },
  ] as const;

  for (const c of DENSE_CASES) {
    it(`${c.loss}, B=${c.B}, ${c.IN}->${c.C}, rows=${c.rows}`, async () => {
      const ctx = await testKernelContext();
      const { device, arena } = ctx;
      const x = randomArray(c.B * c.IN, `dense x ${c.B}x${c.IN}`, -1, 1);
      const w = randomArray(c.C * c.IN, `dense w ${c.C}x${c.IN}`, -0.5, 0.5);
      const b = randomArray(c.C, `dense b ${c.C}`, -0.5, 0.5);
      const labels = randomLabels(c.B, c.C, `dense labels ${c.B}x${c.C}`);
      const ring = new StepParamsRing(device, 1);
      arena.adopt(ring.buffer);
      ring.set(0, { t: 3, batchStart: 0, rows: c.rows, record: 1, lr: 0 });
      ring.flush();
      const io = {
        logits: arena.tensorWithData('logits', filled(c.B * c.C)),
        labels: arena.tensorWithData('labels', labels),
        records: arena.tensorWithData('records', filled(RECORDS * 2)),
        status: arena.tensorWithData('status', Uint32Array.of(0)),
        grad: arena.tensorWithData('grad', filled(c.B * c.C)),
        step: ring.buffer,
        x: arena.tensorWithData('x', x),
        w: arena.tensorWithData('w', w),
        b: arena.tensorWithData('b', b),
      };
      await runDispatches(device, [await denseLoss(ctx, c.loss, io, { B: c.B, C: c.C, IN: c.IN })]);
      const logits = await readFloat32(device, io.logits);
      const record = new Uint32Array(await readBuffer(device, io.records, LOSS_RECORD_BYTES, LOSS_RECORD_BYTES));
      const grad = await readFloat32(device, io.grad);
      const status = (await readUint32(device, io.status))[0];
      arena.destroy();

      const valid = c.rows * c.C;
      const expectedLogits = matmulForward(x, w, b, c.B, c.IN, c.C, 'identity');
      compareArrays('logits', logits.subarray(0, valid), expectedLogits.subarray(0, valid), matmulTolerance(c.IN), [c.rows, c.C]);
      // Padding rows' logits are never computed (nothing reads them).
      expect(new Set(new Uint32Array(logits.buffer).subarray(valid)), 'padding logits').toEqual(c.rows < c.B ? new Set([FILL]) : new Set());
      const ref = lossFor(c.loss, logits, labels, c.B, c.C, c.rows);
      compareArrays('lossSum', [new Float32Array(record.buffer)[0]], [ref.lossSum], LOSS_SUM);
      expect(record[1], 'correct').toBe(ref.correct);
      compareArrays('grad', grad, ref.grad, gradTolerance(c.rows), [c.B, c.C]);
      expect(status, 'status').toBe(0);
    });
  }

  it(`takes output layers of up to ${DENSE_LOSS_MAX_MACS_PER_ROW} multiply-adds per row with IN a multiple of 4, and refuses others`, async () => {
    expect(denseLossFits(128, 10)).toBe(true);
    expect(denseLossFits(DENSE_LOSS_MAX_MACS_PER_ROW / 4, 4)).toBe(true);
    expect(denseLossFits(1024, 10)).toBe(false);
    expect(denseLossFits(33, 10)).toBe(false);
    const ctx = await testKernelContext();
    const t = (bytes: number) => ctx.arena.tensor('t', bytes);
    const io = { logits: t(4), labels: t(4), records: t(8), status: t(4), grad: t(4), step: t(256), x: t(64), w: t(64), b: t(4) };
    await expect(denseLoss(ctx, 'ce', io, { B: 1, C: 10, IN: 1024 })).rejects.toThrow(/1024x10 needs IN a multiple of 4 and at most 4096 multiply-adds per row/);
    await expect(denseLoss(ctx, 'ce', io, { B: 1, C: 2, IN: 33 })).rejects.toThrow(/33x2 needs IN a multiple of 4/);
    const shifted = { ...io, w: { buffer: ctx.arena.tensor('w', 256), offset: 4 } };
    await expect(denseLoss(ctx, 'ce', shifted, { B: 1, C: 2, IN: 4 })).rejects.toThrow(/w must start at a multiple of 16 bytes/);
    ctx.arena.destroy();
  });
});
