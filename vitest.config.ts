import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Dawn is a native addon: separate processes (not worker threads) keep each device's
    // lifetime and crashes to its own file. Two workers for this 2-core machine's 2 cores.
    pool: 'forks',
    maxWorkers: 2,
    // lavapipe compiles pipelines on the CPU; first compiles can take seconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
