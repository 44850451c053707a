// The tensor table: one source of truth for every shape. GPU buffers, dispatch sizes, CPU
// reference arrays, checkpoints and tests all read offsets and shapes from here.
import { activationOf, hasDropout, layerCount, type ActivationKind, type ModelSpec } from './spec.ts';

/** Element alignment of each parameter tensor: 64 f32 = 256 bytes, WebGPU's largest storage offset alignment. */
export const PARAM_ALIGN = 64;

export type ParamRole = 'weight' | 'bias';

export interface ParamTensor {
  /** PyTorch-style name, as in checkpoints: `layers.0.weight`, `layers.0.bias`. */
  readonly name: string;
  readonly layer: number;
  readonly role: ParamRole;
  /** `[OUT, IN]` for weights (PyTorch's nn.Linear layout), `[OUT]` for biases. */
  readonly shape: readonly number[];
  /** Offset in f32 elements into the flat parameter buffer (and grads, optimizer state). */
  readonly offset: number;
  readonly size: number;
}

export interface ParamLayout {
  readonly tensors: readonly ParamTensor[];
  /**
   * Elements in the flat buffer, padding included. All weights come first, so weight decay
   * (which spares biases) applies to exactly the elements before `weightsEnd`.
   */
  readonly totalElements: number;
  readonly weightsEnd: number;
  /** Elements that are real parameters (padding excluded). */
  readonly parameterCount: number;
}

export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

export function paramLayout(spec: ModelSpec): ParamLayout {
  const L = layerCount(spec);
  const tensors: ParamTensor[] = [];
  let offset = 0;
  const add = (layer: number, role: ParamRole, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name: `layers.${layer}.${role}`, layer, role, shape, offset, size });
    offset = alignUp(offset + size, PARAM_ALIGN);
  };
  for (let l = 0; l < L; l++) add(l, 'weight', [spec.layers[l + 1], spec.layers[l]]);
  const weightsEnd = offset;
  for (let l = 0; l < L; l++) add(l, 'bias', [spec.layers[l + 1]]);
  return {
    tensors,
    totalElements: offset,
    weightsEnd,
    parameterCount: tensors.reduce((sum, t) => sum + t.size, 0),
  };
}

export function paramTensor(layout: ParamLayout, layer: number, role: ParamRole): ParamTensor {
  const tensor = layout.tensors.find((t) => t.layer === layer && t.role === role);
  if (!tensor) throw new Error(`no tensor layers.${layer}.${role} in this model`);
  return tensor;
}

/** One dense layer as the kernels see it: Y[B, OUT] = act(X[B, IN]·W[OUT, IN]ᵀ + b[OUT]). */
export interface DenseLayer {
  readonly index: number;
  readonly in: number;
  readonly out: number;
  readonly activation: ActivationKind;
  readonly dropout: boolean;
  readonly weight: ParamTensor;
  readonly bias: ParamTensor;
}

export function denseLayers(spec: ModelSpec, layout: ParamLayout = paramLayout(spec)): DenseLayer[] {
  return Array.from({ length: layerCount(spec) }, (_, l) => ({
    index: l,
    in: spec.layers[l],
    out: spec.layers[l + 1],
    activation: activationOf(spec, l),
    dropout: hasDropout(spec, l),
    weight: paramTensor(layout, l, 'weight'),
    bias: paramTensor(layout, l, 'bias'),
  }));
}
