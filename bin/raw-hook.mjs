// Node module hook: `import text from './file.wgsl?raw'` yields the file's text, as Vite does.
// Lets the CLI, benchmarks and Vitest share one way of loading shaders from shaders/.
import { readFile } from 'node:fs/promises';

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:') && url.endsWith('?raw')) {
    const text = await readFile(new URL(url.slice(0, -'?raw'.length)), 'utf8');
    return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
  }
  return nextLoad(url, context);
}
