// CSV tables: what is read, how labels become classes, and the errors a bad table gets (each naming
// the file, the row as an editor counts lines, and the column). Text (the browser's path) and files
// (Node's streaming path) go through the same builder; both are checked here.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareClassNames, parseCsvText, type CsvOptions } from '../../src/data/csv.ts';
import { readCsvFile } from '../../src/data/csv-file.ts';
import { DataError } from '../../src/data/idx.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-csv-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const read = (text: string, options: CsvOptions = { label: 'y' }) => parseCsvText(text, 't.csv', options);

function errorOf(text: string, options: CsvOptions = { label: 'y' }): string {
  try {
    read(text, options);
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).code).toBe('DATA');
    return (error as Error).message;
  }
  throw new Error('expected a DataError');
}

describe('reading tables', () => {
  it('reads features as f32, names the columns, and sorts string classes', () => {
    const set = read('a,b,y\n1,2.5,dog\n-3,4e2,cat\n5,.5,dog\n');
    expect(set.count).toBe(3);
    expect(set.inputSize).toBe(2);
    expect([...set.features]).toEqual([1, 2.5, -3, 400, 5, 0.5]);
    expect(set.featureNames).toEqual(['a', 'b']);
    expect(set.labelName).toBe('y');
    expect(set.classNames).toEqual(['cat', 'dog']);
    expect([...set.labels]).toEqual([1, 0, 1]);
    expect(set.featureType).toBe('f32');
  });

  it('keeps integer labels as class indices', () => {
    const set = read('x,y\n1,3\n2,0\n3,3\n');
    expect(set.classNames).toBeUndefined();
    expect([...set.labels]).toEqual([3, 0, 3]);
    expect(set.classes).toBe(4);
  });

  it('sorts numeric names by value, before other names', () => {
    expect(['b', '10', 'a', '2', '-1.5'].sort(compareClassNames)).toEqual(['-1.5', '2', '10', 'a', 'b']);
    const set = read('x,y\n1,10\n2,2\n3,-1\n');
    expect(set.classNames).toEqual(['-1', '2', '10']);
  });

  it('takes the label column anywhere, BOM, CRLF, quoted fields and surrounding spaces', () => {
    const set = read('\uFEFFy,"a, quoted",b\r\n"x ""1""", 1 ,2\r\n"x2",\t3\t,"4"\r\n');
    expect(set.featureNames).toEqual(['a, quoted', 'b']);
    expect(set.classNames).toEqual(['x "1"', 'x2']);
    expect([...set.features]).toEqual([1, 2, 3, 4]);
  });

  it('skips blank lines, and counts lines across quoted line breaks', () => {
    const set = read('a,y\n\n1,"two\nlines"\n\n2,z\n');
    expect(set.count).toBe(2);
    // Row 6 is the bad one: header (1), blank (2), a record over lines 3-4, blank (5).
    expect(errorOf('a,y\n\n1,"two\nlines"\n\nnope,z\n')).toBe('t.csv: row 6, column "a" (1): "nope" is not a finite number; to leave the column out, ignore it (--ignore)');
  });

  it('leaves out ignored columns and reads the given features in their order', () => {
    const set = read('id,a,b,y\nq,1,2,u\nr,3,4,v\n', { label: 'y', ignore: ['id'] });
    expect(set.featureNames).toEqual(['a', 'b']);
    const reordered = read('b,extra,a,y\n2,?,1,u\n', { label: 'y', features: ['a', 'b'], classNames: ['u', 'v'] });
    expect([...reordered.features]).toEqual([1, 2]);
    expect(reordered.classNames).toEqual(['u', 'v']);
    expect(reordered.count).toBe(1); // one class is fine when the classes are given
  });

  it('reads rows without labels for prediction', () => {
    const set = read('a,b\n1,2\n3,4\n', {});
    expect(set.labelName).toBeUndefined();
    expect([...set.labels]).toEqual([0, 0]);
  });

  it('a file streams to the same dataset as its text, across read chunks', async () => {
    // ~2.4 MB: more than one 1 MiB read, so rows straddle chunk boundaries.
    const lines = ['f0,f1,f2,label'];
    for (let i = 0; i < 60_000; i++) lines.push(`${(i * 0.37).toFixed(3)},${-i},${i % 7 === 0 ? '"1e-3"' : '7'},${['ant', 'bee', 'cat'][i % 3]}`);
    const text = lines.join('\r\n') + '\r\n';
    const path = join(work, 'big.csv');
    writeFileSync(path, text);
    const fromFile = await readCsvFile(path, { label: 'label' });
    const fromText = parseCsvText(text, path, { label: 'label' });
    expect(fromFile.count).toBe(60_000);
    expect(fromFile.features).toEqual(fromText.features);
    expect(fromFile.labels).toEqual(fromText.labels);
    expect(fromFile.classNames).toEqual(['ant', 'bee', 'cat']);
  });

  it('reads a .tsv with tabs', async () => {
    const path = join(work, 't.tsv');
    writeFileSync(path, 'a\tb\ty\n1\t2\tu\n3\t4\tv\n');
    expect([...(await readCsvFile(path, { label: 'y' })).features]).toEqual([1, 2, 3, 4]);
  });
});

describe('bad tables', () => {
  it.each([
    ['an empty file', '', 't.csv: the file is empty (expected a header row of column names, then one row per sample)'],
    ['a header only', 'a,y\n', 't.csv: a header but no data rows'],
    ['a ragged row', 'a,b,y\n1,2,u\n3,4\n', 't.csv: row 3 has 2 fields, but the header (row 1) has 3'],
    ['a long row', 'a,b,y\n1,2,u,9\n', 't.csv: row 2 has 4 fields, but the header (row 1) has 3'],
    ['a non-numeric cell', 'a,b,y\n1,2,u\n3,x4,v\n', 't.csv: row 3, column "b" (2): "x4" is not a finite number; to leave the column out, ignore it (--ignore)'],
    ['an empty cell', 'a,b,y\n1,,u\n', 't.csv: row 2, column "b" (2): empty cell; every feature needs a number in every row (remove the row or fill the cell)'],
    ['a blank cell', 'a,b,y\n1,  ,u\n', 't.csv: row 2, column "b" (2): empty cell; every feature needs a number in every row (remove the row or fill the cell)'],
    ['NaN', 'a,y\nNaN,u\n', 't.csv: row 2, column "a" (1): "NaN" is not a finite number; to leave the column out, ignore it (--ignore)'],
    ['hexadecimal', 'a,y\n0x1f,u\n', 't.csv: row 2, column "a" (1): "0x1f" is not a finite number; to leave the column out, ignore it (--ignore)'],
    ['beyond float range', 'a,y\n1e400,u\n', 't.csv: row 2, column "a" (1): "1e400" is not a finite number (beyond the float range); to leave the column out, ignore it (--ignore)'],
    ['an empty label', 'a,y\n1,u\n2,\n', 't.csv: row 3, column "y" (2): empty label; every row needs its class'],
    ['a missing label column', 'a,b\n1,2\n', 't.csv: no label column "y" in the header (its columns: "a", "b")'],
    ['sparse integers', 'a,y\n1,3750\n2,5400\n3,4100\n', 't.csv: the label column "y" holds integers up to 5400 (3 different values): as class indices that is 5401 classes; is it the class label? (integer labels are class indices 0, 1, 2, ...)'],
    ['one class only', 'a,y\n1,u\n2,u\n3,u\n', 't.csv: the label column "y" holds one class only ("u") in its 3 rows: a classifier needs at least 2'],
    ['a duplicate column', 'a,a,y\n1,2,u\n', 't.csv: row 1 (the header): column name "a" appears twice (columns 1 and 2)'],
    ['an unnamed column', 'a,,y\n1,2,u\n', 't.csv: row 1 (the header): column 2 has no name'],
    ['no feature columns', 'y\nu\n', 't.csv: no feature columns: the header holds only the label column "y"'],
    ['an unclosed quote', 'a,y\n1,u\n2,"v\n3,w\n', 't.csv: from row 3: a quoted field is never closed (a " without its closing ")'],
  ])('%s', (_, text, message) => {
    expect(errorOf(text)).toBe(message);
  });

  it('a label the model does not know, and a text label for an integer model', () => {
    expect(errorOf('a,y\n1,u\n2,w\n', { label: 'y', classNames: ['u', 'v'] })).toBe('t.csv: row 3, column "y" (2): label "w" is not one of the model\'s classes ("u", "v")');
    expect(errorOf('a,y\n1,u\n', { label: 'y', classNames: null })).toBe('t.csv: row 2, column "y" (2): label "u" is not a class index (the model was trained on integer labels 0, 1, 2, ...)');
  });

  it('a missing feature column of the model', () => {
    expect(errorOf('a,y\n1,u\n', { label: 'y', features: ['a', 'b'] })).toBe('t.csv: no feature column "b" in the header (its columns: "a", "y")');
  });

  it('a missing file names it', async () => {
    await expect(readCsvFile(join(work, 'absent.csv'), { label: 'y' })).rejects.toThrow(`${join(work, 'absent.csv')}: cannot read: ENOENT`);
  });

  it('a bad row deep in a streamed file names its line', async () => {
    const lines = ['a,y', ...Array.from({ length: 100_000 }, (_, i) => `${i},${i % 2}`)];
    lines[77_777] = '1.5e,0';
    const path = join(work, 'bad.csv');
    writeFileSync(path, lines.join('\n') + '\n');
    await expect(readCsvFile(path, { label: 'y' })).rejects.toThrow(`${path}: row 77778, column "a" (1): "1.5e" is not a finite number`);
  });
});
