// CSV tables through the command line, as a user meets them: train → eval → predict on the Palmer
// penguins (data/fixtures/penguins.csv), the run directory recording where the data came from, and
// bad tables refused with exit 1 before anything is written, naming the file, row and column.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const penguins = join(root, 'data', 'fixtures', 'penguins.csv');
const newPenguins = join(root, 'data', 'fixtures', 'penguins-new.csv');
const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-tables-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(root, 'bin', 'webgpu-mlp.mjs'), ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  const stderr = result.stderr
    .split('\n')
    .filter((line) => line && !line.startsWith('Warning: maxDynamic'))
    .join('\n');
  return { code: result.status ?? -1, stdout: result.stdout, stderr };
}

describe('a table end to end', () => {
  const run = join(work, 'penguins');

  it('train --data --label --ignore --hidden: input and output widths from the table, a test split held out', () => {
    const result = cli('train', '--data', penguins, '--label', 'species', '--ignore', 'island', '--hidden', '16,8', '--epochs', '60', '--run-dir', run, '--no-report');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/model 4-16-8-3 relu/);
    // 342 rows: 68 test (20%), then 20% of the 274 left for validation; batch 32 for a small table.
    expect(result.stdout).toMatch(/train 219, validation 55, test 68/);
    expect(result.stdout).toMatch(/batch 32, 60 epochs/);
    const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    expect(config.run.data).toEqual({ kind: 'csv', train: penguins, test: null, label: 'species', ignore: ['island'], testSplit: 0.2 });
    expect(config.validation).toBe(0.2);
    expect(config.validationShuffle).toBe(true);
    expect(config.standardize).toBe(true);
    const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
    expect(summary.test.count).toBe(68);
    expect(summary.test.accuracy).toBeGreaterThan(0.9);
  });

  it('eval CHECKPOINT --data: the label column from the model, classes by name', () => {
    const result = cli('eval', join(run, 'best.safetensors'), '--data', penguins);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/penguins\.csv: accuracy 9\d\.\d\d% \(\d+\/342\)/);
    expect(result.stdout).toMatch(/Adelie +Chinstrap +Gentoo/);
    expect(result.stdout).toMatch(/per class: Adelie \d+\.\d%, Chinstrap/);
  });

  it('predict CHECKPOINT --data: each row\'s class name and probabilities, printed or as CSV', () => {
    const printed = cli('predict', join(run, 'best.safetensors'), '--data', newPenguins);
    expect(printed.code).toBe(0);
    const lines = printed.stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^row 1: Adelie {2}\(Adelie: \d+\.\d%/);
    expect(lines[3]).toMatch(/^row 4: Gentoo/);
    const out = join(work, 'predictions.csv');
    expect(cli('predict', join(run, 'best.safetensors'), '--data', newPenguins, '--out', out).code).toBe(0);
    const csv = readFileSync(out, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('row,predicted,confidence,p(Adelie),p(Chinstrap),p(Gentoo)');
    expect(csv).toHaveLength(6);
    const probabilities = csv[1].split(',').slice(3).map(Number);
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  });

  it('report RUN_DIR: class names, and table views in place of the image-only panels', () => {
    const result = cli('report', run, '--no-png', '--device', 'cpu');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const html = readFileSync(join(run, 'report.html'), 'utf8');
    expect(html).toContain('id="feature-stats"');
    expect(html).toMatch(/<td>bill_length_mm<\/td><td>3\d\.\d<\/td>/);
    expect(html).toContain('Most confident mistakes');
    expect(html).toContain('First-layer weights by feature');
    expect(html).toMatch(/<th[^>]*>Adelie<\/th>|>Adelie</);
    expect(html).not.toContain('class="mistake"');
  });

  it('--test-data, --val-split as a fraction and --layers that fit', () => {
    const test = join(work, 'test.csv');
    const rows = readFileSync(penguins, 'utf8').trim().split('\n');
    writeFileSync(test, [rows[0], ...rows.slice(1).filter((_, i) => i % 5 === 0)].join('\n') + '\n');
    const dir = join(work, 'with-test');
    const result = cli('train', '--data', penguins, '--test-data', test, '--label', 'species', '--ignore', 'island', '--layers', '4,8,3', '--val-split', '0.3', '--epochs', '3', '--run-dir', dir, '--no-report');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/train 239, validation 103, test 69/);
  });
});

describe('search on a table', () => {
  it('search --data --label --grid hidden=...: trials, then the selection retrained and tested on the table', () => {
    const dir = join(work, 'search');
    const result = cli('search', '--data', penguins, '--label', 'species', '--ignore', 'island', '--grid', 'hidden=4,8-4', '--epochs', '3', '--no-report', '--no-baseline', '--dir', dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const csv = readFileSync(join(dir, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(4); // header, 2 trials, the final run
    const definition = JSON.parse(readFileSync(join(dir, 'search.json'), 'utf8'));
    expect(definition.data).toMatchObject({ kind: 'csv', label: 'species', testSplit: 0.2 });
    expect(definition.base.spec.layers).toEqual([4, 64, 32, 3]);
    const summary = JSON.parse(readFileSync(join(dir, 'final', 'summary.json'), 'utf8'));
    expect(summary.test.count).toBe(68);
  });
});

describe('bad tables: exit 1, nothing written', () => {
  const bad = (name: string, text: string) => {
    const path = join(work, name);
    writeFileSync(path, text);
    return path;
  };
  it.each([
    ['ragged.csv', 'a,b,y\n1,2,u\n3,4\n5,6,v\n', 'row 3 has 2 fields, but the header (row 1) has 3'],
    ['text.csv', 'a,b,y\n1,2,u\n3,four,v\n', 'row 3, column "b" (2): "four" is not a finite number; to leave the column out, ignore it (--ignore)'],
    ['empty-cell.csv', 'a,b,y\n1,2,u\n3,,v\n', 'row 3, column "b" (2): empty cell'],
    ['one-class.csv', 'a,b,y\n1,2,u\n3,4,u\n', 'the label column "y" holds one class only ("u") in its 2 rows'],
    ['empty.csv', '', 'the file is empty'],
    ['no-label.csv', 'a,b,z\n1,2,u\n', 'no label column "y" in the header (its columns: "a", "b", "z")'],
  ])('%s', (name, text, message) => {
    const path = bad(name, text);
    const dir = join(work, `run-${name}`);
    const result = cli('train', '--data', path, '--label', 'y', '--run-dir', dir);
    expect(result.stderr.split('\n')).toHaveLength(1);
    expect(result.stderr.startsWith(`error: ${path}: ${message}`), result.stderr).toBe(true);
    expect(result.code).toBe(1);
    expect(existsSync(dir)).toBe(false);
  });

  it('a test table with a class the training table lacks', () => {
    const train = bad('train2.csv', 'a,y\n1,u\n2,v\n3,u\n4,v\n5,u\n6,v\n');
    const test = bad('test2.csv', 'a,y\n1,u\n2,w\n');
    const result = cli('train', '--data', train, '--test-data', test, '--label', 'y', '--run-dir', join(work, 'run-test2'));
    expect(result.stderr).toBe(`error: ${test}: row 3, column "y" (2): label "w" is not one of the model's classes ("u", "v")`);
    expect(result.code).toBe(1);
  });
});

describe('usage errors: exit 2', () => {
  it.each([
    [['train', '--data', penguins], /--data .*penguins\.csv needs --label COLUMN/],
    [['train', '--data', penguins, '--label', 'species', '--data-dir', '/tmp'], /--data \(a CSV table\) and --data-dir \(an IDX directory\) name two datasets/],
    [['train', '--label', 'species'], /--label needs --data FILE\.csv/],
    [['train', '--data', penguins, '--label', 'species', '--ignore', 'island', '--layers', '784,10'], /--layers 784,10 does not fit the data: the table has 4 features and 3 classes, so the layers must start with 4 and end with 3/],
    [['train', '--data', penguins, '--label', 'species', '--ignore', 'island', '--layers', '4,3', '--hidden', '8'], /--layers gives every width and --hidden the hidden ones: give one/],
    [['train', '--data', penguins, '--label', 'species', '--test-split', '1.5'], /--test-split: expected a fraction in \(0, 1\)/],
    [['train', '--hidden', '8,x'], /--hidden: expected comma-separated positive widths/],
    [['predict', join(root, 'data', 'fixtures', 'pytorch_mlp.safetensors')], /predict needs image files, or --data FILE\.csv/],
  ])('%j', (args, message) => {
    const result = cli(...args);
    expect(result.stderr).toMatch(message);
    expect(result.code).toBe(2);
  });
});
