// One StatefulSet sync (upstream: pkg/controller/statefulset/stateful_set_control.go):
// find the current and update revisions (creating or re-numbering a ControllerRevision
// when the template changed), then walk the replicas in ordinal order — create what is
// missing, replace failed pods, fix identity and storage — with OrderedReady stopping
// at the first pod that is not Running and Ready; then delete condemned pods (ordinals
// beyond the range) highest first; then roll pods onto the update revision from the
// highest ordinal down to the partition, one unavailable pod at a time (or up to
// maxUnavailable). The status is written even when a step fails; revisions beyond
// revisionHistoryLimit that no pod uses are deleted.
import type { ControllerRevision, StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ApiTransport } from '../../client/transport.js';
import { isConflict, isNotFound } from '../../client/transport.js';
import { aggregateErrors } from '../replicaset/controller-utils.js';
import type { ControllerHistory } from '../history/history.js';
import { findEqualRevisions, equalRevision, nextRevision, sortControllerRevisions } from '../history/history.js';
import type { StatefulPodControl } from './pod-control.js';
import {
  type MutableStatus,
  allowsBurst,
  applyRevision,
  completeRollingUpdate,
  endOrdinal,
  getOrdinal,
  getPodRevision,
  identityMatches,
  inconsistentStatus,
  isCreated,
  isFailed,
  isPending,
  isRunningAndAvailable,
  isRunningAndReady,
  isSucceeded,
  isTerminating,
  isUnavailable,
  maxUnavailableOf,
  newRevision,
  newVersionedStatefulSetPod,
  podInOrdinalRange,
  replicasOf,
  startOrdinal,
  storageMatches,
  updateStatusCounts,
} from './utils.js';

export const STATEFULSETS = resourceByPath('apps', 'v1', 'statefulsets')!;

/** How many pods Parallel management creates or deletes at once at most (upstream MaxBatchSize). */
export const MAX_BATCH_SIZE = 500;

export interface StatefulSetControlOptions {
  transport: ApiTransport;
  podControl: StatefulPodControl;
  history: ControllerHistory;
  now: () => number;
  /**
   * RollingUpdate with maxUnavailable (upstream feature gate MaxUnavailableStatefulSet,
   * alpha and off by default): several pods replaced at once.
   */
  maxUnavailableEnabled?: boolean;
}

/** Upstream slowStartBatch with a ceiling: batches 1, 2, 4, ... up to MAX_BATCH_SIZE. */
async function slowStartBatch(count: number, fn: (i: number) => Promise<void>): Promise<void> {
  let remaining = count;
  let next = 0;
  for (let batch = Math.min(remaining, 1); batch > 0; batch = Math.min(2 * batch, remaining, MAX_BATCH_SIZE)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn(next++)));
    const errs = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    if (errs.length > 0) throw aggregateErrors(errs);
    remaining -= batch;
  }
}

/** Monotonic: stop at the first item that says so (or fails). Burst: everything, in growing batches. */
async function runForAll(n: number, fn: (i: number) => Promise<boolean>, monotonic: boolean): Promise<boolean> {
  if (monotonic) {
    for (let i = 0; i < n; i++) if (await fn(i)) return true;
    return false;
  }
  await slowStartBatch(n, async (i) => {
    await fn(i);
  });
  return false;
}

export class StatefulSetControl {
  constructor(private readonly o: StatefulSetControlOptions) {}

  /** Reconcile the set's pods; resolves to the status written. `revisions` are the set's (owned or adopted). */
  async updateStatefulSet(set: StatefulSet, pods: Pod[], revisions: ControllerRevision[]): Promise<StatefulSetStatus | undefined> {
    const sorted = sortControllerRevisions([...revisions]);
    let current: ControllerRevision | undefined;
    let update: ControllerRevision | undefined;
    let status: MutableStatus | undefined;
    let err: unknown;
    try {
      ({ current, update, status } = await this.performUpdate(set, pods, sorted));
    } catch (e) {
      err = e;
      current = (e as { current?: ControllerRevision }).current;
      update = (e as { update?: ControllerRevision }).update;
    }
    let truncErr: unknown;
    try {
      await this.truncateHistory(set, pods, sorted, current, update);
    } catch (e) {
      truncErr = e;
    }
    if (err) throw err;
    if (truncErr) throw truncErr;
    return status;
  }

  private async performUpdate(set: StatefulSet, pods: Pod[], revisions: ControllerRevision[]): Promise<{ current: ControllerRevision; update: ControllerRevision; status: MutableStatus }> {
    const { current, update, collisionCount } = await this.getStatefulSetRevisions(set, revisions);
    let status: MutableStatus | undefined;
    let err: unknown;
    try {
      status = await this.reconcilePods(set, current, update, collisionCount, pods);
    } catch (e) {
      err = e;
      status = (e as { status?: MutableStatus }).status;
    }
    if (!status) throw Object.assign(err instanceof Error ? err : new Error(String(err)), { current, update });
    let statusErr: unknown;
    try {
      await this.updateStatefulSetStatus(set, status);
    } catch (e) {
      statusErr = e;
    }
    const fail = err ?? statusErr;
    if (fail) throw Object.assign(fail instanceof Error ? fail : new Error(String(fail)), { current, update });
    return { current, update, status };
  }

  /**
   * The current revision (status.currentRevision, else the update revision) and the
   * update revision: the latest revision when it equals the set's template, an older
   * equal one re-numbered as the newest (a rollback), or a new one.
   */
  async getStatefulSetRevisions(set: StatefulSet, revisions: ControllerRevision[]): Promise<{ current: ControllerRevision; update: ControllerRevision; collisionCount: number }> {
    const collision = { count: set.status?.collisionCount ?? 0 };
    let update = newRevision(set, nextRevision(revisions), collision.count);
    const equal = findEqualRevisions(revisions, update);
    if (equal.length > 0 && equalRevision(revisions[revisions.length - 1], equal[equal.length - 1])) {
      update = revisions[revisions.length - 1];
    } else if (equal.length > 0) {
      update = await this.o.history.updateControllerRevision(equal[equal.length - 1], update.revision);
    } else {
      update = await this.o.history.createControllerRevision(set, update, collision);
    }
    const current = revisions.find((r) => r.metadata?.name === set.status?.currentRevision) ?? update;
    return { current, update, collisionCount: collision.count };
  }

  /** The heart of the sync: returns the status to record; a thrown error carries it as `status`. */
  private async reconcilePods(set: StatefulSet, currentRevision: ControllerRevision, updateRevision: ControllerRevision, collisionCount: number, pods: Pod[]): Promise<MutableStatus> {
    const now = this.o.now();
    const pc = this.o.podControl;
    const currentSet = applyRevision(set, currentRevision);
    const updateSet = applyRevision(set, updateRevision);
    const curName = currentRevision.metadata?.name ?? '';
    const updName = updateRevision.metadata?.name ?? '';
    const mrs = set.spec?.minReadySeconds ?? 0;

    const status: MutableStatus = {
      observedGeneration: set.metadata?.generation,
      currentRevision: curName,
      updateRevision: updName,
      collisionCount,
      replicas: 0,
    };
    updateStatusCounts(status, mrs, curName, updName, now, pods);

    const start = startOrdinal(set);
    const end = endOrdinal(set);
    const replicas: Pod[] = new Array<Pod>(Math.max(0, replicasOf(set)));
    const condemned: Pod[] = [];
    for (const pod of pods) {
      if (podInOrdinalRange(pod, set)) replicas[getOrdinal(pod) - start] = pod;
      else if (getOrdinal(pod) >= 0) condemned.push(pod);
    }
    for (let ord = start; ord <= end; ord++) {
      if (!replicas[ord - start]) replicas[ord - start] = newVersionedStatefulSetPod(currentSet, updateSet, curName, updName, ord);
    }
    condemned.sort((a, b) => getOrdinal(b) - getOrdinal(a));

    let firstUnavailable: Pod | undefined;
    for (const p of replicas) {
      if (isUnavailable(p, mrs, now)) {
        firstUnavailable = p;
        break;
      }
    }
    if (!firstUnavailable) {
      for (let i = condemned.length - 1; i >= 0; i--) {
        if (isUnavailable(condemned[i], mrs, now)) {
          firstUnavailable = condemned[i];
          break;
        }
      }
    }

    if (set.metadata?.deletionTimestamp) return status;

    const monotonic = !allowsBurst(set);
    const withStatus = (err: unknown) => {
      updateStatusCounts(status, mrs, curName, updName, this.o.now(), replicas, condemned);
      return Object.assign(err instanceof Error ? err : new Error(String(err)), { status });
    };
    const recount = () => updateStatusCounts(status, mrs, curName, updName, this.o.now(), replicas, condemned);

    // 1. Every replica in range: create, replace failed, wait (OrderedReady), fix identity.
    const processReplica = async (i: number): Promise<boolean> => {
      const pod = replicas[i];
      if (isFailed(pod) || isSucceeded(pod)) {
        if (!pod.metadata?.deletionTimestamp) await pc.deleteStatefulPod(set, pod);
        // The replacement is made once the old pod is gone from the cache.
        return true;
      }
      if (!isCreated(pod)) {
        if (pc.podClaimIsStale(set, pod)) return true;
        await pc.createStatefulPod(set, pod);
        if (monotonic) return true;
        return false;
      }
      if (isPending(pod)) await pc.createMissingPersistentVolumeClaims(set, pod);
      if (isTerminating(pod) && monotonic) return true;
      if (!isRunningAndReady(pod) && monotonic) return true;
      if (!isRunningAndAvailable(pod, mrs, this.o.now()) && monotonic) return true;
      let retentionMatch: boolean;
      try {
        retentionMatch = pc.claimsMatchRetentionPolicy(updateSet, pod);
      } catch {
        retentionMatch = true;
      }
      if (identityMatches(set, pod) && storageMatches(set, pod) && retentionMatch) return false;
      await pc.updateStatefulPod(updateSet, pod);
      return false;
    };
    try {
      if (await runForAll(replicas.length, processReplica, monotonic)) {
        recount();
        return status;
      }
    } catch (err) {
      throw withStatus(err);
    }

    // 2. Claims of condemned pods get the scale-down owner references.
    const fixPodClaim = async (i: number): Promise<boolean> => {
      if (!pc.claimsMatchRetentionPolicy(updateSet, condemned[i])) await pc.updatePodClaimForRetentionPolicy(updateSet, condemned[i]);
      return false;
    };
    try {
      if (await runForAll(condemned.length, fixPodClaim, monotonic)) {
        recount();
        return status;
      }
    } catch (err) {
      throw withStatus(err);
    }

    // 3. Condemned pods go, highest ordinal first; OrderedReady waits for the rest to be healthy.
    const processCondemned = async (i: number): Promise<boolean> => {
      const pod = condemned[i];
      if (isTerminating(pod)) return monotonic;
      if (!isRunningAndReady(pod) && monotonic && pod !== firstUnavailable) return true;
      if (!isRunningAndAvailable(pod, mrs, this.o.now()) && monotonic && pod !== firstUnavailable) return true;
      await pc.deleteStatefulPod(set, pod);
      return true;
    };
    try {
      if (await runForAll(condemned.length, processCondemned, monotonic)) {
        recount();
        return status;
      }
    } catch (err) {
      throw withStatus(err);
    }

    recount();
    const strategy = set.spec?.updateStrategy?.type ?? 'RollingUpdate';
    if (strategy === 'OnDelete') return status;

    // 4. Rolling update: from the highest ordinal down to the partition.
    const partition = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    if (this.o.maxUnavailableEnabled) return this.rollWithMaxUnavailable(set, replicas, updName, partition, status, mrs);
    for (let target = replicas.length - 1; target >= partition; target--) {
      const pod = replicas[target];
      if (getPodRevision(pod) !== updName && !isTerminating(pod)) {
        try {
          await pc.deleteStatefulPod(set, pod);
        } catch (err) {
          if (!isNotFound(err)) throw Object.assign(err instanceof Error ? err : new Error(String(err)), { status });
        }
        status.currentReplicas = (status.currentReplicas ?? 0) - 1;
        return status;
      }
      if (isUnavailable(pod, mrs, this.o.now())) return status;
    }
    return status;
  }

  private async rollWithMaxUnavailable(set: StatefulSet, replicas: Pod[], updName: string, partition: number, status: MutableStatus, mrs: number): Promise<MutableStatus> {
    const maxUnavailable = maxUnavailableOf(set);
    const now = this.o.now();
    const unavailable = replicas.filter((p) => isUnavailable(p, mrs, now)).length;
    if (unavailable > maxUnavailable) return status;
    const toDelete = maxUnavailable - unavailable;
    let deleted = 0;
    for (let target = replicas.length - 1; target >= partition && deleted < toDelete; target--) {
      const pod = replicas[target];
      if (getPodRevision(pod) !== updName && !isTerminating(pod)) {
        try {
          await this.o.podControl.deleteStatefulPod(set, pod);
        } catch (err) {
          if (!isNotFound(err)) throw Object.assign(err instanceof Error ? err : new Error(String(err)), { status });
        }
        deleted++;
        status.currentReplicas = (status.currentReplicas ?? 0) - 1;
      }
    }
    return status;
  }

  /** Write the status when it changed (after completing a finished rolling update). */
  private async updateStatefulSetStatus(set: StatefulSet, status: MutableStatus): Promise<void> {
    completeRollingUpdate(set, status);
    if (!inconsistentStatus(set, status)) return;
    let target: StatefulSet = set;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.o.transport.updateStatus<StatefulSet>(STATEFULSETS, set.metadata?.namespace, { ...target, status: { ...(target.status ?? {}), ...status } as StatefulSetStatus });
        return;
      } catch (err) {
        if (attempt >= 4 || !isConflict(err)) throw err;
        target = await this.o.transport.get<StatefulSet>(STATEFULSETS, set.metadata?.namespace, set.metadata?.name ?? '');
        if (target.metadata?.uid !== set.metadata?.uid) return;
      }
    }
  }

  /**
   * Delete revisions beyond revisionHistoryLimit, oldest first, that are neither the
   * current nor the update revision nor used by a pod.
   */
  private async truncateHistory(set: StatefulSet, pods: Pod[], revisions: ControllerRevision[], current: ControllerRevision | undefined, update: ControllerRevision | undefined): Promise<void> {
    const live = new Set<string>();
    if (current?.metadata?.name) live.add(current.metadata.name);
    if (update?.metadata?.name) live.add(update.metadata.name);
    for (const p of pods) live.add(getPodRevision(p));
    const history = revisions.filter((r) => !live.has(r.metadata?.name ?? ''));
    const limit = set.spec?.revisionHistoryLimit ?? 10;
    if (limit < 0 || history.length <= limit) return;
    for (const r of history.slice(0, history.length - limit)) await this.o.history.deleteControllerRevision(r);
  }
}
