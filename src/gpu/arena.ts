// Owns the buffers a plan (or a test) creates, so they are freed together and their total size
// can be reported (GPU memory must not grow over a long run).
import { createBufferWithData, createTensorBuffer, createUniformBuffer } from './buffers.ts';
import { checkStorageBinding } from './limits.ts';

export class BufferArena {
  private readonly buffers: GPUBuffer[] = [];
  private total = 0;

  constructor(readonly device: GPUDevice) {}

  private track(buffer: GPUBuffer): GPUBuffer {
    this.buffers.push(buffer);
    this.total += buffer.size;
    return buffer;
  }

  /** A zero-initialised storage buffer of `bytes` bytes (refused beyond the adapter's binding limit). */
  tensor(label: string, bytes: number): GPUBuffer {
    checkStorageBinding(this.device, label, bytes);
    return this.track(createTensorBuffer(this.device, label, bytes));
  }

  /** A storage buffer holding a copy of `data` (refused beyond the adapter's binding limit). */
  tensorWithData(label: string, data: ArrayBufferView): GPUBuffer {
    checkStorageBinding(this.device, label, data.byteLength);
    return this.track(createBufferWithData(this.device, label, data));
  }

  /** A uniform buffer fixed at creation (shapes, hyperparameters). */
  uniform(label: string, data: ArrayBufferView): GPUBuffer {
    return this.track(createUniformBuffer(this.device, label, data));
  }

  /** Adopts a buffer created elsewhere (e.g. a StepParamsRing's). */
  adopt(buffer: GPUBuffer): GPUBuffer {
    return this.track(buffer);
  }

  /** Bytes of GPU memory held by this arena. */
  get bytes(): number {
    return this.total;
  }

  destroy(): void {
    for (const buffer of this.buffers) buffer.destroy();
    this.buffers.length = 0;
    this.total = 0;
  }
}

/** A binding of `count` f32 (or u32) elements at element `offset` of `buffer`. */
export function elementView(buffer: GPUBuffer, offset: number, count: number): GPUBufferBinding {
  return { buffer, offset: offset * 4, size: Math.max(count, 1) * 4 };
}

/**
 * Packs a uniform struct of 4-byte scalars. `fields` lists [kind, value] in declaration order;
 * the result is padded to 16 bytes as WGSL's uniform layout requires.
 */
export function packUniform(fields: ReadonlyArray<readonly ['u32' | 'f32' | 'i32', number]>): Uint8Array {
  const buffer = new ArrayBuffer(Math.ceil(Math.max(fields.length, 1) / 4) * 16);
  const view = new DataView(buffer);
  fields.forEach(([kind, value], i) => {
    if (kind === 'f32') view.setFloat32(i * 4, value, true);
    else if (kind === 'i32') view.setInt32(i * 4, value, true);
    else view.setUint32(i * 4, value, true);
  });
  return new Uint8Array(buffer);
}
