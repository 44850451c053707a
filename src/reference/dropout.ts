// CPU reference of inverted dropout. Whether element i of dense layer `layer`'s activation is kept at
// optimizer step t is a pure hash of (seed, t, layer, i), so the GPU draws the same mask without
// storing it, and the backward pass redraws it instead of reading it back.
//   pcg(v):  s = v·747796405 + 2891336453; w = ((s >> ((s >> 28) + 4)) ^ s)·277803737; (w >> 22) ^ w
//   bits  = pcg(i + pcg(layer + pcg(t + pcg(seed))));   kept ⇔ bits < keepThreshold(rate)
// All arithmetic wraps modulo 2^32: Math.imul for products, `>>> 0` to read the result unsigned.

/** The PCG-RXS-M-XS output hash of a u32 (as in "Hash Functions for GPU Rendering", Jarzynski & Olano). */
export function pcg(v: number): number {
  const s = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
  return ((w >>> 22) ^ w) >>> 0;
}

/** The 32 random bits that decide element i of layer `layer` at step t. */
export function dropoutBits(seed: number, t: number, layer: number, i: number): number {
  const stepHash = pcg((t + pcg(seed)) >>> 0);
  const layerHash = pcg((layer + stepHash) >>> 0);
  return pcg((i + layerHash) >>> 0);
}

/** min(floor(keep·2^32), 2^32 − 1): bits below it are kept. */
export function keepThreshold(rate: number): number {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate must be in [0, 1), found ${rate}`);
  return Math.min(Math.floor((1 - rate) * 4294967296), 4294967295);
}

/** [count] 1 where element i is kept, 0 where dropped. */
export function dropoutKeepMask(seed: number, t: number, layer: number, count: number, rate: number): Uint8Array {
  const threshold = keepThreshold(rate);
  const layerHash = pcg((layer + pcg((t + pcg(seed)) >>> 0)) >>> 0);
  const mask = new Uint8Array(count);
  for (let i = 0; i < count; i++) mask[i] = pcg((i + layerHash) >>> 0) < threshold ? 1 : 0;
  return mask;
}

/** h = kept ? a / keep : 0, elementwise over a (any shape, row-major index i). */
export function dropoutForward(a: ArrayLike<number>, seed: number, t: number, layer: number, rate: number): Float64Array {
  return applyMask(a, dropoutKeepMask(seed, t, layer, a.length, rate), 1 - rate);
}

/** da = kept ? dh / keep : 0: the same mask and scale as the forward pass. */
export function dropoutBackward(dh: ArrayLike<number>, seed: number, t: number, layer: number, rate: number): Float64Array {
  return applyMask(dh, dropoutKeepMask(seed, t, layer, dh.length, rate), 1 - rate);
}

function applyMask(values: ArrayLike<number>, mask: Uint8Array, keep: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = mask[i] ? values[i] / keep : 0;
  return out;
}
