// Kernel choices for one device: what the store knows of its adapter (loaded once per device), the
// selection plans are built with (measured choices, minus variants that failed their check here),
// and tuning: timing the candidates of the products a plan recorded, keeping the fastest.
//
// When it tunes: on GPU adapters automatically, for products not measured before (a few dispatches
// each, on the plan's own buffers, before the first step; budget 2 s, the first time only); on CPU
// adapters (lavapipe, SwiftShader), where each candidate's pipeline costs a second of compilation,
// only when asked (`--tune`, `tune: true`, `webgpu-mlp tune`): there the measured table in
// src/kernels/matmul.ts stays the default. Choices found once are used everywhere afterwards.
import { checkMatmulVariant, supportedMatmulVariants } from '../check/kernels.ts';
import type { AdapterReport, GpuContext } from '../gpu/device.ts';
import type { KernelCache } from '../gpu/program.ts';
import type { KernelContext } from '../kernels/context.ts';
import { matmulKernelsVersion, type MatmulProduct, type MatmulSelection, type MatmulVariantName } from '../kernels/matmul.ts';
import { defaultTuningStore, EMPTY_TUNING, type AdapterTuning, type TunedProduct, type TuningStore } from './store.ts';
import { distinctProducts, timeProducts, type ProductTiming } from './tuner.ts';

/** Tuning's time budget on a GPU adapter (checks, compilation and timing, the first time). */
export const GPU_TUNING_BUDGET_MS = 2000;

/** The store key: adapter, driver (in the description, e.g. Mesa's version) and the kernels' version. */
export function adapterKey(report: AdapterReport): string {
  return [report.runtime, report.vendor, report.architecture, report.device, report.description, `matmul ${matmulKernelsVersion()}`].join(' | ');
}

/** What a tuning pass did. */
export interface TuningPass {
  readonly seconds: number;
  readonly timings: readonly ProductTiming[];
  /** Variants checked now (against the CPU reference), and what failed. */
  readonly checked: Readonly<Partial<Record<MatmulVariantName, string>>>;
}

export class KernelTuning {
  readonly key: string;
  private record: Promise<AdapterTuning> | undefined;

  constructor(
    readonly gpu: GpuContext,
    private readonly store: Promise<TuningStore>,
  ) {
    this.key = adapterKey(gpu.report);
  }

  /** Where the choices are kept. */
  async location(): Promise<string> {
    return (await this.store).location;
  }

  /** What is known of this adapter (loaded from the store once). */
  known(): Promise<AdapterTuning> {
    this.record ??= this.store.then(async (store) => (await store.load(this.key)) ?? EMPTY_TUNING(this.describe())).catch(() => EMPTY_TUNING(this.describe()));
    return this.record;
  }

  /** Reads the store again at the next use (another process or tool may have changed it). */
  reload(): void {
    this.record = undefined;
  }

  private describe(): string {
    const r = this.gpu.report;
    return [r.vendor, r.architecture, r.description || r.device].filter(Boolean).join(' / ');
  }

  /** Whether to tune products not measured yet: `requested`, else only on GPU adapters. */
  wants(requested: boolean | undefined): boolean {
    return requested ?? this.gpu.report.kind === 'gpu';
  }

  /**
   * The selection to build plans with: measured choices, overridden by `forced` (a run's recorded
   * choices, so that a resumed run computes exactly as before), without the variants that failed
   * their check here. `log` collects the products recorded.
   */
  async selection(forced: Readonly<Record<string, string>> = {}): Promise<Required<MatmulSelection>> {
    const known = await this.known();
    const choices: Record<string, MatmulVariantName> = {};
    for (const [key, product] of Object.entries(known.products)) choices[key] = product.variant;
    Object.assign(choices, forced);
    const exclude = (Object.entries(known.checked) as [MatmulVariantName, string][]).filter(([, verdict]) => verdict !== 'passed').map(([variant]) => variant);
    return { choices, exclude, log: [] };
  }

  /** Records check verdicts ('passed' or what failed) for variants on this adapter. */
  async recordChecks(verdicts: Readonly<Partial<Record<MatmulVariantName, string>>>): Promise<void> {
    const update = (current: AdapterTuning | undefined): AdapterTuning => {
      const base = current ?? EMPTY_TUNING(this.describe());
      return { ...base, checked: { ...base.checked, ...verdicts } };
    };
    this.record = Promise.resolve(update(await this.known()));
    await (await this.store).update(this.key, update);
  }

  /**
   * Times `products` (those of a plan just built) in every candidate variant and keeps the fastest;
   * `all: false` skips products measured before. Candidates are the variants this device supports
   * that passed their check here (checked now if never), the naive kernel only on GPU adapters.
   */
  async tune(ctx: KernelContext, cache: KernelCache, products: readonly MatmulProduct[], options: { readonly all?: boolean; readonly budgetMs?: number } = {}): Promise<TuningPass> {
    const started = performance.now();
    const known = await this.known();
    const todo = distinctProducts(products).filter((p) => options.all || !(p.key in known.products));
    if (todo.length === 0) return { seconds: 0, timings: [], checked: {} };
    const supported = supportedMatmulVariants(ctx.device).filter((v) => v !== 'naive' || this.gpu.report.kind === 'gpu');
    const checked: Partial<Record<MatmulVariantName, string>> = {};
    for (const variant of supported.filter((v) => known.checked[v] === undefined)) {
      const results = await checkMatmulVariant({ ...ctx, matmul: undefined }, variant);
      const failure = results.find((r) => !r.passed);
      checked[variant] = failure ? (failure.error ?? `${failure.what}: ${failure.quantity} off by ${failure.maxAbsDiff.toExponential(2)}`) : 'passed';
    }
    if (Object.keys(checked).length) await this.recordChecks(checked);
    const candidates = supported.filter((v) => ({ ...known.checked, ...checked })[v] === 'passed');
    if (candidates.length < 2) return { seconds: (performance.now() - started) / 1000, timings: [], checked };
    const budgetMs = options.budgetMs === undefined ? undefined : Math.max(0, options.budgetMs - (performance.now() - started));
    const timings = await timeProducts(ctx, cache, todo, { candidates, budgetMs });
    const now = new Date().toISOString();
    const measured: Record<string, TunedProduct> = {};
    for (const t of timings) measured[t.key] = { variant: t.best, ms: t.ms, gflops: t.flops / t.ms[t.best]! / 1e6, measuredAt: now };
    const update = (current: AdapterTuning | undefined): AdapterTuning => {
      const base = current ?? EMPTY_TUNING(this.describe());
      return { ...base, products: { ...base.products, ...measured } };
    };
    this.record = Promise.resolve(update(await this.known()));
    await (await this.store).update(this.key, update);
    return { seconds: (performance.now() - started) / 1000, timings, checked };
  }
}

const sessions = new WeakMap<GpuContext, KernelTuning>();

/** The tuning of `gpu`'s device (one per device; `store` only counts the first time). */
export function tuningFor(gpu: GpuContext, store?: TuningStore): KernelTuning {
  let tuning = sessions.get(gpu);
  if (!tuning) {
    tuning = new KernelTuning(gpu, store ? Promise.resolve(store) : defaultTuningStore());
    sessions.set(gpu, tuning);
  }
  return tuning;
}
