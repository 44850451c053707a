// Pixel pictures for the report (digits, weight heat maps, activation strips) as small RGB
// images, tiled into grids and encoded as PNG with fast-png. Colour maps come from Vega's schemes
// (the d3-scale-chromatic palettes), so pictures and charts share one palette family.
import { encode } from 'fast-png';
import { scheme } from 'vega';

/** Row-major RGB, 3 bytes per pixel. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** 256 RGB entries sampled from a continuous colour scheme. */
export type ColorLut = Uint8Array;

const RGB_TEXT = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/;

/** "rgb(r, g, b)" or "#rrggbb" → [r, g, b]. */
export function parseColor(text: string): [number, number, number] {
  const match = RGB_TEXT.exec(text);
  if (match) return [Number(match[1]), Number(match[2]), Number(match[3])];
  if (/^#[0-9a-f]{6}$/i.test(text)) return [1, 3, 5].map((i) => parseInt(text.slice(i, i + 2), 16)) as [number, number, number];
  throw new Error(`cannot parse colour ${JSON.stringify(text)}`);
}

/** A lookup table of a Vega continuous scheme ('viridis', 'redblue', ...), optionally reversed. */
export function colorLut(name: string, reverse = false): ColorLut {
  const interpolate = scheme(name) as ((t: number) => string) | undefined;
  if (typeof interpolate !== 'function') throw new Error(`no continuous colour scheme named ${name}`);
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) lut.set(parseColor(interpolate(reverse ? 1 - i / 255 : i / 255)), 3 * i);
  return lut;
}

/** Blue (negative) – white – red (positive). */
export const DIVERGING = colorLut('redblue', true);
/** Dark purple (low) to yellow (high). */
export const SEQUENTIAL = colorLut('viridis');

/** Maps values linearly from [low, high] onto `lut` (clamped); NaN paints mid-grey. */
export function colorImage(values: ArrayLike<number>, width: number, height: number, lut: ColorLut, low: number, high: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  const span = high - low || 1;
  for (let i = 0; i < width * height; i++) {
    const v = values[i];
    if (Number.isNaN(v)) {
      data.fill(128, 3 * i, 3 * i + 3);
      continue;
    }
    const k = Math.max(0, Math.min(255, Math.round(((v - low) / span) * 255)));
    data[3 * i] = lut[3 * k];
    data[3 * i + 1] = lut[3 * k + 1];
    data[3 * i + 2] = lut[3 * k + 2];
  }
  return { width, height, data };
}

/** A grayscale image of u8-range values; `ink` draws high values dark on white (digits on paper). */
export function grayImage(values: ArrayLike<number>, width: number, height: number, ink = true): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const v = Math.max(0, Math.min(255, Math.round(values[i])));
    data.fill(ink ? 255 - v : v, 3 * i, 3 * i + 3);
  }
  return { width, height, data };
}

/** A heat map of one weight vector, blue–white–red, symmetric around zero at its own largest |w|. */
export function weightImage(weights: ArrayLike<number>, width: number, height: number): RgbImage {
  let scale = 0;
  for (let i = 0; i < width * height; i++) scale = Math.max(scale, Math.abs(weights[i]));
  return colorImage(weights, width, height, DIVERGING, -(scale || 1), scale || 1);
}

/** Tiles equal-size images into a grid, `columns` wide, separated by `gap` pixels of `background`. */
export function tileGrid(tiles: readonly RgbImage[], columns: number, gap = 1, background = 255): RgbImage {
  if (tiles.length === 0) return { width: 1, height: 1, data: new Uint8Array([background, background, background]) };
  const { width: w, height: h } = tiles[0];
  const cols = Math.min(columns, tiles.length);
  const rows = Math.ceil(tiles.length / cols);
  const width = cols * w + (cols - 1) * gap;
  const height = rows * h + (rows - 1) * gap;
  const data = new Uint8Array(width * height * 3).fill(background);
  tiles.forEach((tile, t) => {
    if (tile.width !== w || tile.height !== h) throw new Error(`tileGrid: tile ${t} is ${tile.width}×${tile.height}, expected ${w}×${h}`);
    const x0 = (t % cols) * (w + gap);
    const y0 = Math.floor(t / cols) * (h + gap);
    for (let y = 0; y < h; y++) data.set(tile.data.subarray(3 * y * w, 3 * (y + 1) * w), 3 * ((y0 + y) * width + x0));
  });
  return { width, height, data };
}

/** Nearest-neighbour enlargement by integer factors (sharp pixels in documents and viewers). */
export function upscale(image: RgbImage, factorX: number, factorY = factorX): RgbImage {
  const width = image.width * factorX;
  const height = image.height * factorY;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.floor(y / factorY);
    for (let x = 0; x < width; x++) {
      const s = 3 * (sy * image.width + Math.floor(x / factorX));
      data.set(image.data.subarray(s, s + 3), 3 * (y * width + x));
    }
  }
  return { width, height, data };
}

export function toPng(image: RgbImage): Uint8Array {
  return encode({ width: image.width, height: image.height, data: image.data, channels: 3, depth: 8 });
}

export function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}
