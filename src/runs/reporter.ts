// Where a run reports itself: a progress bar, plain lines, JSON lines (the CLI's), or nothing. Runs,
// searches and studies write to this interface; the applications implement it.
import type { EpochRecord, ProgressEvent } from '../train/trainer.ts';

/** Where a run, search or study reports progress, epochs, messages and structured events. */
export interface Reporter {
  progress(event: ProgressEvent): void;
  epoch(record: EpochRecord, improved: boolean): void;
  /** Free-form lines (start-up, results); JSON mode wraps them as `{"type":"message"}`. */
  message(text: string): void;
  /** A structured event (only JSON mode prints it). */
  event(type: string, data: Record<string, unknown>): void;
  close(): void;
}
