// The scheduling framework (upstream: pkg/scheduler/framework/interface.go and
// runtime/framework.go): plugins at extension points — PreFilter, Filter, PreScore,
// Score/NormalizeScore — run over the snapshot; every Filter answers with a status
// whose reasons feed the "0/N nodes are available: ..." message; cluster events with
// queueing hints tell the queue when a rejected pod is worth retrying.
import type { NodeInfo, Snapshot } from './snapshot.js';
import type { PodInfo } from './podinfo.js';

export const MAX_NODE_SCORE = 100;

export const Code = {
  Success: 0,
  Error: 1,
  Unschedulable: 2,
  UnschedulableAndUnresolvable: 3,
  Skip: 4,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

export class Status {
  constructor(
    readonly code: Code,
    readonly reasons: readonly string[],
    /** The plugin that produced it. */
    readonly plugin = '',
  ) {}

  /** Status.Message(): the reasons joined. */
  message(): string {
    return this.reasons.join(', ');
  }

  /** Unschedulable or UnschedulableAndUnresolvable. */
  get rejected(): boolean {
    return this.code === Code.Unschedulable || this.code === Code.UnschedulableAndUnresolvable;
  }

  get success(): boolean {
    return this.code === Code.Success;
  }
}

export const SKIP = new Status(Code.Skip, []);

/** Plugin data for one scheduling cycle; cloned for preemption dry runs. */
export interface StateData {
  clone(): StateData;
}

export class CycleState {
  private readonly data = new Map<string, StateData>();
  /** Plugins whose PreFilter said Skip: their Filter doesn't run. */
  readonly skipFilter = new Set<string>();
  /** Plugins whose PreScore said Skip: they don't score. */
  readonly skipScore = new Set<string>();

  read<T extends StateData>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  write(key: string, value: StateData): void {
    this.data.set(key, value);
  }

  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) c.data.set(k, v.clone());
    for (const s of this.skipFilter) c.skipFilter.add(s);
    for (const s of this.skipScore) c.skipScore.add(s);
    return c;
  }
}

// ---- cluster events and queueing hints -----------------------------------------------

export type EventResource = 'Node' | 'AssignedPod' | 'UnscheduledPod' | 'PodDisruptionBudget' | 'PriorityClass' | 'Namespace' | 'PersistentVolumeClaim';

/** ActionType bits (fwk.ActionType). */
export const Action = {
  Add: 1,
  Delete: 2,
  UpdateNodeAllocatable: 4,
  UpdateNodeLabel: 8,
  UpdateNodeTaint: 16,
  UpdateNodeCondition: 32,
  UpdateNodeAnnotation: 64,
  UpdatePodLabel: 128,
  UpdatePodScaleDown: 256,
  UpdatePodToleration: 512,
  UpdatePodSchedulingGatesEliminated: 1024,
  /** Any other update. */
  UpdateOther: 2048,
  Update: 4 | 8 | 16 | 32 | 64 | 128 | 256 | 512 | 1024 | 2048,
  All: 0xffff,
} as const;

export interface ClusterEvent {
  resource: EventResource;
  action: number;
  /** For logs and the queue's "moved by" label. */
  label: string;
}

export type QueueingHint = 'Queue' | 'Skip';

/** Whether `event` (with the objects before/after) may make `pod` schedulable. */
export type QueueingHintFn = (pod: PodInfo, oldObj: unknown, newObj: unknown) => QueueingHint;

export interface ClusterEventWithHint {
  resource: EventResource;
  action: number;
  hint?: QueueingHintFn;
}

export function eventMatches(registered: ClusterEventWithHint, ev: ClusterEvent): boolean {
  return registered.resource === ev.resource && (registered.action & ev.action) !== 0;
}

// ---- plugins --------------------------------------------------------------------------

export interface Plugin {
  readonly name: string;
}

export interface PreFilterResult {
  /** The only nodes worth filtering (e.g. node affinity pinned to names). */
  nodeNames?: ReadonlySet<string>;
  /**
   * This plugin's Filter rejects every node (e.g. the pod asks for more than any node has):
   * the pod fits nowhere, so each node's first failing plugin in profile order is wanted.
   */
  rejectsEveryNode?: boolean;
  /**
   * This plugin's Filter rejects every node not in this list (e.g. pod affinity: nodes
   * outside the domains holding the pods it wants): the search for feasible nodes starts
   * with these, and looks at the others only when none of these fits (for the reasons).
   */
  candidates?: readonly NodeInfo[];
}

export interface PreFilterPlugin extends Plugin {
  /** null: go on; SKIP: this plugin's Filter is not needed; a rejecting Status: the pod can't be scheduled anywhere. */
  preFilter(state: CycleState, pod: PodInfo, snap: Snapshot): Status | PreFilterResult | null;
  /** PreFilterExtensions: keep the cycle state right when a pod is (hypothetically) added to a node. */
  addPod?(state: CycleState, podToSchedule: PodInfo, podToAdd: PodInfo, node: NodeInfo): void;
  removePod?(state: CycleState, podToSchedule: PodInfo, podToRemove: PodInfo, node: NodeInfo): void;
}

export interface FilterPlugin extends Plugin {
  /** null when the node fits. */
  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status | null;
  /**
   * Only for a Filter whose verdict on a node depends on the pod and on that node's own
   * NodeInfo alone (not on other nodes, nor on the cycle state): what of the pod it reads,
   * as a string. Pods with equal strings get equal verdicts, which lets a verdict on every
   * node be kept and brought up to date on the nodes that changed since.
   */
  nodeLocalKey?(pod: PodInfo): string;
}

export interface PreScorePlugin extends Plugin {
  /** null: score; SKIP: don't. `nodes` are the feasible nodes. */
  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], snap: Snapshot): Status | null;
}

export interface ScorePlugin extends Plugin {
  score(state: CycleState, pod: PodInfo, node: NodeInfo): number;
  /** Bring `scores` (one per node of `nodes`) to 0..MAX_NODE_SCORE in place. */
  normalizeScore?(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], scores: number[]): void;
}

export interface EnqueuePlugin extends Plugin {
  eventsToRegister(): ClusterEventWithHint[];
}

function isPreFilter(p: Plugin): p is PreFilterPlugin {
  return typeof (p as PreFilterPlugin).preFilter === 'function';
}
function isFilter(p: Plugin): p is FilterPlugin {
  return typeof (p as FilterPlugin).filter === 'function';
}
function isPreScore(p: Plugin): p is PreScorePlugin {
  return typeof (p as PreScorePlugin).preScore === 'function';
}
function isScore(p: Plugin): p is ScorePlugin {
  return typeof (p as ScorePlugin).score === 'function';
}
function isEnqueue(p: Plugin): p is EnqueuePlugin {
  return typeof (p as EnqueuePlugin).eventsToRegister === 'function';
}

/** The result of the PreFilter phase. */
export interface PreFilterOutcome {
  /** A rejection: the pod fits nowhere. */
  status?: Status;
  nodeNames?: ReadonlySet<string>;
  /** Plugins that narrowed `nodeNames`. */
  narrowedBy: string[];
  /** Some plugin's Filter rejects every node. */
  rejectsEveryNode: boolean;
  /** The fewest candidates a plugin named (only these can fit). */
  candidates?: readonly NodeInfo[];
}

/** Nominated pods (from preemption) the filters must respect. */
export interface Nominator {
  nominatedPodsForNode(nodeName: string): readonly PodInfo[];
  /** False when no pod is nominated anywhere (lets the filters skip the lookup). */
  hasNominatedPods?(): boolean;
  /** The node a pod is nominated to. */
  nominatedNodeName?(podKey: string): string | undefined;
  /** Where the log of nomination changes stands: pass it to nodesWithNominationChangesSince later. */
  readonly nominationMark?: number;
  /** Nodes whose nominated pods changed since `mark` (repeats possible); undefined when that part of the log is gone. */
  nodesWithNominationChangesSince?(mark: number): readonly string[] | undefined;
}

/** A profile: the plugins in upstream's default order, with their score weights. */
export class Framework {
  readonly preFilterPlugins: PreFilterPlugin[] = [];
  readonly filterPlugins: FilterPlugin[] = [];
  readonly preScorePlugins: PreScorePlugin[] = [];
  readonly scorePlugins: { plugin: ScorePlugin; weight: number }[] = [];
  readonly enqueuePlugins: EnqueuePlugin[] = [];

  constructor(
    readonly profileName: string,
    plugins: readonly Plugin[],
    weights: Readonly<Record<string, number>>,
  ) {
    for (const p of plugins) {
      if (isPreFilter(p)) this.preFilterPlugins.push(p);
      if (isFilter(p)) this.filterPlugins.push(p);
      if (isPreScore(p)) this.preScorePlugins.push(p);
      if (isScore(p)) this.scorePlugins.push({ plugin: p, weight: weights[p.name] ?? 1 });
      if (isEnqueue(p)) this.enqueuePlugins.push(p);
    }
  }

  runPreFilter(state: CycleState, pod: PodInfo, snap: Snapshot): PreFilterOutcome {
    const out: PreFilterOutcome = { narrowedBy: [], rejectsEveryNode: false };
    let names: Set<string> | undefined;
    for (const p of this.preFilterPlugins) {
      const r = p.preFilter(state, pod, snap);
      if (r === null) continue;
      if (r instanceof Status) {
        if (r.code === Code.Skip) {
          state.skipFilter.add(p.name);
          continue;
        }
        if (r.code === Code.Success) continue;
        out.status = r.plugin ? r : new Status(r.code, r.reasons, p.name);
        return out;
      }
      if (r.rejectsEveryNode) out.rejectsEveryNode = true;
      if (r.candidates && (!out.candidates || r.candidates.length < out.candidates.length)) out.candidates = r.candidates;
      if (r.nodeNames) {
        names = names ? new Set([...names].filter((n) => r.nodeNames!.has(n))) : new Set(r.nodeNames);
        out.narrowedBy.push(p.name);
      }
    }
    if (names) out.nodeNames = names;
    return out;
  }

  /** The Filter plugins that run for this cycle (PreFilter didn't skip them). */
  activeFilters(state: CycleState): FilterPlugin[] {
    if (state.skipFilter.size === 0) return this.filterPlugins;
    return this.filterPlugins.filter((p) => !state.skipFilter.has(p.name));
  }

  runFilter(state: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    const skip = state.skipFilter;
    for (const p of this.filterPlugins) {
      if (skip.size > 0 && skip.has(p.name)) continue;
      const s = p.filter(state, pod, node);
      if (s !== null) return s;
    }
    return null;
  }

  /**
   * RunFilterPluginsWithNominatedPods: with pods of equal or higher priority nominated
   * to the node added first — and, when that passes, again without them (some filters,
   * like pod affinity, may only pass because of them).
   */
  runFilterWithNominated(state: CycleState, pod: PodInfo, node: NodeInfo, nominator: Nominator | undefined): Status | null {
    const nominated = nominator?.nominatedPodsForNode(node.name);
    if (!nominated || nominated.length === 0) return this.runFilter(state, pod, node);
    const toAdd: PodInfo[] = [];
    let onNodeAlready = false;
    for (const np of nominated) {
      if (np.uid === pod.uid || np.key === pod.key || np.priority < pod.priority) continue;
      // A pod on the node already (or twice in the list) would not leave it exactly as it came.
      if (node.pods.has(np.key) || toAdd.some((x) => x.key === np.key)) onNodeAlready = true;
      toAdd.push(np);
    }
    if (toAdd.length === 0) return this.runFilter(state, pod, node);
    let first: Status | null;
    if (!onNodeAlready && this.addPodLeavesStateAlone(state)) {
      // No plugin of this cycle keeps per-pod state: the nominated pods join the node itself
      // for this one run and leave it again, instead of a copy of the node and the state.
      for (const np of toAdd) node.addPod(np);
      try {
        first = this.runFilter(state, pod, node);
      } finally {
        for (const np of toAdd) node.removePod(np);
      }
    } else {
      const stateToUse = state.clone();
      const nodeToUse = node.clone();
      for (const np of toAdd) {
        nodeToUse.addPod(np);
        this.runAddPod(stateToUse, pod, np, nodeToUse);
      }
      first = this.runFilter(stateToUse, pod, nodeToUse);
    }
    if (first !== null) return first;
    return this.runFilter(state, pod, node);
  }

  /**
   * What decides a pod's verdicts on a node, when every Filter of its cycle is node-local:
   * its priority (which nominated pods count, which pods it may preempt) and the Filters'
   * keys. Pods with the same shape get the same verdict on a node whose pods, Node and
   * nominated pods are the same. Undefined when some Filter isn't node-local, or nominated
   * pods can't be followed (a nominator without a log of changes), or the pod is nominated
   * itself (it doesn't count its own nomination) unless `evenIfNominated`: then the shape's
   * verdicts hold for the pod on every node but the one it is nominated to.
   */
  nodeLocalShape(state: CycleState, pod: PodInfo, nominator?: Nominator, evenIfNominated = false): string | undefined {
    if (nominator) {
      if (!nominator.nodesWithNominationChangesSince || !nominator.nominatedNodeName) return undefined;
      if (!evenIfNominated && (pod.pod.status?.nominatedNodeName || nominator.nominatedNodeName(pod.key) !== undefined)) return undefined;
    }
    let shape = `priority ${pod.priority}\u0000`;
    for (const f of this.activeFilters(state)) {
      if (!f.nodeLocalKey) return undefined;
      shape += `${f.name}\u0000${f.nodeLocalKey(pod)}\u0000`;
    }
    return shape;
  }

  /** No PreFilter extension of this cycle changes the state when a pod is added or removed. */
  addPodLeavesStateAlone(state: CycleState): boolean {
    for (const p of this.preFilterPlugins) if ((p.addPod || p.removePod) && !state.skipFilter.has(p.name)) return false;
    return true;
  }

  runAddPod(state: CycleState, podToSchedule: PodInfo, podToAdd: PodInfo, node: NodeInfo): void {
    for (const p of this.preFilterPlugins) {
      if (state.skipFilter.has(p.name)) continue;
      p.addPod?.(state, podToSchedule, podToAdd, node);
    }
  }

  runRemovePod(state: CycleState, podToSchedule: PodInfo, podToRemove: PodInfo, node: NodeInfo): void {
    for (const p of this.preFilterPlugins) {
      if (state.skipFilter.has(p.name)) continue;
      p.removePod?.(state, podToSchedule, podToRemove, node);
    }
  }

  runPreScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], snap: Snapshot): void {
    for (const p of this.preScorePlugins) {
      const s = p.preScore(state, pod, nodes, snap);
      if (s && s.code === Code.Skip) state.skipScore.add(p.name);
    }
  }

  /** Weighted, normalized totals per node. */
  runScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Float64Array {
    const totals = new Float64Array(nodes.length);
    const scores: number[] = new Array<number>(nodes.length);
    for (const { plugin, weight } of this.scorePlugins) {
      if (state.skipScore.has(plugin.name)) continue;
      for (let i = 0; i < nodes.length; i++) scores[i] = plugin.score(state, pod, nodes[i]);
      plugin.normalizeScore?.(state, pod, nodes, scores);
      for (let i = 0; i < nodes.length; i++) totals[i] += scores[i] * weight;
    }
    return totals;
  }

  /** Every event some plugin wants to hear, with the plugin's name. */
  registeredEvents(): { plugin: string; events: ClusterEventWithHint[] }[] {
    return this.enqueuePlugins.map((p) => ({ plugin: p.name, events: p.eventsToRegister() }));
  }
}

/** helper.DefaultNormalizeScore: scale to 0..max by the largest score, optionally reversed. */
export function defaultNormalizeScore(maxPriority: number, reverse: boolean, scores: number[]): void {
  let maxCount = 0;
  for (const s of scores) if (s > maxCount) maxCount = s;
  if (maxCount === 0) {
    if (reverse) for (let i = 0; i < scores.length; i++) scores[i] = maxPriority;
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    let s = Math.trunc((maxPriority * scores[i]) / maxCount);
    if (reverse) s = maxPriority - s;
    scores[i] = s;
  }
}

// ---- diagnosis and the "0/N nodes are available" message ----------------------------------

export class Diagnosis {
  /** Filtered nodes and why, in evaluation order (kept as arrays: a Map is only built when someone asks). */
  private names: string[] = [];
  private statuses: Status[] = [];
  private map: Map<string, Status> | undefined;
  private unschedulable = 0;
  /**
   * Nodes per status while the arrays are in use, counted as they are recorded: filtered
   * nodes mostly come in long runs of one shared status, so a run is one addition here
   * and the message of a pod that fits none of 5,000 nodes needs no pass over them.
   */
  private readonly counts = new Map<Status, number>();
  private runStatus: Status | undefined;
  private runLength = 0;
  /** Nodes filtered out without their statuses kept (the pod fit elsewhere: nobody asks why). */
  private unkept = 0;
  /** Every node rejected, recorded at once (recordEveryNode): statuses by position in `nodes`. */
  private everyNode: { nodes: readonly NodeInfo[]; statuses: readonly Status[] } | undefined;
  /** The status of every node not in nodeToStatus (PreFilter rejected all, or narrowed the set). */
  absentStatus: Status | undefined;
  readonly unschedulablePlugins = new Set<string>();
  preFilterMsg = '';
  postFilterMsg = '';

  /** Record that a node was filtered out. */
  record(node: string, s: Status): void {
    if (s.code === Code.Unschedulable) this.unschedulable++;
    if (this.map) this.map.set(node, s);
    else {
      this.names.push(node);
      this.statuses.push(s);
      if (s === this.runStatus) this.runLength++;
      else {
        this.endRun();
        this.runStatus = s;
        this.runLength = 1;
      }
    }
  }

  /**
   * Record that every one of `nodes` was filtered out, `statuses[i]` saying why for
   * `nodes[i]`, with `counts` the nodes per status. The arrays are kept as they are: the
   * caller must not change them afterwards (it copies before it writes).
   */
  recordEveryNode(nodes: readonly NodeInfo[], statuses: readonly Status[], counts: ReadonlyMap<Status, number>): void {
    this.everyNode = { nodes, statuses };
    for (const [s, n] of counts) {
      this.counts.set(s, (this.counts.get(s) ?? 0) + n);
      if (s.code === Code.Unschedulable) this.unschedulable += n;
    }
  }

  /** Count `n` filtered nodes whose statuses nobody will ask for. */
  recordUnkept(n: number): void {
    this.unkept += n;
  }

  private endRun(): void {
    if (!this.runStatus) return;
    this.counts.set(this.runStatus, (this.counts.get(this.runStatus) ?? 0) + this.runLength);
    this.runStatus = undefined;
    this.runLength = 0;
  }

  /** Filtered nodes and why. */
  get nodeToStatus(): Map<string, Status> {
    if (!this.map) {
      this.map = new Map();
      for (let i = 0; i < this.names.length; i++) this.map.set(this.names[i], this.statuses[i]);
      if (this.everyNode) {
        const { nodes, statuses } = this.everyNode;
        for (let i = 0; i < nodes.length; i++) this.map.set(nodes[i].name, statuses[i]);
        this.everyNode = undefined;
      }
      this.names = [];
      this.statuses = [];
    }
    return this.map;
  }

  /** The status recorded for `node` (else absentStatus), read by its position when every node was recorded at once: no nodeToStatus map built for one lookup. */
  statusOf(node: NodeInfo): Status | undefined {
    const every = this.everyNode;
    if (every && !this.map && this.names.length === 0 && node.position >= 0 && every.nodes[node.position] === node) return every.statuses[node.position];
    return this.nodeToStatus.get(node.name) ?? this.absentStatus;
  }

  get filteredCount(): number {
    return (this.map ? this.map.size : this.names.length + (this.everyNode?.nodes.length ?? 0)) + this.unkept;
  }

  /** How many filtered nodes have each status (statuses are mostly shared objects). */
  statusCounts(): Map<Status, number> {
    if (!this.map) {
      this.endRun();
      return new Map(this.counts);
    }
    const out = new Map<Status, number>();
    for (const s of this.map.values()) out.set(s, (out.get(s) ?? 0) + 1);
    return out;
  }

  /** Nodes whose status has `code` (NodeToStatus.NodesForStatusCode). */
  nodesForStatusCode(allNodes: readonly NodeInfo[], code: Code): readonly NodeInfo[] {
    if (code === Code.Unschedulable && this.unschedulable === 0 && this.absentStatus?.code !== Code.Unschedulable && !this.map) return [];
    const every = this.everyNode;
    if (every && !this.map && this.names.length === 0 && every.nodes.length === allNodes.length) {
      // Every node recorded, in this order: no map needed. A kept verdict hands the same
      // statuses to every pod of its shape until a node's status changes: so is the answer.
      const kept = nodesByStatusCode.get(every.statuses);
      if (kept && kept.nodes === every.nodes && kept.code === code) return kept.out;
      // Every node with this code (all lack room, say), counted by status: the nodes themselves.
      let withCode = 0;
      for (const [s, n] of this.counts) if (s.code === code) withCode += n;
      if (withCode === every.nodes.length) return every.nodes;
      const out: NodeInfo[] = [];
      for (let i = 0; i < every.nodes.length; i++) if (every.statuses[i].code === code) out.push(every.nodes[i]);
      nodesByStatusCode.set(every.statuses, { nodes: every.nodes, code, out });
      return out;
    }
    const m = this.nodeToStatus;
    const out: NodeInfo[] = [];
    for (const n of allNodes) {
      const s = m.get(n.name) ?? this.absentStatus;
      if (s && s.code === code) out.push(n);
    }
    return out;
  }
}

/**
 * nodesForStatusCode's last answer per statuses array recorded for every node: such an
 * array (a kept verdict's, see SchedulingAlgorithm) never changes once handed out, nor
 * does a nodeList() array.
 */
const nodesByStatusCode = new WeakMap<readonly Status[], { nodes: readonly NodeInfo[]; code: Code; out: readonly NodeInfo[] }>();

/** framework.FitError: why a pod fits on none of the nodes. */
export class FitError {
  constructor(
    readonly pod: PodInfo,
    readonly numAllNodes: number,
    readonly diagnosis: Diagnosis,
  ) {}

  /** "0/X nodes are available: <PreFilterMsg>. <FilterMsg>. <PostFilterMsg>" exactly as upstream words it. */
  message(): string {
    let msg = `0/${this.numAllNodes} nodes are available:`;
    const d = this.diagnosis;
    if (d.preFilterMsg !== '') {
      msg += ` ${d.preFilterMsg}.`;
    } else {
      const reasons = new Map<string, number>();
      for (const [s, n] of d.statusCounts()) for (const r of s.reasons) reasons.set(r, (reasons.get(r) ?? 0) + n);
      const absent = this.numAllNodes - d.filteredCount;
      if (absent > 0 && d.absentStatus) for (const r of d.absentStatus.reasons) reasons.set(r, (reasons.get(r) ?? 0) + absent);
      const sorted = [...reasons].map(([r, n]) => `${n} ${r}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (sorted.length > 0) msg += ` ${sorted.join(', ')}.`;
    }
    if (d.postFilterMsg !== '') msg += ` ${d.postFilterMsg}`;
    return msg;
  }
}
