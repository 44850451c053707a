// `tuneKernels`: for a model's shape, time every matrix product its training step, evaluation and
// prediction run, in every kernel variant that passed its check on this adapter, and keep the
// fastest per product (per adapter, driver and kernel version: src/tune/store.ts). Fits use the
// kept choices from then on; on GPU adapters they measure what is missing themselves.
import { Dataset } from '../data/dataset.ts';
import { BufferArena } from '../gpu/arena.ts';
import { adapterName } from '../gpu/device.ts';
import type { MatmulVariantName } from '../kernels/matmul.ts';
import { classCount, inputSize } from '../model/spec.ts';
import { createGpuEngine } from '../train/gpu-engine.ts';
import { resolveConfig } from '../train/options.ts';
import { tuningFor } from '../tune/session.ts';
import { workspaceOf, type Gpu } from './gpu.ts';
import type { Options } from './model.ts';

/** One matrix product of a model, timed in each candidate variant. */
export interface TunedKernel {
  /** The product: form, shape, epilogue (`forward 128x784->256 relu dropout`). */
  readonly product: string;
  /** Floating-point operations of one run (2 per multiply-add). */
  readonly flops: number;
  /** Median milliseconds per run, per variant timed. */
  readonly ms: Readonly<Partial<Record<string, number>>>;
  /** The fastest: what fits use for this product on this adapter from now on. */
  readonly chosen: string;
  /** What the product ran in before (the adapter kind's default, or an earlier choice). */
  readonly before: string;
  /** GFLOP/s of the chosen variant. */
  readonly gflops: number;
}

/** What {@link tuneKernels} measured. */
export interface TuneReport {
  readonly adapter: string;
  readonly products: readonly TunedKernel[];
  /** Variants checked against the CPU reference first ('passed', or what failed). */
  readonly checked: Readonly<Record<string, string>>;
  /** Where the choices are kept. */
  readonly store: string;
  readonly seconds: number;
}

/**
 * Times the matrix products of a model with `options` (the training options: `layers`, `batchSize`,
 * `evalBatchSize`, `activation`, `dropout` shape the products) in every candidate variant on `gpu`,
 * and keeps the fastest for this adapter. Every product is measured again, even if it was before.
 * On a software adapter each candidate's pipeline compiles for about a second.
 */
export async function tuneKernels(gpu: Gpu, options: Options = {}): Promise<TuneReport> {
  const started = performance.now();
  const config = resolveConfig(options as Readonly<Record<string, unknown>>);
  const workspace = workspaceOf(gpu);
  const context = workspace.gpu;
  const tuning = tuningFor(context);
  // Data of the right shapes (its values do not matter for timing): a training batch's rows, and an
  // evaluation batch's (prediction runs in batches of the same size).
  const IN = inputSize(config.spec);
  const C = classCount(config.spec);
  const set = (name: string, count: number) => Dataset.create({ name, features: new Uint8Array(count * IN), labels: Uint8Array.from({ length: count }, (_, i) => i % C) });
  const data = { train: set('tune train', config.batchSize), validation: set('tune validation', config.evalBatchSize) };
  const session = workspace.session(data);
  const selection = await tuning.selection();
  const engine = await createGpuEngine(session, config.spec, config.optimizer, { ...config, matmul: selection });
  const arena = new BufferArena(context.device);
  try {
    const ctx = { device: context.device, cache: workspace.cache, arena, adapterKind: context.report.kind };
    const pass = await tuning.tune(ctx, workspace.cache, selection.log, { all: true });
    return {
      adapter: adapterName(context.report),
      products: pass.timings.map((t) => ({
        product: t.key,
        flops: t.flops,
        ms: t.ms,
        chosen: t.best,
        before: t.before,
        gflops: t.flops / t.ms[t.best as MatmulVariantName]! / 1e6,
      })),
      checked: { ...(await tuning.known()).checked },
      store: await tuning.location(),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    arena.destroy();
    engine.close();
    workspace.release(data.train);
    workspace.release(data.validation);
  }
}
