// safetensors (https://huggingface.co/docs/safetensors), the file format of our checkpoints:
//   u64 little-endian N | N bytes of UTF-8 JSON header | data section
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}, byte offsets
// relative to the start of the data section, plus an optional "__metadata__" object of string values.
// The tensors' byte ranges, sorted by offset, tile the data section exactly: no gap, no overlap, no
// trailing byte. We write and accept F32 only. Platform-neutral (bytes in, bytes out): the Node CLI
// and the browser demo share it.
//
// The decoder treats its input as hostile: every number is checked before it is used, nothing is
// allocated from a size that has not been checked against the bytes actually present, and every
// failure is a CheckpointError that names the source, what was expected and what was found.
// Compared with the reference implementation (huggingface/safetensors; its Python package 0.8.0 was
// tried on the edge cases): both ignore unknown fields in a tensor entry and accept any JSON
// whitespace as padding; both reject a duplicated tensor name (JSON.parse keeps the last entry, so
// the range of the dropped one shows up here as a gap). We follow the format's rule that the header
// begins with '{', where 0.8.0 also accepts leading whitespace; and we read F32 only.
import { MlpError } from '../errors.ts';

export class CheckpointError extends MlpError {
  constructor(message: string, options?: ErrorOptions) {
    super('CHECKPOINT', message, options);
    this.name = 'CheckpointError';
  }
}

/** One tensor as the decoder returns it: data copied into its own aligned buffer. */
export interface Tensor {
  readonly dtype: 'F32';
  readonly shape: number[];
  readonly data: Float32Array;
}

export interface TensorInput {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Largest header accepted: 100 MB, the reference implementation's limit (ours are a few hundred bytes). */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const F32_BYTES = 4;
/** The data section starts 8-byte aligned: the header is padded with spaces to a multiple of 8. */
const HEADER_ALIGN = 8;

// Float32Array views and the file share one byte order only on little-endian hosts, which is every
// host WebGPU runs on (x86-64, ARM64, WebAssembly's memory model).
function float32Bytes(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function shapeText(shape: readonly number[]): string {
  return clip(`[${shape.join(', ')}]`);
}

/**
 * Writes tensors (in the order given) and string metadata as a safetensors file. An empty
 * `metadata` writes no "__metadata__" entry, as the reference implementation does for None.
 */
export function encodeSafetensors(tensors: Record<string, TensorInput>, metadata: Record<string, string>): Uint8Array {
  // The header is assembled by hand: a JS object would move integer-like names ("0") to the front.
  const entries: string[] = [];
  const metadataEntries = Object.entries(metadata);
  if (metadataEntries.length > 0) {
    for (const [key, value] of metadataEntries) {
      if (typeof value !== 'string') {
        throw new CheckpointError(`encodeSafetensors: metadata ${JSON.stringify(key)} must be a string, found ${typeof value}`);
      }
    }
    entries.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(Object.fromEntries(metadataEntries))}`);
  }
  let dataBytes = 0;
  const named = Object.entries(tensors);
  for (const [name, { shape, data }] of named) {
    if (name === METADATA_KEY) throw new CheckpointError(`encodeSafetensors: ${METADATA_KEY} is reserved and cannot name a tensor`);
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new CheckpointError(`encodeSafetensors: ${name}: shape ${shapeText(shape)} must hold non-negative integers`);
    }
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new CheckpointError(`encodeSafetensors: ${name}: shape ${shapeText(shape)} holds ${count} elements, data has ${data.length}`);
    }
    const begin = dataBytes;
    dataBytes += data.byteLength;
    const info = `{"dtype":"F32","shape":${JSON.stringify(shape)},"data_offsets":[${begin},${dataBytes}]}`;
    entries.push(`${JSON.stringify(name)}:${info}`);
  }
  const json = new TextEncoder().encode(`{${entries.join(',')}}`);
  const headerBytes = Math.ceil(json.length / HEADER_ALIGN) * HEADER_ALIGN;

  const out = new Uint8Array(8 + headerBytes + dataBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerBytes % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerBytes / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes);
  let at = 8 + headerBytes;
  for (const [, { data }] of named) {
    out.set(float32Bytes(data), at);
    at += data.byteLength;
  }
  return out;
}

interface Entry {
  readonly name: string;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

const PREVIEW_CHARS = 60;

/** Shortens text taken from a file (a name, a value) for an error message. */
export function clip(text: string): string {
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 3)}...` : text;
}

/**
 * A short JSON-like preview of a value parsed from a file, for error messages. Bounded in depth
 * and width: JSON.stringify would overflow the stack on a deeply nested array (JSON.parse does not).
 */
export function describeValue(value: unknown, depth = 0): string {
  const MAX_DEPTH = 3;
  const MAX_ITEMS = 8;
  if (Array.isArray(value)) {
    if (depth >= MAX_DEPTH) return '[...]';
    const items = value.slice(0, MAX_ITEMS).map((item) => describeValue(item, depth + 1));
    return clip(`[${items.join(',')}${value.length > MAX_ITEMS ? ',...' : ''}]`);
  }
  if (isObject(value)) {
    if (depth >= MAX_DEPTH) return '{...}';
    const keys = Object.keys(value);
    const items = keys.slice(0, MAX_ITEMS).map((key) => `${JSON.stringify(clip(key))}:${describeValue(value[key], depth + 1)}`);
    return clip(`{${items.join(',')}${keys.length > MAX_ITEMS ? ',...' : ''}}`);
  }
  if (typeof value === 'string') return JSON.stringify(clip(value));
  return String(value); // number, boolean, null: as JSON writes them
}

/** A tensor or metadata name from a file, quoted and clipped. */
function quoted(name: string): string {
  return JSON.stringify(clip(name));
}

function parseHeader(bytes: Uint8Array, source: string): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) {
    throw new CheckpointError(
      `${source}: not a safetensors file: ${bytes.length} bytes, expected at least the 8-byte header length`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  const headerBytes = high * 2 ** 32 + low; // exact below 2^53; larger values fail the cap anyway
  if (headerBytes > MAX_HEADER_BYTES) {
    throw new CheckpointError(
      `${source}: not a safetensors file: header length ${headerBytes} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit`,
    );
  }
  if (headerBytes > bytes.length - 8) {
    throw new CheckpointError(
      `${source}: truncated: header length ${headerBytes} bytes, but only ${bytes.length - 8} bytes follow the length`,
    );
  }
  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, where JSON.parse rejects it (as the reference does).
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerBytes));
  } catch {
    throw new CheckpointError(`${source}: the ${headerBytes}-byte header is not valid UTF-8`);
  }
  if (!text.startsWith('{')) {
    const first = [...bytes.subarray(8, 8 + Math.min(headerBytes, 4))].map((b) => `0x${b.toString(16).padStart(2, '0')}`);
    throw new CheckpointError(
      `${source}: the header must be a JSON object starting with '{' (0x7b), found ${first.length > 0 ? first.join(' ') : 'an empty header'}`,
    );
  }
  try {
    // Valid JSON text that starts with '{' is an object.
    return { header: JSON.parse(text) as Record<string, unknown>, dataStart: 8 + headerBytes };
  } catch (error) {
    throw new CheckpointError(`${source}: the header is not valid JSON: ${(error as Error).message}`);
  }
}

function parseMetadata(value: unknown, source: string): Record<string, string> {
  if (!isObject(value)) {
    throw new CheckpointError(`${source}: ${METADATA_KEY} must be an object of strings, found ${describeValue(value)}`);
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw new CheckpointError(`${source}: ${METADATA_KEY}.${clip(key)} must be a string, found ${describeValue(item)}`);
    }
  }
  // Object.fromEntries defines own properties, so a key like "__proto__" stays plain data.
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function parseEntry(name: string, value: unknown, dataBytes: number, source: string): Entry {
  const where = `${source}: tensor ${quoted(name)}`;
  if (!isObject(value)) throw new CheckpointError(`${where}: expected an object {dtype, shape, data_offsets}, found ${describeValue(value)}`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (dtype === undefined || shape === undefined || offsets === undefined) {
    const missing = ['dtype', 'shape', 'data_offsets'].filter((key) => value[key] === undefined);
    throw new CheckpointError(`${where}: missing ${missing.join(', ')}`);
  }
  if (typeof dtype !== 'string') throw new CheckpointError(`${where}: dtype must be a string, found ${describeValue(dtype)}`);
  if (dtype !== 'F32') throw new CheckpointError(`${where}: dtype ${describeValue(dtype)} is not supported, only F32 is`);
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new CheckpointError(`${where}: shape must be an array of non-negative integers, found ${describeValue(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw new CheckpointError(`${where}: data_offsets must be [begin, end] with non-negative integers, found ${describeValue(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw new CheckpointError(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataBytes) {
    throw new CheckpointError(`${where}: data_offsets [${begin}, ${end}] run past the end of the ${dataBytes}-byte data section`);
  }
  const count = elementCount(shape as number[], Number.MAX_SAFE_INTEGER / F32_BYTES);
  if (count * F32_BYTES !== end - begin) {
    const needs = Number.isFinite(count) ? `${count * F32_BYTES} bytes` : 'more than 2^53 bytes';
    throw new CheckpointError(
      `${where}: shape ${shapeText(shape as number[])} of F32 needs ${needs}, but data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  return { name, shape: shape as number[], begin, end };
}

/** Product of the dims, or Infinity once it exceeds `limit` (so huge shapes cannot overflow). */
function elementCount(shape: readonly number[], limit: number): number {
  if (shape.includes(0)) return 0;
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (count > limit) return Infinity;
  }
  return count;
}

/** The ranges, sorted by offset, must tile [0, dataBytes) exactly. Returns them in file order. */
function checkTiling(entries: Entry[], dataBytes: number, source: string): Entry[] {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous: Entry | undefined;
  for (const entry of sorted) {
    if (entry.begin < at) {
      throw new CheckpointError(
        `${source}: tensors ${quoted(previous!.name)} [${previous!.begin}, ${previous!.end}] and ` +
          `${quoted(entry.name)} [${entry.begin}, ${entry.end}] overlap`,
      );
    }
    if (entry.begin > at) {
      const before = previous ? `after ${quoted(previous.name)}` : 'at the start of the data section';
      throw new CheckpointError(
        `${source}: gap of ${entry.begin - at} bytes ${before}: ${quoted(entry.name)} begins at ${entry.begin}, expected ${at}`,
      );
    }
    at = entry.end;
    previous = entry;
  }
  if (at !== dataBytes) {
    throw new CheckpointError(`${source}: the data section has ${dataBytes} bytes, but the tensors end at byte ${at}`);
  }
  return sorted;
}

/** Parses and fully validates a safetensors file of F32 tensors. `source` names it in errors. */
export function decodeSafetensors(
  bytes: Uint8Array,
  source: string,
): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const { header, dataStart } = parseHeader(bytes, source);
  const dataBytes = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value, source);
    else entries.push(parseEntry(name, value, dataBytes, source));
  }
  const inFileOrder = checkTiling(entries, dataBytes, source);

  // Every range is now known to lie inside `bytes`: allocate and copy (the input may be unaligned).
  const tensors = new Map<string, Tensor>();
  for (const { name, shape, begin, end } of inFileOrder) {
    const data = new Float32Array((end - begin) / F32_BYTES);
    float32Bytes(data).set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { dtype: 'F32', shape, data });
  }
  return { tensors, metadata };
}
