// The history's worker thread: everything but noticing a write. It reads the frames
// the recorder hands over (the stored JSON of each event and who wrote it), diffs each
// version against the one before, and writes history.db in one transaction per batch;
// it prunes and answers the recorder's reads. The request thread only copies bytes.
//
// Requests that want an answer (flush, read, prune, lastRevision, close) are answered
// on the reply port, then counter 1 of the shared array is bumped and notified: the
// recorder waits on it (Atomics.wait), so its reads stay synchronous.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { managerFromUserAgent } from '../patch/managedfields.js';
import { changeOf, keptRaw, type Change } from './change.js';
import { HistoryDb, type ChangeRow } from './db.js';
import { FrameKind, readFrames, type Batch, type EventFrame, type GapFrame } from './frames.js';

export interface WorkerOptions {
  path: string;
  retentionMs: number;
  maxBytes: number;
  flushIntervalMs: number;
  pruneIntervalMs: number;
}

export interface WorkerInit {
  options: WorkerOptions;
  /** Int32 [0]: frame bytes queued and not yet written (the recorder's bound); [1]: answers posted; [2]: 1 once the worker has exited. */
  shared: SharedArrayBuffer;
  replies: MessagePort;
}

export type WorkerRequest =
  | { op: 'frames'; batch: Batch }
  | { op: 'flush' }
  | { op: 'read'; key: string }
  /** A read answered on the parent port (the recorder awaits it, its thread goes on serving). */
  | { op: 'readAsync'; key: string; id: number }
  | { op: 'prune'; now: number }
  | { op: 'close' };

/**
 * A store may deliver a watch event before the write's caller resumes and credits it
 * (etcd: the watch and the write's answer are separate streams): an event without its
 * writer yet waits this long before it is written without one.
 */
const ATTRIBUTION_WAIT_MS = 50;
/** Attributions whose event never came (a write of a key not recorded) are dropped after this many newer revisions are written. */
const ATTRIBUTION_SLACK = 10_000;
/** How often history.db's WAL is checkpointed (synced): what a power cut may lose at most, beyond the queue. */
const CHECKPOINT_INTERVAL_MS = 10_000;

/**
 * The worker's nice value: history is background work, so on a busy machine the
 * request thread (and everything else) goes first and the worker catches up when
 * there is room; the recorder's bounded queue covers a worker that never does.
 * (Linux: the priority of the calling thread only.)
 */
const NICE = 10;
try {
  setPriority(0, NICE);
} catch {
  // not permitted here: run at the process's priority
}

const OPEN_BRACE = 0x7b;
const DELETE_WITHOUT_PREV: Change = { type: 'delete', uid: null, patch: '[{"op":"remove","path":""}]' };

const init = workerData as WorkerInit;
const opts = init.options;
const counters = new Int32Array(init.shared);
const db = new HistoryDb(opts.path, opts.retentionMs, opts.maxBytes);
let pending: (EventFrame | GapFrame)[] = [];
let head = 0;
const attributions = new Map<number, { user: string; manager: string }>();
let closed = false;

/** Write the queued events that are ready (all of them when `all`). */
function write(all: boolean): void {
  if (head >= pending.length) return;
  const cutoff = all ? Infinity : Date.now() - ATTRIBUTION_WAIT_MS;
  const rows: ChangeRow[] = [];
  const gaps: GapFrame[] = [];
  let last = 0;
  let freed = 0;
  while (head < pending.length) {
    const f = pending[head];
    if (f.kind === FrameKind.Gap) {
      gaps.push(f);
      last = Math.max(last, f.to);
    } else {
      const who = attributions.get(f.revision);
      if (!who && f.time > cutoff) break;
      last = Math.max(last, f.revision);
      const deleted = f.kind === FrameKind.Delete;
      if (keptRaw(f.key, deleted, f.prev) && f.value && f.value[0] === OPEN_BRACE) {
        rows.push({ key: f.key, uid: null, revision: f.revision, time: f.time, type: 'create', user: who?.user ?? null, manager: who?.manager ?? null, patch: f.value });
        attributions.delete(f.revision);
        freed += f.size;
        head++;
        continue;
      }
      const c = deleted && !f.prev ? DELETE_WITHOUT_PREV : changeOf(f.key, deleted, f.value, f.prev);
      if (c) {
        // The entry this write touched, else the request's manager, else the newest entry.
        rows.push({ key: f.key, uid: c.uid, revision: f.revision, time: f.time, type: c.type, user: who?.user ?? null, manager: c.touchedManager ?? who?.manager ?? c.newestManager ?? null, patch: c.patch });
      }
      attributions.delete(f.revision);
    }
    freed += f.size;
    head++;
  }
  if (head === pending.length) {
    pending = [];
    head = 0;
  } else if (head > 4096) {
    pending = pending.slice(head);
    head = 0;
  }
  if (rows.length || gaps.length) db.write(rows, gaps, last);
  else if (last) db.write([], [], last);
  if (attributions.size > ATTRIBUTION_SLACK) for (const rev of attributions.keys()) if (rev <= last - ATTRIBUTION_SLACK) attributions.delete(rev);
  Atomics.sub(counters, 0, freed);
}

/** The manager a user agent stands for (a few clients write almost everything). */
const agentManagers = new Map<string, string>();
function agentManager(userAgent: string): string {
  let m = agentManagers.get(userAgent);
  if (m === undefined) {
    if (agentManagers.size >= 1000) agentManagers.clear();
    m = managerFromUserAgent(userAgent);
    agentManagers.set(userAgent, m);
  }
  return m;
}

function receive(batch: Batch): void {
  let freed = 0;
  for (const f of readFrames(batch)) {
    if (f.kind === FrameKind.Attribution) {
      attributions.set(f.revision, { user: f.user, manager: f.fieldManager || agentManager(f.userAgent) });
      freed += f.size;
    } else {
      pending.push(f);
    }
  }
  Atomics.sub(counters, 0, freed);
}

function answer(result: unknown): void {
  init.replies.postMessage(result);
  Atomics.add(counters, 1, 1);
  Atomics.notify(counters, 1);
}

function handle(req: WorkerRequest): void {
  switch (req.op) {
    case 'frames':
      receive(req.batch);
      return;
    case 'flush':
      write(true);
      return answer({ result: db.lastRevision() });
    case 'readAsync':
      write(true);
      parentPort!.postMessage({ id: req.id, result: db.read(req.key) });
      return;
    case 'read':
      write(true);
      return answer({ result: db.read(req.key) });
    case 'prune':
      write(true);
      db.prune(req.now);
      return answer({ result: true });
    case 'close':
      write(true);
      closed = true;
      for (const t of timers) clearInterval(t);
      db.close();
      answer({ result: true });
      parentPort!.close();
      return;
  }
}

const timers = [
  setInterval(() => {
    if (!closed) guard(() => write(false));
  }, opts.flushIntervalMs),
  setInterval(() => {
    if (!closed) guard(() => db.prune(Date.now()));
  }, opts.pruneIntervalMs),
  setInterval(() => {
    if (!closed) guard(() => db.checkpoint());
  }, CHECKPOINT_INTERVAL_MS),
];

function guard(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    console.error('history:', err);
  }
}

// A recorder waiting for an answer must not wait for a worker that is gone.
process.on('exit', () => {
  Atomics.store(counters, 2, 1);
  Atomics.add(counters, 1, 1);
  Atomics.notify(counters, 1);
});

/** This thread's id (Linux), so its CPU time can be read from /proc (the benchmark does). */
function threadId(): number | undefined {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return undefined;
  }
}

parentPort!.postMessage({ lastRevision: db.lastRevision(), threadId: threadId() });
// A worker stopped for idleness missed its periodic prunes: the first one runs as it
// starts, so what passed the retention window while it was stopped goes before any read.
guard(() => db.prune(Date.now()));
parentPort!.on('message', (req: WorkerRequest) => {
  if (closed) return;
  try {
    handle(req);
  } catch (err) {
    console.error('history:', err);
    const error = err instanceof Error ? err.message : String(err);
    if (req.op === 'readAsync') parentPort!.postMessage({ id: req.id, error });
    else if (req.op !== 'frames') answer({ error });
  }
});
