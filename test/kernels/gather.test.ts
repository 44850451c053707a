import { describe, expect, it } from 'vitest';
import { readFloat32, readUint32 } from '../../src/gpu/buffers.ts';
import { StepParamsRing } from '../../src/kernels/step-params.ts';
import { gatherBatch, type FeatureChunk } from '../../src/kernels/gather.ts';
import type { InputAffine } from '../../src/data/standardize.ts';
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

/** A seeded per-feature affine: means of many magnitudes, scales that are not powers of two. */
function randomAffine(IN: number): InputAffine {
  const rng = new Random(11, 'affine', IN);
  return {
    mean: Float32Array.from({ length: IN }, () => rng.uniform(-3, 3) * 10 ** Math.floor(rng.uniform(-3, 3))),
    scale: Float32Array.from({ length: IN }, () => Math.fround(1 / (rng.uniform(0.01, 20) * 1.37))),
  };
}

interface GatherOptions {
  /** f32: the input affine (default: the identity). */
  affine?: InputAffine;
  /** Store the features as chunks of this many samples (a multiple of 4), as large datasets are. */
  chunkRows?: number;
}

async function runGather(c: Case, features: Uint8Array | Float32Array, labels: Uint32Array, indices: Uint32Array, options: GatherOptions = {}) {
  const ctx = await testKernelContext(c.variant ?? 'cpu');
  const { device } = ctx;
  const ring = new StepParamsRing(device, 1);
  ctx.arena.adopt(ring.buffer);
  ring.set(0, { t: 1, batchStart: c.batchStart, rows: c.rows, record: 0, lr: 0 });
  ring.flush();
  // Start x and y full of garbage, so padding rows must really be written.
  const x = ctx.arena.tensorWithData('x', new Float32Array(c.B * c.IN).fill(-1));
  const y = ctx.arena.tensorWithData('y', new Uint32Array(c.B).fill(0xdeadbeef));
  const f32 = features instanceof Float32Array;
  const affine = options.affine ?? { mean: new Float32Array(c.IN), scale: new Float32Array(c.IN).fill(1) };
  const affineValues = new Float32Array(2 * c.IN);
  affineValues.set(affine.mean);
  affineValues.set(affine.scale, c.IN);
  // u8: padded to 4 bytes by the buffer helper.
  const chunks: FeatureChunk[] = [];
  const rows = options.chunkRows ?? c.N;
  for (let start = 0; start < c.N; start += rows) {
    const count = Math.min(rows, c.N - start);
    chunks.push({ buffer: ctx.arena.tensorWithData(`features ${start}`, features.subarray(start * c.IN, (start + count) * c.IN)), start, count });
  }
  const dispatches = await gatherBatch(
    ctx,
    {
      features: chunks,
      labels: ctx.arena.tensorWithData('labels', labels),
      indices: ctx.arena.tensorWithData('indices', indices),
      x,
      y,
      step: ring.buffer,
      ...(f32 ? { affine: ctx.arena.tensorWithData('affine', affineValues) } : {}),
    },
    { B: c.B, IN: c.IN, features: f32 ? 'f32' : 'u8' },
  );
  expect(dispatches.length).toBe(chunks.length);
  await runDispatches(device, dispatches);
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
      // Exact: a copy (the identity affine: x − 0 and x · 1 are exact).
      expect(firstMismatch(gpu.x, Float32Array.from(ref.x)), 'x').toBe('none');
      expect(firstMismatch(gpu.y, ref.y), 'y').toBe('none');
    });
  }

  for (const c of CASES) {
    it(`standardized: N=${c.N}, IN=${c.IN}, B=${c.B}, rows ${c.batchStart}..${c.batchStart + c.rows}`, async () => {
      const values = datasetValues(c.N, c.IN);
      const labels = randomLabels(c.N, 50, `labels ${c.N}`);
      const indices = new Random(7, 'permutation', c.N).permutation(c.N);
      const affine = randomAffine(c.IN);
      const gpu = await runGather(c, values, labels, indices, { affine });
      const ref = reference.gatherBatch(values, labels, indices, c.batchStart, c.rows, c.B, c.IN, affine);
      // Exact: (x − mean) · scale is two correctly rounded f32 operations, which the reference rounds alike.
      expect(firstMismatch(gpu.x, Float32Array.from(ref.x)), 'x').toBe('none');
      expect(firstMismatch(gpu.y, ref.y), 'y').toBe('none');
    });
  }
});

// A dataset beyond one storage binding is stored as chunks of whole samples, one dispatch each
// (train/gpu-data.ts); small chunks here exercise the same path on small data.
describe('gatherBatch over feature chunks', () => {
  const chunked: (Case & { chunkRows: number })[] = [
    { N: 61, IN: 37, B: 32, batchStart: 40, rows: 21, chunkRows: 16 }, // 4 chunks, the last short; padding rows
    { N: 61, IN: 28, B: 32, batchStart: 8, rows: 32, chunkRows: 20 }, // vec4 entry points
    { N: 9, IN: 1, B: 9, batchStart: 0, rows: 9, chunkRows: 4 }, // one feature: u8 chunks of 4 bytes
  ];
  for (const c of chunked) {
    it(`u8 and f32 (standardized): N=${c.N}, IN=${c.IN}, chunks of ${c.chunkRows}`, async () => {
      const labels = randomLabels(c.N, 10, `labels ${c.N}`);
      const indices = new Random(7, 'permutation', c.N).permutation(c.N);
      const images = datasetImages(c.N, c.IN);
      const u8 = await runGather(c, images, labels, indices, { chunkRows: c.chunkRows });
      const u8Ref = reference.gatherBatch(images, labels, indices, c.batchStart, c.rows, c.B, c.IN);
      expect(firstMismatch(u8.x, Float32Array.from(u8Ref.x)), 'u8 x').toBe('none');
      expect(firstMismatch(u8.y, u8Ref.y), 'u8 y').toBe('none');
      const values = datasetValues(c.N, c.IN);
      const affine = randomAffine(c.IN);
      const f32 = await runGather(c, values, labels, indices, { chunkRows: c.chunkRows, affine });
      const f32Ref = reference.gatherBatch(values, labels, indices, c.batchStart, c.rows, c.B, c.IN, affine);
      expect(firstMismatch(f32.x, Float32Array.from(f32Ref.x)), 'f32 x').toBe('none');
      expect(firstMismatch(f32.y, f32Ref.y), 'f32 y').toBe('none');
    });
  }
});
