// The layering of ../shared/DESIGN.md, checked on the import graph of src/: applications (cli,
// experiments, report) use the public API only and never each other (the CLI, the command shell,
// may call the other two); the core never imports an application; gpu/ knows nothing of training;
// and no two folders import each other, directly or round a longer loop.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative module a file imports (static, re-exports and dynamic), resolved to a path under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/g), ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => m[1],
  );
  return specifiers.filter((s) => s.startsWith('.')).map((s) => relative(SRC, resolve(dirname(file), s.replace(/\?raw$/, ''))));
}

/** The top-level part of a path under src/: a folder name, or the file for src/index.ts, src/node.ts, ... */
const area = (path: string) => (path.includes('/') ? path.split('/')[0] : path.replace(/\.ts$/, ''));

const files = filesUnder(SRC).map((file) => ({ path: relative(SRC, file), imports: importsOf(file) }));
const APPLICATIONS = ['cli', 'experiments', 'report'];
const PUBLIC = ['index', 'node'];

function violations(check: (from: string, to: string) => boolean): string[] {
  return files.flatMap(({ path, imports }) => imports.filter((to) => !check(path, to)).map((to) => `${path} → ${to}`));
}

describe('layers', () => {
  it('applications import the public API (index.ts, node.ts) and their own files only; the CLI may call the others', () => {
    const bad = violations((from, to) => {
      const a = area(from);
      if (!APPLICATIONS.includes(a)) return true;
      const b = area(to);
      return b === a || PUBLIC.includes(b) || (a === 'cli' && APPLICATIONS.includes(b)) || to.startsWith('../');
    });
    expect(bad).toEqual([]);
  });

  it('the core and the public API never import an application', () => {
    expect(violations((from, to) => APPLICATIONS.includes(area(from)) || !APPLICATIONS.includes(area(to)))).toEqual([]);
  });

  it('gpu/ knows nothing of training: it imports only itself and the error type', () => {
    expect(violations((from, to) => area(from) !== 'gpu' || area(to) === 'gpu' || to === 'errors.ts')).toEqual([]);
  });

  it('the folders form no cycle', () => {
    const edges = new Map<string, Set<string>>();
    for (const { path, imports } of files) {
      for (const to of imports) {
        if (area(path) !== area(to)) (edges.get(area(path)) ?? edges.set(area(path), new Set()).get(area(path))!).add(area(to));
      }
    }
    const cycles: string[] = [];
    const visit = (node: string, stack: string[]) => {
      if (stack.includes(node)) {
        cycles.push([...stack.slice(stack.indexOf(node)), node].join(' → '));
        return;
      }
      for (const next of edges.get(node) ?? []) visit(next, [...stack, node]);
    };
    for (const node of edges.keys()) visit(node, []);
    expect([...new Set(cycles)]).toEqual([]);
  });
});
