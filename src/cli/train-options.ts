// The training flags, made from the library's option table (OPTIONS): the same names, defaults,
// choices and parsers as createModel, fit, search files and study presets. `train` and `search` both
// take them.
import { Command, Option } from 'commander';
import { OPTIONS, type OptionSpec, type TrainOptions } from '../index.ts';
import { optionParser } from './parse.ts';

/** The options' keys, for refusing changes on --resume and finding what the command line gave. */
export const TRAINING_OPTIONS = (OPTIONS as readonly OptionSpec[]).map((spec) => spec.key);

/** How a default prints in --help: lists with commas, init schemes as written. */
function shown(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

export function addTrainingOptions(command: Command): Command {
  for (const spec of OPTIONS as readonly OptionSpec[]) {
    // A switch that is on by default is given as its negation (--no-standardize).
    const flag = !spec.arg && spec.default === true ? `--no-${spec.flag.slice(2)}` : spec.flag;
    const option = new Option(spec.arg ? `${flag} ${spec.arg}` : flag, spec.help);
    if (spec.choices) option.choices(spec.choices);
    else if (spec.arg) option.argParser(optionParser(spec));
    if (spec.default !== undefined && spec.arg) option.default(spec.default, shown(spec.default));
    command.addOption(option);
  }
  return command;
}

/** The training options commander collected (every one, defaults included). */
export type TrainingFlags = TrainOptions;

/** The options the command line gave explicitly (not defaults). */
export function givenOptions(command: Command): Partial<TrainOptions> {
  const values = command.opts<Record<string, unknown>>();
  return Object.fromEntries(TRAINING_OPTIONS.filter((key) => command.getOptionValueSource(key) === 'cli').map((key) => [key, values[key]]));
}

/** Every training option commander holds (defaults included), ready for resolveConfig. */
export function trainingOptions(command: Command): Partial<TrainOptions> {
  const values = command.opts<Record<string, unknown>>();
  return Object.fromEntries(TRAINING_OPTIONS.filter((key) => values[key] !== undefined).map((key) => [key, values[key]]));
}
