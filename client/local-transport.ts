// The in-process transport: the API's request pipeline without HTTP, for controllers and
// the scheduler running inside the control-plane process. Every call is authorized and
// admitted exactly as over HTTP, as the transport's own identity (each controller its
// service account, the scheduler system:kube-scheduler). Same contract as over HTTP:
// - objects handed out are private copies (what a JSON round trip gives, as the wire would);
//   bodies handed in are copied before the registry touches them. A `readOnly` list or
//   watch (informers) gets the registry's own objects instead: the in-process scheduler's
//   and controller manager's informers then hold one copy of each object between them,
//   the one the watch cache serves every other client from (see `shared`);
// - watch events are delivered asynchronously (a microtask after the write that caused
//   them, never inside the writer's call), in order; a watch that cannot start (410
//   for a too-old resourceVersion, a bad selector) ends with that error;
// - failures are the registry's StatusErrors.
import type { KubeObject } from '../machinery/object.js';
import type { ResourceInfo } from '../machinery/resources.js';
import { apiVersionOf } from '../machinery/resources.js';
import { deepFreeze, jsonCopy } from '../machinery/object.js';
import { badRequest } from '../machinery/status.js';
import type { WatchEventType as RegistryEventType } from '../apiserver/registry.js';
import type { RequestPipeline } from '../apiserver/pipeline.js';
import type { RequestContext, UserInfo } from '../apiserver/context.js';
import { internalContext } from '../apiserver/context.js';
import type {
  ApiObject,
  ApiTransport,
  DeleteOptions,
  ListOptions,
  ListResult,
  PatchOptions,
  PatchType,
  Watch,
  WatchEnd,
  WatchEvent,
  WatchOptions,
  UpdateOptions,
  WriteOptions,
} from './transport.js';
import { asStatusError } from './transport.js';
import { getHidden, setHidden } from '../machinery/hidden.js';

export interface LocalTransportOptions {
  /** The component name: default field manager (and how writes are attributed). */
  component: string;
  /** Who the requests run as; default the internal system user (system:masters). */
  user?: UserInfo;
  /** How often watches with allowWatchBookmarks get a BOOKMARK (default 60 s, as the server). */
  bookmarkIntervalMs?: number;
}

/** A private copy, as the wire would give: a JSON round trip's result (jsonCopy makes it without the text). */
function copy<T>(obj: unknown): T {
  return jsonCopy(obj) as T;
}

/** The copy, without metadata.managedFields when the caller drops them (their share of the object is large). */
function copyFor<T>(obj: KubeObject, withoutManagedFields: boolean | undefined): T {
  if (!withoutManagedFields || !obj.metadata?.managedFields) return copy<T>(obj);
  return copy<T>({ ...obj, metadata: { ...obj.metadata, managedFields: undefined } });
}

/**
 * On a registry object, its view without managedFields: one per object, shared by every
 * read-only caller. A hidden mark on the object (machinery/hidden.ts), not a weak map's
 * entry per object an informer gets; a frozen object (KITE_CACHE_MUTATION_DETECTOR) keeps
 * its view in the WeakMap.
 */
const VIEW_WITHOUT_MANAGED_FIELDS = Symbol('viewWithoutManagedFields');
const viewsOfFrozen = new WeakMap<KubeObject, KubeObject>();
/**
 * On such a view (hidden), the registry's object it shows: it keeps the object alive as
 * long as the view, so the watch cache finds it again instead of reading the store
 * (ObjectMap's held values).
 */
const VIEWED = Symbol('viewed');

/**
 * KITE_CACHE_MUTATION_DETECTOR=1 (the test command sets it; upstream's client-go has
 * KUBE_CACHE_MUTATION_DETECTOR for the same mistake): shared objects are deep-frozen, so
 * a component that writes to what its informer handed it throws at that line instead of
 * silently changing what the API server serves everyone else.
 */
const detectMutations = process.env.KITE_CACHE_MUTATION_DETECTOR === '1';

/**
 * The registry's object itself, for a caller that never mutates it; without managedFields
 * when the caller drops them, as a view sharing everything else with the object.
 */
function shared<T>(obj: KubeObject, withoutManagedFields: boolean | undefined): T {
  if (!withoutManagedFields || !obj.metadata?.managedFields) {
    if (detectMutations) deepFreeze(obj);
    return obj as T;
  }
  let view = getHidden<KubeObject>(obj, VIEW_WITHOUT_MANAGED_FIELDS) ?? viewsOfFrozen.get(obj);
  if (!view) {
    // Spread with managedFields set to undefined (what JSON and every reader take as
    // absent), not deleted from, which would leave the view's metadata a slow
    // dictionary-mode object for every informer reading it; a spread is ~0.1 µs less than
    // copying member by member.
    view = { ...obj, metadata: { ...obj.metadata, managedFields: undefined } };
    setHidden(view, VIEWED, obj);
    if (Object.isExtensible(obj)) setHidden(obj, VIEW_WITHOUT_MANAGED_FIELDS, view);
    else viewsOfFrozen.set(obj, view);
    if (detectMutations) deepFreeze(view);
  }
  if (detectMutations) deepFreeze(obj);
  return view as T;
}

/** What a write answers with: the registry's object when the caller only reads it, else a private copy. */
function answer<T>(obj: unknown, readOnly: boolean | undefined): T {
  return readOnly ? shared<T>(obj as KubeObject, false) : copy<T>(obj);
}

/** What a list or watch hands out: shared when the caller only reads, else a private copy. */
function handOut<T>(obj: KubeObject, opts: { withoutManagedFields?: boolean; readOnly?: boolean }): T {
  return opts.readOnly ? shared<T>(obj, opts.withoutManagedFields) : copyFor<T>(obj, opts.withoutManagedFields);
}

export class LocalTransport implements ApiTransport {
  readonly component: string;
  /**
   * Informers list in pages, as over HTTP, and each page waits its turn behind I/O
   * (list below): a controller's first list of a big store never holds the API server.
   */
  readonly preferredPageSize = 500;
  private readonly bookmarkIntervalMs: number;

  constructor(
    readonly pipeline: RequestPipeline,
    private readonly opts: LocalTransportOptions,
  ) {
    this.component = opts.component;
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 60_000;
  }

  private ctx(opts: WriteOptions | undefined): RequestContext {
    const ctx = internalContext(opts?.fieldManager ?? this.opts.component);
    if (this.opts.user) ctx.user = this.opts.user;
    ctx.userAgent = `kite-${this.opts.component}`;
    if (opts?.dryRun) ctx.dryRun = true;
    if (opts?.fieldValidation) ctx.fieldValidation = opts.fieldValidation;
    return ctx;
  }

  async get<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, name: string): Promise<T> {
    return copy<T>((await this.pipeline.get(this.ctx(undefined), res, namespace, name)).body);
  }

  async list<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<ListResult<T>> {
    if (opts.continue) await new Promise<void>((r) => setImmediate(r));
    const out = await this.pipeline.list(this.ctx(undefined), res, namespace, {
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      limit: opts.limit,
      continue: opts.continue,
      resourceVersion: opts.resourceVersion,
      resourceVersionMatch: opts.resourceVersionMatch,
    });
    const result: ListResult<T> = { items: out.items.map((o) => handOut<T>(o, opts)), resourceVersion: out.resourceVersion };
    if (out.continue) result.continue = out.continue;
    if (out.remainingItemCount !== undefined) result.remainingItemCount = out.remainingItemCount;
    return result;
  }

  watch<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, opts: WatchOptions, onEvent: (ev: WatchEvent<T>) => void): Watch {
    const kindMeta = { apiVersion: apiVersionOf(res), kind: res.kind };
    // Events wait here, as the registry's shared objects, until the flush copies them.
    const pending: { type: RegistryEventType; obj: KubeObject }[] = [];
    let scheduled = false;
    let ended = false;
    let handle: { stop(): void; revision(): number } | undefined;
    const timers: NodeJS.Timeout[] = [];
    let settle!: (end: WatchEnd) => void;
    const done = new Promise<WatchEnd>((resolve) => (settle = resolve));

    const finish = (end: WatchEnd) => {
      if (ended) return;
      ended = true;
      handle?.stop();
      for (const t of timers) clearTimeout(t);
      pending.length = 0;
      settle(end);
    };
    const flush = () => {
      scheduled = false;
      // Take the batch first: a handler may cause more events (they go to the next batch).
      const batch = pending.splice(0);
      for (const p of batch) {
        if (ended) return;
        const object = handOut<T>(p.obj.kind && p.obj.apiVersion ? p.obj : { ...kindMeta, ...p.obj }, opts);
        try {
          onEvent({ type: p.type, object });
        } catch (err) {
          console.error(`watch ${res.plural}: event handler failed:`, err);
        }
      }
    };
    const push = (type: RegistryEventType, obj: KubeObject) => {
      if (ended) return;
      pending.push({ type, obj });
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(flush);
      }
    };
    /** End after what is already queued has been delivered. */
    const finishAfterFlush = (end: WatchEnd) => {
      queueMicrotask(() => {
        if (pending.length > 0) flush();
        finish(end);
      });
    };

    try {
      handle = this.pipeline.watch(
        this.ctx(undefined),
        res,
        namespace,
        {
          resourceVersion: opts.resourceVersion,
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          allowWatchBookmarks: opts.allowWatchBookmarks,
          sendInitialEvents: opts.sendInitialEvents,
        },
        { event: push },
      );
    } catch (err) {
      ended = true;
      pending.length = 0;
      queueMicrotask(() => settle({ reason: 'error', error: asStatusError(err) }));
      return { stop: () => undefined, done };
    }

    if (opts.allowWatchBookmarks) {
      const h = handle;
      const bookmark = () => push('BOOKMARK', { ...kindMeta, metadata: { resourceVersion: String(h.revision()) } });
      if (opts.sendInitialEvents) {
        push('BOOKMARK', { ...kindMeta, metadata: { resourceVersion: String(h.revision()), annotations: { 'k8s.io/initial-events-end': 'true' } } });
      }
      const t = setInterval(bookmark, this.bookmarkIntervalMs);
      t.unref();
      timers.push(t);
    }
    if (opts.timeoutSeconds !== undefined && opts.timeoutSeconds > 0) {
      // Like an open connection, a watch with an end in sight keeps the process alive.
      timers.push(setTimeout(() => finishAfterFlush({ reason: 'closed' }), opts.timeoutSeconds * 1000));
    }
    return { stop: () => finish({ reason: 'stopped' }), done };
  }

  async create<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, obj: T, opts?: WriteOptions): Promise<T> {
    const out = await this.pipeline.create(this.ctx(opts), res, namespace, copy<KubeObject>(obj));
    return answer<T>(out.body, opts?.readOnly);
  }

  async update<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, obj: T, opts?: UpdateOptions): Promise<T> {
    return this.put(res, namespace, obj, opts, opts?.subresource);
  }

  async updateStatus<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, obj: T, opts?: WriteOptions): Promise<T> {
    return this.put(res, namespace, obj, opts, 'status');
  }

  private async put<T extends ApiObject>(res: ResourceInfo, namespace: string | undefined, obj: T, opts: WriteOptions | undefined, subresource: string | undefined): Promise<T> {
    const name = obj.metadata?.name;
    if (!name) throw badRequest('resource name may not be empty');
    const out = await this.pipeline.update(this.ctx(opts), res, namespace, name, copy<KubeObject>(obj), subresource);
    return answer<T>(out.body, opts?.readOnly);
  }

  async patch<T extends ApiObject = KubeObject>(
    res: ResourceInfo,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    body: unknown,
    opts?: PatchOptions,
  ): Promise<T> {
    if (opts?.force !== undefined && type !== 'apply') throw badRequest('force: Forbidden: may not be specified for non-apply patch');
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const ctx = { ...this.ctx(opts), force: !!opts?.force };
    const out = await this.pipeline.patch(ctx, res, namespace, name, type, buf, opts?.subresource);
    return answer<T>(out.body, opts?.readOnly);
  }

  async delete(res: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<KubeObject> {
    const { dryRun, readOnly, ...rest } = opts;
    const out = await this.pipeline.delete(this.ctx({ dryRun }), res, namespace, name, copy(rest));
    return answer<KubeObject>(out.body, readOnly);
  }

  async getSubresource<R = KubeObject>(res: ResourceInfo, namespace: string | undefined, name: string, subresource: string): Promise<R> {
    const out = await this.pipeline.get(this.ctx(undefined), res, namespace, name, subresource);
    return copy<R>(out.body);
  }

  async createSubresource<R = KubeObject>(res: ResourceInfo, namespace: string | undefined, name: string, subresource: string, body: object, opts?: { readOnly?: boolean }): Promise<R> {
    const out = await this.pipeline.create(this.ctx(undefined), res, namespace, copy<KubeObject>(body), name, subresource);
    return answer<R>(out.body, opts?.readOnly);
  }

  close(): void {}
}
