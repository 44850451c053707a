// Checkpoint files on disk (Node only). Writes are atomic: a crash, a full disk or a kill at any
// point leaves either the previous file or the complete new one, never a torn file that a later
// `--resume` would choke on.
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint, type DecodeOptions } from './checkpoint.ts';

/** Temporary files start with this, beside their target: `.<name>.<random>.tmp`. */
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Removes the temporary files a killed writeFileAtomic left beside `path` (a SIGKILL between
 * opening and renaming leaves one). Only for a target no other process is writing.
 */
export async function removeStaleTempFiles(path: string): Promise<void> {
  const prefix = `.${basename(path)}.`;
  const names = await readdir(dirname(path)).catch(() => []);
  const stale = names.filter((name) => name.startsWith(prefix) && /^[0-9a-f]{12}\.tmp$/.test(name.slice(prefix.length)));
  await Promise.all(stale.map((name) => unlink(join(dirname(path), name)).catch(() => {})));
}

/** Makes the directory entry (the rename) durable. Directories cannot be opened for fsync on Windows. */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `bytes` to `path` atomically: into a temporary file in the same directory (same file
 * system, so the rename is atomic), fsync it, rename it over `path`, fsync the directory.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temp = tempPathFor(path);
  try {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {}); // absent if open failed; either way the target is untouched
    throw new CheckpointError(`${path}: cannot write: ${(error as Error).message}`, { cause: error });
  }
  try {
    await syncDirectory(dirname(path));
  } catch (error) {
    throw new CheckpointError(`${path}: written, but syncing its directory failed: ${(error as Error).message}`, { cause: error });
  }
}

export async function saveCheckpoint(path: string, ck: Checkpoint): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(ck));
}

/** A checkpoint file's bytes; a missing or unreadable file is a CheckpointError naming it. */
export async function readCheckpointFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such checkpoint file' : `cannot read: ${(error as Error).message}`;
    throw new CheckpointError(`${path}: ${why}`, { cause: error });
  }
}

export async function loadCheckpoint(path: string, options: DecodeOptions = {}): Promise<Checkpoint> {
  return decodeCheckpoint(await readCheckpointFile(path), path, options);
}
