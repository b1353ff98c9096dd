// Cron schedules as CronJobs use them (github.com/robfig/cron/v3 ParseStandard: five
// fields, names for months and weekdays, ranges/steps/lists, `?`, the @yearly..@hourly
// macros, `@every <duration>`, and an optional leading `TZ=`/`CRON_TZ=`). Parse errors are
// worded as that library words them, since the apiserver returns them verbatim.
// `nextTime` computes the next activation, in a given IANA time zone.

export class CronError extends Error {}

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTHS: Bounds = {
  min: 1,
  max: 12,
  names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 },
};
const DOW: Bounds = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };

/** A parsed schedule: bit sets per field (bit i = value i), or a fixed interval. */
export interface CronSchedule {
  kind: 'spec' | 'every';
  minute: bigint;
  hour: bigint;
  dom: bigint;
  month: bigint;
  dow: bigint;
  /** `*` (or `?`) was used for day-of-month / day-of-week (robfig's starBit). */
  domStar: boolean;
  dowStar: boolean;
  /** For `@every`: the interval in milliseconds. */
  everyMs?: number;
  /** Time zone named in the spec (TZ=...), if any. */
  timeZone?: string;
}

function bitsRange(start: number, end: number, step: number): bigint {
  let b = 0n;
  for (let i = start; i <= end; i += step) b |= 1n << BigInt(i);
  return b;
}

function atoi(expr: string): number {
  if (!/^[+-]?\d+$/.test(expr)) throw new CronError(`failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: invalid syntax`);
  const n = Number(expr);
  if (!Number.isSafeInteger(n) || Math.abs(n) > 2 ** 63) throw new CronError(`failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: value out of range`);
  return n;
}

function mustParseInt(expr: string): number {
  const n = atoi(expr);
  if (n < 0) throw new CronError(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function parseIntOrName(expr: string, names?: Record<string, number>): number {
  if (names) {
    const v = names[expr.toLowerCase()];
    if (v !== undefined) return v;
  }
  return mustParseInt(expr);
}

function getRange(expr: string, r: Bounds): { bits: bigint; star: boolean } {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0].split('-');
  const single = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = r.min;
    end = r.max;
    star = true;
  } else {
    start = parseIntOrName(lowAndHigh[0], r.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1], r.names);
    else throw new CronError(`too many hyphens: ${expr}`);
  }
  let step: number;
  if (rangeAndStep.length === 1) step = 1;
  else if (rangeAndStep.length === 2) {
    step = mustParseInt(rangeAndStep[1]);
    if (single) end = r.max;
    if (step > 1) star = false;
  } else throw new CronError(`too many slashes: ${expr}`);
  if (start < r.min) throw new CronError(`beginning of range (${start}) below minimum (${r.min}): ${expr}`);
  if (end > r.max) throw new CronError(`end of range (${end}) above maximum (${r.max}): ${expr}`);
  if (start > end) throw new CronError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new CronError(`step of range should be a positive number: ${expr}`);
  return { bits: bitsRange(start, end, step), star };
}

function getField(field: string, r: Bounds): { bits: bigint; star: boolean } {
  let bits = 0n;
  let star = false;
  for (const expr of field.split(',').filter((s) => s !== '')) {
    const g = getRange(expr, r);
    bits |= g.bits;
    star ||= g.star;
  }
  return { bits, star };
}

function isValidTimeZone(tz: string): boolean {
  if (tz === 'UTC' || tz === 'Local' || tz === '') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Go's time.ParseDuration, in milliseconds. */
export function parseGoDuration(s: string): number {
  const bad = () => new CronError(`time: invalid duration ${JSON.stringify(s)}`);
  let rest = s;
  let sign = 1;
  if (rest[0] === '-' || rest[0] === '+') {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw bad();
  let total = 0;
  const re = /^(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest.length) {
    const m = re.exec(rest);
    if (!m || m[1] === '' || m[1] === '.') {
      if (/^\d*\.?\d*$/.test(rest)) throw new CronError(`time: missing unit in duration ${JSON.stringify(s)}`);
      const u = /^\d*\.?\d*([^\d.]+)/.exec(rest);
      if (u && !(u[1] in DURATION_UNITS)) throw new CronError(`time: unknown unit ${JSON.stringify(u[1])} in duration ${JSON.stringify(s)}`);
      throw bad();
    }
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

/** cron.ParseStandard. Throws CronError with robfig/cron's wording. */
export function parseCron(specIn: string): CronSchedule {
  let spec = specIn;
  if (spec.length === 0) throw new CronError('empty spec string');
  let timeZone: string | undefined;
  if (spec.startsWith('TZ=') || spec.startsWith('CRON_TZ=')) {
    const i = spec.indexOf(' ');
    const eq = spec.indexOf('=');
    const loc = i < 0 ? spec.slice(eq + 1) : spec.slice(eq + 1, i);
    if (i < 0 || !isValidTimeZone(loc)) throw new CronError(`provided bad location ${loc}: unknown time zone ${loc}`);
    timeZone = loc;
    spec = spec.slice(i).trim();
  }
  if (spec.startsWith('@')) {
    const all = (b: Bounds) => bitsRange(b.min, b.max, 1);
    const fixed = (minute: number, hour: number, dom: bigint, month: bigint, dow: bigint, domStar: boolean, dowStar: boolean): CronSchedule => ({
      kind: 'spec',
      minute: 1n << BigInt(minute),
      hour: hour < 0 ? all(HOURS) : 1n << BigInt(hour),
      dom,
      month,
      dow,
      domStar,
      dowStar,
      timeZone,
    });
    switch (spec) {
      case '@yearly':
      case '@annually':
        return fixed(0, 0, 1n << 1n, 1n << 1n, all(DOW), false, true);
      case '@monthly':
        return fixed(0, 0, 1n << 1n, all(MONTHS), all(DOW), false, true);
      case '@weekly':
        return fixed(0, 0, all(DOM), all(MONTHS), 1n, true, false);
      case '@daily':
      case '@midnight':
        return fixed(0, 0, all(DOM), all(MONTHS), all(DOW), true, true);
      case '@hourly':
        return fixed(0, -1, all(DOM), all(MONTHS), all(DOW), true, true);
    }
    if (spec.startsWith('@every ')) {
      let ms: number;
      try {
        ms = parseGoDuration(spec.slice('@every '.length));
      } catch (e) {
        throw new CronError(`failed to parse duration ${spec}: ${(e as Error).message}`);
      }
      return { kind: 'every', minute: 0n, hour: 0n, dom: 0n, month: 0n, dow: 0n, domStar: false, dowStar: false, everyMs: Math.max(1000, Math.floor(ms / 1000) * 1000), timeZone };
    }
    throw new CronError(`unrecognized descriptor: ${spec}`);
  }
  const fields = spec.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) throw new CronError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  const minute = getField(fields[0], MINUTES);
  const hour = getField(fields[1], HOURS);
  const dom = getField(fields[2], DOM);
  const month = getField(fields[3], MONTHS);
  const dow = getField(fields[4], DOW);
  return { kind: 'spec', minute: minute.bits, hour: hour.bits, dom: dom.bits, month: month.bits, dow: dow.bits, domStar: dom.star, dowStar: dow.star, timeZone };
}

// ---- next activation ---------------------------------------------------------------------

interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();

function wallIn(tz: string, t: number): Wall {
  if (tz === 'UTC') {
    const d = new Date(t);
    return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes() };
  }
  let f = fmtCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    fmtCache.set(tz, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts.year, mo: parts.month, d: parts.day, h: parts.hour % 24, mi: parts.minute };
}

/** The instant whose wall clock in `tz` reads `w` (the earlier one across a DST overlap). */
function instantOf(tz: string, w: Wall): number {
  const guess = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi);
  if (tz === 'UTC') return guess;
  let t = guess;
  for (let i = 0; i < 3; i++) {
    const got = wallIn(tz, t);
    const diff = Date.UTC(got.y, got.mo - 1, got.d, got.h, got.mi) - guess;
    if (diff === 0) break;
    t -= diff;
  }
  return t;
}

function has(bits: bigint, i: number): boolean {
  return ((bits >> BigInt(i)) & 1n) === 1n;
}

function dayMatches(s: CronSchedule, w: Wall): boolean {
  const dow = new Date(Date.UTC(w.y, w.mo - 1, w.d)).getUTCDay();
  const domMatch = has(s.dom, w.d);
  const dowMatch = has(s.dow, dow);
  if (s.domStar || s.dowStar) return domMatch && dowMatch;
  return domMatch || dowMatch;
}

/** The first activation strictly after `after` (ms since epoch), or undefined within 5 years. */
export function nextTime(s: CronSchedule, after: number, timeZone = 'UTC'): number | undefined {
  if (s.kind === 'every') return Math.floor(after / 1000) * 1000 + (s.everyMs ?? 60000);
  const tz = s.timeZone && s.timeZone !== 'Local' ? s.timeZone : timeZone || 'UTC';
  const start = wallIn(tz, after + 60000 - (after % 60000));
  // walk wall-clock time in UTC arithmetic, field by field
  const d = new Date(Date.UTC(start.y, start.mo - 1, start.d, start.h, start.mi));
  const limit = start.y + 5;
  for (;;) {
    if (d.getUTCFullYear() > limit) return undefined;
    if (!has(s.month, d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    const w: Wall = { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes() };
    if (!dayMatches(s, w)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!has(s.hour, d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!has(s.minute, d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    const t = instantOf(tz, w);
    if (t > after) return t;
    d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
  }
}

/** Whether `tz` names a time zone this process knows (time.LoadLocation). */
export function knownTimeZone(tz: string): boolean {
  return isValidTimeZone(tz);
}
