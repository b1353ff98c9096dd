// Server-side rollback (upstream: pkg/controller/deployment/rollback.go), for the old
// `rollbackTo` request that reaches apps/v1 as the `deprecated.deployment.rollback.to`
// annotation. kubectl since 1.9 rolls back client-side instead (it patches the template
// and annotations from the chosen ReplicaSet); both end the same way: the chosen
// ReplicaSet becomes the new one again and gets the next revision number.
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { deepCopy } from '../replicaset/controller-utils.js';
import { type DeploymentSyncContext, DEPLOYMENTS, getAllReplicaSetsAndSyncRevision, getRollbackTo } from './sync.js';
import { DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY, ROLLBACK_TO_ANNOTATION, equalIgnoreHash, revisionOf, skipCopyAnnotation } from './util.js';

/** The second-highest revision (the one before the current). */
export function lastRevision(rss: readonly (ReplicaSet | undefined)[]): number {
  let max = 0;
  let second = 0;
  for (const rs of rss) {
    if (!rs) continue;
    const v = revisionOf(rs);
    if (Number.isNaN(v)) continue;
    if (v >= max) {
      second = max;
      max = v;
    } else if (v > second) second = v;
  }
  return second;
}

export async function rollback(dc: DeploymentSyncContext, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, true);
  const all = [...oldRSs, newRS];
  let revision = getRollbackTo(d)?.revision ?? 0;
  if (revision === 0) {
    revision = lastRevision(all);
    if (revision === 0) {
      dc.recorder.event(d, 'Warning', 'DeploymentRollbackRevisionNotFound', 'Unable to find last revision.');
      return updateDeploymentAndClearRollbackTo(dc, d);
    }
  }
  for (const rs of all) {
    if (!rs || revisionOf(rs) !== revision) continue;
    let performed = false;
    if (!equalIgnoreHash(d.spec?.template, rs.spec?.template)) {
      setFromReplicaSetTemplate(d, rs);
      setDeploymentAnnotationsTo(d, rs);
      performed = true;
    } else {
      dc.recorder.event(d, 'Warning', 'DeploymentRollbackTemplateUnchanged', `The rollback revision contains the same template as current deployment "${d.metadata?.name}"`);
    }
    await updateDeploymentAndClearRollbackTo(dc, d);
    if (performed) dc.recorder.event(d, 'Normal', 'DeploymentRollback', `Rolled back deployment "${d.metadata?.name}" to revision ${revision}`);
    return;
  }
  dc.recorder.event(d, 'Warning', 'DeploymentRollbackRevisionNotFound', 'Unable to find the revision to rollback to.');
  return updateDeploymentAndClearRollbackTo(dc, d);
}

/** The ReplicaSet's template without its pod-template-hash label. */
function setFromReplicaSetTemplate(d: Deployment, rs: ReplicaSet): void {
  const t = deepCopy(rs.spec!.template!);
  if (t.metadata?.labels) delete t.metadata.labels[DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY];
  d.spec!.template = t;
}

/** The ReplicaSet's annotations (but the skipped ones, which the deployment keeps). */
function setDeploymentAnnotationsTo(d: Deployment, rs: ReplicaSet): void {
  const kept: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) if (skipCopyAnnotation(k)) kept[k] = v;
  for (const [k, v] of Object.entries(rs.metadata?.annotations ?? {})) if (!skipCopyAnnotation(k)) kept[k] = v;
  d.metadata!.annotations = kept;
}

async function updateDeploymentAndClearRollbackTo(dc: DeploymentSyncContext, d: Deployment): Promise<void> {
  if (d.metadata?.annotations) delete d.metadata.annotations[ROLLBACK_TO_ANNOTATION];
  await dc.transport.update<Deployment>(DEPLOYMENTS, d.metadata?.namespace, d);
}
