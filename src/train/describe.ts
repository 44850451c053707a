// Words for a model's configuration, shared by the run report, the comparison report, result
// tables and the tracker export (where they become MLflow params).
import { describeInit } from '../model/init.ts';
import type { ModelSpec } from '../model/spec.ts';
import type { TrainConfig } from './config.ts';
import { describeSchedule } from './schedule.ts';

const ACTIVATION_NAMES = { relu: 'ReLU', sigmoid: 'sigmoid', tanh: 'tanh' } as const;

/** "784-256-128-10 · ReLU · cross-entropy · dropout 0.2" */
export function describeModel(spec: ModelSpec): string {
  const parts = [spec.layers.join('-')];
  // Without hidden layers the activation plays no part: softmax + cross-entropy is logistic regression.
  if (spec.layers.length > 2) parts.push(ACTIVATION_NAMES[spec.activation]);
  else parts.push(spec.loss === 'ce' ? 'logistic regression' : 'linear model');
  parts.push(spec.loss === 'ce' ? 'cross-entropy' : 'squared error');
  if (spec.dropout > 0 && spec.layers.length > 2) parts.push(`dropout ${spec.dropout}`); // dropout follows hidden layers only
  return parts.join(' · ');
}

/** "adam β=(0.9, 0.999) ε=1e-8", "momentum μ=0.9", "sgd" */
export function describeOptimizer(config: TrainConfig): string {
  const o = config.optimizer;
  switch (o.kind) {
    case 'momentum':
    case 'nesterov':
      return `${o.kind} μ=${o.momentum}`;
    case 'adam':
    case 'adamw':
      return `${o.kind} β=(${o.beta1}, ${o.beta2}) ε=${o.eps}`;
    case 'adagrad':
      return `adagrad ε=${o.eps}`;
    case 'sgd':
      return 'sgd';
  }
}

/** "cosine (to 0.01× base), warm-up 1 epochs" */
export function describeLrSchedule(config: TrainConfig): string {
  const base = describeSchedule(config.schedule);
  return config.warmupEpochs ? `${base}, warm-up ${config.warmupEpochs} epochs` : base;
}

/** Key–value pairs of everything in the config, for a config table. */
export function describeConfig(config: TrainConfig): [string, string][] {
  return [
    ['layers', config.spec.layers.join('-')],
    ['activation', config.spec.activation],
    ['loss', config.spec.loss],
    ['dropout', String(config.spec.dropout)],
    ['init', describeInit(config.init)],
    ['optimizer', describeOptimizer(config)],
    ['learning rate', String(config.lr)],
    ['schedule', describeLrSchedule(config)],
    ['weight decay', String(config.optimizer.weightDecay)],
    ['batch size', String(config.batchSize)],
    ['epochs', String(config.epochs)],
    ['patience', config.patience ? String(config.patience) : 'off'],
    ['seed', String(config.seed)],
    ['validation', `${config.validation}${config.validationShuffle ? ' (shuffled)' : ' (last of the training set)'}`],
    ['train subset', config.trainSubset ? String(config.trainSubset) : 'all'],
  ];
}
