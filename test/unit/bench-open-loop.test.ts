// The benchmarks' open-loop load (bench/open-loop.ts): a latency counts from when the
// request was due, or from when it went out if that was earlier (timers are not finer
// than a millisecond), so no latency is negative and a stalled sender's lateness counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openLoop } from '../../bench/open-loop.js';

test('open loop: every latency is at least the answer time, none negative; a sender held up counts its lateness', async () => {
  // Answered at once: at 2,000/s most requests are due within a millisecond of the one before, so they go out early.
  const quick = await openLoop(2000, 200, () => Promise.resolve());
  assert.ok(quick.latencies.every((l) => l >= 0), `min ${Math.min(...quick.latencies)}`);

  // Answers taking a few milliseconds: no latency below the time from the send to its answer.
  const took = new Float64Array(40);
  const slow = await openLoop(1000, 40, (i) => {
    const sent = performance.now();
    return new Promise<void>((r) => setTimeout(r, 5)).then(() => {
      took[i] = performance.now() - sent;
    });
  });
  assert.ok(
    slow.latencies.every((l, i) => l >= took[i]),
    `latencies ${[...slow.latencies].map((l) => l.toFixed(2)).join(' ')}; answer times ${[...took].map((t) => t.toFixed(2)).join(' ')}`,
  );

  // The sender's own thread blocked for 50 ms while requests fell due: the ones due then count the wait.
  const blocked = await openLoop(1000, 60, (i) => {
    if (i === 5) {
      const until = performance.now() + 50;
      while (performance.now() < until);
    }
    return Promise.resolve();
  });
  assert.ok(blocked.latencies[6] >= 40, `request 6, due 1 ms after the blocked one: ${blocked.latencies[6]} ms`);
});
