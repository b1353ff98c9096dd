// Exponential back-off per key (upstream: client-go util/flowcontrol Backoff, as the
// kubelet uses it for container restarts and image pulls): the first failure is
// retried at once and arms `initial`; every retry inside the window doubles it up
// to `max`; an entry untouched for 2 × max is forgotten.
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  now?: () => number;
}

interface Entry {
  backoffMs: number;
  /** when the entry was last moved on (ms since epoch) */
  lastUpdate: number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 10_000;
    this.maxMs = opts.maxMs ?? 300_000;
    this.now = opts.now ?? Date.now;
  }

  private expired(eventTime: number, lastUpdate: number): boolean {
    return eventTime - lastUpdate > 2 * this.maxMs;
  }

  /** The current back-off of `key` (0 when none). */
  get(key: string): number {
    return this.entries.get(key)?.backoffMs ?? 0;
  }

  /** Record a failure at `eventTime`: start at `initial` or double. */
  next(key: string, eventTime: number = this.now()): void {
    const e = this.entries.get(key);
    if (!e || this.expired(eventTime, e.lastUpdate)) {
      this.entries.set(key, { backoffMs: this.initialMs, lastUpdate: eventTime });
      return;
    }
    e.backoffMs = Math.min(e.backoffMs * 2, this.maxMs);
    e.lastUpdate = eventTime;
  }

  /** True while now is within the back-off that started at `eventTime`. */
  isInBackOffSince(key: string, eventTime: number): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    if (this.expired(eventTime, e.lastUpdate)) return false;
    return this.now() - eventTime < e.backoffMs;
  }

  /** True while now is within the back-off counted from the last recorded failure. */
  isInBackOffSinceUpdate(key: string, now: number = this.now()): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    if (this.expired(now, e.lastUpdate)) return false;
    return now - e.lastUpdate < e.backoffMs;
  }

  /** When the back-off counted from the last recorded failure ends. */
  updateEndsAt(key: string): number {
    const e = this.entries.get(key);
    return e ? e.lastUpdate + e.backoffMs : this.now();
  }

  /** When the back-off that started at `eventTime` ends (ms since epoch). */
  endsAt(key: string, eventTime: number): number {
    return eventTime + this.get(key);
  }

  clear(): void {
    this.entries.clear();
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Forget entries untouched for 2 × max. */
  gc(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (now - e.lastUpdate > 2 * this.maxMs) this.entries.delete(k);
  }
}
