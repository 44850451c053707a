import { describe, expect, it } from 'vitest';
import { checkSpecMatches, CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../../src/checkpoint/checkpoint.ts';
import { decodeSafetensors, encodeSafetensors, type TensorInput } from '../../src/checkpoint/safetensors.ts';
import { optimizerConfig, optimizerStateNames, type OptimizerKind } from '../../src/model/optimizer.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { paramLayout } from '../../src/model/tensors.ts';
import { Random } from '../../src/util/random.ts';

const spec: ModelSpec = { layers: [5, 7, 3], activation: 'tanh', loss: 'mse', dropout: 0.25 };

/** A flat array in the padded layout: random values in every tensor, zero in the padding. */
function flatParams(s: ModelSpec, label: string): Float32Array {
  const layout = paramLayout(s);
  const flat = new Float32Array(layout.totalElements);
  const rng = new Random(3, label);
  for (const t of layout.tensors) for (let i = 0; i < t.size; i++) flat[t.offset + i] = rng.normal();
  return flat;
}

function resumable(kind: OptimizerKind): Checkpoint {
  return {
    spec,
    params: flatParams(spec, 'params'),
    optimizer: {
      config: optimizerConfig(kind, { weightDecay: 5e-4 }),
      state: optimizerStateNames(kind).map((name) => flatParams(spec, name)),
    },
    training: { epoch: 3, step: 17, t: 137, seed: 42, best: null },
    config: { lr: 0.05, batchSize: 64, schedule: 'cosine' },
    version: '0.1.0',
  };
}

/** Re-encodes a checkpoint's file with its tensors and metadata edited. */
function edited(
  bytes: Uint8Array,
  edit: (tensors: Record<string, TensorInput>, metadata: Record<string, string>) => void,
): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes, 'edit');
  const record = Object.fromEntries(tensors);
  edit(record, metadata);
  return encodeSafetensors(record, metadata);
}

function decodeError(bytes: Uint8Array): string {
  try {
    decodeCheckpoint(bytes, 'run/best.safetensors');
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    return (error as Error).message;
  }
  throw new Error('expected decodeCheckpoint to throw');
}

describe('checkpoint round trip', () => {
  it('restores weights-only checkpoints into the padded layout, padding zero', () => {
    const params = flatParams(spec, 'params');
    const bytes = encodeCheckpoint({ spec, params, version: '0.1.0' });
    const back = decodeCheckpoint(bytes, 'x');
    expect(back).toEqual({ spec, params, version: '0.1.0' });
    expect(back.optimizer).toBeUndefined();
    // Unpadded on disk: 8 + header + exactly the parameters.
    const layout = paramLayout(spec);
    const headerBytes = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(bytes.length).toBe(8 + headerBytes + 4 * layout.parameterCount);
    expect(layout.totalElements).toBeGreaterThan(layout.parameterCount);
  });

  it.each(['sgd', 'nesterov', 'adagrad', 'adamw'] as const)('restores optimizer state, training state and config (%s)', (kind) => {
    const ck = resumable(kind);
    const back = decodeCheckpoint(encodeCheckpoint(ck), 'x');
    expect(back).toEqual(ck);
    expect(back.optimizer!.state).toHaveLength(optimizerStateNames(kind).length);
  });

  it('names tensors as PyTorch does and writes the documented metadata', () => {
    const { tensors, metadata } = decodeSafetensors(encodeCheckpoint(resumable('adam')), 'x');
    const params = ['layers.0.weight', 'layers.1.weight', 'layers.0.bias', 'layers.1.bias'];
    expect([...tensors.keys()]).toEqual([
      ...params,
      ...params.map((p) => `optimizer.exp_avg.${p}`),
      ...params.map((p) => `optimizer.exp_avg_sq.${p}`),
    ]);
    expect(tensors.get('layers.0.weight')!.shape).toEqual([7, 5]); // [OUT, IN], nn.Linear's layout
    expect(tensors.get('optimizer.exp_avg_sq.layers.1.bias')!.shape).toEqual([3]);
    expect(metadata).toEqual({
      format: 'pt',
      'webgpu_mlp.version': '0.1.0',
      'webgpu_mlp.spec': '{"layers":[5,7,3],"activation":"tanh","loss":"mse","dropout":0.25}',
      'webgpu_mlp.optimizer': '{"kind":"adam","momentum":0.9,"beta1":0.9,"beta2":0.999,"eps":1e-8,"weightDecay":0.0005}',
      'webgpu_mlp.config': '{"lr":0.05,"batchSize":64,"schedule":"cosine"}',
      'webgpu_mlp.training': '{"epoch":3,"step":17,"t":137,"seed":42,"best":null}',
    });
  });

  it('writes a tiny model byte for byte as the safetensors spec lays it out', () => {
    // What safetensors.torch.load_file reads (header by hand; checked against the reference
    // implementation, huggingface/safetensors 0.8.0, when this was written).
    const tiny: ModelSpec = { layers: [2, 2], activation: 'relu', loss: 'ce', dropout: 0 };
    const params = new Float32Array(paramLayout(tiny).totalElements);
    params.set([1, 2, 3, 4], 0); // layers.0.weight [2, 2]
    params.set([5, 6], 64); // layers.0.bias [2], at the next 64-element boundary
    const header =
      '{"__metadata__":{"format":"pt","webgpu_mlp.version":"0.1.0",' +
      '"webgpu_mlp.spec":"{\\"layers\\":[2,2],\\"activation\\":\\"relu\\",\\"loss\\":\\"ce\\",\\"dropout\\":0}"},' +
      '"layers.0.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},' +
      '"layers.0.bias":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}';
    expect(header.length).toBe(291); // + 5 spaces = 296 = 0x128
    const expected = [
      ...[0x28, 0x01, 0, 0, 0, 0, 0, 0],
      ...new TextEncoder().encode(`${header}     `),
      ...[0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40], // 1, 2, 3, 4
      ...[0, 0, 0xa0, 0x40, 0, 0, 0xc0, 0x40], // 5, 6: no padding between tensors
    ];
    expect([...encodeCheckpoint({ spec: tiny, params, version: '0.1.0' })]).toEqual(expected);
  });
});

describe('checkpoint validation', () => {
  const weightsOnly = encodeCheckpoint({ spec, params: flatParams(spec, 'params'), version: '0.1.0' });
  const adam = encodeCheckpoint(resumable('adam'));

  it('needs a valid spec and a version in the metadata', () => {
    expect(decodeError(edited(weightsOnly, (_, m) => delete m['webgpu_mlp.spec']))).toBe(
      'run/best.safetensors: no webgpu_mlp.spec in the metadata: not a webgpu-mlp checkpoint, or written by another tool',
    );
    expect(decodeError(edited(weightsOnly, (_, m) => (m['webgpu_mlp.spec'] = '{"layers":[5,7,3],')))).toMatch(
      /^run\/best\.safetensors: metadata webgpu_mlp\.spec is not valid JSON: /,
    );
    expect(decodeError(edited(weightsOnly, (_, m) => (m['webgpu_mlp.spec'] = '[5,7,3]')))).toBe(
      'run/best.safetensors: metadata webgpu_mlp.spec: expected an object {layers, activation, loss, dropout}, found [5,7,3]',
    );
    expect(
      decodeError(edited(weightsOnly, (_, m) => (m['webgpu_mlp.spec'] = '{"layers":[5,7,3],"activation":"gelu","loss":"mse","dropout":0}'))),
    ).toBe('run/best.safetensors: metadata webgpu_mlp.spec: activation must be one of relu, sigmoid, tanh, found "gelu"');
    expect(decodeError(edited(weightsOnly, (_, m) => (m['webgpu_mlp.spec'] = `{"layers":${'['.repeat(1e5)}${']'.repeat(1e5)}}`)))).toBe(
      'run/best.safetensors: metadata webgpu_mlp.spec: layers must be an array of widths, found [[[[...]]]]',
    );
    expect(decodeError(edited(weightsOnly, (_, m) => delete m['webgpu_mlp.version']))).toBe(
      'run/best.safetensors: no webgpu_mlp.version in the metadata',
    );
  });

  it('needs every tensor of the spec, with its shape, and nothing else', () => {
    expect(decodeError(edited(weightsOnly, (t) => delete t['layers.1.bias']))).toBe(
      'run/best.safetensors: missing tensors layers.1.bias for the spec 5-7-3',
    );
    expect(decodeError(edited(weightsOnly, (t) => (t['layers.1.weight'] = { shape: [3, 6], data: new Float32Array(18) })))).toBe(
      'run/best.safetensors: layers.1.weight: shape [3, 6] in the file, but the spec 5-7-3 needs [3, 7]',
    );
    expect(decodeError(edited(weightsOnly, (t) => (t['layers.0.weight'] = { shape: [5, 7], data: new Float32Array(35) })))).toBe(
      "run/best.safetensors: layers.0.weight: shape [5, 7] in the file, but the spec 5-7-3 needs [7, 5] (transposed? weights are [OUT, IN], as in PyTorch's nn.Linear)",
    );
    expect(decodeError(edited(weightsOnly, (t) => (t['0.weight'] = { shape: [1], data: new Float32Array(1) })))).toBe(
      'run/best.safetensors: unexpected tensors 0.weight (the spec 5-7-3 has 4 parameter tensors)',
    );
  });

  it('needs optimizer tensors exactly when the optimizer metadata is present, and a valid optimizer config', () => {
    expect(decodeError(edited(adam, (_, m) => delete m['webgpu_mlp.optimizer']))).toBe(
      'run/best.safetensors: unexpected tensors optimizer.exp_avg.layers.0.weight, optimizer.exp_avg.layers.1.weight, ' +
        'optimizer.exp_avg.layers.0.bias, optimizer.exp_avg.layers.1.bias, optimizer.exp_avg_sq.layers.0.weight, ' +
        'optimizer.exp_avg_sq.layers.1.weight and 2 more (optimizer state, but no webgpu_mlp.optimizer in the metadata)',
    );
    expect(decodeError(edited(weightsOnly, (_, m) => (m['webgpu_mlp.optimizer'] = JSON.stringify(optimizerConfig('momentum')))))).toBe(
      'run/best.safetensors: missing tensors optimizer.velocity.layers.0.weight, optimizer.velocity.layers.1.weight, ' +
        'optimizer.velocity.layers.0.bias, optimizer.velocity.layers.1.bias, which the webgpu_mlp.optimizer metadata (momentum) calls for',
    );
    expect(decodeError(edited(adam, (_, m) => (m['webgpu_mlp.optimizer'] = JSON.stringify(optimizerConfig('momentum')))))).toMatch(
      /unexpected tensors optimizer\.exp_avg\.layers\.0\.weight, .* \(the momentum optimizer keeps velocity\)$/,
    );
    expect(decodeError(edited(adam, (_, m) => (m['webgpu_mlp.optimizer'] = '{"kind":"lion"}')))).toBe(
      'run/best.safetensors: metadata webgpu_mlp.optimizer: kind must be one of sgd, momentum, nesterov, adagrad, adam, adamw, found "lion"',
    );
    expect(decodeError(edited(adam, (_, m) => (m['webgpu_mlp.optimizer'] = '{"kind":"adam","momentum":0.9,"beta1":"0.9"}')))).toBe(
      'run/best.safetensors: metadata webgpu_mlp.optimizer: beta1 must be a finite number, found "0.9"',
    );
    expect(decodeError(edited(adam, (_, m) => (m['webgpu_mlp.training'] = '{epoch: 3}')))).toMatch(
      /^run\/best\.safetensors: metadata webgpu_mlp\.training is not valid JSON: /,
    );
  });

  it('rejects NaN and Infinity unless asked to accept them', () => {
    const ck = resumable('adam');
    const params = ck.params.slice();
    params[paramLayout(spec).tensors[2].offset + 4] = NaN; // layers.0.bias[4]
    params[paramLayout(spec).tensors[2].offset + 5] = -Infinity;
    const bytes = encodeCheckpoint({ ...ck, params });
    expect(decodeError(bytes)).toBe(
      'run/best.safetensors: layers.0.bias holds 2 non-finite values (the first, NaN, at flat index 4): ' +
        'did training diverge before it was saved? Decode with allowNonFinite to load it anyway',
    );
    expect(decodeCheckpoint(bytes, 'x', { allowNonFinite: true }).params).toEqual(params);

    const state = ck.optimizer!.state.map((s) => s.slice());
    state[1][0] = Infinity;
    expect(decodeError(encodeCheckpoint({ ...ck, optimizer: { ...ck.optimizer!, state } }))).toMatch(
      /optimizer\.exp_avg_sq\.layers\.0\.weight holds 1 non-finite values \(the first, Infinity, at flat index 0\)/,
    );
  });

  it('refuses to encode arrays that do not fit the layout', () => {
    expect(() => encodeCheckpoint({ spec, params: new Float32Array(10), version: 'v' })).toThrow(
      /encodeCheckpoint: params has 10 elements, the layout of 5-7-3 tanh, mse loss, dropout 0\.25 has 256/,
    );
    const ck = resumable('adam');
    expect(() => encodeCheckpoint({ ...ck, optimizer: { ...ck.optimizer!, state: [ck.params] } })).toThrow(
      /optimizer adam keeps 2 state arrays \(exp_avg, exp_avg_sq\), got 1/,
    );
    const badConfig = { ...ck.optimizer!, config: { ...ck.optimizer!.config, eps: NaN } };
    expect(() => encodeCheckpoint({ ...ck, optimizer: badConfig })).toThrow(
      'encodeCheckpoint: metadata webgpu_mlp.optimizer: eps must be a finite number, found null',
    );
  });
});

describe('checkSpecMatches', () => {
  const ck: Checkpoint = { spec, params: flatParams(spec, 'params'), version: '0.1.0' };

  it('accepts the same model, whatever the dropout', () => {
    expect(() => checkSpecMatches(ck, { ...spec, dropout: 0 }, 'best.safetensors')).not.toThrow();
  });

  it('names every difference in layers, activation and loss', () => {
    expect(() => checkSpecMatches(ck, { ...spec, layers: [5, 8, 3] }, 'best.safetensors')).toThrow(
      /^best\.safetensors: the checkpoint's model does not match: layers 5-7-3 in the checkpoint, 5-8-3 expected$/,
    );
    expect(() => checkSpecMatches(ck, { ...spec, activation: 'relu', loss: 'ce' }, 'best.safetensors')).toThrow(
      /activation tanh in the checkpoint, relu expected; loss mse in the checkpoint, ce expected$/,
    );
  });
});

describe('what a model takes and names (webgpu_mlp.data, input.mean, input.std)', () => {
  const data = {
    features: 'f32' as const,
    featureNames: ['a', 'b', 'c', 'd', 'e'],
    labelName: 'kind',
    classNames: ['x', 'y', 'z'],
    standardization: { mean: Float32Array.of(1, -2, 3.5, 0, 1e6), std: Float32Array.of(0.5, 1, 2, 1, 1234.5) },
  };

  it('round-trips, the standardization as F32 tensors PyTorch can read', () => {
    const bytes = encodeCheckpoint({ spec, params: flatParams(spec, 'data'), version: 'test', data });
    const decoded = decodeCheckpoint(bytes, 'with-data');
    expect(decoded.data).toEqual(data);
    const { tensors, metadata } = decodeSafetensors(bytes, 'raw');
    expect(tensors.get('input.std')!.shape).toEqual([5]);
    expect(JSON.parse(metadata['webgpu_mlp.data'])).toEqual({ features: 'f32', feature_names: data.featureNames, label: 'kind', classes: data.classNames, standardized: true });
  });

  it('without a standardization: no input tensors', () => {
    const { standardization: _s, ...plain } = data;
    const bytes = encodeCheckpoint({ spec, params: flatParams(spec, 'plain'), version: 'test', data: plain });
    expect(decodeSafetensors(bytes, 'raw').tensors.has('input.mean')).toBe(false);
    expect(decodeCheckpoint(bytes, 'plain').data).toEqual(plain);
  });

  it('refuses names that do not fit the model, a bad standardization, and missing tensors', () => {
    const encode = (d: object) => encodeCheckpoint({ spec, params: flatParams(spec, 'bad'), version: 'test', data: d as Checkpoint['data'] });
    expect(() => encode({ ...data, classNames: ['x', 'y'] })).toThrow(/data classes must be 3 strings \(one per class\)/);
    expect(() => encode({ ...data, featureNames: ['a'] })).toThrow(/data feature_names must be 5 strings \(one per input\)/);
    expect(() => encode({ ...data, standardization: { mean: data.standardization.mean, std: new Float32Array(5) } })).toThrow(/std\[0\] is 0; every std must be finite and > 0/);
    const bytes = encodeCheckpoint({ spec, params: flatParams(spec, 'missing'), version: 'test', data });
    const { tensors, metadata } = decodeSafetensors(bytes, 'raw');
    const kept: Record<string, TensorInput> = {};
    for (const [name, tensor] of tensors) if (name !== 'input.std') kept[name] = tensor;
    expect(() => decodeCheckpoint(encodeSafetensors(kept, metadata), 'torn.safetensors')).toThrow(
      'torn.safetensors: missing tensors input.std, which the webgpu_mlp.data metadata ("standardized": true) calls for',
    );
  });
});
