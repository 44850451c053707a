// Errors and exit codes of the command line: a sentence for the user, never a stack trace.
import { CommanderError } from 'commander';
import { CheckpointError } from '../checkpoint/safetensors.ts';
import { DataError } from '../data/idx.ts';
import { ImageError } from '../data/preprocess.ts';
import { SpecError } from '../model/spec.ts';
import { NoAdapterError } from '../gpu/device.ts';
import { GpuLimitError } from '../gpu/limits.ts';
import { ConfigError } from '../train/config.ts';
import { DeviceLostError } from '../train/gpu-engine.ts';
import { RunDirError } from './run-dir.ts';

/** A command used wrongly (exit 2), beyond what the argument parser catches. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** Maps an error to its message and exit code; unknown errors keep their stack for bug reports. */
export function describeError(error: unknown): { message: string; code: number } {
  if (error instanceof CommanderError) return { message: '', code: error.exitCode === 0 ? EXIT.ok : EXIT.usage };
  // A size beyond the adapter's limits is refused like any impossible value: the message names the limit.
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof SpecError || error instanceof RunDirError || error instanceof GpuLimitError) {
    return { message: `error: ${error.message}`, code: EXIT.usage };
  }
  if (
    error instanceof DataError ||
    error instanceof CheckpointError ||
    error instanceof ImageError ||
    error instanceof NoAdapterError ||
    error instanceof DeviceLostError
  ) {
    return { message: `error: ${error.message}`, code: EXIT.failure };
  }
  const err = error as Error;
  return { message: `internal error: ${err?.stack ?? String(error)}`, code: EXIT.failure };
}
