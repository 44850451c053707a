// Training speed benchmark: `npm run bench` (node --import ./bin/register.mjs bench/speed.ts).
//
// The workload is `npm run train`'s default: 784-256-128-10 ReLU, dropout 0.2, softmax cross-entropy,
// Adam (lr 1e-3), batch 128, the 50,000 training images of MNIST (validation: the last 10,000 of the
// training file). In one run it measures, one after the other:
//   ours       the GPU trainer (runTrainer over the GPU engine, as `webgpu-mlp train` runs it) on the
//              present adapter: seconds per epoch (median of the epochs after the first, which warms up
//              shaders and caches), samples/s, validation time separately; other batch sizes too
//   cpu        the CPU reference engine (`--device cpu`): --cpu-steps steps timed, extrapolated to an epoch
//   numpy      bench/peers/numpy_mlp.py (float32, vectorised, OpenBLAS) with Debian's /usr/bin/python3
//   torch      bench/peers/torch_mlp.py (a plain nn.Module loop on the CPU, PyTorch's default threads)
//   tfjs       bench/peers/tfjs.ts: TensorFlow.js's WebGPU backend on the same adapter, in a child process;
//              a few hundred steps timed, extrapolated to an epoch
//   breakdown  where a step's time goes, from the recorded train-step dispatch list (TrainPlan.dispatches):
//              (1) full steps with a timestamped compute pass around every dispatch, so each kernel is
//              timed inside real steps and the shares come from one window of time; (2) the step
//              replayed in full, matmuls only, everything else and each kernel family alone, with the
//              CPU time of lavapipe's worker threads; (3) the trainer's own submission path. Cases
//              interleaved in rounds, medians, idle wait (as bench/timing.ts).
// Beside each wall-clock figure goes the CPU time the process burnt: this machine is shared, and
// wall-clock figures move with what else runs (see bench/RESULTS.md). Then the ratios to ours.
// A peer whose Python module or npm package is missing is skipped with a note.
//
// Options: --workload=default|w1-sgd|w2-sgd|small (what is trained, see WORKLOADS below)
//   --parts=ours,cpu,numpy,torch,tfjs,breakdown  --epochs=4  --extra-batch-sizes=64,256 (or none)
//   --cpu-steps=20  --tfjs-steps=100  --tfjs-rounds=3  --rounds=7 --breakdown-batch=128 (breakdown)
//   --python=/usr/bin/python3  --markdown (the tables for bench/RESULTS.md)  --json
//   --separate-dropout, --separate-bias-grad, --separate-output-layer (ours and breakdown: dropout or
//   the bias gradients as separate dispatches instead of inside the matmul dispatches, the output
//   layer as its own product instead of inside the loss's dispatch; all three give the step as it was)
//   --fuse-optimizer, --separate-optimizer (the optimizer step inside the weight grads' dispatches, or
//   a dispatch of its own; default: the adapter's, fused on GPUs, separate on software adapters)
//   --separate-output-step (with the optimizer fused: the output layer's backward and step in dispatches
//   of their own instead of inside the loss's)
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus, loadavg, release } from 'node:os';
import { DEFAULT_CONFIG, type TrainConfig } from '../src/train/config.ts';
import { prepareData, type RunData } from '../src/runs/data.ts';
import { defaultDataDir } from '../src/data/files.ts';
import type { Dataset } from '../src/data/dataset.ts';
import { BufferArena } from '../src/gpu/arena.ts';
import { adapterName, openGpu, type GpuContext } from '../src/gpu/device.ts';
import { encodeDispatches, type Dispatch } from '../src/gpu/program.ts';
import type { StepParams } from '../src/kernels/step-params.ts';
import type { KernelContext } from '../src/kernels/context.ts';
import { initialParams } from '../src/model/init.ts';
import { describeSpec } from '../src/model/spec.ts';
import { CpuEngine } from '../src/train/cpu-engine.ts';
import { createGpuEngine, GpuSession } from '../src/train/gpu-engine.ts';
import { GpuParameters } from '../src/train/gpu-model.ts';
import { TrainPlan } from '../src/train/plan.ts';
import { epochOrder, runTrainer, type EpochRecord } from '../src/train/trainer.ts';
import { VERSION } from '../src/version.ts';
import { workerCpuNs } from './timing.ts';
import { plainSgd } from './workloads.ts';

/**
 * What is trained (--workload): `default` is npm run train's model; `w1-sgd` the same layers with
 * plain SGD and no dropout (where NumPy runs at OpenBLAS's sgemm rate); `w2-sgd` 784-1024-1024-10 at
 * batch 256; `small` 784-32-10 at batch 32, where per-step overhead, not arithmetic, sets the pace.
 */
const WORKLOADS: Record<string, TrainConfig> = {
  default: DEFAULT_CONFIG,
  'w1-sgd': plainSgd([784, 256, 128, 10], 128),
  'w2-sgd': plainSgd([784, 1024, 1024, 10], 256),
  small: plainSgd([784, 32, 10], 32),
};
let W: TrainConfig = DEFAULT_CONFIG;
/** The workload's flags for the peers. */
const peerFlags = () => ({ layers: W.spec.layers.join(','), dropout: String(W.spec.dropout), optimizer: W.optimizer.kind, lr: String(W.lr), 'batch-size': String(W.batchSize) });

const PARTS = ['ours', 'cpu', 'numpy', 'torch', 'tfjs', 'breakdown'] as const;
type Part = (typeof PARTS)[number];

interface Args {
  parts: ReadonlySet<Part>;
  epochs: number;
  extraBatchSizes: readonly number[];
  cpuSteps: number;
  tfjsSteps: number;
  tfjsRounds: number;
  rounds: number;
  breakdownBatch: number;
  python: string;
  markdown: boolean;
  json: boolean;
  /** TrainPlanOptions.fuseDropout, fuseBiasGrad, fuseOutputLayer, fuseOptimizer and fuseOutputStep for ours and the breakdown. */
  fusion: { fuseDropout: boolean; fuseBiasGrad: boolean; fuseOutputLayer: boolean; fuseOptimizer?: boolean; fuseOutputStep: boolean };
}

function parseArgs(argv: readonly string[]): Args {
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const int = (name: string, fallback: number, min = 1) => {
    const n = Number(value(name) ?? fallback);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
    return n;
  };
  const parts = (value('parts') ?? PARTS.join(',')).split(',') as Part[];
  for (const part of parts) if (!PARTS.includes(part)) throw new Error(`unknown part ${part}; known: ${PARTS.join(', ')}`);
  const extra = value('extra-batch-sizes') ?? '64,256';
  const workload = value('workload') ?? 'default';
  if (!WORKLOADS[workload]) throw new Error(`unknown workload ${workload}; known: ${Object.keys(WORKLOADS).join(', ')}`);
  W = WORKLOADS[workload];
  return {
    parts: new Set(parts),
    epochs: int('epochs', 4, 2),
    extraBatchSizes: extra === 'none' ? [] : extra.split(',').map(Number),
    cpuSteps: int('cpu-steps', 20),
    tfjsSteps: int('tfjs-steps', 100),
    tfjsRounds: int('tfjs-rounds', 3),
    rounds: int('rounds', 7),
    breakdownBatch: int('breakdown-batch', WORKLOADS[workload].batchSize),
    python: value('python') ?? '/usr/bin/python3',
    markdown: argv.includes('--markdown'),
    json: argv.includes('--json'),
    fusion: {
      fuseDropout: !argv.includes('--separate-dropout'),
      fuseBiasGrad: !argv.includes('--separate-bias-grad'),
      fuseOutputLayer: !argv.includes('--separate-output-layer'),
      fuseOutputStep: !argv.includes('--separate-output-step'),
      ...(argv.includes('--fuse-optimizer') ? { fuseOptimizer: true } : argv.includes('--separate-optimizer') ? { fuseOptimizer: false } : {}),
    },
  };
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
};
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const log = (message: string) => process.stderr.write(`${message}\n`);
const load = () => loadavg()[0];

/** One line of the epoch table. */
interface SpeedRow {
  readonly engine: string;
  /** Where it ran: the adapter, or the BLAS and threads. */
  readonly runtime: string;
  readonly batchSize: number;
  /** Seconds per epoch (training steps only); undefined when skipped. */
  readonly epochSeconds?: number;
  /**
   * CPU seconds per epoch, all threads of the process (median, like epochSeconds): what the engine
   * burns, whatever the machine delivers. Includes busy-waiting (Dawn's poll, OpenBLAS's spinning).
   */
  readonly cpuSeconds?: number;
  /** Slowest and fastest measured epoch (or round, extrapolated). */
  readonly range?: readonly [number, number];
  readonly evalSeconds?: number;
  /** How the figure was obtained: "median of 3 epochs", "40 steps, extrapolated". */
  readonly method: string;
  /** Why it was skipped, or a remark (first epoch, accuracy reached). */
  readonly note?: string;
  /** Mean 1-minute load average over the measurement. */
  readonly load?: number;
}

const samplesPerSecond = (row: SpeedRow, trainCount: number) => (row.epochSeconds ? trainCount / row.epochSeconds : undefined);
/** CPU seconds of this process so far, all threads. */
const processCpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

// ---------------------------------------------------------------------------------------------
// Ours: the GPU trainer, exactly as `webgpu-mlp train` drives it.

function configFor(batchSize: number, epochs: number): TrainConfig {
  return { ...W, batchSize, epochs };
}

async function measureOurs(session: GpuSession, data: RunData & { readonly test: Dataset }, batchSize: number, epochs: number, fusion: Args['fusion']): Promise<SpeedRow> {
  const config = configFor(batchSize, epochs);
  const load0 = load();
  const engine = await createGpuEngine(session, config.spec, config.optimizer, { ...config, ...fusion });
  let history: EpochRecord[];
  // CPU time of each epoch's training: from the end of the previous epoch's validation to its last step.
  const cpu: number[] = [];
  try {
    engine.writeParams(initialParams(config.spec, config.init, config.seed));
    let epochCpuStart = processCpuSeconds();
    // As the CLI: 10 progress readbacks per epoch.
    const outcome = await runTrainer(engine, { ...config, progressPerEpoch: 10 }, {
      progress: (e) => {
        if (e.step !== e.stepsPerEpoch) return;
        cpu.push(processCpuSeconds() - epochCpuStart);
        log(`  ours B=${batchSize} epoch ${e.epoch}: ${(data.train.count / e.samplesPerSecond).toFixed(2)} s, CPU ${cpu.at(-1)!.toFixed(2)} s`);
      },
      epochEnd: () => {
        epochCpuStart = processCpuSeconds();
      },
    });
    history = outcome.state.history;
  } finally {
    engine.close();
  }
  const measured = history.slice(1).map((r) => r.seconds);
  const last = history[history.length - 1];
  return {
    engine: 'ours (WebGPU)',
    runtime: `${session.gpu.report.description || session.gpu.report.device} (Dawn, Node)`,
    batchSize,
    epochSeconds: median(measured),
    cpuSeconds: median(cpu.slice(1)),
    range: [Math.min(...measured), Math.max(...measured)],
    evalSeconds: median(history.slice(1).map((r) => r.evalSeconds)),
    method: `median of ${measured.length} epochs after a first of ${history[0].seconds.toFixed(2)} s (warm-up)`,
    note: `val acc ${((last.valAccuracy ?? 0) * 100).toFixed(2)}% after ${history.length} epochs`,
    load: (load0 + load()) / 2,
  };
}

// ---------------------------------------------------------------------------------------------
// The CPU reference engine: a number of steps, extrapolated.

function stepParams(config: TrainConfig, trainCount: number, s: number, t = s + 1): StepParams {
  const B = config.batchSize;
  return { t, batchStart: s * B, rows: Math.min(B, trainCount - s * B), record: s, lr: config.lr, beta1: config.optimizer.beta1, beta2: config.optimizer.beta2 };
}

async function measureCpuReference(data: RunData & { readonly test: Dataset }, steps: number): Promise<SpeedRow> {
  const config = configFor(W.batchSize, 1);
  const load0 = load();
  const engine = new CpuEngine(config.spec, config.optimizer, initialParams(config.spec, config.init, config.seed), { train: data.train }, config);
  engine.setOrder(epochOrder(config.seed, 0, data.train.count));
  const times: number[] = [];
  const cpu: number[] = [];
  for (let s = 0; s < steps + 2; s++) {
    const start = performance.now();
    const cpu0 = processCpuSeconds();
    await engine.runSteps([stepParams(config, data.train.count, s)]);
    if (s < 2) continue; // the first two warm up the JIT
    times.push(performance.now() - start);
    cpu.push((processCpuSeconds() - cpu0) * 1000);
  }
  const perEpoch = (ms: number) => (ms * engine.stepsPerEpoch) / 1000;
  return {
    engine: 'CPU reference (--device cpu)',
    runtime: 'float64 JS loops, 1 thread',
    batchSize: config.batchSize,
    epochSeconds: perEpoch(median(times)),
    cpuSeconds: perEpoch(median(cpu)),
    range: [perEpoch(Math.min(...times)), perEpoch(Math.max(...times))],
    method: `median of ${steps} steps × ${engine.stepsPerEpoch} steps (extrapolated)`,
    note: 'validation not timed',
    load: (load0 + load()) / 2,
  };
}

// ---------------------------------------------------------------------------------------------
// Peers in child processes: each prints one JSON line last on stdout.

interface PeerRun {
  readonly ok: boolean;
  readonly report?: Record<string, unknown>;
  /** The end of stderr, for a skip note. */
  readonly error?: string;
}

function runPeer(command: string, args: readonly string[]): Promise<PeerRun> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      for (const line of String(chunk).split('\n')) if (line.startsWith('tfjs:')) log(`  ${line}`);
    });
    child.on('error', (error) => resolve({ ok: false, error: error.message }));
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      if (code === 0 && line) resolve({ ok: true, report: JSON.parse(line) });
      else {
        const lines = stderr.trim().split('\n').filter((l) => !l.startsWith('Warning:'));
        resolve({ ok: false, error: lines.slice(-1)[0] ?? `exit code ${code}` });
      }
    });
  });
}

interface PythonEpoch {
  seconds: number;
  cpuSeconds: number;
  evalSeconds: number;
  valAccuracy: number;
}

interface PythonReport {
  peer: string;
  version: string;
  numpy: string;
  blas: { name?: string; config?: string; threads?: number; 'libblas.so.3'?: string };
  threads?: number;
  epochs: PythonEpoch[];
  medianEpochSeconds: number;
  medianEvalSeconds: number;
}

/** "OpenBLAS 0.3.21 (Cooperlake kernels), 2 BLAS threads", from openblas_get_config() and openblas_get_num_threads(). */
function describeBlas(report: PythonReport): string {
  const { config, name, threads } = report.blas;
  const words = config?.split(' ') ?? [];
  const core = words[words.findIndex((w) => w.startsWith('MAX_THREADS')) - 1];
  const label = config ? `${words.slice(0, 2).join(' ')}${core ? ` (${core} kernels)` : ''}` : (name ?? 'unknown BLAS');
  return `${label}${threads ? `, ${threads} BLAS threads` : ''}`;
}

async function measurePython(args: Args, peer: 'numpy' | 'torch'): Promise<SpeedRow> {
  const script = peer === 'numpy' ? 'bench/peers/numpy_mlp.py' : 'bench/peers/torch_mlp.py';
  const engine = peer === 'numpy' ? 'NumPy' : 'PyTorch (CPU)';
  const load0 = load();
  // -B: no __pycache__ next to the scripts.
  const flags = Object.entries(peerFlags()).flatMap(([k, v]) => [`--${k}`, v]);
  const run = await runPeer(args.python, ['-B', script, '--data-dir', defaultDataDir(), '--epochs', String(args.epochs), ...flags]);
  if (!run.ok) return { engine, runtime: args.python, batchSize: W.batchSize, method: 'skipped', note: `skipped: ${run.error}` };
  const report = run.report as unknown as PythonReport;
  const measured = report.epochs.slice(1).map((e) => e.seconds);
  const last = report.epochs[report.epochs.length - 1];
  const threads = peer === 'torch' ? `; ${report.threads} intra-op thread${report.threads === 1 ? '' : 's'} (PyTorch's default)` : '';
  return {
    engine: `${engine} ${report.version}`,
    runtime: `${describeBlas(report)}${threads}`,
    batchSize: W.batchSize,
    epochSeconds: report.medianEpochSeconds,
    cpuSeconds: median(report.epochs.slice(1).map((e) => e.cpuSeconds)),
    range: [Math.min(...measured), Math.max(...measured)],
    evalSeconds: report.medianEvalSeconds,
    method: `median of ${measured.length} epochs after a first of ${report.epochs[0].seconds.toFixed(2)} s`,
    note: `val acc ${(last.valAccuracy * 100).toFixed(2)}% after ${report.epochs.length} epochs`,
    load: (load0 + load()) / 2,
  };
}

interface TfjsReport {
  version: string;
  adapter: string;
  stepsPerEpoch: number;
  warmupSteps: number;
  stepsPerRound: number;
  msPerStep: number[];
  cpuMsPerStep: number[];
  medianEpochSeconds: number;
  medianEvalSeconds: number;
  valAccuracy: number;
}

async function measureTfjs(args: Args): Promise<SpeedRow> {
  const engine = 'TensorFlow.js (WebGPU backend)';
  const load0 = load();
  const run = await runPeer(process.execPath, [
    '--import',
    './bin/register.mjs',
    'bench/peers/tfjs.ts',
    `--steps=${args.tfjsSteps}`,
    `--rounds=${args.tfjsRounds}`,
    ...Object.entries(peerFlags()).map(([k, v]) => `--${k}=${v}`),
  ]);
  if (!run.ok) return { engine, runtime: 'same adapter', batchSize: W.batchSize, method: 'skipped', note: `skipped: ${run.error}` };
  const report = run.report as unknown as TfjsReport;
  const epoch = (ms: number) => (ms * report.stepsPerEpoch) / 1000;
  const trained = report.warmupSteps + report.stepsPerRound * report.msPerStep.length;
  return {
    engine: `TensorFlow.js ${report.version} (WebGPU backend)`,
    runtime: `${report.adapter} (Dawn, Node)`,
    batchSize: W.batchSize,
    epochSeconds: report.medianEpochSeconds,
    cpuSeconds: epoch(median(report.cpuMsPerStep)),
    range: [epoch(Math.min(...report.msPerStep)), epoch(Math.max(...report.msPerStep))],
    evalSeconds: report.medianEvalSeconds,
    method: `median of ${report.msPerStep.length} rounds of ${report.stepsPerRound} steps × ${report.stepsPerEpoch} (extrapolated)`,
    note: `val acc ${(report.valAccuracy * 100).toFixed(2)}% after ${trained} steps`,
    load: (load0 + load()) / 2,
  };
}

// ---------------------------------------------------------------------------------------------
// The step breakdown: the recorded train step (TrainPlan.dispatches), replayed whole and in parts.

interface BreakdownCase {
  readonly name: string;
  readonly dispatchCount: number;
  /** Most steps one measurement may run (the timestamp query set's size). */
  readonly maxSteps?: number;
  /** Submits `steps` steps; the function returned waits for them (a GPU promise: Dawn busy-polls). */
  submit(steps: number): () => Promise<unknown>;
}

/** Medians per step over the interleaved rounds. */
export interface CaseTiming {
  readonly name: string;
  readonly dispatchCount: number;
  readonly wallMs: number;
  /** CPU ms of the threads other than the main one: lavapipe's workers (Linux only). */
  readonly workerMs: number | undefined;
  /** CPU ms of the main thread: JS, encoding, submitting, waiting. */
  readonly mainMs: number | undefined;
  readonly steps: number;
}

export interface FamilyTiming {
  readonly family: string;
  readonly dispatchCount: number;
  /** ms per step inside a full step, from timestamps at the passes around each dispatch. */
  readonly inStepMs: number | undefined;
  /** The family's dispatches replayed alone. */
  readonly alone: CaseTiming;
}

export interface Breakdown {
  readonly batchSize: number;
  readonly stepsPerEpoch: number;
  /** The trainer's path, the full step replayed in one pass, the same with a pass per dispatch and timestamps. */
  readonly trainer: CaseTiming;
  readonly full: CaseTiming;
  readonly timestamped: CaseTiming | undefined;
  readonly matmuls: CaseTiming;
  readonly rest: CaseTiming;
  readonly families: readonly FamilyTiming[];
  /** From the timestamps: the whole step, and the time between one dispatch's pass and the next. */
  readonly inStepTotalMs: number | undefined;
  readonly inStepGapMs: number | undefined;
}

/** The kernel family of a dispatch label: "matmulForward 128x784->256 relu [subgroup]" → "matmulForward". */
function family(label: string): string {
  return label.split(/[\s[]/)[0];
}
const isMatmul = (name: string) => name.startsWith('matmul');

/**
 * A full step with each dispatch in its own compute pass whose begin and end are timestamped, so the
 * time of every dispatch is measured inside real steps, in order, with the same cache and load
 * conditions as its neighbours. Needs 'timestamp-query' (and Dawn's timestamp quantization off).
 */
function timestampedStep(device: GPUDevice, dispatches: readonly Dispatch[], slots: number) {
  const D = dispatches.length;
  const maxSteps = Math.floor(4096 / (2 * D)); // a query set holds at most 4096 queries
  const querySet = device.createQuerySet({ label: 'breakdown timestamps', type: 'timestamp', count: 2 * D * maxSteps });
  const bytes = 2 * D * maxSteps * 8;
  const resolved = device.createBuffer({ label: 'breakdown timestamps', size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const readback = device.createBuffer({ label: 'breakdown timestamps readback', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  /** Per measurement: ns per dispatch index summed over its steps, the gaps, the span, and the step count. */
  const samples: { perDispatch: Float64Array; gaps: number; span: number; steps: number }[] = [];
  const testCase: BreakdownCase = {
    name: 'full step, a pass per dispatch, timestamped',
    dispatchCount: D,
    maxSteps,
    submit(steps) {
      const encoder = device.createCommandEncoder({ label: 'breakdown timestamped step' });
      for (let k = 0; k < steps; k++) {
        dispatches.forEach((d, i) => {
          const q = 2 * (k * D + i);
          const pass = encoder.beginComputePass({ label: d.label, timestampWrites: { querySet, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 } });
          encodeDispatches(pass, [d], k % slots);
          pass.end();
        });
      }
      encoder.resolveQuerySet(querySet, 0, 2 * D * steps, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, readback, 0, 2 * D * steps * 8);
      device.queue.submit([encoder.finish()]);
      return async () => {
        await readback.mapAsync(GPUMapMode.READ, 0, 2 * D * steps * 8);
        const t = new BigUint64Array(readback.getMappedRange(0, 2 * D * steps * 8).slice(0));
        readback.unmap();
        const perDispatch = new Float64Array(D);
        let gaps = 0;
        for (let k = 0; k < steps; k++) {
          for (let i = 0; i < D; i++) {
            const q = 2 * (k * D + i);
            perDispatch[i] += Number(t[q + 1] - t[q]);
            if (q > 0) gaps += Number(t[q] - t[q - 1]);
          }
        }
        samples.push({ perDispatch, gaps, span: Number(t[2 * D * steps - 1] - t[0]), steps });
      };
    },
  };
  return { testCase, samples, destroy: () => [querySet, resolved, readback].forEach((o) => o.destroy()) };
}

async function measureBreakdown(
  gpu: GpuContext,
  session: GpuSession,
  data: RunData & { readonly test: Dataset },
  rounds: number,
  batchSize: number,
  fusion: Args['fusion'],
): Promise<Breakdown> {
  const config = configFor(batchSize, 1);
  const { device } = gpu;
  const N = data.train.count;
  const S = Math.ceil(N / config.batchSize);
  const arena = new BufferArena(device);
  const ctx: KernelContext = { device, cache: session.cache, arena, adapterKind: gpu.report.kind };
  let timestamps: ReturnType<typeof timestampedStep> | undefined;
  try {
    const model = new GpuParameters(arena, config.spec, config.optimizer.kind);
    model.writeParams(initialParams(config.spec, config.init, config.seed));
    // One StepParams slot per step of the epoch, so replays gather every batch of an epoch in turn,
    // as training does (a replay of one batch would keep the gathered images in the cache).
    const plan = await TrainPlan.create(ctx, config.spec, config.optimizer, model, session.sets.train, {
      batchSize: config.batchSize,
      stepsPerSubmit: S,
      stepsPerEpoch: S,
      seed: config.seed,
      ...fusion,
    });
    plan.setOrder(epochOrder(config.seed, 0, N));
    plan.submit(Array.from({ length: S }, (_, s) => stepParams(config, N, s))); // fills every slot; compiles every shader
    await device.queue.onSubmittedWorkDone();

    const replay = (name: string, dispatches: readonly Dispatch[]): BreakdownCase => ({
      name,
      dispatchCount: dispatches.length,
      submit(steps) {
        const encoder = device.createCommandEncoder({ label: `replay ${name}` });
        const pass = encoder.beginComputePass({ label: `replay ${name}` });
        for (let i = 0; i < steps; i++) encodeDispatches(pass, dispatches, i % S);
        pass.end();
        device.queue.submit([encoder.finish()]);
        return () => device.queue.onSubmittedWorkDone();
      },
    });
    // What the trainer does: StepParams written and one submit per stepsPerSubmit steps, then a
    // readback of step records (the trainer reads them 10 times per epoch).
    let next = 0;
    const trainerPath: BreakdownCase = {
      name: `trainer path (${config.stepsPerSubmit} steps per submit, records read back)`,
      dispatchCount: plan.dispatches.length,
      submit(steps) {
        const first = next % S;
        for (let done = 0; done < steps; done += config.stepsPerSubmit) {
          const count = Math.min(config.stepsPerSubmit, steps - done);
          plan.submit(Array.from({ length: count }, (_, k) => stepParams(config, N, (next + k) % S, next + k + 1)));
          next += count;
        }
        return plan.requestRecords(first, 1);
      },
    };
    const families = [...new Set(plan.dispatches.map((d) => family(d.label)))];
    const ofFamily = (f: string) => plan.dispatches.filter((d) => family(d.label) === f);
    timestamps = device.features.has('timestamp-query') ? timestampedStep(device, plan.dispatches, S) : undefined;
    const cases: BreakdownCase[] = [
      trainerPath,
      replay('full step, replayed', plan.dispatches),
      ...(timestamps ? [timestamps.testCase] : []),
      replay('matmuls only', plan.dispatches.filter((d) => isMatmul(family(d.label)))),
      replay('everything but matmuls', plan.dispatches.filter((d) => !isMatmul(family(d.label)))),
      ...families.map((f) => replay(f, ofFamily(f))),
    ];
    const timings = await timeCases(cases, rounds);
    const byName = (name: string) => timings.find((t) => t.name === name)!;

    let inStep: { familyMs: Map<string, number>; total: number; gap: number } | undefined;
    if (timestamps) {
      // Warm-up and probe measurements are dropped: the rounds' samples are the last `rounds`.
      const rows = timestamps.samples.slice(-rounds);
      const perStep = (ns: number, steps: number) => ns / steps / 1e6;
      const familyMs = new Map(
        families.map((f) => [
          f,
          median(rows.map((r) => perStep(plan.dispatches.reduce((sum, d, i) => sum + (family(d.label) === f ? r.perDispatch[i] : 0), 0), r.steps))),
        ]),
      );
      inStep = {
        familyMs,
        total: median(rows.map((r) => perStep(r.span, r.steps))),
        gap: median(rows.map((r) => perStep(r.gaps, r.steps))),
      };
    }
    return {
      batchSize: config.batchSize,
      stepsPerEpoch: S,
      trainer: timings[0],
      full: timings[1],
      timestamped: timestamps ? timings[2] : undefined,
      matmuls: byName('matmuls only'),
      rest: byName('everything but matmuls'),
      families: families.map((f) => ({ family: f, dispatchCount: ofFamily(f).length, inStepMs: inStep?.familyMs.get(f), alone: byName(f) })),
      inStepTotalMs: inStep?.total,
      inStepGapMs: inStep?.gap,
    };
  } finally {
    timestamps?.destroy();
    arena.destroy();
  }
}

/**
 * Interleaved rounds; each measurement runs enough steps for about TARGET_MS; medians per step.
 * Idle wait as in bench/timing.ts: sleep for 90% of the expected time before awaiting, the estimate
 * starting from a spinning measurement, shrinking by 10% when the work was done on waking (we
 * overslept) and reset to the measured time when we had to wait on.
 */
async function timeCases(cases: readonly BreakdownCase[], rounds: number): Promise<CaseTiming[]> {
  const TARGET_MS = 400;
  const measure = async (c: BreakdownCase, steps: number, sleepMs: number) => {
    const cpu0 = process.cpuUsage();
    const workers0 = workerCpuNs();
    const start = performance.now();
    const done = c.submit(steps);
    const remaining = sleepMs - (performance.now() - start);
    if (remaining > 1) await sleep(remaining);
    const woke = performance.now();
    await done();
    const end = performance.now();
    const workers1 = workerCpuNs();
    const cpu = process.cpuUsage(cpu0);
    const workerMs = workers0 === undefined || workers1 === undefined ? undefined : (workers1 - workers0) / 1e6;
    const mainMs = workerMs === undefined ? undefined : (cpu.user + cpu.system) / 1000 - workerMs;
    return { wallMs: end - start, tailMs: end - woke, workerMs, mainMs };
  };
  const state = [];
  for (const c of cases) {
    await measure(c, 4, 0); // warm-up
    const probe = await measure(c, 16, 0);
    const steps = Math.max(16, Math.min(c.maxSteps ?? 4000, 4 * Math.round(TARGET_MS / (probe.wallMs / 16) / 4)));
    const first = await measure(c, steps, 0);
    state.push({ c, steps, estimate: first.wallMs, wall: [] as number[], worker: [] as number[], main: [] as number[] });
  }
  for (let round = 0; round < rounds; round++) {
    for (const s of state) {
      const r = await measure(s.c, s.steps, 0.9 * s.estimate);
      s.estimate = r.tailMs < 0.5 ? s.estimate * 0.9 : r.wallMs;
      s.wall.push(r.wallMs / s.steps);
      if (r.workerMs !== undefined && r.mainMs !== undefined) {
        s.worker.push(r.workerMs / s.steps);
        s.main.push(r.mainMs / s.steps);
      }
    }
    log(`  breakdown round ${round + 1}/${rounds}: ${state.slice(0, 3).map((s) => `${s.c.name.split(/[,(]/)[0].trim()} ${s.wall.at(-1)!.toFixed(2)} ms`).join(', ')}`);
  }
  return state.map((s) => ({
    name: s.c.name,
    dispatchCount: s.c.dispatchCount,
    wallMs: median(s.wall),
    workerMs: s.worker.length ? median(s.worker) : undefined,
    mainMs: s.main.length ? median(s.main) : undefined,
    steps: s.steps,
  }));
}

// ---------------------------------------------------------------------------------------------
// Output.

interface Results {
  date: string;
  machine: string;
  adapter?: string;
  versions: Record<string, string>;
  command: string;
  trainCount: number;
  stepsPerEpoch: number;
  rows: SpeedRow[];
  breakdown?: Breakdown;
  loadBefore: number;
  loadAfter: number;
}

const f2 = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(2));
const f1 = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(1));
const thousands = (n: number | undefined) => (n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));
const pct = (part: number | undefined, whole: number | undefined) => (part === undefined || !whole ? '–' : `${((100 * part) / whole).toFixed(0)}%`);

/** ours-at-B=128 time relative to each row: "3.1× faster" / "2.0× slower". */
function ratio(ours: SpeedRow | undefined, row: SpeedRow): string {
  if (!ours?.epochSeconds || !row.epochSeconds || row.engine === ours.engine || row.batchSize !== ours.batchSize) return '';
  const r = row.epochSeconds / ours.epochSeconds;
  return r >= 1 ? `ours ${r.toFixed(1)}× faster` : `ours ${(1 / r).toFixed(1)}× slower`;
}

/** A table as markdown, or as aligned plain text for the terminal. Columns: [title, align right?]. */
function renderTable(columns: readonly (readonly [string, boolean])[], rows: readonly string[][], markdown: boolean): string[] {
  if (markdown) {
    return [
      `| ${columns.map(([title]) => title).join(' | ')} |`,
      `|${columns.map(([, right]) => (right ? '---:' : '---')).join('|')}|`,
      ...rows.map((cells) => `| ${cells.join(' | ')} |`),
    ];
  }
  const widths = columns.map(([title], i) => Math.max(title.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (columns[i][1] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(columns.map(([title]) => title)), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function epochTable(results: Results, markdown: boolean): string[] {
  const ours = results.rows.find((r) => r.engine.startsWith('ours') && r.batchSize === W.batchSize);
  const columns = [
    ['engine', false], ['runs on', false], ['batch', true], ['s / epoch', true], ['min – max', true], ['samples/s', true], ['CPU s / epoch', true],
    ['validation s', true], ['vs ours', false], ['how measured', false], ['load', true], ['note', false],
  ] as const;
  const rows = results.rows.map((row) => [
    row.engine,
    row.runtime,
    String(row.batchSize),
    f2(row.epochSeconds),
    row.range ? `${f2(row.range[0])} – ${f2(row.range[1])}` : '–',
    thousands(samplesPerSecond(row, results.trainCount)),
    f2(row.cpuSeconds),
    f2(row.evalSeconds),
    ratio(ours, row),
    row.method,
    f1(row.load),
    row.note ?? '',
  ]);
  return renderTable(columns, rows, markdown);
}

function breakdownTables(b: Breakdown, markdown: boolean): string[] {
  const paths = [b.trainer, b.full, ...(b.timestamped ? [b.timestamped] : []), b.matmuls, b.rest];
  const pathTable = renderTable(
    [['what runs', false], ['dispatches / step', true], ['wall ms / step', true], ['lavapipe CPU ms / step', true], ['main thread CPU ms / step', true], ['steps / measurement', true]],
    paths.map((c) => [c.name, String(c.dispatchCount), f2(c.wallMs), f2(c.workerMs), f2(c.mainMs), String(c.steps)]),
    markdown,
  );
  // Shares of the sum of the per-family medians and the gaps, so they add up to 100%.
  const inStep = b.families.map((f) => f.inStepMs);
  const total = b.inStepGapMs === undefined || inStep.includes(undefined) ? undefined : inStep.reduce((s, ms) => s! + ms!, 0)! + b.inStepGapMs;
  const sorted = [...b.families].sort((x, y) => Number(isMatmul(y.family)) - Number(isMatmul(x.family)) || (y.inStepMs ?? y.alone.wallMs) - (x.inStepMs ?? x.alone.wallMs));
  const sum = (rows: readonly FamilyTiming[], pick: (f: FamilyTiming) => number | undefined) =>
    rows.every((f) => pick(f) !== undefined) ? rows.reduce((s, f) => s + pick(f)!, 0) : undefined;
  const group = (label: string, rows: readonly FamilyTiming[], extraMs = 0) => {
    const inStep = sum(rows, (f) => f.inStepMs);
    const cpu = sum(rows, (f) => f.alone.workerMs);
    return [label, String(rows.reduce((s, f) => s + f.dispatchCount, 0)), f2(inStep === undefined ? undefined : inStep + extraMs), pct(inStep === undefined ? undefined : inStep + extraMs, total), '', f2(cpu), pct(cpu, b.full.workerMs)];
  };
  const matmuls = b.families.filter((f) => isMatmul(f.family));
  const others = b.families.filter((f) => !isMatmul(f.family));
  const familyTable = renderTable(
    [['kernel family', false], ['dispatches / step', true], ['ms / step in a full step (timestamps)', true], ['share of the step', true], ['alone: wall ms / step', true], ['alone: lavapipe CPU ms / step', true], ['alone: share of the full step\'s CPU', true]],
    [
      ...sorted.map((f) => [f.family, String(f.dispatchCount), f2(f.inStepMs), pct(f.inStepMs, total), f2(f.alone.wallMs), f2(f.alone.workerMs), pct(f.alone.workerMs, b.full.workerMs)]),
      ['between dispatches (pass boundaries)', '', f2(b.inStepGapMs), pct(b.inStepGapMs, total), '', '', ''],
      group('**all matmuls**', matmuls),
      group('**everything else** (incl. the gaps)', others, b.inStepGapMs ?? 0),
      ['whole step (first to last timestamp)', String(b.full.dispatchCount), f2(b.inStepTotalMs), '', f2(b.full.wallMs), f2(b.full.workerMs), '100%'],
    ],
    markdown,
  );
  return [...pathTable, '', ...familyTable];
}

function breakdownVerdict(b: Breakdown): string[] {
  const matmulFamilies = b.families.filter((f) => isMatmul(f.family));
  const others = b.families.filter((f) => !isMatmul(f.family));
  const largest = [...others].sort((x, y) => (y.inStepMs ?? y.alone.workerMs ?? 0) - (x.inStepMs ?? x.alone.workerMs ?? 0))[0];
  const lines: string[] = [];
  const bound = (share: number) => `${(100 * share).toFixed(1)}% (${share <= 0.2 ? 'within' : 'OVER'} the 20% bound)`;
  if (b.inStepTotalMs !== undefined && b.inStepGapMs !== undefined) {
    // Sums of the per-family medians (as in the table), so the two shares add up to 100%.
    const mm = matmulFamilies.reduce((s, f) => s + f.inStepMs!, 0);
    const rest = others.reduce((s, f) => s + f.inStepMs!, 0) + b.inStepGapMs;
    lines.push(
      `- Inside full steps (timestamps around every dispatch): matmuls ${f2(mm)} ms per step, everything else ${f2(rest)} ms ` +
        `(of which ${f2(b.inStepGapMs)} ms between dispatches): everything else = ${bound(rest / (mm + rest))}.`,
    );
  }
  if (b.matmuls.workerMs !== undefined && b.rest.workerMs !== undefined) {
    const cpuTotal = b.matmuls.workerMs + b.rest.workerMs;
    lines.push(
      `- By lavapipe's CPU time, the parts replayed alone: matmuls ${f2(b.matmuls.workerMs)} ms, everything else ${f2(b.rest.workerMs)} ms per step ` +
        `(the full step: ${f2(b.full.workerMs)} ms): everything else = ${bound(b.rest.workerMs / cpuTotal)}.`,
    );
  }
  lines.push(
    `- Wall clock, the trainer's own path (StepParams writes, a submit per ${W.stepsPerSubmit} steps, record readbacks): ` +
      `${f2(b.trainer.wallMs)} ms per step (× ${b.stepsPerEpoch} = ${f2((b.trainer.wallMs * b.stepsPerEpoch) / 1000)} s per epoch), ` +
      `the full step replayed in one pass ${f2(b.full.wallMs)} ms; the wall-clock figures of parts measured at different moments move with the machine's load, ` +
      `so the shares above come from timestamps inside the same steps and from CPU time.`,
    `- Largest non-matmul family: ${largest.family}, ${f2(largest.inStepMs)} ms per step inside the step, ${f2(largest.alone.workerMs)} ms of lavapipe CPU alone.`,
  );
  return lines;
}

function ratioLines(results: Results): string[] {
  const ours = results.rows.find((r) => r.engine.startsWith('ours') && r.batchSize === W.batchSize);
  if (!ours?.epochSeconds) return [];
  return results.rows
    .filter((r) => r !== ours && r.batchSize === W.batchSize && r.epochSeconds)
    .map((r) => `- vs ${r.engine}: ${f2(r.epochSeconds)} / ${f2(ours.epochSeconds)} s = ${ratio(ours, r)}`);
}

function report(results: Results, markdown: boolean): string {
  const head = [
    `Measured ${results.date} on ${results.machine}${results.adapter ? `; adapter ${results.adapter}` : ''}.`,
    `Versions: ${Object.entries(results.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    `Command: \`${results.command}\`. 1-minute load average ${f1(results.loadBefore)} before, ${f1(results.loadAfter)} after (2 cores).`,
    `Workload: ${describeSpec(W.spec)}, ${W.optimizer.kind} lr ${W.lr}, batch ${W.batchSize}, ` +
      `${results.trainCount.toLocaleString('en-US')} training images (${results.stepsPerEpoch} steps per epoch); ` +
      'epoch times exclude validation, which is timed separately.',
  ];
  const lines = [...head, '', '### Seconds per epoch', '', ...epochTable(results, markdown), '', `### Ratios (batch ${W.batchSize})`, '', ...ratioLines(results)];
  if (results.breakdown) {
    lines.push('', `### Where a step goes (batch ${results.breakdown.batchSize})`, '', ...breakdownTables(results.breakdown, markdown), '', ...breakdownVerdict(results.breakdown));
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function pythonVersions(python: string): Promise<Record<string, string>> {
  const probe = await runPeer(python, [
    '-c',
    'import json,platform\nv={"python":platform.python_version()}\nfor m in ("numpy","torch"):\n  try: v[m]=__import__(m).__version__\n  except ImportError: pass\nprint(json.dumps(v))',
  ]);
  return probe.ok ? (probe.report as Record<string, string>) : {};
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const loadBefore = load();
  const data = await prepareData({ dir: null }, DEFAULT_CONFIG);
  const rows: SpeedRow[] = [];
  let breakdown: Breakdown | undefined;
  let adapter: string | undefined;
  const dawn = createRequire(import.meta.url)('webgpu/package.json') as { version: string };
  const versions: Record<string, string> = { 'webgpu-mlp': VERSION, node: process.versions.node, 'webgpu (Dawn)': dawn.version };

  if (args.parts.has('ours') || args.parts.has('breakdown')) {
    // Timestamps at full resolution for the breakdown (Dawn rounds them to 65 µs by default).
    const gpu = await openGpu({ dawnFlags: ['disable-dawn-features=timestamp_quantization'] });
    adapter = adapterName(gpu.report);
    log(`adapter: ${adapter}`);
    const session = new GpuSession(gpu, { train: data.train, validation: data.validation });
    try {
      if (args.parts.has('ours')) {
        for (const batchSize of [W.batchSize, ...args.extraBatchSizes]) {
          log(`ours: batch ${batchSize}, ${batchSize === W.batchSize ? args.epochs : 2} epochs`);
          rows.push(await measureOurs(session, data, batchSize, batchSize === W.batchSize ? args.epochs : 2, args.fusion));
        }
      }
      if (args.parts.has('breakdown')) {
        log(`breakdown: ${args.rounds} rounds`);
        breakdown = await measureBreakdown(gpu, session, data, args.rounds, args.breakdownBatch, args.fusion);
      }
    } finally {
      session.destroy();
      gpu.close();
    }
  }
  if (args.parts.has('cpu')) {
    log(`cpu reference: ${args.cpuSteps} steps`);
    rows.push(await measureCpuReference(data, args.cpuSteps));
  }
  if (args.parts.has('numpy') || args.parts.has('torch')) Object.assign(versions, await pythonVersions(args.python));
  for (const peer of ['numpy', 'torch'] as const) {
    if (!args.parts.has(peer)) continue;
    log(`${peer}: ${args.epochs} epochs with ${args.python}`);
    rows.push(await measurePython(args, peer));
  }
  if (args.parts.has('tfjs')) {
    log(`tfjs: ${args.tfjsRounds} rounds of ${args.tfjsSteps} steps`);
    const row = await measureTfjs(args);
    if (!row.note?.startsWith('skipped')) versions['TensorFlow.js'] = row.engine.split(' ')[1];
    rows.push(row);
  }

  const cpu = cpus();
  const results: Results = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    machine: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Linux ${release()}`,
    adapter,
    versions,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    trainCount: data.train.count,
    stepsPerEpoch: Math.ceil(data.train.count / W.batchSize),
    rows,
    breakdown,
    loadBefore,
    loadAfter: load(),
  };
  if (args.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  else process.stdout.write(report(results, args.markdown) + '\n');
}

await main();
