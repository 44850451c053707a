// The adapter limits a plan must respect, checked before Dawn sees the buffer or the dispatch: a
// model, batch or dataset too large for this adapter is refused with a sentence that names the
// limit, never left to a validation error deep inside the WebGPU implementation (which, once a bind
// group is invalid, would go on to "train" on nothing).
import { MlpError } from '../errors.ts';

/** Something too large for this adapter; the message names the tensor or kernel and the limit. */
export class GpuLimitError extends MlpError {
  constructor(message: string, options?: ErrorOptions) {
    super('GPU_LIMIT', message, options);
    this.name = 'GpuLimitError';
  }
}

/**
 * Throws unless a storage buffer of `bytes` can be bound whole. Every storage tensor is bound whole
 * by some kernel, so this is the one check buffers need (maxStorageBufferBindingSize never exceeds
 * maxBufferSize). `hint` says what to change.
 */
export function checkStorageBinding(device: GPUDevice, what: string, bytes: number, hint?: string): void {
  const limit = device.limits.maxStorageBufferBindingSize;
  if (bytes > limit) {
    throw new GpuLimitError(
      `${what} needs ${bytes.toLocaleString('en-US')} bytes, more than this adapter's maxStorageBufferBindingSize ` +
        `(${limit.toLocaleString('en-US')} bytes)${hint ? `; ${hint}` : ''}`,
    );
  }
}

/** Throws unless every dimension of a dispatch is within maxComputeWorkgroupsPerDimension. */
export function checkWorkgroups(device: GPUDevice, label: string, workgroups: readonly number[]): void {
  const limit = device.limits.maxComputeWorkgroupsPerDimension;
  if (workgroups.some((n) => n > limit || n < 0 || !Number.isInteger(n))) {
    throw new GpuLimitError(
      `${label}: dispatch of ${workgroups.join('×')} workgroups exceeds this adapter's maxComputeWorkgroupsPerDimension (${limit}); ` +
        'use narrower layers or a smaller batch',
    );
  }
}
