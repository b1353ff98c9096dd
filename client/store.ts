// The informer's local cache (upstream: client-go tools/cache thread_safe_store.go +
// index.go): objects by key, plus any number of indexes — functions from an object to
// the values it is filed under — kept up to date incrementally on every change. The
// objects are shared with every reader: treat them as read-only (copy before changing).
import type { ApiObject } from './transport.js';
import { namespacedKey } from './keys.js';

export type IndexFunc<T> = (obj: T) => readonly string[];
export type Indexers<T> = Record<string, IndexFunc<T>>;

// ---- standard indexes ------------------------------------------------------

export const NAMESPACE_INDEX = 'byNamespace';
export const NODE_NAME_INDEX = 'byNodeName';
export const OWNER_UID_INDEX = 'byOwnerUID';

/** Filed under the namespace ('' for cluster-scoped objects). */
export const indexByNamespace: IndexFunc<ApiObject> = (obj) => [obj.metadata?.namespace ?? ''];

/** Pods under `spec.nodeName`; unscheduled pods under nothing. */
export const indexByNodeName: IndexFunc<ApiObject> = (obj) => {
  const node = (obj as { spec?: { nodeName?: string } }).spec?.nodeName;
  return node ? [node] : [];
};

/** Under the UID of every owner reference. */
export const indexByOwnerUID: IndexFunc<ApiObject> = (obj) => {
  const refs = obj.metadata?.ownerReferences;
  if (!refs || refs.length === 0) return [];
  if (refs.length === 1) return [refs[0].uid];
  return refs.map((r) => r.uid);
};

const NONE: readonly string[] = [];

/** The read side of a Store: what informers hand to their users. */
export interface ReadonlyStore<T extends ApiObject> {
  readonly size: number;
  /** By `namespace/name` (or `name` for cluster-scoped objects). */
  getByKey(key: string): T | undefined;
  get(namespace: string | undefined, name: string): T | undefined;
  has(key: string): boolean;
  list(): T[];
  listKeys(): string[];
  /** Objects in one namespace (uses the namespace index when there is one). */
  listNamespace(namespace: string): T[];
  /** Objects filed under `value` in index `indexName`. */
  byIndex(indexName: string, value: string): T[];
  indexKeys(indexName: string, value: string): string[];
  /** Every value index `indexName` currently has objects under. */
  indexValues(indexName: string): string[];
  hasIndex(indexName: string): boolean;
  forEach(fn: (obj: T, key: string) => void): void;
}

export class Store<T extends ApiObject> implements ReadonlyStore<T> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name → value → keys filed under it. */
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  /** index name → key → the values it is filed under now (so removal needs no recomputation). */
  private readonly filed = new Map<string, Map<string, readonly string[]>>();
  /**
   * index name → value → the objects filed under it, made by byIndex and dropped when any
   * of them changes: controllers ask for a namespace's pods once per Service or owner, and
   * 10,000 Services over 1,500 pods a namespace are 15 million lookups by key otherwise.
   */
  private readonly listed = new Map<string, Map<string, T[]>>();
  /**
   * Indexes built on their first use (addLazyIndexers): until then no change pays for
   * them. An informer's namespace index is one: most informers' users never ask by
   * namespace (the garbage collector's, on every resource), and on every change it was
   * a Map and a Set to update and a key to hold per object.
   */
  private readonly lazyIndexers = new Map<string, IndexFunc<T>>();

  constructor(indexers: Indexers<T> = {}) {
    this.addIndexers(indexers);
  }

  get size(): number {
    return this.items.size;
  }

  /**
   * Add indexes; existing objects are indexed at once. Adding a name that exists with
   * the same function is a no-op, with a different one an error.
   */
  addIndexers(indexers: Indexers<T>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.indexers.get(name) === fn) continue;
      const lazy = this.lazyIndexers.get(name);
      // The same function registered lazily is built now, as that index.
      if (lazy === fn) this.lazyIndexers.delete(name);
      else if (lazy || this.indexers.has(name)) throw new Error(`indexer "${name}" already exists`);
      this.indexers.set(name, fn);
      const index = new Map<string, Set<string>>();
      const filed = new Map<string, readonly string[]>();
      this.indices.set(name, index);
      this.filed.set(name, filed);
      for (const [key, obj] of this.items) this.file(index, filed, key, values(fn, obj), NONE);
    }
  }

  /** Indexes like addIndexers' but built (from the objects then held) on their first use. */
  addLazyIndexers(indexers: Indexers<T>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      const existing = this.indexers.get(name) ?? this.lazyIndexers.get(name);
      if (existing === fn) continue;
      if (existing) throw new Error(`indexer "${name}" already exists`);
      this.lazyIndexers.set(name, fn);
    }
  }

  hasIndex(indexName: string): boolean {
    return this.indexers.has(indexName) || this.lazyIndexers.has(indexName);
  }

  getByKey(key: string): T | undefined {
    return this.items.get(key);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(namespacedKey(namespace, name));
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  listKeys(): string[] {
    return [...this.items.keys()];
  }

  forEach(fn: (obj: T, key: string) => void): void {
    for (const [k, v] of this.items) fn(v, k);
  }

  listNamespace(namespace: string): T[] {
    if (this.hasIndex(NAMESPACE_INDEX)) return this.byIndex(NAMESPACE_INDEX, namespace);
    const out: T[] = [];
    for (const obj of this.items.values()) if ((obj.metadata?.namespace ?? '') === namespace) out.push(obj);
    return out;
  }

  byIndex(indexName: string, value: string): T[] {
    const keys = this.index(indexName).get(value);
    if (!keys) return [];
    let listed = this.listed.get(indexName);
    if (!listed) this.listed.set(indexName, (listed = new Map()));
    let out = listed.get(value);
    if (!out) {
      out = [];
      for (const k of keys) out.push(this.items.get(k)!);
      listed.set(value, out);
    }
    // A copy: callers may sort or filter what they get in place.
    return out.slice();
  }

  indexKeys(indexName: string, value: string): string[] {
    const keys = this.index(indexName).get(value);
    return keys ? [...keys] : [];
  }

  indexValues(indexName: string): string[] {
    return [...this.index(indexName).keys()];
  }

  private index(indexName: string): Map<string, Set<string>> {
    let index = this.indices.get(indexName);
    if (!index) {
      const lazy = this.lazyIndexers.get(indexName);
      if (!lazy) throw new Error(`index "${indexName}" does not exist`);
      this.addIndexers({ [indexName]: lazy });
      index = this.indices.get(indexName)!;
    }
    return index;
  }

  /** Insert or replace; returns the previous object. */
  set(key: string, obj: T): T | undefined {
    const old = this.items.get(key);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexers) {
      const filed = this.filed.get(name)!;
      const before = filed.get(key) ?? NONE;
      const now = values(fn, obj);
      this.unlist(name, before);
      this.unlist(name, now);
      this.file(this.indices.get(name)!, filed, key, now, before);
    }
    return old;
  }

  /** Remove; returns the object removed. */
  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (old === undefined) return undefined;
    this.items.delete(key);
    for (const name of this.indexers.keys()) {
      const filed = this.filed.get(name)!;
      const before = filed.get(key) ?? NONE;
      this.unlist(name, before);
      this.file(this.indices.get(name)!, filed, key, NONE, before);
    }
    return old;
  }

  /** Forget byIndex's lists of these values (an object filed under them changed). */
  private unlist(indexName: string, values: readonly string[]): void {
    const listed = this.listed.get(indexName);
    if (listed) for (const v of values) listed.delete(v);
  }

  clear(): void {
    this.items.clear();
    this.listed.clear();
    for (const index of this.indices.values()) index.clear();
    for (const filed of this.filed.values()) filed.clear();
  }

  private file(index: Map<string, Set<string>>, filed: Map<string, readonly string[]>, key: string, now: readonly string[], before: readonly string[]): void {
    // The common case — one value, unchanged — touches nothing.
    if (now.length === 1 && before.length === 1 && now[0] === before[0]) return;
    if (now.length === 0 && before.length === 0) return;
    for (const v of before) {
      if (now.includes(v)) continue;
      const set = index.get(v);
      if (!set) continue;
      set.delete(key);
      if (set.size === 0) index.delete(v);
    }
    for (const v of now) {
      if (before.includes(v)) continue;
      let set = index.get(v);
      if (!set) index.set(v, (set = new Set()));
      set.add(key);
    }
    if (now.length === 0) filed.delete(key);
    else filed.set(key, now);
  }
}

function values<T>(fn: IndexFunc<T>, obj: T): readonly string[] {
  try {
    return fn(obj) ?? NONE;
  } catch {
    return NONE;
  }
}
