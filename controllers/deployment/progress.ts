// Rollout progress (upstream: pkg/controller/deployment/progress.go): the Progressing
// condition says a rollout completed (NewReplicaSetAvailable), is moving
// (ReplicaSetUpdated) or has made no progress for progressDeadlineSeconds
// (ProgressDeadlineExceeded); ReplicaSet failures surface as ReplicaFailure. A rollout
// that is stuck is looked at again when its deadline would pass.
import type { Deployment, DeploymentCondition, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { objectKey } from '../../client/keys.js';
import { parseTime } from '../replicaset/controller-utils.js';
import { type DeploymentSyncContext, calculateStatus, statusEqual, updateDeploymentStatus } from './sync.js';
import {
  NEW_RS_AVAILABLE_REASON,
  REPLICASET_UPDATED_REASON,
  TIMED_OUT_REASON,
  type MutableStatus,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  getDeploymentCondition,
  hasProgressDeadline,
  newDeploymentCondition,
  removeDeploymentCondition,
  setDeploymentCondition,
} from './util.js';

export async function syncRolloutStatus(dc: DeploymentSyncContext, allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment): Promise<void> {
  const now = dc.now();
  const status = calculateStatus(allRSs, newRS, d, now);
  if (!hasProgressDeadline(d)) removeDeploymentCondition(status, 'Progressing');

  const current = getDeploymentCondition(d.status, 'Progressing');
  const isCompleteDeployment = status.replicas === status.updatedReplicas && current?.reason === NEW_RS_AVAILABLE_REASON;
  if (hasProgressDeadline(d) && !isCompleteDeployment) {
    if (deploymentComplete(d, status)) {
      const msg = newRS ? `ReplicaSet "${newRS.metadata?.name}" has successfully progressed.` : `Deployment "${d.metadata?.name}" has successfully progressed.`;
      setDeploymentCondition(status, newDeploymentCondition('Progressing', 'True', NEW_RS_AVAILABLE_REASON, msg, now));
    } else if (deploymentProgressing(d, status)) {
      const msg = newRS ? `ReplicaSet "${newRS.metadata?.name}" is progressing.` : `Deployment "${d.metadata?.name}" is progressing.`;
      const cond = newDeploymentCondition('Progressing', 'True', REPLICASET_UPDATED_REASON, msg, now);
      // Progress moves lastUpdateTime even when the reason stays the same.
      if (current) {
        if (current.status === 'True') cond.lastTransitionTime = current.lastTransitionTime;
        removeDeploymentCondition(status, 'Progressing');
      }
      setDeploymentCondition(status, cond);
    } else if (deploymentTimedOut(d, status, now)) {
      const msg = newRS ? `ReplicaSet "${newRS.metadata?.name}" has timed out progressing.` : `Deployment "${d.metadata?.name}" has timed out progressing.`;
      setDeploymentCondition(status, newDeploymentCondition('Progressing', 'False', TIMED_OUT_REASON, msg, now));
    }
  }

  const failures = replicaFailures(allRSs, newRS);
  if (failures.length > 0) setDeploymentCondition(status, failures[0]);
  else removeDeploymentCondition(status, 'ReplicaFailure');

  if (statusEqual(d.status, status)) {
    requeueStuckDeployment(dc, d, status);
    return;
  }
  (d as { status?: MutableStatus }).status = status;
  await updateDeploymentStatus(dc, d);
}

/** ReplicaFailure conditions of the new ReplicaSet, else of any old one. */
function replicaFailures(allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): DeploymentCondition[] {
  const toDeployment = (c: { type: string; status: string; lastTransitionTime?: string; reason?: string; message?: string }): DeploymentCondition => ({
    type: c.type,
    status: c.status,
    lastTransitionTime: c.lastTransitionTime,
    lastUpdateTime: c.lastTransitionTime,
    reason: c.reason,
    message: c.message,
  });
  const fromNew = (newRS?.status?.conditions ?? []).filter((c) => c.type === 'ReplicaFailure').map(toDeployment);
  if (fromNew.length > 0) return fromNew;
  const out: DeploymentCondition[] = [];
  for (const rs of allRSs) for (const c of rs?.status?.conditions ?? []) if (c.type === 'ReplicaFailure') out.push(toDeployment(c));
  return out;
}

/**
 * A rollout with no visible progress is checked again when its deadline passes (the
 * Progressing condition's lastUpdateTime + progressDeadlineSeconds). Returns the delay
 * in ms, or -1 when no check is needed.
 */
export function requeueStuckDeployment(dc: DeploymentSyncContext, d: Deployment, status: MutableStatus): number {
  const current = getDeploymentCondition(d.status, 'Progressing');
  if (!hasProgressDeadline(d) || !current) return -1;
  if (deploymentComplete(d, status) || current.reason === TIMED_OUT_REASON) return -1;
  const updated = parseTime(current.lastUpdateTime);
  if (updated === undefined) return -1;
  const after = updated + d.spec!.progressDeadlineSeconds! * 1000 - dc.now();
  const key = objectKey(d);
  if (after < 1000) {
    dc.enqueueAfter(key, 1000);
    return 0;
  }
  // A second more, so the check lands after the deadline rather than on it.
  dc.enqueueAfter(key, after + 1000);
  return after;
}
