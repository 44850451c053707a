// Datasets resident on the GPU: uploaded once. u8 features (images) stay bytes, 4 per u32 word
// (little-endian, the layout gather.wgsl reads), so 50,000 MNIST images take 39 MB instead of 157 MB
// as f32; f32 features (tables) are uploaded as they are.
//
// Features larger than one storage binding (maxStorageBufferBindingSize: 128 MiB on lavapipe and
// many GPUs; a 1,000,000 × 100 f32 table is 400 MB) are split into chunks of whole samples, each
// its own buffer within the limit; the gather reads them with one dispatch per chunk
// (kernels/gather.ts). Nothing is subsampled. Labels (4 bytes a sample) stay one buffer.
import type { BufferArena } from '../gpu/arena.ts';
import type { Dataset } from '../data/dataset.ts';
import { checkStorageBinding } from '../gpu/limits.ts';
import type { FeatureChunk, FeatureType } from '../kernels/gather.ts';

export interface GpuDataset {
  readonly name: string;
  readonly count: number;
  readonly inputSize: number;
  readonly featureType: FeatureType;
  /** Samples 0..count in order, in one or more buffers (u8: bytes packed in u32 words; f32: [rows, inputSize]). */
  readonly features: readonly FeatureChunk[];
  /** u32 [count] */
  readonly labels: GPUBuffer;
}

/**
 * Samples per feature chunk: as many as fit `limitBytes`, a multiple of 4 so that every u8 chunk
 * starts on a word. Throws when not even 4 samples fit (one sample wider than a binding).
 */
export function chunkRows(set: Pick<Dataset, 'inputSize' | 'featureType' | 'count'>, limitBytes: number): number {
  const bytesPerRow = set.inputSize * (set.featureType === 'u8' ? 1 : 4);
  const rows = Math.floor(limitBytes / bytesPerRow / 4) * 4;
  return rows >= set.count ? set.count : rows;
}

/**
 * Uploads `set`. `maxChunkBytes` (default: the adapter's maxStorageBufferBindingSize) caps each
 * feature buffer; tests lower it to exercise the chunked path on small data.
 */
export function uploadDataset(arena: BufferArena, set: Dataset, options: { readonly maxChunkBytes?: number } = {}): GpuDataset {
  const limit = Math.min(options.maxChunkBytes ?? Infinity, arena.device.limits.maxStorageBufferBindingSize);
  const what = `the ${set.name} set (${set.count} samples of ${set.inputSize} ${set.featureType} features)`;
  const rows = chunkRows(set, limit);
  if (rows < 1) {
    checkStorageBinding(arena.device, `one sample of ${what}`, 4 * set.inputSize * (set.featureType === 'u8' ? 1 : 4), 'use fewer features');
  }
  checkStorageBinding(arena.device, `the labels of ${what}`, set.count * 4, 'use fewer samples');
  const features: FeatureChunk[] = [];
  const chunks = Math.ceil(set.count / rows);
  for (let start = 0; start < set.count; start += rows) {
    const count = Math.min(rows, set.count - start);
    const values = set.features.subarray(start * set.inputSize, (start + count) * set.inputSize);
    const label = `${set.name} features (${set.featureType})${chunks > 1 ? ` ${features.length + 1}/${chunks}` : ''}`;
    features.push({ buffer: arena.tensorWithData(label, values), start, count });
  }
  return {
    name: set.name,
    count: set.count,
    inputSize: set.inputSize,
    featureType: set.featureType,
    features,
    labels: arena.tensorWithData(`${set.name} labels`, set.labels),
  };
}
