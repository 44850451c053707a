// Waiting for the GPU without taking a core from it. In Node, while a GPU promise is pending,
// Dawn's binding polls for completion in a setImmediate loop on the main thread: on a software
// adapter that is a core taken from the adapter's own workers (measured on lavapipe: 0.8 of a core;
// epochs 30% slower, bench/RESULTS.md). So before awaiting, sleep on a timer for most of the time
// the submitted work is expected to take, learned from earlier waits.
//
// What it learns from: only waits for work that ran as usual. Pipelines are compiled before any
// timed work (KernelCache.warm), so no wait includes a compilation; a submission marked
// `learn: false` (a warm-up that does compile, or any other one-off) is waited for without
// sleeping, and that wait teaches nothing.
//
// When a sleep overshoots (the work was done when we woke), the estimate shrinks by a quarter, as
// steady work's small overshoots want. From the third overshoot in a row the estimate is far off:
// each further wait sleeps half as long as the one before (0.45, 0.23, ... of the estimate) and
// polls the rest, and the first wait that did not overshoot replaces the estimate outright. An
// estimate 700× too long (a first wait that included compiling the pipelines, before they were
// compiled up front) is forgotten in about ten waits instead of some 25 epochs. A wait that does
// not sleep at all is a poor sample (Dawn's poll takes a core from the adapter and the work slows),
// but the only one there is for the first: the GPU engine's first estimate comes from its first
// progress readback, a whole interval of steps (a first submit of a few steps, timed alone, gave one
// 2-7× too long on lavapipe, and a slow first epoch).
//
// A wait may be for the work submitted up to some point while more is queued behind it (a readback
// requested then, taken later: TrainingEngine.requestRecords): it expects only the units up to that
// point, and the units behind them are taken to start when it ends (the device never idled). The host
// submits no more while it sleeps, so sleeping too long starves the device all the same, a little
// later; and with the device busy on the work behind, an overshoot does not show as a readback that
// resolves at once (it took 1-2 ms on lavapipe): for such a wait, a readback within BUSY_READBACK_MS
// of waking counts as an overshoot.

/** Time as the waiter sees it: the real clock, or a test's. */
export interface WaitClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const REAL_CLOCK: WaitClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

export class IdleWaiter {
  /** Units submitted so far, and of those, the units some wait has seen finish. */
  private submittedTotal = 0;
  private doneTotal = 0;
  /** When the device started on the first unit not known done. */
  private pendingSince = 0;
  private msPerUnit: number | undefined;
  /** The pending work includes a submission not to learn from. */
  private pendingOneOff = false;
  /** Sleeps in a row that overshot. */
  private overslept = 0;

  /**
   * @param enabled  sleep first only where awaiting busy-waits (GpuContext.busyWaits)
   * @param fraction of the expected time to sleep: under 1, so a faster GPU is not kept waiting long
   * @param clock    the real clock (tests pass one of their own)
   */
  constructor(
    private readonly enabled: boolean,
    private readonly fraction = 0.9,
    private readonly clock: WaitClock = REAL_CLOCK,
  ) {}

  /**
   * Records that `units` of work (e.g. training steps) were submitted. `learn: false`: work whose
   * time says nothing about the next (pipelines compiling, first use of buffers); the wait that
   * covers it neither sleeps nor updates the estimate.
   */
  submitted(units: number, options: { readonly learn?: boolean } = {}): void {
    if (this.submittedTotal === this.doneTotal) this.pendingSince = this.clock.now();
    this.submittedTotal += units;
    if (options.learn === false) this.pendingOneOff = true;
  }

  /** Units submitted so far: a point to wait for later (wait's `upTo`). */
  get submittedUnits(): number {
    return this.submittedTotal;
  }

  /** Forgets what was learned (the work changed: another plan, another device). */
  reset(): void {
    this.msPerUnit = undefined;
    this.overslept = 0;
  }

  /** The current estimate of milliseconds per unit of work, if there is one. */
  get estimate(): number | undefined {
    return this.msPerUnit;
  }

  /**
   * Runs `wait` (a readback that resolves when the work submitted up to `upTo`, default all of it, is
   * done), sleeping first if worthwhile.
   */
  async wait<T>(wait: () => Promise<T>, options: { readonly upTo?: number } = {}): Promise<T> {
    const upTo = Math.min(options.upTo ?? this.submittedTotal, this.submittedTotal);
    const units = upTo - this.doneTotal;
    const queuedBehind = upTo < this.submittedTotal;
    let slept = false;
    if (this.enabled && this.msPerUnit !== undefined && units > 0 && !this.pendingOneOff) {
      // Far off (three overshoots in a row and more): sleep half as long each time.
      const fraction = this.fraction * 0.5 ** Math.max(0, this.overslept - 1);
      const remaining = fraction * units * this.msPerUnit - (this.clock.now() - this.pendingSince);
      if (remaining > 1) {
        await this.clock.sleep(remaining);
        slept = true;
      }
    }
    const woke = this.clock.now();
    const result = await wait();
    const done = this.clock.now();
    if (units > 0) {
      const sample = (done - this.pendingSince) / units;
      if (this.pendingOneOff) {
        // Nothing to learn from it.
      } else if (slept && done - woke < (queuedBehind ? BUSY_READBACK_MS : OVERSLEPT_MS)) {
        // The work was already done when we woke: we only know it took less than we thought.
        this.msPerUnit! *= 0.75;
        this.overslept += 1;
      } else if (this.msPerUnit === undefined || this.overslept >= 2) {
        this.msPerUnit = sample;
        this.overslept = 0;
      } else {
        this.msPerUnit = 0.5 * this.msPerUnit + 0.5 * sample;
        this.overslept = 0;
      }
      this.doneTotal = upTo;
      // Units queued behind these started as they ended.
      this.pendingSince = done;
      this.pendingOneOff = false;
    }
    return result;
  }
}

/** A wait this short after waking means the GPU had finished while we slept. */
const OVERSLEPT_MS = 1;

/** ... or may mean it, where the device is busy with work queued behind (see the top of this file). */
const BUSY_READBACK_MS = 3;
