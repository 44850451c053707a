// The error type every failure of webgpu-mlp is thrown as: a sentence for a person (naming the
// file, row, field or limit, what was expected and what was found) and a stable `code` for a program.
// Each subsystem throws its own subclass (DataError, ConfigError, ...); applications branch on `code`.

/** Stable, documented error codes: they change only with a major version. */
export const ERROR_CODES = [
  /** An option, flag, search file or model spec has a bad value. */
  'CONFIG',
  /** A dataset (typed arrays, IDX or CSV file) is malformed or does not fit the model. */
  'DATA',
  /** A checkpoint cannot be read, decoded or written. */
  'CHECKPOINT',
  /** An image file (predict) cannot be decoded. */
  'IMAGE',
  /** No WebGPU adapter: the message says how to get one. */
  'NO_ADAPTER',
  /** A model, batch or dataset too large for this adapter's limits; the message names the limit. */
  'GPU_LIMIT',
  /** The GPU device was lost (driver reset, removed, destroyed). */
  'DEVICE_LOST',
  /** A WebGPU error (validation, shader compilation) that is not one of the above. */
  'GPU',
  /** A run or experiment directory cannot be used as asked (exists, unfinished, not a run). */
  'RUN_DIR',
  /** Another process is writing that run or experiment directory; the message names it. */
  'RUN_LOCKED',
  /** Something used after dispose() or close(), or called out of order (resume without a state). */
  'STATE',
] as const;

/** One of {@link ERROR_CODES}: what kind of failure an {@link MlpError} is. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Base class of every error webgpu-mlp throws on purpose. */
export class MlpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MlpError';
  }
}
