// Reading a CSV table from disk (Node): streamed through the same TableBuilder as parseCsvText
// (csv.ts), so a file of any length never sits in memory as text, only as the f32 table it becomes.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import Papa from 'papaparse';
import { parserConfig, TableBuilder, type CsvOptions } from './csv.ts';
import type { Dataset } from './dataset.ts';
import { DataError } from './idx.ts';

/** Bytes read at a time: large reads keep the parser's per-chunk work small beside the parsing. */
const READ_BYTES = 1 << 20;

/**
 * A table from a CSV file (UTF-8, a header row; see csv.ts for the rules): f32 features and
 * integer labels, the column names as `featureNames`, string labels as `classNames`. Bad tables
 * are DataErrors naming the file, row and column; nothing is returned until the whole file is good.
 */
export async function readCsvFile(path: string, options: CsvOptions = {}): Promise<Dataset<Float32Array>> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new DataError(`${path}: is a directory, not a CSV file`);
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError(`${path}: cannot read: ${(error as Error).message}`);
  }
  const builder = new TableBuilder(path, options);
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: READ_BYTES });
    const config = parserConfig(builder, options, (error) => {
      stream.destroy();
      if (error) reject(error);
      else resolve();
    });
    // papaparse reads Node readable streams (its ReadableStreamStreamer); its types know only the browser's inputs.
    (Papa.parse as unknown as (input: unknown, config: unknown) => void)(stream, config);
  });
  return builder.finish();
}
