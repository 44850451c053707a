// The one file that knows whether we run in Node (Dawn through the `webgpu` package) or in a
// browser (`navigator.gpu`). Everything else talks to the GPUDevice this returns.
import { MlpError } from '../errors.ts';

/** What the adapter told us, in a form that prints and serialises (run summaries, `info`, benches). */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** 'cpu' for software rasterisers (lavapipe, SwiftShader, WARP), else 'gpu'. Picks kernel variants. */
  kind: 'cpu' | 'gpu';
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
  /** 'node' (Dawn) or 'browser'. */
  runtime: 'node' | 'browser';
}

export interface GpuContext {
  device: GPUDevice;
  /** Absent for a device the application gave us (wrapDevice). */
  adapter: GPUAdapter | undefined;
  report: AdapterReport;
  /** True once the device is lost (destroyed or removed); `lostMessage` says why. */
  readonly isLost: boolean;
  readonly lostMessage: string | undefined;
  /** Resolves when the device is lost for any reason other than our own `close()`. */
  lost: Promise<string>;
  /**
   * Whether awaiting GPU work busy-waits on the main thread (Dawn in Node polls in a setImmediate
   * loop), so waits should sleep first (src/gpu/idle-wait.ts). Browsers wait without spinning.
   */
  readonly busyWaits: boolean;
  close(): void;
}

export interface OpenGpuOptions {
  powerPreference?: GPUPowerPreference;
  /** Extra Dawn instance flags (Node only), e.g. `enable-dawn-features=...`. */
  dawnFlags?: string[];
}

/** The help text every "no adapter" failure carries: tests, CLI and benches all print it. */
export const NO_ADAPTER_HELP = [
  'No WebGPU adapter was found.',
  'On Linux without a GPU, install Mesa\'s software Vulkan driver (lavapipe) from bookworm-backports:',
  '  sudo npm run setup:system        (or: sudo bash scripts/setup-system.sh)',
  'On a machine with a GPU, install its Vulkan driver and the Vulkan loader (libvulkan1).',
  'In Chrome, WebGPU needs a secure context (https or localhost); on a CPU-only machine start it',
  'with --enable-unsafe-webgpu.',
].join('\n');

export class NoAdapterError extends MlpError {
  constructor(detail?: string) {
    super('NO_ADAPTER', detail ? `${NO_ADAPTER_HELP}\n(${detail})` : NO_ADAPTER_HELP);
    this.name = 'NoAdapterError';
  }
}

// Dawn's instance must outlive every device made from it: if it is garbage-collected while a
// device lives, Node aborts at random inside Dawn's event processing. Hence a module-level slot.
let dawnInstance: GPU | undefined;
let dawnInstanceFlags = '';

async function getGpu(dawnFlags: string[]): Promise<{ gpu: GPU; runtime: 'node' | 'browser' }> {
  if (typeof navigator !== 'undefined' && 'gpu' in navigator && navigator.gpu) {
    return { gpu: navigator.gpu, runtime: 'browser' };
  }
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new NoAdapterError('this browser does not expose navigator.gpu');
  }
  const key = dawnFlags.join(' ');
  if (!dawnInstance || key !== dawnInstanceFlags) {
    // A variable specifier keeps browser bundlers from trying to bundle the native module.
    const moduleName = 'webgpu';
    const dawn = (await import(/* @vite-ignore */ moduleName)) as {
      create(flags: string[]): GPU;
      globals: Record<string, unknown>;
    };
    Object.assign(globalThis, dawn.globals);
    // Dawn's Vulkan loader warns without it; any writable directory will do (no node:os import,
    // which browser bundlers would trip over).
    process.env.XDG_RUNTIME_DIR ??= process.env.TMPDIR ?? '/tmp';
    // Mesa's lavapipe (a software adapter) splits each dispatch among LP_NUM_THREADS workers, one per
    // core by default. Twice that balances better when a core is busy elsewhere (our own main
    // thread, for one): plain-SGD epochs of 784-256-128-10 took 2.22-2.32 s with 4-8 workers on 2
    // cores against 2.27-2.86 s with 2 (bench/RESULTS.md). Read when the Vulkan instance is made;
    // other drivers ignore it; a value the user set is kept.
    const os = (await import(/* @vite-ignore */ 'node:' + 'os')) as { availableParallelism?: () => number; cpus: () => unknown[] };
    process.env.LP_NUM_THREADS ??= String(2 * (os.availableParallelism?.() ?? os.cpus().length));
    dawnInstance = dawn.create(dawnFlags);
    dawnInstanceFlags = key;
  }
  return { gpu: dawnInstance, runtime: 'node' };
}

const SOFTWARE_ARCHITECTURES = ['software', 'swiftshader', 'llvmpipe', 'lavapipe', 'warp'];

/** Numbers of a GPUSupportedLimits (its fields are prototype getters, so walk the prototype). */
function limitsOf(supported: GPUSupportedLimits): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const key in supported) {
    const value = (supported as unknown as Record<string, unknown>)[key];
    if (typeof value === 'number') limits[key] = value;
  }
  return limits;
}

function describe(info: GPUAdapterInfo | undefined, features: GPUSupportedFeatures, limits: GPUSupportedLimits, runtime: 'node' | 'browser'): AdapterReport {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const text = `${architecture} ${device} ${description}`.toLowerCase();
  const isFallbackAdapter = Boolean((info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter);
  const software = isFallbackAdapter || SOFTWARE_ARCHITECTURES.some((name) => text.includes(name));
  return {
    vendor,
    architecture,
    device,
    description,
    kind: software ? 'cpu' : 'gpu',
    isFallbackAdapter,
    features: [...features].sort(),
    limits: limitsOf(limits),
    runtime,
  };
}

function currentRuntime(): 'node' | 'browser' {
  return typeof process !== 'undefined' && Boolean(process.versions?.node) && !(typeof navigator !== 'undefined' && 'gpu' in navigator) ? 'node' : 'browser';
}

/** Limits we raise to the adapter's maximum: big datasets and wide layers need them. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
] as const;

// 'subgroups' lets the matmul kernels share loaded values across SIMD lanes (a large win on lavapipe).
const OPTIONAL_FEATURES: GPUFeatureName[] = ['timestamp-query', 'subgroups'];

export async function openGpu(options: OpenGpuOptions = {}): Promise<GpuContext> {
  const { gpu, runtime } = await getGpu(options.dawnFlags ?? []);
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new NoAdapterError('requestAdapter() returned null');
  const report = describe(adapter.info, adapter.features, adapter.limits, runtime);

  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = report.limits[name];
  const requiredFeatures = OPTIONAL_FEATURES.filter((feature) => adapter.features.has(feature));
  const device = await adapter.requestDevice({ label: 'webgpu-mlp', requiredLimits, requiredFeatures });

  return contextOf(device, report, adapter, () => device.destroy());
}

/**
 * A context for a device the application already holds (its own adapter, limits and features). Our
 * close() leaves it alive: it is the application's to destroy. Kernel variants are chosen from the
 * adapter info the device reports (GPUDevice.adapterInfo, where the implementation has it).
 */
export function wrapDevice(device: GPUDevice): GpuContext {
  const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return contextOf(device, describe(info, device.features, device.limits, currentRuntime()), undefined, () => {});
}

function contextOf(device: GPUDevice, report: AdapterReport, adapter: GPUAdapter | undefined, release: () => void): GpuContext {
  let closing = false;
  let lostMessage: string | undefined;
  const lost = device.lost.then((info) => {
    lostMessage = `GPU device lost (${info.reason}): ${info.message || 'no message from the driver'}`;
    return lostMessage;
  });
  let closed = false;
  return {
    device,
    adapter,
    report,
    busyWaits: report.runtime === 'node',
    get isLost() {
      return lostMessage !== undefined || closed;
    },
    get lostMessage() {
      return lostMessage ?? (closed ? 'the GPU was closed' : undefined);
    },
    // Our own close() also resolves device.lost; callers waiting on `lost` must not see that.
    lost: lost.then((message) => (closing ? new Promise<string>(() => {}) : message)),
    close() {
      if (closed) return;
      closing = true;
      closed = true;
      release();
    },
  };
}

/** A one-line description of the adapter for logs and result tables. */
export function adapterName(report: AdapterReport): string {
  const parts = [report.vendor, report.architecture, report.description || report.device].filter(Boolean);
  return `${parts.join(' / ')} (${report.runtime}${report.kind === 'cpu' ? ', software' : ''})`;
}
