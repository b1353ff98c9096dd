// The watch cache (upstream: apiserver/pkg/storage/cacher). One store watch feeds an
// in-memory copy of every resource plus a ring of recent events per resource; every
// get, list and client watch is served from here, never by scanning the store.
import type { Store, WatchEvent } from '../store/types.js';
import { isJsonCleanMember, type KubeObject } from '../machinery/object.js';
import { expired, StatusError } from '../machinery/status.js';
import { getHidden, setHidden } from '../machinery/hidden.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface CachedEvent {
  type: EventType;
  object: KubeObject;
  /** The object before this event; undefined for ADDED. */
  prev?: KubeObject;
  revision: number;
  /** JSON of `object`, made once and shared by every watcher. */
  json?: string;
}

export interface CacheWatcher {
  namespace?: string;
  /** Called for each event; the watcher applies its own selectors. */
  deliver(ev: CachedEvent): void;
}

const RING_CAPACITY = 4096;
/** How long a consistent read waits for the cache to catch up with the store (upstream: 3 s, then etcd). */
const CONSISTENT_READ_TIMEOUT_MS = 10_000;

/** Decode a stored value: JSON of the object, with resourceVersion from the store. */
export function decodeStored(value: Buffer, modRevision: number): KubeObject {
  const obj = JSON.parse(value.toString('utf8')) as KubeObject;
  (obj.metadata ??= {}).resourceVersion = String(modRevision);
  return obj;
}

/**
 * On a value buffer this process handed the store, the object it encodes: a store that
 * delivers that same buffer in the write's event (SQLite) lets the cache take the object
 * itself instead of decoding the text again (half the cost of a write's bookkeeping, and
 * its garbage). Only objects whose JSON decodes to the same object are noted. A hidden mark
 * (machinery/hidden.ts; a weak map's entry cost ~0.3 µs per write more), set by plain
 * assignment (see noteWritten).
 */
const WRITTEN_OBJECT = Symbol('writtenObject');

/**
 * Notes that `value` is the stored encoding of `obj`. From then on the object's members
 * below metadata's own fields are shared with the cache and must not change: the writer
 * hands the object only to callers that copy or serialize it.
 */
export function noteWritten(value: Buffer, obj: KubeObject): void {
  const proto = Object.getPrototypeOf(obj) as unknown;
  if (proto !== Object.prototype && proto !== null) return;
  const members = obj as Record<string, unknown>;
  for (const k in members) {
    const v = members[k];
    if (v !== null && typeof v === 'object' && k !== 'metadata' && isCleanMember(v)) continue;
    if (!isJsonCleanMember(v)) return;
  }
  // A plain assignment (defineProperty is a runtime call, ~0.2 µs): nothing spreads or
  // walks a value buffer's own properties, and a rewrite (one buffer noted twice) replaces it.
  (value as { [WRITTEN_OBJECT]?: KubeObject })[WRITTEN_OBJECT] = obj;
  for (const k in members) {
    const v = members[k];
    if (v !== null && typeof v === 'object' && k !== 'metadata' && !isCleanMember(v) && Object.isExtensible(v)) setHidden(v, CLEAN_MEMBER, true, true);
  }
}

/**
 * Marks top-level members (but metadata, whose own fields change) of noted objects: they
 * never change again, and a later version that keeps one (a status write keeps the spec)
 * is not walked again for it. A hidden mark (machinery/hidden.ts); a frozen member (an
 * informer's, under KITE_CACHE_MUTATION_DETECTOR) stays unmarked and is walked again.
 */
const CLEAN_MEMBER = Symbol('cleanMember');

function isCleanMember(v: object): boolean {
  return getHidden<true>(v, CLEAN_MEMBER) === true;
}

/** The decoded value of a store event's value: the written object when noted, else the text decoded. */
function decodeEventValue(value: Buffer, modRevision: number): KubeObject {
  const written = getHidden<KubeObject>(value, WRITTEN_OBJECT);
  if (!written) return decodeStored(value, modRevision);
  // As decodeStored: resourceVersion last in metadata (the writer's may be stale or absent),
  // without a `delete` (which would make metadata a slow dictionary-mode object).
  const from = (written.metadata ?? {}) as Record<string, unknown>;
  // A create's metadata has none (the registry deleted it): a spread, ~0.1 µs less than
  // copying member by member, puts it last. An update's may: copied around it.
  if (!('resourceVersion' in from)) return { ...written, metadata: { ...from, resourceVersion: String(modRevision) } };
  const metadata: Record<string, unknown> = {};
  for (const k in from) if (k !== 'resourceVersion') metadata[k] = from[k];
  metadata.resourceVersion = String(modRevision);
  return { ...written, metadata };
}

/** An object's stored encoding: its JSON without resourceVersion, and where its metadata's JSON starts. */
export interface StoredEncoding {
  value: Buffer;
  json: string;
  /** The offset of the metadata object's `{` in `json` (-1 without one). */
  metadataAt: number;
}

/**
 * Encode for storage (resourceVersion is the store's business, not the value's), keeping
 * the text and where the metadata begins in it (see answerFromStored).
 */
export function encodeStored(obj: KubeObject): StoredEncoding {
  const rv = obj.metadata?.resourceVersion;
  // Left out as JSON leaves out undefined members: a `delete` would turn metadata into a
  // slow dictionary-mode object for every later copy and encoding of it.
  if (obj.metadata && rv !== undefined) obj.metadata.resourceVersion = undefined;
  const json = JSON.stringify(obj);
  if (obj.metadata && rv !== undefined) obj.metadata.resourceVersion = rv;
  return { value: Buffer.from(json), json, metadataAt: metadataOffset(obj, json) };
}

const METADATA_MEMBER = '"metadata":';

/**
 * Where the metadata object's `{` is in `json` (the object's JSON.stringify), from the
 * text of the members before it (apiVersion and kind, mostly): one encoding of the
 * whole object instead of one per member. -1 when metadata is not an object there.
 */
function metadataOffset(obj: KubeObject, json: string): number {
  let at = 1;
  for (const k of Object.keys(obj)) {
    if (k === 'metadata') {
      at += (at > 1 ? 1 : 0) + METADATA_MEMBER.length;
      return json[at] === '{' && json.startsWith(METADATA_MEMBER, at - METADATA_MEMBER.length) ? at : -1;
    }
    const v = jsonLength((obj as Record<string, unknown>)[k]);
    if (v !== undefined) at += (at > 1 ? 1 : 0) + jsonLength(k)! + 1 + v;
  }
  return -1;
}

/**
 * The length of JSON.stringify(v) (undefined where it gives none): a string that needs no
 * escaping (apiVersion, kind: the members before metadata) is counted without encoding it.
 */
function jsonLength(v: unknown): number | undefined {
  if (typeof v === 'string' && !needsEscape(v)) return v.length + 2;
  return JSON.stringify(v)?.length;
}

/** Whether JSON.stringify escapes anything in `s`: quotes, backslashes, control characters, lone surrogates. */
function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/**
 * Answers made from the stored text: a writer that hands its object back unchanged
 * registers the encoding it stored and the revision, and the response is that text with
 * the resourceVersion put first in metadata, instead of a second JSON.stringify. The
 * object must not change once registered.
 */
const STORED_ANSWER = Symbol('storedAnswer');

interface StoredAnswer {
  enc: StoredEncoding;
  revision: number;
}

/** (On the object, hidden, as WRITTEN_OBJECT: no WeakMap entry per create; a frozen object is answered by JSON.stringify.) */
export function answerFromStored(obj: KubeObject, enc: StoredEncoding, revision: number): void {
  if (enc.metadataAt >= 0 && Object.isExtensible(obj)) setHidden(obj, STORED_ANSWER, { enc, revision } satisfies StoredAnswer, true);
}

/**
 * The answer registered for `obj` by answerFromStored, if any, as the bytes to send: the
 * stored value with the resourceVersion put first in metadata and a final newline. Made
 * from the stored UTF-8 bytes (no second encoding of the text) when the text is ASCII, so
 * that its character offsets are byte offsets; else from the text.
 */
export function storedAnswer(obj: unknown): Buffer | undefined {
  const a = typeof obj === 'object' && obj !== null ? getHidden<StoredAnswer>(obj, STORED_ANSWER) : undefined;
  if (!a) return undefined;
  const { json, metadataAt, value } = a.enc;
  const at = metadataAt + 1;
  const member = `"resourceVersion":"${a.revision}"${json[at] === '}' ? '' : ','}`;
  if (value.length !== json.length) return Buffer.from(`${json.slice(0, at)}${member}${json.slice(at)}\n`);
  const out = Buffer.allocUnsafe(value.length + member.length + 1);
  value.copy(out, 0, 0, at);
  out.write(member, at, 'latin1');
  value.copy(out, at + member.length, at);
  out[out.length - 1] = 0x0a;
  return out;
}

/**
 * A cached object's JSON text (and, once asked, its length in bytes), kept with the
 * object after its first read over HTTP (a GET, or as an item of a list): the cache's
 * objects are shared and never change, and each read would otherwise encode them again.
 * A hidden mark (machinery/hidden.ts) set on first read only, so a write pays nothing
 * for it. The texts kept are bounded in all (sharedTexts): an object's text would
 * otherwise live as long as the object, and in-process informers hold every object of
 * the resources they watch, so one JSON list of the whole store (`kubectl get pods -A
 * -o json` at 150,000 pods) would pin a second copy of it for good.
 */
const SHARED_ENCODING = Symbol('sharedEncoding');

export interface SharedEncoding {
  /** '' once dropped by the budget (no object's JSON is empty): the next read encodes it again. */
  json: string;
  bytes?: number;
}

/**
 * The JSON text kept with cached objects, at most `limit` UTF-16 code units in all (about
 * bytes: the text is mostly ASCII), the first kept dropped first. The default, 32 Mi,
 * holds the text of a few thousand pods: the objects a client reads again and again, or
 * reads page by page, while a read of the whole store passes through.
 */
export class SharedTextBudget {
  /** Kept texts in the order they were kept, from `head` on (each record at most once). */
  private kept: (SharedEncoding | undefined)[] = [];
  private head = 0;
  /** Code units of the kept texts. */
  total = 0;

  constructor(public limit: number) {}

  keep(e: SharedEncoding): void {
    this.kept.push(e);
    this.total += e.json.length;
    // The text just kept stays even alone over the limit: its reader is about to send it.
    while (this.total > this.limit && this.head < this.kept.length - 1) {
      const old = this.kept[this.head]!;
      this.kept[this.head++] = undefined;
      this.total -= old.json.length;
      old.json = '';
      old.bytes = undefined;
    }
    // Drop the dead front of the queue now and then, in one copy.
    if (this.head > 4096 && this.head * 2 > this.kept.length) {
      this.kept = this.kept.slice(this.head);
      this.head = 0;
    }
  }
}

export const sharedTexts = new SharedTextBudget(32 * 1024 * 1024);

export function sharedEncoding(obj: KubeObject): SharedEncoding {
  let e = getHidden<SharedEncoding>(obj, SHARED_ENCODING);
  if (e?.json) return e;
  const json = JSON.stringify(obj);
  if (e) e.json = json;
  else {
    e = { json };
    // A frozen object cannot take the mark: encoded on every read (and nothing kept).
    if (!Object.isExtensible(obj)) return e;
    setHidden(obj, SHARED_ENCODING, e);
  }
  sharedTexts.keep(e);
  return e;
}

/**
 * An object known by key and revision whose value is not kept decoded here: never read
 * yet, or dropped beyond the bound. `held` is the last value decoded at this revision,
 * which someone else may still hold (an in-process informer's store shares the cache's
 * objects): while it lives it is served as is, with no read of the store.
 */
class Unread {
  held?: WeakRef<KubeObject>;
  constructor(readonly modRevision: number) {}
}

/** The value of an Unread entry still held elsewhere, or undefined when it has to be read. */
function heldValue(v: unknown): KubeObject | undefined {
  return v instanceof Unread ? v.held?.deref() : undefined;
}

/** How a cache reads values it has not read yet (stores with listKeys). */
export interface UnreadSource {
  /** One object's value at its revision. */
  one(key: string, modRevision: number): KubeObject | undefined;
  /** The current values of the keys from `first` to `last` (inclusive), in one read. */
  range(first: string, last: string): { key: string; object: KubeObject; modRevision: number }[];
}

/** Unread keys among those about to be read beyond which one range read beats reading each. */
const READ_AHEAD = 32;

/**
 * Decoded objects an ObjectMap with a source keeps per resource; beyond it the least
 * recently used are dropped back to Unread (read again from the store on demand), so a
 * big store's memory stays bounded however much of it is read.
 */
export const MAX_DECODED_OBJECTS = 10_000;

/** Keys whose values are read ahead together when walking many (well under MAX_DECODED_OBJECTS). */
export const READ_CHUNK = 500;

/**
 * key → object. Objects present at start-up may be Unread: their value is read from the
 * store (and decoded) on first access, so serving starts without reading the whole store;
 * a list over many Unread objects reads their range at once. An Unread entry is never
 * stale: any change to its key replaces it before any read sees it. With a source, at
 * most `maxDecoded` objects stay decoded (least recently used first out).
 */
export class ObjectMap extends Map<string, KubeObject> {
  private unread = 0;
  /** Decoded keys, least recently used first (only with a source, which can read them again). */
  private readonly decoded?: Map<string, true>;
  /**
   * Walks `decoded` from its oldest key on, kept between evictions: a fresh iterator
   * would step over every entry deleted so far before reaching the first live one, so
   * evicting one object at a time would grow with the objects evicted before it.
   */
  private oldest?: MapIterator<string>;
  /** The key `used` last moved to the end of `decoded` (undefined once it may have left it). */
  private newest?: string;

  constructor(
    private readonly source?: UnreadSource,
    private readonly maxDecoded = MAX_DECODED_OBJECTS,
  ) {
    super();
    if (source) this.decoded = new Map();
  }

  /** Marks `key` (decoded) as just used, and drops the least recently used decoded object beyond the bound. */
  private used(key: string): void {
    // Already the most recently used (a namespace looked up by every create in it): the
    // order stays as it is, without a delete and an insert into the map.
    if (key === this.newest) return;
    this.newest = key;
    const decoded = this.decoded!;
    decoded.delete(key);
    decoded.set(key, true);
    if (decoded.size <= this.maxDecoded) return;
    // The iterator sees the map as it is now: keys used again since have moved behind it.
    let next = this.oldest?.next();
    if (!next || next.done) {
      this.oldest = decoded.keys();
      next = this.oldest.next();
    }
    const oldest = next.value as string;
    decoded.delete(oldest);
    if (oldest === this.newest) this.newest = undefined;
    const obj = super.get(oldest);
    const rev = Number(obj?.metadata?.resourceVersion);
    if (obj && !(obj instanceof Unread) && Number.isInteger(rev) && rev > 0) {
      const unread = new Unread(rev);
      unread.held = new WeakRef(obj);
      super.set(oldest, unread as unknown as KubeObject);
      this.unread++;
    }
  }

  setUnread(key: string, modRevision: number): void {
    if (!(super.get(key) instanceof Unread)) this.unread++;
    this.decoded?.delete(key);
    if (key === this.newest) this.newest = undefined;
    super.set(key, new Unread(modRevision) as unknown as KubeObject);
  }

  override set(key: string, value: KubeObject): this {
    if (this.unread > 0 && super.get(key) instanceof Unread) this.unread--;
    super.set(key, value);
    if (this.decoded) this.used(key);
    return this;
  }

  override delete(key: string): boolean {
    if (this.unread > 0 && super.get(key) instanceof Unread) this.unread--;
    this.decoded?.delete(key);
    if (key === this.newest) this.newest = undefined;
    return super.delete(key);
  }

  /** Not kept decoded here (its value may still be held elsewhere: `held`). */
  isUnread(key: string): boolean {
    return super.get(key) instanceof Unread;
  }

  /** The value of an Unread key that is still held elsewhere (no read of the store). */
  held(key: string): KubeObject | undefined {
    return heldValue(super.get(key));
  }

  override get(key: string): KubeObject | undefined {
    const v = super.get(key);
    if (!(v instanceof Unread)) {
      if (v && this.decoded) this.used(key);
      return v;
    }
    const obj = heldValue(v) ?? this.source!.one(key, v.modRevision);
    if (obj) this.set(key, obj);
    else this.delete(key);
    return obj;
  }

  /** Before reading `keys[from..to)` (sorted): many Unread ones among them are read in one range read. */
  readAhead(keys: readonly string[], from = 0, to = keys.length): void {
    to = Math.min(to, keys.length);
    if (!this.manyToRead(keys, from, to)) return;
    for (const row of this.source!.range(keys[from], keys[to - 1])) {
      const cur = super.get(row.key);
      if (cur instanceof Unread && cur.modRevision === row.modRevision) this.set(row.key, heldValue(cur) ?? row.object);
    }
  }

  /** Whether more than READ_AHEAD of `keys[from..to)` are Unread and held nowhere else. */
  private manyToRead(keys: readonly string[], from: number, to: number): boolean {
    if (this.unread <= READ_AHEAD || to - from <= READ_AHEAD) return false;
    let n = 0;
    for (let i = from; i < to && n <= READ_AHEAD; i++) {
      const v = super.get(keys[i]);
      if (v instanceof Unread && !heldValue(v)) n++;
    }
    return n > READ_AHEAD;
  }

  /**
   * For a walk that reads `keys[from..to)` (sorted) once, as a page of a list does: when
   * many of them are Unread, their values in one range read, handed back without being
   * kept decoded. A list of the whole store would otherwise push every object through
   * the decoded bound (each kept long enough to be promoted, then dropped: garbage the
   * full collector must find in a heap of gigabytes); these die young instead.
   */
  readPassing(keys: readonly string[], from = 0, to = keys.length): Map<string, KubeObject> | undefined {
    to = Math.min(to, keys.length);
    if (!this.manyToRead(keys, from, to)) return undefined;
    const passing = new Map<string, KubeObject>();
    for (const row of this.source!.range(keys[from], keys[to - 1])) {
      const cur = super.get(row.key);
      if (!(cur instanceof Unread) || cur.modRevision !== row.modRevision) continue;
      let obj = heldValue(cur);
      if (!obj) {
        // Whoever keeps it (an in-process informer listing) lets the next list find it here.
        obj = row.object;
        cur.held = new WeakRef(obj);
      }
      passing.set(row.key, obj);
    }
    return passing;
  }

  override *values(): MapIterator<KubeObject> {
    for (const [, v] of this.entries()) yield v;
  }

  override *entries(): MapIterator<[string, KubeObject]> {
    const keys = [...super.keys()];
    if (this.unread > READ_AHEAD) keys.sort();
    for (let i = 0; i < keys.length; i++) {
      // Unread values a chunk at a time: never the whole store in memory at once.
      if (i % READ_CHUNK === 0 && this.unread > READ_AHEAD) this.readAhead(keys, i, i + READ_CHUNK);
      const v = this.get(keys[i]);
      if (v) yield [keys[i], v];
    }
  }

  override [Symbol.iterator](): MapIterator<[string, KubeObject]> {
    return this.entries();
  }

  override forEach(fn: (value: KubeObject, key: string, map: Map<string, KubeObject>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
}

export class ResourceCache {
  /** key → object, in key order on demand. */
  readonly objects: ObjectMap;
  /** namespace → keys, so namespaced lists don't walk every object. */
  private readonly byNamespace = new Map<string, Set<string>>();
  /** Sorted keys (all, and per namespace), rebuilt only after keys come or go. */
  private readonly sortedKeys = new Map<string, string[]>();
  private ring: CachedEvent[] = [];
  private ringHead = 0;
  /** Every event with revision > ringFloor is in the ring. */
  private ringFloor: number;
  readonly watchers = new Set<CacheWatcher>();

  constructor(
    readonly prefix: string,
    startRevision: number,
    source?: UnreadSource,
  ) {
    this.ringFloor = startRevision;
    this.objects = new ObjectMap(source);
  }

  namespaceOf(key: string): string {
    const rest = key.slice(this.prefix.length);
    const i = rest.indexOf('/');
    return i < 0 ? '' : rest.slice(0, i);
  }

  private index(key: string, present: boolean, ns = this.namespaceOf(key)): void {
    // Sorted keys are made only for those who walk them in order: most resources written
    // to (events, leases) keep none, and a write has nothing to drop.
    if (this.sortedKeys.size > 0) {
      this.sortedKeys.delete('');
      this.sortedKeys.delete(ns);
    }
    if (!ns) return;
    let set = this.byNamespace.get(ns);
    if (present) {
      if (!set) this.byNamespace.set(ns, (set = new Set()));
      set.add(key);
    } else if (set) {
      set.delete(key);
      if (set.size === 0) this.byNamespace.delete(ns);
    }
  }

  load(key: string, obj: KubeObject): void {
    this.objects.set(key, obj);
    this.index(key, true);
  }

  /** Known to exist at `modRevision`; read on first access. */
  loadUnread(key: string, modRevision: number): void {
    this.objects.setUnread(key, modRevision);
    this.index(key, true);
  }

  apply(ev: CachedEvent, key: string): void {
    const ns = this.namespaceOf(key);
    if (ev.type === 'DELETED') {
      this.objects.delete(key);
      this.index(key, false, ns);
    } else {
      if (!this.objects.has(key)) this.index(key, true, ns);
      this.objects.set(key, ev.object);
    }
    if (this.ring.length < RING_CAPACITY) {
      this.ring.push(ev);
    } else {
      this.ringFloor = this.ring[this.ringHead].revision;
      this.ring[this.ringHead] = ev;
      this.ringHead = (this.ringHead + 1) % RING_CAPACITY;
    }
    for (const w of this.watchers) {
      if (w.namespace && w.namespace !== ns) continue;
      w.deliver(ev);
    }
  }

  /** Keys in order, optionally in one namespace. The array is shared: don't modify it. */
  keys(namespace?: string): readonly string[] {
    const id = namespace ?? '';
    let keys = this.sortedKeys.get(id);
    if (!keys) {
      keys = namespace ? [...(this.byNamespace.get(namespace) ?? [])] : [...this.objects.keys()];
      keys.sort();
      this.sortedKeys.set(id, keys);
    }
    return keys;
  }

  /** Objects in key order, optionally in one namespace. */
  list(namespace?: string): KubeObject[] {
    return Array.from(this.each(namespace));
  }

  /**
   * Objects in key order, optionally in one namespace, read a chunk at a time: a caller
   * that keeps only what it needs of each (the Node authorizer's graph) never holds more
   * than the decoded bound, where a list of 150,000 pods holds them all at once.
   */
  *each(namespace?: string): Generator<KubeObject> {
    const keys = this.keys(namespace);
    for (let i = 0; i < keys.length; i++) {
      if (i % READ_CHUNK === 0) this.objects.readAhead(keys, i, i + READ_CHUNK);
      yield this.objects.get(keys[i])!;
    }
  }

  /** Events after `revision`, oldest first; 410 if the ring no longer reaches back that far. */
  eventsSince(revision: number): CachedEvent[] {
    if (revision < this.ringFloor) {
      throw expired(`too old resource version: ${revision} (${this.ringFloor})`);
    }
    const ordered = this.ring.length < RING_CAPACITY ? this.ring : [...this.ring.slice(this.ringHead), ...this.ring.slice(0, this.ringHead)];
    // Events are in revision order; binary search the first one after `revision`.
    let lo = 0;
    let hi = ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ordered[mid].revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return ordered.slice(lo);
  }
}

/**
 * All resource caches, fed by one watch on the store. Writes made through the same
 * store are visible here before the write call returns (the SQLite store notifies
 * synchronously), so reads after writes are consistent.
 */
export class WatchCache {
  private readonly caches = new Map<string, ResourceCache>();
  private revision = 0;
  private startRevision = 0;
  private readonly dropped = new Set<string>();
  /** The cache the last event's key was found in (see cacheForKey). */
  private lastKeyCache?: ResourceCache;
  private handle?: { stop(): void };
  /** Consistent reads waiting for the cache to reach a revision. */
  private waiters: { revision: number; resolve: () => void }[] = [];
  /** Reads Unread objects' values (stores with listKeys). */
  private source?: UnreadSource;

  constructor(private readonly store: Store) {}

  /** Load everything under /registry/ and start following the store. */
  async start(prefixes: string[]): Promise<void> {
    const { listKeys, valueAt, valuesBetween } = this.store;
    if (listKeys && valueAt && valuesBetween) {
      // Keys and revisions only: values are read when first asked for (a store of
      // hundreds of megabytes starts serving in a second, not after reading it all).
      const keys = listKeys.call(this.store, '/registry/');
      const store = this.store;
      this.source = {
        one: (key, modRevision) => {
          const value = valueAt.call(store, key, modRevision);
          return value && decodeStored(value, modRevision);
        },
        range: (first, last) => valuesBetween.call(store, first, last).map((kv) => ({ key: kv.key, modRevision: kv.modRevision, object: decodeStored(kv.value, kv.modRevision) })),
      };
      this.revision = keys.revision;
      this.startRevision = keys.revision;
      for (const p of prefixes) if (!this.caches.has(p)) this.caches.set(p, new ResourceCache(p, keys.revision, this.source));
      for (const k of keys.items) this.cacheForKey(k.key, true)?.loadUnread(k.key, k.modRevision);
      this.handle = this.store.watch('/registry/', keys.revision, (ev) => this.onStoreEvent(ev));
      return;
    }
    const listed = await this.store.list('/registry/');
    this.revision = listed.revision;
    this.startRevision = listed.revision;
    for (const p of prefixes) if (!this.caches.has(p)) this.caches.set(p, new ResourceCache(p, listed.revision));
    for (const kv of listed.items) {
      const cache = this.cacheForKey(kv.key, true);
      cache?.load(kv.key, decodeStored(kv.value, kv.modRevision));
    }
    // Every revision, also of keys outside /registry/ (allocation claims, leases of
    // the compactor): a revision read from a shared store is then always reached.
    this.handle = this.store.watch('/registry/', listed.revision, (ev) => this.onStoreEvent(ev), {
      everyRevision: true,
      onProgress: (revision) => this.advance(revision),
    });
  }

  private advance(revision: number): void {
    if (revision > this.revision) this.revision = revision;
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.revision <= this.revision) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /**
   * For a read that must be consistent (GET, or LIST without a resourceVersion): on a
   * store other API servers write to, waits until the cache has every event up to the
   * store's current revision (upstream: consistent reads from cache). A store only this
   * process writes keeps the cache current before a write returns: nothing to wait for.
   */
  async consistent(timeoutMs = CONSISTENT_READ_TIMEOUT_MS): Promise<void> {
    if (!this.store.freshRevision) return;
    const target = await this.store.freshRevision();
    if (target <= this.revision) return;
    let timer: NodeJS.Timeout | undefined;
    const reached = new Promise<boolean>((resolve) => {
      const waiter = { revision: target, resolve: () => resolve(true) };
      this.waiters.push(waiter);
      timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
    });
    const ok = await reached;
    clearTimeout(timer);
    if (!ok) {
      throw new StatusError(504, 'Timeout', `Timeout: Too large resource version: ${target}, current: ${this.revision}`, {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 1,
      });
    }
  }

  stop(): void {
    this.handle?.stop();
  }

  currentRevision(): number {
    return this.revision;
  }

  resource(prefix: string): ResourceCache {
    const c = this.caches.get(prefix);
    if (!c) throw new Error(`no watch cache for ${prefix}`);
    return c;
  }

  /**
   * The cache of a prefix served at runtime (custom resources), made if absent. Every
   * /registry/<group>/<resource>/ key is cached from the start, so a new cache is empty
   * and no event under it happened since the start: its ring reaches back that far.
   */
  ensure(prefix: string): ResourceCache {
    let c = this.caches.get(prefix);
    if (!c) {
      // A prefix dropped before had events since the start that are gone with its ring.
      const floor = this.dropped.has(prefix) ? this.revision : this.startRevision;
      this.caches.set(prefix, (c = new ResourceCache(prefix, floor, this.source)));
    }
    return c;
  }

  /** Forget a runtime prefix's cache once it holds nothing (its custom resource is no longer served). */
  drop(prefix: string): void {
    const c = this.caches.get(prefix);
    if (!c || c.objects.size > 0) return;
    this.caches.delete(prefix);
    this.dropped.add(prefix);
    if (this.lastKeyCache === c) this.lastKeyCache = undefined;
  }

  private cacheForKey(key: string, create = false): ResourceCache | undefined {
    // Writes come in runs to one resource: a key under the last one's prefix (which ends
    // at the key's third '/', as every prefix does) is that resource's.
    const last = this.lastKeyCache;
    if (last && key.startsWith(last.prefix)) return last;
    // /registry/<group>/<resource>/...
    const third = key.indexOf('/', key.indexOf('/', '/registry/'.length) + 1);
    if (third < 0) return undefined;
    const prefix = key.slice(0, third + 1);
    // Objects of resources not (yet) served are kept too, so serving them later needs no reload.
    const cache = create ? this.ensure(prefix) : this.caches.get(prefix);
    if (cache) this.lastKeyCache = cache;
    return cache;
  }

  private onStoreEvent(ev: WatchEvent): void {
    this.revision = ev.revision;
    if (this.waiters.length > 0) queueMicrotask(() => this.advance(ev.revision));
    const cache = this.cacheForKey(ev.kv.key, true);
    if (!cache) return;
    // An unread previous value comes with the event (no read of the store).
    const prev = ev.prevKv && cache.objects.isUnread(ev.kv.key) ? (cache.objects.held(ev.kv.key) ?? decodeStored(ev.prevKv.value, ev.prevKv.modRevision)) : cache.objects.get(ev.kv.key);
    let cached: CachedEvent;
    if (ev.type === 'delete') {
      // A DELETED event carries the last state with the deletion's revision.
      const last = prev ?? decodeStored(ev.kv.value, ev.revision);
      const object = { ...last, metadata: { ...last.metadata, resourceVersion: String(ev.revision) } };
      cached = { type: 'DELETED', object, prev, revision: ev.revision };
    } else {
      const object = decodeEventValue(ev.kv.value, ev.kv.modRevision);
      cached = { type: prev ? 'MODIFIED' : 'ADDED', object, prev, revision: ev.revision };
    }
    cache.apply(cached, ev.kv.key);
  }
}
