// kite's built-in dynamic provisioner for node-local directories, answering to
// `rancher.io/local-path` and behaving as rancher/local-path-provisioner does (an
// external provisioner, in upstream's terms: the PV controller hands it a claim by
// annotating it `volume.kubernetes.io/storage-provisioner: rancher.io/local-path`).
//
// Provisioning: a claim of a class whose provisioner is ours, annotated for us, with no
// volume yet — and, for a WaitForFirstConsumer class, with the node the scheduler chose
// (`volume.kubernetes.io/selected-node`) — gets a directory
//   <nodePath>/pvc-<claim uid>_<namespace>_<claim name>
// (mode 0777, as local-path's setup script makes it) and a PersistentVolume `pvc-<uid>`
// pointing at it: hostPath (type DirectoryOrCreate; `local` when the claim's
// `volumeType` or the class's `defaultVolumeType` annotation says so), capacity and
// access modes from the claim, the class's reclaim policy and mount options, node
// affinity `kubernetes.io/hostname In [<node>]`, a claimRef to the claim and
// `pv.kubernetes.io/provisioned-by: rancher.io/local-path`. The PV controller then binds
// the two.
//
// <nodePath> is the class's `nodePath` parameter (kite's default class carries
// `$KITE_HOME/<cluster>/storage`); without it, the provisioner's default directory
// (KITE_LOCAL_PATH_DIR, else /opt/local-path-provisioner as upstream).
//
// Deletion: a volume of ours that is Released with reclaim policy Delete has its
// directory removed (only a directory named for that volume), then the object deleted.
// Retain leaves both.
//
// All of a kite cluster's nodes share this host's filesystem today, so the directory
// work happens here, in the controller manager; upstream runs a helper pod on the node.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { basename, isAbsolute, join, normalize } from 'node:path';
import type { Node, PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { QueueController } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { EventRecorder } from '../../client/events.js';
import type { ApiTransport } from '../../client/transport.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../client/transport.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import type { ControllerContext } from '../manager.js';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  LABEL_HOSTNAME,
  LOCAL_PATH_PROVISIONER,
  NODES,
  PVCS,
  PVS,
  STORAGE_CLASSES,
  annotation,
  claimClass,
  claimKey,
  claimRefOf,
} from './util.js';

export const DEFAULT_LOCAL_PATH_DIR = '/opt/local-path-provisioner';

export interface LocalPathOptions {
  /** The provisioner name it answers to (default rancher.io/local-path). */
  name?: string;
  /** Base directory for classes without a `nodePath` parameter. */
  defaultPath?: string;
  log?: (msg: string) => void;
}

const CLAIM = 'claim:';
const VOLUME = 'volume:';

class ProvisionError extends Error {}

/** The PV name upstream's provisioners give a claim's volume. */
export function provisionedVolumeName(pvc: PersistentVolumeClaim): string {
  return `pvc-${pvc.metadata!.uid}`;
}

/** `{{ .PVName }}_{{ .PVC.Namespace }}_{{ .PVC.Name }}`, local-path's default folder name. */
export function localPathFolder(pvc: PersistentVolumeClaim): string {
  return `${provisionedVolumeName(pvc)}_${pvc.metadata!.namespace}_${pvc.metadata!.name}`;
}

export class LocalPathProvisioner extends QueueController {
  readonly provisionerName: string;
  readonly claims: Informer<PersistentVolumeClaim>;
  readonly volumes: Informer<PersistentVolume>;
  readonly classes: Informer<StorageClass>;
  readonly nodes: Informer<Node>;
  private readonly transport: ApiTransport;
  private readonly recorder: EventRecorder;
  private readonly defaultPath: string;

  constructor(ctx: ControllerContext, opts: LocalPathOptions = {}) {
    super({ name: 'local-path-provisioner', workers: 1, log: opts.log });
    this.provisionerName = opts.name ?? LOCAL_PATH_PROVISIONER;
    this.defaultPath = opts.defaultPath ?? (process.env.KITE_LOCAL_PATH_DIR || DEFAULT_LOCAL_PATH_DIR);
    this.transport = ctx.transport;
    this.recorder = ctx.events.newRecorder(`${this.provisionerName}_kite`);
    this.claims = ctx.informers.informerFor<PersistentVolumeClaim>(PVCS);
    this.volumes = ctx.informers.informerFor<PersistentVolume>(PVS);
    this.classes = ctx.informers.informerFor<StorageClass>(STORAGE_CLASSES);
    this.nodes = ctx.informers.informerFor<Node>(NODES);
    this.watch(this.claims, (pvc) => (this.isForUs(pvc) ? CLAIM + claimKey(pvc) : undefined));
    this.watch(this.volumes, (pv) => (annotation(pv, ANN_DYNAMICALLY_PROVISIONED) === this.provisionerName ? VOLUME + pv.metadata!.name! : undefined));
    this.requireSynced(this.classes);
    this.requireSynced(this.nodes);
  }

  private isForUs(pvc: PersistentVolumeClaim): boolean {
    const want = annotation(pvc, ANN_STORAGE_PROVISIONER) ?? annotation(pvc, ANN_BETA_STORAGE_PROVISIONER);
    return want === this.provisionerName;
  }

  protected override async reconcile(key: string): Promise<ReconcileResult | void> {
    try {
      if (key.startsWith(CLAIM)) await this.syncClaim(key.slice(CLAIM.length));
      else if (key.startsWith(VOLUME)) await this.syncVolume(key.slice(VOLUME.length));
    } catch (err) {
      if (isConflict(err)) return { requeueAfterMs: 50 };
      throw err;
    }
  }

  // ---- provisioning ---------------------------------------------------------------------

  /** shouldProvision: the class of an unbound claim addressed to us, with its node when the class waits for one. */
  private classToProvision(pvc: PersistentVolumeClaim): StorageClass | undefined {
    if (pvc.spec?.volumeName || pvc.metadata?.deletionTimestamp || !this.isForUs(pvc)) return undefined;
    const sc = this.classes.store.get(undefined, claimClass(pvc));
    if (!sc || sc.provisioner !== this.provisionerName) return undefined;
    if (sc.volumeBindingMode === 'WaitForFirstConsumer' && !annotation(pvc, ANN_SELECTED_NODE)) return undefined;
    return sc;
  }

  private async syncClaim(key: string): Promise<void> {
    const pvc = this.claims.store.getByKey(key);
    if (!pvc) return;
    const sc = this.classToProvision(pvc);
    if (!sc) return;
    const pvName = provisionedVolumeName(pvc);
    if (this.volumes.store.get(undefined, pvName)) return;
    try {
      await this.transport.get(PVS, undefined, pvName);
      return; // made already; the informer will show it
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    let volume: PersistentVolume;
    try {
      const node = await this.selectedNode(pvc);
      this.recorder.event(pvc, 'Normal', 'Provisioning', `External provisioner is provisioning volume for claim "${claimKey(pvc)}"`);
      volume = this.provision(pvc, sc, node);
    } catch (err) {
      if (!(err instanceof ProvisionError)) throw err;
      this.recorder.event(pvc, 'Warning', 'ProvisioningFailed', `failed to provision volume with StorageClass "${sc.metadata!.name}": ${err.message}`);
      throw err;
    }
    try {
      await this.transport.create(PVS, undefined, volume);
    } catch (err) {
      if (!isAlreadyExists(err)) {
        this.recorder.event(pvc, 'Warning', 'ProvisioningFailed', `Error creating provisioned PV object for claim ${claimKey(pvc)}: ${(err as Error).message}`);
        throw err;
      }
    }
    this.recorder.event(pvc, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pvName}`);
  }

  private async selectedNode(pvc: PersistentVolumeClaim): Promise<Node | undefined> {
    const name = annotation(pvc, ANN_SELECTED_NODE);
    if (!name) return undefined;
    const cached = this.nodes.store.get(undefined, name);
    if (cached) return cached;
    try {
      return await this.transport.get<Node>(NODES, undefined, name);
    } catch (err) {
      if (isNotFound(err)) throw new ProvisionError(`failed to get target node: nodes "${name}" not found`);
      throw err;
    }
  }

  /** Make the directory and describe the volume (local-path's Provision). */
  private provision(pvc: PersistentVolumeClaim, sc: StorageClass, node: Node | undefined): PersistentVolume {
    if (pvc.spec?.selector) throw new ProvisionError('claim.Spec.Selector is not supported');
    for (const mode of pvc.spec?.accessModes ?? []) {
      if (mode !== 'ReadWriteOnce' && mode !== 'ReadWriteOncePod') throw new ProvisionError('NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes');
    }
    if ((pvc.spec?.volumeMode ?? 'Filesystem') !== 'Filesystem') throw new ProvisionError(`volume mode ${pvc.spec?.volumeMode} is not supported`);
    if (!node) throw new ProvisionError('configuration error, no node was specified');
    const base = sc.parameters?.nodePath || this.defaultPath;
    if (!isAbsolute(base) || normalize(base) === '/') throw new ProvisionError(`invalid nodePath ${JSON.stringify(base)}: must be an absolute path other than /`);
    const path = join(base, localPathFolder(pvc));
    try {
      mkdirSync(path, { recursive: true, mode: 0o777 });
      chmodSync(path, 0o777);
    } catch (err) {
      throw new ProvisionError(`failed to create volume directory ${path}: ${(err as Error).message}`);
    }
    const volumeType = (annotation(pvc, 'volumeType') ?? annotation(sc, 'defaultVolumeType') ?? 'hostPath').toLowerCase();
    const hostname = node.metadata?.labels?.[LABEL_HOSTNAME] ?? node.metadata!.name!;
    const spec: PersistentVolumeSpec = {
      accessModes: pvc.spec?.accessModes,
      capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '0' },
      claimRef: claimRefOf(pvc),
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
      storageClassName: claimClass(pvc),
      volumeMode: 'Filesystem',
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: LABEL_HOSTNAME, operator: 'In', values: [hostname] }] }] } },
      ...(volumeType === 'local' ? { local: { path } } : { hostPath: { path, type: 'DirectoryOrCreate' } }),
      ...(sc.mountOptions?.length ? { mountOptions: [...sc.mountOptions] } : {}),
    };
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: provisionedVolumeName(pvc), annotations: { [ANN_DYNAMICALLY_PROVISIONED]: this.provisionerName } },
      spec,
    };
  }

  // ---- deletion -------------------------------------------------------------------------

  private async syncVolume(name: string): Promise<void> {
    const pv = this.volumes.store.get(undefined, name);
    if (!pv || annotation(pv, ANN_DYNAMICALLY_PROVISIONED) !== this.provisionerName) return;
    if (pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return;
    try {
      this.removeDirectory(pv);
    } catch (err) {
      this.recorder.event(pv, 'Warning', 'VolumeFailedDelete', (err as Error).message);
      throw err;
    }
    try {
      await this.transport.delete(PVS, undefined, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** The volume's own directory only: absolute, and named for the volume. */
  private removeDirectory(pv: PersistentVolume): void {
    const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    if (!path) throw new Error(`volume ${pv.metadata?.name} has no hostPath or local path`);
    const name = pv.metadata!.name!;
    const folder = basename(normalize(path));
    if (!isAbsolute(path) || (folder !== name && !folder.startsWith(`${name}_`))) {
      throw new Error(`refusing to delete ${path}: not a directory made for volume ${name}`);
    }
    rmSync(path, { recursive: true, force: true });
  }
}
