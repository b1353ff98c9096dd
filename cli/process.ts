// Which process a pid file names: a `kite server`, not whatever inherited a stale pid.
import { isAlive, processArgs } from '../machinery/process.js';

/**
 * True when `pid` is alive and (where /proc lets us check) really is a `kite server`,
 * not an unrelated process that inherited a stale pid.
 */
export function isKiteServer(pid: number): boolean {
  if (!isAlive(pid)) return false;
  const args = processArgs(pid);
  if (!args) return true;
  const script = args.findIndex((a) => /(^|[/\\])main\.js$/.test(a) || /(^|[/\\])kite$/.test(a));
  return script >= 0 && args.slice(script + 1).includes('server');
}
