// InterPodAffinity (upstream: plugins/interpodaffinity): required pod affinity and
// anti-affinity, the required anti-affinity of pods already placed, and the preferred
// terms of both sides in the score. Counts per topology domain come from the
// snapshot's incremental indexes — existing terms grouped by identical term, and
// shared per-selector counters — so a cycle costs O(matching groups), not O(pods).
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { ClusterEventWithHint, CycleState, EnqueuePlugin, FilterPlugin, PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, StateData } from '../framework.js';
import { Action, Code, MAX_NODE_SCORE, SKIP, Status } from '../framework.js';
import type { Labels } from '../labels.js';
import type { AffinityTerm } from '../podinfo.js';
import type { PodInfo } from '../podinfo.js';
import { podInfoOf } from '../podinfo.js';
import type { NodeInfo, Snapshot, TermGroup } from '../snapshot.js';

export const INTER_POD_AFFINITY = 'InterPodAffinity';
export const ERR_REASON_AFFINITY_RULES = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY_RULES = "node(s) didn't match pod anti-affinity rules";
export const ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
/** Upstream's default hardPodAffinityWeight. */
export const HARD_POD_AFFINITY_WEIGHT = 1;

const PRE_FILTER_KEY = `PreFilter${INTER_POD_AFFINITY}`;
const PRE_SCORE_KEY = `PreScore${INTER_POD_AFFINITY}`;

/** One of the incoming pod's terms, with namespaceSelector resolved to namespaces. */
interface ResolvedTerm {
  term: AffinityTerm;
  /** undefined: every namespace. */
  namespaces: ReadonlySet<string> | undefined;
}

function resolve(snap: Snapshot, term: AffinityTerm): ResolvedTerm {
  if (!term.namespaceSelector) return { term, namespaces: term.namespaces };
  const selected = snap.namespacesMatching(term.namespaceSelector);
  if (!selected) return { term, namespaces: undefined };
  for (const ns of term.namespaces) selected.add(ns);
  return { term, namespaces: selected };
}

function resolvedMatches(r: ResolvedTerm, p: PodInfo): boolean {
  if (r.namespaces && !r.namespaces.has(p.namespace)) return false;
  return r.term.selector.matches(p.labels);
}


class PreFilterState implements StateData {
  /** Matched existing required anti-affinity groups, by topology key (parallel arrays: the filter is hot). */
  existingKeys: string[] = [];
  existingGroups: TermGroup[][] = [];
  /** Per required affinity term: existing pods matching all terms, by topology value. */
  affinity: ReadonlyMap<string, number>[] = [];
  affinityTotal = 0;
  /** Whether the pod matches its own affinity terms (the first pod of a self-affine group). */
  selfMatch = false;
  /** Per required anti-affinity term: existing pods matching it, by topology value. */
  anti: ReadonlyMap<string, number>[] = [];
  /** AddPod/RemovePod adjustments: `e\0key\0value`, `a<i>\0value`, `n<i>\0value`. */
  delta: Map<string, number> | undefined;
  affinityDelta = 0;

  constructor(
    readonly affinityTerms: readonly ResolvedTerm[],
    readonly antiTerms: readonly ResolvedTerm[],
    readonly nsLabels: Labels | undefined,
  ) {}

  clone(): StateData {
    const c = new PreFilterState(this.affinityTerms, this.antiTerms, this.nsLabels);
    c.existingKeys = this.existingKeys;
    c.existingGroups = this.existingGroups;
    c.affinity = this.affinity;
    c.affinityTotal = this.affinityTotal;
    c.selfMatch = this.selfMatch;
    c.anti = this.anti;
    c.delta = this.delta ? new Map(this.delta) : undefined;
    c.affinityDelta = this.affinityDelta;
    return c;
  }

  d(key: string): number {
    return this.delta?.get(key) ?? 0;
  }

  bump(key: string, m: number): void {
    this.delta ??= new Map();
    this.delta.set(key, (this.delta.get(key) ?? 0) + m);
  }
}

class PreScoreState implements StateData {
  constructor(readonly topologyScore: ReadonlyMap<string, ReadonlyMap<string, number>>) {}
  clone(): StateData {
    return this;
  }
}

function addScores(into: Map<string, Map<string, number>>, key: string, counts: ReadonlyMap<string, number>, weight: number): void {
  if (counts.size === 0 || weight === 0) return;
  let m = into.get(key);
  if (!m) into.set(key, (m = new Map()));
  for (const [v, c] of counts) m.set(v, (m.get(v) ?? 0) + c * weight);
}

export class InterPodAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueuePlugin {
  readonly name = INTER_POD_AFFINITY;
  private readonly affinityRejected = new Status(Code.UnschedulableAndUnresolvable, [ERR_REASON_AFFINITY_RULES], INTER_POD_AFFINITY);
  private readonly antiRejected = new Status(Code.Unschedulable, [ERR_REASON_ANTI_AFFINITY_RULES], INTER_POD_AFFINITY);
  private readonly existingRejected = new Status(Code.Unschedulable, [ERR_REASON_EXISTING_ANTI_AFFINITY], INTER_POD_AFFINITY);

  constructor(private readonly hardPodAffinityWeight = HARD_POD_AFFINITY_WEIGHT) {}

  preFilter(state: CycleState, pod: PodInfo, snap: Snapshot): Status | PreFilterResult | null {
    const nsLabels = snap.namespaceLabels.get(pod.namespace);
    const affinityTerms = pod.requiredAffinityTerms.map((t) => resolve(snap, t));
    const antiTerms = pod.requiredAntiAffinityTerms.map((t) => resolve(snap, t));
    const s = new PreFilterState(affinityTerms, antiTerms, nsLabels);

    // Existing pods whose required anti-affinity the incoming pod would violate.
    let existingAny = false;
    for (const g of snap.requiredAntiAffinity.candidates(pod.labels)) {
      if (g.counts.size === 0 || !g.term.matches(pod, nsLabels)) continue;
      const key = g.term.topologyKey;
      let i = s.existingKeys.indexOf(key);
      if (i < 0) {
        i = s.existingKeys.push(key) - 1;
        s.existingGroups.push([]);
      }
      s.existingGroups[i].push(g);
      existingAny = true;
    }
    if (!existingAny && affinityTerms.length === 0 && antiTerms.length === 0) return SKIP;

    // Incoming affinity: existing pods that match *all* the terms count.
    if (affinityTerms.length === 1) {
      const t = affinityTerms[0];
      const c = snap.counter(t.namespaces, t.term.selector, t.term.topologyKey, false);
      s.affinity = [c.byValue];
      s.affinityTotal = c.total;
    } else if (affinityTerms.length > 1) {
      const maps = affinityTerms.map(() => new Map<string, number>());
      let smallest = affinityTerms[0];
      for (const t of affinityTerms) if (t.term.selector.equalities.length > smallest.term.selector.equalities.length) smallest = t;
      for (const p of snap.candidatePods(smallest.namespaces, smallest.term.selector)) {
        if (!affinityTerms.every((t) => resolvedMatches(t, p))) continue;
        const node = snap.getNode(p.nodeName);
        if (!node) continue;
        affinityTerms.forEach((t, i) => {
          const v = node.labels[t.term.topologyKey];
          if (v === undefined) return;
          maps[i].set(v, (maps[i].get(v) ?? 0) + 1);
          s.affinityTotal++;
        });
      }
      s.affinity = maps;
    }
    s.selfMatch = affinityTerms.length > 0 && affinityTerms.every((t) => resolvedMatches(t, pod));

    // Incoming anti-affinity: existing pods matching each term.
    s.anti = antiTerms.map((t) => snap.counter(t.namespaces, t.term.selector, t.term.topologyKey, false).byValue);
    state.write(PRE_FILTER_KEY, s);
    // With pods to be near, only the nodes in the first term's domains that hold them can pass.
    if (s.affinityTotal > 0 && s.affinity.length > 0) {
      const values: string[] = [];
      for (const [v, n] of s.affinity[0]) if (n > 0) values.push(v);
      const candidates = snap.nodesInDomains(affinityTerms[0].term.topologyKey, values);
      if (candidates.length < snap.numNodes) return { candidates };
    }
    return null;
  }

  private update(state: CycleState, podToSchedule: PodInfo, other: PodInfo, node: NodeInfo, m: number): void {
    const s = state.read<PreFilterState>(PRE_FILTER_KEY);
    if (!s) return;
    for (const t of other.requiredAntiAffinityTerms) {
      const v = node.labels[t.topologyKey];
      if (v !== undefined && t.matches(podToSchedule, s.nsLabels)) s.bump(`e\u0000${t.topologyKey}\u0000${v}`, m);
    }
    if (s.affinityTerms.length > 0 && s.affinityTerms.every((t) => resolvedMatches(t, other))) {
      s.affinityTerms.forEach((t, i) => {
        const v = node.labels[t.term.topologyKey];
        if (v === undefined) return;
        s.bump(`a${i}\u0000${v}`, m);
        s.affinityDelta += m;
      });
    }
    s.antiTerms.forEach((t, i) => {
      const v = node.labels[t.term.topologyKey];
      if (v !== undefined && resolvedMatches(t, other)) s.bump(`n${i}\u0000${v}`, m);
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
    const labels = node.labels;
    // satisfyPodAffinity
    if (s.affinityTerms.length > 0) {
      let podsExist = true;
      for (let i = 0; i < s.affinityTerms.length; i++) {
        const v = labels[s.affinityTerms[i].term.topologyKey];
        if (v === undefined) return this.affinityRejected;
        const n = (s.affinity[i]?.get(v) ?? 0) + (s.delta ? s.d(`a${i}\u0000${v}`) : 0);
        if (n <= 0) podsExist = false;
      }
      if (!podsExist && !(s.affinityTotal + s.affinityDelta === 0 && s.selfMatch)) return this.affinityRejected;
    }
    // satisfyPodAntiAffinity
    for (let i = 0; i < s.antiTerms.length; i++) {
      const v = labels[s.antiTerms[i].term.topologyKey];
      if (v === undefined) continue;
      const n = (s.anti[i]?.get(v) ?? 0) + (s.delta ? s.d(`n${i}\u0000${v}`) : 0);
      if (n > 0) return this.antiRejected;
    }
    // satisfyExistingPodsAntiAffinity
    const keys = s.existingKeys;
    for (let i = 0; i < keys.length; i++) {
      const v = labels[keys[i]];
      if (v === undefined) continue;
      let n = s.delta ? s.d(`e\u0000${keys[i]}\u0000${v}`) : 0;
      const groups = s.existingGroups[i];
      for (let j = 0; j < groups.length; j++) n += groups[j].counts.get(v) ?? 0;
      if (n > 0) return this.existingRejected;
    }
    if (s.delta) {
      // Pods added hypothetically may carry anti-affinity keys no existing group has.
      for (const [k, n] of s.delta) {
        if (n <= 0 || !k.startsWith('e\u0000')) continue;
        const [, key, v] = k.split('\u0000');
        if (!keys.includes(key) && labels[key] === v) return this.existingRejected;
      }
    }
    return null;
  }

  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], snap: Snapshot): Status | null {
    if (nodes.length === 0) return SKIP;
    const hasConstraints = pod.preferredAffinityTerms.length > 0 || pod.preferredAntiAffinityTerms.length > 0;
    if (!hasConstraints && snap.podsWithAffinity === 0) return SKIP;
    const scores = new Map<string, Map<string, number>>();
    for (const w of pod.preferredAffinityTerms) {
      const r = resolve(snap, w.term);
      addScores(scores, w.term.topologyKey, snap.counter(r.namespaces, w.term.selector, w.term.topologyKey, false).byValue, w.weight);
    }
    for (const w of pod.preferredAntiAffinityTerms) {
      const r = resolve(snap, w.term);
      addScores(scores, w.term.topologyKey, snap.counter(r.namespaces, w.term.selector, w.term.topologyKey, false).byValue, -w.weight);
    }
    const nsLabels = snap.namespaceLabels.get(pod.namespace);
    if (this.hardPodAffinityWeight > 0) {
      for (const g of snap.requiredAffinity.candidates(pod.labels)) {
        if (g.term.matches(pod, nsLabels)) addScores(scores, g.term.topologyKey, g.counts, this.hardPodAffinityWeight);
      }
    }
    for (const g of snap.preferredAffinity.candidates(pod.labels)) if (g.term.matches(pod, nsLabels)) addScores(scores, g.term.topologyKey, g.counts, g.weight);
    for (const g of snap.preferredAntiAffinity.candidates(pod.labels)) if (g.term.matches(pod, nsLabels)) addScores(scores, g.term.topologyKey, g.counts, -g.weight);
    if (scores.size === 0) return SKIP;
    state.write(PRE_SCORE_KEY, new PreScoreState(scores));
    return null;
  }

  score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY)!;
    let score = 0;
    for (const [key, values] of s.topologyScore) {
      const v = node.labels[key];
      if (v !== undefined) score += values.get(v) ?? 0;
    }
    return score;
  }

  normalizeScore(_state: CycleState, _pod: PodInfo, _nodes: readonly NodeInfo[], scores: number[]): void {
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s > max) max = s;
      if (s < min) min = s;
    }
    const diff = max - min;
    for (let i = 0; i < scores.length; i++) scores[i] = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((scores[i] - min) / diff)) : 0;
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      {
        resource: 'AssignedPod',
        action: Action.Add | Action.UpdatePodLabel | Action.Delete,
        hint: (pod, oldObj, newObj) => {
          const terms = pod.requiredAffinityTerms;
          const anti = pod.requiredAntiAffinityTerms;
          const matchesAll = (p: PodInfo) => terms.length > 0 && terms.every((t) => t.matches(p, undefined));
          const matchesAnyAnti = (p: PodInfo) => anti.some((t) => t.matches(p, undefined));
          if (newObj && oldObj) {
            const o = podInfoOf(oldObj as Pod);
            const n = podInfoOf(newObj as Pod);
            if (!matchesAll(o) && matchesAll(n)) return 'Queue';
            if (matchesAnyAnti(o) && !matchesAnyAnti(n)) return 'Queue';
            return 'Skip';
          }
          if (newObj) return matchesAll(podInfoOf(newObj as Pod)) ? 'Queue' : 'Skip';
          const deleted = podInfoOf(oldObj as Pod);
          if (matchesAnyAnti(deleted)) return 'Queue';
          for (const t of deleted.requiredAntiAffinityTerms) if (t.matches(pod, undefined)) return 'Queue';
          return 'Skip';
        },
      },
      {
        resource: 'Node',
        action: Action.Add | Action.UpdateNodeLabel,
        hint: (pod, oldObj, newObj) => {
          const keys = [...pod.requiredAffinityTerms, ...pod.requiredAntiAffinityTerms].map((t) => t.topologyKey);
          if (keys.length === 0) return 'Queue';
          const nl = ((newObj as Node).metadata?.labels ?? {}) as Labels;
          const ol = ((oldObj as Node | undefined)?.metadata?.labels ?? undefined) as Labels | undefined;
          for (const k of keys) if (!ol || ol[k] !== nl[k]) return 'Queue';
          return 'Skip';
        },
      },
    ];
  }
}

