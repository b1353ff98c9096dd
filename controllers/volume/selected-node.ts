// The scheduler's VolumeBinding PreBind, done late, for pods that already have a node:
// a pod created with spec.nodeName (or bound by a scheduler that doesn't handle
// volumes) whose WaitForFirstConsumer claims are still unbound and carry no
// `volume.kubernetes.io/selected-node`. For such a pod the node is known, so the same
// decision the scheduler would make there (controllers/volume/scheduling.ts) is made
// and applied: a matching static volume is bound to the claim, or the claim is
// annotated with the pod's node so its provisioner creates the volume there.
//
// Upstream has no such controller (a pod that bypasses the scheduler leaves such claims
// Pending for ever); kite's scheduler does not bind volumes yet, and this keeps
// WaitForFirstConsumer classes — the default `local-path` among them — usable meanwhile.
// Once the scheduler sets the annotation at PreBind, this finds nothing to do: by the
// time a pod has its node, its claims are bound or annotated.
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { QueueController } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { EventRecorder } from '../../client/events.js';
import type { ApiTransport } from '../../client/transport.js';
import { isConflict, isNotFound } from '../../client/transport.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import { objectKey } from '../../client/keys.js';
import type { ControllerContext } from '../manager.js';
import { ANN_SELECTED_NODE, NODES, POD_PVC_INDEX, PODS, PVCS, PVS, STORAGE_CLASSES, claimClass, claimKey, hasAnnotation, indexPodByClaim, isPodTerminated, nodeLike } from './util.js';
import { bindPodVolumes, listerFromStores, planPodVolumes } from './scheduling.js';
import type { VolumeLister } from './scheduling.js';

export class SelectedNodeController extends QueueController {
  readonly pods: Informer<Pod>;
  readonly claims: Informer<PersistentVolumeClaim>;
  readonly volumes: Informer<PersistentVolume>;
  readonly classes: Informer<StorageClass>;
  readonly nodes: Informer<Node>;
  private readonly transport: ApiTransport;
  private readonly recorder: EventRecorder;
  private readonly lister: VolumeLister;

  constructor(ctx: ControllerContext) {
    super({ name: 'volume-selected-node', workers: 1 });
    this.transport = ctx.transport;
    this.recorder = ctx.events.newRecorder('persistentvolume-controller');
    this.pods = ctx.informers.informerFor<Pod>(PODS, { indexers: { [POD_PVC_INDEX]: indexPodByClaim } });
    this.claims = ctx.informers.informerFor<PersistentVolumeClaim>(PVCS);
    this.volumes = ctx.informers.informerFor<PersistentVolume>(PVS);
    this.classes = ctx.informers.informerFor<StorageClass>(STORAGE_CLASSES);
    this.nodes = ctx.informers.informerFor<Node>(NODES);
    this.lister = listerFromStores({ claims: this.claims.store, volumes: this.volumes.store, classes: this.classes.store });
    this.watch(this.pods, (pod) => (pod.spec?.nodeName && indexPodByClaim(pod).length > 0 ? objectKey(pod) : undefined));
    // A claim made after its pod (an ephemeral one, a StatefulSet's) brings the pod back.
    this.watch(this.claims, (pvc) => (pvc.spec?.volumeName ? undefined : this.pods.store.byIndex(POD_PVC_INDEX, claimKey(pvc)).map((p) => objectKey(p))));
    this.requireSynced(this.volumes);
    this.requireSynced(this.classes);
    this.requireSynced(this.nodes);
  }

  /** The pod's claims that still wait for a scheduler's decision. */
  private waiting(pod: Pod): boolean {
    for (const key of indexPodByClaim(pod)) {
      const pvc = this.claims.store.getByKey(key);
      if (!pvc || pvc.spec?.volumeName || hasAnnotation(pvc, ANN_SELECTED_NODE)) continue;
      if (this.classes.store.get(undefined, claimClass(pvc))?.volumeBindingMode === 'WaitForFirstConsumer') return true;
    }
    return false;
  }

  protected override async reconcile(key: string): Promise<ReconcileResult | void> {
    const pod = this.pods.store.getByKey(key);
    if (!pod || !pod.spec?.nodeName || pod.metadata?.deletionTimestamp || isPodTerminated(pod)) return;
    if (!this.waiting(pod)) return;
    const nodeName = pod.spec.nodeName;
    const node = this.nodes.store.get(undefined, nodeName) ?? nodeLike(nodeName);
    const plan = planPodVolumes(pod, node, this.lister);
    if (plan.reasons.length > 0 || !plan.decision) {
      // Some claim isn't there yet, or nothing fits this node: wait for a change.
      if (plan.reasons.some((r) => r.startsWith('node(s)'))) {
        this.recorder.event(pod, 'Warning', 'FailedBinding', `volumes can't be bound on node ${nodeName}: ${plan.reasons.join(', ')}`);
      }
      return;
    }
    try {
      await bindPodVolumes(this.transport, plan.decision);
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) return { requeueAfterMs: 100 };
      throw err;
    }
  }
}
