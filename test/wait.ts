// The one wait helper of every test (controller tests in test/unit, cluster tests in
// test/e2e and test/faults): poll `fn` until it yields something truthy, keeping the last
// error for the timeout message. Tests wait for what they expect to see, never for time.

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
