// Allocation, upload and readback: the only buffer plumbing above the device.

// Usage flags are read at call time: in Node the GPUBufferUsage global exists only once
// device.ts has loaded Dawn.
/** A tensor kernels read and write, that we may upload to and read back. */
export const tensorUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
const uniformUsage = () => GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;

/** Buffer sizes must be multiples of 4 and non-zero. */
export function paddedSize(bytes: number): number {
  return Math.max(4, Math.ceil(bytes / 4) * 4);
}

export function createTensorBuffer(device: GPUDevice, label: string, bytes: number): GPUBuffer {
  return device.createBuffer({ label, size: paddedSize(bytes), usage: tensorUsage() });
}

/** Creates a buffer holding `data` (copied in at creation: no queue write, no staging). */
export function createBufferWithData(
  device: GPUDevice,
  label: string,
  data: ArrayBufferView,
  usage: GPUBufferUsageFlags = tensorUsage(),
): GPUBuffer {
  const buffer = device.createBuffer({ label, size: paddedSize(data.byteLength), usage, mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  buffer.unmap();
  return buffer;
}

export function createUniformBuffer(device: GPUDevice, label: string, data: ArrayBufferView): GPUBuffer {
  return createBufferWithData(device, label, data, uniformUsage());
}

/**
 * Reads back a range of a buffer through a staging buffer it keeps, so repeated reads (progress
 * metrics a few times per epoch) allocate nothing. One read at a time per Readback.
 */
export class Readback {
  private staging: GPUBuffer | undefined;

  constructor(
    private readonly device: GPUDevice,
    readonly label: string,
  ) {}

  async read(source: GPUBuffer, offset = 0, size = source.size - offset): Promise<ArrayBuffer> {
    const bytes = paddedSize(size);
    if (!this.staging || this.staging.size < bytes) {
      this.staging?.destroy();
      this.staging = this.device.createBuffer({
        label: `${this.label} (staging)`,
        size: bytes,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
    }
    const encoder = this.device.createCommandEncoder({ label: `${this.label} (readback)` });
    encoder.copyBufferToBuffer(source, offset, this.staging, 0, bytes);
    this.device.queue.submit([encoder.finish()]);
    await this.staging.mapAsync(GPUMapMode.READ, 0, bytes);
    const copy = this.staging.getMappedRange(0, bytes).slice(0, size);
    this.staging.unmap();
    return copy;
  }

  destroy(): void {
    this.staging?.destroy();
    this.staging = undefined;
  }
}

/** One-off readback (tests, checkpoints): allocates a staging buffer and frees it. */
export async function readBuffer(device: GPUDevice, source: GPUBuffer, offset = 0, size?: number): Promise<ArrayBuffer> {
  const readback = new Readback(device, source.label || 'buffer');
  try {
    return await readback.read(source, offset, size);
  } finally {
    readback.destroy();
  }
}

export async function readFloat32(device: GPUDevice, source: GPUBuffer, offset = 0, count?: number): Promise<Float32Array> {
  return new Float32Array(await readBuffer(device, source, offset, count === undefined ? undefined : count * 4));
}

export async function readUint32(device: GPUDevice, source: GPUBuffer, offset = 0, count?: number): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(device, source, offset, count === undefined ? undefined : count * 4));
}
