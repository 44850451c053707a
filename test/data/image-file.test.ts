import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { encode, type IndexedColors } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { decodeImage, ImageError, readImageFile } from '../../src/data/image-file.ts';
import type { GrayImage } from '../../src/data/preprocess.ts';

/** Decoded brightness is computed in f32 from exact sample ratios: 1e-6 is a few f32 ulps at 1. */
const EXACT = 1e-6;

function expectPixels(image: GrayImage, width: number, height: number, expected: number[]): void {
  expect([image.width, image.height]).toEqual([width, height]);
  expect(image.pixels.length).toBe(expected.length);
  image.pixels.forEach((p, i) => expect(Math.abs(p - expected[i]), `pixel ${i}: ${p} vs ${expected[i]}`).toBeLessThanOrEqual(EXACT));
}

/** Packs samples of `depth` < 8 bits MSB-first, each row starting on a byte, as PNG stores them. */
function packRows(samples: number[], width: number, depth: number): Uint8Array {
  const rowBytes = Math.ceil((width * depth) / 8);
  const height = samples.length / width;
  const out = new Uint8Array(rowBytes * height);
  samples.forEach((v, i) => {
    const [y, x] = [Math.floor(i / width), i % width];
    out[y * rowBytes + ((x * depth) >> 3)] |= v << (8 - depth - ((x * depth) & 7));
  });
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

const IDAT_AT = 33; // signature + IHDR chunk: fast-png writes IDAT next (PLTE/tRNS first for palettes)

/** A chunk inserted right after IHDR (where tRNS may go for greyscale and RGB). */
function withChunk(png: Uint8Array, type: string, data: Uint8Array): Uint8Array {
  return Uint8Array.from([...png.subarray(0, IDAT_AT), ...chunk(type, data), ...png.subarray(IDAT_AT)]);
}

/** A copy with IHDR byte `offset` (from the start of the file) changed and the IHDR CRC recomputed. */
function patchHeader(png: Uint8Array, offset: number, value: number): Uint8Array {
  const out = png.slice();
  out[offset] = value;
  new DataView(out.buffer).setUint32(29, crc32(out.subarray(12, 29)));
  return out;
}

function u16(...values: number[]): Uint8Array {
  const out = new Uint8Array(2 * values.length);
  values.forEach((v, i) => new DataView(out.buffer).setUint16(2 * i, v));
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

describe('PNG decoding', () => {
  it('reads 8- and 16-bit greyscale', () => {
    const grey8 = encode({ width: 2, height: 2, data: Uint8Array.of(0, 51, 255, 128), channels: 1, depth: 8 });
    expectPixels(decodeImage(grey8, 'g8.png'), 2, 2, [0, 0.2, 1, 128 / 255]);
    const grey16 = encode({ width: 3, height: 1, data: Uint16Array.of(0, 65535, 257), channels: 1, depth: 16 });
    expectPixels(decodeImage(grey16, 'g16.png'), 3, 1, [0, 1, 257 / 65535]);
  });

  it('unpacks 1-, 2- and 4-bit greyscale rows that do not end on a byte', () => {
    const [width, height] = [11, 3];
    for (const depth of [1, 2, 4] as const) {
      const max = 2 ** depth - 1;
      const samples = Array.from({ length: width * height }, (_, i) => (i * 7 + 3) % (max + 1));
      const png = encode({ width, height, data: packRows(samples, width, depth), channels: 1, depth });
      expectPixels(decodeImage(png, `g${depth}.png`), width, height, samples.map((v) => v / max));
    }
  });

  it('turns colour into Rec. 601 brightness, 8 and 16 bits, interlaced or not', () => {
    const rgb = Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 10, 20, 30, 0, 0, 0);
    const expected = [0.299, 0.587, 0.114, 1, (0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255, 0];
    expectPixels(decodeImage(encode({ width: 3, height: 2, data: rgb, channels: 3, depth: 8 }), 'rgb.png'), 3, 2, expected);
    const adam7 = encode({ width: 3, height: 2, data: rgb, channels: 3, depth: 8 }, { interlace: 'Adam7' });
    expect(adam7[28]).toBe(1);
    expectPixels(decodeImage(adam7, 'adam7.png'), 3, 2, expected);
    const rgb16 = encode({ width: 1, height: 1, data: Uint16Array.of(65535, 0, 65535), channels: 3, depth: 16 });
    expectPixels(decodeImage(rgb16, 'rgb16.png'), 1, 1, [0.299 + 0.114]);
  });

  it('composites dark strokes on transparency over white, light strokes over black', () => {
    // [2, 2] RGBA: opaque, half-transparent, and two transparent pixels (whose colour must not matter)
    const dark = Uint8Array.of(0, 0, 0, 255, 0, 0, 0, 128, 255, 0, 0, 0, 0, 0, 0, 0);
    expectPixels(decodeImage(encode({ width: 2, height: 2, data: dark, channels: 4, depth: 8 }), 'dark.png'), 2, 2, [0, 1 - 128 / 255, 1, 1]);
    const light = Uint8Array.of(255, 255, 255, 255, 255, 255, 255, 128, 255, 0, 0, 0, 0, 0, 0, 0);
    expectPixels(decodeImage(encode({ width: 2, height: 2, data: light, channels: 4, depth: 8 }), 'light.png'), 2, 2, [1, 128 / 255, 0, 0]);
    // greyscale+alpha, 16 bits: a dark stroke at a quarter alpha and full alpha
    const greyAlpha = Uint16Array.of(0, 16384, 13107, 65535, 65535, 0);
    const expectedGa = [1 - 16384 / 65535, 0.2, 1];
    expectPixels(decodeImage(encode({ width: 3, height: 1, data: greyAlpha, channels: 2, depth: 16 }), 'ga.png'), 3, 1, expectedGa);
    // fully transparent: blank white, whatever the colour
    const none = encode({ width: 1, height: 2, data: Uint8Array.of(0, 0, 0, 0, 9, 9, 9, 0), channels: 4, depth: 8 });
    expectPixels(decodeImage(none, 'none.png'), 1, 2, [1, 1]);
  });

  it('honours tRNS colour keys of greyscale and RGB pictures', () => {
    const grey = encode({ width: 3, height: 1, data: Uint8Array.of(7, 0, 200), channels: 1, depth: 8 });
    // grey level 7 is transparent: the visible pixels (0 and 200) average dark, so the background is white
    expectPixels(decodeImage(withChunk(grey, 'tRNS', u16(7)), 'key.png'), 3, 1, [1, 0, 200 / 255]);
    // (at least 3 pixels: fast-png refuses an RGB tRNS chunk with more values than the picture has pixels)
    const rgb = encode({ width: 3, height: 1, data: Uint16Array.of(1, 2, 3, 65535, 65535, 65535, 1, 2, 4), channels: 3, depth: 16 });
    // the white pixel is keyed out, leaving dark visible pixels: white background
    const keyed = decodeImage(withChunk(rgb, 'tRNS', u16(65535, 65535, 65535)), 'key16.png');
    const dark = (b: number) => (0.299 * 1 + 0.587 * 2 + 0.114 * b) / 65535;
    expectPixels(keyed, 3, 1, [dark(3), 1, dark(4)]);
  });

  it('reads palette pictures, 8-bit and packed, with palette transparency', () => {
    // fast-png writes tRNS from the entries whose alpha is not 255, in order, so the transparent entry comes first
    const palette: IndexedColors = [
      [255, 0, 0, 0],
      [0, 0, 0, 255],
      [255, 255, 255, 255],
      [0, 0, 255, 255],
    ];
    const indices = [0, 1, 2, 3, 1, 0, 2, 2, 3];
    const expected = [1, 0, 1, 0.114, 0, 1, 1, 1, 0.114];
    const png8 = encode({ width: 3, height: 3, data: Uint8Array.from(indices), channels: 1, depth: 8, palette });
    expectPixels(decodeImage(png8, 'p8.png'), 3, 3, expected);
    const png2 = encode({ width: 3, height: 3, data: packRows(indices, 3, 2), channels: 1, depth: 2, palette });
    expectPixels(decodeImage(png2, 'p2.png'), 3, 3, expected);
    const opaque = palette.slice(1).map((c) => c.slice(0, 3));
    const png4 = encode({ width: 5, height: 1, data: packRows([0, 1, 2, 2, 0], 5, 4), channels: 1, depth: 4, palette: opaque });
    expectPixels(decodeImage(png4, 'p4.png'), 5, 1, [0, 1, 0.114, 0.114, 0]);
  });
});

describe('PNG errors', () => {
  const grey = encode({ width: 3, height: 2, data: Uint8Array.of(1, 2, 3, 4, 5, 6), channels: 1, depth: 8 });

  it('names the file and the problem for a truncated file, at every length', () => {
    expect(() => decodeImage(grey.subarray(0, 20), 'cut.png')).toThrow(/^cut\.png: truncated PNG: 20 bytes, the signature and header alone take 33$/);
    expect(() => decodeImage(grey.subarray(0, 45), 'cut.png')).toThrow(/cut\.png: truncated PNG: chunk IDAT at byte 33 needs \d+ bytes, 12 left/);
    expect(() => decodeImage(grey.subarray(0, grey.length - 12), 'cut.png')).toThrow(/without an IEND chunk/);
    for (let length = 8; length < grey.length; length++) {
      expect(() => decodeImage(grey.subarray(0, length), 'cut.png'), `cut at ${length}`).toThrow(ImageError);
    }
  });

  it('rejects bad header values', () => {
    expect(() => decodeImage(patchHeader(grey, 19, 0), 'w0.png')).toThrow(/w0\.png: zero size: the PNG header says 0×2/);
    expect(() => decodeImage(patchHeader(grey, 24, 3), 'd.png')).toThrow(/d\.png: bad PNG header: bit depth 3 with colour type 0 \(greyscale\), expected 1, 2, 4, 8, 16/);
    const rgb = encode({ width: 1, height: 1, data: Uint8Array.of(1, 2, 3), channels: 3, depth: 8 });
    expect(() => decodeImage(patchHeader(rgb, 24, 4), 'r.png')).toThrow(/bit depth 4 with colour type 2 \(RGB\), expected 8, 16/);
    expect(() => decodeImage(patchHeader(grey, 25, 5), 'c.png')).toThrow(/bad PNG header: colour type 5, expected 0, 2, 3, 4 or 6/);
    expect(() => decodeImage(patchHeader(grey, 28, 2), 'i.png')).toThrow(/interlace 2, expected 0, 0 and 0 or 1/);
    const huge = patchHeader(patchHeader(grey, 17, 1), 21, 1); // 65539 × 65538
    expect(() => decodeImage(huge, 'huge.png')).toThrow(/huge\.png: 65539×65538 is too large/);
  });

  it('refuses interlaced sub-byte pictures, which fast-png decodes wrongly', () => {
    const bits = encode({ width: 8, height: 1, data: Uint8Array.of(0xa5), channels: 1, depth: 1 });
    expect(() => decodeImage(patchHeader(bits, 28, 1), 'a7.png')).toThrow(/a7\.png: interlaced \(Adam7\) PNG with 1-bit samples is not supported/);
  });

  it('reports corrupt data, missing chunks and palette indices past the palette', () => {
    const idatLength = new DataView(grey.buffer, grey.byteOffset).getUint32(IDAT_AT);
    const badCrc = grey.slice();
    badCrc[IDAT_AT + 8 + idatLength + 3] ^= 0xff;
    expect(() => decodeImage(badCrc, 'crc.png')).toThrow(/crc\.png: corrupt PNG: CRC mismatch for chunk IDAT/);
    const badData = grey.slice();
    badData[IDAT_AT + 8] ^= 0xff; // the zlib header
    expect(() => decodeImage(badData, 'zlib.png')).toThrow(/zlib\.png: corrupt PNG: Error while decompressing the data: \S/);
    const noData = Uint8Array.from([...grey.subarray(0, IDAT_AT), ...chunk('IEND', new Uint8Array(0))]);
    expect(() => decodeImage(noData, 'empty.png')).toThrow(/empty\.png: PNG has no image data \(IDAT chunk\)/);
    const indexed = encode({ width: 2, height: 1, data: Uint8Array.of(0, 1), channels: 1, depth: 8, palette: [[0, 0, 0], [9, 9, 9]] });
    const noPalette = patchHeader(grey, 25, 3);
    expect(() => decodeImage(noPalette, 'nop.png')).toThrow(/nop\.png: palette PNG has no PLTE chunk/);
    const shortPalette = encode({ width: 2, height: 1, data: Uint8Array.of(0, 5), channels: 1, depth: 8, palette: [[0, 0, 0], [9, 9, 9]] });
    expect(() => decodeImage(indexed, 'ok.png')).not.toThrow();
    expect(() => decodeImage(shortPalette, 'idx.png')).toThrow(/idx\.png: corrupt PNG: palette index 5 at \(1, 0\), the palette has 2 colours/);
  });
});

describe('PGM decoding', () => {
  it('reads plain P2 with comments anywhere between the numbers', () => {
    const pgm = text('P2\n# made by hand\n3 # width\n2\n# maxval next\n15\n0 15 3\n# a comment inside the raster\n6\t9 12\n');
    expectPixels(decodeImage(pgm, 'a.pgm'), 3, 2, [0, 1, 0.2, 0.4, 0.6, 0.8]);
  });

  it('reads binary P5 with 1- and 2-byte samples', () => {
    const p5 = Uint8Array.from([...text('P5 2 2 255\n'), 0, 255, 10, 32]);
    expectPixels(decodeImage(p5, 'b.pgm'), 2, 2, [0, 1, 10 / 255, 32 / 255]);
    // whitespace byte after maxval can be anything white, and raster bytes may look like whitespace or '#'
    const tab = Uint8Array.from([...text('P5\n#c\n3 1\n255\t'), 0x0a, 0x23, 0x20]);
    expectPixels(decodeImage(tab, 'tab.pgm'), 3, 1, [10 / 255, 35 / 255, 32 / 255]);
    const wide = Uint8Array.from([...text('P5 3 1 65535\n'), ...u16(0, 65535, 258)]);
    expectPixels(decodeImage(wide, 'c.pgm'), 3, 1, [0, 1, 258 / 65535]);
    const thousand = Uint8Array.from([...text('P5 2 1 1000\n'), ...u16(1000, 250)]);
    expectPixels(decodeImage(thousand, 'd.pgm'), 2, 1, [1, 0.25]);
  });

  it('names the file and the problem for bad input', () => {
    expect(() => decodeImage(Uint8Array.from([...text('P5 3 2 255\n'), 1, 2, 3, 4, 5]), 'cut.pgm')).toThrow(
      /^cut\.pgm: truncated PGM: 3×2 at 1 byte\(s\) per pixel needs 6 bytes, found 5$/,
    );
    expect(() => decodeImage(Uint8Array.from([...text('P5 2 1 65535\n'), 0, 0, 0]), 'cut16.pgm')).toThrow(/needs 4 bytes, found 3/);
    expect(() => decodeImage(text('P2 3 2 9 1 2 3 4 5'), 'p2.pgm')).toThrow(/p2\.pgm: truncated PGM: ends before sample 6 of 6/);
    expect(() => decodeImage(text('P5 3'), 'hdr.pgm')).toThrow(/hdr\.pgm: truncated PGM: ends before the height/);
    expect(() => decodeImage(text('P5 0 4 255\n'), 'zero.pgm')).toThrow(/zero\.pgm: zero size: the PGM header says 0×4/);
    expect(() => decodeImage(text('P2 1 1 0\n0'), 'm0.pgm')).toThrow(/m0\.pgm: bad PGM header: maxval 0, expected 1\.\.65535/);
    expect(() => decodeImage(text('P2 1 1 70000\n0'), 'm7.pgm')).toThrow(/maxval 70000, expected 1\.\.65535/);
    expect(() => decodeImage(text('P2 x 1 255\n0'), 'w.pgm')).toThrow(/w\.pgm: bad PGM header: expected the width \(a decimal number\), found "x 1 255\\n0"/);
    expect(() => decodeImage(text('P2 2 1 255\n7 12a'), 's.pgm')).toThrow(/s\.pgm: bad PGM data: expected sample 2 of 2/);
    expect(() => decodeImage(text('P2 2 1 255\n7 300'), 'big.pgm')).toThrow(/big\.pgm: bad PGM data: pixel 1 is 300, above the maxval 255/);
    expect(() => decodeImage(text('P5 99999999999 1 255\n'), 'digits.pgm')).toThrow(/the width has 11 digits/);
    expect(() => decodeImage(text('P5 100000 100000 255\n'), 'huge.pgm')).toThrow(/100000×100000 is too large/);
  });
});

describe('unknown formats and files', () => {
  it('says what the bytes are not, and what they might be', () => {
    expect(() => decodeImage(text('hello'), 'notes.txt')).toThrow(
      /^notes\.txt: unknown format \(first bytes 0x68 0x65 0x6c 0x6c\); expected a PNG or PGM \(P2\/P5\) image$/,
    );
    expect(() => decodeImage(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0), 'photo.png')).toThrow(/photo\.png: unsupported format: looks like a JPEG image/);
    expect(() => decodeImage(text('P6 1 1 255\n'), 'c.ppm')).toThrow(/c\.ppm: unsupported format: netpbm P6 \(PPM\), only PGM is read/);
    expect(() => decodeImage(new Uint8Array(0), 'nothing')).toThrow(/nothing: empty file/);
  });

  it('reads files from disk and names a path it cannot read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'image-file-'));
    const path = join(dir, 'digit.pgm');
    writeFileSync(path, text('P2 2 1 4 1 3\n'));
    expectPixels(await readImageFile(path), 2, 1, [0.25, 0.75]);
    await expect(readImageFile(join(dir, 'missing.png'))).rejects.toThrow(/missing\.png: cannot read: ENOENT/);
  });
});
