// What every workload controller shares (upstream: pkg/controller/controller_utils.go and
// pkg/api/v1/pod util): pod predicates (active, ready, available), the ranking used to
// pick which pods to delete first on scale-down, label-selector matching, owner
// references, int-or-percent arithmetic, slow-start batching and time helpers.
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import type { LabelSelector, OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { ApiObject } from '../../client/transport.js';
import { labelSelectorMatches } from '../../machinery/labels.js';

// ---- time ------------------------------------------------------------------------

/** RFC 3339 with second precision, as metav1.Time serializes. */
export function rfc3339(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Milliseconds of an RFC 3339 timestamp; undefined when absent or unparsable. */
export function parseTime(t: string | undefined | null): number | undefined {
  if (!t) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

// ---- JSON helpers ----------------------------------------------------------------

export function deepCopy<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

import { semanticEqual } from '../../machinery/object.js';
export { semanticEqual };

// ---- label selectors -------------------------------------------------------------

/**
 * metav1.LabelSelectorAsSelector(sel).Matches(labels): a nil selector matches nothing,
 * an empty one everything.
 */
export function selectorMatches(sel: LabelSelector | undefined | null, labels: Record<string, string> | undefined): boolean {
  return labelSelectorMatches(sel, labels);
}

/** A selector that selects everything (set, but with no requirements). */
export function selectorIsEmpty(sel: LabelSelector | undefined | null): boolean {
  return !!sel && Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
}

/** labels.SelectorFromSet(sel).Matches(labels): every pair must match; an empty map matches all. */
export function mapSelectorMatches(sel: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel ?? {})) if (l[k] !== v) return false;
  return true;
}

/** The selector as a label-selector string (for list calls and messages). */
export function selectorString(sel: LabelSelector | undefined | null): string {
  if (!sel) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const vals = [...(e.values ?? [])].sort().join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${vals})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${vals})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.sort().join(',');
}

// ---- owner references ------------------------------------------------------------

/** The controller reference of an object, if any (metav1.GetControllerOf). */
export function getControllerOf(obj: ApiObject): OwnerReference | undefined {
  for (const r of obj.metadata?.ownerReferences ?? []) if (r.controller) return r;
  return undefined;
}

/** metav1.NewControllerRef: controller and blockOwnerDeletion both true. */
export function newControllerRef(owner: ApiObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata?.name ?? '', uid: owner.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** What resolving a controller reference needs of it. */
export type ControllerRefLike = Pick<OwnerReference, 'kind' | 'name' | 'uid'>;

/**
 * The owner a controller reference names (upstream resolveControllerRef): the object of
 * that name in `store`, but only when the reference is of `kind` and the object there is
 * still the same one (same uid), not a later object reusing the name.
 */
export function resolveControllerRef<T extends ApiObject>(
  store: { get(namespace: string | undefined, name: string): T | undefined },
  kind: string,
  namespace: string | undefined,
  ref: ControllerRefLike,
): T | undefined {
  if (ref.kind !== kind) return undefined;
  const owner = store.get(namespace, ref.name);
  return owner && owner.metadata?.uid === ref.uid ? owner : undefined;
}

/** How a controller finds and wakes the owners of its pods, for the `enqueueOwnersOf…Pod` handlers. */
export interface PodOwners<T> {
  /** The owner a pod's controller reference names, if it is one of ours and still the same object. */
  resolve(namespace: string | undefined, ref: ControllerRefLike): T | undefined;
  /** Every owner whose selector matches an orphan pod. */
  byLabels(pod: Pod): T[];
  enqueue(owner: T): void;
  /** A pod of the owner appeared: before it is woken (a controller with expectations counts the creation). */
  created?(owner: T, pod: Pod): void;
  /** A pod of the owner is gone: before it is woken (a controller with expectations counts the deletion). */
  deleted?(owner: T, pod: Pod): void;
}

/**
 * Wakes the owners a new pod concerns (upstream addPod): the owner its controller
 * reference names, or, for an orphan, every owner whose selector matches it (one may
 * adopt it). A pod already being deleted when first seen (after a restart) counts as
 * deleted, so that no expectation waits for it.
 */
export function enqueueOwnersOfAddedPod<T>(owners: PodOwners<T>, pod: Pod): void {
  if (pod.metadata?.deletionTimestamp) {
    enqueueOwnerOfDeletedPod(owners, pod);
    return;
  }
  const ref = getControllerOf(pod);
  if (!ref) {
    for (const owner of owners.byLabels(pod)) owners.enqueue(owner);
    return;
  }
  const owner = owners.resolve(pod.metadata?.namespace, ref);
  if (!owner) return;
  owners.created?.(owner, pod);
  owners.enqueue(owner);
}

/** Wakes the owner of a deleted pod (upstream deletePod); an orphan's deletion concerns no one. */
export function enqueueOwnerOfDeletedPod<T>(owners: PodOwners<T>, pod: Pod): void {
  const ref = getControllerOf(pod);
  if (!ref) return;
  const owner = owners.resolve(pod.metadata?.namespace, ref);
  if (!owner) return;
  owners.deleted?.(owner, pod);
  owners.enqueue(owner);
}

/**
 * Wakes the owners a pod update concerns, as the ReplicaSet, DaemonSet and StatefulSet
 * controllers all do (upstream updatePod): the owner the pod left when its controller
 * reference changed; then the owner it names now, or, for an orphan whose labels or
 * reference changed, every owner whose selector matches it (one may adopt it). Returns
 * the owner the pod names now, for the caller's own follow-up.
 */
export function enqueueOwnersOfUpdatedPod<T>(owners: PodOwners<T>, old: Pod, cur: Pod, labelChanged: boolean): T | undefined {
  const curRef = getControllerOf(cur);
  const oldRef = getControllerOf(old);
  const refChanged = JSON.stringify(curRef ?? null) !== JSON.stringify(oldRef ?? null);
  if (refChanged && oldRef) {
    const former = owners.resolve(old.metadata?.namespace, oldRef);
    if (former) owners.enqueue(former);
  }
  if (curRef) {
    const owner = owners.resolve(cur.metadata?.namespace, curRef);
    if (owner) owners.enqueue(owner);
    return owner;
  }
  if (labelChanged || refChanged) for (const owner of owners.byLabels(cur)) owners.enqueue(owner);
  return undefined;
}

export function isControlledBy(obj: ApiObject, owner: ApiObject): boolean {
  const ref = getControllerOf(obj);
  return !!ref && !!owner.metadata?.uid && ref.uid === owner.metadata.uid;
}

// ---- pods ------------------------------------------------------------------------

export function getPodCondition(pod: Pod, type: string): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

/** podutil.IsPodReady: the Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return getPodCondition(pod, 'Ready')?.status === 'True';
}

/**
 * podutil.IsPodAvailable: ready, and (with minReadySeconds) ready for longer than that
 * by `nowMs`.
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number = Date.now()): boolean {
  if (!isPodReady(pod)) return false;
  if (!minReadySeconds) return true;
  const since = parseTime(getPodCondition(pod, 'Ready')?.lastTransitionTime);
  return since !== undefined && since + minReadySeconds * 1000 < nowMs;
}

/** controller.IsPodActive: not finished and not being deleted. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
}

export function isPodTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

export function filterActivePods(pods: readonly Pod[]): Pod[] {
  return pods.filter(isPodActive);
}

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function phaseOrdinal(pod: Pod): number {
  return PHASE_ORDINAL[pod.status?.phase ?? ''] ?? 0;
}

function deletionCost(pod: Pod): number {
  const v = pod.metadata?.annotations?.['controller.kubernetes.io/pod-deletion-cost'];
  if (v === undefined) return 0;
  const n = Number(v);
  return Number.isInteger(n) ? n : 0;
}

function maxRestarts(pod: Pod): number {
  let max = 0;
  for (const s of pod.status?.containerStatuses ?? []) max = Math.max(max, s.restartCount ?? 0);
  // Restartable init containers (sidecars) count too.
  const sidecars = new Set((pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  for (const s of pod.status?.initContainerStatuses ?? []) if (sidecars.has(s.name)) max = Math.max(max, s.restartCount ?? 0);
  return max;
}

/** log2 of how long ago `t` was (in ns), as an integer; -1 for the future or unknown. */
function logRank(t: number, now: number): number {
  const d = (now - t) * 1e6;
  return d > 0 ? Math.floor(Math.log2(d)) : -1;
}

/**
 * Compare two times for "newer first, unknown first": upstream's afterOrZero plus the
 * logarithmic bucketing of LogarithmicScaleDown (times in the same power-of-two age
 * bucket compare by UID).
 */
function compareAge(a: number | undefined, b: number | undefined, uidA: string, uidB: string, now: number): number {
  if (a === b) return 0;
  if (a === undefined || b === undefined) return a === undefined ? -1 : 1;
  const diff = logRank(a, now) - logRank(b, now);
  if (diff === 0) return uidA < uidB ? -1 : uidA > uidB ? 1 : 0;
  return diff < 0 ? -1 : 1;
}

/**
 * The scale-down order (upstream ActivePodsWithRanks.Less): pods that sort first are
 * deleted first. `rank` counts related active pods on the same node (more doubled-up
 * sorts first).
 */
export function compareActivePodsWithRanks(a: Pod, b: Pod, rankA: number, rankB: number, now: number = Date.now()): number {
  const na = a.spec?.nodeName ?? '';
  const nb = b.spec?.nodeName ?? '';
  // 1. unassigned < assigned
  if (na !== nb && (na === '' || nb === '')) return na === '' ? -1 : 1;
  // 2. Pending < Unknown < Running
  const pa = phaseOrdinal(a);
  const pb = phaseOrdinal(b);
  if (pa !== pb) return pa - pb;
  // 3. not ready < ready
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return ra ? 1 : -1;
  // 4. lower pod-deletion-cost < higher
  const ca = deletionCost(a);
  const cb = deletionCost(b);
  if (ca !== cb) return ca - cb;
  // 5. doubled up (more related pods on the node) < not doubled up
  if (rankA !== rankB) return rankB - rankA;
  // 6. ready for less time < more time
  if (ra && rb) {
    const ta = parseTime(getPodCondition(a, 'Ready')?.lastTransitionTime);
    const tb = parseTime(getPodCondition(b, 'Ready')?.lastTransitionTime);
    if (ta !== tb) {
      const c = compareAge(ta, tb, a.metadata?.uid ?? '', b.metadata?.uid ?? '', now);
      if (c !== 0) return c;
    }
  }
  // 7. more container restarts < fewer
  const xa = maxRestarts(a);
  const xb = maxRestarts(b);
  if (xa !== xb) return xb - xa;
  // 8. no creation time < newer < older
  const ka = parseTime(a.metadata?.creationTimestamp);
  const kb = parseTime(b.metadata?.creationTimestamp);
  if (ka !== kb) return compareAge(ka, kb, a.metadata?.uid ?? '', b.metadata?.uid ?? '', now);
  return 0;
}

/** Sort pods so that the ones to delete first come first; `ranks` is parallel to `pods`. */
export function sortPodsForDeletion(pods: Pod[], ranks: number[], now: number = Date.now()): Pod[] {
  const idx = pods.map((_, i) => i);
  idx.sort((i, j) => compareActivePodsWithRanks(pods[i], pods[j], ranks[i], ranks[j], now) || i - j);
  return idx.map((i) => pods[i]);
}

/** Oldest first; equal times by name (upstream PodsByCreationTimestamp). */
export function comparePodsByCreation(a: Pod, b: Pod): number {
  const ta = parseTime(a.metadata?.creationTimestamp) ?? 0;
  const tb = parseTime(b.metadata?.creationTimestamp) ?? 0;
  if (ta !== tb) return ta - tb;
  return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
}

// ---- int or percent --------------------------------------------------------------

/**
 * intstr.GetScaledValueFromIntOrPercent: an int as is, "N%" as N% of `total`, rounded
 * up or down. A malformed value throws.
 */
export function scaledValueFromIntOrPercent(v: number | string | undefined | null, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const m = /^(-?\d+)%$/.exec(v);
  if (!m) {
    // A string without % is an error upstream, except a plain number in older clients.
    throw new Error(`invalid value for IntOrString: invalid value "${v}": must be an integer or percentage (e.g '5%')`);
  }
  const pct = Number(m[1]);
  const exact = (pct * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

// ---- batching --------------------------------------------------------------------

export const SLOW_START_INITIAL_BATCH_SIZE = 1;

/**
 * Call `fn` `count` times in batches that double (1, 2, 4, ...), the calls of a batch
 * in parallel; stop after the first batch with a failure. Returns how many calls
 * succeeded and the first error (upstream slowStartBatch).
 */
export async function slowStartBatch(count: number, initialBatchSize: number, fn: (i: number) => Promise<void>): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  let batch = Math.min(remaining, initialBatchSize);
  let next = 0;
  while (batch > 0) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn(next++)));
    let error: unknown;
    for (const r of results) {
      if (r.status === 'fulfilled') successes++;
      else error ??= r.reason;
    }
    if (error !== undefined) return { successes, error };
    remaining -= batch;
    batch = Math.min(2 * batch, remaining);
  }
  return { successes };
}

/** One error out of many (upstream utilerrors.NewAggregate). */
export function aggregateErrors(errs: unknown[]): Error | undefined {
  if (errs.length === 0) return undefined;
  if (errs.length === 1) return errs[0] instanceof Error ? errs[0] : new Error(String(errs[0]));
  const msgs = errs.map((e) => (e instanceof Error ? e.message : String(e)));
  return new Error(`[${msgs.join(', ')}]`);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
