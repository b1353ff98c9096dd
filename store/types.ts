// The storage contract: etcd's data model, so that the SQLite backend (store/sqlite.ts)
// and the etcd backend (store/etcd.ts) are interchangeable. Keys are strings (`/registry/<group>/<resource>/
// <namespace>/<name>`), values are opaque bytes (JSON today), and every write bumps
// one cluster-wide revision that becomes the objects' resourceVersion.

export interface KeyValue {
  key: string;
  value: Buffer;
  /** Revision at which the key was created (etcd create_revision). */
  createRevision: number;
  /** Revision of the last write to the key (etcd mod_revision) = resourceVersion. */
  modRevision: number;
}

export type WatchEventType = 'put' | 'delete';

export interface WatchEvent {
  type: WatchEventType;
  /** For put: the new value. For delete: the key with its last value, modRevision = revision of the delete. */
  kv: KeyValue;
  /** The value before this event (undefined on create). */
  prevKv?: KeyValue;
  /** The revision of this event. */
  revision: number;
}

export interface ListResult {
  items: KeyValue[];
  /** The store revision the list is consistent with. */
  revision: number;
}

export interface WatchHandle {
  stop(): void;
}

export interface WatchOptions {
  /**
   * Called when the store promises that no event under the prefix with a revision
   * <= `revision` is still to come (etcd progress notifications).
   */
  onProgress?: (revision: number) => void;
  /**
   * Called once if the watch ends on its own (a backend compacted past it: code
   * Compacted, the caller relists); no event follows.
   */
  onError?: (err: StoreError) => void;
  /**
   * Report every revision of the store: events under other keys arrive as onProgress
   * with their revision (the etcd store then watches the whole keyspace). A watch cache
   * shared by several API servers needs this to know it has caught up with a revision
   * read from the store, without trusting progress notifications (etcd before 3.4.24
   * may send them ahead of events still queued).
   */
  everyRevision?: boolean;
}

export interface ListPageOptions {
  /** Most items to return (> 0). */
  limit: number;
  /** From ListPage.continue of the previous page. */
  continue?: string;
  /** Read at this revision (the previous page's); fails with Compacted if it is gone. 0/undefined = latest. */
  revision?: number;
}

export interface ListPage extends ListResult {
  /** Set when more items follow: pass it back with the same revision. */
  continue?: string;
}

export class StoreError extends Error {
  constructor(
    readonly code: 'KeyExists' | 'KeyNotFound' | 'Conflict' | 'Compacted' | 'Closed',
    message: string,
    /** For Conflict: the current value, so callers can report or retry. */
    readonly current?: KeyValue,
  ) {
    super(message);
  }
}

export interface Store {
  /** The latest revision written. */
  revision(): number;
  /** The oldest revision still readable (everything older is compacted). */
  compactedRevision(): number;
  get(key: string): Promise<KeyValue | undefined>;
  /** All keys with the prefix, at the latest revision. */
  list(prefix: string): Promise<ListResult>;
  /** One page of keys with the prefix, in key order, consistent with `revision`. */
  listPage(prefix: string, opts: ListPageOptions): Promise<ListPage>;
  /** Fails with KeyExists if the key is present. */
  create(key: string, value: Buffer): Promise<KeyValue>;
  /**
   * Compare-and-swap: fails with Conflict unless the key's modRevision equals
   * expectedModRevision, with KeyNotFound if absent.
   */
  update(key: string, value: Buffer, expectedModRevision: number): Promise<KeyValue>;
  /** Deletes (CAS when expectedModRevision is given); returns the deleted value and the delete revision. */
  delete(key: string, expectedModRevision?: number): Promise<{ prev: KeyValue; revision: number }>;
  /**
   * Every event under prefix with revision > fromRevision, in order, then live ones.
   * Throws StoreError('Compacted') if fromRevision < compactedRevision().
   */
  watch(prefix: string, fromRevision: number, onEvent: (ev: WatchEvent) => void, opts?: WatchOptions): WatchHandle;
  /**
   * The revision of the store's source of truth, read now (several API servers write to
   * it). Absent when revision() is always current (a store only this process writes).
   */
  freshRevision?(): Promise<number>;
  /** Drop history older than revision. */
  compact(revision: number): Promise<void>;
  /**
   * Optional (a local store that reads synchronously): keys and revisions under the prefix
   * without their values, so a watch cache can start without reading every value.
   */
  listKeys?(prefix: string): { items: { key: string; modRevision: number }[]; revision: number };
  /** Optional, with listKeys: the value `key` had at `modRevision`, read synchronously. */
  valueAt?(key: string, modRevision: number): Buffer | undefined;
  /** Optional, with listKeys: the current values of the keys from `first` to `last` (inclusive), in one read. */
  valuesBetween?(first: string, last: string): { key: string; value: Buffer; modRevision: number }[];
  close(): Promise<void>;
}
