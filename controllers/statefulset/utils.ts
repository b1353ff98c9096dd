// What a StatefulSet's pods and claims must look like (upstream: pkg/controller/
// statefulset/stateful_set_utils.go): stable names `<set>-<ordinal>`, the identity
// labels, hostname and subdomain, one PVC per volumeClaimTemplate and ordinal, owner
// references on those claims as the retention policy asks, revisions as template
// patches, and the status arithmetic.
import type { ControllerRevision, StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod, PodTemplateSpec, Volume } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { Mutable } from '../../machinery/object.js';
import { deepCopy, isPodAvailable, isPodReady, newControllerRef, scaledValueFromIntOrPercent } from '../replicaset/controller-utils.js';
import { podFromTemplate } from '../replicaset/pod-control.js';
import { newControllerRevision, templateFromRevision, templatePatch } from '../history/history.js';

export const STATEFULSET_KIND = { apiVersion: 'apps/v1', kind: 'StatefulSet' } as const;
export const POD_KIND = { apiVersion: 'v1', kind: 'Pod' } as const;

/** The pod label naming the revision a pod was made from (apps.StatefulSetRevisionLabel). */
export const STATEFULSET_REVISION_LABEL = 'controller-revision-hash';
/** apps.StatefulSetPodNameLabel. */
export const STATEFULSET_POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
/** apps.PodIndexLabel. */
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export type MutableStatus = Mutable<StatefulSetStatus>;

// ---- ordinals and names ------------------------------------------------------------------

const STATEFUL_POD_NAME = /^(.*)-([0-9]+)$/;

/** The parent name and ordinal a pod's name encodes; ordinal -1 when it encodes none. */
export function parentNameAndOrdinal(pod: Pod): { parent: string; ordinal: number } {
  const m = STATEFUL_POD_NAME.exec(pod.metadata?.name ?? '');
  if (!m) return { parent: '', ordinal: -1 };
  const n = Number(m[2]);
  // strconv.ParseInt(.., 10, 32): anything beyond int32 is no ordinal.
  return { parent: m[1], ordinal: Number.isSafeInteger(n) && n <= 0x7fffffff ? n : -1 };
}

export function getOrdinal(pod: Pod): number {
  return parentNameAndOrdinal(pod).ordinal;
}

export function replicasOf(set: StatefulSet): number {
  return set.spec?.replicas ?? 1;
}

/** spec.ordinals.start, or 0. */
export function startOrdinal(set: StatefulSet): number {
  return set.spec?.ordinals?.start ?? 0;
}

/** The last ordinal the set wants (inclusive). */
export function endOrdinal(set: StatefulSet): number {
  return startOrdinal(set) + replicasOf(set) - 1;
}

export function podInOrdinalRange(pod: Pod, set: StatefulSet): boolean {
  const o = getOrdinal(pod);
  return o >= startOrdinal(set) && o <= endOrdinal(set);
}

export function podName(set: StatefulSet, ordinal: number): string {
  return `${set.metadata?.name}-${ordinal}`;
}

/** `<claim template>-<set>-<ordinal>`. */
export function claimName(set: StatefulSet, claimTemplate: PersistentVolumeClaim, ordinal: number): string {
  return `${claimTemplate.metadata?.name}-${set.metadata?.name}-${ordinal}`;
}

export function isMemberOf(set: StatefulSet, pod: Pod): boolean {
  return parentNameAndOrdinal(pod).parent === set.metadata?.name;
}

// ---- identity and storage ----------------------------------------------------------------

/** The pod has the name, namespace and pod-name label a member of `set` must have. */
export function identityMatches(set: StatefulSet, pod: Pod): boolean {
  const { parent, ordinal } = parentNameAndOrdinal(pod);
  return (
    ordinal >= 0 &&
    parent === set.metadata?.name &&
    pod.metadata?.name === podName(set, ordinal) &&
    pod.metadata?.namespace === set.metadata?.namespace &&
    pod.metadata?.labels?.[STATEFULSET_POD_NAME_LABEL] === pod.metadata?.name
  );
}

/** The pod mounts every claim the set's templates call for, under the template's name. */
export function storageMatches(set: StatefulSet, pod: Pod): boolean {
  const ordinal = getOrdinal(pod);
  if (ordinal < 0) return false;
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  for (const t of set.spec?.volumeClaimTemplates ?? []) {
    const v = volumes.get(t.metadata?.name ?? '');
    if (!v?.persistentVolumeClaim || v.persistentVolumeClaim.claimName !== claimName(set, t, ordinal)) return false;
  }
  return true;
}

/** The claims the pod needs, by template name: the template, named for the pod, labelled with the set's matchLabels. */
export function persistentVolumeClaims(set: StatefulSet, pod: Pod): Map<string, PersistentVolumeClaim> {
  const ordinal = getOrdinal(pod);
  const out = new Map<string, PersistentVolumeClaim>();
  for (const t of set.spec?.volumeClaimTemplates ?? []) {
    const claim = deepCopy(t);
    const meta: Mutable<NonNullable<PersistentVolumeClaim['metadata']>> = { ...(claim.metadata ?? {}) };
    meta.name = claimName(set, t, ordinal);
    meta.namespace = set.metadata?.namespace;
    meta.labels = { ...(meta.labels ?? {}), ...(set.spec?.selector?.matchLabels ?? {}) };
    // A template is not an object of its own: nothing server-set carries over.
    delete meta.resourceVersion;
    delete meta.uid;
    delete meta.creationTimestamp;
    delete meta.generateName;
    const out1: PersistentVolumeClaim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta, spec: claim.spec };
    out.set(t.metadata?.name ?? '', out1);
  }
  return out;
}

/** Point the template-named volumes at the pod's claims, keeping every other volume. */
export function updateStorage(set: StatefulSet, pod: Pod): void {
  const claims = persistentVolumeClaims(set, pod);
  const volumes: Volume[] = [];
  for (const [name, claim] of claims) volumes.push({ name, persistentVolumeClaim: { claimName: claim.metadata!.name! } });
  for (const v of pod.spec?.volumes ?? []) if (!claims.has(v.name)) volumes.push(v);
  if (pod.spec) (pod.spec as Mutable<NonNullable<Pod['spec']>>).volumes = volumes;
}

/** Name, namespace and the identity labels. */
export function updateIdentity(set: StatefulSet, pod: Pod): void {
  const ordinal = getOrdinal(pod);
  const meta = pod.metadata as Mutable<NonNullable<Pod['metadata']>>;
  meta.name = podName(set, ordinal);
  meta.namespace = set.metadata?.namespace;
  meta.labels = { ...(meta.labels ?? {}), [STATEFULSET_POD_NAME_LABEL]: meta.name, [POD_INDEX_LABEL]: String(ordinal) };
}

/** Identity plus hostname and subdomain, which can only be set when the pod is made. */
export function initIdentity(set: StatefulSet, pod: Pod): void {
  updateIdentity(set, pod);
  const spec = pod.spec as Mutable<NonNullable<Pod['spec']>>;
  spec.hostname = pod.metadata?.name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
}

export function setPodRevision(pod: Pod, revision: string): void {
  const meta = pod.metadata as Mutable<NonNullable<Pod['metadata']>>;
  meta.labels = { ...(meta.labels ?? {}), [STATEFULSET_REVISION_LABEL]: revision };
}

export function getPodRevision(pod: Pod): string {
  return pod.metadata?.labels?.[STATEFULSET_REVISION_LABEL] ?? '';
}

/** A new pod for `ordinal` from the set's template, controlled by the set. */
export function newStatefulSetPod(set: StatefulSet, ordinal: number): Pod {
  const pod = podFromTemplate(set.spec?.template ?? {}, set, newControllerRef(set, STATEFULSET_KIND.apiVersion, STATEFULSET_KIND.kind));
  const meta = pod.metadata as Mutable<NonNullable<Pod['metadata']>>;
  delete meta.generateName;
  meta.name = podName(set, ordinal);
  initIdentity(set, pod);
  updateStorage(set, pod);
  return pod;
}

/**
 * A pod for `ordinal` at the right revision: below the partition (or, without a
 * rollingUpdate block, below the current replica count) from the current revision,
 * otherwise from the update revision.
 */
export function newVersionedStatefulSetPod(currentSet: StatefulSet, updateSet: StatefulSet, currentRevision: string, updateRevision: string, ordinal: number): Pod {
  const us = currentSet.spec?.updateStrategy;
  const start = startOrdinal(currentSet);
  const useCurrent =
    ((us?.type ?? 'RollingUpdate') === 'RollingUpdate' && !us?.rollingUpdate && ordinal < start + (currentSet.status?.currentReplicas ?? 0)) ||
    (!!us?.rollingUpdate && ordinal < start + (us.rollingUpdate.partition ?? 0));
  const pod = newStatefulSetPod(useCurrent ? currentSet : updateSet, ordinal);
  setPodRevision(pod, useCurrent ? currentRevision : updateRevision);
  return pod;
}

// ---- pod state ---------------------------------------------------------------------------

export function isRunningAndReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && isPodReady(pod);
}

export function isRunningAndAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  return isPodAvailable(pod, minReadySeconds, now);
}

/** The API server has it (every stored pod has a phase). */
export function isCreated(pod: Pod): boolean {
  return !!pod.status?.phase;
}

export function isPending(pod: Pod): boolean {
  return pod.status?.phase === 'Pending';
}

export function isFailed(pod: Pod): boolean {
  return pod.status?.phase === 'Failed';
}

export function isSucceeded(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded';
}

export function isTerminating(pod: Pod): boolean {
  return !!pod.metadata?.deletionTimestamp;
}

export function isUnavailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  return !isPodAvailable(pod, minReadySeconds, now) || isTerminating(pod);
}

/** Parallel pod management: no waiting on predecessors. */
export function allowsBurst(set: StatefulSet): boolean {
  return set.spec?.podManagementPolicy === 'Parallel';
}

/** maxUnavailable of the rolling update, at least 1 (percentages round down). */
export function maxUnavailableOf(set: StatefulSet): number {
  const v = set.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1;
  return Math.max(1, scaledValueFromIntOrPercent(v, replicasOf(set), false));
}

// ---- claim retention ---------------------------------------------------------------------

export interface RetentionPolicy {
  whenDeleted: string;
  whenScaled: string;
}

export function retentionPolicy(set: StatefulSet): RetentionPolicy {
  const p = set.spec?.persistentVolumeClaimRetentionPolicy;
  return { whenDeleted: p?.whenDeleted ?? 'Retain', whenScaled: p?.whenScaled ?? 'Retain' };
}

interface Owner {
  apiVersion: string;
  kind: string;
  name?: string;
  uid?: string;
}

const setOwner = (set: StatefulSet): Owner => ({ ...STATEFULSET_KIND, name: set.metadata?.name, uid: set.metadata?.uid });
const podOwner = (pod: Pod): Owner => ({ ...POD_KIND, name: pod.metadata?.name, uid: pod.metadata?.uid });

/** The reference names this object (same kind and name), whatever its UID. */
function matchesRef(ref: OwnerReference, o: Owner): boolean {
  return ref.apiVersion === o.apiVersion && ref.kind === o.kind && ref.name === o.name;
}

function hasOwnerRef(claim: PersistentVolumeClaim, o: Owner): boolean {
  return !!o.uid && (claim.metadata?.ownerReferences ?? []).some((r) => r.uid === o.uid);
}

/** A reference to a namesake of `o` with another UID: left over from an earlier object. */
export function hasStaleOwnerRef(claim: PersistentVolumeClaim, o: Owner): boolean {
  for (const r of claim.metadata?.ownerReferences ?? []) if (matchesRef(r, o)) return r.uid !== o.uid;
  return false;
}

/** Some other controller owns the claim (or a stale reference to the set or pod does). */
function hasUnexpectedController(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod): boolean {
  const p = retentionPolicy(set);
  if (p.whenScaled === 'Retain' && p.whenDeleted === 'Retain') return false;
  const so = setOwner(set);
  const po = podOwner(pod);
  for (const r of claim.metadata?.ownerReferences ?? []) {
    if (matchesRef(r, so)) {
      if (r.uid !== so.uid) return true;
      continue;
    }
    if (matchesRef(r, po)) {
      if (r.uid !== po.uid) return true;
      continue;
    }
    if (r.controller) return true;
  }
  return false;
}

function hasNonControllerOwner(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod): boolean {
  return (claim.metadata?.ownerReferences ?? []).some((r) => (r.uid === set.metadata?.uid || (!!pod.metadata?.uid && r.uid === pod.metadata.uid)) && !r.controller);
}

/**
 * The claim's owner references agree with the retention policy: none for
 * Retain/Retain; the set for WhenDeleted=Delete; the pod, once scaled away, for
 * WhenScaled=Delete. Claims in a state the controller does not understand are left alone.
 */
export function claimOwnerMatchesSetAndPod(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod): boolean {
  const so = setOwner(set);
  const po = podOwner(pod);
  if (hasStaleOwnerRef(claim, so) || hasStaleOwnerRef(claim, po)) return true;
  if (hasUnexpectedController(claim, set, pod)) return !(hasOwnerRef(claim, so) || hasOwnerRef(claim, po));
  if (hasNonControllerOwner(claim, set, pod)) return false;
  const p = retentionPolicy(set);
  const scaledDown = !podInOrdinalRange(pod, set);
  if (p.whenScaled === 'Delete' && p.whenDeleted === 'Delete') {
    return scaledDown !== hasOwnerRef(claim, so) && scaledDown === hasOwnerRef(claim, po);
  }
  if (p.whenScaled === 'Delete') return !hasOwnerRef(claim, so) && scaledDown === hasOwnerRef(claim, po);
  if (p.whenDeleted === 'Delete') return hasOwnerRef(claim, so) && !hasOwnerRef(claim, po);
  return !hasOwnerRef(claim, so) && !hasOwnerRef(claim, po);
}

/** Rewrite the claim's references to the set and pod as the policy asks (controller references). */
export function updateClaimOwnerRefs(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod): void {
  const so = setOwner(set);
  const po = podOwner(pod);
  const unexpected = hasUnexpectedController(claim, set, pod);
  let refs = (claim.metadata?.ownerReferences ?? []).filter((r) => !matchesRef(r, so) && !matchesRef(r, po));
  const add = (owner: Owner, obj: StatefulSet | Pod) => {
    if (!owner.uid || refs.some((r) => r.uid === owner.uid)) return;
    refs = [...refs, newControllerRef(obj, owner.apiVersion, owner.kind)];
  };
  if (!unexpected) {
    const p = retentionPolicy(set);
    const scaledDown = !podInOrdinalRange(pod, set);
    if (p.whenScaled === 'Delete' && scaledDown) add(po, pod);
    if (p.whenDeleted === 'Delete' && (p.whenScaled !== 'Delete' || !scaledDown)) add(so, set);
  }
  const meta = claim.metadata as Mutable<NonNullable<PersistentVolumeClaim['metadata']>>;
  if (refs.length > 0) meta.ownerReferences = refs;
  else delete meta.ownerReferences;
}

// ---- revisions ---------------------------------------------------------------------------

/**
 * A (not yet stored) revision of the set: its template as a replace patch, the template
 * labels, the set's annotations (so `kubectl rollout history` shows change-cause).
 */
export function newRevision(set: StatefulSet, revision: number, collisionCount: number): ControllerRevision {
  const cr = newControllerRevision(set, STATEFULSET_KIND, set.spec?.template?.metadata?.labels, templatePatch(set.spec?.template), revision, collisionCount);
  const annotations = set.metadata?.annotations;
  if (annotations && Object.keys(annotations).length > 0) (cr.metadata as Mutable<NonNullable<ControllerRevision['metadata']>>).annotations = { ...annotations };
  return cr;
}

/** The set as the revision has it: its template replaced by the revision's. */
export function applyRevision(set: StatefulSet, revision: ControllerRevision): StatefulSet {
  const template = templateFromRevision<PodTemplateSpec>(revision);
  const clone = deepCopy(set);
  if (template && clone.spec) (clone.spec as Mutable<NonNullable<StatefulSet['spec']>>).template = template;
  return clone;
}

// ---- status ------------------------------------------------------------------------------

/** Count pods into `status` (replicas, ready, available, current, updated). */
export function updateStatusCounts(status: MutableStatus, minReadySeconds: number, currentRevision: string, updateRevision: string, now: number, ...podLists: (Pod | undefined)[][]): void {
  let replicas = 0;
  let ready = 0;
  let available = 0;
  let current = 0;
  let updated = 0;
  for (const list of podLists) {
    for (const pod of list) {
      if (!pod) continue;
      if (isCreated(pod)) replicas++;
      if (isRunningAndReady(pod)) {
        ready++;
        if (isRunningAndAvailable(pod, minReadySeconds, now)) available++;
      }
      if (isCreated(pod) && !isTerminating(pod)) {
        const rev = getPodRevision(pod);
        if (rev === currentRevision) current++;
        if (rev === updateRevision) updated++;
      }
    }
  }
  status.replicas = replicas;
  status.readyReplicas = ready;
  status.availableReplicas = available;
  status.currentReplicas = current;
  status.updatedReplicas = updated;
}

/** A rolling update is over once every wanted pod is updated and ready: the update revision becomes current. */
export function completeRollingUpdate(set: StatefulSet, status: MutableStatus): void {
  const want = replicasOf(set);
  if ((set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && status.updatedReplicas === want && status.readyReplicas === want && status.replicas === want) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
}

/** The computed status differs from the stored one in anything the controller owns. */
export function inconsistentStatus(set: StatefulSet, status: MutableStatus): boolean {
  const s = set.status ?? ({} as StatefulSetStatus);
  return (
    (status.observedGeneration ?? 0) > (s.observedGeneration ?? 0) ||
    (status.replicas ?? 0) !== (s.replicas ?? 0) ||
    (status.currentReplicas ?? 0) !== (s.currentReplicas ?? 0) ||
    (status.readyReplicas ?? 0) !== (s.readyReplicas ?? 0) ||
    (status.updatedReplicas ?? 0) !== (s.updatedReplicas ?? 0) ||
    (status.currentRevision ?? '') !== (s.currentRevision ?? '') ||
    (status.availableReplicas ?? 0) !== (s.availableReplicas ?? 0) ||
    (status.updateRevision ?? '') !== (s.updateRevision ?? '') ||
    (status.collisionCount ?? 0) !== (s.collisionCount ?? 0)
  );
}
