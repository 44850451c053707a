// A trained MLP in TensorFlow.js's Layers format: model.json (a Keras-style Sequential of Dense
// layers and a weights manifest) and one binary weights file, which tf.loadLayersModel loads. Pure:
// no Node imports, no TensorFlow.js import either; it runs in browsers too.
//
//   Dense(units OUT_0, activation relu|sigmoid|tanh, batch_input_shape [null, IN])
//   ...
//   Dense(units C, activation softmax)                       outputs: class probabilities [N, C]
//
// Keras kernels are [IN, OUT] (x·K + b), so each weight is written transposed from nn.Linear's
// [OUT, IN]. A Sequential of Dense layers has no place for preprocessing, so the input transform is
// folded into the first layer: for y = (x − m) / s per feature, K'[i, o] = K[i, o] / s_i and
// b'[o] = b[o] − Σ_i K[i, o]·m_i / s_i (float64, then rounded to float32). With the default 'bytes'
// that is K / 255: the model takes pixels 0..255, like the ONNX export. Folding changes only the
// rounding of the first layer's terms (a few float32 ulp; the tests hold probabilities to 1e-5).
// userDefinedMetadata.webgpu_mlp carries the spec, the tool's version and the input transform
// (LayersModel.getUserDefinedMetadata()).
import { classCount, describeSpec, type ModelSpec } from '../model/spec.ts';
import { VERSION } from '../version.ts';
import { exportLayers, exportMetadata, resolveInput, type ExportLayer, type ExportOptions, type ResolvedInput } from './common.ts';

/** The weights file model.json points to (TensorFlow.js's converter names its one shard so too). */
export const TFJS_WEIGHTS_FILE = 'group1-shard1of1.bin';

/** One weight tensor in model.json's manifest: its name, shape and dtype. */
export interface TfjsWeightSpec {
  readonly name: string;
  readonly shape: number[];
  readonly dtype: 'float32';
}

/** model.json: what tf.loadLayersModel('file://…/model.json' or 'http://…/model.json') reads. */
export interface TfjsModelJson {
  readonly format: 'layers-model';
  readonly generatedBy: string;
  readonly convertedBy: null;
  readonly modelTopology: { readonly class_name: 'Sequential'; readonly config: object; readonly keras_version: string; readonly backend: string };
  readonly weightsManifest: { readonly paths: string[]; readonly weights: TfjsWeightSpec[] }[];
  readonly userDefinedMetadata: { readonly webgpu_mlp: Record<string, unknown> };
}

/** A TensorFlow.js Layers model: model.json, its one weights file, and the same as in-memory artifacts. */
export interface TfjsExport {
  /** The content of model.json (JSON.stringify it to write the file). */
  readonly modelJson: TfjsModelJson;
  /** File name of the weights, as model.json's manifest names it: write weightData there. */
  readonly weightsPath: string;
  /** float32 little-endian, in the manifest's order: dense_0/kernel, dense_0/bias, dense_1/kernel, ... */
  readonly weightData: ArrayBuffer;
  /**
   * The same as tf.io.ModelArtifacts, to load without files:
   * `tf.loadLayersModel(tf.io.fromMemory(exported.artifacts))`.
   */
  readonly artifacts: {
    readonly modelTopology: TfjsModelJson['modelTopology'];
    readonly weightSpecs: TfjsWeightSpec[];
    readonly weightData: ArrayBuffer;
    readonly format: string;
    readonly generatedBy: string;
    readonly convertedBy: null;
    readonly userDefinedMetadata: TfjsModelJson['userDefinedMetadata'];
  };
}

/** The first layer with the input transform y = (x − offset) / scale folded in, as a Keras kernel [IN, OUT] and bias. */
function foldedKernel(layer: ExportLayer, input: ResolvedInput | null): { kernel: Float32Array; bias: Float32Array } {
  const { in: IN, out: OUT, weight, bias } = layer;
  const kernel = new Float32Array(IN * OUT);
  const folded = Float64Array.from(bias);
  for (let o = 0; o < OUT; o++) {
    for (let i = 0; i < IN; i++) {
      let w = weight[o * IN + i];
      if (input?.scale) {
        const s = input.scale.length === 1 ? input.scale[0] : input.scale[i];
        w /= s;
        if (input.offset) folded[o] -= w * input.offset[i];
      }
      kernel[i * OUT + o] = w;
    }
  }
  return { kernel, bias: Float32Array.from(folded) };
}

function denseConfig(name: string, units: number, activation: string, inputShape: number[] | undefined): object {
  return {
    class_name: 'Dense',
    config: {
      name,
      trainable: true,
      ...(inputShape ? { batch_input_shape: [null, ...inputShape] } : {}),
      dtype: 'float32',
      units,
      activation,
      use_bias: true,
      kernel_initializer: { class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_avg', distribution: 'uniform', seed: null } },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    },
  };
}

/**
 * The model as TensorFlow.js Layers artifacts: model.json's content and its one weights file.
 * `params` is flat in paramLayout(spec)'s order; `options.input` says what the model's input is
 * (default 'bytes', folded into the first Dense layer). Throws a SpecError (code 'CONFIG') for
 * parameters that do not fit the spec or a bad transform.
 */
export function exportTfjs(spec: ModelSpec, params: Float32Array, options: ExportOptions = {}): TfjsExport {
  const source = 'TensorFlow.js export';
  const layers = exportLayers(spec, params, source);
  const input = resolveInput(options.input, spec, source);

  const layerConfigs: object[] = [];
  const weightSpecs: TfjsWeightSpec[] = [];
  const arrays: Float32Array[] = [];
  layers.forEach((layer, l) => {
    const name = `dense_${l}`;
    const last = l === layers.length - 1;
    const activation = last ? 'softmax' : layer.activation;
    const inputShape = l === 0 ? [layer.in] : undefined;
    layerConfigs.push(denseConfig(name, layer.out, activation, inputShape));
    const { kernel, bias } = foldedKernel(layer, l === 0 ? input : null);
    weightSpecs.push({ name: `${name}/kernel`, shape: [layer.in, layer.out], dtype: 'float32' }, { name: `${name}/bias`, shape: [layer.out], dtype: 'float32' });
    arrays.push(kernel, bias);
  });

  const total = arrays.reduce((n, a) => n + a.length, 0);
  const weightData = new ArrayBuffer(total * 4);
  const view = new DataView(weightData);
  let offset = 0;
  for (const array of arrays) {
    for (const v of array) {
      view.setFloat32(offset, v, true); // TensorFlow.js reads weights little-endian
      offset += 4;
    }
  }

  const generatedBy = `webgpu-mlp ${VERSION}`;
  const metadata = exportMetadata(spec, input, VERSION);
  const userDefinedMetadata = {
    webgpu_mlp: {
      version: VERSION,
      spec: JSON.parse(metadata['webgpu_mlp.spec']) as unknown,
      input: input.description,
      inputTransform: input.kind,
      outputs: `class probabilities [N, ${classCount(spec)}] (softmax of the logits): ${describeSpec(spec)}`,
    },
  };
  const modelTopology = {
    class_name: 'Sequential' as const,
    config: { name: `webgpu_mlp_${spec.layers.join('_')}`, layers: layerConfigs },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  };
  const modelJson: TfjsModelJson = {
    format: 'layers-model',
    generatedBy,
    convertedBy: null,
    modelTopology,
    weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: weightSpecs }],
    userDefinedMetadata,
  };
  return {
    modelJson,
    weightsPath: TFJS_WEIGHTS_FILE,
    weightData,
    artifacts: { modelTopology, weightSpecs, weightData, format: 'layers-model', generatedBy, convertedBy: null, userDefinedMetadata },
  };
}
