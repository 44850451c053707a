// Shared by the reliability tests: running the CLI as a user does (blocking, or as a child process
// to signal), small IDX datasets on disk, and byte-level snapshots of files that must not change.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors } from '../../src/checkpoint/safetensors.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { IDX_FILES } from '../../src/data/files.ts';
import { encodeIdx } from '../../src/data/idx.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'webgpu-mlp.mjs');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to completion. */
export function cli(cwd: string, args: readonly string[], env: Record<string, string> = {}): CliResult {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', ...env } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Dawn's two start-up notices on lavapipe, harmless: everything else on stderr is ours. */
export function ourStderr(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line && !line.startsWith('Warning: maxDynamic'))
    .join('\n');
}

/** A CLI child process with `--json` output parsed line by line. */
export class CliProcess {
  readonly child: ChildProcess;
  readonly events: Record<string, unknown>[] = [];
  stderr = '';
  private readonly listeners: ((event: Record<string, unknown>) => void)[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(cwd: string, args: readonly string[]) {
    this.child = spawn(process.execPath, [bin, ...args, '--json'], { cwd, env: { ...process.env, FORCE_COLOR: '0' } });
    let pending = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines.filter(Boolean)) {
        const event = JSON.parse(line) as Record<string, unknown>;
        this.events.push(event);
        for (const listener of this.listeners) listener(event);
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves with the first event (past or future) that `match` accepts; rejects if the process exits first. */
  waitFor(match: (event: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.listeners.push((event) => match(event) && resolve(event));
      void this.exited.then(({ code, signal }) => reject(new Error(`CLI exited (${code ?? signal}) first; stderr: ${ourStderr(this.stderr)}`)));
    });
  }

  messages(): string[] {
    return this.events.filter((e) => e.type === 'message').map((e) => String(e.text));
  }
}

/** Writes an IDX dataset directory holding `train` and `test` under the standard file names. */
export function writeIdxDataset(dir: string, train: Dataset<Uint8Array>, test: Dataset<Uint8Array>): string {
  mkdirSync(dir, { recursive: true });
  const write = (name: string, set: Dataset<Uint8Array>) => {
    const images = name === 'train' ? IDX_FILES.trainImages : IDX_FILES.testImages;
    const labels = name === 'train' ? IDX_FILES.trainLabels : IDX_FILES.testLabels;
    const dims = set.height === 1 ? [set.count, set.width] : [set.count, set.height, set.width];
    writeFileSync(join(dir, images), encodeIdx(dims, set.features.subarray(0, set.count * set.inputSize)));
    writeFileSync(join(dir, labels), encodeIdx([set.count], Uint8Array.from(set.labels)));
  };
  write('train', train);
  write('test', test);
  return dir;
}

/** Every tensor of a safetensors file as raw bytes, for bit-for-bit comparisons. */
export function tensorBytes(path: string): Map<string, Uint8Array> {
  const { tensors } = decodeSafetensors(readFileSync(path), path);
  return new Map([...tensors].map(([name, t]) => [name, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
}

/** A safetensors file with its header JSON edited, written back with a consistent length field (spaces pad it to 8 bytes). */
export function editHeader(bytes: Uint8Array, edit: (header: Record<string, unknown>) => unknown): Uint8Array {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<string, unknown>;
  const json = new TextEncoder().encode(JSON.stringify(edit(header) ?? header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + bytes.length - 8 - length).fill(0x20, 8, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.set(bytes.subarray(8 + length), 8 + padded);
  return out;
}
