// Compiling before timing: KernelCache.warm runs each new pipeline once (zero workgroups, nothing
// touched), an engine compiles every pipeline of its plans (and those prepared with it) before its
// first step and says so in its setup, and the idle waiter never learns from a one-off wait.
import { describe, expect, it } from 'vitest';
import { readFloat32 } from '../../src/gpu/buffers.ts';
import { IdleWaiter } from '../../src/gpu/idle-wait.ts';
import { KernelCache } from '../../src/gpu/program.ts';
import { matmulForward } from '../../src/kernels/matmul.ts';
import { Dataset } from '../../src/data/dataset.ts';
import { optimizerConfig } from '../../src/model/optimizer.ts';
import { createGpuEngine, GpuSession } from '../../src/train/gpu-engine.ts';
import { testGpu, testKernelContext } from '../helpers/gpu.ts';
import { randomArray } from '../helpers/random.ts';

describe('KernelCache.warm', () => {
  it('runs each new pipeline once without touching its buffers, and only once', async () => {
    const ctx = await testKernelContext();
    const cache = new KernelCache(ctx.device); // a cache of its own: these pipelines are new to it
    const c = { ...ctx, cache };
    const [B, IN, OUT] = [5, 12, 7];
    const y = ctx.arena.tensorWithData('y', new Float32Array(B * OUT).fill(42));
    const io = { x: ctx.arena.tensorWithData('x', randomArray(B * IN, 'warm x')), w: ctx.arena.tensorWithData('w', randomArray(OUT * IN, 'warm w')), b: ctx.arena.tensorWithData('b', randomArray(OUT, 'warm b')), y };
    const relu = await matmulForward(c, io, { B, IN, OUT, activation: 'relu' });
    const tanh = await matmulForward(c, io, { B, IN, OUT, activation: 'tanh' });
    expect(await cache.warm([...relu, ...relu, ...tanh])).toBe(2);
    expect(await cache.warm([...relu, ...tanh])).toBe(0);
    expect(cache.warmedPipelines).toBe(2);
    // Zero workgroups: the output is as it was.
    expect(Array.from(await readFloat32(ctx.device, y))).toEqual(new Array(B * OUT).fill(42));
    ctx.arena.destroy();
  });
});

describe('engine setup', () => {
  it('builds every plan and compiles every pipeline before the first step, and reports it', async () => {
    const gpu = await testGpu();
    const IN = 16;
    const set = (name: string, n: number) => Dataset.create({ name, features: new Uint8Array(n * IN).map((_, i) => i % 251), labels: Uint8Array.from({ length: n }, (_, i) => i % 3) });
    const cache = new KernelCache(gpu.device);
    const session = new GpuSession(gpu, { train: set('train', 40), validation: set('validation', 30), test: set('test', 20) }, cache);
    const spec = { layers: [IN, 8, 3], activation: 'relu' as const, loss: 'ce' as const, dropout: 0.1 };
    const engine = await createGpuEngine(session, spec, optimizerConfig('adam'), { batchSize: 8, stepsPerSubmit: 2, seed: 1, evalBatchSize: 16 });
    try {
      const setup = engine.setup!;
      // 7 training pipelines (gather, 1 forward, the loss with the output layer, 2 weight grads, 1 input
      // grad, optimizer), and evaluation's 2 forward and loss at B = 16 (its gather is training's;
      // validation and test share all).
      expect(setup.pipelines).toBe(10);
      expect(setup.compiled).toBe(10);
      expect(cache.warmedPipelines).toBe(10);
      expect(setup.seconds).toBeGreaterThan(0);
      expect(Object.keys(setup.kernels)).toEqual([]); // no selection given: nothing logged
      // A second engine of the same shapes compiles nothing.
      const again = await createGpuEngine(session, spec, optimizerConfig('adam'), { batchSize: 8, stepsPerSubmit: 2, seed: 1, evalBatchSize: 16 });
      expect(again.setup!.compiled).toBe(0);
      again.close();
    } finally {
      engine.close();
      session.destroy();
    }
  });
});

describe('IdleWaiter', () => {
  /** A clock of the test's own (no real time passes): sleeping moves it on, and so does waiting for work. */
  class TestClock {
    t = 0;
    /** Milliseconds spent sleeping (the rest of the time passed was spent waiting: polling). */
    slept = 0;
    now = () => this.t;
    sleep = async (ms: number) => {
      this.t += ms;
      this.slept += ms;
    };
    /** Work submitted now that ends `ms` later; its readback resolves then (at once, if that time has passed). */
    work(ms: number): () => Promise<number> {
      const end = this.t + ms;
      return async () => {
        this.t = Math.max(this.t, end);
        return ms;
      };
    }
  }

  it('does not learn from work marked as a one-off, and sleeps on what it learned', async () => {
    const clock = new TestClock();
    const waiter = new IdleWaiter(true, 0.9, clock);
    waiter.submitted(1, { learn: false });
    await waiter.wait(clock.work(60)); // e.g. steps that met a compilation
    expect(waiter.estimate).toBeUndefined();
    waiter.submitted(2);
    await waiter.wait(clock.work(20));
    expect(waiter.estimate).toBe(10);
    // It now sleeps 0.9 of the expected 20 ms, then waits for the rest.
    waiter.submitted(2);
    const before = clock.t;
    await waiter.wait(clock.work(20));
    expect(clock.t - before).toBe(20);
  });

  it('waits for part of the work queued, timing the rest from its end', async () => {
    const clock = new TestClock();
    const waiter = new IdleWaiter(true, 0.9, clock);
    waiter.submitted(2);
    await waiter.wait(clock.work(20)); // learns 10 ms per unit
    waiter.submitted(4);
    const first = clock.work(60); // slower now: 15 ms per unit
    const upTo = waiter.submittedUnits;
    waiter.submitted(4);
    const second = clock.work(120); // the 4 units behind end 60 ms after the first 4
    let slept = clock.slept;
    await waiter.wait(first, { upTo });
    // It sleeps 0.9 of the 4 units it waits for (not of all 8 queued), then polls to their end.
    expect(clock.slept - slept).toBeCloseTo(0.9 * 40, 9);
    expect(clock.t).toBe(80);
    expect(waiter.estimate).toBeCloseTo(0.5 * 10 + 0.5 * 15, 9);
    // The 4 units behind are timed from the end of the first 4.
    slept = clock.slept;
    await waiter.wait(second);
    expect(clock.t).toBe(140);
    expect(clock.slept - slept).toBeCloseTo(0.9 * 4 * 12.5, 9);
    expect(waiter.estimate).toBeCloseTo(0.5 * 12.5 + 0.5 * 15, 9);
  });

  it('takes a readback that comes 2 ms after waking as an overshoot when work is queued behind', async () => {
    const clock = new TestClock();
    const waiter = new IdleWaiter(true, 0.9, clock);
    waiter.submitted(2);
    await waiter.wait(clock.work(20)); // learns 10 ms per unit, then the work gets 2× faster
    const busy = (ms: number) => {
      const end = clock.t + ms;
      return async () => void (clock.t = Math.max(clock.t, end) + 2); // the device busy: a slow readback
    };
    waiter.submitted(4);
    const first = busy(20);
    const upTo = waiter.submittedUnits;
    waiter.submitted(4);
    await waiter.wait(first, { upTo });
    expect(waiter.estimate).toBe(7.5); // shrunk by a quarter, as for an overshoot
    // The same readback with nothing queued behind is a sample: the 4 units behind, from t = 58 to 87.
    await waiter.wait(busy(20));
    expect(clock.t).toBe(87);
    expect(waiter.estimate).toBeCloseTo(0.5 * 7.5 + 0.5 * (29 / 4), 9);
  });

  it('recovers from an estimate far too long within a few waits, sleeping less each time', async () => {
    const clock = new TestClock();
    const waiter = new IdleWaiter(true, 0.9, clock);
    waiter.submitted(1);
    await waiter.wait(clock.work(200)); // learns 200 ms per unit, then the work gets 40× faster
    const durations: number[] = [];
    for (let i = 0; i < 10 && waiter.estimate! > 20; i++) {
      waiter.submitted(1);
      const started = clock.t;
      await waiter.wait(clock.work(5));
      durations.push(clock.t - started);
    }
    expect(waiter.estimate).toBeLessThan(20);
    expect(durations.length).toBeLessThanOrEqual(8);
    // From the third overshoot on, each sleep is shorter than the one before.
    for (let i = 3; i < durations.length; i++) expect(durations[i]).toBeLessThan(durations[i - 1]);
  });
});
