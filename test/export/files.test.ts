// The Node writer of exports (src/export/files.ts) on its own: what it writes, and its errors as a
// program meets them (typed, with stable codes), leaving nothing behind.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError, encodeCheckpoint } from '../../src/checkpoint/checkpoint.ts';
import { MlpError } from '../../src/errors.ts';
import { exportCheckpointFile, resolveCheckpointPath, type ModelFormat } from '../../src/export/files.ts';
import { exportOnnx } from '../../src/export/onnx.ts';
import { initialParams } from '../../src/model/init.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { VERSION } from '../../src/version.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-export-files-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const spec: ModelSpec = { layers: [20, 8, 3], activation: 'tanh', loss: 'ce', dropout: 0 };
const params = initialParams(spec, { kind: 'xavier' }, 2);
const bytes = encodeCheckpoint({ spec, params, version: VERSION });

async function caught(body: () => Promise<unknown>): Promise<MlpError> {
  try {
    await body();
  } catch (error) {
    expect(error).toBeInstanceOf(MlpError);
    return error as MlpError;
  }
  throw new Error('expected an error');
}

describe('exportCheckpointFile', () => {
  it('exports a run directory: best.safetensors, else last.safetensors', async () => {
    const run = join(work, 'run');
    mkdirSync(run);
    writeFileSync(join(run, 'last.safetensors'), bytes);
    expect(await resolveCheckpointPath(run)).toBe(join(run, 'last.safetensors'));
    writeFileSync(join(run, 'best.safetensors'), bytes);
    expect(await resolveCheckpointPath(run)).toBe(join(run, 'best.safetensors'));
    const out = join(work, 'run.onnx');
    const result = await exportCheckpointFile(run, 'onnx', out);
    expect(result).toMatchObject({ checkpoint: join(run, 'best.safetensors'), spec, files: [{ path: out }] });
    expect(new Uint8Array(readFileSync(out))).toEqual(exportOnnx(spec, params));
  });

  it('refuses a corrupt checkpoint, an unknown format and an unwritable path, writing nothing', async () => {
    const dir = join(work, 'bad');
    mkdirSync(dir);
    const corrupt = join(dir, 'corrupt.safetensors');
    writeFileSync(corrupt, bytes.subarray(0, bytes.length - 10));
    const notADir = join(dir, 'file');
    writeFileSync(notADir, 'x');
    const good = join(dir, 'good.safetensors');
    writeFileSync(good, bytes);
    const before = readdirSync(dir).sort();

    for (const format of ['onnx', 'tfjs'] as const) {
      const error = await caught(() => exportCheckpointFile(corrupt, format, join(dir, `out-${format}`)));
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.code).toBe('CHECKPOINT');
      expect(error.message).toMatch(/corrupt\.safetensors: /);
    }
    const unknown = await caught(() => exportCheckpointFile(good, 'keras' as ModelFormat, join(dir, 'out')));
    expect(unknown.code).toBe('CONFIG');
    expect(unknown.message).toMatch(/unknown export format "keras": expected one of onnx, tfjs/);
    const onnx = await caught(() => exportCheckpointFile(good, 'onnx', join(notADir, 'model.onnx')));
    expect(onnx).toBeInstanceOf(CheckpointError);
    expect(onnx.message).toMatch(/file\/model\.onnx: cannot write: ENOTDIR/);
    const tfjs = await caught(() => exportCheckpointFile(good, 'tfjs', join(notADir, 'web')));
    expect(tfjs.message).toMatch(/file\/web: cannot create the directory: ENOTDIR/);

    expect(readdirSync(dir).sort()).toEqual(before);
    expect(readFileSync(notADir, 'utf8')).toBe('x');
  });
});
