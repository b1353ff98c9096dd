// What the DaemonSet controller decides per node and per pod (upstream: pkg/controller/
// daemon/util/daemonset_util.go and the predicates in daemon_controller.go): the
// tolerations every daemon pod gets, the node-name affinity that pins a pod to its
// node, whether a node should run (or may keep running) the daemon pod, which pods are
// up to date, and the surge / unavailability budgets of a rolling update.
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Affinity, Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, PodSpec, PodTemplateSpec, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import type { Mutable } from '../../machinery/object.js';
import { deepCopy, parseTime, scaledValueFromIntOrPercent } from '../replicaset/controller-utils.js';

export const DAEMONSET_KIND = { apiVersion: 'apps/v1', kind: 'DaemonSet' } as const;

/** Pods and revisions carry the template hash under this label (apps.DefaultDaemonSetUniqueLabelKey). */
export const DAEMONSET_UNIQUE_LABEL = 'controller-revision-hash';
/** Pods carry the template generation they were made from (extensions.DaemonSetTemplateGenerationKey). */
export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
/** The API server counts template changes in this annotation. */
export const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';

// ---- tolerations -------------------------------------------------------------------------

/** toleration.ToleratesTaint: same key (or an empty key with Exists), effect and value. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key !== undefined && t.key !== '' && t.key !== taint.key) return false;
  const op = t.operator || 'Equal';
  if (op === 'Exists') return true;
  if (op === 'Equal') return (t.value ?? '') === (taint.value ?? '');
  return false;
}

/** The first taint `filter` accepts that no toleration tolerates. */
export function findUntoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[], filter: (t: Taint) => boolean): Taint | undefined {
  for (const taint of taints) {
    if (!filter(taint)) continue;
    if (!tolerations.some((t) => toleratesTaint(t, taint))) return taint;
  }
  return undefined;
}

/**
 * Add `t`, replacing a toleration with the same key, effect, operator and value that
 * differs from it (say, in tolerationSeconds) — v1helper.AddOrUpdateTolerationInPodSpec.
 */
function addOrUpdateToleration(spec: Mutable<PodSpec>, t: Toleration): void {
  const same = (x: Toleration) => (x.key ?? '') === (t.key ?? '') && (x.effect ?? '') === (t.effect ?? '') && (x.operator || 'Equal') === (t.operator || 'Equal') && (x.value ?? '') === (t.value ?? '');
  const list = spec.tolerations ?? [];
  let updated = false;
  const out: Toleration[] = [];
  for (const x of list) {
    if (same(x)) {
      if (x.tolerationSeconds === t.tolerationSeconds) return;
      out.push(t);
      updated = true;
      continue;
    }
    out.push(x);
  }
  if (!updated) out.push(t);
  spec.tolerations = out;
}

/**
 * The tolerations upstream gives every daemon pod: it must survive not-ready and
 * unreachable nodes and node pressure, run on cordoned nodes, and — with host
 * networking — on nodes whose pod network is not up yet.
 */
export function addOrUpdateDaemonPodTolerations(spec: Mutable<PodSpec>): void {
  addOrUpdateToleration(spec, { key: TAINT_NOT_READY, operator: 'Exists', effect: 'NoExecute' });
  addOrUpdateToleration(spec, { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' });
  addOrUpdateToleration(spec, { key: TAINT_DISK_PRESSURE, operator: 'Exists', effect: 'NoSchedule' });
  addOrUpdateToleration(spec, { key: TAINT_MEMORY_PRESSURE, operator: 'Exists', effect: 'NoSchedule' });
  addOrUpdateToleration(spec, { key: TAINT_PID_PRESSURE, operator: 'Exists', effect: 'NoSchedule' });
  addOrUpdateToleration(spec, { key: TAINT_UNSCHEDULABLE, operator: 'Exists', effect: 'NoSchedule' });
  if (spec.hostNetwork) addOrUpdateToleration(spec, { key: TAINT_NETWORK_UNAVAILABLE, operator: 'Exists', effect: 'NoSchedule' });
}

// ---- node affinity -----------------------------------------------------------------------

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const has = value !== undefined;
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return has && values.includes(value);
    case 'NotIn':
      return !has || !values.includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || values.length !== 1) return false;
      const a = Number(value);
      const b = Number(values[0]);
      if (!Number.isInteger(a) || !Number.isInteger(b)) return false;
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** A term matches when all its expressions (labels) and fields (metadata.name) do; an empty term matches nothing. */
function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata?.labels ?? {};
  for (const r of exprs) if (!requirementMatches(r, Object.prototype.hasOwnProperty.call(labels, r.key) ? labels[r.key] : undefined)) return false;
  for (const r of fields) {
    if (r.key !== 'metadata.name') return false;
    if (r.operator !== 'In' && r.operator !== 'NotIn') return false;
    if (!requirementMatches(r, node.metadata?.name)) return false;
  }
  return true;
}

/** nodeaffinity.GetRequiredNodeAffinity(pod).Match(node): nodeSelector and the required terms (any of them). */
export function requiredNodeAffinityMatches(spec: PodSpec | undefined, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  return (required.nodeSelectorTerms ?? []).some((t) => termMatches(t, node));
}

/**
 * Pin a pod to `nodeName` through required node affinity (`metadata.name In [node]`),
 * replacing any required terms the template had (they were already checked against the
 * node by the controller).
 */
export function replaceDaemonSetPodNodeNameNodeAffinity(affinity: Affinity | undefined, nodeName: string): Affinity {
  const term: NodeSelectorTerm = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] };
  const out: Mutable<Affinity> = deepCopy(affinity ?? {});
  const na = { ...(out.nodeAffinity ?? {}) };
  na.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [term] };
  out.nodeAffinity = na;
  return out;
}

/** The node a daemon pod is for: its spec.nodeName, else the node its affinity pins it to. */
export function getTargetNodeName(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) {
    for (const f of t.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

// ---- should a node run the daemon --------------------------------------------------------

/** The pod the daemon would run on `node` (upstream NewPod): template spec, node name, daemon tolerations. */
export function newDaemonPodFor(ds: DaemonSet, nodeName: string): Pod {
  const spec = deepCopy(ds.spec?.template?.spec ?? { containers: [] }) as Mutable<PodSpec>;
  spec.nodeName = nodeName;
  addOrUpdateDaemonPodTolerations(spec);
  return { metadata: { ...(ds.spec?.template?.metadata ?? {}), namespace: ds.metadata?.namespace }, spec };
}

/**
 * shouldRun: the node is eligible for a new daemon pod (name, affinity, and every
 * NoSchedule/NoExecute taint tolerated). shouldContinueRunning: an existing pod may stay
 * (only untolerated NoExecute taints evict).
 */
export function nodeShouldRunDaemonPod(node: Node, ds: DaemonSet): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const name = node.metadata?.name ?? '';
  const want = ds.spec?.template?.spec?.nodeName;
  if (want && want !== name) return { shouldRun: false, shouldContinueRunning: false };
  const pod = newDaemonPodFor(ds, name);
  const fitsNodeName = !pod.spec?.nodeName || pod.spec.nodeName === name;
  const fitsAffinity = requiredNodeAffinityMatches(pod.spec, node);
  if (!fitsNodeName || !fitsAffinity) return { shouldRun: false, shouldContinueRunning: false };
  const taints = node.spec?.taints ?? [];
  const tolerations = pod.spec?.tolerations ?? [];
  const untolerated = findUntoleratedTaint(taints, tolerations, (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  if (untolerated) {
    const evicting = findUntoleratedTaint(taints, tolerations, (t) => t.effect === 'NoExecute');
    return { shouldRun: false, shouldContinueRunning: !evicting };
  }
  return { shouldRun: true, shouldContinueRunning: true };
}

// ---- templates and revisions ---------------------------------------------------------------

/** The template generation the API server recorded, if any. */
export function templateGeneration(ds: DaemonSet): number | undefined {
  const v = ds.metadata?.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

/** The template pods are made from: daemon tolerations, the generation and hash labels. */
export function createPodTemplate(template: PodTemplateSpec | undefined, generation: number | undefined, hash: string): PodTemplateSpec {
  const t = deepCopy(template ?? {}) as Mutable<PodTemplateSpec>;
  const spec = (t.spec ?? { containers: [] }) as Mutable<PodSpec>;
  addOrUpdateDaemonPodTolerations(spec);
  t.spec = spec;
  const meta = { ...(t.metadata ?? {}) };
  const labels: Record<string, string> = { ...(meta.labels ?? {}) };
  if (generation !== undefined) labels[TEMPLATE_GENERATION_LABEL] = String(generation);
  if (hash) labels[DAEMONSET_UNIQUE_LABEL] = hash;
  meta.labels = labels;
  t.metadata = meta;
  return t;
}

/** The pod was made from the current template (same hash, or same template generation). */
export function isPodUpdated(pod: Pod, hash: string, generation: number | undefined): boolean {
  const labels = pod.metadata?.labels ?? {};
  const templateMatches = generation !== undefined && labels[TEMPLATE_GENERATION_LABEL] === String(generation);
  const hashMatches = hash.length > 0 && labels[DAEMONSET_UNIQUE_LABEL] === hash;
  return hashMatches || templateMatches;
}

// ---- rolling-update budgets ------------------------------------------------------------------

function rollingUpdateOf(ds: DaemonSet) {
  const us = ds.spec?.updateStrategy;
  return (us?.type ?? 'RollingUpdate') === 'RollingUpdate' ? us?.rollingUpdate : undefined;
}

/** maxSurge against `desired` nodes (rounded up); 0 without a rolling update. */
export function surgeCount(ds: DaemonSet, desired: number): number {
  const ru = rollingUpdateOf(ds);
  if (!ru || ru.maxSurge === undefined || ru.maxSurge === null) return 0;
  return scaledValueFromIntOrPercent(ru.maxSurge, desired, true);
}

/** maxUnavailable against `desired` nodes (rounded up); 0 without a rolling update. */
export function unavailableCount(ds: DaemonSet, desired: number): number {
  const ru = rollingUpdateOf(ds);
  if (!ru || ru.maxUnavailable === undefined || ru.maxUnavailable === null) return 0;
  return scaledValueFromIntOrPercent(ru.maxUnavailable, desired, true);
}

export function allowsSurge(ds: DaemonSet): boolean {
  try {
    return surgeCount(ds, 1) > 0;
  } catch {
    return false;
  }
}

/** Scheduled pods first, then oldest first, then by name (upstream podByCreationTimestampAndPhase). */
export function comparePodsByCreationAndPhase(a: Pod, b: Pod): number {
  const na = !!a.spec?.nodeName;
  const nb = !!b.spec?.nodeName;
  if (na !== nb) return na ? -1 : 1;
  const ta = parseTime(a.metadata?.creationTimestamp) ?? 0;
  const tb = parseTime(b.metadata?.creationTimestamp) ?? 0;
  if (ta !== tb) return ta - tb;
  const x = a.metadata?.name ?? '';
  const y = b.metadata?.name ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}
