// Matmul variant explorer (llm.c's dev/cuda main, for WebGPU): every variant of every product at one
// shape, timed round-robin (bench/timing.ts), plus the environment knobs we were asked to check.
//   node --import ./bin/register.mjs bench/matmul-variants.ts [--shape=B,IN,OUT] [--rounds=N]
//        [--compare=threads|dawn|wait] [--threads=1,2,3,4]
// --compare=threads  reruns itself under each LP_NUM_THREADS (read when the Vulkan instance is made)
// --compare=dawn     reruns itself with Dawn's allow_unsafe_apis + disable_robustness features
// --compare=wait     idle wait vs awaiting at once (Dawn's Node binding polls while a promise is pending)
import { spawnSync } from 'node:child_process';
import { BufferArena } from '../src/gpu/arena.ts';
import { adapterName, openGpu } from '../src/gpu/device.ts';
import { KernelCache } from '../src/gpu/program.ts';
import {
  defaultMatmulVariant,
  MATMUL_VARIANTS,
  matmulForward,
  matmulInputGrad,
  matmulVariantSupported,
  matmulWeightGrad,
} from '../src/kernels/matmul.ts';
import { Random } from '../src/util/random.ts';
import { timeRoundRobin, type CaseTiming, type WaitMode } from './timing.ts';

const UNSAFE_DAWN_FLAGS = ['enable-dawn-features=allow_unsafe_apis,disable_robustness'];

interface Row extends CaseTiming {
  form: string;
}

const argv = process.argv.slice(2);
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const [B, IN, OUT] = (option('shape') ?? '128,784,256').split(',').map(Number);
const rounds = Number(option('rounds') ?? 5);

async function measure(dawnFlags: string[], waits: readonly WaitMode[]): Promise<{ adapter: string; byWait: Record<string, Row[]> }> {
  const gpu = await openGpu({ dawnFlags });
  const arena = new BufferArena(gpu.device);
  const ctx = { device: gpu.device, cache: new KernelCache(gpu.device), arena, adapterKind: gpu.report.kind };
  const tensor = (label: string, n: number) => arena.tensorWithData(label, new Random(3, label).fill(n, (r) => r.uniform(-1, 1)));
  const t = { x: tensor('x', B * IN), w: tensor('w', OUT * IN), b: tensor('b', OUT), a: tensor('a', B * IN), dy: tensor('dy', B * OUT) };
  const out = { y: arena.tensor('y', B * OUT * 4), dx: arena.tensor('dx', B * IN * 4), dw: arena.tensor('dw', OUT * IN * 4) };
  const chosen = defaultMatmulVariant(ctx);
  const cases = [];
  for (const variant of MATMUL_VARIANTS.filter((v) => matmulVariantSupported(gpu.device, v))) {
    const mark = variant === chosen ? '*' : '';
    const flops = 2 * B * IN * OUT;
    cases.push({ name: `forward ${variant}${mark}`, flops, dispatches: await matmulForward(ctx, { x: t.x, w: t.w, b: t.b, y: out.y }, { B, IN, OUT, activation: 'relu' }, variant) });
    cases.push({ name: `input grad ${variant}${mark}`, flops, dispatches: await matmulInputGrad(ctx, { dy: t.dy, w: t.w, a: t.a, dx: out.dx }, { B, IN, OUT, activation: 'relu' }, variant) });
    cases.push({ name: `weight grad ${variant}${mark}`, flops, dispatches: await matmulWeightGrad(ctx, { dy: t.dy, x: t.x, dw: out.dw }, { B, IN, OUT }, variant) });
  }
  const byWait: Record<string, Row[]> = {};
  for (const wait of waits) {
    byWait[wait] = (await timeRoundRobin(gpu.device, cases, { rounds, wait })).map((r) => ({ ...r, form: r.name.split(' ').slice(0, -1).join(' ') }));
  }
  arena.destroy();
  gpu.close();
  return { adapter: adapterName(gpu.report), byWait };
}

function print(title: string, rows: readonly Row[]): void {
  console.log(`\n${title}: ${B}x${IN}x${OUT}, GFLOP/s wall | per busy core, ms per dispatch (* = default)`);
  for (const r of rows) {
    console.log(`  ${r.name.padEnd(26)} ${r.gflops.toFixed(1).padStart(6)} | ${(r.gflopsPerCore?.toFixed(1) ?? '-').padStart(5)}   ${r.wallMs.toFixed(3)} ms`);
  }
}

/** Runs this script in a child process with extra environment/arguments and returns its JSON. */
function child(env: Record<string, string>, args: string[]): { adapter: string; byWait: Record<string, Row[]> } {
  const result = spawnSync(process.execPath, [...process.execArgv, process.argv[1], '--child', ...args, ...argv.filter((a) => !a.startsWith('--compare'))], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const line = result.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`child failed (${JSON.stringify(env)} ${args.join(' ')}):\n${result.stderr}`);
  return JSON.parse(line);
}

async function main(): Promise<void> {
  const compare = option('compare');
  if (argv.includes('--child')) {
    const flags = argv.includes('--unsafe') ? UNSAFE_DAWN_FLAGS : [];
    console.log(JSON.stringify(await measure(flags, ['idle'])));
    return;
  }
  console.log(`matmul variants, ${new Date().toISOString()}`);
  if (compare === 'threads') {
    for (const threads of (option('threads') ?? '1,2,3,4').split(',')) {
      const r = child({ LP_NUM_THREADS: threads }, []);
      print(`LP_NUM_THREADS=${threads} (${r.adapter})`, r.byWait.idle);
    }
  } else if (compare === 'dawn') {
    for (const unsafe of [false, true]) {
      const r = child({}, unsafe ? ['--unsafe'] : []);
      print(unsafe ? `Dawn ${UNSAFE_DAWN_FLAGS[0]}` : 'Dawn defaults', r.byWait.idle);
    }
  } else {
    const waits: WaitMode[] = compare === 'wait' ? ['idle', 'spin'] : ['idle'];
    const r = await measure([], waits);
    for (const wait of waits) print(`${r.adapter}, wait=${wait}`, r.byWait[wait]);
  }
}

await main();
