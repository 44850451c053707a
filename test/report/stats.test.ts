// The numbers behind the report's figures: histogram binning, summaries, thinning of long curves,
// predictions and confidences from logits, the mistakes gallery's order, label counts, mean images,
// parameter counts.
import { describe, expect, it } from 'vitest';
import { createModel } from '../../src/index.ts';
import {
  bucketMeans,
  finiteRange,
  firstOfEachClass,
  histogram,
  labelCounts,
  meanImage,
  mistakesByConfidence,
  parameterCount,
  predictionsFromLogits,
  stepPositions,
  summarize,
} from '../../src/report/stats.ts';

describe('histogram', () => {
  it('bins half-open intervals, the last one closed, over the data range by default', () => {
    const h = histogram([0, 0.25, 0.5, 0.75, 1, 1, 0.49], 4);
    expect(h.edges).toEqual([0, 0.25, 0.5, 0.75, 1]);
    // [0, .25): 0 · [.25, .5): .25, .49 · [.5, .75): .5 · [.75, 1]: .75, 1, 1
    expect(h.counts).toEqual([1, 2, 1, 3]);
    expect(h.outside).toBe(0);
  });

  it('counts values outside a given range, and non-finite values, as outside', () => {
    const h = histogram([-2, -1, 0, 1, 2, NaN, Infinity], 2, [-1, 1]);
    expect(h.counts).toEqual([1, 2]);
    expect(h.outside).toBe(4);
    expect(h.counts.reduce((a, b) => a + b, 0) + h.outside).toBe(7);
  });

  it('widens a zero-width range (all values equal, e.g. zero biases) to ±0.5', () => {
    const h = histogram(new Float32Array(10), 5);
    expect(h.edges[0]).toBe(-0.5);
    expect(h.edges[5]).toBe(0.5);
    expect(h.counts).toEqual([0, 0, 10, 0, 0]);
  });

  it('keeps every value of a large random sample', () => {
    const values = Float64Array.from({ length: 10_001 }, (_, i) => Math.sin(i) * 3);
    const h = histogram(values, 37);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(values.length);
    expect(h.edges).toHaveLength(38);
    expect(h.edges[37]).toBe(Math.max(...values));
  });

  it('rejects a bin count that is not a positive integer', () => {
    expect(() => histogram([1], 0)).toThrow(/bins must be a positive integer/);
  });
});

describe('summaries', () => {
  it('mean, population std, min and max', () => {
    expect(summarize([1, 2, 3, 4])).toEqual({ count: 4, mean: 2.5, std: Math.sqrt(1.25), min: 1, max: 4 });
    expect(summarize([]).mean).toBeNaN();
  });

  it('finite range over several arrays, ignoring NaN and infinities', () => {
    expect(finiteRange([1, NaN, 3], [-2, Infinity])).toEqual([-2, 3]);
    expect(finiteRange([NaN])).toBeUndefined();
  });
});

describe('bucketMeans', () => {
  it('returns short curves as they are', () => {
    const points = [{ x: 1, y: 2 }];
    expect(bucketMeans(points, 10)).toEqual({ points, bucket: 1 });
  });

  it('averages long curves in equal buckets, keeping their level and span', () => {
    const points = Array.from({ length: 1000 }, (_, i) => ({ x: i, y: i % 2 }));
    const { points: thin, bucket } = bucketMeans(points, 100);
    expect(bucket).toBe(10);
    expect(thin).toHaveLength(100);
    for (const p of thin) expect(p.y).toBeCloseTo(0.5, 12);
    expect(thin[0].x).toBe(4.5);
    expect(thin[99].x).toBe(994.5);
  });
});

describe('predictions and mistakes', () => {
  it('takes the argmax (ties to the lower class) and its softmax probability', () => {
    const logits = [
      [0, 0, 0], // a three-way tie: class 0, probability 1/3
      [1, 3, 3], // tie between 1 and 2: class 1
      [0, Math.log(3), 0], // class 1 with probability 3/5
    ].flat();
    const p = predictionsFromLogits(logits, [0, 2, 1], 3);
    expect(p.map((r) => r.predicted)).toEqual([0, 1, 1]);
    expect(p[0].confidence).toBeCloseTo(1 / 3, 12);
    expect(p[1].confidence).toBeCloseTo(Math.exp(3) / (Math.exp(1) + 2 * Math.exp(3)), 12);
    expect(p[2].confidence).toBeCloseTo(3 / 5, 12);
  });

  it('stays finite for huge logits (max subtraction)', () => {
    const [p] = predictionsFromLogits([1000, 999], [0], 2);
    expect(p.confidence).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
  });

  it('lists only the mistakes, most confident first, ties by index', () => {
    const predictions = [
      { index: 0, label: 1, predicted: 1, confidence: 0.99 },
      { index: 1, label: 1, predicted: 2, confidence: 0.6 },
      { index: 2, label: 0, predicted: 3, confidence: 0.9 },
      { index: 3, label: 4, predicted: 5, confidence: 0.6 },
    ];
    expect(mistakesByConfidence(predictions).map((p) => p.index)).toEqual([2, 1, 3]);
  });

  it('rejects logits that do not match the labels', () => {
    expect(() => predictionsFromLogits([1, 2, 3], [0, 1], 2)).toThrow(/3 logits for 2 rows of 2 classes/);
  });
});

describe('dataset views', () => {
  it('counts labels and picks the first samples of each class', () => {
    const labels = [2, 0, 2, 1, 2, 0];
    expect(labelCounts(labels, 4)).toEqual([2, 1, 3, 0]);
    expect(firstOfEachClass(labels, 4, 2)).toEqual([[1, 5], [3], [0, 2], []]);
  });

  it('averages images pixel by pixel, optionally for one class', () => {
    const images = new Uint8Array([0, 10, 90, 30, 210, 50]); // three 2-pixel images
    const labels = [0, 1, 0];
    expect([...meanImage(images, labels, 2)]).toEqual([100, 30]);
    expect([...meanImage(images, labels, 2, (label) => label === 0)]).toEqual([105, 30]);
    expect([...meanImage(images, labels, 2, (label) => label === 1)]).toEqual([90, 30]);
    expect([...meanImage(images, labels, 2, (label) => label === 7)]).toEqual([0, 0]);
  });
});

describe('parameterCount', () => {
  it("counts weights and biases as the model does, without making one", async () => {
    for (const layers of [[784, 10], [784, 256, 128, 10], [3, 5, 2]]) {
      const model = await createModel('cpu', { layers });
      expect(parameterCount({ layers }), layers.join('-')).toBe(model.parameterCount);
      model.dispose();
    }
    expect(parameterCount({ layers: [784, 256, 128, 10] })).toBe(784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
  });
});

describe('stepPositions', () => {
  it('spreads each epoch\'s steps over it, ending at the epoch boundary', () => {
    const steps = [1, 1, 1, 1, 2, 2].map((epoch, i) => ({ t: i + 1, epoch, loss: 1 }));
    expect(stepPositions(steps)).toEqual([0.25, 0.5, 0.75, 1, 1.5, 2]);
  });
});
