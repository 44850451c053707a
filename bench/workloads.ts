// Training workloads the benchmarks share: W1 and W2 with plain SGD, the configuration in which NumPy
// runs at its BLAS's sgemm rate (bench/speed.ts --workload, bench/gpu.ts).
import { optimizerConfig } from '../src/model/optimizer.ts';
import { DEFAULT_CONFIG, type TrainConfig } from '../src/train/config.ts';

/** `layers` at `batchSize` with plain SGD (lr 0.1, constant), no dropout; the rest as npm run train. */
export const plainSgd = (layers: number[], batchSize: number): TrainConfig => ({
  ...DEFAULT_CONFIG,
  spec: { ...DEFAULT_CONFIG.spec, layers, dropout: 0 },
  optimizer: optimizerConfig('sgd'),
  lr: 0.1,
  schedule: { kind: 'constant' },
  batchSize,
});
