// The bundle a lent GPU machine runs (build/vite.device.config.ts, bench/device/): built into a
// folder outside the repository, it may import nothing but Node's built-ins and the native modules
// the pack carries, and its CLI must start there with no node_modules at all. (The whole pack, Node
// and Dawn included, is checked on lavapipe by `bash bench/device/run.sh --quick`: bench/RESULTS.md.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CARRIED_NATIVE = ['webgpu', '@resvg/resvg-js'];
const out = mkdtempSync(join(tmpdir(), 'webgpu-mlp-device-'));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

beforeAll(async () => {
  await build({ configFile: join(ROOT, 'build/vite.device.config.ts'), build: { outDir: out } });
}, 120_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the device bundle', () => {
  it('has both entries and imports only built-ins and the carried native modules', () => {
    const all = files(out);
    expect(all.map((f) => f.slice(out.length + 1))).toEqual(expect.arrayContaining(['cli.js', 'bench-gpu.js']));
    const specifiers = new Set<string>();
    for (const file of all) {
      const code = readFileSync(file, 'utf8');
      // Static imports and string-literal dynamic imports (comments in inlined sources can hold
      // example imports, so only lines that start with `import` or hold `import("…")` count).
      for (const m of code.matchAll(/^\s*import\s[^;]*?from\s*["']([^"']+)["']/gm)) specifiers.add(m[1]);
      for (const m of code.matchAll(/\bimport\(\s*(?:\/\*[^*]*\*\/\s*)?["']([^"']+)["']\s*\)/g)) specifiers.add(m[1]);
    }
    const foreign = [...specifiers].filter(
      (s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s) && !CARRIED_NATIVE.includes(s) && s !== 'canvas',
    );
    // vega's optional `canvas` is loaded in a try and not carried: charts render through resvg.
    expect(foreign).toEqual([]);
    expect([...specifiers]).toContain('webgpu');
  });

  it('starts with no node_modules beside it', () => {
    const result = spawnSync(process.execPath, [join(out, 'cli.js'), '--version'], { cwd: out, encoding: 'utf8', timeout: 30_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(VERSION);
    expect(result.status).toBe(0);
  });
});
