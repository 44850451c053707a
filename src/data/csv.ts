// Tables as data: a CSV file (a header row, numeric feature columns, one label column chosen by
// name) becomes a Dataset of f32 features and integer labels. Platform-neutral: Node streams a file
// through it (csv-file.ts), a page parses a dropped file's text (parseCsvText); both feed the same
// TableBuilder, so the rules and the error messages are the same everywhere.
//
// The parser is papaparse (5.x): zero dependencies, the same code in Node and in browsers (strings,
// File objects, Node streams), streaming row by row, RFC 4180 quoting (quoted fields with commas,
// doubled quotes and line breaks), CRLF or LF line ends detected per file, and the fastest
// well-kept parser we measured: a 100,000 × 100 table (85 MB) in 1.0 s on this project's 2-core
// machine, as fast as splitting lines by hand, where csv-parse (the Node stream one) took 2.7 s.
//
// Rules (README "Tables"):
//  - The first row is the header: column names, unique, none empty. A UTF-8 byte-order mark is dropped.
//  - Every other column but the label (and the `ignore`d ones) is a feature and must hold a finite
//    decimal number in every row (surrounding spaces allowed; empty cells, NA, NaN, Infinity, hex are errors).
//  - Labels: when every label is a non-negative integer written plainly (0, 1, 2, ...), they are
//    class indices as they are. Otherwise they are class names, and the classes are the sorted
//    names (numbers by value first, then the rest in code-point order), so that two files, or the
//    same rows in another order, give the same class indices. A file read for a trained model
//    takes the model's classes instead, and a label the model does not know is an error.
//  - Blank lines are skipped. Rows are counted as a person counts lines in an editor (the header is
//    row 1; a quoted field spanning lines counts them all), and every error names the file, the row
//    and the column.
import Papa from 'papaparse';
import { Dataset } from './dataset.ts';
import { DataError } from './idx.ts';

/** How to read a table. */
export interface CsvOptions {
  /**
   * The label column's name (as in the header). Needed to train or evaluate; without it (predict)
   * every label is 0 and the dataset's `labelName` is undefined.
   */
  readonly label?: string;
  /** Columns to leave out (ids, dates, free text). */
  readonly ignore?: readonly string[];
  /**
   * The feature columns, by name, in this order: a trained model's (`model.featureNames`). Other
   * columns are ignored. Default: every column but the label and the ignored ones, in file order.
   */
  readonly features?: readonly string[];
  /**
   * The classes the labels must name: a trained model's `classNames` (label text → its index), or
   * null for a model trained on integer labels (labels must be integers). Default: from the data.
   */
  readonly classNames?: readonly string[] | null;
  /** Field delimiter (default `,`; a tab for a .tsv or .tab file). */
  readonly delimiter?: string;
  /** The dataset's name (default: the source). */
  readonly name?: string;
}

/** Most classes a label column may define: beyond this it is not a class label (a measurement, an id). */
export const MAX_CLASSES = 10_000;

/** Rows of features per storage block while a table of unknown length streams in (4 MiB blocks). */
const BLOCK_VALUES = 1 << 20;

/** Non-negative integers written plainly: class indices. */
const INDEX = /^(0|[1-9]\d{0,8})$/;

/** The delimiter a file name suggests: tabs for .tsv and .tab, else commas. */
export function delimiterFor(source: string): string {
  return /\.(tsv|tab)$/i.test(source) ? '\t' : ',';
}

/**
 * A cell as a feature value, or NaN when it is not a finite decimal number. Number() does the
 * work; what it accepts beyond decimals (hexadecimal, binary, octal, blank text, Infinity) is refused.
 */
function parseCell(text: string): number {
  const value = +text;
  // NaN and ±Infinity fail here (Infinity − Infinity is NaN); Number('') is 0, so length counts too.
  if (value - value !== 0 || text.length === 0) return NaN;
  const first = text.charCodeAt(0);
  const last = text.charCodeAt(text.length - 1);
  if (first <= 32 || last <= 32) {
    // Spaces or tabs around a number are fine; blank text and line breaks are not.
    const trimmed = text.replace(/^[ \t]+|[ \t]+$/g, '');
    if (trimmed === '' || trimmed !== text.trim()) return NaN;
    return parseCell(trimmed);
  }
  if (first === 48 /* 0 */ && text.length > 2) {
    const prefix = text.charCodeAt(1) | 32;
    if (prefix === 120 /* x */ || prefix === 98 /* b */ || prefix === 111 /* o */) return NaN;
  }
  return value;
}

/** Sorted class names: numbers by value first, then other names in code-point order. */
export function compareClassNames(a: string, b: string): number {
  const x = a.trim() === '' ? NaN : Number(a);
  const y = b.trim() === '' ? NaN : Number(b);
  const xn = Number.isFinite(x);
  const yn = Number.isFinite(y);
  if (xn && yn && x !== y) return x - y;
  if (xn !== yn) return xn ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function quote(text: string, max = 40): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

function countLineBreaks(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * Builds a dataset from a table's records, one at a time: `header` with the first, `row` with each
 * other, `finish` at the end. Every error is a DataError naming the source, the row and the column.
 */
export class TableBuilder {
  private names: string[] = [];
  /** For each feature, its column index. */
  private featureColumns: number[] = [];
  private labelColumn = -1;
  /** Columns whose text is read but not parsed (ignored, or not among `features`). */
  private skipped: number[] = [];
  private width = 0;
  /** The line the next record starts on (1-based). */
  private nextLine = 1;
  private headerSeen = false;
  private readonly blocks: Float32Array[] = [];
  private block: Float32Array = new Float32Array(0);
  private blockFill = 0;
  private labels = new Uint32Array(1024);
  private rows = 0;
  /** Label text → id: the given classes' indices, or first-seen ids while the classes are not known. */
  private readonly classIds = new Map<string, number>();
  private readonly seen: string[] = [];
  /** The line the record being read starts on. */
  private line = 1;

  constructor(
    readonly source: string,
    private readonly options: CsvOptions = {},
  ) {
    if (options.classNames) options.classNames.forEach((name, i) => this.classIds.set(name, i));
  }

  /** The line the next record starts on: where a parser error was found. */
  get nextRow(): number {
    return this.nextLine;
  }

  private fail(message: string): never {
    throw new DataError(`${this.source}: ${message}`);
  }

  private where(column: number): string {
    return `row ${this.line}, column ${quote(this.names[column])} (${column + 1})`;
  }

  /** Feeds one record (the fields of one row, as the parser split them). */
  record(fields: string[]): void {
    this.line = this.nextLine;
    // A blank line is one empty field: skipped, but counted.
    if (fields.length === 1 && fields[0].trim() === '') {
      this.nextLine += 1 + countLineBreaks(fields[0]);
      return;
    }
    if (!this.headerSeen) this.header(fields);
    else this.row(fields);
  }

  private header(fields: string[]): void {
    this.headerSeen = true;
    const names = fields.map((f, i) => (i === 0 ? f.replace(/^\uFEFF/, '') : f).trim());
    this.nextLine += 1 + fields.reduce((n, f) => n + countLineBreaks(f), 0);
    this.names = names;
    this.width = names.length;
    const seen = new Map<string, number>();
    names.forEach((name, i) => {
      if (name === '') this.fail(`row 1 (the header): column ${i + 1} has no name`);
      if (seen.has(name)) this.fail(`row 1 (the header): column name ${quote(name)} appears twice (columns ${seen.get(name)! + 1} and ${i + 1})`);
      seen.set(name, i);
    });
    const column = (name: string, what: string) => {
      const index = seen.get(name);
      if (index === undefined) this.fail(`no ${what} column ${quote(name)} in the header (its columns: ${names.map((n) => quote(n, 24)).join(', ')})`);
      return index;
    };
    const { label, ignore = [], features } = this.options;
    if (label !== undefined) this.labelColumn = column(label, 'label');
    const ignored = new Set(ignore.map((name) => column(name, 'ignored')));
    if (features) {
      this.featureColumns = features.map((name) => column(name, 'feature'));
      const used = new Set([...this.featureColumns, this.labelColumn]);
      if (used.has(-1)) used.delete(-1);
      this.skipped = names.map((_, i) => i).filter((i) => !used.has(i));
    } else {
      this.featureColumns = names.map((_, i) => i).filter((i) => i !== this.labelColumn && !ignored.has(i));
      this.skipped = [...ignored];
    }
    if (this.featureColumns.length === 0) {
      this.fail(`no feature columns: the header holds only ${label !== undefined ? `the label column ${quote(label)}` : 'ignored columns'}`);
    }
    this.block = new Float32Array(Math.max(1, Math.floor(BLOCK_VALUES / this.featureColumns.length)) * this.featureColumns.length);
  }

  private row(fields: string[]): void {
    if (fields.length !== this.width) {
      this.fail(`row ${this.line} has ${fields.length} field${fields.length === 1 ? '' : 's'}, but the header (row 1) has ${this.width}`);
    }
    const IN = this.featureColumns.length;
    if (this.blockFill === this.block.length) {
      this.blocks.push(this.block);
      this.block = new Float32Array(this.block.length);
      this.blockFill = 0;
    }
    let breaks = 0;
    for (let k = 0; k < IN; k++) {
      const c = this.featureColumns[k];
      const text = fields[c];
      const value = parseCell(text);
      if (value !== value) {
        if (text.trim() === '') this.fail(`${this.where(c)}: empty cell; every feature needs a number in every row (remove the row or fill the cell)`);
        const infinite = /\d/.test(text) && Math.abs(Number(text.trim())) === Infinity ? ' (beyond the float range)' : '';
        this.fail(`${this.where(c)}: ${quote(text)} is not a finite number${infinite}${this.options.features ? '' : '; to leave the column out, ignore it (--ignore)'}`);
      }
      this.block[this.blockFill + k] = value;
    }
    for (const c of this.skipped) breaks += countLineBreaks(fields[c]);
    if (this.labelColumn >= 0) {
      const text = fields[this.labelColumn];
      breaks += countLineBreaks(text);
      this.addLabel(text.trim());
    } else {
      this.pushLabel(0);
    }
    this.blockFill += IN;
    this.rows++;
    this.nextLine += 1 + breaks;
  }

  private pushLabel(id: number): void {
    if (this.rows === this.labels.length) {
      const grown = new Uint32Array(this.labels.length * 2);
      grown.set(this.labels);
      this.labels = grown;
    }
    this.labels[this.rows] = id;
  }

  private addLabel(text: string): void {
    const { classNames } = this.options;
    const column = this.labelColumn;
    if (text === '') this.fail(`${this.where(column)}: empty label; every row needs its class`);
    if (classNames === null) {
      if (!INDEX.test(text)) this.fail(`${this.where(column)}: label ${quote(text)} is not a class index (the model was trained on integer labels 0, 1, 2, ...)`);
      this.pushLabel(Number(text));
      return;
    }
    let id = this.classIds.get(text);
    if (id === undefined) {
      if (classNames) {
        const known = classNames.slice(0, 12).map((n) => quote(n, 24)).join(', ') + (classNames.length > 12 ? `, … (${classNames.length} in all)` : '');
        this.fail(`${this.where(column)}: label ${quote(text)} is not one of the model's classes (${known})`);
      }
      id = this.seen.length;
      if (id >= MAX_CLASSES) this.fail(`${this.where(column)}: more than ${MAX_CLASSES.toLocaleString('en-US')} different labels: is ${quote(this.names[column])} a class label?`);
      this.classIds.set(text, id);
      this.seen.push(text);
    }
    this.pushLabel(id);
  }

  /** The dataset, once every record was fed. */
  finish(): Dataset<Float32Array> {
    if (!this.headerSeen) this.fail('the file is empty (expected a header row of column names, then one row per sample)');
    if (this.rows === 0) this.fail('a header but no data rows');
    const IN = this.featureColumns.length;
    // One array of exactly the table's size; each block is let go once copied.
    const features = new Float32Array(this.rows * IN);
    let offset = 0;
    for (let i = 0; i < this.blocks.length; i++) {
      features.set(this.blocks[i], offset);
      offset += this.blocks[i].length;
      this.blocks[i] = new Float32Array(0);
    }
    features.set(this.block.subarray(0, this.blockFill), offset);
    this.block = new Float32Array(0);
    let labels = this.labels.subarray(0, this.rows);
    let classNames: readonly string[] | undefined = this.options.classNames ?? undefined;
    const labelName = this.options.label;
    if (this.labelColumn >= 0 && this.options.classNames === undefined) {
      const names = this.seen;
      if (names.length < 2) {
        this.fail(`the label column ${quote(labelName!)} holds one class only (${quote(names[0])}) in its ${this.rows} rows: a classifier needs at least 2`);
      }
      if (names.every((name) => INDEX.test(name))) {
        // Integer labels are class indices as they are.
        const values = names.map(Number);
        const classes = Math.max(...values) + 1;
        // Integers that leave most indices unused are a measurement (or an id), not class indices.
        if (classes > MAX_CLASSES || (classes > 100 && names.length < classes / 2)) {
          this.fail(
            `the label column ${quote(labelName!)} holds integers up to ${classes - 1} (${names.length} different values): as class indices that is ${classes} classes; ` +
              'is it the class label? (integer labels are class indices 0, 1, 2, ...)',
          );
        }
        labels = labels.map((id) => values[id]);
        classNames = undefined;
      } else {
        const sorted = [...names].sort(compareClassNames);
        const index = new Map(sorted.map((name, i) => [name, i]));
        const remap = names.map((name) => index.get(name)!);
        labels = labels.map((id) => remap[id]);
        classNames = sorted;
      }
    }
    return Dataset.create({
      name: this.options.name ?? this.source,
      features,
      labels,
      inputSize: IN,
      featureNames: this.featureColumns.map((c) => this.names[c]),
      ...(labelName !== undefined ? { labelName } : {}),
      ...(classNames ? { classNames } : {}),
    });
  }
}

/** What papaparse reports per record. */
type StepResult = Papa.ParseStepResult<string[]>;

/** The papaparse configuration shared by text and streams: records as string arrays, our own checks. */
export function parserConfig(builder: TableBuilder, options: CsvOptions, done: (error?: Error) => void) {
  let failed = false;
  return {
    delimiter: options.delimiter ?? delimiterFor(builder.source),
    header: false,
    dynamicTyping: false,
    skipEmptyLines: false,
    step: (result: StepResult, parser: Papa.Parser) => {
      if (failed) return;
      try {
        const error = result.errors[0];
        if (error) {
          const what = error.code === 'MissingQuotes' ? 'a quoted field is never closed (a " without its closing ")' : error.message;
          throw new DataError(`${builder.source}: from row ${builder.nextRow}: ${what}`);
        }
        builder.record(result.data);
      } catch (error) {
        failed = true;
        parser.abort();
        done(error as Error);
      }
    },
    complete: () => {
      if (!failed) done();
    },
    error: (error: Error) => {
      if (failed) return;
      failed = true;
      done(new DataError(`${builder.source}: cannot read: ${error.message}`));
    },
  };
}

/**
 * A table from its text (a dropped file's, a fetched one's, a test's), parsed synchronously. `source`
 * names it in errors (a file name). Options as for files; see the rules at the top of this file.
 */
export function parseCsvText(text: string, source: string, options: CsvOptions = {}): Dataset<Float32Array> {
  if (typeof text !== 'string') throw new DataError(`${source}: expected the table's text, found ${typeof text}`);
  const builder = new TableBuilder(source, options);
  let failure: Error | undefined;
  let finished = false;
  Papa.parse<string[]>(text, parserConfig(builder, options, (error) => {
    failure = error;
    finished = true;
  }) as Papa.ParseConfig<string[]>);
  if (failure) throw failure;
  if (!finished) throw new Error(`${source}: the CSV parser did not finish synchronously`);
  return builder.finish();
}
