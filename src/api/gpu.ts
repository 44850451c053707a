// The public GPU handle: a WebGPU device (from Dawn in Node, navigator.gpu in a browser, or one the
// application already holds), the pipelines compiled on it, and the datasets uploaded to it. Models
// made on one Gpu share all three; close() frees everything that was made on it.
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
  /** What the adapter says about itself; `kind` is 'cpu' for software adapters (lavapipe, SwiftShader). */
  readonly adapter: AdapterReport;

  /** @internal Use {@link openGpu}. */
  constructor(workspace: unknown) {
    const ws = workspace as GpuWorkspace;
    workspaces.set(this, ws);
    this.adapter = ws.gpu.report;
  }

  /** A one-line description of the adapter: "mesa / software / llvmpipe (node, software)". */
  get name(): string {
    return adapterName(this.adapter);
  }

  /** The WebGPU device. */
  get device(): GPUDevice {
    return workspaceOf(this).gpu.device;
  }

  /** Resolves with the reason if the device is lost (a driver reset, the GPU process crashing); not on close(). */
  get lost(): Promise<string> {
    return workspaceOf(this).gpu.lost;
  }

  /** True once the device is lost or closed. */
  get isLost(): boolean {
    return workspaceOf(this).gpu.isLost;
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
  const context = options.device ? wrapDevice(options.device) : await openContext({ powerPreference: options.powerPreference });
  return new Gpu(new GpuWorkspace(context));
}
