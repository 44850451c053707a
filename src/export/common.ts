// What the ONNX and TensorFlow.js exports share: each dense layer's weights cut out of the flat
// parameter buffer, and the input transform the exported model applies before its first layer.
// Pure: no Node imports, so the exports also run in a browser.
import { describeSpec, inputSize, SpecError, validateSpec, type ActivationKind, type ModelSpec } from '../model/spec.ts';
import { denseLayers, paramLayout } from '../model/tensors.ts';

/** Per-feature standardization: the exported model computes (x − mean) / std before its first layer. */
export type { Standardization } from '../data/standardize.ts';
import type { Standardization } from '../data/standardize.ts';

/**
 * How the exported model's input relates to what the model saw in training:
 *  - 'bytes': byte values 0..255 (image pixels, as IDX files and canvases hold them), divided by 255
 *    inside the exported model, exactly as training scaled u8 features. The default.
 *  - 'identity': the model's inputs as they are (pixels already divided by 255, or table values).
 *  - `{ mean, std }`: raw feature values, standardized per feature inside the exported model.
 */
export type InputTransform = 'bytes' | 'identity' | Standardization;

/** Options of the ONNX and TensorFlow.js exports. */
export interface ExportOptions {
  /** Default 'bytes'. */
  readonly input?: InputTransform;
}

/** The input transform as y = (x − offset) / scale, per feature; null where it is the identity. */
export interface ResolvedInput {
  readonly kind: 'bytes' | 'identity' | 'standardize';
  /** [IN], or null for no subtraction */
  readonly offset: Float32Array | null;
  /** [IN] or [1], or null for no division */
  readonly scale: Float32Array | null;
  /** One sentence for doc strings and READMEs: what the exported model expects. */
  readonly description: string;
}

/** One dense layer, copied out of the flat parameters: y = act(x·Wᵀ + b). */
export interface ExportLayer {
  readonly in: number;
  readonly out: number;
  readonly activation: ActivationKind;
  /** [OUT, IN], nn.Linear's layout */
  readonly weight: Float32Array;
  /** [OUT] */
  readonly bias: Float32Array;
}

/** The layers of `spec` with their weights; refuses parameters of the wrong length or non-finite ones. */
export function exportLayers(spec: ModelSpec, params: Float32Array, source: string): ExportLayer[] {
  validateSpec(spec, `${source}: model spec`);
  const layout = paramLayout(spec);
  if (!(params instanceof Float32Array) || params.length !== layout.totalElements) {
    throw new SpecError(
      `${source}: expected a Float32Array of ${layout.totalElements} parameters (the layout of ${describeSpec(spec)}), found ${params?.length ?? params}`,
    );
  }
  return denseLayers(spec, layout).map((layer) => {
    const weight = params.slice(layer.weight.offset, layer.weight.offset + layer.weight.size);
    const bias = params.slice(layer.bias.offset, layer.bias.offset + layer.bias.size);
    for (const [name, values] of [[layer.weight.name, weight], [layer.bias.name, bias]] as const) {
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new SpecError(`${source}: ${name} holds a non-finite value (${values[bad]} at index ${bad}): the model cannot be exported`);
    }
    return { in: layer.in, out: layer.out, activation: layer.activation, weight, bias };
  });
}

/** Checks `transform` against the model's input width and puts it in the form y = (x − offset) / scale. */
export function resolveInput(transform: InputTransform | undefined, spec: ModelSpec, source: string): ResolvedInput {
  const IN = inputSize(spec);
  const t = transform ?? 'bytes';
  if (t === 'bytes') {
    return {
      kind: 'bytes',
      offset: null,
      scale: Float32Array.of(255),
      description: `float32 [N, ${IN}]: byte values 0..255 (e.g. pixels), divided by 255 inside the model as in training`,
    };
  }
  if (t === 'identity') {
    return { kind: 'identity', offset: null, scale: null, description: `float32 [N, ${IN}]: the model's inputs as in training (pixels already divided by 255)` };
  }
  if (typeof t !== 'object' || t === null) {
    throw new SpecError(`${source}: input transform must be 'bytes', 'identity' or { mean, std }, found ${JSON.stringify(t)}`);
  }
  for (const field of ['mean', 'std'] as const) {
    const values = t[field];
    if (!(values instanceof Float32Array) || values.length !== IN) {
      throw new SpecError(`${source}: input ${field} must be a Float32Array of the model's ${IN} inputs, found ${values?.length ?? values}`);
    }
  }
  const badMean = t.mean.findIndex((v) => !Number.isFinite(v));
  if (badMean >= 0) throw new SpecError(`${source}: input mean[${badMean}] is ${t.mean[badMean]}; every mean must be finite`);
  const badStd = t.std.findIndex((v) => !(Number.isFinite(v) && v > 0));
  if (badStd >= 0) throw new SpecError(`${source}: input std[${badStd}] is ${t.std[badStd]}; every std must be finite and > 0`);
  return {
    kind: 'standardize',
    offset: Float32Array.from(t.mean),
    scale: Float32Array.from(t.std),
    description: `float32 [N, ${IN}]: raw feature values, standardized inside the model as (x − mean) / std per feature`,
  };
}

/** The metadata both formats carry: the model spec, the tool's version and the input transform. */
export function exportMetadata(spec: ModelSpec, input: ResolvedInput, version: string): Record<string, string> {
  const { layers, activation, loss, dropout } = spec;
  return {
    'webgpu_mlp.spec': JSON.stringify({ layers, activation, loss, dropout }),
    'webgpu_mlp.version': version,
    'webgpu_mlp.input': JSON.stringify({ transform: input.kind, description: input.description }),
  };
}
