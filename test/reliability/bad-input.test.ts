// Every bad input the reliability issue lists, through the CLI where a user meets it: the message
// names the file or flag, what was expected and what was found; the exit code is 2 for usage and
// 1 for bad files; and nothing anywhere is written or overwritten (every file under the test's
// directory is byte-for-byte the same afterwards, and no file appears). Complements test/cli
// (a few usage errors), test/checkpoint and test/data (the parsers' own messages).
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCheckpoint } from '../../src/checkpoint/checkpoint.ts';
import { type Dataset } from '../../src/data/dataset.ts';
import { IDX_FILES, loadIdxDataset } from '../../src/data/files.ts';
import { encodeIdx } from '../../src/data/idx.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { initialParams } from '../../src/model/init.ts';
import { cli, editHeader, ourStderr, writeIdxDataset } from './helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-bad-input-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const mnist = await loadIdxDataset();
const train = mnist.train.slice(0, 700, 'train');
const test = mnist.test.slice(0, 200, 'test');
const spec: ModelSpec = { layers: [784, 32, 10], activation: 'relu', loss: 'ce', dropout: 0 };
const validCheckpoint = encodeCheckpoint({ spec, params: initialParams(spec, { kind: 'he' }, 1), version: 'test' });

const at = (...parts: string[]) => join(work, ...parts);
const file = (dir: string, name: keyof typeof IDX_FILES) => at('data', dir, IDX_FILES[name]);

/** A copy of the good dataset with files replaced, added (any other name) or removed (`undefined`). */
function dataset(name: string, replace: Record<string, Uint8Array | undefined>): string {
  const dir = writeIdxDataset(at('data', name), train, test);
  for (const [key, bytes] of Object.entries(replace)) {
    const path = join(dir, IDX_FILES[key as keyof typeof IDX_FILES] ?? key);
    if (bytes) writeFileSync(path, bytes);
    else rmSync(path);
  }
  return dir;
}

const imagesOf = (set: Dataset<Uint8Array>, dims: number[] = [set.count, 28, 28]) => encodeIdx(dims, set.features.subarray(0, dims.reduce((a, b) => a * b, 1)));
const labelsOf = (labels: ArrayLike<number>) => encodeIdx([labels.length], Uint8Array.from(labels));

function checkpoint(name: string, bytes: Uint8Array): string {
  mkdirSync(at('checkpoints'), { recursive: true });
  writeFileSync(at('checkpoints', name), bytes);
  return at('checkpoints', name);
}

/** Header edits on the valid checkpoint. */
const withHeader = (name: string, edit: (header: Record<string, Record<string, unknown>>) => void) =>
  checkpoint(name, editHeader(validCheckpoint, (h) => edit(h as Record<string, Record<string, unknown>>)));

function withLength(name: string, length: bigint): string {
  const bytes = validCheckpoint.slice();
  new DataView(bytes.buffer).setBigUint64(0, length, true);
  return checkpoint(name, bytes);
}

/** Every file under `dir`: path → bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(work, path), readFileSync(path));
    }
  };
  walk(dir);
  return files;
}

interface Case {
  readonly input: string;
  readonly args: () => string[];
  readonly code: 1 | 2;
  /** What the message must say (all of them, on stderr). */
  readonly says: (string | RegExp)[];
}

const ok = () => at('data', 'ok');
const trainOn = (dir: string, ...more: string[]) => ['train', '--data-dir', dir, '--val-split', '100', '--layers', '784,32,10', '--run-dir', at('runs', 'new'), '--no-report', ...more];
const quote = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const CASES: Case[] = [
  // ---- IDX files ----
  {
    input: 'IDX: wrong magic',
    args: () => trainOn(dataset('magic', { trainImages: Buffer.concat([Uint8Array.of(0x50, 0x4b, 3, 4), imagesOf(train).subarray(4)]) })),
    code: 1,
    says: [`${file('magic', 'trainImages')}: not an IDX file: magic 0x504b0304, expected 0x00000801 (labels) or 0x00000803 (images)`],
  },
  {
    input: 'IDX: a data type other than u8',
    args: () => trainOn(dataset('dtype', { trainLabels: Uint8Array.of(0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0) })),
    code: 1,
    says: [`${file('dtype', 'trainLabels')}: IDX data type f32 (0xd), expected u8 (0x08)`],
  },
  {
    input: 'IDX: truncated data',
    args: () => trainOn(dataset('truncated', { trainImages: imagesOf(train).subarray(0, -100) })),
    code: 1,
    says: [`${file('truncated', 'trainImages')}: truncated: dimensions 700×28×28 need 548800 data bytes, found 548700`],
  },
  {
    input: 'IDX: truncated header',
    args: () => trainOn(dataset('header', { testLabels: Uint8Array.of(0, 0, 8, 1, 0, 0) })),
    code: 1,
    says: [`${file('header', 'testLabels')}: truncated header: 6 bytes, expected 8 for 1 dimensions`],
  },
  {
    input: 'IDX: trailing bytes',
    args: () => trainOn(dataset('trailing', { testImages: Buffer.concat([imagesOf(test), Uint8Array.of(1, 2, 3)]) })),
    code: 1,
    says: [`${file('trailing', 'testImages')}: has trailing bytes: dimensions 200×28×28 need 156800 data bytes, found 156803`],
  },
  {
    input: 'IDX: image/label count mismatch',
    args: () => trainOn(dataset('count', { trainLabels: labelsOf(train.labels.subarray(0, 690)) })),
    code: 1,
    says: [`${file('count', 'trainLabels')}: 690 labels, but ${file('count', 'trainImages')} holds 700 images`],
  },
  {
    input: 'IDX: labels out of range for the model (label 12, 10 classes)',
    args: () => trainOn(dataset('range', { trainLabels: labelsOf(Uint8Array.from(train.labels, (y, i) => (i === 5 ? 12 : y))) })),
    code: 1,
    says: [`${at('data', 'range')} (training file): label 12 at index 5 is out of range for a model with 10 classes (0..9)`],
  },
  {
    input: 'IDX: labels out of range for the model (--layers 784,32,5)',
    args: () => ['train', '--data-dir', ok(), '--val-split', '100', '--layers', '784,32,5', '--run-dir', at('runs', 'new')],
    code: 1,
    says: [/\(training file\): label [5-9] at index \d+ is out of range for a model with 5 classes \(0\.\.4\)/],
  },
  {
    input: 'IDX: images of the wrong size for the input layer (20×20)',
    args: () => trainOn(dataset('size', { trainImages: imagesOf(train, [700, 20, 20]), testImages: imagesOf(test, [200, 20, 20]) })),
    code: 1,
    says: [`${at('data', 'size')} (training file): images have 400 pixels (20×20), but the model's input layer expects 784`],
  },
  {
    input: 'IDX: training and test images of different sizes',
    args: () => trainOn(dataset('mixed', { testImages: encodeIdx([200, 27, 27], test.features.subarray(0, 200 * 729)) })),
    code: 1,
    says: [`${at('data', 'mixed')}: training images are 28×28 but test images are 27×27`],
  },
  {
    input: 'IDX: labels with two dimensions',
    args: () => trainOn(dataset('rank', { trainLabels: encodeIdx([700, 1], Uint8Array.from(train.labels)) })),
    code: 1,
    says: [`${file('rank', 'trainLabels')}: labels must have 1 dimension ([N]), found 2 (700×1)`],
  },
  {
    input: 'IDX: no images at all',
    args: () => trainOn(dataset('empty', { trainImages: encodeIdx([0, 28, 28], new Uint8Array(0)), trainLabels: encodeIdx([0], new Uint8Array(0)) })),
    code: 1,
    says: [`${file('empty', 'trainImages')}: holds no images`],
  },
  {
    input: 'IDX: a missing file',
    args: () => trainOn(dataset('missing', { trainLabels: undefined })),
    code: 1,
    says: [`${file('missing', 'trainLabels')}: file not found (also looked for train-labels-idx1-ubyte.gz and the dotted spelling)`],
  },
  {
    input: 'IDX: a .gz that does not decompress',
    args: () => trainOn(dataset('gz', { trainLabels: undefined, [`${IDX_FILES.trainLabels}.gz`]: gzipSync(labelsOf(train.labels)).subarray(0, 40) })),
    code: 1,
    says: [new RegExp(`${quote(file('gz', 'trainLabels'))}\\.gz: gzip data does not decompress: .+`)],
  },
  {
    input: 'IDX: a .gz that is not gzip data',
    args: () => trainOn(dataset('not-gz', { trainLabels: undefined, [`${IDX_FILES.trainLabels}.gz`]: labelsOf(train.labels) })),
    code: 1,
    says: [`${file('not-gz', 'trainLabels')}.gz: named .gz but is not gzip data (first bytes 0x0 0x0)`],
  },
  {
    input: 'IDX: a validation split as large as the training file',
    args: () => ['train', '--data-dir', ok(), '--val-split', '700', '--run-dir', at('runs', 'new')],
    code: 1,
    says: ['a validation split of 700 must be a fraction in (0, 1) or a number of samples in [0, 699] (the set holds 700)'],
  },

  // ---- checkpoints (eval reads them; --resume below) ----
  {
    input: 'checkpoint: not a safetensors file',
    args: () => ['eval', checkpoint('text.safetensors', new TextEncoder().encode('{"layers": [784, 10]} is not a checkpoint')), '--data-dir', ok()],
    code: 1,
    says: [/text\.safetensors: not a safetensors file: header length \d+ bytes exceeds the 100000000-byte limit/],
  },
  {
    input: 'checkpoint: an empty file',
    args: () => ['eval', checkpoint('empty.safetensors', new Uint8Array(0)), '--data-dir', ok()],
    code: 1,
    says: ['empty.safetensors: not a safetensors file: 0 bytes, expected at least the 8-byte header length'],
  },
  {
    input: 'checkpoint: a header too large (2^40 bytes)',
    args: () => ['eval', withLength('huge-header.safetensors', 2n ** 40n), '--data-dir', ok()],
    code: 1,
    says: ['huge-header.safetensors: not a safetensors file: header length 1099511627776 bytes exceeds the 100000000-byte limit'],
  },
  {
    input: 'checkpoint: a header length past the end of the file',
    args: () => ['eval', withLength('long-header.safetensors', BigInt(validCheckpoint.length)), '--data-dir', ok()],
    code: 1,
    says: [`long-header.safetensors: truncated: header length ${validCheckpoint.length} bytes, but only ${validCheckpoint.length - 8} bytes follow the length`],
  },
  {
    input: 'checkpoint: a truncated file',
    args: () => ['eval', checkpoint('cut.safetensors', validCheckpoint.subarray(0, -1000)), '--data-dir', ok()],
    code: 1,
    says: [/cut\.safetensors: tensor "layers\.\d\.(weight|bias)": data_offsets \[\d+, \d+\] run past the end of the \d+-byte data section/],
  },
  {
    input: 'checkpoint: offsets that lie (past the data)',
    args: () => ['eval', withHeader('past.safetensors', (h) => void (h['layers.1.bias'].data_offsets = [0, 10 ** 9])), '--data-dir', ok()],
    code: 1,
    says: [/past\.safetensors: tensor "layers\.1\.bias": data_offsets \[0, 1000000000\] run past the end of the \d+-byte data section/],
  },
  {
    input: 'checkpoint: offsets that lie (overlapping tensors)',
    args: () => ['eval', withHeader('overlap.safetensors', (h) => void (h['layers.1.bias'].data_offsets = [0, 40])), '--data-dir', ok()],
    code: 1,
    says: [/overlap\.safetensors: .*overlap/],
  },
  {
    input: 'checkpoint: a shape that does not match its byte range',
    args: () => ['eval', withHeader('span.safetensors', (h) => void (h['layers.0.weight'].shape = [32, 785])), '--data-dir', ok()],
    code: 1,
    says: [/span\.safetensors: tensor "layers\.0\.weight": shape \[32, 785\] of F32 needs 100480 bytes, but data_offsets \[\d+, \d+\] span 100352/],
  },
  {
    input: 'checkpoint: a missing tensor',
    args: () => ['eval', missingTensor(), '--data-dir', ok()],
    code: 1,
    says: ['missing.safetensors: missing tensors layers.1.bias for the spec 784-32-10'],
  },
  {
    input: 'checkpoint: an extra tensor',
    args: () => ['eval', extraTensor(), '--data-dir', ok()],
    code: 1,
    says: ['extra.safetensors: unexpected tensors layers.2.weight (the spec 784-32-10 has 4 parameter tensors)'],
  },
  {
    input: 'checkpoint: shapes that do not match the model spec',
    args: () =>
      [
        'eval',
        withHeader('spec.safetensors', (h) => void (h.__metadata__['webgpu_mlp.spec'] = JSON.stringify({ ...spec, layers: [784, 16, 20] }))),
        '--data-dir',
        ok(),
      ],
    code: 1,
    says: ['spec.safetensors: layers.0.weight: shape [32, 784] in the file, but the spec 784-16-20 needs [16, 784]'],
  },
  {
    input: 'checkpoint: transposed weights',
    args: () => ['eval', transposed(), '--data-dir', ok()],
    code: 1,
    says: [`transposed.safetensors: layers.0.weight: shape [784, 32] in the file, but the spec 784-32-10 needs [32, 784] (transposed? weights are [OUT, IN], as in PyTorch's nn.Linear)`],
  },
  {
    input: 'checkpoint: a dtype other than F32',
    args: () => ['eval', withHeader('f16.safetensors', (h) => void (h['layers.0.bias'].dtype = 'F16')), '--data-dir', ok()],
    code: 1,
    says: ['f16.safetensors: tensor "layers.0.bias": dtype "F16" is not supported, only F32 is'],
  },
  {
    input: 'checkpoint: NaN in the weights',
    args: () => ['eval', nanWeights(), '--data-dir', ok()],
    code: 1,
    says: [/nan\.safetensors: layers\.0\.weight holds 1 non-finite values \(the first, NaN, at flat index 7\): did training diverge before it was saved\?/],
  },
  {
    input: 'checkpoint: written by another tool (no model spec)',
    args: () => ['eval', withHeader('foreign.safetensors', (h) => void (h.__metadata__ = { format: 'pt' })), '--data-dir', ok()],
    code: 1,
    says: ['foreign.safetensors: no webgpu_mlp.spec in the metadata: not a webgpu-mlp checkpoint, or written by another tool'],
  },
  {
    input: 'checkpoint: a missing file',
    args: () => ['eval', at('checkpoints', 'nowhere.safetensors'), '--data-dir', ok()],
    code: 1,
    says: [`${at('checkpoints', 'nowhere.safetensors')}: no such checkpoint file`],
  },
  {
    input: 'checkpoint: a model that does not fit the data',
    args: () => {
      const other: ModelSpec = { ...spec, layers: [100, 10] };
      return ['eval', checkpoint('100-10.safetensors', encodeCheckpoint({ spec: other, params: initialParams(other, { kind: 'he' }, 1), version: 'test' })), '--data-dir', ok()];
    },
    code: 1,
    says: [`${at('data', 'ok')} (test file): images have 784 pixels (28×28), but the model's input layer expects 100`],
  },
  {
    input: 'resume: a torn last.safetensors',
    args: () => ['train', '--resume', unfinishedRun('torn', (path) => writeFileSync(path, readFileSync(path).subarray(0, 5000)))],
    code: 1,
    says: [/runs\/torn\/last\.safetensors: .*(truncated|run past the end)/],
  },
  {
    input: 'resume: a checkpoint that is not resumable (weights only)',
    args: () => ['train', '--resume', unfinishedRun('weights-only', (path) => writeFileSync(path, validCheckpoint))],
    code: 1,
    says: [/runs\/weights-only\/last\.safetensors: not a resumable checkpoint \(no optimizer and trainer state in it\)/],
  },
  {
    input: 'resume: a finished run',
    args: () => ['train', '--resume', at('runs', 'finished')],
    code: 2,
    says: [`${at('runs', 'finished')}: this run has finished (summary.json exists); there is nothing to resume`],
  },
  {
    input: 'resume: not a run directory',
    args: () => ['train', '--resume', at('checkpoints')],
    code: 2,
    says: [`${at('checkpoints')}: no last.safetensors to resume from (is this a run directory?)`],
  },
  {
    input: 'resume: with changed training flags',
    args: () => ['train', '--resume', at('runs', 'unfinished'), '--lr', '0.1', '--batch-size', '64'],
    code: 2,
    says: ['--resume continues a run with its saved settings; drop --lr, --batch-size'],
  },

  // ---- command line ----
  { input: 'CLI: an unknown flag', args: () => ['train', '--bogus'], code: 2, says: ["error: unknown option '--bogus'"] },
  { input: 'CLI: an unknown flag (a plausible name)', args: () => ['train', '--learning-rate', '0.1'], code: 2, says: ["error: unknown option '--learning-rate'"] },
  { input: 'CLI: an unknown command', args: () => ['fit'], code: 2, says: ["error: unknown command 'fit'"] },
  { input: 'CLI: a flag without its value', args: () => ['train', '--lr'], code: 2, says: ["error: option '--lr <rate>' argument missing"] },
  { input: 'CLI: a malformed number', args: () => ['train', '--lr', '0.0.1'], code: 2, says: [`argument '0.0.1' is invalid. expected a number, found "0.0.1"`] },
  { input: 'CLI: a number with a unit', args: () => ['train', '--lr', '1e-3x'], code: 2, says: [`expected a number, found "1e-3x"`] },
  { input: 'CLI: an infinite number', args: () => ['train', '--lr', '1e999'], code: 2, says: [`expected a finite number, found "1e999"`] },
  { input: 'CLI: a fractional integer', args: () => ['train', '--batch-size', '12.5'], code: 2, says: [`option '--batch-size <n>' argument '12.5' is invalid. expected an integer, found "12.5"`] },
  { input: 'CLI: a word for a number', args: () => ['train', '--epochs', 'ten'], code: 2, says: [`expected a number, found "ten"`] },
  { input: 'CLI: lr = 0', args: () => ['train', '--lr', '0'], code: 2, says: ['error: lr must be a positive number, found 0'] },
  { input: 'CLI: lr < 0', args: () => ['train', '--lr', '-0.1'], code: 2, says: ['error: lr must be a positive number, found -0.1'] },
  { input: 'CLI: batch 0', args: () => ['train', '--batch-size', '0'], code: 2, says: ['error: batch-size must be an integer ≥ 1, found 0'] },
  { input: 'CLI: dropout 1', args: () => ['train', '--dropout', '1'], code: 2, says: ['error: model: dropout must be in [0, 1), found 1'] },
  { input: 'CLI: dropout < 0', args: () => ['train', '--dropout', '-0.5'], code: 2, says: ['error: model: dropout must be in [0, 1), found -0.5'] },
  { input: 'CLI: epochs 0', args: () => ['train', '--epochs', '0'], code: 2, says: ['error: epochs must be an integer ≥ 1, found 0'] },
  { input: 'CLI: momentum 1', args: () => ['train', '--momentum', '1'], code: 2, says: ['error: momentum must be in [0, 1), found 1'] },
  { input: 'CLI: a seed beyond 32 bits', args: () => ['train', '--seed', '4294967296'], code: 2, says: ['error: seed must be an integer in [0, 2^32), found 4294967296'] },
  { input: 'CLI: eval batch 0', args: () => ['train', '--eval-batch-size', '0'], code: 2, says: ['error: eval-batch-size must be an integer ≥ 1, found 0'] },
  { input: 'CLI: steps per submit beyond 256', args: () => ['train', '--steps-per-submit', '1000'], code: 2, says: ['error: steps-per-submit must be an integer in [1, 256], found 1000'] },
  { input: 'CLI: checkpoint-every < 0', args: () => ['train', '--checkpoint-every', '-1'], code: 2, says: ['error: --checkpoint-every must be an integer ≥ 0 (optimizer steps; 0 = at epoch ends only), found -1'] },
  { input: 'CLI: max-recoveries < 0', args: () => ['train', '--max-recoveries', '-1'], code: 2, says: ['error: --max-recoveries must be an integer ≥ 0 (0 = stop at the first device loss), found -1'] },
  { input: 'CLI: snapshot-every not an integer', args: () => ['train', '--snapshot-every', '1.5'], code: 2, says: [`option '--snapshot-every <steps>' argument '1.5' is invalid. expected an integer, found "1.5"`] },
  { input: 'CLI: patience without validation', args: () => ['train', '--patience', '3', '--val-split', '0'], code: 2, says: ['error: patience must be 0 when there is no validation set (val-split 0), found 3'] },
  { input: 'CLI: one layer width', args: () => ['train', '--layers', '784'], code: 2, says: [`expected comma-separated positive widths from input to classes, e.g. 784,256,128,10; found "784"`] },
  { input: 'CLI: a zero-width layer', args: () => ['train', '--layers', '784,0,10'], code: 2, says: [`found "784,0,10"`] },
  { input: 'CLI: one class', args: () => ['train', '--layers', '784,32,1'], code: 2, says: ['error: model: the output layer needs at least 2 classes, found 1'] },
  {
    input: 'CLI: layers whose input does not match the data',
    args: () => ['train', '--data-dir', ok(), '--val-split', '100', '--layers', '100,10', '--run-dir', at('runs', 'new')],
    code: 1,
    says: [`${at('data', 'ok')} (training file): images have 784 pixels (28×28), but the model's input layer expects 100`],
  },
  { input: 'CLI: an unknown activation', args: () => ['train', '--activation', 'gelu'], code: 2, says: ["argument 'gelu' is invalid. Allowed choices are relu, sigmoid, tanh"] },
  { input: 'CLI: eval batch 0 (eval)', args: () => ['eval', at('checkpoints', 'valid.safetensors'), '--batch-size', '0'], code: 2, says: ['error: --batch-size must be an integer ≥ 1, found 0'] },
  { input: 'CLI: eval of an unknown set', args: () => ['eval', at('checkpoints', 'valid.safetensors'), '--set', 'validation'], code: 2, says: ["argument 'validation' is invalid. Allowed choices are test, train"] },
  {
    input: 'CLI: predict on a file that is not an image',
    args: () => ['predict', at('checkpoints', 'valid.safetensors'), checkpoint('digit.png', new TextEncoder().encode('hello'))],
    code: 1,
    says: [`${at('checkpoints', 'digit.png')}: unknown format (first bytes 0x68 0x65 0x6c 0x6c); expected a PNG or PGM (P2/P5) image`],
  },
  {
    input: 'run directory: a finished run without --overwrite',
    args: () => trainOn(ok(), '--run-dir', at('runs', 'finished')),
    code: 2,
    says: [`${at('runs', 'finished')} already holds a finished run; choose another --run-dir or pass --overwrite to replace it`],
  },
  {
    input: 'run directory: an unfinished run without --overwrite',
    args: () => trainOn(ok(), '--run-dir', at('runs', 'unfinished')),
    code: 2,
    says: [`${at('runs', 'unfinished')} holds an unfinished run; continue it with --resume ${at('runs', 'unfinished')}, or pass --overwrite to start over`],
  },
  {
    input: 'run directory: --overwrite of a finished run by a run that fails (bad layers)',
    args: () => ['train', '--data-dir', ok(), '--val-split', '100', '--layers', '100,10', '--run-dir', at('runs', 'finished'), '--overwrite'],
    code: 1,
    says: ["but the model's input layer expects 100"],
  },
  {
    input: 'run directory: --overwrite of a finished run by a model too large for the adapter',
    args: () => ['train', '--data-dir', ok(), '--val-split', '100', '--layers', '784,200000,10', '--run-dir', at('runs', 'finished'), '--overwrite'],
    code: 2,
    says: ["more than this adapter's maxStorageBufferBindingSize"],
  },
];

function missingTensor(): string {
  // The last tensor of the data section (biases follow weights), removed with its bytes.
  const edited = editHeader(validCheckpoint, (h) => void delete h['layers.1.bias']);
  return checkpoint('missing.safetensors', edited.subarray(0, edited.length - 10 * 4));
}

function extraTensor(): string {
  // An extra tensor needs bytes of its own: append 4 bytes of data for a [1, 1] tensor at the end.
  const withEntry = editHeader(validCheckpoint, (h) => {
    const end = Math.max(...Object.values(h).flatMap((e) => ((e as { data_offsets?: number[] }).data_offsets ?? [0])));
    (h as Record<string, unknown>)['layers.2.weight'] = { dtype: 'F32', shape: [1, 1], data_offsets: [end, end + 4] };
  });
  return checkpoint('extra.safetensors', Buffer.concat([withEntry, new Uint8Array(4)]));
}

function transposed(): string {
  return withHeader('transposed.safetensors', (h) => void (h['layers.0.weight'].shape = [784, 32]));
}

function nanWeights(): string {
  const params = initialParams(spec, { kind: 'he' }, 1);
  params[7] = NaN;
  return checkpoint('nan.safetensors', encodeCheckpoint({ spec, params, version: 'test' }));
}

/** A copy of the unfinished run, with its last.safetensors changed by `edit`. */
function unfinishedRun(name: string, edit: (lastPath: string) => void): string {
  const dir = at('runs', name);
  cpSync(at('runs', 'unfinished'), dir, { recursive: true });
  edit(join(dir, 'last.safetensors'));
  return dir;
}

describe('bad input, through the CLI', () => {
  beforeAll(() => {
    writeIdxDataset(at('data', 'ok'), train, test);
    checkpoint('valid.safetensors', validCheckpoint);
    // A finished run, and an unfinished one (the same, before its summary).
    const finished = cli(work, ['train', '--data-dir', ok(), '--val-split', '100', '--layers', '784,16,10', '--epochs', '1', '--run-dir', at('runs', 'finished'), '--no-report']);
    expect(finished.code, finished.stderr).toBe(0);
    cpSync(at('runs', 'finished'), at('runs', 'unfinished'), { recursive: true });
    rmSync(at('runs', 'unfinished', 'summary.json'));
  });

  const answers: string[] = [];
  afterAll(() => console.log(`${answers.length} bad inputs tried:\n${answers.join('\n')}`));

  it.each(CASES.map((c) => [c.input, c] as const))('%s', (_input, c) => {
    const args = c.args(); // builds the case's files first
    const before = snapshot(work);
    const { code, stdout, stderr } = cli(work, args);
    const message = ourStderr(stderr);
    answers.push(`  [exit ${code}] ${c.input}: ${message.split('\n')[0]}`);
    for (const expected of c.says) {
      if (typeof expected === 'string') expect(message).toContain(expected);
      else expect(message).toMatch(expected);
    }
    expect(message).not.toMatch(/internal error|\n\s+at /); // a sentence, never a stack trace
    expect(code).toBe(c.code);
    expect(stdout).toBe('');
    // Nothing written, nothing overwritten, nothing removed.
    const after = snapshot(work);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [path, bytes] of before) expect(Buffer.compare(after.get(path)!, bytes), path).toBe(0);
  });
});
