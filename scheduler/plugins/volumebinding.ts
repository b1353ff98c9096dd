// VolumeBinding (upstream: plugins/volumebinding): PreFilter sorts the pod's claims
// (missing, terminating or unbound Immediate claims: unresolvable until they change),
// Filter checks each node — bound volumes' node affinity, and for WaitForFirstConsumer
// claims a matching static volume on the node or a class that can provision there. The
// logic lives in controllers/volume/scheduling.ts (pure functions over a lister).
//
// Constructed without a lister (as the default profile does today) it skips pods
// without claims and passes the rest, as before. To turn it on, give it a lister over
// the scheduler's PersistentVolumeClaim / PersistentVolume / StorageClass informers:
//   new VolumeBinding(listerFromStores({ claims: pvcInf.store, volumes: pvInf.store, classes: scInf.store }))
// The PreBind half (binding chosen static volumes, annotating claims to provision with
// volume.kubernetes.io/selected-node) is bindPodVolumes(transport, decision) from the
// same module; until the framework has a PreBind point, controllers/volume/selected-node.ts
// does it once the pod is bound to its node.
import type { Node } from 'kubernetes-types/core/v1.js';
import type { ClusterEventWithHint, CycleState, EnqueuePlugin, FilterPlugin, PreFilterPlugin, StateData } from '../framework.js';
import { Action, Code, SKIP, Status } from '../framework.js';
import type { PodInfo } from '../podinfo.js';
import type { NodeInfo } from '../snapshot.js';
import { filterPodVolumes, preFilterPodVolumes } from '../../controllers/volume/scheduling.js';
import type { PodVolumeClaims, VolumeLister } from '../../controllers/volume/scheduling.js';

export const VOLUME_BINDING = 'VolumeBinding';
const STATE_KEY = `PreFilter${VOLUME_BINDING}`;

class VolumeBindingState implements StateData {
  constructor(readonly claims: PodVolumeClaims) {}
  clone(): StateData {
    return this;
  }
}

export class VolumeBinding implements PreFilterPlugin, FilterPlugin, EnqueuePlugin {
  readonly name = VOLUME_BINDING;

  constructor(private readonly lister?: VolumeLister) {}

  preFilter(state: CycleState, pod: PodInfo): Status | null {
    const claims = (pod.pod.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim || v.ephemeral);
    if (!claims) return SKIP;
    if (!this.lister) return null;
    const pre = preFilterPodVolumes(pod.pod, this.lister);
    if (pre.status === 'skip') return SKIP;
    if (pre.status === 'unresolvable') return new Status(Code.UnschedulableAndUnresolvable, [pre.reason], VOLUME_BINDING);
    state.write(STATE_KEY, new VolumeBindingState(pre.claims));
    return null;
  }

  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    if (!this.lister) return null;
    const s = state.read<VolumeBindingState>(STATE_KEY);
    if (!s) return null;
    const n: Node = node.node ?? { metadata: { name: node.name, labels: { ...node.labels } } };
    const fit = filterPodVolumes(pod.pod, s.claims, n, this.lister);
    if (fit.reasons.length === 0) return null;
    return new Status(fit.unresolvable ? Code.UnschedulableAndUnresolvable : Code.Unschedulable, fit.reasons, VOLUME_BINDING);
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      { resource: 'PersistentVolumeClaim', action: Action.Add | Action.Update },
      { resource: 'Node', action: Action.Add | Action.UpdateNodeLabel },
    ];
  }
}
