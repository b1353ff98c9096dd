// Informers (upstream: client-go tools/cache reflector.go + shared_informer.go): one
// list + watch per resource, kept in an indexed local Store, with change handlers.
//
// The reflector's rules, as upstream has them:
// - list (resourceVersion "0" the first time, the last seen one afterwards, "" after a
//   410), replace the store's contents with the result, then watch from the list's
//   resourceVersion with bookmarks on and a server-side timeout of 5–10 minutes;
// - a watch that ends normally is re-opened from the last resourceVersion seen (events
//   and bookmarks both advance it) — no re-list;
// - a watch that fails (410 Expired, a broken stream, any error) ends this round: the
//   next round re-lists after an exponential back-off (800 ms doubling to 30 s, with
//   jitter, reset after two quiet minutes); 429 and "connection refused" only back off
//   and re-watch;
// - a re-list that no longer contains an object delivers onDelete with the last state
//   the store had (the tombstone; `finalStateUnknown` = true).
//
// Handlers run synchronously, in order, as each change is applied to the store; they
// should be cheap (enqueue a key). Objects are shared between the store and every
// handler, and in process (LocalTransport) with the API server's watch cache and every
// other in-process informer (lists and watches are `readOnly`): never mutate them.
import type { KubeObject } from '../machinery/object.js';
import type { ResourceInfo } from '../machinery/resources.js';
import type { ApiObject, ApiTransport, Watch, WatchEvent } from './transport.js';
import { isConnectionRefused, isExpired, isTooManyRequests } from './transport.js';
import { objectKey } from './keys.js';
import { NAMESPACE_INDEX, Store, indexByNamespace } from './store.js';
import { sliceUsedUp, yieldToEventLoop } from './timeslice.js';
import type { Indexers, ReadonlyStore } from './store.js';

export interface EventHandler<T> {
  /** `isInInitialList`: the object came with the first list (or the handler joined late). */
  onAdd?(obj: T, isInInitialList: boolean): void;
  /** Also called with old === new on a periodic resync. */
  onUpdate?(oldObj: T, newObj: T): void;
  /**
   * `obj` is the object's last state: from the DELETED event, or — when a re-list
   * found it gone (`finalStateUnknown`) — the last state the store had.
   */
  onDelete?(obj: T, finalStateUnknown: boolean): void;
}

export interface HandlerOptions {
  /** Re-deliver every object to this handler as onUpdate(obj, obj) this often. 0: never. */
  resyncPeriodMs?: number;
}

export interface HandlerRegistration {
  /** True once this handler has been given every object of the initial list. */
  hasSynced(): boolean;
  remove(): void;
}

export interface InformerOptions<T> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Extra indexes; namespaced resources always get `byNamespace`. */
  indexers?: Indexers<T>;
  /** Default resync period for handlers that don't set one. 0 (the default): off. */
  resyncPeriodMs?: number;
  /** List page size; default: the transport's preference (500 over HTTP, none in process). */
  pageSize?: number;
  /** Watches ask the server to end them after this, times 1–2 (default 300 s, as upstream). */
  minWatchTimeoutSeconds?: number;
  /** Back-off between list+watch rounds. */
  backoff?: { initialMs?: number; maxMs?: number; resetAfterMs?: number };
  /** For log lines; default `<plural>.<group>`. */
  name?: string;
  /** Where warnings go; default console.warn. */
  log?: (msg: string) => void;
  /**
   * Keep objects without metadata.managedFields (upstream's scheduler and controller
   * manager strip them from their informers: nobody reads them there, and they are a
   * large share of every object's size and copying).
   */
  stripManagedFields?: boolean;
}

interface Registration<T> {
  handler: EventHandler<T>;
  synced: boolean;
  removed: boolean;
  resyncMs: number;
  timer?: NodeJS.Timeout;
}

const DEFAULT_BACKOFF = { initialMs: 800, maxMs: 30_000, resetAfterMs: 120_000 };

export class Informer<T extends ApiObject = KubeObject> {
  readonly name: string;
  private readonly storeImpl: Store<T>;
  private handlers: Registration<T>[] = [];
  private started = false;
  private stopped = false;
  private synced = false;
  private syncWaiters: ((ok: boolean) => void)[] = [];
  private lastRV = '';
  private rvUnavailable = false;
  private currentWatch?: Watch;
  private watchGeneration = 0;
  private wake?: () => void;
  private sleepTimer?: NodeJS.Timeout;
  private loop?: Promise<void>;
  private readonly backoff: { initialMs: number; maxMs: number; resetAfterMs: number };
  private readonly log: (msg: string) => void;

  constructor(
    readonly transport: ApiTransport,
    readonly resource: ResourceInfo,
    private readonly opts: InformerOptions<T> = {},
  ) {
    this.name = opts.name ?? (resource.group ? `${resource.plural}.${resource.group}` : resource.plural);
    this.storeImpl = new Store<T>(opts.indexers ?? {});
    // Built when first asked for (most users never list by namespace).
    if (resource.namespaced && !opts.indexers?.[NAMESPACE_INDEX]) this.storeImpl.addLazyIndexers({ [NAMESPACE_INDEX]: indexByNamespace });
    this.backoff = { ...DEFAULT_BACKOFF, ...(opts.backoff ?? {}) };
    this.log = opts.log ?? ((msg) => console.warn(msg));
  }

  get namespace(): string | undefined {
    return this.opts.namespace;
  }

  /** The indexed cache. Shared objects: read-only. */
  get store(): ReadonlyStore<T> {
    return this.storeImpl;
  }

  /** Add indexes (allowed at any time; existing objects are indexed at once). */
  addIndexers(indexers: Indexers<T>): void {
    this.storeImpl.addIndexers(indexers);
  }

  /** The resourceVersion of the last list, event or bookmark seen. */
  lastSyncResourceVersion(): string {
    return this.lastRV;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once the first list is in the store, false if the informer stops first (or `timeoutMs` passes). */
  waitForSync(timeoutMs?: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (ok: boolean) => {
        if (timer) clearTimeout(timer);
        resolve(ok);
      };
      this.syncWaiters.push(done);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  /**
   * Register handlers. Joining after the informer synced, the handler is first given
   * every object in the store as onAdd(obj, true), synchronously, in this call.
   */
  addEventHandler(handler: EventHandler<T>, opts: HandlerOptions = {}): HandlerRegistration {
    const reg: Registration<T> = { handler, synced: false, removed: false, resyncMs: opts.resyncPeriodMs ?? this.opts.resyncPeriodMs ?? 0 };
    this.handlers = [...this.handlers, reg];
    if (this.synced) {
      if (handler.onAdd) for (const obj of this.storeImpl.list()) this.call(() => handler.onAdd!(obj, true));
      reg.synced = true;
    }
    if (this.started && !this.stopped) this.armResync(reg);
    return {
      hasSynced: () => reg.synced,
      remove: () => {
        reg.removed = true;
        if (reg.timer) clearInterval(reg.timer);
        this.handlers = this.handlers.filter((r) => r !== reg);
      },
    };
  }

  /** Begin listing and watching (idempotent; an informer can't be restarted after stop()). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const reg of this.handlers) this.armResync(reg);
    this.loop = this.run();
  }

  /** Stop watching; the store keeps its last contents. Resolves when the loop has exited. */
  async stop(): Promise<void> {
    if (this.stopped) return this.loop;
    this.stopped = true;
    this.currentWatch?.stop();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
    for (const reg of this.handlers) if (reg.timer) clearInterval(reg.timer);
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of waiters) w(false);
    await this.loop;
  }

  isStopped(): boolean {
    return this.stopped;
  }

  // ---- the reflector loop ----------------------------------------------------

  private async run(): Promise<void> {
    let delay = this.backoff.initialMs;
    while (!this.stopped) {
      const began = Date.now();
      try {
        await this.listAndWatch();
      } catch (err) {
        if (!this.stopped) this.log(`informer ${this.name}: ${errorText(err)}`);
      }
      if (this.stopped) break;
      if (Date.now() - began > this.backoff.resetAfterMs) delay = this.backoff.initialMs;
      await this.sleep(delay * (1 + Math.random()));
      delay = Math.min(delay * 2, this.backoff.maxMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
      this.sleepTimer = setTimeout(() => this.wake?.(), ms);
    });
  }

  private async listAndWatch(): Promise<void> {
    await this.list();
    if (this.stopped) return;
    let watchBackoff = this.backoff.initialMs;
    for (;;) {
      if (this.stopped) return;
      const began = Date.now();
      let events = 0;
      const generation = ++this.watchGeneration;
      const min = this.opts.minWatchTimeoutSeconds ?? 300;
      const w = this.transport.watch<T>(
        this.resource,
        this.opts.namespace,
        {
          resourceVersion: this.lastRV,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          allowWatchBookmarks: true,
          timeoutSeconds: Math.floor(min * (1 + Math.random())),
          withoutManagedFields: this.opts.stripManagedFields,
          readOnly: true,
        },
        (ev) => {
          if (generation !== this.watchGeneration || this.stopped) return;
          events++;
          this.onWatchEvent(ev);
        },
      );
      this.currentWatch = w;
      const end = await w.done;
      this.currentWatch = undefined;
      // Events delivered after this point belong to a finished watch.
      this.watchGeneration++;
      if (this.stopped || end.reason === 'stopped') return;
      if (end.reason === 'error') {
        const err = end.error;
        if (isExpired(err)) return; // re-list (at the last resourceVersion seen)
        if (isTooManyRequests(err) || isConnectionRefused(err)) {
          await this.sleep(watchBackoff * (1 + Math.random()));
          watchBackoff = Math.min(watchBackoff * 2, this.backoff.maxMs);
          continue;
        }
        this.log(`informer ${this.name}: watch ended with: ${errorText(err)}`);
        return;
      }
      if (events === 0 && Date.now() - began < 1000) {
        this.log(`informer ${this.name}: very short watch: unexpected watch close - watch lasted less than a second and no items received`);
        return;
      }
      watchBackoff = this.backoff.initialMs;
    }
  }

  private async list(): Promise<void> {
    const pageSize = this.opts.pageSize ?? this.transport.preferredPageSize;
    let items: T[];
    let rv: string;
    try {
      ({ items, rv } = await this.listAll(this.relistResourceVersion(), pageSize));
    } catch (err) {
      if (!isExpired(err) || this.stopped) throw err;
      // The resourceVersion asked for is gone: list whatever is newest.
      this.rvUnavailable = true;
      ({ items, rv } = await this.listAll('', pageSize));
    }
    if (this.stopped) return;
    this.rvUnavailable = false;
    await this.replace(items);
    if (this.stopped) return;
    this.lastRV = rv;
    if (!this.synced) {
      this.synced = true;
      for (const reg of this.handlers) reg.synced = true;
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of waiters) w(true);
    }
  }

  private relistResourceVersion(): string {
    if (this.rvUnavailable) return '';
    return this.lastRV === '' ? '0' : this.lastRV;
  }

  /**
   * All pages. The resourceVersion kept is the first page's: a later page may have been
   * read at a newer revision, and watching from the oldest one replays whatever
   * changed in between (at worst as an update of an object already seen).
   */
  private async listAll(resourceVersion: string, pageSize: number): Promise<{ items: T[]; rv: string }> {
    const items: T[] = [];
    let rv: string | undefined;
    let cont: string | undefined;
    do {
      const page = await this.transport.list<T>(this.resource, this.opts.namespace, {
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        resourceVersion: cont ? undefined : resourceVersion,
        limit: pageSize > 0 ? pageSize : undefined,
        continue: cont,
        withoutManagedFields: this.opts.stripManagedFields,
        readOnly: true,
      });
      for (const item of page.items) items.push(this.trimmed(item));
      rv ??= page.resourceVersion;
      cont = page.continue;
    } while (cont && !this.stopped);
    return { items, rv: rv ?? '' };
  }

  /**
   * Make the store equal to a fresh list, telling handlers what changed. A big list
   * (every pod) is applied a time slice at a time, yielding to the event loop in
   * between (client/timeslice.ts), as upstream's store too takes a re-list in one
   * object at a time; no watch runs meanwhile, so nothing else changes the store.
   */
  private async replace(items: T[]): Promise<void> {
    const store = this.storeImpl;
    const initial = !this.synced;
    const seen = new Set<string>();
    const apiVersion = this.resource.group ? `${this.resource.group}/${this.resource.version}` : this.resource.version;
    for (const obj of items) {
      if (sliceUsedUp()) {
        await yieldToEventLoop();
        if (this.stopped) return;
      }
      // List items may come without type meta over HTTP (fresh objects; in process the
      // registry's items, shared, always carry it); watch events carry it.
      if (!obj.kind) (obj as ApiObject).kind = this.resource.kind;
      if (!obj.apiVersion) (obj as ApiObject).apiVersion = apiVersion;
      const key = objectKey(obj);
      seen.add(key);
      const old = store.set(key, obj);
      if (!old) this.dispatchAdd(obj, initial);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.dispatchUpdate(old, obj);
    }
    if (store.size > seen.size) {
      for (const key of store.listKeys()) {
        if (seen.has(key)) continue;
        const old = store.delete(key)!;
        this.dispatchDelete(old, true);
      }
    }
  }

  /**
   * The object as the store keeps it (without managedFields when asked, whatever the
   * transport sent). Only a fresh object (over HTTP) still has them: the in-process
   * transport hands out shared objects already without them (views), never touched here.
   */
  private trimmed(obj: T): T {
    if (this.opts.stripManagedFields && obj.metadata?.managedFields) delete (obj.metadata as { managedFields?: unknown }).managedFields;
    return obj;
  }

  private onWatchEvent(ev: WatchEvent<T>): void {
    const obj = this.trimmed(ev.object);
    switch (ev.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const old = this.storeImpl.set(objectKey(obj), obj);
        if (old) this.dispatchUpdate(old, obj);
        else this.dispatchAdd(obj, false);
        break;
      }
      case 'DELETED': {
        const old = this.storeImpl.delete(objectKey(obj));
        if (old) this.dispatchDelete(obj, false);
        break;
      }
      case 'BOOKMARK':
        break;
    }
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.lastRV = rv;
  }

  // ---- handlers ----------------------------------------------------------------

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log(`informer ${this.name}: event handler failed: ${errorText(err)}`);
    }
  }

  private dispatchAdd(obj: T, initial: boolean): void {
    for (const reg of this.handlers) {
      const h = reg.handler;
      if (h.onAdd && !reg.removed) this.call(() => h.onAdd!(obj, initial));
    }
  }

  private dispatchUpdate(old: T, obj: T): void {
    for (const reg of this.handlers) {
      const h = reg.handler;
      if (h.onUpdate && !reg.removed) this.call(() => h.onUpdate!(old, obj));
    }
  }

  private dispatchDelete(obj: T, finalStateUnknown: boolean): void {
    for (const reg of this.handlers) {
      const h = reg.handler;
      if (h.onDelete && !reg.removed) this.call(() => h.onDelete!(obj, finalStateUnknown));
    }
  }

  private armResync(reg: Registration<T>): void {
    if (reg.resyncMs <= 0 || reg.timer || !reg.handler.onUpdate) return;
    reg.timer = setInterval(() => {
      if (!this.synced || reg.removed || this.stopped) return;
      for (const obj of this.storeImpl.list()) this.call(() => reg.handler.onUpdate!(obj, obj));
    }, reg.resyncMs);
    reg.timer.unref();
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---- the shared factory ------------------------------------------------------

export interface InformerRequest<T> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Merged into the shared informer's indexes. */
  indexers?: Indexers<T>;
}

export interface InformerFactoryOptions {
  /** Default namespace for every informer (undefined: all namespaces). */
  namespace?: string;
  /** Default handler resync period (0: off). */
  resyncPeriodMs?: number;
  /** Options passed to every informer made. */
  informerDefaults?: Omit<InformerOptions<ApiObject>, 'namespace' | 'labelSelector' | 'fieldSelector' | 'indexers'>;
}

/**
 * One informer per (resource, namespace, label selector, field selector), shared by
 * everyone who asks. start() starts them all — and, from then on, every informer made
 * later — stop() stops them all.
 */
export class SharedInformerFactory {
  private readonly informers = new Map<string, Informer<ApiObject>>();
  private started = false;
  private stopped = false;

  constructor(
    readonly transport: ApiTransport,
    private readonly opts: InformerFactoryOptions = {},
  ) {}

  informerFor<T extends ApiObject = KubeObject>(res: ResourceInfo, req: InformerRequest<T> = {}): Informer<T> {
    const namespace = req.namespace ?? this.opts.namespace;
    const id = [res.group, res.version, res.plural, namespace ?? '', req.labelSelector ?? '', req.fieldSelector ?? ''].join('|');
    let inf = this.informers.get(id) as Informer<T> | undefined;
    if (!inf) {
      inf = new Informer<T>(this.transport, res, {
        ...(this.opts.informerDefaults as InformerOptions<T> | undefined),
        resyncPeriodMs: this.opts.resyncPeriodMs ?? this.opts.informerDefaults?.resyncPeriodMs,
        namespace,
        labelSelector: req.labelSelector,
        fieldSelector: req.fieldSelector,
        indexers: req.indexers,
      });
      this.informers.set(id, inf as unknown as Informer<ApiObject>);
      if (this.started && !this.stopped) inf.start();
    } else if (req.indexers) {
      inf.addIndexers(req.indexers);
    }
    return inf;
  }

  start(): void {
    if (this.stopped) return;
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  /** True when every informer made so far has synced (false if any stopped first or `timeoutMs` passed). */
  async waitForCacheSync(timeoutMs?: number): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].map((i) => i.waitForSync(timeoutMs)));
    return results.every(Boolean);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }

  all(): Informer<ApiObject>[] {
    return [...this.informers.values()];
  }
}
