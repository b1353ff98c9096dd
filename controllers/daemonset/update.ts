// The DaemonSet rolling update (upstream: pkg/controller/daemon/update.go rollingUpdate),
// as a pure decision over the pods per node. Without surge, old pods are deleted while
// fewer than maxUnavailable nodes are unavailable (old pods that are not available are
// always replaced) and the manage step makes their successors. With maxSurge, a new pod
// is started beside an old one (at once where the old one is not available, else up to
// maxSurge at a time) and the old one is deleted once the new one is available.
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { isPodAvailable } from '../replicaset/controller-utils.js';
import { isPodUpdated, nodeShouldRunDaemonPod, surgeCount, templateGeneration, unavailableCount } from './util.js';

/** Pods of the DaemonSet by the node they are for. */
export type NodePods = Map<string, Pod[]>;

/**
 * The node's one up-to-date and one old pod (either may be missing); `ok` is false when
 * there are more than one of either (the manage step cleans that up first).
 */
export function findUpdatedPodsOnNode(ds: DaemonSet, pods: readonly Pod[], hash: string): { newPod?: Pod; oldPod?: Pod; ok: boolean } {
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  const generation = templateGeneration(ds);
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    if (isPodUpdated(pod, hash, generation)) {
      if (newPod) return { ok: false };
      newPod = pod;
    } else {
      if (oldPod) return { ok: false };
      oldPod = pod;
    }
  }
  return { newPod, oldPod, ok: true };
}

/**
 * How many nodes should run the daemon, with the surge and unavailability budgets for
 * that many (at least one pod may be unavailable when both budgets come out 0). Nodes
 * that should run it and have no pods are added to `nodePods` with none.
 */
export function updatedDesiredNodeCounts(ds: DaemonSet, nodes: readonly Node[], nodePods: NodePods): { maxSurge: number; maxUnavailable: number; desired: number } {
  let desired = 0;
  for (const node of nodes) {
    if (!nodeShouldRunDaemonPod(node, ds).shouldRun) continue;
    desired++;
    const name = node.metadata?.name ?? '';
    if (!nodePods.has(name)) nodePods.set(name, []);
  }
  let maxUnavailable = unavailableCount(ds, desired);
  const maxSurge = surgeCount(ds, desired);
  if (desired > 0 && maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable, desired };
}

export interface RollingUpdatePlan {
  /** Names of pods to delete. */
  podsToDelete: string[];
  /** Nodes to start a new pod on. */
  nodesToCreate: string[];
}

export function planRollingUpdate(ds: DaemonSet, nodes: readonly Node[], nodePods: NodePods, hash: string, now: number): RollingUpdatePlan {
  const { maxSurge, maxUnavailable, desired } = updatedDesiredNodeCounts(ds, nodes, nodePods);
  const mrs = ds.spec?.minReadySeconds ?? 0;
  const available = (p: Pod) => isPodAvailable(p, mrs, now);
  // Map iteration order is insertion order; sort node names so that plans are stable.
  const nodeNames = [...nodePods.keys()].sort();

  if (maxSurge === 0) {
    let numUnavailable = 0;
    const allowedReplacements: string[] = [];
    const candidates: string[] = [];
    for (const name of nodeNames) {
      const { newPod, oldPod, ok } = findUpdatedPodsOnNode(ds, nodePods.get(name) ?? [], hash);
      if (!ok) {
        numUnavailable++;
        continue;
      }
      if ((!oldPod && !newPod) || (oldPod && newPod)) {
        numUnavailable++;
      } else if (newPod) {
        if (!available(newPod)) numUnavailable++;
      } else if (oldPod) {
        if (!available(oldPod)) allowedReplacements.push(oldPod.metadata?.name ?? '');
        else if (numUnavailable >= maxUnavailable) continue;
        else candidates.push(oldPod.metadata?.name ?? '');
      }
    }
    const remaining = Math.min(Math.max(maxUnavailable - numUnavailable, 0), candidates.length);
    return { podsToDelete: [...allowedReplacements, ...candidates.slice(0, remaining)], nodesToCreate: [] };
  }

  const oldPodsToDelete: string[] = [];
  const shouldNotRunPodsToDelete: string[] = [];
  const candidateNewNodes: string[] = [];
  const allowedNewNodes: string[] = [];
  let numSurge = 0;
  let numAvailable = 0;
  const nodeByName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
  for (const name of nodeNames) {
    const { newPod, oldPod, ok } = findUpdatedPodsOnNode(ds, nodePods.get(name) ?? [], hash);
    if (!ok) {
      numSurge++;
      continue;
    }
    if (newPod) {
      if (available(newPod)) numAvailable++;
    } else if (oldPod) {
      if (available(oldPod)) numAvailable++;
    }
    if (!oldPod) continue;
    if (!newPod) {
      const node = nodeByName.get(name);
      const shouldRun = node ? nodeShouldRunDaemonPod(node, ds).shouldRun : false;
      if (!available(oldPod)) {
        if (!shouldRun) {
          // Not available and no longer wanted here: nothing to keep it for.
          oldPodsToDelete.push(oldPod.metadata?.name ?? '');
          continue;
        }
        allowedNewNodes.push(name);
      } else if (!shouldRun) {
        // Available but no longer wanted here: goes once enough pods elsewhere are available.
        shouldNotRunPodsToDelete.push(oldPod.metadata?.name ?? '');
      } else if (numSurge >= maxSurge) {
        continue;
      } else {
        candidateNewNodes.push(name);
      }
      continue;
    }
    // Already surged here: the old pod goes once the new one is available.
    if (!available(newPod)) {
      numSurge++;
      continue;
    }
    oldPodsToDelete.push(oldPod.metadata?.name ?? '');
  }
  const deletable = Math.min(numAvailable - desired, shouldNotRunPodsToDelete.length);
  if (deletable > 0) oldPodsToDelete.push(...shouldNotRunPodsToDelete.slice(0, deletable));
  const remainingSurge = Math.min(Math.max(maxSurge - numSurge, 0), candidateNewNodes.length);
  return { podsToDelete: oldPodsToDelete, nodesToCreate: [...allowedNewNodes, ...candidateNewNodes.slice(0, remainingSurge)] };
}
