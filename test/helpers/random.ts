// Seeded test inputs.
import { Random } from '../../src/util/random.ts';

/** `n` values uniform in [low, high), from a stream named by `label` (so each tensor differs). */
export function randomArray(n: number, label: string, low = -1, high = 1, seed = 1234): Float32Array {
  return new Random(seed, label).fill(n, (rng) => rng.uniform(low, high));
}

export function randomLabels(n: number, classes: number, label = 'labels', seed = 1234): Uint32Array {
  const rng = new Random(seed, label);
  return Uint32Array.from({ length: n }, () => rng.below(classes));
}
