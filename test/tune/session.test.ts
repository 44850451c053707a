// Kernel choices on a device: what the tuning cache holds becomes the plans' selection (measured
// choices, forced ones above them, never a variant that failed its check here), tuning times the
// candidates of a plan's products and keeps the fastest, and fits report the variants they ran.
import { describe, expect, it } from 'vitest';
import { createDataset, createModel, openGpu } from '../../src/index.ts';
import { matmulForward, matmulVariantSupported, type MatmulVariantName } from '../../src/kernels/matmul.ts';
import { adapterKey, tuningFor } from '../../src/tune/session.ts';
import { EMPTY_TUNING, MemoryTuningStore } from '../../src/tune/store.ts';
import { testGpu, testKernelContext } from '../helpers/gpu.ts';
import { randomArray } from '../helpers/random.ts';

const [B, IN, OUT] = [8, 16, 12];
const KEY = `forward ${B}x${IN}->${OUT} relu`;

async function setup() {
  const gpu = await testGpu();
  const store = new MemoryTuningStore();
  const tuning = tuningFor(gpu, store);
  return { gpu, store, tuning };
}

/** Records the product under `ctx.matmul` and returns the variant it got (from the dispatch label). */
async function recordForward(matmul: Parameters<typeof matmulForward>[0]['matmul']) {
  const ctx = { ...(await testKernelContext()), matmul };
  const io = { x: ctx.arena.tensorWithData('x', randomArray(B * IN, 'x')), w: ctx.arena.tensorWithData('w', randomArray(OUT * IN, 'w')), b: ctx.arena.tensorWithData('b', randomArray(OUT, 'b')), y: ctx.arena.tensor('y', B * OUT * 4) };
  const [dispatch] = await matmulForward(ctx, io, { B, IN, OUT, activation: 'relu' });
  return { ctx, variant: /\[(\w+)\]/.exec(dispatch.label)![1] as MatmulVariantName };
}

describe('kernel selection from the tuning cache', async () => {
  const { gpu, store, tuning } = await setup();
  const cpu = gpu.report.kind === 'cpu';
  const usual: MatmulVariantName = cpu ? (matmulVariantSupported(gpu.device, 'subgroup') ? 'subgroup' : 'regblock') : 'tiled';

  it('a variant that failed its check here is never chosen, even where the cache chose it', async () => {
    await store.update(tuning.key, () => ({ ...EMPTY_TUNING('test'), products: { [KEY]: { variant: usual, ms: {}, gflops: 0, measuredAt: '' } }, checked: { [usual]: 'wrong results' } }));
    tuning.reload();
    const selection = await tuning.selection();
    expect(selection.exclude).toEqual([usual]);
    const { ctx, variant } = await recordForward(selection);
    expect(variant).not.toBe(usual);
    ctx.arena.destroy();
  });

  it('measured choices are used, forced ones win over them, and every product is logged', async () => {
    await store.update(tuning.key, () => ({ ...EMPTY_TUNING('test'), products: { [KEY]: { variant: 'naive', ms: {}, gflops: 0, measuredAt: '' } }, checked: {} }));
    tuning.reload();
    const measured = await tuning.selection();
    const first = await recordForward(measured);
    expect(first.variant).toBe('naive');
    expect(measured.log.map((p) => [p.key, p.variant])).toEqual([[KEY, 'naive']]);
    const forced = await tuning.selection({ [KEY]: 'regblock' });
    expect((await recordForward(forced)).variant).toBe('regblock');
    first.ctx.arena.destroy();
  });

  it('tuning times every candidate that passed its check, keeps the fastest, and measures a product once', async () => {
    const candidates = (['regblock', 'tiled'] as const).filter((v) => matmulVariantSupported(gpu.device, v));
    // Checked before: 'naive' failed (never a candidate), the others passed (no check to run now).
    const checked = { naive: 'wrong results', regblock: 'passed', tiled: 'passed', subgroup: 'failed to compile' };
    await store.update(tuning.key, () => ({ ...EMPTY_TUNING('test'), checked }));
    tuning.reload();
    const selection = await tuning.selection();
    const { ctx } = await recordForward(selection);
    const pass = await tuning.tune(ctx, ctx.cache, selection.log);
    expect(pass.timings).toHaveLength(1);
    const [timing] = pass.timings;
    expect(Object.keys(timing.ms).sort()).toEqual([...candidates].sort());
    expect(candidates).toContain(timing.best);
    const stored = await store.load(tuning.key);
    expect(stored!.products[KEY].variant).toBe(timing.best);
    // Measured now: a second pass has nothing to do, and plans built from now on use it.
    expect((await tuning.tune(ctx, ctx.cache, selection.log)).timings).toHaveLength(0);
    expect((await recordForward(await tuning.selection())).variant).toBe(timing.best);
    ctx.arena.destroy();
  });

  it('keys the cache by adapter, driver and kernel version', () => {
    expect(adapterKey(gpu.report)).toContain(gpu.report.description);
    expect(adapterKey(gpu.report)).toMatch(/matmul [0-9a-f]{8}$/);
  });
});

describe('a fit reports the variants it ran', () => {
  it('in its setup, by product, and runs those it is given', async () => {
    const gpuHandle = await openGpu();
    try {
      const n = 64;
      const data = createDataset({ features: new Uint8Array(n * 16).map((_, i) => (i * 7) % 256), labels: Uint8Array.from({ length: n }, (_, i) => i % 4) });
      const model = await createModel(gpuHandle, { layers: [16, 8, 4], epochs: 1, batchSize: 16, evalBatchSize: 32, valSplit: 32 });
      let kernels: Readonly<Record<string, string>> = {};
      const result = await model.fit(data, { onStart: (info) => (kernels = info.setup?.kernels ?? {}) });
      expect(result.setup?.kernels).toEqual(kernels);
      expect(Object.keys(kernels).sort()).toEqual([
        'forward 16x16->8 relu dropout',
        'forward 32x16->8 relu',
        'forward 32x8->4 identity',
        'input-grad 16x8<-4 relu dropout',
        'weight-grad 4x8 over 16 bias',
        'weight-grad 8x16 over 16 bias',
      ]);
      // A run's recorded choices (a resume) are used as they are.
      const forced = { 'forward 16x16->8 relu dropout': 'naive', 'weight-grad 8x16 over 16 bias': 'regblock' };
      const again = await createModel(gpuHandle, { layers: [16, 8, 4], epochs: 1, batchSize: 16, evalBatchSize: 32, valSplit: 32 });
      const resumed = await again.fit(data, { kernels: forced });
      expect(resumed.setup?.kernels).toMatchObject(forced);
      again.dispose();
      model.dispose();
    } finally {
      gpuHandle.close();
    }
  });
});
