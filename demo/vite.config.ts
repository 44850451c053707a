// The demo's Vite config: `npm run demo` (dev server), `npm run build:demo` (static site in dist/demo/ with
// relative URLs, so it works from any static host and any sub-path), `npm run preview`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { mnistData } from './mnist-plugin.ts';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('../dist/demo', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The MNIST assets are large by nature; only code chunks should warn.
    chunkSizeWarningLimit: 1000,
    reportCompressedSize: false,
  },
  // The demo imports the package by name, as any application would; in this repository the name
  // resolves to the sources (no build step between an edit and the page).
  resolve: { alias: { 'webgpu-mlp': fileURLToPath(new URL('../src/index.ts', import.meta.url)) } },
  worker: { format: 'es' },
  plugins: [mnistData()],
});
