// A model's resolved training configuration: what resolveConfig (src/train/options.ts) makes of
// CLI flags, search files and API options, what `config.json` holds, and what checkpoints carry so
// `--resume` continues with the same settings. Where the data comes from and on what device a run
// trains are the run's business (src/runs/), not the model's.
import { MlpError } from '../errors.ts';
import { INIT_KINDS, type InitScheme } from '../model/init.ts';
import { OPTIMIZERS, optimizerConfig, type OptimizerConfig } from '../model/optimizer.ts';
import { validateSpec, type ModelSpec } from '../model/spec.ts';
import { SCHEDULE_KINDS, type Schedule } from './schedule.ts';

/** A resolved, validated configuration: what resolveConfig makes of options, what checkpoints and config.json record. */
export interface TrainConfig {
  readonly spec: ModelSpec;
  readonly init: InitScheme;
  readonly optimizer: OptimizerConfig;
  readonly lr: number;
  readonly schedule: Schedule;
  /** Epochs of linear learning-rate warm-up (fractions allowed). */
  readonly warmupEpochs: number;
  readonly batchSize: number;
  readonly epochs: number;
  /** Early stopping: epochs without a better validation accuracy before stopping (0 = off). */
  readonly patience: number;
  /** Seeds initial weights, shuffles and dropout masks. */
  readonly seed: number;
  /** Samples of the training set held out for validation: a count, or a fraction in (0, 1). */
  readonly validation: number;
  /** Hold out a seeded random subset instead of the last `validation` samples. */
  readonly validationShuffle: boolean;
  /** Train on only the first N samples of the training split (0 = all): quick experiments and tests. */
  readonly trainSubset: number;
  readonly evalBatchSize: number;
  /** Training steps encoded per queue submit. */
  readonly stepsPerSubmit: number;
  /** Standardize float features with the first fit's training-split statistics (kept in the model). */
  readonly standardize: boolean;
}

/** The defaults of `npm run train`: chosen by measurement (bench/RESULTS.md) to pass 98% test accuracy on MNIST. */
export const DEFAULT_CONFIG: TrainConfig = {
  spec: { layers: [784, 256, 128, 10], activation: 'relu', loss: 'ce', dropout: 0.2 },
  init: { kind: 'he' },
  optimizer: optimizerConfig('adam'),
  lr: 1e-3,
  schedule: { kind: 'cosine', minFactor: 0.01 },
  warmupEpochs: 0,
  batchSize: 128,
  epochs: 20,
  patience: 0,
  seed: 1,
  validation: 10_000,
  validationShuffle: false,
  trainSubset: 0,
  evalBatchSize: 1000,
  stepsPerSubmit: 4,
  standardize: true,
};

export class ConfigError extends MlpError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFIG', message, options);
    this.name = 'ConfigError';
  }
}

function check(condition: boolean, field: string, expected: string, found: unknown): void {
  if (!condition) throw new ConfigError(`${field} must be ${expected}, found ${JSON.stringify(found)}`);
}

const isInt = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n);
const isPositive = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0;

/** Checks every field of a config from any source; errors name the field, what was expected and what was found. */
export function validateConfig(config: TrainConfig): TrainConfig {
  validateSpec(config.spec, 'model');
  const { optimizer, schedule, init } = config;
  check(OPTIMIZERS.includes(optimizer.kind), 'optimizer', `one of ${OPTIMIZERS.join(', ')}`, optimizer.kind);
  check(isPositive(config.lr), 'lr', 'a positive number', config.lr);
  check(optimizer.momentum >= 0 && optimizer.momentum < 1, 'momentum', 'in [0, 1)', optimizer.momentum);
  check(optimizer.beta1 >= 0 && optimizer.beta1 < 1, 'beta1', 'in [0, 1)', optimizer.beta1);
  check(optimizer.beta2 >= 0 && optimizer.beta2 < 1, 'beta2', 'in [0, 1)', optimizer.beta2);
  check(isPositive(optimizer.eps), 'eps', 'a positive number', optimizer.eps);
  check(optimizer.weightDecay >= 0 && Number.isFinite(optimizer.weightDecay), 'weight-decay', 'a number ≥ 0', optimizer.weightDecay);
  check(INIT_KINDS.includes(init.kind), 'init', `one of ${INIT_KINDS.join(', ')}`, init.kind);
  if (init.kind === 'uniform') check(isPositive(init.a), 'init uniform:A', 'A > 0', init.a);
  if (init.kind === 'normal') check(isPositive(init.std), 'init normal:STD', 'STD > 0', init.std);
  check(SCHEDULE_KINDS.includes(schedule.kind), 'schedule', `one of ${SCHEDULE_KINDS.join(', ')}`, schedule.kind);
  if (schedule.kind === 'step') {
    check(isInt(schedule.every) && schedule.every >= 1, 'step-every', 'an integer ≥ 1 (epochs)', schedule.every);
    check(isPositive(schedule.gamma) && schedule.gamma <= 1, 'step-gamma', 'in (0, 1]', schedule.gamma);
  }
  if (schedule.kind === 'cosine') check(schedule.minFactor >= 0 && schedule.minFactor <= 1, 'min-lr-factor', 'in [0, 1]', schedule.minFactor);
  check(config.warmupEpochs >= 0 && Number.isFinite(config.warmupEpochs), 'warmup', 'a number of epochs ≥ 0', config.warmupEpochs);
  check(isInt(config.batchSize) && config.batchSize >= 1, 'batch-size', 'an integer ≥ 1', config.batchSize);
  check(isInt(config.epochs) && config.epochs >= 1, 'epochs', 'an integer ≥ 1', config.epochs);
  check(isInt(config.patience) && config.patience >= 0, 'patience', 'an integer ≥ 0', config.patience);
  check(isInt(config.seed) && config.seed >= 0 && config.seed < 2 ** 32, 'seed', 'an integer in [0, 2^32)', config.seed);
  const fraction = typeof config.validation === 'number' && config.validation > 0 && config.validation < 1;
  check(fraction || (isInt(config.validation) && config.validation >= 0), 'val-split', 'a number of samples (an integer ≥ 0) or a fraction in (0, 1)', config.validation);
  check(isInt(config.trainSubset) && config.trainSubset >= 0, 'train-subset', 'an integer ≥ 0', config.trainSubset);
  check(isInt(config.evalBatchSize) && config.evalBatchSize >= 1, 'eval-batch-size', 'an integer ≥ 1', config.evalBatchSize);
  check(isInt(config.stepsPerSubmit) && config.stepsPerSubmit >= 1 && config.stepsPerSubmit <= 256, 'steps-per-submit', 'an integer in [1, 256]', config.stepsPerSubmit);
  check(typeof config.standardize === 'boolean', 'standardize', 'true or false', config.standardize);
  if (config.patience > 0) check(config.validation > 0, 'patience', '0 when there is no validation set (val-split 0)', config.patience);
  return config;
}

/** Reads a config saved as JSON (config.json, checkpoint metadata), checking it as thoroughly as flags. */
export function configFromJson(value: unknown, source: string): TrainConfig {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(value)) throw new ConfigError(`${source}: the training config must be a JSON object`);
  // Written by versions before 0.2, where the config also held the run's device and data directory.
  const { device: _device, dataDir: _dataDir, ...fields } = value;
  // Written before 0.3, which had no standardize option (and standardized nothing: MNIST bytes only).
  const config: Record<string, unknown> = { standardize: true, ...fields };
  for (const field of ['spec', 'init', 'optimizer', 'schedule'] as const) {
    if (!isObject(config[field])) throw new ConfigError(`${source}: config field "${field}" must be an object, found ${JSON.stringify(config[field])}`);
  }
  try {
    return validateConfig(config as unknown as TrainConfig);
  } catch (error) {
    throw new ConfigError(`${source}: ${(error as Error).message}`);
  }
}
