// One GPU device per test process. GPU tests never skip: with no adapter they fail with the
// message that says how to get one.
import { afterAll } from 'vitest';
import { BufferArena } from '../../src/gpu/arena.ts';
import { openGpu, type GpuContext } from '../../src/gpu/device.ts';
import { submitDispatches, KernelCache, type Dispatch } from '../../src/gpu/program.ts';
import type { KernelContext } from '../../src/kernels/context.ts';

let context: Promise<GpuContext> | undefined;
let cache: KernelCache | undefined;

export async function testGpu(): Promise<GpuContext> {
  context ??= openGpu();
  return context;
}

/**
 * A kernel context on the shared device with a fresh arena. `kind` overrides the adapter's kind,
 * so tests can exercise both the software and the GPU kernel variants on any adapter.
 */
export async function testKernelContext(kind?: 'cpu' | 'gpu'): Promise<KernelContext & { gpu: GpuContext }> {
  const gpu = await testGpu();
  cache ??= new KernelCache(gpu.device);
  return { gpu, device: gpu.device, cache, arena: new BufferArena(gpu.device), adapterKind: kind ?? gpu.report.kind };
}

/** Encodes `dispatches` in one pass (step slot `stepSlot`), submits, and waits for the GPU. */
export async function runDispatches(device: GPUDevice, dispatches: readonly Dispatch[], stepSlot = 0): Promise<void> {
  await expectNoGpuErrors(device, async () => {
    submitDispatches(device, dispatches, { label: 'test', slot: stepSlot });
    await device.queue.onSubmittedWorkDone();
  });
}

/** Runs `body` inside validation and out-of-memory error scopes; fails if WebGPU reported an error. */
export async function expectNoGpuErrors<T>(device: GPUDevice, body: () => Promise<T> | T): Promise<T> {
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  const result = await body();
  const oom = await device.popErrorScope();
  const validation = await device.popErrorScope();
  const error = validation ?? oom;
  if (error) throw new Error(`WebGPU reported an error: ${error.message}`);
  return result;
}

afterAll(async () => {
  if (context) (await context).close();
});
