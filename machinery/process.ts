// Process bookkeeping shared by everything that starts or stops long-lived processes
// (kite servers, etcd members, containerd, kubelets, nginx): pid files, liveness
// (zombies count as dead), command lines for identity checks against pid reuse,
// signalling and waiting for exit.
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The pid recorded in `path`, or undefined when the file is absent or garbage. */
export function readPidFile(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function writePidFile(path: string, pid: number): void {
  writeFileSync(path, `${pid}\n`, { mode: 0o644 });
}

/** Removes the pid file if it still names `pid` (or unconditionally when pid is omitted). */
export function removePidFile(path: string, pid?: number): void {
  try {
    if (pid === undefined || readPidFile(path) === pid) unlinkSync(path);
  } catch {
    /* already gone */
  }
}

/** Linux process state letter from /proc, or undefined where /proc is unavailable. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ..." — comm may contain spaces and parentheses; the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** True when the process exists and is not a zombie (false for no pid at all: 0 would name our process group). */
export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const state = procState(pid);
  return state !== 'Z' && state !== 'X';
}

/** The process's argv from /proc, or undefined where unavailable. */
export function processArgs(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  } catch {
    return undefined;
  }
}

/** Waits until `pid` has exited (or is a zombie); false on timeout. */
export async function waitForExit(pid: number, timeoutMs: number, pollMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
  }
  return true;
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves to how it ended ('gone': it had exited
 * before the signal). Throws when the process outlives SIGKILL by 10 s (stuck in the
 * kernel): whoever stops it must not carry on as if its locks and ports were free.
 */
export async function terminate(pid: number, graceMs: number): Promise<'terminated' | 'killed' | 'gone'> {
  if (!isAlive(pid)) return 'gone';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  if (await waitForExit(pid, graceMs, 50)) return 'terminated';
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'terminated';
  }
  if (!(await waitForExit(pid, 10_000, 50))) throw new Error(`process ${pid} did not exit after SIGKILL`);
  return 'killed';
}
