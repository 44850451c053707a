// Parameters, gradients and optimizer state on the GPU, each one flat buffer in the tensor table's
// layout (src/model/tensors.ts): a tensor is a view at its offset, and one optimizer dispatch covers all.
// A model that only infers (evaluation, prediction) holds the parameters alone.
import { elementView, type BufferArena } from '../gpu/arena.ts';
import { readFloat32 } from '../gpu/buffers.ts';
import { checkStorageBinding } from '../gpu/limits.ts';
import { optimizerStateNames, type OptimizerKind } from '../model/optimizer.ts';
import { paramLayout, type ParamLayout, type ParamTensor } from '../model/tensors.ts';
import type { ModelSpec } from '../model/spec.ts';

export class GpuParameters {
  readonly layout: ParamLayout;
  /** f32 [totalElements] */
  readonly params: GPUBuffer;
  private readonly gradBuffer: GPUBuffer | undefined;
  /** One f32 [totalElements] buffer per optimizer state array (velocity; or exp_avg, exp_avg_sq). */
  readonly state: GPUBuffer[];
  /** f32 [2, IN]: the input affine the gather applies to f32 features, mean then scale (the model's standardization). */
  readonly inputAffine: GPUBuffer;

  /**
   * `optimizerKind` null: parameters only (no gradients, no optimizer state), for inference.
   * `params`: a parameter buffer to adopt (a model's; not freed with this arena), else a new one.
   * `inputAffine`: the model's input affine buffer to adopt, else a new one holding the identity.
   */
  constructor(
    private readonly arena: BufferArena,
    readonly spec: ModelSpec,
    readonly optimizerKind: OptimizerKind | null,
    params?: GPUBuffer,
    inputAffine?: GPUBuffer,
  ) {
    this.layout = paramLayout(spec);
    const bytes = this.layout.totalElements * 4;
    // Parameters, gradients and optimizer state are each one buffer that the optimizer binds whole.
    const what = `the parameters of model ${spec.layers.join('-')} (${this.layout.parameterCount.toLocaleString('en-US')} f32)`;
    checkStorageBinding(arena.device, what, bytes, 'use narrower or fewer layers');
    if (params && params.size < bytes) throw new RangeError(`a parameter buffer of ${params.size} bytes for ${bytes} bytes of parameters`);
    this.params = params ?? arena.tensor('params', bytes);
    this.gradBuffer = optimizerKind ? arena.tensor('grads', bytes) : undefined;
    this.state = optimizerKind ? optimizerStateNames(optimizerKind).map((name) => arena.tensor(`optimizer ${name}`, bytes)) : [];
    const IN = spec.layers[0];
    this.inputAffine = inputAffine ?? arena.tensorWithData('input affine', Float32Array.from({ length: 2 * IN }, (_, i) => (i < IN ? 0 : 1)));
  }

  /** Sets the input affine: x' = (x − mean) · scale per feature, for f32 features. */
  writeInputAffine(mean: Float32Array, scale: Float32Array): void {
    const IN = this.spec.layers[0];
    if (mean.length !== IN || scale.length !== IN) throw new RangeError(`input affine: ${mean.length} and ${scale.length} values, expected ${IN} each`);
    const values = new Float32Array(2 * IN);
    values.set(mean);
    values.set(scale, IN);
    this.arena.device.queue.writeBuffer(this.inputAffine, 0, values);
  }

  /** f32 [totalElements] */
  get grads(): GPUBuffer {
    if (!this.gradBuffer) throw new Error('these parameters are for inference only: they have no gradient buffer');
    return this.gradBuffer;
  }

  private write(buffer: GPUBuffer, values: Float32Array, what: string): void {
    if (values.length !== this.layout.totalElements) {
      throw new RangeError(`${what}: ${values.length} values, expected ${this.layout.totalElements} (the tensor table's layout)`);
    }
    this.arena.device.queue.writeBuffer(buffer, 0, values);
  }

  writeParams(values: Float32Array): void {
    this.write(this.params, values, 'parameters');
  }

  writeState(values: readonly Float32Array[]): void {
    if (values.length !== this.state.length) {
      throw new RangeError(`optimizer state: ${values.length} arrays, ${this.optimizerKind} keeps ${this.state.length}`);
    }
    values.forEach((array, i) => this.write(this.state[i], array, `optimizer state ${i}`));
  }

  readParams(): Promise<Float32Array> {
    return readFloat32(this.arena.device, this.params);
  }

  readState(): Promise<Float32Array[]> {
    return Promise.all(this.state.map((buffer) => readFloat32(this.arena.device, buffer)));
  }

  paramView(tensor: ParamTensor): GPUBufferBinding {
    return elementView(this.params, tensor.offset, tensor.size);
  }

  gradView(tensor: ParamTensor): GPUBufferBinding {
    return elementView(this.grads, tensor.offset, tensor.size);
  }
}
