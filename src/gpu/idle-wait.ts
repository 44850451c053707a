// Waiting for the GPU without taking a core from it. In Node, while a GPU promise is pending,
// Dawn's binding polls for completion in a setImmediate loop on the main thread: on a software
// adapter that is a core taken from the adapter's own workers (measured on lavapipe: 0.8 of a core;
// epochs 30% slower, bench/RESULTS.md). So before awaiting, sleep on a timer for most of the time
// the submitted work is expected to take, learned from earlier waits.

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class IdleWaiter {
  private pendingUnits = 0;
  private pendingSince = 0;
  private msPerUnit: number | undefined;

  /**
   * @param enabled  sleep first only where awaiting busy-waits (GpuContext.busyWaits)
   * @param fraction of the expected time to sleep: under 1, so a faster GPU is not kept waiting long
   */
  constructor(
    private readonly enabled: boolean,
    private readonly fraction = 0.9,
  ) {}

  /** Records that `units` of work (e.g. training steps) were submitted. */
  submitted(units: number): void {
    if (this.pendingUnits === 0) this.pendingSince = performance.now();
    this.pendingUnits += units;
  }

  /** Runs `wait` (a readback that resolves when the submitted work is done), sleeping first if worthwhile. */
  async wait<T>(wait: () => Promise<T>): Promise<T> {
    let slept = false;
    if (this.enabled && this.msPerUnit !== undefined && this.pendingUnits > 0) {
      const remaining = this.fraction * this.pendingUnits * this.msPerUnit - (performance.now() - this.pendingSince);
      if (remaining > 1) {
        await sleep(remaining);
        slept = true;
      }
    }
    const woke = performance.now();
    const result = await wait();
    const done = performance.now();
    if (this.pendingUnits > 0) {
      if (slept && done - woke < OVERSLEPT_MS) {
        // The work was already done when we woke: we only know it took less than we thought.
        this.msPerUnit! *= 0.75;
      } else {
        const sample = (done - this.pendingSince) / this.pendingUnits;
        this.msPerUnit = this.msPerUnit === undefined ? sample : 0.5 * this.msPerUnit + 0.5 * sample;
      }
      this.pendingUnits = 0;
    }
    return result;
  }
}

/** A wait this short after waking means the GPU had finished while we slept. */
const OVERSLEPT_MS = 1;
