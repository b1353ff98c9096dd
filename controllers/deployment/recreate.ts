// Recreate (upstream: pkg/controller/deployment/recreate.go): scale every old
// ReplicaSet to zero, wait until none of their pods is left running, then create and
// scale up the new ReplicaSet.
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { type DeploymentSyncContext, type PodMap, cleanupDeployment, getAllReplicaSetsAndSyncRevision, oldPodsRunning, scaleReplicaSetAndRecordEvent } from './sync.js';
import { syncRolloutStatus } from './progress.js';
import { deploymentComplete, filterActiveReplicaSets, specReplicas } from './util.js';

export async function rolloutRecreate(dc: DeploymentSyncContext, d: Deployment, rsList: ReplicaSet[], podMap: PodMap): Promise<void> {
  // Don't create the new ReplicaSet yet: nothing may scale up before the old ones are down.
  let { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, false);
  let allRSs: (ReplicaSet | undefined)[] = [...oldRSs, newRS];
  const activeOld = filterActiveReplicaSets(oldRSs);

  let scaledDown = false;
  for (const rs of activeOld) {
    if (specReplicas(rs) === 0) continue;
    if ((await scaleReplicaSetAndRecordEvent(dc, rs, 0, d)).scaled) scaledDown = true;
  }
  if (scaledDown) return syncRolloutStatus(dc, allRSs, newRS, d);

  if (oldPodsRunning(newRS, oldRSs, podMap)) return syncRolloutStatus(dc, allRSs, newRS, d);

  if (!newRS) {
    ({ newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, true));
    allRSs = [...oldRSs, newRS];
  }
  await scaleReplicaSetAndRecordEvent(dc, newRS!, specReplicas(d), d);
  if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(dc, oldRSs, d);
  return syncRolloutStatus(dc, allRSs, newRS, d);
}
