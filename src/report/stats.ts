// Numbers the report draws: histograms of parameter tensors, summary statistics, label counts,
// mean images, curves thinned for drawing, and the most confident mistakes of a classifier.
import type { ModelSpec } from '../index.ts';
import type { StepLoss } from '../node.ts';

export interface Histogram {
  /** Bin edges, bins + 1 of them, increasing; bin i is [edges[i], edges[i+1]), the last one closed. */
  readonly edges: number[];
  readonly counts: number[];
  /** Values outside [edges[0], edges[bins]] (only when a range was given), and non-finite values. */
  readonly outside: number;
}

export interface Summary {
  readonly count: number;
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
}

/** Mean, population standard deviation, min and max, in float64. Empty input gives NaNs. */
export function summarize(values: ArrayLike<number>): Summary {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    min = Math.min(min, values[i]);
    max = Math.max(max, values[i]);
  }
  const count = values.length;
  const mean = count ? sum / count : NaN;
  let squares = 0;
  for (let i = 0; i < count; i++) squares += (values[i] - mean) ** 2;
  return { count, mean, std: count ? Math.sqrt(squares / count) : NaN, min: count ? min : NaN, max: count ? max : NaN };
}

/** The smallest and largest finite values of several arrays, or undefined if there are none. */
export function finiteRange(...arrays: ArrayLike<number>[]): [number, number] | undefined {
  let min = Infinity;
  let max = -Infinity;
  for (const values of arrays) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (Number.isFinite(v)) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
  }
  return min <= max ? [min, max] : undefined;
}

/**
 * Counts `values` in `bins` equal-width bins over `range` (default: the finite min..max). A range
 * of zero width (all values equal, e.g. biases at initialisation) is widened to ±0.5 around the
 * value so the single bar has a visible width.
 */
export function histogram(values: ArrayLike<number>, bins: number, range?: readonly [number, number]): Histogram {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`histogram: bins must be a positive integer, found ${bins}`);
  let [low, high] = range ?? finiteRange(values) ?? [0, 0];
  if (!(high > low)) {
    low -= 0.5;
    high += 0.5;
  }
  const width = (high - low) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? high : low + i * width));
  const counts = new Array<number>(bins).fill(0);
  let outside = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= low && v <= high)) {
      outside += 1;
      continue;
    }
    counts[Math.min(bins - 1, Math.floor((v - low) / width))] += 1;
  }
  return { edges, counts, outside };
}

/** counts[c] = how many labels equal c, for c < classes. */
export function labelCounts(labels: ArrayLike<number>, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]] += 1;
  return counts;
}

/** The pixel-wise mean of the images [count, size] whose label passes `include` (all by default). */
export function meanImage(
  images: ArrayLike<number>,
  labels: ArrayLike<number>,
  size: number,
  include: (label: number) => boolean = () => true,
): Float64Array {
  const sum = new Float64Array(size);
  let n = 0;
  for (let i = 0; i < labels.length; i++) {
    if (!include(labels[i])) continue;
    n += 1;
    const offset = i * size;
    for (let p = 0; p < size; p++) sum[p] += images[offset + p];
  }
  return n ? sum.map((v) => v / n) : sum;
}

/** Indices of the first `perClass` samples of each class, class by class (fewer where a class has fewer). */
export function firstOfEachClass(labels: ArrayLike<number>, classes: number, perClass: number): number[][] {
  const picked = Array.from({ length: classes }, () => [] as number[]);
  let missing = classes * perClass;
  for (let i = 0; i < labels.length && missing > 0; i++) {
    const bucket = picked[labels[i]];
    if (bucket && bucket.length < perClass) {
      bucket.push(i);
      missing -= 1;
    }
  }
  return picked;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

/**
 * At most `maxPoints` points for drawing a long curve: consecutive points are averaged in equal
 * buckets (x and y both), so the curve keeps its level; shorter curves are returned as they are.
 */
export function bucketMeans(points: readonly Point[], maxPoints: number): { points: Point[]; bucket: number } {
  if (points.length <= maxPoints) return { points: [...points], bucket: 1 };
  const bucket = Math.ceil(points.length / maxPoints);
  const out: Point[] = [];
  for (let start = 0; start < points.length; start += bucket) {
    const end = Math.min(points.length, start + bucket);
    let x = 0;
    let y = 0;
    for (let i = start; i < end; i++) {
      x += points[i].x;
      y += points[i].y;
    }
    out.push({ x: x / (end - start), y: y / (end - start) });
  }
  return { points: out, bucket };
}

export interface Prediction {
  /** Index into the evaluated set. */
  readonly index: number;
  readonly label: number;
  readonly predicted: number;
  /** Probability the model gave its prediction. */
  readonly confidence: number;
}

/**
 * Argmax (ties → lowest class) and its softmax probability for each row of `logits` [rows, C],
 * computed in float64 with max subtraction.
 */
export function predictionsFromLogits(logits: ArrayLike<number>, labels: ArrayLike<number>, C: number): Prediction[] {
  const rows = labels.length;
  if (logits.length !== rows * C) throw new RangeError(`predictionsFromLogits: ${logits.length} logits for ${rows} rows of ${C} classes`);
  const out: Prediction[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (logits[r * C + c] > logits[r * C + best]) best = c;
    const max = logits[r * C + best];
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(logits[r * C + c] - max);
    out.push({ index: r, label: labels[r], predicted: best, confidence: 1 / sum });
  }
  return out;
}

/** The misclassified predictions, most confident first (ties: lower index first). */
export function mistakesByConfidence(predictions: readonly Prediction[]): Prediction[] {
  return predictions.filter((p) => p.predicted !== p.label).sort((a, b) => b.confidence - a.confidence || a.index - b.index);
}

/** Weights and biases of a model of `spec` (Model.parameterCount, known without making the model). */
export function parameterCount(spec: Pick<ModelSpec, 'layers'>): number {
  let total = 0;
  for (let l = 0; l + 1 < spec.layers.length; l++) total += spec.layers[l] * spec.layers[l + 1] + spec.layers[l + 1];
  return total;
}

/** Where each step falls on a fractional-epoch axis: step k of n in epoch e is at e − 1 + k/n. */
export function stepPositions(steps: readonly StepLoss[]): number[] {
  const perEpoch = new Map<number, number>();
  for (const s of steps) perEpoch.set(s.epoch, (perEpoch.get(s.epoch) ?? 0) + 1);
  const seen = new Map<number, number>();
  return steps.map((s) => {
    const k = (seen.get(s.epoch) ?? 0) + 1;
    seen.set(s.epoch, k);
    return s.epoch - 1 + k / perEpoch.get(s.epoch)!;
  });
}
