// The model spec: what a user chooses about an MLP. Everything with a shape is derived from it
// (see tensors.ts), on the GPU and on the CPU alike.
import { MlpError } from '../errors.ts';

/** Hidden-layer nonlinearity. The output layer is always linear (logits). */
export type Activation = 'relu' | 'sigmoid' | 'tanh';
export const ACTIVATIONS: readonly Activation[] = ['relu', 'sigmoid', 'tanh'];
/** What the kernels implement: the hidden activations plus the output layer's identity. */
export type ActivationKind = Activation | 'identity';

export const LOSSES: readonly Loss[] = ['ce', 'mse'];
/**
 * 'ce':  softmax cross-entropy on the logits, mean over the batch.
 * 'mse': the "Euclidean" loss on one-hot targets, 1/(2B) Σ_b Σ_c (z_bc − onehot_bc)², on the logits.
 */
export type Loss = 'ce' | 'mse';

/** The shape of a model: layer widths, hidden activation, loss and dropout. */
export interface ModelSpec {
  /** Layer widths from input to classes, e.g. [784, 256, 128, 10]: two hidden layers. */
  readonly layers: readonly number[];
  readonly activation: Activation;
  readonly loss: Loss;
  /** Probability of dropping each hidden unit during training (inverted dropout); 0 disables it. */
  readonly dropout: number;
}

export class SpecError extends MlpError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFIG', message, options);
    this.name = 'SpecError';
  }
}

/** Checks a spec from any source (CLI, checkpoint metadata, demo form) and says what is wrong. */
export function validateSpec(spec: ModelSpec, source = 'model spec'): ModelSpec {
  const { layers } = spec;
  if (!Array.isArray(layers) || layers.length < 2) {
    throw new SpecError(`${source}: layers must list at least an input and an output width, found ${JSON.stringify(layers)}`);
  }
  layers.forEach((width, i) => {
    if (!Number.isInteger(width) || width < 1) {
      throw new SpecError(`${source}: layers[${i}] must be a positive integer, found ${JSON.stringify(width)}`);
    }
  });
  if (layers[layers.length - 1] < 2) {
    throw new SpecError(`${source}: the output layer needs at least 2 classes, found ${layers[layers.length - 1]}`);
  }
  if (!ACTIVATIONS.includes(spec.activation)) {
    throw new SpecError(`${source}: activation must be one of ${ACTIVATIONS.join(', ')}, found ${JSON.stringify(spec.activation)}`);
  }
  if (!LOSSES.includes(spec.loss)) {
    throw new SpecError(`${source}: loss must be one of ${LOSSES.join(', ')}, found ${JSON.stringify(spec.loss)}`);
  }
  if (typeof spec.dropout !== 'number' || !(spec.dropout >= 0 && spec.dropout < 1)) {
    throw new SpecError(`${source}: dropout must be in [0, 1), found ${JSON.stringify(spec.dropout)}`);
  }
  return spec;
}

/** Number of dense layers (weight matrices). */
export function layerCount(spec: ModelSpec): number {
  return spec.layers.length - 1;
}

export function inputSize(spec: ModelSpec): number {
  return spec.layers[0];
}

export function classCount(spec: ModelSpec): number {
  return spec.layers[spec.layers.length - 1];
}

/** Activation applied after dense layer `l` (0-based): the hidden activation, or identity for the last. */
export function activationOf(spec: ModelSpec, l: number): ActivationKind {
  return l === layerCount(spec) - 1 ? 'identity' : spec.activation;
}

/** Whether dropout follows dense layer `l`: only after hidden layers, and only if enabled. */
export function hasDropout(spec: ModelSpec, l: number): boolean {
  return spec.dropout > 0 && l < layerCount(spec) - 1;
}

export function describeSpec(spec: ModelSpec): string {
  const drop = spec.dropout > 0 ? `, dropout ${spec.dropout}` : '';
  return `${spec.layers.join('-')} ${spec.activation}, ${spec.loss} loss${drop}`;
}
