// PersistentVolumeClaim and generic ephemeral volumes on the node (upstream: the
// kubelet's desired_state_of_world_populator getPVCExtractPV/getPVSpec, and the hostPath
// and local volume plugins' SetUp). A pod volume
//   persistentVolumeClaim: { claimName, readOnly }     or     ephemeral: { volumeClaimTemplate }
// resolves to a directory on this host that the kubelet bind-mounts into the containers:
//   claim (ephemeral: `<pod>-<volume>`, which must be owned by the pod)
//     → must exist, not be terminating, be Bound with spec.volumeName
//     → its PersistentVolume, whose claimRef must point back at the claim
//     → `hostPath.path` (created when `hostPath.type` is DirectoryOrCreate; with mode
//       0777 for volumes from the local-path provisioner, whose setup makes it so) or
//       `local.path` (must exist), checked against the volume's node affinity when the
//       node's labels are given.
//
// How the kubelet uses it (kubelet/volumes.ts VolumeManager.setUp, per pod volume):
//
//   case 'persistentVolumeClaim':
//   case 'ephemeral': {
//     const m = await resolveClaimVolume(pod, v, {
//       claim: (ns, name) => <PVC from the API (or a claim informer)>,
//       volume: (name) => <PV from the API (or a volume informer)>,
//       node: { name: nodeName, labels: <this Node's labels> },   // optional
//     }, previous.get(v.name));   // the result of the last sync for this pod, if any
//     out.set(v.name, m);          // m is a MountedVolume (name, hostPath, readOnly, kind)
//     break;
//   }
//
// A VolumeError means "not yet" (claim missing or unbound, volume not there): the pod
// stays in ContainerCreating with a FailedMount event and the kubelet retries, as
// upstream. Passing `previous` keeps a volume that is already in use mounted when its
// claim is later marked for deletion (upstream never unmounts a running pod's volume
// for that; only new pods are refused).
//
// Left to the kubelet, as for any other volume:
// - subPath / subPathExpr: resolveMountSource(m, subPath) in volumes.ts already creates
//   the sub-directory inside m.hostPath — use it as for emptyDir;
// - readOnly: m.readOnly is the pod volume's `persistentVolumeClaim.readOnly`; a
//   container's volumeMount.readOnly adds to it;
// - fsGroup: upstream changes ownership for `local` volumes (not for hostPath ones).
//   m.fsGroupManaged says which; when true and pod.spec.securityContext.fsGroup is set,
//   call applyFsGroup(m.hostPath, fsGroup, securityContext.fsGroupChangePolicy,
//   m.readOnly) once before starting the containers;
// - teardown: nothing to remove — the data lives outside the pod directory and outlives
//   the pod (tearDown() never follows into host paths).
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PersistentVolume, PersistentVolumeClaim, Pod, Volume } from 'kubernetes-types/core/v1.js';
import { VolumeError, type MountedVolume } from './volumes.js';
import { ANN_DYNAMICALLY_PROVISIONED, LOCAL_PATH_PROVISIONER, checkNodeAffinity, ephemeralClaimName, volumeIsForPod } from '../controllers/volume/util.js';

export interface ClaimSources {
  /** The claim (undefined when it doesn't exist). */
  claim(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined>;
  /** The volume (undefined when it doesn't exist). */
  volume(name: string): Promise<PersistentVolume | undefined>;
  /** This node, for the volume's node-affinity check; omit to skip the check. */
  node?: { name: string; labels: Record<string, string> };
}

export interface ClaimMountedVolume extends MountedVolume {
  kind: 'persistentVolumeClaim' | 'ephemeral';
  claimName: string;
  /** The PersistentVolume's name. */
  volumeName: string;
  /** Whether the pod's fsGroup applies to this volume (local volumes: yes; hostPath: no, as upstream). */
  fsGroupManaged: boolean;
}

/** Whether this pod volume is one resolveClaimVolume handles. */
export function isClaimVolume(v: Volume): boolean {
  return v.persistentVolumeClaim !== undefined || v.ephemeral !== undefined;
}

function claimNameOf(pod: Pod, v: Volume): string {
  if (v.persistentVolumeClaim) return v.persistentVolumeClaim.claimName;
  if (v.ephemeral) return ephemeralClaimName(pod, v);
  throw new VolumeError(`volume "${v.name}" is neither a persistentVolumeClaim nor an ephemeral volume`);
}

/** getPVCExtractPV: the claim, usable by a new pod. */
async function usableClaim(pod: Pod, v: Volume, namespace: string, name: string, src: ClaimSources): Promise<PersistentVolumeClaim> {
  const pvc = await src.claim(namespace, name);
  if (!pvc) throw new Error(`failed to fetch PVC from API server: persistentvolumeclaims "${name}" not found`);
  if (v.ephemeral) {
    const why = volumeIsForPod(pod, pvc);
    if (why) throw new Error(why);
  }
  if (pvc.metadata?.deletionTimestamp) throw new Error('PVC is being deleted');
  if (pvc.status?.phase !== 'Bound') throw new Error('PVC is not bound');
  if (!pvc.spec?.volumeName) throw new Error('PVC has empty pvc.Spec.VolumeName');
  return pvc;
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The host directory (or file) behind a pod's persistentVolumeClaim or ephemeral volume.
 * Throws VolumeError (worded as upstream's kubelet) while it can't be had yet.
 */
export async function resolveClaimVolume(pod: Pod, v: Volume, src: ClaimSources, previous?: MountedVolume): Promise<ClaimMountedVolume> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const claimName = claimNameOf(pod, v);
  const kind = v.persistentVolumeClaim ? 'persistentVolumeClaim' : 'ephemeral';
  const readOnly = !!v.persistentVolumeClaim?.readOnly;
  let pvc: PersistentVolumeClaim;
  try {
    pvc = await usableClaim(pod, v, namespace, claimName, src);
  } catch (err) {
    // Already in use by this pod: keep it (a claim being deleted stays mounted while its pod runs).
    if (previous && previous.name === v.name) return { ...(previous as ClaimMountedVolume), kind, claimName };
    throw new VolumeError(`error processing PVC ${namespace}/${claimName}: ${(err as Error).message}`);
  }
  const pvName = pvc.spec!.volumeName!;
  const pv = await src.volume(pvName);
  if (!pv) throw new VolumeError(`failed to fetch PV ${pvName} from API server: persistentvolumes "${pvName}" not found`);
  const ref = pv.spec?.claimRef;
  if (!ref || ref.name !== claimName || ref.namespace !== namespace || (ref.uid && ref.uid !== pvc.metadata?.uid)) {
    throw new VolumeError(`found PV object ${pvName} but it has a nil or non-matching ClaimRef (claim ${namespace}/${claimName})`);
  }
  if ((pv.spec?.volumeMode ?? 'Filesystem') === 'Block') throw new VolumeError(`PersistentVolume "${pvName}": block volumes are not supported by kite`);
  if (src.node && !checkNodeAffinity(pv, { metadata: { name: src.node.name, labels: src.node.labels } })) {
    throw new VolumeError(`volume node affinity conflict: PersistentVolume "${pvName}" is not accessible from node "${src.node.name}"`);
  }
  const base = { name: v.name, readOnly, kind, claimName, volumeName: pvName } as const;

  const hostPath = pv.spec?.hostPath;
  if (hostPath) {
    const path = hostPath.path;
    if (!path.startsWith('/')) throw new VolumeError(`PersistentVolume "${pvName}": hostPath ${path} must be absolute`);
    const st = statOrUndefined(path);
    const type = hostPath.type ?? '';
    if (type === 'DirectoryOrCreate' && !st) {
      const provisioned = pv.metadata?.annotations?.[ANN_DYNAMICALLY_PROVISIONED] === LOCAL_PATH_PROVISIONER;
      mkdirSync(path, { recursive: true, mode: provisioned ? 0o777 : 0o755 });
      if (provisioned) chmodSync(path, 0o777);
    } else if ((type === 'DirectoryOrCreate' || type === 'Directory') && !st?.isDirectory()) {
      throw new VolumeError(`hostPath type check failed: ${path} is not a directory`);
    } else if ((type === 'File' || type === 'FileOrCreate') && st && !st.isFile()) {
      throw new VolumeError(`hostPath type check failed: ${path} is not a file`);
    } else if (type === 'File' && !st) {
      throw new VolumeError(`hostPath type check failed: ${path} is not a file`);
    }
    return { ...base, hostPath: path, fsGroupManaged: false };
  }
  const local = pv.spec?.local;
  if (local) {
    const st = statOrUndefined(local.path);
    if (!st) throw new VolumeError(`local volume "${pvName}": path "${local.path}" does not exist`);
    return { ...base, hostPath: local.path, fsGroupManaged: st.isDirectory() };
  }
  const source = Object.keys(pv.spec ?? {}).find((k) => !['accessModes', 'capacity', 'claimRef', 'persistentVolumeReclaimPolicy', 'storageClassName', 'mountOptions', 'volumeMode', 'nodeAffinity', 'volumeAttributesClassName'].includes(k));
  throw new VolumeError(`PersistentVolume "${pvName}": ${source ?? 'this'} volumes are not supported by kite (hostPath and local are)`);
}

/**
 * SetVolumeOwnership (upstream pkg/volume/volume_linux.go): give every file under `dir`
 * the group `fsGroup` and group read/write (read only for read-only volumes); directories
 * also get group execute and setgid so new files inherit the group. With
 * `OnRootMismatch`, nothing is done when the top directory already has the group and
 * permissions.
 */
export function applyFsGroup(dir: string, fsGroup: number, changePolicy: string | undefined, readOnly: boolean): void {
  const rwMask = readOnly ? 0o440 : 0o660;
  const setGid = 0o2000;
  const wants = (mode: number, isDir: boolean) => (mode | rwMask | (isDir ? 0o110 | setGid : 0)) & 0o7777;
  if (changePolicy === 'OnRootMismatch') {
    const st = lstatSync(dir);
    if (st.gid === fsGroup && (st.mode & 0o7777) === wants(st.mode & 0o7777, true)) return;
  }
  const walk = (path: string) => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    if (st.gid !== fsGroup) chownSync(path, -1, fsGroup);
    const want = wants(st.mode & 0o7777, st.isDirectory());
    if ((st.mode & 0o7777) !== want) chmodSync(path, want);
    if (st.isDirectory()) for (const e of readdirSync(path)) walk(join(path, e));
  };
  walk(dir);
}
