#!/usr/bin/env node
// The webgpu-mlp command. In a checkout of the repository it runs the TypeScript sources (through
// tsx and the shader loader hook: no build step between an edit and a run); in the installed
// package, which ships no sources, the built JavaScript of dist/lib.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  await import('./register.mjs');
  await import(sources.href);
} else {
  await import('../dist/lib/cli.js');
}
