import { describe, it } from 'vitest';
import { readFloat32 } from '../../src/gpu/buffers.ts';
import { biasGrad } from '../../src/kernels/bias-grad.ts';
import * as reference from '../../src/reference/matmul.ts';
import { columnSumTolerance } from '../../src/check/tolerances.ts';
import { compareArrays } from '../helpers/compare.ts';
import { runDispatches, testKernelContext } from '../helpers/gpu.ts';
import { randomArray } from '../helpers/random.ts';

// The column-sum tolerance: src/check/tolerances.ts (shared with `webgpu-mlp check`).
const columnSum = columnSumTolerance;

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
