// The public GPU handle: a WebGPU device (from Dawn in Node, navigator.gpu in a browser, or one the
// application already holds), the pipelines compiled on it, and the datasets uploaded to it. Models
// made on one Gpu share all three; close() frees everything that was made on it. After a device
// loss, recover() puts a new device behind the same handle (fits do it themselves).
import type { Dataset } from '../data/dataset.ts';
import { adapterName, openGpu as openContext, wrapDevice, type AdapterReport } from '../gpu/device.ts';
import { GpuWorkspace } from '../train/workspace.ts';

/** How {@link openGpu} finds its device. */
export interface OpenGpuOptions {
  /**
   * A device the application already holds: models are made on it, and close() leaves it alive.
   * Without it, an adapter is requested from `navigator.gpu` (browsers, Deno) or Dawn (Node).
   */
  readonly device?: GPUDevice;
  /** Passed to requestAdapter() (default 'high-performance'). */
  readonly powerPreference?: GPUPowerPreference;
}

const workspaces = new WeakMap<Gpu, GpuWorkspace>();

/** The workspace behind a Gpu, for the modules that build on it (not part of the public surface). */
export function workspaceOf(gpu: Gpu): GpuWorkspace {
  const workspace = workspaces.get(gpu);
  if (!workspace) throw new TypeError('expected a Gpu from openGpu()');
  return workspace;
}

/** A WebGPU device with its compiled pipelines and uploaded datasets. Make one with {@link openGpu}. */
export class Gpu {
  /** @internal Use {@link openGpu}. */
  constructor(workspace: unknown) {
    workspaces.set(this, workspace as GpuWorkspace);
  }

  /** What the adapter says about itself; `kind` is 'cpu' for software adapters (lavapipe, SwiftShader). */
  get adapter(): AdapterReport {
    return workspaceOf(this).gpu.report;
  }

  /** A one-line description of the adapter: "mesa / software / llvmpipe (node, software)". */
  get name(): string {
    return adapterName(this.adapter);
  }

  /** The WebGPU device (a new one after {@link Gpu.recover}). */
  get device(): GPUDevice {
    return workspaceOf(this).gpu.device;
  }

  /**
   * Resolves with the reason if the current device is lost (a driver reset, the GPU process
   * crashing); not on close(). After {@link Gpu.recover}, ask again: this is the new device's.
   */
  get lost(): Promise<string> {
    return workspaceOf(this).gpu.lost;
  }

  /** True once the current device is lost or closed. */
  get isLost(): boolean {
    return workspaceOf(this).gpu.isLost;
  }

  /**
   * Whether {@link Gpu.recover} can replace a lost device: true for a device openGpu opened, false
   * for one the application gave (`openGpu({ device })`: its to replace) and after close().
   */
  get recoverable(): boolean {
    return workspaceOf(this).canRecover;
  }

  /** How many lost devices were replaced so far, and why each was lost (the driver's reason). */
  get recoveries(): readonly string[] {
    return workspaceOf(this).recoveries;
  }

  /**
   * After a device loss: opens a new device behind this handle (a no-op while the device is not
   * lost). Pipelines are compiled again and datasets uploaded again as they are used; each model
   * rebuilds its buffers from its host copy of the weights on its next call. `fit` does this
   * itself (its `recover` option); call it before using models after a loss seen
   * elsewhere. Throws an MlpError 'DEVICE_LOST' for the application's device, or when no new device opens.
   */
  async recover(): Promise<void> {
    const workspace = workspaceOf(this);
    if (!workspace.gpu.isLost) return;
    await workspace.recover();
  }

  /**
   * Copies `dataset` to the device now (fit, evaluate and predict do it on first use). The copy stays
   * until {@link Gpu.release} or {@link Gpu.close}: a dataset is uploaded once however often it is used.
   */
  upload(dataset: Dataset): void {
    workspaceOf(this).upload(dataset);
  }

  /** Frees the device copy of `dataset` (a later use uploads it again). */
  release(dataset: Dataset): void {
    workspaceOf(this).release(dataset);
  }

  /** Device memory held by uploaded datasets, and pipelines compiled so far. */
  get stats(): { readonly datasetBytes: number; readonly pipelines: number; readonly uploads: number } {
    const { dataBytes, pipelines, uploads } = workspaceOf(this).stats;
    return { datasetBytes: dataBytes, pipelines, uploads };
  }

  /** Frees every dataset copy and, unless the device was the application's, destroys the device. */
  close(): void {
    workspaceOf(this).close();
  }
}

/**
 * Opens a GPU: the application's own device when `options.device` is given, else the best adapter
 * of `navigator.gpu` (browsers) or of Dawn (Node, through the `webgpu` package). Throws an
 * MlpError with code 'NO_ADAPTER', whose message says how to get one, when there is none.
 */
export async function openGpu(options: OpenGpuOptions = {}): Promise<Gpu> {
  if (options.device) return new Gpu(new GpuWorkspace(wrapDevice(options.device)));
  const open = () => openContext({ powerPreference: options.powerPreference });
  return new Gpu(new GpuWorkspace(await open(), open));
}
