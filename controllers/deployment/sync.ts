// The parts of a Deployment sync every strategy shares (upstream: pkg/controller/
// deployment/sync.go): finding or creating the new ReplicaSet and keeping revisions in
// step, scaling (proportionally when several ReplicaSets are active), cleaning up old
// ReplicaSets beyond revisionHistoryLimit, and computing the status.
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Meta } from '../../machinery/object.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ApiTransport } from '../../client/transport.js';
import { isAlreadyExists, isNotFound } from '../../client/transport.js';
import type { EventRecorder } from '../../client/events.js';
import type { ReadonlyStore } from '../../client/store.js';
import { deepCopy, errorMessage, getControllerOf, newControllerRef, parseTime, semanticEqual } from '../replicaset/controller-utils.js';
import { isNamespaceTerminating } from '../replicaset/pod-control.js';
import { computeHash } from '../history/hash.js';
import {
  DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY,
  FAILED_RS_CREATE_REASON,
  FOUND_NEW_RS_REASON,
  MINIMUM_REPLICAS_AVAILABLE,
  MINIMUM_REPLICAS_UNAVAILABLE,
  NEW_REPLICASET_REASON,
  PAUSED_DEPLOY_REASON,
  RESUMED_DEPLOY_REASON,
  REVISION_ANNOTATION,
  ROLLBACK_TO_ANNOTATION,
  TIMED_OUT_REASON,
  type MutableStatus,
  actualReplicaCount,
  availableReplicaCount,
  compareByCreation,
  desiredReplicasAnnotation,
  equalIgnoreHash,
  filterActiveReplicaSets,
  findActiveOrLatest,
  findNewReplicaSet,
  findOldReplicaSets,
  getDeploymentCondition,
  getProportion,
  hasProgressDeadline,
  hasRevisionHistoryLimit,
  isRollingUpdate,
  isSaturated,
  maxRevision,
  maxSurge,
  maxUnavailable,
  newDeploymentCondition,
  newRSNewReplicas,
  readyReplicaCount,
  replicaCount,
  replicasAnnotationsNeedUpdate,
  revisionOf,
  setDeploymentCondition,
  setDeploymentRevision,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  specReplicas,
} from './util.js';

export const DEPLOYMENTS = resourceByPath('apps', 'v1', 'deployments')!;
export const REPLICASETS = resourceByPath('apps', 'v1', 'replicasets')!;

/** What the sync functions need from the controller. */
export interface DeploymentSyncContext {
  readonly transport: ApiTransport;
  readonly recorder: EventRecorder;
  readonly rsStore: ReadonlyStore<ReplicaSet>;
  now(): number;
  /** Look at the deployment again after `ms`. */
  enqueueAfter(key: string, ms: number): void;
}

/** Pods of the deployment's ReplicaSets, by the UID of the ReplicaSet that controls them. */
export type PodMap = Map<string, Pod[]>;

// ---- writing -------------------------------------------------------------------------

/** Write `d`'s status (and annotations) through the status subresource; `d` takes the new resourceVersion. */
export async function updateDeploymentStatus(dc: DeploymentSyncContext, d: Deployment): Promise<void> {
  const out = await dc.transport.updateStatus<Deployment>(DEPLOYMENTS, d.metadata?.namespace, d);
  (d.metadata as Meta).resourceVersion = out.metadata?.resourceVersion;
}

/** A deployment whose status may be written. */
export type MutableStatusRef = { status?: MutableStatus };

export function mutableStatus(d: Deployment): MutableStatus {
  return (d as { status?: MutableStatus }).status ??= {};
}

// ---- the new ReplicaSet and revisions -------------------------------------------------

/**
 * The new and old ReplicaSets, with the new one's revision raised above the old ones'
 * and the deployment's revision annotation following it. With `createIfNotExisted` the
 * new ReplicaSet is created when missing.
 */
export async function getAllReplicaSetsAndSyncRevision(
  dc: DeploymentSyncContext,
  d: Deployment,
  rsList: ReplicaSet[],
  createIfNotExisted: boolean,
): Promise<{ newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }> {
  const { all } = findOldReplicaSets(d, rsList);
  const newRS = await getNewReplicaSet(dc, d, rsList, all, createIfNotExisted);
  return { newRS, oldRSs: all };
}

async function getNewReplicaSet(dc: DeploymentSyncContext, d: Deployment, rsList: ReplicaSet[], oldRSs: ReplicaSet[], createIfNotExisted: boolean): Promise<ReplicaSet | undefined> {
  const existing = findNewReplicaSet(d, rsList);
  const newRevision = String(maxRevision(oldRSs) + 1);
  const status = mutableStatus(d);

  if (existing) {
    const rsCopy = deepCopy(existing);
    const annotationsUpdated = setNewReplicaSetAnnotations(d, rsCopy, newRevision, true);
    const minReadyNeedsUpdate = (rsCopy.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
    if (annotationsUpdated || minReadyNeedsUpdate) {
      rsCopy.spec!.minReadySeconds = d.spec?.minReadySeconds ?? 0;
      return dc.transport.update<ReplicaSet>(REPLICASETS, rsCopy.metadata?.namespace, rsCopy);
    }
    let needsUpdate = setDeploymentRevision(d, rsCopy.metadata?.annotations?.[REVISION_ANNOTATION] ?? '');
    if (hasProgressDeadline(d) && !getDeploymentCondition(status, 'Progressing')) {
      setDeploymentCondition(status, newDeploymentCondition('Progressing', 'True', FOUND_NEW_RS_REASON, `Found new replica set "${rsCopy.metadata?.name}"`, dc.now()));
      needsUpdate = true;
    }
    if (needsUpdate) await updateDeploymentStatus(dc, d);
    return rsCopy;
  }

  if (!createIfNotExisted) return undefined;

  // No ReplicaSet has the template yet: create one named after the template's hash.
  const template = deepCopy(d.spec!.template);
  const hash = computeHash(template, status.collisionCount);
  template.metadata ??= {};
  template.metadata.labels = { ...(template.metadata.labels ?? {}), [DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY]: hash };
  const selector = deepCopy(d.spec!.selector);
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY]: hash };
  const ns = d.metadata?.namespace;
  const newRS: ReplicaSet = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata?.name}-${hash}`,
      namespace: ns,
      ownerReferences: [newControllerRef(d, 'apps/v1', 'Deployment')],
      labels: { ...template.metadata.labels },
    },
    spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
  };
  const newReplicas = newRSNewReplicas(d, [...oldRSs, newRS], newRS);
  newRS.spec!.replicas = newReplicas;
  setNewReplicaSetAnnotations(d, newRS, newRevision, false);

  let created: ReplicaSet;
  let alreadyExists = false;
  try {
    created = await dc.transport.create<ReplicaSet>(REPLICASETS, ns, newRS);
  } catch (err) {
    if (isAlreadyExists(err)) {
      alreadyExists = true;
      let rs = dc.rsStore.get(ns, newRS.metadata!.name!);
      if (!rs) rs = await dc.transport.get<ReplicaSet>(REPLICASETS, ns, newRS.metadata!.name!);
      const ref = getControllerOf(rs);
      if (ref && ref.uid === d.metadata?.uid && equalIgnoreHash(d.spec?.template, rs.spec?.template)) {
        created = rs;
      } else {
        // A different ReplicaSet has the name: a hash collision. Count it, and let the next sync use a new name.
        status.collisionCount = (status.collisionCount ?? 0) + 1;
        try {
          await updateDeploymentStatus(dc, d);
        } catch {
          /* the original error is what matters */
        }
        throw err;
      }
    } else if (isNamespaceTerminating(err)) {
      throw err;
    } else {
      const msg = `Failed to create new replica set "${newRS.metadata?.name}": ${errorMessage(err)}`;
      if (hasProgressDeadline(d)) {
        setDeploymentCondition(status, newDeploymentCondition('Progressing', 'False', FAILED_RS_CREATE_REASON, msg, dc.now()));
        try {
          await updateDeploymentStatus(dc, d);
        } catch {
          /* the create error is the bigger issue */
        }
      }
      dc.recorder.event(d, 'Warning', FAILED_RS_CREATE_REASON, msg);
      throw err;
    }
  }
  if (!alreadyExists && newReplicas > 0) {
    dc.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata?.name} from 0 to ${newReplicas}`);
  }
  let needsUpdate = setDeploymentRevision(d, newRevision);
  if (!alreadyExists && hasProgressDeadline(d)) {
    setDeploymentCondition(status, newDeploymentCondition('Progressing', 'True', NEW_REPLICASET_REASON, `Created new replica set "${created.metadata?.name}"`, dc.now()));
    needsUpdate = true;
  }
  if (needsUpdate) await updateDeploymentStatus(dc, d);
  return created;
}

// ---- scaling ------------------------------------------------------------------------------

/** Scale `rs` to `newScale` if it isn't there, recording the event. */
export async function scaleReplicaSetAndRecordEvent(dc: DeploymentSyncContext, rs: ReplicaSet, newScale: number, d: Deployment): Promise<{ scaled: boolean; rs: ReplicaSet }> {
  if (specReplicas(rs) === newScale) return { scaled: false, rs };
  const op = specReplicas(rs) < newScale ? 'up' : 'down';
  return scaleReplicaSet(dc, rs, newScale, d, op);
}

/** Set the size and the desired/max replica annotations of `rs`. */
export async function scaleReplicaSet(dc: DeploymentSyncContext, rs: ReplicaSet, newScale: number, d: Deployment, op: string): Promise<{ scaled: boolean; rs: ReplicaSet }> {
  const sizeNeedsUpdate = specReplicas(rs) !== newScale;
  const desired = specReplicas(d);
  const max = desired + maxSurge(d);
  if (!sizeNeedsUpdate && !replicasAnnotationsNeedUpdate(rs, desired, max)) return { scaled: false, rs };
  const oldScale = specReplicas(rs);
  const copy = deepCopy(rs);
  copy.spec!.replicas = newScale;
  setReplicasAnnotations(copy, desired, max);
  const updated = await dc.transport.update<ReplicaSet>(REPLICASETS, copy.metadata?.namespace, copy);
  if (sizeNeedsUpdate) {
    dc.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${op} replica set ${updated.metadata?.name} from ${oldScale} to ${newScale}`);
  }
  return { scaled: sizeNeedsUpdate, rs: updated };
}

/** Newest first among equal sizes when growing; bigger first. */
function bySizeNewer(a: ReplicaSet, b: ReplicaSet): number {
  if (specReplicas(a) === specReplicas(b)) return compareByCreation(b, a);
  return specReplicas(b) - specReplicas(a);
}

/** Oldest first among equal sizes when shrinking; bigger first. */
function bySizeOlder(a: ReplicaSet, b: ReplicaSet): number {
  if (specReplicas(a) === specReplicas(b)) return compareByCreation(a, b);
  return specReplicas(b) - specReplicas(a);
}

/**
 * A scaling event (spec.replicas changed, or a paused deployment): the one active RS
 * takes the new size; a saturated new RS means the old ones go to 0; otherwise, for
 * rolling updates, the change is spread over the active RSes in proportion to size.
 */
export async function scale(dc: DeploymentSyncContext, d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
  const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
  if (activeOrLatest) {
    if (specReplicas(activeOrLatest) === specReplicas(d)) return;
    await scaleReplicaSetAndRecordEvent(dc, activeOrLatest, specReplicas(d), d);
    return;
  }
  if (isSaturated(d, newRS)) {
    for (const old of filterActiveReplicaSets(oldRSs)) await scaleReplicaSetAndRecordEvent(dc, old, 0, d);
    return;
  }
  if (!isRollingUpdate(d)) return;
  const all = filterActiveReplicaSets([...oldRSs, newRS]);
  const allReplicas = replicaCount(all);
  const allowedSize = specReplicas(d) > 0 ? specReplicas(d) + maxSurge(d) : 0;
  const toAdd = allowedSize - allReplicas;
  let op = '';
  if (toAdd > 0) {
    all.sort(bySizeNewer);
    op = 'up';
  } else if (toAdd < 0) {
    all.sort(bySizeOlder);
    op = 'down';
  }
  let added = 0;
  const sizes = new Map<string, number>();
  for (const rs of all) {
    if (toAdd !== 0) {
      const p = getProportion(rs, d, toAdd, added);
      sizes.set(rs.metadata!.name!, specReplicas(rs) + p);
      added += p;
    } else {
      sizes.set(rs.metadata!.name!, specReplicas(rs));
    }
  }
  for (let i = 0; i < all.length; i++) {
    const rs = all[i];
    const name = rs.metadata!.name!;
    // Whatever is left over goes to (or comes from) the largest.
    if (i === 0 && toAdd !== 0) sizes.set(name, Math.max(0, sizes.get(name)! + toAdd - added));
    await scaleReplicaSet(dc, rs, sizes.get(name)!, d, op);
  }
}

/** Did spec.replicas change under a rollout (an active RS was sized for another count)? */
export async function isScalingEvent(dc: DeploymentSyncContext, d: Deployment, rsList: ReplicaSet[]): Promise<boolean> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, false);
  for (const rs of filterActiveReplicaSets([...oldRSs, newRS])) {
    const desired = desiredReplicasAnnotation(rs);
    if (desired === undefined) continue;
    if (desired !== specReplicas(d)) return true;
  }
  return false;
}

/** Scaling and paused deployments: resize, clean up, report. */
export async function sync(dc: DeploymentSyncContext, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, false);
  await scale(dc, d, newRS, oldRSs);
  // The paused deployment keeps its history in check too.
  if (d.spec?.paused && !getRollbackTo(d)) await cleanupDeployment(dc, oldRSs, d);
  await syncDeploymentStatus(dc, [...oldRSs, newRS], newRS, d);
}

/** Only the status (a deployment being deleted). */
export async function syncStatusOnly(dc: DeploymentSyncContext, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, false);
  await syncDeploymentStatus(dc, [...oldRSs, newRS], newRS, d);
}

export function getRollbackTo(d: Deployment): { revision: number } | undefined {
  const v = d.metadata?.annotations?.[ROLLBACK_TO_ANNOTATION];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? { revision: n } : undefined;
}

/**
 * Pausing and resuming set Progressing to Unknown (DeploymentPaused / DeploymentResumed),
 * so a resumed rollout isn't judged against time spent paused.
 */
export async function checkPausedConditions(dc: DeploymentSyncContext, d: Deployment): Promise<void> {
  if (!hasProgressDeadline(d)) return;
  const status = mutableStatus(d);
  const cond = getDeploymentCondition(status, 'Progressing');
  if (cond?.reason === TIMED_OUT_REASON) return;
  const pausedCondExists = cond?.reason === PAUSED_DEPLOY_REASON;
  let needsUpdate = false;
  if (d.spec?.paused && !pausedCondExists) {
    setDeploymentCondition(status, newDeploymentCondition('Progressing', 'Unknown', PAUSED_DEPLOY_REASON, 'Deployment is paused', dc.now()));
    needsUpdate = true;
  } else if (!d.spec?.paused && pausedCondExists) {
    setDeploymentCondition(status, newDeploymentCondition('Progressing', 'Unknown', RESUMED_DEPLOY_REASON, 'Deployment is resumed', dc.now()));
    needsUpdate = true;
  }
  if (needsUpdate) await updateDeploymentStatus(dc, d);
}

// ---- history ------------------------------------------------------------------------------

/** Oldest revision first; equal revisions by creation time. */
function byRevision(a: ReplicaSet, b: ReplicaSet): number {
  const ra = revisionOf(a);
  const rb = revisionOf(b);
  if (ra === rb || Number.isNaN(ra) || Number.isNaN(rb)) return compareByCreation(a, b);
  return ra - rb;
}

/** Delete the oldest empty old ReplicaSets beyond revisionHistoryLimit. */
export async function cleanupDeployment(dc: DeploymentSyncContext, oldRSs: ReplicaSet[], d: Deployment): Promise<void> {
  if (!hasRevisionHistoryLimit(d)) return;
  const cleanable = oldRSs.filter((rs) => !!rs && !rs.metadata?.deletionTimestamp);
  const diff = cleanable.length - (d.spec?.revisionHistoryLimit ?? 10);
  if (diff <= 0) return;
  cleanable.sort(byRevision);
  for (let i = 0; i < diff; i++) {
    const rs = cleanable[i];
    if ((rs.status?.replicas ?? 0) !== 0 || specReplicas(rs) !== 0 || (rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0) || rs.metadata?.deletionTimestamp) continue;
    try {
      await dc.transport.delete(REPLICASETS, rs.metadata?.namespace, rs.metadata?.name ?? '');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

// ---- status ------------------------------------------------------------------------------

/** The status the ReplicaSets imply, with the Available condition (upstream calculateStatus). */
export function calculateStatus(allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment, now: number): MutableStatus {
  const available = availableReplicaCount(allRSs);
  const total = replicaCount(allRSs);
  const unavailable = Math.max(0, total - available);
  const status: MutableStatus = {
    observedGeneration: d.metadata?.generation,
    replicas: actualReplicaCount(allRSs),
    updatedReplicas: actualReplicaCount([newRS]),
    readyReplicas: readyReplicaCount(allRSs),
    availableReplicas: available,
    unavailableReplicas: unavailable,
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  if (d.status?.conditions?.length) status.conditions = d.status.conditions.map((c) => ({ ...c }));
  if (available >= specReplicas(d) - maxUnavailable(d)) {
    setDeploymentCondition(status, newDeploymentCondition('Available', 'True', MINIMUM_REPLICAS_AVAILABLE, 'Deployment has minimum availability.', now));
  } else {
    setDeploymentCondition(status, newDeploymentCondition('Available', 'False', MINIMUM_REPLICAS_UNAVAILABLE, 'Deployment does not have minimum availability.', now));
  }
  return status;
}

/** Write the computed status when it differs from the current one. */
export async function syncDeploymentStatus(dc: DeploymentSyncContext, allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment): Promise<void> {
  const status = calculateStatus(allRSs, newRS, d, dc.now());
  if (statusEqual(d.status, status)) return;
  (d as { status?: MutableStatus }).status = status;
  await updateDeploymentStatus(dc, d);
}

/** reflect.DeepEqual over statuses, where zero counts and absent fields are the same. */
export function statusEqual(a: unknown, b: unknown): boolean {
  return semanticEqual(a, b);
}

// ---- pods --------------------------------------------------------------------------------

/** Are any pods of the old ReplicaSets still around (not finished)? (Recreate waits for none.) */
export function oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[], podMap: PodMap): boolean {
  if (actualReplicaCount(oldRSs) > 0) return true;
  for (const [uid, pods] of podMap) {
    if (newRS && newRS.metadata?.uid === uid) continue;
    for (const pod of pods) {
      const phase = pod.status?.phase;
      if (phase === 'Failed' || phase === 'Succeeded') continue;
      return true;
    }
  }
  return false;
}

/** When the Progressing condition was last updated, in ms (for requeues). */
export function progressingUpdatedAt(d: Deployment): number | undefined {
  return parseTime(getDeploymentCondition(d.status, 'Progressing')?.lastUpdateTime);
}
