// What every model on one device shares: the WebGPU device, one kernel cache (each pipeline compiled
// once for every model and run that needs it) and the GPU copy of each dataset (uploaded the first
// time a model trains or evaluates on it, then kept until released or the workspace closes). The
// public Gpu handle (src/api/gpu.ts) wraps one.
//
// Device loss: a workspace whose device we opened can open another (recover()): a new GpuContext and
// KernelCache behind the same handle, the dataset copies dropped (each uploaded again on its next
// use), and the generation counted up, so that every model on it knows its buffers are gone and
// rebuilds them from its host copies (src/train/backend.ts). A device the application gave us is
// the application's: we cannot open another, and say so.
import { BufferArena } from '../gpu/arena.ts';
import { openGpu, type GpuContext, type OpenGpuOptions } from '../gpu/device.ts';
import { KernelCache } from '../gpu/program.ts';
import type { Dataset } from '../data/dataset.ts';
import { MlpError } from '../errors.ts';
import { uploadDataset, type GpuDataset } from './gpu-data.ts';
import { GpuSession, type SessionData } from './gpu-engine.ts';

interface Upload {
  readonly arena: BufferArena;
  readonly data: GpuDataset;
}

/** How long to wait for device.lost to settle after a failed GPU call before judging it no loss. */
const LOSS_SETTLE_MS = 250;

/** Opens a replacement device after a loss (absent: the device is the application's). */
export type Reopen = () => Promise<GpuContext>;

export class GpuWorkspace {
  private context: GpuContext;
  private kernels: KernelCache;
  private readonly uploads = new Map<Dataset, Upload>();
  private uploadCount = 0;
  private closed = false;
  /** Counts devices: 0 for the first, +1 at each recovery. Buffers made on an older one are gone. */
  private gen = 0;
  private recovering: Promise<void> | undefined;
  /** Why each replaced device was lost, oldest first. */
  private readonly losses: string[] = [];

  constructor(
    gpu: GpuContext,
    private readonly reopen?: Reopen,
  ) {
    this.context = gpu;
    this.kernels = new KernelCache(gpu.device);
  }

  static async open(options?: OpenGpuOptions): Promise<GpuWorkspace> {
    return new GpuWorkspace(await openGpu(options), () => openGpu(options));
  }

  /** The current device. */
  get gpu(): GpuContext {
    return this.context;
  }

  /** The current device's kernel cache. */
  get cache(): KernelCache {
    return this.kernels;
  }

  /** Which device this is: 0 the first, then one more per recovery. */
  get generation(): number {
    return this.gen;
  }

  /** Whether recover() can open a new device (false for the application's device, or once closed). */
  get canRecover(): boolean {
    return this.reopen !== undefined && !this.closed;
  }

  /** Why device `generation` was lost, if it was (the current one: once device.lost has settled). */
  lostReason(generation: number): string | undefined {
    return generation === this.gen ? this.context.lostMessage : this.losses[generation];
  }

  /** Devices replaced so far, and why each was lost. */
  get recoveries(): readonly string[] {
    return this.losses;
  }

  /** The device copy of `set`, uploading it the first time it is asked for. */
  upload(set: Dataset): GpuDataset {
    this.checkOpen();
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
    this.checkOpen();
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

  /**
   * Whether `error`, thrown by GPU work on device `generation`, means that device is lost: a
   * DEVICE_LOST error, a device already replaced or known lost, or a failure followed within a
   * moment by device.lost (Dawn and browsers settle it around the call that failed). Never true
   * once closed: a closed workspace is not lost, it is gone.
   */
  async isLoss(error: unknown, generation: number): Promise<boolean> {
    if (this.closed) return false;
    if (generation !== this.gen) return true;
    if ((error instanceof MlpError && error.code === 'DEVICE_LOST') || this.context.lostMessage !== undefined) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), LOSS_SETTLE_MS)));
    const lost = await Promise.race([this.context.lost.then(() => true), settled]);
    clearTimeout(timer);
    return lost;
  }

  /**
   * After the device of `generation` was lost: opens a new device (once, however many models ask;
   * a no-op when it was replaced already). Throws DEVICE_LOST when it cannot: the device was the
   * application's, the workspace was closed, or no new device opens.
   */
  async recover(generation = this.gen): Promise<void> {
    if (generation !== this.gen) return this.recovering;
    if (this.recovering) return this.recovering;
    const reason = this.context.lostMessage ?? 'GPU device lost';
    if (this.closed) throw new MlpError('STATE', 'this Gpu was closed');
    if (!this.reopen) {
      throw new MlpError(
        'DEVICE_LOST',
        `${reason.replace(/\.$/, '')}. The device was the application's (openGpu({ device })), so webgpu-mlp cannot open another: ` +
          'open a new Gpu on a new device and continue from a checkpoint (save({ resumable: true }) or onCheckpoint)',
      );
    }
    const reopen = this.reopen;
    this.recovering = (async () => {
      for (const upload of this.uploads.values()) upload.arena.destroy();
      this.uploads.clear();
      let context: GpuContext;
      try {
        context = await reopen();
      } catch (error) {
        throw new MlpError('DEVICE_LOST', `${reason}; no new device could be opened: ${(error as Error).message}`, { cause: error });
      }
      if (this.closed) {
        context.close();
        throw new MlpError('STATE', 'this Gpu was closed');
      }
      this.context.close(); // the lost device: releases what is left of it
      this.context = context;
      this.kernels = new KernelCache(context.device);
      this.losses.push(reason);
      this.gen += 1;
    })();
    try {
      await this.recovering;
    } finally {
      this.recovering = undefined;
    }
  }

  close(): void {
    this.closed = true;
    for (const upload of this.uploads.values()) upload.arena.destroy();
    this.uploads.clear();
    this.gpu.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new MlpError('STATE', 'this Gpu was closed');
  }
}
