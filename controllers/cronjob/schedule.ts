// Schedule arithmetic of the CronJob controller (upstream: pkg/controller/cronjob/utils.go).
// Schedules are parsed and stepped by the API server's own cron code
// (apiserver/admission/cron.ts: robfig/cron's ParseStandard, time zones included).
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { CronSchedule } from '../../apiserver/admission/cron.js';
import { knownTimeZone, nextTime, parseCron } from '../../apiserver/admission/cron.js';
import { parseTime } from '../job/clock.js';

export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** Requeue this long after the next schedule time (upstream nextScheduleDelta), against clock skew. */
export const NEXT_SCHEDULE_DELTA_MS = 100;

export type MissedSchedules = 'none' | 'few' | 'many';

export interface Schedule {
  parsed: CronSchedule;
  /** The first activation strictly after `t` (undefined: none in the next five years). */
  next(t: number): number | undefined;
}

/**
 * The schedule as the controller parses it: a `TZ=`/`CRON_TZ=` prefix in the schedule
 * wins (that form is unsupported and warned about); otherwise `spec.timeZone` applies.
 */
export function formatSchedule(cj: CronJob): { spec: string; tzInSchedule: boolean } {
  const schedule = cj.spec?.schedule ?? '';
  if (schedule.includes('TZ')) return { spec: schedule, tzInSchedule: true };
  const tz = cj.spec?.timeZone;
  if (tz && knownTimeZone(tz)) return { spec: `TZ=${tz} ${schedule}`, tzInSchedule: false };
  return { spec: schedule, tzInSchedule: false };
}

/** Throws CronError for an unparseable schedule. */
export function parseSchedule(spec: string): Schedule {
  const parsed = parseCron(spec);
  return { parsed, next: (t) => nextTime(parsed, t, 'UTC') };
}

export interface MostRecent {
  /** lastScheduleTime, or the creation time (or the starting deadline, if later and asked for). */
  earliest: number;
  /** The latest schedule time at or before now, if any. */
  mostRecent?: number;
  missed: MissedSchedules;
}

export class ScheduleError extends Error {}

/** upstream mostRecentScheduleTime: the latest missed schedule time, counting roughly how many were missed. */
export function mostRecentScheduleTime(cj: CronJob, now: number, sched: Schedule, includeStartingDeadline: boolean): MostRecent {
  let earliest = parseTime(cj.status?.lastScheduleTime) ?? parseTime(cj.metadata?.creationTimestamp) ?? now;
  const sds = cj.spec?.startingDeadlineSeconds;
  if (includeStartingDeadline && sds !== undefined && sds !== null) {
    // Nothing before this point will be scheduled any more.
    const deadline = now - sds * 1000;
    if (deadline > earliest) earliest = deadline;
  }
  const t1 = sched.next(earliest);
  const t2 = t1 === undefined ? undefined : sched.next(t1);
  if (t1 === undefined || t2 === undefined) throw new ScheduleError('time difference between two schedules is less than 1 second');
  if (now < t1) return { earliest, missed: 'none' };
  if (now < t2) return { earliest, mostRecent: t1, missed: 'none' };
  const between = Math.round((t2 - t1) / 1000);
  if (between < 1) throw new ScheduleError('time difference between two schedules is less than 1 second');
  // Roughly how many intervals fit between t1 and now; then step exactly from one
  // interval before the estimate (irregular schedules such as `30 6-16/4 * * 1-5`).
  const elapsed = Math.trunc((now - t1) / 1000);
  const missedCount = Math.trunc(elapsed / between) + 1;
  const potentialEarliest = t1 + (missedCount - 2) * between * 1000;
  let mostRecent: number | undefined;
  for (let t = sched.next(potentialEarliest); t !== undefined && t <= now; t = sched.next(t)) mostRecent = t;
  const missed: MissedSchedules = missedCount > 100 ? 'many' : missedCount > 0 ? 'few' : 'none';
  return { earliest, mostRecent, missed };
}

/** How long until the next schedule time (plus the delta), for the work queue. */
export function nextScheduleTimeDuration(cj: CronJob, now: number, sched: Schedule): number | undefined {
  let from: number;
  try {
    const r = mostRecentScheduleTime(cj, now, sched, false);
    from = r.mostRecent ?? (r.missed === 'none' ? r.earliest : now);
  } catch {
    from = now; // still requeue: aim for the next slot from now
  }
  const next = sched.next(from);
  return next === undefined ? undefined : next + NEXT_SCHEDULE_DELTA_MS - now;
}

/** The schedule time a Job is due for now, if any (with the starting deadline applied). */
export function nextScheduleTime(cj: CronJob, now: number, sched: Schedule): { time?: number; tooManyMissed: boolean } {
  const r = mostRecentScheduleTime(cj, now, sched, true);
  if (r.mostRecent === undefined || r.mostRecent > now) return { tooManyMissed: false };
  return { time: r.mostRecent, tooManyMissed: r.missed === 'many' };
}

/** `<cronjob>-<scheduled time in minutes since the epoch>`: one name per schedule time. */
export function jobName(cj: CronJob, scheduled: number): string {
  return `${cj.metadata?.name}-${Math.floor(scheduled / 60000)}`;
}

/** RFC 3339 in a time zone, as Go's time.Format(time.RFC3339) prints it (`Z` for a zero offset). */
export function formatRFC3339In(ms: number, timeZone: string | undefined): string {
  const tz = timeZone && knownTimeZone(timeZone) ? timeZone : 'UTC';
  const secs = Math.floor(ms / 1000) * 1000;
  let wall = secs;
  if (tz !== 'UTC') {
    const f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    const p: Record<string, number> = {};
    for (const part of f.formatToParts(new Date(secs))) if (part.type !== 'literal') p[part.type] = Number(part.value);
    wall = Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second);
  }
  const offsetMin = Math.round((wall - secs) / 60000);
  const base = new Date(wall).toISOString().slice(0, 19);
  if (offsetMin === 0) return `${base}Z`;
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  return `${base}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go's time.RFC1123Z of a UTC time: `Mon, 02 Jan 2006 15:04:05 +0000`. */
export function formatRFC1123Z(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Finished, and how: the Complete or Failed condition that is True. */
export function finishedStatus(job: Job): 'Complete' | 'Failed' | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') return c.type;
  }
  return undefined;
}

/** Oldest first by start time (Jobs that never started last), then by name. */
export function byJobStartTime(a: Job, b: Job): number {
  const as = parseTime(a.status?.startTime);
  const bs = parseTime(b.status?.startTime);
  if (as === undefined && bs !== undefined) return 1;
  if (as !== undefined && bs === undefined) return -1;
  if (as === bs) return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : (a.metadata?.name ?? '') > (b.metadata?.name ?? '') ? 1 : 0;
  return as! - bs!;
}
