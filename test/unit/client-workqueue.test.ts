import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  WorkQueue,
  defaultControllerRateLimiter,
  busyWorkQueues,
  runWorkers,
} from '../../client/workqueue.js';
import { defaultRegistry } from '../../machinery/metrics.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('keys are de-duplicated while they wait', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  q.add('b');
  q.add('a');
  q.add('b');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.len(), 0);
  q.done('a');
  q.done('b');
  q.shutDown();
});

test('a key being processed is not handed out again; re-added, it comes back after done', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  const first = await q.get();
  assert.equal(first, 'a');
  q.add('a'); // while processing
  q.add('a');
  assert.equal(q.len(), 0, 'not queued while a worker holds it');
  assert.equal(q.tryGet(), undefined);
  q.done('a');
  assert.equal(q.len(), 1, 'queued once after done');
  assert.equal(await q.get(), 'a');
  q.done('a');
  assert.equal(q.len(), 0);
  q.shutDown();
});

test('blocked get() receives the next add; shutDown releases waiters with undefined', async () => {
  const q = new WorkQueue<string>();
  const waiting = q.get();
  q.add('x');
  assert.equal(await waiting, 'x');
  const blocked = q.get();
  q.shutDown();
  assert.equal(await blocked, undefined);
  q.add('y');
  assert.equal(q.len(), 0, 'adds after shutdown are ignored');
});

test('shutDown drains what is queued; shutDownWithDrain waits for items in process', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  q.add('b');
  const a = await q.get();
  let drained = false;
  const drain = q.shutDownWithDrain().then(() => (drained = true));
  assert.equal(await q.get(), 'b', 'queued items are still handed out');
  q.done('b');
  await new Promise((r) => setImmediate(r)); // every settled promise has run its callbacks
  assert.equal(drained, false, 'a is still in process');
  q.done(a!);
  await drain;
  assert.equal(drained, true);
  assert.equal(await q.get(), undefined);
});

test('no key is ever processed by two workers at once, and every add after a start is seen', async () => {
  const q = new WorkQueue<string>();
  const active = new Set<string>();
  const counts = new Map<string, number>();
  let overlaps = 0;
  const lastSeenVersion = new Map<string, number>();
  const version = new Map<string, number>();
  const workers = runWorkers(q, 8, async (key) => {
    if (active.has(key)) overlaps++;
    active.add(key);
    const v = version.get(key) ?? 0;
    await sleep(Math.random() * 3);
    lastSeenVersion.set(key, v);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    active.delete(key);
  });
  for (let round = 0; round < 40; round++) {
    for (const k of ['a', 'b', 'c']) {
      version.set(k, round);
      q.add(k);
    }
    await sleep(1);
  }
  // Let the last adds be processed.
  await q.whenIdle();
  assert.equal(active.size, 0);
  q.shutDown();
  await workers;
  assert.equal(overlaps, 0);
  for (const k of ['a', 'b', 'c']) {
    assert.ok((counts.get(k) ?? 0) >= 2, `${k} processed more than once`);
    assert.equal(lastSeenVersion.get(k), 39, `${k}'s last processing saw the last add`);
  }
});

test('per-item exponential back-off: 5 ms doubling, capped at 1000 s; forget resets', () => {
  const rl = new ItemExponentialFailureRateLimiter<string>(5, 1000 * 1000);
  const delays = Array.from({ length: 6 }, () => rl.when('a'));
  assert.deepEqual(delays, [5, 10, 20, 40, 80, 160]);
  assert.equal(rl.numRequeues('a'), 6);
  assert.equal(rl.when('b'), 5, 'items are independent');
  for (let i = 0; i < 40; i++) rl.when('a');
  assert.equal(rl.when('a'), 1000 * 1000, 'capped');
  rl.forget('a');
  assert.equal(rl.numRequeues('a'), 0);
  assert.equal(rl.when('a'), 5);
  for (let i = 0; i < 2000; i++) rl.when('c');
  assert.equal(rl.when('c'), 1000 * 1000, 'no overflow to NaN/Infinity');
});

test('token bucket: burst of 100, then 10 per second', () => {
  let now = 0;
  const rl = new BucketRateLimiter<string>(10, 100, () => now);
  for (let i = 0; i < 100; i++) assert.equal(rl.when(`k${i}`), 0);
  assert.equal(Math.round(rl.when('x')), 100);
  assert.equal(Math.round(rl.when('y')), 200);
  now += 1000; // ten tokens back, two of them already promised
  assert.equal(Math.round(rl.when('z')), 0);
});

test('the default limiter is the larger of per-item back-off and the overall bucket', () => {
  const rl = defaultControllerRateLimiter<string>();
  assert.equal(rl.when('a'), 5);
  assert.equal(rl.when('a'), 10);
  const both = new MaxOfRateLimiter<string>(new ItemExponentialFailureRateLimiter(5, 1000), new BucketRateLimiter(10, 1, () => 0));
  assert.equal(both.when('q'), 5, 'bucket has a token: item back-off wins');
  assert.equal(Math.round(both.when('r')), 100, 'bucket empty: its delay wins');
  assert.equal(both.numRequeues('q'), 1);
  both.forget('q');
  assert.equal(both.numRequeues('q'), 0);
});

test('addAfter: not before the delay, the sooner request wins, duplicates merge', async () => {
  const q = new WorkQueue<string>();
  const added = Date.now();
  q.addAfter('late', 60);
  q.addAfter('soon', 40);
  q.addAfter('soon', 200); // later than pending: ignored
  q.addAfter('now', 0);
  assert.equal(q.len(), 1);
  assert.equal(q.tryGet(), 'now');
  q.done('now');
  assert.equal(q.delayedLen(), 2);
  assert.equal(await q.get(), 'soon');
  assert.ok(Date.now() - added >= 39, 'not before its time');
  q.done('soon');
  assert.equal(await q.get(), 'late');
  assert.ok(Date.now() - added >= 59, 'not before its time');
  q.done('late');
  q.addAfter('x', 300);
  q.addAfter('x', 10); // sooner: replaces
  const t1 = Date.now();
  assert.equal(await q.get(), 'x');
  assert.ok(Date.now() - t1 < 250, 'the sooner time was used');
  q.done('x');
  assert.equal(q.delayedLen(), 0, 'the superseded entry is not delivered again');
  q.addAfter('dropped', 10);
  assert.equal(q.delayedLen(), 1);
  q.shutDown();
  assert.equal(q.delayedLen(), 0, 'delayed items are dropped at shutdown');
  assert.equal(q.len(), 0);
  q.addAfter('later', 1);
  assert.equal(q.delayedLen() + q.len(), 0, 'and none are taken after it');
});

test('runWorkers retries failures with growing back-off, forgets on success, honours requeueAfterMs', async () => {
  const q = new WorkQueue<string>({ rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000) });
  const attempts: number[] = [];
  const requeuesSeen: number[] = [];
  let again = 0;
  const workers = runWorkers(
    q,
    2,
    async (key) => {
      if (key === 'flaky') {
        attempts.push(Date.now());
        requeuesSeen.push(q.numRequeues(key));
        if (attempts.length < 4) throw new Error('not yet');
        return;
      }
      if (key === 'periodic') {
        again++;
        if (again < 3) return { requeueAfterMs: 10 };
      }
    },
    { onError: () => undefined },
  );
  q.add('flaky');
  q.add('periodic');
  for (let i = 0; i < 100 && (attempts.length < 4 || again < 3); i++) await sleep(5);
  assert.equal(attempts.length, 4);
  assert.deepEqual(requeuesSeen, [0, 1, 2, 3]);
  const gaps = attempts.slice(1).map((t, i) => t - attempts[i]);
  assert.ok(gaps[0] >= 4 && gaps[1] >= 9 && gaps[2] >= 19, `gaps grow: ${gaps.join(',')}`);
  assert.equal(q.numRequeues('flaky'), 0, 'forgotten after success');
  assert.equal(again, 3);
  q.shutDown();
  await workers;
});

test('runWorkers drops a key after maxRetries', async () => {
  const q = new WorkQueue<string>({ rateLimiter: new ItemExponentialFailureRateLimiter(1, 10) });
  let calls = 0;
  const errors: number[] = [];
  const workers = runWorkers(
    q,
    1,
    async () => {
      calls++;
      throw new Error('always');
    },
    { maxRetries: 3, onError: (_k, _e, n) => errors.push(n) },
  );
  q.add('k');
  for (let i = 0; i < 400 && calls < 4; i++) await sleep(5);
  // No fifth attempt: once the fourth failure is handled nothing is queued, in process or delayed.
  await q.whenIdle();
  assert.equal(q.delayedLen(), 0, 'no retry pending');
  assert.equal(calls, 4, 'first try and three retries');
  assert.deepEqual(errors, [0, 1, 2, 3]);
  assert.equal(q.numRequeues('k'), 0);
  q.shutDown();
  await workers;
});

test('whenIdle resolves once nothing is queued or in process; busyWorkQueues and /metrics say the same', async () => {
  const q = new WorkQueue<string>({ name: 'idle_test' });
  await q.whenIdle(); // idle from the start
  q.add('a');
  q.add('b');
  assert.equal(q.idle(), false);
  assert.ok(busyWorkQueues().includes('idle_test'));
  let idle = false;
  const whenIdle = q.whenIdle().then(() => (idle = true));
  const a = (await q.get())!;
  const b = (await q.get())!;
  assert.equal(q.len(), 0);
  assert.equal(q.processingLen(), 2);
  await new Promise((r) => setTimeout(r, 5)); // so the work in process has an age
  const text = defaultRegistry.render();
  assert.match(text, /^workqueue_depth\{name="idle_test"\} 0$/m);
  const unfinished = Number(/^workqueue_unfinished_work_seconds\{name="idle_test"\} (\S+)$/m.exec(text)?.[1]);
  const longest = Number(/^workqueue_longest_running_processor_seconds\{name="idle_test"\} (\S+)$/m.exec(text)?.[1]);
  assert.ok(unfinished > 0 && longest > 0 && unfinished >= longest, `unfinished ${unfinished}, longest ${longest}`);
  q.done(a);
  await new Promise((r) => setImmediate(r));
  assert.equal(idle, false, 'b is still in process');
  q.add(a); // added again while b is held
  q.done(b);
  await new Promise((r) => setImmediate(r));
  assert.equal(idle, false, 'a is queued again');
  q.done((await q.get())!);
  await whenIdle;
  assert.equal(idle, true);
  assert.ok(!busyWorkQueues().includes('idle_test'));
  assert.match(defaultRegistry.render(), /^workqueue_unfinished_work_seconds\{name="idle_test"\} 0$/m);
  q.addAfter('later', 60_000);
  assert.equal(q.idle(), true, 'a delayed item does not make the queue busy');
  q.shutDown();
});

/** Holds the event loop for `ms`, as a reconcile working from caches alone would. */
function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('runWorkers lets the event loop in while it works through a long queue of reconciles that need no I/O', async () => {
  const q = new WorkQueue<string>({ name: 'slice_test' });
  const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
  for (const k of keys) q.add(k);
  const done: string[] = [];
  // Each reconcile resolves at once (no real I/O): without time slicing the 40 × 2 ms of
  // work would run as one chain of microtasks, before any callback of the event loop.
  let processedBeforeIO: number | undefined;
  setImmediate(() => (processedBeforeIO = done.length));
  const workers = runWorkers(q, 2, (key) => {
    busyFor(2);
    done.push(key);
  });
  await q.whenIdle();
  q.shutDown();
  await workers;
  assert.deepEqual([...done].sort(), [...keys].sort());
  assert.ok(processedBeforeIO !== undefined && processedBeforeIO < keys.length, `the event loop got a turn after ${processedBeforeIO} of ${keys.length} keys`);
});
