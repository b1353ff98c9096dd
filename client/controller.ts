// Writing a controller the upstream way: informers feed keys into a rate-limited work
// queue; workers reconcile one key at a time from the informers' caches, level-
// triggered (nothing depends on having seen a particular event). Expectations
// (upstream: pkg/controller/controller_utils.go ControllerExpectations) keep a
// controller from acting twice on a key while its own creates and deletes are still
// on their way back through the watch.
import type { ApiObject } from './transport.js';
import type { Informer } from './informer.js';
import { objectKey } from './keys.js';
import { WorkQueue, runWorkers } from './workqueue.js';
import type { RateLimiter, ReconcileResult } from './workqueue.js';

export interface Controller {
  readonly name: string;
  /** Wait for the caches, then start the workers; resolves once they run (or stop() came first). */
  start(): Promise<void>;
  /** Shut the queue down and wait for the workers to finish their current keys. */
  stop(): Promise<void>;
}

export interface QueueControllerOptions {
  name: string;
  /** Concurrent workers (different keys only). Default 1. */
  workers?: number;
  /** The reconcile function, unless a subclass overrides reconcile(). */
  reconcile?: (key: string) => Promise<ReconcileResult | void>;
  rateLimiter?: RateLimiter<string>;
  /** Drop a key after this many failures in a row (default: retry forever). */
  maxRetries?: number;
  /** Wait this long for caches at start (default: forever). */
  syncTimeoutMs?: number;
  log?: (msg: string) => void;
}

/** Maps an object seen by an informer to the keys to reconcile (default: its own key). */
export type KeyMapper<T> = (obj: T) => string | readonly string[] | undefined;

/**
 * The base: call watch(informer, mapper) for every informer the controller reads, then
 * start(). Subclass and override reconcile(), or pass `reconcile` in the options.
 */
export class QueueController implements Controller {
  readonly name: string;
  readonly queue: WorkQueue<string>;
  private readonly informers = new Set<Informer<ApiObject>>();
  private readonly registrations: { remove(): void }[] = [];
  private workers?: Promise<void>;
  private stopped = false;
  protected readonly log: (msg: string) => void;

  constructor(protected readonly opts: QueueControllerOptions) {
    this.name = opts.name;
    this.queue = new WorkQueue<string>({ name: opts.name, rateLimiter: opts.rateLimiter });
    this.log = opts.log ?? ((msg) => console.error(msg));
  }

  /**
   * Enqueue keys for every add, update and delete `informer` delivers. `filter` can
   * skip updates that don't matter (e.g. only resourceVersion changed). With
   * `ownersListed`, the adds of the informer's initial list enqueue nothing: the keys
   * they map to are owners (Services, PDBs) that a watched informer of their own enqueues
   * every one of from its initial list, and the workers start only once both have synced
   * — so 150,000 pods need not each be matched against their namespace's Services to
   * enqueue keys that are there already.
   */
  watch<T extends ApiObject>(informer: Informer<T>, map: KeyMapper<T> = objectKey, filter?: { update?: (oldObj: T, newObj: T) => boolean; ownersListed?: boolean }): void {
    this.informers.add(informer as unknown as Informer<ApiObject>);
    const enqueue = (obj: T) => {
      const keys = map(obj);
      if (keys === undefined) return;
      if (typeof keys === 'string') this.queue.add(keys);
      else for (const k of keys) this.queue.add(k);
    };
    const ownersListed = filter?.ownersListed === true;
    this.registrations.push(
      informer.addEventHandler({
        onAdd: (obj, initial) => {
          if (!(initial && ownersListed)) enqueue(obj);
        },
        onUpdate: (oldObj, newObj) => {
          if (filter?.update && !filter.update(oldObj, newObj)) return;
          // An owner change moves the object between keys: both need a look.
          if (map !== objectKey && oldObj !== newObj) enqueue(oldObj);
          enqueue(newObj);
        },
        onDelete: enqueue,
      }),
    );
  }

  /** Also wait for this informer's sync at start, without enqueueing from it. */
  requireSynced<T extends ApiObject>(informer: Informer<T>): void {
    this.informers.add(informer as unknown as Informer<ApiObject>);
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  enqueueObject(obj: ApiObject): void {
    this.queue.add(objectKey(obj));
  }

  enqueueAfter(key: string, ms: number): void {
    this.queue.addAfter(key, ms);
  }

  /** Bring the object `key` names to its desired state. Throw to retry with back-off. */
  protected reconcile(key: string): Promise<ReconcileResult | void> {
    if (!this.opts.reconcile) throw new Error(`controller ${this.name}: no reconcile function`);
    return this.opts.reconcile(key);
  }

  async start(): Promise<void> {
    if (this.workers || this.stopped) return;
    const synced = await Promise.all([...this.informers].map((i) => i.waitForSync(this.opts.syncTimeoutMs)));
    if (this.stopped) return;
    if (!synced.every(Boolean)) {
      this.log(`controller ${this.name}: caches did not sync`);
      return;
    }
    this.workers = runWorkers(this.queue, this.opts.workers ?? 1, (key) => this.reconcile(key), {
      maxRetries: this.opts.maxRetries,
      onError: (key, err, requeues) => this.log(`controller ${this.name}: error syncing "${key}" (retry ${requeues + 1}): ${err instanceof Error ? err.message : String(err)}`),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const r of this.registrations) r.remove();
    this.queue.shutDown();
    await this.workers;
  }
}

// ---- expectations --------------------------------------------------------------

/** Expectations older than this are considered satisfied (a lost watch event must not wedge a key). */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;

export interface Expectation {
  /** Creates still expected to be observed. */
  add: number;
  /** Deletes still expected to be observed. */
  del: number;
  /** When the expectations were set (ms). */
  timestamp: number;
}

/**
 * Per controller key: how many creates and deletes the controller has issued and not
 * yet seen come back through its informer. A controller checks
 * satisfiedExpectations(key) before acting on a key, sets expectations before issuing
 * writes, and its informer handlers call creationObserved / deletionObserved.
 */
export class ControllerExpectations {
  private readonly records = new Map<string, Expectation>();

  constructor(
    protected readonly timeoutMs = EXPECTATIONS_TIMEOUT_MS,
    protected readonly now: () => number = Date.now,
  ) {}

  getExpectations(key: string): Expectation | undefined {
    const e = this.records.get(key);
    return e ? { ...e } : undefined;
  }

  /**
   * True when the controller may act on `key`: nothing is expected, everything expected
   * was observed, or the expectations expired.
   */
  satisfiedExpectations(key: string): boolean {
    const e = this.records.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.now() - e.timestamp > this.timeoutMs;
  }

  setExpectations(key: string, add: number, del: number): void {
    this.records.set(key, { add, del, timestamp: this.now() });
  }

  expectCreations(key: string, adds: number): void {
    this.setExpectations(key, adds, 0);
  }

  expectDeletions(key: string, dels: number): void {
    this.setExpectations(key, 0, dels);
  }

  raiseExpectations(key: string, add: number, del: number): void {
    const e = this.records.get(key);
    if (!e) return;
    e.add += add;
    e.del += del;
  }

  lowerExpectations(key: string, add: number, del: number): void {
    const e = this.records.get(key);
    if (!e) return;
    e.add -= add;
    e.del -= del;
  }

  /** One expected create came back (or will never happen: the create failed). */
  creationObserved(key: string): void {
    this.lowerExpectations(key, 1, 0);
  }

  /** One expected delete came back (or will never happen). */
  deletionObserved(key: string): void {
    this.lowerExpectations(key, 0, 1);
  }

  deleteExpectations(key: string): void {
    this.records.delete(key);
  }
}

/**
 * Expectations that also remember *which* objects are expected to go (upstream:
 * UIDTrackingControllerExpectations), so a delete the controller did not ask for
 * doesn't count, and the same object's deletion doesn't count twice.
 */
export class UIDTrackingExpectations extends ControllerExpectations {
  private readonly pendingDeletes = new Map<string, Set<string>>();

  /** Expect the deletion of these objects (their keys) under controller key `key`. */
  expectDeletionsOf(key: string, objectKeys: readonly string[]): void {
    const set = new Set(objectKeys);
    this.pendingDeletes.set(key, set);
    this.expectDeletions(key, set.size);
  }

  /** The object `objectKey` is gone; counts only if it was expected. */
  deletionObservedOf(key: string, objectKey: string): void {
    const set = this.pendingDeletes.get(key);
    if (!set || !set.delete(objectKey)) return;
    this.deletionObserved(key);
  }

  pendingDeletions(key: string): string[] {
    return [...(this.pendingDeletes.get(key) ?? [])];
  }

  override deleteExpectations(key: string): void {
    super.deleteExpectations(key);
    this.pendingDeletes.delete(key);
  }
}
