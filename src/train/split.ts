// How a training set becomes what a fit trains and validates on: `validation` samples held out (the
// last ones, or a seeded random subset), then the first `trainSubset` of the rest. Model.fit and the
// CLI's runs split alike, and since datasets memoize their splits, onto the very same objects (one
// GPU upload).
import type { Dataset } from '../data/dataset.ts';
import type { TrainConfig } from './config.ts';

export function trainingSplit(
  set: Dataset,
  config: Pick<TrainConfig, 'validation' | 'validationShuffle' | 'seed' | 'trainSubset'>,
): { train: Dataset; validation: Dataset | undefined } {
  const split = set.split(config.validation, { seed: config.validationShuffle ? config.seed : undefined });
  return { train: subset(split.train, config.trainSubset), validation: split.validation };
}

/** The first `trainSubset` samples of `set` (0: all of it). */
export function subset(set: Dataset, trainSubset: number): Dataset {
  return trainSubset > 0 && trainSubset < set.count ? set.slice(0, trainSubset) : set;
}
