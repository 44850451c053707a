// The per-run data split (as the CLI's prepareData does it, minus the files) and the dataset
// summaries the page shows: label distributions and a sample grid.
import { checkSetFitsModel, sliceSamples, splitValidation, type ImageSet } from '../../../src/data/dataset.ts';
import { classCount, inputSize } from '../../../src/model/spec.ts';
import type { TrainConfig } from '../../../src/train/config.ts';
import type { DatasetSummary, LabelCounts } from '../protocol.ts';
import type { Mnist } from './mnist.ts';

export const MNIST_CLASSES = 10;
/** Sample grid: this many images of each class. */
const SAMPLES_PER_CLASS = 10;

export interface RunData {
  readonly train: ImageSet;
  readonly validation: ImageSet;
  readonly test: ImageSet;
}

export function splitForRun(mnist: Mnist, config: Pick<TrainConfig, 'spec' | 'validation' | 'validationShuffle' | 'seed' | 'trainSubset'>): RunData {
  const IN = inputSize(config.spec);
  const C = classCount(config.spec);
  checkSetFitsModel(mnist.train, IN, C, 'MNIST training file');
  checkSetFitsModel(mnist.test, IN, C, 'MNIST test file');
  const split = splitValidation(mnist.train, { validation: config.validation, shuffleSeed: config.validationShuffle ? config.seed : undefined });
  const train = config.trainSubset > 0 ? sliceSamples(split.train, 0, Math.min(config.trainSubset, split.train.count), 'train') : split.train;
  return { train, validation: split.validation, test: mnist.test };
}

export function labelCounts(set: ImageSet, classes = MNIST_CLASSES): LabelCounts {
  const counts = new Array<number>(classes).fill(0);
  for (const label of set.labels) counts[label] += 1;
  return counts;
}

/** The first SAMPLES_PER_CLASS images of each class in the training file, grouped by class. */
function sampleGrid(set: ImageSet): { images: Uint8Array; labels: Uint8Array } {
  const picked: number[][] = Array.from({ length: MNIST_CLASSES }, () => []);
  for (let i = 0; i < set.count && picked.some((p) => p.length < SAMPLES_PER_CLASS); i++) {
    const bucket = picked[set.labels[i]];
    if (bucket.length < SAMPLES_PER_CLASS) bucket.push(i);
  }
  const order = picked.flat();
  const images = new Uint8Array(order.length * set.inputSize);
  order.forEach((j, k) => images.set(set.images.subarray(j * set.inputSize, (j + 1) * set.inputSize), k * set.inputSize));
  return { images, labels: Uint8Array.from(order, (j) => set.labels[j]) };
}

export function datasetSummary(mnist: Mnist, split: RunData): DatasetSummary {
  const sample = sampleGrid(mnist.train);
  return {
    trainFile: mnist.train.count,
    test: mnist.test.count,
    sampleImages: sample.images,
    sampleLabels: sample.labels,
    labelCounts: { train: labelCounts(split.train), validation: labelCounts(split.validation), test: labelCounts(split.test) },
  };
}
