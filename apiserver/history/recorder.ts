// Every object's history (kite-specific): each create, update and delete of every
// stored object, with its revision, time, user and field manager and the change as a
// JSON Patch, kept in its own SQLite file beyond store compaction for a retention
// window and a size bound.
//
// The recorder follows the store with one watch on `/registry/` (so writes that bypass
// the registry are seen too) and credits each revision to the request that wrote it
// as the registry reports its writes (`ctx.writer`). On the request thread each event
// costs a copy of the bytes the store already has (the stored JSON of the new and the
// previous version) into a batch buffer (frames.ts); the batch's memory is handed to a
// worker thread (worker.ts) that decodes, diffs and writes history.db. Nothing is
// parsed or serialised here.
//
// The queue to the worker is bounded (`maxQueueBytes`): when the worker falls that far
// behind, events are dropped and a gap (the revisions not recorded) is written instead,
// which reads show beside the object's changes. Reads, flush and close first hand over
// the current batch and wait for the worker to write it, so a read right after a write
// sees it.
import { readFileSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { Store, WatchEvent, WatchHandle } from '../../store/types.js';
import { StoreError } from '../../store/types.js';
import { StatusError } from '../../machinery/status.js';
import type { HistoryWriter } from '../context.js';
import { FrameKind, FrameWriter, type Batch } from './frames.js';
import type { HistoryEntry, HistoryGap } from './db.js';
import type { WorkerInit, WorkerRequest } from './worker.js';

export type { HistoryEntry, HistoryGap } from './db.js';
export type { ChangeType } from './change.js';

export interface HistoryRead {
  entries: HistoryEntry[];
  gaps: HistoryGap[];
}

export const HISTORY_API_VERSION = 'history.kite.dev/v1';

export interface HistoryOptions {
  /** The SQLite file (created when absent). */
  path: string;
  /** How long changes are kept (default 7 days). */
  retentionMs?: number;
  /** Upper bound on the stored diffs' size; the oldest go first (default 256 MiB). */
  maxBytes?: number;
  /** Storage prefixes not recorded (default: events and leases, which churn and are history themselves). */
  exclude?: readonly string[];
  /** How often the worker writes queued events (default 100 ms). */
  flushIntervalMs?: number;
  /** How often old changes are pruned (default 10 min). */
  pruneIntervalMs?: number;
  /** Bytes of events queued for the worker beyond which events are dropped and a gap recorded (default 64 MiB). */
  maxQueueBytes?: number;
  /**
   * How long the worker thread may have nothing to do before it stops (its V8 heap and
   * SQLite connection, ~10 MiB, are given back); the next change or read starts it again.
   * Default 60 s; 0 keeps it running. A history.db in memory keeps it running.
   */
  idleStopMs?: number;
}

export const DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000;
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_EXCLUDE = ['/registry/core/events/', '/registry/coordination.k8s.io/leases/'];
export const DEFAULT_IDLE_STOP_MS = 60_000;

/** How often the current batch is handed to the worker (also when it is full). */
const HAND_OVER_MS = 50;
/** How long a read or flush waits for the worker before failing. */
const ANSWER_TIMEOUT_MS = 30_000;
/** How long a read waits for this server's watch to reach the store's revision (other API servers' writes). */
const CATCH_UP_TIMEOUT_MS = 10_000;

/** A thread's time on the CPU from its /proc schedstat file (nanoseconds), in µs. */
function threadCpuUs(schedstatFile: string): number {
  return Number(readFileSync(schedstatFile, 'utf8').split(' ')[0]) / 1000;
}

type Answer = { id: number; result?: HistoryRead; error?: string };

/** One run of the worker thread (see HistoryOptions.idleStopMs), with what the recorder shares with it. */
class WorkerRun {
  readonly worker: Worker;
  /** Int32 [0]: frame bytes handed over and not yet written; [1]: the worker's answers so far; [2]: 1 once it has exited. */
  readonly counters: Int32Array;
  /** The worker's answers to blocking requests (ask). */
  readonly replies: MessagePort;
  /** The last revision history.db holds, once the worker has opened it. */
  readonly ready: Promise<number>;
  threadId?: number;

  constructor(options: WorkerInit['options'], onAnswer: (a: Answer) => void, onExit: (run: WorkerRun) => void) {
    const shared = new SharedArrayBuffer(12);
    this.counters = new Int32Array(shared);
    const channel = new MessageChannel();
    this.replies = channel.port1;
    this.replies.unref();
    const init: WorkerInit = { options, shared, replies: channel.port2 };
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init, transferList: [channel.port2] });
    this.worker.on('error', (err) => console.error('history worker failed:', err));
    this.worker.on('exit', () => onExit(this));
    // The worker's first message: the last revision it recorded (it boots while the API server starts).
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('message', (m: { lastRevision: number; threadId?: number }) => {
        this.threadId = m.threadId;
        // From here on the worker must not keep the process alive (close() flushes it), unless a read waits.
        this.worker.unref();
        this.worker.on('message', onAnswer);
        resolve(m.lastRevision);
      });
      this.worker.once('error', reject);
    });
  }

  queuedBytes(): number {
    return Atomics.load(this.counters, 0);
  }
}

interface Gap {
  from: number;
  to: number;
  count: number;
  time: number;
}

export class HistoryRecorder {
  /** The worker thread, while it runs. */
  private run?: WorkerRun;
  private readonly workerOptions: WorkerInit['options'];
  private readonly idleStopMs: number;
  private idleTimer?: NodeJS.Timeout;
  /** When the worker was last given something to do. */
  private lastActivity = Date.now();
  private readonly frames = new FrameWriter();
  /** Bytes framed into the current batch (not yet counted in counters[0]). */
  private batchBytes = 0;
  private handOverTimer?: NodeJS.Timeout;
  private readonly exclude: readonly string[];
  private readonly maxQueueBytes: number;
  /** Revisions dropped while the worker was too far behind, not yet handed over as a gap. */
  private gap?: Gap;
  private watch?: WatchHandle;
  /** The newest revision the watch has delivered (or promised nothing before). */
  private seen = 0;
  private waiters: { revision: number; resolve: () => void }[] = [];
  private closed = false;
  private readonly handOver = (batch: Batch) => this.post(batch);

  constructor(
    private readonly store: Store,
    opts: HistoryOptions,
  ) {
    this.exclude = opts.exclude ?? DEFAULT_EXCLUDE;
    this.maxQueueBytes = opts.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES;
    this.workerOptions = {
      path: opts.path,
      retentionMs: opts.retentionMs ?? DEFAULT_RETENTION_MS,
      maxBytes: opts.maxBytes ?? DEFAULT_MAX_BYTES,
      flushIntervalMs: opts.flushIntervalMs ?? 100,
      pruneIntervalMs: opts.pruneIntervalMs ?? 600_000,
    };
    // A database in memory lives in the worker: it must not stop.
    this.idleStopMs = opts.path === ':memory:' ? 0 : (opts.idleStopMs ?? DEFAULT_IDLE_STOP_MS);
    this.running();
    if (this.idleStopMs > 0) {
      this.idleTimer = setInterval(() => this.stopIfIdle(), Math.max(10, this.idleStopMs / 4));
      this.idleTimer.unref();
    }
  }

  /** The worker thread, started when it is not running. */
  private running(): WorkerRun {
    this.lastActivity = Date.now();
    if (this.run) return this.run;
    this.run = new WorkerRun(
      this.workerOptions,
      (a) => this.answered(a),
      (run) => {
        // A worker that stopped on its own (not one stopped for idleness) fails the reads waiting for it.
        if (this.run !== run) return;
        for (const r of this.reads.values()) r.reject(new Error('history: the worker has stopped'));
        this.reads.clear();
      },
    );
    return this.run;
  }

  /** Whether the worker thread runs now (tests watch it stop and start). */
  workerRunning(): boolean {
    return this.run !== undefined;
  }

  /** Stops the worker once everything is written and it has had nothing to do for idleStopMs. */
  private stopIfIdle(): void {
    const run = this.run;
    if (!run || this.closed || this.reads.size > 0 || this.readsWaitingForStart > 0 || this.frames.length > 0 || this.batchBytes > 0 || this.gap) return;
    if (Date.now() - this.lastActivity < this.idleStopMs || run.queuedBytes() > 0) return;
    try {
      this.ask<boolean>({ op: 'close' });
    } catch (err) {
      console.error('history: stopping the idle worker:', err);
    }
    this.run = undefined;
    run.replies.close();
    void run.worker.terminate();
  }

  private queuedBytes(): number {
    return this.run ? this.run.queuedBytes() : 0;
  }

  private readonly reads = new Map<number, { resolve: (r: HistoryRead) => void; reject: (e: Error) => void }>();
  /** Reads waiting for their worker to start (not yet in `reads`). */
  private readsWaitingForStart = 0;
  private nextRead = 0;

  private answered(a: Answer): void {
    const r = this.reads.get(a.id);
    if (!r) return;
    this.reads.delete(a.id);
    if (this.reads.size === 0) this.run?.worker.unref();
    if (a.error !== undefined) r.reject(new Error(`history: ${a.error}`));
    else r.resolve(a.result!);
  }

  /** Follow the store: from the last revision recorded when it is still readable, else from now with a gap. */
  async start(): Promise<void> {
    const last = await this.running().ready;
    const compacted = this.store.compactedRevision();
    const now = this.store.revision();
    if (last > 0 && last < compacted && now > last) this.gap = { from: last + 1, to: now, count: 0, time: Date.now() };
    this.seen = now;
    this.follow(last > 0 && last >= compacted ? last : now);
  }

  private follow(from: number): void {
    try {
      this.watch = this.store.watch('/registry/', from, (ev) => this.onEvent(ev), {
        onProgress: (rev) => this.reached(rev),
        // On a store other API servers write to, reads wait for the store's revision
        // (caughtUp), which may be a write outside the recorded prefix: learn every one.
        everyRevision: Boolean(this.store.freshRevision),
        onError: () => {
          if (this.closed) return;
          const now = this.store.revision();
          this.dropped(this.seen + 1, now, 0);
          this.follow(now);
        },
      });
    } catch (err) {
      if (!(err instanceof StoreError && err.code === 'Compacted')) throw err;
      const now = this.store.revision();
      this.dropped(from + 1, now, 0);
      this.follow(now);
    }
  }

  private excluded(key: string): boolean {
    for (const p of this.exclude) if (key.startsWith(p)) return true;
    return false;
  }

  /** The request thread's whole share of recording a change: copy its bytes into the batch. */
  private onEvent(ev: WatchEvent): void {
    if (this.closed) return;
    const key = ev.kv.key;
    if (!this.excluded(key)) {
      if (this.queuedBytes() + this.batchBytes > this.maxQueueBytes) {
        this.dropped(ev.revision, ev.revision, 1);
      } else {
        this.frameGap();
        const deleted = ev.type === 'delete';
        this.batchBytes += this.frames.event(deleted ? FrameKind.Delete : FrameKind.Put, ev.revision, Date.now(), key, deleted ? undefined : ev.kv.value, ev.prevKv?.value, this.handOver);
        this.scheduleHandOver();
      }
    }
    this.reached(ev.revision);
  }

  /** Revisions not recorded: one gap until recording resumes. */
  private dropped(from: number, to: number, count: number): void {
    if (to < from) return;
    if (this.gap) {
      this.gap.to = Math.max(this.gap.to, to);
      this.gap.count += count;
    } else {
      this.gap = { from, to, count, time: Date.now() };
    }
  }

  /** Hand over a pending gap once the worker has room again (half the bound, so recording does not flap). */
  private frameGap(force = false): void {
    const g = this.gap;
    if (!g) return;
    if (!force && this.queuedBytes() + this.batchBytes > this.maxQueueBytes / 2) return;
    this.gap = undefined;
    this.batchBytes += this.frames.gap(g.from, g.to, g.time, g.count, this.handOver);
  }

  private reached(revision: number): void {
    if (revision <= this.seen) return;
    this.seen = revision;
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => w.revision <= revision);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.revision > revision);
    for (const w of ready) w.resolve();
  }

  private scheduleHandOver(): void {
    if (this.handOverTimer) return;
    this.handOverTimer = setTimeout(() => {
      this.handOverTimer = undefined;
      this.handOverBatch();
    }, HAND_OVER_MS);
    this.handOverTimer.unref();
  }

  private handOverBatch(): void {
    const batch = this.frames.take();
    if (batch) this.post(batch);
  }

  /** Give the worker a batch (its memory moves, no copy). */
  private post(batch: Batch): void {
    const run = this.running();
    Atomics.add(run.counters, 0, this.batchBytes);
    this.batchBytes = 0;
    run.worker.postMessage({ op: 'frames', batch } satisfies WorkerRequest, [batch.buf]);
  }

  /** Credits `revision` to the write request `writer` (the registry tells of each write it makes for a request). */
  attribute(key: string, revision: number, writer: HistoryWriter): void {
    if (this.closed || this.excluded(key)) return;
    // Over the bound the event itself was dropped (a gap): nothing to credit.
    if (this.queuedBytes() + this.batchBytes > this.maxQueueBytes) return;
    this.batchBytes += this.frames.attribution(revision, writer.user, writer.fieldManager, writer.userAgent, this.handOver);
    this.scheduleHandOver();
  }

  /**
   * Hand over everything queued, ask the worker and wait for its answer (blocking this
   * thread: reads are rare and the worker's backlog is bounded).
   */
  private ask<T>(req: WorkerRequest): T {
    if (this.closed) throw new Error('history is closed');
    this.frameGap(true);
    this.handOverBatch();
    const run = this.running();
    run.worker.postMessage(req);
    const deadline = Date.now() + ANSWER_TIMEOUT_MS;
    for (;;) {
      const answered = Atomics.load(run.counters, 1);
      const m = receiveMessageOnPort(run.replies) as { message: { result?: T; error?: string } } | undefined;
      if (m) {
        if (m.message.error !== undefined) throw new Error(`history: ${m.message.error}`);
        return m.message.result as T;
      }
      if (Atomics.load(run.counters, 2) === 1) throw new Error('history: the worker has stopped');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('history: the worker did not answer');
      Atomics.wait(run.counters, 1, answered, left);
    }
  }

  /** CPU time the worker thread has used, in µs (Linux; for the benchmark: the work moved off the request thread). */
  workerCpuUs(): number | undefined {
    const id = this.run?.threadId;
    if (id === undefined) return undefined;
    try {
      return threadCpuUs(`/proc/self/task/${id}/schedstat`);
    } catch {
      return undefined;
    }
  }

  /** Write everything queued; returns the newest revision recorded. */
  flush(): number {
    return this.ask<number>({ op: 'flush' });
  }

  /** Drop changes older than the retention window, then the oldest until under the size bound. */
  prune(now = Date.now()): void {
    this.ask<boolean>({ op: 'prune', now });
  }

  /**
   * Waits until this server's watch has every change up to the store's current
   * revision (writes through other API servers on a shared store), like a consistent
   * read of the watch cache. A store only this process writes delivers its events
   * before the write returns: nothing to wait for.
   */
  async caughtUp(timeoutMs = CATCH_UP_TIMEOUT_MS): Promise<void> {
    if (!this.store.freshRevision) return;
    const target = await this.store.freshRevision();
    if (target <= this.seen) return;
    let timer: NodeJS.Timeout | undefined;
    const ok = await new Promise<boolean>((resolve) => {
      const waiter = { revision: target, resolve: () => resolve(true) };
      this.waiters.push(waiter);
      timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
    });
    clearTimeout(timer);
    if (!ok) {
      throw new StatusError(504, 'Timeout', `Timeout: the history has not caught up with revision ${target} (at ${this.seen})`, { retryAfterSeconds: 1 });
    }
  }

  /**
   * The changes of the object stored under `key`, oldest first (including ones not yet
   * written), and the gaps since; this thread goes on serving while the worker catches up.
   */
  async readAsync(key: string): Promise<HistoryRead> {
    if (this.closed) throw new Error('history is closed');
    const run = this.running();
    // A worker that takes longer than idleStopMs to boot is not stopped under a read waiting for it.
    this.readsWaitingForStart++;
    try {
      await run.ready;
    } finally {
      this.readsWaitingForStart--;
    }
    if (this.closed) throw new Error('history is closed');
    if (Atomics.load(run.counters, 2) === 1) throw new Error('history: the worker has stopped');
    this.frameGap(true);
    this.handOverBatch();
    const id = ++this.nextRead;
    return new Promise<HistoryRead>((resolve, reject) => {
      this.reads.set(id, { resolve, reject });
      if (this.reads.size === 1) run.worker.ref();
      run.worker.postMessage({ op: 'readAsync', key, id } satisfies WorkerRequest);
    });
  }

  /** readAsync, waiting with this thread blocked. */
  read(key: string): HistoryRead {
    return this.ask({ op: 'read', key });
  }

  entries(key: string): HistoryEntry[] {
    return this.read(key).entries;
  }

  /** Stops following the store and waits until the worker has written everything. */
  close(): void {
    if (this.closed) return;
    this.watch?.stop();
    if (this.handOverTimer) clearTimeout(this.handOverTimer);
    if (this.idleTimer) clearInterval(this.idleTimer);
    // A stopped worker wrote everything before it stopped: only what came since needs one.
    if (this.run || this.frames.length > 0 || this.gap) {
      try {
        this.ask<boolean>({ op: 'close' });
      } catch (err) {
        console.error('history: closing:', err);
      }
    }
    this.closed = true;
    for (const r of this.reads.values()) r.reject(new Error('history is closed'));
    this.reads.clear();
    const run = this.run;
    this.run = undefined;
    if (run) {
      run.replies.close();
      void run.worker.terminate();
    }
  }
}
