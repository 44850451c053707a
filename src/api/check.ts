// `checkGpu`: is this adapter computing what it should? Every kernel (each matrix-product variant the
// device supports, and all the others) against the CPU reference, and a few whole training steps
// against the reference engine, with the tolerances the test suite uses. Variants that fail are
// remembered for the adapter and never chosen there (src/tune/).
import { checkMatmulVariant, checkOtherKernels, failedVariants, supportedMatmulVariants, type KernelCheck } from '../check/kernels.ts';
import { BufferArena } from '../gpu/arena.ts';
import { adapterName } from '../gpu/device.ts';
import type { MatmulVariantName } from '../kernels/matmul.ts';
import { checkTrainingSteps } from '../train/step-check.ts';
import { tuningFor } from '../tune/session.ts';
import { workspaceOf, type Gpu } from './gpu.ts';

/**
 * One comparison of {@link checkGpu}: a kernel's (or a training step's) worst difference from the CPU
 * reference beside its tolerance, |gpu − ref| ≤ atol + rtol·|ref| elementwise.
 */
export type CheckResult = KernelCheck;

/** What {@link checkGpu} found. */
export interface CheckReport {
  /** The adapter checked, in words. */
  readonly adapter: string;
  /** Every comparison passed. */
  readonly passed: boolean;
  readonly results: readonly CheckResult[];
  /** Matrix-product variants that failed here, and how: they are no longer used on this adapter. */
  readonly failedVariants: Readonly<Record<string, string>>;
  /** Where the verdicts are kept (a file, IndexedDB or memory). */
  readonly store: string;
  readonly seconds: number;
}

/** Options of {@link checkGpu}. */
export interface CheckOptions {
  /** Training steps compared per configuration (default 10; 0 skips the whole-step comparison). */
  readonly steps?: number;
  /** Called as each case finishes (for progress). */
  readonly onResult?: (result: CheckResult) => void;
}

/**
 * Runs every kernel, in every variant the device supports, and a few whole training steps on `gpu`
 * against the CPU reference (float64), and reports each comparison's worst error beside its
 * tolerance. Takes seconds (a first run on a software adapter compiles some 60 pipelines: under a
 * minute). A matrix-product variant that fails is recorded for this adapter and driver and never
 * chosen here again; one that passes becomes a candidate for tuning.
 */
export async function checkGpu(gpu: Gpu, options: CheckOptions = {}): Promise<CheckReport> {
  const started = performance.now();
  const workspace = workspaceOf(gpu);
  const context = workspace.gpu;
  const results: KernelCheck[] = [];
  const add = (found: readonly KernelCheck[]) => {
    for (const result of found) {
      results.push(result);
      options.onResult?.(result);
    }
  };
  const arena = new BufferArena(context.device);
  const ctx = { device: context.device, cache: workspace.cache, arena, adapterKind: context.report.kind };
  const variants = supportedMatmulVariants(context.device);
  try {
    for (const variant of variants) add(await checkMatmulVariant(ctx, variant));
    add(await checkOtherKernels(ctx));
  } finally {
    arena.destroy();
  }
  const steps = options.steps ?? 10;
  if (steps > 0) add(await checkTrainingSteps(context, workspace.cache, steps));
  const failed = failedVariants(results);
  const verdicts: Partial<Record<MatmulVariantName, string>> = {};
  for (const variant of variants) verdicts[variant] = failed.get(variant) ?? 'passed';
  const tuning = tuningFor(context);
  await tuning.recordChecks(verdicts);
  return {
    adapter: adapterName(context.report),
    passed: results.every((r) => r.passed),
    results,
    failedVariants: Object.fromEntries(failed),
    store: await tuning.location(),
    seconds: (performance.now() - started) / 1000,
  };
}
