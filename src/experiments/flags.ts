// Training flags from sources other than the command line (a search file's `base:`, a study
// preset), parsed by the very option declarations `train` uses: same names, defaults and checks.
import { Command, CommanderError } from 'commander';
import { addTrainingOptions, type TrainingFlags } from '../cli/train-options.ts';

export class FlagsError extends Error {
  override name = 'FlagsError';
}

/** Parses `args` ("--lr", "0.1", ...) as `train` would, every other flag at its default. */
export function trainingFlags(args: readonly string[] = []): TrainingFlags {
  let errorText = '';
  const command = addTrainingOptions(new Command('flags'))
    .exitOverride()
    .configureOutput({ writeErr: (text) => (errorText += text), writeOut: () => {} });
  try {
    command.parse([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) throw new FlagsError(errorText.trim().replace(/^error: /, '') || error.message);
    throw error;
  }
  return command.opts<TrainingFlags>();
}

/**
 * {lr: 0.1, "batch-size": 64, layers: [784, 100, 10], valShuffle: true} → the arguments that say
 * so: keys in kebab or camel case, lists joined with commas, true for a switch.
 */
export function argsFromObject(values: Readonly<Record<string, unknown>>): string[] {
  return Object.entries(values).flatMap(([key, value]) => {
    const flag = '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    if (value === true) return [flag];
    if (value === false || value === null || value === undefined) return [];
    return [flag, Array.isArray(value) ? value.join(',') : String(value)];
  });
}
