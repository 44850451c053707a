// The sets a run trains and validates on, and the dataset summaries the page shows: label
// distributions and a sample grid.
import type { Dataset, TrainConfig } from 'webgpu-mlp';
import type { DatasetSummary, LabelCounts } from '../protocol.ts';
import type { Mnist } from './mnist.ts';

export const MNIST_CLASSES = 10;
/** Sample grid: this many images of each class. */
const SAMPLES_PER_CLASS = 10;

export interface RunData {
  readonly train: Dataset;
  /** Absent when the run holds out no validation images (valSplit 0). */
  readonly validation: Dataset | undefined;
  readonly test: Dataset;
}

/**
 * The sets model.fit(mnist.train, options) trains and validates on. Dataset.split memoizes, so
 * these are the very objects the fit uses (and uploads once); the training subset is the first
 * trainSubset images of the split's training part, as the fit takes it.
 */
export function splitForRun(mnist: { readonly train: Dataset; readonly test: Dataset }, config: Pick<TrainConfig, 'validation' | 'validationShuffle' | 'seed' | 'trainSubset'>): RunData {
  const split = mnist.train.split(config.validation, { seed: config.validationShuffle ? config.seed : undefined });
  const subset = config.trainSubset;
  const train = subset > 0 && subset < split.train.count ? split.train.slice(0, subset) : split.train;
  return { train, validation: split.validation, test: mnist.test };
}

/** Steps of one epoch: a batch larger than the training set trains as one of its size. */
export function stepsPerEpoch(trainCount: number, batchSize: number): number {
  return Math.ceil(trainCount / Math.min(batchSize, trainCount));
}

export function labelCounts(set: Dataset | undefined, classes = MNIST_CLASSES): LabelCounts {
  const counts = new Array<number>(classes).fill(0);
  if (set) for (const label of set.labels) counts[label] += 1;
  return counts;
}

/** The first SAMPLES_PER_CLASS images of each class in the training file, grouped by class. */
function sampleGrid(set: Dataset<Uint8Array>): { images: Uint8Array; labels: Uint8Array } {
  const picked: number[][] = Array.from({ length: MNIST_CLASSES }, () => []);
  for (let i = 0; i < set.count && picked.some((p) => p.length < SAMPLES_PER_CLASS); i++) {
    const bucket = picked[set.labels[i]];
    if (bucket.length < SAMPLES_PER_CLASS) bucket.push(i);
  }
  const order = picked.flat();
  const images = new Uint8Array(order.length * set.inputSize);
  order.forEach((j, k) => images.set(set.sample(j), k * set.inputSize));
  return { images, labels: Uint8Array.from(order, (j) => set.labels[j]) };
}

export function runLabelCounts(split: RunData, classes = MNIST_CLASSES): DatasetSummary['labelCounts'] {
  return { train: labelCounts(split.train, classes), validation: labelCounts(split.validation, classes), test: labelCounts(split.test, classes) };
}

/** Min, mean, std and max of a table's first `max` features, for the page's data panel. */
export function tableStats(set: Dataset, max: number): { name: string; min: number; mean: number; std: number; max: number }[] {
  const IN = set.inputSize;
  return Array.from({ length: Math.min(IN, max) }, (_, k) => {
    let sum = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < set.count; i++) {
      const v = set.features[i * IN + k];
      sum += v;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const mean = sum / set.count;
    let squares = 0;
    for (let i = 0; i < set.count; i++) squares += (set.features[i * IN + k] - mean) ** 2;
    return { name: set.featureName(k), min: lo, mean, std: Math.sqrt(squares / set.count), max: hi };
  });
}

export function datasetSummary(mnist: Mnist, split: RunData): DatasetSummary {
  const sample = sampleGrid(mnist.train);
  return {
    trainFile: mnist.train.count,
    test: mnist.test.count,
    sampleImages: sample.images,
    sampleLabels: sample.labels,
    labelCounts: runLabelCounts(split),
  };
}
