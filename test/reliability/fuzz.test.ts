// Property-based fuzzing of the two parsers that read files from users (fast-check): thousands of
// mutated valid files (bit flips, truncations, appended bytes, header fields rewritten to lie about
// sizes and offsets, huge header lengths, random JSON) must each be parsed or rejected with the
// parser's own error (DataError, CheckpointError), never anything else; fast (no hang); and without
// allocating from a size the file does not back (counted on Float32Array, the decoders' only
// allocation of data).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, METADATA, type Checkpoint } from '../../src/checkpoint/checkpoint.ts';
import { CheckpointError, decodeSafetensors } from '../../src/checkpoint/safetensors.ts';
import { checkFitsModel, Dataset } from '../../src/data/dataset.ts';
import { readIdxFile } from '../../src/data/files.ts';
import { DataError, encodeIdx, parseIdx } from '../../src/data/idx.ts';
import { ACTIVATIONS, LOSSES, type ModelSpec } from '../../src/model/spec.ts';
import { OPTIMIZERS, optimizerConfig, optimizerStateNames } from '../../src/model/optimizer.ts';
import { paramLayout } from '../../src/model/tensors.ts';
import { editHeader } from './helpers.ts';

/** Fixed seed: a failure reproduces (fast-check prints the seed and the shrunk counterexample). */
const SEED = 20240611;
/** A case slower than this counts as a hang (they take microseconds; the limit leaves room for a busy machine). */
const SLOW_CASE_MS = 1000;
const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-fuzz-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Cases run and how each was answered, printed for the record. */
const tally: Record<string, { parsed: number; rejected: number }> = {};
const count = (what: string, outcome: 'parsed' | 'rejected') => ((tally[what] ??= { parsed: 0, rejected: 0 })[outcome] += 1);
let largestAllocation = 0; // Float32Array bytes per file byte
afterAll(() => {
  const total = Object.values(tally).reduce((sum, t) => sum + t.parsed + t.rejected, 0);
  console.log(`fuzz cases: ${total} ${JSON.stringify(tally)}; largest allocation ${largestAllocation.toFixed(2)} bytes per file byte`);
});

// ---- mutations shared by both formats ----

type Mutation = (bytes: Uint8Array) => Uint8Array;

/** Integers that break naive size arithmetic: 0, ±1, 2^31, 2^32 − 1, 2^53 + 2, and small ones. */
const nastyInteger = fc.oneof(
  fc.integer({ min: -2, max: 300 }),
  fc.constantFrom(2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53 + 2, 1e21, 1.5, -(2 ** 31)),
  fc.nat(),
);

const bitFlip = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(
  ([at, bit]): Mutation =>
    (bytes) => {
      if (bytes.length === 0) return bytes;
      const out = bytes.slice();
      out[at % out.length] ^= 1 << bit;
      return out;
    },
);
const truncate = fc.nat().map((n): Mutation => (bytes) => bytes.slice(0, n % (bytes.length + 1)));
const append = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((extra): Mutation => (bytes) => Uint8Array.of(...bytes, ...extra));
const byteMutations = [bitFlip, truncate, append];

function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  return mutations.reduce((b, m) => m(b), bytes);
}

/** Runs `parse` on one case, timing it; anything thrown must be an `ErrorClass`. */
function expectParsedOrRejected(parse: () => unknown, ErrorClass: new (...args: never[]) => Error): 'parsed' | 'rejected' {
  const started = performance.now();
  try {
    parse();
    return 'parsed';
  } catch (error) {
    if (!(error instanceof ErrorClass)) throw new Error(`threw ${(error as Error)?.name}: ${(error as Error)?.message}`, { cause: error });
    return 'rejected';
  } finally {
    const ms = performance.now() - started;
    if (ms > SLOW_CASE_MS) throw new Error(`a case took ${ms.toFixed(0)} ms`);
  }
}

/** Bytes of Float32Array data allocated while `body` runs (views on existing buffers excluded). */
function float32BytesAllocated(body: () => void): number {
  const Original = globalThis.Float32Array;
  let bytes = 0;
  globalThis.Float32Array = new Proxy(Original, {
    construct(target, args: unknown[]) {
      if (typeof args[0] === 'number') bytes += args[0] * 4;
      return Reflect.construct(target, args);
    },
  });
  try {
    body();
  } finally {
    globalThis.Float32Array = Original;
  }
  return bytes;
}

// ---- IDX ----

const idxPair = fc
  .record({
    count: fc.integer({ min: 1, max: 12 }),
    shape: fc.oneof(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 })), fc.tuple(fc.integer({ min: 1, max: 30 }))),
    seed: fc.nat(),
  })
  .map(({ count, shape, seed }) => {
    const pixels = count * shape.reduce((a, b) => a * b, 1);
    const images = encodeIdx([count, ...shape], Uint8Array.from({ length: pixels }, (_, i) => (i * 31 + seed) & 255));
    const labels = encodeIdx([count], Uint8Array.from({ length: count }, (_, i) => (i + seed) % 10));
    return { images, labels };
  });

/** Rewrites a header field: the magic's dtype or rank byte, or a dimension (u32 big-endian). */
const idxHeaderRewrite = fc.oneof(
  fc.tuple(fc.constantFrom(0, 1, 2, 3), fc.integer({ min: 0, max: 255 })).map(
    ([at, value]): Mutation =>
      (bytes) => {
        const out = bytes.slice();
        if (at < out.length) out[at] = value;
        return out;
      },
  ),
  fc.tuple(fc.integer({ min: 0, max: 4 }), nastyInteger).map(
    ([dim, value]): Mutation =>
      (bytes) => {
        const out = bytes.slice();
        if (4 + 4 * dim + 4 <= out.length) new DataView(out.buffer).setUint32(4 + 4 * dim, Math.abs(Math.trunc(value)) % 2 ** 32);
        return out;
      },
  ),
);
const idxMutations = fc.array(fc.oneof(...byteMutations, idxHeaderRewrite, idxHeaderRewrite), { minLength: 1, maxLength: 4 });

describe('IDX parser (parseIdx, imageSetFromIdx, checkFitsModel)', () => {
  it('parses or rejects with DataError every mutated images/labels pair, allocating nothing from header sizes', () => {
    fc.assert(
      fc.property(idxPair, idxMutations, fc.boolean(), (pair, mutations, mutateImages) => {
        const images = mutateImages ? mutate(pair.images, mutations) : pair.images;
        const labels = mutateImages ? pair.labels : mutate(pair.labels, mutations);
        const outcome = expectParsedOrRejected(() => {
          const set = Dataset.fromIdx('train', parseIdx(images, 'images'), parseIdx(labels, 'labels'), { images: 'images', labels: 'labels' });
          // What a parsed set claims is backed by the bytes: it is a view, nothing was allocated for it.
          expect(set.features.length).toBe(set.count * set.inputSize);
          expect(set.features.buffer).toBe(images.buffer);
          checkFitsModel(set, set.inputSize, 10, 'train');
        }, DataError);
        count('idx', outcome);
      }),
      { seed: SEED, numRuns: 6000 },
    );
    // The mutations reach the checks, and not every one is fatal.
    expect(tally.idx.rejected).toBeGreaterThan(3000);
    expect(tally.idx.parsed).toBeGreaterThan(100);
  });

  it('rejects with DataError every corrupted .gz (bit flips, truncations) that does not decompress to a valid file', async () => {
    const path = join(work, 'train-labels-idx1-ubyte.gz');
    const gz = gzipSync(encodeIdx([50], Uint8Array.from({ length: 50 }, (_, i) => i % 10)));
    const cases = fc.sample(fc.array(fc.oneof(bitFlip, truncate), { minLength: 1, maxLength: 3 }), { seed: SEED, numRuns: 500 });
    for (const mutations of cases) {
      writeFileSync(path, mutate(gz, mutations));
      try {
        await readIdxFile(path);
        count('idx.gz', 'parsed');
      } catch (error) {
        if (!(error instanceof DataError)) throw error;
        count('idx.gz', 'rejected');
      }
    }
    expect(tally['idx.gz'].rejected).toBeGreaterThan(250);
  });
});

// ---- safetensors checkpoints ----

const specArbitrary: fc.Arbitrary<ModelSpec> = fc.record({
  layers: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }).chain((widths) =>
    fc.integer({ min: 2, max: 4 }).map((classes) => [...widths, classes]),
  ),
  activation: fc.constantFrom(...ACTIVATIONS),
  loss: fc.constantFrom(...LOSSES),
  dropout: fc.constantFrom(0, 0.25),
});

const checkpointArbitrary: fc.Arbitrary<Uint8Array> = fc
  .record({ spec: specArbitrary, optimizer: fc.option(fc.constantFrom(...OPTIMIZERS), { nil: undefined }), seed: fc.nat(), training: fc.option(fc.jsonValue(), { nil: undefined }) })
  .map(({ spec, optimizer, seed, training }) => {
    const { totalElements } = paramLayout(spec);
    const values = (k: number) => Float32Array.from({ length: totalElements }, (_, i) => Math.sin(i * 0.7 + seed + k));
    const checkpoint: Checkpoint = {
      spec,
      params: values(0),
      version: 'fuzz',
      ...(optimizer ? { optimizer: { config: optimizerConfig(optimizer), state: optimizerStateNames(optimizer).map((_, k) => values(k + 1)) } } : {}),
      ...(training !== undefined ? { training } : {}),
    };
    return encodeCheckpoint(checkpoint);
  });

const encoder = new TextEncoder();

type HeaderEdit = (header: Record<string, unknown>) => unknown;
const tensorNames = (header: Record<string, unknown>) => Object.keys(header).filter((name) => name !== '__metadata__');
const pick = (header: Record<string, unknown>, which: number) => {
  const names = tensorNames(header);
  return names.length ? (header[names[which % names.length]] as Record<string, unknown>) : {};
};

/** Edits that make the header lie: offsets, shapes, dtypes, missing and extra tensors, metadata, or all of it random JSON. */
const headerEdits: fc.Arbitrary<HeaderEdit>[] = [
  fc.tuple(fc.nat(), nastyInteger, nastyInteger).map(([which, begin, end]): HeaderEdit => (h) => void (pick(h, which).data_offsets = [begin, end])),
  fc.tuple(fc.nat(), fc.nat(), nastyInteger).map(([which, i, delta]): HeaderEdit => (h) => {
    const offsets = pick(h, which).data_offsets;
    if (Array.isArray(offsets)) offsets[i % 2] = Number(offsets[i % 2]) + (delta % 64);
  }),
  fc.tuple(fc.nat(), fc.array(nastyInteger, { maxLength: 4 })).map(([which, shape]): HeaderEdit => (h) => void (pick(h, which).shape = shape)),
  fc.tuple(fc.nat(), fc.constantFrom('F16', 'BF16', 'F64', 'I32', 'U8', 'BOOL', 'f32', '', 'F32 ')).map(([which, dtype]): HeaderEdit => (h) => void (pick(h, which).dtype = dtype)),
  fc.nat().map((which): HeaderEdit => (h) => void delete h[tensorNames(h)[which % Math.max(1, tensorNames(h).length)]]),
  fc.tuple(fc.oneof(fc.string(), fc.constantFrom('layers.9.weight', 'optimizer.exp_avg.layers.0.bias', '__proto__')), fc.jsonValue()).map(
    ([name, entry]): HeaderEdit => (h) => void Object.defineProperty(h, name, { value: entry, enumerable: true, configurable: true, writable: true }),
  ),
  fc.tuple(fc.nat(), fc.jsonValue()).map(([which, value]): HeaderEdit => (h) => void (h[tensorNames(h)[which % Math.max(1, tensorNames(h).length)] ?? 'x'] = value)),
  fc.tuple(fc.constantFrom(...Object.values(METADATA), 'other'), fc.oneof(fc.string(), fc.json(), fc.jsonValue())).map(
    ([key, value]): HeaderEdit => (h) => void ((h.__metadata__ as Record<string, unknown>)[key] = value),
  ),
  fc.json().map((text): HeaderEdit => (h) => void ((h.__metadata__ as Record<string, unknown>)[METADATA.spec] = text)),
  fc.jsonValue().map((value): HeaderEdit => () => value),
];
const headerRewrite = fc.array(fc.oneof(...headerEdits), { minLength: 1, maxLength: 3 }).map(
  (edits): Mutation =>
    (bytes) => {
      try {
        return editHeader(bytes, (header) => edits.reduce<unknown>((h, edit) => (typeof h === 'object' && h !== null && !Array.isArray(h) ? (edit(h as Record<string, unknown>) ?? h) : h), header));
      } catch {
        return bytes; // an earlier mutation already broke the header: leave it broken
      }
    },
);
/** The u64 header length rewritten: past the file, past the 100 MB cap, past 2^53. */
const lengthRewrite = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 4096n }), fc.constantFrom(100_000_001n, 2n ** 53n + 1n, 2n ** 63n)).map(
  (length): Mutation =>
    (bytes) => {
      const out = bytes.slice();
      if (out.length >= 8) new DataView(out.buffer).setBigUint64(0, length, true);
      return out;
    },
);
const checkpointMutations = fc.array(fc.oneof(...byteMutations, headerRewrite, headerRewrite, headerRewrite, lengthRewrite), { minLength: 1, maxLength: 4 });

describe('safetensors decoder and checkpoint validation (decodeSafetensors, decodeCheckpoint)', () => {
  it('decode or reject with CheckpointError every mutated checkpoint, allocating only what the file backs', () => {
    fc.assert(
      fc.property(checkpointArbitrary, checkpointMutations, (valid, mutations) => {
        const bytes = mutate(valid, mutations);
        let result: 'parsed' | 'rejected' = 'rejected';
        const allocated = float32BytesAllocated(() => {
          expectParsedOrRejected(() => decodeSafetensors(bytes, 'fuzz.safetensors'), CheckpointError);
          result = expectParsedOrRejected(() => {
            const checkpoint = decodeCheckpoint(bytes, 'fuzz.safetensors');
            // Accepted means usable: the layout of its spec, finite values.
            expect(checkpoint.params.length).toBe(paramLayout(checkpoint.spec).totalElements);
            expect(checkpoint.params.every(Number.isFinite)).toBe(true);
          }, CheckpointError);
        });
        count('checkpoint', result);
        // Tensor copies (safetensors) plus padded flat arrays (checkpoint): a small multiple of the file.
        expect(allocated).toBeLessThanOrEqual(4 * bytes.length + 4096);
        largestAllocation = Math.max(largestAllocation, allocated / Math.max(1, bytes.length));
      }),
      { seed: SEED, numRuns: 10000 },
    );
    expect(tally.checkpoint.rejected).toBeGreaterThan(5000);
    expect(tally.checkpoint.parsed).toBeGreaterThan(50);
    // The count above sees the decoders' allocations (else the bound proves nothing).
    expect(largestAllocation).toBeGreaterThan(0.5);
  });

  it('reject random bytes and random JSON headers with CheckpointError', () => {
    const randomHeader = fc.tuple(fc.oneof(fc.json(), fc.string()), fc.uint8Array({ maxLength: 64 })).map(([text, data]) => {
      const json = encoder.encode(text);
      const out = new Uint8Array(8 + json.length + data.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      out.set(data, 8 + json.length);
      return out;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 256 }), randomHeader), (bytes) => {
        count('random', expectParsedOrRejected(() => decodeCheckpoint(bytes, 'random.safetensors'), CheckpointError));
      }),
      { seed: SEED, numRuns: 4000 },
    );
  });
});
