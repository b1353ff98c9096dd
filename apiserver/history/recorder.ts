// Every object's history (kite-specific): each create, update and delete of every
// stored object, with its revision, time, user and field manager and the change as a
// JSON Patch, kept in its own SQLite file beyond store compaction for a retention
// window and a size bound.
//
// The recorder follows the store with one watch on `/registry/` (so writes that bypass
// the registry are seen too) and credits each revision to the request that wrote it
// through a thin Store wrapper (see attribution.ts). Events are only queued on the
// watch; decoding, diffing and the insert happen in batches on a timer, one
// transaction per batch, off the request path.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { KeyValue, ListPage, ListPageOptions, ListResult, Store, WatchEvent, WatchHandle, WatchOptions } from '../../store/types.js';
import { StoreError } from '../../store/types.js';
import type { KubeObject } from '../../machinery/object.js';
import { managerFromUserAgent } from '../patch/managedfields.js';
import { currentWriter } from './attribution.js';
import { diffObjects, type PatchOp } from './diff.js';

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
  /** How often queued events are written (default 200 ms). */
  flushIntervalMs?: number;
  /** How often old changes are pruned (default 10 min). */
  pruneIntervalMs?: number;
}

export const DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000;
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
export const DEFAULT_EXCLUDE = ['/registry/core/events/', '/registry/coordination.k8s.io/leases/'];

export type ChangeType = 'create' | 'update' | 'delete';

/** One change as the API serves it. */
export interface HistoryEntry {
  revision: string;
  time: string;
  type: ChangeType;
  uid?: string;
  user?: string;
  manager?: string;
  /** JSON Patch from the previous version (create: add of the whole object at ""; delete: remove of ""). */
  patch: PatchOp[];
}

interface Attribution {
  user: string;
  manager?: string;
}

interface QueuedEvent {
  ev: WatchEvent;
  at: number;
}

interface ChangeRow {
  revision: number;
  time: number;
  type: ChangeType;
  uid: string | null;
  user: string | null;
  manager: string | null;
  patch: string;
}

/** Volatile fields every write touches: the revision and manager are recorded beside the diff. */
const IGNORED = new Set(['/metadata/resourceVersion', '/metadata/managedFields']);
const SECRETS_PREFIX = '/registry/core/secrets/';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** A Secret's values become digests: history shows that a key changed, never its value. */
function redactSecret(obj: KubeObject): KubeObject {
  const out = { ...obj } as Record<string, unknown>;
  for (const field of ['data', 'stringData']) {
    const m = out[field] as Record<string, string> | undefined;
    if (!m) continue;
    out[field] = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, `<redacted sha256:${createHash('sha256').update(String(v)).digest('hex').slice(0, 12)}>`]));
  }
  const ann = obj.metadata?.annotations;
  if (ann?.[LAST_APPLIED]) out.metadata = { ...obj.metadata, annotations: { ...ann, [LAST_APPLIED]: '<redacted>' } };
  return out as KubeObject;
}

interface ManagedEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  time?: string;
  fieldsV1?: unknown;
}

/** The manager of the newest managedFields entry (by time; the later entry wins a tie). */
export function newestManager(obj: KubeObject | undefined, among?: ManagedEntry[]): string | undefined {
  let best: ManagedEntry | undefined;
  for (const e of among ?? ((obj?.metadata?.managedFields ?? []) as ManagedEntry[])) {
    if (!best || (e.time ?? '') >= (best.time ?? '')) best = e;
  }
  return best?.manager;
}

/**
 * The field manager of a write: the newest managedFields entry this write added or
 * touched (times have second granularity, so "newest overall" alone often names an
 * earlier writer), else undefined.
 */
export function writingManager(prev: KubeObject | undefined, next: KubeObject): string | undefined {
  const before = new Map(((prev?.metadata?.managedFields ?? []) as ManagedEntry[]).map((e) => [`${e.manager}\0${e.operation}\0${e.subresource ?? ''}`, JSON.stringify(e)]));
  const touched = ((next.metadata?.managedFields ?? []) as ManagedEntry[]).filter((e) => before.get(`${e.manager}\0${e.operation}\0${e.subresource ?? ''}`) !== JSON.stringify(e));
  return touched.length ? newestManager(undefined, touched) : undefined;
}

function snapshot(obj: KubeObject): KubeObject {
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = obj.metadata ?? {};
  return { ...obj, metadata: meta };
}

export class HistoryRecorder {
  private readonly db: Database.Database;
  private readonly retentionMs: number;
  private readonly maxBytes: number;
  private readonly exclude: readonly string[];
  private readonly queue: QueuedEvent[] = [];
  private readonly attributions = new Map<number, Attribution>();
  private watch?: WatchHandle;
  private readonly timers: NodeJS.Timeout[] = [];
  private totalBytes: number;
  private closed = false;
  private readonly stmt: {
    insert: Database.Statement<[string, string | null, number, number, string, string | null, string | null, string, number]>;
    byKey: Database.Statement<[string], ChangeRow>;
    setLast: Database.Statement<[number]>;
    getLast: Database.Statement<[], { value: number }>;
    pruneTime: Database.Statement<[number]>;
    oldest: Database.Statement<[], { id: number; size: number }>;
    pruneUpTo: Database.Statement<[number]>;
    total: Database.Statement<[], { total: number | null }>;
  };

  constructor(
    private readonly store: Store,
    opts: HistoryOptions,
  ) {
    this.retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    this.exclude = opts.exclude ?? DEFAULT_EXCLUDE;
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    // History is a record, not the source of truth: losing the last batch to a power cut is acceptable.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL,
        uid TEXT,
        revision INTEGER NOT NULL,
        time INTEGER NOT NULL,
        type TEXT NOT NULL,
        user TEXT,
        manager TEXT,
        patch TEXT NOT NULL,
        size INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS changes_by_key ON changes(key, revision);
      CREATE INDEX IF NOT EXISTS changes_by_time ON changes(time);
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
    this.stmt = {
      insert: this.db.prepare('INSERT INTO changes (key, uid, revision, time, type, user, manager, patch, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      byKey: this.db.prepare('SELECT revision, time, type, uid, user, manager, patch FROM changes WHERE key = ? ORDER BY revision'),
      setLast: this.db.prepare("INSERT INTO meta (name, value) VALUES ('last_revision', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value"),
      getLast: this.db.prepare("SELECT value FROM meta WHERE name = 'last_revision'"),
      pruneTime: this.db.prepare('DELETE FROM changes WHERE time < ?'),
      oldest: this.db.prepare('SELECT id, size FROM changes ORDER BY id'),
      pruneUpTo: this.db.prepare('DELETE FROM changes WHERE id <= ?'),
      total: this.db.prepare('SELECT SUM(size) AS total FROM changes'),
    };
    this.totalBytes = this.stmt.total.get()?.total ?? 0;
    this.flushEvery(opts.flushIntervalMs ?? 200);
    const prune = setInterval(() => this.prune(), opts.pruneIntervalMs ?? 600_000);
    prune.unref();
    this.timers.push(prune);
  }

  private flushEvery(ms: number): void {
    const t = setInterval(() => this.flush(false), ms);
    t.unref();
    this.timers.push(t);
  }

  /** Follow the store: from the last revision recorded when it is still readable, else from now. */
  start(): void {
    const last = this.stmt.getLast.get()?.value ?? 0;
    const compacted = this.store.compactedRevision();
    this.follow(last > 0 && last >= compacted ? last : this.store.revision());
  }

  private follow(from: number): void {
    try {
      this.watch = this.store.watch('/registry/', from, (ev) => this.queue.push({ ev, at: Date.now() }), {
        onError: () => {
          if (!this.closed) this.follow(this.store.revision());
        },
      });
    } catch (err) {
      if (err instanceof StoreError && err.code === 'Compacted') this.follow(this.store.revision());
      else throw err;
    }
  }

  private excluded(key: string): boolean {
    return this.exclude.some((p) => key.startsWith(p));
  }

  /** Credit `revision` to the write request running now (called by the store wrapper). */
  private attribute(key: string, revision: number, manager: string | undefined): void {
    const ctx = currentWriter();
    if (!ctx || this.excluded(key)) return;
    this.attributions.set(revision, { user: ctx.user.name, manager: manager ?? (ctx.fieldManager || managerFromUserAgent(ctx.userAgent)) });
  }

  /** The store the registry should write through, so each revision is credited to its writer. */
  attributingStore(): Store {
    const inner = this.store;
    const credit = (key: string, revision: number) => this.attribute(key, revision, undefined);
    return {
      revision: () => inner.revision(),
      compactedRevision: () => inner.compactedRevision(),
      get: (key: string) => inner.get(key),
      list: (prefix: string): Promise<ListResult> => inner.list(prefix),
      listPage: (prefix: string, opts: ListPageOptions): Promise<ListPage> => inner.listPage(prefix, opts),
      async create(key: string, value: Buffer): Promise<KeyValue> {
        const kv = await inner.create(key, value);
        credit(key, kv.modRevision);
        return kv;
      },
      async update(key: string, value: Buffer, expected: number): Promise<KeyValue> {
        const kv = await inner.update(key, value, expected);
        credit(key, kv.modRevision);
        return kv;
      },
      async delete(key: string, expected?: number) {
        const out = await inner.delete(key, expected);
        credit(key, out.revision);
        return out;
      },
      watch: (prefix: string, from: number, onEvent: (ev: WatchEvent) => void, opts?: WatchOptions) => inner.watch(prefix, from, onEvent, opts),
      compact: (revision: number) => inner.compact(revision),
      close: () => inner.close(),
      ...(inner.freshRevision ? { freshRevision: () => inner.freshRevision!() } : {}),
    };
  }

  /**
   * Write queued events. A store may deliver a watch event before the write's caller
   * resumes (and credits it): unless `all`, only events queued a moment ago are taken.
   */
  flush(all = true): void {
    if (this.closed || this.queue.length === 0) return;
    const cutoff = all ? Infinity : Date.now() - 50;
    let n = 0;
    while (n < this.queue.length && this.queue[n].at <= cutoff) n++;
    if (n === 0) return;
    const batch = this.queue.splice(0, n);
    let last = 0;
    const write = this.db.transaction(() => {
      for (const { ev, at } of batch) {
        last = ev.revision;
        this.record(ev, at);
      }
      this.stmt.setLast.run(last);
    });
    write();
    for (const rev of this.attributions.keys()) if (rev <= last) this.attributions.delete(rev);
  }

  private record(ev: WatchEvent, at: number): void {
    const key = ev.kv.key;
    if (this.excluded(key)) return;
    let next: KubeObject | undefined;
    let prev: KubeObject | undefined;
    try {
      next = ev.type === 'put' ? (JSON.parse(ev.kv.value.toString()) as KubeObject) : undefined;
      prev = ev.prevKv ? (JSON.parse(ev.prevKv.value.toString()) as KubeObject) : undefined;
    } catch {
      return; // not an object (e.g. an allocator's range)
    }
    const who = this.attributions.get(ev.revision);
    const secret = key.startsWith(SECRETS_PREFIX);
    const shown = (o: KubeObject) => snapshot(secret ? redactSecret(o) : o);
    let type: ChangeType;
    let patch: PatchOp[];
    if (ev.type === 'delete') {
      type = 'delete';
      patch = [{ op: 'remove', path: '' }];
    } else if (!prev) {
      type = 'create';
      patch = [{ op: 'add', path: '', value: shown(next!) }];
    } else {
      type = 'update';
      patch = diffObjects(shown(prev), shown(next!), IGNORED);
    }
    // The entry this write touched, else the request's manager, else the newest entry.
    const manager = (next ? writingManager(prev, next) : undefined) ?? who?.manager ?? newestManager(next ?? prev);
    const uid = (next ?? prev)?.metadata?.uid ?? null;
    const text = JSON.stringify(patch);
    this.stmt.insert.run(key, uid, ev.revision, at, type, who?.user ?? null, manager ?? null, text, text.length);
    this.totalBytes += text.length;
  }

  /** Drop changes older than the retention window, then the oldest until under the size bound. */
  prune(now = Date.now()): void {
    if (this.closed) return;
    this.stmt.pruneTime.run(now - this.retentionMs);
    this.totalBytes = this.stmt.total.get()?.total ?? 0;
    if (this.totalBytes <= this.maxBytes) return;
    // Oldest first, down to 90% of the bound so the next prunes have room.
    let excess = this.totalBytes - this.maxBytes * 0.9;
    let upTo = 0;
    for (const row of this.stmt.oldest.iterate()) {
      upTo = row.id;
      excess -= row.size;
      if (excess <= 0) break;
    }
    this.stmt.pruneUpTo.run(upTo);
    this.totalBytes = this.stmt.total.get()?.total ?? 0;
  }

  /** The changes of the object stored under `key`, oldest first (including ones not yet flushed). */
  entries(key: string): HistoryEntry[] {
    this.flush(true);
    return this.stmt.byKey.all(key).map((r) => {
      const e: HistoryEntry = { revision: String(r.revision), time: new Date(r.time).toISOString(), type: r.type, patch: JSON.parse(r.patch) as PatchOp[] };
      if (r.uid) e.uid = r.uid;
      if (r.user) e.user = r.user;
      if (r.manager) e.manager = r.manager;
      return e;
    });
  }

  close(): void {
    if (this.closed) return;
    this.watch?.stop();
    this.flush(true);
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.db.close();
  }
}
