// CPU reference of the optimizer step over the flat parameter buffer (PyTorch's torch.optim formulas).
// Weight decay λ touches only elements before `weightsEnd` (the weights), never biases; `t` is 1-based.
//   sgd:      g = grad + λw;  w −= lr·g
//   momentum: g = grad + λw;  v = μv + g;  w −= lr·v
//   nesterov: g = grad + λw;  v = μv + g;  w −= lr·(g + μv)
//   adagrad:  g = grad + λw;  G += g²;     w −= lr·g / (√G + eps)
//   adam:     g = grad + λw;  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  w −= lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + eps)
//   adamw:    w −= lr·λ·w, then adam with g = grad
import { optimizerStateSlots, type OptimizerConfig } from '../model/optimizer.ts';

/** Updates `params` and `state` in place. state: optimizerStateSlots(kind) arrays as long as params. */
export function optimizerUpdate(
  config: OptimizerConfig,
  params: Float64Array,
  grads: ArrayLike<number>,
  state: Float64Array[],
  lr: number,
  t: number,
  weightsEnd: number,
): void {
  const n = params.length;
  if (grads.length !== n) throw new Error(`optimizerUpdate: ${grads.length} grads for ${n} params`);
  const slots = optimizerStateSlots(config.kind);
  if (state.length !== slots || state.some((s) => s.length !== n)) {
    throw new Error(`optimizerUpdate: '${config.kind}' needs ${slots} state arrays of ${n} elements`);
  }
  if (!(Number.isInteger(t) && t >= 1)) throw new Error(`optimizerUpdate: step t must be an integer ≥ 1, found ${t}`);
  const { momentum: mu, beta1, beta2, eps, weightDecay } = config;
  const decayOf = (i: number) => (i < weightsEnd ? weightDecay : 0);

  switch (config.kind) {
    case 'sgd':
      for (let i = 0; i < n; i++) params[i] -= lr * (grads[i] + decayOf(i) * params[i]);
      return;
    case 'momentum':
    case 'nesterov': {
      const [v] = state;
      const nesterov = config.kind === 'nesterov';
      for (let i = 0; i < n; i++) {
        const g = grads[i] + decayOf(i) * params[i];
        v[i] = mu * v[i] + g;
        params[i] -= lr * (nesterov ? g + mu * v[i] : v[i]);
      }
      return;
    }
    case 'adagrad': {
      const [sumSq] = state;
      for (let i = 0; i < n; i++) {
        const g = grads[i] + decayOf(i) * params[i];
        sumSq[i] += g * g;
        params[i] -= (lr * g) / (Math.sqrt(sumSq[i]) + eps);
      }
      return;
    }
    case 'adam':
    case 'adamw': {
      const [m, v] = state;
      const decoupled = config.kind === 'adamw';
      const biasCorrection1 = 1 - beta1 ** t;
      const biasCorrection2 = 1 - beta2 ** t;
      for (let i = 0; i < n; i++) {
        let g = grads[i];
        if (decoupled) params[i] -= lr * decayOf(i) * params[i];
        else g += decayOf(i) * params[i];
        m[i] = beta1 * m[i] + (1 - beta1) * g;
        v[i] = beta2 * v[i] + (1 - beta2) * g * g;
        params[i] -= (lr * (m[i] / biasCorrection1)) / (Math.sqrt(v[i] / biasCorrection2) + eps);
      }
      return;
    }
  }
}

/** Zeroed optimizer state for `count` parameters. */
export function initialOptimizerState(config: OptimizerConfig, count: number): Float64Array[] {
  return Array.from({ length: optimizerStateSlots(config.kind) }, () => new Float64Array(count));
}
