// Learning-rate schedules, evaluated on the host per step (the value reaches the GPU in StepParams).

/** A learning-rate schedule over the epochs of a fit. */
export type Schedule =
  | { readonly kind: 'constant' }
  /** Multiply by `gamma` every `every` epochs. */
  | { readonly kind: 'step'; readonly every: number; readonly gamma: number }
  /** Cosine from the base rate down to `minFactor`·base over the run (after warm-up). */
  | { readonly kind: 'cosine'; readonly minFactor: number };

export const SCHEDULE_KINDS = ['constant', 'step', 'cosine'] as const;

export interface LrPlan {
  readonly baseLr: number;
  readonly schedule: Schedule;
  /** Linear warm-up from baseLr/warmupSteps to baseLr over the first `warmupSteps` steps (0 = none). */
  readonly warmupSteps: number;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
}

/** The learning rate of optimizer step t (1-based). */
export function learningRate(plan: LrPlan, t: number): number {
  const { baseLr, schedule, warmupSteps } = plan;
  const warmup = warmupSteps > 0 && t <= warmupSteps ? t / warmupSteps : 1;
  switch (schedule.kind) {
    case 'constant':
      return baseLr * warmup;
    case 'step': {
      const epoch = Math.floor((t - 1) / plan.stepsPerEpoch);
      return baseLr * warmup * Math.pow(schedule.gamma, Math.floor(epoch / schedule.every));
    }
    case 'cosine': {
      if (t <= warmupSteps) return baseLr * warmup;
      const span = Math.max(1, plan.totalSteps - warmupSteps);
      const progress = Math.min(1, (t - warmupSteps - 1) / span);
      const low = baseLr * schedule.minFactor;
      return low + 0.5 * (baseLr - low) * (1 + Math.cos(Math.PI * progress));
    }
  }
}

export function describeSchedule(schedule: Schedule): string {
  switch (schedule.kind) {
    case 'constant':
      return 'constant';
    case 'step':
      return `step (×${schedule.gamma} every ${schedule.every} epochs)`;
    case 'cosine':
      return `cosine (to ${schedule.minFactor}× base)`;
  }
}
