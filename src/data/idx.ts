// IDX, the format of MNIST and its relatives (Fashion-MNIST, KMNIST, EMNIST): a big-endian header
//   u16 zero, u8 dtype (0x08 = unsigned byte), u8 number of dimensions d, then d × u32 sizes,
// followed by the data in row-major order. Only u8 data is accepted: images and labels alike.
// Platform-neutral: takes bytes, so Node (files, gzip) and the browser (fetch) share it.
import { MlpError } from '../errors.ts';

export class DataError extends MlpError {
  constructor(message: string, options?: ErrorOptions) {
    super('DATA', message, options);
    this.name = 'DataError';
  }
}

export interface IdxArray {
  /** Sizes from the header, e.g. [60000, 28, 28] for images, [60000] for labels. */
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

const DTYPE_U8 = 0x08;
const DTYPE_NAMES: Record<number, string> = { 0x08: 'u8', 0x09: 'i8', 0x0b: 'i16', 0x0c: 'i32', 0x0d: 'f32', 0x0e: 'f64' };

/** Parses an IDX file's bytes. `source` names the file in errors. */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (bytes.length < 4) {
    throw new DataError(`${source}: not an IDX file: ${bytes.length} bytes, expected at least a 4-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const dtype = bytes[2];
  const rank = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !(dtype in DTYPE_NAMES) || rank === 0) {
    throw new DataError(
      `${source}: not an IDX file: magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x00000801 (labels) or 0x00000803 (images)`,
    );
  }
  if (dtype !== DTYPE_U8) {
    throw new DataError(`${source}: IDX data type ${DTYPE_NAMES[dtype]} (0x${dtype.toString(16)}), expected u8 (0x08)`);
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new DataError(`${source}: truncated header: ${bytes.length} bytes, expected ${headerBytes} for ${rank} dimensions`);
  }
  const dims: number[] = [];
  for (let d = 0; d < rank; d++) dims.push(view.getUint32(4 + 4 * d));
  const count = dims.reduce((a, b) => a * b, 1);
  const available = bytes.length - headerBytes;
  if (available !== count) {
    const what = available < count ? 'truncated' : 'has trailing bytes';
    throw new DataError(
      `${source}: ${what}: dimensions ${dims.join('×')} need ${count} data bytes, found ${available}`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Writes an IDX file (u8): for fixtures, tests and exporting subsets. */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new DataError(`encodeIdx: dimensions ${dims.join('×')} need ${count} bytes, got ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = DTYPE_U8;
  out[3] = dims.length;
  dims.forEach((size, d) => view.setUint32(4 + 4 * d, size));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
