// Loads the dataset a training config names and splits it as the config says, checking that
// every set fits the model (input size, label range) before anything reaches the GPU.
import { checkSetFitsModel, sliceSamples, splitValidation, type ImageSet } from '../data/dataset.ts';
import { defaultDataDir, loadIdxDataset } from '../data/files.ts';
import { classCount, inputSize } from '../model/spec.ts';
import type { TrainConfig } from '../train/config.ts';

export interface PreparedData {
  readonly dir: string;
  readonly train: ImageSet;
  readonly validation: ImageSet;
  readonly test: ImageSet;
}

export async function prepareData(config: Pick<TrainConfig, 'dataDir' | 'spec' | 'validation' | 'validationShuffle' | 'seed' | 'trainSubset'>): Promise<PreparedData> {
  const dir = config.dataDir ?? defaultDataDir();
  const { train: full, test } = await loadIdxDataset(dir);
  const split = splitValidation(full, { validation: config.validation, shuffleSeed: config.validationShuffle ? config.seed : undefined });
  const train = config.trainSubset > 0 ? sliceSamples(split.train, 0, Math.min(config.trainSubset, split.train.count), 'train') : split.train;
  const IN = inputSize(config.spec);
  const C = classCount(config.spec);
  checkSetFitsModel(full, IN, C, `${dir} (training file)`);
  checkSetFitsModel(test, IN, C, `${dir} (test file)`);
  return { dir, train, validation: split.validation, test };
}
