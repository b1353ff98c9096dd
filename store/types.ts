// The storage contract: etcd's data model, so that the SQLite backend and a later
// etcd backend are interchangeable. Keys are strings (`/registry/<group>/<resource>/
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
  watch(prefix: string, fromRevision: number, onEvent: (ev: WatchEvent) => void): WatchHandle;
  /** Drop history older than revision. */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}
