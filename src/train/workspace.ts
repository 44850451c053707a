// What every model on one device shares: the WebGPU device, one kernel cache (each pipeline compiled
// once for every model and run that needs it) and the GPU copy of each dataset (uploaded the first
// time a model trains or evaluates on it, then kept until released or the workspace closes). The
// public Gpu handle (src/api/gpu.ts) wraps one.
import { BufferArena } from '../gpu/arena.ts';
import { openGpu, type GpuContext, type OpenGpuOptions } from '../gpu/device.ts';
import { KernelCache } from '../gpu/program.ts';
import type { Dataset } from '../data/dataset.ts';
import { uploadDataset, type GpuDataset } from './gpu-data.ts';
import { GpuSession, type SessionData } from './gpu-engine.ts';

interface Upload {
  readonly arena: BufferArena;
  readonly data: GpuDataset;
}

export class GpuWorkspace {
  readonly cache: KernelCache;
  private readonly uploads = new Map<Dataset, Upload>();
  private uploadCount = 0;

  constructor(readonly gpu: GpuContext) {
    this.cache = new KernelCache(gpu.device);
  }

  static async open(options?: OpenGpuOptions): Promise<GpuWorkspace> {
    return new GpuWorkspace(await openGpu(options));
  }

  /** The device copy of `set`, uploading it the first time it is asked for. */
  upload(set: Dataset): GpuDataset {
    let upload = this.uploads.get(set);
    if (!upload) {
      const arena = new BufferArena(this.gpu.device);
      try {
        upload = { arena, data: uploadDataset(arena, set) };
      } catch (error) {
        arena.destroy();
        throw error;
      }
      this.uploads.set(set, upload);
      this.uploadCount += 1;
    }
    return upload.data;
  }

  /** An engine's datasets on this device, sharing the uploads and the kernel cache. */
  session(data: SessionData): GpuSession {
    return new GpuSession(this.gpu, data, this.cache, (set) => this.upload(set));
  }

  /** Frees the device copy of `set` (a later use uploads it again). */
  release(set: Dataset): void {
    this.uploads.get(set)?.arena.destroy();
    this.uploads.delete(set);
  }

  /** Whether `set` is on the device now. */
  holds(set: Dataset): boolean {
    return this.uploads.has(set);
  }

  /** Bytes of dataset copies on the device. */
  get dataBytes(): number {
    let bytes = 0;
    for (const upload of this.uploads.values()) bytes += upload.arena.bytes;
    return bytes;
  }

  /** What was shared so far, for the closing line of a search or study. */
  get stats(): { pipelines: number; uploads: number; dataBytes: number } {
    return { pipelines: this.cache.size, uploads: this.uploadCount, dataBytes: this.dataBytes };
  }

  close(): void {
    for (const upload of this.uploads.values()) upload.arena.destroy();
    this.uploads.clear();
    this.gpu.close();
  }
}
