import { describe, expect, it } from 'vitest';
import { readFloat32, readUint32 } from '../../src/gpu/buffers.ts';
import { StepParamsRing } from '../../src/kernels/step-params.ts';
import { gatherBatch } from '../../src/kernels/gather.ts';
import * as reference from '../../src/reference/gather.ts';
import { Random } from '../../src/util/random.ts';
import { runDispatches, testKernelContext } from '../helpers/gpu.ts';
import { randomLabels } from '../helpers/random.ts';

interface Case {
  N: number;
  IN: number;
  B: number;
  batchStart: number;
  rows: number;
  /** Kernel variant (workgroup cap); 'cpu' unless given. */
  variant?: 'cpu' | 'gpu';
}

/** f32 features (a table): seeded values of either sign and many magnitudes, NaN-free. */
function datasetValues(N: number, IN: number): Float32Array {
  const rng = new Random(7, 'values');
  return Float32Array.from({ length: N * IN }, () => rng.uniform(-5, 5) * 10 ** Math.floor(rng.uniform(-4, 4)));
}

/** Dataset bytes: every value 0..255 appears (the first 256 bytes), the rest seeded. */
function datasetImages(N: number, IN: number): Uint8Array {
  const rng = new Random(7, 'images');
  const images = new Uint8Array(N * IN);
  for (let i = 0; i < images.length; i++) images[i] = i < 256 ? i : rng.below(256);
  return images;
}

async function runGather(c: Case, features: Uint8Array | Float32Array, labels: Uint32Array, indices: Uint32Array) {
  const ctx = await testKernelContext(c.variant ?? 'cpu');
  const { device } = ctx;
  const ring = new StepParamsRing(device, 1);
  ctx.arena.adopt(ring.buffer);
  ring.set(0, { t: 1, batchStart: c.batchStart, rows: c.rows, record: 0, lr: 0 });
  ring.flush();
  // Start x and y full of garbage, so padding rows must really be written.
  const x = ctx.arena.tensorWithData('x', new Float32Array(c.B * c.IN).fill(-1));
  const y = ctx.arena.tensorWithData('y', new Uint32Array(c.B).fill(0xdeadbeef));
  const dispatch = await gatherBatch(
    ctx,
    {
      features: ctx.arena.tensorWithData('features', features), // u8: padded to 4 bytes by the buffer helper
      labels: ctx.arena.tensorWithData('labels', labels),
      indices: ctx.arena.tensorWithData('indices', indices),
      x,
      y,
      step: ring.buffer,
    },
    { B: c.B, IN: c.IN, features: features instanceof Uint8Array ? 'u8' : 'f32' },
  );
  await runDispatches(device, [dispatch]);
  const result = { x: await readFloat32(device, x), y: await readUint32(device, y) };
  ctx.arena.destroy();
  return result;
}

function firstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>): string {
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) return `element ${i}: got ${actual[i]}, expected ${expected[i]}`;
  }
  return 'none';
}

const CASES: Case[] = [
  { N: 50, IN: 100, B: 37, batchStart: 0, rows: 37 },
  { N: 50, IN: 37, B: 37, batchStart: 13, rows: 37 }, // IN not a multiple of 4: images straddle words
  { N: 61, IN: 785, B: 32, batchStart: 40, rows: 21 }, // a short last batch: 11 padding rows
  { N: 61, IN: 28, B: 32, batchStart: 40, rows: 21 }, // the same with the vec4 entry point (IN % 4 = 0)
  { N: 3, IN: 1, B: 5, batchStart: 1, rows: 2 },
  { N: 300, IN: 784, B: 128, batchStart: 128, rows: 128 },
  // More elements than the 'gpu' variant's 4096 × 256 invocations: its grid-stride loop goes round.
  { N: 1500, IN: 784, B: 1400, batchStart: 50, rows: 1400, variant: 'gpu' },
];

describe('gatherBatch, u8 features', () => {
  for (const c of CASES) {
    it(`N=${c.N}, IN=${c.IN}, B=${c.B}, rows ${c.batchStart}..${c.batchStart + c.rows}, ${c.variant ?? 'cpu'} variant`, async () => {
      const images = datasetImages(c.N, c.IN);
      const labels = randomLabels(c.N, 10, `labels ${c.N}`);
      const indices = new Random(7, 'permutation', c.N).permutation(c.N);
      const gpu = await runGather(c, images, labels, indices);
      const ref = reference.gatherBatch(images, labels, indices, c.batchStart, c.rows, c.B, c.IN);
      // Exact: byte / 255 correctly rounded to f32, on every adapter.
      const expectedX = Float32Array.from(ref.x);
      expect(firstMismatch(gpu.x, expectedX), 'x').toBe('none');
      expect(firstMismatch(gpu.y, ref.y), 'y').toBe('none');
    });
  }

  it('converts every byte value exactly', async () => {
    // One image holding bytes 0..255: x must equal Math.fround(b / 255) for each.
    const IN = 256;
    const images = Uint8Array.from({ length: IN }, (_, b) => b);
    const gpu = await runGather({ N: 1, IN, B: 1, batchStart: 0, rows: 1 }, images, Uint32Array.of(4), Uint32Array.of(0));
    const expected = Float32Array.from({ length: IN }, (_, b) => Math.fround(b / 255));
    expect(firstMismatch(gpu.x, expected)).toBe('none');
    expect(gpu.y[0]).toBe(4);
  });
});

describe('gatherBatch, f32 features', () => {
  for (const c of CASES) {
    it(`N=${c.N}, IN=${c.IN}, B=${c.B}, rows ${c.batchStart}..${c.batchStart + c.rows}, ${c.variant ?? 'cpu'} variant`, async () => {
      const values = datasetValues(c.N, c.IN);
      const labels = randomLabels(c.N, 50, `labels ${c.N}`);
      const indices = new Random(7, 'permutation', c.N).permutation(c.N);
      const gpu = await runGather(c, values, labels, indices);
      const ref = reference.gatherBatch(values, labels, indices, c.batchStart, c.rows, c.B, c.IN);
      // Exact: a copy.
      expect(firstMismatch(gpu.x, Float32Array.from(ref.x)), 'x').toBe('none');
      expect(firstMismatch(gpu.y, ref.y), 'y').toBe('none');
    });
  }
});
