import { describe, expect, it } from 'vitest';
import { readFloat32 } from '../../src/gpu/buffers.ts';
import { StepParamsRing } from '../../src/kernels/step-params.ts';
import { dropoutBackward, dropoutForward, type DropoutDims } from '../../src/kernels/dropout.ts';
import * as reference from '../../src/reference/dropout.ts';
import { DROPOUT_SCALED } from '../../src/check/tolerances.ts';
import { compareArrays } from '../helpers/compare.ts';
import { runDispatches, testKernelContext } from '../helpers/gpu.ts';
import { randomArray } from '../helpers/random.ts';

// Kept values' tolerance: src/check/tolerances.ts (shared with `webgpu-mlp check`).
const SCALED = DROPOUT_SCALED;

// (seed, t, layer): small and extreme values of each, so every input of the hash matters.
const DRAWS: Array<[number, number, number]> = [
  [1, 1, 0],
  [1, 2, 0],
  [1, 1, 1],
  [2, 1, 0],
  [0xffffffff, 123456, 3],
  [20240607, 0xfffffffe, 7],
];

async function runDropout(
  direction: 'forward' | 'backward',
  input: Float32Array,
  dims: DropoutDims,
  t: number,
  inPlace: boolean,
  variant: 'cpu' | 'gpu' = 'cpu',
): Promise<Float32Array> {
  const ctx = await testKernelContext(variant);
  const ring = new StepParamsRing(ctx.device, 1);
  ctx.arena.adopt(ring.buffer);
  ring.set(0, { t, batchStart: 0, rows: 1, record: 0, lr: 0 });
  ring.flush();
  const inBuffer = ctx.arena.tensorWithData('in', input);
  const outBuffer = inPlace ? inBuffer : ctx.arena.tensor('out', input.byteLength);
  const io = { input: inBuffer, output: outBuffer, step: ring.buffer };
  const dispatch = direction === 'forward' ? await dropoutForward(ctx, io, dims) : await dropoutBackward(ctx, io, dims);
  await runDispatches(ctx.device, [dispatch]);
  const out = await readFloat32(ctx.device, outBuffer);
  ctx.arena.destroy();
  return out;
}

/** Values away from zero (either sign), so a zero output means exactly "dropped". */
function nonZeroInput(count: number, label: string): Float32Array {
  const x = randomArray(count, label, 0.5, 1.5);
  for (let i = 0; i < count; i += 2) x[i] = -x[i];
  return x;
}

function expectSameMask(gpu: Float32Array, seed: number, t: number, layer: number, rate: number): void {
  const mask = reference.dropoutKeepMask(seed, t, layer, gpu.length, rate);
  let differing = 0;
  let first = -1;
  for (let i = 0; i < gpu.length; i++) {
    if ((gpu[i] !== 0 ? 1 : 0) !== mask[i]) {
      differing++;
      if (first < 0) first = i;
    }
  }
  expect(differing, `mask elements that differ (first at ${first})`).toBe(0);
}

describe('dropout masks and values', () => {
  for (const [seed, t, layer] of DRAWS) {
    for (const rate of [0.5, 0.1, 0.9]) {
      it(`seed ${seed}, t ${t}, layer ${layer}, rate ${rate}`, async () => {
        const count = 37 * 33;
        const a = nonZeroInput(count, `a ${seed} ${t} ${layer}`);
        const dims = { count, seed, layer, rate };
        const h = await runDropout('forward', a, dims, t, false);
        expectSameMask(h, seed, t, layer, rate);
        compareArrays('h', h, reference.dropoutForward(a, seed, t, layer, rate), SCALED, [37, 33]);

        const dh = nonZeroInput(count, `dh ${seed} ${t} ${layer}`);
        const da = await runDropout('backward', dh, dims, t, true);
        expectSameMask(da, seed, t, layer, rate);
        compareArrays('da', da, reference.dropoutBackward(dh, seed, t, layer, rate), SCALED, [37, 33]);
      });
    }
  }

  // One element, less than a workgroup, and more than both variants' invocations (8 × 256 for the
  // 'cpu' variant, 4096 × 256 for 'gpu'), so their grid-stride loops go round.
  for (const [count, variant] of [[1, 'cpu'], [63, 'cpu'], [1_100_003, 'cpu'], [1_100_003, 'gpu']] as const) {
    for (const inPlace of [false, true]) {
      it(`${count} elements, ${variant} variant${inPlace ? ', in place' : ''}`, async () => {
        const a = nonZeroInput(count, `a ${count}`);
        const h = await runDropout('forward', a, { count, seed: 99, layer: 2, rate: 0.3 }, 5, inPlace, variant);
        expectSameMask(h, 99, 5, 2, 0.3);
        compareArrays('h', h, reference.dropoutForward(a, 99, 5, 2, 0.3), SCALED);
      });
    }
  }

  it('keeps everything at rate 0 (up to the 2^-32 chance per element)', async () => {
    const a = nonZeroInput(4096, 'a rate 0');
    const h = await runDropout('forward', a, { count: 4096, seed: 5, layer: 0, rate: 0 }, 1, false);
    expectSameMask(h, 5, 1, 0, 0);
    compareArrays('h', h, a, { atol: 0, rtol: 0 });
  });
});
