// Result tables: the sort by validation accuracy, the peak-epoch column, the columns that vary, CSV
// and Markdown; and the definition check that keeps a directory to one search. No GPU.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/index.ts';
import { recordsCsv, resultTable, sortByValidation, tableMarkdown, tableText, type RunRecord } from '../../src/experiments/results.ts';
import { DefinitionError, jsonDifferences, pinDefinition } from '../../src/experiments/runner.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-results-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function record(name: string, options: Record<string, unknown>, result: Partial<RunRecord>): RunRecord {
  return {
    name,
    role: 'trial',
    label: name,
    config: resolveConfig({ epochs: 5 }, options),
    status: 'completed',
    epochs: 5,
    bestEpoch: 5,
    valAccuracy: null,
    valLoss: null,
    testAccuracy: null,
    testLoss: null,
    secondsPerEpoch: 1.5,
    wallSeconds: 9,
    adapter: 'test adapter',
    finishedAt: '2026-01-01T00:00:00.000Z',
    ...result,
  };
}

const records = [
  record('a', { lr: '0.1' }, { valAccuracy: 0.95, valLoss: 0.2, bestEpoch: 3 }),
  record('b', { lr: '0.01' }, { valAccuracy: 0.97, valLoss: 0.1, bestEpoch: 5 }),
  record('c', { lr: '1' }, { status: 'diverged', epochs: 2, bestEpoch: null }),
  record('d', { lr: '0.03' }, { valAccuracy: 0.95, valLoss: 0.25, bestEpoch: 4 }),
  record('e', { lr: '0.003' }, { valAccuracy: 0.96, valLoss: 0.15, bestEpoch: 2 }),
];

describe('the results table', () => {
  it('sorts by validation accuracy, best first; runs without one last; ties in run order', () => {
    expect(sortByValidation(records).map((r) => r.name)).toEqual(['b', 'e', 'a', 'd', 'c']);
  });

  it('shows the peak epoch of each run, the settings that vary, and what all runs share', () => {
    const table = resultTable(sortByValidation(records));
    expect(table.columns).toEqual(['#', 'run', 'lr', 'peak epoch', 'val acc', 'val loss', 's/epoch', 'status']);
    expect(table.rows[0]).toEqual(['1', 'b', '0.01', '5 / 5', '97.00%', '0.1000', '1.50', 'completed']);
    expect(table.rows[1].slice(3, 5)).toEqual(['2 / 5', '96.00%']);
    expect(table.rows[4]).toEqual(['5', 'c', '1', '– / 2', '–', '–', '1.50', 'diverged']);
    expect(table.fixed).toContainEqual(['epochs', '5']);
    expect(table.fixed).toContainEqual(['layers', '784-256-128-10']);

    const markdown = tableMarkdown(table);
    expect(markdown.split('\n')[0]).toBe('| # | run | lr | peak epoch | val acc | val loss | s/epoch | status |');
    expect(markdown).toMatch(/^\| 1 \| b \| 0\.01 \| 5 \/ 5 \| 97\.00% \|/m);
    expect(markdown).toMatch(/All runs: layers 784-256-128-10, activation relu, .*epochs 5/);
    const text = tableText(table).split('\n');
    expect(text).toHaveLength(2 + records.length);
    expect(new Set(text.map((line) => line.length)).size).toBe(1); // aligned columns: every line as long
  });

  it('adds the test column when runs were tested, and leaves out columns that do not vary', () => {
    const tested = [
      record('mlp', { layers: '784,64,10' }, { role: 'run', valAccuracy: 0.97, testAccuracy: 0.968 }),
      record('baseline-784-10', { layers: '784,10' }, { role: 'baseline', label: 'logistic regression 784-10', valAccuracy: 0.92, testAccuracy: 0.921 }),
    ];
    const table = resultTable(tested);
    expect(table.columns).toEqual(['#', 'run', 'layers', 'peak epoch', 'val acc', 'val loss', 'test acc', 's/epoch']);
    expect(table.rows[1][1]).toBe('logistic regression 784-10 (baseline)');
    // The baseline has no activation or dropout to speak of: they are not differences.
    expect(table.fixed).toContainEqual(['activation', 'relu']);
    expect(table.fixed).toContainEqual(['dropout', '0.2']);
  });

  it('writes every field as CSV, in the order given', () => {
    const csv = recordsCsv(sortByValidation(records)).trim().split('\n');
    expect(csv).toHaveLength(1 + records.length);
    const header = csv[0].split(',');
    const row = Object.fromEntries(csv[1].split(',').map((v, i) => [header[i], v]));
    expect(row).toMatchObject({ rank: '1', name: 'b', lr: '0.01', best_epoch: '5', val_accuracy: '0.97', test_accuracy: '', status: 'completed' });
    // A label with a comma is quoted.
    expect(recordsCsv([record('x', {}, { label: 'hidden=1, lr=2' })]).split('\n')[1]).toContain('"hidden=1, lr=2"');
  });
});

describe('a directory holds one definition', () => {
  it('accepts the same definition again and refuses another, saying what changed', async () => {
    const dir = join(work, 'search');
    const definition = { kind: 'search', axes: [{ key: 'lr', values: [0.1, 0.01] }], base: { epochs: 3, lr: 0.001 } };
    expect(await pinDefinition(dir, 'search.json', definition, 'search')).toBe('new');
    // Key order does not matter.
    expect(await pinDefinition(dir, 'search.json', { base: { lr: 0.001, epochs: 3 }, axes: definition.axes, kind: 'search' }, 'search')).toBe('same');
    const changed = { ...definition, axes: [{ key: 'lr', values: [0.1, 0.03] }], base: { epochs: 5, lr: 0.001 } };
    const refusal = pinDefinition(dir, 'search.json', changed, 'search');
    await expect(refusal).rejects.toThrow(DefinitionError);
    await expect(refusal).rejects.toThrow(/holds a different search \(axes\.0\.values\.1: 0\.01 → 0\.03; base\.epochs: 3 → 5\)\. .*choose another --dir/);
  });

  it('names additions and removals', () => {
    expect(jsonDifferences({ a: 1, b: [1, 2] }, { a: 1, b: [1, 2, 3], c: true })).toEqual(['b: [1,2] → [1,2,3]', 'c: (absent) → true']);
  });
});
