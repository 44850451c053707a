// Optimizer choices and hyperparameters, shared by the GPU kernels, the CPU reference and the CLI.
// Formulas follow PyTorch's torch.optim (so results and checkpoints compare), with one
// deliberate difference: weight decay applies to weights only, never to biases.

/** The optimizers: plain SGD, SGD with (Nesterov) momentum, Adagrad, Adam, AdamW (decoupled weight decay). */
export type OptimizerKind = 'sgd' | 'momentum' | 'nesterov' | 'adagrad' | 'adam' | 'adamw';
export const OPTIMIZERS: readonly OptimizerKind[] = ['sgd', 'momentum', 'nesterov', 'adagrad', 'adam', 'adamw'];

/** An optimizer and its hyperparameters (all present; those the kind does not use are ignored). */
export interface OptimizerConfig {
  readonly kind: OptimizerKind;
  /** Momentum coefficient μ ('momentum', 'nesterov'). */
  readonly momentum: number;
  /** Adam's moment decay rates. */
  readonly beta1: number;
  readonly beta2: number;
  /** Added to the denominator ('adagrad', 'adam', 'adamw'). */
  readonly eps: number;
  /**
   * L2 weight decay λ. Coupled (g += λ·w) for every optimizer but 'adamw', where it is
   * decoupled (w −= lr·λ·w before the Adam step), as in Loshchilov & Hutter.
   */
  readonly weightDecay: number;
}

export function optimizerConfig(kind: OptimizerKind, overrides: Partial<Omit<OptimizerConfig, 'kind'>> = {}): OptimizerConfig {
  return {
    kind,
    momentum: 0.9,
    beta1: 0.9,
    beta2: 0.999,
    eps: kind === 'adagrad' ? 1e-10 : 1e-8,
    weightDecay: 0,
    ...overrides,
  };
}

/** Per-parameter state arrays the optimizer keeps: velocity, squared-gradient sum, or (m, v). */
export function optimizerStateSlots(kind: OptimizerKind): number {
  switch (kind) {
    case 'sgd':
      return 0;
    case 'momentum':
    case 'nesterov':
    case 'adagrad':
      return 1;
    case 'adam':
    case 'adamw':
      return 2;
  }
}

/** Names of the state arrays, as checkpoints store them (`optimizer.<name>`). */
export function optimizerStateNames(kind: OptimizerKind): string[] {
  switch (kind) {
    case 'sgd':
      return [];
    case 'momentum':
    case 'nesterov':
      return ['velocity'];
    case 'adagrad':
      return ['sum_sq'];
    case 'adam':
    case 'adamw':
      return ['exp_avg', 'exp_avg_sq'];
  }
}
