// The tuning cache: where it lives, that it keeps what was measured per adapter key, merges updates,
// survives a damaged file, and never fails a run when it cannot be written.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EMPTY_TUNING, FileTuningStore, MemoryTuningStore, tuningCacheDir, type AdapterTuning } from '../../src/tune/store.ts';

const scratch = mkdtempSync(join(tmpdir(), 'webgpu-mlp-tuning-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const measured = (variant: 'subgroup' | 'tiled', ms: number) => ({ variant, ms: { [variant]: ms }, gflops: 1, measuredAt: '2026-12-07T00:00:00.000Z' });
const withProduct = (key: string, product: ReturnType<typeof measured>) => (current: AdapterTuning | undefined): AdapterTuning => {
  const base = current ?? EMPTY_TUNING('test adapter');
  return { ...base, products: { ...base.products, [key]: product } };
};

describe('tuning cache location', () => {
  it('WEBGPU_MLP_CACHE_DIR, else XDG_CACHE_HOME/webgpu-mlp, else ~/.cache/webgpu-mlp; off: no file', () => {
    expect(tuningCacheDir({ WEBGPU_MLP_CACHE_DIR: '/x' }, '/home/u')).toBe('/x');
    expect(tuningCacheDir({ XDG_CACHE_HOME: '/cache' }, '/home/u')).toBe('/cache/webgpu-mlp');
    expect(tuningCacheDir({}, '/home/u')).toBe('/home/u/.cache/webgpu-mlp');
    expect(tuningCacheDir({ WEBGPU_MLP_CACHE_DIR: 'off', XDG_CACHE_HOME: '/cache' }, '/home/u')).toBeUndefined();
  });
});

describe('FileTuningStore', () => {
  it('keeps each adapter apart and merges updates of one adapter', async () => {
    const path = join(scratch, 'a', 'tuning.json');
    const store = new FileTuningStore(path);
    expect(await store.load('gpu A')).toBeUndefined();
    await store.update('gpu A', withProduct('forward 128x784->256 relu', measured('tiled', 0.02)));
    await store.update('gpu B', withProduct('forward 128x784->256 relu', measured('subgroup', 0.01)));
    await store.update('gpu A', withProduct('weight-grad 256x784 over 128 bias', measured('subgroup', 0.03)));
    // A second store on the same file (another process) sees all of it.
    const again = new FileTuningStore(path);
    const a = await again.load('gpu A');
    expect(Object.keys(a!.products).sort()).toEqual(['forward 128x784->256 relu', 'weight-grad 256x784 over 128 bias']);
    expect(a!.products['forward 128x784->256 relu'].variant).toBe('tiled');
    expect((await again.load('gpu B'))!.products['forward 128x784->256 relu'].variant).toBe('subgroup');
    expect(JSON.parse(readFileSync(path, 'utf8')).version).toBe(1);
  });

  it('starts afresh over a damaged file', async () => {
    const path = join(scratch, 'damaged.json');
    writeFileSync(path, '{"version": 1, "adapters": {"gpu A": ');
    const store = new FileTuningStore(path);
    expect(await store.load('gpu A')).toBeUndefined();
    await store.update('gpu A', withProduct('p', measured('tiled', 1)));
    expect((await store.load('gpu A'))!.products.p.variant).toBe('tiled');
  });

  it('does not fail when the file cannot be written', async () => {
    // A file where its directory should be: no directory can be made there (whoever runs the test).
    const blocker = join(scratch, 'not-a-directory');
    writeFileSync(blocker, 'x');
    const store = new FileTuningStore(join(blocker, 'webgpu-mlp', 'tuning.json'));
    await expect(store.update('gpu A', withProduct('p', measured('tiled', 1)))).resolves.toBeUndefined();
    expect(await store.load('gpu A')).toBeUndefined();
  });
});

describe('MemoryTuningStore', () => {
  it('keeps records for the life of the process', async () => {
    const store = new MemoryTuningStore();
    await store.update('k', withProduct('p', measured('subgroup', 1)));
    expect((await store.load('k'))!.products.p.variant).toBe('subgroup');
    expect(await store.load('other')).toBeUndefined();
  });
});
