// The history's settings from the environment of `kite server` / `kite up`:
//   KITE_HISTORY=off            do not record
//   KITE_HISTORY_RETENTION=7d   how long changes are kept (s, m, h or d; default 7d)
//   KITE_HISTORY_MAX_MB=256     size bound of the stored diffs
import { join } from 'node:path';
import type { HistoryOptions } from './recorder.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseRetention(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhd])$/.exec(v.trim());
  if (!m || !(Number(m[1]) > 0)) throw new Error(`invalid history retention "${v}" (e.g. 7d, 12h, 30m)`);
  return Number(m[1]) * UNITS[m[2]];
}

export function historyOptionsFromEnv(dataDir: string, env: NodeJS.ProcessEnv = process.env): HistoryOptions | undefined {
  if ((env.KITE_HISTORY ?? '').toLowerCase() === 'off') return undefined;
  const opts: HistoryOptions = { path: join(dataDir, 'history.db') };
  if (env.KITE_HISTORY_RETENTION) opts.retentionMs = parseRetention(env.KITE_HISTORY_RETENTION);
  if (env.KITE_HISTORY_MAX_MB) {
    const mb = Number(env.KITE_HISTORY_MAX_MB);
    if (!(mb > 0)) throw new Error(`invalid KITE_HISTORY_MAX_MB "${env.KITE_HISTORY_MAX_MB}"`);
    opts.maxBytes = mb * 1024 * 1024;
  }
  return opts;
}
