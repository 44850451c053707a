// `webgpu-mlp export --format onnx|tfjs` as a user meets it: from a checkpoint file or a run
// directory, the files it writes, and the bad inputs (a corrupt checkpoint, an unknown format, an
// unwritable path, misused options) refused with one clear sentence, the CLI's exit code, and nothing written.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli as runCli, type CliResult } from '../reliability/helpers.ts';
import { encodeCheckpoint } from '../../src/checkpoint/checkpoint.ts';
import { exportOnnx } from '../../src/export/onnx.ts';
import { exportTfjs, TFJS_WEIGHTS_FILE } from '../../src/export/tfjs.ts';
import { initialParams } from '../../src/model/init.ts';
import { optimizerConfig } from '../../src/model/optimizer.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { paramLayout } from '../../src/model/tensors.ts';
import { VERSION } from '../../src/version.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-export-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The CLI run in the test's folder, as a user runs it. */
function cli(...args: string[]): CliResult {
  return runCli(work, args);
}

const spec: ModelSpec = { layers: [784, 16, 10], activation: 'sigmoid', loss: 'ce', dropout: 0 };
const params = initialParams(spec, { kind: 'he' }, 7);
const checkpoint = join(work, 'model.safetensors');
writeFileSync(checkpoint, encodeCheckpoint({ spec, params, version: VERSION }));
// A run directory holds best.safetensors (exported) and a resumable last.safetensors.
const run = join(work, 'run');
mkdirSync(run);
writeFileSync(join(run, 'best.safetensors'), encodeCheckpoint({ spec, params, version: VERSION }));
const zeros = () => new Float32Array(paramLayout(spec).totalElements);
const resumable = encodeCheckpoint({ spec, params, version: VERSION, optimizer: { config: optimizerConfig('adam'), state: [zeros(), zeros()] }, training: { epoch: 1 } });
writeFileSync(join(run, 'last.safetensors'), resumable);

describe('export --format onnx|tfjs', () => {
  it('writes the ONNX model of a checkpoint file, and of a resumable one', () => {
    const out = join(work, 'model.onnx');
    const { code, stdout, stderr } = cli('export', '--format', 'onnx', '--out', out, checkpoint);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/model\.safetensors → ONNX model: 784-16-10 · sigmoid/);
    expect(stdout).toMatch(/model\.onnx {2}\d+\.\d+ kB/);
    expect(stdout).toMatch(/values 0\.\.255 \(divided by 255 inside the model\)/);
    expect(new Uint8Array(readFileSync(out))).toEqual(exportOnnx(spec, params));

    const fromLast = cli('export', '--format', 'onnx', '--input', 'identity', '--out', join(work, 'last.onnx'), join(run, 'last.safetensors'));
    expect(fromLast.code).toBe(0);
    expect(new Uint8Array(readFileSync(join(work, 'last.onnx')))).toEqual(exportOnnx(spec, params, { input: 'identity' }));
  });

  it("writes a run directory's best checkpoint as a TensorFlow.js directory", () => {
    const out = join(work, 'tfjs', 'digits');
    const { code, stdout } = cli('export', '--format', 'tfjs', '--out', out, run);
    expect(code).toBe(0);
    expect(stdout).toMatch(/best\.safetensors → TensorFlow\.js Layers model/);
    expect(readdirSync(out).sort()).toEqual([TFJS_WEIGHTS_FILE, 'model.json']);
    const expected = exportTfjs(spec, params);
    expect(JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'))).toEqual(expected.modelJson);
    expect(new Uint8Array(readFileSync(join(out, TFJS_WEIGHTS_FILE)))).toEqual(new Uint8Array(expected.weightData));
  });

  it('refuses bad inputs with one sentence and the exit code, writing nothing', () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'not a directory');
    const corrupt = join(work, 'corrupt.safetensors');
    writeFileSync(corrupt, readFileSync(checkpoint).subarray(0, 1000)); // truncated
    const empty = join(work, 'empty-dir');
    mkdirSync(empty);
    const cases: [string[], RegExp, number][] = [
      [['--format', 'onnx', '--out', 'x.onnx', corrupt], /^error: .*corrupt\.safetensors: /, 1],
      [['--format', 'tfjs', '--out', 'x-dir', corrupt], /^error: .*corrupt\.safetensors: /, 1],
      [['--format', 'onnx', '--out', 'x.onnx', join(work, 'missing.safetensors')], /missing\.safetensors: no such checkpoint file/, 1],
      [['--format', 'onnx', '--out', 'x.onnx', empty], /empty-dir: a directory without best\.safetensors or last\.safetensors/, 1],
      [['--format', 'keras', '--out', 'x.onnx', checkpoint], /argument 'keras' is invalid\. Allowed choices are mlflow, onnx, tfjs/, 2],
      [['--format', 'onnx', '--out', join(file, 'model.onnx'), checkpoint], /a-file\/model\.onnx: cannot write: ENOTDIR/, 1],
      [['--format', 'tfjs', '--out', join(file, 'dir'), checkpoint], /a-file\/dir: cannot create the directory: ENOTDIR/, 1],
      [['--format', 'tfjs', '--out', file, checkpoint], /a-file: exists and is not a directory/, 1],
      [['--format', 'onnx', '--out', work, checkpoint], /is a directory; --format onnx writes one file/, 1],
      [['--format', 'onnx', checkpoint], /--format onnx needs --out FILE\.onnx/, 2],
      [['--format', 'tfjs', '--out', 'x-dir', checkpoint, run], /--format tfjs exports one checkpoint .* found 2 paths/, 2],
      [['--format', 'onnx', '--out', 'x.onnx', '--experiment', 'e', checkpoint], /--experiment does not apply to --format onnx/, 2],
      [['--format', 'onnx', '--out', 'x.onnx', '--input', 'pixels', checkpoint], /argument 'pixels' is invalid/, 2],
    ];
    const before = readdirSync(work).sort();
    for (const [args, message, exitCode] of cases) {
      const { code, stderr, stdout } = cli('export', ...args);
      expect(stderr, args.join(' ')).toMatch(message);
      expect(stderr, args.join(' ')).not.toMatch(/internal error|at .*\.ts:\d+/); // a sentence, no stack trace
      expect(code, args.join(' ')).toBe(exitCode);
      expect(stdout, args.join(' ')).toBe('');
    }
    expect(readdirSync(work).sort()).toEqual(before); // no output, no temporary file left behind
    expect(readFileSync(file, 'utf8')).toBe('not a directory');
    expect(existsSync(join(work, 'x.onnx')) || existsSync(join(work, 'x-dir'))).toBe(false);
  });
});
