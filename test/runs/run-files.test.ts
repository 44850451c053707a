// Reading run directories back, and the baseline convention: a given directory, else
// ../baseline-{IN}-{C} beside the run, else none (and a run without hidden layers is its own).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bestValidation, findBaseline, loadRunFiles, splitDifferences } from '../../src/node.ts';
import { DEFAULT_CONFIG, type TrainConfig } from '../../src/train/config.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-run-files-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function writeRun(dir: string, layers: number[], epochs: { valAccuracy?: number; valLoss?: number }[] = []): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...DEFAULT_CONFIG, spec: { ...DEFAULT_CONFIG.spec, layers } }));
  const records = epochs.map((e, i) => ({ epoch: i + 1, trainLoss: 1, trainAccuracy: 0.5, lr: 0.001, seconds: 1, samplesPerSecond: 1, evalSeconds: 0, ...e }));
  writeFileSync(join(dir, 'metrics.jsonl'), records.map((r) => JSON.stringify(r)).join('\n'));
  writeFileSync(join(dir, 'steps.csv'), 't,epoch,loss\n1,1,2.5\n2,1,2\n');
  return dir;
}

describe('loadRunFiles', () => {
  it('reads config, epochs and steps of an unfinished run, with no checkpoint', async () => {
    const run = await loadRunFiles(writeRun(join(work, 'unfinished'), [784, 16, 10], [{ valAccuracy: 0.8 }, { valAccuracy: 0.9, valLoss: 0.3 }, { valAccuracy: 0.85 }]));
    expect(run.name).toBe('unfinished');
    expect(run.summary).toBeNull();
    expect(run.checkpoint).toBeNull();
    expect(run.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(run.steps).toEqual([
      { t: 1, epoch: 1, loss: 2.5 },
      { t: 2, epoch: 1, loss: 2 },
    ]);
    expect(bestValidation(run)).toEqual({ accuracy: 0.9, loss: 0.3, epoch: 2 });
  });

  it('says when a directory is missing, or is not a run', async () => {
    await expect(loadRunFiles(join(work, 'nowhere'))).rejects.toThrow(/nowhere: no such directory/);
    mkdirSync(join(work, 'empty'));
    await expect(loadRunFiles(join(work, 'empty'))).rejects.toThrow(/no config\.json here; is this a run directory/);
    mkdirSync(join(work, 'broken'));
    writeFileSync(join(work, 'broken', 'config.json'), '{"spec": ');
    await expect(loadRunFiles(join(work, 'broken'))).rejects.toThrow(/config\.json: not valid JSON/);
  });
});


describe('findBaseline', () => {
  const runs = join(work, 'runs');
  const mlp = writeRun(join(runs, 'mlp'), [784, 32, 10]);

  it('says where it looked when there is no baseline', async () => {
    const lookup = await findBaseline(await loadRunFiles(mlp));
    expect(lookup).toEqual({ kind: 'missing', lookedAt: join(runs, 'baseline-784-10') });
  });

  it('finds ../baseline-784-10 beside the run, unless told not to look', async () => {
    writeRun(join(runs, 'baseline-784-10'), [784, 10]);
    const lookup = await findBaseline(await loadRunFiles(mlp));
    expect(lookup.kind === 'found' && lookup.how === 'convention' && lookup.run.name).toBe('baseline-784-10');
    expect((await findBaseline(await loadRunFiles(mlp), null)).kind).toBe('missing');
  });

  it('takes a given directory, which must hold a logistic regression', async () => {
    const other = writeRun(join(work, 'elsewhere', 'lr'), [784, 10]);
    const lookup = await findBaseline(await loadRunFiles(mlp), other);
    expect(lookup.kind === 'found' && lookup.how).toBe('given');
    await expect(findBaseline(await loadRunFiles(mlp), mlp)).rejects.toThrow(/a baseline must be a logistic regression \(layers IN,C\), found 784-32-10/);
  });

  it('treats a run without hidden layers as its own baseline', async () => {
    expect(await findBaseline(await loadRunFiles(join(runs, 'baseline-784-10')))).toEqual({ kind: 'self' });
  });
});

describe('splitDifferences', () => {
  const base: TrainConfig = DEFAULT_CONFIG;
  it('is empty for the same split, whatever the model and optimizer', () => {
    expect(splitDifferences(base, { ...base, lr: 0.1, spec: { ...base.spec, layers: [784, 10] } })).toEqual([]);
    // The seed picks a held-out set only when the hold-out is shuffled.
    expect(splitDifferences(base, { ...base, seed: 7 })).toEqual([]);
  });

  it('names each difference', () => {
    expect(splitDifferences(base, { ...base, validation: 5000, trainSubset: 100 })).toEqual(['validation 10000 vs 5000', 'trainSubset 0 vs 100']);
    const shuffled = { ...base, validationShuffle: true };
    expect(splitDifferences(shuffled, { ...shuffled, seed: 2 })).toEqual(['validation drawn with seed 1 vs 2']);
  });
});
