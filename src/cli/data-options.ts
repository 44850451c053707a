// The data flags: where a command's data comes from. `--data-dir` (IDX) or `--data FILE.csv` with
// `--label COLUMN` (and `--test-data`, `--test-split`, `--ignore`), the same for train, search and
// study; `--hidden` gives a model's hidden widths, its input and output widths coming from the data.
// With a table, the defaults that suit its size (tableOptions) apply under the flags given.
import { Option, type Command } from 'commander';
import { resolveConfig, tableOptions, type TrainConfig, type TrainOptions } from '../index.ts';
import { csvSource, isCsvSource, loadData, type DataSource, type LoadedData } from '../node.ts';
import { UsageError } from './errors.ts';
import { givenOptions } from './train-options.ts';

export interface DataFlags {
  dataDir?: string;
  data?: string;
  testData?: string;
  label?: string;
  ignore?: string[];
  testSplit?: number;
  hidden?: number[];
}

/** "64,32" → [64, 32]; "none" or "" → [] (no hidden layer). */
export function parseHidden(text: string): number[] {
  const value = text.trim();
  if (value === '' || value === 'none') return [];
  const parts = value.split(/[,-]/).map((part) => part.trim());
  if (!parts.every((part) => /^\d+$/.test(part) && Number(part) >= 1)) {
    throw new UsageError(`--hidden: expected comma-separated positive widths of the hidden layers (e.g. 64,32), or none; found "${text}"`);
  }
  return parts.map(Number);
}

function parseFraction(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !(value === 0 || (value > 0 && value < 1))) throw new UsageError(`--test-split: expected a fraction in (0, 1), or 0 for no test set; found "${text}"`);
  return value;
}

const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

/** --data, --test-data, --label, --ignore, --test-split and --hidden (train, search, study). */
export function addDataOptions(command: Command, options: { readonly hidden?: boolean } = {}): Command {
  command
    .addOption(new Option('--data <file.csv>', 'train on a CSV table: a header row, numeric feature columns, a label column (--label)'))
    .addOption(new Option('--test-data <file.csv>', 'the test table (default: --test-split of the --data rows)'))
    .addOption(new Option('--label <column>', 'the label column of --data (string or integer labels)'))
    .addOption(new Option('--ignore <columns>', 'columns of --data to leave out, comma-separated (ids, dates, text)').argParser(list))
    .addOption(new Option('--test-split <fraction>', 'without --test-data: the seeded fraction of --data rows held out as the test set (0: none)').argParser(parseFraction));
  if (options.hidden ?? true) {
    command.addOption(new Option('--hidden <widths>', 'hidden-layer widths only, e.g. 64,32 (none: no hidden layer); input and output widths come from the data').argParser((text: string) => parseHidden(text)));
  }
  return command;
}

/** The data source the flags name; usage errors for flags that do not go together. */
export function dataSourceFrom(flags: DataFlags): DataSource {
  if (flags.data === undefined) {
    const stray = (['testData', 'label', 'ignore', 'testSplit'] as const).filter((name) => flags[name] !== undefined);
    if (stray.length) throw new UsageError(`${stray.map((n) => '--' + n.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(', ')} need${stray.length === 1 ? 's' : ''} --data FILE.csv`);
    return { dir: flags.dataDir ?? null };
  }
  if (flags.dataDir !== undefined) throw new UsageError('--data (a CSV table) and --data-dir (an IDX directory) name two datasets: give one');
  if (!flags.label) throw new UsageError(`--data ${flags.data} needs --label COLUMN: the column that holds each row's class`);
  if (flags.testData !== undefined && flags.testSplit !== undefined && flags.testSplit > 0) throw new UsageError('--test-split holds test rows out of --data; with --test-data there is a test table already: give one');
  return csvSource({ train: flags.data, test: flags.testData ?? null, label: flags.label, ignore: flags.ignore ?? [], testSplit: flags.testSplit });
}

/**
 * The options of a new run's config on `loaded` data, before the flags given explicitly: for a
 * table, the defaults that suit its size and the layers from its width and classes (--hidden
 * between); for IDX data with --hidden, the layers from the images and classes.
 */
export function dataOptions(loaded: LoadedData, flags: DataFlags, command: Command): Partial<TrainOptions> {
  const layersGiven = command.getOptionValueSource('layers') === 'cli';
  if (layersGiven && flags.hidden !== undefined) throw new UsageError('--layers gives every width and --hidden the hidden ones: give one');
  const shape = { count: loaded.train.count, inputSize: loaded.train.inputSize, classes: loaded.train.classes };
  if (isCsvSource(loaded.source)) return tableOptions(shape, flags.hidden ? { hidden: flags.hidden } : {});
  return flags.hidden ? { layers: [shape.inputSize, ...flags.hidden, shape.classes] } : {};
}

/** Checks --layers against the data's width and classes, saying what to write instead. */
export function checkLayers(config: TrainConfig, loaded: LoadedData): void {
  const layers = config.spec.layers;
  const { inputSize, classes } = loaded.train;
  if (layers[0] !== inputSize || layers[layers.length - 1] !== classes) {
    const what = isCsvSource(loaded.source) ? `the table has ${inputSize} feature${inputSize === 1 ? '' : 's'} and ${classes} classes` : `the data has ${inputSize} inputs and ${classes} classes`;
    throw new UsageError(
      `--layers ${layers.join(',')} does not fit the data: ${what}, so the layers must start with ${inputSize} and end with ${classes} ` +
        `(e.g. --layers ${[inputSize, ...layers.slice(1, -1), classes].join(',')}, or --hidden ${layers.slice(1, -1).join(',') || 'none'})`,
    );
  }
}

/** A new run's data and config from the flags: the data loaded first (a bad table writes nothing), then its defaults under the flags. */
export async function loadRunData(flags: DataFlags, command: Command): Promise<{ source: DataSource; loaded: LoadedData; config: TrainConfig }> {
  const source = dataSourceFrom(flags);
  const loaded = await loadData(source);
  const config = resolveConfig(dataOptions(loaded, flags, command), givenOptions(command));
  // A table's widths are its own; IDX data is checked against --layers when it is split (checkFitsModel).
  if (isCsvSource(source)) checkLayers(config, loaded);
  return { source, loaded, config };
}

