// What the scheduler needs to know about a pod, computed once per pod object
// (upstream: framework.PodInfo): its requests, host ports, parsed affinity terms,
// tolerations and priority.
import type { Pod, PodAffinityTerm, Toleration, WeightedPodAffinityTerm } from 'kubernetes-types/core/v1.js';
import type { Labels } from './labels.js';
import { CompiledNodeSelector, CompiledNodeTerm, NO_LABELS, RequiredNodeAffinity, Selector } from './labels.js';
import type { Resource } from './resources.js';
import { podRequests } from './resources.js';

export const LABEL_HOSTNAME = 'kubernetes.io/hostname';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';
export const LABEL_REGION = 'topology.kubernetes.io/region';

/** A parsed PodAffinityTerm (framework.AffinityTerm). */
export class AffinityTerm {
  /** Stable identity: same selector, namespaces and topology key. */
  readonly signature: string;

  constructor(
    readonly selector: Selector,
    /** Explicit namespaces (the owner's own namespace when neither namespaces nor a selector is given). */
    readonly namespaces: ReadonlySet<string>,
    /** namespaceSelector; undefined when the term has none. */
    readonly namespaceSelector: Selector | undefined,
    readonly topologyKey: string,
  ) {
    this.signature = `${[...namespaces].sort().join(',')}\u0004${namespaceSelector ? namespaceSelector.signature : '-'}\u0004${selector.signature}\u0004${topologyKey}`;
  }

  static from(owner: { namespace: string }, t: PodAffinityTerm): AffinityTerm {
    const namespaces = new Set<string>(t.namespaces ?? []);
    const nsSel = t.namespaceSelector ? Selector.from(t.namespaceSelector) : undefined;
    if (namespaces.size === 0 && !t.namespaceSelector) namespaces.add(owner.namespace);
    return new AffinityTerm(Selector.from(t.labelSelector), namespaces, nsSel, t.topologyKey ?? '');
  }

  /** AffinityTerm.Matches: the pod's namespace is in scope and its labels match. */
  matches(pod: PodInfo, nsLabels: Labels | undefined): boolean {
    if (this.namespaces.has(pod.namespace) || (this.namespaceSelector !== undefined && this.namespaceSelector.matches(nsLabels ?? NO_LABELS))) {
      return this.selector.matches(pod.labels);
    }
    return false;
  }
}

export interface WeightedAffinityTerm {
  term: AffinityTerm;
  weight: number;
}

export interface HostPort {
  protocol: string;
  port: number;
  ip: string;
}

export interface PreferredNodeTerm {
  weight: number;
  term: CompiledNodeTerm;
}

function terms(owner: { namespace: string }, list: readonly PodAffinityTerm[] | undefined): AffinityTerm[] {
  return (list ?? []).map((t) => AffinityTerm.from(owner, t));
}

function weighted(owner: { namespace: string }, list: readonly WeightedPodAffinityTerm[] | undefined): WeightedAffinityTerm[] {
  return (list ?? []).map((w) => ({ term: AffinityTerm.from(owner, w.podAffinityTerm), weight: w.weight }));
}

/** normalizedImageName: an image without a tag means `:latest`. */
export function normalizedImageName(name: string): string {
  if (name.lastIndexOf(':') <= name.lastIndexOf('/')) return `${name}:latest`;
  return name;
}

export class PodInfo {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly labels: Labels;
  readonly nodeName: string;
  readonly schedulerName: string;
  /** Requests as NodeResourcesFit counts them. */
  readonly requests: Resource;
  /** cpu/memory with upstream's non-zero defaults (LeastAllocated scoring, NonZeroRequested). */
  readonly nonZeroCPU: number;
  readonly nonZeroMemory: number;
  readonly hostPorts: readonly HostPort[];
  readonly tolerations: readonly Toleration[];
  readonly requiredAffinityTerms: readonly AffinityTerm[];
  readonly requiredAntiAffinityTerms: readonly AffinityTerm[];
  readonly preferredAffinityTerms: readonly WeightedAffinityTerm[];
  readonly preferredAntiAffinityTerms: readonly WeightedAffinityTerm[];
  readonly requiredNodeAffinity: RequiredNodeAffinity;
  readonly preferredNodeTerms: readonly PreferredNodeTerm[];
  readonly images: readonly string[];
  readonly terminating: boolean;
  /** Succeeded or Failed. */
  readonly terminal: boolean;
  /** status.startTime (ms), for preemption's tie-breaks; undefined until the kubelet reports it. */
  readonly startTime: number | undefined;
  readonly creationTime: number;

  constructor(
    readonly pod: Pod,
    /** Resolved priority (spec.priority, or from the PriorityClass). */
    readonly priority: number,
    /** A PodInfo of the same pod whose `pod` has the same spec object, labels and namespace: what follows from them is taken from it. */
    sameSpec?: PodInfo,
  ) {
    const m = pod.metadata ?? {};
    const spec = pod.spec;
    this.namespace = m.namespace ?? 'default';
    this.name = m.name ?? '';
    this.key = `${this.namespace}/${this.name}`;
    this.uid = m.uid ?? '';
    this.labels = (m.labels ?? NO_LABELS) as Labels;
    this.nodeName = spec?.nodeName ?? '';
    this.schedulerName = spec?.schedulerName || 'default-scheduler';
    this.terminating = !!m.deletionTimestamp;
    const phase = pod.status?.phase;
    this.terminal = phase === 'Succeeded' || phase === 'Failed';
    this.creationTime = m.creationTimestamp ? Date.parse(m.creationTimestamp) : 0;
    this.startTime = pod.status?.startTime ? Date.parse(pod.status.startTime) : undefined;
    if (sameSpec) {
      this.requests = sameSpec.requests;
      this.nonZeroCPU = sameSpec.nonZeroCPU;
      this.nonZeroMemory = sameSpec.nonZeroMemory;
      this.hostPorts = sameSpec.hostPorts;
      this.tolerations = sameSpec.tolerations;
      this.requiredAffinityTerms = sameSpec.requiredAffinityTerms;
      this.requiredAntiAffinityTerms = sameSpec.requiredAntiAffinityTerms;
      this.preferredAffinityTerms = sameSpec.preferredAffinityTerms;
      this.preferredAntiAffinityTerms = sameSpec.preferredAntiAffinityTerms;
      this.requiredNodeAffinity = sameSpec.requiredNodeAffinity;
      this.preferredNodeTerms = sameSpec.preferredNodeTerms;
      this.images = sameSpec.images;
      return;
    }
    this.requests = podRequests(pod, false);
    const nz = podRequests(pod, true);
    this.nonZeroCPU = nz.milliCPU;
    this.nonZeroMemory = nz.memory;
    const ports: HostPort[] = [];
    for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
      for (const p of c.ports ?? []) {
        if (!p.hostPort || p.hostPort <= 0) continue;
        ports.push({ protocol: p.protocol || 'TCP', port: p.hostPort, ip: p.hostIP || '0.0.0.0' });
      }
    }
    this.hostPorts = ports;
    this.tolerations = spec?.tolerations ?? [];
    const owner = { namespace: this.namespace };
    const aff = spec?.affinity;
    this.requiredAffinityTerms = terms(owner, aff?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
    this.requiredAntiAffinityTerms = terms(owner, aff?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
    this.preferredAffinityTerms = weighted(owner, aff?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
    this.preferredAntiAffinityTerms = weighted(owner, aff?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
    const required = aff?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    const nodeSelector = Object.entries(spec?.nodeSelector ?? {}).map(([k, v]) => [k, String(v)] as const);
    this.requiredNodeAffinity =
      nodeSelector.length === 0 && !required ? RequiredNodeAffinity.NONE : new RequiredNodeAffinity(nodeSelector, required ? CompiledNodeSelector.compile(required) : undefined);
    this.preferredNodeTerms = (aff?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((p) => ({
      weight: p.weight,
      term: CompiledNodeTerm.compile(p.preference),
    }));
    this.images = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((c) => normalizedImageName(c.image ?? ''));
  }

  get hasAffinityConstraints(): boolean {
    return this.requiredAffinityTerms.length > 0 || this.requiredAntiAffinityTerms.length > 0 || this.preferredAffinityTerms.length > 0 || this.preferredAntiAffinityTerms.length > 0;
  }

  /**
   * The PodInfo of a later version of this pod: what follows from the spec is taken from
   * this one when the version keeps the spec object (and the pod's identity, labels and
   * priority), as a status write or a graceful delete does; otherwise built anew.
   */
  forVersion(pod: Pod, priority: number): PodInfo {
    const m = pod.metadata ?? {};
    const sameSpec =
      pod.spec !== undefined &&
      pod.spec === this.pod.spec &&
      (m.labels ?? NO_LABELS) === this.labels &&
      (m.namespace ?? 'default') === this.namespace &&
      (m.name ?? '') === this.name &&
      (m.uid ?? '') === this.uid;
    return new PodInfo(pod, priority, sameSpec ? this : undefined);
  }

  /** The same pod, accounted on a node (the assumed pod; `pod` stays the object as it was). */
  withNodeName(nodeName: string): PodInfo {
    const copy = Object.create(PodInfo.prototype) as PodInfo;
    Object.assign(copy, this);
    (copy as { nodeName: string }).nodeName = nodeName;
    return copy;
  }
}

const infoCache = new WeakMap<Pod, PodInfo>();

/**
 * A PodInfo for a pod object seen in an event, built once per object (informer objects
 * are shared by every handler, so queueing hints evaluated for many parked pods reuse it).
 */
export function podInfoOf(pod: Pod): PodInfo {
  let p = infoCache.get(pod);
  if (!p) {
    p = new PodInfo(pod, pod.spec?.priority ?? 0);
    infoCache.set(pod, p);
  }
  return p;
}

/** corev1helpers.PodPriority: spec.priority, 0 when unset. */
export function podPriority(pod: Pod): number {
  return pod.spec?.priority ?? 0;
}
