// history.db: the recorded changes, the gaps (revisions not recorded), the last
// revision written. Only the history's worker thread opens it.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PatchOp } from './diff.js';
import { rawCreate, type ChangeType } from './change.js';

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

/** Revisions whose changes were not recorded (the recorder fell behind, or was down past compaction). */
export interface HistoryGap {
  fromRevision: string;
  toRevision: string;
  time: string;
  /** Changes not recorded, when known. */
  changes?: number;
}

export interface ChangeRow {
  key: string;
  uid: string | null;
  revision: number;
  time: number;
  type: ChangeType;
  user: string | null;
  manager: string | null;
  /** JSON of the patch; for a create kept raw (change.ts keptRaw), the stored JSON of the object. */
  patch: string | Buffer;
}

/** The WAL is checkpointed when it has grown by this much since the last checkpoint (also on a timer: checkpoint()). */
const WAL_CHECKPOINT_BYTES = 64 * 1024 * 1024;

export class HistoryDb {
  private readonly db: Database.Database;
  /** Bytes of records written since the last checkpoint. */
  private sinceCheckpoint = 0;
  private totalBytes: number;
  private readonly stmt: {
    insert: Database.Statement<[string, string | null, number, number, string, string | null, string | null, string | Buffer, number]>;
    insertGap: Database.Statement<[number, number, number, number]>;
    byKey: Database.Statement<[string], Omit<ChangeRow, 'key'>>;
    gapsSince: Database.Statement<[number], { from_revision: number; to_revision: number; time: number; count: number }>;
    setLast: Database.Statement<[number]>;
    getLast: Database.Statement<[], { value: number }>;
    pruneTime: Database.Statement<[number]>;
    pruneGaps: Database.Statement<[number]>;
    oldest: Database.Statement<[], { id: number; size: number }>;
    pruneUpTo: Database.Statement<[number]>;
    total: Database.Statement<[], { total: number | null }>;
  };

  constructor(
    path: string,
    private readonly retentionMs: number,
    private readonly maxBytes: number,
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // History is a record, not the source of truth: losing the last changes to a power cut
    // is acceptable. With WAL and NORMAL only checkpoints sync; they run on a timer (and
    // past a WAL size), not every 1000 pages, since each sync stalls the store's own
    // fsyncs on the same disk for a moment.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('wal_autocheckpoint = 0');
    this.db.pragma(`journal_size_limit = ${WAL_CHECKPOINT_BYTES}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS changes (
        id INTEGER PRIMARY KEY,
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
      CREATE TABLE IF NOT EXISTS gaps (from_revision INTEGER NOT NULL, to_revision INTEGER NOT NULL, time INTEGER NOT NULL, count INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
    this.stmt = {
      insert: this.db.prepare('INSERT INTO changes (key, uid, revision, time, type, user, manager, patch, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      insertGap: this.db.prepare('INSERT INTO gaps (from_revision, to_revision, time, count) VALUES (?, ?, ?, ?)'),
      byKey: this.db.prepare('SELECT revision, time, type, uid, user, manager, patch FROM changes WHERE key = ? ORDER BY revision'),
      gapsSince: this.db.prepare('SELECT from_revision, to_revision, time, count FROM gaps WHERE to_revision >= ? ORDER BY from_revision'),
      setLast: this.db.prepare("INSERT INTO meta (name, value) VALUES ('last_revision', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value"),
      getLast: this.db.prepare("SELECT value FROM meta WHERE name = 'last_revision'"),
      pruneTime: this.db.prepare('DELETE FROM changes WHERE time < ?'),
      pruneGaps: this.db.prepare('DELETE FROM gaps WHERE time < ?'),
      oldest: this.db.prepare('SELECT id, size FROM changes ORDER BY id'),
      pruneUpTo: this.db.prepare('DELETE FROM changes WHERE id <= ?'),
      total: this.db.prepare('SELECT SUM(size) AS total FROM changes'),
    };
    this.totalBytes = this.stmt.total.get()?.total ?? 0;
  }

  lastRevision(): number {
    return this.stmt.getLast.get()?.value ?? 0;
  }

  /** Writes changes and gaps in one transaction; `last` is the newest revision they cover. */
  write(rows: ChangeRow[], gaps: { from: number; to: number; time: number; count: number }[], last: number): void {
    this.db.transaction(() => {
      for (const r of rows) {
        this.stmt.insert.run(r.key, r.uid, r.revision, r.time, r.type, r.user, r.manager, r.patch, r.patch.length);
        this.totalBytes += r.patch.length;
        this.sinceCheckpoint += r.patch.length;
      }
      for (const g of gaps) this.stmt.insertGap.run(g.from, g.to, g.time, g.count);
      if (last > 0) this.stmt.setLast.run(last);
    })();
    if (this.sinceCheckpoint >= WAL_CHECKPOINT_BYTES) this.checkpoint();
  }

  /** Copy the WAL into the database file (and sync both), when anything was written since the last time. */
  checkpoint(): void {
    if (this.sinceCheckpoint === 0) return;
    this.sinceCheckpoint = 0;
    this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  /** Drop changes older than the retention window, then the oldest until under the size bound. */
  prune(now: number): void {
    this.stmt.pruneTime.run(now - this.retentionMs);
    this.stmt.pruneGaps.run(now - this.retentionMs);
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

  /** The changes of the object under `key`, oldest first, and the gaps since its first recorded change (all gaps when it has none). */
  read(key: string): { entries: HistoryEntry[]; gaps: HistoryGap[] } {
    let uid: string | undefined;
    const entries = this.stmt.byKey.all(key).map((r) => {
      const text = typeof r.patch === 'string' ? r.patch : r.patch.toString();
      let patch: PatchOp[];
      let manager = r.manager ?? undefined;
      if (text.startsWith('{')) {
        const c = rawCreate(text, r.manager);
        patch = c.patch;
        uid = c.uid;
        manager = c.manager;
      } else {
        patch = JSON.parse(text) as PatchOp[];
        // A delete without the version before it (some watches) is the object of the entries before.
        uid = r.uid ?? (r.type === 'delete' ? uid : undefined);
      }
      const e: HistoryEntry = { revision: String(r.revision), time: new Date(r.time).toISOString(), type: r.type, patch };
      if (uid) e.uid = uid;
      if (r.user) e.user = r.user;
      if (manager) e.manager = manager;
      return e;
    });
    const since = entries.length ? Number(entries[0].revision) : 0;
    const gaps = this.stmt.gapsSince.all(since).map((g) => {
      const out: HistoryGap = { fromRevision: String(g.from_revision), toRevision: String(g.to_revision), time: new Date(g.time).toISOString() };
      if (g.count > 0) out.changes = g.count;
      return out;
    });
    return { entries, gaps };
  }

  close(): void {
    this.db.close();
  }
}
