import { describe, expect, it } from 'vitest';
import { adapterName, NO_ADAPTER_HELP } from '../../src/gpu/device.ts';
import { testGpu } from '../helpers/gpu.ts';

describe('device', () => {
  it('finds an adapter and reports it', async () => {
    const gpu = await testGpu();
    const { report } = gpu;
    expect(report.runtime).toBe('node');
    expect(['cpu', 'gpu']).toContain(report.kind);
    expect(report.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(gpu.device.limits.maxStorageBufferBindingSize).toBe(report.limits.maxStorageBufferBindingSize);
    expect(adapterName(report)).toContain(report.vendor);
    console.log(`adapter: ${adapterName(report)}`);
  });

  it('says how to get an adapter when there is none', () => {
    expect(NO_ADAPTER_HELP).toMatch(/setup:system/);
    expect(NO_ADAPTER_HELP).toMatch(/lavapipe/);
  });
});
