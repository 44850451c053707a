// Turning an arbitrary grayscale picture of a digit into a 28×28 MNIST-style input, the way the MNIST
// images themselves were made (LeCun et al.): the digit is size-normalised to fit a 20×20 box with its
// aspect ratio kept and antialiased, then placed in a 28×28 field with its centre of mass at the centre.
// Platform-neutral (no Node imports): the CLI's `predict` and the browser demo's canvas share it.
import { MlpError } from '../errors.ts';

export class ImageError extends MlpError {
  constructor(message: string, options?: ErrorOptions) {
    super('IMAGE', message, options);
    this.name = 'ImageError';
  }
}

/** A grayscale picture: row-major [height, width] brightness in [0, 1], 0 = black, 1 = white. */
export interface GrayImage {
  readonly width: number;
  readonly height: number;
  readonly pixels: Float32Array;
}

/** Side of the MNIST field. */
export const MNIST_SIDE = 28;
/** The larger side of the digit's bounding box after size normalisation, as in MNIST. */
export const DIGIT_BOX = 20;
/**
 * Where the centre of mass goes, in pixel-index coordinates (pixel x spans [x, x + 1)). Measured on the
 * 10,000 MNIST test images: mean centre of mass (x, y) = (14.008, 13.993), and every one of them rounds
 * to (14, 14).
 */
export const MNIST_CENTRE = 14;
/**
 * Contrast (ink level minus background level, on the [0, 1] scale) below which an image counts as blank:
 * 0.1 is about 25 grey levels, more than the noise of a clean scan or a lossy re-encode.
 */
export const MIN_CONTRAST = 0.1;
/**
 * Normalised ink above which a pixel counts for the bounding box. Faint specks below 10% of the full ink
 * level do not widen the crop; MNIST digits are not affected (for 9,996 of the 10,000 test images the
 * bounding box of pixels above 26/255 is as large as that of all non-zero pixels).
 */
export const INK_THRESHOLD = 0.1;

/** Rec. 601 luma weights (as PIL's 'L' mode): the brightness of an RGB colour. */
export function luminance(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

/**
 * Composites a picture with an alpha channel onto an opaque background. `luminance` and `alpha` are
 * [height, width] in [0, 1]. What people draw with transparency is strokes on a transparent background,
 * usually dark strokes (a drawing program's default black pen, a canvas), sometimes light ones (a dark
 * theme). The strokes are the visible pixels, so the background is chosen to contrast with them: white
 * when the alpha-weighted mean brightness of the visible pixels is at most 0.5, black when it is above.
 * Compositing everything over white would make white-on-transparent strokes vanish, over black would
 * make the common black-on-transparent drawing vanish. A fully opaque picture comes back unchanged; a
 * fully transparent one becomes white (blank).
 */
export function flattenAlpha(width: number, height: number, luminance: Float32Array, alpha: Float32Array): GrayImage {
  checkSize(width, height, luminance.length, 'flattenAlpha luminance');
  checkSize(width, height, alpha.length, 'flattenAlpha alpha');
  let weight = 0;
  let weightedBrightness = 0;
  for (let i = 0; i < alpha.length; i++) {
    weight += alpha[i];
    weightedBrightness += alpha[i] * luminance[i];
  }
  const background = weight > 0 && weightedBrightness / weight > 0.5 ? 0 : 1;
  const pixels = new Float32Array(luminance.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = alpha[i] * luminance[i] + (1 - alpha[i]) * background;
  return { width, height, pixels };
}

/** A canvas's ImageData (8-bit RGBA, [height, width, 4]) as a grayscale picture, alpha flattened as in flattenAlpha. */
export function grayFromRgba(image: { readonly width: number; readonly height: number; readonly data: ArrayLike<number> }): GrayImage {
  const { width, height, data } = image;
  checkSize(width, height, data.length / 4, 'grayFromRgba');
  const brightness = new Float32Array(width * height);
  const alpha = new Float32Array(width * height);
  for (let i = 0; i < brightness.length; i++) {
    brightness[i] = luminance(data[4 * i], data[4 * i + 1], data[4 * i + 2]) / 255;
    alpha[i] = data[4 * i + 3] / 255;
  }
  return flattenAlpha(width, height, brightness, alpha);
}

/**
 * Output pixels kept on each side of the digit's box: the faint fringe below INK_THRESHOLD (antialiasing)
 * lives there. 4 is all the room the 28×28 field has around a centred 20-pixel box.
 */
const MARGIN = (MNIST_SIDE - DIGIT_BOX) / 2;

/**
 * MNIST-style normalisation of a picture of one digit; returns [28, 28] u8 pixels, 255 = ink, exactly as
 * the IDX data holds them:
 *   1. polarity: MNIST is a light digit on black. The background level is the median of the border
 *      pixels (a median, so a stroke that touches the edge does not move it); a light background
 *      (above 0.5) is inverted.
 *   2. levels: the background level maps to 0 and the strongest ink to 1 (a grey paper background and a
 *      faint pencil become MNIST's black and full white). Less contrast than MIN_CONTRAST: blank, all zeros.
 *   3. box: the bounding box of pixels above INK_THRESHOLD decides the scale, one factor for both axes
 *      so that its larger side becomes 20 px. The resampled window is that box plus a margin of 4 output
 *      pixels on each side, so faint antialiased edges around the box are kept, not cut off.
 *   4. resample: area averaging when shrinking (each output pixel is the mean of the input area it
 *      covers), bilinear within the box when growing; outside the picture is background.
 *   5. place in the 28×28 field shifted by the rounded offset between its centre of mass and MNIST_CENTRE,
 *      clamped so that the box stays inside the field (only a very lopsided digit is clamped).
 */
export function preprocessDigit(image: GrayImage): Uint8Array {
  const { width, height, pixels } = image;
  checkSize(width, height, pixels.length, 'preprocessDigit');
  const out = new Uint8Array(MNIST_SIDE * MNIST_SIDE);

  const border = borderMedian(image);
  const invert = border > 0.5;
  const background = invert ? 1 - border : border;
  let strongest = 0;
  for (const p of pixels) strongest = Math.max(strongest, invert ? 1 - p : p);
  const contrast = strongest - background;
  if (!(contrast >= MIN_CONTRAST)) return out;

  // [height, width] ink in [0, 1]
  const ink = new Float32Array(pixels.length);
  for (let i = 0; i < ink.length; i++) {
    const p = invert ? 1 - pixels[i] : pixels[i];
    ink[i] = Math.min(1, Math.max(0, (p - background) / contrast));
  }

  // The strongest pixel has ink 1, so the box is not empty.
  const box = inkBoundingBox({ width, height, pixels: ink });
  const boxWidth = box.x1 - box.x0;
  const boxHeight = box.y1 - box.y0;
  const larger = Math.max(boxWidth, boxHeight);
  const step = larger / DIGIT_BOX; // input pixels per output pixel
  const coreWidth = Math.ceil((boxWidth * DIGIT_BOX) / larger);
  const coreHeight = Math.ceil((boxHeight * DIGIT_BOX) / larger);
  const digit = resample(
    { width, height, pixels: ink },
    { x: box.x0 - MARGIN * step, y: box.y0 - MARGIN * step, step, width: coreWidth + 2 * MARGIN, height: coreHeight + 2 * MARGIN, box },
  );

  const [comX, comY] = centreOfMass(digit);
  const left = clamp(Math.round(MNIST_CENTRE - comX), -MARGIN, MNIST_SIDE - MARGIN - coreWidth);
  const top = clamp(Math.round(MNIST_CENTRE - comY), -MARGIN, MNIST_SIDE - MARGIN - coreHeight);
  for (let y = Math.max(0, -top); y < Math.min(digit.height, MNIST_SIDE - top); y++) {
    for (let x = Math.max(0, -left); x < Math.min(digit.width, MNIST_SIDE - left); x++) {
      out[(top + y) * MNIST_SIDE + left + x] = Math.round(digit.pixels[y * digit.width + x] * 255);
    }
  }
  return out;
}

/**
 * A grid of output pixels laid over the input: output (0, 0) starts at input (x, y), and each output
 * pixel is `step` input pixels wide and high. `box` is the digit's bounding box in the input.
 */
interface Window {
  readonly x: number;
  readonly y: number;
  readonly step: number;
  readonly width: number;
  readonly height: number;
  readonly box: Box;
}

/** Resamples `ink` (background 0, also outside it) onto the window's grid, each axis separately. */
function resample(ink: GrayImage, window: Window): GrayImage {
  const { width, height, step, box } = window;
  const across = axisTaps(ink.width, window.x, step, width, box.x0, box.x1);
  const down = axisTaps(ink.height, window.y, step, height, box.y0, box.y1);
  // [ink.height, width]
  const rows = new Float32Array(ink.height * width);
  for (let y = 0; y < ink.height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (const [i, w] of across[x]) sum += w * ink.pixels[y * ink.width + i];
      rows[y * width + x] = sum;
    }
  }
  // [height, width]
  const pixels = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    for (const [i, w] of down[y]) {
      for (let x = 0; x < width; x++) pixels[y * width + x] += w * rows[i * width + x];
    }
  }
  return { width, height, pixels };
}

/**
 * Along one axis, the input pixels each output pixel reads and their weights.
 * Shrinking or same size (step ≥ 1): output o covers input [start + o·step, start + (o+1)·step) and each
 * input pixel weighs its overlap (area averaging; the identity at step 1); outside the input is background.
 * Growing (step < 1): bilinear between the two input pixels whose centres surround the output pixel's
 * centre, with the box's edge pixels extended to the box's edge (as when enlarging the cropped digit);
 * output pixels centred outside the box [lo, hi) are background (pixels there are faint, below
 * INK_THRESHOLD, and bilinear would smear them over 1/step output pixels).
 */
function axisTaps(inputSize: number, start: number, step: number, outputSize: number, lo: number, hi: number): Array<Array<[number, number]>> {
  const taps: Array<Array<[number, number]>> = [];
  for (let o = 0; o < outputSize; o++) {
    const these: Array<[number, number]> = [];
    if (step >= 1) {
      const from = start + o * step;
      const to = from + step;
      for (let i = Math.max(0, Math.floor(from)); i < Math.min(inputSize, Math.ceil(to)); i++) {
        const overlap = Math.min(i + 1, to) - Math.max(i, from);
        if (overlap > 0) these.push([i, overlap / step]);
      }
    } else {
      const centre = start + (o + 0.5) * step; // continuous coordinate: pixel i spans [i, i + 1)
      if (centre >= lo && centre < hi) {
        const at = clamp(centre - 0.5, lo, hi - 1); // in pixel-index coordinates
        const i = Math.floor(at);
        const frac = at - i;
        these.push([i, 1 - frac]);
        if (frac > 0) these.push([i + 1, frac]);
      }
    }
    taps.push(these);
  }
  return taps;
}

function borderMedian(image: GrayImage): number {
  const { width, height, pixels } = image;
  const border: number[] = [];
  for (let y = 0; y < height; y++) {
    const edgeRow = y === 0 || y === height - 1;
    for (let x = 0; x < width; x++) {
      if (edgeRow || x === 0 || x === width - 1) border.push(pixels[y * width + x]);
    }
  }
  border.sort((a, b) => a - b);
  const mid = border.length >> 1;
  return border.length % 2 === 1 ? border[mid] : (border[mid - 1] + border[mid]) / 2;
}

interface Box {
  readonly x0: number;
  readonly y0: number;
  /** Exclusive. */
  readonly x1: number;
  readonly y1: number;
}

/** Bounding box of the pixels above INK_THRESHOLD; the caller has made sure some pixel reaches 1. */
function inkBoundingBox(ink: GrayImage): Box {
  let x0 = ink.width;
  let y0 = ink.height;
  let x1 = 0;
  let y1 = 0;
  for (let y = 0; y < ink.height; y++) {
    for (let x = 0; x < ink.width; x++) {
      if (ink.pixels[y * ink.width + x] > INK_THRESHOLD) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x + 1);
        y1 = Math.max(y1, y + 1);
      }
    }
  }
  return { x0, y0, x1, y1 };
}

/** Intensity-weighted mean pixel index (x, y); the image is not blank. */
function centreOfMass(image: GrayImage): [number, number] {
  let mass = 0;
  let sumX = 0;
  let sumY = 0;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const m = image.pixels[y * image.width + x];
      mass += m;
      sumX += m * x;
      sumY += m * y;
    }
  }
  return [sumX / mass, sumY / mass];
}

function checkSize(width: number, height: number, count: number, what: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageError(`${what}: image size ${width}×${height}, expected positive integers`);
  }
  if (count !== width * height) {
    throw new ImageError(`${what}: ${count} pixels for a ${width}×${height} image, expected ${width * height}`);
  }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
