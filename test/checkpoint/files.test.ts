import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/checkpoint/checkpoint.ts';
import { loadCheckpoint, saveCheckpoint, writeFileAtomic } from '../../src/checkpoint/files.ts';
import { optimizerConfig } from '../../src/model/optimizer.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { paramLayout } from '../../src/model/tensors.ts';

const tempDir = () => mkdtempSync(join(tmpdir(), 'checkpoint-'));

describe('writeFileAtomic', () => {
  it('creates and then replaces the file, leaving no temporary file behind', async () => {
    const dir = tempDir();
    const path = join(dir, 'best.safetensors');
    await writeFileAtomic(path, Uint8Array.of(1, 2, 3));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    await writeFileAtomic(path, Uint8Array.of(9, 8));
    expect([...readFileSync(path)]).toEqual([9, 8]);
    expect(readdirSync(dir)).toEqual(['best.safetensors']);
  });

  it('fails with the path named, cleans up, and leaves the old target when the rename cannot happen', async () => {
    const dir = tempDir();
    const target = join(dir, 'taken');
    mkdirSync(target); // renaming a file over a directory fails (EISDIR)
    writeFileSync(join(target, 'inside'), 'old');
    await expect(writeFileAtomic(target, Uint8Array.of(1))).rejects.toThrow(new RegExp(`^${target}: cannot write: .*EISDIR`));
    expect(readdirSync(dir)).toEqual(['taken']);
    expect(readFileSync(join(target, 'inside'), 'utf8')).toBe('old');

    const missing = join(dir, 'no-such-dir', 'x.safetensors');
    await expect(writeFileAtomic(missing, Uint8Array.of(1))).rejects.toThrow(CheckpointError);
    await expect(writeFileAtomic(missing, Uint8Array.of(1))).rejects.toThrow(new RegExp(`^${missing}: cannot write: .*ENOENT`));
  });
});

describe('saveCheckpoint and loadCheckpoint', () => {
  const spec: ModelSpec = { layers: [4, 6, 2], activation: 'sigmoid', loss: 'ce', dropout: 0 };

  it('round-trip a resumable checkpoint through a file', async () => {
    const layout = paramLayout(spec);
    const params = new Float32Array(layout.totalElements);
    const velocity = new Float32Array(layout.totalElements);
    for (const t of layout.tensors) {
      for (let i = 0; i < t.size; i++) {
        params[t.offset + i] = Math.sin(t.offset + i);
        velocity[t.offset + i] = Math.cos(t.offset + i);
      }
    }
    const ck = { spec, params, optimizer: { config: optimizerConfig('momentum'), state: [velocity] }, training: { epoch: 1 }, version: '0.1.0' };
    const path = join(tempDir(), 'last.safetensors');
    await saveCheckpoint(path, ck);
    expect(await loadCheckpoint(path)).toEqual(ck);
  });

  it('names the path when the file is missing or not a checkpoint', async () => {
    const dir = tempDir();
    await expect(loadCheckpoint(join(dir, 'nope.safetensors'))).rejects.toThrow(`${join(dir, 'nope.safetensors')}: no such checkpoint file`);
    const junk = join(dir, 'junk.safetensors');
    writeFileSync(junk, 'abc');
    await expect(loadCheckpoint(junk)).rejects.toThrow(`${junk}: not a safetensors file: 3 bytes`);
    await expect(loadCheckpoint(dir)).rejects.toThrow(new RegExp(`^${dir}: cannot read: .*EISDIR`));
  });
});
