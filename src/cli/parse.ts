// Strict parsers for the command line's own values (the training options parse themselves: OPTIONS):
// a malformed value is a usage error that says what was expected, never a NaN that surfaces later.
import { InvalidArgumentError } from 'commander';
import { MlpError, type OptionSpec } from '../index.ts';

/** An integer flag (checkpoint intervals, counts, seeds). */
export function parseInteger(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value)) throw new InvalidArgumentError(`expected an integer, found "${text}"`);
  return value;
}

/** The command-line parser of a training option: its own parse, its message as commander's. */
export function optionParser(spec: OptionSpec): (text: string) => unknown {
  return (text) => {
    try {
      return spec.parse(text);
    } catch (error) {
      // The option's parser throws a bare "expected ..."; commander adds the flag's name.
      if (error instanceof MlpError) throw error;
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}
