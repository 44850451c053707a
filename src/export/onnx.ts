// A trained MLP as an ONNX model (bytes of a .onnx file), for ONNX Runtime (server, mobile, web)
// and any tool that reads ONNX. Pure: no Node imports; it runs in browsers too.
//
// The graph (opset 13, IR version 7: ONNX 1.8 and every runtime since, ONNX Runtime included):
//
//   input          float32 [N, IN]        N is dynamic (dim_param "N")
//   x = Div(input, 255)                   --input bytes (default): pixels 0..255, scaled as training did
//     | Div(Sub(input, mean), std)        a { mean, std } standardization, per feature
//     | input                             'identity': the model's own inputs
//   h_0 = act(Gemm(x, layers.0.weight, layers.0.bias, transB=1))     act: Relu | Sigmoid | Tanh
//   ...
//   logits = Gemm(h_{L−2}, layers.{L−1}.weight, layers.{L−1}.bias, transB=1)
//   probabilities = Softmax(logits, axis=1)
//   outputs: probabilities [N, C], logits [N, C]
//
// Weights stay in nn.Linear's [OUT, IN] layout (Gemm's transB=1 reads them as such) under the
// checkpoint's names, so a .onnx initializer compares one to one with the safetensors tensor. The
// preprocessing is explicit nodes rather than folded into the first Gemm: the division by 255 is
// then exactly the one training did (correctly rounded f32), and Netron shows what the input is.
// The model's metadata_props carry webgpu_mlp.spec (JSON), webgpu_mlp.version and webgpu_mlp.input.
import protobuf from 'protobufjs';
import { classCount, describeSpec, inputSize, type ActivationKind, type ModelSpec } from '../model/spec.ts';
import { VERSION } from '../version.ts';
import { exportLayers, exportMetadata, resolveInput, type ExportOptions } from './common.ts';
import { ONNX_SCHEMA } from './onnx-schema.ts';

/** The operator set the graph is written against: old enough for every current runtime, new enough for Softmax on one axis. */
export const ONNX_OPSET = 13;
/** The IR version that goes with opset 13 (ONNX 1.8). */
export const ONNX_IR_VERSION = 7;
/** Names of the graph's input and outputs. */
export const ONNX_NAMES = { input: 'input', probabilities: 'probabilities', logits: 'logits' } as const;

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTRIBUTE = { INT: 2 } as const; // AttributeProto.AttributeType
const ACTIVATION_OPS: Record<Exclude<ActivationKind, 'identity'>, string> = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh' };

let modelType: protobuf.Type | undefined;
function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_SCHEMA, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

interface Tensor {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

/** A float32 initializer; raw_data is little-endian, as ONNX requires on every platform. */
function floatTensor(name: string, dims: number[], values: Float32Array): Tensor {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dims, data_type: FLOAT, raw_data: bytes };
}

function valueInfo(name: string, width: number, doc: string) {
  return {
    name,
    doc_string: doc,
    type: { tensor_type: { elem_type: FLOAT, shape: { dim: [{ dim_param: 'N' }, { dim_value: width }] } } },
  };
}

/**
 * The model as ONNX bytes. `params` is flat in paramLayout(spec)'s order (a checkpoint's params,
 * Model.save's tensors); `options.input` says what the graph's input is (default 'bytes').
 * Throws a SpecError (code 'CONFIG') for parameters that do not fit the spec or a bad transform.
 */
export function exportOnnx(spec: ModelSpec, params: Float32Array, options: ExportOptions = {}): Uint8Array {
  const source = 'ONNX export';
  const layers = exportLayers(spec, params, source);
  const input = resolveInput(options.input, spec, source);
  const IN = inputSize(spec);
  const C = classCount(spec);

  const nodes: object[] = [];
  const initializers: Tensor[] = [];
  let x: string = ONNX_NAMES.input;
  if (input.offset) {
    initializers.push(floatTensor('input_mean', [IN], input.offset));
    nodes.push({ op_type: 'Sub', name: 'standardize_sub', input: [x, 'input_mean'], output: ['input_centered'] });
    x = 'input_centered';
  }
  if (input.scale) {
    const name = input.kind === 'bytes' ? 'input_scale' : 'input_std';
    initializers.push(floatTensor(name, input.kind === 'bytes' ? [] : [IN], input.scale));
    nodes.push({ op_type: 'Div', name: `${input.kind}_div`, input: [x, name], output: ['x'] });
    x = 'x';
  }
  layers.forEach((layer, l) => {
    const weight = `layers.${l}.weight`;
    const bias = `layers.${l}.bias`;
    initializers.push(floatTensor(weight, [layer.out, layer.in], layer.weight), floatTensor(bias, [layer.out], layer.bias));
    const last = l === layers.length - 1;
    const linear = last ? ONNX_NAMES.logits : `layers.${l}.linear`;
    nodes.push({
      op_type: 'Gemm',
      name: `layers.${l}.gemm`,
      input: [x, weight, bias],
      output: [linear],
      attribute: [{ name: 'transB', type: ATTRIBUTE.INT, i: 1 }],
    });
    x = linear;
    if (layer.activation !== 'identity') {
      const op = ACTIVATION_OPS[layer.activation];
      nodes.push({ op_type: op, name: `layers.${l}.${layer.activation}`, input: [x], output: [`layers.${l}.${layer.activation}`] });
      x = `layers.${l}.${layer.activation}`;
    }
  });
  nodes.push({
    op_type: 'Softmax',
    name: 'softmax',
    input: [ONNX_NAMES.logits],
    output: [ONNX_NAMES.probabilities],
    attribute: [{ name: 'axis', type: ATTRIBUTE.INT, i: 1 }],
  });

  const doc =
    `webgpu-mlp ${VERSION}: MLP ${describeSpec(spec)}. Input "${ONNX_NAMES.input}": ${input.description}. ` +
    `Outputs "${ONNX_NAMES.probabilities}" (softmax) and "${ONNX_NAMES.logits}", float32 [N, ${C}].`;
  const metadata = exportMetadata(spec, input, VERSION);
  const model = {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'webgpu-mlp',
    producer_version: VERSION,
    doc_string: doc,
    graph: {
      name: `webgpu_mlp_${spec.layers.join('_')}`,
      doc_string: doc,
      node: nodes,
      initializer: initializers,
      input: [valueInfo(ONNX_NAMES.input, IN, input.description)],
      output: [
        valueInfo(ONNX_NAMES.probabilities, C, `float32 [N, ${C}]: class probabilities (softmax of the logits)`),
        valueInfo(ONNX_NAMES.logits, C, `float32 [N, ${C}]: the last layer's outputs`),
      ],
    },
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  const type = onnxModelType();
  const problem = type.verify(model);
  if (problem) throw new Error(`ONNX export: the model does not fit ONNX's schema: ${problem}`); // a bug here, not the user's
  // In Node, protobufjs hands back a Buffer that may view a shared pool: copy to a plain Uint8Array of its own.
  return new Uint8Array(type.encode(type.fromObject(model)).finish());
}
