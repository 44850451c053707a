// Errors and exit codes of the command line: a sentence for the user, never a stack trace. Library
// errors carry a stable code (MlpError.code); the code decides the exit status.
import { CommanderError } from 'commander';
import { MlpError, type ErrorCode } from '../index.ts';

/** A command used wrongly (exit 2), beyond what the argument parser catches. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/**
 * Usage errors (exit 2): a value, a directory or a size the user chose. A size beyond the adapter's
 * limits is refused like any impossible value: the message names the limit. The rest are failures (exit 1).
 */
const USAGE_CODES: readonly ErrorCode[] = ['CONFIG', 'RUN_DIR', 'RUN_LOCKED', 'GPU_LIMIT'];

/** Maps an error to its message and exit code; unknown errors keep their stack for bug reports. */
export function describeError(error: unknown): { message: string; code: number } {
  if (error instanceof CommanderError) return { message: '', code: error.exitCode === 0 ? EXIT.ok : EXIT.usage };
  if (error instanceof UsageError) return { message: `error: ${error.message}`, code: EXIT.usage };
  if (error instanceof MlpError && error.code !== 'GPU') {
    return { message: `error: ${error.message}`, code: USAGE_CODES.includes(error.code) ? EXIT.usage : EXIT.failure };
  }
  const err = error as Error;
  return { message: `internal error: ${err?.stack ?? String(error)}`, code: EXIT.failure };
}
