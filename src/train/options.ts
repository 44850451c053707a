// The training options, declared once: every option's name, help, default and parser. The CLI builds
// its flags from this table (`--batch-size`), search files and study presets are read through it
// (`batch-size:` or `batchSize:`), and the library's createModel / fit take the same names. A value
// is parsed the same way whatever its source: text from a command line or a YAML file, or a typed
// value from JSON or an API call. resolveConfig turns options into the validated TrainConfig.
import { describeInit, INIT_KINDS, type InitScheme } from '../model/init.ts';
import { OPTIMIZERS, optimizerConfig, type OptimizerKind } from '../model/optimizer.ts';
import { ACTIVATIONS, LOSSES, type Activation, type Loss } from '../model/spec.ts';
import { ConfigError, DEFAULT_CONFIG, validateConfig, type TrainConfig } from './config.ts';
import { SCHEDULE_KINDS, type Schedule } from './schedule.ts';

/** Every training option, as the CLI's flags, search files and the library's calls name them. */
export interface TrainOptions {
  /** Layer widths from input to classes, e.g. [784, 256, 128, 10]. */
  layers: readonly number[];
  activation: Activation;
  loss: Loss;
  /** Dropout probability after each hidden layer. */
  dropout: number;
  /** Weight init: 'he', 'xavier', 'uniform:A', 'normal:STD' (or the scheme object). */
  init: InitScheme | string;
  optimizer: OptimizerKind;
  lr: number;
  momentum: number;
  beta1: number;
  beta2: number;
  /** Denominator epsilon (default 1e-8; 1e-10 for adagrad). */
  eps?: number;
  weightDecay: number;
  schedule: Schedule['kind'];
  stepEvery: number;
  stepGamma: number;
  minLrFactor: number;
  /** Linear learning-rate warm-up, in epochs. */
  warmup: number;
  batchSize: number;
  epochs: number;
  /** Early stopping: epochs without a better validation accuracy (0 = off). */
  patience: number;
  seed: number;
  /** Samples held out of the training set for validation: a count, or a fraction in (0, 1). */
  valSplit: number;
  /** Hold out a seeded random subset instead of the last samples. */
  valShuffle: boolean;
  /** Train on the first N samples of the training split only (0 = all). */
  trainSubset: number;
  evalBatchSize: number;
  /** Training steps encoded per GPU submit. */
  stepsPerSubmit: number;
  /**
   * Standardize float features: the first fit computes each feature's mean and std on its training
   * split; the model keeps them and applies (x − mean) / std to every input (default true).
   */
  standardize: boolean;
}

/** The name of a training option (camelCase). */
export type OptionKey = keyof TrainOptions;

/** An option's declaration: what the CLI, search files and API calls all read. */
export interface OptionSpec<K extends OptionKey = OptionKey> {
  readonly key: K;
  /** The command-line spelling, e.g. '--batch-size'. */
  readonly flag: string;
  /** The placeholder in help, e.g. '<n>' (absent for switches). */
  readonly arg?: string;
  readonly help: string;
  /** The value when not given (absent: derived, as eps from the optimizer). */
  readonly default?: TrainOptions[K];
  /** Allowed values of a choice. */
  readonly choices?: readonly string[];
  /** Parses a value from text (command line, YAML) or a typed value (JSON, API); throws a message. */
  readonly parse: (value: unknown) => TrainOptions[K];
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Throws this to say what was expected; callers add the option name. */
class Expected extends Error {}

const show = (value: unknown) => (typeof value === 'string' ? `"${value}"` : JSON.stringify(value));

export function parseNumber(value: unknown): number {
  const n = typeof value === 'string' && NUMBER.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || Number.isNaN(n)) throw new Expected(`expected a number, found ${show(value)}`);
  // 1e999 matches the pattern but is Infinity, which no option accepts.
  if (!Number.isFinite(n)) throw new Expected(`expected a finite number, found ${show(value)}`);
  return n;
}

export function parseInteger(value: unknown): number {
  const n = parseNumber(value);
  if (!Number.isInteger(n)) throw new Expected(`expected an integer, found ${show(value)}`);
  return n;
}

function parseBoolean(value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Expected(`expected true or false, found ${show(value)}`);
}

function choice<T extends string>(names: readonly T[]) {
  return (value: unknown): T => {
    if (typeof value !== 'string' || !names.includes(value as T)) throw new Expected(`expected one of ${names.join(', ')}, found ${show(value)}`);
    return value as T;
  };
}

/** "784,256,128,10" or [784, 256, 128, 10] → [784, 256, 128, 10]. */
export function parseLayers(value: unknown): readonly number[] {
  const parts = typeof value === 'string' ? value.split(',').map((part) => part.trim()) : Array.isArray(value) ? value : null;
  const ok = (part: unknown) => (typeof part === 'number' ? Number.isInteger(part) && part >= 1 : typeof part === 'string' && /^\d+$/.test(part) && Number(part) >= 1);
  if (!parts || parts.length < 2 || !parts.every(ok)) {
    throw new Expected(`expected comma-separated positive widths from input to classes, e.g. 784,256,128,10; found ${show(value)}`);
  }
  return parts.map(Number);
}

/** he | xavier | uniform:A | normal:STD, or the scheme object. */
export function parseInit(value: unknown): InitScheme {
  if (typeof value === 'object' && value !== null && INIT_KINDS.includes((value as InitScheme).kind)) {
    const scheme = value as InitScheme;
    return parseInit(describeInit(scheme));
  }
  const text = typeof value === 'string' ? value.trim() : '';
  if (text === 'he' || text === 'xavier') return { kind: text };
  const match = /^(uniform|normal):(.+)$/.exec(text);
  if (match) {
    const n = Number(match[2]);
    if (!NUMBER.test(match[2]) || !(n > 0) || !Number.isFinite(n)) {
      throw new Expected(`${match[1]}:${match[2]} needs a positive ${match[1] === 'uniform' ? 'bound' : 'standard deviation'}`);
    }
    return match[1] === 'uniform' ? { kind: 'uniform', a: n } : { kind: 'normal', std: n };
  }
  throw new Expected(`expected he, xavier, uniform:A or normal:STD (e.g. uniform:0.1, normal:0.01), found ${show(value)}`);
}

const D = DEFAULT_CONFIG;

function option<K extends OptionKey>(spec: OptionSpec<K>): OptionSpec<K> {
  return spec;
}

/** The option table, in the order `--help` lists it. */
export const TRAIN_OPTIONS = [
  option({ key: 'layers', flag: '--layers', arg: '<widths>', help: 'layer widths, input to classes', default: [...D.spec.layers], parse: parseLayers }),
  option({ key: 'activation', flag: '--activation', arg: '<name>', help: 'hidden-layer activation', default: D.spec.activation, choices: ACTIVATIONS, parse: choice(ACTIVATIONS) }),
  option({ key: 'loss', flag: '--loss', arg: '<name>', help: 'ce: softmax cross-entropy; mse: squared error on one-hot targets', default: D.spec.loss, choices: LOSSES, parse: choice(LOSSES) }),
  option({ key: 'dropout', flag: '--dropout', arg: '<rate>', help: 'dropout probability after each hidden layer', default: D.spec.dropout, parse: parseNumber }),
  option({ key: 'init', flag: '--init', arg: '<scheme>', help: 'weight init: he, xavier, uniform:A, normal:STD', default: describeInit(D.init), parse: parseInit }),
  option({ key: 'optimizer', flag: '--optimizer', arg: '<name>', help: 'optimizer', default: D.optimizer.kind, choices: OPTIMIZERS, parse: choice(OPTIMIZERS) }),
  option({ key: 'lr', flag: '--lr', arg: '<rate>', help: 'base learning rate', default: D.lr, parse: parseNumber }),
  option({ key: 'momentum', flag: '--momentum', arg: '<mu>', help: 'momentum (momentum, nesterov)', default: D.optimizer.momentum, parse: parseNumber }),
  option({ key: 'beta1', flag: '--beta1', arg: '<b1>', help: 'Adam β1', default: D.optimizer.beta1, parse: parseNumber }),
  option({ key: 'beta2', flag: '--beta2', arg: '<b2>', help: 'Adam β2', default: D.optimizer.beta2, parse: parseNumber }),
  option({ key: 'eps', flag: '--eps', arg: '<eps>', help: 'denominator epsilon (default 1e-8; 1e-10 for adagrad)', parse: parseNumber }),
  option({ key: 'weightDecay', flag: '--weight-decay', arg: '<lambda>', help: 'L2 weight decay on weights (decoupled for adamw)', default: D.optimizer.weightDecay, parse: parseNumber }),
  option({ key: 'schedule', flag: '--schedule', arg: '<name>', help: 'learning-rate schedule', default: D.schedule.kind, choices: SCHEDULE_KINDS, parse: choice(SCHEDULE_KINDS) }),
  option({ key: 'stepEvery', flag: '--step-every', arg: '<epochs>', help: 'step schedule: decay every N epochs', default: 10, parse: parseInteger }),
  option({ key: 'stepGamma', flag: '--step-gamma', arg: '<factor>', help: 'step schedule: decay factor', default: 0.1, parse: parseNumber }),
  option({ key: 'minLrFactor', flag: '--min-lr-factor', arg: '<f>', help: 'cosine schedule: final lr as a fraction of the base', default: D.schedule.kind === 'cosine' ? D.schedule.minFactor : 0.01, parse: parseNumber }),
  option({ key: 'warmup', flag: '--warmup', arg: '<epochs>', help: 'linear learning-rate warm-up (epochs, fractions allowed)', default: D.warmupEpochs, parse: parseNumber }),
  option({ key: 'batchSize', flag: '--batch-size', arg: '<n>', help: 'training batch size', default: D.batchSize, parse: parseInteger }),
  option({ key: 'epochs', flag: '--epochs', arg: '<n>', help: 'training epochs', default: D.epochs, parse: parseInteger }),
  option({ key: 'patience', flag: '--patience', arg: '<n>', help: 'early stopping: epochs without better validation accuracy (0 = off)', default: D.patience, parse: parseInteger }),
  option({ key: 'seed', flag: '--seed', arg: '<n>', help: 'seeds weights, shuffles and dropout', default: D.seed, parse: parseInteger }),
  option({ key: 'valSplit', flag: '--val-split', arg: '<n>', help: 'training samples held out for validation: a count, or a fraction in (0, 1)', default: D.validation, parse: parseNumber }),
  option({ key: 'valShuffle', flag: '--val-shuffle', help: 'hold out a seeded random subset instead of the last samples', default: D.validationShuffle, parse: parseBoolean }),
  option({ key: 'trainSubset', flag: '--train-subset', arg: '<n>', help: 'train on the first N samples of the training split (0 = all)', default: D.trainSubset, parse: parseInteger }),
  option({ key: 'evalBatchSize', flag: '--eval-batch-size', arg: '<n>', help: 'batch size of validation and test passes', default: D.evalBatchSize, parse: parseInteger }),
  option({ key: 'stepsPerSubmit', flag: '--steps-per-submit', arg: '<n>', help: 'training steps encoded per GPU submit', default: D.stepsPerSubmit, parse: parseInteger }),
  option({
    key: 'standardize',
    flag: '--standardize',
    help: "standardize float (table) features with the training split's mean and std per feature, kept in the model (--no-standardize: use them as they are)",
    default: D.standardize,
    parse: parseBoolean,
  }),
] as const satisfies readonly OptionSpec[];

/** Options that shape the model (fixed once a model exists); the rest say how to train it. */
export const MODEL_OPTIONS = ['layers', 'activation', 'loss', 'dropout', 'init'] as const satisfies readonly OptionKey[];

const BY_NAME = new Map<string, OptionSpec>();
for (const spec of TRAIN_OPTIONS as readonly OptionSpec[]) {
  BY_NAME.set(spec.key, spec);
  BY_NAME.set(spec.flag.slice(2), spec); // kebab-case, as on the command line
}

/** Parses one option's value, naming the option in the error. */
export function parseOption<K extends OptionKey>(key: K, value: unknown, source = 'option'): TrainOptions[K] {
  const spec = BY_NAME.get(key) as OptionSpec<K>;
  try {
    return spec.parse(value);
  } catch (error) {
    if (error instanceof Expected) throw new ConfigError(`${source} ${spec.flag.slice(2)}: ${error.message}`);
    throw error;
  }
}

/**
 * Reads options from any source (an API call, a search file's `base:`, a study preset): keys in
 * camelCase or kebab-case, values typed or as text. Unknown keys and bad values are ConfigErrors
 * that name the key, what was expected and what was found. Undefined values are skipped.
 */
export function readOptions(values: Readonly<Record<string, unknown>>, source = 'option'): Partial<TrainOptions> {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new ConfigError(`${source}s must be an object of training options, found ${show(values)}`);
  }
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const spec = BY_NAME.get(name);
    if (!spec) {
      const names = (TRAIN_OPTIONS as readonly OptionSpec[]).map((s) => s.key).join(', ');
      throw new ConfigError(`unknown ${source} "${name}"; the training options are: ${names}`);
    }
    if (spec.key in out) throw new ConfigError(`${source} ${spec.flag.slice(2)} is given twice (as ${spec.key} and ${spec.flag.slice(2)})`);
    out[spec.key] = parseOption(spec.key, value, source);
  }
  return out as Partial<TrainOptions>;
}

/** Every option at its default. */
export function defaultOptions(): TrainOptions {
  const out: Record<string, unknown> = {};
  for (const spec of TRAIN_OPTIONS as readonly OptionSpec[]) if (spec.default !== undefined) out[spec.key] = structuredClone(spec.default);
  return out as unknown as TrainOptions;
}

function scheduleOf(options: TrainOptions): Schedule {
  switch (options.schedule) {
    case 'constant':
      return { kind: 'constant' };
    case 'step':
      return { kind: 'step', every: options.stepEvery, gamma: options.stepGamma };
    case 'cosine':
      return { kind: 'cosine', minFactor: options.minLrFactor };
  }
}

/**
 * The validated TrainConfig of `layers` of options over the defaults (later layers win), each layer
 * read as readOptions reads it. The one validation of CLI flags, search files and API calls.
 */
export function resolveConfig(...layers: readonly Readonly<Record<string, unknown>>[]): TrainConfig {
  const options = defaultOptions() as unknown as Record<string, unknown>;
  for (const layer of layers) Object.assign(options, readOptions(layer));
  const o = options as unknown as TrainOptions;
  return validateConfig({
    spec: { layers: o.layers, activation: o.activation, loss: o.loss, dropout: o.dropout },
    init: parseInit(o.init),
    optimizer: optimizerConfig(o.optimizer, {
      momentum: o.momentum,
      beta1: o.beta1,
      beta2: o.beta2,
      weightDecay: o.weightDecay,
      ...(o.eps !== undefined ? { eps: o.eps } : {}),
    }),
    lr: o.lr,
    schedule: scheduleOf(o),
    warmupEpochs: o.warmup,
    batchSize: o.batchSize,
    epochs: o.epochs,
    patience: o.patience,
    seed: o.seed,
    validation: o.valSplit,
    validationShuffle: o.valShuffle,
    trainSubset: o.trainSubset,
    evalBatchSize: o.evalBatchSize,
    stepsPerSubmit: o.stepsPerSubmit,
    standardize: o.standardize,
  });
}

/** The options that give `config` (resolveConfig(optionsOf(c)) equals c): for forms and search bases. */
export function optionsOf(config: TrainConfig): TrainOptions {
  const { spec, optimizer, schedule } = config;
  const defaults = defaultOptions();
  return {
    layers: [...spec.layers],
    activation: spec.activation,
    loss: spec.loss,
    dropout: spec.dropout,
    init: describeInit(config.init),
    optimizer: optimizer.kind,
    lr: config.lr,
    momentum: optimizer.momentum,
    beta1: optimizer.beta1,
    beta2: optimizer.beta2,
    // The optimizer's own default is left out, so that a later change of optimizer gets its own.
    eps: optimizer.eps === optimizerConfig(optimizer.kind).eps ? undefined : optimizer.eps,
    weightDecay: optimizer.weightDecay,
    schedule: schedule.kind,
    stepEvery: schedule.kind === 'step' ? schedule.every : defaults.stepEvery,
    stepGamma: schedule.kind === 'step' ? schedule.gamma : defaults.stepGamma,
    minLrFactor: schedule.kind === 'cosine' ? schedule.minFactor : defaults.minLrFactor,
    warmup: config.warmupEpochs,
    batchSize: config.batchSize,
    epochs: config.epochs,
    patience: config.patience,
    seed: config.seed,
    valSplit: config.validation,
    valShuffle: config.validationShuffle,
    trainSubset: config.trainSubset,
    evalBatchSize: config.evalBatchSize,
    stepsPerSubmit: config.stepsPerSubmit,
    standardize: config.standardize,
  };
}
