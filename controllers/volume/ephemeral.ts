// Generic ephemeral volumes (upstream: pkg/controller/volume/ephemeral): for every
// `ephemeral.volumeClaimTemplate` volume of a pod, a claim named `<pod>-<volume>` is
// created from the template, owned by the pod (controller, blockOwnerDeletion), so the
// garbage collector deletes it with the pod. A claim of that name that the pod doesn't
// own is an error (FailedBinding event on the pod) — the pod can't start until it goes.
// A claim deleted while its pod still exists is created again.
import type { PersistentVolumeClaim, Pod, Volume } from 'kubernetes-types/core/v1.js';
import { QueueController } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { EventRecorder } from '../../client/events.js';
import type { ApiTransport } from '../../client/transport.js';
import { isAlreadyExists, isConflict } from '../../client/transport.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import { objectKey, splitKey } from '../../client/keys.js';
import type { ControllerContext } from '../manager.js';
import { POD_PVC_INDEX, PODS, PVCS, claimKey, ephemeralClaimName, indexPodByClaim, volumeIsForPod } from './util.js';

export const EPHEMERAL_CONTROLLER_NAME = 'ephemeral_volume';

function hasEphemeral(pod: Pod): boolean {
  return (pod.spec?.volumes ?? []).some((v) => v.ephemeral !== undefined);
}

export class EphemeralVolumeController extends QueueController {
  readonly pods: Informer<Pod>;
  readonly claims: Informer<PersistentVolumeClaim>;
  private readonly transport: ApiTransport;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    super({ name: 'ephemeral-volume', workers: 1 });
    this.transport = ctx.transport;
    this.recorder = ctx.events.newRecorder(EPHEMERAL_CONTROLLER_NAME);
    this.pods = ctx.informers.informerFor<Pod>(PODS, { indexers: { [POD_PVC_INDEX]: indexPodByClaim } });
    this.claims = ctx.informers.informerFor<PersistentVolumeClaim>(PVCS);
    this.watch(this.pods, (pod) => (hasEphemeral(pod) && !pod.metadata?.deletionTimestamp ? objectKey(pod) : undefined));
    this.requireSynced(this.claims);
    // A claim removed under a pod that still wants it: re-create it.
    this.claims.addEventHandler({
      onDelete: (pvc) => {
        for (const pod of this.pods.store.byIndex(POD_PVC_INDEX, claimKey(pvc))) if (hasEphemeral(pod)) this.enqueue(objectKey(pod));
      },
    });
  }

  protected override async reconcile(key: string): Promise<ReconcileResult | void> {
    const pod = this.pods.store.getByKey(key);
    if (!pod || pod.metadata?.deletionTimestamp) return;
    const { namespace } = splitKey(key);
    for (const vol of pod.spec?.volumes ?? []) {
      try {
        await this.handleVolume(pod, vol, namespace!);
      } catch (err) {
        if (isConflict(err)) return { requeueAfterMs: 50 };
        this.recorder.event(pod, 'Warning', 'FailedBinding', `ephemeral volume ${vol.name}: ${(err as Error).message}`);
        throw new Error(`pod ${key}, ephemeral volume ${vol.name}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  private async handleVolume(pod: Pod, vol: Volume, namespace: string): Promise<void> {
    const tpl = vol.ephemeral?.volumeClaimTemplate;
    if (!vol.ephemeral) return;
    const name = ephemeralClaimName(pod, vol);
    const existing = this.claims.store.get(namespace, name);
    if (existing) {
      const why = volumeIsForPod(pod, existing);
      if (why) throw new Error(why);
      return;
    }
    const claim: PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name,
        namespace,
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, uid: pod.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
        ...(tpl?.metadata?.annotations ? { annotations: { ...tpl.metadata.annotations } } : {}),
        ...(tpl?.metadata?.labels ? { labels: { ...tpl.metadata.labels } } : {}),
      },
      spec: structuredClone(tpl?.spec ?? {}),
    };
    try {
      await this.transport.create(PVCS, namespace, claim);
    } catch (err) {
      if (!isAlreadyExists(err)) throw new Error(`create PVC ${name}: ${(err as Error).message}`, { cause: err });
      // Someone made it meanwhile: check ownership on the next pass.
      this.enqueueAfter(objectKey(pod), 100);
    }
  }
}
