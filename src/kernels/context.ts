// What every kernel wrapper needs to turn its declaration into a recorded Dispatch.
import type { BufferArena } from '../gpu/arena.ts';
import type { KernelCache } from '../gpu/program.ts';
import type { MatmulSelection } from './matmul.ts';

export interface KernelContext {
  readonly device: GPUDevice;
  readonly cache: KernelCache;
  /** Owns the small uniform buffers (shapes, hyperparameters) the wrappers create. */
  readonly arena: BufferArena;
  /** Selects kernel variants: software adapters (lavapipe) reward different shapes than GPUs. */
  readonly adapterKind: 'cpu' | 'gpu';
  /** The matrix-product variants measured best on this adapter, and those it must not use (default: by adapter kind). */
  readonly matmul?: MatmulSelection;
}
