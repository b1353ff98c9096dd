// Volume binding for the scheduler (upstream: pkg/scheduler/framework/plugins/volumebinding
// and persistentvolume/scheduler_binder.go), as pure functions over a lister plus one
// function that makes the API writes. The scheduler owns the plugin; this is the logic
// it calls.
//
// How the scheduler uses it (the VolumeBinding plugin):
//
//   PreFilter   const pre = preFilterPodVolumes(pod, lister)
//               'skip'          → Skip (the pod has no claims; Filter is not needed)
//               'unresolvable'  → UnschedulableAndUnresolvable with pre.reason
//                                 ("persistentvolumeclaim \"x\" not found",
//                                  "pod has unbound immediate PersistentVolumeClaims", ...)
//               'ok'            → keep pre.claims in the cycle state
//   Filter      const fit = filterPodVolumes(pod, pre.claims, node, lister)
//               fit.reasons non-empty → Unschedulable (UnschedulableAndUnresolvable when
//               fit.unresolvable) with those reasons ("node(s) had volume node affinity
//               conflict", "node(s) didn't find available persistent volumes to bind", ...);
//               otherwise keep fit.decision for that node.
//   Reserve     remember the chosen node's decision (assume: later pods in the same
//               cycle should see the chosen volumes as taken — pass their names as
//               `excluded` to filterPodVolumes, or simply re-run it before binding).
//   PreBind     await bindPodVolumes(transport, decision) — binds each chosen static
//               volume (pv.spec.claimRef + pv.kubernetes.io/bound-by-controller) and
//               annotates each claim to provision with
//               volume.kubernetes.io/selected-node=<node>; then (optionally) wait until
//               podVolumesBound(pod, lister) is true before POSTing pods/binding, as
//               upstream does (the kubelet waits for the claims in any case).
//   Events      re-queue unschedulable pods on PersistentVolumeClaim / PersistentVolume
//               / StorageClass adds and updates.
//
// If the scheduler does none of this, controllers/volume/selected-node.ts does the PreBind
// half for pods that already have spec.nodeName, so WaitForFirstConsumer claims still get
// their volume (later than upstream, and without the Filter's guarantees).
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { ApiTransport } from '../../client/transport.js';
import {
  ANN_BOUND_BY_CONTROLLER,
  ANN_SELECTED_NODE,
  NO_PROVISIONER,
  PVCS,
  PVS,
  annotation,
  checkNodeAffinity,
  claimClass,
  claimRefOf,
  clone,
  findMatchingVolume,
  hasAnnotation,
  isVolumeBoundToClaim,
  nodeSelectorTermMatches,
  podClaims,
  setAnnotation,
  volumeIsForPod,
} from './util.js';

/** Reasons, worded as upstream's volumebinding plugin. */
export const ERR_REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
export const ERR_REASON_NODE_CONFLICT = 'node(s) had volume node affinity conflict';
export const ERR_REASON_PV_NOT_EXIST = 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)';
export const ERR_REASON_UNBOUND_IMMEDIATE = 'pod has unbound immediate PersistentVolumeClaims';

/** Read access to the scheduler's caches (informer stores). */
export interface VolumeLister {
  claim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  volume(name: string): PersistentVolume | undefined;
  volumes(): readonly PersistentVolume[];
  storageClass(name: string): StorageClass | undefined;
}

export interface PodVolumeClaims {
  /** Claims with a volume (spec.volumeName set). */
  bound: PersistentVolumeClaim[];
  /** Unbound claims of WaitForFirstConsumer classes: the scheduler chooses for them. */
  delayed: PersistentVolumeClaim[];
}

export type PreFilterVolumes =
  | { status: 'skip' }
  | { status: 'ok'; claims: PodVolumeClaims }
  | { status: 'unresolvable'; reason: string };

function isDelayBinding(pvc: PersistentVolumeClaim, lister: VolumeLister): boolean {
  const name = claimClass(pvc);
  if (!name) return false;
  return lister.storageClass(name)?.volumeBindingMode === 'WaitForFirstConsumer';
}

/**
 * PreFilter: sort the pod's claims into bound and delayed ones. Missing, terminating or
 * foreign (ephemeral) claims, and unbound claims of Immediate classes, make the pod
 * unschedulable until something changes.
 */
export function preFilterPodVolumes(pod: Pod, lister: VolumeLister): PreFilterVolumes {
  const refs = podClaims(pod);
  if (refs.length === 0) return { status: 'skip' };
  const ns = pod.metadata?.namespace ?? 'default';
  const out: PodVolumeClaims = { bound: [], delayed: [] };
  let immediate = false;
  for (const ref of refs) {
    const pvc = lister.claim(ns, ref.claimName);
    if (!pvc) return { status: 'unresolvable', reason: `persistentvolumeclaim "${ref.claimName}" not found` };
    if (pvc.metadata?.deletionTimestamp) return { status: 'unresolvable', reason: `persistentvolumeclaim "${ref.claimName}" is being deleted` };
    if (ref.ephemeral) {
      const why = volumeIsForPod(pod, pvc);
      if (why) return { status: 'unresolvable', reason: why };
    }
    if (pvc.spec?.volumeName) out.bound.push(pvc);
    else if (isDelayBinding(pvc, lister)) out.delayed.push(pvc);
    else immediate = true;
  }
  if (immediate) return { status: 'unresolvable', reason: ERR_REASON_UNBOUND_IMMEDIATE };
  return { status: 'ok', claims: out };
}

/** What PreBind must do for the pod on the chosen node. */
export interface PodVolumeDecision {
  node: string;
  /** Static volumes to bind to delayed claims. */
  staticBindings: { claim: PersistentVolumeClaim; volume: PersistentVolume }[];
  /** Delayed claims to provision on the node. */
  provisions: PersistentVolumeClaim[];
}

export interface FilterVolumes {
  /** Empty when the node fits. */
  reasons: string[];
  /** The node can't fit whatever changes about other pods (bound volume affinity). */
  unresolvable: boolean;
  decision?: PodVolumeDecision;
}

/** allowedTopologies of a class admit the node (none: every node). */
function classAllowsNode(sc: StorageClass, node: Node): boolean {
  const terms = sc.allowedTopologies ?? [];
  if (terms.length === 0) return true;
  const labels = node.metadata?.labels ?? {};
  return terms.some((t) => (t.matchLabelExpressions ?? []).every((e) => labels[e.key] !== undefined && e.values.includes(labels[e.key])));
}

/**
 * Filter: can the pod's volumes be had on `node`? Bound claims need their volume to
 * exist and admit the node; each delayed claim needs an Available matching volume whose
 * node affinity admits the node (the smallest, not chosen for another of the pod's
 * claims) or, failing that, a class that can provision there.
 */
export function filterPodVolumes(pod: Pod, claims: PodVolumeClaims, node: Node, lister: VolumeLister, excluded: ReadonlySet<string> = new Set()): FilterVolumes {
  const reasons = new Set<string>();
  let unresolvable = false;
  for (const pvc of claims.bound) {
    const pv = lister.volume(pvc.spec!.volumeName!);
    if (!pv) {
      reasons.add(ERR_REASON_PV_NOT_EXIST);
      unresolvable = true;
      continue;
    }
    if (!checkNodeAffinity(pv, node)) {
      reasons.add(ERR_REASON_NODE_CONFLICT);
      unresolvable = true;
    }
  }
  const decision: PodVolumeDecision = { node: node.metadata!.name!, staticBindings: [], provisions: [] };
  const chosen = new Set(excluded);
  const volumes = lister.volumes();
  for (const pvc of claims.delayed) {
    const selected = annotation(pvc, ANN_SELECTED_NODE);
    if (selected !== undefined) {
      // Provisioning already started somewhere: only that node will do.
      if (selected !== decision.node) reasons.add(ERR_REASON_BIND_CONFLICT);
      continue;
    }
    const pv = findMatchingVolume(pvc, volumes, { node, excluded: chosen });
    if (pv) {
      chosen.add(pv.metadata!.name!);
      decision.staticBindings.push({ claim: pvc, volume: pv });
      continue;
    }
    const sc = lister.storageClass(claimClass(pvc));
    if (!sc || sc.provisioner === NO_PROVISIONER || !classAllowsNode(sc, node)) {
      reasons.add(ERR_REASON_BIND_CONFLICT);
      continue;
    }
    decision.provisions.push(pvc);
  }
  if (reasons.size > 0) return { reasons: [...reasons].sort(), unresolvable };
  return { reasons: [], unresolvable: false, decision };
}

/** PreFilter and Filter for one node in one call (tests, and callers without a cycle state). */
export function planPodVolumes(pod: Pod, node: Node, lister: VolumeLister): FilterVolumes & { skip?: boolean } {
  const pre = preFilterPodVolumes(pod, lister);
  if (pre.status === 'skip') return { reasons: [], unresolvable: false, skip: true, decision: { node: node.metadata!.name!, staticBindings: [], provisions: [] } };
  if (pre.status === 'unresolvable') return { reasons: [pre.reason], unresolvable: true };
  return filterPodVolumes(pod, pre.claims, node, lister);
}

/**
 * PreBind: make the decision real. Static volumes get their claimRef (the PV controller
 * then finishes the claim's side); claims to provision get the selected-node annotation
 * (the PV controller then hands them to their provisioner). Writes fresh copies read from
 * the API, so a stale cache costs a retry, not a wrong binding.
 */
export async function bindPodVolumes(transport: ApiTransport, decision: PodVolumeDecision): Promise<void> {
  for (const { claim, volume } of decision.staticBindings) {
    const pv = await transport.get<PersistentVolume>(PVS, undefined, volume.metadata!.name!);
    if (pv.spec?.claimRef && !isVolumeBoundToClaim(pv, claim)) throw new Error(`volume "${pv.metadata?.name}" was bound to another claim meanwhile`);
    if (pv.spec?.claimRef?.uid === claim.metadata?.uid) continue;
    const next = clone(pv);
    next.spec = { ...(next.spec ?? {}), claimRef: claimRefOf(claim) };
    if (!hasAnnotation(next, ANN_BOUND_BY_CONTROLLER)) setAnnotation(next, ANN_BOUND_BY_CONTROLLER, 'yes');
    await transport.update(PVS, undefined, next);
  }
  for (const c of decision.provisions) {
    const pvc = await transport.get<PersistentVolumeClaim>(PVCS, c.metadata!.namespace, c.metadata!.name!);
    if (pvc.spec?.volumeName || annotation(pvc, ANN_SELECTED_NODE) === decision.node) continue;
    const next = clone(pvc);
    setAnnotation(next, ANN_SELECTED_NODE, decision.node);
    await transport.update(PVCS, pvc.metadata!.namespace, next);
  }
}

/** True once every claim of the pod is bound (PreBind's wait); a string says what is still missing. */
export function podVolumesBound(pod: Pod, lister: VolumeLister): true | string {
  const ns = pod.metadata?.namespace ?? 'default';
  for (const ref of podClaims(pod)) {
    const pvc = lister.claim(ns, ref.claimName);
    if (!pvc) return `persistentvolumeclaim "${ref.claimName}" not found`;
    if (pvc.status?.phase !== 'Bound' || !pvc.spec?.volumeName) return `persistentvolumeclaim "${ref.claimName}" is not bound yet`;
  }
  return true;
}

/** A lister over anything that can look objects up synchronously (informer stores). */
export function listerFromStores(stores: {
  claims: { get(namespace: string, name: string): PersistentVolumeClaim | undefined };
  volumes: { get(namespace: undefined, name: string): PersistentVolume | undefined; list(): PersistentVolume[] };
  classes: { get(namespace: undefined, name: string): StorageClass | undefined };
}): VolumeLister {
  return {
    claim: (ns, name) => stores.claims.get(ns, name),
    volume: (name) => stores.volumes.get(undefined, name),
    volumes: () => stores.volumes.list(),
    storageClass: (name) => stores.classes.get(undefined, name),
  };
}

/** Re-exported for schedulers that score or pre-check by node selector terms. */
export { checkNodeAffinity, nodeSelectorTermMatches };
