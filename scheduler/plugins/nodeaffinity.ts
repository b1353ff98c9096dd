// NodeAffinity (upstream: plugins/nodeaffinity): spec.nodeSelector and the required
// node affinity filter nodes (operators In, NotIn, Exists, DoesNotExist, Gt, Lt; and
// matchFields on metadata.name, which also narrows the nodes PreFilter hands on);
// preferred terms add their weights to the score.
import type { Node } from 'kubernetes-types/core/v1.js';
import type { ClusterEventWithHint, CycleState, EnqueuePlugin, FilterPlugin, PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin } from '../framework.js';
import { Action, Code, MAX_NODE_SCORE, SKIP, Status, defaultNormalizeScore } from '../framework.js';
import { CompiledNodeTerm } from '../labels.js';
import type { PodInfo } from '../podinfo.js';
import type { NodeInfo } from '../snapshot.js';

export const NODE_AFFINITY = 'NodeAffinity';
export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";
export const ERR_REASON_CONFLICT = 'pod affinity terms conflict';

function nodeLike(n: Node): { name: string; labels: Record<string, string> } {
  return { name: n.metadata?.name ?? '', labels: (n.metadata?.labels ?? {}) as Record<string, string> };
}

export class NodeAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueuePlugin {
  readonly name = NODE_AFFINITY;
  private readonly rejected = new Status(Code.UnschedulableAndUnresolvable, [ERR_REASON_POD], NODE_AFFINITY);

  preFilter(_state: CycleState, pod: PodInfo): Status | PreFilterResult | null {
    if (pod.requiredNodeAffinity.isEmpty) return SKIP;
    const required = pod.pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    if (!required) return null;
    // Terms are ORed: only when every term pins node names can the node set be narrowed.
    let names: Set<string> | undefined;
    for (const t of required.nodeSelectorTerms ?? []) {
      const pinned = CompiledNodeTerm.compile(t).pinnedNames();
      if (!pinned) return null;
      names = names ? new Set([...names, ...pinned]) : pinned;
    }
    if (names && names.size === 0) return new Status(Code.UnschedulableAndUnresolvable, [ERR_REASON_CONFLICT], NODE_AFFINITY);
    return names ? { nodeNames: names } : null;
  }

  nodeLocalKey(pod: PodInfo): string {
    const spec = pod.pod.spec;
    return JSON.stringify([spec?.nodeSelector ?? null, spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? null]);
  }

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    return pod.requiredNodeAffinity.matches(node) ? null : this.rejected;
  }

  preScore(_state: CycleState, pod: PodInfo): Status | null {
    return pod.preferredNodeTerms.length === 0 ? SKIP : null;
  }

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    let s = 0;
    for (const t of pod.preferredNodeTerms) if (t.weight !== 0 && t.term.matches(node)) s += t.weight;
    return s;
  }

  normalizeScore(_state: CycleState, _pod: PodInfo, _nodes: readonly NodeInfo[], scores: number[]): void {
    defaultNormalizeScore(MAX_NODE_SCORE, false, scores);
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      {
        resource: 'Node',
        action: Action.Add | Action.UpdateNodeLabel,
        hint: (pod, oldObj, newObj) => {
          if (!pod.requiredNodeAffinity.matches(nodeLike(newObj as Node))) return 'Skip';
          if (oldObj && pod.requiredNodeAffinity.matches(nodeLike(oldObj as Node))) return 'Skip';
          return 'Queue';
        },
      },
    ];
  }
}
