// A labelled dataset as it lives on the host: features [count, inputSize] row-major and one integer
// label per sample. Features are u8 (images, as IDX files hold them: the GPU keeps them as bytes and
// scales to [0, 1] when it gathers a batch) or f32 (tables: used as they are). Datasets are
// immutable; slicing, selecting and splitting make new ones (slices share memory). The GPU copy of a
// dataset is made once per device and kept while the dataset is in use (src/train/workspace.ts).
import { Random } from '../util/random.ts';
import { DataError, parseIdx } from './idx.ts';

/** Derived datasets (splits, slices) a dataset remembers: a seeded split copies its samples. */
const DERIVED_KEPT = 8;

/** Features a dataset holds: bytes (images, scaled by 1/255 on the way in) or float32 values (tables). */
export type Features = Uint8Array | Float32Array;

/** What a dataset is made of; see {@link Dataset.create}. */
export interface DatasetInit {
  /** [count, inputSize] row-major. Uint8Array: pixels 0..255 (the model sees byte / 255); Float32Array: as is. */
  readonly features: Features;
  /** One class index per sample, integers in [0, classes). */
  readonly labels: ArrayLike<number>;
  /** Features per sample. Default: `shape`'s product, else features.length / labels.length. */
  readonly inputSize?: number;
  /** Image height and width for image data (inputSize = height · width). */
  readonly shape?: readonly [number, number];
  /** Names of the classes, index = label. The class count is their number, else the largest label + 1. */
  readonly classNames?: readonly string[];
  /** What the set is called in messages and reports ('train', 'test', a file name). */
  readonly name?: string;
  /** Names of the features (a table's column names), one per feature. */
  readonly featureNames?: readonly string[];
  /** Where the labels came from (a table's label column). */
  readonly labelName?: string;
}

/** Labelled samples: features [count, inputSize] (u8 or f32) and labels [count]. */
export class Dataset<F extends Features = Features> {
  /** 'train', 'validation', 'test', or a subset's name. */
  readonly name: string;
  /** Row-major [count, inputSize]. */
  readonly features: F;
  /** [count] class indices. */
  readonly labels: Uint32Array;
  readonly count: number;
  readonly inputSize: number;
  /** Image shape; 1 × inputSize for data that is not an image. */
  readonly height: number;
  readonly width: number;
  /** Class names, index = label (absent: the classes are known by their indices). */
  readonly classNames: readonly string[] | undefined;
  /** Names of the features (a table's columns), index = feature; absent for images and unnamed arrays. */
  readonly featureNames: readonly string[] | undefined;
  /** The label column's name, for tables read with one. */
  readonly labelName: string | undefined;
  private classesCache: number | undefined;
  /** Derived sets (splits, subsets) by what derived them: one object per derivation, so one GPU upload. */
  private readonly derived = new Map<string, unknown>();

  private constructor(fields: {
    name: string;
    features: F;
    labels: Uint32Array;
    count: number;
    inputSize: number;
    height: number;
    width: number;
    classNames: readonly string[] | undefined;
    featureNames?: readonly string[] | undefined;
    labelName?: string | undefined;
  }) {
    this.name = fields.name;
    this.features = fields.features;
    this.labels = fields.labels;
    this.count = fields.count;
    this.inputSize = fields.inputSize;
    this.height = fields.height;
    this.width = fields.width;
    this.classNames = fields.classNames;
    this.featureNames = fields.featureNames;
    this.labelName = fields.labelName;
  }

  /**
   * A dataset from typed arrays, checked: features a Uint8Array or Float32Array of count · inputSize
   * finite values, labels non-negative integers below the class count, class names (if given) one
   * per class. Errors (DataError, code 'DATA') name the field, what was expected and what was found.
   */
  static create<F extends Features>(init: DatasetInit & { readonly features: F }): Dataset<F> {
    const name = init.name ?? 'dataset';
    const { features, labels } = init;
    if (!(features instanceof Uint8Array) && !(features instanceof Float32Array)) {
      throw new DataError(`${name}: features must be a Uint8Array (pixels) or a Float32Array, found ${describeValue(features)}`);
    }
    if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
      throw new DataError(`${name}: labels must be an array of class indices, found ${describeValue(labels)}`);
    }
    const count = labels.length;
    if (count === 0) throw new DataError(`${name}: holds no samples (0 labels)`);
    const [height, width] = init.shape ?? [1, init.inputSize ?? features.length / count];
    const inputSize = init.inputSize ?? height * width;
    if (!Number.isInteger(inputSize) || inputSize < 1) {
      throw new DataError(`${name}: ${features.length} feature values do not divide into ${count} samples (one per label)`);
    }
    if (!(Number.isInteger(height) && Number.isInteger(width) && height >= 1 && width >= 1) || height * width !== inputSize) {
      throw new DataError(`${name}: shape ${height}×${width} does not hold ${inputSize} features per sample`);
    }
    if (features.length !== count * inputSize) {
      throw new DataError(`${name}: features hold ${features.length} values, expected ${count} samples × ${inputSize} = ${count * inputSize}`);
    }
    if (features instanceof Float32Array) {
      for (let i = 0; i < features.length; i++) {
        if (!Number.isFinite(features[i])) {
          throw new DataError(`${name}: feature ${i % inputSize} of sample ${Math.floor(i / inputSize)} is ${features[i]}, expected a finite number`);
        }
      }
    }
    const classNames = init.classNames;
    const limit = classNames ? classNames.length : 2 ** 31;
    if (classNames !== undefined) {
      if (!Array.isArray(classNames) || classNames.some((c) => typeof c !== 'string')) {
        throw new DataError(`${name}: classNames must be an array of strings, found ${describeValue(classNames)}`);
      }
      const seen = new Set<string>();
      for (const c of classNames) {
        if (seen.has(c)) throw new DataError(`${name}: class name ${JSON.stringify(c)} appears twice in classNames`);
        seen.add(c);
      }
    }
    const featureNames = init.featureNames;
    if (featureNames !== undefined && (!Array.isArray(featureNames) || featureNames.length !== inputSize || featureNames.some((f) => typeof f !== 'string'))) {
      throw new DataError(`${name}: featureNames must be ${inputSize} strings (one per feature), found ${Array.isArray(featureNames) ? `${featureNames.length} entries` : describeValue(featureNames)}`);
    }
    if (init.labelName !== undefined && typeof init.labelName !== 'string') throw new DataError(`${name}: labelName must be a string, found ${describeValue(init.labelName)}`);
    const labelArray = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      const label = labels[i];
      if (!(Number.isInteger(label) && label >= 0 && label < limit)) {
        const expected = classNames ? `an integer in [0, ${limit - 1}] (one of the ${limit} classNames)` : 'a non-negative integer';
        throw new DataError(`${name}: label of sample ${i} is ${JSON.stringify(label)}, expected ${expected}`);
      }
      labelArray[i] = label;
    }
    return new Dataset({
      name,
      features,
      labels: labelArray,
      count,
      inputSize,
      height,
      width,
      classNames: classNames ? [...classNames] : undefined,
      featureNames: featureNames ? [...featureNames] : undefined,
      labelName: init.labelName,
    });
  }

  /** @internal Pairs parsed IDX images and labels, checking that they agree. */
  static fromIdx(
    name: string,
    images: { readonly dims: readonly number[]; readonly data: Uint8Array },
    labels: { readonly dims: readonly number[]; readonly data: Uint8Array },
    sources: { images: string; labels: string },
  ): Dataset<Uint8Array> {
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
    return new Dataset({
      name,
      features: images.data,
      labels: Uint32Array.from(labels.data),
      count,
      inputSize: height * width,
      height,
      width,
      classNames: undefined,
    });
  }

  /**
   * A dataset from the bytes of an IDX images file and an IDX labels file (MNIST's format: u8,
   * [N, H, W] and [N]), already decompressed. `sources` name the two in errors.
   */
  static fromIdxBytes(
    name: string,
    images: Uint8Array,
    labels: Uint8Array,
    sources: { readonly images: string; readonly labels: string } = { images: `${name} images`, labels: `${name} labels` },
  ): Dataset<Uint8Array> {
    return Dataset.fromIdx(name, parseIdx(images, sources.images), parseIdx(labels, sources.labels), sources);
  }

  /** Whether the features are images (u8 pixels with a 2-D shape): image-only views apply. */
  get isImage(): boolean {
    return this.features instanceof Uint8Array && this.height > 1;
  }

  /** 'u8' (images: scaled by 1/255 on the way in) or 'f32'. */
  get featureType(): 'u8' | 'f32' {
    return this.features instanceof Uint8Array ? 'u8' : 'f32';
  }

  /** The number of classes: classNames' length, else the largest label + 1. */
  get classes(): number {
    if (this.classesCache === undefined) {
      let max = 0;
      for (let i = 0; i < this.count; i++) if (this.labels[i] > max) max = this.labels[i];
      this.classesCache = this.classNames ? this.classNames.length : max + 1;
    }
    return this.classesCache;
  }

  /** The name of feature `k` (a table's column; `feature k` when the dataset has no feature names). */
  featureName(k: number): string {
    return this.featureNames?.[k] ?? `feature ${k}`;
  }

  /** The name of class `c` (its index when the dataset has no class names). */
  className(c: number): string {
    return this.classNames?.[c] ?? String(c);
  }

  /** Features of sample i (a view, no copy). */
  sample(i: number): F {
    return this.features.subarray(i * this.inputSize, (i + 1) * this.inputSize) as F;
  }

  private with(name: string, features: F, labels: Uint32Array): Dataset<F> {
    return new Dataset({ ...this, name, features, labels, count: labels.length, classNames: this.classNames });
  }

  /** Samples [start, end) as a dataset sharing this one's memory. The same arguments give the same object. */
  slice(start: number, end: number = this.count, name = this.name): Dataset<F> {
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end && end <= this.count)) {
      throw new DataError(`${this.name}: slice ${start}..${end} is not a non-empty range of its ${this.count} samples`);
    }
    return this.memo(`slice ${start} ${end} ${name}`, () =>
      this.with(name, this.features.subarray(start * this.inputSize, end * this.inputSize) as F, this.labels.subarray(start, end)),
    );
  }

  /** The samples at `indices`, in that order, as a new dataset (copied). */
  select(indices: ArrayLike<number>, name = this.name): Dataset<F> {
    const n = indices.length;
    if (n === 0) throw new DataError(`${this.name}: select needs at least one index`);
    const IN = this.inputSize;
    const features = (this.features instanceof Uint8Array ? new Uint8Array(n * IN) : new Float32Array(n * IN)) as F;
    const labels = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const j = indices[i];
      if (!(Number.isInteger(j) && j >= 0 && j < this.count)) throw new DataError(`${this.name}: index ${j} (position ${i}) is not a sample in [0, ${this.count})`);
      features.set(this.sample(j), i * IN);
      labels[i] = this.labels[j];
    }
    return this.with(name, features, labels);
  }

  /**
   * Holds out samples for validation: `validation` of them (an integer ≥ 1) or that fraction (in
   * (0, 1)); 0 holds out none. Without `seed` the last ones are held out (the classic 50,000 / 10,000
   * MNIST split); with one, a seeded random subset. The same arguments give the same objects.
   */
  split(validation: number, options: { seed?: number } = {}): { train: Dataset<F>; validation: Dataset<F> | undefined } {
    const held = validationCount(validation, this.count, this.name);
    return this.memo(`split ${held} ${options.seed ?? 'last'}`, () => {
      if (held === 0) return { train: this.renamed('train'), validation: undefined };
      const keep = this.count - held;
      if (options.seed === undefined) {
        return { train: this.slice(0, keep, 'train'), validation: this.slice(keep, this.count, 'validation') };
      }
      const order = new Random(options.seed, 'validation-split').permutation(this.count);
      return { train: this.select(order.subarray(0, keep), 'train'), validation: this.select(order.subarray(keep), 'validation') };
    });
  }

  /** This dataset under another name (same memory). */
  renamed(name: string): Dataset<F> {
    return name === this.name ? this : this.memo(`renamed ${name}`, () => this.with(name, this.features, this.labels));
  }

  private memo<T>(key: string, make: () => T): T {
    let value = this.derived.get(key) as T | undefined;
    if (value === undefined) value = make();
    // Most recently used last; beyond DERIVED_KEPT the oldest are forgotten (made again if asked for).
    this.derived.delete(key);
    this.derived.set(key, value);
    for (const old of [...this.derived.keys()].slice(0, -DERIVED_KEPT)) this.derived.delete(old);
    return value;
  }
}

/** Samples a validation split holds: a count (integer ≥ 1), a fraction in (0, 1), or 0. */
export function validationCount(validation: number, total: number, name: string): number {
  const held = validation > 0 && validation < 1 ? Math.round(validation * total) : validation;
  if (!Number.isInteger(held) || held < 0 || held >= total) {
    throw new DataError(
      `${name}: a validation split of ${validation} must be a fraction in (0, 1) or a number of samples in [0, ${total - 1}] (the set holds ${total})`,
    );
  }
  if (validation > 0 && validation < 1 && (held === 0 || held === total)) {
    throw new DataError(`${name}: a validation fraction of ${validation} of ${total} samples leaves ${held === 0 ? 'no validation samples' : 'no training samples'}`);
  }
  return held;
}

/** Checks a dataset against a model's input size and class count; `source` names where it came from. */
export function checkFitsModel(set: Dataset, inputSize: number, classes: number, source: string): void {
  if (set.inputSize !== inputSize) {
    const what = set.isImage ? `images have ${set.inputSize} pixels (${set.height}×${set.width})` : `samples have ${set.inputSize} features`;
    throw new DataError(`${source}: ${what}, but the model's input layer expects ${inputSize}`);
  }
  for (let i = 0; i < set.count; i++) {
    if (set.labels[i] >= classes) {
      throw new DataError(`${source}: label ${set.labels[i]} at index ${i} is out of range for a model with ${classes} classes (0..${classes - 1})`);
    }
  }
  if (set.classNames && set.classNames.length !== classes) {
    throw new DataError(`${source}: ${set.classNames.length} class names, but the model has ${classes} classes`);
  }
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
