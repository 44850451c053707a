import { describe, expect, it } from 'vitest';
import { initialParams, type InitScheme } from '../../src/model/init.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { paramLayout } from '../../src/model/tensors.ts';

// Widths chosen so every tensor leaves padding before the next 64-element boundary.
const spec: ModelSpec = { layers: [500, 300, 10], activation: 'relu', loss: 'ce', dropout: 0 };
const layout = paramLayout(spec);
const tensor = (name: string) => layout.tensors.find((t) => t.name === name)!;

function stats(values: Float32Array): { mean: number; std: number; maxAbs: number } {
  let sum = 0;
  let sumSq = 0;
  let maxAbs = 0;
  for (const v of values) {
    sum += v;
    sumSq += v * v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const mean = sum / values.length;
  return { mean, std: Math.sqrt(sumSq / values.length - mean * mean), maxAbs };
}

function weights(params: Float32Array, layer: number): Float32Array {
  const t = tensor(`layers.${layer}.weight`);
  return params.subarray(t.offset, t.offset + t.size);
}

/**
 * The sample std of n = 150 000 draws has relative standard error ≈ 1/√(2n) ≈ 0.0018 (normal; less for
 * uniform): 2% is over 10 standard errors, and still catches a wrong fan (√(2/IN) vs √(2/OUT) differ by 29%).
 */
const STD_RELATIVE_TOLERANCE = 0.02;

describe('initialParams', () => {
  it('is deterministic in the seed and differs across seeds and layers', () => {
    const a = initialParams(spec, { kind: 'he' }, 7);
    expect(a).toBeInstanceOf(Float32Array);
    expect(a.length).toBe(layout.totalElements);
    expect(initialParams(spec, { kind: 'he' }, 7)).toEqual(a);
    const b = initialParams(spec, { kind: 'he' }, 8);
    expect(b.findIndex((v, i) => v !== a[i])).toBe(0);
    // Each layer has its own stream: layer 1 does not start with layer 0's draws.
    expect(weights(a, 1).subarray(0, 10)).not.toEqual(weights(a, 0).subarray(0, 10));
  });

  it('leaves biases and padding at zero', () => {
    const params = initialParams(spec, { kind: 'normal', std: 1 }, 3);
    const isWeight = new Uint8Array(layout.totalElements);
    for (const t of layout.tensors) if (t.role === 'weight') isWeight.fill(1, t.offset, t.offset + t.size);
    params.forEach((v, i) => {
      if (!isWeight[i]) expect(v, `element ${i}`).toBe(0);
    });
    expect(weights(params, 1).every((v) => v !== 0)).toBe(true);
  });

  const schemes: [string, InitScheme, (IN: number, OUT: number) => { std: number; bound?: number }][] = [
    ['he', { kind: 'he' }, (IN) => ({ std: Math.sqrt(2 / IN) })],
    ['xavier', { kind: 'xavier' }, (IN, OUT) => ({ std: Math.sqrt(6 / (IN + OUT)) / Math.sqrt(3), bound: Math.sqrt(6 / (IN + OUT)) })],
    ['uniform 0.3', { kind: 'uniform', a: 0.3 }, () => ({ std: 0.3 / Math.sqrt(3), bound: 0.3 })],
    ['normal 0.05', { kind: 'normal', std: 0.05 }, () => ({ std: 0.05 })],
  ];

  it.each(schemes)('%s draws layer 0 with the expected spread', (_, init, expected) => {
    const w = weights(initialParams(spec, init, 11), 0); // [300, 500]
    const { std, bound } = expected(500, 300);
    const s = stats(w);
    expect(Math.abs(s.std - std) / std).toBeLessThan(STD_RELATIVE_TOLERANCE);
    // The mean of n draws has standard error std/√n; 5 of them.
    expect(Math.abs(s.mean)).toBeLessThan((5 * std) / Math.sqrt(w.length));
    // Draws are below the bound in float64; rounding to f32 is monotonic, so they stay ≤ the bound's f32.
    if (bound !== undefined) expect(s.maxAbs).toBeLessThanOrEqual(Math.fround(bound));
  });
});
