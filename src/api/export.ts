// Models for other runtimes, from the public API: ONNX bytes (ONNX Runtime, and any tool that reads
// ONNX) and a TensorFlow.js Layers model (tf.loadLayersModel). Functions rather than Model methods,
// so that a page which never exports bundles no protobuf code.
import type { ExportOptions, InputTransform } from '../export/common.ts';
import { exportOnnx as onnxBytes } from '../export/onnx.ts';
import { exportTfjs as tfjsArtifacts, type TfjsExport } from '../export/tfjs.ts';
import { denseLayers, paramLayout } from '../model/tensors.ts';
import type { Model } from './model.ts';

/** The default input of a model's export: raw table values (standardized inside when it standardizes), else bytes. */
function inputOf(model: Model): InputTransform {
  if (model.featureType !== 'f32') return 'bytes';
  return model.standardization ?? 'identity';
}

/** The model's parameters in the flat layout the exporters read. */
async function flatParams(model: Model): Promise<Float32Array> {
  const params = new Float32Array(paramLayout(model.spec).totalElements);
  const weights = await model.getWeights();
  denseLayers(model.spec).forEach((layer, l) => {
    params.set(weights[l].weight, layer.weight.offset);
    params.set(weights[l].bias, layer.bias.offset);
  });
  return params;
}

/**
 * The model as an ONNX file's bytes: opset 13, float32 input `input` [N, inputs] with a dynamic
 * batch, a Gemm (+ activation) per layer, outputs `probabilities` (softmax) and `logits`, the spec
 * and version in its metadata. `options.input`: what the exported model takes, 'bytes' (0..255,
 * divided by 255 inside, the default for image models), 'identity' (what the model saw in training),
 * or `{ mean, std }` (raw table values, standardized inside).
 */
export async function exportOnnx(model: Model, options: ExportOptions = {}): Promise<Uint8Array> {
  return onnxBytes(model.spec, await flatParams(model), { ...options, input: options.input ?? inputOf(model) });
}

/**
 * The model as a TensorFlow.js Layers model: `modelJson` (model.json's object), `weightData` (the
 * one .bin file, named `weightsPath`) and `artifacts` for tf.io.fromMemory; a Sequential of Dense layers, softmax last, the
 * input transform folded into the first layer.
 */
export async function exportTfjs(model: Model, options: ExportOptions = {}): Promise<TfjsExport> {
  return tfjsArtifacts(model.spec, await flatParams(model), { ...options, input: options.input ?? inputOf(model) });
}
