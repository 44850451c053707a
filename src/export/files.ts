// Exported models as files (Node only): model.onnx, or DIR/model.json + DIR/group1-shard1of1.bin,
// each file written atomically (a crash leaves the previous file or the complete new one). A file
// that cannot be read, decoded or written is a CheckpointError (code 'CHECKPOINT') naming the path.
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, decodeCheckpoint } from '../checkpoint/checkpoint.ts';
import { MlpError } from '../errors.ts';
import { readCheckpointFile, writeFileAtomic } from '../checkpoint/files.ts';
import type { ModelSpec } from '../model/spec.ts';
import type { ExportOptions, InputTransform } from './common.ts';
import type { CheckpointData } from '../checkpoint/checkpoint.ts';

/**
 * What an exported model takes when the caller does not say: a table model's raw feature values
 * (standardized inside when it has a standardization), else bytes 0..255 as image models were trained.
 */
export function defaultInput(data: CheckpointData | undefined): InputTransform {
  if (data?.features !== 'f32') return 'bytes';
  return data.standardization ?? 'identity';
}
import { exportOnnx } from './onnx.ts';
import { exportTfjs, TFJS_WEIGHTS_FILE } from './tfjs.ts';

export const MODEL_FORMATS = ['onnx', 'tfjs'] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

/** What a checkpoint path may name: a .safetensors file, or a run directory (its best.safetensors, else last.safetensors). */
export const RUN_DIR_CHECKPOINTS = ['best.safetensors', 'last.safetensors'] as const;

/** A file an export wrote, and its size. */
export interface WrittenFile {
  readonly path: string;
  readonly bytes: number;
}

async function kindOf(path: string): Promise<'file' | 'directory' | 'other' | 'missing'> {
  try {
    const s = await stat(path);
    return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';
  } catch {
    return 'missing';
  }
}

/** The checkpoint file a path names: itself, or for a run directory its best (else last) checkpoint. */
export async function resolveCheckpointPath(path: string): Promise<string> {
  if ((await kindOf(path)) !== 'directory') return path; // a missing file is readCheckpointFile's to report
  for (const name of RUN_DIR_CHECKPOINTS) {
    const candidate = join(path, name);
    if ((await kindOf(candidate)) === 'file') return candidate;
  }
  throw new CheckpointError(`${path}: a directory without ${RUN_DIR_CHECKPOINTS.join(' or ')}: not a run directory with a checkpoint`);
}

/** Writes the ONNX model to `path` (a file; its directory must exist). */
export async function writeOnnxFile(path: string, spec: ModelSpec, params: Float32Array, options: ExportOptions = {}): Promise<WrittenFile[]> {
  const bytes = exportOnnx(spec, params, options);
  if ((await kindOf(path)) === 'directory') throw new CheckpointError(`${path}: is a directory; --format onnx writes one file (e.g. ${join(path, 'model.onnx')})`);
  await writeFileAtomic(path, bytes);
  return [{ path, bytes: bytes.length }];
}

/**
 * Writes DIR/model.json and DIR/group1-shard1of1.bin (DIR is created if missing; other files in it
 * stay). The weights go first, so a model.json on disk always finds complete weights beside it.
 */
export async function writeTfjsDirectory(dir: string, spec: ModelSpec, params: Float32Array, options: ExportOptions = {}): Promise<WrittenFile[]> {
  const exported = exportTfjs(spec, params, options);
  const kind = await kindOf(dir);
  if (kind !== 'directory' && kind !== 'missing') throw new CheckpointError(`${dir}: exists and is not a directory; --format tfjs writes a directory`);
  if (kind === 'missing') {
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw new CheckpointError(`${dir}: cannot create the directory: ${(error as Error).message}`, { cause: error });
    }
  }
  const json = new TextEncoder().encode(JSON.stringify(exported.modelJson));
  const files = [
    { path: join(dir, TFJS_WEIGHTS_FILE), data: new Uint8Array(exported.weightData) },
    { path: join(dir, 'model.json'), data: json },
  ];
  try {
    for (const file of files) await writeFileAtomic(file.path, file.data);
  } catch (error) {
    if (kind === 'missing') await rmdir(dir).catch(() => {}); // only if still empty: a partial write leaves nothing behind
    throw error;
  }
  return files.map((file) => ({ path: file.path, bytes: file.data.length }));
}

/**
 * Reads a checkpoint (a .safetensors file or a run directory) and writes it in `format` to `out`:
 * the .onnx file, or the TensorFlow.js directory. A resumable checkpoint is fine (its optimizer
 * state is not exported); a corrupt one is a CheckpointError and nothing is written.
 */
export async function exportCheckpointFile(
  checkpointPath: string,
  format: ModelFormat,
  out: string,
  options: ExportOptions = {},
): Promise<{ checkpoint: string; spec: ModelSpec; input: InputTransform; files: WrittenFile[] }> {
  if (!MODEL_FORMATS.includes(format)) throw new MlpError('CONFIG', `unknown export format ${JSON.stringify(format)}: expected one of ${MODEL_FORMATS.join(', ')}`);
  const checkpoint = await resolveCheckpointPath(checkpointPath);
  const { spec, params, data } = decodeCheckpoint(await readCheckpointFile(checkpoint), checkpoint);
  const write = format === 'onnx' ? writeOnnxFile : writeTfjsDirectory;
  const input = options.input ?? defaultInput(data);
  return { checkpoint, spec, input, files: await write(out, spec, params, { ...options, input }) };
}
