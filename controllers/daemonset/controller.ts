// The DaemonSet controller (upstream: pkg/controller/daemon/daemon_controller.go): one
// daemon pod on every node that should run it. A sync builds the revision history,
// then (once its earlier creates and deletes have been observed) makes pods for nodes
// without one, deletes pods on nodes that must not run them (and surplus or failed
// ones, with a back-off per node for failures), rolls pods onto the current template,
// and writes the status. Pods are not bound here: each new pod is pinned to its node
// with required node affinity (`metadata.name In [node]`) and the scheduler binds it.
import type { ControllerRevision, DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Node, NodeCondition, Pod } from 'kubernetes-types/core/v1.js';
import { ControllerExpectations, QueueController } from '../../client/controller.js';
import type { HandlerRegistration, Informer } from '../../client/informer.js';
import { OWNER_UID_INDEX, indexByOwnerUID } from '../../client/store.js';
import { objectKey } from '../../client/keys.js';
import type { EventRecorder } from '../../client/events.js';
import type { ApiTransport } from '../../client/transport.js';
import { isConflict, isNotFound } from '../../client/transport.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import type { Mutable } from '../../machinery/object.js';
import type { ControllerContext } from '../manager.js';
import {
  aggregateErrors,
  enqueueOwnerOfDeletedPod,
  enqueueOwnersOfAddedPod,
  enqueueOwnersOfUpdatedPod,
  getControllerOf,
  isPodAvailable,
  isPodReady,
  newControllerRef,
  resolveControllerRef,
  selectorIsEmpty,
  selectorMatches,
  semanticEqual,
} from '../replicaset/controller-utils.js';
import type { ControllerRefLike, PodOwners } from '../replicaset/controller-utils.js';
import { ControllerRefManager } from '../replicaset/ref-manager.js';
import { PODS, PodControl, isNamespaceTerminating } from '../replicaset/pod-control.js';
import { quietLog } from '../replicaset/replicaset.js';
import { CONTROLLER_REVISIONS, ControllerHistory, listControllerRevisions } from '../history/history.js';
import { cleanupHistory, constructHistory } from './history.js';
import type { HistoryContext } from './history.js';
import { DAEMONSETS, NODES } from './resources.js';
import type { NodePods } from './update.js';
import { planRollingUpdate } from './update.js';
import {
  DAEMONSET_KIND,
  DAEMONSET_UNIQUE_LABEL,
  allowsSurge,
  comparePodsByCreationAndPhase,
  createPodTemplate,
  getTargetNodeName,
  isPodUpdated,
  nodeShouldRunDaemonPod,
  replaceDaemonSetPodNodeNameNodeAffinity,
  templateGeneration,
} from './util.js';

/** How many pods one sync creates or deletes at most (upstream BurstReplicas). */
export const DAEMONSET_BURST_REPLICAS = 250;

/** Back-off before a failed daemon pod on a node is deleted again (upstream failedPodsBackoff: 1 s doubling to 15 min). */
class NodeBackoff {
  private readonly entries = new Map<string, { delay: number; last: number }>();
  constructor(
    private readonly initialMs = 1000,
    private readonly maxMs = 15 * 60 * 1000,
  ) {}

  /** Still waiting: how long; else undefined. */
  remaining(key: string, now: number): number | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const left = e.last + e.delay - now;
    return left > 0 ? left : undefined;
  }

  next(key: string, now: number): void {
    const e = this.entries.get(key);
    if (!e || now - e.last > 2 * this.maxMs) this.entries.set(key, { delay: this.initialMs, last: now });
    else this.entries.set(key, { delay: Math.min(e.delay * 2, this.maxMs), last: now });
  }

  gc(now: number): void {
    for (const [k, e] of this.entries) if (now - e.last > 2 * this.maxMs) this.entries.delete(k);
  }
}

export class DaemonSetsController extends QueueController {
  readonly dsInformer: Informer<DaemonSet>;
  readonly podInformer: Informer<Pod>;
  readonly nodeInformer: Informer<Node>;
  readonly revisionInformer: Informer<ControllerRevision>;
  readonly expectations = new ControllerExpectations();
  private readonly transport: ApiTransport;
  private readonly recorder: EventRecorder;
  private readonly podControl: PodControl;
  private readonly history: ControllerHistory;
  private readonly hc: HistoryContext;
  private readonly backoff = new NodeBackoff();
  private readonly handlers: HandlerRegistration[] = [];
  /** Injectable clock (tests). */
  now: () => number = Date.now;

  constructor(ctx: ControllerContext, opts: { workers?: number } = {}) {
    super({ name: 'daemonset', workers: opts.workers ?? 2, log: quietLog });
    this.transport = ctx.transport;
    this.recorder = ctx.events.newRecorder('daemonset-controller');
    this.podControl = new PodControl(ctx.transport, this.recorder);
    this.dsInformer = ctx.informers.informerFor<DaemonSet>(DAEMONSETS);
    this.podInformer = ctx.informers.informerFor<Pod>(PODS, { indexers: { [OWNER_UID_INDEX]: indexByOwnerUID } });
    this.nodeInformer = ctx.informers.informerFor<Node>(NODES);
    this.revisionInformer = ctx.informers.informerFor<ControllerRevision>(CONTROLLER_REVISIONS);
    this.requireSynced(this.dsInformer);
    this.requireSynced(this.podInformer);
    this.requireSynced(this.nodeInformer);
    this.requireSynced(this.revisionInformer);
    this.history = new ControllerHistory(ctx.transport, this.revisionInformer);
    this.hc = { transport: ctx.transport, history: this.history, podStore: this.podInformer.store };

    this.handlers.push(
      this.dsInformer.addEventHandler({
        onAdd: (ds) => this.enqueueObject(ds),
        onUpdate: (_o, ds) => this.enqueueObject(ds),
        onDelete: (ds) => {
          this.expectations.deleteExpectations(objectKey(ds));
          this.enqueueObject(ds);
        },
      }),
      this.podInformer.addEventHandler({
        onAdd: (p) => enqueueOwnersOfAddedPod(this.podOwners, p),
        onUpdate: (o, p) => this.updatePod(o, p),
        onDelete: (p) => enqueueOwnerOfDeletedPod(this.podOwners, p),
      }),
      this.nodeInformer.addEventHandler({
        onAdd: (n) => this.addNode(n),
        onUpdate: (o, n) => this.updateNode(o, n),
        onDelete: () => this.enqueueAll(),
      }),
      this.revisionInformer.addEventHandler({
        onAdd: (r) => this.enqueueRevisionOwner(r),
        onUpdate: (_o, r) => this.enqueueRevisionOwner(r),
        onDelete: (r) => this.enqueueRevisionOwner(r),
      }),
    );
  }

  override async stop(): Promise<void> {
    for (const h of this.handlers) h.remove();
    await super.stop();
  }

  // ---- event handlers ------------------------------------------------------------

  private enqueueAll(): void {
    for (const ds of this.dsInformer.store.list()) this.enqueueObject(ds);
  }

  private resolveControllerRef(namespace: string | undefined, ref: ControllerRefLike): DaemonSet | undefined {
    return resolveControllerRef(this.dsInformer.store, DAEMONSET_KIND.kind, namespace, ref);
  }

  private readonly podOwners: PodOwners<DaemonSet> = {
    resolve: (namespace, ref) => this.resolveControllerRef(namespace, ref),
    byLabels: (pod) => this.daemonSetsForPod(pod),
    enqueue: (ds) => this.enqueueObject(ds),
    created: (ds) => this.expectations.creationObserved(objectKey(ds)),
    deleted: (ds) => this.expectations.deletionObserved(objectKey(ds)),
  };

  private enqueueRevisionOwner(r: ControllerRevision): void {
    const ref = getControllerOf(r);
    if (!ref) return;
    const ds = this.resolveControllerRef(r.metadata?.namespace, ref);
    if (ds) this.enqueueObject(ds);
  }

  private daemonSetsForPod(pod: Pod): DaemonSet[] {
    return this.dsInformer.store.listNamespace(pod.metadata?.namespace ?? '').filter((ds) => !selectorIsEmpty(ds.spec?.selector) && selectorMatches(ds.spec?.selector, pod.metadata?.labels));
  }

  private updatePod(old: Pod, cur: Pod): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const labelChanged = !semanticEqual(old.metadata?.labels, cur.metadata?.labels);
    const ds = enqueueOwnersOfUpdatedPod(this.podOwners, old, cur, labelChanged);
    const mrs = ds?.spec?.minReadySeconds ?? 0;
    if (ds && !isPodReady(old) && isPodReady(cur) && mrs > 0) this.enqueueAfter(objectKey(ds), mrs * 1000 + 1000);
  }

  private addNode(node: Node): void {
    for (const ds of this.dsInformer.store.list()) if (nodeShouldRunDaemonPod(node, ds).shouldRun) this.enqueueObject(ds);
  }

  private updateNode(old: Node, cur: Node): void {
    if (shouldIgnoreNodeUpdate(old, cur)) return;
    for (const ds of this.dsInformer.store.list()) {
      const a = nodeShouldRunDaemonPod(old, ds);
      const b = nodeShouldRunDaemonPod(cur, ds);
      if (a.shouldRun !== b.shouldRun || a.shouldContinueRunning !== b.shouldContinueRunning) this.enqueueObject(ds);
    }
  }

  // ---- sync ----------------------------------------------------------------------

  protected override async reconcile(key: string): Promise<ReconcileResult | void> {
    const cached = this.dsInformer.store.getByKey(key);
    if (!cached) {
      this.expectations.deleteExpectations(key);
      return;
    }
    const ds = cached;
    const nodes = this.nodeInformer.store.list();
    if (selectorIsEmpty(ds.spec?.selector)) {
      this.recorder.event(ds, 'Warning', 'SelectingAll', 'This daemon set is selecting all pods. A non-empty selector is required.');
      return;
    }
    if (!ds.spec?.selector) return;
    // Being deleted: the revisions may already be gone; leave the status alone.
    if (ds.metadata?.deletionTimestamp) return;

    const revisions = await this.adoptOrphanRevisions(ds);
    const { cur, old } = await constructHistory(this.hc, ds, revisions);
    const hash = cur.metadata?.labels?.[DAEMONSET_UNIQUE_LABEL] ?? '';

    if (!this.expectations.satisfiedExpectations(key)) {
      // Only the status: the generation was not processed.
      return this.updateDaemonSetStatus(ds, nodes, hash, false);
    }
    let err: unknown;
    try {
      await this.updateDaemonSet(ds, nodes, hash, key, old);
    } catch (e) {
      err = e;
    }
    const result = await this.updateDaemonSetStatus(ds, nodes, hash, true);
    if (err) throw err;
    return result;
  }

  private async updateDaemonSet(ds: DaemonSet, nodes: Node[], hash: string, key: string, old: ControllerRevision[]): Promise<void> {
    await this.manage(ds, nodes, hash);
    if (this.expectations.satisfiedExpectations(key) && (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
      const nodePods = await this.nodesToDaemonPods(ds);
      const plan = planRollingUpdate(ds, nodes, nodePods, hash, this.now());
      await this.syncNodes(ds, plan.podsToDelete, plan.nodesToCreate, hash);
    }
    const live: Pod[] = [];
    for (const pods of (await this.nodesToDaemonPods(ds)).values()) live.push(...pods);
    await cleanupHistory(this.hc, ds, old, live);
  }

  /** The DaemonSet's revisions (matching its selector), orphans adopted after a fresh look at it. */
  private async adoptOrphanRevisions(ds: DaemonSet): Promise<ControllerRevision[]> {
    const revisions = listControllerRevisions(this.revisionInformer, ds, ds.spec?.selector);
    if (!revisions.some((r) => !getControllerOf(r))) return revisions;
    const fresh = await this.transport.get<DaemonSet>(DAEMONSETS, ds.metadata?.namespace, ds.metadata?.name ?? '');
    if (fresh.metadata?.uid !== ds.metadata?.uid) throw new Error(`original DaemonSet ${objectKey(ds)} is gone: got uid ${fresh.metadata?.uid}, wanted ${ds.metadata?.uid}`);
    if (fresh.metadata?.deletionTimestamp) throw new Error(`${objectKey(ds)} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    const out: ControllerRevision[] = [];
    for (const r of revisions) out.push(getControllerOf(r) ? r : await this.history.adoptControllerRevision(ds, DAEMONSET_KIND, r));
    return out;
  }

  /** The DaemonSet's pods (after adoption and release) by the node each is for; terminal pods being deleted are left out. */
  private async nodesToDaemonPods(ds: DaemonSet): Promise<NodePods> {
    const mgr = new ControllerRefManager<Pod>(
      this.transport,
      { obj: ds, ref: newControllerRef(ds, DAEMONSET_KIND.apiVersion, DAEMONSET_KIND.kind), resource: DAEMONSETS },
      PODS,
      (pod) => selectorMatches(ds.spec?.selector, pod.metadata?.labels),
    );
    const pods = await mgr.claim(this.podInformer.store.listNamespace(ds.metadata?.namespace ?? ''));
    const out: NodePods = new Map();
    for (const pod of pods) {
      const phase = pod.status?.phase;
      if ((phase === 'Succeeded' || phase === 'Failed') && pod.metadata?.deletionTimestamp) continue;
      const node = getTargetNodeName(pod);
      if (!node) continue;
      const list = out.get(node);
      if (list) list.push(pod);
      else out.set(node, [pod]);
    }
    return out;
  }

  /** Make pods where they are missing; delete those that must go. */
  private async manage(ds: DaemonSet, nodes: Node[], hash: string): Promise<void> {
    const nodePods = await this.nodesToDaemonPods(ds);
    const nodesNeeding: string[] = [];
    const toDelete: string[] = [];
    const now = this.now();
    this.backoff.gc(now);
    for (const node of nodes) {
      const r = this.podsShouldBeOnNode(node, nodePods, ds, hash, now);
      nodesNeeding.push(...r.nodesNeeding);
      toDelete.push(...r.toDelete);
    }
    // Unscheduled pods for nodes that no longer exist.
    const existing = new Set(nodes.map((n) => n.metadata?.name ?? ''));
    for (const [node, pods] of nodePods) {
      if (existing.has(node)) continue;
      for (const p of pods) if (!p.spec?.nodeName && !p.metadata?.deletionTimestamp) toDelete.push(p.metadata?.name ?? '');
    }
    await this.syncNodes(ds, toDelete, nodesNeeding, hash);
  }

  private podsShouldBeOnNode(node: Node, nodePods: NodePods, ds: DaemonSet, hash: string, now: number): { nodesNeeding: string[]; toDelete: string[] } {
    const name = node.metadata?.name ?? '';
    const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, ds);
    const pods = nodePods.get(name);
    const nodesNeeding: string[] = [];
    const toDelete: string[] = [];
    if (shouldRun && !pods) {
      nodesNeeding.push(name);
    } else if (shouldContinueRunning && pods) {
      const running: Pod[] = [];
      for (const pod of pods) {
        if (pod.metadata?.deletionTimestamp) continue;
        const phase = pod.status?.phase;
        if (phase === 'Failed') {
          const bkey = `${ds.metadata?.uid}/${name}`;
          const wait = this.backoff.remaining(bkey, now);
          if (wait !== undefined) {
            // Don't kill it again straight away: a pod failing at once every time would spin.
            this.enqueueAfter(objectKey(ds), wait);
            continue;
          }
          this.backoff.next(bkey, now);
          this.recorder.event(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${pod.metadata?.namespace}/${pod.metadata?.name} on node ${name}, will try to kill it`);
          toDelete.push(pod.metadata?.name ?? '');
        } else if (phase === 'Succeeded') {
          // Daemon pods are meant to run forever: a finished one is replaced.
          toDelete.push(pod.metadata?.name ?? '');
        } else {
          running.push(pod);
        }
      }
      if (running.length > 1) {
        running.sort(comparePodsByCreationAndPhase);
        if (!allowsSurge(ds)) {
          // Keep the oldest.
          for (const p of running.slice(1)) toDelete.push(p.metadata?.name ?? '');
        } else {
          // Surge: keep the oldest new and the oldest old pod; the old one goes once the new one is available.
          let oldestNew: Pod | undefined;
          let oldestOld: Pod | undefined;
          for (const p of running) {
            if (p.metadata?.labels?.[DAEMONSET_UNIQUE_LABEL] === hash) {
              if (!oldestNew) {
                oldestNew = p;
                continue;
              }
            } else if (!oldestOld) {
              oldestOld = p;
              continue;
            }
            toDelete.push(p.metadata?.name ?? '');
          }
          if (oldestNew && oldestOld) {
            if (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec?.minReadySeconds ?? 0, now)) toDelete.push(oldestOld.metadata?.name ?? '');
          }
        }
      }
    } else if (!shouldContinueRunning && pods) {
      for (const pod of pods) if (!pod.metadata?.deletionTimestamp) toDelete.push(pod.metadata?.name ?? '');
    }
    return { nodesNeeding, toDelete };
  }

  /** Create pods for `nodesNeeding` (slow start) and delete `toDelete`, with expectations. */
  private async syncNodes(ds: DaemonSet, toDelete: string[], nodesNeeding: string[], hash: string): Promise<void> {
    const key = objectKey(ds);
    const createDiff = Math.min(nodesNeeding.length, DAEMONSET_BURST_REPLICAS);
    const deleteDiff = Math.min(toDelete.length, DAEMONSET_BURST_REPLICAS);
    if (createDiff === 0 && deleteDiff === 0) return;
    this.expectations.setExpectations(key, createDiff, deleteDiff);
    const errs: unknown[] = [];
    const template = createPodTemplate(ds.spec?.template, templateGeneration(ds), hash);
    const ref = newControllerRef(ds, DAEMONSET_KIND.apiVersion, DAEMONSET_KIND.kind);
    const ns = ds.metadata?.namespace ?? '';

    let pos = 0;
    for (let batch = Math.min(createDiff, 1); batch > 0 && pos < createDiff; ) {
      const before = errs.length;
      const slice = nodesNeeding.slice(pos, pos + batch);
      await Promise.all(
        slice.map(async (node) => {
          try {
            await this.podControl.createPods(ns, template, ds, ref, (pod) => {
              const spec = pod.spec as Mutable<NonNullable<Pod['spec']>>;
              spec.affinity = replaceDaemonSetPodNodeNameNodeAffinity(spec.affinity, node);
            });
          } catch (err) {
            // The create will never be observed.
            this.expectations.creationObserved(key);
            if (!isNamespaceTerminating(err)) errs.push(err);
          }
        }),
      );
      pos += batch;
      const skipped = createDiff - pos;
      if (errs.length > before && skipped > 0) {
        this.expectations.lowerExpectations(key, skipped, 0);
        break;
      }
      batch = Math.min(2 * batch, createDiff - pos);
    }

    await Promise.all(
      toDelete.slice(0, deleteDiff).map(async (name) => {
        try {
          await this.podControl.deletePod(ns, name, ds);
        } catch (err) {
          this.expectations.deletionObserved(key);
          if (!isNotFound(err)) errs.push(err);
        }
      }),
    );
    const err = aggregateErrors(errs);
    if (err) throw err;
  }

  /** Count the DaemonSet's pods per node into its status (observedGeneration only when the sync acted). */
  private async updateDaemonSetStatus(ds: DaemonSet, nodes: Node[], hash: string, updateObservedGen: boolean): Promise<ReconcileResult | void> {
    const nodePods = await this.nodesToDaemonPods(ds);
    const now = this.now();
    const mrs = ds.spec?.minReadySeconds ?? 0;
    const generation = templateGeneration(ds);
    let desired = 0;
    let current = 0;
    let misscheduled = 0;
    let ready = 0;
    let updated = 0;
    let available = 0;
    for (const node of nodes) {
      const { shouldRun } = nodeShouldRunDaemonPod(node, ds);
      const pods = nodePods.get(node.metadata?.name ?? '') ?? [];
      const scheduled = pods.length > 0;
      if (shouldRun) {
        desired++;
        if (!scheduled) continue;
        current++;
        const pod = [...pods].sort(comparePodsByCreationAndPhase)[0];
        if (isPodReady(pod)) {
          ready++;
          if (isPodAvailable(pod, mrs, now)) available++;
        }
        if (isPodUpdated(pod, hash, generation)) updated++;
      } else if (scheduled) {
        misscheduled++;
      }
    }
    const status: Mutable<DaemonSetStatus> = {
      ...(ds.status ?? ({} as DaemonSetStatus)),
      desiredNumberScheduled: desired,
      currentNumberScheduled: current,
      numberMisscheduled: misscheduled,
      numberReady: ready,
      updatedNumberScheduled: updated,
      numberAvailable: available,
      numberUnavailable: desired - available,
    };
    if (updateObservedGen) status.observedGeneration = ds.metadata?.generation;
    await this.storeStatus(ds, status);
    if (mrs > 0 && ready !== available) return { requeueAfterMs: mrs * 1000 };
  }

  private async storeStatus(ds: DaemonSet, status: Mutable<DaemonSetStatus>): Promise<void> {
    const s = ds.status ?? ({} as DaemonSetStatus);
    const same =
      (s.desiredNumberScheduled ?? 0) === status.desiredNumberScheduled &&
      (s.currentNumberScheduled ?? 0) === status.currentNumberScheduled &&
      (s.numberMisscheduled ?? 0) === status.numberMisscheduled &&
      (s.numberReady ?? 0) === status.numberReady &&
      (s.updatedNumberScheduled ?? 0) === (status.updatedNumberScheduled ?? 0) &&
      (s.numberAvailable ?? 0) === (status.numberAvailable ?? 0) &&
      (s.numberUnavailable ?? 0) === (status.numberUnavailable ?? 0) &&
      (s.observedGeneration ?? 0) >= (status.observedGeneration ?? 0);
    if (same) return;
    let target: DaemonSet = ds;
    for (let attempt = 0; ; attempt++) {
      try {
        // The collision count is the history code's: keep whatever the server has.
        const next = { ...status, collisionCount: target.status?.collisionCount };
        if (next.collisionCount === undefined) delete next.collisionCount;
        await this.transport.updateStatus<DaemonSet>(DAEMONSETS, ds.metadata?.namespace, { ...target, status: next });
        return;
      } catch (err) {
        if (attempt >= 1 || !isConflict(err)) throw err;
        target = await this.transport.get<DaemonSet>(DAEMONSETS, ds.metadata?.namespace, ds.metadata?.name ?? '');
        if (target.metadata?.uid !== ds.metadata?.uid) return;
      }
    }
  }
}

/** Only heartbeats and condition timestamps changed: nothing a DaemonSet decides on (upstream shouldIgnoreNodeUpdate). */
export function shouldIgnoreNodeUpdate(old: Node, cur: Node): boolean {
  const conds = (n: Node) => (n.status?.conditions ?? []).map((c: NodeCondition) => `${c.type}=${c.status}`).sort();
  if (JSON.stringify(conds(old)) !== JSON.stringify(conds(cur))) return false;
  const strip = (n: Node) => ({ metadata: { ...n.metadata, resourceVersion: undefined, managedFields: undefined }, spec: n.spec, status: { ...n.status, conditions: undefined } });
  return semanticEqual(strip(old), strip(cur));
}

export function newDaemonSetsController(ctx: ControllerContext): DaemonSetsController {
  return new DaemonSetsController(ctx);
}

