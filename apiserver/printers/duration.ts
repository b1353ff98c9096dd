// Human-readable durations, with the same rounding steps kubectl users know from AGE
// columns: whole seconds under two minutes, then minutes(+seconds), hours(+minutes),
// days(+hours) and years(+days) with decreasing precision.

/** Go's zero time (0001-01-01T00:00:00Z) in epoch milliseconds: treated as "unset". */
const GO_ZERO_TIME_MS = -62135596800000;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Formats a duration given in milliseconds. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / SECOND);
  // Up to one second in the future is tolerated as clock skew.
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(ms / MINUTE);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(ms / HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    const days = Math.floor(hours / 24);
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${years}y` : `${years}y${dy}d`;
  }
  return `${years}y`;
}

/** Epoch milliseconds of an RFC 3339 timestamp, or NaN when absent, unparsable or Go's zero time. */
export function parseTime(ts: unknown): number {
  if (typeof ts !== 'string' || ts === '') return NaN;
  const t = Date.parse(ts);
  return t === GO_ZERO_TIME_MS ? NaN : t;
}

/** "How long ago": `<unknown>` for an unset timestamp. */
export function since(ts: unknown, now: number): string {
  const t = parseTime(ts);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

/** Same as `since` for an already-parsed time (NaN = unset). */
export function sinceMs(t: number, now: number): string {
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

/** RFC 3339 in UTC with whole seconds, as the default table shows `Created At`. */
export function rfc3339(ts: unknown): string {
  const t = parseTime(ts);
  if (Number.isNaN(t)) return '0001-01-01T00:00:00Z';
  const iso = new Date(t).toISOString();
  return iso.slice(0, 19) + 'Z';
}
