// Decoding picture files into grayscale for `predict`: PNG (through fast-png) and PGM (parsed here).
// Bytes in, so the decoding itself does not touch the file system; readImageFile is the Node-side entry.
//
// PNG: every colour type and bit depth of the standard (greyscale 1/2/4/8/16, RGB 8/16, palette
// 1/2/4/8, greyscale+alpha and RGBA 8/16, tRNS transparency), interlaced or not, except interlaced
// images below 8 bits per sample, which fast-png 8 cannot decode (its Adam7 pass sizes rows in whole
// bytes per pixel, and it fails with "Unsupported filter"): those are refused with a clear message.
// Colour becomes brightness with Rec. 601 weights; transparency is flattened as preprocess.ts's
// flattenAlpha explains (over white for dark strokes, over black for light ones).
// PGM: plain (P2) and binary (P5), maxval 1..65535 (2-byte big-endian samples above 255), comments.
import { readFile } from 'node:fs/promises';
import { decode as decodePng, type DecodedPng } from 'fast-png';
import { flattenAlpha, ImageError, luminance, type GrayImage } from './preprocess.ts';

export { ImageError } from './preprocess.ts';

/** Largest picture accepted (64 Mpixel, more than any phone camera): a guard against absurd headers. */
export const MAX_PIXELS = 1 << 26;

/** Reads and decodes a PNG or PGM file; errors name the path. */
export async function readImageFile(path: string): Promise<GrayImage> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    throw new ImageError(`${path}: cannot read: ${(error as Error).message}`);
  }
  return decodeImage(bytes, path);
}

/** Decodes a PNG or PGM picture to grayscale (0 = black, 1 = white). `source` names the file in errors. */
export function decodeImage(bytes: Uint8Array, source: string): GrayImage {
  if (startsWith(bytes, PNG_SIGNATURE)) return decodePngImage(bytes, source);
  if (bytes[0] === ASCII_P && (bytes[1] === ASCII_2 || bytes[1] === ASCII_5)) return decodePgm(bytes, source);
  throw new ImageError(`${source}: ${describeUnknown(bytes)}; expected a PNG or PGM (P2/P5) image`);
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const ASCII_P = 0x50;
const ASCII_2 = 0x32;
const ASCII_5 = 0x35;

const OTHER_FORMATS: ReadonlyArray<[string, number[]]> = [
  ['a JPEG image', [0xff, 0xd8, 0xff]],
  ['a GIF image', [0x47, 0x49, 0x46, 0x38]],
  ['a BMP image', [0x42, 0x4d]],
  ['a RIFF file (WebP?)', [0x52, 0x49, 0x46, 0x46]],
];
const NETPBM_KINDS: Record<string, string> = { '1': 'PBM', '3': 'PPM', '4': 'PBM', '6': 'PPM', '7': 'PAM' };

function describeUnknown(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'empty file';
  const other = OTHER_FORMATS.find(([, magic]) => startsWith(bytes, magic));
  if (other) return `unsupported format: looks like ${other[0]}`;
  const netpbm = bytes[0] === ASCII_P ? NETPBM_KINDS[String.fromCharCode(bytes[1])] : undefined;
  if (netpbm) return `unsupported format: netpbm P${String.fromCharCode(bytes[1])} (${netpbm}), only PGM is read`;
  const first = [...bytes.subarray(0, 4)].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ');
  return `unknown format (first bytes ${first})`;
}

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

// ---- PNG

const GREY = 0;
const RGB = 2;
const PALETTE = 3;
const GREY_ALPHA = 4;
const RGBA = 6;
const COLOUR_TYPES: Record<number, { name: string; depths: number[] }> = {
  [GREY]: { name: 'greyscale', depths: [1, 2, 4, 8, 16] },
  [RGB]: { name: 'RGB', depths: [8, 16] },
  [PALETTE]: { name: 'palette', depths: [1, 2, 4, 8] },
  [GREY_ALPHA]: { name: 'greyscale+alpha', depths: [8, 16] },
  [RGBA]: { name: 'RGBA', depths: [8, 16] },
};

interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly depth: number;
  readonly colourType: number;
}

/** Signature (8) + IHDR chunk (4 length + 4 type + 13 data + 4 CRC). */
const PNG_HEADER_BYTES = 33;

/**
 * Checks what fast-png's messages would leave vague: the IHDR values, and that every chunk up to IEND
 * is complete (a cut-off download is the usual broken PNG).
 */
function checkPng(bytes: Uint8Array, source: string): PngHeader {
  if (bytes.length < PNG_HEADER_BYTES) {
    throw new ImageError(`${source}: truncated PNG: ${bytes.length} bytes, the signature and header alone take ${PNG_HEADER_BYTES}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunkType = (at: number) => String.fromCharCode(...bytes.subarray(at + 4, at + 8));
  if (view.getUint32(8) !== 13 || chunkType(8) !== 'IHDR') {
    throw new ImageError(`${source}: bad PNG header: first chunk is ${JSON.stringify(chunkType(8))} of ${view.getUint32(8)} bytes, expected IHDR of 13`);
  }
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24];
  const colourType = bytes[25];
  const interlace = bytes[28];
  if (width === 0 || height === 0) throw new ImageError(`${source}: zero size: the PNG header says ${width}×${height}`);
  const kind = COLOUR_TYPES[colourType];
  if (!kind) throw new ImageError(`${source}: bad PNG header: colour type ${colourType}, expected 0, 2, 3, 4 or 6`);
  if (!kind.depths.includes(depth)) {
    throw new ImageError(`${source}: bad PNG header: bit depth ${depth} with colour type ${colourType} (${kind.name}), expected ${kind.depths.join(', ')}`);
  }
  if (bytes[26] !== 0 || bytes[27] !== 0 || interlace > 1) {
    throw new ImageError(`${source}: bad PNG header: compression ${bytes[26]}, filter ${bytes[27]}, interlace ${interlace}, expected 0, 0 and 0 or 1`);
  }
  if (width * height > MAX_PIXELS) throw new ImageError(`${source}: ${width}×${height} is too large (at most ${MAX_PIXELS} pixels)`);
  if (interlace === 1 && depth < 8) {
    throw new ImageError(`${source}: interlaced (Adam7) PNG with ${depth}-bit samples is not supported; save it without interlacing`);
  }

  const seen = new Set<string>();
  let at = PNG_SIGNATURE.length;
  for (;;) {
    if (at + 8 > bytes.length) {
      throw new ImageError(`${source}: truncated PNG: ends after ${bytes.length} bytes without an IEND chunk`);
    }
    const length = view.getUint32(at);
    const type = chunkType(at);
    if (at + 12 + length > bytes.length) {
      throw new ImageError(`${source}: truncated PNG: chunk ${type} at byte ${at} needs ${12 + length} bytes, ${bytes.length - at} left`);
    }
    if (type === 'IEND') break;
    seen.add(type);
    at += 12 + length;
  }
  if (!seen.has('IDAT')) throw new ImageError(`${source}: PNG has no image data (IDAT chunk)`);
  if (colourType === PALETTE && !seen.has('PLTE')) throw new ImageError(`${source}: palette PNG has no PLTE chunk`);
  return { width, height, depth, colourType };
}

function decodePngImage(bytes: Uint8Array, source: string): GrayImage {
  const header = checkPng(bytes, source);
  let png: DecodedPng;
  try {
    png = decodePng(bytes, { checkCrc: true });
  } catch (error) {
    // fast-png wraps inflate errors: "Error while decompressing the data:" with the reason as the cause
    const cause = (error as Error).cause;
    const reason = cause instanceof Error ? ` ${cause.message}` : '';
    throw new ImageError(`${source}: corrupt PNG: ${(error as Error).message}${reason}`);
  }
  const { width, height, depth, colourType } = header;
  const channels = png.channels;
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const expected = depth < 8 ? rowBytes * height : width * height * channels;
  if (png.width !== width || png.height !== height || png.data.length !== expected) {
    throw new ImageError(`${source}: corrupt PNG: decoded ${png.data.length} samples for ${width}×${height}×${channels} at ${depth} bits`);
  }

  const max = 2 ** depth - 1;
  const { data } = png;
  // Sample s of row y (s counts samples, not pixels); below 8 bits they are packed MSB-first in each row.
  const sample =
    depth >= 8
      ? (y: number, s: number) => data[(y * width) * channels + s]
      : (y: number, s: number) => (data[y * rowBytes + ((s * depth) >> 3)] >> (8 - depth - ((s * depth) & 7))) & max;

  const count = width * height;
  const brightness = new Float32Array(count);
  const alpha = new Float32Array(count).fill(1);
  const key = png.transparency; // tRNS colour key of a greyscale or RGB picture, in raw sample values
  const palette = png.palette ?? [];
  const transparent = colourType === GREY_ALPHA || colourType === RGBA || key !== undefined || palette.some((c) => c.length === 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const s = x * channels;
      if (colourType === PALETTE) {
        const index = sample(y, s);
        const colour = palette[index];
        if (!colour) throw new ImageError(`${source}: corrupt PNG: palette index ${index} at (${x}, ${y}), the palette has ${palette.length} colours`);
        brightness[i] = luminance(colour[0], colour[1], colour[2]) / 255;
        alpha[i] = (colour[3] ?? 255) / 255;
      } else if (colourType === GREY || colourType === GREY_ALPHA) {
        const v = sample(y, s);
        brightness[i] = v / max;
        if (colourType === GREY_ALPHA) alpha[i] = sample(y, s + 1) / max;
        else if (key && v === key[0]) alpha[i] = 0;
      } else {
        const [r, g, b] = [sample(y, s), sample(y, s + 1), sample(y, s + 2)];
        brightness[i] = luminance(r, g, b) / max;
        if (colourType === RGBA) alpha[i] = sample(y, s + 3) / max;
        else if (key && r === key[0] && g === key[1] && b === key[2]) alpha[i] = 0;
      }
    }
  }
  return transparent ? flattenAlpha(width, height, brightness, alpha) : { width, height, pixels: brightness };
}

// ---- PGM (netpbm): "P2" or "P5", whitespace, width, height, maxval (decimal, '#' comments to end of
// line between them), then one whitespace byte and the raster: P5 binary (1 byte per sample, 2 big-endian
// bytes when maxval > 255), P2 decimal numbers separated by whitespace.

const MAX_MAXVAL = 65535;
/** Longest decimal number read (sizes up to 999,999,999): keeps absurd headers from becoming huge numbers. */
const MAX_DIGITS = 9;

function isSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

function decodePgm(bytes: Uint8Array, source: string): GrayImage {
  const plain = bytes[1] === ASCII_2;
  let at = 2;

  // The next decimal number, skipping whitespace and comments; `what` names it in errors.
  const number = (what: string, part: 'header' | 'data'): number => {
    for (;;) {
      while (at < bytes.length && isSpace(bytes[at])) at++;
      if (bytes[at] !== 0x23) break; // '#' to the end of the line
      while (at < bytes.length && bytes[at] !== 0x0a && bytes[at] !== 0x0d) at++;
    }
    if (at >= bytes.length) throw new ImageError(`${source}: truncated PGM: ends before ${what}`);
    const start = at;
    while (at < bytes.length && bytes[at] >= 0x30 && bytes[at] <= 0x39) at++;
    if (at === start || (at < bytes.length && !isSpace(bytes[at]) && bytes[at] !== 0x23)) {
      const found = String.fromCharCode(...bytes.subarray(start, Math.min(bytes.length, start + 12)));
      throw new ImageError(`${source}: bad PGM ${part}: expected ${what} (a decimal number), found ${JSON.stringify(found)}`);
    }
    if (at - start > MAX_DIGITS) throw new ImageError(`${source}: bad PGM ${part}: ${what} has ${at - start} digits`);
    return Number(String.fromCharCode(...bytes.subarray(start, at)));
  };

  const width = number('the width', 'header');
  const height = number('the height', 'header');
  const maxval = number('the maxval', 'header');
  if (width === 0 || height === 0) throw new ImageError(`${source}: zero size: the PGM header says ${width}×${height}`);
  if (width * height > MAX_PIXELS) throw new ImageError(`${source}: ${width}×${height} is too large (at most ${MAX_PIXELS} pixels)`);
  if (maxval < 1 || maxval > MAX_MAXVAL) throw new ImageError(`${source}: bad PGM header: maxval ${maxval}, expected 1..${MAX_MAXVAL}`);

  const count = width * height;
  const pixels = new Float32Array(count);
  const put = (i: number, value: number) => {
    if (value > maxval) throw new ImageError(`${source}: bad PGM data: pixel ${i} is ${value}, above the maxval ${maxval}`);
    pixels[i] = value / maxval;
  };
  if (plain) {
    for (let i = 0; i < count; i++) put(i, number(`sample ${i + 1} of ${count}`, 'data'));
  } else {
    // Exactly one whitespace byte separates the maxval from the raster.
    at++;
    const bytesPerSample = maxval > 255 ? 2 : 1;
    const available = bytes.length - at;
    if (available < count * bytesPerSample) {
      throw new ImageError(`${source}: truncated PGM: ${width}×${height} at ${bytesPerSample} byte(s) per pixel needs ${count * bytesPerSample} bytes, found ${Math.max(0, available)}`);
    }
    for (let i = 0; i < count; i++) {
      put(i, bytesPerSample === 1 ? bytes[at + i] : (bytes[at + 2 * i] << 8) | bytes[at + 2 * i + 1]);
    }
  }
  return { width, height, pixels };
}
