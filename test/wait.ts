// The one wait helper of every test (controller tests in test/unit, cluster tests in
// test/e2e and test/faults): poll `fn` until it yields something truthy, keeping the last
// error for the timeout message. Tests wait for what they expect to see, never for time.

import { busyWorkQueues } from '../client/workqueue.js';

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** waitFor with the short timeout and fast polling of in-process controller tests. */
export function waitInProcess<T>(what: string, fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 5000): Promise<T> {
  return waitFor(what, fn, timeoutMs, 10);
}

// ---- quiet ---------------------------------------------------------------------------
// A test of "nothing happened" (no pod made, no Job created, nothing deleted) first waits
// until the control plane has nothing left to do, then asserts. Quiet means every
// controller work queue is empty with nothing in process, and the scheduler's active
// queue is empty, on several reads in a row (an event in flight between the API server
// and an informer shows up on a later read).

export interface QuietOptions {
  /** Consecutive quiet reads needed. */
  reads?: number;
  intervalMs?: number;
  timeoutMs?: number;
}

/**
 * Polls `busy` (a description of what is still busy, or nothing when quiet) until it
 * reports quiet `reads` times in a row.
 */
export async function waitUntilQuiet(what: string, busy: () => Promise<string | undefined> | string | undefined, opts: QuietOptions = {}): Promise<void> {
  const reads = opts.reads ?? 3;
  const intervalMs = opts.intervalMs ?? 200;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let inARow = 0;
  let last: string | undefined;
  for (;;) {
    last = await busy();
    inARow = last === undefined ? inARow + 1 : 0;
    if (inARow >= reads) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} to be quiet: ${last ?? 'not quiet for long enough'}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * What a Prometheus text page (a `kite server`'s /metrics) says is busy: work queues with
 * depth or unfinished work, the scheduler's active queue. Undefined when quiet.
 */
export function busyInMetrics(text: string): string | undefined {
  const busy: string[] = [];
  const sample = /^(workqueue_depth|workqueue_unfinished_work_seconds|scheduler_pending_pods)\{([^}]*)\} (\S+)$/gm;
  for (let m = sample.exec(text); m; m = sample.exec(text)) {
    const [, metric, labels, value] = m;
    if (Number(value) === 0) continue;
    if (metric === 'scheduler_pending_pods') {
      if (/queue="active"/.test(labels)) busy.push(`scheduler active queue: ${value} pods`);
      continue;
    }
    const name = /name="([^"]*)"/.exec(labels)?.[1] ?? '?';
    busy.push(metric === 'workqueue_depth' ? `${name}: ${value} queued` : `${name}: in process`);
  }
  return busy.length ? busy.join(', ') : undefined;
}

/**
 * For in-process controller tests: waits until every work queue of this process is
 * idle (WorkQueue.idle(): nothing queued, nothing in process) on several reads in a row.
 */
export function waitForQuietInProcess(opts: QuietOptions = {}): Promise<void> {
  return waitUntilQuiet(
    'the controllers',
    () => {
      const busy = busyWorkQueues();
      return busy.length ? `busy: ${busy.join(', ')}` : undefined;
    },
    { reads: 5, intervalMs: 10, timeoutMs: 5000, ...opts },
  );
}
