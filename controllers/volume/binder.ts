// The PersistentVolume controller (upstream: pkg/controller/volume/persistentvolume
// pv_controller.go, "persistentvolume-binder"): binds claims to volumes and keeps both
// sides' phases right.
//
// The binding is a two-way pointer: pv.spec.claimRef and pvc.spec.volumeName. It is made
// volume first (claimRef + pv.kubernetes.io/bound-by-controller, phase Bound), then claim
// (volumeName + pv.kubernetes.io/bind-completed, phase Bound with the volume's capacity
// and access modes). Every step is a separate write that may fail or race; each sync
// looks at both objects as they are and carries the binding on from wherever it stands.
//
// Claims:  Pending → Bound (→ Lost when its volume vanishes or is bound elsewhere).
//   - a claim naming a volume (spec.volumeName) gets that volume if it fits, else waits;
//   - a claim of a WaitForFirstConsumer class is left to the scheduler (which picks a
//     volume or sets volume.kubernetes.io/selected-node) — only volumes pre-bound to it
//     are bound here — and gets a WaitForFirstConsumer event meanwhile;
//   - otherwise the smallest Available volume that fits wins (capacity, access modes —
//     fewest extra modes first —, volume mode, class, the claim's label selector);
//   - nothing fits: a claim with a class is handed to that class's provisioner
//     (volume.kubernetes.io/storage-provisioner + an ExternalProvisioning event); one
//     without gets the default class if one exists by now, else a FailedBinding event.
// Volumes: Pending → Available → Bound → Released (claim gone) → deleted / Failed.
//   - Retain: stays Released with its data;
//   - Delete: a volume made by an external provisioner (kite's local-path included) is
//     left to that provisioner, which removes the data and the object; a hostPath volume
//     under /tmp/ has its directory removed and the object deleted, as upstream's in-tree
//     hostPath deleter does; anything else is marked Failed (no deleter), as upstream;
//   - Recycle: no recycler in kite: Failed.
//
// One worker serializes every sync (upstream runs one per queue for the same reason: two
// concurrent syncs could bind one volume twice). Writes return newer versions than the
// informers hold for a moment; those are remembered and preferred until the informers
// catch up, so the next sync doesn't act on what it already changed.
import { rmSync } from 'node:fs';
import type { PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { QueueController } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { EventRecorder } from '../../client/events.js';
import type { ApiTransport } from '../../client/transport.js';
import { isConflict, isNotFound } from '../../client/transport.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import type { ControllerContext } from '../manager.js';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  POD_PVC_INDEX,
  PODS,
  PVCS,
  PVS,
  STORAGE_CLASSES,
  annotation,
  claimClass,
  claimHasClass,
  claimKey,
  claimRefKey,
  claimRefOf,
  clone,
  compareResourceVersions,
  defaultStorageClass,
  findBestMatchForClaim,
  hasAnnotation,
  indexPodByClaim,
  isPodTerminated,
  isVolumeBoundToClaim,
  setAnnotation,
  volumeModeMismatch,
  writableCopy,
  volumeSatisfiesClaim,
} from './util.js';

export const PV_CONTROLLER_NAME = 'persistentvolume-controller';

export interface PersistentVolumeControllerOptions {
  /** Every claim and volume is looked at again this often (upstream --pvclaimbinder-sync-period, 15 s). */
  resyncPeriodMs?: number;
  log?: (msg: string) => void;
}

const CLAIM = 'claim:';
const VOLUME = 'volume:';

/** upstream's in-tree hostPath deleter only removes paths matching this (unanchored, as upstream). */
const HOSTPATH_DELETABLE = /\/tmp\/.+/;

class DeleteError extends Error {}

export class PersistentVolumeController extends QueueController {
  readonly volumes: Informer<PersistentVolume>;
  readonly claims: Informer<PersistentVolumeClaim>;
  readonly classes: Informer<StorageClass>;
  readonly pods: Informer<Pod>;
  private readonly transport: ApiTransport;
  private readonly recorder: EventRecorder;
  private readonly latestVolumes = new Map<string, PersistentVolume>();
  private readonly latestClaims = new Map<string, PersistentVolumeClaim>();
  private readonly resyncMs: number;
  private resyncTimer?: NodeJS.Timeout;

  constructor(ctx: ControllerContext, opts: PersistentVolumeControllerOptions = {}) {
    super({ name: 'persistentvolume-binder', workers: 1, log: opts.log });
    this.transport = ctx.transport;
    this.recorder = ctx.events.newRecorder(PV_CONTROLLER_NAME);
    this.resyncMs = opts.resyncPeriodMs ?? 15_000;
    this.volumes = ctx.informers.informerFor<PersistentVolume>(PVS);
    this.claims = ctx.informers.informerFor<PersistentVolumeClaim>(PVCS);
    this.classes = ctx.informers.informerFor<StorageClass>(STORAGE_CLASSES);
    this.pods = ctx.informers.informerFor<Pod>(PODS, { indexers: { [POD_PVC_INDEX]: indexPodByClaim } });

    this.watch(this.volumes, (pv) => {
      const keys = [VOLUME + pv.metadata!.name!];
      const ref = pv.spec?.claimRef;
      if (ref) keys.push(CLAIM + claimRefKey(ref));
      // A volume newly free may be what a waiting claim needs.
      else if (pv.status?.phase === 'Available') keys.push(...this.unboundClaimKeys());
      return keys;
    });
    this.watch(this.claims, (pvc) => {
      const keys = [CLAIM + claimKey(pvc)];
      if (pvc.spec?.volumeName) keys.push(VOLUME + pvc.spec.volumeName);
      return keys;
    });
    // A new (default) class may be what a waiting claim needs.
    this.watch(this.classes, () => this.unboundClaimKeys());
    this.requireSynced(this.pods);
  }

  private unboundClaimKeys(): string[] {
    const out: string[] = [];
    for (const c of this.claims.store.list()) if (!c.spec?.volumeName) out.push(CLAIM + claimKey(c));
    return out;
  }

  override async start(): Promise<void> {
    await super.start();
    if (this.resyncMs > 0 && !this.resyncTimer) {
      this.resyncTimer = setInterval(() => this.resync(), this.resyncMs);
      this.resyncTimer.unref();
    }
  }

  override async stop(): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await super.stop();
  }

  /** Look at everything again (the periodic resync). */
  resync(): void {
    for (const c of this.claims.store.list()) this.enqueue(CLAIM + claimKey(c));
    for (const v of this.volumes.store.list()) this.enqueue(VOLUME + v.metadata!.name!);
  }

  protected override async reconcile(key: string): Promise<ReconcileResult | void> {
    try {
      if (key.startsWith(CLAIM)) {
        const claim = this.claim(key.slice(CLAIM.length));
        if (claim) await this.syncClaim(claim);
      } else if (key.startsWith(VOLUME)) {
        const volume = this.volume(key.slice(VOLUME.length));
        if (volume) await this.syncVolume(volume);
      }
    } catch (err) {
      // Someone else wrote first (or the object went): look again shortly, quietly.
      if (isConflict(err) || isNotFound(err)) return { requeueAfterMs: 50 };
      throw err;
    }
  }

  // ---- the freshest known versions ----------------------------------------------------------

  volume(name: string): PersistentVolume | undefined {
    const cached = this.volumes.store.get(undefined, name);
    const mine = this.latestVolumes.get(name);
    if (!mine) return cached;
    if (!cached || compareResourceVersions(mine.metadata?.resourceVersion, cached.metadata?.resourceVersion) <= 0) {
      this.latestVolumes.delete(name);
      return cached;
    }
    return mine;
  }

  claim(key: string): PersistentVolumeClaim | undefined {
    const cached = this.claims.store.getByKey(key);
    const mine = this.latestClaims.get(key);
    if (!mine) return cached;
    if (!cached || compareResourceVersions(mine.metadata?.resourceVersion, cached.metadata?.resourceVersion) <= 0) {
      this.latestClaims.delete(key);
      return cached;
    }
    return mine;
  }

  private listVolumes(): PersistentVolume[] {
    return this.volumes.store.list().map((v) => this.volume(v.metadata!.name!) ?? v);
  }

  private storeVolume(pv: PersistentVolume): PersistentVolume {
    this.latestVolumes.set(pv.metadata!.name!, pv);
    return pv;
  }

  private storeClaim(pvc: PersistentVolumeClaim): PersistentVolumeClaim {
    this.latestClaims.set(claimKey(pvc), pvc);
    return pvc;
  }

  // ---- claims --------------------------------------------------------------------------------

  private async syncClaim(claim: PersistentVolumeClaim): Promise<void> {
    if (!hasAnnotation(claim, ANN_BIND_COMPLETED)) await this.syncUnboundClaim(claim);
    else await this.syncBoundClaim(claim);
  }

  /** IsDelayBindingMode: the claim's class exists and binds WaitForFirstConsumer. */
  private isDelayBindingMode(claim: PersistentVolumeClaim): boolean {
    const name = claimClass(claim);
    if (!name) return false;
    const sc = this.classes.store.get(undefined, name);
    return sc?.volumeBindingMode === 'WaitForFirstConsumer';
  }

  private async syncUnboundClaim(claim: PersistentVolumeClaim): Promise<void> {
    const volumeName = claim.spec?.volumeName ?? '';
    if (volumeName === '') {
      // The user did not ask for a particular volume.
      const delayBinding = this.isDelayBindingMode(claim);
      const volume = findBestMatchForClaim(claim, this.listVolumes(), delayBinding);
      if (volume) {
        await this.bind(volume, claim);
        return;
      }
      // Nothing fits. A claim without a class may get the default one by now.
      if (await this.assignDefaultStorageClass(claim)) return;
      if (delayBinding && !hasAnnotation(claim, ANN_SELECTED_NODE)) {
        // The scheduler has not placed a pod using it yet.
        this.emitEventForUnboundDelayBindingClaim(claim);
      } else if (claimClass(claim) !== '') {
        await this.provisionClaim(claim);
        return;
      } else {
        this.recorder.event(claim, 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
      }
      await this.updateClaimStatus(claim, 'Pending', undefined);
      return;
    }

    // The user asked for a particular volume.
    const volume = this.volume(volumeName);
    if (!volume) {
      // It doesn't exist (yet): wait.
      await this.updateClaimStatus(claim, 'Pending', undefined);
      return;
    }
    if (!volume.spec?.claimRef) {
      const why = volumeSatisfiesClaim(volume, claim);
      if (why) {
        this.recorder.event(claim, 'Warning', 'VolumeMismatch', `Cannot bind to requested volume "${volumeName}": ${why}`);
        await this.updateClaimStatus(claim, 'Pending', undefined);
        return;
      }
      await this.bind(volume, claim);
      return;
    }
    if (isVolumeBoundToClaim(volume, claim)) {
      // Pre-bound (or half-bound) to this claim: finish.
      await this.bind(volume, claim);
      return;
    }
    // The volume is someone else's.
    this.recorder.event(claim, 'Warning', 'FailedBinding', `volume "${volumeName}" already bound to a different claim.`);
    if (!hasAnnotation(claim, ANN_BOUND_BY_CONTROLLER)) {
      await this.updateClaimStatus(claim, 'Pending', undefined);
      return;
    }
    throw new Error(`invalid binding of claim "${claimKey(claim)}" to volume "${volumeName}": volume already claimed by "${claimRefKey(volume.spec.claimRef)}"`);
  }

  private async syncBoundClaim(claim: PersistentVolumeClaim): Promise<void> {
    const volumeName = claim.spec?.volumeName ?? '';
    if (volumeName === '') {
      await this.updateClaimStatusWithEvent(claim, 'Lost', undefined, 'Warning', 'ClaimLost', 'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!');
      return;
    }
    const volume = this.volume(volumeName);
    if (!volume) {
      await this.updateClaimStatusWithEvent(claim, 'Lost', undefined, 'Warning', 'ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
      return;
    }
    if (!volume.spec?.claimRef || volume.spec.claimRef.uid === claim.metadata?.uid) {
      // Unbound volume (or the controller's own write not seen yet), or all is well:
      // bind() repairs whatever is missing and does nothing otherwise.
      await this.bind(volume, claim);
      return;
    }
    await this.updateClaimStatusWithEvent(claim, 'Lost', undefined, 'Warning', 'ClaimMisbound', 'Two claims are bound to the same volume, this one is bound incorrectly');
  }

  /** emitEventForUnboundDelayBindingClaim. */
  private emitEventForUnboundDelayBindingClaim(claim: PersistentVolumeClaim): void {
    const names: string[] = [];
    for (const pod of this.pods.store.byIndex(POD_PVC_INDEX, claimKey(claim))) {
      if (isPodTerminated(pod)) continue;
      if (!pod.spec?.nodeName) names.push(pod.metadata!.name!);
    }
    if (names.length === 0) {
      this.recorder.event(claim, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
    } else if (names.length === 1) {
      this.recorder.event(claim, 'Normal', 'WaitForPodScheduled', `waiting for pod ${names[0]} to be scheduled`);
    } else {
      this.recorder.event(claim, 'Normal', 'WaitForPodScheduled', `waiting for pods ${names.join(',')} to be scheduled`);
    }
  }

  /** assignDefaultStorageClass (retroactive default class assignment). */
  private async assignDefaultStorageClass(claim: PersistentVolumeClaim): Promise<boolean> {
    if (claimHasClass(claim)) return false;
    const def = defaultStorageClass(this.classes.store.list());
    if (!def) return false;
    const next = clone(claim);
    next.spec = { ...(next.spec ?? {}), storageClassName: def.metadata!.name! };
    this.storeClaim(await this.transport.update(PVCS, claim.metadata!.namespace, next));
    return true;
  }

  /**
   * provisionClaim: kite has no in-tree volume plugins, so every provisioner is external:
   * the claim is annotated with the provisioner's name and the provisioner (kite's
   * local-path for rancher.io/local-path) takes it from there.
   */
  private async provisionClaim(claim: PersistentVolumeClaim): Promise<void> {
    const className = claimClass(claim);
    const sc = this.classes.store.get(undefined, className);
    if (!sc) {
      this.recorder.event(claim, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`);
      return;
    }
    const provisioner = sc.provisioner;
    if (provisioner.startsWith('kubernetes.io/')) {
      // An in-tree plugin name (kubernetes.io/no-provisioner among them): none exists here.
      this.recorder.event(claim, 'Warning', 'ProvisioningFailed', `no volume plugin matched name: ${provisioner}`);
      return;
    }
    let current = claim;
    if (annotation(claim, ANN_STORAGE_PROVISIONER) !== provisioner) {
      const next = clone(claim);
      setAnnotation(next, ANN_BETA_STORAGE_PROVISIONER, provisioner);
      setAnnotation(next, ANN_STORAGE_PROVISIONER, provisioner);
      current = this.storeClaim(await this.transport.update(PVCS, claim.metadata!.namespace, next));
    }
    this.recorder.event(
      current,
      'Normal',
      'ExternalProvisioning',
      `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
    );
  }

  // ---- binding -------------------------------------------------------------------------------

  /** Volume first (claimRef, phase), then claim (volumeName + annotations, phase). */
  private async bind(volume: PersistentVolume, claim: PersistentVolumeClaim): Promise<void> {
    volume = await this.bindVolumeToClaim(volume, claim);
    volume = await this.updateVolumePhase(volume, 'Bound', '');
    claim = await this.bindClaimToVolume(claim, volume);
    await this.updateClaimStatus(claim, 'Bound', volume);
  }

  /** GetBindVolumeToClaim + save. */
  private async bindVolumeToClaim(volume: PersistentVolume, claim: PersistentVolumeClaim): Promise<PersistentVolume> {
    const setBoundByController = !isVolumeBoundToClaim(volume, claim);
    const next = clone(volume);
    let dirty = false;
    const ref = volume.spec?.claimRef;
    if (!ref || ref.name !== claim.metadata?.name || ref.namespace !== claim.metadata?.namespace || ref.uid !== claim.metadata?.uid) {
      next.spec = { ...(next.spec ?? {}), claimRef: claimRefOf(claim) };
      dirty = true;
    }
    if (setBoundByController && !hasAnnotation(next, ANN_BOUND_BY_CONTROLLER)) {
      setAnnotation(next, ANN_BOUND_BY_CONTROLLER, 'yes');
      dirty = true;
    }
    if (!dirty) return volume;
    return this.storeVolume(await this.transport.update(PVS, undefined, next));
  }

  private async bindClaimToVolume(claim: PersistentVolumeClaim, volume: PersistentVolume): Promise<PersistentVolumeClaim> {
    const next = clone(claim);
    let dirty = false;
    if (claim.spec?.volumeName !== volume.metadata!.name) {
      next.spec = { ...(next.spec ?? {}), volumeName: volume.metadata!.name };
      if (!hasAnnotation(next, ANN_BOUND_BY_CONTROLLER)) setAnnotation(next, ANN_BOUND_BY_CONTROLLER, 'yes');
      dirty = true;
    }
    if (!hasAnnotation(next, ANN_BIND_COMPLETED)) {
      setAnnotation(next, ANN_BIND_COMPLETED, 'yes');
      dirty = true;
    }
    if (!dirty) return claim;
    return this.storeClaim(await this.transport.update(PVCS, claim.metadata!.namespace, next));
  }

  /** unbindVolume: roll a binding back (controller-made: drop claimRef; user-made: drop only its UID). */
  private async unbindVolume(volume: PersistentVolume): Promise<void> {
    const next = clone(volume);
    if (hasAnnotation(volume, ANN_BOUND_BY_CONTROLLER)) {
      delete next.spec!.claimRef;
      const ann = { ...(next.metadata!.annotations ?? {}) };
      delete ann[ANN_BOUND_BY_CONTROLLER];
      next.metadata!.annotations = Object.keys(ann).length ? ann : undefined;
      if (!next.metadata!.annotations) delete next.metadata!.annotations;
    } else {
      const ref = { ...next.spec!.claimRef! };
      delete ref.uid;
      next.spec!.claimRef = ref;
    }
    const saved = this.storeVolume(await this.transport.update(PVS, undefined, next));
    await this.updateVolumePhase(saved, 'Available', '');
  }

  // ---- status writes -------------------------------------------------------------------------

  private async updateClaimStatus(claim: PersistentVolumeClaim, phase: string, volume: PersistentVolume | undefined): Promise<PersistentVolumeClaim> {
    const next = writableCopy(claim);
    const status = (next.status ??= {});
    let dirty = false;
    if (claim.status?.phase !== phase) {
      status.phase = phase;
      dirty = true;
    }
    if (!volume) {
      if (status.accessModes !== undefined) {
        delete status.accessModes;
        dirty = true;
      }
      if (status.capacity !== undefined) {
        delete status.capacity;
        dirty = true;
      }
    } else {
      if (JSON.stringify(status.accessModes ?? null) !== JSON.stringify(volume.spec?.accessModes ?? null)) {
        status.accessModes = volume.spec?.accessModes;
        dirty = true;
      }
      // Capacity is copied when the claim becomes Bound, not afterwards (a resize may differ on purpose).
      if (claim.status?.phase !== phase) {
        const cap = volume.spec?.capacity?.storage;
        if (cap === undefined) throw new Error(`PersistentVolume "${volume.metadata?.name}" is without a storage capacity`);
        if (status.capacity?.storage !== cap) {
          status.capacity = { ...(volume.spec?.capacity ?? {}) };
          dirty = true;
        }
      }
    }
    if (!dirty) return claim;
    return this.storeClaim(await this.transport.updateStatus(PVCS, claim.metadata!.namespace, next));
  }

  private async updateClaimStatusWithEvent(
    claim: PersistentVolumeClaim,
    phase: string,
    volume: PersistentVolume | undefined,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    if (claim.status?.phase === phase) return;
    const saved = await this.updateClaimStatus(claim, phase, volume);
    this.recorder.event(saved, type, reason, message);
  }

  private async updateVolumePhase(volume: PersistentVolume, phase: string, message: string): Promise<PersistentVolume> {
    if (volume.status?.phase === phase) return volume;
    const next = writableCopy(volume);
    next.status = { ...(next.status ?? {}), phase };
    if (message) next.status.message = message;
    else delete next.status.message;
    return this.storeVolume(await this.transport.updateStatus(PVS, undefined, next));
  }

  private async updateVolumePhaseWithEvent(volume: PersistentVolume, phase: string, type: 'Normal' | 'Warning', reason: string, message: string): Promise<PersistentVolume> {
    if (volume.status?.phase === phase) return volume;
    const saved = await this.updateVolumePhase(volume, phase, message);
    this.recorder.event(saved, type, reason, message);
    return saved;
  }

  // ---- volumes -------------------------------------------------------------------------------

  private async syncVolume(volume: PersistentVolume): Promise<void> {
    const ref = volume.spec?.claimRef;
    if (!ref) {
      await this.updateVolumePhase(volume, 'Available', '');
      return;
    }
    if (!ref.uid) {
      // Pre-bound by the user to a claim that hasn't been bound yet: the claim's sync binds it.
      await this.updateVolumePhase(volume, 'Available', '');
      return;
    }
    const key = claimRefKey(ref);
    let claim = this.claim(key);
    const phase = volume.status?.phase;
    if (!claim && phase !== 'Released' && phase !== 'Failed') {
      // Not in the cache: make sure with the API before releasing anything.
      claim = await this.getClaim(ref.namespace!, ref.name!);
    }
    if (claim && claim.metadata?.uid !== ref.uid) {
      // Maybe a stale cache: ask the API; a different UID means the claim was re-created.
      claim = await this.getClaim(ref.namespace!, ref.name!);
      if (claim && claim.metadata?.uid !== ref.uid) claim = undefined;
    }

    if (!claim) {
      // The claim is gone: release the volume and apply its reclaim policy.
      if (phase !== 'Released' && phase !== 'Failed') volume = await this.updateVolumePhase(volume, 'Released', '');
      await this.reclaimVolume(volume);
      return;
    }
    if (!claim.spec?.volumeName) {
      if (volumeModeMismatch(claim, volume)) {
        this.recorder.event(volume, 'Warning', 'VolumeMismatch', `Cannot bind PersistentVolume to requested PersistentVolumeClaim "${claim.metadata?.name}" due to incompatible volumeMode.`);
        this.recorder.event(claim, 'Warning', 'VolumeMismatch', `Cannot bind PersistentVolume "${volume.metadata?.name}" to requested PersistentVolumeClaim due to incompatible volumeMode.`);
        return;
      }
      // The volume is bound, the claim not yet: the claim's sync finishes it.
      this.enqueue(CLAIM + key);
      return;
    }
    if (claim.spec.volumeName === volume.metadata?.name) {
      await this.updateVolumePhase(volume, 'Bound', '');
      return;
    }
    // The claim is bound to another volume.
    if (hasAnnotation(volume, ANN_DYNAMICALLY_PROVISIONED) && volume.spec?.persistentVolumeReclaimPolicy === 'Delete') {
      // Provisioned for this claim, which got another volume: not needed.
      if (phase !== 'Released' && phase !== 'Failed') volume = await this.updateVolumePhase(volume, 'Released', '');
      await this.reclaimVolume(volume);
      return;
    }
    await this.unbindVolume(volume);
  }

  private async getClaim(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined> {
    try {
      return await this.transport.get<PersistentVolumeClaim>(PVCS, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async reclaimVolume(volume: PersistentVolume): Promise<void> {
    switch (volume.spec?.persistentVolumeReclaimPolicy ?? 'Retain') {
      case 'Retain':
        return;
      case 'Recycle':
        await this.updateVolumePhaseWithEvent(volume, 'Failed', 'Warning', 'VolumeFailedRecycle', 'No recycler plugin found for the volume!');
        return;
      case 'Delete':
        await this.deleteVolumeOperation(volume);
        return;
      default:
        await this.updateVolumePhaseWithEvent(volume, 'Failed', 'Warning', 'VolumeUnknownReclaimPolicy', 'Volume has unrecognized PersistentVolumeReclaimPolicy');
    }
  }

  /** isVolumeReleased: bound (with a UID) to a claim that is gone or bound elsewhere. */
  private isVolumeReleased(volume: PersistentVolume): boolean {
    const ref = volume.spec?.claimRef;
    if (!ref || !ref.uid) return false;
    const claim = this.claim(claimRefKey(ref));
    if (claim && claim.metadata?.uid === ref.uid) {
      return !!claim.spec?.volumeName && claim.spec.volumeName !== volume.metadata?.name;
    }
    return true;
  }

  private async deleteVolumeOperation(volume: PersistentVolume): Promise<void> {
    let fresh: PersistentVolume;
    try {
      fresh = await this.transport.get<PersistentVolume>(PVS, undefined, volume.metadata!.name!);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (!this.isVolumeReleased(fresh)) return;
    let deleted: boolean;
    try {
      deleted = this.doDeleteVolume(fresh);
    } catch (err) {
      if (!(err instanceof DeleteError)) throw err;
      // Marked Failed once; the deletion is tried again on every sync.
      await this.updateVolumePhaseWithEvent(fresh, 'Failed', 'Warning', 'VolumeFailedDelete', err.message);
      return;
    }
    if (!deleted) return; // an external provisioner deletes it
    try {
      await this.transport.delete(PVS, undefined, fresh.metadata!.name!);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Returns true when the storage is gone (delete the object now), false when an
   * external deleter owns the volume; throws DeleteError when nothing can delete it.
   */
  private doDeleteVolume(volume: PersistentVolume): boolean {
    const by = annotation(volume, ANN_DYNAMICALLY_PROVISIONED);
    if (by && !by.startsWith('kubernetes.io/')) return false;
    const name = volume.metadata!.name!;
    const hostPath = volume.spec?.hostPath?.path;
    if (hostPath !== undefined) {
      if (!HOSTPATH_DELETABLE.test(hostPath)) throw new DeleteError(`host_path deleter only supports /tmp/.+ but received provided ${hostPath}`);
      try {
        rmSync(hostPath, { recursive: true, force: true });
      } catch (err) {
        throw new DeleteError((err as Error).message);
      }
      return true;
    }
    throw new DeleteError(`error getting deleter volume plugin for volume "${name}": no deletable volume plugin matched`);
  }
}

export function newPersistentVolumeController(ctx: ControllerContext, opts?: PersistentVolumeControllerOptions): PersistentVolumeController {
  return new PersistentVolumeController(ctx, opts);
}
