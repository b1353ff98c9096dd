// NodeName (upstream: plugins/nodename): a pod that names its node fits only there.
import type { Node } from 'kubernetes-types/core/v1.js';
import type { ClusterEventWithHint, CycleState, EnqueuePlugin, FilterPlugin, PreFilterPlugin } from '../framework.js';
import { Action, Code, SKIP, Status } from '../framework.js';
import type { PodInfo } from '../podinfo.js';
import type { NodeInfo } from '../snapshot.js';

export const NODE_NAME = 'NodeName';
export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

export class NodeName implements PreFilterPlugin, FilterPlugin, EnqueuePlugin {
  readonly name = NODE_NAME;
  private readonly rejected = new Status(Code.UnschedulableAndUnresolvable, [ERR_REASON_NODE_NAME], NODE_NAME);

  /** Upstream has no PreFilter here; skipping a filter that passes every node changes nothing and saves a call per node. */
  preFilter(_state: CycleState, pod: PodInfo): Status | null {
    return pod.pod.spec?.nodeName ? null : SKIP;
  }

  nodeLocalKey(pod: PodInfo): string {
    return pod.pod.spec?.nodeName ?? '';
  }

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    const wanted = pod.pod.spec?.nodeName;
    return wanted && wanted !== node.name ? this.rejected : null;
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      {
        resource: 'Node',
        action: Action.Add,
        hint: (pod, _o, n) => (!pod.pod.spec?.nodeName || (n as Node).metadata?.name === pod.pod.spec.nodeName ? 'Queue' : 'Skip'),
      },
    ];
  }
}
