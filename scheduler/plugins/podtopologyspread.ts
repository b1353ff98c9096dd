// PodTopologySpread (upstream: plugins/podtopologyspread): DoNotSchedule constraints
// filter nodes whose domain would exceed maxSkew over the global minimum (minDomains,
// nodeAffinityPolicy and nodeTaintsPolicy, matchLabelKeys as upstream defaults them);
// ScheduleAnyway constraints — and, for pods without constraints, the system default
// constraints over the selectors of their Services and controllers — score.
//
// Matching pods per domain come from the snapshot's shared counters. When every node
// carries every topology key and no inclusion policy can exclude a node, the domains
// are simply the label's values and a cycle costs O(1) per constraint; otherwise the
// nodes are walked as upstream does.
import type { Node, Pod, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import type { ClusterEventWithHint, CycleState, EnqueuePlugin, FilterPlugin, PreFilterPlugin, PreScorePlugin, ScorePlugin, StateData } from '../framework.js';
import { Action, Code, MAX_NODE_SCORE, SKIP, Status } from '../framework.js';
import type { Labels } from '../labels.js';
import { Selector, findUntoleratedTaint } from '../labels.js';
import type { PodInfo } from '../podinfo.js';
import { LABEL_HOSTNAME, LABEL_ZONE } from '../podinfo.js';
import type { NodeInfo, Snapshot, TopologyCounter } from '../snapshot.js';

export const POD_TOPOLOGY_SPREAD = 'PodTopologySpread';
export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_NODE_LABEL_NOT_MATCH = `${ERR_REASON_CONSTRAINTS_NOT_MATCH} (missing required label)`;

const PRE_FILTER_KEY = `PreFilter${POD_TOPOLOGY_SPREAD}`;
const PRE_SCORE_KEY = `PreScore${POD_TOPOLOGY_SPREAD}`;
const MAX_INT32 = 2147483647;

/** Upstream's system default constraints (applied to pods with none, over their owners' selectors). */
export const SYSTEM_DEFAULT_CONSTRAINTS: readonly TopologySpreadConstraint[] = [
  { topologyKey: LABEL_HOSTNAME, whenUnsatisfiable: 'ScheduleAnyway', maxSkew: 3 },
  { topologyKey: LABEL_ZONE, whenUnsatisfiable: 'ScheduleAnyway', maxSkew: 5 },
];

/** The selector of the Services, ReplicationControllers, ReplicaSets and StatefulSets a pod belongs to (helper.DefaultSelector). */
export type DefaultSelectorFn = (pod: PodInfo) => Selector;

export interface Constraint {
  maxSkew: number;
  topologyKey: string;
  selector: Selector;
  minDomains: number;
  nodeAffinityPolicy: string;
  nodeTaintsPolicy: string;
}

/** filterTopologySpreadConstraints: the pod's constraints of one kind, matchLabelKeys merged into the selector. */
export function filterConstraints(list: readonly TopologySpreadConstraint[], podLabels: Labels, action: string): Constraint[] {
  const out: Constraint[] = [];
  for (const c of list) {
    if (c.whenUnsatisfiable !== action) continue;
    let selector = Selector.from(c.labelSelector);
    if (c.matchLabelKeys && c.matchLabelKeys.length > 0) {
      const set: Record<string, string> = {};
      for (const k of c.matchLabelKeys) if (podLabels[k] !== undefined) set[k] = podLabels[k];
      if (Object.keys(set).length > 0) selector = Selector.fromSet(set).and(selector);
    }
    out.push({
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      selector,
      minDomains: c.minDomains ?? 1,
      nodeAffinityPolicy: c.nodeAffinityPolicy ?? 'Honor',
      nodeTaintsPolicy: c.nodeTaintsPolicy ?? 'Ignore',
    });
  }
  return out;
}

function hasAllKeys(labels: Labels, constraints: readonly Constraint[]): boolean {
  for (const c of constraints) if (labels[c.topologyKey] === undefined) return false;
  return true;
}

/** matchNodeInclusionPolicies. */
function included(c: Constraint, pod: PodInfo, node: NodeInfo): boolean {
  if (c.nodeAffinityPolicy === 'Honor' && !pod.requiredNodeAffinity.isEmpty && !pod.requiredNodeAffinity.matches(node)) return false;
  if (c.nodeTaintsPolicy === 'Honor' && node.hardTaints.length > 0 && findUntoleratedTaint(node.hardTaints, pod.tolerations)) return false;
  return true;
}

/** No inclusion policy can leave a node out for this pod. */
function noExclusions(constraints: readonly Constraint[], pod: PodInfo): boolean {
  for (const c of constraints) {
    if (c.nodeAffinityPolicy === 'Honor' && !pod.requiredNodeAffinity.isEmpty) return false;
    if (c.nodeTaintsPolicy === 'Honor') return false;
  }
  return true;
}

function allNodesHaveKeys(snap: Snapshot, constraints: readonly Constraint[]): boolean {
  for (const c of constraints) if (snap.nodesWithLabel(c.topologyKey) !== snap.numNodes) return false;
  return true;
}

const NO_COUNTS: ReadonlyMap<string, number> = new Map();

function counterFor(snap: Snapshot, pod: PodInfo, c: Constraint): TopologyCounter | undefined {
  // countPodsMatchSelector counts nothing for an empty selector.
  if (c.selector.empty || c.selector.nothing) return undefined;
  return snap.counter(new Set([pod.namespace]), c.selector, c.topologyKey, true);
}

interface ConstraintState {
  c: Constraint;
  /** Matching pods per eligible domain (absent = 0). */
  counts: ReadonlyMap<string, number>;
  /** The eligible domains. */
  domains: () => Iterable<string>;
  domainCount: number;
  minMatch: number;
  selfMatch: number;
  /**
   * The most matching pods a domain may already hold for the pod to fit there, while no
   * pod was added or removed in this cycle (minDomains, the minimum and the pod's own
   * match folded in once, so the filter is one lookup per node and constraint).
   */
  limit: number;
  /** When the key has few values: each listed node's domain by position, and which domains are over the limit. */
  ids?: Int32Array;
  overLimit?: Uint8Array;
}

/** Above this many domains (hostname, say) the per-cycle verdict array would cost more than it saves. */
const MAX_DOMAINS_FOR_IDS = 256;

/** maxSkew + the global minimum (0 below minDomains) − whether the pod matches itself. */
function limitOf(c: Constraint, domainCount: number, minMatch: number, selfMatch: number): number {
  return c.maxSkew + (domainCount < c.minDomains ? 0 : minMatch) - selfMatch;
}

class PreFilterState implements StateData {
  delta: Map<string, number>[] | undefined;
  private dirtyMin: boolean[] | undefined;
  private mins: number[] | undefined;

  constructor(readonly items: readonly ConstraintState[]) {}

  clone(): StateData {
    const c = new PreFilterState(this.items);
    if (this.delta) {
      c.delta = this.delta.map((m) => new Map(m));
      c.dirtyMin = this.items.map(() => true);
      c.mins = this.items.map((i) => i.minMatch);
    }
    return c;
  }

  count(i: number, v: string): number {
    return (this.items[i].counts.get(v) ?? 0) + (this.delta?.[i].get(v) ?? 0);
  }

  /** minMatchNum, taking minDomains into account. */
  minMatch(i: number): number {
    const it = this.items[i];
    if (it.domainCount < it.c.minDomains) return 0;
    if (!this.delta) return it.minMatch;
    if (this.dirtyMin![i]) {
      let min = MAX_INT32;
      for (const v of it.domains()) {
        const n = this.count(i, v);
        if (n < min) min = n;
      }
      this.mins![i] = min;
      this.dirtyMin![i] = false;
    }
    return this.mins![i];
  }

  bump(i: number, v: string, m: number): void {
    if (!this.delta) {
      this.delta = this.items.map(() => new Map());
      this.dirtyMin = this.items.map(() => true);
      this.mins = this.items.map((it) => it.minMatch);
    }
    this.delta[i].set(v, (this.delta[i].get(v) ?? 0) + m);
    this.dirtyMin![i] = true;
  }
}

class PreScoreState implements StateData {
  /**
   * Per constraint over a key with few values (zone, say), when no node is left out: each
   * listed node's domain by position, and each domain's whole contribution to the score —
   * one array read per node instead of a label and a count lookup.
   */
  ids: (Int32Array | undefined)[] = [];
  domainScores: (Float64Array | undefined)[] = [];
  /** Per hostname constraint when every node has the label: matching pods per node by position. */
  nodeCounts: (Int32Array | undefined)[] = [];

  constructor(
    readonly constraints: readonly Constraint[],
    readonly counters: readonly (TopologyCounter | undefined)[],
    readonly ignored: ReadonlySet<string>,
    readonly counts: readonly ReadonlyMap<string, number>[],
    readonly weights: readonly number[],
  ) {}
  clone(): StateData {
    return this;
  }
}

export class PodTopologySpread implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueuePlugin {
  readonly name = POD_TOPOLOGY_SPREAD;
  private readonly labelRejected = new Status(Code.UnschedulableAndUnresolvable, [ERR_REASON_NODE_LABEL_NOT_MATCH], POD_TOPOLOGY_SPREAD);
  private readonly skewRejected = new Status(Code.Unschedulable, [ERR_REASON_CONSTRAINTS_NOT_MATCH], POD_TOPOLOGY_SPREAD);

  constructor(
    private readonly defaultSelector: DefaultSelectorFn = () => Selector.EVERYTHING,
    private readonly defaultConstraints: readonly TopologySpreadConstraint[] = SYSTEM_DEFAULT_CONSTRAINTS,
    private readonly systemDefaulted = true,
  ) {}

  /** The pod's constraints of one kind, or the default ones over its owners' selector. */
  constraints(pod: PodInfo, action: string): Constraint[] {
    const own = pod.pod.spec?.topologySpreadConstraints ?? [];
    if (own.length > 0) return filterConstraints(own, pod.labels, action);
    const defaults = filterConstraints(this.defaultConstraints, pod.labels, action);
    if (defaults.length === 0) return [];
    const sel = this.defaultSelector(pod);
    if (sel.empty) return [];
    for (const c of defaults) c.selector = sel;
    return defaults;
  }

  preFilter(state: CycleState, pod: PodInfo, snap: Snapshot): Status | null {
    const constraints = this.constraints(pod, 'DoNotSchedule');
    if (constraints.length === 0) return SKIP;
    const items: ConstraintState[] = [];
    if (noExclusions(constraints, pod) && allNodesHaveKeys(snap, constraints)) {
      for (const c of constraints) {
        const ctr = counterFor(snap, pod, c);
        const counts = ctr?.byValue ?? NO_COUNTS;
        const domains = snap.labelDomains(c.topologyKey);
        let min = domains.size === 0 ? MAX_INT32 : 0;
        if (domains.size > 0 && counts.size >= domains.size) {
          min = MAX_INT32;
          for (const n of counts.values()) if (n < min) min = n;
        }
        const selfMatch = c.selector.matches(pod.labels) ? 1 : 0;
        const limit = limitOf(c, domains.size, min, selfMatch);
        const item: ConstraintState = { c, counts, domains: () => domains.keys(), domainCount: domains.size, minMatch: min, selfMatch, limit };
        if (domains.size <= MAX_DOMAINS_FOR_IDS) {
          const topo = snap.topologyIds(c.topologyKey);
          const overLimit = new Uint8Array(topo.values.length);
          for (let id = 0; id < overLimit.length; id++) overLimit[id] = (counts.get(topo.values[id]) ?? 0) > limit ? 1 : 0;
          item.ids = topo.ids;
          item.overLimit = overLimit;
        }
        items.push(item);
      }
    } else {
      const ctrs = constraints.map((c) => counterFor(snap, pod, c));
      const maps = constraints.map(() => new Map<string, number>());
      for (const node of snap.nodeList()) {
        if (!hasAllKeys(node.labels, constraints)) continue;
        constraints.forEach((c, i) => {
          if (!included(c, pod, node)) return;
          const v = node.labels[c.topologyKey];
          maps[i].set(v, (maps[i].get(v) ?? 0) + (ctrs[i]?.byNode.get(node.name) ?? 0));
        });
      }
      constraints.forEach((c, i) => {
        let min = MAX_INT32;
        for (const n of maps[i].values()) if (n < min) min = n;
        const m = maps[i];
        const selfMatch = c.selector.matches(pod.labels) ? 1 : 0;
        items.push({ c, counts: m, domains: () => m.keys(), domainCount: m.size, minMatch: min, selfMatch, limit: limitOf(c, m.size, min, selfMatch) });
      });
    }
    state.write(PRE_FILTER_KEY, new PreFilterState(items));
    return null;
  }

  private update(state: CycleState, podToSchedule: PodInfo, other: PodInfo, node: NodeInfo, m: number): void {
    const s = state.read<PreFilterState>(PRE_FILTER_KEY);
    if (!s || other.namespace !== podToSchedule.namespace) return;
    const constraints = s.items.map((i) => i.c);
    if (!hasAllKeys(node.labels, constraints)) return;
    s.items.forEach((it, i) => {
      if (!it.c.selector.matches(other.labels) || !included(it.c, podToSchedule, node)) return;
      s.bump(i, node.labels[it.c.topologyKey], m);
    });
  }

  addPod(state: CycleState, podToSchedule: PodInfo, podToAdd: PodInfo, node: NodeInfo): void {
    this.update(state, podToSchedule, podToAdd, node, 1);
  }

  removePod(state: CycleState, podToSchedule: PodInfo, podToRemove: PodInfo, node: NodeInfo): void {
    this.update(state, podToSchedule, podToRemove, node, -1);
  }

  filter(state: CycleState, _pod: PodInfo, node: NodeInfo): Status | null {
    const s = state.read<PreFilterState>(PRE_FILTER_KEY)!;
    const items = s.items;
    if (!s.delta) {
      const pos = node.position;
      for (let i = 0; i < items.length; i++) {
        const it = items[i];
        const ids = it.ids;
        if (ids !== undefined && pos >= 0 && pos < ids.length) {
          const id = ids[pos];
          if (id < 0) return this.labelRejected;
          if (it.overLimit![id] === 1) return this.skewRejected;
          continue;
        }
        const v = node.labels[it.c.topologyKey];
        if (v === undefined) return this.labelRejected;
        if ((it.counts.get(v) ?? 0) > it.limit) return this.skewRejected;
      }
      return null;
    }
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      const v = node.labels[it.c.topologyKey];
      if (v === undefined) return this.labelRejected;
      const skew = s.count(i, v) + it.selfMatch - s.minMatch(i);
      if (skew > it.c.maxSkew) return this.skewRejected;
    }
    return null;
  }

  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], snap: Snapshot): Status | null {
    if (snap.numNodes === 0) return SKIP;
    const constraints = this.constraints(pod, 'ScheduleAnyway');
    if (constraints.length === 0) return SKIP;
    const requireAll = (pod.pod.spec?.topologySpreadConstraints ?? []).length > 0 || !this.systemDefaulted;
    const ignored = new Set<string>();
    const values = constraints.map(() => new Set<string>());
    for (const n of nodes) {
      if (requireAll && !hasAllKeys(n.labels, constraints)) {
        ignored.add(n.name);
        continue;
      }
      constraints.forEach((c, i) => {
        if (c.topologyKey === LABEL_HOSTNAME) return;
        const v = n.labels[c.topologyKey];
        if (v !== undefined) values[i].add(v);
      });
    }
    const counters = constraints.map((c) => counterFor(snap, pod, c));
    const weights = constraints.map((c, i) => Math.log((c.topologyKey === LABEL_HOSTNAME ? nodes.length - ignored.size : values[i].size) + 2));
    const counts = constraints.map(() => new Map<string, number>());
    const fast = noExclusions(constraints, pod) && (!requireAll || allNodesHaveKeys(snap, constraints));
    if (fast) {
      constraints.forEach((c, i) => {
        if (c.topologyKey === LABEL_HOSTNAME) return;
        for (const v of values[i]) counts[i].set(v, counters[i]?.byValue.get(v) ?? 0);
      });
    } else {
      constraints.forEach((c, i) => {
        for (const v of values[i]) counts[i].set(v, 0);
      });
      for (const node of snap.nodeList()) {
        if (requireAll && !hasAllKeys(node.labels, constraints)) continue;
        constraints.forEach((c, i) => {
          if (c.topologyKey === LABEL_HOSTNAME || !included(c, pod, node)) return;
          const v = node.labels[c.topologyKey];
          const cur = counts[i].get(v);
          if (cur === undefined) return;
          counts[i].set(v, cur + (counters[i]?.byNode.get(node.name) ?? 0));
        });
      }
    }
    const st = new PreScoreState(constraints, counters, ignored, counts, weights);
    if (fast && ignored.size === 0) {
      constraints.forEach((c, i) => {
        if (c.topologyKey === LABEL_HOSTNAME) {
          if (snap.nodesWithLabel(LABEL_HOSTNAME) === snap.numNodes) st.nodeCounts[i] = counters[i] ? snap.countsByPosition(counters[i]) : new Int32Array(snap.numNodes);
          return;
        }
        const topo = snap.topologyIds(c.topologyKey);
        if (topo.values.length > MAX_DOMAINS_FOR_IDS) return;
        const domainScores = new Float64Array(topo.values.length);
        for (let id = 0; id < domainScores.length; id++) domainScores[id] = (counts[i].get(topo.values[id]) ?? 0) * weights[i] + (c.maxSkew - 1);
        st.ids[i] = topo.ids;
        st.domainScores[i] = domainScores;
      });
    }
    state.write(PRE_SCORE_KEY, st);
    return null;
  }

  score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY)!;
    if (s.ignored.size > 0 && s.ignored.has(node.name)) return 0;
    let score = 0;
    const pos = node.position;
    for (let i = 0; i < s.constraints.length; i++) {
      const ids = s.ids[i];
      if (ids !== undefined && pos >= 0 && pos < ids.length) {
        const id = ids[pos];
        if (id >= 0) score += s.domainScores[i]![id];
        continue;
      }
      const c = s.constraints[i];
      const nodeCounts = s.nodeCounts[i];
      if (nodeCounts !== undefined && pos >= 0 && pos < nodeCounts.length) {
        score += nodeCounts[pos] * s.weights[i] + (c.maxSkew - 1);
        continue;
      }
      const v = node.labels[c.topologyKey];
      if (v === undefined) continue;
      const cnt = c.topologyKey === LABEL_HOSTNAME ? (s.counters[i]?.byNode.get(node.name) ?? 0) : (s.counts[i].get(v) ?? 0);
      score += cnt * s.weights[i] + (c.maxSkew - 1);
    }
    return Math.round(score);
  }

  normalizeScore(state: CycleState, _pod: PodInfo, nodes: readonly NodeInfo[], scores: number[]): void {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY);
    if (!s) return;
    let min = Number.MAX_SAFE_INTEGER;
    let max = 0;
    for (let i = 0; i < scores.length; i++) {
      if (s.ignored.has(nodes[i].name)) continue;
      if (scores[i] < min) min = scores[i];
      if (scores[i] > max) max = scores[i];
    }
    for (let i = 0; i < scores.length; i++) {
      if (s.ignored.has(nodes[i].name)) scores[i] = 0;
      else if (max === 0) scores[i] = MAX_NODE_SCORE;
      else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i])) / max);
    }
  }

  eventsToRegister(): ClusterEventWithHint[] {
    const affects = (pod: PodInfo, other: Pod | undefined): boolean => {
      if (!other || (other.metadata?.namespace ?? 'default') !== pod.namespace) return false;
      const labels = (other.metadata?.labels ?? {}) as Labels;
      const cs = [...this.constraints(pod, 'DoNotSchedule'), ...this.constraints(pod, 'ScheduleAnyway')];
      return cs.some((c) => c.selector.matches(labels));
    };
    return [
      {
        resource: 'AssignedPod',
        action: Action.Add | Action.UpdatePodLabel | Action.Delete,
        hint: (pod, oldObj, newObj) => (affects(pod, newObj as Pod | undefined) || affects(pod, oldObj as Pod | undefined) ? 'Queue' : 'Skip'),
      },
      {
        resource: 'Node',
        action: Action.Add | Action.Delete | Action.UpdateNodeLabel | Action.UpdateNodeTaint,
        hint: (pod, oldObj, newObj) => {
          const cs = this.constraints(pod, 'DoNotSchedule');
          if (cs.length === 0) return 'Skip';
          const has = (n: unknown) => !!n && hasAllKeys(((n as Node).metadata?.labels ?? {}) as Labels, cs);
          return has(newObj) || has(oldObj) ? 'Queue' : 'Skip';
        },
      },
    ];
  }
}

