// NodeResourcesFit (upstream: plugins/noderesources/fit.go + least_allocated.go):
// the node must have room for the pod's requests — cpu, memory, ephemeral storage,
// the pod count and every extended resource (nvidia.com/gpu, hugepages, ...) — and
// among the nodes that do, the least allocated scores highest.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { ClusterEventWithHint, CycleState, EnqueuePlugin, FilterPlugin, PreFilterPlugin, PreFilterResult, ScorePlugin } from '../framework.js';
import { Action, Code, MAX_NODE_SCORE, Status } from '../framework.js';
import type { PodInfo } from '../podinfo.js';
import { PodInfo as PodInfoClass } from '../podinfo.js';
import type { Resource } from '../resources.js';
import { resourceFromList } from '../resources.js';
import type { NodeInfo, Snapshot } from '../snapshot.js';

export const NODE_RESOURCES_FIT = 'NodeResourcesFit';

export interface InsufficientResource {
  resourceName: string;
  reason: string;
  requested: number;
  used: number;
  capacity: number;
  /** The pod asks for more than the whole node has: preemption can't help. */
  unresolvable: boolean;
}

/** fitsRequest: what the node lacks for the pod (empty when it fits). */
export function fitsRequest(req: Resource, podCount: number, allocatable: Resource, requested: Resource): InsufficientResource[] {
  const out: InsufficientResource[] = [];
  if (podCount + 1 > allocatable.pods) {
    out.push({ resourceName: 'pods', reason: 'Too many pods', requested: 1, used: podCount, capacity: allocatable.pods, unresolvable: false });
  }
  if (req.milliCPU === 0 && req.memory === 0 && req.ephemeralStorage === 0 && (!req.scalar || req.scalar.size === 0)) return out;
  if (req.milliCPU > 0 && req.milliCPU > allocatable.milliCPU - requested.milliCPU) {
    out.push({ resourceName: 'cpu', reason: 'Insufficient cpu', requested: req.milliCPU, used: requested.milliCPU, capacity: allocatable.milliCPU, unresolvable: req.milliCPU > allocatable.milliCPU });
  }
  if (req.memory > 0 && req.memory > allocatable.memory - requested.memory) {
    out.push({ resourceName: 'memory', reason: 'Insufficient memory', requested: req.memory, used: requested.memory, capacity: allocatable.memory, unresolvable: req.memory > allocatable.memory });
  }
  if (req.ephemeralStorage > 0 && req.ephemeralStorage > allocatable.ephemeralStorage - requested.ephemeralStorage) {
    out.push({
      resourceName: 'ephemeral-storage',
      reason: 'Insufficient ephemeral-storage',
      requested: req.ephemeralStorage,
      used: requested.ephemeralStorage,
      capacity: allocatable.ephemeralStorage,
      unresolvable: req.ephemeralStorage > allocatable.ephemeralStorage,
    });
  }
  if (req.scalar) {
    for (const [name, q] of req.scalar) {
      if (q === 0) continue;
      const alloc = allocatable.scalar?.get(name) ?? 0;
      const used = requested.scalar?.get(name) ?? 0;
      if (q > alloc - used) out.push({ resourceName: name, reason: `Insufficient ${name}`, requested: q, used, capacity: alloc, unresolvable: q > alloc });
    }
  }
  return out;
}

/** leastRequestedScore: the free share of a resource after placing the pod, 0..100. */
function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/**
 * The reasons a fitsRequest mask stands for. A function of its own: a closure over `mask`
 * inside filter made V8 allocate a context for every call of it, ~40 bytes per node per
 * pod that fits nowhere, even where no status was built (a tenth of the scheduler's garbage).
 */
function reasonsOf(mask: number): string[] {
  return ['Too many pods', 'Insufficient cpu', 'Insufficient memory', 'Insufficient ephemeral-storage'].filter((_, i) => mask & (1 << i));
}

export class NodeResourcesFit implements PreFilterPlugin, FilterPlugin, ScorePlugin, EnqueuePlugin {
  readonly name = NODE_RESOURCES_FIT;
  /** Statuses are shared per combination of reasons, so failed nodes cost no allocation. */
  private readonly statuses = new Map<string, Status>();

  /**
   * Upstream's PreFilter only computes the requests (PodInfo has them); this one also tells
   * the algorithm when no node can fit the pod — it asks for more cpu, memory or ephemeral
   * storage than the largest node has — so the filters need not look for a fitting node.
   */
  preFilter(_state: CycleState, pod: PodInfo, snap: Snapshot): PreFilterResult | null {
    const req = pod.requests;
    const max = snap.maxAllocatable();
    if (req.milliCPU > max.milliCPU || req.memory > max.memory || req.ephemeralStorage > max.ephemeralStorage) return { rejectsEveryNode: true };
    return null;
  }

  nodeLocalKey(pod: PodInfo): string {
    const r = pod.requests;
    return `${r.milliCPU}/${r.memory}/${r.ephemeralStorage}/${r.scalar ? JSON.stringify([...r.scalar]) : ''}`;
  }

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    const req = pod.requests;
    // The NodeInfo's own mirrors of allocatable, requested and the pod count: one object per node.
    const count = node.numPods;
    // The common case, inline: room for one more pod and for cpu/memory, nothing else asked.
    if (count + 1 <= node.allocPods && req.milliCPU <= node.allocMilliCPU - node.usedMilliCPU && req.memory <= node.allocMemory - node.usedMemory && req.ephemeralStorage === 0 && !req.scalar) {
      return null;
    }
    if (req.scalar && req.scalar.size > 0) return this.slowFilter(pod, node);
    // fitsRequest for the standard resources as a bit mask: no allocation per node.
    let mask = 0;
    let unresolvable = false;
    if (count + 1 > node.allocPods) mask |= 1;
    if (req.milliCPU !== 0 || req.memory !== 0 || req.ephemeralStorage !== 0) {
      if (req.milliCPU > 0 && req.milliCPU > node.allocMilliCPU - node.usedMilliCPU) {
        mask |= 2;
        if (req.milliCPU > node.allocMilliCPU) unresolvable = true;
      }
      if (req.memory > 0 && req.memory > node.allocMemory - node.usedMemory) {
        mask |= 4;
        if (req.memory > node.allocMemory) unresolvable = true;
      }
      if (req.ephemeralStorage > 0) {
        const alloc = node.allocatable;
        const used = node.requested;
        if (req.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) {
          mask |= 8;
          if (req.ephemeralStorage > alloc.ephemeralStorage) unresolvable = true;
        }
      }
    }
    if (mask === 0) return null;
    const slot = mask * 2 + (unresolvable ? 1 : 0);
    let st = this.byMask[slot];
    if (!st) {
      st = this.byMask[slot] = new Status(unresolvable ? Code.UnschedulableAndUnresolvable : Code.Unschedulable, reasonsOf(mask), NODE_RESOURCES_FIT);
    }
    return st;
  }

  private readonly byMask: (Status | undefined)[] = new Array<Status | undefined>(32);

  private slowFilter(pod: PodInfo, node: NodeInfo): Status | null {
    const insufficient = fitsRequest(pod.requests, node.podCount, node.allocatable, node.requested);
    if (insufficient.length === 0) return null;
    let code: Code = Code.Unschedulable;
    let key = '';
    for (const r of insufficient) {
      if (r.unresolvable) code = Code.UnschedulableAndUnresolvable;
      key += `${r.reason}\u0000`;
    }
    key += code;
    let st = this.statuses.get(key);
    if (!st) {
      st = new Status(code, insufficient.map((r) => r.reason), NODE_RESOURCES_FIT);
      if (this.statuses.size < 1024) this.statuses.set(key, st);
    }
    return st;
  }

  /** LeastAllocated over cpu and memory (weight 1 each), with non-zero request defaults. */
  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    const alloc = node.allocatable;
    let sum = 0;
    let weights = 0;
    if (alloc.milliCPU !== 0) {
      sum += leastRequestedScore(node.nonZeroCPU + pod.nonZeroCPU, alloc.milliCPU);
      weights++;
    }
    if (alloc.memory !== 0) {
      sum += leastRequestedScore(node.nonZeroMemory + pod.nonZeroMemory, alloc.memory);
      weights++;
    }
    return weights === 0 ? 0 : Math.trunc(sum / weights);
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      {
        resource: 'AssignedPod',
        action: Action.Delete | Action.UpdatePodScaleDown,
        hint: (_pod, oldObj) => ((oldObj as Pod | undefined)?.spec?.nodeName ? 'Queue' : 'Skip'),
      },
      {
        resource: 'Node',
        action: Action.Add | Action.UpdateNodeAllocatable,
        hint: (pod, oldObj, newObj) => {
          const n = newObj as Node;
          const alloc = resourceFromList(n.status?.allocatable as Record<string, unknown> | undefined);
          if (fitsRequest(pod.requests, 0, alloc, { milliCPU: 0, memory: 0, ephemeralStorage: 0, pods: 0 }).length > 0) return 'Skip';
          if (!oldObj) return 'Queue';
          const before = resourceFromList((oldObj as Node).status?.allocatable as Record<string, unknown> | undefined);
          const r = pod.requests;
          if (alloc.pods > before.pods) return 'Queue';
          if ((r.milliCPU > 0 && alloc.milliCPU > before.milliCPU) || (r.memory > 0 && alloc.memory > before.memory) || (r.ephemeralStorage > 0 && alloc.ephemeralStorage > before.ephemeralStorage)) return 'Queue';
          for (const [name, q] of r.scalar ?? []) if (q > 0 && (alloc.scalar?.get(name) ?? 0) > (before.scalar?.get(name) ?? 0)) return 'Queue';
          return 'Skip';
        },
      },
      {
        resource: 'UnscheduledPod',
        action: Action.UpdatePodScaleDown,
        hint: () => 'Queue',
      },
    ];
  }
}

/** Whether the pod could fit the node if the node were empty (used by hints and tests). */
export function fitsEmptyNode(pod: Pod, node: Node): boolean {
  const p = new PodInfoClass(pod, 0);
  const alloc = resourceFromList(node.status?.allocatable as Record<string, unknown> | undefined);
  return fitsRequest(p.requests, 0, alloc, { milliCPU: 0, memory: 0, ephemeralStorage: 0, pods: 0 }).length === 0;
}
