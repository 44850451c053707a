// Interoperability with PyTorch, from the other side than README's loading snippet: a checkpoint
// PyTorch wrote (data/fixtures/make_pytorch_mlp.py: a trained 784-16-8-10 tanh stack of nn.Linear,
// saved in safetensors layout by a writer of its own) loads here, and our GPU forward pass and CPU
// reference give PyTorch's logits and predictions on MNIST's test set.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/checkpoint/files.ts';
import { openGpu } from '../../src/index.ts';
import { loadIdxDataset, readModel } from '../../src/node.ts';
import { optimizerConfig } from '../../src/model/optimizer.ts';
import { ReferenceMlp } from '../../src/reference/mlp.ts';
import { compareArrays } from '../helpers/compare.ts';

const gpu = await openGpu();
afterAll(() => gpu.close());

const FIXTURES = join(import.meta.dirname, '..', '..', 'data', 'fixtures');
const checkpointPath = join(FIXTURES, 'pytorch_mlp.safetensors');
const expected = JSON.parse(readFileSync(join(FIXTURES, 'pytorch_mlp.json'), 'utf8')) as {
  spec: unknown;
  /** PyTorch's float64 forward pass of the float32 weights: the first rows of the test set. */
  logits: number[][];
  /** argmax for all 10,000 test images. */
  predictions: number[];
};

/**
 * The CPU reference also runs in float64 from the same float32 weights; only the order of the sums
 * differs from PyTorch's (a few ulp of logits of magnitude < 20).
 */
const REFERENCE_TOLERANCE = { atol: 1e-12, rtol: 1e-12 };
/**
 * Our GPU computes in float32: over K ≤ 784 terms with inputs in [0, 1] and |w| < 1 the sums carry
 * rounding of ~K·2^-24·|partial sums| ≈ 1e-5 at most in these logits (measured: 8.2e-7), then tanh.
 */
const GPU_TOLERANCE = { atol: 2e-5, rtol: 1e-5 };

const mnist = await loadIdxDataset();
const checkpoint = await loadCheckpoint(checkpointPath);
const rows = expected.logits.length;
const firstRows = mnist.test.slice(0, rows, 'test');
const pixels = firstRows.features.subarray(0, rows * 784);

describe('a checkpoint written with PyTorch', () => {
  it('loads with its spec and every tensor', () => {
    expect(checkpoint.spec).toEqual(expected.spec);
    expect(checkpoint.version).toMatch(/^pytorch /);
    expect(checkpoint.optimizer).toBeUndefined();
  });

  it("gives PyTorch's logits on the CPU reference", () => {
    const mlp = new ReferenceMlp(checkpoint.spec, optimizerConfig('sgd'), checkpoint.params);
    // Pixels / 255 in float64, as PyTorch's fixture computed them.
    const { a } = mlp.forward(Float64Array.from(pixels, (pixel) => pixel / 255), rows, false);
    compareArrays('reference logits vs PyTorch', a[a.length - 1], expected.logits.flat(), REFERENCE_TOLERANCE, [rows, 10]);
  });

  it("gives PyTorch's logits on the GPU", async () => {
    const model = await readModel(gpu, checkpointPath);
    try {
      const { logits } = await model.predict(pixels);
      const { maxAbsDiff } = compareArrays('GPU logits vs PyTorch', logits, expected.logits.flat(), GPU_TOLERANCE, [rows, 10]);
      console.log(`PyTorch fixture: max |GPU − PyTorch| logit difference ${maxAbsDiff.toExponential(2)} over ${rows}×10`);
    } finally {
      model.dispose();
    }
  });

  it("predicts PyTorch's class for each of the 10,000 test images, on the GPU and the CPU reference", async () => {
    for (const backend of [gpu, 'cpu'] as const) {
      const model = await readModel(backend, checkpointPath);
      const result = await model.evaluate(mnist.test);
      model.dispose();
      const differing = expected.predictions.flatMap((p, i) => (result.predictions[i] === p ? [] : [i]));
      expect(differing, `${backend === 'cpu' ? 'CPU reference' : 'GPU'}: images predicted differently from PyTorch`).toEqual([]);
    }
  });
});
