// The model-level checkpoint: a safetensors file whose tensors are the model's parameters under
// PyTorch names, unpadded, and whose metadata says what model (and, for resumable checkpoints,
// what optimizer and training state) they belong to.
//
//   tensors   layers.{l}.weight [OUT, IN], layers.{l}.bias [OUT]           (F32, nn.Linear's layout)
//             optimizer.{state}.{param}, e.g. optimizer.exp_avg.layers.0.weight   (resumable only)
//   metadata  format              "pt"  (safetensors.torch.load_file expects it)
//             webgpu_mlp.version  the package version that wrote the file
//             webgpu_mlp.spec     JSON of the ModelSpec
//             webgpu_mlp.optimizer  JSON of the OptimizerConfig        (resumable only, iff optimizer tensors)
//             webgpu_mlp.config   JSON of the resolved training config (optional, opaque here)
//             webgpu_mlp.training JSON of the resumable training state (optional, opaque here)
//             webgpu_mlp.data     JSON of what the model takes and names (optional): {"features": "u8" | "f32",
//                                 "feature_names": [...], "label": "species", "classes": [...], "standardized": true}
//   tensors   input.mean [IN], input.std [IN]   the standardization of f32 inputs, (x − mean) / std
//                                               (F32; present iff webgpu_mlp.data says "standardized": true)
//
// In memory, parameters and optimizer state use the flat GPU layout of src/model/tensors.ts (each
// tensor at a 64-element aligned offset); the padding is dropped on save and restored (zero) on load.
//
// Loading in PyTorch (the names match a module that keeps its layers in `self.layers`):
//
//   import json, torch, torch.nn as nn
//   from safetensors import safe_open
//   from safetensors.torch import load_file
//   class MLP(nn.Module):
//       def __init__(self, widths):
//           super().__init__()
//           self.layers = nn.ModuleList(nn.Linear(i, o) for i, o in zip(widths, widths[1:]))
//       def forward(self, x):                      # relu here: use the spec's activation
//           for layer in self.layers[:-1]: x = torch.relu(layer(x))
//           return self.layers[-1](x)              # logits
//   with safe_open(path, 'pt') as f: spec = json.loads(f.metadata()['webgpu_mlp.spec'])
//   model = MLP(spec['layers'])
//   model.load_state_dict({k: v for k, v in load_file(path).items() if k.startswith('layers.')})
//
// nn.Sequential(nn.Linear(...), nn.ReLU(), ...) names its tensors `0.weight`, `2.weight`, ... (the
// activations take indices too), so it needs the keys renamed; a ModuleList as above matches as is.

import { describeSpec, SpecError, validateSpec, type ModelSpec } from '../model/spec.ts';
import { paramLayout, type ParamLayout, type ParamTensor } from '../model/tensors.ts';
import { OPTIMIZERS, optimizerStateNames, type OptimizerConfig } from '../model/optimizer.ts';
import { standardizationProblem, type Standardization } from '../data/standardize.ts';
import {
  CheckpointError,
  clip,
  decodeSafetensors,
  describeValue,
  encodeSafetensors,
  type Tensor,
  type TensorInput,
} from './safetensors.ts';

export { CheckpointError } from './safetensors.ts';

export const METADATA = {
  format: 'format',
  version: 'webgpu_mlp.version',
  spec: 'webgpu_mlp.spec',
  optimizer: 'webgpu_mlp.optimizer',
  config: 'webgpu_mlp.config',
  training: 'webgpu_mlp.training',
  data: 'webgpu_mlp.data',
} as const;

/** The standardization tensors' names. */
export const INPUT_TENSORS = { mean: 'input.mean', std: 'input.std' } as const;

/** What a model takes and how it names things, learned from the data of its first fit. */
export interface CheckpointData {
  /** The feature type it trained on: u8 (pixels, / 255) or f32 (table values). */
  readonly features?: 'u8' | 'f32';
  /** The feature (column) names, one per input. */
  readonly featureNames?: readonly string[];
  /** The label column's name. */
  readonly labelName?: string;
  /** The class names, one per output. */
  readonly classNames?: readonly string[];
  /** The standardization of f32 inputs. */
  readonly standardization?: Standardization;
}

export interface Checkpoint {
  readonly spec: ModelSpec;
  /** Flat, paramLayout(spec).totalElements long; padding between tensors is zero. */
  readonly params: Float32Array;
  /** Present in resumable checkpoints: one flat array per optimizerStateNames(config.kind), same layout as params. */
  readonly optimizer?: { readonly config: OptimizerConfig; readonly state: readonly Float32Array[] };
  /** Resumable training state, stored as JSON (opaque here; NaN and ±Infinity become null, as JSON has neither). */
  readonly training?: unknown;
  /** The resolved training config, stored as JSON (opaque here). */
  readonly config?: unknown;
  /** Version of the package that wrote the checkpoint. */
  readonly version: string;
  /** What the model takes and names (checkpoints written before 0.3 have none). */
  readonly data?: CheckpointData;
}

export interface DecodeOptions {
  /**
   * Accept NaN and ±Infinity in parameters and optimizer state. Off by default: such values mean
   * training diverged, and a model that silently predicts NaN is worse than a clear refusal.
   */
  readonly allowNonFinite?: boolean;
}

function optimizerTensorName(state: string, param: ParamTensor): string {
  return `optimizer.${state}.${param.name}`;
}

interface FileTensor {
  readonly name: string;
  /** Its place (offset, shape) in the flat layout. */
  readonly param: ParamTensor;
  /** Which flat array holds it: 0 the parameters, 1 + i the optimizer's state array i. */
  readonly array: number;
}

/** Every tensor a checkpoint holds, in file order: the parameters, then each optimizer state array. */
function fileTensors(layout: ParamLayout, optimizer: OptimizerConfig | undefined): FileTensor[] {
  const tensors = layout.tensors.map((param) => ({ name: param.name, param, array: 0 }));
  if (optimizer) {
    optimizerStateNames(optimizer.kind).forEach((state, i) => {
      for (const param of layout.tensors) tensors.push({ name: optimizerTensorName(state, param), param, array: 1 + i });
    });
  }
  return tensors;
}

function toJson(value: unknown, what: string): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new CheckpointError(`encodeCheckpoint: ${what} is not JSON-serialisable`);
  return text;
}

export function encodeCheckpoint(ck: Checkpoint): Uint8Array {
  const spec = validateSpec(ck.spec, 'encodeCheckpoint: spec');
  const layout = paramLayout(spec);
  const arrays: Float32Array[] = [ck.params];
  const metadata: Record<string, string> = {
    [METADATA.format]: 'pt',
    [METADATA.version]: ck.version,
    [METADATA.spec]: JSON.stringify({ layers: spec.layers, activation: spec.activation, loss: spec.loss, dropout: spec.dropout }),
  };
  if (ck.optimizer) {
    const names = optimizerStateNames(ck.optimizer.config.kind);
    if (ck.optimizer.state.length !== names.length) {
      throw new CheckpointError(
        `encodeCheckpoint: optimizer ${ck.optimizer.config.kind} keeps ${names.length} state arrays (${names.join(', ')}), got ${ck.optimizer.state.length}`,
      );
    }
    arrays.push(...ck.optimizer.state);
    const { kind, momentum, beta1, beta2, eps, weightDecay } = ck.optimizer.config;
    metadata[METADATA.optimizer] = JSON.stringify({ kind, momentum, beta1, beta2, eps, weightDecay });
    parseOptimizerConfig(metadata, 'encodeCheckpoint'); // refuse to write what decoding would refuse
  }
  arrays.forEach((array, i) => {
    if (array.length !== layout.totalElements) {
      const what = i === 0 ? 'params' : `optimizer state ${i - 1}`;
      throw new CheckpointError(`encodeCheckpoint: ${what} has ${array.length} elements, the layout of ${describeSpec(spec)} has ${layout.totalElements}`);
    }
  });
  if (ck.config !== undefined) metadata[METADATA.config] = toJson(ck.config, 'config');
  if (ck.training !== undefined) metadata[METADATA.training] = toJson(ck.training, 'training state');

  const tensors: Record<string, TensorInput> = {};
  for (const { name, param, array } of fileTensors(layout, ck.optimizer?.config)) {
    tensors[name] = { shape: param.shape, data: arrays[array].subarray(param.offset, param.offset + param.size) };
  }
  if (ck.data) {
    const data = ck.data;
    checkData(data, spec, 'encodeCheckpoint');
    metadata[METADATA.data] = JSON.stringify({
      ...(data.features ? { features: data.features } : {}),
      ...(data.featureNames ? { feature_names: data.featureNames } : {}),
      ...(data.labelName !== undefined ? { label: data.labelName } : {}),
      ...(data.classNames ? { classes: data.classNames } : {}),
      standardized: data.standardization !== undefined,
    });
    if (data.standardization) {
      tensors[INPUT_TENSORS.mean] = { shape: [spec.layers[0]], data: data.standardization.mean };
      tensors[INPUT_TENSORS.std] = { shape: [spec.layers[0]], data: data.standardization.std };
    }
  }
  return encodeSafetensors(tensors, metadata);
}

/** Throws unless `data` fits the model: names one per input and per class, a valid standardization. */
function checkData(data: CheckpointData, spec: ModelSpec, where: string): void {
  const IN = spec.layers[0];
  const C = spec.layers[spec.layers.length - 1];
  const strings = (v: unknown, n: number) => Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'string');
  if (data.features !== undefined && data.features !== 'u8' && data.features !== 'f32') throw new CheckpointError(`${where}: data features must be "u8" or "f32", found ${describeValue(data.features)}`);
  if (data.featureNames !== undefined && !strings(data.featureNames, IN)) throw new CheckpointError(`${where}: data feature_names must be ${IN} strings (one per input), found ${describeValue(data.featureNames)}`);
  if (data.classNames !== undefined && !strings(data.classNames, C)) throw new CheckpointError(`${where}: data classes must be ${C} strings (one per class), found ${describeValue(data.classNames)}`);
  if (data.labelName !== undefined && typeof data.labelName !== 'string') throw new CheckpointError(`${where}: data label must be a string, found ${describeValue(data.labelName)}`);
  if (data.standardization) {
    const problem = standardizationProblem(data.standardization, IN);
    if (problem) throw new CheckpointError(`${where}: input standardization: ${problem}`);
  }
}

function parseJson(metadata: Record<string, string>, key: string, source: string): unknown {
  const text = metadata[key];
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(`${source}: metadata ${key} is not valid JSON: ${(error as Error).message}`);
  }
}

function parseSpec(metadata: Record<string, string>, source: string): ModelSpec {
  if (!Object.hasOwn(metadata, METADATA.spec)) {
    throw new CheckpointError(`${source}: no ${METADATA.spec} in the metadata: not a webgpu-mlp checkpoint, or written by another tool`);
  }
  const value = parseJson(metadata, METADATA.spec, source);
  const where = `${source}: metadata ${METADATA.spec}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CheckpointError(`${where}: expected an object {layers, activation, loss, dropout}, found ${describeValue(value)}`);
  }
  const { layers, activation, loss, dropout } = value as Record<string, unknown>;
  // Types first, with bounded previews; validateSpec then checks the values.
  const types: [string, unknown, boolean, string][] = [
    ['layers', layers, Array.isArray(layers) && layers.every((w) => typeof w === 'number'), 'an array of widths'],
    ['activation', activation, typeof activation === 'string', 'a string'],
    ['loss', loss, typeof loss === 'string', 'a string'],
    ['dropout', dropout, typeof dropout === 'number', 'a number'],
  ];
  for (const [field, item, ok, expected] of types) {
    if (!ok) throw new CheckpointError(`${where}: ${field} must be ${expected}, found ${describeValue(item)}`);
  }
  const spec = { layers, activation, loss, dropout } as ModelSpec;
  try {
    return validateSpec(spec, where);
  } catch (error) {
    if (error instanceof SpecError) throw new CheckpointError(error.message, { cause: error });
    throw error;
  }
}

function parseOptimizerConfig(metadata: Record<string, string>, source: string): OptimizerConfig {
  const value = parseJson(metadata, METADATA.optimizer, source);
  const where = `${source}: metadata ${METADATA.optimizer}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CheckpointError(`${where}: expected an object, found ${describeValue(value)}`);
  }
  const { kind, momentum, beta1, beta2, eps, weightDecay } = value as Record<string, unknown>;
  if (!OPTIMIZERS.includes(kind as OptimizerConfig['kind'])) {
    throw new CheckpointError(`${where}: kind must be one of ${OPTIMIZERS.join(', ')}, found ${describeValue(kind)}`);
  }
  const numbers = { momentum, beta1, beta2, eps, weightDecay };
  for (const [field, number] of Object.entries(numbers)) {
    if (typeof number !== 'number' || !Number.isFinite(number)) {
      throw new CheckpointError(`${where}: ${field} must be a finite number, found ${describeValue(number)}`);
    }
  }
  return { kind: kind as OptimizerConfig['kind'], ...(numbers as Omit<OptimizerConfig, 'kind'>) };
}

function listNames(names: readonly string[], max = 6): string {
  const shown = names.slice(0, max).map(clip).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function shapeText(shape: readonly number[]): string {
  return clip(`[${shape.join(', ')}]`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function checkFinite(name: string, tensor: Tensor, source: string): void {
  let bad = 0;
  let first = -1;
  tensor.data.forEach((x, i) => {
    if (!Number.isFinite(x)) {
      bad++;
      if (first < 0) first = i;
    }
  });
  if (bad > 0) {
    throw new CheckpointError(
      `${source}: ${name} holds ${bad} non-finite values (the first, ${tensor.data[first]}, at flat index ${first}): ` +
        `did training diverge before it was saved? Decode with allowNonFinite to load it anyway`,
    );
  }
}

/** Parses and validates a checkpoint against the spec in its own metadata. `source` names it in errors. */
export function decodeCheckpoint(bytes: Uint8Array, source: string, options: DecodeOptions = {}): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const spec = parseSpec(metadata, source);
  if (!Object.hasOwn(metadata, METADATA.version)) throw new CheckpointError(`${source}: no ${METADATA.version} in the metadata`);
  const version = metadata[METADATA.version];
  const layout = paramLayout(spec);
  const described = clip(spec.layers.join('-'));

  const optimizerConfig = Object.hasOwn(metadata, METADATA.optimizer) ? parseOptimizerConfig(metadata, source) : undefined;
  const expected = fileTensors(layout, optimizerConfig);
  const dataJson = Object.hasOwn(metadata, METADATA.data) ? parseJson(metadata, METADATA.data, source) : undefined;
  if (dataJson !== undefined && (typeof dataJson !== 'object' || dataJson === null || Array.isArray(dataJson))) {
    throw new CheckpointError(`${source}: metadata ${METADATA.data}: expected an object, found ${describeValue(dataJson)}`);
  }
  const dataFields = (dataJson ?? {}) as Record<string, unknown>;
  const standardized = dataFields.standardized === true;
  const inputNames = standardized ? [INPUT_TENSORS.mean, INPUT_TENSORS.std] : [];
  const expectedNames = new Set([...expected.map((t) => t.name), ...inputNames]);
  const unexpected = [...tensors.keys()].filter((name) => !expectedNames.has(name));
  if (unexpected.length > 0) {
    let hint = ` (the spec ${described} has ${layout.tensors.length} parameter tensors)`;
    if (unexpected[0].startsWith('optimizer.')) {
      hint = optimizerConfig
        ? ` (the ${optimizerConfig.kind} optimizer keeps ${listNames(optimizerStateNames(optimizerConfig.kind)) || 'no state'})`
        : ` (optimizer state, but no ${METADATA.optimizer} in the metadata)`;
    }
    throw new CheckpointError(`${source}: unexpected tensors ${listNames(unexpected)}${hint}`);
  }
  const missingInput = inputNames.filter((name) => !tensors.has(name));
  if (missingInput.length) throw new CheckpointError(`${source}: missing tensors ${listNames(missingInput)}, which the ${METADATA.data} metadata ("standardized": true) calls for`);
  for (const name of inputNames) {
    const { shape } = tensors.get(name)!;
    if (!sameShape(shape, [spec.layers[0]])) throw new CheckpointError(`${source}: ${name}: shape ${shapeText(shape)} in the file, but the model has ${spec.layers[0]} inputs`);
  }
  const missing = expected.filter((t) => !tensors.has(t.name)).map((t) => t.name);
  if (missing.length > 0) {
    const why = missing.every((name) => name.startsWith('optimizer.'))
      ? `, which the ${METADATA.optimizer} metadata (${optimizerConfig!.kind}) calls for`
      : ` for the spec ${described}`;
    throw new CheckpointError(`${source}: missing tensors ${listNames(missing)}${why}`);
  }
  for (const { name, param } of expected) {
    const { shape } = tensors.get(name)!;
    if (!sameShape(shape, param.shape)) {
      const transposed = shape.length === 2 && sameShape([shape[1], shape[0]], param.shape);
      const hint = transposed ? ` (transposed? weights are [OUT, IN], as in PyTorch's nn.Linear)` : '';
      throw new CheckpointError(
        `${source}: ${name}: shape ${shapeText(shape)} in the file, but the spec ${described} needs ${shapeText(param.shape)}${hint}`,
      );
    }
  }
  if (!options.allowNonFinite) {
    for (const { name } of expected) checkFinite(name, tensors.get(name)!, source);
  }

  // Every expected tensor is present with its expected shape, so these sizes are bounded by the file.
  const arrays = Array.from({ length: 1 + (optimizerConfig ? optimizerStateNames(optimizerConfig.kind).length : 0) }, () =>
    new Float32Array(layout.totalElements),
  );
  for (const { name, param, array } of expected) arrays[array].set(tensors.get(name)!.data, param.offset);

  let data: CheckpointData | undefined;
  if (dataJson !== undefined) {
    const { features, feature_names: featureNames, label, classes } = dataFields;
    data = {
      ...(features !== undefined ? { features: features as 'u8' | 'f32' } : {}),
      ...(featureNames !== undefined ? { featureNames: featureNames as string[] } : {}),
      ...(label !== undefined ? { labelName: label as string } : {}),
      ...(classes !== undefined ? { classNames: classes as string[] } : {}),
      ...(standardized ? { standardization: { mean: Float32Array.from(tensors.get(INPUT_TENSORS.mean)!.data), std: Float32Array.from(tensors.get(INPUT_TENSORS.std)!.data) } } : {}),
    };
    checkData(data, spec, `${source}: metadata ${METADATA.data}`);
  }

  return {
    spec,
    params: arrays[0],
    ...(data ? { data } : {}),
    ...(optimizerConfig ? { optimizer: { config: optimizerConfig, state: arrays.slice(1) } } : {}),
    ...(Object.hasOwn(metadata, METADATA.training) ? { training: parseJson(metadata, METADATA.training, source) } : {}),
    ...(Object.hasOwn(metadata, METADATA.config) ? { config: parseJson(metadata, METADATA.config, source) } : {}),
    version,
  };
}

/**
 * Throws unless the checkpoint's model has the layers, activation and loss of `expected` (dropout
 * may differ: it only matters while training). For `eval` on a dataset, or resuming.
 */
export function checkSpecMatches(ck: Checkpoint, expected: ModelSpec, source: string): void {
  const differences: string[] = [];
  const found = ck.spec;
  if (found.layers.join('-') !== expected.layers.join('-')) {
    differences.push(`layers ${found.layers.join('-')} in the checkpoint, ${expected.layers.join('-')} expected`);
  }
  if (found.activation !== expected.activation) {
    differences.push(`activation ${found.activation} in the checkpoint, ${expected.activation} expected`);
  }
  if (found.loss !== expected.loss) differences.push(`loss ${found.loss} in the checkpoint, ${expected.loss} expected`);
  if (differences.length > 0) {
    throw new CheckpointError(`${source}: the checkpoint's model does not match: ${differences.join('; ')}`);
  }
}
