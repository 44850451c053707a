import { describe, it } from 'vitest';
import { readFloat32 } from '../../src/gpu/buffers.ts';
import { biasGrad } from '../../src/kernels/bias-grad.ts';
import * as reference from '../../src/reference/matmul.ts';
import { compareArrays } from '../helpers/compare.ts';
import { runDispatches, testKernelContext } from '../helpers/gpu.ts';
import { randomArray } from '../helpers/random.ts';

/**
 * The GPU adds a column's B values (uniform in [-1, 1]) in f32: the running sum is ~√B in magnitude,
 * each addition rounds by up to half an ulp of it (2^-24·√B), and B such errors random-walk to
 * ~B·2^-24 (measured: 1.7e-4 at B = 4096 with one invocation per column). 8× that for the tails; a
 * missing or doubled row (|dy| ~ 0.5) stays far outside it (the bound is 2e-3 at B = 4096).
 */
const columnSum = (B: number) => ({ atol: 8 * B * 2 ** -24, rtol: 0 });

// [B, OUT]: awkward sizes, several workgroups of 64 columns, one row, one column, a tall batch.
const SHAPES: Array<[number, number]> = [[37, 33], [130, 200], [1, 1], [1, 65], [4096, 10], [128, 256]];

describe('biasGrad', () => {
  for (const kind of ['cpu', 'gpu'] as const) {
    for (const [B, OUT] of SHAPES) {
      it(`${kind} variant, B=${B}, OUT=${OUT}`, async () => {
        const ctx = await testKernelContext(kind);
        const dy = randomArray(B * OUT, `dy ${B}x${OUT}`);
        const db = ctx.arena.tensor('db', OUT * 4);
        const dispatch = await biasGrad(ctx, { dy: ctx.arena.tensorWithData('dy', dy), db }, { B, OUT });
        await runDispatches(ctx.device, [dispatch]);
        compareArrays(`biasGrad ${B}x${OUT}`, await readFloat32(ctx.device, db), reference.biasGrad(dy, B, OUT), columnSum(B));
        ctx.arena.destroy();
      });
    }
  }
});
