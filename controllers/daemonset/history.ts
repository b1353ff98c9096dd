// A DaemonSet's ControllerRevisions (upstream: pkg/controller/daemon/update.go
// constructHistory, snapshot, dedupCurHistories, cleanupHistory). The current revision
// is the one whose data equals the DaemonSet's template; it is named
// `<ds>-<hash of the template and collision count>`, labelled with that hash, and
// always carries the highest revision number. Old revisions beyond
// revisionHistoryLimit that no pod uses are deleted.
import type { ControllerRevision, DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { jsonEqual } from '../../machinery/object.js';
import type { Mutable } from '../../machinery/object.js';
import type { ApiTransport } from '../../client/transport.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../client/transport.js';
import type { ReadonlyStore } from '../../client/store.js';
import { newControllerRef } from '../replicaset/controller-utils.js';
import { PODS } from '../replicaset/pod-control.js';
import { computeHash } from '../history/hash.js';
import type { ControllerHistory } from '../history/history.js';
import { CONTROLLER_REVISIONS, compareRevisions, maxRevision, templatePatch } from '../history/history.js';
import { DAEMONSET_KIND, DAEMONSET_UNIQUE_LABEL } from './util.js';
import { DAEMONSETS } from './resources.js';

/** The revision data a DaemonSet's current template makes. */
export function daemonSetPatch(ds: DaemonSet): ReturnType<typeof templatePatch> {
  return templatePatch(ds.spec?.template);
}

/** The revision holds the DaemonSet's current template. */
export function matchesRevision(ds: DaemonSet, revision: ControllerRevision): boolean {
  return jsonEqual(daemonSetPatch(ds), revision.data);
}

export interface HistoryContext {
  transport: ApiTransport;
  history: ControllerHistory;
  podStore: ReadonlyStore<Pod>;
}

/**
 * The current revision (made, or re-numbered to be the newest, when needed) and the
 * old ones. `revisions` are the DaemonSet's own (after adoption).
 */
export async function constructHistory(hc: HistoryContext, ds: DaemonSet, revisions: ControllerRevision[]): Promise<{ cur: ControllerRevision; old: ControllerRevision[] }> {
  const current: ControllerRevision[] = [];
  const old: ControllerRevision[] = [];
  for (let h of revisions) {
    // Revisions made before the hash label existed get their name as the hash.
    if (!h.metadata?.labels?.[DAEMONSET_UNIQUE_LABEL]) {
      const copy = JSON.parse(JSON.stringify(h)) as ControllerRevision;
      (copy.metadata as Mutable<NonNullable<ControllerRevision['metadata']>>).labels = { ...(copy.metadata?.labels ?? {}), [DAEMONSET_UNIQUE_LABEL]: copy.metadata?.name ?? '' };
      h = await hc.transport.update<ControllerRevision>(CONTROLLER_REVISIONS, ds.metadata?.namespace, copy);
    }
    if (matchesRevision(ds, h)) current.push(h);
    else old.push(h);
  }
  const next = maxRevision(old) + 1;
  let cur: ControllerRevision;
  if (current.length === 0) {
    cur = await snapshot(hc, ds, next);
  } else {
    cur = await dedupCurHistories(hc, ds, current);
    if (cur.revision < next) cur = await hc.history.updateControllerRevision(cur, next);
  }
  return { cur, old };
}

/**
 * Store a new revision of the DaemonSet's template. A different revision under the same
 * name (a hash collision) bumps status.collisionCount and fails, so that the next sync
 * tries the next name.
 */
async function snapshot(hc: HistoryContext, ds: DaemonSet, revision: number): Promise<ControllerRevision> {
  const hash = computeHash(ds.spec?.template, ds.status?.collisionCount);
  const name = `${ds.metadata?.name}-${hash}`;
  const cr: ControllerRevision = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name,
      namespace: ds.metadata?.namespace,
      labels: { ...(ds.spec?.template?.metadata?.labels ?? {}), [DAEMONSET_UNIQUE_LABEL]: hash },
      ownerReferences: [newControllerRef(ds, DAEMONSET_KIND.apiVersion, DAEMONSET_KIND.kind)],
    },
    data: daemonSetPatch(ds) as ControllerRevision['data'],
    revision,
  };
  const annotations = ds.metadata?.annotations;
  if (annotations && Object.keys(annotations).length > 0) (cr.metadata as Mutable<NonNullable<ControllerRevision['metadata']>>).annotations = { ...annotations };
  try {
    return await hc.transport.create<ControllerRevision>(CONTROLLER_REVISIONS, ds.metadata?.namespace, cr);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const existing = await hc.transport.get<ControllerRevision>(CONTROLLER_REVISIONS, ds.metadata?.namespace, name);
    if (matchesRevision(ds, existing)) return existing;
    // A collision: count it on the DaemonSet (unless the count we used was stale).
    const fresh = await hc.transport.get<DaemonSet>(DAEMONSETS, ds.metadata?.namespace, ds.metadata?.name ?? '');
    if ((fresh.status?.collisionCount ?? undefined) !== (ds.status?.collisionCount ?? undefined)) {
      throw new Error(`found a stale collision count (${ds.status?.collisionCount}, expected ${fresh.status?.collisionCount}) of DaemonSet "${ds.metadata?.name}" while processing; will retry until it is updated`, { cause: err });
    }
    const status = { ...(fresh.status ?? {}), collisionCount: (fresh.status?.collisionCount ?? 0) + 1 };
    await hc.transport.updateStatus<DaemonSet>(DAEMONSETS, ds.metadata?.namespace, { ...fresh, status } as DaemonSet).catch(() => undefined);
    throw err;
  }
}

/**
 * Several revisions hold the current template: keep the newest, move pods labelled with
 * the others' hashes onto it, delete the rest.
 */
async function dedupCurHistories(hc: HistoryContext, ds: DaemonSet, current: ControllerRevision[]): Promise<ControllerRevision> {
  if (current.length === 1) return current[0];
  let keep = current[0];
  for (const h of current) if (h.revision >= keep.revision) keep = h;
  const keepHash = keep.metadata?.labels?.[DAEMONSET_UNIQUE_LABEL] ?? '';
  for (const h of current) {
    if (h === keep) continue;
    const dupHash = h.metadata?.labels?.[DAEMONSET_UNIQUE_LABEL];
    for (const pod of hc.podStore.listNamespace(ds.metadata?.namespace ?? '')) {
      if (!dupHash || pod.metadata?.labels?.[DAEMONSET_UNIQUE_LABEL] !== dupHash) continue;
      try {
        await hc.transport.patch(PODS, pod.metadata?.namespace, pod.metadata?.name ?? '', 'strategic', { metadata: { labels: { [DAEMONSET_UNIQUE_LABEL]: keepHash }, uid: pod.metadata?.uid } });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }
    await hc.history.deleteControllerRevision(h);
  }
  return keep;
}

/**
 * Delete old revisions beyond revisionHistoryLimit, oldest first, skipping any whose
 * hash a pod of the DaemonSet still carries.
 */
export async function cleanupHistory(hc: HistoryContext, ds: DaemonSet, old: ControllerRevision[], livePods: Pod[]): Promise<void> {
  const keep = ds.spec?.revisionHistoryLimit ?? 10;
  let toKill = old.length - keep;
  if (toKill <= 0) return;
  const liveHashes = new Set<string>();
  for (const p of livePods) {
    const h = p.metadata?.labels?.[DAEMONSET_UNIQUE_LABEL];
    if (h) liveHashes.add(h);
  }
  for (const h of [...old].sort(compareRevisions)) {
    if (toKill <= 0) break;
    const hash = h.metadata?.labels?.[DAEMONSET_UNIQUE_LABEL];
    if (hash && liveHashes.has(hash)) continue;
    await hc.history.deleteControllerRevision(h);
    toKill--;
  }
}
