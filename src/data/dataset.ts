// Labelled image sets as they live on the host: u8 pixels and u8 labels, exactly as the IDX files
// hold them (the GPU keeps them as u8 too and scales to [0, 1] when it gathers a batch).
import { Random } from '../util/random.ts';
import { DataError, type IdxArray } from './idx.ts';

export interface ImageSet {
  /** 'train', 'validation', 'test', or a subset's name. */
  readonly name: string;
  /** Row-major u8 pixels, [count, inputSize]. */
  readonly images: Uint8Array;
  /** [count] */
  readonly labels: Uint8Array;
  readonly count: number;
  /** Image shape; [1, inputSize] for data that is not an image. */
  readonly height: number;
  readonly width: number;
  readonly inputSize: number;
}

/** Pairs an images file with a labels file, checking that they agree. */
export function imageSetFromIdx(name: string, images: IdxArray, labels: IdxArray, sources: { images: string; labels: string }): ImageSet {
  if (images.dims.length !== 3 && images.dims.length !== 2) {
    throw new DataError(`${sources.images}: images must have 2 or 3 dimensions ([N, H, W] or [N, D]), found ${images.dims.length} (${images.dims.join('×')})`);
  }
  if (labels.dims.length !== 1) {
    throw new DataError(`${sources.labels}: labels must have 1 dimension ([N]), found ${labels.dims.length} (${labels.dims.join('×')})`);
  }
  const count = images.dims[0];
  if (labels.dims[0] !== count) {
    throw new DataError(`${sources.labels}: ${labels.dims[0]} labels, but ${sources.images} holds ${count} images`);
  }
  if (count === 0) throw new DataError(`${sources.images}: holds no images`);
  const [height, width] = images.dims.length === 3 ? [images.dims[1], images.dims[2]] : [1, images.dims[1]];
  if (height * width === 0) throw new DataError(`${sources.images}: images of size ${height}×${width}`);
  return { name, images: images.data, labels: labels.data, count, height, width, inputSize: height * width };
}

/** Checks a set against a model's input size and class count; `source` names where the set came from. */
export function checkSetFitsModel(set: ImageSet, inputSize: number, classes: number, source: string): void {
  if (set.inputSize !== inputSize) {
    throw new DataError(
      `${source}: images have ${set.inputSize} pixels (${set.height}×${set.width}), but the model's input layer expects ${inputSize}`,
    );
  }
  for (let i = 0; i < set.count; i++) {
    if (set.labels[i] >= classes) {
      throw new DataError(`${source}: label ${set.labels[i]} at index ${i} is out of range for a model with ${classes} classes (0..${classes - 1})`);
    }
  }
}

/** The samples at `indices`, in that order, as a new set. */
export function selectSamples(set: ImageSet, indices: ArrayLike<number>, name: string): ImageSet {
  const n = indices.length;
  const images = new Uint8Array(n * set.inputSize);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const j = indices[i];
    images.set(set.images.subarray(j * set.inputSize, (j + 1) * set.inputSize), i * set.inputSize);
    labels[i] = set.labels[j];
  }
  return { ...set, name, images, labels, count: n };
}

/** Samples [start, end) as a set sharing the parent's memory. */
export function sliceSamples(set: ImageSet, start: number, end: number, name: string): ImageSet {
  return {
    ...set,
    name,
    images: set.images.subarray(start * set.inputSize, end * set.inputSize),
    labels: set.labels.subarray(start, end),
    count: end - start,
  };
}

export interface ValidationSplit {
  /** Samples held out for validation (model selection, early stopping). */
  readonly validation: number;
  /**
   * Without a seed, validation is the last `validation` samples of the training file (the classic
   * 50,000 / 10,000 MNIST split). With one, samples are assigned by a seeded shuffle.
   */
  readonly shuffleSeed?: number;
}

export function splitValidation(train: ImageSet, split: ValidationSplit): { train: ImageSet; validation: ImageSet } {
  const { validation } = split;
  if (!Number.isInteger(validation) || validation < 0 || validation >= train.count) {
    throw new DataError(`validation split of ${validation} samples must be an integer in [0, ${train.count - 1}] for a training file of ${train.count}`);
  }
  const keep = train.count - validation;
  if (split.shuffleSeed === undefined) {
    return { train: sliceSamples(train, 0, keep, 'train'), validation: sliceSamples(train, keep, train.count, 'validation') };
  }
  const order = new Random(split.shuffleSeed, 'validation-split').permutation(train.count);
  return {
    train: selectSamples(train, order.subarray(0, keep), 'train'),
    validation: selectSamples(train, order.subarray(keep), 'validation'),
  };
}
