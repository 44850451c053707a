// `webgpu-mlp study NAME`: one of the classic MNIST MLP studies (src/experiments/studies.ts), each
// run tested once beside the logistic-regression baseline, with a table, per-run reports and a
// comparison page. --epochs and --train-subset shrink a study; Ctrl-C stops with the current run
// resumable, and the same command again continues, skipping finished runs.
import { DefinitionError } from '../experiments/runner.ts';
import { defaultStudyDir, runStudy, StudyError, STUDIES, studyPreset, type StudyOverrides } from '../experiments/studies.ts';
import { MlpError } from '../index.ts';
import { UsageError } from './errors.ts';
import { createReporter } from './progress.ts';
import { comparisonWriter, reportWriter } from './report-command.ts';
import { withInterrupts } from './train-command.ts';
import { dataSourceFrom, type DataFlags } from './data-options.ts';
import { isCsvSource, loadData, splitData } from '../node.ts';
import { basename } from 'node:path';

export interface StudyCommandFlags extends DataFlags {
  epochs?: number;
  trainSubset?: number;
  seed?: number;
  dataDir?: string;
  device?: 'gpu' | 'cpu';
  dir?: string;
  report: boolean;
  list?: boolean;
  json?: boolean;
}

/** The studies and what each compares, for --list and for a missing NAME. */
export function studyList(): string {
  return STUDIES.map((s) => `  ${s.name.padEnd(16)} ${s.title} (${s.runs.length} runs + baseline)`).join('\n');
}

export async function studyCommand(name: string | undefined, flags: StudyCommandFlags): Promise<number> {
  if (flags.list || !name) {
    if (!name && !flags.list) throw new UsageError(`name a study:\n${studyList()}`);
    console.log(`studies:\n${studyList()}`);
    return 0;
  }
  const json = flags.json ?? false;
  const log = createReporter({ json });
  try {
    const preset = (() => {
      try {
        return studyPreset(name);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    })();
    const overrides: StudyOverrides = {
      ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}),
      ...(flags.trainSubset !== undefined ? { trainSubset: flags.trainSubset } : {}),
      ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    };
    const device = flags.device ?? 'gpu';
    const source = dataSourceFrom(flags);
    // A table is loaded first: every run's input and output widths, and its validation split, come from it.
    const loaded = isCsvSource(source) ? await loadData(source) : undefined;
    const table = loaded ? { count: loaded.train.count, inputSize: loaded.train.inputSize, classes: loaded.train.classes } : undefined;
    const dir = flags.dir ?? defaultStudyDir(preset, { ...overrides, device }) + (isCsvSource(source) ? `-${basename(source.train).replace(/\.[^.]*$/, '')}` : '');
    const result = await withInterrupts(log, 'finishing the current steps and saving the run for later', async (signal) => {
      try {
        return await runStudy(preset, {
          ...overrides,
          ...(table ? { table } : {}),
          dir,
          device,
          data: source,
          ...(loaded ? { loadData: async (config) => splitData(loaded, config) } : {}),
          writeReport: reportWriter(),
          writeComparison: comparisonWriter(),
          report: flags.report,
          signal,
          log: (line) => log.message(line),
          reporter: () => createReporter({ json }),
          command: process.argv.slice(2),
        });
      } catch (error) {
        if (error instanceof StudyError || error instanceof DefinitionError) throw new UsageError(error.message);
        if (error instanceof MlpError && error.code === 'CONFIG') throw new UsageError(`study ${name}: ${error.message}`);
        throw error;
      }
    });
    log.event('study', { name, dir, exitCode: result.exitCode, files: result.files, tally: result.tally, records: result.records });
    return result.exitCode;
  } finally {
    log.close();
  }
}
