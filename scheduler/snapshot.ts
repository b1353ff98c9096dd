// The scheduler's view of the cluster (upstream: internal/cache + Snapshot +
// NodeInfo): nodes with their aggregates — requested resources, pod counts, host
// ports, images — and cluster-wide indexes that make affinity and topology spread
// cheap: pods by label, existing pods' affinity terms grouped by identical term with
// per-topology-domain counts, and per-selector topology counters. Everything is
// maintained incrementally as pods and nodes come and go (informer events, assume,
// forget); nothing is recomputed per scheduled pod.
//
// Upstream copies changed NodeInfos into a snapshot at the start of every cycle
// because its informers run on other goroutines. Here a scheduling cycle runs
// synchronously on the one JavaScript thread, so no event can interleave with it:
// the live cache *is* a consistent per-cycle snapshot, and `generation` tells what
// changed between cycles.
import type { Node, Taint } from 'kubernetes-types/core/v1.js';
import type { Labels, NodeLike } from './labels.js';
import { NO_LABELS, Selector } from './labels.js';
import type { AffinityTerm, HostPort, PodInfo } from './podinfo.js';
import { LABEL_REGION, LABEL_ZONE } from './podinfo.js';
import type { Resource } from './resources.js';
import { addResource, cloneResource, emptyResource, resourceFromList } from './resources.js';
import { ChangeLog } from './change-log.js';

const LABEL_ZONE_BETA = 'failure-domain.beta.kubernetes.io/zone';
const LABEL_REGION_BETA = 'failure-domain.beta.kubernetes.io/region';

function labelsEqual(a: Labels, b: Labels): boolean {
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  for (const k of ak) if (a[k] !== b[k]) return false;
  return true;
}

// ---- NodeInfo ------------------------------------------------------------------------

/** One node and what is on it. A NodeInfo without `node` holds pods bound to a node the scheduler hasn't seen (yet). */
export class NodeInfo implements NodeLike {
  node: Node | undefined;
  labels: Labels = NO_LABELS;
  unschedulable = false;
  taints: readonly Taint[] = [];
  /** Taints with effect NoSchedule or NoExecute. */
  hardTaints: readonly Taint[] = [];
  allocatable: Resource = emptyResource();
  requested: Resource = emptyResource();
  nonZeroCPU = 0;
  nonZeroMemory = 0;
  readonly pods = new Map<string, PodInfo>();
  /** `${protocol}/${port}` → host IP → number of pods using it. */
  usedPorts = new Map<string, Map<string, number>>();
  /** Image name → size in bytes (node.status.images). */
  images: ReadonlyMap<string, number> = new Map();
  generation = 0;
  /** Where the node is in the snapshot's nodeList() (−1: not listed), for per-node arrays. */
  position = -1;
  /**
   * The figures NodeResourcesFit checks on every node, kept on the NodeInfo itself (mirrors
   * of allocatable, requested and the pod count): a check of thousands of nodes then reads
   * one object per node instead of four.
   */
  allocMilliCPU = 0;
  allocMemory = 0;
  allocPods = 0;
  usedMilliCPU = 0;
  usedMemory = 0;
  numPods = 0;

  constructor(readonly name: string) {}

  get podCount(): number {
    return this.pods.size;
  }

  setNode(node: Node): void {
    this.node = node;
    this.labels = (node.metadata?.labels ?? NO_LABELS) as Labels;
    this.unschedulable = !!node.spec?.unschedulable;
    this.taints = node.spec?.taints ?? [];
    this.hardTaints = this.taints.filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
    this.allocatable = resourceFromList(node.status?.allocatable as Record<string, unknown> | undefined);
    this.mirrorAllocatable();
    const images = new Map<string, number>();
    for (const img of node.status?.images ?? []) for (const name of img.names ?? []) images.set(name, img.sizeBytes ?? 0);
    this.images = images;
    this.generation++;
  }

  /** Aggregates only: indexes are the Snapshot's business. */
  addPod(p: PodInfo): void {
    this.pods.set(p.key, p);
    addResource(this.requested, p.requests);
    this.mirrorRequested();
    this.nonZeroCPU += p.nonZeroCPU;
    this.nonZeroMemory += p.nonZeroMemory;
    for (const hp of p.hostPorts) {
      const k = `${hp.protocol}/${hp.port}`;
      let m = this.usedPorts.get(k);
      if (!m) this.usedPorts.set(k, (m = new Map()));
      m.set(hp.ip, (m.get(hp.ip) ?? 0) + 1);
    }
    this.generation++;
  }

  removePod(p: PodInfo): boolean {
    const had = this.pods.get(p.key);
    if (!had) return false;
    this.pods.delete(p.key);
    addResource(this.requested, had.requests, -1);
    this.mirrorRequested();
    this.nonZeroCPU -= had.nonZeroCPU;
    this.nonZeroMemory -= had.nonZeroMemory;
    for (const hp of had.hostPorts) {
      const k = `${hp.protocol}/${hp.port}`;
      const m = this.usedPorts.get(k);
      if (!m) continue;
      const n = (m.get(hp.ip) ?? 0) - 1;
      if (n <= 0) m.delete(hp.ip);
      else m.set(hp.ip, n);
      if (m.size === 0) this.usedPorts.delete(k);
    }
    this.generation++;
    return true;
  }

  mirrorAllocatable(): void {
    this.allocMilliCPU = this.allocatable.milliCPU;
    this.allocMemory = this.allocatable.memory;
    this.allocPods = this.allocatable.pods;
  }

  private mirrorRequested(): void {
    this.usedMilliCPU = this.requested.milliCPU;
    this.usedMemory = this.requested.memory;
    this.numPods = this.pods.size;
  }

  /** HostPortInfo.CheckConflict for any of the pod's ports: 0.0.0.0 conflicts with every IP. */
  hasPortConflict(ports: readonly HostPort[]): boolean {
    for (const hp of ports) {
      const m = this.usedPorts.get(`${hp.protocol}/${hp.port}`);
      if (!m) continue;
      if (hp.ip === '0.0.0.0') return true;
      if (m.has(hp.ip) || m.has('0.0.0.0')) return true;
    }
    return false;
  }

  /** A copy whose aggregates can change without touching the cluster view (preemption dry runs, nominated pods). */
  clone(): NodeInfo {
    const c = new NodeInfo(this.name);
    c.node = this.node;
    c.labels = this.labels;
    c.unschedulable = this.unschedulable;
    c.taints = this.taints;
    c.hardTaints = this.hardTaints;
    c.allocatable = this.allocatable;
    c.requested = cloneResource(this.requested);
    c.allocMilliCPU = this.allocMilliCPU;
    c.allocMemory = this.allocMemory;
    c.allocPods = this.allocPods;
    c.usedMilliCPU = this.usedMilliCPU;
    c.usedMemory = this.usedMemory;
    c.nonZeroCPU = this.nonZeroCPU;
    c.nonZeroMemory = this.nonZeroMemory;
    for (const [k, p] of this.pods) c.pods.set(k, p);
    c.numPods = this.numPods;
    for (const [k, m] of this.usedPorts) c.usedPorts.set(k, new Map(m));
    c.images = this.images;
    c.generation = this.generation;
    c.position = this.position;
    return c;
  }
}

// ---- existing pods' affinity terms ---------------------------------------------------------

/** Identical terms of many existing pods, with how many pods hold it per topology value. */
export interface TermGroup {
  readonly term: AffinityTerm;
  readonly weight: number;
  /** Topology value (of the holder's node) → number of pods holding the term there. */
  readonly counts: Map<string, number>;
  /** Pods holding the term, wherever they are. */
  holders: number;
}

/**
 * Existing pods' terms of one kind (required anti-affinity, preferred affinity, ...),
 * grouped by identical term and indexed by the term selector's equality requirements,
 * so the groups an incoming pod may match are found from its own labels.
 */
export class TermIndex {
  private readonly groups = new Map<string, TermGroup>();
  private readonly byEq = new Map<string, Set<TermGroup>>();
  private readonly generic = new Set<TermGroup>();

  get size(): number {
    return this.groups.size;
  }

  update(term: AffinityTerm, weight: number, topologyValue: string | undefined, delta: number): void {
    const id = `${term.signature}\u0005${weight}`;
    let g = this.groups.get(id);
    if (!g) {
      if (delta < 0) return;
      g = { term, weight, counts: new Map(), holders: 0 };
      this.groups.set(id, g);
      const eq = term.selector.equalities[0];
      if (eq) {
        const k = `${eq[0]}\u0000${eq[1]}`;
        let s = this.byEq.get(k);
        if (!s) this.byEq.set(k, (s = new Set()));
        s.add(g);
      } else this.generic.add(g);
    }
    g.holders += delta;
    if (topologyValue !== undefined) {
      const n = (g.counts.get(topologyValue) ?? 0) + delta;
      if (n <= 0) g.counts.delete(topologyValue);
      else g.counts.set(topologyValue, n);
    }
    if (g.holders <= 0) {
      this.groups.delete(id);
      const eq = term.selector.equalities[0];
      if (eq) {
        const k = `${eq[0]}\u0000${eq[1]}`;
        const s = this.byEq.get(k);
        s?.delete(g);
        if (s && s.size === 0) this.byEq.delete(k);
      } else this.generic.delete(g);
    }
  }

  /** Groups whose selector may match an object with these labels (verify with term.matches). */
  candidates(labels: Labels): TermGroup[] {
    if (this.groups.size === 0) return [];
    const out: TermGroup[] = [...this.generic];
    for (const k in labels) {
      const s = this.byEq.get(`${k}\u0000${labels[k]}`);
      if (s) for (const g of s) out.push(g);
    }
    return out;
  }

  all(): IterableIterator<TermGroup> {
    return this.groups.values();
  }
}

// ---- topology counters --------------------------------------------------------------------

/**
 * How many assigned pods a selector matches per topology domain, kept current as
 * pods come and go. Made on first use for a (namespaces, selector, topology key)
 * and then shared by every pod that asks the same question.
 */
export class TopologyCounter {
  /** Topology value → matching pods on nodes with that value. */
  readonly byValue = new Map<string, number>();
  /** Node name → matching pods on it. */
  readonly byNode = new Map<string, number>();
  /** Matching pods on nodes that have the topology label. */
  total = 0;
  /** byNode by listed node position (Snapshot.countsByPosition), for the listing of `positionsVersion`. */
  byPosition: Int32Array | undefined;
  positionsVersion = -1;

  constructor(
    readonly id: string,
    /** undefined: every namespace. */
    readonly namespaces: ReadonlySet<string> | undefined,
    readonly selector: Selector,
    readonly topologyKey: string,
    /** Skip pods being deleted (topology spread does; inter-pod affinity doesn't). */
    readonly excludeTerminating: boolean,
  ) {}

  matches(p: PodInfo): boolean {
    if (this.excludeTerminating && p.terminating) return false;
    if (this.namespaces && !this.namespaces.has(p.namespace)) return false;
    return this.selector.matches(p.labels);
  }

  apply(p: PodInfo, node: NodeInfo, delta: number): void {
    const nn = (this.byNode.get(node.name) ?? 0) + delta;
    if (nn <= 0) this.byNode.delete(node.name);
    else this.byNode.set(node.name, nn);
    // A listing changed since is rebuilt on its next read; until then this is harmless.
    const pos = node.position;
    if (this.byPosition !== undefined && pos >= 0 && pos < this.byPosition.length) this.byPosition[pos] = Math.max(0, nn);
    const v = node.labels[this.topologyKey];
    if (v === undefined) return;
    const n = (this.byValue.get(v) ?? 0) + delta;
    if (n <= 0) this.byValue.delete(v);
    else this.byValue.set(v, n);
    this.total += delta;
  }
}

const MAX_COUNTERS = 2048;
/** Node sets nodesInDomains keeps. */
const MAX_DOMAIN_NODE_SETS = 64;

/** A label's values on the listed nodes: ids[position] indexes values (−1: the node lacks the label). */
export interface TopologyIds {
  readonly ids: Int32Array;
  readonly values: readonly string[];
  readonly idOf: ReadonlyMap<string, number>;
}

// ---- the snapshot ----------------------------------------------------------------------------

export class Snapshot {
  /** Every NodeInfo, placeholders (pods on unknown nodes) included. */
  private readonly infos = new Map<string, NodeInfo>();
  /** Real nodes by zone, in arrival order (upstream's NodeTree). */
  private readonly zones = new Map<string, NodeInfo[]>();
  private readonly zoneOf = new Map<string, string>();
  private ordered: NodeInfo[] = [];
  private orderDirty = false;
  private realNodes = 0;

  /** Assigned and assumed pods by `namespace/name`. */
  readonly pods = new Map<string, PodInfo>();
  private readonly assumed = new Set<string>();
  private readonly podsByLabel = new Map<string, Set<PodInfo>>();
  private readonly podsByNamespace = new Map<string, Set<PodInfo>>();

  readonly requiredAntiAffinity = new TermIndex();
  readonly requiredAffinity = new TermIndex();
  readonly preferredAffinity = new TermIndex();
  readonly preferredAntiAffinity = new TermIndex();
  /** Number of assigned pods with any (anti-)affinity term: InterPodAffinity scoring needs them. */
  podsWithAffinity = 0;

  private readonly counters = new Map<string, TopologyCounter>();
  private readonly countersByEq = new Map<string, Set<TopologyCounter>>();
  private readonly genericCounters = new Set<TopologyCounter>();

  /** label key → value → number of (real) nodes carrying it. */
  private readonly labelValues = new Map<string, Map<string, number>>();
  private readonly labelKeyNodes = new Map<string, number>();
  /** Image name → number of nodes that have it. */
  private readonly imageNodes = new Map<string, number>();
  /** Namespace labels, for namespaceSelector. */
  readonly namespaceLabels = new Map<string, Labels>();

  /** Bumped by every change. */
  generation = 0;
  /** Bumped when a node comes, goes or changes its labels: per-position label arrays are stale. */
  private nodeLabelsVersion = 0;
  private readonly topologyIdCache = new Map<string, { version: number; ids: TopologyIds }>();
  private readonly domainNodesCache = new Map<string, { version: number; nodes: readonly NodeInfo[] }>();
  /** Bumped when a node comes or goes or moves in nodeList() (positions are stale). */
  nodesVersion = 0;
  /** Bumped when a node comes, goes or changes. */
  private nodeObjectsVersion = 0;
  private maxAllocatableCache: { version: number; max: Resource } | undefined;
  /** Listed nodes whose pods or Node object changed (a node once per change). */
  private readonly nodeChanges = new ChangeLog<NodeInfo>();

  get numNodes(): number {
    return this.realNodes;
  }

  /** Real nodes, zones interleaved (upstream's NodeTree order). */
  nodeList(): readonly NodeInfo[] {
    if (this.orderDirty) {
      const lists = [...this.zones.values()];
      const out: NodeInfo[] = [];
      for (let i = 0; out.length < this.realNodes; i++) {
        let any = false;
        for (const l of lists) {
          if (i < l.length) {
            out.push(l[i]);
            any = true;
          }
        }
        if (!any) break;
      }
      for (const info of this.ordered) info.position = -1;
      for (let i = 0; i < out.length; i++) out[i].position = i;
      this.ordered = out;
      this.orderDirty = false;
      this.nodeLabelsVersion++;
    }
    return this.ordered;
  }

  getNode(name: string): NodeInfo | undefined {
    const n = this.infos.get(name);
    return n?.node ? n : undefined;
  }

  /** Every node info, placeholders included. */
  allNodeInfos(): IterableIterator<NodeInfo> {
    return this.infos.values();
  }

  // ---- nodes ----

  private static zoneKey(labels: Labels): string {
    const zone = labels[LABEL_ZONE_BETA] ?? labels[LABEL_ZONE] ?? '';
    const region = labels[LABEL_REGION_BETA] ?? labels[LABEL_REGION] ?? '';
    return region === '' && zone === '' ? '' : `${region}:\u0000:${zone}`;
  }

  private addToTree(info: NodeInfo): void {
    const z = Snapshot.zoneKey(info.labels);
    let list = this.zones.get(z);
    if (!list) this.zones.set(z, (list = []));
    list.push(info);
    this.zoneOf.set(info.name, z);
    this.orderDirty = true;
    this.nodesVersion++;
  }

  private removeFromTree(name: string): void {
    const z = this.zoneOf.get(name);
    if (z === undefined) return;
    const list = this.zones.get(z)!;
    const i = list.findIndex((n) => n.name === name);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.zones.delete(z);
    this.zoneOf.delete(name);
    this.orderDirty = true;
    this.nodesVersion++;
  }

  private countLabels(labels: Labels, delta: number): void {
    for (const k in labels) {
      const v = labels[k];
      let m = this.labelValues.get(k);
      if (!m) this.labelValues.set(k, (m = new Map()));
      const n = (m.get(v) ?? 0) + delta;
      if (n <= 0) m.delete(v);
      else m.set(v, n);
      if (m.size === 0) this.labelValues.delete(k);
      const kn = (this.labelKeyNodes.get(k) ?? 0) + delta;
      if (kn <= 0) this.labelKeyNodes.delete(k);
      else this.labelKeyNodes.set(k, kn);
    }
  }

  private countImages(images: ReadonlyMap<string, number>, delta: number): void {
    for (const name of images.keys()) {
      const n = (this.imageNodes.get(name) ?? 0) + delta;
      if (n <= 0) this.imageNodes.delete(name);
      else this.imageNodes.set(name, n);
    }
  }

  /** Add or update a node. */
  setNode(node: Node): NodeInfo {
    const name = node.metadata?.name ?? '';
    let info = this.infos.get(name);
    if (!info) {
      info = new NodeInfo(name);
      this.infos.set(name, info);
    }
    const wasReal = !!info.node;
    const oldLabels = info.labels;
    if (wasReal) {
      this.countLabels(oldLabels, -1);
      this.countImages(info.images, -1);
    }
    info.setNode(node);
    this.countLabels(info.labels, 1);
    this.countImages(info.images, 1);
    if (!wasReal) {
      this.realNodes++;
      this.addToTree(info);
    } else if (Snapshot.zoneKey(oldLabels) !== Snapshot.zoneKey(info.labels)) {
      this.removeFromTree(name);
      this.addToTree(info);
    }
    if (!labelsEqual(oldLabels, info.labels)) {
      this.relabel(info, oldLabels);
      this.nodeLabelsVersion++;
    }
    this.nodeObjectsVersion++;
    this.nodeChanged(info);
    this.generation++;
    return info;
  }

  /** Where the log of node changes stands: pass it to nodesChangedSince later. */
  get nodeChangeMark(): number {
    return this.nodeChanges.mark;
  }

  /** Nodes whose pods or Node object changed since `mark` (repeats possible); undefined when that part of the log is gone. */
  nodesChangedSince(mark: number): readonly NodeInfo[] | undefined {
    return this.nodeChanges.since(mark);
  }

  private nodeChanged(node: NodeInfo): void {
    this.nodeChanges.add(node);
  }

  /**
   * The most any one node has allocatable of cpu, memory, ephemeral storage and pods: a
   * pod asking for more than this fits on no node, however full the nodes are (scalar
   * resources are not tracked).
   */
  maxAllocatable(): Readonly<Resource> {
    const cached = this.maxAllocatableCache;
    if (cached && cached.version === this.nodeObjectsVersion) return cached.max;
    const max = emptyResource();
    for (const info of this.infos.values()) {
      if (!info.node) continue;
      const a = info.allocatable;
      if (a.milliCPU > max.milliCPU) max.milliCPU = a.milliCPU;
      if (a.memory > max.memory) max.memory = a.memory;
      if (a.ephemeralStorage > max.ephemeralStorage) max.ephemeralStorage = a.ephemeralStorage;
      if (a.pods > max.pods) max.pods = a.pods;
    }
    this.maxAllocatableCache = { version: this.nodeObjectsVersion, max };
    return max;
  }

  removeNode(name: string): void {
    const info = this.infos.get(name);
    if (!info?.node) return;
    this.countLabels(info.labels, -1);
    this.countImages(info.images, -1);
    this.removeFromTree(name);
    this.realNodes--;
    info.position = -1;
    this.nodeLabelsVersion++;
    this.nodeObjectsVersion++;
    const oldLabels = info.labels;
    info.node = undefined;
    info.labels = NO_LABELS;
    info.taints = [];
    info.hardTaints = [];
    info.images = new Map();
    info.allocatable = emptyResource();
    info.mirrorAllocatable();
    info.generation++;
    if (info.pods.size === 0) this.infos.delete(name);
    else this.relabel(info, oldLabels);
    this.generation++;
  }

  /** A node's labels changed: its pods move between topology domains in every index. */
  private relabel(info: NodeInfo, oldLabels: Labels): void {
    if (info.pods.size === 0) return;
    const now = info.labels;
    info.labels = oldLabels;
    for (const p of info.pods.values()) this.indexTopology(p, info, -1);
    info.labels = now;
    for (const p of info.pods.values()) this.indexTopology(p, info, 1);
  }

  /** Nodes per value of a label key. */
  /**
   * Every listed node's value of a label as a small number, by the node's position in
   * nodeList(): plugins that decide per topology domain (PodTopologySpread) look a node's
   * domain up in an array instead of hashing its label value — on thousands of nodes a
   * cycle touches far less memory. Built on first use, kept until nodes or labels change.
   */
  topologyIds(key: string): TopologyIds {
    const list = this.nodeList();
    const cached = this.topologyIdCache.get(key);
    if (cached && cached.version === this.nodeLabelsVersion) return cached.ids;
    const ids = new Int32Array(list.length);
    const values: string[] = [];
    const idOf = new Map<string, number>();
    for (let i = 0; i < list.length; i++) {
      const v = list[i].labels[key];
      if (v === undefined) {
        ids[i] = -1;
        continue;
      }
      let id = idOf.get(v);
      if (id === undefined) {
        id = values.length;
        idOf.set(v, id);
        values.push(v);
      }
      ids[i] = id;
    }
    const out: TopologyIds = { ids, values, idOf };
    if (this.topologyIdCache.size > 64) this.topologyIdCache.clear();
    this.topologyIdCache.set(key, { version: this.nodeLabelsVersion, ids: out });
    return out;
  }

  /**
   * The listed nodes whose label `key` has one of `values`, in nodeList() order. Kept (a
   * few dozen sets) until nodes or labels change: pods wanting the same domains share it.
   */
  nodesInDomains(key: string, values: readonly string[]): readonly NodeInfo[] {
    const list = this.nodeList();
    const id = `${key}\u0000${[...values].sort().join('\u0000')}`;
    const cached = this.domainNodesCache.get(id);
    if (cached && cached.version === this.nodeLabelsVersion) return cached.nodes;
    const topology = this.topologyIds(key);
    const wanted = new Uint8Array(topology.values.length);
    for (const v of values) {
      const i = topology.idOf.get(v);
      if (i !== undefined) wanted[i] = 1;
    }
    const nodes: NodeInfo[] = [];
    for (let i = 0; i < list.length; i++) {
      const t = topology.ids[i];
      if (t >= 0 && wanted[t]) nodes.push(list[i]);
    }
    if (this.domainNodesCache.size >= MAX_DOMAIN_NODE_SETS) this.domainNodesCache.clear();
    this.domainNodesCache.set(id, { version: this.nodeLabelsVersion, nodes });
    return nodes;
  }

  labelDomains(key: string): ReadonlyMap<string, number> {
    return this.labelValues.get(key) ?? new Map();
  }

  /** How many nodes carry the label key. */
  nodesWithLabel(key: string): number {
    return this.labelKeyNodes.get(key) ?? 0;
  }

  /**
   * A counter's matching pods per listed node, by position in nodeList(): scoring reads
   * one array element per node where byNode would hash the node's name. Kept current by
   * the counter from then on, rebuilt when the listing changes.
   */
  countsByPosition(c: TopologyCounter): Int32Array {
    const list = this.nodeList();
    if (c.byPosition === undefined || c.positionsVersion !== this.nodeLabelsVersion) {
      const counts = new Int32Array(list.length);
      for (let i = 0; i < list.length; i++) counts[i] = c.byNode.get(list[i].name) ?? 0;
      c.byPosition = counts;
      c.positionsVersion = this.nodeLabelsVersion;
    }
    return c.byPosition;
  }

  /** How many nodes have the image. */
  imageNodeCount(name: string): number {
    return this.imageNodes.get(name) ?? 0;
  }

  // ---- namespaces ----

  setNamespace(name: string, labels: Labels): void {
    this.namespaceLabels.set(name, labels);
    this.generation++;
  }

  removeNamespace(name: string): void {
    this.namespaceLabels.delete(name);
    this.generation++;
  }

  /** Namespaces whose labels match (for namespaceSelector); undefined if the selector selects all. */
  namespacesMatching(sel: Selector): Set<string> | undefined {
    if (sel.empty) return undefined;
    const out = new Set<string>();
    for (const [ns, labels] of this.namespaceLabels) if (sel.matches(labels)) out.add(ns);
    return out;
  }

  // ---- pods ----

  private nodeFor(name: string): NodeInfo {
    let info = this.infos.get(name);
    if (!info) {
      info = new NodeInfo(name);
      this.infos.set(name, info);
    }
    return info;
  }

  /** The pod's terms and counters: everything that depends on its node's labels. */
  private indexTopology(p: PodInfo, node: NodeInfo, delta: number): void {
    const labels = node.labels;
    if (p.hasAffinityConstraints) {
      for (const t of p.requiredAntiAffinityTerms) this.requiredAntiAffinity.update(t, 1, labels[t.topologyKey], delta);
      for (const t of p.requiredAffinityTerms) this.requiredAffinity.update(t, 1, labels[t.topologyKey], delta);
      for (const w of p.preferredAffinityTerms) this.preferredAffinity.update(w.term, w.weight, labels[w.term.topologyKey], delta);
      for (const w of p.preferredAntiAffinityTerms) this.preferredAntiAffinity.update(w.term, w.weight, labels[w.term.topologyKey], delta);
    }
    if (this.counters.size === 0) return;
    for (const c of this.genericCounters) if (c.matches(p)) c.apply(p, node, delta);
    for (const k in p.labels) {
      const s = this.countersByEq.get(`${k}\u0000${p.labels[k]}`);
      if (s) for (const c of s) if (c.matches(p)) c.apply(p, node, delta);
    }
  }

  private indexPod(p: PodInfo, delta: number): void {
    for (const k in p.labels) {
      const key = `${k}\u0000${p.labels[k]}`;
      let s = this.podsByLabel.get(key);
      if (delta > 0) {
        if (!s) this.podsByLabel.set(key, (s = new Set()));
        s.add(p);
      } else if (s) {
        s.delete(p);
        if (s.size === 0) this.podsByLabel.delete(key);
      }
    }
    let ns = this.podsByNamespace.get(p.namespace);
    if (delta > 0) {
      if (!ns) this.podsByNamespace.set(p.namespace, (ns = new Set()));
      ns.add(p);
    } else if (ns) {
      ns.delete(p);
      if (ns.size === 0) this.podsByNamespace.delete(p.namespace);
    }
    if (p.hasAffinityConstraints) this.podsWithAffinity += delta;
  }

  /** Add (or replace) an assigned pod. */
  addPod(p: PodInfo): void {
    if (this.pods.has(p.key)) this.removePod(p.key);
    const node = this.nodeFor(p.nodeName);
    this.pods.set(p.key, p);
    node.addPod(p);
    this.nodeChanged(node);
    this.indexPod(p, 1);
    this.indexTopology(p, node, 1);
    this.generation++;
  }

  removePod(key: string): PodInfo | undefined {
    const p = this.pods.get(key);
    if (!p) return undefined;
    const node = this.infos.get(p.nodeName);
    this.pods.delete(key);
    this.assumed.delete(key);
    if (node) {
      this.indexTopology(p, node, -1);
      node.removePod(p);
      this.nodeChanged(node);
      if (!node.node && node.pods.size === 0) this.infos.delete(node.name);
    }
    this.indexPod(p, -1);
    this.generation++;
    return p;
  }

  /** The scheduler decided: account the pod on its node before the API server has heard (cache.AssumePod). */
  assumePod(p: PodInfo): void {
    this.addPod(p);
    this.assumed.add(p.key);
  }

  isAssumed(key: string): boolean {
    return this.assumed.has(key);
  }

  /** Binding failed: undo the assumption (cache.ForgetPod). */
  forgetPod(key: string): PodInfo | undefined {
    if (!this.assumed.has(key)) return undefined;
    return this.removePod(key);
  }

  /** The informer saw the pod bound: the assumed pod becomes a real one. */
  confirmPod(p: PodInfo): void {
    const cur = this.pods.get(p.key);
    this.assumed.delete(p.key);
    if (cur && cur.nodeName === p.nodeName && cur.uid === p.uid && sameScheduling(cur, p)) {
      // Same placement and shape: keep the accounted object, just drop the assumed mark.
      this.pods.set(p.key, p);
      const node = this.infos.get(p.nodeName);
      node?.pods.set(p.key, p);
      this.replaceInIndexes(cur, p);
      return;
    }
    this.addPod(p);
  }

  private replaceInIndexes(oldP: PodInfo, newP: PodInfo): void {
    if (oldP === newP) return;
    for (const k in oldP.labels) {
      const s = this.podsByLabel.get(`${k}\u0000${oldP.labels[k]}`);
      if (s?.delete(oldP)) s.add(newP);
    }
    const ns = this.podsByNamespace.get(oldP.namespace);
    if (ns?.delete(oldP)) ns.add(newP);
  }

  /** Pods a selector may match, found through the label index (verify with the selector). */
  candidatePods(namespaces: ReadonlySet<string> | undefined, sel: Selector): Iterable<PodInfo> {
    if (sel.nothing) return [];
    let best: Set<PodInfo> | undefined;
    for (const [k, v] of sel.equalities) {
      const s = this.podsByLabel.get(`${k}\u0000${v}`);
      if (!s) return [];
      if (!best || s.size < best.size) best = s;
    }
    if (best) return best;
    if (namespaces) {
      const out: PodInfo[] = [];
      for (const ns of namespaces) for (const p of this.podsByNamespace.get(ns) ?? []) out.push(p);
      return out;
    }
    return this.pods.values();
  }

  /** The shared counter for (namespaces, selector, topology key); built on first use. */
  counter(namespaces: ReadonlySet<string> | undefined, sel: Selector, topologyKey: string, excludeTerminating: boolean): TopologyCounter {
    const nsKey = namespaces ? [...namespaces].sort().join(',') : '*';
    const id = `${nsKey}\u0004${sel.signature}\u0004${topologyKey}\u0004${excludeTerminating ? 1 : 0}`;
    let c = this.counters.get(id);
    if (c) {
      // Most recently used last.
      this.counters.delete(id);
      this.counters.set(id, c);
      return c;
    }
    c = new TopologyCounter(id, namespaces, sel, topologyKey, excludeTerminating);
    for (const p of this.candidatePods(namespaces, sel)) {
      if (!c.matches(p)) continue;
      const node = this.infos.get(p.nodeName);
      if (node) c.apply(p, node, 1);
    }
    if (!sel.nothing) {
      this.counters.set(id, c);
      const eq = sel.equalities[0];
      if (eq) {
        const k = `${eq[0]}\u0000${eq[1]}`;
        let s = this.countersByEq.get(k);
        if (!s) this.countersByEq.set(k, (s = new Set()));
        s.add(c);
      } else this.genericCounters.add(c);
      if (this.counters.size > MAX_COUNTERS) this.dropCounter(this.counters.keys().next().value as string);
    }
    return c;
  }

  private dropCounter(id: string): void {
    const c = this.counters.get(id);
    if (!c) return;
    this.counters.delete(id);
    const eq = c.selector.equalities[0];
    if (eq) {
      const k = `${eq[0]}\u0000${eq[1]}`;
      const s = this.countersByEq.get(k);
      s?.delete(c);
      if (s && s.size === 0) this.countersByEq.delete(k);
    } else this.genericCounters.delete(c);
  }
}

/** Whether two versions of a pod account the same (resources, ports, labels, terms). */
function sameScheduling(a: PodInfo, b: PodInfo): boolean {
  return (
    a.terminating === b.terminating &&
    labelsEqual(a.labels, b.labels) &&
    a.requests.milliCPU === b.requests.milliCPU &&
    a.requests.memory === b.requests.memory &&
    a.requests.ephemeralStorage === b.requests.ephemeralStorage &&
    a.nonZeroCPU === b.nonZeroCPU &&
    a.nonZeroMemory === b.nonZeroMemory &&
    a.hasAffinityConstraints === b.hasAffinityConstraints &&
    (a.hostPorts.length === 0 ? b.hostPorts.length === 0 : JSON.stringify(a.hostPorts) === JSON.stringify(b.hostPorts)) &&
    (!a.hasAffinityConstraints || JSON.stringify(a.pod.spec?.affinity ?? null) === JSON.stringify(b.pod.spec?.affinity ?? null)) &&
    scalarEqual(a.requests.scalar, b.requests.scalar)
  );
}

function scalarEqual(a: Map<string, number> | undefined, b: Map<string, number> | undefined): boolean {
  const an = a?.size ?? 0;
  if (an !== (b?.size ?? 0)) return false;
  if (an === 0) return true;
  for (const [k, v] of a!) if (b!.get(k) !== v) return false;
  return true;
}
