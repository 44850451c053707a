// `npm run docs`: the API reference in docs/api/, generated from the TSDoc comments of the two
// public entries ('webgpu-mlp' and 'webgpu-mlp/node') by API Extractor and API Documenter, from the
// declarations `npm run build` emits. README's "Library" section links to it.
import { execFileSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (bin, args) => execFileSync(process.execPath, [join(root, 'node_modules', bin), ...args], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });

execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--types-only'], { cwd: root, stdio: 'inherit' });
await rm(join(root, 'dist/api'), { recursive: true, force: true });
for (const entry of ['index', 'node']) run('@microsoft/api-extractor/bin/api-extractor', ['run', '--local', '--config', `build/api/${entry}.json`]);
// API Extractor names a doc model after the package; the subpath gets a name of its own (a file
// name may not hold the '/'), so that the documenter lists the two entries side by side.
const nodeModel = join(root, 'dist/api/node.api.json');
const text = await readFile(nodeModel, 'utf8');
await writeFile(nodeModel, text.replaceAll('"webgpu-mlp!', '"webgpu-mlp-node!').replace('"name": "webgpu-mlp"', '"name": "webgpu-mlp-node"'));
await rm(join(root, 'docs/api'), { recursive: true, force: true });
run('@microsoft/api-documenter/bin/api-documenter', ['markdown', '--input-folder', 'dist/api', '--output-folder', 'docs/api']);
// ... and the pages call it by its import name again.
for (const name of await readdir(join(root, 'docs/api'))) {
  const path = join(root, 'docs/api', name);
  const page = await readFile(path, 'utf8');
  const fixed = page.replace(/(?<![\w.(/-])webgpu-mlp-node(?![\w.-]*\.md)/g, 'webgpu-mlp/node');
  if (fixed !== page) await writeFile(path, fixed);
}
console.log('docs: docs/api/index.md');
