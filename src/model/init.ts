// Initial parameters, shared by the GPU and CPU trainers. Returned as f32 so both start from
// exactly the same values. Each layer's weights come from their own stream
// Random(seed, 'init', layer), drawn row-major over [OUT, IN]; biases and padding are zero.
import { Random } from '../util/random.ts';
import type { ModelSpec } from './spec.ts';
import { denseLayers, paramLayout } from './tensors.ts';

export const INIT_KINDS = ['he', 'xavier', 'uniform', 'normal'] as const;

/** How initial weights are drawn (biases start at zero): the --init flag's he, xavier, uniform:A and normal:STD. */
export type InitScheme =
  /** Kaiming normal for ReLU: N(0, 2/IN). */
  | { kind: 'he' }
  /** Glorot uniform: U(±√(6/(IN+OUT))). */
  | { kind: 'xavier' }
  | { kind: 'uniform'; a: number }
  | { kind: 'normal'; std: number };

function weightDraw(init: InitScheme, IN: number, OUT: number): (rng: Random) => number {
  switch (init.kind) {
    case 'he': {
      const std = Math.sqrt(2 / IN);
      return (rng) => std * rng.normal();
    }
    case 'xavier': {
      const limit = Math.sqrt(6 / (IN + OUT));
      return (rng) => rng.uniform(-limit, limit);
    }
    case 'uniform':
      return (rng) => rng.uniform(-init.a, init.a);
    case 'normal':
      return (rng) => init.std * rng.normal();
  }
}

/** The flat parameter buffer of paramLayout(spec), weights drawn by `init`, biases and padding zero. */
export function initialParams(spec: ModelSpec, init: InitScheme, seed: number): Float32Array {
  const layout = paramLayout(spec);
  const params = new Float32Array(layout.totalElements);
  for (const layer of denseLayers(spec, layout)) {
    const weights = new Random(seed, 'init', layer.index).fill(layer.weight.size, weightDraw(init, layer.in, layer.out));
    params.set(weights, layer.weight.offset);
  }
  return params;
}

/** The scheme as the --init flag spells it: he, xavier, uniform:A, normal:STD. */
export function describeInit(init: InitScheme): string {
  switch (init.kind) {
    case 'he':
    case 'xavier':
      return init.kind;
    case 'uniform':
      return `uniform:${init.a}`;
    case 'normal':
      return `normal:${init.std}`;
  }
}
