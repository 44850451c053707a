// `webgpu-mlp search`: grid or random search over training hyperparameters, selection on validation
// accuracy only, the selection retrained on training + validation data and tested once
// (src/experiments/search.ts). The usual training flags give the base configuration; --grid
// KEY=VALUES (and/or --config FILE) the axes. Ctrl-C stops with the current trial resumable; the
// same command again continues, skipping finished trials.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Command } from 'commander';
import { optionsOf, resolveConfig, type TrainConfig, type TrainOptions } from '../index.ts';
import { DefinitionError, canonicalJson } from '../experiments/runner.ts';
import { readSearchFile, type SearchFile } from '../experiments/search-file.ts';
import { runSearch, searchDefinition, type SearchSpec } from '../experiments/search.ts';
import { keyInfo, parseAxis, SpaceError, type Axis } from '../experiments/space.ts';
import { UsageError } from './errors.ts';
import { createReporter } from './progress.ts';
import { comparisonWriter, reportWriter } from './report-command.ts';
import { flagName, withInterrupts } from './train-command.ts';
import { givenOptions } from './train-options.ts';
import { checkLayers, dataOptions, dataSourceFrom, type DataFlags } from './data-options.ts';
import { isCsvSource, loadData, splitData, type LoadedData } from '../node.ts';

export interface SearchCommandFlags extends DataFlags {
  grid: string[];
  config?: string;
  random?: number;
  searchSeed?: number;
  dir?: string;
  retrain: boolean;
  baseline: boolean;
  report: boolean;
  json?: boolean;
  device: 'gpu' | 'cpu';
  dataDir?: string;
}

/** Errors of the search's definition are usage errors: the message says what to write instead. */
async function asUsage<T>(body: () => Promise<T> | T): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof SpaceError || error instanceof DefinitionError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * The base options: the data's defaults (a table's, or --hidden's layers), a file's `base:` over
 * them, the options given on the command line over both (checked by the one schema).
 */
function baseOptions(command: Command, file: SearchFile | undefined, loaded: LoadedData | undefined, flags: DataFlags): Partial<TrainOptions> {
  const config = resolveConfig(loaded ? dataOptions(loaded, flags, command) : {}, file?.base ?? {}, givenOptions(command));
  if (loaded && isCsvSource(loaded.source)) checkLayers(config, loaded);
  return optionsOf(config);
}

export async function searchCommand(flags: SearchCommandFlags, command: Command): Promise<number> {
  const file = flags.config ? await asUsage(() => readSearchFile(flags.config!)) : undefined;
  const axes: Axis[] = [...(file?.axes ?? []), ...(await asUsage(() => flags.grid.map(parseAxis)))];
  const source = dataSourceFrom(flags);
  // A table (or --hidden) is loaded first: its size and shape give the base its defaults and widths.
  const loaded = isCsvSource(source) || flags.hidden !== undefined ? await loadData(source) : undefined;
  const base = baseOptions(command, file, loaded, flags);
  // A flag that an axis varies would be silently overridden: refuse it. (--layers stays: the hidden
  // axis takes its input and output widths from it.)
  for (const axis of axes) {
    const flag = keyInfo(axis.key).option;
    if (axis.key !== 'hidden' && command.getOptionValueSource(flag) === 'cli') {
      throw new UsageError(`${flagName(flag)} is searched by the ${axis.key} axis; drop ${flagName(flag)} (the axis gives its values)`);
    }
  }
  const samples = flags.random ?? file?.random;
  const spec: SearchSpec = {
    base,
    axes,
    mode: samples !== undefined ? 'random' : 'grid',
    samples,
    seed: flags.searchSeed ?? file?.seed ?? 1,
  };
  const where = { data: source, device: flags.device };
  const definition = await asUsage(() => searchDefinition(spec, where));
  // The default directory is named after the definition: the same command finds its own search again.
  const dir = flags.dir ?? join('runs', `search-${createHash('sha256').update(canonicalJson(definition)).digest('hex').slice(0, 8)}`);
  const json = flags.json ?? false;
  const log = createReporter({ json });
  try {
    const result = await withInterrupts(log, 'finishing the current steps and saving the trial for later', (signal) =>
      asUsage(() =>
        runSearch(spec, {
          dir,
          ...where,
          ...(loaded ? { loadData: async (config: TrainConfig) => splitData(loaded, config) } : {}),
          writeReport: reportWriter(),
          writeComparison: comparisonWriter(),
          retrain: flags.retrain,
          baseline: flags.baseline,
          report: flags.report,
          signal,
          log: (line) => log.message(line),
          reporter: () => createReporter({ json }),
          command: process.argv.slice(2),
        }),
      ),
    );
    log.event('search', { dir, exitCode: result.exitCode, selected: result.selected, final: result.final, baseline: result.baseline, files: result.files, tally: result.tally });
    return result.exitCode;
  } finally {
    log.close();
  }
}
