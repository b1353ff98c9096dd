// What the benchmarks read of other processes through /proc.
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of the processes whose argv satisfies `pred` (processes that exit meanwhile are skipped). */
export function processesMatching(pred: (args: string[]) => boolean): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const a = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (a.length && pred(a)) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

/** CPU time (user + system, ms) so far of a process (/proc/PID/stat) or one of its threads (/proc/PID/task/TID/stat); 0 once gone. */
export function cpuMsOf(statPath: string): number {
  try {
    const fields = readFileSync(statPath, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/**
 * CPU time (µs) so far of one thread (/proc/PID/task/TID/schedstat: nanoseconds on the CPU,
 * the scheduler's own account), or undefined when the kernel has no schedstat. Finer than
 * stat's clock ticks (10 ms), which put a ±3 % grain on a round of a few thousand creates.
 */
export function threadCpuUsOf(schedstatPath: string): number | undefined {
  try {
    return Number(readFileSync(schedstatPath, 'utf8').split(' ')[0]) / 1000;
  } catch {
    return undefined;
  }
}
