// The GPU machine's bundle (bench/device/pack.sh): the CLI, bench/gpu.ts and bench/speed.ts as ES modules in
// .device-pack/lib, with every JavaScript dependency and shader inlined, so the machine that the
// `device` tool lends (no Node, no npm registry: bench/device/run.sh) needs only a Node binary, Dawn's
// native module and the MNIST files beside them. Only Node built-ins and the native modules (webgpu,
// @resvg/resvg-js, which only `report` loads) stay imports.
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const NATIVE = ['webgpu', '@resvg/resvg-js'];
const isExternal = (id: string) => id.startsWith('node:') || builtinModules.includes(id) || NATIVE.includes(id);

export default defineConfig({
  root,
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: '.device-pack/lib',
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    sourcemap: false,
    reportCompressedSize: false,
    ssr: true,
    rolldownOptions: {
      input: { cli: 'src/cli/main.ts', 'bench-gpu': 'bench/gpu.ts', speed: 'bench/speed.ts' },
      external: isExternal,
      output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
    },
  },
  ssr: { noExternal: true, target: 'node' },
});
