// An open-loop load, shared by the write-latency benchmarks: requests go out on a fixed
// schedule whether or not earlier ones were answered, as many independent clients load a
// server, so a slow answer cannot slow the load that measures it.

export interface OpenLoopResult {
  /** Latency of request `i` in ms, from when it was due (index = request number). */
  latencies: Float64Array;
  /** From the first request's due time until the last answer, in ms. */
  elapsedMs: number;
}

/**
 * Sends `count` requests, request `i` due at `i / rate` s, and waits for every answer. A
 * latency counts from when the request was due, not from when it was sent: a client held up
 * by a stall (its own or the server's) counts the stall instead of hiding it.
 */
export async function openLoop(rate: number, count: number, send: (i: number) => Promise<unknown>): Promise<OpenLoopResult> {
  const latencies = new Float64Array(count);
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    // Timers are not finer than a millisecond: a shorter wait is sent now, and its latency
    // counts from then (from its due time, a quick answer to an early request read as < 0);
    // one sent late counts from its due time.
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const from = Math.min(due, performance.now());
    inflight.push(
      send(i).then(() => {
        latencies[i] = performance.now() - from;
      }),
    );
  }
  await Promise.all(inflight);
  return { latencies, elapsedMs: performance.now() - start };
}
