// CPU reference of the batch gather: rows `batchStart .. batchStart + rows` of the epoch's
// permutation pick samples and labels; u8 features (images) are scaled to [0, 1], f32 features
// (tables) standardized with the model's affine when given: fround(fround(x − mean) · scale), the
// two correctly rounded f32 operations the GPU does. Rows ≥ `rows` of the B-row batch are padding
// (x = 0, y = 0).
import type { InputAffine } from '../data/standardize.ts';

export interface GatheredBatch {
  /** [B, IN] features (u8: / 255). */
  x: Float64Array;
  /** [B] labels. */
  y: Uint32Array;
}

export function gatherBatch(
  features: Uint8Array | Float32Array,
  labels: ArrayLike<number>,
  indices: ArrayLike<number>,
  batchStart: number,
  rows: number,
  B: number,
  IN: number,
  /** f32 features only: x' = (x − mean) · scale per feature (absent: as they are). */
  affine?: InputAffine,
): GatheredBatch {
  if (!(rows >= 0 && rows <= B)) throw new Error(`gatherBatch: rows ${rows} outside [0, ${B}]`);
  if (batchStart + rows > indices.length) throw new Error(`gatherBatch: rows ${batchStart}..${batchStart + rows} exceed the ${indices.length} indices`);
  const N = labels.length;
  if (features.length < N * IN) throw new Error(`gatherBatch: ${features.length} feature values for ${N} samples of ${IN}`);
  const scale = features instanceof Uint8Array ? 1 / 255 : 1;
  const x = new Float64Array(B * IN);
  const y = new Uint32Array(B);
  for (let r = 0; r < rows; r++) {
    const n = indices[batchStart + r];
    if (!(n >= 0 && n < N)) throw new Error(`gatherBatch: index ${n} at ${batchStart + r} is not a sample in [0, ${N})`);
    // u8: b / 255 exactly as the GPU rounds it (b · (1/255) could differ in the last bit).
    if (scale !== 1) {
      for (let i = 0; i < IN; i++) x[r * IN + i] = features[n * IN + i] / 255;
    } else if (affine) {
      for (let i = 0; i < IN; i++) x[r * IN + i] = Math.fround(Math.fround(features[n * IN + i] - affine.mean[i]) * affine.scale[i]);
    } else {
      for (let i = 0; i < IN; i++) x[r * IN + i] = features[n * IN + i];
    }
    y[r] = labels[n];
  }
  return { x, y };
}
