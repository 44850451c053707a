import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Dawn is a native addon: separate processes (not worker threads) keep each device's
    // lifetime and crashes to its own file. Two workers for this 2-core machine's 2 cores.
    pool: 'forks',
    maxWorkers: 2,
    // Memory tests measure after a garbage collection (global.gc), not whatever garbage is pending.
    execArgv: ['--expose-gc'],
    // lavapipe compiles pipelines on the CPU; first compiles can take seconds.
    testTimeout: 120_000,
    // Kernel choices measured during the tests (src/tune/) go to a folder of this run, not the user's cache.
    env: { WEBGPU_MLP_CACHE_DIR: process.env.WEBGPU_MLP_CACHE_DIR ?? join(tmpdir(), `webgpu-mlp-test-cache-${process.pid}`) },
    hookTimeout: 120_000,
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
