// A search written in a file (`webgpu-mlp search --config FILE`), JSON or YAML:
//
//   base:                  # optional: training options every trial starts from (command-line flags win),
//                          # checked like every other source of options (unknown keys and bad values refused)
//     epochs: 10
//     layers: [784, 256, 10]
//   grid:                  # the axes, in order (the first varies slowest); values as in space.ts
//     lr: [0.1, 0.03, 0.01]
//     hidden: ["128", "256-128", [512, 256]]
//     dropout: 0..0.5      # a range: random search only
//   random: 20             # optional: random search with this many samples
//   seed: 1                # optional: the sampling seed
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { resolveConfig } from '../index.ts';
import { axisFromValue, SpaceError, type Axis } from './space.ts';

export interface SearchFile {
  readonly axes: readonly Axis[];
  readonly random?: number;
  readonly seed?: number;
  readonly base?: Readonly<Record<string, unknown>>;
}

const KEYS = ['base', 'grid', 'random', 'seed'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function searchFileFrom(value: unknown, source: string): SearchFile {
  if (!isObject(value)) throw new SpaceError(`${source}: expected a mapping with keys ${KEYS.join(', ')}`);
  const unknown = Object.keys(value).filter((k) => !KEYS.includes(k));
  if (unknown.length) throw new SpaceError(`${source}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (keys: ${KEYS.join(', ')})`);
  if (!isObject(value.grid)) throw new SpaceError(`${source}: "grid" must map search keys to values, e.g. grid: {lr: [0.1, 0.01]}`);
  if (value.base !== undefined && !isObject(value.base)) throw new SpaceError(`${source}: "base" must map training options to values, e.g. base: {epochs: 10}`);
  if (value.base !== undefined) {
    try {
      resolveConfig(value.base);
    } catch (error) {
      throw new SpaceError(`${source}: base: ${(error as Error).message}`);
    }
  }
  for (const key of ['random', 'seed'] as const) {
    const n = value[key];
    if (n !== undefined && !(typeof n === 'number' && Number.isInteger(n) && n >= (key === 'random' ? 1 : 0))) {
      throw new SpaceError(`${source}: "${key}" must be an integer ≥ ${key === 'random' ? 1 : 0}, found ${JSON.stringify(n)}`);
    }
  }
  try {
    return {
      axes: Object.entries(value.grid).map(([key, v]) => axisFromValue(key, v)),
      ...(value.random !== undefined ? { random: value.random as number } : {}),
      ...(value.seed !== undefined ? { seed: value.seed as number } : {}),
      ...(value.base !== undefined ? { base: value.base as Record<string, unknown> } : {}),
    };
  } catch (error) {
    if (error instanceof SpaceError) throw new SpaceError(`${source}: ${error.message}`);
    throw error;
  }
}

/** Reads FILE as YAML (.yaml, .yml) or JSON (anything else). */
export async function readSearchFile(path: string): Promise<SearchFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SpaceError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const yaml = ['.yaml', '.yml'].includes(extname(path).toLowerCase());
  let value: unknown;
  try {
    value = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new SpaceError(`${path}: not valid ${yaml ? 'YAML' : 'JSON'}: ${(error as Error).message.split('\n')[0]}`);
  }
  return searchFileFrom(value, path);
}
