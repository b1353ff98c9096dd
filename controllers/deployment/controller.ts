// The Deployment controller (upstream: pkg/controller/deployment/deployment_controller.go):
// one Deployment key at a time, read from the informer caches — claim its ReplicaSets,
// then pause, roll back, scale or roll out (RollingUpdate or Recreate) and report the
// status. ReplicaSet and pod changes enqueue the Deployment that controls them.
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { QueueController } from '../../client/controller.js';
import type { HandlerRegistration, Informer } from '../../client/informer.js';
import { OWNER_UID_INDEX, indexByOwnerUID } from '../../client/store.js';
import type { ReadonlyStore } from '../../client/store.js';
import type { EventRecorder } from '../../client/events.js';
import type { ApiTransport } from '../../client/transport.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import type { ControllerContext } from '../manager.js';
import { deepCopy, getControllerOf, newControllerRef, selectorIsEmpty, selectorMatches, semanticEqual } from '../replicaset/controller-utils.js';
import { ControllerRefManager } from '../replicaset/ref-manager.js';
import { PODS } from '../replicaset/pod-control.js';
import { quietLog } from '../replicaset/replicaset.js';
import {
  DEPLOYMENTS,
  REPLICASETS,
  type DeploymentSyncContext,
  type MutableStatusRef,
  type PodMap,
  checkPausedConditions,
  getRollbackTo,
  isScalingEvent,
  sync,
  syncStatusOnly,
  updateDeploymentStatus,
} from './sync.js';
import { rolloutRolling } from './rolling.js';
import { rolloutRecreate } from './recreate.js';
import { rollback } from './rollback.js';

export class DeploymentController extends QueueController implements DeploymentSyncContext {
  readonly transport: ApiTransport;
  readonly recorder: EventRecorder;
  readonly dInformer: Informer<Deployment>;
  readonly rsInformer: Informer<ReplicaSet>;
  readonly podInformer: Informer<Pod>;
  private readonly handlers: HandlerRegistration[] = [];
  /** Injectable clock (tests). */
  now: () => number = Date.now;

  constructor(ctx: ControllerContext, opts: { workers?: number } = {}) {
    super({ name: 'deployment', workers: opts.workers ?? 5, log: quietLog });
    this.transport = ctx.transport;
    this.recorder = ctx.events.newRecorder('deployment-controller');
    this.dInformer = ctx.informers.informerFor<Deployment>(DEPLOYMENTS);
    this.rsInformer = ctx.informers.informerFor<ReplicaSet>(REPLICASETS, { indexers: { [OWNER_UID_INDEX]: indexByOwnerUID } });
    this.podInformer = ctx.informers.informerFor<Pod>(PODS, { indexers: { [OWNER_UID_INDEX]: indexByOwnerUID } });
    this.requireSynced(this.dInformer);
    this.requireSynced(this.rsInformer);
    this.requireSynced(this.podInformer);
    this.handlers.push(
      this.dInformer.addEventHandler({
        onAdd: (d) => this.enqueueObject(d),
        onUpdate: (_o, d) => this.enqueueObject(d),
        onDelete: (d) => this.enqueueObject(d),
      }),
      this.rsInformer.addEventHandler({
        onAdd: (rs) => this.addReplicaSet(rs),
        onUpdate: (old, cur) => this.updateReplicaSet(old, cur),
        onDelete: (rs) => this.deleteReplicaSet(rs),
      }),
      this.podInformer.addEventHandler({ onDelete: (pod) => this.deletePod(pod) }),
    );
  }

  get rsStore(): ReadonlyStore<ReplicaSet> {
    return this.rsInformer.store;
  }

  override async stop(): Promise<void> {
    for (const h of this.handlers) h.remove();
    await super.stop();
  }

  // ---- event handlers ------------------------------------------------------------

  private resolveControllerRef(namespace: string | undefined, ref: { kind: string; name: string; uid: string }): Deployment | undefined {
    if (ref.kind !== 'Deployment') return undefined;
    const d = this.dInformer.store.get(namespace, ref.name);
    return d && d.metadata?.uid === ref.uid ? d : undefined;
  }

  /** Deployments whose selector matches an orphan ReplicaSet's labels. */
  private deploymentsForReplicaSet(rs: ReplicaSet): Deployment[] {
    return this.dInformer.store
      .listNamespace(rs.metadata?.namespace ?? '')
      .filter((d) => !selectorIsEmpty(d.spec?.selector) && selectorMatches(d.spec?.selector, rs.metadata?.labels));
  }

  private addReplicaSet(rs: ReplicaSet): void {
    if (rs.metadata?.deletionTimestamp) {
      this.deleteReplicaSet(rs);
      return;
    }
    const ref = getControllerOf(rs);
    if (ref) {
      const d = this.resolveControllerRef(rs.metadata?.namespace, ref);
      if (d) this.enqueueObject(d);
      return;
    }
    for (const d of this.deploymentsForReplicaSet(rs)) this.enqueueObject(d);
  }

  private updateReplicaSet(old: ReplicaSet, cur: ReplicaSet): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const curRef = getControllerOf(cur);
    const oldRef = getControllerOf(old);
    const refChanged = JSON.stringify(curRef ?? null) !== JSON.stringify(oldRef ?? null);
    if (refChanged && oldRef) {
      const d = this.resolveControllerRef(old.metadata?.namespace, oldRef);
      if (d) this.enqueueObject(d);
    }
    if (curRef) {
      const d = this.resolveControllerRef(cur.metadata?.namespace, curRef);
      if (d) this.enqueueObject(d);
      return;
    }
    const labelChanged = !semanticEqual(old.metadata?.labels, cur.metadata?.labels);
    if (labelChanged || refChanged) for (const d of this.deploymentsForReplicaSet(cur)) this.enqueueObject(d);
  }

  private deleteReplicaSet(rs: ReplicaSet): void {
    const ref = getControllerOf(rs);
    if (!ref) return;
    const d = this.resolveControllerRef(rs.metadata?.namespace, ref);
    if (d) this.enqueueObject(d);
  }

  /** A Recreate rollout waits for the old pods to be gone: their deletion is news. */
  private deletePod(pod: Pod): void {
    const ref = getControllerOf(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return;
    const rs = this.rsInformer.store.get(pod.metadata?.namespace, ref.name);
    if (!rs || rs.metadata?.uid !== ref.uid) return;
    const dref = getControllerOf(rs);
    if (!dref) return;
    const d = this.resolveControllerRef(rs.metadata?.namespace, dref);
    if (d && d.spec?.strategy?.type === 'Recreate') this.enqueueObject(d);
  }

  // ---- sync ------------------------------------------------------------------------

  protected override async reconcile(key: string): Promise<ReconcileResult | void> {
    const cached = this.dInformer.store.getByKey(key);
    if (!cached) return;
    const d = deepCopy(cached);
    if (selectorIsEmpty(d.spec?.selector)) {
      this.recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      const st = (d as MutableStatusRef).status ?? {};
      if ((st.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
        (d as MutableStatusRef).status = { ...st, observedGeneration: d.metadata?.generation };
        await updateDeploymentStatus(this, d);
      }
      return;
    }
    const rsList = await this.replicaSetsForDeployment(d);
    const podMap = this.podMapForDeployment(d, rsList);

    if (d.metadata?.deletionTimestamp) return syncStatusOnly(this, d, rsList);
    await checkPausedConditions(this, d);
    if (d.spec?.paused) return sync(this, d, rsList);
    if (getRollbackTo(d)) return rollback(this, d, rsList);
    if (await isScalingEvent(this, d, rsList)) return sync(this, d, rsList);
    const type = d.spec?.strategy?.type ?? 'RollingUpdate';
    if (type === 'Recreate') return rolloutRecreate(this, d, rsList, podMap);
    if (type === 'RollingUpdate') return rolloutRolling(this, d, rsList);
    throw new Error(`unexpected deployment strategy type: ${type}`);
  }

  /** ReplicaSets of the namespace the deployment controls, after adoption and release. */
  private async replicaSetsForDeployment(d: Deployment): Promise<ReplicaSet[]> {
    const all = this.rsInformer.store.listNamespace(d.metadata?.namespace ?? '');
    const mgr = new ControllerRefManager<ReplicaSet>(
      this.transport,
      { obj: d, ref: newControllerRef(d, 'apps/v1', 'Deployment'), resource: DEPLOYMENTS },
      REPLICASETS,
      (rs) => selectorMatches(d.spec?.selector, rs.metadata?.labels),
    );
    return mgr.claim(all);
  }

  /** The deployment's pods (active or not), grouped by the ReplicaSet that controls them. */
  private podMapForDeployment(d: Deployment, rsList: ReplicaSet[]): PodMap {
    const map: PodMap = new Map();
    for (const rs of rsList) map.set(rs.metadata?.uid ?? '', []);
    for (const pod of this.podInformer.store.listNamespace(d.metadata?.namespace ?? '')) {
      if (!selectorMatches(d.spec?.selector, pod.metadata?.labels)) continue;
      const ref = getControllerOf(pod);
      if (!ref) continue;
      map.get(ref.uid)?.push(pod);
    }
    return map;
  }
}

export function newDeploymentController(ctx: ControllerContext): DeploymentController {
  return new DeploymentController(ctx);
}
