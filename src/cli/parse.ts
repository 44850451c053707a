// Strict parsers for command-line values: a malformed value is a usage error that says what was
// expected, never a NaN that surfaces later.
import { InvalidArgumentError } from 'commander';
import type { InitScheme } from '../model/init.ts';

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseNumber(text: string): number {
  if (!NUMBER.test(text.trim())) throw new InvalidArgumentError(`expected a number, found "${text}"`);
  const value = Number(text);
  // 1e999 matches the pattern but is Infinity, which no flag accepts.
  if (!Number.isFinite(value)) throw new InvalidArgumentError(`expected a finite number, found "${text}"`);
  return value;
}

export function parseInteger(text: string): number {
  const value = parseNumber(text);
  if (!Number.isInteger(value)) throw new InvalidArgumentError(`expected an integer, found "${text}"`);
  return value;
}

/** "784,256,128,10" → [784, 256, 128, 10]. */
export function parseLayers(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.length < 2 || parts.some((part) => !/^\d+$/.test(part) || Number(part) < 1)) {
    throw new InvalidArgumentError(`expected comma-separated positive widths from input to classes, e.g. 784,256,128,10; found "${text}"`);
  }
  return parts.map(Number);
}

/** he | xavier | uniform:A | normal:STD */
export function parseInit(text: string): InitScheme {
  if (text === 'he' || text === 'xavier') return { kind: text };
  const match = /^(uniform|normal):(.+)$/.exec(text);
  if (match) {
    const value = parseNumber(match[2]);
    if (!(value > 0)) throw new InvalidArgumentError(`${match[1]}:${match[2]} needs a positive ${match[1] === 'uniform' ? 'bound' : 'standard deviation'}`);
    return match[1] === 'uniform' ? { kind: 'uniform', a: value } : { kind: 'normal', std: value };
  }
  throw new InvalidArgumentError(`expected he, xavier, uniform:A or normal:STD (e.g. uniform:0.1, normal:0.01), found "${text}"`);
}

export function describeInit(init: InitScheme): string {
  switch (init.kind) {
    case 'he':
    case 'xavier':
      return init.kind;
    case 'uniform':
      return `uniform:${init.a}`;
    case 'normal':
      return `normal:${init.std}`;
  }
}
