// The StatefulSet controller (upstream: pkg/controller/statefulset/stateful_set.go):
// StatefulSet and pod changes enqueue the set's key; a sync adopts orphaned revisions,
// claims the pods (matching the selector and named after the set), and hands them to
// StatefulSetControl. Sets with minReadySeconds are looked at again once their pods
// can have become available.
import type { ControllerRevision, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { QueueController } from '../../client/controller.js';
import type { HandlerRegistration, Informer } from '../../client/informer.js';
import { OWNER_UID_INDEX, indexByOwnerUID } from '../../client/store.js';
import { objectKey } from '../../client/keys.js';
import type { EventRecorder } from '../../client/events.js';
import type { ApiTransport } from '../../client/transport.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import type { ControllerContext } from '../manager.js';
import {
  enqueueOwnerOfDeletedPod,
  enqueueOwnersOfAddedPod,
  enqueueOwnersOfUpdatedPod,
  getControllerOf,
  newControllerRef,
  resolveControllerRef,
  selectorIsEmpty,
  selectorMatches,
  semanticEqual,
} from '../replicaset/controller-utils.js';
import type { ControllerRefLike, PodOwners } from '../replicaset/controller-utils.js';
import { ControllerRefManager } from '../replicaset/ref-manager.js';
import { PODS } from '../replicaset/pod-control.js';
import { quietLog } from '../replicaset/replicaset.js';
import { CONTROLLER_REVISIONS, ControllerHistory, listControllerRevisions } from '../history/history.js';
import { STATEFULSETS, StatefulSetControl } from './control.js';
import { PVCS, StatefulPodControl } from './pod-control.js';
import { STATEFULSET_KIND, isMemberOf, isRunningAndReady, replicasOf } from './utils.js';

export interface StatefulSetControllerOptions {
  workers?: number;
  /** Upstream feature gate MaxUnavailableStatefulSet (alpha, off): honour rollingUpdate.maxUnavailable. */
  maxUnavailable?: boolean;
}

export class StatefulSetController extends QueueController {
  readonly setInformer: Informer<StatefulSet>;
  readonly podInformer: Informer<Pod>;
  readonly revisionInformer: Informer<ControllerRevision>;
  readonly claimInformer: Informer<PersistentVolumeClaim>;
  private readonly transport: ApiTransport;
  private readonly recorder: EventRecorder;
  private readonly history: ControllerHistory;
  private readonly control: StatefulSetControl;
  private readonly handlers: HandlerRegistration[] = [];
  /** Injectable clock (tests). */
  now: () => number = Date.now;

  constructor(ctx: ControllerContext, opts: StatefulSetControllerOptions = {}) {
    super({ name: 'statefulset', workers: opts.workers ?? 5, log: quietLog });
    this.transport = ctx.transport;
    this.recorder = ctx.events.newRecorder('statefulset-controller');
    this.setInformer = ctx.informers.informerFor<StatefulSet>(STATEFULSETS);
    this.podInformer = ctx.informers.informerFor<Pod>(PODS, { indexers: { [OWNER_UID_INDEX]: indexByOwnerUID } });
    this.revisionInformer = ctx.informers.informerFor<ControllerRevision>(CONTROLLER_REVISIONS);
    this.claimInformer = ctx.informers.informerFor<PersistentVolumeClaim>(PVCS);
    this.requireSynced(this.setInformer);
    this.requireSynced(this.podInformer);
    this.requireSynced(this.revisionInformer);
    this.requireSynced(this.claimInformer);
    this.history = new ControllerHistory(ctx.transport, this.revisionInformer);
    const podControl = new StatefulPodControl(ctx.transport, this.recorder, this.podInformer.store, this.claimInformer.store);
    this.control = new StatefulSetControl({ transport: ctx.transport, podControl, history: this.history, now: () => this.now(), maxUnavailableEnabled: opts.maxUnavailable });

    this.handlers.push(
      this.setInformer.addEventHandler({
        onAdd: (s) => this.enqueueObject(s),
        onUpdate: (_o, s) => this.enqueueObject(s),
        onDelete: (s) => this.enqueueObject(s),
      }),
      this.podInformer.addEventHandler({
        onAdd: (p) => enqueueOwnersOfAddedPod(this.podOwners, p),
        onUpdate: (o, p) => this.updatePod(o, p),
        onDelete: (p) => enqueueOwnerOfDeletedPod(this.podOwners, p),
      }),
    );
  }

  override async stop(): Promise<void> {
    for (const h of this.handlers) h.remove();
    await super.stop();
  }

  // ---- event handlers ------------------------------------------------------------

  private resolveControllerRef(namespace: string | undefined, ref: ControllerRefLike): StatefulSet | undefined {
    return resolveControllerRef(this.setInformer.store, STATEFULSET_KIND.kind, namespace, ref);
  }

  /** Sets whose selector matches an orphan pod. */
  private setsForPod(pod: Pod): StatefulSet[] {
    return this.setInformer.store.listNamespace(pod.metadata?.namespace ?? '').filter((s) => !selectorIsEmpty(s.spec?.selector) && selectorMatches(s.spec?.selector, pod.metadata?.labels));
  }

  private readonly podOwners: PodOwners<StatefulSet> = {
    resolve: (namespace, ref) => this.resolveControllerRef(namespace, ref),
    byLabels: (pod) => this.setsForPod(pod),
    enqueue: (s) => this.enqueueObject(s),
  };

  private updatePod(old: Pod, cur: Pod): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const labelChanged = !semanticEqual(old.metadata?.labels, cur.metadata?.labels);
    const s = enqueueOwnersOfUpdatedPod(this.podOwners, old, cur, labelChanged);
    const mrs = s?.spec?.minReadySeconds ?? 0;
    // A pod that just became ready becomes available minReadySeconds later.
    if (s && !isRunningAndReady(old) && isRunningAndReady(cur) && mrs > 0) this.enqueueAfter(objectKey(s), mrs * 1000);
  }

  // ---- sync ----------------------------------------------------------------------

  protected override async reconcile(key: string): Promise<ReconcileResult | void> {
    const set = this.setInformer.store.getByKey(key);
    if (!set) return;
    // A nil selector is refused by validation; nothing to do with one.
    if (!set.spec?.selector) return;
    const revisions = await this.adoptOrphanRevisions(set);
    const pods = await this.podsForStatefulSet(set);
    const status = await this.control.updateStatefulSet(set, pods, revisions);
    const mrs = set.spec.minReadySeconds ?? 0;
    if (status && mrs > 0 && (status.availableReplicas ?? 0) !== replicasOf(set)) return { requeueAfterMs: mrs * 1000 };
  }

  /** The set's revisions, orphans matching its selector adopted first (after a fresh look at the set). */
  private async adoptOrphanRevisions(set: StatefulSet): Promise<ControllerRevision[]> {
    const revisions = listControllerRevisions(this.revisionInformer, set, set.spec?.selector);
    const orphans = revisions.filter((r) => !getControllerOf(r));
    if (orphans.length === 0) return revisions;
    const fresh = await this.transport.get<StatefulSet>(STATEFULSETS, set.metadata?.namespace, set.metadata?.name ?? '');
    if (fresh.metadata?.uid !== set.metadata?.uid) throw new Error(`original StatefulSet ${objectKey(set)} is gone: got uid ${fresh.metadata?.uid}, wanted ${set.metadata?.uid}`);
    if (fresh.metadata?.deletionTimestamp) throw new Error(`${objectKey(set)} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    const out: ControllerRevision[] = [];
    for (const r of revisions) out.push(getControllerOf(r) ? r : await this.history.adoptControllerRevision(set, STATEFULSET_KIND, r));
    return out;
  }

  /**
   * Pods the set controls after adoption and release: they must match the selector and
   * be named after the set (every pod of the namespace is looked at, so that pods that
   * stopped matching are released).
   */
  private podsForStatefulSet(set: StatefulSet): Promise<Pod[]> {
    const mgr = new ControllerRefManager<Pod>(
      this.transport,
      { obj: set, ref: newControllerRef(set, STATEFULSET_KIND.apiVersion, STATEFULSET_KIND.kind), resource: STATEFULSETS },
      PODS,
      (pod) => selectorMatches(set.spec?.selector, pod.metadata?.labels),
    );
    return mgr.claim(this.podInformer.store.listNamespace(set.metadata?.namespace ?? ''), [(pod) => isMemberOf(set, pod)]);
  }
}

export function newStatefulSetController(ctx: ControllerContext): StatefulSetController {
  return new StatefulSetController(ctx);
}
