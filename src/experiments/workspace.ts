// What many training runs in one process share: one WebGPU device, one kernel cache (each pipeline
// compiled once for every run that needs it), and one GpuSession per data split (its images
// uploaded once). A search or a study opens a workspace, hands it to every run, and closes it at
// the end; `train` opens one for its single run.
import { openGpu, type GpuContext } from '../gpu/device.ts';
import { KernelCache } from '../gpu/program.ts';
import { GpuSession, type SessionData } from '../train/gpu-engine.ts';

export class GpuWorkspace {
  readonly cache: KernelCache;
  /** Keyed by the data object: callers reuse one object per split to reuse its upload. */
  private readonly sessions = new Map<SessionData, GpuSession>();
  private uploads = 0;

  private constructor(readonly gpu: GpuContext) {
    this.cache = new KernelCache(gpu.device);
  }

  static async open(): Promise<GpuWorkspace> {
    return new GpuWorkspace(await openGpu());
  }

  /** The session holding `data` on the device, uploading it the first time it is asked for. */
  session(data: SessionData): GpuSession {
    let session = this.sessions.get(data);
    if (!session) {
      session = new GpuSession(this.gpu, data, this.cache);
      this.sessions.set(data, session);
      this.uploads += 1;
    }
    return session;
  }

  /** Frees the device copy of a split no run will use again. */
  release(data: SessionData): void {
    this.sessions.get(data)?.destroy();
    this.sessions.delete(data);
  }

  /** What was shared so far, for the closing line of a search or study. */
  get stats(): { pipelines: number; uploads: number; dataBytes: number } {
    let dataBytes = 0;
    for (const session of this.sessions.values()) dataBytes += session.dataBytes;
    return { pipelines: this.cache.size, uploads: this.uploads, dataBytes };
  }

  close(): void {
    for (const session of this.sessions.values()) session.destroy();
    this.sessions.clear();
    this.gpu.close();
  }
}
