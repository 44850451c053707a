// The kernel cache is keyed by content, not only by name: kernels of one name but different WGSL
// get pipelines of their own (each runs its own code), kernels that share their WGSL share one
// shader module, and asking again for the same kernel compiles nothing.
import { describe, expect, it } from 'vitest';
import { BufferArena } from '../../src/gpu/arena.ts';
import { readUint32 } from '../../src/gpu/buffers.ts';
import { bindKernel, KernelCache, type KernelDef } from '../../src/gpu/program.ts';
import { runDispatches, testGpu } from '../helpers/gpu.ts';

/** A kernel that writes `value` into out[0]. */
function writer(name: string, value: number, entryPoint = 'main'): KernelDef {
  return {
    name,
    source: `@group(0) @binding(0) var<storage, read_write> out: array<u32>;\n@compute @workgroup_size(1) fn ${entryPoint}() { out[0] = ${value}u; }`,
    bindings: [{ name: 'out', kind: 'write' }],
    entryPoint,
  };
}

describe('KernelCache', () => {
  it('keys pipelines by content: one name, two sources, two pipelines that each run their own code', async () => {
    const { device } = await testGpu();
    const cache = new KernelCache(device);
    const arena = new BufferArena(device);
    try {
      const results: number[] = [];
      for (const value of [1, 2]) {
        const kernel = await cache.compile(writer('same_name', value));
        const out = arena.tensor('out', 4);
        await runDispatches(device, [bindKernel(device, kernel, { out }, [1, 1, 1])]);
        results.push((await readUint32(device, out))[0]);
      }
      expect(results).toEqual([1, 2]);
      expect(cache.size).toBe(2);
      expect(cache.moduleCount).toBe(2);
    } finally {
      arena.destroy();
    }
  });

  it('shares one shader module among kernels with the same WGSL, and compiles a kernel asked for twice once', async () => {
    const { device } = await testGpu();
    const cache = new KernelCache(device);
    const a = writer('first', 7);
    const first = cache.compile(a);
    expect(cache.compile({ ...a })).toBe(first);
    await cache.compile({ ...a, name: 'second' });
    expect(cache.size).toBe(2);
    expect(cache.moduleCount).toBe(1);
    // Override constants make pipelines of their own, from the same module.
    const tuned = { ...writer('tuned', 0), source: 'override V: u32 = 1u;\n@group(0) @binding(0) var<storage, read_write> out: array<u32>;\n@compute @workgroup_size(1) fn main() { out[0] = V; }' };
    const [k3, k4] = await Promise.all([cache.compile(tuned, { V: 3 }), cache.compile(tuned, { V: 4 })]);
    expect(k3).not.toBe(k4);
    expect(k3.label).toBe('tuned[V=3]');
    expect(cache.size).toBe(4);
    expect(cache.moduleCount).toBe(2);
  });
});
