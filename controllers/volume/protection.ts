// Storage object in-use protection (upstream: pkg/controller/volume/pvcprotection and
// pvprotection, with the StorageObjectInUseProtection admission plugin that puts the
// finalizers on at create — kite does that in the PVC and PV strategies).
//
// A claim carries `kubernetes.io/pvc-protection`: deleting it only marks it
// (Terminating) until no scheduled pod uses it any more — a pod referencing it through
// `persistentVolumeClaim`, or owning it through an `ephemeral` volume and not yet shut
// down. A volume carries `kubernetes.io/pv-protection`: deleting it waits until it is no
// longer Bound. Objects made before the finalizer existed get it added.
//
// "Used" is first asked of the pod informer's claim index; only when that finds nothing
// is the namespace's pod list read live from the API (a pod created a moment ago may not
// be in the cache yet), as upstream.
import type { PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { QueueController } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { ApiTransport } from '../../client/transport.js';
import { isConflict, isNotFound } from '../../client/transport.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import { splitKey } from '../../client/keys.js';
import type { ControllerContext } from '../manager.js';
import {
  POD_PVC_INDEX,
  PODS,
  PVCS,
  PVS,
  PVC_PROTECTION_FINALIZER,
  PV_PROTECTION_FINALIZER,
  claimKey,
  clone,
  ephemeralClaimName,
  hasFinalizer,
  indexPodByClaim,
  volumeIsForPod,
} from './util.js';
import type { ApiObject } from '../../client/transport.js';

/** protectionutil.IsDeletionCandidate. */
export function isDeletionCandidate(obj: ApiObject, finalizer: string): boolean {
  return !!obj.metadata?.deletionTimestamp && hasFinalizer(obj, finalizer);
}

/** protectionutil.NeedToAddFinalizer. */
export function needToAddFinalizer(obj: ApiObject, finalizer: string): boolean {
  return !obj.metadata?.deletionTimestamp && !hasFinalizer(obj, finalizer);
}

/**
 * podIsShutDown: deleted with a zero grace period (the kubelet is done with it, or it was
 * force-deleted) — an ephemeral claim of such a pod may go.
 */
export function podIsShutDown(pod: Pod): boolean {
  return !!pod.metadata?.deletionTimestamp && pod.metadata.deletionGracePeriodSeconds === 0;
}

/**
 * podUsesPVC: only scheduled pods count (the kubelet won't start a pod whose claim is
 * being deleted, so an unscheduled one never will use it).
 */
export function podUsesPVC(pod: Pod, pvc: PersistentVolumeClaim): boolean {
  if (!pod.spec?.nodeName) return false;
  if (pod.metadata?.namespace !== pvc.metadata?.namespace) return false;
  for (const v of pod.spec.volumes ?? []) {
    if (v.persistentVolumeClaim && v.persistentVolumeClaim.claimName === pvc.metadata?.name) return true;
    if (v.ephemeral && !podIsShutDown(pod) && ephemeralClaimName(pod, v) === pvc.metadata?.name && volumeIsForPod(pod, pvc) === undefined) return true;
  }
  return false;
}

function withFinalizer(obj: ApiObject, finalizer: string, present: boolean): ApiObject {
  const next = clone(obj);
  const m = (next.metadata ??= {});
  const rest = (m.finalizers ?? []).filter((f) => f !== finalizer);
  m.finalizers = present ? [...rest, finalizer] : rest;
  if (m.finalizers.length === 0) delete m.finalizers;
  return next;
}

// ---- claims ------------------------------------------------------------------------------

export class PVCProtectionController extends QueueController {
  readonly claims: Informer<PersistentVolumeClaim>;
  readonly pods: Informer<Pod>;
  private readonly transport: ApiTransport;

  constructor(ctx: ControllerContext) {
    super({ name: 'pvc-protection', workers: 1 });
    this.transport = ctx.transport;
    this.claims = ctx.informers.informerFor<PersistentVolumeClaim>(PVCS);
    this.pods = ctx.informers.informerFor<Pod>(PODS, { indexers: { [POD_PVC_INDEX]: indexPodByClaim } });
    this.watch(this.claims, (pvc) =>
      needToAddFinalizer(pvc, PVC_PROTECTION_FINALIZER) || isDeletionCandidate(pvc, PVC_PROTECTION_FINALIZER) ? claimKey(pvc) : undefined,
    );
    // A pod that goes (or changes) may release its claims.
    this.watch(this.pods, (pod) => indexPodByClaim(pod) as string[]);
  }

  protected override async reconcile(key: string): Promise<ReconcileResult | void> {
    try {
      await this.processPVC(key);
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) return { requeueAfterMs: 50 };
      throw err;
    }
  }

  private async processPVC(key: string): Promise<void> {
    const pvc = this.claims.store.getByKey(key);
    if (!pvc) return;
    const { namespace } = splitKey(key);
    if (isDeletionCandidate(pvc, PVC_PROTECTION_FINALIZER)) {
      if (!(await this.isBeingUsed(pvc, namespace!))) {
        await this.transport.update(PVCS, namespace, withFinalizer(pvc, PVC_PROTECTION_FINALIZER, false));
      }
      return;
    }
    if (needToAddFinalizer(pvc, PVC_PROTECTION_FINALIZER)) {
      await this.transport.update(PVCS, namespace, withFinalizer(pvc, PVC_PROTECTION_FINALIZER, true));
    }
  }

  private async isBeingUsed(pvc: PersistentVolumeClaim, namespace: string): Promise<boolean> {
    for (const pod of this.pods.store.byIndex(POD_PVC_INDEX, claimKey(pvc))) if (podUsesPVC(pod, pvc)) return true;
    // Not in the cache; make sure with a live list (a pod made a moment ago may not be there yet).
    const { items } = await this.transport.list<Pod>(PODS, namespace);
    return items.some((pod) => podUsesPVC(pod, pvc));
  }
}

// ---- volumes -----------------------------------------------------------------------------

export class PVProtectionController extends QueueController {
  readonly volumes: Informer<PersistentVolume>;
  private readonly transport: ApiTransport;

  constructor(ctx: ControllerContext) {
    super({ name: 'pv-protection', workers: 1 });
    this.transport = ctx.transport;
    this.volumes = ctx.informers.informerFor<PersistentVolume>(PVS);
    this.watch(this.volumes, (pv) =>
      needToAddFinalizer(pv, PV_PROTECTION_FINALIZER) || isDeletionCandidate(pv, PV_PROTECTION_FINALIZER) ? pv.metadata!.name! : undefined,
    );
  }

  protected override async reconcile(name: string): Promise<ReconcileResult | void> {
    try {
      const pv = this.volumes.store.get(undefined, name);
      if (!pv) return;
      if (isDeletionCandidate(pv, PV_PROTECTION_FINALIZER)) {
        // In use while Bound to a claim.
        if (pv.status?.phase !== 'Bound') await this.transport.update(PVS, undefined, withFinalizer(pv, PV_PROTECTION_FINALIZER, false));
        return;
      }
      if (needToAddFinalizer(pv, PV_PROTECTION_FINALIZER)) await this.transport.update(PVS, undefined, withFinalizer(pv, PV_PROTECTION_FINALIZER, true));
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) return { requeueAfterMs: 50 };
      throw err;
    }
  }
}
