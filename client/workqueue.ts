// The controllers' work queue (upstream: client-go util/workqueue). Keys, not events:
// a key added while it already waits is not queued twice; a key being processed is
// never handed to a second worker — if it is added meanwhile it is queued again when
// the first worker calls done(). Delayed adds (addAfter) and rate-limited retries
// (addRateLimited: per-key exponential back-off, combined with an overall token
// bucket) feed the same queue.
import { defaultRegistry, exponentialBuckets } from '../machinery/metrics.js';
import { sliceUsedUp, yieldToEventLoop } from './timeslice.js';

// ---- rate limiters ---------------------------------------------------------

export interface RateLimiter<T> {
  /** How long to wait before `item` may be processed again; counts a failure. */
  when(item: T): number;
  /** Reset `item`'s failure history (after it was processed successfully). */
  forget(item: T): void;
  numRequeues(item: T): number;
}

/** baseMs·2^failures, capped at maxMs, per item. */
export class ItemExponentialFailureRateLimiter<T> implements RateLimiter<T> {
  private readonly failures = new Map<T, number>();

  constructor(
    readonly baseDelayMs = 5,
    readonly maxDelayMs = 1000 * 1000,
  ) {}

  when(item: T): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    const delay = this.baseDelayMs * 2 ** n;
    return Number.isFinite(delay) && delay < this.maxDelayMs ? delay : this.maxDelayMs;
  }

  forget(item: T): void {
    this.failures.delete(item);
  }

  numRequeues(item: T): number {
    return this.failures.get(item) ?? 0;
  }
}

/**
 * A token bucket over all items (`qps` tokens a second, at most `burst` saved up).
 * Each call takes a token, possibly one that will only exist in the future: the
 * answer is how long until then.
 */
export class BucketRateLimiter<T> implements RateLimiter<T> {
  private tokens: number;
  private last: number;

  constructor(
    readonly qps = 10,
    readonly burst = 100,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  when(_item: T): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  forget(_item: T): void {}

  numRequeues(_item: T): number {
    return 0;
  }
}

/** The longest delay any of the limiters asks for. */
export class MaxOfRateLimiter<T> implements RateLimiter<T> {
  private readonly limiters: RateLimiter<T>[];

  constructor(...limiters: RateLimiter<T>[]) {
    this.limiters = limiters;
  }

  when(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.when(item));
    return max;
  }

  forget(item: T): void {
    for (const l of this.limiters) l.forget(item);
  }

  numRequeues(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.numRequeues(item));
    return max;
  }
}

/** Upstream's DefaultControllerRateLimiter: 5 ms doubling to 1000 s per item, and 10 qps / burst 100 overall. */
export function defaultControllerRateLimiter<T>(): RateLimiter<T> {
  return new MaxOfRateLimiter<T>(new ItemExponentialFailureRateLimiter<T>(5, 1000 * 1000), new BucketRateLimiter<T>(10, 100));
}

// ---- the queue -------------------------------------------------------------

/** A FIFO with O(1) push and shift. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(v: T): void {
    this.items.push(v);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head];
    this.items[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

interface Delayed<T> {
  item: T;
  at: number;
}

/** Binary min-heap on `at`. */
class DelayHeap<T> {
  private readonly a: Delayed<T>[] = [];

  get size(): number {
    return this.a.length;
  }

  peek(): Delayed<T> | undefined {
    return this.a[0];
  }

  push(e: Delayed<T>): void {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].at <= e.at) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = e;
  }

  pop(): Delayed<T> | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r].at < a[l].at ? r : l;
      if (a[c].at >= last.at) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = last;
    return top;
  }

  clear(): void {
    this.a.length = 0;
  }
}

export interface WorkQueueOptions<T> {
  /** Used in log lines. */
  name?: string;
  /** For addRateLimited; defaults to defaultControllerRateLimiter(). */
  rateLimiter?: RateLimiter<T>;
}

/** setTimeout's ceiling (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const QUEUE_BUCKETS = exponentialBuckets(1e-8, 10, 10);
const workqueueMetrics = {
  depth: defaultRegistry.gauge('workqueue_depth', 'Current depth of workqueue', ['name']),
  adds: defaultRegistry.counter('workqueue_adds_total', 'Total number of adds handled by workqueue', ['name']),
  queueDuration: defaultRegistry.histogram('workqueue_queue_duration_seconds', 'How long in seconds an item stays in workqueue before being requested.', ['name'], QUEUE_BUCKETS),
  workDuration: defaultRegistry.histogram('workqueue_work_duration_seconds', 'How long in seconds processing an item from workqueue takes.', ['name'], QUEUE_BUCKETS),
  retries: defaultRegistry.counter('workqueue_retries_total', 'Total number of retries handled by workqueue', ['name']),
  unfinished: defaultRegistry.gauge('workqueue_unfinished_work_seconds', 'How many seconds of work has done that is in progress and hasn\'t been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.', ['name']),
  longestRunning: defaultRegistry.gauge('workqueue_longest_running_processor_seconds', 'How many seconds has the longest running processor for workqueue been running.', ['name']),
};
/** Live queues by name, for workqueue_depth at scrape time (queues of one name are summed). */
const liveQueues = new Set<WorkQueue<unknown>>();
defaultRegistry.collect(() => {
  const depth = new Map<string, number>();
  const unfinished = new Map<string, number>();
  const longest = new Map<string, number>();
  for (const q of liveQueues) {
    depth.set(q.name, (depth.get(q.name) ?? 0) + q.len());
    const w = q.inProgress();
    unfinished.set(q.name, (unfinished.get(q.name) ?? 0) + w.totalSeconds);
    longest.set(q.name, Math.max(longest.get(q.name) ?? 0, w.longestSeconds));
  }
  workqueueMetrics.depth.reset();
  workqueueMetrics.unfinished.reset();
  workqueueMetrics.longestRunning.reset();
  for (const [name, n] of depth) workqueueMetrics.depth.set({ name }, n);
  for (const [name, n] of unfinished) workqueueMetrics.unfinished.set({ name }, n);
  for (const [name, n] of longest) workqueueMetrics.longestRunning.set({ name }, n);
});

/**
 * The names of live queues with items queued or in process (empty when every
 * controller of this process is idle); what in-process tests wait on before they
 * assert that nothing happened.
 */
export function busyWorkQueues(): string[] {
  const busy: string[] = [];
  for (const q of liveQueues) if (!q.idle()) busy.push(q.name);
  return busy;
}

export class WorkQueue<T = string> {
  readonly name: string;
  /** When each queued item was added (workqueue_queue_duration_seconds). */
  private readonly addedAt = new Map<T, number>();
  /** When each item in process was handed out (workqueue_work_duration_seconds). */
  private readonly startedAt = new Map<T, number>();
  private readonly rateLimiter: RateLimiter<T>;
  /** Items ready to be handed out, in order. */
  private readonly queue = new Fifo<T>();
  /** Items that need processing (queued, or to be re-queued when done). */
  private readonly dirty = new Set<T>();
  /** Items a worker holds right now. */
  private readonly processing = new Set<T>();
  /** Workers blocked in get(). */
  private readonly waiters = new Fifo<(item: T | undefined) => void>();
  private shutting = false;
  private drainWaiters: (() => void)[] = [];
  /** whenIdle() callers, released once nothing is queued or in process. */
  private idleWaiters: (() => void)[] = [];

  // Delayed adds: item → when it becomes ready (the earliest asked for). The heap may
  // hold stale entries; an entry counts only while it matches this map.
  private readonly waiting = new Map<T, number>();
  private readonly heap = new DelayHeap<T>();
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;

  constructor(opts: WorkQueueOptions<T> = {}) {
    this.name = opts.name ?? 'workqueue';
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<T>();
    liveQueues.add(this as WorkQueue<unknown>);
  }

  /** Mark `item` as needing processing. */
  add(item: T): void {
    if (this.shutting || this.dirty.has(item)) return;
    workqueueMetrics.adds.inc({ name: this.name });
    this.dirty.add(item);
    if (this.processing.has(item)) return;
    this.enqueue(item);
  }

  private enqueue(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(item);
      this.processing.add(item);
      workqueueMetrics.queueDuration.observe({ name: this.name }, 0);
      this.startedAt.set(item, performance.now());
      waiter(item);
    } else {
      this.addedAt.set(item, performance.now());
      this.queue.push(item);
    }
  }

  /** Items waiting to be handed out (not counting delayed ones or ones in process). */
  len(): number {
    return this.queue.length;
  }

  /** Items a worker holds right now. */
  processingLen(): number {
    return this.processing.size;
  }

  /**
   * Work handed out and not done yet: its total and longest age in seconds (upstream's
   * workqueue_unfinished_work_seconds and workqueue_longest_running_processor_seconds).
   */
  inProgress(): { totalSeconds: number; longestSeconds: number } {
    const now = performance.now();
    let totalSeconds = 0;
    let longestSeconds = 0;
    for (const started of this.startedAt.values()) {
      const s = (now - started) / 1000;
      totalSeconds += s;
      if (s > longestSeconds) longestSeconds = s;
    }
    return { totalSeconds, longestSeconds };
  }

  /** Nothing queued and nothing in process (items delayed by addAfter do not count). */
  idle(): boolean {
    return this.queue.length === 0 && this.processing.size === 0;
  }

  /**
   * Resolves once the queue is idle(): what a test of "nothing happened" waits for
   * before it asserts, instead of sleeping.
   */
  whenIdle(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private releaseIdleWaiters(): void {
    if (!this.idle() || this.idleWaiters.length === 0) return;
    const ws = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of ws) w();
  }

  /**
   * The next item, waiting for one if need be; undefined once the queue is shut down
   * and empty. Every item got must be given back with done().
   */
  get(): Promise<T | undefined> {
    const item = this.tryGet();
    if (item !== undefined) return Promise.resolve(item);
    if (this.shutting) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The next item if one is ready now. */
  tryGet(): T | undefined {
    if (this.queue.length === 0) return undefined;
    const item = this.queue.shift() as T;
    this.dirty.delete(item);
    this.processing.add(item);
    const now = performance.now();
    const added = this.addedAt.get(item);
    if (added !== undefined) {
      this.addedAt.delete(item);
      workqueueMetrics.queueDuration.observe({ name: this.name }, (now - added) / 1000);
    }
    this.startedAt.set(item, now);
    return item;
  }

  /** The worker is finished with `item`; if it was added meanwhile, it is queued again. */
  done(item: T): void {
    if (!this.processing.delete(item)) return;
    const started = this.startedAt.get(item);
    if (started !== undefined) {
      this.startedAt.delete(item);
      workqueueMetrics.workDuration.observe({ name: this.name }, (performance.now() - started) / 1000);
    }
    // Even while shutting down: the queue is drained, not dropped.
    if (this.dirty.has(item)) this.enqueue(item);
    if (this.shutting && this.processing.size === 0) this.releaseDrainWaiters();
    this.releaseIdleWaiters();
  }

  /** Add `item` after `delayMs` (at once when ≤ 0). A sooner request replaces a later one. */
  addAfter(item: T, delayMs: number): void {
    if (this.shutting) return;
    if (!(delayMs > 0)) {
      this.add(item);
      return;
    }
    const at = Date.now() + delayMs;
    const existing = this.waiting.get(item);
    if (existing !== undefined && existing <= at) return;
    this.waiting.set(item, at);
    this.heap.push({ item, at });
    if (at < this.timerAt) this.arm(at);
  }

  /** Add `item` once the rate limiter allows (a retry after a failure). */
  addRateLimited(item: T): void {
    workqueueMetrics.retries.inc({ name: this.name });
    this.addAfter(item, this.rateLimiter.when(item));
  }

  /** Forget `item`'s failures (it was processed successfully). */
  forget(item: T): void {
    this.rateLimiter.forget(item);
  }

  numRequeues(item: T): number {
    return this.rateLimiter.numRequeues(item);
  }

  /** Items scheduled by addAfter that are not due yet. */
  delayedLen(): number {
    return this.waiting.size;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    for (let top = this.heap.peek(); top && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      if (this.waiting.get(top.item) !== top.at) continue; // superseded
      this.waiting.delete(top.item);
      this.add(top.item);
    }
    // Drop stale entries off the top so the timer is armed for a live one.
    for (let top = this.heap.peek(); top && this.waiting.get(top.item) !== top.at; top = this.heap.peek()) this.heap.pop();
    const next = this.heap.peek();
    if (next) this.arm(next.at);
  }

  /**
   * Stop accepting items. Items already queued are still handed out; workers blocked in
   * get() (and later ones, once the queue is empty) get undefined. Delayed items are dropped.
   */
  shutDown(): void {
    liveQueues.delete(this as WorkQueue<unknown>);
    if (this.shutting) return;
    this.shutting = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.heap.clear();
    this.waiting.clear();
    for (let w = this.waiters.shift(); w; w = this.waiters.shift()) w(undefined);
    if (this.processing.size === 0) this.releaseDrainWaiters();
    this.releaseIdleWaiters();
  }

  /** shutDown(), then wait until no item is being processed. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  shuttingDown(): boolean {
    return this.shutting;
  }

  private releaseDrainWaiters(): void {
    const ws = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of ws) w();
  }
}

// ---- workers ---------------------------------------------------------------

/** What a reconcile may ask for besides success: to look at the key again later. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface WorkerOptions<T> {
  /** After this many failed attempts in a row the key is dropped (forgotten). Default: never. */
  maxRetries?: number;
  /** Called for each failure; default logs one line. */
  onError?: (item: T, err: unknown, requeues: number) => void;
}

/**
 * Run `n` workers that take keys from `queue` and reconcile them one at a time per
 * key, yielding to the event loop between keys once their turn's time slice is used up
 * (client/timeslice.ts). Success forgets the key's back-off (and honours `requeueAfterMs`); failure
 * re-adds it rate-limited. Resolves when the queue is shut down and every worker has
 * returned.
 */
export function runWorkers<T>(
  queue: WorkQueue<T>,
  n: number,
  reconcile: (item: T) => Promise<ReconcileResult | void> | ReconcileResult | void,
  opts: WorkerOptions<T> = {},
): Promise<void> {
  const maxRetries = opts.maxRetries ?? Infinity;
  const onError =
    opts.onError ??
    ((item: T, err: unknown, requeues: number) => {
      const msg = err instanceof Error ? err.message : String(err);
      console.error(`${queue.name}: error syncing ${String(item)} (attempt ${requeues + 1}): ${msg}`);
    });
  const worker = async (): Promise<void> => {
    for (;;) {
      // A reconcile that needs no real I/O resolves at once: without this, a long queue
      // (every pod, at start) would be worked through without letting a request in.
      if (sliceUsedUp()) await yieldToEventLoop();
      const item = await queue.get();
      if (item === undefined) return;
      try {
        const result = await reconcile(item);
        queue.forget(item);
        if (result && result.requeueAfterMs !== undefined) queue.addAfter(item, result.requeueAfterMs);
      } catch (err) {
        const requeues = queue.numRequeues(item);
        try {
          onError(item, err, requeues);
        } catch {
          /* a broken error hook must not kill the worker */
        }
        if (requeues < maxRetries) queue.addRateLimited(item);
        else queue.forget(item);
      } finally {
        queue.done(item);
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < Math.max(1, n); i++) workers.push(worker());
  return Promise.all(workers).then(() => undefined);
}
