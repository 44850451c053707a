// What a run is besides its model config: the device, the data source, reporting and checkpointing,
// the output format. Recorded in config.json (`run`) and honoured on --resume, so a resumed run is
// the same run.
import type { DataSource } from './data.ts';

/** A run's settings beyond its model config. */
export interface RunSettings {
  /** 'gpu' (WebGPU) or 'cpu' (the CPU reference). */
  readonly device: 'gpu' | 'cpu';
  readonly data: DataSource;
  /** Write report.html and figures/ at the end (a tested run only). */
  readonly report: boolean;
  /** Optimizer steps between mid-epoch checkpoints (0: at epoch ends only). */
  readonly checkpointEvery: number;
  /** Progress as JSON lines on stdout (the CLI's --json). */
  readonly json: boolean;
  /**
   * Device-loss recovery (Model.fit's `recover`): losses a run recovers from, and optimizer steps
   * between the host snapshots it goes on from. Absent: the library's defaults (3 and 100).
   */
  readonly recovery?: { readonly maxRecoveries: number; readonly snapshotEvery: number };
}

export const DEFAULT_SETTINGS: RunSettings = { device: 'gpu', data: { dir: null }, report: true, checkpointEvery: 0, json: false };

/** A run's settings from its config.json; versions before 0.2 kept the device and data directory in the config itself. */
export function settingsFromJson(raw: Readonly<Record<string, unknown>>): RunSettings {
  const run = raw.run as Partial<RunSettings> | undefined;
  if (run && typeof run === 'object') return { ...DEFAULT_SETTINGS, ...run };
  return { ...DEFAULT_SETTINGS, device: raw.device === 'cpu' ? 'cpu' : 'gpu', data: { dir: typeof raw.dataDir === 'string' ? raw.dataDir : null } };
}
