// The demo is an application of the library like any other: every file under demo/ imports the
// package by name ('webgpu-mlp'), other demo files, and npm packages, never the repository's src/.
// A plain scan of the import specifiers (static, dynamic, re-exports, side-effect imports, worker
// URLs and the page's module scripts), each relative one resolved against its file.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEMO = join(ROOT, 'demo');
const SRC = join(ROOT, 'src');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};
/** The package's public entries: what an application may import of it. */
const PUBLIC_ENTRIES = [PACKAGE.name, `${PACKAGE.name}/node`];
const PACKAGES = new Set([...Object.keys(PACKAGE.dependencies ?? {}), ...Object.keys(PACKAGE.devDependencies ?? {})]);

/** How a file names a module: an import or export, a module URL (workers), the page's module script. */
type Kind = 'import' | 'url' | 'script';

const SPECIFIER_PATTERNS: readonly [Kind, RegExp][] = [
  // import x from '…', import { a } from '…', import type …, export { a } from '…', export * from '…'
  ['import', /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\sfrom\s*['"]([^'"]+)['"]/g],
  // import '…' (side effects: stylesheets)
  ['import', /\bimport\s*['"]([^'"]+)['"]/g],
  // import('…')
  ['import', /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g],
  // new Worker(new URL('…', import.meta.url))
  ['url', /\bnew\s+URL\s*\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g],
  // <script type="module" src="…"> in HTML
  ['script', /<script\b[^>]*\bsrc\s*=\s*['"]([^'"]+)['"]/g],
];

/**
 * The build's config names paths outside demo/ (the output folder, and the alias that makes
 * 'webgpu-mlp' resolve to the package's sources in this repository): there a URL may point at the
 * public entries' sources, and nowhere else in src/.
 */
const CONFIG_FILES = new Set([join(DEMO, 'vite.config.ts')]);
const ENTRY_SOURCES = new Set([join(SRC, 'index.ts'), join(SRC, 'node.ts')]);

function importSpecifiers(text: string): { kind: Kind; specifier: string }[] {
  const found: { kind: Kind; specifier: string }[] = [];
  for (const [kind, pattern] of SPECIFIER_PATTERNS) for (const match of text.matchAll(pattern)) found.push({ kind, specifier: match[1] });
  return found;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : filesUnder(path);
    return /\.(ts|tsx|js|mjs|cjs|html)$/.test(entry.name) ? [path] : [];
  });
}

/** Why `specifier`, written in `file`, is not allowed; undefined when it is. */
function forbidden(file: string, specifier: string, kind: Kind = 'import'): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/')) {
    // A leading '/' is the Vite root (demo/), as in index.html's module script.
    const target = specifier.startsWith('/') ? join(DEMO, specifier) : resolve(dirname(file), specifier);
    const inSrc = target === SRC || target.startsWith(SRC + sep);
    if (kind === 'url' && CONFIG_FILES.has(file)) return inSrc && !ENTRY_SOURCES.has(target) ? `points into src/ at ${relative(ROOT, target)}, not at a public entry's source` : undefined;
    if (inSrc) return `reaches into the repository's src/ (${relative(ROOT, target)}): import '${PACKAGE.name}' instead`;
    if (!(target === DEMO || target.startsWith(DEMO + sep))) return `leaves demo/ (${relative(ROOT, target)})`;
    return undefined;
  }
  if (specifier.startsWith('node:')) return undefined;
  if (specifier === PACKAGE.name || specifier.startsWith(`${PACKAGE.name}/`)) {
    return PUBLIC_ENTRIES.includes(specifier) ? undefined : `is not a public entry of ${PACKAGE.name} (${PUBLIC_ENTRIES.join(', ')})`;
  }
  const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
  return PACKAGES.has(name) ? undefined : `is not a package of package.json`;
}

describe('the demo uses the public API only', () => {
  it('imports nothing from src/ in any file under demo/', () => {
    const problems: string[] = [];
    let libraryImports = 0;
    const files = filesUnder(DEMO);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const { kind, specifier } of importSpecifiers(text)) {
        if (specifier === PACKAGE.name) libraryImports += 1;
        const why = forbidden(file, specifier, kind);
        if (why) problems.push(`${relative(ROOT, file)}: '${specifier}' ${why}`);
      }
    }
    expect(problems).toEqual([]);
    // The scan saw the demo: its page and worker import the library by name.
    expect(files.map((f) => relative(DEMO, f))).toEqual(expect.arrayContaining(['index.html', join('src', 'main.ts'), join('src', 'worker', 'worker.ts')]));
    expect(libraryImports).toBeGreaterThan(3);
  });

  it('catches the import forms it is meant to catch', () => {
    const worker = join(DEMO, 'src', 'worker', 'worker.ts');
    const text = [
      "import { openGpu } from '../../../src/gpu/device.ts';",
      "import type {\n  TrainConfig,\n} from '../../../src/train/config.ts';",
      "export { Dataset } from '../../../src/data/dataset.ts';",
      "import '../../../src/side-effect.ts';",
      "const m = await import('../../../src/api/model.ts');",
      "new Worker(new URL('../../../src/worker.ts', import.meta.url));",
      "import { x } from 'webgpu-mlp/src/index.ts';",
      "import { y } from '/../src/index.ts';",
    ].join('\n');
    const specifiers = importSpecifiers(text);
    expect(specifiers).toHaveLength(8);
    for (const { kind, specifier } of specifiers) expect(forbidden(worker, specifier, kind), specifier).toBeDefined();
    // The build config may alias the package to its entry's source, and to nothing deeper.
    const config = join(DEMO, 'vite.config.ts');
    expect(forbidden(config, '../src/index.ts', 'url')).toBeUndefined();
    expect(forbidden(config, '../src/train/trainer.ts', 'url')).toBeDefined();
    expect(forbidden(config, '../src/index.ts', 'import')).toBeDefined();
    for (const fine of ["import { openGpu } from 'webgpu-mlp';", "import uPlot from 'uplot';", "import './style.css';", "import { analyse } from './analysis.ts';"]) {
      const [{ kind, specifier }] = importSpecifiers(fine);
      expect(forbidden(worker, specifier, kind), fine).toBeUndefined();
    }
  });
});
