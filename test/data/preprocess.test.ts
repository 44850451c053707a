import { describe, expect, it } from 'vitest';
import { modelInput } from '../../src/train/inference.ts';
import { loadIdxDataset } from '../../src/data/files.ts';
import {
  DIGIT_BOX,
  grayFromRgba,
  type GrayImage,
  ImageError,
  MNIST_CENTRE,
  MNIST_SIDE,
  preprocessDigit,
} from '../../src/data/preprocess.ts';

/** A picture of `background` with rectangles [x, y, width, height, value] painted on it. */
function picture(width: number, height: number, background: number, rects: Array<[number, number, number, number, number]>): GrayImage {
  const pixels = new Float32Array(width * height).fill(background);
  for (const [x0, y0, w, h, value] of rects) {
    for (let y = y0; y < y0 + h; y++) pixels.fill(value, y * width + x0, y * width + x0 + w);
  }
  return { width, height, pixels };
}

/** Bounding box of the non-zero output pixels ([x0, x1) × [y0, y1)), centre of mass in pixel indices, total ink. */
function inkStats(out: Uint8Array) {
  let [x0, y0, x1, y1, mass, sumX, sumY] = [MNIST_SIDE, MNIST_SIDE, 0, 0, 0, 0, 0];
  for (let y = 0; y < MNIST_SIDE; y++) {
    for (let x = 0; x < MNIST_SIDE; x++) {
      const v = out[y * MNIST_SIDE + x];
      if (v === 0) continue;
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x + 1), Math.max(y1, y + 1)];
      mass += v;
      sumX += v * x;
      sumY += v * y;
    }
  }
  return { x0, y0, x1, y1, width: x1 - x0, height: y1 - y0, mass, com: [sumX / mass, sumY / mass] };
}

function maxDifference(a: Uint8Array, b: Uint8Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Pixel-replicates a [height, width] u8 image `k` times in each direction, as brightness in [0, 1]. */
function replicate(u8: Uint8Array, width: number, height: number, k: number): GrayImage {
  const pixels = new Float32Array(width * k * height * k);
  for (let y = 0; y < height * k; y++) {
    for (let x = 0; x < width * k; x++) pixels[y * width * k + x] = u8[Math.floor(y / k) * width + Math.floor(x / k)] / 255;
  }
  return { width: width * k, height: height * k, pixels };
}

/**
 * Two computations of the same picture through different f32 arithmetic (inverted or not, other levels,
 * other resampling weights) may land on either side of a rounding boundary: one grey level apart.
 */
const ONE_LEVEL = 1;

describe('preprocessDigit: blank and degenerate pictures', () => {
  it('returns all zeros when there is no ink to speak of, never NaN', () => {
    const blanks: GrayImage[] = [
      picture(50, 40, 1, []),
      picture(17, 3, 0, []),
      picture(9, 9, 0.5, []),
      picture(30, 30, 1, [[10, 10, 5, 5, 0.95]]), // contrast 0.05 < MIN_CONTRAST
      picture(1, 1, 0, []),
      picture(1, 1, 1, []),
      picture(1, 1, 0.5, []),
    ];
    for (const image of blanks) {
      const out = preprocessDigit(image);
      expect(out.length).toBe(784);
      expect(out.every((v) => v === 0), `${image.width}×${image.height}`).toBe(true);
    }
  });

  it('handles a single ink pixel in a 2×2 picture: a full 20×20 square, centred', () => {
    const stats = inkStats(preprocessDigit(picture(2, 2, 1, [[1, 0, 1, 1, 0]])));
    expect([stats.width, stats.height, stats.mass]).toEqual([DIGIT_BOX, DIGIT_BOX, DIGIT_BOX * DIGIT_BOX * 255]);
  });

  it('checks the picture it is given', () => {
    expect(() => preprocessDigit({ width: 2, height: 3, pixels: new Float32Array(5) })).toThrow(/preprocessDigit: 5 pixels for a 2×3 image, expected 6/);
    expect(() => preprocessDigit({ width: 0, height: 3, pixels: new Float32Array(0) })).toThrow(ImageError);
  });
});

describe('preprocessDigit: polarity and levels', () => {
  // A "7": top bar and a slanted stem made of blocks, 60×80.
  const seven: Array<[number, number, number, number]> = [[8, 8, 44, 8], [40, 16, 10, 20], [32, 36, 10, 20], [24, 56, 10, 18]];
  const drawn = (background: number, ink: number) => picture(60, 80, background, seven.map(([x, y, w, h]) => [x, y, w, h, ink]));
  const reference = preprocessDigit(drawn(0, 1));

  it('inverts a light background: black on white gives what white on black gives', () => {
    expect(inkStats(reference).height).toBe(DIGIT_BOX);
    expect(Math.max(...reference)).toBe(255);
    expect(maxDifference(preprocessDigit(drawn(1, 0)), reference)).toBe(0);
  });

  it('maps grey paper to black and faint pencil to full ink', () => {
    expect(maxDifference(preprocessDigit(drawn(0.8, 0.55)), reference)).toBeLessThanOrEqual(ONE_LEVEL);
    expect(maxDifference(preprocessDigit(drawn(0.1, 0.4)), reference)).toBeLessThanOrEqual(ONE_LEVEL);
  });

  it('decides polarity from the border median, so strokes touching the edge do not flip it', () => {
    // A "1" cropped tightly: a 4-wide black bar over the full height of a white 10×30 picture.
    const one = preprocessDigit(picture(10, 30, 1, [[3, 0, 4, 30, 0]]));
    const stats = inkStats(one);
    expect(stats.height).toBe(DIGIT_BOX);
    expect(stats.width).toBe(3); // 4 · 20/30 = 2.67 pixels wide
    expect(stats.mass / 255).toBeCloseTo((4 * 20 / 30) * 20, 3);
  });

  it('takes canvas RGBA with a transparent background like black on white', () => {
    const [width, height] = [60, 80];
    const rgba = new Uint8ClampedArray(width * height * 4); // transparent black
    for (const [x0, y0, w, h] of seven) {
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) rgba[(y * width + x) * 4 + 3] = 255;
    }
    expect(maxDifference(preprocessDigit(grayFromRgba({ width, height, data: rgba })), reference)).toBe(0);
  });
});

describe('preprocessDigit: size and position', () => {
  it('moves a dot in a corner to the centre', () => {
    const out = preprocessDigit(picture(100, 100, 1, [[95, 2, 3, 3, 0]]));
    const stats = inkStats(out);
    // A 3×3 dot grows to a solid 20×20 square; a 20-pixel square's centre of mass can only be at
    // x.5, so it lands half a pixel from MNIST_CENTRE.
    expect([stats.width, stats.height, stats.mass]).toEqual([DIGIT_BOX, DIGIT_BOX, DIGIT_BOX * DIGIT_BOX * 255]);
    for (const c of stats.com) expect(Math.abs(c - MNIST_CENTRE)).toBeLessThanOrEqual(0.5);
  });

  it('centres by mass, not by bounding box', () => {
    // A heavy 36×36 block with a thin 24-pixel tail to its right: the box (60 wide) is centred 11.5
    // input pixels (3.8 output pixels) right of the centre of mass.
    const stats = inkStats(preprocessDigit(picture(120, 100, 0, [[20, 20, 36, 36, 1], [56, 37, 24, 1, 1]])));
    expect(stats.width).toBe(DIGIT_BOX);
    for (const c of stats.com) expect(Math.abs(c - MNIST_CENTRE)).toBeLessThanOrEqual(0.5);
    expect((stats.x0 + stats.x1) / 2 - MNIST_CENTRE).toBeGreaterThan(3);
  });

  it('keeps a very lopsided digit inside the field rather than centring its mass', () => {
    // A 12×12 block with 48-pixel tails right and down: centring the mass would push the box 7
    // pixels past the edge of the field.
    const stats = inkStats(preprocessDigit(picture(120, 100, 0, [[20, 10, 12, 12, 1], [32, 15, 48, 1, 1], [25, 22, 1, 48, 1]])));
    // The 20-pixel box is pushed as far right and down as the field allows: [8, 28) both ways.
    expect([stats.x0, stats.x1, stats.y0, stats.y1]).toEqual([8, 28, 8, 28]);
    for (const c of stats.com) expect(c).toBeLessThan(MNIST_CENTRE - 2);
  });

  it('keeps the aspect ratio and the ink (area averaging keeps mass / step²)', () => {
    const wide = inkStats(preprocessDigit(picture(200, 100, 1, [[70, 40, 60, 20, 0]])));
    expect([wide.width, wide.height]).toEqual([20, 7]); // 20 × 6.67
    expect(wide.mass / 255).toBeCloseTo((60 * 20) / 9, 1);
    const tall = inkStats(preprocessDigit(picture(50, 400, 0, [[20, 100, 10, 200, 1]])));
    expect([tall.width, tall.height]).toEqual([1, 20]);
    expect(tall.mass / 255).toBeCloseTo(20, 3);
  });

  it('copes with extreme shapes: a 1-pixel line in a 5000-wide picture, and its transpose', () => {
    const line = inkStats(preprocessDigit(picture(5000, 3, 1, [[500, 1, 4000, 1, 0]])));
    // 200 input pixels per output pixel: the line is 1/200 of a pixel thick, 255/200 rounds to 1.
    expect([line.width, line.height, line.mass]).toEqual([20, 1, 20]);
    const column = inkStats(preprocessDigit(picture(3, 5000, 1, [[1, 500, 1, 4000, 0]])));
    expect([column.width, column.height, column.mass]).toEqual([1, 20, 20]);
  });

  it('enlarges small pictures bilinearly within the digit box', () => {
    // A 5×7 pixel "L" (1-wide stem, 1-high foot) on a 9×11 black picture: 7 rows grow to 20 (step 0.35).
    const out = preprocessDigit(picture(9, 11, 0, [[2, 2, 1, 7, 1], [2, 8, 5, 1, 1]]));
    const stats = inkStats(out);
    // 5 · 20/7 = 14.3 columns: the 15th output column's centre is past the box's edge, so background.
    expect([stats.width, stats.height]).toEqual([14, 20]);
    const row = (y: number) => [...out.subarray((stats.y0 + y) * MNIST_SIDE + stats.x0, (stats.y0 + y) * MNIST_SIDE + stats.x1)];
    // Top row: the stem's column at full ink where the output centre lies within the stem pixel's
    // first half (clamped at the box edge), then bilinear fades to the empty column over one input
    // pixel (1/0.35 ≈ 2.9 output pixels), then nothing.
    const top = row(0);
    expect(top[0]).toBe(255);
    for (let x = 1; x < 4; x++) {
      expect(top[x]).toBeLessThan(top[x - 1]);
      expect(top[x]).toBeGreaterThan(0);
    }
    expect(top.slice(4).every((v) => v === 0)).toBe(true);
    // The foot's row is the last; its pixels are full ink along its whole length.
    expect(row(19).every((v) => v === 255)).toBe(true);
  });

  it('scales pixel-replicated MNIST digits back exactly (area averaging), wherever they sit', async () => {
    const { test } = await loadIdxDataset();
    for (let n = 0; n < 50; n++) {
      const digit = test.features.subarray(n * 784, (n + 1) * 784);
      const expected = preprocessDigit({ width: 28, height: 28, pixels: Float32Array.from(digit, (v) => v / 255) });
      const big = replicate(digit, 28, 28, 3 + (n % 3));
      // On a larger black canvas, off centre.
      const [width, height] = [big.width + 37, big.height + 11];
      const pixels = new Float32Array(width * height);
      for (let y = 0; y < big.height; y++) pixels.set(big.pixels.subarray(y * big.width, (y + 1) * big.width), (y + 3) * width + 30);
      expect(maxDifference(preprocessDigit({ width, height, pixels }), expected), `test image ${n}`).toBeLessThanOrEqual(ONE_LEVEL);
    }
  });
});

describe('preprocessDigit on MNIST itself', () => {
  it('gives the MNIST test images back almost unchanged', async () => {
    // An MNIST digit is already what preprocessing makes: its box (pixels above 26/255) is 20 pixels
    // for 9,996 of the 10,000 test images, so the scale is 1 and area resampling is a copy, and its
    // centre of mass rounds to (14, 14), so it stays where it is. What changes: the levels step maps
    // the strongest pixel to 255, and the strongest pixel of 1,021 images is 254 (at most one grey level
    // per pixel); and the 4 images whose box is 19 pixels are enlarged by 20/19.
    // Measured: 8,976 bit-identical, 9,996 within one grey level, mean |difference| 0.020 per pixel.
    // Bounds with a little room; a bug in centring or resampling moves thousands of images.
    const { test } = await loadIdxDataset();
    let identical = 0;
    let withinOne = 0;
    let totalDifference = 0;
    for (let n = 0; n < test.count; n++) {
      const digit = test.features.subarray(n * 784, (n + 1) * 784);
      const out = preprocessDigit({ width: 28, height: 28, pixels: Float32Array.from(digit, (v) => v / 255) });
      const max = maxDifference(out, digit);
      if (max === 0) identical++;
      if (max <= 1) withinOne++;
      for (let i = 0; i < 784; i++) totalDifference += Math.abs(out[i] - digit[i]);
    }
    expect(identical).toBeGreaterThanOrEqual(8970);
    expect(withinOne).toBeGreaterThanOrEqual(9990);
    expect(totalDifference / (test.count * 784)).toBeLessThan(0.03);
  });
});

describe('modelInput (what the first layer sees of pixels)', () => {
  it('scales u8 pixels to [0, 1] as the batch gather does', () => {
    expect([...modelInput(Uint8Array.of(0, 255, 51))]).toEqual([0, 1, Math.fround(0.2)]);
  });
});
