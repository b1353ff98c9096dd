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

/** CPU seconds a process has used so far (utime + stime, in clock ticks of 1/100 s). */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
