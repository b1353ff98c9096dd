// The time source of the batch controllers (upstream: k8s.io/utils/clock, injected
// through newControllerWithClock / ControllerV2.now). Everything the Job and CronJob
// controllers decide by the clock — start and completion times, active deadlines,
// pod-failure back-off, schedule times — reads it here, so tests can move time instead
// of waiting for it. Delays handed to the work queue are computed from this clock too.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const realClock: Clock = { now: () => Date.now() };

/**
 * A clock that runs at real speed from a settable offset: `set(t)` makes now() read `t`
 * at once and keep ticking from there; `advance(ms)` jumps ahead.
 */
export class OffsetClock implements Clock {
  private offset = 0;

  now(): number {
    return Date.now() + this.offset;
  }

  set(t: number): void {
    this.offset = t - Date.now();
  }

  advance(ms: number): void {
    this.offset += ms;
  }
}

/** RFC 3339 with whole seconds in UTC, as metav1.Time serializes. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A metav1.Time string as milliseconds (undefined when absent or unparseable). */
export function parseTime(t: string | undefined | null): number | undefined {
  if (!t) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}
