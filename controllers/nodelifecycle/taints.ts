// Taints and tolerations as the node lifecycle and taint eviction controllers use them
// (upstream: pkg/util/taints, core/v1 helper ToleratesTaint, pkg/controller/util/node
// SwapNodeControllerTaint), and the node/pod helpers they share.
import type { Node, NodeCondition, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import type { EventRecorder } from '../../client/events.js';
import type { ApiTransport } from '../../client/transport.js';
import { isConflict, isNotFound } from '../../client/transport.js';
import type { Mutable } from '../../machinery/object.js';
import { resourceByPath } from '../../machinery/resources.js';

export const NODES = resourceByPath('', 'v1', 'nodes')!;
export const PODS = resourceByPath('', 'v1', 'pods')!;
export const LEASES = resourceByPath('coordination.k8s.io', 'v1', 'leases')!;
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';

export const UNREACHABLE_NO_EXECUTE: Taint = { key: TAINT_UNREACHABLE, effect: 'NoExecute' };
export const NOT_READY_NO_EXECUTE: Taint = { key: TAINT_NOT_READY, effect: 'NoExecute' };

/** Node condition (type → status) → the NoSchedule taint it stands for. */
export const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: TAINT_MEMORY_PRESSURE },
  DiskPressure: { True: TAINT_DISK_PRESSURE },
  NetworkUnavailable: { True: TAINT_NETWORK_UNAVAILABLE },
  PIDPressure: { True: TAINT_PID_PRESSURE },
};
export const CONDITION_TAINT_KEYS = new Set(Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)));

export function rfc3339(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Same key and effect (upstream MatchTaint). */
export function matchTaint(a: Taint, b: Taint): boolean {
  return a.key === b.key && a.effect === b.effect;
}

export function taintExists(taints: readonly Taint[] | undefined, t: Taint): boolean {
  return (taints ?? []).some((x) => matchTaint(x, t));
}

/** Does toleration `t` tolerate `taint` (upstream Toleration.ToleratesTaint)? */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? 'Equal') {
    case 'Exists':
      return true;
    case 'Equal':
    case '':
      return (t.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

/**
 * Whether every taint is tolerated, and the tolerations that did it (upstream
 * GetMatchingTolerations: for each taint, the first toleration that tolerates it).
 */
export function matchingTolerations(taints: readonly Taint[], tolerations: readonly Toleration[]): { all: boolean; used: Toleration[] } {
  if (taints.length === 0) return { all: true, used: [] };
  if (tolerations.length === 0) return { all: false, used: [] };
  const used: Toleration[] = [];
  for (const taint of taints) {
    const t = tolerations.find((tol) => toleratesTaint(tol, taint));
    if (!t) return { all: false, used: [] };
    used.push(t);
  }
  return { all: true, used };
}

/** The shortest tolerationSeconds in ms; -1 for "forever"; 0 when there are no tolerations. */
export function minTolerationMs(tolerations: readonly Toleration[]): number {
  if (tolerations.length === 0) return 0;
  let min = Infinity;
  for (const t of tolerations) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    if (t.tolerationSeconds <= 0) return 0;
    min = Math.min(min, t.tolerationSeconds);
  }
  return min === Infinity ? -1 : min * 1000;
}

export function getCondition<T extends { type: string }>(conditions: readonly T[] | undefined, type: string): T | undefined {
  return (conditions ?? []).find((c) => c.type === type);
}

export function nodeReadyCondition(node: Node): NodeCondition | undefined {
  return getCondition(node.status?.conditions, 'Ready');
}

export function isPodReady(pod: Pod): boolean {
  return getCondition(pod.status?.conditions, 'Ready')?.status === 'True';
}

/** The zone key of a node (upstream nodetopology.GetZoneKey): region and zone labels. */
export function zoneKey(node: Node): string {
  const l = node.metadata?.labels ?? {};
  const region = l['topology.kubernetes.io/region'] ?? l['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = l['topology.kubernetes.io/zone'] ?? l['failure-domain.beta.kubernetes.io/zone'] ?? '';
  if (!region && !zone) return '';
  return `${region}:\u0000:${zone}`;
}

/**
 * Add `add` (stamped with timeAdded = now) and remove `remove` from a node's taints, in
 * one write with a resourceVersion precondition, retried on conflict with a fresh read
 * (upstream SwapNodeControllerTaint). Returns false if the node could not be updated.
 */
export async function swapNodeTaints(transport: ApiTransport, node: Node, add: readonly Taint[], remove: readonly Taint[], log: (msg: string) => void): Promise<boolean> {
  const now = rfc3339();
  const stamped = add.map((t) => ({ ...t, timeAdded: now }));
  let current: Node | undefined = node;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      if (!current || attempt > 0) current = await transport.get<Node>(NODES, undefined, node.metadata!.name!);
      const before = current.spec?.taints ?? [];
      let next: Taint[] = before.filter((t) => !remove.some((r) => matchTaint(r, t)));
      let changed = next.length !== before.length;
      for (const t of stamped) {
        const i = next.findIndex((x) => matchTaint(x, t));
        if (i < 0) {
          next = [...next, t];
          changed = true;
        } else if ((next[i].value ?? '') !== (t.value ?? '')) {
          next = next.map((x, j) => (j === i ? t : x));
          changed = true;
        }
      }
      if (!changed) return true;
      await transport.patch<Node>(NODES, undefined, node.metadata!.name!, 'merge', {
        metadata: { resourceVersion: current.metadata?.resourceVersion },
        spec: { taints: next.length ? next : null },
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      if (isConflict(err)) continue;
      log(`failed to update taints of node ${node.metadata?.name}: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  }
  return false;
}

/**
 * Set the Ready condition of the node's pods to False (upstream MarkPodsNotReady), with a
 * NodeNotReady event on each pod changed. Throws the first error after trying them all.
 */
export async function markPodsNotReady(transport: ApiTransport, recorder: EventRecorder, pods: readonly Pod[], nodeName: string): Promise<void> {
  const errors: unknown[] = [];
  for (const p of pods) {
    if (p.spec?.nodeName !== nodeName) continue;
    const cond = getCondition(p.status?.conditions, 'Ready');
    if (!cond || cond.status === 'False') continue;
    const pod = structuredClone(p) as Mutable<Pod>;
    const conds = (pod.status!.conditions ?? []).map((c) => (c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: rfc3339() } : c));
    pod.status = { ...pod.status, conditions: conds };
    try {
      await transport.updateStatus<Pod>(PODS, pod.metadata?.namespace, pod);
      recorder.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
    } catch (err) {
      if (isNotFound(err)) continue;
      errors.push(err);
    }
  }
  if (errors.length) throw errors[0];
}
