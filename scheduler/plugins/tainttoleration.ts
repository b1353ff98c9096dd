// TaintToleration (upstream: plugins/tainttoleration): NoSchedule and NoExecute
// taints keep out pods that don't tolerate them; untolerated PreferNoSchedule taints
// lower a node's score.
import type { Node, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import type { ClusterEventWithHint, CycleState, EnqueuePlugin, FilterPlugin, PreScorePlugin, ScorePlugin, StateData } from '../framework.js';
import { Action, Code, MAX_NODE_SCORE, Status, defaultNormalizeScore } from '../framework.js';
import { doNotScheduleTaint, findUntoleratedTaint, tolerationsTolerateTaint } from '../labels.js';
import type { PodInfo } from '../podinfo.js';
import type { NodeInfo } from '../snapshot.js';

export const TAINT_TOLERATION = 'TaintToleration';
const PRE_SCORE_KEY = `PreScore${TAINT_TOLERATION}`;

class PreScoreState implements StateData {
  constructor(readonly tolerations: readonly Toleration[]) {}
  clone(): StateData {
    return this;
  }
}

export function untoleratedTaintReason(t: Taint): string {
  return `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`;
}

export class TaintToleration implements FilterPlugin, PreScorePlugin, ScorePlugin, EnqueuePlugin {
  readonly name = TAINT_TOLERATION;

  nodeLocalKey(pod: PodInfo): string {
    return JSON.stringify(pod.tolerations);
  }

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    if (node.hardTaints.length === 0) return null;
    const taint = findUntoleratedTaint(node.hardTaints, pod.tolerations);
    if (!taint) return null;
    return new Status(Code.UnschedulableAndUnresolvable, [untoleratedTaintReason(taint)], TAINT_TOLERATION);
  }

  preScore(state: CycleState, pod: PodInfo): Status | null {
    const tolerations = pod.tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    state.write(PRE_SCORE_KEY, new PreScoreState(tolerations));
    return null;
  }

  /** How many PreferNoSchedule taints the pod doesn't tolerate. */
  score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    if (node.taints.length === 0) return 0;
    const tolerations = state.read<PreScoreState>(PRE_SCORE_KEY)?.tolerations ?? [];
    let n = 0;
    for (const t of node.taints) if (t.effect === 'PreferNoSchedule' && !tolerationsTolerateTaint(tolerations, t)) n++;
    return n;
  }

  normalizeScore(_state: CycleState, _pod: PodInfo, _nodes: readonly NodeInfo[], scores: number[]): void {
    defaultNormalizeScore(MAX_NODE_SCORE, true, scores);
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      {
        resource: 'Node',
        action: Action.Add | Action.UpdateNodeTaint,
        hint: (pod, oldObj, newObj) => {
          const was = oldObj ? !!findUntoleratedTaint((oldObj as Node).spec?.taints ?? [], pod.tolerations, doNotScheduleTaint) : true;
          const is = !!findUntoleratedTaint((newObj as Node).spec?.taints ?? [], pod.tolerations, doNotScheduleTaint);
          return was && !is ? 'Queue' : 'Skip';
        },
      },
      { resource: 'UnscheduledPod', action: Action.UpdatePodToleration, hint: () => 'Queue' },
    ];
  }
}
