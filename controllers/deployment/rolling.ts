// RollingUpdate (upstream: pkg/controller/deployment/rolling.go): grow the new
// ReplicaSet as far as maxSurge allows, shrink old ones as far as maxUnavailable allows
// — unhealthy old replicas first, since removing them costs no availability.
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { type DeploymentSyncContext, cleanupDeployment, getAllReplicaSetsAndSyncRevision, scaleReplicaSetAndRecordEvent } from './sync.js';
import { syncRolloutStatus } from './progress.js';
import { availableReplicaCount, compareByCreation, deploymentComplete, filterActiveReplicaSets, maxUnavailable, newRSNewReplicas, replicaCount, specReplicas } from './util.js';

export async function rolloutRolling(dc: DeploymentSyncContext, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, true);
  const allRSs = [...oldRSs, newRS!];
  if (await reconcileNewReplicaSet(dc, allRSs, newRS!, d)) return syncRolloutStatus(dc, allRSs, newRS, d);
  if (await reconcileOldReplicaSets(dc, allRSs, filterActiveReplicaSets(oldRSs), newRS!, d)) return syncRolloutStatus(dc, allRSs, newRS, d);
  if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(dc, oldRSs, d);
  return syncRolloutStatus(dc, allRSs, newRS, d);
}

/** Grow (or, past the desired count, shrink) the new ReplicaSet; true when it was scaled. */
export async function reconcileNewReplicaSet(dc: DeploymentSyncContext, allRSs: ReplicaSet[], newRS: ReplicaSet, d: Deployment): Promise<boolean> {
  if (specReplicas(newRS) === specReplicas(d)) return false;
  if (specReplicas(newRS) > specReplicas(d)) return (await scaleReplicaSetAndRecordEvent(dc, newRS, specReplicas(d), d)).scaled;
  const count = newRSNewReplicas(d, allRSs, newRS);
  return (await scaleReplicaSetAndRecordEvent(dc, newRS, count, d)).scaled;
}

/** Shrink old ReplicaSets as far as availability allows; true when anything was scaled down. */
export async function reconcileOldReplicaSets(dc: DeploymentSyncContext, allRSs: ReplicaSet[], oldRSs: ReplicaSet[], newRS: ReplicaSet, d: Deployment): Promise<boolean> {
  const oldPods = replicaCount(oldRSs);
  if (oldPods === 0) return false;
  const allPods = replicaCount(allRSs);
  const minAvailable = specReplicas(d) - maxUnavailable(d);
  const newRSUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = allPods - minAvailable - newRSUnavailable;
  if (maxScaledDown <= 0) return false;
  const cleaned = await cleanupUnhealthyReplicas(dc, oldRSs, d, maxScaledDown);
  const scaledDown = await scaleDownOldReplicaSetsForRollingUpdate(dc, [...cleaned.oldRSs, newRS], cleaned.oldRSs, d);
  return cleaned.count + scaledDown > 0;
}

/** Scale old ReplicaSets down by their unavailable replicas (up to `maxCleanup` in all). */
async function cleanupUnhealthyReplicas(dc: DeploymentSyncContext, oldRSs: ReplicaSet[], d: Deployment, maxCleanup: number): Promise<{ oldRSs: ReplicaSet[]; count: number }> {
  const rss = [...oldRSs].sort(compareByCreation);
  let total = 0;
  for (let i = 0; i < rss.length; i++) {
    if (total >= maxCleanup) break;
    const rs = rss[i];
    const replicas = specReplicas(rs);
    const available = rs.status?.availableReplicas ?? 0;
    if (replicas === 0 || replicas === available) continue;
    const count = Math.min(maxCleanup - total, replicas - available);
    const next = replicas - count;
    if (next > replicas) throw new Error(`when cleaning up unhealthy replicas, got invalid request to scale down ${rs.metadata?.namespace}/${rs.metadata?.name} ${replicas} -> ${next}`);
    const { rs: updated } = await scaleReplicaSetAndRecordEvent(dc, rs, next, d);
    total += count;
    rss[i] = updated;
  }
  return { oldRSs: rss, count: total };
}

/** Scale old ReplicaSets down while more than minAvailable pods are available, oldest first. */
async function scaleDownOldReplicaSetsForRollingUpdate(dc: DeploymentSyncContext, allRSs: ReplicaSet[], oldRSs: ReplicaSet[], d: Deployment): Promise<number> {
  const minAvailable = specReplicas(d) - maxUnavailable(d);
  const available = availableReplicaCount(allRSs);
  if (available <= minAvailable) return 0;
  const rss = [...oldRSs].sort(compareByCreation);
  const totalToScaleDown = available - minAvailable;
  let total = 0;
  for (const rs of rss) {
    if (total >= totalToScaleDown) break;
    if (specReplicas(rs) === 0) continue;
    const count = Math.min(specReplicas(rs), totalToScaleDown - total);
    await scaleReplicaSetAndRecordEvent(dc, rs, specReplicas(rs) - count, d);
    total += count;
  }
  return total;
}
