// Shared vocabulary of the storage controllers (upstream: component-helpers/storage/volume
// pv_helpers.go and helpers.go, pkg/controller/volume/common): the annotations and
// finalizers, how a claim's class is read, how a volume is matched against a claim
// (capacity, access modes, volume mode, class, selector) and against a node (node
// affinity), and which claims a pod uses.
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, ObjectReference, PersistentVolume, PersistentVolumeClaim, Pod, Volume } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ResourceInfo } from '../../machinery/resources.js';
import { Quantity } from '../../apiserver/admission/quantity.js';
import { labelSelectorMatches as matchSelector } from '../../machinery/labels.js';
import type { ApiObject } from '../../client/transport.js';
import type { IndexFunc } from '../../client/store.js';

// ---- resources ---------------------------------------------------------------------

const res = (group: string, version: string, plural: string): ResourceInfo => resourceByPath(group, version, plural)!;
export const PVS = res('', 'v1', 'persistentvolumes');
export const PVCS = res('', 'v1', 'persistentvolumeclaims');
export const STORAGE_CLASSES = res('storage.k8s.io', 'v1', 'storageclasses');
export const PODS = res('', 'v1', 'pods');
export const NODES = res('', 'v1', 'nodes');

// ---- annotations, finalizers, names ------------------------------------------------

/** On claims: the binding has been set up once (its value does not matter). */
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
/** On volumes and claims: the binding was made by the controller, not pre-bound by the user. */
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
/** On claims: the node the scheduler chose for a WaitForFirstConsumer claim (starts provisioning). */
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
/** On claims: which provisioner is expected to provision it (set by the PV controller). */
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
/** On volumes: the provisioner that created it. */
export const ANN_DYNAMICALLY_PROVISIONED = 'pv.kubernetes.io/provisioned-by';
/** The deprecated class annotation; wins over spec.storageClassName when present. */
export const ANN_BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';
export const ANN_DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
export const ANN_BETA_DEFAULT_CLASS = 'storageclass.beta.kubernetes.io/is-default-class';

export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION_FINALIZER = 'kubernetes.io/pv-protection';

/** A class whose volumes are never provisioned (static local volumes). */
export const NO_PROVISIONER = 'kubernetes.io/no-provisioner';
/**
 * kite's built-in provisioner answers to the name rancher/local-path-provisioner uses
 * (as k3s and kind do), so manifests written for those clusters work unchanged.
 */
export const LOCAL_PATH_PROVISIONER = 'rancher.io/local-path';
export const LOCAL_PATH_CLASS = 'local-path';

export const LABEL_HOSTNAME = 'kubernetes.io/hostname';

// ---- small object helpers ----------------------------------------------------------

export function annotation(obj: ApiObject | undefined, key: string): string | undefined {
  return obj?.metadata?.annotations?.[key];
}

export function hasAnnotation(obj: ApiObject | undefined, key: string): boolean {
  const a = obj?.metadata?.annotations;
  return !!a && Object.prototype.hasOwnProperty.call(a, key);
}

export function setAnnotation(obj: ApiObject, key: string, value: string): void {
  const m = (obj.metadata ??= {});
  m.annotations = { ...(m.annotations ?? {}), [key]: value };
}

export function deleteAnnotation(obj: ApiObject, key: string): void {
  const a = obj.metadata?.annotations;
  if (!a || !(key in a)) return;
  const next = { ...a };
  delete next[key];
  obj.metadata!.annotations = Object.keys(next).length ? next : undefined;
  if (!obj.metadata!.annotations) delete obj.metadata!.annotations;
}

export function hasFinalizer(obj: ApiObject | undefined, f: string): boolean {
  return (obj?.metadata?.finalizers ?? []).includes(f);
}

export function claimKey(pvc: PersistentVolumeClaim): string {
  return `${pvc.metadata?.namespace ?? ''}/${pvc.metadata?.name ?? ''}`;
}

export function claimRefKey(ref: ObjectReference): string {
  return `${ref.namespace ?? ''}/${ref.name ?? ''}`;
}

/** A private copy (informer objects are shared and must not be changed). */
export function clone<T>(obj: T): T {
  return structuredClone(obj);
}

/** kubernetes-types marks `status` read-only; controllers write it on their own copies. */
export type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** A private, writable copy. */
export function writableCopy<T>(obj: T): Writable<T> {
  return structuredClone(obj) as Writable<T>;
}

/** Compare resourceVersions (kite's are decimal revisions); unparsable ones compare equal. */
export function compareResourceVersions(a: string | undefined, b: string | undefined): number {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return 0;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function rfc3339(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---- classes -----------------------------------------------------------------------

/** GetPersistentVolumeClaimClass: the beta annotation, else spec.storageClassName, else "". */
export function claimClass(pvc: PersistentVolumeClaim): string {
  const beta = annotation(pvc, ANN_BETA_STORAGE_CLASS);
  if (beta !== undefined) return beta;
  return pvc.spec?.storageClassName ?? '';
}

/** PersistentVolumeClaimHasClass: the claim asked for a class ("" counts: it asks for none). */
export function claimHasClass(pvc: PersistentVolumeClaim): boolean {
  return hasAnnotation(pvc, ANN_BETA_STORAGE_CLASS) || pvc.spec?.storageClassName !== undefined;
}

/** GetPersistentVolumeClass. */
export function volumeClass(pv: PersistentVolume): string {
  const beta = annotation(pv, ANN_BETA_STORAGE_CLASS);
  if (beta !== undefined) return beta;
  return pv.spec?.storageClassName ?? '';
}

export function isDefaultClass(sc: StorageClass): boolean {
  return annotation(sc, ANN_DEFAULT_CLASS) === 'true' || annotation(sc, ANN_BETA_DEFAULT_CLASS) === 'true';
}

/**
 * The default class (upstream GetDefaultClass): of the classes annotated default, the
 * newest; equal creation times are ordered by name.
 */
export function defaultStorageClass(classes: readonly StorageClass[]): StorageClass | undefined {
  let best: StorageClass | undefined;
  let bestTime = -Infinity;
  for (const sc of classes) {
    if (!isDefaultClass(sc)) continue;
    const t = Date.parse(sc.metadata?.creationTimestamp ?? '') || 0;
    const name = sc.metadata?.name ?? '';
    if (!best || t > bestTime || (t === bestTime && name < (best.metadata?.name ?? ''))) {
      best = sc;
      bestTime = t;
    }
  }
  return best;
}

// ---- quantities --------------------------------------------------------------------

export function quantityOf(v: unknown): Quantity {
  return Quantity.tryParse(v) ?? Quantity.zero();
}

export function requestedStorage(pvc: PersistentVolumeClaim): Quantity {
  return quantityOf(pvc.spec?.resources?.requests?.storage);
}

export function volumeCapacity(pv: PersistentVolume): Quantity {
  return quantityOf(pv.spec?.capacity?.storage);
}

// ---- matching a volume to a claim ------------------------------------------------------

/** CheckVolumeModeMismatches (unset means Filesystem on both sides). */
export function volumeModeMismatch(pvc: PersistentVolumeClaim, pv: PersistentVolume): boolean {
  return (pvc.spec?.volumeMode ?? 'Filesystem') !== (pv.spec?.volumeMode ?? 'Filesystem');
}

/** CheckAccessModes: the volume offers every mode the claim asks for. */
export function checkAccessModes(pvc: PersistentVolumeClaim, pv: PersistentVolume): boolean {
  const offered = new Set(pv.spec?.accessModes ?? []);
  return (pvc.spec?.accessModes ?? []).every((m) => offered.has(m));
}

/** IsVolumeBoundToClaim: claimRef names the claim (and, when it has a UID, the same UID). */
export function isVolumeBoundToClaim(pv: PersistentVolume, pvc: PersistentVolumeClaim): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref) return false;
  if (ref.name !== pvc.metadata?.name || ref.namespace !== pvc.metadata?.namespace) return false;
  if (ref.uid && ref.uid !== pvc.metadata?.uid) return false;
  return true;
}

/** checkVolumeSatisfyClaim: why a volume the claim names can't serve it (undefined: it can). */
export function volumeSatisfiesClaim(pv: PersistentVolume, pvc: PersistentVolumeClaim): string | undefined {
  if (pv.metadata?.deletionTimestamp) return `the volume is marked for deletion "${pv.metadata.name}"`;
  if (volumeCapacity(pv).cmp(requestedStorage(pvc)) < 0) return 'requested PV is too small';
  if (volumeClass(pv) !== claimClass(pvc)) return 'storageClassName does not match';
  if (volumeModeMismatch(pvc, pv)) return 'incompatible volumeMode';
  if (!checkAccessModes(pvc, pv)) return 'incompatible accessMode';
  return undefined;
}

/** The claim's reference as a volume's claimRef holds it (reference.GetReference). */
export function claimRefOf(pvc: PersistentVolumeClaim): ObjectReference {
  return {
    kind: 'PersistentVolumeClaim',
    namespace: pvc.metadata?.namespace,
    name: pvc.metadata?.name,
    uid: pvc.metadata?.uid,
    apiVersion: 'v1',
    resourceVersion: pvc.metadata?.resourceVersion,
  };
}

/** The access-mode set as upstream's index names it (RWO,ROX,RWX,RWOP order). */
function accessModesKey(modes: readonly string[] | undefined): string {
  const order = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'];
  const set = new Set(modes ?? []);
  return order.filter((m) => set.has(m)).join(',');
}

export interface MatchOptions {
  /** PV controller path: unbound volumes are left to the scheduler (only pre-bound ones match). */
  delayBinding?: boolean;
  /** Scheduler path: the volume's node affinity must admit this node, and access modes must match. */
  node?: Node;
  /** Scheduler path: volumes already chosen for the pod's other claims. */
  excluded?: ReadonlySet<string>;
}

/**
 * FindMatchingVolume over `volumes`: a volume pre-bound to the claim wins outright;
 * otherwise the smallest Available volume of the claim's class whose size, volume
 * mode, labels (the claim's selector) and node affinity fit.
 */
export function findMatchingVolume(pvc: PersistentVolumeClaim, volumes: readonly PersistentVolume[], opts: MatchOptions = {}): PersistentVolume | undefined {
  const requested = requestedStorage(pvc);
  const cls = claimClass(pvc);
  const selector = pvc.spec?.selector;
  let smallest: PersistentVolume | undefined;
  let smallestQty: Quantity | undefined;
  for (const pv of volumes) {
    if (opts.excluded?.has(pv.metadata?.name ?? '')) continue;
    if (pv.spec?.claimRef && !isVolumeBoundToClaim(pv, pvc)) continue;
    const qty = volumeCapacity(pv);
    if (qty.cmp(requested) < 0) continue;
    if (volumeModeMismatch(pvc, pv)) continue;
    if (pv.metadata?.deletionTimestamp) continue;
    const affinityOK = opts.node ? checkNodeAffinity(pv, opts.node) : true;
    if (isVolumeBoundToClaim(pv, pvc)) return affinityOK ? pv : undefined;
    if (!opts.node && opts.delayBinding) continue;
    if (pv.status?.phase !== 'Available') continue;
    if (selector && !labelSelectorMatches(selector, pv.metadata?.labels ?? {})) continue;
    if (volumeClass(pv) !== cls) continue;
    if (!affinityOK) continue;
    if (opts.node && !checkAccessModes(pvc, pv)) continue;
    if (!smallestQty || smallestQty.cmp(qty) > 0) {
      smallest = pv;
      smallestQty = qty;
    }
  }
  return smallest;
}

/**
 * The PV controller's findBestMatchForClaim: volumes grouped by their access-mode set;
 * the sets that contain every mode the claim wants are tried fewest-modes first, and the
 * first set with a match wins (so a RWO claim prefers a RWO volume to a RWO+RWX one).
 */
export function findBestMatchForClaim(pvc: PersistentVolumeClaim, volumes: readonly PersistentVolume[], delayBinding: boolean): PersistentVolume | undefined {
  const groups = new Map<string, PersistentVolume[]>();
  for (const pv of volumes) {
    const k = accessModesKey(pv.spec?.accessModes);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(pv);
  }
  const wanted = pvc.spec?.accessModes ?? [];
  const candidates = [...groups.keys()]
    .filter((k) => {
      const have = new Set(k ? k.split(',') : []);
      return wanted.every((m) => have.has(m));
    })
    .sort((a, b) => (a ? a.split(',').length : 0) - (b ? b.split(',').length : 0));
  for (const k of candidates) {
    const pv = findMatchingVolume(pvc, groups.get(k)!, { delayBinding });
    if (pv) return pv;
  }
  return undefined;
}

// ---- label and node selectors ----------------------------------------------------------

/** metav1.LabelSelectorAsSelector(...).Matches: matchLabels AND every matchExpression. */
export function labelSelectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  return matchSelector(sel, labels);
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1 || !/^-?\d+$/.test(value) || !/^-?\d+$/.test(values[0])) return false;
      const a = BigInt(value);
      const b = BigInt(values[0]);
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** One term: every label expression and every field expression (metadata.name) holds; an empty term matches nothing. */
export function nodeSelectorTermMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata?.labels ?? {};
  for (const r of exprs) if (!requirementMatches(r, Object.prototype.hasOwnProperty.call(labels, r.key) ? labels[r.key] : undefined)) return false;
  for (const r of fields) {
    if (r.key !== 'metadata.name') return false;
    if (!requirementMatches(r, node.metadata?.name)) return false;
  }
  return true;
}

/** CheckNodeAffinity: a volume without node affinity fits every node; otherwise any term must match. */
export function checkNodeAffinity(pv: PersistentVolume, node: Node): boolean {
  const required = pv.spec?.nodeAffinity?.required;
  if (!required) return true;
  return (required.nodeSelectorTerms ?? []).some((t) => nodeSelectorTermMatches(t, node));
}

/** A Node-shaped object for affinity checks when only the name (and maybe labels) is known. */
export function nodeLike(name: string, labels?: Record<string, string>): Node {
  return { metadata: { name, labels: labels ?? { [LABEL_HOSTNAME]: name } } };
}

// ---- pods and their claims ---------------------------------------------------------------

export interface PodClaim {
  /** The pod's volume name. */
  volume: string;
  claimName: string;
  /** An ephemeral volume: the claim is `<pod>-<volume>` and must be owned by the pod. */
  ephemeral: boolean;
  readOnly: boolean;
}

/** ephemeral.VolumeClaimName. */
export function ephemeralClaimName(pod: Pod, vol: Volume): string {
  return `${pod.metadata?.name ?? ''}-${vol.name}`;
}

/** ephemeral.VolumeIsForPod: undefined when the claim is the pod's own, else why not. */
export function volumeIsForPod(pod: Pod, pvc: PersistentVolumeClaim): string | undefined {
  const owned = (pvc.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === pod.metadata?.uid);
  if (owned) return undefined;
  return `PVC ${pvc.metadata?.namespace}/${pvc.metadata?.name} was not created for pod ${pod.metadata?.namespace}/${pod.metadata?.name} (pod is not owner)`;
}

export function podClaims(pod: Pod): PodClaim[] {
  const out: PodClaim[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim) out.push({ volume: v.name, claimName: v.persistentVolumeClaim.claimName, ephemeral: false, readOnly: !!v.persistentVolumeClaim.readOnly });
    else if (v.ephemeral) out.push({ volume: v.name, claimName: ephemeralClaimName(pod, v), ephemeral: true, readOnly: false });
  }
  return out;
}

const NO_CLAIMS: readonly string[] = [];

/** Whether podClaims(pod) has any claim. */
function referencesClaim(pod: Pod): boolean {
  const volumes = pod.spec?.volumes;
  if (volumes) for (const v of volumes) if (v.persistentVolumeClaim || v.ephemeral) return true;
  return false;
}

/** Index of pods by the `namespace/claim` keys of the claims they reference (upstream common.PodPVCIndexFunc). */
export const POD_PVC_INDEX = 'byPersistentVolumeClaim';
export const indexPodByClaim: IndexFunc<ApiObject> = (obj) => {
  const pod = obj as Pod;
  // Most pods reference no claim: answered without building their claim list (every pod
  // event runs this for each volume controller's index and watch).
  if (!referencesClaim(pod)) return NO_CLAIMS;
  const ns = pod.metadata?.namespace ?? '';
  const claims = podClaims(pod);
  if (claims.length === 0) return [];
  return [...new Set(claims.map((c) => `${ns}/${c.claimName}`))];
};

/** IsPodTerminated, as far as the API shows it. */
export function isPodTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}
