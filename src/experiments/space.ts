// A search space: the hyperparameters a search varies, each an axis of listed values (a grid) or,
// for random search, a range. Points of the space are applied to the usual training flags, so a
// searched configuration is exactly what `train` with those flags would run.
//
// Syntax (the command line's --grid KEY=VALUES, or a JSON/YAML file's `grid:` mapping):
//   lr=0.1,0.03,0.01         listed values (a grid axis; random search draws from them uniformly)
//   hidden=128,256-128,none  hidden layer widths: one list per value, widths joined by '-';
//                            input and output widths come from --layers; none (or 0): no hidden layer
//   lr=1e-4..1e-1            a range, random search only: log-uniform for lr and weight-decay,
//                            uniform for dropout and momentum; drawn values keep 3 significant digits
import { OPTIONS, Random, resolveConfig, type OptionSpec, type TrainOptions } from '../index.ts';

export class SpaceError extends Error {
  override name = 'SpaceError';
}

/** A value on an axis: a number, a name (optimizer, activation, loss, init) or hidden widths. */
export type AxisValue = number | string | readonly number[];

export interface KeyInfo {
  readonly key: string;
  readonly aliases: readonly string[];
  readonly help: string;
  /** Parses one listed value (command-line text, or a JSON/YAML scalar or array). */
  parse(value: unknown): AxisValue;
  /** How a range is drawn, for keys that accept one. */
  readonly range?: 'log' | 'linear';
  /** Which training option the value replaces. */
  readonly option: keyof TrainOptions;
}

const text = (value: unknown): string => (typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : JSON.stringify(value));

/** The training option's own parser (the one of flags, files and API calls), and what a search also requires of it. */
function option(key: keyof TrainOptions, check?: (value: number) => boolean, expected?: string) {
  const spec = (OPTIONS as readonly OptionSpec[]).find((s) => s.key === key)!;
  return (value: unknown): AxisValue => {
    let parsed: unknown;
    try {
      parsed = spec.parse(value);
    } catch (error) {
      throw new SpaceError((error as Error).message);
    }
    if (check && !check(parsed as number)) throw new SpaceError(`expected ${expected}, found ${text(value)}`);
    // An init scheme stays as written (uniform:0.1): it is a label and a flag value alike.
    return key === 'init' ? text(value) : (parsed as AxisValue);
  };
}

/** "256-128" or [256, 128] → [256, 128]; "none", "0" or [] → [] (logistic regression). */
function hiddenWidths(value: unknown): readonly number[] {
  const width = (w: unknown): number => {
    const n = typeof w === 'number' ? w : Number(text(w));
    if (!Number.isInteger(n) || n < 1) throw new SpaceError(`expected an integer ≥ 1, found ${text(w)}`);
    return n;
  };
  if (Array.isArray(value)) return value.map(width);
  if (typeof value === 'number') return value === 0 ? [] : [width(value)];
  const t = text(value);
  if (t === 'none' || t === '0') return [];
  if (!/^\d+(-\d+)*$/.test(t)) throw new SpaceError(`expected hidden widths joined by '-' (e.g. 256-128), or none; found ${t}`);
  return t.split('-').map(width);
}

const choices = (key: keyof TrainOptions) => (OPTIONS as readonly OptionSpec[]).find((s) => s.key === key)!.choices!.join('|');

export const SEARCH_KEYS: readonly KeyInfo[] = [
  { key: 'hidden', aliases: [], help: 'hidden widths, e.g. 128,256-128,none (input and output from --layers)', parse: hiddenWidths, option: 'layers' },
  { key: 'lr', aliases: [], help: 'learning rate (range: log-uniform)', parse: option('lr', (n) => n > 0, 'a positive number'), range: 'log', option: 'lr' },
  { key: 'weight-decay', aliases: ['l2', 'wd'], help: 'L2 weight decay (range: log-uniform)', parse: option('weightDecay', (n) => n >= 0, 'a number ≥ 0'), range: 'log', option: 'weightDecay' },
  { key: 'dropout', aliases: [], help: 'dropout rate (range: uniform)', parse: option('dropout', (n) => n >= 0 && n < 1, 'a rate in [0, 1)'), range: 'linear', option: 'dropout' },
  { key: 'batch-size', aliases: ['batch'], help: 'batch size', parse: option('batchSize', (n) => n >= 1, 'an integer ≥ 1'), option: 'batchSize' },
  { key: 'optimizer', aliases: [], help: choices('optimizer'), parse: option('optimizer'), option: 'optimizer' },
  { key: 'activation', aliases: [], help: choices('activation'), parse: option('activation'), option: 'activation' },
  { key: 'loss', aliases: [], help: choices('loss'), parse: option('loss'), option: 'loss' },
  { key: 'momentum', aliases: [], help: 'momentum μ (range: uniform)', parse: option('momentum', (n) => n >= 0 && n < 1, 'a number in [0, 1)'), range: 'linear', option: 'momentum' },
  { key: 'epochs', aliases: [], help: 'training epochs', parse: option('epochs', (n) => n >= 1, 'an integer ≥ 1'), option: 'epochs' },
  { key: 'init', aliases: [], help: 'he|xavier|uniform:A|normal:STD', parse: option('init'), option: 'init' },
];

export function keyInfo(name: string): KeyInfo {
  const info = SEARCH_KEYS.find((k) => k.key === name || k.aliases.includes(name));
  if (!info) throw new SpaceError(`unknown search key "${name}"; keys: ${SEARCH_KEYS.map((k) => k.key).join(', ')}`);
  return info;
}

export type Axis =
  | { readonly key: string; readonly kind: 'list'; readonly values: readonly AxisValue[] }
  | { readonly key: string; readonly kind: 'range'; readonly low: number; readonly high: number; readonly scale: 'log' | 'linear' };

/** One configuration of the space: key → value, in axis order. */
export type SearchPoint = Readonly<Record<string, AxisValue>>;

/** Parses one value given for `info`, naming the key in errors. */
function parseValue(info: KeyInfo, value: unknown): AxisValue {
  try {
    return info.parse(value);
  } catch (error) {
    if (error instanceof SpaceError) throw new SpaceError(`${info.key}: ${error.message}`);
    throw error;
  }
}

function rangeAxis(info: KeyInfo, lowText: string, highText: string): Axis {
  if (!info.range) throw new SpaceError(`${info.key}: takes listed values only (ranges: ${SEARCH_KEYS.filter((k) => k.range).map((k) => k.key).join(', ')})`);
  const low = parseValue(info, lowText) as number;
  const high = parseValue(info, highText) as number;
  if (!(low < high)) throw new SpaceError(`${info.key}: a range needs LOW < HIGH, found ${lowText}..${highText}`);
  if (info.range === 'log' && !(low > 0)) throw new SpaceError(`${info.key}: a log-uniform range needs LOW > 0, found ${lowText}`);
  return { key: info.key, kind: 'range', low, high, scale: info.range };
}

function listAxis(info: KeyInfo, items: readonly unknown[]): Axis {
  if (items.length === 0) throw new SpaceError(`${info.key}: no values`);
  const values = items.map((item) => parseValue(info, item));
  const seen = new Set<string>();
  for (const value of values) {
    const key = JSON.stringify(value);
    if (seen.has(key)) throw new SpaceError(`${info.key}: ${formatValue(value)} is listed twice`);
    seen.add(key);
  }
  return { key: info.key, kind: 'list', values };
}

/** Parses "lr=0.1,0.01", "hidden=128,256-128" or "lr=1e-4..1e-1". */
export function parseAxis(spec: string): Axis {
  const at = spec.indexOf('=');
  if (at <= 0) throw new SpaceError(`expected KEY=VALUES (e.g. lr=0.1,0.01 or hidden=128,256-128), found "${spec}"`);
  const info = keyInfo(spec.slice(0, at).trim());
  const values = spec.slice(at + 1).trim();
  const range = /^([^,]+)\.\.([^,]+)$/.exec(values);
  if (range) return rangeAxis(info, range[1], range[2]);
  return listAxis(info, values.split(',').map((v) => v.trim()));
}

/** An axis from a file: [values], "LOW..HIGH", "v1,v2" as on the command line, a single value, or {min, max}. */
export function axisFromValue(key: string, value: unknown): Axis {
  const info = keyInfo(key);
  if (Array.isArray(value)) return listAxis(info, value);
  if (typeof value === 'string') return parseAxis(`${info.key}=${value}`);
  if (typeof value === 'object' && value !== null) {
    const { min, max } = value as { min?: unknown; max?: unknown };
    if (min === undefined || max === undefined) throw new SpaceError(`${info.key}: a range object needs min and max, found ${JSON.stringify(value)}`);
    return rangeAxis(info, text(min), text(max));
  }
  return listAxis(info, [value]);
}

/** Refuses two axes for one key. */
export function checkAxes(axes: readonly Axis[]): void {
  if (axes.length === 0) throw new SpaceError('nothing to search: give at least one axis (--grid KEY=VALUES, or a file with a grid: mapping)');
  const keys = axes.map((a) => a.key);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice) throw new SpaceError(`${twice} is given twice`);
}

/** Every combination, the first axis varying slowest (as nested loops written in axis order). */
export function gridPoints(axes: readonly Axis[]): SearchPoint[] {
  checkAxes(axes);
  const ranged = axes.find((a) => a.kind === 'range');
  if (ranged) throw new SpaceError(`${ranged.key} is a range: ranges need --random N (a grid needs listed values)`);
  let points: Record<string, AxisValue>[] = [{}];
  for (const axis of axes) {
    if (axis.kind !== 'list') continue;
    points = points.flatMap((point) => axis.values.map((value) => ({ ...point, [axis.key]: value })));
  }
  return points;
}

const significant = (x: number) => Number(x.toPrecision(3));

function draw(axis: Axis, rng: Random): AxisValue {
  if (axis.kind === 'list') return axis.values[rng.below(axis.values.length)];
  if (axis.scale === 'log') return significant(Math.exp(rng.uniform(Math.log(axis.low), Math.log(axis.high))));
  return significant(rng.uniform(axis.low, axis.high));
}

/** `count` distinct points drawn from the space with a seeded generator (the same seed, the same points). */
export function randomPoints(axes: readonly Axis[], count: number, seed: number): SearchPoint[] {
  checkAxes(axes);
  if (!(Number.isInteger(count) && count >= 1)) throw new SpaceError(`--random needs a number of samples ≥ 1, found ${count}`);
  if (axes.every((a) => a.kind === 'list')) {
    const size = axes.reduce((n, a) => n * (a.kind === 'list' ? a.values.length : 1), 1);
    if (count >= size) throw new SpaceError(`--random ${count} over a space of only ${size} points: run the grid instead (drop --random)`);
  }
  const rng = new Random(seed, 'random-search');
  const points: SearchPoint[] = [];
  const seen = new Set<string>();
  for (let attempt = 0; points.length < count; attempt++) {
    if (attempt >= 1000 * count) throw new SpaceError(`could not draw ${count} distinct points (found ${points.length}); widen the space`);
    const point = Object.fromEntries(axes.map((axis) => [axis.key, draw(axis, rng)]));
    const key = JSON.stringify(point);
    if (seen.has(key)) continue;
    seen.add(key);
    points.push(point);
  }
  return points;
}

/** The training options of a point: `base` with the point's values in place of the options they name. */
export function applyPoint(base: Partial<TrainOptions>, point: SearchPoint): Partial<TrainOptions> {
  const options: Record<string, unknown> = { ...base };
  const layers = resolveConfig(base).spec.layers;
  for (const [key, value] of Object.entries(point)) {
    const info = keyInfo(key);
    if (info.key === 'hidden') options.layers = [layers[0], ...(value as number[]), layers[layers.length - 1]];
    else options[info.option] = value;
  }
  return options as Partial<TrainOptions>;
}

export function formatValue(value: AxisValue): string {
  if (Array.isArray(value)) return value.length ? value.join('-') : 'none';
  return String(value);
}

/** "hidden=256-128 lr=0.01" */
export function pointLabel(point: SearchPoint): string {
  return Object.entries(point)
    .map(([key, value]) => `${key}=${formatValue(value)}`)
    .join(' ');
}

/** A directory-safe name: "hidden-256-128_lr-0.01". */
export function pointSlug(point: SearchPoint): string {
  const slug = Object.entries(point)
    .map(([key, value]) => `${key}-${formatValue(value)}`)
    .join('_')
    .replace(/[^A-Za-z0-9._-]+/g, '-');
  return slug.length > 80 ? slug.slice(0, 80) : slug;
}
