// GPU benchmark: `npm run bench:gpu` (node --import ./bin/register.mjs bench/gpu.ts). On whatever
// adapter Dawn finds (a data-centre GPU, a laptop's, or lavapipe), one table and one JSON file:
//   W1  784-256-128-10, batch 128     plain SGD (lr 0.1), no dropout, 50,000 MNIST images per epoch
//   W2  784-1024-1024-10, batch 256   the same recipe
//   - seconds per epoch and samples/s (median of the epochs after the first), and the setup before
//     the first step (plans, compilation, and on GPU adapters the tuning of kernel variants);
//   - host µs per step (main-thread CPU; bench/host.ts);
//   - matmul GFLOP/s of each product of the two models, in the variant the plans chose, and of a
//     4096³ product (1024³ on software adapters, where 4096³ takes seconds) in every variant, beside
//     the adapter's FP32 peak where we know it;
//   - PyTorch on the same machine when installed (/usr/bin/python3 with torch): the same two models
//     (bench/peers/torch_mlp.py) and the same products (bench/peers/torch_matmul.py), on CUDA when
//     PyTorch sees a GPU, else on the CPU.
// Options: --epochs=N (default 3; 2 on software adapters)  --train-subset=N (default: all; 10000 for
//   W2 on software adapters)  --tune (measure kernel variants on software adapters too)
//   --no-torch  --python=/usr/bin/python3  --out=FILE (default runs/bench-gpu-<time>.json)
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname } from 'node:path';
import { createModel, openGpu, type Gpu } from '../src/index.ts';
import { loadMnist } from '../src/node.ts';
import { workspaceOf } from '../src/api/gpu.ts';
import { BufferArena } from '../src/gpu/arena.ts';
import { encodeDispatches, type Dispatch } from '../src/gpu/program.ts';
import { Dataset } from '../src/data/dataset.ts';
import { defaultDataDir } from '../src/data/files.ts';
import { MATMUL_VARIANTS, matmulForward, matmulVariantSupported, type MatmulProduct, type MatmulSelection } from '../src/kernels/matmul.ts';
import type { TrainConfig } from '../src/train/config.ts';
import { createGpuEngine, GpuSession } from '../src/train/gpu-engine.ts';
import { tuningFor } from '../src/tune/session.ts';
import { VERSION } from '../src/version.ts';
import { measureHostCost, type HostCost } from './host.ts';
import { plainSgd } from './workloads.ts';

const value = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const flag = (name: string) => process.argv.includes(`--${name}`);
const log = (message: string) => process.stderr.write(`${message}\n`);
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * FP32 peaks (non-tensor-core, dense, boost clock) from the vendors' data sheets, matched on the
 * adapter's description. Unknown adapters get none.
 */
const FP32_PEAK_TFLOPS: readonly [RegExp, number, string][] = [
  [/H200/i, 67, 'NVIDIA H200 SXM'],
  [/H100.*PCIe/i, 51, 'NVIDIA H100 PCIe'],
  [/H100/i, 67, 'NVIDIA H100 SXM'],
  [/A100/i, 19.5, 'NVIDIA A100'],
  [/L40S/i, 91.6, 'NVIDIA L40S'],
  [/L4\b/i, 30.3, 'NVIDIA L4'],
  [/RTX 4090/i, 82.6, 'NVIDIA RTX 4090'],
  [/RTX 3090/i, 35.6, 'NVIDIA RTX 3090'],
  [/T4\b/i, 8.1, 'NVIDIA T4'],
  [/MI300X/i, 163.4, 'AMD MI300X'],
];

function peakOf(description: string): { tflops: number; source: string } | undefined {
  const hit = FP32_PEAK_TFLOPS.find(([pattern]) => pattern.test(description));
  return hit ? { tflops: hit[1], source: `${hit[2]} data sheet` } : undefined;
}


interface Workload {
  readonly name: string;
  readonly config: TrainConfig;
}

interface TrainingResult {
  readonly workload: string;
  readonly trainCount: number;
  readonly epochSeconds: number;
  readonly samplesPerSecond: number;
  readonly epochs: readonly number[];
  readonly setupSeconds: number | null;
  readonly tuned: number;
  readonly valAccuracy: number | undefined;
  readonly kernels: Readonly<Record<string, string>>;
}

async function train(gpu: Gpu, data: Awaited<ReturnType<typeof loadMnist>>, w: Workload, tune: boolean): Promise<TrainingResult> {
  const c = w.config;
  const model = await createModel(gpu, {
    layers: c.spec.layers,
    dropout: 0,
    optimizer: 'sgd',
    lr: c.lr,
    schedule: 'constant',
    batchSize: c.batchSize,
    epochs: c.epochs,
    trainSubset: c.trainSubset,
    valSplit: 10_000,
  });
  try {
    const epochs: number[] = [];
    let valAccuracy: number | undefined;
    const fit = await model.fit(data.train, {
      ...(tune ? { tune: true } : {}),
      onEpochEnd: (record) => {
        epochs.push(record.seconds);
        valAccuracy = record.valAccuracy;
        log(`  ${w.name} epoch ${record.epoch}: ${record.seconds.toFixed(2)} s, validation accuracy ${((record.valAccuracy ?? 0) * 100).toFixed(2)}%`);
      },
    });
    const epochSeconds = median(epochs.slice(1).length ? epochs.slice(1) : epochs);
    return {
      workload: w.name,
      trainCount: fit.trainCount,
      epochSeconds,
      samplesPerSecond: fit.trainCount / epochSeconds,
      epochs,
      setupSeconds: fit.setup?.seconds ?? null,
      tuned: fit.setup?.tuning?.products ?? 0,
      valAccuracy,
      kernels: fit.setup?.kernels ?? {},
    };
  } finally {
    model.dispose();
  }
}

/** Runs `dispatches` `reps` times in one pass, waits; wall ms per repetition. */
async function timed(device: GPUDevice, dispatches: readonly Dispatch[], reps: number): Promise<number> {
  const start = performance.now();
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (let i = 0; i < reps; i++) encodeDispatches(pass, dispatches);
  pass.end();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  return (performance.now() - start) / reps;
}

/** Median ms per run over a few measurements of about `targetMs` each. */
async function msPerRun(device: GPUDevice, dispatches: readonly Dispatch[], targetMs: number): Promise<number> {
  await timed(device, dispatches, 1);
  const once = await timed(device, dispatches, 2);
  const reps = Math.max(1, Math.min(1000, Math.round(targetMs / Math.max(once, 1e-3))));
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) samples.push(await timed(device, dispatches, reps));
  return median(samples);
}

interface ProductRate {
  readonly workload: string;
  readonly product: string;
  readonly shape: string; // MxKxN of the product as C[M, N] = A[M, K]·B[K, N]
  readonly variant: string;
  readonly ms: number;
  readonly gflops: number;
}

/** "forward 128x784->256 …" → 128x784x256; "input-grad 128x256<-128 …" → 128x128x256; "weight-grad 256x784 over 128 …" → 256x128x784. */
function shapeOf(key: string): string {
  let m = /^forward (\d+)x(\d+)->(\d+)/.exec(key);
  if (m) return `${m[1]}x${m[2]}x${m[3]}`;
  m = /^input-grad (\d+)x(\d+)<-(\d+)/.exec(key);
  if (m) return `${m[1]}x${m[3]}x${m[2]}`;
  m = /^weight-grad (\d+)x(\d+) over (\d+)/.exec(key);
  if (m) return `${m[1]}x${m[3]}x${m[2]}`;
  return key;
}

/** The training step's and evaluation's products of a model, in the variants the tuning cache chose, timed one by one. */
async function productRates(gpu: Gpu, w: Workload): Promise<ProductRate[]> {
  const workspace = workspaceOf(gpu);
  const context = workspace.gpu;
  const { config } = w;
  const IN = config.spec.layers[0];
  const make = (name: string, n: number) => Dataset.create({ name, features: new Uint8Array(n * IN), labels: new Uint8Array(n) });
  const data = { train: make('bench train', config.batchSize), validation: make('bench validation', config.evalBatchSize) };
  const session = workspace.session(data);
  const { choices, exclude } = await tuningFor(context).selection();
  const selection: Required<MatmulSelection> = { choices, exclude, log: [] };
  const engine = await createGpuEngine(session, config.spec, config.optimizer, { ...config, matmul: selection });
  const targetMs = context.report.kind === 'gpu' ? 20 : 100;
  try {
    const seen = new Set<string>();
    const rates: ProductRate[] = [];
    for (const product of selection.log as MatmulProduct[]) {
      if (seen.has(product.key)) continue;
      seen.add(product.key);
      const ms = await msPerRun(context.device, await product.rerecord(product.variant), targetMs);
      rates.push({ workload: w.name, product: product.key, shape: shapeOf(product.key), variant: product.variant, ms, gflops: product.flops / ms / 1e6 });
    }
    return rates;
  } finally {
    engine.close();
    workspace.release(data.train);
    workspace.release(data.validation);
  }
}

/** A cube C = X·Wᵀ (forward form, no epilogue work beyond identity) in every variant the device supports. */
async function cube(gpu: Gpu, n: number): Promise<{ variant: string; ms: number; gflops: number }[]> {
  const workspace = workspaceOf(gpu);
  const context = workspace.gpu;
  const arena = new BufferArena(context.device);
  const ctx = { device: context.device, cache: workspace.cache, arena, adapterKind: context.report.kind };
  try {
    const values = new Float32Array(n * n).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
    const io = { x: arena.tensorWithData('x', values), w: arena.tensorWithData('w', values), b: arena.tensor('b', n * 4), y: arena.tensor('y', n * n * 4) };
    const out = [];
    for (const variant of MATMUL_VARIANTS.filter((v) => matmulVariantSupported(context.device, v) && (v !== 'naive' || context.report.kind === 'gpu'))) {
      // One dispatch (no bands): the kernel's own rate.
      const dispatches = await matmulForward(ctx, io, { B: n, IN: n, OUT: n, activation: 'identity' }, variant, { macs: Infinity });
      await workspace.cache.warm(dispatches);
      const ms = await msPerRun(context.device, dispatches, context.report.kind === 'gpu' ? 50 : 500);
      out.push({ variant, ms, gflops: (2 * n ** 3) / ms / 1e6 });
      log(`  ${n}³ ${variant}: ${ms.toFixed(2)} ms, ${((2 * n ** 3) / ms / 1e6).toFixed(1)} GFLOP/s`);
    }
    return out;
  } finally {
    arena.destroy();
  }
}

function runPython(python: string, args: readonly string[]): Promise<Record<string, unknown> | { error: string }> {
  return new Promise((resolve) => {
    const child = spawn(python, ['-B', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', (e) => resolve({ error: e.message }));
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      resolve(code === 0 && line ? JSON.parse(line) : { error: stderr.trim().split('\n').slice(-1)[0] ?? `exit ${code}` });
    });
  });
}

async function main(): Promise<void> {
  const started = new Date();
  const gpu = await openGpu();
  const report = gpu.adapter;
  const software = report.kind === 'cpu';
  const epochs = Number(value('epochs') ?? (software ? 2 : 3));
  const subset = value('train-subset') ? Number(value('train-subset')) : undefined;
  const tune = flag('tune');
  const python = value('python') ?? '/usr/bin/python3';
  const load0 = loadavg()[0];
  log(`adapter: ${gpu.name}`);
  const workloads: Workload[] = [
    { name: 'W1 784-256-128-10 batch 128', config: { ...plainSgd([784, 256, 128, 10], 128), epochs, trainSubset: subset ?? 0 } },
    { name: 'W2 784-1024-1024-10 batch 256', config: { ...plainSgd([784, 1024, 1024, 10], 256), epochs, trainSubset: subset ?? (software ? 10_000 : 0) } },
  ];
  const data = await loadMnist();

  const training: TrainingResult[] = [];
  for (const w of workloads) {
    log(`training ${w.name}, ${epochs} epochs${w.config.trainSubset ? ` on ${w.config.trainSubset} images` : ''}`);
    training.push(await train(gpu, data, w, tune));
  }

  log('host time per step (W1)');
  let host: HostCost;
  {
    const workspace = workspaceOf(gpu);
    const config = { ...workloads[0].config, trainSubset: 0 };
    const session = new GpuSession(workspace.gpu, { train: data.train.slice(0, 50_000, 'train') }, workspace.cache);
    const engine = await createGpuEngine(session, config.spec, config.optimizer, config);
    try {
      host = await measureHostCost(workspace.gpu, engine, config, 2);
    } finally {
      engine.close();
      session.destroy();
    }
    log(`  issue ${host.issueMicros.toFixed(1)} µs/step, trainer ${host.trainerMicros.toFixed(1)} µs/step`);
  }

  log('matmul products at the models\' shapes');
  const products: ProductRate[] = [];
  for (const w of workloads) products.push(...(await productRates(gpu, w)));
  const n = software ? 1024 : 4096;
  log(`matmul ${n}³`);
  const cubes = await cube(gpu, n);
  const peak = peakOf(`${report.description} ${report.device}`);

  let torch: Record<string, unknown> = { skipped: 'not run (--no-torch)' };
  if (!flag('no-torch')) {
    log('PyTorch');
    const device = 'cuda'; // torch_mlp.py and torch_matmul.py fall back to the CPU without CUDA
    const peers = [];
    for (const w of workloads) {
      const c = w.config;
      const args = ['bench/peers/torch_mlp.py', '--data-dir', defaultDataDir(), '--epochs', String(epochs), '--layers', c.spec.layers.join(','), '--dropout', '0', '--optimizer', 'sgd', '--lr', String(c.lr), '--batch-size', String(c.batchSize), '--device', device];
      const r = await runPython(python, args);
      if ('error' in r) {
        peers.push({ workload: w.name, error: r.error });
        continue;
      }
      const e = (r as { epochs: { seconds: number }[]; medianEpochSeconds: number; trainCount: number; cuda: string | null; version: string }).epochs;
      const s = (r as { medianEpochSeconds: number }).medianEpochSeconds;
      peers.push({ workload: w.name, version: r.version, device: r.cuda ?? 'cpu', epochSeconds: s, samplesPerSecond: (r.trainCount as number) / s, epochs: e.map((x) => x.seconds) });
      log(`  ${w.name}: ${s.toFixed(2)} s/epoch on ${r.cuda ?? 'the CPU'}`);
    }
    const shapes = [...new Set(products.map((p) => p.shape)), `${n}x${n}x${n}`, ...(software ? [] : ['4096x4096x4096'])];
    const matmul = await runPython(python, ['bench/peers/torch_matmul.py', '--device', device, ...new Set(shapes)]);
    torch = { training: peers, matmul };
  }

  const cpu = cpus();
  const result = {
    date: started.toISOString(),
    machine: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Linux ${release()}`,
    adapter: gpu.name,
    adapterReport: { vendor: report.vendor, architecture: report.architecture, device: report.device, description: report.description, kind: report.kind },
    versions: { 'webgpu-mlp': VERSION, node: process.versions.node },
    load: { before: load0, after: loadavg()[0] },
    fp32PeakTflops: peak ?? null,
    training,
    hostMicrosPerStep: host,
    products,
    cube: { n, variants: cubes },
    torch,
  };

  // The table.
  const lines: string[] = [];
  lines.push(`webgpu-mlp ${VERSION} on ${gpu.name}; ${result.machine}; FP32 peak ${peak ? `${peak.tflops} TFLOP/s (${peak.source})` : 'unknown'}`);
  lines.push('');
  // Seconds per epoch of 50,000 images, from samples/s (a software adapter trains W2 on a subset).
  lines.push('| workload | s / epoch (50,000) | samples/s | images timed per epoch | setup s (compile, tune) | val acc | PyTorch s / epoch | PyTorch samples/s |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  const torchRows = (torch as { training?: { workload: string; epochSeconds?: number; samplesPerSecond?: number; device?: string }[] }).training ?? [];
  for (const t of training) {
    const peer = torchRows.find((p) => p.workload === t.workload);
    lines.push(
      `| ${t.workload} | ${(50_000 / t.samplesPerSecond).toFixed(3)} | ${Math.round(t.samplesPerSecond).toLocaleString('en-US')} | ${t.trainCount.toLocaleString('en-US')} | ` +
        `${t.setupSeconds?.toFixed(2) ?? '-'}${t.tuned ? ` (${t.tuned} tuned)` : ''} | ${t.valAccuracy === undefined ? '-' : `${(100 * t.valAccuracy).toFixed(2)}%`} | ` +
        `${peer?.epochSeconds ? `${peer.epochSeconds.toFixed(3)} (${peer.device})` : '-'} | ${peer?.samplesPerSecond ? Math.round(peer.samplesPerSecond).toLocaleString('en-US') : '-'} |`,
    );
  }
  lines.push('');
  lines.push(`Host time per step (W1, main-thread CPU): ${host.issueMicros.toFixed(1)} µs issuing steps, ${host.trainerMicros.toFixed(1)} µs per step over whole trainer epochs.`);
  lines.push('');
  const torchMatmul = (torch as { matmul?: { results?: { shape: string; gflops: number }[]; device?: string } }).matmul;
  const torchRate = (shape: string) => torchMatmul?.results?.find((r) => r.shape === shape)?.gflops;
  lines.push(`| product (C[M,N] = A[M,K]·B[K,N]) | MxKxN | variant | ms | GFLOP/s | ${peak ? '% of peak | ' : ''}PyTorch GFLOP/s${torchMatmul?.device ? ` (${torchMatmul.device})` : ''} |`);
  lines.push(`|---|---|---|---:|---:|${peak ? '---:|' : ''}---:|`);
  const pct = (gflops: number) => (peak ? `${((100 * gflops) / (peak.tflops * 1000)).toFixed(1)}% | ` : '');
  for (const p of products) {
    lines.push(`| ${p.workload.split(' ')[0]} ${p.product} | ${p.shape} | ${p.variant} | ${p.ms.toFixed(3)} | ${p.gflops.toFixed(1)} | ${pct(p.gflops)}${torchRate(p.shape)?.toFixed(1) ?? '-'} |`);
  }
  for (const c of cubes) {
    lines.push(`| ${n}³ (one dispatch) | ${n}x${n}x${n} | ${c.variant} | ${c.ms.toFixed(3)} | ${c.gflops.toFixed(1)} | ${pct(c.gflops)}${torchRate(`${n}x${n}x${n}`)?.toFixed(1) ?? '-'} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');

  const out = value('out') ?? `runs/bench-gpu-${started.toISOString().replace(/[:.]/g, '-')}.json`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  log(`written ${out}`);
  gpu.close();
}

await main();
process.exit(0);
