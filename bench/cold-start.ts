// First-run benchmark: `npm run bench:cold` (node --import ./bin/register.mjs bench/cold-start.ts).
//
// What a new user sees on a machine whose driver has never compiled our pipelines, against the same
// run once they are compiled. Each pair runs `webgpu-mlp train --epochs 4` (the default model,
// report included) twice in fresh processes: first with MESA_SHADER_CACHE_DIR pointing at an empty
// folder (Mesa's shader disk cache, where lavapipe keeps compiled pipelines: empty = a first-ever
// run), then again with that folder as the first run left it (warm). It prints, per run, the wall
// time of the whole process, the setup before the first step (plans built, pipelines compiled: the
// `setup` event), each epoch's training seconds, and checks the goals of issue 13:
//   cold wall − warm wall ≤ 15 s,   first epoch ≤ 1.3 × the median of the later ones (cold and warm).
// On a GPU adapter Mesa's cache plays no part; the driver's own cache (e.g. NVIDIA's
// ~/.nv/ComputeCache) is not cleared here, so the cold figure is a lower bound there.
//
// Options: --pairs=1  --epochs=4  --cli=bin/webgpu-mlp.mjs (another checkout's, to compare)
//   --extra="--train-subset 10000" (more train flags)  --json (the results as one JSON line)  --out=FILE
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const value = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const PAIRS = Number(value('pairs') ?? 1);
const EPOCHS = Number(value('epochs') ?? 4);
const CLI = resolve(value('cli') ?? 'bin/webgpu-mlp.mjs');
const EXTRA = (value('extra') ?? '').split(' ').filter(Boolean);
const GOAL_EXTRA_SECONDS = 15;
const GOAL_FIRST_EPOCH_RATIO = 1.3;

const log = (message: string) => process.stderr.write(`${message}\n`);
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
};

interface RunResult {
  readonly kind: 'cold' | 'warm';
  readonly wallSeconds: number;
  /** Plans built and pipelines compiled before the first step (absent for a CLI without the setup event). */
  readonly setupSeconds?: number;
  readonly pipelines?: number;
  readonly epochSeconds: number[];
  readonly evalSeconds: number[];
  /** First epoch over the median of the later ones. */
  readonly firstEpochRatio: number;
  readonly testAccuracy?: number;
  readonly load: number;
}

function train(kind: 'cold' | 'warm', cacheDir: string, runDir: string): Promise<RunResult> {
  const args = [CLI, 'train', '--epochs', String(EPOCHS), '--run-dir', runDir, '--overwrite', '--json', ...EXTRA];
  const env = { ...process.env, MESA_SHADER_CACHE_DIR: cacheDir };
  const load0 = loadavg()[0];
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallSeconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`${kind} run exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      const events = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const epochs = events.filter((e) => e.type === 'epoch');
      const setup = events.find((e) => e.type === 'setup');
      const summary = events.find((e) => e.type === 'summary') as { test?: { accuracy: number } } | undefined;
      const epochSeconds = epochs.map((e) => e.seconds as number);
      resolvePromise({
        kind,
        wallSeconds,
        ...(setup ? { setupSeconds: setup.seconds as number, pipelines: setup.pipelines as number } : {}),
        epochSeconds,
        evalSeconds: epochs.map((e) => e.evalSeconds as number),
        firstEpochRatio: epochSeconds[0] / median(epochSeconds.slice(1)),
        testAccuracy: summary?.test?.accuracy,
        load: (load0 + loadavg()[0]) / 2,
      });
    });
  });
}

const describe = (r: RunResult) =>
  `${r.kind}: ${r.wallSeconds.toFixed(1)} s in all; setup ${r.setupSeconds?.toFixed(1) ?? '-'} s (${r.pipelines ?? '?'} pipelines); ` +
  `epochs ${r.epochSeconds.map((s) => s.toFixed(2)).join(', ')} s (first / median of later ${r.firstEpochRatio.toFixed(2)}); ` +
  `validation ${r.evalSeconds.map((s) => s.toFixed(2)).join(', ')} s; load ${r.load.toFixed(1)}`;

const scratch = mkdtempSync(join(tmpdir(), 'webgpu-mlp-cold-'));
const pairs: { cold: RunResult; warm: RunResult }[] = [];
try {
  // Node and tsx compile and cache our sources on first use: one throwaway start keeps that out of the cold run.
  await new Promise<void>((done) => spawn(process.execPath, [CLI, '--version'], { stdio: 'ignore' }).on('close', () => done()));
  for (let p = 0; p < PAIRS; p++) {
    const cacheDir = mkdtempSync(join(scratch, 'mesa-'));
    log(`pair ${p + 1}/${PAIRS}: Mesa shader cache ${cacheDir} (empty)`);
    const cold = await train('cold', cacheDir, join(scratch, `run-${p}-cold`));
    log(`  ${describe(cold)}`);
    const warm = await train('warm', cacheDir, join(scratch, `run-${p}-warm`));
    log(`  ${describe(warm)}`);
    pairs.push({ cold, warm });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const extra = pairs.map((p) => p.cold.wallSeconds - p.warm.wallSeconds);
const ratios = pairs.flatMap((p) => [p.cold.firstEpochRatio, p.warm.firstEpochRatio]);
const result = {
  date: new Date().toISOString(),
  command: `webgpu-mlp train --epochs ${EPOCHS} ${EXTRA.join(' ')}`.trim(),
  cli: CLI,
  cpus: cpus().length,
  pairs,
  coldMinusWarmSeconds: extra,
  goals: {
    coldExtraAtMost15s: extra.every((s) => s <= GOAL_EXTRA_SECONDS),
    firstEpochAtMost1_3x: ratios.every((r) => r <= GOAL_FIRST_EPOCH_RATIO),
  },
};
log('');
log(`cold − warm: ${extra.map((s) => `${s.toFixed(1)} s`).join(', ')} (goal ≤ ${GOAL_EXTRA_SECONDS} s): ${result.goals.coldExtraAtMost15s ? 'met' : 'NOT met'}`);
log(`first epoch / later epochs: ${ratios.map((r) => r.toFixed(2)).join(', ')} (goal ≤ ${GOAL_FIRST_EPOCH_RATIO}): ${result.goals.firstEpochAtMost1_3x ? 'met' : 'NOT met'}`);
const out = value('out');
if (out) writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(result) + '\n');
