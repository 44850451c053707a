// The demo's Vite config: `npm run demo` (dev server), `npm run build` (static site in dist/ with
// relative URLs, so it works from any static host and any sub-path), `npm run preview`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { mnistData } from './mnist-plugin.ts';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('../dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The MNIST assets are large by nature; only code chunks should warn.
    chunkSizeWarningLimit: 1000,
    reportCompressedSize: false,
    rolldownOptions: {
      // src/gpu/device.ts imports node:os only on its Node path (never taken in a browser), so the
      // browser build's stub for it is expected, not worth a warning on every build.
      onLog(level, log, handler) {
        if (log.message.includes('"node:os" has been externalized for browser compatibility')) return;
        handler(level, log);
      },
    },
  },
  worker: { format: 'es' },
  plugins: [mnistData()],
});
