// `npm run build`: the package as users install it. dist/lib: ES modules of the library, its Node
// subpath and the CLI, shaders inlined (build/vite.lib.config.ts); dist/types: their declarations.
// `--types-only`: the declarations alone (what the API reference is generated from).
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { build } from 'vite';

const root = new URL('..', import.meta.url).pathname;
const started = performance.now();

const typesOnly = process.argv.includes('--types-only');
if (!typesOnly) await build({ configFile: join(root, 'build/vite.lib.config.ts') });

await rm(join(root, 'dist/types'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

// tsc keeps the sources' `./x.ts` specifiers in declarations; the files are x.d.ts, which a
// consumer's TypeScript finds from `./x.js`.
async function* files(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}
for await (const path of files(join(root, 'dist/types'))) {
  const text = await readFile(path, 'utf8');
  const fixed = text.replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]+)\.ts\2/g, '$1$2$3.js$2');
  if (fixed !== text) await writeFile(path, fixed);
}
console.error(`build: ${typesOnly ? 'dist/types' : 'dist/lib and dist/types'} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
