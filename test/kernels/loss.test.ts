import { describe, expect, it } from 'vitest';
import { readBuffer, readFloat32, readUint32 } from '../../src/gpu/buffers.ts';
import { StepParamsRing } from '../../src/kernels/step-params.ts';
import { LOSS_RECORD_BYTES, lossBatch } from '../../src/kernels/loss.ts';
import type { Loss } from '../../src/model/spec.ts';
import { lossFor } from '../../src/reference/loss.ts';
import { LOSS_SUM, lossGradTolerance } from '../../src/check/tolerances.ts';
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
