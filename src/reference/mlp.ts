// The whole MLP on the CPU, in float64: the oracle for the GPU training step (and the `--device cpu`
// trainer). Parameters, gradients and optimizer state are flat arrays in paramLayout(spec)'s order,
// padding included, so they compare element by element with the GPU's buffers.
//
// Forward, for dense layer l = 0 .. L−1 with H_{−1} = x:
//   A_l = act_l(H_{l−1}·W_lᵀ + b_l)          act_l: the hidden activation, identity for the last layer
//   H_l = dropout(A_l) in training if hasDropout(spec, l), else A_l
// Backward, from dZ_{L−1} = the loss gradient:
//   dW_l = dZ_lᵀ·H_{l−1};  db_l = colsum(dZ_l);  dH_{l−1} = dZ_l·W_l;  dA_{l−1} = dropoutBackward(dH_{l−1});
//   dZ_{l−1} = dA_{l−1} ⊙ act'(A_{l−1})
import type { OptimizerConfig } from '../model/optimizer.ts';
import { classCount, inputSize, type ModelSpec } from '../model/spec.ts';
import { denseLayers, paramLayout, type DenseLayer, type ParamLayout } from '../model/tensors.ts';
import { activationBackward } from './activation.ts';
import { dropoutBackward, dropoutForward } from './dropout.ts';
import { lossFor, type LossResult } from './loss.ts';
import { biasGrad, matmulForward, matmulInputGrad, matmulWeightGrad } from './matmul.ts';
import { initialOptimizerState, optimizerUpdate } from './optimizer.ts';

type Numbers = ArrayLike<number>;

export interface ReferenceStep {
  /** 1-based optimizer step (Adam's bias correction, the dropout hash). */
  t: number;
  lr: number;
  /** The run's dropout seed. */
  seed: number;
}

/** Which dropout mask a training forward pass draws. */
export type DropoutDraw = Pick<ReferenceStep, 'seed' | 't'>;

export interface ForwardActivations {
  /** A_l [B, OUT_l]: each dense layer's post-activation output; the last is the model's output. */
  readonly a: Float64Array[];
  /** H_l [B, OUT_l]: A_l after dropout (the same array as A_l where no dropout applies). */
  readonly h: Float64Array[];
}

export class ReferenceMlp {
  readonly spec: ModelSpec;
  readonly optimizer: OptimizerConfig;
  readonly layout: ParamLayout;
  readonly layers: readonly DenseLayer[];
  readonly params: Float64Array;
  readonly grads: Float64Array;
  readonly state: Float64Array[];

  constructor(spec: ModelSpec, optimizer: OptimizerConfig, params: Numbers) {
    this.spec = spec;
    this.optimizer = optimizer;
    this.layout = paramLayout(spec);
    this.layers = denseLayers(spec, this.layout);
    if (params.length !== this.layout.totalElements) {
      throw new Error(`ReferenceMlp: ${params.length} parameters given, the layout of ${spec.layers.join('-')} has ${this.layout.totalElements}`);
    }
    this.params = Float64Array.from(params);
    this.grads = new Float64Array(this.layout.totalElements);
    this.state = initialOptimizerState(optimizer, this.layout.totalElements);
  }

  /** x [B, IN]. In training with dropout, `step` picks the mask. */
  forward(x: Numbers, B: number, train: boolean, step?: DropoutDraw): ForwardActivations {
    if (x.length < B * inputSize(this.spec)) throw new Error(`forward: x has ${x.length} elements, needs B·IN = ${B * inputSize(this.spec)}`);
    const a: Float64Array[] = [];
    const h: Float64Array[] = [];
    let input: Numbers = x;
    for (const layer of this.layers) {
      const out = matmulForward(input, this.weight(layer), this.bias(layer), B, layer.in, layer.out, layer.activation);
      a.push(out);
      let dropped = out;
      if (train && layer.dropout) {
        if (!step) throw new Error('forward: training with dropout needs the step (seed, t) that picks the mask');
        dropped = dropoutForward(out, step.seed, step.t, layer.index, this.spec.dropout);
      }
      h.push(dropped);
      input = dropped;
    }
    return { a, h };
  }

  /** Training forward, loss over the first `rows` rows, backward into this.grads (padding stays zero). */
  lossAndGradients(x: Numbers, y: Numbers, B: number, rows: number, step: ReferenceStep): LossResult {
    const { a, h } = this.forward(x, B, true, step);
    const L = this.layers.length;
    const loss = lossFor(this.spec.loss, a[L - 1], y, B, classCount(this.spec), rows);
    this.grads.fill(0);
    let dz: Float64Array = loss.grad; // [B, OUT_l]
    for (let l = L - 1; l >= 0; l--) {
      const layer = this.layers[l];
      const input = l === 0 ? x : h[l - 1]; // [B, IN_l]
      this.grads.set(matmulWeightGrad(dz, input, B, layer.in, layer.out), layer.weight.offset);
      this.grads.set(biasGrad(dz, B, layer.out), layer.bias.offset);
      if (l === 0) break;
      const below = this.layers[l - 1];
      const dh = matmulInputGrad(dz, this.weight(layer), null, B, layer.in, layer.out, 'identity'); // [B, IN_l]
      const da = below.dropout ? dropoutBackward(dh, step.seed, step.t, below.index, this.spec.dropout) : dh;
      dz = activationBackward(below.activation, a[l - 1], da);
    }
    return loss;
  }

  /** One optimizer step: lossAndGradients, then the update of params and state. */
  trainStep(x: Numbers, y: Numbers, B: number, rows: number, step: ReferenceStep): LossResult {
    const loss = this.lossAndGradients(x, y, B, rows, step);
    optimizerUpdate(this.optimizer, this.params, this.grads, this.state, step.lr, step.t, this.layout.weightsEnd);
    return loss;
  }

  /** Inference forward (no dropout) and loss; gradients untouched. */
  evaluate(x: Numbers, y: Numbers, B: number, rows: number): LossResult {
    const { a } = this.forward(x, B, false);
    return lossFor(this.spec.loss, a[a.length - 1], y, B, classCount(this.spec), rows);
  }

  /** W_l [OUT, IN], a view into params. */
  weight(layer: DenseLayer): Float64Array {
    return this.params.subarray(layer.weight.offset, layer.weight.offset + layer.weight.size);
  }

  /** b_l [OUT], a view into params. */
  bias(layer: DenseLayer): Float64Array {
    return this.params.subarray(layer.bias.offset, layer.bias.offset + layer.bias.size);
  }
}
