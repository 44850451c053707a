// Image sets resident on the GPU: uploaded once, as u8 (4 pixels per u32 word, little-endian, the
// layout gather.wgsl reads), so 50,000 MNIST images take 39 MB instead of 157 MB as f32.
import type { BufferArena } from '../gpu/arena.ts';
import type { ImageSet } from '../data/dataset.ts';
import { checkStorageBinding } from '../gpu/limits.ts';

export interface GpuImageSet {
  readonly name: string;
  readonly count: number;
  readonly inputSize: number;
  /** u8 pixels packed in u32 words: [count · inputSize] bytes. */
  readonly images: GPUBuffer;
  /** u32 [count] */
  readonly labels: GPUBuffer;
}

export function uploadImageSet(arena: BufferArena, set: ImageSet): GpuImageSet {
  checkStorageBinding(arena.device, `the ${set.name} set (${set.count} images of ${set.inputSize} pixels, u8)`, set.images.byteLength, 'use fewer images');
  return {
    name: set.name,
    count: set.count,
    inputSize: set.inputSize,
    images: arena.tensorWithData(`${set.name} images (u8)`, set.images),
    labels: arena.tensorWithData(`${set.name} labels`, Uint32Array.from(set.labels)),
  };
}
