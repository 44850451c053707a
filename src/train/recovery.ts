// Device-loss recovery for a fit: what the caller may set, what each recovery reports, and the state
// kept on the host to resume from. Model.fit (src/api/model.ts) drives it:
//
//   - while training, the last good state lives on the host: the parameters, the optimizer state and
//     the trainer state at one step boundary, taken at the fit's start, every `snapshotEvery` steps,
//     at each checkpoint and at each epoch end (every value checked finite by the trainer);
//   - when the device is lost, the fit asks its Gpu for a new device (GpuWorkspace.recover: once for
//     all the models on it), builds its engine again there, writes the snapshot back and resumes the
//     trainer from the snapshot's state. The steps after the snapshot are trained again ("replayed"):
//     the trainer is deterministic (shuffles and dropout masks are functions of the seed and the
//     step), so on the same adapter the fit ends with exactly the weights of an uninterrupted one;
//   - progress already reported is not reported again while steps are replayed;
//   - after `maxRecoveries` recoveries in one fit, the next loss ends it with a DEVICE_LOST error.
import { ConfigError } from './config.ts';
import type { ProgressEvent, TrainerState } from './trainer.ts';

/** How a fit survives the loss of its GPU device (`recover` in FitControl; `false`: it does not). */
export interface RecoverOptions {
  /** Device losses a fit recovers from; the next one ends it with an MlpError 'DEVICE_LOST' (default 3; 0: none). */
  readonly maxRecoveries?: number;
  /**
   * Optimizer steps between the host copies of the training state a recovery resumes from (default
   * 100; 0: only at checkpoints and epoch ends). At most this many steps are trained again after a
   * loss; each copy reads the parameters and optimizer state back from the device.
   */
  readonly snapshotEvery?: number;
}

/** One recovery from a lost device, as FitControl.onRecovery and FitResult.recoveries report it. */
export interface Recovery {
  /** 1 for the fit's first recovery, then 2, ... */
  readonly count: number;
  /** Why the device was lost, as the driver said: "GPU device lost (destroyed): device was destroyed". */
  readonly reason: string;
  /** Optimizer steps handed to the lost device (the run's step count t when the loss was noticed). */
  readonly lostAt: number;
  /** The step the fit went on from: its last snapshot on the host. */
  readonly restoredAt: number;
  /** Steps trained again: lostAt − restoredAt. */
  readonly replayed: number;
  /** Seconds from noticing the loss to training again (opening the device, rebuilding the plans). */
  readonly seconds: number;
}

export const DEFAULT_RECOVERY: Required<RecoverOptions> = { maxRecoveries: 3, snapshotEvery: 100 };

/** The recovery settings `recover` asks for: true or absent the defaults, false none. */
export function resolveRecovery(recover: boolean | RecoverOptions | undefined): Required<RecoverOptions> {
  if (recover === undefined || recover === true) return DEFAULT_RECOVERY;
  if (recover === false) return { ...DEFAULT_RECOVERY, maxRecoveries: 0 };
  if (typeof recover !== 'object' || recover === null) throw new ConfigError(`recover must be a boolean or { maxRecoveries, snapshotEvery }, found ${typeof recover}`);
  const resolved = { ...DEFAULT_RECOVERY, ...recover };
  for (const key of ['maxRecoveries', 'snapshotEvery'] as const) {
    const value = resolved[key];
    if (!Number.isInteger(value) || value < 0) throw new ConfigError(`recover.${key} must be an integer ≥ 0, found ${value}`);
  }
  return resolved;
}

/** The last good state of a fit, on the host, at a step boundary. */
export interface HostSnapshot {
  /** The trainer state (a copy: the trainer's own goes on changing). */
  readonly state: TrainerState;
  readonly params: Float32Array;
  readonly optimizerState: readonly Float32Array[];
  /** The best validation epoch's parameters as of `state`. */
  readonly bestParams: Float32Array | undefined;
}

/**
 * Passes progress events on, leaving out the steps reported already: after a recovery the trainer
 * goes back to its snapshot and reads those steps' (identical) losses again. `reported`: the last
 * step t reported before the fit (its resume point, or 0).
 */
export function progressOnce(onProgress: (event: ProgressEvent) => void, reported: number): (event: ProgressEvent) => void {
  return (event) => {
    const last = event.firstStep + event.stepLosses.length - 1;
    if (last <= reported) return;
    const skip = Math.max(0, reported + 1 - event.firstStep);
    reported = last;
    onProgress(skip > 0 ? { ...event, firstStep: event.firstStep + skip, stepLosses: event.stepLosses.slice(skip) } : event);
  };
}

/** "the 4th" */
function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** The message of the loss that ends a fit because it recovered `max` times already. */
export function recoveryLimitMessage(reason: string, max: number): string {
  return `${reason}: the ${ordinal(max + 1)} device loss in this fit, which recovers from ${max} at most`;
}
