// `webgpu-mlp check`: every kernel and a few whole training steps against the CPU reference on this
// machine's adapter, each comparison's worst error beside its tolerance (exit 1 if any fails).
// `webgpu-mlp tune`: the matrix products of a model timed in every kernel variant on this adapter,
// the fastest kept for later runs; prints the table.
import type { Command } from 'commander';
import { checkGpu, openGpu, resolveConfig, tuneKernels, type CheckResult, type TuneReport } from '../index.ts';
import { EXIT } from './errors.ts';
import { trainingOptions } from './train-options.ts';

const sci = (x: number) => (Number.isFinite(x) ? x.toExponential(1) : String(x));
const tolerance = (r: CheckResult) =>
  r.tolerance.rtol === 0 ? sci(r.tolerance.atol) : r.tolerance.atol === 0 ? `${sci(r.tolerance.rtol)}·|ref|` : `${sci(r.tolerance.atol)} + ${sci(r.tolerance.rtol)}·|ref|`;

function checkLine(r: CheckResult): string {
  const name = `${r.kernel}${r.variant ? ` [${r.variant}]` : ''}`.padEnd(20);
  const what = `${r.what}: ${r.quantity}`;
  if (r.error) return `${name} ${what.padEnd(66)} FAILED TO RUN: ${r.error}`;
  const ratio = Number.isFinite(r.worstRatio) ? r.worstRatio.toFixed(3) : 'inf';
  return `${name} ${what.padEnd(66)} ${sci(r.maxAbsDiff).padStart(8)}  ${tolerance(r).padEnd(20)} ${ratio.padStart(7)}  ${r.passed ? 'ok' : 'FAILED'}`;
}

export async function checkCommand(flags: { json?: boolean; steps: number }): Promise<number> {
  const gpu = await openGpu();
  try {
    if (!flags.json) {
      console.log(`checking ${gpu.name} against the CPU reference (float64): |gpu − ref| ≤ atol + rtol·|ref|`);
      console.log(`${'kernel'.padEnd(20)} ${'case: quantity'.padEnd(66)} ${'max |diff|'.padStart(8)}  ${'tolerance'.padEnd(20)} ${'ratio'.padStart(7)}`);
    }
    const report = await checkGpu(gpu, { steps: flags.steps, onResult: flags.json ? undefined : (r) => console.log(checkLine(r)) });
    if (flags.json) {
      console.log(JSON.stringify(report, null, 2));
    } else {
      const failed = report.results.filter((r) => !r.passed).length;
      console.log(
        `${report.results.length - failed} of ${report.results.length} comparisons passed in ${report.seconds.toFixed(1)} s` +
          (failed ? `; ${failed} FAILED` : '') +
          (Object.keys(report.failedVariants).length
            ? `; matrix-product variants no longer used on this adapter: ${Object.keys(report.failedVariants).join(', ')} (kept in ${report.store})`
            : `; verdicts kept in ${report.store}`),
      );
    }
    return report.passed ? EXIT.ok : EXIT.failure;
  } finally {
    gpu.close();
  }
}

function tuneTable(report: TuneReport): string[] {
  const variants = [...new Set(report.products.flatMap((p) => Object.keys(p.ms)))];
  const lines = [
    `${'product'.padEnd(44)} ${'MFLOP'.padStart(7)} ${variants.map((v) => `${v} ms`.padStart(12)).join(' ')}  ${'chosen'.padEnd(9)} ${'GFLOP/s'.padStart(8)}  before`,
  ];
  for (const p of report.products) {
    lines.push(
      `${p.product.padEnd(44)} ${(p.flops / 1e6).toFixed(1).padStart(7)} ${variants.map((v) => (p.ms[v] === undefined ? '-' : p.ms[v]!.toFixed(3)).padStart(12)).join(' ')}  ` +
        `${p.chosen.padEnd(9)} ${p.gflops.toFixed(1).padStart(8)}  ${p.before}`,
    );
  }
  return lines;
}

export async function tuneCommand(flags: { json?: boolean }, command: Command): Promise<number> {
  const options = trainingOptions(command);
  const config = resolveConfig(options); // bad flags are refused before the GPU opens
  const gpu = await openGpu();
  try {
    if (!flags.json) console.log(`timing the matrix products of ${config.spec.layers.join('-')} (batch ${config.batchSize}, evaluation batch ${config.evalBatchSize}) on ${gpu.name}`);
    const report = await tuneKernels(gpu, options);
    if (flags.json) {
      console.log(JSON.stringify(report, null, 2));
      return EXIT.ok;
    }
    for (const line of tuneTable(report)) console.log(line);
    const failed = Object.entries(report.checked).filter(([, verdict]) => verdict !== 'passed');
    if (failed.length) console.log(`not candidates (failed their check here): ${failed.map(([v, why]) => `${v} (${why})`).join('; ')}`);
    console.log(`${report.products.length} products timed in ${report.seconds.toFixed(1)} s; choices kept in ${report.store}`);
    return EXIT.ok;
  } finally {
    gpu.close();
  }
}
