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

/** A range of a buffer to read back: offset and size multiples of 4 bytes (size 0: nothing). */
export interface ReadRange {
  readonly source: GPUBuffer;
  readonly offset?: number;
  /** Bytes; the rest of the buffer if absent. */
  readonly size?: number;
}

/**
 * Reads back ranges of buffers through a staging buffer it keeps, so repeated reads (progress
 * metrics a few times per epoch) allocate nothing. One read at a time per Readback: a new request
 * abandons one not taken yet.
 */
export class Readback {
  private staging: GPUBuffer | undefined;
  /** A request whose result has not been taken yet: its copies sit in the staging buffer. */
  private outstanding = false;

  constructor(
    private readonly device: GPUDevice,
    readonly label: string,
  ) {}

  async read(source: GPUBuffer, offset = 0, size = source.size - offset): Promise<ArrayBuffer> {
    const [bytes] = await this.request([{ source, offset, size }])();
    return bytes;
  }

  /**
   * Copies `ranges` into the staging buffer now, queued behind the work submitted so far, and returns
   * the function that maps it and gives each range back. Nothing waits until that function is called
   * (a pending map makes Dawn poll in Node), so work submitted in between keeps the device busy
   * meanwhile: the copies do not wait for it.
   */
  request(ranges: readonly ReadRange[]): () => Promise<ArrayBuffer[]> {
    // A request never taken (its caller gave up on it): its staging buffer goes, and with it that result.
    if (this.outstanding) this.destroy();
    const parts = ranges.map(({ source, offset = 0, size = source.size - offset }) => ({ source, offset, size }));
    // Each range at an 8-byte multiple of the staging buffer (mapAsync's alignment for its offset).
    const at: number[] = [];
    let total = 0;
    for (const part of parts) {
      at.push(total);
      total += Math.ceil(paddedSize(part.size) / 8) * 8;
    }
    if (!this.staging || this.staging.size < total) {
      this.staging?.destroy();
      this.staging = this.device.createBuffer({
        label: `${this.label} (staging)`,
        size: total,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
    }
    const staging = this.staging;
    const encoder = this.device.createCommandEncoder({ label: `${this.label} (readback)` });
    parts.forEach((part, i) => {
      if (part.size > 0) encoder.copyBufferToBuffer(part.source, part.offset, staging, at[i], paddedSize(part.size));
    });
    this.device.queue.submit([encoder.finish()]);
    this.outstanding = true;
    return async () => {
      try {
        await staging.mapAsync(GPUMapMode.READ, 0, total);
        const mapped = staging.getMappedRange(0, total);
        const result = parts.map((part, i) => mapped.slice(at[i], at[i] + part.size));
        staging.unmap();
        return result;
      } finally {
        if (this.staging === staging) this.outstanding = false;
      }
    };
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
