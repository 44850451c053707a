// The package's JavaScript: `npm run build` bundles the three entries (the library, its Node
// subpath, and the CLI) as ES modules into dist/lib, with every shaders/*.wgsl inlined as a string
// (the `?raw` imports) so that neither Node nor a user's bundler needs a loader for them. Runtime
// dependencies and Node built-ins stay imports. Declarations come from tsc (scripts/build.mjs).
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
const dependencies = Object.keys(pkg.dependencies);
const isExternal = (id: string) =>
  id.startsWith('node:') || builtinModules.includes(id) || dependencies.some((name) => id === name || id.startsWith(`${name}/`));

export default defineConfig({
  root,
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: 'dist/lib',
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    sourcemap: true,
    reportCompressedSize: false,
    lib: {
      entry: { index: 'src/index.ts', node: 'src/node.ts', cli: 'src/cli/main.ts' },
      formats: ['es'],
    },
    rolldownOptions: {
      external: isExternal,
      output: { chunkFileNames: 'chunks/[name]-[hash].js' },
    },
  },
});
