import { describe, it } from 'vitest';
import { readFloat32 } from '../../src/gpu/buffers.ts';
import { activationBackward, activationForward } from '../../src/kernels/activation.ts';
import type { ActivationKind } from '../../src/model/spec.ts';
import * as reference from '../../src/reference/activation.ts';
import { ACTIVATION_BACKWARD, EXACT, TRANSCENDENTAL } from '../../src/check/tolerances.ts';
import { compareArrays } from '../helpers/compare.ts';
import { runDispatches, testKernelContext } from '../helpers/gpu.ts';
import { randomArray } from '../helpers/random.ts';

const KINDS: ActivationKind[] = ['identity', 'relu', 'sigmoid', 'tanh'];

// Tolerances: src/check/tolerances.ts (shared with `webgpu-mlp check`).
const BACKWARD = ACTIVATION_BACKWARD;

const forwardTolerance = (kind: ActivationKind) => (kind === 'sigmoid' || kind === 'tanh' ? TRANSCENDENTAL : EXACT);

/**
 * Counts: one element, less than a workgroup, awkward, and (for one kind: the loop does not depend
 * on it) more than both variants' invocations (8 × 256 for the 'cpu' variant, 4096 × 256 for
 * 'gpu'), so their grid-stride loops go round.
 */
const LARGE = 1_100_003;
const countsFor = (kind: ActivationKind) => (kind === 'sigmoid' ? [1, 63, 37 * 33, LARGE] : [1, 63, 37 * 33]);
type Variant = 'cpu' | 'gpu';
const variantsFor = (count: number): Variant[] => (count === LARGE ? ['cpu', 'gpu'] : ['cpu']);

async function forwardOnGpu(kind: ActivationKind, z: Float32Array, inPlace: boolean, variant: Variant): Promise<Float32Array> {
  const ctx = await testKernelContext(variant);
  const zBuffer = ctx.arena.tensorWithData('z', z);
  const aBuffer = inPlace ? zBuffer : ctx.arena.tensor('a', z.byteLength);
  const dispatch = await activationForward(ctx, { z: zBuffer, a: aBuffer }, { count: z.length, activation: kind });
  await runDispatches(ctx.device, [dispatch]);
  const out = await readFloat32(ctx.device, aBuffer);
  ctx.arena.destroy();
  return out;
}

async function backwardOnGpu(kind: ActivationKind, a: Float32Array, da: Float32Array, inPlace: boolean, variant: Variant): Promise<Float32Array> {
  const ctx = await testKernelContext(variant);
  const aBuffer = ctx.arena.tensorWithData('a', a);
  const daBuffer = ctx.arena.tensorWithData('da', da);
  const dzBuffer = inPlace ? daBuffer : ctx.arena.tensor('dz', da.byteLength);
  const dispatch = await activationBackward(ctx, { a: aBuffer, da: daBuffer, dz: dzBuffer }, { count: a.length, activation: kind });
  await runDispatches(ctx.device, [dispatch]);
  const out = await readFloat32(ctx.device, dzBuffer);
  ctx.arena.destroy();
  return out;
}

describe('activationForward', () => {
  for (const kind of KINDS) {
    for (const count of countsFor(kind)) {
      for (const variant of variantsFor(count)) {
        for (const inPlace of [false, true]) {
          it(`${kind}, ${count} elements, ${variant} variant${inPlace ? ', in place' : ''}`, async () => {
            const z = randomArray(count, `z ${kind} ${count}`, -6, 6);
            const gpu = await forwardOnGpu(kind, z, inPlace, variant);
            compareArrays(`${kind} forward`, gpu, reference.activationForward(kind, z), forwardTolerance(kind));
          });
        }
      }
    }
  }
});

describe('activationBackward', () => {
  for (const kind of KINDS) {
    for (const count of countsFor(kind)) {
      for (const variant of variantsFor(count)) {
        for (const inPlace of [false, true]) {
          it(`${kind}, ${count} elements, ${variant} variant${inPlace ? ', in place' : ''}`, async () => {
            // A as the forward pass makes it (ReLU outputs exact zeros, sigmoid stays in (0, 1)).
            const a = Float32Array.from(reference.activationForward(kind, randomArray(count, `z ${kind} ${count}`, -3, 3)));
            const da = randomArray(count, `da ${kind} ${count}`);
            const gpu = await backwardOnGpu(kind, a, da, inPlace, variant);
            compareArrays(`${kind} backward`, gpu, reference.activationBackward(kind, a, da), BACKWARD);
          });
        }
      }
    }
  }
});
