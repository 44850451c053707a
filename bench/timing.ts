// Timing of recorded dispatches, shared by the benches.
//
// How we measure, and why (all measured on lavapipe, see bench/RESULTS.md):
// - Many dispatches in one compute pass and one submit (a dispatch costs ~19 µs on its own).
// - Idle wait: while a GPU promise is pending, Dawn's Node binding polls on the main thread in a
//   setImmediate loop, which keeps a whole core busy and takes it from lavapipe's workers. So after
//   submitting we first sleep (timer, no GPU promise) for most of the expected time, then await.
// - Two figures per case: wall-clock time per dispatch, and the CPU time lavapipe's worker threads
//   spent per dispatch (from /proc, Linux only). The machines we share report 2 cores but deliver
//   about one on average, with bursts; wall-clock GFLOP/s swing by ±30% from run to run while the
//   CPU-time figure (GFLOP/s per busy core) stays within a few percent, so variants are ranked by it.
// - Cases are interleaved round-robin so that a slow phase of the machine hits every case alike.
import { readdirSync, readFileSync } from 'node:fs';
import { submitDispatches, type Dispatch } from '../src/gpu/program.ts';

export type WaitMode = 'idle' | 'spin';

export interface TimedCase {
  readonly name: string;
  /** Dispatches of one repetition (usually one); `flops` is per repetition. */
  readonly dispatches: readonly Dispatch[];
  readonly flops: number;
}

export interface CaseTiming {
  readonly name: string;
  /** Median wall-clock milliseconds per repetition. */
  readonly wallMs: number;
  /** Median worker-thread CPU milliseconds per repetition (undefined off Linux). */
  readonly cpuMs: number | undefined;
  readonly gflops: number;
  /** GFLOP/s per busy core: flops over worker CPU time. */
  readonly gflopsPerCore: number | undefined;
  readonly repetitions: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Total on-CPU nanoseconds of this process's threads other than the main one (lavapipe's workers). */
export function workerCpuNs(): number | undefined {
  try {
    const tasks = `/proc/${process.pid}/task`;
    let total = 0;
    for (const tid of readdirSync(tasks)) {
      if (Number(tid) === process.pid) continue;
      try {
        total += Number(readFileSync(`${tasks}/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread exited between the listing and the read.
      }
    }
    return total;
  } catch {
    return undefined;
  }
}

/**
 * Encodes `count` repetitions of `dispatches` in one pass, submits, and waits (in 'idle' mode after
 * sleeping `sleepMs` first). Returns wall ms, the ms between waking and completion, and worker CPU ms.
 */
export async function runRepetitions(
  device: GPUDevice,
  dispatches: readonly Dispatch[],
  count: number,
  wait: WaitMode,
  sleepMs = 0,
): Promise<{ wallMs: number; tailMs: number; cpuMs: number | undefined }> {
  const cpu0 = workerCpuNs();
  const start = performance.now();
  submitDispatches(device, dispatches, { label: 'bench', repetitions: count });
  if (wait === 'idle' && sleepMs > 1) await sleep(sleepMs);
  const woke = performance.now();
  await device.queue.onSubmittedWorkDone();
  const end = performance.now();
  const cpu1 = workerCpuNs();
  return {
    wallMs: end - start,
    tailMs: end - woke,
    cpuMs: cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / 1e6,
  };
}

export interface RoundRobinOptions {
  rounds?: number;
  /** Wall-clock milliseconds aimed at per measurement. */
  targetMs?: number;
  wait?: WaitMode;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** Times each case `rounds` times, interleaved; reports medians. */
export async function timeRoundRobin(device: GPUDevice, cases: readonly TimedCase[], options: RoundRobinOptions = {}): Promise<CaseTiming[]> {
  const rounds = options.rounds ?? 5;
  const targetMs = options.targetMs ?? 120;
  const wait = options.wait ?? 'idle';
  const state = [];
  for (const c of cases) {
    await runRepetitions(device, c.dispatches, 1, 'spin'); // first use compiles the shader in lavapipe
    const probe = await runRepetitions(device, c.dispatches, 4, 'spin');
    const repetitions = Math.max(1, Math.min(2000, Math.round(targetMs / Math.max(probe.wallMs / 4, 1e-3))));
    // The idle wait sleeps for most of the expected time: `estimate` (ms for all repetitions) starts
    // from a spinning measurement, shrinks when the work was already done on waking (we overslept),
    // and is reset to the measured time when we had to wait on.
    const first = await runRepetitions(device, c.dispatches, repetitions, 'spin');
    state.push({ c, repetitions, estimate: first.wallMs, wall: [] as number[], cpu: [] as number[] });
  }
  for (let round = 0; round < rounds; round++) {
    for (const s of state) {
      const r = await runRepetitions(device, s.c.dispatches, s.repetitions, wait, s.estimate * 0.9);
      s.estimate = r.tailMs < 0.5 ? s.estimate * 0.9 : r.wallMs;
      s.wall.push(r.wallMs / s.repetitions);
      if (r.cpuMs !== undefined) s.cpu.push(r.cpuMs / s.repetitions);
    }
  }
  return state.map((s) => {
    const wallMs = median(s.wall);
    const cpuMs = s.cpu.length ? median(s.cpu) : undefined;
    return {
      name: s.c.name,
      wallMs,
      cpuMs,
      gflops: s.c.flops / wallMs / 1e6,
      gflopsPerCore: cpuMs ? s.c.flops / cpuMs / 1e6 : undefined,
      repetitions: s.repetitions,
    };
  });
}
