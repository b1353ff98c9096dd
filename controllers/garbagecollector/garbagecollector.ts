// The garbage collector (upstream: pkg/controller/garbagecollector/garbagecollector.go).
// Informers on every listable resource feed a graph of ownerReferences; two queues of
// uids do the work:
// - attemptToDelete: an object whose owners are all gone (absent, or present with another
//   uid) is deleted — in the background, or in the foreground when an owner is itself
//   being deleted in the foreground and the object has dependents of its own; dangling
//   references next to a live owner are just removed. An owner being deleted in the
//   foreground (finalizer `foregroundDeletion`) keeps the finalizer until its dependents
//   with blockOwnerDeletion are gone.
// - attemptToOrphan: an owner deleted with propagationPolicy=Orphan (finalizer `orphan`)
//   has its ownerReference removed from every dependent, then loses the finalizer.
// Owners are looked up live (the cache can lag); a small cache remembers owners known to
// be absent.
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { Controller } from '../../client/controller.js';
import type { EventRecorder } from '../../client/events.js';
import { Informer } from '../../client/informer.js';
import type { ApiObject, ApiTransport, DeleteOptions } from '../../client/transport.js';
import { isConflict, isNotFound } from '../../client/transport.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import type { KubeObject } from '../../machinery/object.js';
import type { ResourceInfo } from '../../machinery/resources.js';
import { RESOURCES, allResources, apiVersionOf, onResourcesChanged, resourceByKind, splitApiVersion } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';
import type { ControllerContext } from '../manager.js';
import { DependencyGraph, FINALIZER_FOREGROUND, FINALIZER_ORPHAN, GraphNode, identityString } from './graph.js';
import type { ObjectIdentity } from './graph.js';

/** Resources the collector does not watch (upstream ignores events, which never own anything). */
const IGNORED = new Set(['/events', 'events.k8s.io/events']);

/** Every stored, listable resource, once per storage (the version that owns it). */
export function monitoredResources(): ResourceInfo[] {
  return RESOURCES.filter((r) => !r.virtual && !r.storedAs && r.verbs.includes('list') && r.verbs.includes('watch') && r.verbs.includes('delete') && !IGNORED.has(`${r.group}/${r.plural}`));
}

/** The resource an ownerReference's apiVersion/kind names (any served version of the group/kind as a fallback). */
export function resourceForKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  const { group, version } = splitApiVersion(apiVersion);
  const exact = resourceByKind(group, version, kind);
  if (exact && !exact.virtual) return exact;
  const all = allResources();
  return all.find((r) => r.group === group && r.kind === kind && !r.virtual && !r.storedAs) ?? all.find((r) => r.group === group && r.kind === kind && !r.virtual);
}

/** A dependent that can never resolve its owner (cluster-scoped dependent, namespaced owner). */
class InvalidOwnerScope extends Error {}

type Classified = { solid: OwnerReference[]; dangling: OwnerReference[]; waiting: OwnerReference[] };

export interface GarbageCollectorOptions {
  /** Workers per queue (upstream: --concurrent-gc-syncs, 20). */
  workers?: number;
  /** Resources to watch; default every listable resource (tests narrow it). */
  resources?: readonly ResourceInfo[];
  log?: (msg: string) => void;
}

/** A bounded set of absent owners (upstream: an LRU of 500). */
class AbsentOwnerCache {
  private readonly keys = new Map<string, true>();
  constructor(private readonly max = 500) {}
  has(key: string): boolean {
    if (!this.keys.has(key)) return false;
    this.keys.delete(key);
    this.keys.set(key, true);
    return true;
  }
  add(key: string): void {
    this.keys.delete(key);
    this.keys.set(key, true);
    if (this.keys.size > this.max) this.keys.delete(this.keys.keys().next().value as string);
  }
}

export class GarbageCollector implements Controller {
  readonly name = 'garbagecollector';
  readonly graph: DependencyGraph;
  readonly attemptToDelete = new WorkQueue<string>({ name: 'garbage_collector_attempt_to_delete' });
  readonly attemptToOrphan = new WorkQueue<string>({ name: 'garbage_collector_attempt_to_orphan' });
  readonly informers: Informer<ApiObject>[] = [];
  private readonly transport: ApiTransport;
  private readonly recorder: EventRecorder;
  private readonly absentOwners = new AbsentOwnerCache();
  private readonly registrations: { remove(): void }[] = [];
  private readonly log: (msg: string) => void;
  private workers?: Promise<void>;
  private stopped = false;
  private readonly customMonitors = new Map<string, { res: ResourceInfo; informer: Informer<ApiObject>; reg: { remove(): void } }>();
  private unsubscribe?: () => void;

  constructor(
    ctx: ControllerContext,
    private readonly opts: GarbageCollectorOptions = {},
  ) {
    this.transport = ctx.transport;
    this.recorder = ctx.events.newRecorder('garbage-collector-controller');
    this.log = opts.log ?? ((msg) => console.error(msg));
    this.graph = new DependencyGraph(
      {
        attemptToDelete: (uid) => this.attemptToDelete.add(uid),
        attemptToOrphan: (uid) => this.attemptToOrphan.add(uid),
        invalidNamespaceOwnerRef: (dep, ref) => this.reportInvalidNamespaceOwnerRef(dep, ref),
      },
      (apiVersion, kind) => resourceForKind(apiVersion, kind)?.namespaced,
    );
    for (const res of opts.resources ?? monitoredResources()) this.monitor(ctx.informers.informerFor<ApiObject>(res), res);
    // Custom resources come and go with their CRDs (upstream resyncs its monitors from
    // discovery): each gets a private informer, stopped when it is no longer served.
    if (!opts.resources) {
      this.unsubscribe = onResourcesChanged(() => this.syncCustomMonitors());
      this.syncCustomMonitors();
    }
  }

  private monitor(inf: Informer<ApiObject>, res: ResourceInfo): { remove(): void } {
    this.informers.push(inf);
    const apiVersion = apiVersionOf(res);
    const identity = (obj: ApiObject): ObjectIdentity => ({
      apiVersion,
      kind: res.kind,
      namespace: obj.metadata?.namespace ?? '',
      name: obj.metadata?.name ?? '',
      uid: obj.metadata?.uid ?? '',
    });
    const reg = inf.addEventHandler({
      onAdd: (obj) => {
        if (obj.metadata?.uid) this.graph.observe(identity(obj), obj);
      },
      onUpdate: (oldObj, obj) => {
        if (obj.metadata?.uid && oldObj !== obj) this.graph.observe(identity(obj), obj, oldObj);
      },
      onDelete: (obj) => {
        if (obj.metadata?.uid) this.graph.remove(identity(obj));
      },
    });
    this.registrations.push(reg);
    return reg;
  }

  private syncCustomMonitors(): void {
    if (this.stopped) return;
    const wanted = new Map<string, ResourceInfo>();
    for (const r of allResources()) if (r.custom && !r.storedAs && !r.custom.terminating) wanted.set(`${r.group}/${r.version}/${r.plural}`, r);
    for (const [id, m] of this.customMonitors) {
      if (wanted.get(id)?.namespaced === m.res.namespaced) continue;
      m.reg.remove();
      void m.informer.stop();
      this.informers.splice(this.informers.indexOf(m.informer), 1);
      this.customMonitors.delete(id);
    }
    for (const [id, res] of wanted) {
      if (this.customMonitors.has(id)) continue;
      const informer = new Informer<ApiObject>(this.transport, res, {});
      const reg = this.monitor(informer, res);
      this.customMonitors.set(id, { res, informer, reg });
      informer.start();
    }
  }

  async start(): Promise<void> {
    if (this.workers || this.stopped) return;
    // The graph must be complete before anything is judged garbage.
    const synced = await Promise.all(this.informers.map((i) => i.waitForSync()));
    if (this.stopped || !synced.every(Boolean)) return;
    const n = this.opts.workers ?? 5;
    const onError = (uid: string, err: unknown, requeues: number) => {
      const node = this.graph.get(uid);
      const what = node ? identityString(node.identity) : uid;
      if (requeues < 3 || requeues % 10 === 0) this.log(`garbage collector: error syncing ${what} (retry ${requeues + 1}): ${err instanceof Error ? err.message : String(err)}`);
    };
    this.workers = Promise.all([
      runWorkers(this.attemptToDelete, n, (uid) => this.processAttemptToDelete(uid), { onError }),
      runWorkers(this.attemptToOrphan, n, (uid) => this.processAttemptToOrphan(uid), { onError }),
    ]).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const m of this.customMonitors.values()) await m.informer.stop();
    for (const r of this.registrations) r.remove();
    this.attemptToDelete.shutDown();
    this.attemptToOrphan.shutDown();
    await this.workers;
  }

  /** True when the graph has nothing queued or in flight (for tests). */
  idle(): boolean {
    return this.attemptToDelete.len() === 0 && this.attemptToOrphan.len() === 0;
  }

  // ---- API access by identity -------------------------------------------------

  private resourceOf(id: { apiVersion: string; kind: string }): ResourceInfo | undefined {
    return resourceForKind(id.apiVersion, id.kind);
  }

  private async getObject(id: ObjectIdentity): Promise<KubeObject | undefined> {
    const res = this.resourceOf(id);
    if (!res) return undefined;
    try {
      return await this.transport.get<KubeObject>(res, res.namespaced ? id.namespace : undefined, id.name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async deleteObject(id: ObjectIdentity, policy: DeleteOptions['propagationPolicy']): Promise<void> {
    const res = this.resourceOf(id);
    if (!res) return;
    try {
      await this.transport.delete(res, res.namespaced ? id.namespace : undefined, id.name, { propagationPolicy: policy, preconditions: { uid: id.uid } });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  /**
   * Read-modify-write of an object's metadata with a resourceVersion precondition
   * (a JSON merge patch), retried on conflict. `change` returns the metadata fields
   * to write, or undefined when nothing needs changing.
   */
  private async patchMetadata(id: ObjectIdentity, change: (obj: KubeObject) => Record<string, unknown> | undefined): Promise<void> {
    const res = this.resourceOf(id);
    if (!res) return;
    const ns = res.namespaced ? id.namespace : undefined;
    for (let attempt = 0; ; attempt++) {
      const obj = await this.getObject(id);
      if (!obj || obj.metadata?.uid !== id.uid) return;
      const fields = change(obj);
      if (!fields) return;
      try {
        await this.transport.patch(res, ns, id.name, 'merge', { metadata: { ...fields, resourceVersion: obj.metadata?.resourceVersion } });
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (isConflict(err) && attempt < 5) continue;
        throw err;
      }
    }
  }

  private removeFinalizer(id: ObjectIdentity, finalizer: string): Promise<void> {
    return this.patchMetadata(id, (obj) => {
      const finalizers = obj.metadata?.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return undefined;
      const rest = finalizers.filter((f) => f !== finalizer);
      return { finalizers: rest.length ? rest : null };
    });
  }

  private removeOwnerReferences(id: ObjectIdentity, uids: ReadonlySet<string>): Promise<void> {
    return this.patchMetadata(id, (obj) => {
      const refs = obj.metadata?.ownerReferences ?? [];
      const rest = refs.filter((r) => !uids.has(r.uid));
      if (rest.length === refs.length) return undefined;
      return { ownerReferences: rest.length ? rest : null };
    });
  }

  private unblockOwnerReferences(id: ObjectIdentity, uids: ReadonlySet<string>): Promise<void> {
    return this.patchMetadata(id, (obj) => {
      const refs = obj.metadata?.ownerReferences ?? [];
      if (!refs.some((r) => uids.has(r.uid) && r.blockOwnerDeletion)) return undefined;
      return { ownerReferences: refs.map((r) => (uids.has(r.uid) ? { ...r, blockOwnerDeletion: false } : r)) };
    });
  }

  // ---- attemptToDelete ---------------------------------------------------------------

  private async processAttemptToDelete(uid: string): Promise<ReconcileResult | void> {
    const node = this.graph.get(uid);
    if (!node) return;
    try {
      await this.attemptToDeleteItem(node);
    } catch (err) {
      if (err instanceof InvalidOwnerScope) return; // retrying would not help
      throw err;
    }
    // A virtual node the API says exists: look again until an informer has seen it (or it went).
    const now = this.graph.get(uid);
    if (now && !now.observed) return { requeueAfterMs: 1000 };
  }

  private async attemptToDeleteItem(item: GraphNode): Promise<void> {
    // Being deleted (and not waiting for dependents) is a one-way trip: wait for the final delete.
    if (item.beingDeleted && !item.deletingDependents) return;
    const latest = await this.getObject(item.identity);
    if (!latest || latest.metadata?.uid !== item.uid) {
      // Absent (or replaced by an object of the same name): take the node out; its dependents get a look.
      this.graph.remove(item.identity, true);
      return;
    }
    if (latest.metadata?.deletionTimestamp && (latest.metadata.finalizers ?? []).includes(FINALIZER_FOREGROUND)) item.deletingDependents = true;
    if (item.deletingDependents) return this.processDeletingDependentsItem(item);

    const refs = latest.metadata?.ownerReferences ?? [];
    if (refs.length === 0) return;
    const { solid, dangling, waiting } = await this.classifyReferences(item, refs);

    if (solid.length > 0) {
      if (dangling.length === 0 && waiting.length === 0) return;
      // A live owner remains: only the references to gone or going owners are dropped.
      await this.removeOwnerReferences(item.identity, new Set([...dangling, ...waiting].map((r) => r.uid)));
      return;
    }
    if (waiting.length > 0 && item.dependents.size > 0) {
      for (const dep of item.dependents) {
        if (dep.deletingDependents) {
          // A possible cycle (a dependent waits for its own dependents too): stop blocking the waiting owners.
          await this.unblockOwnerReferences(item.identity, new Set(waiting.map((r) => r.uid)));
          break;
        }
      }
      // The owner waits for this object, which waits for its own dependents.
      await this.deleteObject(item.identity, 'Foreground');
      return;
    }
    const finalizers = latest.metadata?.finalizers ?? [];
    const policy = finalizers.includes(FINALIZER_ORPHAN) ? 'Orphan' : finalizers.includes(FINALIZER_FOREGROUND) ? 'Foreground' : 'Background';
    await this.deleteObject(item.identity, policy);
  }

  /** An owner deleted in the foreground: done when no dependent blocks it any more. */
  private async processDeletingDependentsItem(item: GraphNode): Promise<void> {
    const blocking = item.blockingDependents();
    if (blocking.length === 0) {
      await this.removeFinalizer(item.identity, FINALIZER_FOREGROUND);
      return;
    }
    for (const dep of blocking) if (!dep.deletingDependents) this.attemptToDelete.add(dep.uid);
  }

  private async classifyReferences(item: GraphNode, refs: readonly OwnerReference[]): Promise<Classified> {
    const out: Classified = { solid: [], dangling: [], waiting: [] };
    for (const ref of refs) {
      const { dangling, owner } = await this.isDangling(ref, item);
      if (dangling) out.dangling.push(ref);
      else if (owner && owner.metadata?.deletionTimestamp && (owner.metadata.finalizers ?? []).includes(FINALIZER_FOREGROUND)) out.waiting.push(ref);
      else out.solid.push(ref);
    }
    return out;
  }

  private async isDangling(ref: OwnerReference, item: GraphNode): Promise<{ dangling: boolean; owner?: KubeObject }> {
    if (this.absentOwners.has(`/${ref.uid}`) || this.absentOwners.has(`${item.identity.namespace}/${ref.uid}`)) return { dangling: true };
    const res = this.resourceOf(ref);
    // A kind this server does not serve: never judged absent (upstream retries the lookup).
    if (!res) return { dangling: false };
    if (res.namespaced && item.identity.namespace === '') {
      this.log(`garbage collector: ${identityString(item.identity)} is cluster-scoped but refers to a namespaced owner of kind ${ref.kind}`);
      throw new InvalidOwnerScope();
    }
    const ns = res.namespaced ? item.identity.namespace : '';
    let owner: KubeObject | undefined;
    try {
      owner = await this.transport.get<KubeObject>(res, res.namespaced ? ns : undefined, ref.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!owner || owner.metadata?.uid !== ref.uid) {
      this.absentOwners.add(`${ns}/${ref.uid}`);
      return { dangling: true };
    }
    return { dangling: false, owner };
  }

  // ---- attemptToOrphan -----------------------------------------------------------------

  private async processAttemptToOrphan(uid: string): Promise<void> {
    const owner = this.graph.get(uid);
    if (!owner) return;
    const errors: string[] = [];
    await Promise.all(
      [...owner.dependents].map(async (dep) => {
        try {
          await this.removeOwnerReferences(dep.identity, new Set([uid]));
        } catch (err) {
          errors.push(`${identityString(dep.identity)}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }),
    );
    if (errors.length) throw new StatusError(500, 'InternalError', `failed to orphan dependents of owner ${identityString(owner.identity)}, got errors: ${errors.join('; ')}`);
    await this.removeFinalizer(owner.identity, FINALIZER_ORPHAN);
  }

  private reportInvalidNamespaceOwnerRef(dep: GraphNode, ref: OwnerReference): void {
    const id = dep.identity;
    const invalid = identityString({ apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid, namespace: id.namespace });
    this.recorder.event(
      { kind: id.kind, apiVersion: id.apiVersion, namespace: id.namespace || undefined, name: id.name, uid: id.uid },
      'Warning',
      'OwnerRefInvalidNamespace',
      `ownerRef ${invalid} does not exist in namespace "${id.namespace}"`,
    );
  }
}

export function newGarbageCollector(ctx: ControllerContext, opts: GarbageCollectorOptions = {}): GarbageCollector {
  return new GarbageCollector(ctx, opts);
}

export { GraphNode };
