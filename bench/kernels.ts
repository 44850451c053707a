// Kernel benchmark: `npm run bench:kernels` (node --import ./bin/register.mjs bench/kernels.ts).
// Prints the adapter and date, the GFLOP/s of each matmul form and variant at the MLP's shapes
// (784-256-128-10 at B=128, evaluation at B=1024) and at 1024³, fused vs separate epilogues, the
// time of an optimizer update over 1M parameters, and the per-dispatch overhead.
// Options: --json (machine-readable), --markdown (tables for bench/RESULTS.md), --rounds=N,
// --variants=subgroup,tiled, --wait=idle|spin (see bench/timing.ts), --skip-cube (no 1024³).
// Methodology (interleaving, idle wait, CPU-time figure): bench/timing.ts.
import { BufferArena } from '../src/gpu/arena.ts';
import { adapterName, openGpu, type GpuContext } from '../src/gpu/device.ts';
import { KernelCache, type Dispatch } from '../src/gpu/program.ts';
import type { KernelContext } from '../src/kernels/context.ts';
import {
  defaultMatmulVariant,
  MATMUL_VARIANTS,
  matmulForward,
  matmulInputGrad,
  matmulVariantSupported,
  matmulWeightGrad,
  type MatmulVariantName,
} from '../src/kernels/matmul.ts';
import { activationBackward, activationForward } from '../src/kernels/activation.ts';
import { optimizerUpdate } from '../src/kernels/optimizer.ts';
import { StepParamsRing } from '../src/gpu/step-params.ts';
import { OPTIMIZERS, optimizerConfig, optimizerStateSlots, type OptimizerKind } from '../src/model/optimizer.ts';
import { Random } from '../src/util/random.ts';
import { runRepetitions, timeRoundRobin, type CaseTiming, type WaitMode } from './timing.ts';

type Form = 'forward' | 'inputGrad' | 'weightGrad';

interface Shape {
  readonly B: number;
  readonly IN: number;
  readonly OUT: number;
  readonly forms: readonly Form[];
  readonly note: string;
}

/** What one training step of 784-256-128-10 at B=128 runs, the evaluation forward at B=1024, and a cube. */
const MLP_SHAPES: readonly Shape[] = [
  { B: 128, IN: 784, OUT: 256, forms: ['forward', 'weightGrad'], note: 'layer 1 (no input grad needed)' },
  { B: 128, IN: 256, OUT: 128, forms: ['forward', 'inputGrad', 'weightGrad'], note: 'layer 2' },
  { B: 128, IN: 128, OUT: 10, forms: ['forward', 'inputGrad', 'weightGrad'], note: 'layer 3' },
  { B: 1024, IN: 784, OUT: 256, forms: ['forward'], note: 'evaluation, layer 1' },
];
const CUBE: Shape = { B: 1024, IN: 1024, OUT: 1024, forms: ['forward', 'inputGrad', 'weightGrad'], note: '1024³' };

export interface MatmulResult extends CaseTiming {
  form: Form;
  B: number;
  IN: number;
  OUT: number;
  variant: MatmulVariantName;
  isDefault: boolean;
}

export interface OverheadResult {
  /** Microseconds per dispatch, 1000 tiny dispatches in one compute pass. */
  onePassUs: number;
  /** Microseconds per dispatch with a compute pass per dispatch (one submit). */
  passPerDispatchUs: number;
}

/** A bench section: one kernel family's measurements. */
interface Section {
  readonly title: string;
  run(ctx: BenchContext): Promise<unknown>;
}

interface BenchContext extends KernelContext {
  readonly gpu: GpuContext;
  readonly args: Args;
}

interface Args {
  json: boolean;
  markdown: boolean;
  rounds: number;
  variants: readonly MatmulVariantName[] | undefined;
  wait: WaitMode;
  cube: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const variants = value('variants')?.split(',') as MatmulVariantName[] | undefined;
  for (const v of variants ?? []) if (!MATMUL_VARIANTS.includes(v)) throw new Error(`unknown variant ${v}; known: ${MATMUL_VARIANTS.join(', ')}`);
  const wait = (value('wait') ?? 'idle') as WaitMode;
  if (wait !== 'idle' && wait !== 'spin') throw new Error(`--wait must be idle or spin`);
  return {
    json: argv.includes('--json'),
    markdown: argv.includes('--markdown'),
    rounds: Number(value('rounds') ?? 5),
    variants,
    wait,
    cube: !argv.includes('--skip-cube'),
  };
}

function randomTensor(ctx: KernelContext, label: string, count: number): GPUBuffer {
  return ctx.arena.tensorWithData(label, new Random(7, label).fill(count, (rng) => rng.uniform(-1, 1)));
}

async function recordForm(ctx: KernelContext, form: Form, shape: Shape, variant: MatmulVariantName, t: Record<string, GPUBuffer>): Promise<Dispatch> {
  const { B, IN, OUT } = shape;
  if (form === 'forward') return matmulForward(ctx, { x: t.x, w: t.w, b: t.b, y: t.y }, { B, IN, OUT, activation: 'relu' }, variant);
  if (form === 'inputGrad') return matmulInputGrad(ctx, { dy: t.dy, w: t.w, a: t.a, dx: t.dx }, { B, IN, OUT, activation: 'relu' }, variant);
  return matmulWeightGrad(ctx, { dy: t.dy, x: t.x, dw: t.dw }, { B, IN, OUT }, variant);
}

const matmulSection: Section = {
  title: 'matmul',
  async run(ctx) {
    const variants = (ctx.args.variants ?? MATMUL_VARIANTS).filter((v) => matmulVariantSupported(ctx.device, v));
    const chosen = defaultMatmulVariant(ctx);
    const results: MatmulResult[] = [];
    for (const shape of ctx.args.cube ? [...MLP_SHAPES, CUBE] : MLP_SHAPES) {
      const { B, IN, OUT } = shape;
      const arena = new BufferArena(ctx.device);
      const sub = { ...ctx, arena };
      const t = {
        x: randomTensor(sub, 'x', B * IN),
        w: randomTensor(sub, 'w', OUT * IN),
        b: randomTensor(sub, 'b', OUT),
        a: randomTensor(sub, 'a', B * IN),
        dy: randomTensor(sub, 'dy', B * OUT),
        y: arena.tensor('y', B * OUT * 4),
        dx: arena.tensor('dx', B * IN * 4),
        dw: arena.tensor('dw', OUT * IN * 4),
      };
      for (const form of shape.forms) {
        const cases = [];
        for (const variant of variants) {
          cases.push({ name: variant, dispatches: [await recordForm(sub, form, shape, variant, t)], flops: 2 * B * IN * OUT });
        }
        // A slow kernel on a big shape gets fewer rounds: the ranking does not need more.
        const slow = B * IN * OUT >= 1 << 28;
        const timings = await timeRoundRobin(ctx.device, cases, { rounds: slow ? 3 : ctx.args.rounds, wait: ctx.args.wait });
        timings.forEach((timing, i) => results.push({ ...timing, form, B, IN, OUT, variant: variants[i], isDefault: variants[i] === chosen }));
        if (!ctx.args.json) printMatmulRow(form, shape, timings, chosen);
      }
      arena.destroy();
    }
    return results;
  },
};

const overheadSection: Section = {
  title: 'dispatch overhead',
  async run(ctx): Promise<OverheadResult> {
    const arena = new BufferArena(ctx.device);
    const tiny = (label: string) => arena.tensorWithData(label, new Float32Array([1]));
    const dispatch = await matmulForward({ ...ctx, arena }, { x: tiny('x'), w: tiny('w'), b: tiny('b'), y: tiny('y') }, { B: 1, IN: 1, OUT: 1, activation: 'identity' }, 'naive');
    await runRepetitions(ctx.device, [dispatch], 10, 'spin');
    const count = 1000;
    const onePass = [];
    const passEach = [];
    for (let round = 0; round < 5; round++) {
      onePass.push((await runRepetitions(ctx.device, [dispatch], count, 'spin')).wallMs);
      const start = performance.now();
      const encoder = ctx.device.createCommandEncoder({ label: 'bench: pass per dispatch' });
      for (let i = 0; i < count; i++) {
        const pass = encoder.beginComputePass();
        pass.setPipeline(dispatch.pipeline);
        pass.setBindGroup(0, dispatch.bindGroup);
        pass.dispatchWorkgroups(...dispatch.workgroups);
        pass.end();
      }
      ctx.device.queue.submit([encoder.finish()]);
      await ctx.device.queue.onSubmittedWorkDone();
      passEach.push(performance.now() - start);
    }
    arena.destroy();
    const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
    const result = { onePassUs: (med(onePass) * 1000) / count, passPerDispatchUs: (med(passEach) * 1000) / count };
    if (!ctx.args.json) {
      console.log(`\ndispatch overhead: ${result.onePassUs.toFixed(1)} µs per dispatch (1000 in one pass), ` +
        `${result.passPerDispatchUs.toFixed(1)} µs with a pass per dispatch`);
    }
    return result;
  },
};

/** Bytes an optimizer update moves per parameter: reads params, grads and state, writes params and state. */
function optimizerBytesPerParam(kind: OptimizerKind): number {
  const slots = optimizerStateSlots(kind);
  return 4 * (2 + slots + 1 + slots);
}

const optimizerSection: Section = {
  title: 'optimizer',
  async run(ctx) {
    const count = 1 << 20; // 1,048,576 parameters, one dispatch
    const arena = new BufferArena(ctx.device);
    const sub = { ...ctx, arena };
    const params = randomTensor(sub, 'params', count);
    const grads = randomTensor(sub, 'grads', count);
    const state = [arena.tensor('state 0', count * 4), arena.tensor('state 1', count * 4)];
    const status = arena.tensor('status', 16);
    const ring = new StepParamsRing(ctx.device, 1, 'bench step');
    arena.adopt(ring.buffer);
    ring.set(0, { t: 1, batchStart: 0, rows: 1, record: 0, lr: 1e-3, beta1: 0.9, beta2: 0.999 });
    ring.flush();
    const cases = [];
    for (const kind of OPTIMIZERS) {
      const config = optimizerConfig(kind, { weightDecay: 1e-4 });
      const io = { params, grads, state: state.slice(0, optimizerStateSlots(kind)), status, step: ring.buffer };
      cases.push({ name: kind, dispatches: [await optimizerUpdate(sub, io, { count, weightsEnd: count / 2, config })], flops: 0 });
    }
    const timings = await timeRoundRobin(ctx.device, cases, { rounds: ctx.args.rounds, wait: ctx.args.wait });
    arena.destroy();
    const results = timings.map((t, i) => ({
      optimizer: OPTIMIZERS[i],
      parameters: count,
      ms: t.wallMs,
      gbPerSecond: (optimizerBytesPerParam(OPTIMIZERS[i]) * count) / t.wallMs / 1e6,
    }));
    if (!ctx.args.json) {
      console.log(`\noptimizer update over ${count.toLocaleString('en-US')} parameters (one dispatch, weight decay on):`);
      for (const r of results) console.log(`  ${r.optimizer.padEnd(9)} ${r.ms.toFixed(2).padStart(7)} ms  ${r.gbPerSecond.toFixed(1).padStart(6)} GB/s`);
    }
    return results;
  },
};

/**
 * Epilogue fusion: the forward's bias + activation and the input grad's act' multiply run inside the
 * matmul; the alternative is the plain product followed by the standalone activation kernel.
 */
const fusionSection: Section = {
  title: 'epilogue fusion',
  async run(ctx) {
    const B = 128;
    const IN = 784;
    const OUT = 256;
    const arena = new BufferArena(ctx.device);
    const sub = { ...ctx, arena };
    const x = randomTensor(sub, 'x', B * IN);
    const w = randomTensor(sub, 'w', OUT * IN);
    const b = randomTensor(sub, 'b', OUT);
    const y = arena.tensor('y', B * OUT * 4);
    const a = randomTensor(sub, 'a', B * OUT);
    const dy = randomTensor(sub, 'dy', B * IN);
    const dx = arena.tensor('dx', B * OUT * 4);
    const w2 = randomTensor(sub, 'w2', IN * OUT);
    const flops = 2 * B * IN * OUT;
    const cases = [
      { name: 'forward fused', dispatches: [await matmulForward(sub, { x, w, b, y }, { B, IN, OUT, activation: 'relu' })], flops },
      {
        name: 'forward + relu kernel',
        dispatches: [
          await matmulForward(sub, { x, w, b, y }, { B, IN, OUT, activation: 'identity' }),
          await activationForward(sub, { z: y, a: y }, { count: B * OUT, activation: 'relu' }),
        ],
        flops,
      },
      // dX[B, 256] = (dY[B, 784]·W2[784, 256]) ⊙ relu'(A): the input grad of a 256 → 784 layer.
      { name: 'input grad fused', dispatches: [await matmulInputGrad(sub, { dy, w: w2, a, dx }, { B, IN: OUT, OUT: IN, activation: 'relu' })], flops },
      {
        name: "input grad + relu' kernel",
        dispatches: [
          await matmulInputGrad(sub, { dy, w: w2, dx }, { B, IN: OUT, OUT: IN, activation: 'identity' }),
          await activationBackward(sub, { a, da: dx, dz: dx }, { count: B * OUT, activation: 'relu' }),
        ],
        flops,
      },
    ];
    const timings = await timeRoundRobin(ctx.device, cases, { rounds: ctx.args.rounds, wait: ctx.args.wait });
    arena.destroy();
    const results = timings.map((t) => ({ case: t.name, ms: t.wallMs }));
    if (!ctx.args.json) {
      console.log(`\nepilogue fusion at ${B}x${IN}->${OUT} (ms per product, median):`);
      for (const r of results) console.log(`  ${r.case.padEnd(26)} ${r.ms.toFixed(3)} ms`);
    }
    return results;
  },
};

// Sections run in this order.
const SECTIONS: readonly Section[] = [matmulSection, fusionSection, optimizerSection, overheadSection];

function shapeLabel(form: Form, s: { B: number; IN: number; OUT: number }): string {
  if (form === 'forward') return `forward     ${s.B}x${s.IN}->${s.OUT}`;
  if (form === 'inputGrad') return `input grad  ${s.B}x${s.IN}<-${s.OUT}`;
  return `weight grad ${s.OUT}x${s.IN} over ${s.B}`;
}

const cell = (t: CaseTiming) => `${t.gflops.toFixed(1)} | ${t.gflopsPerCore?.toFixed(1) ?? '-'}`;

let headerPrinted = false;
function printMatmulRow(form: Form, shape: Shape, timings: readonly CaseTiming[], chosen: MatmulVariantName): void {
  if (!headerPrinted) {
    console.log(`\nmatmul GFLOP/s, wall | per busy core (median of rounds; * = default variant)`);
    console.log(`${''.padEnd(36)}${timings.map((t) => `${t.name}${t.name === chosen ? '*' : ''}`.padStart(16)).join('')}   default ms`);
    headerPrinted = true;
  }
  const def = timings.find((t) => t.name === chosen);
  console.log(`${shapeLabel(form, shape).padEnd(36)}${timings.map((t) => cell(t).padStart(16)).join('')}   ${def ? def.wallMs.toFixed(3) : ''}`);
}

function printMarkdown(matmul: readonly MatmulResult[], overhead: OverheadResult, chosen: MatmulVariantName): void {
  const variants = [...new Set(matmul.map((r) => r.variant))];
  console.log(`\n| product | ${variants.map((v) => (v === chosen ? `**${v}** (default)` : v)).join(' | ')} |`);
  console.log(`|---|${variants.map(() => '---:|').join('')}`);
  const keys = [...new Set(matmul.map((r) => `${r.form}|${r.B}|${r.IN}|${r.OUT}`))];
  for (const key of keys) {
    const rows = matmul.filter((r) => `${r.form}|${r.B}|${r.IN}|${r.OUT}` === key);
    const label = shapeLabel(rows[0].form, rows[0]).replace(/\s+/g, ' ');
    console.log(`| ${label} | ${variants.map((v) => {
      const r = rows.find((x) => x.variant === v);
      return r ? `${r.gflops.toFixed(1)} \\| ${r.gflopsPerCore?.toFixed(1) ?? '-'}` : '';
    }).join(' | ')} |`);
  }
  console.log(`\nDispatch overhead: ${overhead.onePassUs.toFixed(1)} µs per dispatch with 1000 in one pass, ${overhead.passPerDispatchUs.toFixed(1)} µs with a pass per dispatch.`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const gpu = await openGpu();
  const ctx: BenchContext = { gpu, device: gpu.device, cache: new KernelCache(gpu.device), arena: new BufferArena(gpu.device), adapterKind: gpu.report.kind, args };
  const date = new Date().toISOString();
  if (!args.json) {
    console.log(`webgpu-mlp kernel bench, ${date}`);
    console.log(`adapter: ${adapterName(gpu.report)}; LP_NUM_THREADS=${process.env.LP_NUM_THREADS ?? '(default)'}; wait=${args.wait}`);
  }
  const results: Record<string, unknown> = {};
  for (const section of SECTIONS) results[section.title] = await section.run(ctx);
  const chosen = defaultMatmulVariant(ctx);
  if (args.json) {
    console.log(JSON.stringify({ date, adapter: adapterName(gpu.report), adapterKind: gpu.report.kind, defaultMatmulVariant: chosen, ...results }, null, 2));
  } else if (args.markdown) {
    printMarkdown(results.matmul as MatmulResult[], results['dispatch overhead'] as OverheadResult, chosen);
  }
  ctx.arena.destroy();
  gpu.close();
}

await main();
