import { describe, expect, it } from 'vitest';
import { CheckpointError, decodeSafetensors, encodeSafetensors, MAX_HEADER_BYTES } from '../../src/checkpoint/safetensors.ts';
import { Random } from '../../src/util/random.ts';

const text = (s: string) => new TextEncoder().encode(s);

/** u64 little-endian header length + header text + data bytes: a file built by hand, per the spec. */
function rawFile(header: string, data: ArrayLike<number> = [], lengthField = text(header).length): Uint8Array {
  const headerBytes = text(header);
  const out = new Uint8Array(8 + headerBytes.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lengthField), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}

/** A file with one well-formed F32 tensor entry per [name, shape, begin, end], data of `dataBytes` zero bytes. */
function fileWith(entries: [string, number[], number, number][], dataBytes: number, extra = ''): Uint8Array {
  const json = entries.map(([n, s, b, e]) => `"${n}":{"dtype":"F32","shape":${JSON.stringify(s)},"data_offsets":[${b},${e}]}`);
  return rawFile(`{${[extra, ...json].filter(Boolean).join(',')}}`, new Uint8Array(dataBytes));
}

function decodeError(bytes: Uint8Array): string {
  try {
    decodeSafetensors(bytes, 'ck.safetensors');
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    return (error as Error).message;
  }
  throw new Error('expected decodeSafetensors to throw');
}

describe('safetensors byte layout', () => {
  it('writes exactly the bytes the format specifies (the reference implementation writes the same for this input)', () => {
    // huggingface/safetensors' own test (test_serialization_forced_alignement) serialises this tensor to
    // these bytes: 65 bytes of JSON padded with 7 spaces to 72, then six little-endian f32.
    const bytes = encodeSafetensors({ attn0: { shape: [1, 1, 2, 3], data: Float32Array.of(0, 1, 2, 3, 4, 5) } }, {});
    const header = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(65);
    const expected = [
      ...[72, 0, 0, 0, 0, 0, 0, 0],
      ...text(header),
      ...text('       '), // 7 spaces: data starts at 8 + 72 = 80, a multiple of 8
      ...[0, 0, 0, 0], // 0.0
      ...[0, 0, 0x80, 0x3f], // 1.0 = 0x3f800000
      ...[0, 0, 0, 0x40], // 2.0 = 0x40000000
      ...[0, 0, 0x40, 0x40], // 3.0 = 0x40400000
      ...[0, 0, 0x80, 0x40], // 4.0 = 0x40800000
      ...[0, 0, 0xa0, 0x40], // 5.0 = 0x40a00000
    ];
    expect([...bytes]).toEqual(expected);
  });

  it('writes metadata first and omits it when empty, as the reference does', () => {
    const withMetadata = encodeSafetensors({}, { framework: 'pt' });
    expect([...withMetadata]).toEqual([40, 0, 0, 0, 0, 0, 0, 0, ...text('{"__metadata__":{"framework":"pt"}}     ')]);
    expect([...encodeSafetensors({}, {})]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, ...text('{}      ')]);
  });

  it('keeps the given tensor order', () => {
    const bytes = encodeSafetensors({ b: { shape: [1], data: Float32Array.of(1) }, a: { shape: [1], data: Float32Array.of(2) } }, {});
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))));
    expect(header.trimEnd()).toBe(
      '{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
    );
    expect([...decodeSafetensors(bytes, 'x').tensors.keys()]).toEqual(['b', 'a']);
  });
});

describe('safetensors round trip', () => {
  it('returns the tensors, in file order, as fresh aligned copies, from an unaligned buffer', () => {
    const rng = new Random(7, 'safetensors');
    const weight = rng.fill(33 * 37, (r) => r.normal());
    const input = {
      'layers.0.weight': { shape: [33, 37], data: weight },
      scalar: { shape: [], data: Float32Array.of(Math.PI) },
      empty: { shape: [0, 5], data: new Float32Array(0) },
      special: { shape: [4], data: Float32Array.of(-0, Infinity, -1e-45, NaN) },
    };
    // '__proto__' must stay a plain key (an object literal would set the prototype instead).
    const metadataIn = Object.fromEntries([['format', 'pt'], ['note', 'ünïcode ✓'], ['__proto__', 'plain data']]);
    const encoded = encodeSafetensors(input, metadataIn);
    const unaligned = new Uint8Array(encoded.length + 3).subarray(3);
    unaligned.set(encoded);

    const { tensors, metadata } = decodeSafetensors(unaligned, 'x');
    expect(Object.entries(metadata)).toEqual(Object.entries(metadataIn));
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect([...tensors.keys()]).toEqual(Object.keys(input));
    for (const [name, { shape, data }] of Object.entries(input)) {
      const tensor = tensors.get(name)!;
      expect(tensor.dtype).toBe('F32');
      expect(tensor.shape).toEqual(shape);
      expect(tensor.data.byteOffset).toBe(0);
      expect(tensor.data.buffer).not.toBe(unaligned.buffer);
      expect(Object.is(tensor.data[0], data[0])).toBe(true); // -0 stays -0
      expect(tensor.data).toEqual(data);
    }
  });

  it('reads files other writers produce: header order unlike offset order, padding of any JSON whitespace', () => {
    const header = '{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"shape":[1],"data_offsets":[0,4],"dtype":"F32","extra":1}}\n\t ';
    const { tensors } = decodeSafetensors(rawFile(header, [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]), 'x');
    expect([...tensors].map(([name, t]) => [name, t.data[0]])).toEqual([['a', 1], ['b', 2]]);
  });
});

describe('safetensors validation', () => {
  const good = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';

  it('rejects files too short, with impossible header lengths, or with headers that are not JSON objects', () => {
    expect(decodeError(new Uint8Array(5))).toBe('ck.safetensors: not a safetensors file: 5 bytes, expected at least the 8-byte header length');
    expect(decodeError(rawFile(good, new Uint8Array(8), 2 ** 40))).toBe(
      'ck.safetensors: not a safetensors file: header length 1099511627776 bytes exceeds the 100000000-byte limit',
    );
    expect(decodeError(rawFile(good, [], MAX_HEADER_BYTES + 1))).toMatch(/header length 100000001 bytes exceeds the 100000000-byte limit/);
    expect(decodeError(rawFile(good, [], 1000))).toBe('ck.safetensors: truncated: header length 1000 bytes, but only 54 bytes follow the length');
    expect(decodeError(rawFile('{"a":"x"}').map((b, i) => (i === 14 ? 0xff : b)))).toBe(
      'ck.safetensors: the 9-byte header is not valid UTF-8',
    );
    expect(decodeError(rawFile('\ufeff{}'))).toBe(
      "ck.safetensors: the header must be a JSON object starting with '{' (0x7b), found 0xef 0xbb 0xbf 0x7b",
    );
    expect(decodeError(rawFile(''))).toMatch(/starting with '\{' \(0x7b\), found an empty header$/);
    expect(decodeError(rawFile('{} []'))).toMatch(/^ck\.safetensors: the header is not valid JSON: /);
    expect(decodeError(rawFile('{"a":1'))).toMatch(/^ck\.safetensors: the header is not valid JSON: /);
  });

  it('rejects malformed tensor entries, naming the tensor', () => {
    const entry = (json: string, data = 8) => decodeError(rawFile(`{"w":${json}}`, new Uint8Array(data)));
    expect(entry('[1]')).toBe('ck.safetensors: tensor "w": expected an object {dtype, shape, data_offsets}, found [1]');
    expect(entry('{"dtype":"F32"}')).toBe('ck.safetensors: tensor "w": missing shape, data_offsets');
    expect(entry('{"dtype":32,"shape":[2],"data_offsets":[0,8]}')).toBe('ck.safetensors: tensor "w": dtype must be a string, found 32');
    expect(entry('{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}')).toBe(
      'ck.safetensors: tensor "w": dtype "BF16" is not supported, only F32 is',
    );
    expect(entry('{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}')).toBe(
      'ck.safetensors: tensor "w": shape must be an array of non-negative integers, found [-2]',
    );
    expect(entry('{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}')).toMatch(/shape must be an array of non-negative integers, found \[2\.5\]/);
    expect(entry('{"dtype":"F32","shape":"2","data_offsets":[0,8]}')).toMatch(/shape must be an array .*found "2"/);
    expect(entry('{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}')).toMatch(/data_offsets must be \[begin, end\] .*found \[0,8,9\]/);
    expect(entry('{"dtype":"F32","shape":[2],"data_offsets":[0,"8"]}')).toMatch(/data_offsets must be \[begin, end\]/);
    expect(entry('{"dtype":"F32","shape":[0],"data_offsets":[8,0]}')).toBe('ck.safetensors: tensor "w": data_offsets [8, 0] end before they begin');
    expect(entry('{"dtype":"F32","shape":[4],"data_offsets":[0,16]}')).toBe(
      'ck.safetensors: tensor "w": data_offsets [0, 16] run past the end of the 8-byte data section',
    );
    expect(entry('{"dtype":"F32","shape":[3],"data_offsets":[0,8]}')).toBe(
      'ck.safetensors: tensor "w": shape [3] of F32 needs 12 bytes, but data_offsets [0, 8] span 8',
    );
    // A product far past 2^53 must neither overflow into a match nor allocate.
    expect(entry('{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}')).toBe(
      'ck.safetensors: tensor "w": shape [4294967296, 4294967296, 4294967296] of F32 needs more than 2^53 bytes, but data_offsets [0, 8] span 8',
    );
  });

  it('rejects overlaps, gaps, and data sections that the tensors do not cover exactly', () => {
    expect(decodeError(fileWith([['a', [2], 0, 8], ['b', [2], 4, 12]], 12))).toBe(
      'ck.safetensors: tensors "a" [0, 8] and "b" [4, 12] overlap',
    );
    expect(decodeError(fileWith([['a', [1], 0, 4], ['b', [1], 8, 12]], 12))).toBe(
      'ck.safetensors: gap of 4 bytes after "a": "b" begins at 8, expected 4',
    );
    expect(decodeError(fileWith([['a', [1], 4, 8]], 8))).toBe(
      'ck.safetensors: gap of 4 bytes at the start of the data section: "a" begins at 4, expected 0',
    );
    expect(decodeError(fileWith([['a', [1], 0, 4]], 8))).toBe('ck.safetensors: the data section has 8 bytes, but the tensors end at byte 4');
    expect(decodeError(fileWith([], 4))).toBe('ck.safetensors: the data section has 4 bytes, but the tensors end at byte 0');
    // A duplicated name: JSON.parse keeps the last entry, and the first one's range becomes a gap.
    expect(decodeError(fileWith([['a', [1], 0, 4], ['a', [1], 4, 8]], 8))).toMatch(/gap of 4 bytes at the start/);
  });

  it('describes what it found briefly, even values nested too deep for JSON.stringify', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(decodeError(rawFile(`{"w":{"dtype":"F32","shape":${deep},"data_offsets":[0,0]}}`))).toBe(
      'ck.safetensors: tensor "w": shape must be an array of non-negative integers, found [[[[...]]]]',
    );
    const long = 'x'.repeat(1000);
    expect(decodeError(rawFile(`{"${long}":{"dtype":"${long}","shape":[],"data_offsets":[0,4]}}`))).toBe(
      `ck.safetensors: tensor "${'x'.repeat(57)}...": dtype "${'x'.repeat(57)}..." is not supported, only F32 is`,
    );
  });

  it('rejects metadata that is not an object of strings', () => {
    expect(decodeError(fileWith([], 0, '"__metadata__":["pt"]'))).toBe('ck.safetensors: __metadata__ must be an object of strings, found ["pt"]');
    expect(decodeError(fileWith([], 0, '"__metadata__":{"epoch":3}'))).toBe('ck.safetensors: __metadata__.epoch must be a string, found 3');
  });

  it('never throws anything but CheckpointError on mutated files (seeded mutation fuzz)', () => {
    const valid = encodeSafetensors(
      { 'layers.0.weight': { shape: [3, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6) }, 'layers.0.bias': { shape: [3], data: Float32Array.of(7, 8, 9) } },
      { format: 'pt', 'webgpu_mlp.spec': '{"layers":[2,3]}' },
    );
    const headerEnd = 8 + Number(new DataView(valid.buffer).getBigUint64(0, true));
    const rng = new Random(11, 'fuzz');
    const replacements = ['0', '1', '9', '-1', '1e400', '"F32"', '"F16"', 'null', '[]', '{}', '[0,0]', '2.5', '18446744073709551616', '"', '\\u0000', ''];
    let accepted = 0;
    let rejected = 0;
    for (let trial = 0; trial < 3000; trial++) {
      let bytes: Uint8Array = valid.slice();
      const mutations = 1 + rng.below(3);
      for (let m = 0; m < mutations; m++) {
        const kind = rng.below(5);
        if (kind === 0 && bytes.length > 0) bytes[rng.below(bytes.length)] = rng.below(256);
        else if (kind === 1) bytes = bytes.slice(0, rng.below(bytes.length + 1));
        else if (kind === 2) bytes = Uint8Array.of(...bytes, ...Array.from({ length: 1 + rng.below(8) }, () => rng.below(256)));
        else if (kind === 3) bytes[rng.below(8)] = rng.below(256); // the length field
        else {
          // A token of the JSON header replaced by another, the length field kept consistent.
          const header = new TextDecoder().decode(bytes.subarray(8, Math.min(headerEnd, bytes.length)));
          const tokens = header.split(/([,:[\]{}])/);
          tokens[rng.below(tokens.length)] = replacements[rng.below(replacements.length)];
          bytes = rawFile(tokens.join(''), bytes.subarray(Math.min(headerEnd, bytes.length)));
        }
      }
      try {
        decodeSafetensors(bytes, 'fuzz');
        accepted++;
      } catch (error) {
        rejected++;
        if (!(error instanceof CheckpointError)) throw new Error(`trial ${trial}: ${String(error)} for bytes ${[...bytes].join(',')}`);
      }
    }
    // Both outcomes occur: the mutations reach the validation, and not every change is fatal.
    expect(rejected).toBeGreaterThan(1000);
    expect(accepted).toBeGreaterThan(0);
  });
});
