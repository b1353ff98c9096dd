// NodePorts (upstream: plugins/nodeports): a pod's host ports must be free on the
// node (0.0.0.0 conflicts with every address of the same protocol and port).
import type { ClusterEventWithHint, CycleState, EnqueuePlugin, FilterPlugin, PreFilterPlugin } from '../framework.js';
import { Action, Code, SKIP, Status } from '../framework.js';
import type { PodInfo } from '../podinfo.js';
import { podInfoOf } from '../podinfo.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { NodeInfo } from '../snapshot.js';

export const NODE_PORTS = 'NodePorts';
export const ERR_REASON_PORTS = "node(s) didn't have free ports for the requested pod ports";

export class NodePorts implements PreFilterPlugin, FilterPlugin, EnqueuePlugin {
  readonly name = NODE_PORTS;
  private readonly rejected = new Status(Code.Unschedulable, [ERR_REASON_PORTS], NODE_PORTS);

  preFilter(_state: CycleState, pod: PodInfo): Status | null {
    return pod.hostPorts.length === 0 ? SKIP : null;
  }

  nodeLocalKey(pod: PodInfo): string {
    return JSON.stringify(pod.hostPorts);
  }

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    return node.hasPortConflict(pod.hostPorts) ? this.rejected : null;
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      {
        resource: 'AssignedPod',
        action: Action.Delete,
        hint: (pod, oldObj) => {
          const deleted = podInfoOf(oldObj as Pod);
          for (const a of deleted.hostPorts)
            for (const b of pod.hostPorts) if (a.protocol === b.protocol && a.port === b.port && (a.ip === b.ip || a.ip === '0.0.0.0' || b.ip === '0.0.0.0')) return 'Queue';
          return 'Skip';
        },
      },
      { resource: 'Node', action: Action.Add },
    ];
  }
}
