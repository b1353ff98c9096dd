// One scheduling decision (upstream: schedule_one.go schedulePod): PreFilter, then
// Filter over the nodes — starting where the last cycle stopped, and only until
// enough feasible nodes are found for big clusters (percentageOfNodesToScore) —
// then PreScore/Score/NormalizeScore and a random pick among the best.
import type { Framework, Nominator } from './framework.js';
import { Code, Diagnosis, FitError, Status } from './framework.js';
import type { CycleState } from './framework.js';
import type { PodInfo } from './podinfo.js';
import type { NodeInfo, Snapshot } from './snapshot.js';

export const MIN_FEASIBLE_NODES_TO_FIND = 100;
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;
export const ERR_NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

/**
 * numFeasibleNodesToFind: every node of a small cluster; for big ones a share that
 * shrinks as the cluster grows (50% − nodes/125, at least 5%), never below 100 nodes.
 */
export function numFeasibleNodesToFind(percentageOfNodesToScore: number, numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let percentage = percentageOfNodesToScore;
  if (percentage <= 0) {
    percentage = 50 - Math.trunc(numAllNodes / 125);
    if (percentage < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) percentage = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  if (percentage >= 100) return numAllNodes;
  const n = Math.trunc((numAllNodes * percentage) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

/** Pod shapes whose verdict on every node is kept (rejectEveryNodeFromVerdict). */
const MAX_EVERY_NODE_VERDICTS = 16;

interface EveryNodeVerdict {
  /** The snapshot's nodesVersion the positions belong to (−1: not built yet). */
  nodesVersion: number;
  /** The snapshot's nodeChangeMark the statuses are up to date with. */
  mark: number;
  /** The nominator's nominationMark, likewise. */
  nominationMark: number;
  /** By node position; null: the node fits (see `fitting`). */
  statuses: (Status | null)[];
  /** Nodes per status. */
  counts: Map<Status, number>;
  /** Nodes that fit such a pod now. */
  fitting: number;
  /** A Diagnosis holds `statuses`: the next change copies them first. */
  handedOut: boolean;
  /**
   * Nodes whose status is behind: they changed while a pod nominated to them was the one
   * bringing the verdict up to date (its statuses there leave its own nomination out).
   */
  behind: Set<string>;
}

/** A shape that fit nowhere: its verdict is built when the next pod of the shape comes. */
const UNBUILT_VERDICT: EveryNodeVerdict = { nodesVersion: -1, mark: 0, nominationMark: 0, statuses: [], counts: new Map(), fitting: 0, handedOut: false, behind: new Set() };

export interface ScheduleResult {
  node: string;
  evaluatedNodes: number;
  feasibleNodes: number;
}

export class NoNodesAvailableError extends Error {
  constructor() {
    super(ERR_NO_NODES_AVAILABLE);
  }
}

export interface AlgorithmOptions {
  /** 0 (default): adaptive, as upstream. */
  percentageOfNodesToScore?: number;
  /** For tests: the random source of tie breaks and preemption offsets. */
  random?: () => number;
}

export class SchedulingAlgorithm {
  /** Where the next cycle starts looking (spreads the work over the cluster). */
  nextStartNodeIndex = 0;
  readonly percentageOfNodesToScore: number;
  readonly random: () => number;
  /**
   * Filtered nodes of the current cycle and why, reused from cycle to cycle: only a pod
   * that fits nowhere needs them (its message, preemption), so they reach the Diagnosis
   * only then — a pod that fits costs no per-node allocation for the nodes it skipped.
   */
  private readonly filteredNames: string[] = [];
  private readonly filteredStatuses: Status[] = [];
  /**
   * Nodes whose first failing plugin isn't known yet (parallel arrays, per node). Kept
   * across pods like the two above: a pod that fits nowhere fills them for every node, and
   * new arrays grown to thousands of entries per pod were a quarter of the scheduler's garbage.
   */
  private readonly pendingNodes: NodeInfo[] = [];
  private readonly pendingStatus: Status[] = [];
  private readonly pendingRejectedBy: number[] = [];
  private readonly pendingPassed: number[] = [];
  /** Per pod shape (node-local filters' keys), why each node (by nodeList() position) rejects such a pod. */
  private readonly everyNodeVerdicts = new Map<string, EveryNodeVerdict>();

  constructor(
    readonly fw: Framework,
    readonly snap: Snapshot,
    opts: AlgorithmOptions = {},
  ) {
    this.percentageOfNodesToScore = opts.percentageOfNodesToScore ?? 0;
    this.random = opts.random ?? Math.random;
  }

  /** A node for the pod, or a FitError saying why there is none. Throws NoNodesAvailableError on an empty cluster. */
  schedulePod(state: CycleState, pod: PodInfo, nominator?: Nominator): ScheduleResult | FitError {
    if (this.snap.numNodes === 0) throw new NoNodesAvailableError();
    const { feasible, diagnosis } = this.findNodesThatFitPod(state, pod, nominator);
    if (feasible.length === 0) return new FitError(pod, this.snap.numNodes, diagnosis);
    if (feasible.length === 1) return { node: feasible[0].name, evaluatedNodes: 1 + diagnosis.filteredCount, feasibleNodes: 1 };
    const totals = this.prioritizeNodes(state, pod, feasible);
    return { node: this.selectHost(feasible, totals), evaluatedNodes: feasible.length + diagnosis.filteredCount, feasibleNodes: feasible.length };
  }

  findNodesThatFitPod(state: CycleState, pod: PodInfo, nominator?: Nominator): { feasible: NodeInfo[]; diagnosis: Diagnosis } {
    let diagnosis = new Diagnosis();
    const allNodes = this.snap.nodeList();
    const pre = this.fw.runPreFilter(state, pod, this.snap);
    if (pre.status) {
      diagnosis.absentStatus = pre.status;
      diagnosis.preFilterMsg = pre.status.message();
      if (pre.status.rejected && pre.status.plugin) diagnosis.unschedulablePlugins.add(pre.status.plugin);
      return { feasible: [], diagnosis };
    }
    // A pod of a shape that fit nowhere lately, or that asks for more than any node has
    // (nominated by an earlier preemption or not: the verdict holds but on its own node).
    const ownNomination = nominator?.nominatedNodeName?.(pod.key);
    const shape = pre.nodeNames ? undefined : this.fw.nodeLocalShape(state, pod, nominator, ownNomination !== undefined);
    if (shape !== undefined && (pre.rejectsEveryNode || this.everyNodeVerdicts.has(shape))) {
      const fromVerdict = this.rejectEveryNodeFromVerdict(shape, state, pod, allNodes, diagnosis, nominator, ownNomination);
      if (fromVerdict === true) return { feasible: [], diagnosis };
      // A few nodes fit: the search would filter every node to find just those.
      if (fromVerdict !== false && !pre.candidates && fromVerdict.length < numFeasibleNodesToFind(this.percentageOfNodesToScore, allNodes.length)) {
        diagnosis.recordUnkept(allNodes.length - fromVerdict.length);
        this.finishFiltering(fromVerdict, allNodes.length, allNodes.length, diagnosis);
        return { feasible: fromVerdict, diagnosis };
      }
    }
    // A node nominated by an earlier preemption is likely the only one that fits: try it first.
    const nominated = pod.pod.status?.nominatedNodeName;
    if (nominated && (!pre.nodeNames || pre.nodeNames.has(nominated))) {
      const node = this.snap.getNode(nominated);
      if (node && this.fw.runFilterWithNominated(state, pod, node, nominator) === null) return { feasible: [node], diagnosis };
    }
    if (pre.candidates && !pre.nodeNames && !pre.rejectsEveryNode) {
      // As many feasible nodes are wanted as from all nodes; the others can't be among them.
      const toFind = numFeasibleNodesToFind(this.percentageOfNodesToScore, allNodes.length);
      const feasible = this.findNodesThatPassFilters(state, pod, pre.candidates, allNodes.length, diagnosis, nominator, toFind);
      if (feasible.length > 0) return { feasible, diagnosis };
      // None fits: every node is looked at, as without candidates, for each one's reason.
      diagnosis = new Diagnosis();
    }
    let nodes = allNodes;
    if (pre.nodeNames) {
      const narrowed: NodeInfo[] = [];
      for (const name of pre.nodeNames) {
        const n = this.snap.getNode(name);
        if (n) narrowed.push(n);
      }
      nodes = narrowed;
      const plugins = [...new Set(pre.narrowedBy)].sort();
      diagnosis.absentStatus = new Status(Code.UnschedulableAndUnresolvable, [`node(s) didn't satisfy plugin(s) [${plugins.join(' ')}]`]);
      for (const p of plugins) diagnosis.unschedulablePlugins.add(p);
    }
    const feasible = pre.rejectsEveryNode
      ? this.rejectOnEveryNode(state, pod, nodes, allNodes.length, diagnosis, nominator)
      : this.findNodesThatPassFilters(state, pod, nodes, allNodes.length, diagnosis, nominator);
    // The next pod of this shape is likely to fit nowhere too: keep the verdict then.
    if (feasible.length === 0 && shape !== undefined && !this.everyNodeVerdicts.has(shape)) this.keepVerdict(shape, UNBUILT_VERDICT);
    return { feasible, diagnosis };
  }

  /**
   * Filter nodes until enough fit. Which nodes fit does not depend on the order the
   * filters run in — only *why* a node doesn't fit does (upstream reports the first
   * failing plugin in profile order). So the search runs the plugin that rejected the
   * last node first (move-to-front), and a node rejected by a plugin that isn't first
   * in profile order is only settled — the earlier plugins run to find the real first
   * failure — if the pod turns out to fit nowhere and the reasons are needed.
   */
  private findNodesThatPassFilters(
    state: CycleState,
    pod: PodInfo,
    nodes: readonly NodeInfo[],
    numAllNodes: number,
    diagnosis: Diagnosis,
    nominator?: Nominator,
    toFind = numFeasibleNodesToFind(this.percentageOfNodesToScore, nodes.length),
  ): NodeInfo[] {
    const n = nodes.length;
    const feasible: NodeInfo[] = [];
    if (n === 0) return feasible;
    const start = this.nextStartNodeIndex % n;
    let processed = 0;
    const withNominated = !!nominator && (nominator.hasNominatedPods?.() ?? true);
    const filters = this.fw.activeFilters(state);
    const nf = filters.length;
    // Dynamic order: indices into `filters` (profile order).
    const order: number[] = [];
    for (let j = 0; j < nf; j++) order.push(j);
    const { pendingNodes, pendingStatus, pendingRejectedBy, pendingPassed } = this;
    let pending = 0;
    const names = this.filteredNames;
    const statuses = this.filteredStatuses;
    let filtered = 0;
    for (let i = 0; i < n && feasible.length < toFind; i++) {
      const node = nodes[(start + i) % n];
      processed++;
      if (withNominated || nf > 30) {
        const s = this.fw.runFilterWithNominated(state, pod, node, nominator);
        if (s === null) feasible.push(node);
        else {
          names[filtered] = node.name;
          statuses[filtered++] = s;
        }
        continue;
      }
      let s: Status | null = null;
      let passed = 0;
      let k = 0;
      for (; k < nf; k++) {
        const j = order[k];
        s = filters[j].filter(state, pod, node);
        if (s !== null) break;
        passed |= 1 << j;
      }
      if (s === null) {
        feasible.push(node);
        continue;
      }
      const rejectedBy = order[k];
      // Settled when every plugin before it in profile order already passed.
      const before = (1 << rejectedBy) - 1;
      if ((passed & before) === before) {
        names[filtered] = node.name;
        statuses[filtered++] = s;
      } else {
        pendingNodes[pending] = node;
        pendingStatus[pending] = s;
        pendingRejectedBy[pending] = rejectedBy;
        pendingPassed[pending++] = passed;
      }
      if (k > 0) {
        order.splice(k, 1);
        order.unshift(rejectedBy);
      }
    }
    for (let q = 0; q < pending; q++) {
      let s = pendingStatus[q];
      // Only a pod that fits nowhere reports reasons: settle them then.
      if (feasible.length === 0) {
        const node = pendingNodes[q];
        const passed = pendingPassed[q];
        for (let j = 0; j < pendingRejectedBy[q]; j++) {
          if (passed & (1 << j)) continue;
          const first = filters[j].filter(state, pod, node);
          if (first !== null) {
            s = first;
            break;
          }
        }
      }
      names[filtered] = pendingNodes[q].name;
      statuses[filtered++] = s;
    }
    if (feasible.length > 0) diagnosis.recordUnkept(filtered);
    else for (let q = 0; q < filtered; q++) diagnosis.record(names[q], statuses[q]);
    this.finishFiltering(feasible, processed, numAllNodes, diagnosis);
    return feasible;
  }

  /**
   * A PreFilter said some Filter rejects every node: each node's first failing plugin in
   * profile order is all that is wanted, so the filters run in that order, once per node
   * (no search order to adapt, no second pass to settle reasons).
   */
  private rejectOnEveryNode(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], numAllNodes: number, diagnosis: Diagnosis, nominator?: Nominator): NodeInfo[] {
    const n = nodes.length;
    const feasible: NodeInfo[] = [];
    const start = n === 0 ? 0 : this.nextStartNodeIndex % n;
    const withNominated = !!nominator && (nominator.hasNominatedPods?.() ?? true);
    const filters = this.fw.activeFilters(state);
    for (let i = 0; i < n; i++) {
      const node = nodes[(start + i) % n];
      let s: Status | null = null;
      if (withNominated) s = this.fw.runFilterWithNominated(state, pod, node, nominator);
      else for (let j = 0; j < filters.length && s === null; j++) s = filters[j].filter(state, pod, node);
      if (s === null) feasible.push(node);
      else diagnosis.record(node.name, s);
    }
    this.finishFiltering(feasible, n, numAllNodes, diagnosis);
    return feasible;
  }

  private keepVerdict(shape: string, v: EveryNodeVerdict): void {
    // Most recently used last.
    this.everyNodeVerdicts.delete(shape);
    this.everyNodeVerdicts.set(shape, v);
    if (this.everyNodeVerdicts.size > MAX_EVERY_NODE_VERDICTS) this.everyNodeVerdicts.delete(this.everyNodeVerdicts.keys().next().value as string);
  }

  /**
   * A pod that fits nowhere: each node's verdict is kept per pod shape (nodeLocalShape) and,
   * for the next pod of that shape, brought up to date on the nodes whose pods, Node or
   * nominated pods changed since (a node that comes or goes starts over), so a stream of pods that
   * fit nowhere costs the changed nodes per pod, not every node. True when no node fits;
   * else (nothing recorded) the nodes that fit, in the order the search would find them,
   * when the verdict is up to date for every node (false when it was built anew: the search
   * then runs as usual). The verdict is kept either way (pods of the shape may fit nowhere
   * again once those nodes fill up). `ownNomination`: the node the pod is nominated to, whose
   * status for it (its own nomination left out) is the pod's alone: never kept.
   */
  private rejectEveryNodeFromVerdict(
    shape: string,
    state: CycleState,
    pod: PodInfo,
    nodes: readonly NodeInfo[],
    diagnosis: Diagnosis,
    nominator?: Nominator,
    ownNomination?: string,
  ): true | NodeInfo[] | false {
    const filters = this.fw.activeFilters(state);
    const withNominated = !!nominator && (nominator.hasNominatedPods?.() ?? true);
    const firstFailure = (node: NodeInfo): Status | null => {
      if (withNominated) return this.fw.runFilterWithNominated(state, pod, node, nominator);
      let s: Status | null = null;
      for (let j = 0; j < filters.length && s === null; j++) s = filters[j].filter(state, pod, node);
      return s;
    };
    const nominationMark = nominator?.nominationMark ?? 0;
    let v = this.everyNodeVerdicts.get(shape);
    let nodeChanges: readonly NodeInfo[] | undefined;
    let nominationChanges: readonly string[] | undefined;
    if (v && v.nodesVersion === this.snap.nodesVersion) {
      nodeChanges = this.snap.nodesChangedSince(v.mark);
      nominationChanges = nominator ? nominator.nodesWithNominationChangesSince!(v.nominationMark) : [];
    }
    // More changes than nodes (a shape not seen for long): building anew costs less.
    if (v && nodeChanges && nominationChanges && nodeChanges.length + nominationChanges.length <= nodes.length) {
      const verdict = v;
      const counts = verdict.counts;
      const update = (node: NodeInfo | undefined): void => {
        const pos = node ? node.position : -1;
        if (!node || pos < 0 || pos >= nodes.length || nodes[pos] !== node) return;
        if (node.name === ownNomination) {
          verdict.behind.add(node.name);
          return;
        }
        const s = firstFailure(node);
        const old = verdict.statuses[pos];
        if (s === old) return;
        // A Diagnosis holds the statuses as they were: copy before the first change.
        if (verdict.handedOut) {
          verdict.statuses = verdict.statuses.slice();
          verdict.handedOut = false;
        }
        verdict.statuses[pos] = s;
        if (old === null) verdict.fitting--;
        else {
          const n = counts.get(old)! - 1;
          if (n === 0) counts.delete(old);
          else counts.set(old, n);
        }
        if (s === null) verdict.fitting++;
        else counts.set(s, (counts.get(s) ?? 0) + 1);
      };
      for (const name of verdict.behind) {
        if (name === ownNomination) continue;
        verdict.behind.delete(name);
        update(this.snap.getNode(name));
      }
      for (let i = 0; i < nodeChanges.length; i++) update(nodeChanges[i]);
      for (let i = 0; i < nominationChanges.length; i++) update(this.snap.getNode(nominationChanges[i]));
      verdict.mark = this.snap.nodeChangeMark;
      verdict.nominationMark = nominationMark;
      this.keepVerdict(shape, verdict);
      // The pod's own node, where its status leaves its nomination out: looked at apart.
      const own = ownNomination === undefined ? undefined : this.snap.getNode(ownNomination);
      const ownPos = own && own.position >= 0 && own.position < nodes.length && nodes[own.position] === own ? own.position : -1;
      const ownStatus = ownPos < 0 ? null : firstFailure(own!);
      // It fits where it is nominated: the search tries that node first.
      if (ownPos >= 0 && ownStatus === null) return false;
      const fitting = verdict.fitting - (ownPos >= 0 && verdict.statuses[ownPos] === null ? 1 : 0);
      if (fitting > 0) {
        const fit: NodeInfo[] = [];
        const start = this.nextStartNodeIndex % nodes.length;
        for (let i = 0; i < nodes.length && fit.length < fitting; i++) {
          const pos = (start + i) % nodes.length;
          if (pos !== ownPos && verdict.statuses[pos] === null) fit.push(nodes[pos]);
        }
        return fit;
      }
      if (ownPos >= 0) {
        // Fits nowhere: the verdict's statuses, but the pod's own on its node (a copy).
        const statuses = verdict.statuses.slice();
        const ownCounts = new Map(counts);
        const was = statuses[ownPos];
        if (was !== null) {
          const n = ownCounts.get(was)! - 1;
          if (n === 0) ownCounts.delete(was);
          else ownCounts.set(was, n);
        }
        statuses[ownPos] = ownStatus;
        ownCounts.set(ownStatus!, (ownCounts.get(ownStatus!) ?? 0) + 1);
        diagnosis.recordEveryNode(nodes, statuses as readonly Status[], ownCounts);
        this.finishFiltering([], nodes.length, nodes.length, diagnosis);
        return true;
      }
    } else if (ownNomination !== undefined) {
      // Built for a nominated pod, the verdict would leave its nomination out on its node.
      return false;
    } else {
      const statuses: (Status | null)[] = new Array<Status | null>(nodes.length);
      const counts = new Map<Status, number>();
      let fitting = 0;
      for (let i = 0; i < nodes.length; i++) {
        const s = firstFailure(nodes[i]);
        statuses[i] = s;
        if (s === null) fitting++;
        else counts.set(s, (counts.get(s) ?? 0) + 1);
      }
      v = { nodesVersion: this.snap.nodesVersion, mark: this.snap.nodeChangeMark, nominationMark, statuses, counts, fitting, handedOut: false, behind: new Set() };
      this.keepVerdict(shape, v);
      if (fitting > 0) return false;
    }
    diagnosis.recordEveryNode(nodes, v.statuses as readonly Status[], v.counts);
    v.handedOut = true;
    this.finishFiltering([], nodes.length, nodes.length, diagnosis);
    return true;
  }

  /** After Filter: the plugins that rejected a pod that fits nowhere; where the next cycle starts. */
  private finishFiltering(feasible: readonly NodeInfo[], processed: number, numAllNodes: number, diagnosis: Diagnosis): void {
    if (feasible.length === 0) {
      let last = '';
      for (const [s] of diagnosis.statusCounts()) {
        if (s.plugin !== last && s.rejected && s.plugin) diagnosis.unschedulablePlugins.add(s.plugin);
        last = s.plugin;
      }
    }
    this.nextStartNodeIndex = (this.nextStartNodeIndex + processed) % Math.max(numAllNodes, 1);
  }

  prioritizeNodes(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Float64Array {
    this.fw.runPreScore(state, pod, nodes, this.snap);
    return this.fw.runScore(state, pod, nodes);
  }

  /** The highest total; ties broken uniformly at random by reservoir sampling. */
  selectHost(nodes: readonly NodeInfo[], totals: Float64Array): string {
    let best = -Infinity;
    let selected = 0;
    let ties = 0;
    for (let i = 0; i < nodes.length; i++) {
      const t = totals[i];
      if (t > best) {
        best = t;
        selected = i;
        ties = 1;
      } else if (t === best) {
        ties++;
        if (Math.floor(this.random() * ties) === 0) selected = i;
      }
    }
    return nodes[selected].name;
  }
}

