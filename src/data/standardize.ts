// Per-feature standardization of f32 features: x' = (x − mean) / std, with the statistics of a
// training split. It is model state (a model trained on standardized inputs needs the same
// transform forever after): the Model computes it at its first fit on float features, keeps it,
// saves it in checkpoints (tensors input.mean and input.std) and applies it to every input.
//
// The GPU applies it inside the batch gather as an affine per feature, x' = (x − mean) · scale with
// scale = 1/std rounded to f32 (two correctly rounded f32 operations; a division would be allowed
// 2.5 ulp in WGSL); the CPU reference and the host's prediction path compute exactly the same
// (Math.fround at each step), so every path gives bit-identical inputs to the first layer.

/** Per-feature standardization: (x − mean) / std. Every std is finite and positive. */
export interface Standardization {
  /** [IN] */
  readonly mean: Float32Array;
  /** [IN], every value finite and positive (1 for a constant feature) */
  readonly std: Float32Array;
}

/** The form the kernels use: x' = (x − mean) · scale, scale = fround(1 / std). */
export interface InputAffine {
  /** [IN] */
  readonly mean: Float32Array;
  /** [IN] */
  readonly scale: Float32Array;
}

/**
 * Mean and (population) standard deviation of each feature of `features` [rows, IN], in float64
 * (two passes). A constant feature (std 0, or below float32 resolution of its mean) gets std 1: it
 * becomes 0 after centring, and nothing is divided by a tiny number.
 */
export function computeStandardization(features: Float32Array, IN: number): Standardization {
  const rows = features.length / IN;
  if (!(Number.isInteger(rows) && rows >= 1)) throw new RangeError(`standardization: ${features.length} values are not whole rows of ${IN}`);
  const sum = new Float64Array(IN);
  for (let r = 0; r < rows; r++) {
    const base = r * IN;
    for (let k = 0; k < IN; k++) sum[k] += features[base + k];
  }
  const mean = sum.map((s) => s / rows);
  const squares = new Float64Array(IN);
  for (let r = 0; r < rows; r++) {
    const base = r * IN;
    for (let k = 0; k < IN; k++) {
      const d = features[base + k] - mean[k];
      squares[k] += d * d;
    }
  }
  const meanF32 = Float32Array.from(mean);
  const std = new Float32Array(IN);
  for (let k = 0; k < IN; k++) {
    const s = Math.fround(Math.sqrt(squares[k] / rows));
    const constant = !(s > 0) || s <= 2 ** -20 * Math.abs(mean[k]) || !Number.isFinite(Math.fround(1 / s));
    std[k] = constant ? 1 : s;
  }
  return { mean: meanF32, std };
}

/** The kernels' form of a standardization. */
export function affineOf(s: Standardization): InputAffine {
  return { mean: Float32Array.from(s.mean), scale: s.std.map((v) => Math.fround(1 / v)) };
}

/** x' = fround(fround(x − mean) · scale) per feature, as the GPU's gather computes it; a new array. */
export function applyAffine(x: Float32Array, affine: InputAffine): Float32Array {
  const IN = affine.mean.length;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += IN) {
    for (let k = 0; k < IN; k++) out[i + k] = Math.fround(x[i + k] - affine.mean[k]) * affine.scale[k];
  }
  return out;
}

/** Checks a standardization read from a file or given by a caller; returns a message, or null when it is good. */
export function standardizationProblem(s: { mean?: unknown; std?: unknown }, IN: number): string | null {
  for (const field of ['mean', 'std'] as const) {
    const values = s[field];
    if (!(values instanceof Float32Array) || values.length !== IN) return `${field} must be ${IN} float32 values (one per input), found ${(values as { length?: number })?.length ?? values}`;
  }
  const mean = s.mean as Float32Array;
  const std = s.std as Float32Array;
  const badMean = mean.findIndex((v) => !Number.isFinite(v));
  if (badMean >= 0) return `mean[${badMean}] is ${mean[badMean]}; every mean must be finite`;
  const badStd = std.findIndex((v) => !(Number.isFinite(v) && v > 0 && Number.isFinite(Math.fround(1 / v))));
  if (badStd >= 0) return `std[${badStd}] is ${std[badStd]}; every std must be finite and > 0`;
  return null;
}
