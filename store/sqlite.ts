// The default store: one SQLite file (better-sqlite3) with etcd's data model.
//
// Every write appends a row to `history` (its rowid is the new revision, assigned in
// memory: this process is the only writer) and points the key's row in `current` at it,
// in one transaction; a value is stored once, in `history`, and `current` holds only each
// key's revisions, so a create writes one history row and one small current row. A write
// is acknowledged only once that transaction is on disk (fsync of the WAL), so a write
// that returned survives kill -9 and power loss. Watches replay `history` from a revision
// and then receive live events; compaction deletes history rows older than a revision,
// except each live key's current one.
// better-sqlite3 is synchronous: each call completes before the next JS runs, which
// gives us serializable writes without locks and lets watch delivery happen in order.
import Database from 'better-sqlite3';
import { closeSync, fsync, fsyncSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CheckpointDone, CheckpointerInit, CheckpointerRequest } from './sqlite-checkpointer.js';
import type { KeyValue, ListPage, ListPageOptions, ListResult, Store, WatchEvent, WatchHandle, WatchOptions } from './types.js';
import { StoreError } from './types.js';

interface CurrentRow {
  key: string;
  value: Buffer;
  create_revision: number;
  mod_revision: number;
}

interface HistoryRow {
  revision: number;
  key: string;
  deleted: number;
  value: Buffer;
  create_revision: number;
  prev_revision: number | null;
}

interface Watcher {
  prefix: string;
  /** Events up to this revision were replayed (or not wanted): only later ones are delivered. */
  after: number;
  onEvent: (ev: WatchEvent) => void;
}

type Outcome = { ok: true; event: WatchEvent; result: unknown } | { ok: false; error: unknown };

interface PendingWrite {
  apply: () => { event: WatchEvent; result: unknown };
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** A batch committed to the WAL, answered once an fsync that began after its commit completes. */
interface CommittedBatch {
  writes: PendingWrite[];
  outcomes: Outcome[];
  /** The last revision the batch wrote (or the store's revision if it wrote none). */
  revision: number;
  /** Reads that saw this batch's state: answered with it. */
  readers: (() => void)[];
}

export interface SqliteStoreOptions {
  /**
   * `FULL` (default) makes every acknowledged write durable: committed with
   * synchronous=NORMAL (no fsync on the event loop) and acknowledged after an fsync of
   * the WAL on libuv's thread pool, which is what synchronous=FULL does at commit, but
   * shared by every batch committed meanwhile. `NORMAL`/`OFF` are SQLite's own settings, for benchmarks.
   */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
}

/**
 * The tables: a value is stored once, in its revision's `history` row. `current` has small
 * rows (no values): start-up lists every key by reading it only (listKeys).
 */
export const STORE_TABLES = `
  CREATE TABLE IF NOT EXISTS history (
    revision INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    value BLOB NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER
  );
  CREATE TABLE IF NOT EXISTS current (
    key TEXT PRIMARY KEY,
    create_revision INTEGER NOT NULL,
    mod_revision INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

/** A key's latest state: its `current` row and its value, its current revision's history row (CROSS JOIN: current is the outer loop). */
export const CURRENT_ROWS =
  'SELECT c.key AS key, h.value AS value, c.create_revision AS create_revision, c.mod_revision AS mod_revision FROM current c CROSS JOIN history h ON h.revision = c.mod_revision';

/** Writes between two checkpoints (a 1.5 KB object adds about three WAL pages: SQLite's own default is 1,000 pages). */
const CHECKPOINT_EVERY_WRITES = 300;
/**
 * WAL frames beyond which the request thread checkpoints the rest itself: under continuous
 * writes the checkpointer's passive checkpoints never catch up with the newest frames, and
 * SQLite reuses the WAL from its start only once all of it is in the database file.
 */
const WAL_CATCH_UP_FRAMES = 4_096;
/** A checkpointer thread with nothing to do for this long stops (its V8 heap and connection, ~10 MiB); the next checkpoint starts another. */
const CHECKPOINTER_IDLE_MS = 60_000;

/** The smallest string greater than every string starting with prefix. */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private rev: number;
  private compacted: number;
  private readonly watchers = new Set<Watcher>();
  private closed = false;
  private pending: PendingWrite[] = [];
  private flushScheduled = false;
  /** The WAL's file descriptor when acknowledgements wait for our own fsync of it (synchronous FULL on a file). */
  private walFd?: number;
  /** Committed to the WAL, not yet known durable: answered in order as fsyncs complete. */
  private committed: CommittedBatch[] = [];
  private syncing = false;
  /**
   * Durable file stores checkpoint the WAL on a thread of their own (`checkpointer`,
   * started on demand, stopped when idle), unless that thread failed (SQLite's automatic
   * checkpoints are back then). `checkpointing`: a request is outstanding.
   */
  private checkpointerFile?: string;
  private checkpointer?: Worker;
  private checkpointerIdle?: NodeJS.Timeout;
  private checkpointing = false;
  private writesSinceCheckpoint = 0;
  /** Called when nothing is committed-but-unanswered (close waits for it). */
  private drained: (() => void)[] = [];
  /** The last revision whose events were delivered (durable): what revision() reports. */
  private deliveredRev: number;
  private readonly stmt: {
    get: Database.Statement<[string], CurrentRow>;
    list: Database.Statement<[string, string], CurrentRow>;
    pageFrom: Database.Statement<[string, string, number], CurrentRow>;
    pageAfter: Database.Statement<[string, string, number], CurrentRow>;
    insertHistory: Database.Statement<[number, string, number, Buffer, number, number | null]>;
    insertCurrent: Database.Statement<[string, number, number]>;
    setModRevision: Database.Statement<[number, string]>;
    deleteCurrent: Database.Statement<[string]>;
    historySince: Database.Statement<[number, string, string, number], HistoryRow>;
    atRevision: Database.Statement<[number], { value: Buffer; revision: number; create_revision: number }>;
    setMeta: Database.Statement<[string, number]>;
  };

  /** One transaction: each write applied in order; a failed precondition fails that write alone, anything else the batch. */
  private readonly applyBatch: (batch: PendingWrite[], outcomes: Outcome[]) => void;

  constructor(
    private readonly file: string,
    opts: SqliteStoreOptions = {},
  ) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    // Pages freed by compaction go back to the file system (incremental vacuum after each
    // compaction); set before the first table exists, it applies to new databases.
    this.db.pragma('auto_vacuum = INCREMENTAL');
    this.db.pragma('journal_mode = WAL');
    const durable = (opts.synchronous ?? 'FULL') === 'FULL' && file !== ':memory:';
    // Durable writes commit without an fsync on the event loop and fsync the WAL afterwards (see flush).
    this.db.pragma(`synchronous = ${durable ? 'NORMAL' : (opts.synchronous ?? 'FULL')}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.exec('CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)');
    if (hasColumn(this.db, 'current', 'value')) migrateValuesStoredTwice(this.db);
    this.db.exec(STORE_TABLES);
    this.stmt = {
      get: this.db.prepare(`${CURRENT_ROWS} WHERE c.key = ?`),
      list: this.db.prepare(`${CURRENT_ROWS} WHERE c.key >= ? AND c.key < ? ORDER BY c.key`),
      pageFrom: this.db.prepare(`${CURRENT_ROWS} WHERE c.key >= ? AND c.key < ? ORDER BY c.key LIMIT ?`),
      pageAfter: this.db.prepare(`${CURRENT_ROWS} WHERE c.key > ? AND c.key < ? ORDER BY c.key LIMIT ?`),
      insertHistory: this.db.prepare('INSERT INTO history (revision, key, deleted, value, create_revision, prev_revision) VALUES (?, ?, ?, ?, ?, ?)'),
      insertCurrent: this.db.prepare('INSERT INTO current (key, create_revision, mod_revision) VALUES (?, ?, ?)'),
      setModRevision: this.db.prepare('UPDATE current SET mod_revision = ? WHERE key = ?'),
      deleteCurrent: this.db.prepare('DELETE FROM current WHERE key = ?'),
      historySince: this.db.prepare(
        'SELECT revision, key, deleted, value, create_revision, prev_revision FROM history WHERE revision > ? AND key >= ? AND key < ? AND revision <= ? ORDER BY revision',
      ),
      atRevision: this.db.prepare('SELECT value, revision, create_revision FROM history WHERE revision = ?'),
      setMeta: this.db.prepare('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value'),
    };
    this.applyBatch = this.db.transaction((batch: PendingWrite[], outcomes: Outcome[]) => {
      for (const w of batch) {
        try {
          const { event, result } = w.apply();
          outcomes.push({ ok: true, event, result });
        } catch (err) {
          if (!(err instanceof StoreError)) throw err;
          outcomes.push({ ok: false, error: err });
        }
      }
    });
    const maxRev = this.db.prepare('SELECT MAX(revision) AS r FROM history').get() as { r: number | null };
    const metaValue = (name: string) => (this.db.prepare('SELECT value FROM meta WHERE name = ?').get(name) as { value: number } | undefined)?.value ?? 0;
    this.compacted = metaValue('compacted');
    this.rev = Math.max(maxRev.r ?? 0, metaValue(REVISION_FLOOR), this.compacted);
    this.deliveredRev = this.rev;
    if (durable) {
      // Make sure the WAL exists (a write transaction creates it), then hold it open to fsync it.
      this.db.exec('BEGIN IMMEDIATE; COMMIT');
      this.walFd = openSync(`${file}-wal`, 'r');
      fsyncSync(this.walFd);
      this.checkpointerFile = file;
      this.db.pragma('wal_autocheckpoint = 0');
      // The WAL's directory entry, in case the file was just made.
      const dirFd = openSync(dirname(file), 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    }
  }

  /** The latest durable revision, whose events watchers have been given. */
  revision(): number {
    return this.deliveredRev;
  }

  compactedRevision(): number {
    return this.compacted;
  }

  private check(): void {
    if (this.closed) throw new StoreError('Closed', 'store is closed');
  }

  /**
   * Answers a read that saw the latest committed state once that state is durable, so
   * no reader is ever told of a write a crash could still undo.
   */
  private answerRead<T>(result: T): Promise<T> {
    const last = this.committed[this.committed.length - 1];
    if (!last) return Promise.resolve(result);
    return new Promise<T>((resolve) => last.readers.push(() => resolve(result)));
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.check();
    const row = this.stmt.get.get(key);
    return this.answerRead(row && toKV(row));
  }

  async list(prefix: string): Promise<ListResult> {
    this.check();
    const rows = this.stmt.list.all(prefix, prefixEnd(prefix));
    return this.answerRead({ items: rows.map(toKV), revision: this.rev });
  }

  listKeys(prefix: string): { items: { key: string; modRevision: number }[]; revision: number } {
    this.check();
    // `current` holds no values: this reads none.
    const rows = this.db.prepare('SELECT key, mod_revision FROM current WHERE key >= ? AND key < ? ORDER BY key').raw().all(prefix, prefixEnd(prefix)) as [string, number][];
    const items = new Array<{ key: string; modRevision: number }>(rows.length);
    for (let i = 0; i < rows.length; i++) items[i] = { key: rows[i][0], modRevision: rows[i][1] };
    return { items, revision: this.rev };
  }

  valuesBetween(first: string, last: string): { key: string; value: Buffer; modRevision: number }[] {
    this.check();
    const rows = this.db.prepare(`SELECT key, value, mod_revision FROM (${CURRENT_ROWS}) WHERE key >= ? AND key <= ? ORDER BY key`).raw().all(first, last) as [string, Buffer, number][];
    const out = new Array<{ key: string; value: Buffer; modRevision: number }>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = { key: rows[i][0], value: rows[i][1], modRevision: rows[i][2] };
    return out;
  }

  valueAt(key: string, modRevision: number): Buffer | undefined {
    this.check();
    // The revision's history row, kept while it is the key's current one; after a later
    // write to the key, until compaction (then the key's current value).
    return this.stmt.atRevision.get(modRevision)?.value ?? this.stmt.get.get(key)?.value;
  }

  /**
   * Pages of the latest state: only the current values are kept, so a page at an older
   * revision than the latest is answered only while nothing changed since (else Compacted,
   * as the API server's continue tokens expire on upstream too).
   */
  async listPage(prefix: string, opts: ListPageOptions): Promise<ListPage> {
    this.check();
    if (opts.revision && opts.revision !== this.rev) {
      throw new StoreError('Compacted', `required revision ${opts.revision} has been compacted (latest is ${this.rev})`);
    }
    const rows = opts.continue === undefined
      ? this.stmt.pageFrom.all(prefix, prefixEnd(prefix), opts.limit + 1)
      : this.stmt.pageAfter.all(opts.continue < prefix ? prefix : opts.continue, prefixEnd(prefix), opts.limit + 1);
    const items = rows.map(toKV);
    const more = items.length > opts.limit;
    if (more) items.length = opts.limit;
    return this.answerRead({ items, revision: this.rev, continue: more ? items[items.length - 1].key : undefined });
  }

  /**
   * Group commit: writes that arrive in one event-loop turn share one transaction, and
   * writes that arrive while an fsync is running wait for it to end and then share one
   * transaction and the next fsync (which they would have waited for anyway): one commit
   * per fsync instead of one per turn, each commit being SQLite's per-transaction work and
   * WAL pages written again for the same few B-tree leaves. Each write is
   * still checked and applied in arrival order (a failed precondition is checked before
   * that write touches anything, so it fails alone), and every caller is answered only
   * after its batch is durable, in revision order, watchers first.
   */
  private write<T>(apply: () => { event: WatchEvent; result: T }): Promise<T> {
    this.check();
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ apply, resolve: resolve as (v: unknown) => void, reject });
      // While an fsync runs, its end flushes what is pending (see syncWal).
      if (!this.flushScheduled && !this.syncing) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.syncing) return;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    if (this.closed) {
      for (const w of batch) w.reject(new StoreError('Closed', 'store is closed'));
      return;
    }
    const startRev = this.rev;
    const outcomes: Outcome[] = [];
    try {
      this.applyBatch(batch, outcomes);
    } catch (err) {
      this.rev = startRev;
      for (const w of batch) w.reject(err);
      return;
    }
    const committed: CommittedBatch = { writes: batch, outcomes, revision: this.rev, readers: [] };
    if (this.walFd === undefined) {
      this.answer(committed);
      return;
    }
    this.committed.push(committed);
    this.syncWal();
    this.writesSinceCheckpoint += batch.length;
    if (this.writesSinceCheckpoint >= CHECKPOINT_EVERY_WRITES) this.requestCheckpoint();
  }

  private startCheckpointer(file: string): Worker {
    const worker = new Worker(new URL('./sqlite-checkpointer.js', import.meta.url), { workerData: { file } satisfies CheckpointerInit });
    worker.on('message', (done: CheckpointDone) => this.checkpointed(done));
    worker.on('error', (err) => {
      console.error('store: the checkpointer thread failed:', err);
      this.checkpointer = undefined;
      this.checkpointerFile = undefined;
      this.checkpointing = false;
      if (!this.closed) this.db.pragma('wal_autocheckpoint = 1000');
    });
    // After the listeners, which would hold the process open again.
    worker.unref();
    return worker;
  }

  private requestCheckpoint(): void {
    if (this.checkpointerFile === undefined || this.checkpointing) return;
    this.checkpointer ??= this.startCheckpointer(this.checkpointerFile);
    clearTimeout(this.checkpointerIdle);
    this.checkpointing = true;
    this.writesSinceCheckpoint = 0;
    this.checkpointer.postMessage({ op: 'checkpoint' } satisfies CheckpointerRequest);
  }

  /** Ends the checkpointer thread; resolves once it has closed its connection. */
  private stopCheckpointer(): Promise<void> {
    const worker = this.checkpointer;
    clearTimeout(this.checkpointerIdle);
    if (!worker) return Promise.resolve();
    this.checkpointer = undefined;
    this.checkpointing = false;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ op: 'close' } satisfies CheckpointerRequest);
    return exited;
  }

  private checkpointed(done: CheckpointDone): void {
    this.checkpointing = false;
    this.checkpointerIdle = setTimeout(() => void this.stopCheckpointer(), CHECKPOINTER_IDLE_MS).unref();
    if (this.closed || done.walFrames < WAL_CATCH_UP_FRAMES) return;
    // Most of the WAL is in the database file already: copy the newest frames here, so
    // the next commit starts the WAL over instead of growing it.
    this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  /**
   * One fsync of the WAL at a time; it covers every batch committed before it began. Its
   * end commits the writes that came meanwhile and starts their fsync before answering the
   * batches it made durable, so that the disk works while they are answered.
   */
  private syncWal(): void {
    if (this.syncing || this.committed.length === 0 || this.walFd === undefined) return;
    this.syncing = true;
    const covered = this.committed.length;
    fsync(this.walFd, (err) => {
      this.syncing = false;
      const done = this.committed.splice(0, covered);
      if (!err && this.pending.length > 0) this.flush();
      if (err) {
        // The batches may not be on disk: fail them, and stop taking writes (the
        // process's view is ahead of what a restart would find).
        console.error('store: fsync of the WAL failed:', err);
        this.closed = true;
        this.flush(); // fails the writes that came meanwhile
        for (const b of [...done, ...this.committed.splice(0)]) {
          for (const w of b.writes) w.reject(new StoreError('Closed', `store failed to sync: ${err.message}`));
          for (const r of b.readers) r();
        }
      } else {
        for (const b of done) this.answer(b);
      }
      if (this.committed.length > 0) this.syncWal();
      else for (const d of this.drained.splice(0)) d();
    });
  }

  /** Watchers get a durable batch's events (in revision order), then its writers and readers their answers. */
  private answer(b: CommittedBatch): void {
    for (let i = 0; i < b.writes.length; i++) {
      const o = b.outcomes[i];
      if (o.ok) {
        this.deliveredRev = o.event.revision;
        this.notify(o.event);
        b.writes[i].resolve(o.result);
      } else {
        b.writes[i].reject(o.error);
      }
    }
    this.deliveredRev = Math.max(this.deliveredRev, b.revision);
    for (const r of b.readers) r();
  }

  create(key: string, value: Buffer): Promise<KeyValue> {
    return this.write(() => {
      // One writer (this process), so the next revision is known before the insert.
      const rev = this.rev + 1;
      // The key's primary key is the existence check (no read first): a taken key fails
      // this statement alone, before anything is written.
      try {
        this.stmt.insertCurrent.run(key, rev, rev);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new StoreError('KeyExists', `key exists: ${key}`);
        throw err;
      }
      this.stmt.insertHistory.run(rev, key, 0, value, rev, null);
      this.rev = rev;
      const kv = { key, value, createRevision: rev, modRevision: rev };
      return { event: { type: 'put', kv, revision: rev }, result: kv };
    });
  }

  update(key: string, value: Buffer, expectedModRevision: number): Promise<KeyValue> {
    return this.write(() => {
      const cur = this.stmt.get.get(key);
      if (!cur) throw new StoreError('KeyNotFound', `key not found: ${key}`);
      if (cur.mod_revision !== expectedModRevision) throw new StoreError('Conflict', `revision mismatch on ${key}`, toKV(cur));
      const rev = this.rev + 1;
      this.stmt.insertHistory.run(rev, key, 0, value, cur.create_revision, cur.mod_revision);
      this.stmt.setModRevision.run(rev, key);
      this.rev = rev;
      const kv = { key, value, createRevision: cur.create_revision, modRevision: rev };
      return { event: { type: 'put', kv, prevKv: toKV(cur), revision: rev }, result: kv };
    });
  }

  delete(key: string, expectedModRevision?: number): Promise<{ prev: KeyValue; revision: number }> {
    return this.write(() => {
      const cur = this.stmt.get.get(key);
      if (!cur) throw new StoreError('KeyNotFound', `key not found: ${key}`);
      if (expectedModRevision !== undefined && cur.mod_revision !== expectedModRevision) {
        throw new StoreError('Conflict', `revision mismatch on ${key}`, toKV(cur));
      }
      const rev = this.rev + 1;
      this.stmt.insertHistory.run(rev, key, 1, cur.value, cur.create_revision, cur.mod_revision);
      this.stmt.deleteCurrent.run(key);
      this.rev = rev;
      const prev = toKV(cur);
      return { event: { type: 'delete', kv: { ...prev, modRevision: rev }, prevKv: prev, revision: rev }, result: { prev, revision: rev } };
    });
  }

  /** Replay and delivery are synchronous, so there is never progress to report nor an error to end with. */
  watch(prefix: string, fromRevision: number, onEvent: (ev: WatchEvent) => void, _opts?: WatchOptions): WatchHandle {
    this.check();
    if (fromRevision < this.compacted) {
      throw new StoreError('Compacted', `required revision ${fromRevision} has been compacted (compacted at ${this.compacted})`);
    }
    // Replay history synchronously, then register: no write can interleave. Only what
    // was delivered is replayed: later (committed, not yet durable) writes come as live events.
    const upTo = this.deliveredRev;
    for (const row of this.stmt.historySince.iterate(fromRevision, prefix, prefixEnd(prefix), upTo)) {
      onEvent(this.historyToEvent(row));
    }
    const w: Watcher = { prefix, after: Math.max(fromRevision, upTo), onEvent };
    this.watchers.add(w);
    return { stop: () => this.watchers.delete(w) };
  }

  private historyToEvent(row: HistoryRow): WatchEvent {
    const prev = row.prev_revision ? this.stmt.atRevision.get(row.prev_revision) : undefined;
    const prevKv = prev ? { key: row.key, value: prev.value, createRevision: prev.create_revision, modRevision: prev.revision } : undefined;
    return {
      type: row.deleted ? 'delete' : 'put',
      kv: { key: row.key, value: row.value, createRevision: row.create_revision, modRevision: row.revision },
      prevKv,
      revision: row.revision,
    };
  }

  private notify(ev: WatchEvent): void {
    for (const w of this.watchers) {
      if (ev.revision > w.after && ev.kv.key.startsWith(w.prefix)) {
        try {
          w.onEvent(ev);
        } catch (err) {
          // A failing watcher must not break the write path or other watchers.
          console.error('store watcher failed:', err);
        }
      }
    }
  }

  async compact(revision: number): Promise<void> {
    this.check();
    if (revision <= this.compacted) return;
    const target = Math.min(revision, this.deliveredRev);
    this.db.transaction(() => {
      // Each live key's current revision stays: it holds the key's value.
      this.db.prepare('DELETE FROM history WHERE revision < ? AND revision NOT IN (SELECT mod_revision FROM current)').run(target);
      this.stmt.setMeta.run('compacted', target);
    })();
    this.compacted = target;
    this.reclaim();
  }

  /**
   * Returns the pages compaction freed to the file system, so the file stays proportional
   * to the live data. A database created before auto_vacuum was set is converted once,
   * by a full VACUUM, when more than a quarter of it is free.
   */
  reclaim(): void {
    if (this.file === ':memory:') return;
    const mode = this.db.pragma('auto_vacuum', { simple: true }) as number;
    if (mode !== 2) {
      const free = this.db.pragma('freelist_count', { simple: true }) as number;
      const pages = this.db.pragma('page_count', { simple: true }) as number;
      if (free * 4 < pages) return;
      this.db.pragma('auto_vacuum = INCREMENTAL');
      this.db.exec('VACUUM');
    } else {
      this.db.pragma('incremental_vacuum');
    }
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** Bytes the database takes on disk (main file and WAL). */
  sizeOnDisk(): number {
    if (this.file === ':memory:') return 0;
    let size = 0;
    for (const f of [this.file, `${this.file}-wal`]) {
      try {
        size += statSync(f).size;
      } catch {
        // absent WAL
      }
    }
    return size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.pending.length) this.flush();
    if (this.committed.length > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    if (this.closed) return;
    this.closed = true;
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.watchers.clear();
    // Its connection closes first, so that closing ours (the last) checkpoints and removes the WAL.
    this.checkpointer?.ref();
    await this.stopCheckpointer();
    this.db.close();
  }
}

/** A meta row: the revision the store had reached when its history table was rebuilt (AUTOINCREMENT kept it in sqlite_sequence). */
const REVISION_FLOOR = 'revision_floor';

function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return (db.pragma(`table_info(${table})`) as { name: string }[]).some((c) => c.name === column);
}

/**
 * Converts a database of the first schema, which stored every value twice (in `history`
 * and in `current`, with an AUTOINCREMENT revision and two indexes), in one transaction:
 * a crash leaves either schema whole. A key whose current revision was compacted away
 * gets its history row back from `current`.
 */
function migrateValuesStoredTwice(db: Database.Database): void {
  db.transaction(() => {
    db.exec(`
      INSERT INTO meta (name, value) SELECT '${REVISION_FLOOR}', seq FROM sqlite_sequence WHERE name = 'history'
        ON CONFLICT(name) DO UPDATE SET value = excluded.value;
      CREATE TABLE history_values_once (
        revision INTEGER PRIMARY KEY, key TEXT NOT NULL, deleted INTEGER NOT NULL, value BLOB NOT NULL,
        create_revision INTEGER NOT NULL, prev_revision INTEGER
      );
      INSERT INTO history_values_once SELECT revision, key, deleted, value, create_revision, prev_revision FROM history;
      INSERT INTO history_values_once (revision, key, deleted, value, create_revision, prev_revision)
        SELECT mod_revision, key, 0, value, create_revision, NULL FROM current WHERE mod_revision NOT IN (SELECT revision FROM history);
      CREATE TABLE current_values_once (key TEXT PRIMARY KEY, create_revision INTEGER NOT NULL, mod_revision INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO current_values_once SELECT key, create_revision, mod_revision FROM current;
      DROP TABLE history;
      DROP TABLE current;
      ALTER TABLE history_values_once RENAME TO history;
      ALTER TABLE current_values_once RENAME TO current;
    `);
  })();
  // The old tables' pages back to the file system (a database made before auto_vacuum keeps them free in the file).
  if ((db.pragma('auto_vacuum', { simple: true }) as number) === 2) db.pragma('incremental_vacuum');
}

function toKV(row: CurrentRow): KeyValue {
  return { key: row.key, value: row.value, createRevision: row.create_revision, modRevision: row.mod_revision };
}
