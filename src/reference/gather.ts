// CPU reference of the batch gather: rows `batchStart .. batchStart + rows` of the epoch's
// permutation pick images (u8 [N, IN], scaled to [0, 1]) and labels; rows ≥ `rows` of the
// B-row batch are padding (x = 0, y = 0).

export interface GatheredBatch {
  /** [B, IN] pixels / 255. */
  x: Float64Array;
  /** [B] labels. */
  y: Uint32Array;
}

export function gatherBatch(
  images: Uint8Array,
  labels: ArrayLike<number>,
  indices: ArrayLike<number>,
  batchStart: number,
  rows: number,
  B: number,
  IN: number,
): GatheredBatch {
  if (!(rows >= 0 && rows <= B)) throw new Error(`gatherBatch: rows ${rows} outside [0, ${B}]`);
  if (batchStart + rows > indices.length) throw new Error(`gatherBatch: rows ${batchStart}..${batchStart + rows} exceed the ${indices.length} indices`);
  const N = labels.length;
  if (images.length < N * IN) throw new Error(`gatherBatch: ${images.length} image bytes for ${N} images of ${IN}`);
  const x = new Float64Array(B * IN);
  const y = new Uint32Array(B);
  for (let r = 0; r < rows; r++) {
    const n = indices[batchStart + r];
    if (!(n >= 0 && n < N)) throw new Error(`gatherBatch: index ${n} at ${batchStart + r} is not an image in [0, ${N})`);
    for (let i = 0; i < IN; i++) x[r * IN + i] = images[n * IN + i] / 255;
    y[r] = labels[n];
  }
  return { x, y };
}
