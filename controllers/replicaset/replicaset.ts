// The ReplicaSet controller (upstream: pkg/controller/replicaset/replica_set.go), which
// also runs ReplicationControllers (upstream wraps the same controller for them): keep
// spec.replicas active pods matching the selector, adopting orphans and releasing pods
// that stop matching, creating pods from the template in slow-start batches and
// deleting the least useful pods first; status counts what the cache shows.
// Expectations keep one key from acting twice while its own creates and deletes are
// still on their way back through the pod informer.
import type { Pod, PodTemplateSpec, ReplicationController } from 'kubernetes-types/core/v1.js';
import type { ReplicaSet, ReplicaSetCondition } from 'kubernetes-types/apps/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { ResourceInfo } from '../../machinery/resources.js';
import { resourceByPath } from '../../machinery/resources.js';
import { QueueController, UIDTrackingExpectations } from '../../client/controller.js';
import type { Informer, HandlerRegistration } from '../../client/informer.js';
import { OWNER_UID_INDEX, indexByOwnerUID } from '../../client/store.js';
import { objectKey, splitKey } from '../../client/keys.js';
import type { EventRecorder } from '../../client/events.js';
import { isConflict, isNotFound } from '../../client/transport.js';
import type { ApiTransport, ReconcileResult } from '../../client/index.js';
import type { ControllerContext } from '../manager.js';
import {
  SLOW_START_INITIAL_BATCH_SIZE,
  enqueueOwnerOfDeletedPod,
  enqueueOwnersOfAddedPod,
  enqueueOwnersOfUpdatedPod,
  errorMessage,
  filterActivePods,
  getControllerOf,
  isPodActive,
  isPodAvailable,
  isPodReady,
  mapSelectorMatches,
  newControllerRef,
  resolveControllerRef,
  rfc3339,
  selectorIsEmpty,
  selectorMatches,
  semanticEqual,
  slowStartBatch,
  sortPodsForDeletion,
} from './controller-utils.js';
import type { ControllerRefLike, PodOwners } from './controller-utils.js';
import { ControllerRefManager } from './ref-manager.js';
import { PODS, PodControl, isNamespaceTerminating } from './pod-control.js';

/** How many pods one sync creates or deletes at most (upstream BurstReplicas). */
export const BURST_REPLICAS = 500;

/** The shape ReplicaSets and ReplicationControllers share. */
export interface ReplicaSetLike {
  apiVersion?: string;
  kind?: string;
  metadata?: ReplicaSet['metadata'];
  spec?: {
    replicas?: number;
    minReadySeconds?: number;
    selector?: LabelSelector | Record<string, string>;
    template?: PodTemplateSpec;
  };
  status?: ReplicaSetStatusLike;
}

export interface ReplicaSetStatusLike {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: ReplicaSetCondition[];
}

/** What differs between the two kinds this controller runs. */
export interface ReplicaSetKind {
  /** Controller name (queue name, log lines). */
  name: string;
  /** Event source component. */
  component: string;
  resource: ResourceInfo;
  apiVersion: string;
  kind: string;
  /** Does the object's selector select these labels? */
  matches(rs: ReplicaSetLike, labels: Record<string, string> | undefined): boolean;
  /** A selector that selects nothing usable (nil) — such objects are left alone. */
  selectorUsable(rs: ReplicaSetLike): boolean;
}

export const REPLICASET_KIND: ReplicaSetKind = {
  name: 'replicaset',
  component: 'replicaset-controller',
  resource: resourceByPath('apps', 'v1', 'replicasets')!,
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  matches: (rs, labels) => selectorMatches(rs.spec?.selector as LabelSelector | undefined, labels),
  selectorUsable: (rs) => !!rs.spec?.selector && !selectorIsEmpty(rs.spec.selector as LabelSelector),
};

export const REPLICATIONCONTROLLER_KIND: ReplicaSetKind = {
  name: 'replicationcontroller',
  component: 'replication-controller',
  resource: resourceByPath('', 'v1', 'replicationcontrollers')!,
  apiVersion: 'v1',
  kind: 'ReplicationController',
  matches: (rc, labels) => {
    const sel = rc.spec?.selector as Record<string, string> | undefined;
    return !!sel && Object.keys(sel).length > 0 && mapSelectorMatches(sel, labels);
  },
  selectorUsable: (rc) => Object.keys((rc.spec?.selector as Record<string, string> | undefined) ?? {}).length > 0,
};

const replicasOf = (rs: ReplicaSetLike): number => rs.spec?.replicas ?? 1;

/** Drop retry noise for optimistic-concurrency conflicts: the next sync sees fresher data. */
export function quietLog(msg: string): void {
  if (/the object has been modified|Precondition failed/.test(msg)) return;
  console.error(msg);
}

export class ReplicaSetController extends QueueController {
  readonly rsInformer: Informer<ReplicaSetLike>;
  readonly podInformer: Informer<Pod>;
  readonly expectations = new UIDTrackingExpectations();
  private readonly transport: ApiTransport;
  private readonly recorder: EventRecorder;
  private readonly podControl: PodControl;
  private readonly handlers: HandlerRegistration[] = [];
  /** Injectable clock (tests). */
  now: () => number = Date.now;

  constructor(
    ctx: ControllerContext,
    readonly k: ReplicaSetKind = REPLICASET_KIND,
    opts: { workers?: number } = {},
  ) {
    super({ name: k.name, workers: opts.workers ?? 5, log: quietLog });
    this.transport = ctx.transport;
    this.recorder = ctx.events.newRecorder(k.component);
    this.podControl = new PodControl(ctx.transport, this.recorder);
    this.rsInformer = ctx.informers.informerFor<ReplicaSetLike>(k.resource, { indexers: { [OWNER_UID_INDEX]: indexByOwnerUID } });
    this.podInformer = ctx.informers.informerFor<Pod>(PODS, { indexers: { [OWNER_UID_INDEX]: indexByOwnerUID } });
    this.requireSynced(this.rsInformer);
    this.requireSynced(this.podInformer);

    this.handlers.push(
      this.rsInformer.addEventHandler({
        onAdd: (rs) => this.enqueueObject(rs),
        onUpdate: (_old, cur) => this.enqueueObject(cur),
        onDelete: (rs) => {
          const key = objectKey(rs);
          this.expectations.deleteExpectations(key);
          this.enqueue(key);
        },
      }),
      this.podInformer.addEventHandler({
        onAdd: (pod) => enqueueOwnersOfAddedPod(this.podOwners, pod),
        onUpdate: (old, cur) => this.updatePod(old, cur),
        onDelete: (pod) => enqueueOwnerOfDeletedPod(this.podOwners, pod),
      }),
    );
  }

  override async stop(): Promise<void> {
    for (const h of this.handlers) h.remove();
    await super.stop();
  }

  // ---- event handlers ----------------------------------------------------------

  /** The owner a controller reference names, if it is one of ours and still the same object. */
  private resolveControllerRef(namespace: string | undefined, ref: ControllerRefLike): ReplicaSetLike | undefined {
    return resolveControllerRef(this.rsInformer.store, this.k.kind, namespace, ref);
  }

  /** Every object of ours whose selector matches an orphan pod. */
  private podOwnersByLabels(pod: Pod): ReplicaSetLike[] {
    const ns = pod.metadata?.namespace ?? '';
    return this.rsInformer.store.listNamespace(ns).filter((rs) => this.k.selectorUsable(rs) && this.k.matches(rs, pod.metadata?.labels));
  }

  private readonly podOwners: PodOwners<ReplicaSetLike> = {
    resolve: (namespace, ref) => this.resolveControllerRef(namespace, ref),
    byLabels: (pod) => this.podOwnersByLabels(pod),
    enqueue: (rs) => this.enqueueObject(rs),
    created: (rs) => this.expectations.creationObserved(objectKey(rs)),
    deleted: (rs, pod) => this.expectations.deletionObservedOf(objectKey(rs), objectKey(pod)),
  };

  private updatePod(old: Pod, cur: Pod): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const labelChanged = !semanticEqual(old.metadata?.labels, cur.metadata?.labels);
    if (cur.metadata?.deletionTimestamp) {
      // Graceful deletion has begun: count it as the deletion, so a replacement is made now.
      enqueueOwnerOfDeletedPod(this.podOwners, cur);
      if (labelChanged) enqueueOwnerOfDeletedPod(this.podOwners, old);
      return;
    }
    const rs = enqueueOwnersOfUpdatedPod(this.podOwners, old, cur, labelChanged);
    const mrs = rs?.spec?.minReadySeconds ?? 0;
    if (rs && !isPodReady(old) && isPodReady(cur) && mrs > 0) this.enqueueAfter(objectKey(rs), mrs * 1000 + 1000);
  }

  // ---- sync --------------------------------------------------------------------

  protected override async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace } = splitKey(key);
    const cached = this.rsInformer.store.getByKey(key);
    if (!cached) {
      this.expectations.deleteExpectations(key);
      return;
    }
    if (!this.k.selectorUsable(cached)) {
      // Validation forbids this; a nil selector selects nothing, so there is nothing to do.
      return;
    }
    const rs = cached;
    const needsSync = this.expectations.satisfiedExpectations(key);
    // Every pod of the namespace: pods that stopped matching but still name us must be released.
    const active = filterActivePods(this.podInformer.store.listNamespace(namespace ?? ''));
    const mgr = new ControllerRefManager<Pod>(
      this.transport,
      { obj: rs, ref: newControllerRef(rs, this.k.apiVersion, this.k.kind), resource: this.k.resource },
      PODS,
      (pod) => this.k.matches(rs, pod.metadata?.labels),
    );
    const pods = await mgr.claim(active);

    let manageErr: unknown;
    if (needsSync && !rs.metadata?.deletionTimestamp) {
      try {
        await this.manageReplicas(key, pods, rs);
      } catch (err) {
        manageErr = err;
      }
    }
    const status = calculateStatus(rs, pods, manageErr, this.now());
    const updated = await this.updateStatus(rs, status);
    const mrs = updated.spec?.minReadySeconds ?? 0;
    if (manageErr) throw manageErr;
    if (mrs > 0 && (updated.status?.readyReplicas ?? 0) === replicasOf(updated) && (updated.status?.availableReplicas ?? 0) !== replicasOf(updated)) {
      return { requeueAfterMs: mrs * 1000 };
    }
  }

  /** Create or delete pods until the count matches (at most BURST_REPLICAS per sync). */
  private async manageReplicas(key: string, pods: Pod[], rs: ReplicaSetLike): Promise<void> {
    let diff = pods.length - replicasOf(rs);
    if (diff < 0) {
      diff = Math.min(-diff, BURST_REPLICAS);
      const template = rs.spec?.template;
      if (!template) throw new Error(`${this.k.kind} ${key} has no pod template`);
      this.expectations.expectCreations(key, diff);
      const ref = newControllerRef(rs, this.k.apiVersion, this.k.kind);
      const ns = rs.metadata?.namespace ?? '';
      const { successes, error } = await slowStartBatch(diff, SLOW_START_INITIAL_BATCH_SIZE, async () => {
        try {
          await this.podControl.createPods(ns, template, rs, ref);
        } catch (err) {
          // Creates refused by a terminating namespace will never succeed: don't retry them.
          if (isNamespaceTerminating(err)) return;
          throw err;
        }
      });
      // Creates never attempted, or that failed, will never be observed.
      for (let i = 0; i < diff - successes; i++) this.expectations.creationObserved(key);
      if (error) throw error;
      return;
    }
    if (diff > 0) {
      diff = Math.min(diff, BURST_REPLICAS);
      const related = this.indirectlyRelatedPods(rs);
      const toDelete = podsToDelete(pods, related, diff, this.now());
      this.expectations.expectDeletionsOf(key, toDelete.map((p) => objectKey(p)));
      const ns = rs.metadata?.namespace ?? '';
      const results = await Promise.allSettled(
        toDelete.map(async (pod) => {
          try {
            await this.podControl.deletePod(ns, pod.metadata?.name ?? '', rs);
          } catch (err) {
            // The delete will never be observed.
            this.expectations.deletionObservedOf(key, objectKey(pod));
            if (!isNotFound(err)) throw err;
          }
        }),
      );
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
  }

  /**
   * Pods of every object controlled by the same owner (a Deployment's other
   * ReplicaSets): their spread over nodes ranks which of ours go first.
   */
  private indirectlyRelatedPods(rs: ReplicaSetLike): Pod[] {
    const ref = getControllerOf(rs);
    if (!ref) return [];
    const seen = new Set<string>();
    const out: Pod[] = [];
    for (const sibling of this.rsInformer.store.byIndex(OWNER_UID_INDEX, ref.uid)) {
      if (getControllerOf(sibling)?.uid !== ref.uid) continue;
      for (const pod of this.podInformer.store.listNamespace(sibling.metadata?.namespace ?? '')) {
        if (!this.k.matches(sibling, pod.metadata?.labels)) continue;
        const uid = pod.metadata?.uid ?? objectKey(pod);
        if (seen.has(uid)) continue;
        seen.add(uid);
        out.push(pod);
      }
    }
    return out;
  }

  /** Write the status if it changed (upstream updateReplicaSetStatus: one retry after a fresh read). */
  private async updateStatus(rs: ReplicaSetLike, status: ReplicaSetStatusLike): Promise<ReplicaSetLike> {
    const cur = rs.status ?? { replicas: 0 };
    const generation = rs.metadata?.generation ?? 0;
    if (
      (cur.replicas ?? 0) === status.replicas &&
      (cur.fullyLabeledReplicas ?? 0) === (status.fullyLabeledReplicas ?? 0) &&
      (cur.readyReplicas ?? 0) === (status.readyReplicas ?? 0) &&
      (cur.availableReplicas ?? 0) === (status.availableReplicas ?? 0) &&
      (cur.observedGeneration ?? 0) === generation &&
      semanticEqual(cur.conditions, status.conditions)
    ) {
      return rs;
    }
    let target: ReplicaSetLike = rs;
    for (let attempt = 0; ; attempt++) {
      const next: ReplicaSetLike = { ...target, status: { ...status, observedGeneration: target.metadata?.generation ?? generation } };
      try {
        return await this.transport.updateStatus<ReplicaSetLike>(this.k.resource, target.metadata?.namespace, next);
      } catch (err) {
        if (attempt >= 1 || !isConflict(err)) throw err;
        target = await this.transport.get<ReplicaSetLike>(this.k.resource, rs.metadata?.namespace, rs.metadata?.name ?? '');
      }
    }
  }
}

/** The `diff` pods to delete: all of them, or the first `diff` by upstream's ranking. */
export function podsToDelete(pods: Pod[], related: Pod[], diff: number, now: number = Date.now()): Pod[] {
  if (diff >= pods.length) return pods.slice(0, diff);
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranks = pods.map((p) => onNode.get(p.spec?.nodeName ?? '') ?? 0);
  return sortPodsForDeletion(pods, ranks, now).slice(0, diff);
}

/** The status the pods imply (upstream calculateStatus); a manage error sets ReplicaFailure. */
export function calculateStatus(rs: ReplicaSetLike, pods: Pod[], manageErr: unknown, now: number = Date.now()): ReplicaSetStatusLike {
  const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
  const mrs = rs.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of pods) {
    if (mapSelectorMatches(templateLabels, pod.metadata?.labels)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, mrs, now)) available++;
    }
  }
  let conditions = [...(rs.status?.conditions ?? [])];
  const failure = conditions.find((c) => c.type === 'ReplicaFailure');
  if (manageErr && !failure) {
    const diff = pods.length - replicasOf(rs);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    conditions.push({ type: 'ReplicaFailure', status: 'True', lastTransitionTime: rfc3339(now), reason, message: errorMessage(manageErr) });
  } else if (!manageErr && failure) {
    conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
  }
  const out: ReplicaSetStatusLike = {
    replicas: pods.length,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: ready,
    availableReplicas: available,
  };
  if (rs.status?.observedGeneration !== undefined) out.observedGeneration = rs.status.observedGeneration;
  if (conditions.length > 0) out.conditions = conditions;
  return out;
}

export function newReplicaSetController(ctx: ControllerContext): ReplicaSetController {
  return new ReplicaSetController(ctx, REPLICASET_KIND);
}

export function newReplicationManager(ctx: ControllerContext): ReplicaSetController {
  return new ReplicaSetController(ctx, REPLICATIONCONTROLLER_KIND);
}

export type { ReplicaSet, ReplicationController };
