// The generic registry (upstream: apiserver/pkg/registry/generic/registry/store.go):
// one implementation of get/list/watch/create/update/patch/delete for every kind.
// Kinds differ only by their strategy (defaults, validation, status handling, field
// labels), supplied by ./admission. Reads come from the watch cache; writes go to the
// store with compare-and-swap on the resourceVersion.
import { kindMismatch } from './decode-errors.js';
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/types.js';
import { StoreError } from '../store/types.js';
import type { KubeObject } from '../machinery/object.js';
import { isPlainObject, jsonCopy, jsonEqual } from '../machinery/object.js';
import type { ResourceInfo } from '../machinery/resources.js';
import { apiVersionOf, resourceByPath } from '../machinery/resources.js';
import type { Status, StatusCause } from '../machinery/status.js';
import {
  StatusError,
  alreadyExists,
  badRequest,
  conflict,
  expired,
  invalid,
  methodNotAllowed,
  notFound,
  requestEntityTooLarge,
  successStatus,
} from '../machinery/status.js';
import type { CachedEvent, CacheWatcher, ResourceCache, WatchCache } from './watchcache.js';
import type { StoredEncoding } from './watchcache.js';
import { answerFromStored, encodeStored, noteWritten, READ_CHUNK } from './watchcache.js';

/** etcd's default request limit (--max-request-bytes, 1.5 MiB): no stored object is larger. */
const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

function encodeBounded(obj: KubeObject): Buffer {
  return encodeStoredBounded(obj).value;
}

/**
 * The encoding of an object about to be stored, noted so that the watch cache takes the
 * object itself from the write's event (noteWritten): after this the object is not
 * changed below its metadata's own fields (resourceVersion is set on it after the write).
 */
function encodeStoredBounded(obj: KubeObject): StoredEncoding {
  const enc = encodeStored(obj);
  if (enc.value.length > MAX_OBJECT_BYTES) throw requestEntityTooLarge(MAX_OBJECT_BYTES);
  noteWritten(enc.value, obj);
  return enc;
}
import type { HistoryWriter, RequestContext } from './context.js';
import { fromStorage, storageResource, toStorage } from './conversion.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { ParsedSelector } from './selectors.js';
import { generateName, strategyFor } from './admission/index.js';
import { customStrategyFor } from './crd/strategy.js';
import type { Strategy } from './admission/index.js';
import { applyPatchBody, decodeTyped, trackManagedFields, unknownFields } from './patching.js';
import { AdmissionChain } from './admission/chain.js';
import { storagePrefix } from './lookups.js';
import type { AdmissionOperation, AdmissionRequest } from './admission/chain.js';
import type { PatchType } from './patching.js';
import { formatTimeMs } from './patch/managedfields.js';

export interface ListOptions {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continue?: string | null;
  resourceVersion?: string | null;
  resourceVersionMatch?: string | null;
}

export interface ListResult {
  items: KubeObject[];
  /** The items are the watch cache's objects as read (shared, never changed), not converted copies. */
  shared?: boolean;
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface DeleteOptions {
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  orphanDependents?: boolean;
}

export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchSink {
  event(type: WatchEventType, obj: KubeObject, shared?: CachedEvent): void;
  /**
   * A sink that streams (an HTTP response): a promise that resolves when the consumer
   * has taken enough of what was sent, or undefined when it may take more now. With it,
   * initial events are sent a chunk at a time, never all of a big resource at once.
   */
  drained?(): Promise<void> | undefined;
}

export interface WatchHandle {
  stop(): void;
  /** The revision the watch has delivered up to (for bookmarks). */
  revision(): number;
  /** Set when initial events are streamed: resolves once they (and what happened meanwhile) are sent. */
  initialDone?: Promise<void>;
}

export interface WriteResult {
  object: KubeObject;
  created: boolean;
}


/** Upstream's storage.NewTooLargeResourceVersionError: clients relist after retryAfterSeconds. */
export function tooLargeResourceVersion(requested: number, current: number): StatusError {
  return new StatusError(504, 'Timeout', `Timeout: Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

export function nowRFC3339(): string {
  return formatTimeMs(Date.now());
}

const NAMESPACES_RESOURCE = resourceByPath('', 'v1', 'namespaces')!;

export class Registry {
  private readonly strategies = new Map<string, Strategy>();
  /** The strategy of each built-in resource by its identity: found without naming its kind on every request. */
  private readonly strategiesByResource = new WeakMap<ResourceInfo, Strategy>();
  /** Hooks for kinds that need more than a strategy (allocation of cluster IPs, etc.). */
  private readonly beforeCreateHooks = new Map<string, (obj: KubeObject, ctx: RequestContext) => Promise<void> | void>();
  private readonly afterDeleteHooks = new Map<string, (obj: KubeObject) => void>();

  constructor(
    private readonly store: Store,
    private readonly cache: WatchCache,
    /** Mutating then validating admission, run on every write between the strategy's steps. */
    private readonly admission: AdmissionChain = new AdmissionChain([]),
  ) {}

  /** Told of every write made for a request (`ctx.writer`): the object history credits it. */
  private written?: (key: string, revision: number, writer: HistoryWriter) => void;

  onWritten(fn: (key: string, revision: number, writer: HistoryWriter) => void): void {
    this.written = fn;
  }

  private credit(key: string, revision: number, writer: HistoryWriter | undefined): void {
    if (writer) this.written?.(key, revision, writer);
  }

  private admissionRequest(operation: AdmissionOperation, res: ResourceInfo, subresource: string | undefined, namespace: string | undefined, name: string, object: KubeObject | undefined, oldObject: KubeObject | undefined, ctx: RequestContext): AdmissionRequest {
    return { operation, resource: res, subresource: subresource ?? '', namespace: namespace ?? '', name, object, oldObject, user: ctx.user, dryRun: ctx.dryRun, warnings: ctx.warnings };
  }

  static storagePrefix(res: ResourceInfo): string {
    return storagePrefix(res);
  }

  key(res: ResourceInfo, namespace: string | undefined, name: string): string {
    return storagePrefix(res) + (res.namespaced ? `${namespace}/` : '') + name;
  }

  resourceCache(res: ResourceInfo): ResourceCache {
    const prefix = storagePrefix(res);
    return res.custom ? this.cache.ensure(prefix) : this.cache.resource(prefix);
  }

  strategy(res: ResourceInfo): Strategy {
    if (res.custom) return customStrategyFor(res);
    const known = this.strategiesByResource.get(res);
    if (known) return known;
    const s = storageResource(res);
    const id = `${s.group}/${s.version}/${s.kind}`;
    let st = this.strategies.get(id);
    if (!st) {
      st = strategyFor(s.group, s.version, s.kind);
      this.strategies.set(id, st);
    }
    this.strategiesByResource.set(res, st);
    return st;
  }

  onBeforeCreate(kind: string, hook: (obj: KubeObject, ctx: RequestContext) => Promise<void> | void): void {
    this.beforeCreateHooks.set(kind, hook);
  }

  onAfterDelete(kind: string, hook: (obj: KubeObject) => void): void {
    this.afterDeleteHooks.set(kind, hook);
  }

  resourceOf(group: string, version: string, plural: string): ResourceInfo {
    const r = resourceByPath(group, version, plural);
    if (!r) throw new Error(`unknown resource ${group}/${version}/${plural}`);
    return r;
  }

  invalidError(res: ResourceInfo, name: string, causes: StatusCause[]): StatusError {
    return invalid(res.group, res.kind, name, causes);
  }

  currentRevision(): number {
    return this.cache.currentRevision();
  }

  /** Waits until the cache has caught up with the store (other API servers' writes): GET, and LIST without resourceVersion. */
  consistentRead(): Promise<void> {
    return this.cache.consistent();
  }

  // ---- reads ---------------------------------------------------------------

  /** The stored form (not converted); undefined when absent. Never mutate the result. */
  getStored(res: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.resourceCache(res).objects.get(this.key(res, namespace, name));
  }

  get(res: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
    return this.getForRead(res, namespace, name).object;
  }

  /** As get, and whether the answer is the cache's own object (shared and never changed, so what is derived from it may be kept with it). */
  getForRead(res: ResourceInfo, namespace: string | undefined, name: string): { object: KubeObject; shared: boolean } {
    const stored = this.getStored(res, namespace, name);
    if (!stored) throw notFound(res.group, res.plural, name);
    const object = this.present(res, stored);
    return { object, shared: object === stored };
  }

  /** Converted to the request's version, with apiVersion/kind set. */
  present(res: ResourceInfo, stored: KubeObject): KubeObject {
    const obj = fromStorage(res, stored);
    if (obj.apiVersion === undefined || obj.kind === undefined) {
      return { apiVersion: apiVersionOf(res), kind: res.kind, ...obj };
    }
    return obj;
  }

  private selectors(res: ResourceInfo, opts: ListOptions): { labels: ParsedSelector; fields: ParsedSelector; fieldsOf: (o: KubeObject) => Record<string, string> } {
    const strategy = this.strategy(res);
    const labels = parseLabelSelector(opts.labelSelector);
    const probe = opts.fieldSelector ? strategy.fieldLabels({ metadata: {} }) : {};
    const fields = parseFieldSelector(opts.fieldSelector, (f) => f === 'metadata.name' || f === 'metadata.namespace' || f in probe);
    const fieldsOf = (o: KubeObject): Record<string, string> => ({
      'metadata.name': o.metadata?.name ?? '',
      'metadata.namespace': o.metadata?.namespace ?? '',
      ...strategy.fieldLabels(o),
    });
    return { labels, fields, fieldsOf };
  }

  list(res: ResourceInfo, namespace: string | undefined, opts: ListOptions): ListResult {
    const cache = this.resourceCache(res);
    const rev = this.cache.currentRevision();
    if (opts.resourceVersionMatch === 'Exact' && opts.resourceVersion && opts.resourceVersion !== '0' && Number(opts.resourceVersion) !== rev) {
      throw expired(`too old resource version: ${opts.resourceVersion} (${rev})`);
    }
    const { labels, fields, fieldsOf } = this.selectors(res, opts);
    const unfiltered = labels.empty && fields.empty;
    let startAfter: string | undefined;
    // Later pages are served at the first page's revision (upstream: continue tokens
    // read etcd at their revision): objects changed since are seen as they were then.
    let snapshotRev = rev;
    let asOf: Map<string, KubeObject | undefined> | undefined;
    if (opts.continue) {
      let tok: { k: string; rv: number };
      try {
        tok = JSON.parse(Buffer.from(opts.continue, 'base64').toString('utf8')) as { k: string; rv: number };
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
      if (!tok || typeof tok.k !== 'string' || !Number.isInteger(tok.rv) || tok.rv <= 0 || tok.rv > rev) throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      startAfter = tok.k;
      if (tok.rv < rev) {
        asOf = this.stateAt(res, cache, tok.rv, startAfter);
        snapshotRev = tok.rv;
      }
    }
    // A metadata.name equality needs no scan.
    const byName = fields.equalities.get('metadata.name');
    let keys: readonly string[];
    if (byName !== undefined && (namespace || !res.namespaced)) {
      const k = this.key(res, namespace, byName);
      const exists = asOf?.has(k) ? asOf.get(k) !== undefined : cache.objects.has(k);
      keys = exists ? [k] : [];
    } else {
      keys = cache.keys(namespace);
      // Across namespaces, a name equality is decided by the keys (…/<namespace>/<name>):
      // objects of other names are never read (nor, right after start-up, loaded).
      if (byName !== undefined) keys = keys.filter((k) => k.endsWith(`/${byName}`));
      if (asOf && asOf.size > 0) {
        // Objects deleted since the snapshot are listed as they were.
        const prefix = res.namespaced && namespace ? this.key(res, namespace, '') : '';
        const gone = [...asOf.keys()].filter((k) => k.startsWith(prefix) && asOf!.get(k) && !cache.objects.has(k));
        if (gone.length > 0) keys = [...keys, ...gone].sort();
      }
    }
    // Resume after the continue token's key (binary search in the sorted keys).
    let start = 0;
    if (startAfter !== undefined) {
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (keys[mid] <= startAfter) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    // Objects not read since start-up (or dropped from memory since) are read a range at a
    // time, not one by one: a page's worth when unfiltered, else a chunk at a time. Also
    // on a later page served as of an older revision: the objects changed since come from
    // `asOf`, every other one is as current and is read with the range.
    const ahead = opts.limit && opts.limit > 0 && unfiltered ? opts.limit + 1 : READ_CHUNK;
    const items: KubeObject[] = [];
    let next: string | undefined;
    let remaining = 0;
    // Read in passing (not kept decoded): each object of a list is usually read only once.
    // So are those held elsewhere (in-process informers share them), which need no read.
    let passing: Map<string, KubeObject> | undefined;
    let shared = true;
    let i = start;
    for (; i < keys.length; i++) {
      if ((i - start) % ahead === 0 && !(unfiltered && items.length >= limit)) passing = cache.objects.readPassing(keys, i, i + ahead);
      const obj = asOf?.has(keys[i]) ? asOf.get(keys[i]) : (passing?.get(keys[i]) ?? cache.objects.held(keys[i]) ?? cache.objects.get(keys[i]));
      if (!obj) continue;
      if (!unfiltered) {
        if (!labels.empty && !labels.matcher(obj.metadata?.labels)) continue;
        if (!fields.empty && !fields.matcher(fieldsOf(obj))) continue;
      }
      if (items.length >= limit) {
        if (unfiltered) {
          remaining = keys.length - i;
          break;
        }
        remaining++;
        continue;
      }
      const presented = this.present(res, obj);
      if (presented !== obj) shared = false;
      items.push(presented);
    }
    if (remaining > 0) {
      const last = items[items.length - 1];
      next = Buffer.from(JSON.stringify({ k: this.keyOf(res, last), rv: snapshotRev })).toString('base64');
    }
    const out: ListResult = { items, resourceVersion: String(snapshotRev), shared };
    if (next) {
      out.continue = next;
      if (labels.empty && fields.empty) out.remainingItemCount = remaining;
    }
    return out;
  }

  /**
   * The objects (after `startAfter`) that changed since `revision`, as they were at
   * `revision` (undefined: absent then), undone from the cache's ring of events; 410 when
   * the ring no longer reaches back (upstream: the continue token's revision was compacted).
   */
  private stateAt(res: ResourceInfo, cache: ResourceCache, revision: number, startAfter: string): Map<string, KubeObject | undefined> {
    let events: CachedEvent[];
    try {
      events = cache.eventsSince(revision);
    } catch (err) {
      if (err instanceof StatusError && err.code === 410) {
        throw expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      throw err;
    }
    const state = new Map<string, KubeObject | undefined>();
    for (const ev of events) {
      const key = this.keyOf(res, ev.object);
      if (key <= startAfter || state.has(key)) continue;
      state.set(key, ev.type === 'ADDED' ? undefined : ev.prev);
    }
    return state;
  }

  private keyOf(res: ResourceInfo, obj: KubeObject): string {
    return this.key(res, obj.metadata?.namespace, obj.metadata?.name ?? '');
  }

  // ---- watch ---------------------------------------------------------------

  watch(res: ResourceInfo, namespace: string | undefined, opts: WatchOptions, sink: WatchSink): WatchHandle {
    const cache = this.resourceCache(res);
    const { labels, fields, fieldsOf } = this.selectors(res, opts);
    const byName = fields.equalities.get('metadata.name');
    const matches = (o: KubeObject | undefined): boolean => {
      if (!o) return false;
      if (byName !== undefined && o.metadata?.name !== byName) return false;
      if (!labels.empty && !labels.matcher(o.metadata?.labels)) return false;
      if (!fields.empty && !fields.matcher(fieldsOf(o))) return false;
      return true;
    };
    let delivered = this.cache.currentRevision();
    const converts = !!res.storedAs;
    const emit = (type: WatchEventType, obj: KubeObject, ev?: CachedEvent) => {
      sink.event(type, converts ? this.present(res, obj) : obj, converts ? undefined : ev);
    };
    const handleEvent = (ev: CachedEvent) => {
      delivered = ev.revision;
      const now = ev.type !== 'DELETED' && matches(ev.object);
      const before = ev.prev !== undefined && matches(ev.prev);
      if (ev.type === 'DELETED') {
        if (before || matches(ev.object)) emit('DELETED', ev.object, ev);
      } else if (now && before) emit('MODIFIED', ev.object, ev);
      else if (now) emit('ADDED', ev.object, ev.type === 'ADDED' ? ev : undefined);
      else if (before) emit('DELETED', ev.object);
    };
    const rv = opts.resourceVersion;
    const initial = !rv || rv === '0' || opts.sendInitialEvents;
    let replay: CachedEvent[] = [];
    if (!initial) {
      const from = Number(rv);
      if (!Number.isInteger(from) || from < 0) throw badRequest(`invalid resource version: ${rv}`);
      const current = this.cache.currentRevision();
      if (from > current) throw tooLargeResourceVersion(from, current);
      // Gathered before registering (it may throw 410); both happen in this tick, so no event can fall between them.
      replay = cache.eventsSince(from);
    }
    // The keys as they are now (the array is never changed, only replaced).
    const keys = initial ? cache.keys(namespace) : [];
    if (!initial || !sink.drained) {
      const watcher: CacheWatcher = { namespace, deliver: handleEvent };
      cache.watchers.add(watcher);
      // A consumer without flow control (in-process) takes the initial events at once;
      // their values are still read a chunk at a time.
      for (let i = 0; i < keys.length; i++) {
        if (i % READ_CHUNK === 0) cache.objects.readAhead(keys, i, i + READ_CHUNK);
        const obj = cache.objects.get(keys[i]);
        if (matches(obj)) emit('ADDED', obj!);
      }
      for (const ev of replay) handleEvent(ev);
      return {
        stop: () => cache.watchers.delete(watcher),
        revision: () => Math.max(delivered, this.cache.currentRevision()),
      };
    }
    // Streamed initial events: the state as of now, a chunk at a time as the consumer takes
    // them. Events meanwhile are held back; the first one of a key also records the key's
    // state as of now (absent for ADDED), which its initial event then shows.
    const startRevision = this.cache.currentRevision();
    const held: CachedEvent[] = [];
    const asOfStart = new Map<string, KubeObject | undefined>();
    let streaming = true;
    let stopped = false;
    const watcher: CacheWatcher = {
      namespace,
      deliver: (ev) => {
        if (!streaming) return handleEvent(ev);
        const key = this.keyOf(res, ev.object);
        if (!asOfStart.has(key)) asOfStart.set(key, ev.type === 'ADDED' ? undefined : ev.prev);
        held.push(ev);
      },
    };
    cache.watchers.add(watcher);
    const drained = sink.drained.bind(sink);
    const initialDone = (async () => {
      for (let i = 0; i < keys.length && !stopped; i += READ_CHUNK) {
        const end = Math.min(keys.length, i + READ_CHUNK);
        cache.objects.readAhead(keys, i, end);
        for (let j = i; j < end && !stopped; j++) {
          const obj = asOfStart.has(keys[j]) ? asOfStart.get(keys[j]) : (cache.objects.held(keys[j]) ?? cache.objects.get(keys[j]));
          if (!matches(obj)) continue;
          emit('ADDED', obj!);
          // Never more than the consumer's bound ahead of it, however big the objects.
          const wait = drained();
          if (wait) await wait;
        }
        // Other work gets the event loop between chunks.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      delivered = Math.max(delivered, startRevision);
      for (const ev of held) if (!stopped) handleEvent(ev);
      held.length = 0;
      asOfStart.clear();
      streaming = false;
    })();
    return {
      stop: () => {
        stopped = true;
        cache.watchers.delete(watcher);
      },
      revision: () => (streaming ? startRevision : Math.max(delivered, this.cache.currentRevision())),
      initialDone,
    };
  }

  // ---- writes --------------------------------------------------------------

  /** `found`: the namespace's object, when the caller has just looked it up. */
  private checkNamespace(res: ResourceInfo, namespace: string | undefined, name = '', found?: KubeObject): void {
    if (!res.namespaced) return;
    if (!namespace) throw badRequest('the server could not find the requested resource: a namespace is required');
    const ns = found ?? this.getStored(NAMESPACES_RESOURCE, undefined, namespace);
    if (!ns) throw notFound('', 'namespaces', namespace);
    if (ns.metadata?.deletionTimestamp && !this.strategy(res).createInTerminatingNamespace) {
      throw new StatusError(403, 'Forbidden', `${res.plural}${res.group ? '.' + res.group : ''} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
        kind: res.plural,
        group: res.group || undefined,
        causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
      });
    }
  }

  private checkTypeMeta(res: ResourceInfo, obj: KubeObject): void {
    const want = apiVersionOf(res);
    if (obj.kind !== undefined && obj.kind !== '' && obj.kind !== res.kind) {
      throw kindMismatch(res, String(obj.kind), obj.apiVersion);
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== '' && obj.apiVersion !== want) {
      throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${want})`);
    }
  }

  /**
   * Typed decoding of the request's object, as upstream decodes into Go structs: a wrongly
   * typed field is a 400, unknown fields are dropped (warned about, or rejected under Strict).
   * `stored`: the stored object a patch was applied to; the top-level members the patched
   * object keeps from it as they are (the same objects) were decoded when they were
   * written, hold no unknown field, and are not walked again.
   */
  private validateFields(res: ResourceInfo, obj: KubeObject, ctx: RequestContext, stored?: KubeObject): void {
    // Custom resources: unknown fields per the CRD's schema; wrong types are the schema
    // validation's 422 (apiserver/crd), not a decoding error.
    if (res.custom) {
      if (ctx.fieldValidation === 'Ignore') return;
      const unknown = unknownFields(res, obj);
      if (unknown.length === 0) return;
      if (ctx.fieldValidation === 'Strict') throw badRequest(`strict decoding error: ${unknown.join(', ')}`);
      ctx.warnings.push(...unknown);
      return;
    }
    // The members to decode: all, or those of a patched object that are not the stored ones.
    const members = obj as Record<string, unknown>;
    let decodedMembers = members;
    if (stored) {
      decodedMembers = {};
      for (const k in members) {
        const v = members[k];
        const keptFromStored = v !== null && typeof v === 'object' && v === (stored as Record<string, unknown>)[k];
        if (!keptFromStored) decodedMembers[k] = v;
      }
    }
    const submitted = decodedMembers === members ? undefined : Object.keys(decodedMembers);
    const decoded = decodeTyped(res, decodedMembers);
    if (!decoded) return;
    // Unknown top-level members are dropped from what was decoded: from the object too.
    if (submitted) for (const k of submitted) if (!(k in decodedMembers)) delete members[k];
    if (decoded.typeError) {
      throw badRequest(`${res.kind} in version "${res.version}" cannot be handled as a ${res.kind}: ${decoded.typeError}`);
    }
    const errors = decoded.unknown;
    if (ctx.fieldValidation === 'Ignore' || errors.length === 0) return;
    if (ctx.fieldValidation === 'Strict') {
      throw badRequest(`strict decoding error: ${errors.join(', ')}`);
    }
    ctx.warnings.push(...errors);
  }

  private invalid(res: ResourceInfo, name: string, causes: StatusCause[]): StatusError {
    return invalid(res.group, res.kind, name, causes);
  }

  async create(res: ResourceInfo, namespace: string | undefined, body: KubeObject, ctx: RequestContext): Promise<KubeObject> {
    if (res.virtual) throw methodNotAllowed();
    this.checkTypeMeta(res, body);
    this.validateFields(res, body, ctx);
    const meta = (body.metadata ??= {});
    if (res.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace ?? meta.namespace;
    } else if (meta.namespace) {
      delete meta.namespace;
    }
    // A namespace this cache has not seen may have just been made through another API
    // server (upstream's NamespaceLifecycle looks it up live on a cache miss): catch up first.
    const ns = res.namespaced && meta.namespace ? this.getStored(NAMESPACES_RESOURCE, undefined, meta.namespace) : undefined;
    if (res.namespaced && meta.namespace && !ns) await this.cache.consistent();
    this.checkNamespace(res, meta.namespace, meta.name ?? meta.generateName ?? '', ns);
    const storageRes = storageResource(res);
    // The request's object is the registry's to change (its metadata is changed in place
    // above and below): it is named as the request's version in place, as a copy would be
    // (the same members in the same order), without a copy through an object spread that
    // every kind's shape goes through.
    body.apiVersion = apiVersionOf(res);
    body.kind = res.kind;
    let obj = body;
    // A kind stored as another version is converted and named as that version (a copy).
    if (res.storedAs) obj = { ...toStorage(res, obj), apiVersion: apiVersionOf(storageRes), kind: storageRes.kind };
    const strategy = this.strategy(res);
    const m = obj.metadata!;
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    m.uid = randomUUID();
    m.creationTimestamp = nowRFC3339();
    const generated = !m.name && !!m.generateName;
    strategy.prepareForCreate(obj);
    strategy.default(obj);
    const review = this.admissionRequest('CREATE', res, undefined, m.namespace, m.name ?? '', obj, undefined, ctx);
    // Awaited only when there is something to wait for: each await is a turn of the microtask queue.
    const admitting = this.admission.admit(review);
    if (admitting) await admitting;
    // As upstream, mutating admission sees the object before its name is generated (its
    // errors name the generateName); validation and validating admission see the name.
    if (generated && !m.name) m.name = generateName(m.generateName!);
    review.name = m.name ?? '';
    const causes = strategy.validateCreate(obj);
    if (!m.name && !m.generateName) causes.unshift({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
    if (causes.length) throw this.invalid(res, m.name ?? '', causes);
    const validating = this.admission.validate(review);
    if (validating) await validating;
    const beforeCreate = this.beforeCreateHooks.get(storageRes.kind);
    if (beforeCreate) await beforeCreate(obj, ctx);
    trackManagedFields(res, undefined, obj, ctx, undefined);
    dropEmptyMetadata(m);

    if (ctx.dryRun) {
      if (this.getStored(res, m.namespace, m.name!)) throw alreadyExists(res.group, res.plural, m.name!);
      return this.present(res, obj);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const key = this.key(res, m.namespace, m.name!);
        const enc = encodeStoredBounded(obj);
        const kv = await this.store.create(key, enc.value);
        this.credit(key, kv.modRevision, ctx.writer);
        m.resourceVersion = String(kv.modRevision);
        const presented = this.present(res, obj);
        // Answered as it was stored (the caller gets the object and does not change it).
        if (presented === obj) answerFromStored(obj, enc, kv.modRevision);
        return presented;
      } catch (err) {
        if (err instanceof StoreError && err.code === 'KeyExists') {
          if (generated && attempt < 5) {
            m.name = generateName(m.generateName!);
            continue;
          }
          throw alreadyExists(res.group, res.plural, m.name!);
        }
        throw err;
      }
    }
  }

  /**
   * Read-modify-write with retries on conflict (upstream GuaranteedUpdate). `mutate`
   * gets a private copy of the current stored object (undefined if absent) and
   * returns the new object, or undefined to leave it as it is. `copy` makes that copy
   * (default: a whole one); a caller that changes only a few fields may copy just the
   * path to them, sharing the rest of the stored object, which it must not touch.
   */
  async guaranteedUpdate(
    res: ResourceInfo,
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject | undefined) => Promise<KubeObject | undefined> | KubeObject | undefined,
    opts: { dryRun?: boolean; retryOnConflict?: boolean; copy?: (current: KubeObject) => KubeObject; writer?: HistoryWriter } = {},
  ): Promise<{ object: KubeObject; created: boolean; changed: boolean }> {
    const key = this.key(res, namespace, name);
    const cache = this.resourceCache(res);
    // Not here yet may mean just made through another API server: catch up with the store
    // first (a stale object present here fails its compare-and-swap and is read again).
    if (!cache.objects.has(key)) await this.cache.consistent();
    for (let attempt = 0; ; attempt++) {
      const current = cache.objects.get(key);
      const next = await mutate(current ? (opts.copy ?? jsonCopy)(current) : undefined);
      if (!next) {
        if (!current) throw notFound(res.group, res.plural, name);
        return { object: current, created: false, changed: false };
      }
      if (current && sameButVolatile(next, current)) {
        return { object: current, created: false, changed: false };
      }
      if (opts.dryRun) return { object: next, created: !current, changed: true };
      try {
        if (!current) {
          const kv = await this.store.create(key, encodeBounded(next));
          this.credit(key, kv.modRevision, opts.writer);
          next.metadata!.resourceVersion = String(kv.modRevision);
          return { object: next, created: true, changed: true };
        }
        const meta = next.metadata!;
        if (meta.deletionTimestamp && (meta.finalizers ?? []).length === 0 && this.strategy(res).removeWhenFinalized(next)) {
          const { revision } = await this.store.delete(key, Number(current.metadata!.resourceVersion));
          this.credit(key, revision, opts.writer);
          meta.resourceVersion = String(revision);
          this.afterDeleteHooks.get(storageResource(res).kind)?.(next);
          return { object: next, created: false, changed: true };
        }
        const kv = await this.store.update(key, encodeBounded(next), Number(current.metadata!.resourceVersion));
        this.credit(key, kv.modRevision, opts.writer);
        meta.resourceVersion = String(kv.modRevision);
        return { object: next, created: false, changed: true };
      } catch (err) {
        if (err instanceof StoreError && (err.code === 'Conflict' || err.code === 'KeyExists' || err.code === 'KeyNotFound') && attempt < 10) {
          if (opts.retryOnConflict === false && err.code === 'Conflict') {
            throw conflict(res.group, res.plural, name, 'the object has been modified; please apply your changes to the latest version and try again');
          }
          continue;
        }
        throw err;
      }
    }
  }

  /** PUT: replace the object (or its status/scale subresource). */
  async update(
    res: ResourceInfo,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    ctx: RequestContext,
    subresource?: string,
  ): Promise<WriteResult> {
    if (res.virtual) throw methodNotAllowed();
    this.checkTypeMeta(res, body);
    if (body.metadata?.name && body.metadata.name !== name) {
      throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (res.namespaced && body.metadata?.namespace && body.metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    this.validateFields(res, body, ctx);
    const requestedRV = body.metadata?.resourceVersion;
    // Upstream parses the version as a number: "" and "0" both mean "none given".
    const unversioned = !requestedRV || requestedRV === '0';
    const result = await this.guaranteedUpdate(
      res,
      namespace,
      name,
      (current) => {
        if (!current) {
          if (!this.strategy(res).allowCreateOnUpdate || subresource) throw notFound(res.group, res.plural, name);
          return undefined; // handled below as a create
        }
        if (unversioned && !this.strategy(res).allowUnconditionalUpdate) {
          throw invalid(res.group, res.plural, name, [{ reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update', field: 'metadata.resourceVersion' }]);
        }
        if (!unversioned && requestedRV !== current.metadata?.resourceVersion) {
          throw conflict(res.group, res.plural, name, 'the object has been modified; please apply your changes to the latest version and try again');
        }
        return this.prepareUpdate(res, current, { ...body, metadata: { ...body.metadata } }, ctx, subresource);
      },
      { dryRun: ctx.dryRun, writer: ctx.writer },
    ).catch(async (err) => {
      if (err instanceof StatusError && err.code === 404 && this.strategy(res).allowCreateOnUpdate && !subresource) {
        return { object: await this.create(res, namespace, body, ctx), created: true, changed: true };
      }
      throw err;
    });
    return { object: this.present(res, result.object), created: result.created };
  }

  /**
   * Apply the strategy's update rules to `incoming` (request version) given the
   * stored `current`; returns the object to store.
   */
  async prepareUpdate(res: ResourceInfo, current: KubeObject, incoming: KubeObject, ctx: RequestContext, subresource?: string): Promise<KubeObject> {
    const storageRes = storageResource(res);
    let obj = toStorage(res, { ...incoming, apiVersion: apiVersionOf(res), kind: res.kind });
    obj = { ...obj, apiVersion: apiVersionOf(storageRes), kind: storageRes.kind };
    const meta = (obj.metadata ??= {});
    const cm = current.metadata!;
    // Fields the client can't change.
    meta.name = cm.name;
    if (res.namespaced) meta.namespace = cm.namespace;
    else delete meta.namespace;
    meta.uid = cm.uid;
    meta.creationTimestamp = cm.creationTimestamp;
    meta.resourceVersion = cm.resourceVersion;
    if (cm.deletionTimestamp) {
      meta.deletionTimestamp = cm.deletionTimestamp;
      meta.deletionGracePeriodSeconds = cm.deletionGracePeriodSeconds;
    } else {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    if (meta.generation === undefined && cm.generation !== undefined) meta.generation = cm.generation;
    if (cm.deletionTimestamp) {
      // New finalizers can't be added to an object being deleted.
      const added = (meta.finalizers ?? []).filter((f) => !(cm.finalizers ?? []).includes(f));
      if (added.length) {
        throw this.invalid(res, cm.name!, [
          { reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` },
        ]);
      }
    }
    const strategy = this.strategy(res);
    if (!subresource) strategy.default(obj);
    strategy.prepareForUpdate(obj, current, subresource);
    const review = this.admissionRequest('UPDATE', res, subresource, cm.namespace, cm.name!, obj, current, ctx);
    await this.admission.admit(review);
    const causes = strategy.validateUpdate(obj, current, subresource);
    if (causes.length) throw this.invalid(res, cm.name!, causes);
    await this.admission.validate(review);
    trackManagedFields(res, current, obj, ctx, subresource);
    dropEmptyMetadata(obj.metadata);
    return obj;
  }

  /** PATCH in any of the four types (apply creates when absent). */
  async patch(
    res: ResourceInfo,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    body: Buffer,
    ctx: RequestContext & { force?: boolean },
    subresource?: string,
  ): Promise<WriteResult> {
    if (res.virtual) throw methodNotAllowed();
    if (type === 'apply' && !ctx.fieldManager) {
      throw badRequest('PATCH, application/apply-patch+yaml requests require fieldManager to be set');
    }
    let createdViaApply = false;
    if (type === 'apply') ctx = { ...ctx, skipManagedFields: true };
    const result = await this.guaranteedUpdate(
      res,
      namespace,
      name,
      (current) => {
        const presented = current ? this.present(res, current) : undefined;
        if (!presented && type !== 'apply') throw notFound(res.group, res.plural, name);
        // A strategic patch copies only the members it names: the rest stay the stored
        // object's (or its copy's), which nothing below changes — but for metadata's own
        // fields, so metadata is a new object over the same members.
        const patched = applyPatchBody(res, type, presented, body, ctx, { shareUntouched: true });
        if (presented && patched.metadata && patched.metadata === presented.metadata) patched.metadata = { ...patched.metadata };
        this.validateFields(res, patched, ctx, presented);
        if (patched.metadata?.name && patched.metadata.name !== name) {
          throw badRequest(`the name of the object (${patched.metadata.name}) does not match the name on the URL (${name})`);
        }
        if (!current) {
          createdViaApply = true;
          return undefined;
        }
        const rv = patched.metadata?.resourceVersion;
        if (rv && rv !== current.metadata?.resourceVersion) {
          throw conflict(res.group, res.plural, name, 'the object has been modified; please apply your changes to the latest version and try again');
        }
        return this.prepareUpdate(res, current, patched, ctx, subresource);
      },
      // A status patch never changes the stored object it is given: the patch is applied
      // to a copy (applyPatchBody's own) and the status write's preparation only reads the
      // old object (copying what it keeps), so no whole copy first; its managedFields stay
      // the stored entries, whose decoded sets are kept. Apply's result shares subtrees of
      // the live object, which the preparation may change: it gets a copy.
      { dryRun: ctx.dryRun, writer: ctx.writer, copy: subresource === 'status' && type !== 'apply' ? (stored) => stored : undefined },
    ).catch(async (err) => {
      if (createdViaApply && err instanceof StatusError && err.code === 404) {
        const patched = applyPatchBody(res, type, undefined, body, ctx);
        const meta = (patched.metadata ??= {});
        meta.name = name;
        return { object: await this.create(res, namespace, patched, { ...ctx, fieldValidation: 'Ignore' }), created: true, changed: true };
      }
      throw err;
    });
    return { object: result.created ? result.object : this.present(res, result.object), created: result.created };
  }

  async delete(res: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions, ctx: RequestContext): Promise<{ result: KubeObject | Status; pending: boolean }> {
    if (res.virtual) throw methodNotAllowed();
    const key = this.key(res, namespace, name);
    const cache = this.resourceCache(res);
    // Not here yet may mean just made through another API server: catch up with the store
    // first (a stale object present here fails its compare-and-swap and is read again).
    if (!cache.objects.has(key)) await this.cache.consistent();
    for (let attempt = 0; ; attempt++) {
      const current = cache.objects.get(key);
      if (!current) throw notFound(res.group, res.plural, name);
      const cm = current.metadata!;
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== cm.uid) {
        throw conflict(res.group, res.plural, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cm.uid}`);
      }
      if (pre?.resourceVersion && pre.resourceVersion !== cm.resourceVersion) {
        throw conflict(res.group, res.plural, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cm.resourceVersion}`);
      }
      if (attempt === 0) {
        const review = this.admissionRequest('DELETE', res, undefined, namespace, name, undefined, current, ctx);
        await this.admission.admit(review);
        await this.admission.validate(review);
      }
      const strategy = this.strategy(res);
      // A deletion changes metadata, and a kind's hold may set status fields (a namespace's
      // phase): a copy of those two levels, sharing the rest with the stored object.
      const next: KubeObject = { ...current, metadata: { ...cm } };
      if (isPlainObject(current.status)) next.status = { ...current.status };
      const meta = next.metadata!;
      const finalizers = new Set(meta.finalizers ?? []);
      const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : opts.orphanDependents === false ? 'Background' : undefined);
      if (policy === 'Orphan') {
        finalizers.add('orphan');
        finalizers.delete('foregroundDeletion');
      } else if (policy === 'Foreground') {
        finalizers.add('foregroundDeletion');
        finalizers.delete('orphan');
      } else if (policy === 'Background') {
        finalizers.delete('orphan');
        finalizers.delete('foregroundDeletion');
      }
      // Graceful deletion (pods bound to a node get time to stop) and deletions held by
      // the kind (namespaces wait for their contents to go).
      const grace = strategy.gracefulDeleteSeconds(next, opts.gracePeriodSeconds);
      const held = strategy.holdDeletion(next);
      // A kind's hold may add its own finalizer (CRDs: customresourcecleanup).
      for (const f of meta.finalizers ?? []) if (!(current.metadata?.finalizers ?? []).includes(f)) finalizers.add(f);
      const needsUpdate = finalizers.size > 0 || grace > 0 || held;
      if (!needsUpdate) {
        if (ctx.dryRun) return { result: this.deleteResult(res, current), pending: false };
        try {
          const { revision } = await this.store.delete(key, Number(cm.resourceVersion));
          this.credit(key, revision, ctx.writer);
          const gone = { ...current, metadata: { ...cm, resourceVersion: String(revision) } };
          this.afterDeleteHooks.get(storageResource(res).kind)?.(gone);
          return { result: this.deleteResult(res, gone), pending: false };
        } catch (err) {
          if (err instanceof StoreError && err.code === 'Conflict' && attempt < 10) continue;
          if (err instanceof StoreError && err.code === 'KeyNotFound') throw notFound(res.group, res.plural, name);
          throw err;
        }
      }
      meta.finalizers = [...finalizers];
      if (meta.finalizers.length === 0) delete meta.finalizers;
      if (!meta.deletionTimestamp) {
        meta.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        meta.deletionGracePeriodSeconds = grace;
      } else if (grace < (meta.deletionGracePeriodSeconds ?? Infinity)) {
        // A shorter grace period may replace a longer one.
        meta.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        meta.deletionGracePeriodSeconds = grace;
      }
      if (jsonEqual(next, current)) return { result: this.present(res, current), pending: true };
      if (ctx.dryRun) return { result: this.present(res, next), pending: true };
      try {
        const kv = await this.store.update(key, encodeBounded(next), Number(cm.resourceVersion));
        this.credit(key, kv.modRevision, ctx.writer);
        meta.resourceVersion = String(kv.modRevision);
        return { result: this.present(res, next), pending: true };
      } catch (err) {
        if (err instanceof StoreError && err.code === 'Conflict' && attempt < 10) continue;
        throw err;
      }
    }
  }

  private deleteResult(res: ResourceInfo, obj: KubeObject): KubeObject | Status {
    if (this.strategy(res).returnsDeletedObject) return this.present(res, obj);
    return successStatus({ name: obj.metadata?.name, group: res.group || undefined, kind: res.plural, uid: obj.metadata?.uid });
  }

  async deleteCollection(res: ResourceInfo, namespace: string | undefined, listOpts: ListOptions, opts: DeleteOptions, ctx: RequestContext): Promise<ListResult> {
    const { items, resourceVersion } = this.list(res, namespace, { labelSelector: listOpts.labelSelector, fieldSelector: listOpts.fieldSelector });
    const deleted: KubeObject[] = [];
    for (const item of items) {
      try {
        const { result } = await this.delete(res, item.metadata?.namespace, item.metadata!.name!, opts, ctx);
        deleted.push((result as KubeObject).kind === 'Status' ? item : (result as KubeObject));
      } catch (err) {
        if (err instanceof StatusError && err.code === 404) continue;
        throw err;
      }
    }
    return { items: deleted, resourceVersion };
  }
}

/**
 * ObjectMeta's collections are `omitempty` upstream: an emptied list or map is
 * dropped, not stored as [] or {} (e.g. after the last finalizer is removed).
 */
function dropEmptyMetadata(meta: KubeObject['metadata']): void {
  if (!meta) return;
  for (const k of ['finalizers', 'ownerReferences', 'managedFields'] as const) {
    const v = meta[k];
    if (Array.isArray(v) && v.length === 0) delete meta[k];
  }
  for (const k of ['labels', 'annotations'] as const) {
    const v = meta[k];
    if (v && typeof v === 'object' && Object.keys(v).length === 0) delete meta[k];
  }
}

/**
 * Whether `a` is `b` but for volatile metadata, which doesn't make an update a change
 * (compared in place, without copies of either): the resourceVersion, and the
 * managedFields timestamps (upstream's IgnoreManagedFieldsTimestampsTransformer). A change
 * of owners (a co-owner recorded by a forced apply, managedFields replaced or cleared by
 * the user) is a change and is stored.
 */
function sameButVolatile(a: KubeObject, b: KubeObject): boolean {
  if (!sameMembersBut(a as Record<string, unknown>, b as Record<string, unknown>, 'metadata', 'metadata')) return false;
  const ma = (a.metadata ?? {}) as Record<string, unknown>;
  const mb = (b.metadata ?? {}) as Record<string, unknown>;
  if (!sameMembersBut(ma, mb, 'resourceVersion', 'managedFields')) return false;
  const fa = Array.isArray(ma.managedFields) ? (ma.managedFields as unknown[]) : [];
  const fb = Array.isArray(mb.managedFields) ? (mb.managedFields as unknown[]) : [];
  if (fa.length !== fb.length) return false;
  for (let i = 0; i < fa.length; i++) {
    const x = fa[i];
    const y = fb[i];
    if (x === y) continue;
    if (!isPlainObject(x) || !isPlainObject(y)) {
      if (!jsonEqual(x, y)) return false;
    } else if (!sameMembersBut(x, y, 'time', 'time')) return false;
  }
  return true;
}

/** jsonEqual of two objects' members but the two named (key order ignored, members set to undefined counted, as jsonEqual does). */
function sameMembersBut(a: Record<string, unknown>, b: Record<string, unknown>, skip1: string, skip2: string): boolean {
  let count = 0;
  for (const k of Object.keys(a)) {
    if (k === skip1 || k === skip2) continue;
    count++;
    if (!(k in b) || !jsonEqual(a[k], b[k])) return false;
  }
  for (const k of Object.keys(b)) if (k !== skip1 && k !== skip2) count--;
  return count === 0;
}
