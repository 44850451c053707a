// Proves that StepParamsRing (host) writes the byte layout shaders/step_params.wgsl declares, and
// that a dispatch reads the slot its dynamic offset selects: a probe kernel copies every field of
// the bound slot, bit for bit, into a storage buffer, once per slot of a multi-slot ring.
import { describe, expect, it } from 'vitest';
import { elementView } from '../../src/gpu/arena.ts';
import { readUint32 } from '../../src/gpu/buffers.ts';
import { bindKernel, encodeDispatches, type KernelDef } from '../../src/gpu/program.ts';
import { StepParamsRing, stepParamsWgsl, type StepParams } from '../../src/kernels/step-params.ts';
import { expectNoGpuErrors, testKernelContext } from '../helpers/gpu.ts';

const FIELDS = 8;
/** Output elements per slot: views into a storage buffer must start at 256-byte multiples. */
const OUT_STRIDE = 64;

const probe: KernelDef = {
  name: 'step_params_probe',
  includes: [stepParamsWgsl],
  bindings: [
    { name: 'out', kind: 'write' },
    { name: 'step', kind: 'slot' },
  ],
  source: /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> out: array<u32>;   // [8] the slot's fields, as bits
// step: step_params.wgsl's @group(1) @binding(0), one slot of the ring

@compute @workgroup_size(1)
fn main() {
  out[0] = step.t;
  out[1] = step.batch_start;
  out[2] = step.rows;
  out[3] = step.record;
  out[4] = bitcast<u32>(step.lr);
  out[5] = bitcast<u32>(step.inv_rows);
  out[6] = bitcast<u32>(step.bias_correction1);
  out[7] = bitcast<u32>(step.bias_correction2);
}
`,
};

/** The bits the host should have written for `p`, computed here independently of the ring. */
function expectedBits(p: StepParams): number[] {
  const f32 = new Float32Array([p.lr, 1 / p.rows, 1 - (p.beta1 ?? 0) ** p.t, 1 - (p.beta2 ?? 0) ** p.t]);
  return [p.t, p.batchStart, p.rows, p.record, ...new Uint32Array(f32.buffer)];
}

describe('StepParamsRing', () => {
  it('matches step_params.wgsl field by field in every slot', async () => {
    const ctx = await testKernelContext();
    const { device } = ctx;
    const slots = 5;
    const ring = new StepParamsRing(device, slots, 'step params (test)');
    ctx.arena.adopt(ring.buffer);
    // Distinct values in every field of every slot, so a shifted field or slot cannot pass.
    const params: StepParams[] = Array.from({ length: slots }, (_, k) => ({
      t: 1000 + k,
      batchStart: 128 * (k + 3),
      rows: 37 + k,
      record: 7 * k + 2,
      lr: 0.001 * (k + 1),
      beta1: 0.9 - 0.01 * k,
      beta2: 0.999 - 0.0001 * k,
    }));
    params.forEach((p, k) => ring.set(k, p));
    ring.flush();

    const out = ctx.arena.tensor('step params probe out', slots * OUT_STRIDE * 4);
    const kernel = await ctx.cache.compile(probe);
    const dispatches = params.map((_, k) =>
      bindKernel(device, kernel, { out: elementView(out, k * OUT_STRIDE, FIELDS), step: ring.buffer }, [1, 1, 1]),
    );
    await expectNoGpuErrors(device, async () => {
      const encoder = device.createCommandEncoder({ label: 'step params probe' });
      const pass = encoder.beginComputePass();
      dispatches.forEach((d, k) => encodeDispatches(pass, [d], k));
      pass.end();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
    });

    const bits = await readUint32(device, out);
    params.forEach((p, k) => {
      expect(Array.from(bits.subarray(k * OUT_STRIDE, k * OUT_STRIDE + FIELDS)), `slot ${k}`).toEqual(expectedBits(p));
    });
    ctx.arena.destroy();
  });
});
