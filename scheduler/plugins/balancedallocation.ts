// NodeResourcesBalancedAllocation (upstream: plugins/noderesources/balanced_allocation.go):
// prefer nodes where cpu and memory would be used in similar proportions after the
// pod lands. Pods that request nothing are not scored by it.
import type { CycleState, PreScorePlugin, ScorePlugin } from '../framework.js';
import { MAX_NODE_SCORE, SKIP } from '../framework.js';
import type { Status } from '../framework.js';
import type { PodInfo } from '../podinfo.js';
import type { NodeInfo } from '../snapshot.js';

export const BALANCED_ALLOCATION = 'NodeResourcesBalancedAllocation';

/** balancedResourceScorer: (1 − standard deviation of the usage fractions) × 100. */
export function balancedScore(requested: readonly number[], allocatable: readonly number[]): number {
  const fractions: number[] = [];
  let total = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    let f = requested[i] / allocatable[i];
    if (f > 1) f = 1;
    total += f;
    fractions.push(f);
  }
  let std = 0;
  if (fractions.length === 2) std = Math.abs((fractions[0] - fractions[1]) / 2);
  else if (fractions.length > 2) {
    const mean = total / fractions.length;
    let sum = 0;
    for (const f of fractions) sum += (f - mean) * (f - mean);
    std = Math.sqrt(sum / fractions.length);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

export class BalancedAllocation implements PreScorePlugin, ScorePlugin {
  readonly name = BALANCED_ALLOCATION;

  preScore(_state: CycleState, pod: PodInfo): Status | null {
    return pod.requests.milliCPU === 0 && pod.requests.memory === 0 ? SKIP : null;
  }

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    const a = node.allocatable;
    // balancedScore for the two default resources, without the arrays (this runs per node).
    const cpuOk = a.milliCPU !== 0;
    const memOk = a.memory !== 0;
    if (cpuOk && memOk) {
      const fc = Math.min(1, (node.requested.milliCPU + pod.requests.milliCPU) / a.milliCPU);
      const fm = Math.min(1, (node.requested.memory + pod.requests.memory) / a.memory);
      return Math.trunc((1 - Math.abs((fc - fm) / 2)) * MAX_NODE_SCORE);
    }
    return MAX_NODE_SCORE;
  }
}
