// Soak: `npm run bench:soak` (node --expose-gc --import ./bin/register.mjs bench/soak.ts).
//
// One process runs a search of many short trainings (50 by default: a random search over the hidden
// widths, learning rate, dropout, optimizer and activation, each trial 1 epoch on 2,000 MNIST images
// validated on 500), as `webgpu-mlp search` runs it: one shared Gpu, one upload of the split, every
// trial a run directory. After trial 1, 10 and 50 it prints the GPU buffers alive on the device
// (counted by wrapping device.createBuffer and each buffer's destroy(), as test/api/dispose.test.ts
// does), their bytes, the pipelines and shader modules compiled, and the process's RSS and JS heap
// after a garbage collection. Flat means: the same buffers at 10 and 50 as at 1 (the dataset copies
// only), pipelines that stop growing once each kernel variant was met, and RSS within noise.
//
// Options: --trials=50  --train=2000  --validation=500  --at=1,10,50  --json
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGpu } from '../src/index.ts';
import { workspaceOf } from '../src/api/gpu.ts';
import { runSearch } from '../src/experiments/search.ts';
import { parseAxis } from '../src/experiments/space.ts';
import type { Reporter } from '../src/runs/reporter.ts';
import { VERSION } from '../src/version.ts';

function option(name: string, fallback: string): string {
  const arg = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  return arg ? arg.slice(name.length + 3) : fallback;
}
const TRIALS = Number(option('trials', '50'));
const TRAIN = Number(option('train', '2000'));
const VALIDATION = Number(option('validation', '500'));
const AT = option('at', `1,10,${TRIALS}`).split(',').map(Number);
const JSON_OUT = process.argv.includes('--json');

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.warn('note: run with node --expose-gc (npm run bench:soak does) for RSS after a garbage collection');

const gpu = await openGpu();
const device = gpu.device;
const live = new Map<GPUBuffer, number>();
const labels = () => [...live.keys()].map((buffer) => buffer.label || '(no label)');
let created = 0;
const createBuffer = device.createBuffer.bind(device);
device.createBuffer = (descriptor: GPUBufferDescriptor) => {
  const buffer = createBuffer(descriptor);
  created += 1;
  live.set(buffer, buffer.size);
  const destroy = buffer.destroy.bind(buffer);
  buffer.destroy = () => {
    live.delete(buffer);
    destroy();
  };
  return buffer;
};

interface Sample {
  readonly run: number;
  readonly buffers: number;
  readonly bufferBytes: number;
  readonly created: number;
  readonly pipelines: number;
  readonly modules: number;
  readonly rssMB: number;
  readonly heapMB: number;
  readonly seconds: number;
}
const samples: Sample[] = [];
/** What was alive at the last sample. */
let aliveAtLast: string[] = [];
const started = performance.now();
let finished = 0;
const silent: Reporter = { progress() {}, epoch() {}, message() {}, event() {}, close() {} };
const reporter = (): Reporter => ({
  ...silent,
  close() {
    // Called once each trial's run has ended and its model was disposed.
    finished += 1;
    if (!AT.includes(finished)) return;
    gc?.();
    const memory = process.memoryUsage();
    const sample: Sample = {
      run: finished,
      buffers: live.size,
      bufferBytes: [...live.values()].reduce((sum, size) => sum + size, 0),
      created,
      pipelines: gpu.stats.pipelines,
      modules: workspaceOf(gpu).cache.moduleCount,
      rssMB: memory.rss / 1e6,
      heapMB: memory.heapUsed / 1e6,
      seconds: (performance.now() - started) / 1000,
    };
    samples.push(sample);
    aliveAtLast = labels();
    if (!JSON_OUT) {
      console.log(
        `after run ${String(sample.run).padStart(3)}: ${sample.buffers} live GPU buffers (${(sample.bufferBytes / 1e6).toFixed(2)} MB; ${sample.created} created in all), ` +
          `${sample.pipelines} pipelines, ${sample.modules} shader modules, RSS ${sample.rssMB.toFixed(0)} MB, JS heap ${sample.heapMB.toFixed(1)} MB, ${sample.seconds.toFixed(0)} s`,
      );
    }
  },
});

const dir = mkdtempSync(join(tmpdir(), 'webgpu-mlp-soak-'));
if (!JSON_OUT) console.log(`soak: ${TRIALS} trainings in one process on ${gpu.name}; ${cpus().length} cores, Node ${process.versions.node}, webgpu-mlp ${VERSION}`);
try {
  const result = await runSearch(
    {
      base: { layers: [784, 10], epochs: 1, trainSubset: TRAIN, valSplit: VALIDATION, batchSize: 100 },
      axes: ['hidden=16,32,64,32-16', 'lr=1e-4..1e-2', 'dropout=0..0.3', 'optimizer=adam,sgd,momentum', 'activation=relu,tanh'].map(parseAxis),
      mode: 'random',
      samples: TRIALS,
      seed: 1,
    },
    {
      dir,
      gpu,
      retrain: false,
      report: false,
      log: () => {},
      reporter,
      command: ['bench/soak.ts'],
    },
  );
  if (result.exitCode !== 0) throw new Error(`the search ended with exit code ${result.exitCode}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  gpu.close();
}

const first = samples[0];
const lastSample = samples[samples.length - 1];
const flat = samples.every((s) => s.buffers === first.buffers && s.bufferBytes === first.bufferBytes);
const summary = {
  date: new Date().toISOString(),
  adapter: gpu.name,
  trials: TRIALS,
  samples,
  buffersFlat: flat,
  liveAtEnd: aliveAtLast,
  rssGrowthMB: lastSample.rssMB - (samples[1] ?? first).rssMB,
};
if (JSON_OUT) console.log(JSON.stringify(summary));
else {
  console.log(
    `buffers ${flat ? 'flat' : 'NOT flat'} (${first.buffers} live after run 1, ${lastSample.buffers} after run ${lastSample.run}); ` +
      `RSS ${summary.rssGrowthMB >= 0 ? '+' : ''}${summary.rssGrowthMB.toFixed(0)} MB from run ${(samples[1] ?? first).run} to run ${lastSample.run}`,
  );
  console.log(`alive after the last run: ${summary.liveAtEnd.join('; ')}`);
}
process.exitCode = flat ? 0 : 1;
