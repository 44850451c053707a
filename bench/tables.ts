// `npm run bench:tables`: a large synthetic table (1,000,000 rows × 100 float features, 10 classes)
// through the whole path a user takes: the CSV file streamed into f32 features (load time, memory),
// uploaded to the GPU (400 MB of features: beyond one 128 MiB storage binding, so several chunks),
// standardized in the gather, and trained; samples/s beside MNIST's on the same hidden layers, in
// the same process. The CSV is written once to the temp directory and reused (delete it to redo it).
//
//   npm run bench:tables [-- --rows N --features D --epochs E --markdown --load-only]
import { existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, openGpu, tableOptions, type Dataset } from '../src/index.ts';
import { loadMnist, readCsvFile } from '../src/node.ts';
import { Random } from '../src/util/random.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const ROWS = arg('rows', 1_000_000);
const FEATURES = arg('features', 100);
const CLASSES = 10;
const EPOCHS = arg('epochs', 1);
const markdown = process.argv.includes('--markdown');
const MB = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

/**
 * Writes the synthetic table: features on scales from 1e-3 to 1e3 (so standardization matters),
 * the class the argmax of 10 fixed random projections of the first 20 features (learnable, not trivial).
 */
async function writeTable(path: string): Promise<void> {
  const rng = new Random(12, 'bench table');
  const projections = Array.from({ length: CLASSES }, () => Float64Array.from({ length: Math.min(20, FEATURES) }, () => rng.uniform(-1, 1)));
  const scales = Float64Array.from({ length: FEATURES }, (_, k) => 10 ** ((k % 7) - 3));
  const file = await open(path, 'w');
  const header = [...Array.from({ length: FEATURES }, (_, k) => `f${k}`), 'label'].join(',') + '\n';
  let chunk = header;
  const x = new Float64Array(FEATURES);
  for (let r = 0; r < ROWS; r++) {
    for (let k = 0; k < FEATURES; k++) x[k] = rng.uniform(-1, 1);
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < CLASSES; c++) {
      let score = 0;
      for (let k = 0; k < projections[c].length; k++) score += projections[c][k] * x[k];
      if (score > bestScore) [best, bestScore] = [c, score];
    }
    let line = '';
    for (let k = 0; k < FEATURES; k++) line += `${(x[k] * scales[k] + scales[k]).toPrecision(5)},`;
    chunk += `${line}class${best}\n`;
    if (chunk.length > 1 << 22) {
      await file.write(chunk);
      chunk = '';
    }
  }
  await file.write(chunk);
  await file.close();
}

function memory(): { rss: number; heap: number; arrayBuffers: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

async function trainRate(gpu: Awaited<ReturnType<typeof openGpu>>, train: Dataset, layers: number[], options: Record<string, unknown>): Promise<{ samplesPerSecond: number; seconds: number; valAccuracy: number | undefined }> {
  const model = await createModel(gpu, { layers, batchSize: 128, epochs: EPOCHS, dropout: 0, ...options });
  try {
    const fit = await model.fit(train);
    const last = fit.history[fit.history.length - 1];
    // The first epoch includes pipeline compilation when the cache is cold; the mean rate over epochs is reported.
    const rate = fit.history.reduce((s, r) => s + r.samplesPerSecond, 0) / fit.history.length;
    return { samplesPerSecond: rate, seconds: fit.history.reduce((s, r) => s + r.seconds, 0), valAccuracy: last.valAccuracy };
  } finally {
    model.dispose();
  }
}

const path = join(tmpdir(), `webgpu-mlp-bench-${ROWS}x${FEATURES}.csv`);
if (!existsSync(path)) {
  const started = performance.now();
  console.error(`writing ${path} ...`);
  await writeTable(path);
  console.error(`written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
const fileBytes = statSync(path).size;

const before = memory();
const loadStarted = performance.now();
const table = await readCsvFile(path, { label: 'label', name: 'table' });
const loadSeconds = (performance.now() - loadStarted) / 1000;
const afterLoad = memory();
// What stays once the reader's blocks (copied into the one table array) are collected (--expose-gc).
const gc = (globalThis as { gc?: () => void }).gc;
await new Promise((resolve) => setTimeout(resolve, 50));
gc?.();
await new Promise((resolve) => setTimeout(resolve, 50));
gc?.();
const retained = memory();
if (process.argv.includes('--load-only')) {
  console.log(`load ${loadSeconds.toFixed(1)} s (${MB(fileBytes)}); after load RSS ${MB(afterLoad.rss)}, array buffers ${MB(afterLoad.arrayBuffers)}; after GC ${MB(retained.rss)} / ${MB(retained.arrayBuffers)}; table ${MB(table.features.byteLength)}`);
  process.exit(0);
}

const gpu = await openGpu();
const options = tableOptions(table);
const validation = options.valSplit!;
// Same hidden layers as MNIST's default model, and the table default's, on the same device.
const tableRun = await trainRate(gpu, table, [FEATURES, 256, 128, CLASSES], { valSplit: validation, valShuffle: true });
const afterTrain = memory();
const deviceData = gpu.stats.datasetBytes;
const small = await trainRate(gpu, table, [FEATURES, 64, 32, CLASSES], { valSplit: validation, valShuffle: true });
const { train: mnist } = await loadMnist();
const mnistRun = await trainRate(gpu, mnist, [784, 256, 128, 10], { valSplit: 10_000 });
gpu.close();

const lines = [
  `Synthetic table: ${ROWS.toLocaleString('en-US')} rows × ${FEATURES} float features, ${CLASSES} string classes; CSV file ${MB(fileBytes)}; adapter ${gpu.name}.`,
  '',
  '| measure | value |',
  '|---|---:|',
  `| load (stream, parse, check): seconds | ${loadSeconds.toFixed(1)} s |`,
  `| load rate | ${(ROWS / loadSeconds / 1000).toFixed(0)}k rows/s, ${(fileBytes / loadSeconds / 1e6).toFixed(0)} MB/s |`,
  `| features in memory (f32) | ${MB(table.features.byteLength)} |`,
  `| process memory after load: RSS / array buffers (before: ${MB(before.rss)} / ${MB(before.arrayBuffers)}) | ${MB(afterLoad.rss)} / ${MB(afterLoad.arrayBuffers)} |`,
  `| the same after a garbage collection (the reader's blocks freed) | ${MB(retained.rss)} / ${MB(retained.arrayBuffers)} |`,
  `| process memory after training (splits, GPU copies in lavapipe's host memory) | RSS ${MB(afterTrain.rss)} |`,
  `| dataset bytes on the device (train + validation splits, in chunks of ≤ 128 MiB) | ${MB(deviceData)} |`,
  `| training ${FEATURES}-256-128-${CLASSES}, batch 128: samples/s (${EPOCHS} epoch${EPOCHS === 1 ? '' : 's'}, ${tableRun.seconds.toFixed(1)} s) | ${Math.round(tableRun.samplesPerSecond).toLocaleString('en-US')} |`,
  `| training ${FEATURES}-64-32-${CLASSES} (table default hidden), batch 128: samples/s | ${Math.round(small.samplesPerSecond).toLocaleString('en-US')} |`,
  `| MNIST 784-256-128-10, batch 128 (50,000 images), same process: samples/s | ${Math.round(mnistRun.samplesPerSecond).toLocaleString('en-US')} |`,
  `| validation accuracy after ${EPOCHS} epoch${EPOCHS === 1 ? '' : 's'} (table, 100-256-128-10; 64-32) | ${((tableRun.valAccuracy ?? NaN) * 100).toFixed(1)}%; ${((small.valAccuracy ?? NaN) * 100).toFixed(1)}% |`,
];
console.log(markdown ? lines.join('\n') : lines.filter((l) => !l.startsWith('|---')).join('\n'));
