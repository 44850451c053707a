// Choosing each matrix product's kernel variant by measurement on the adapter at hand. The products
// come from plans already built (MatmulSelection.log): each is recorded again in every candidate
// variant on the plan's own buffers (before training starts, when those buffers hold nothing that
// matters), every new pipeline is compiled at once and run once, and then the candidates of a
// product are timed in interleaved rounds (many repetitions in one pass per measurement, the
// median of the rounds), the fastest kept. A variant is a candidate only if it passed the kernel
// check on this adapter (src/check/kernels.ts): it is checked first when it never was.
import { submitDispatches, type Dispatch, type KernelCache } from '../gpu/program.ts';
import type { KernelContext } from '../kernels/context.ts';
import type { MatmulProduct, MatmulVariantName } from '../kernels/matmul.ts';

/** What timing one product's candidates found. */
export interface ProductTiming {
  readonly key: string;
  readonly flops: number;
  /** The variant the plan had before (the adapter kind's default, or an earlier choice). */
  readonly before: MatmulVariantName;
  /** Median milliseconds per run of each candidate. */
  readonly ms: Partial<Record<MatmulVariantName, number>>;
  readonly best: MatmulVariantName;
}

export interface TimingOptions {
  readonly candidates: readonly MatmulVariantName[];
  /** Stop timing further products once this many milliseconds have passed (those keep their variant). */
  readonly budgetMs?: number;
  /** Interleaved rounds per product (median taken). */
  readonly rounds?: number;
  /** Milliseconds aimed at per measurement (repetitions are chosen to fill it). */
  readonly targetMs?: number;
}

/** Encodes `repetitions` runs of `dispatches` in one pass, submits and waits; returns wall milliseconds. */
async function timeOnce(device: GPUDevice, dispatches: readonly Dispatch[], repetitions: number): Promise<number> {
  const started = performance.now();
  submitDispatches(device, dispatches, { label: 'tune', repetitions });
  await device.queue.onSubmittedWorkDone();
  return performance.now() - started;
}

/** A product keeps its variant unless another is faster by more than this fraction (timing noise). */
const KEEP_MARGIN = 0.05;

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** One entry per product key (a plan may record the same product twice: validation and test share shapes). */
export function distinctProducts(products: readonly MatmulProduct[]): MatmulProduct[] {
  const seen = new Map<string, MatmulProduct>();
  for (const product of products) if (!seen.has(product.key)) seen.set(product.key, product);
  return [...seen.values()];
}

/** Times every candidate variant of each product (see the top of this file). */
export async function timeProducts(ctx: KernelContext, cache: KernelCache, products: readonly MatmulProduct[], options: TimingOptions): Promise<ProductTiming[]> {
  const started = performance.now();
  const rounds = options.rounds ?? 3;
  const targetMs = options.targetMs ?? (ctx.adapterKind === 'gpu' ? 2 : 20);
  // Record every candidate of every product at once: their pipelines compile concurrently.
  const recorded = await Promise.all(
    products.map(async (product) => ({
      product,
      variants: await Promise.all(options.candidates.map(async (variant) => ({ variant, dispatches: await product.rerecord(variant) }))),
    })),
  );
  await cache.warm(recorded.flatMap((r) => r.variants.flatMap((v) => v.dispatches)));
  const timings: ProductTiming[] = [];
  for (const { product, variants } of recorded) {
    if (options.budgetMs !== undefined && performance.now() - started > options.budgetMs) break;
    // Repetitions per measurement from one quick run of each candidate.
    const reps = new Map<MatmulVariantName, number>();
    for (const { variant, dispatches } of variants) {
      const once = await timeOnce(ctx.device, dispatches, 2);
      reps.set(variant, Math.max(1, Math.min(500, Math.round(targetMs / Math.max(once / 2, 1e-3)))));
    }
    const samples = new Map<MatmulVariantName, number[]>(variants.map((v) => [v.variant, []]));
    for (let round = 0; round < rounds; round++) {
      for (const { variant, dispatches } of variants) {
        const n = reps.get(variant)!;
        samples.get(variant)!.push((await timeOnce(ctx.device, dispatches, n)) / n);
      }
    }
    const ms: Partial<Record<MatmulVariantName, number>> = {};
    for (const [variant, values] of samples) ms[variant] = median(values);
    const fastest = (Object.keys(ms) as MatmulVariantName[]).reduce((a, b) => (ms[b]! < ms[a]! ? b : a));
    // A change must be worth it: within the noise of a few rounds the variant it had stays.
    const kept = ms[product.variant];
    const best = kept !== undefined && kept <= ms[fastest]! * (1 + KEEP_MARGIN) ? product.variant : fastest;
    timings.push({ key: product.key, flops: product.flops, before: product.variant, ms, best });
  }
  return timings;
}
