// Kernel benchmark: `npm run bench:kernels` (node --import ./bin/register.mjs bench/kernels.ts).
// Prints the adapter and date, the GFLOP/s of each matmul form and variant at the MLP's shapes
// (784-256-128-10 at B=128, evaluation at B=1024) and at 1024³, fused vs separate epilogues
// (activation, dropout) and bias gradients, the time of an optimizer update over 1M parameters,
// and the per-dispatch overhead.
// Options: --json (machine-readable), --markdown (tables for bench/RESULTS.md), --rounds=N,
// --variants=subgroup,tiled, --wait=idle|spin (see bench/timing.ts), --skip-cube (no 1024³),
// --sections=matmul,fusion,optimizer,overhead (default: all).
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
import { biasGrad } from '../src/kernels/bias-grad.ts';
import { dropoutBackward, dropoutForward } from '../src/kernels/dropout.ts';
import { optimizerUpdate } from '../src/kernels/optimizer.ts';
import { StepParamsRing } from '../src/kernels/step-params.ts';
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

export interface FusionResult {
  case: string;
  /** Median wall-clock ms per repetition (all the case's dispatches). */
  ms: number;
  /** Median lavapipe worker CPU ms per repetition (Linux only). */
  cpuMs: number | undefined;
}

export interface OverheadResult {
  /** Microseconds per dispatch, 1000 tiny dispatches in one compute pass. */
  onePassUs: number;
  /** Microseconds per dispatch with a compute pass per dispatch (one submit). */
  passPerDispatchUs: number;
}

/** A bench section: one kernel family's measurements. */
interface Section {
  /** The name --sections selects it by. */
  readonly key: string;
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
  sections: readonly string[] | undefined;
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
    sections: value('sections')?.split(','),
  };
}

function randomTensor(ctx: KernelContext, label: string, count: number): GPUBuffer {
  return ctx.arena.tensorWithData(label, new Random(7, label).fill(count, (rng) => rng.uniform(-1, 1)));
}

/** One dispatch, whatever its size (training cuts products beyond DISPATCH_MACS into bands): this times the kernel. */
async function recordForm(ctx: KernelContext, form: Form, shape: Shape, variant: MatmulVariantName, t: Record<string, GPUBuffer>): Promise<Dispatch[]> {
  const { B, IN, OUT } = shape;
  if (form === 'forward') return matmulForward(ctx, { x: t.x, w: t.w, b: t.b, y: t.y }, { B, IN, OUT, activation: 'relu' }, variant, { macs: Infinity });
  if (form === 'inputGrad') return matmulInputGrad(ctx, { dy: t.dy, w: t.w, a: t.a, dx: t.dx }, { B, IN, OUT, activation: 'relu' }, variant, { macs: Infinity });
  return matmulWeightGrad(ctx, { dy: t.dy, x: t.x, dw: t.dw }, { B, IN, OUT }, variant, { macs: Infinity });
}

const matmulSection: Section = {
  key: 'matmul',
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
          cases.push({ name: variant, dispatches: await recordForm(sub, form, shape, variant, t), flops: 2 * B * IN * OUT });
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
  key: 'overhead',
  title: 'dispatch overhead',
  async run(ctx): Promise<OverheadResult> {
    const arena = new BufferArena(ctx.device);
    const tiny = (label: string) => arena.tensorWithData(label, new Float32Array([1]));
    const [dispatch] = await matmulForward({ ...ctx, arena }, { x: tiny('x'), w: tiny('w'), b: tiny('b'), y: tiny('y') }, { B: 1, IN: 1, OUT: 1, activation: 'identity' }, 'naive');
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

interface OptimizerResult {
  readonly optimizer: OptimizerKind;
  readonly parameters: number;
  readonly ms: number;
  readonly gbPerSecond: number;
}

const optimizerSection: Section = {
  key: 'optimizer',
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
    const results = timings.map((t, i): OptimizerResult => ({
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
 * matmul; the alternative is the plain product followed by the standalone activation kernel. Then
 * dropout fused into the same epilogues (what the training plan does) against the product followed
 * by the separate dropout kernel (the plan with fuseDropout: false), at the MLP's shapes: layer 1's
 * forward (128x784->256) and layer 2's input grad into layer 1's output (128x256<-128). Last, the
 * three weight grads of a step with their bias gradients from the same dispatches (the plan's
 * default) or from three bias_grad dispatches (fuseBiasGrad: false).
 */
const fusionSection: Section = {
  key: 'fusion',
  title: 'epilogue fusion',
  async run(ctx): Promise<FusionResult[]> {
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
    // Layer 2 (256 -> 128): its input grad dZ1[B, 256] = mask ⊙ (dZ2[B, 128]·W2[128, 256]) ⊙ relu'(A1) / keep.
    const HIDDEN = 128;
    const h = arena.tensor('h', B * OUT * 4);
    const dz2 = randomTensor(sub, 'dz2', B * HIDDEN);
    const wLayer2 = randomTensor(sub, 'w layer 2', HIDDEN * OUT);
    const step = new StepParamsRing(ctx.device, 1, 'bench step');
    arena.adopt(step.buffer);
    step.set(0, { t: 1, batchStart: 0, rows: B, record: 0, lr: 0 });
    step.flush();
    const dropout = { seed: 1, layer: 0, rate: 0.2 };
    const mask = { ...dropout, count: B * OUT };
    const layer2Flops = 2 * B * HIDDEN * OUT;
    const cases = [
      { name: 'forward fused', dispatches: await matmulForward(sub, { x, w, b, y }, { B, IN, OUT, activation: 'relu' }), flops },
      {
        name: 'forward + relu kernel',
        dispatches: [
          ...(await matmulForward(sub, { x, w, b, y }, { B, IN, OUT, activation: 'identity' })),
          await activationForward(sub, { z: y, a: y }, { count: B * OUT, activation: 'relu' }),
        ],
        flops,
      },
      // dX[B, 256] = (dY[B, 784]·W2[784, 256]) ⊙ relu'(A): the input grad of a 256 → 784 layer.
      { name: 'input grad fused', dispatches: await matmulInputGrad(sub, { dy, w: w2, a, dx }, { B, IN: OUT, OUT: IN, activation: 'relu' }), flops },
      {
        name: "input grad + relu' kernel",
        dispatches: [
          ...(await matmulInputGrad(sub, { dy, w: w2, dx }, { B, IN: OUT, OUT: IN, activation: 'identity' })),
          await activationBackward(sub, { a, da: dx, dz: dx }, { count: B * OUT, activation: 'relu' }),
        ],
        flops,
      },
      {
        name: 'forward + dropout fused',
        dispatches: await matmulForward(sub, { x, w, b, y: h, step: step.buffer }, { B, IN, OUT, activation: 'relu', dropout }),
        flops,
      },
      {
        name: 'forward + dropout kernel',
        dispatches: [
          ...(await matmulForward(sub, { x, w, b, y }, { B, IN, OUT, activation: 'relu' })),
          await dropoutForward(sub, { input: y, output: h, step: step.buffer }, mask),
        ],
        flops,
      },
      {
        name: 'layer 2 input grad, no dropout',
        dispatches: await matmulInputGrad(sub, { dy: dz2, w: wLayer2, a, dx }, { B, IN: OUT, OUT: HIDDEN, activation: 'relu' }),
        flops: layer2Flops,
      },
      {
        name: 'layer 2 input grad + dropout fused',
        dispatches: await matmulInputGrad(sub, { dy: dz2, w: wLayer2, a: h, dx, step: step.buffer }, { B, IN: OUT, OUT: HIDDEN, activation: 'relu', dropout }),
        flops: layer2Flops,
      },
      {
        name: 'layer 2 input grad + dropout kernel',
        dispatches: [
          ...(await matmulInputGrad(sub, { dy: dz2, w: wLayer2, a, dx }, { B, IN: OUT, OUT: HIDDEN, activation: 'relu' })),
          await dropoutBackward(sub, { input: dx, output: dx, step: step.buffer }, mask),
        ],
        flops: layer2Flops,
      },
    ];
    const weightGrads = { separate: [] as Dispatch[], fused: [] as Dispatch[], flops: 0 };
    for (const [inputs, outputs] of [[784, 256], [256, 128], [128, 10]]) {
      const shape = { B, IN: inputs, OUT: outputs };
      const io = { dy: randomTensor(sub, 'dz', B * outputs), x: randomTensor(sub, 'x', B * inputs), dw: arena.tensor('dw', outputs * inputs * 4) };
      const db = arena.tensor('db', outputs * 4);
      weightGrads.separate.push(...(await matmulWeightGrad(sub, io, shape)), await biasGrad(sub, { dy: io.dy, db }, { B, OUT: outputs }));
      weightGrads.fused.push(...(await matmulWeightGrad(sub, { ...io, db }, shape)));
      weightGrads.flops += 2 * B * inputs * outputs;
    }
    cases.push(
      { name: 'step weight grads, bias in them', dispatches: weightGrads.fused, flops: weightGrads.flops },
      { name: 'step weight grads + 3 bias_grad', dispatches: weightGrads.separate, flops: weightGrads.flops },
    );
    const timings = await timeRoundRobin(ctx.device, cases, { rounds: ctx.args.rounds, wait: ctx.args.wait });
    arena.destroy();
    const results = timings.map((t) => ({ case: t.name, ms: t.wallMs, cpuMs: t.cpuMs }));
    if (!ctx.args.json) {
      console.log(
        `\nepilogue fusion (ms per repetition, median: wall | lavapipe CPU); products at ${B}x${IN}->${OUT}, layer 2 at ${B}x${OUT}<-${HIDDEN}, ` +
          `step weight grads of 784-256-128-10 at B=${B}:`,
      );
      for (const r of results) console.log(`  ${r.case.padEnd(36)} ${r.ms.toFixed(3)} | ${r.cpuMs?.toFixed(3) ?? '-'} ms`);
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

function printMarkdown(
  matmul: readonly MatmulResult[] | undefined,
  fusion: readonly FusionResult[] | undefined,
  optimizer: readonly OptimizerResult[] | undefined,
  overhead: OverheadResult | undefined,
  chosen: MatmulVariantName,
): void {
  if (matmul) printMatmulMarkdown(matmul, chosen);
  if (fusion) {
    console.log(`\n| epilogue | wall ms | lavapipe CPU ms |\n|---|---:|---:|`);
    for (const r of fusion) console.log(`| ${r.case} | ${r.ms.toFixed(3)} | ${r.cpuMs?.toFixed(3) ?? '-'} |`);
  }
  if (optimizer) {
    console.log(`\n| optimizer (${optimizer[0].parameters.toLocaleString('en-US')} parameters, one dispatch) | ms | GB/s |\n|---|---:|---:|`);
    for (const r of optimizer) console.log(`| ${r.optimizer} | ${r.ms.toFixed(2)} | ${r.gbPerSecond.toFixed(1)} |`);
  }
  if (overhead) {
    console.log(`\nDispatch overhead: ${overhead.onePassUs.toFixed(1)} µs per dispatch with 1000 in one pass, ${overhead.passPerDispatchUs.toFixed(1)} µs with a pass per dispatch.`);
  }
}

function printMatmulMarkdown(matmul: readonly MatmulResult[], chosen: MatmulVariantName): void {
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
  const unknown = (args.sections ?? []).filter((key) => !SECTIONS.some((section) => section.key === key));
  if (unknown.length) throw new Error(`unknown section ${unknown.join(', ')}; known: ${SECTIONS.map((section) => section.key).join(', ')}`);
  for (const section of SECTIONS) {
    if (!args.sections || args.sections.includes(section.key)) results[section.title] = await section.run(ctx);
  }
  const chosen = defaultMatmulVariant(ctx);
  if (args.json) {
    console.log(JSON.stringify({ date, adapter: adapterName(gpu.report), adapterKind: gpu.report.kind, defaultMatmulVariant: chosen, ...results }, null, 2));
  } else if (args.markdown) {
    printMarkdown(
      results.matmul as MatmulResult[] | undefined,
      results['epilogue fusion'] as FusionResult[] | undefined,
      results.optimizer as OptimizerResult[] | undefined,
      results['dispatch overhead'] as OverheadResult | undefined,
      chosen,
    );
  }
  ctx.arena.destroy();
  gpu.close();
}

await main();
