// `webgpu-mlp check` and `webgpu-mlp tune` on this machine's adapter, and what a training run
// records of its kernels: the check passes here (every comparison within its tolerance), tune prints
// a row per product and keeps the choices, and config.json names the variant of every product.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CliProcess, cli as runCli, type CliResult } from '../reliability/helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-check-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The CLI run in the test's folder, as a user runs it. */
function cli(...args: string[]): CliResult {
  return runCli(work, args, { WEBGPU_MLP_CACHE_DIR: join(work, 'cache') });
}

describe('webgpu-mlp check', () => {
  it('compares every kernel and a few training steps with the CPU reference, each beside its tolerance', () => {
    const { code, stdout, stderr } = cli('check', '--steps', '3', '--json');
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as { passed: boolean; results: { kernel: string; variant: string; passed: boolean; maxAbsDiff: number; tolerance: { atol: number } }[]; store: string };
    expect(report.passed).toBe(true);
    const kernels = new Set(report.results.map((r) => r.kernel));
    expect([...kernels].sort()).toEqual(['activation', 'bias_grad', 'dropout', 'gather', 'loss', 'matmul', 'optimizer', 'training step']);
    // Every matrix-product variant this adapter supports (at least the three that need no subgroups).
    const variants = new Set(report.results.filter((r) => r.kernel === 'matmul').map((r) => r.variant));
    for (const variant of ['naive', 'regblock', 'tiled']) expect(variants).toContain(variant);
    expect(report.store).toBe(join(work, 'cache', 'tuning.json'));
    const stored = JSON.parse(readFileSync(report.store, 'utf8'));
    const record = Object.values(stored.adapters)[0] as { checked: Record<string, string> };
    for (const variant of variants) expect(record.checked[variant]).toBe('passed');
  });

  it('prints a table: worst error, tolerance, ratio', () => {
    const { code, stdout } = cli('check', '--steps', '0');
    expect(code).toBe(0);
    expect(stdout).toMatch(/max \|diff\|\s+tolerance\s+ratio/);
    expect(stdout).toMatch(/matmul \[regblock\]\s+forward 37x100->33 relu: output\s+\S+\s+9\.5e-5 \+ 1\.0e-5·\|ref\|\s+[\d.]+\s+ok/);
    expect(stdout).toMatch(/comparisons passed in [\d.]+ s/);
  });
});

describe('webgpu-mlp tune', () => {
  it("times a model's products in every candidate variant and keeps the fastest", () => {
    const { code, stdout, stderr } = cli('tune', '--layers', '784,16,10', '--batch-size', '16', '--eval-batch-size', '32', '--json');
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as { products: { product: string; ms: Record<string, number>; chosen: string }[]; store: string };
    // The training plan's output layer runs inside its loss dispatch: no product of its own.
    expect(report.products.map((p) => p.product).sort()).toEqual([
      'forward 16x784->16 relu dropout',
      'forward 32x16->10 identity',
      'forward 32x784->16 relu',
      'input-grad 16x16<-10 relu dropout',
      'weight-grad 10x16 over 16 bias',
      'weight-grad 16x784 over 16 bias',
    ]);
    for (const p of report.products) {
      expect(Object.keys(p.ms).length).toBeGreaterThanOrEqual(2);
      expect(Object.keys(p.ms)).toContain(p.chosen);
    }
    const stored = JSON.parse(readFileSync(report.store, 'utf8'));
    const record = Object.values(stored.adapters)[0] as { products: Record<string, { variant: string }> };
    for (const p of report.products) expect(record.products[p.product].variant).toBe(p.chosen);
  });
});

describe('a run records its kernels', () => {
  it('config.json names the variant of every matrix product (a resume uses them again)', () => {
    const runDir = join(work, 'run');
    const { code, stderr, stdout } = cli('train', '--layers', '784,16,10', '--batch-size', '16', '--eval-batch-size', '32', '--epochs', '1', '--train-subset', '320', '--no-report', '--run-dir', runDir);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/ready in [\d.]+ s: \d+ pipelines compiled before the first step/);
    const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
    // The products tuned above were measured on this adapter: the run used the choices kept then.
    expect(Object.keys(config.kernels)).toContain('forward 16x784->16 relu dropout');
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'));
    expect(summary.timing.setupSeconds).toBeGreaterThan(0);
    expect(summary.timing.pipelines).toBeGreaterThan(5);
  });
});

describe('--resume uses the kernels the run recorded', () => {
  it('even where the adapter would choose others now (bit for bit as the run began)', async () => {
    const runDir = join(work, 'resumed');
    const args = ['train', '--layers', '784,24,10', '--batch-size', '20', '--epochs', '2', '--train-subset', '1000', '--no-report', '--run-dir', runDir];
    process.env.WEBGPU_MLP_CACHE_DIR = join(work, 'cache');
    const first = new CliProcess(work, args);
    await first.waitFor((e) => e.type === 'progress' && Number(e.step) >= 10);
    first.child.kill('SIGINT');
    expect((await first.exited).code).toBe(130);
    // As if the run had begun with other choices than this adapter's: regblock everywhere.
    const configPath = join(runDir, 'config.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8'));
    const recorded = Object.fromEntries(Object.keys(config.kernels).map((key) => [key, 'regblock']));
    writeFileSync(configPath, JSON.stringify({ ...config, kernels: recorded }));
    const resumed = new CliProcess(work, ['train', '--resume', runDir]);
    const setup = await resumed.waitFor((e) => e.type === 'setup');
    expect(setup.kernels).toEqual(recorded);
    expect((await resumed.exited).code).toBe(0);
  });
});
