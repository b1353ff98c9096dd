// What the Job controller reads off its pods (upstream: pkg/controller/controller_utils.go
// FilterActivePods / CountTerminatingPods / ActivePods ordering, pkg/api/v1/pod
// IsPodReady, and pkg/controller/job/backoff_utils.go getFinishedTime).
import type { ContainerStatus, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { parseTime } from './clock.js';

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';

export function phaseOf(pod: Pod): string | undefined {
  return pod.status?.phase;
}

export function isTerminal(pod: Pod): boolean {
  const p = phaseOf(pod);
  return p === 'Succeeded' || p === 'Failed';
}

/** Not finished and not being deleted. */
export function isActive(pod: Pod): boolean {
  return !isTerminal(pod) && !pod.metadata?.deletionTimestamp;
}

/** Being deleted but not finished. */
export function isTerminating(pod: Pod): boolean {
  return !!pod.metadata?.deletionTimestamp && !isTerminal(pod);
}

export function podCondition(pod: Pod, type: string): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

export function isReady(pod: Pod): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

export function hasTrackingFinalizer(pod: Pod): boolean {
  return pod.metadata?.finalizers?.includes(JOB_TRACKING_FINALIZER) ?? false;
}

export function controllerOf(obj: { metadata?: { ownerReferences?: OwnerReference[] } }): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/**
 * When the pod finished: the last container to terminate (all must have), else when it
 * stopped being Ready, else its deletion time less the grace period, else its creation.
 */
export function finishedTime(pod: Pod): number {
  const fromContainers = containersFinishTime(pod);
  if (fromContainers !== undefined) return fromContainers;
  const ready = podCondition(pod, 'Ready');
  const readyFalse = ready?.status === 'False' ? parseTime(ready.lastTransitionTime) : undefined;
  if (readyFalse !== undefined) return readyFalse;
  const del = parseTime(pod.metadata?.deletionTimestamp);
  if (del !== undefined) return del - (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000;
  return parseTime(pod.metadata?.creationTimestamp) ?? 0;
}

function containersFinishTime(pod: Pod): number | undefined {
  let latest: number | undefined;
  const consider = (statuses: ContainerStatus[] | undefined, only?: Set<string>): boolean => {
    for (const cs of statuses ?? []) {
      if (only && !only.has(cs.name)) continue;
      const at = parseTime(cs.state?.terminated?.finishedAt);
      if (at === undefined) return false;
      if (latest === undefined || at > latest) latest = at;
    }
    return true;
  };
  if (!consider(pod.status?.containerStatuses)) return undefined;
  // Sidecars (restartable init containers) finish after the main containers.
  const sidecars = new Set((pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  if (sidecars.size > 0 && !consider(pod.status?.initContainerStatuses, sidecars)) return undefined;
  return latest;
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function restarts(pod: Pod): number {
  let max = 0;
  for (const cs of pod.status?.containerStatuses ?? []) max = Math.max(max, cs.restartCount ?? 0);
  return max;
}

/**
 * Order for removal, the pods to delete first first (upstream controller.ActivePods):
 * unscheduled before scheduled, Pending before Unknown before Running, not ready before
 * ready, ready for less time before longer, more restarts before fewer, newer before older.
 */
export function compareForRemoval(a: Pod, b: Pod): number {
  const an = a.spec?.nodeName ? 1 : 0;
  const bn = b.spec?.nodeName ? 1 : 0;
  if (an !== bn) return an - bn;
  const ap = PHASE_RANK[phaseOf(a) ?? 'Pending'] ?? 0;
  const bp = PHASE_RANK[phaseOf(b) ?? 'Pending'] ?? 0;
  if (ap !== bp) return ap - bp;
  const ar = isReady(a) ? 1 : 0;
  const br = isReady(b) ? 1 : 0;
  if (ar !== br) return ar - br;
  if (ar && br) {
    const at = parseTime(podCondition(a, 'Ready')?.lastTransitionTime) ?? 0;
    const bt = parseTime(podCondition(b, 'Ready')?.lastTransitionTime) ?? 0;
    if (at !== bt) return bt - at; // ready for less time first
  }
  const rs = restarts(b) - restarts(a);
  if (rs !== 0) return rs;
  const ac = parseTime(a.metadata?.creationTimestamp) ?? 0;
  const bc = parseTime(b.metadata?.creationTimestamp) ?? 0;
  return bc - ac; // newer first
}
