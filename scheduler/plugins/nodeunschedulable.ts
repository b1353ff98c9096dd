// NodeUnschedulable (upstream: plugins/nodeunschedulable): a cordoned node
// (spec.unschedulable) takes only pods that tolerate the unschedulable taint.
import type { Node } from 'kubernetes-types/core/v1.js';
import type { ClusterEventWithHint, CycleState, EnqueuePlugin, FilterPlugin, QueueingHint } from '../framework.js';
import { Action, Code, Status } from '../framework.js';
import { TAINT_UNSCHEDULABLE, tolerationsTolerateTaint } from '../labels.js';
import type { PodInfo } from '../podinfo.js';
import type { NodeInfo } from '../snapshot.js';

export const NODE_UNSCHEDULABLE = 'NodeUnschedulable';
export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';

const UNSCHEDULABLE_TAINT = { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' };

function toleratesUnschedulable(pod: PodInfo): boolean {
  return tolerationsTolerateTaint(pod.tolerations, UNSCHEDULABLE_TAINT);
}

export class NodeUnschedulable implements FilterPlugin, EnqueuePlugin {
  readonly name = NODE_UNSCHEDULABLE;
  private readonly rejected = new Status(Code.UnschedulableAndUnresolvable, [ERR_REASON_UNSCHEDULABLE], NODE_UNSCHEDULABLE);

  nodeLocalKey(pod: PodInfo): string {
    return toleratesUnschedulable(pod) ? '1' : '0';
  }

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    if (!node.unschedulable) return null;
    return toleratesUnschedulable(pod) ? null : this.rejected;
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      {
        resource: 'Node',
        action: Action.Add | Action.UpdateNodeTaint,
        hint: (pod, oldObj, newObj): QueueingHint => {
          const n = newObj as Node;
          const o = oldObj as Node | undefined;
          if (!n.spec?.unschedulable && (!o || o.spec?.unschedulable)) return 'Queue';
          if (n.spec?.unschedulable && toleratesUnschedulable(pod)) return 'Queue';
          return 'Skip';
        },
      },
      { resource: 'UnscheduledPod', action: Action.UpdatePodToleration, hint: (pod) => (toleratesUnschedulable(pod) ? 'Queue' : 'Skip') },
    ];
  }
}
