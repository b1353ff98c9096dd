// Priority and preemption (upstream: framework/preemption + plugins/defaultpreemption).
// When a pod fits nowhere, find nodes where evicting lower-priority pods makes room —
// as few and as unimportant as possible, sparing PodDisruptionBudgets where it can —
// pick the best such node, and report the victims for the scheduler to delete and the
// node to nominate. The pure part lives here; the API calls are the scheduler's.
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Framework, Nominator } from './framework.js';
import { Code, Diagnosis, FitError, Status } from './framework.js';
import type { CycleState } from './framework.js';
import { Selector } from './labels.js';
import type { PodInfo } from './podinfo.js';
import type { NodeInfo, Snapshot } from './snapshot.js';

export const PREEMPTION_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const NO_VICTIMS = 'No preemption victims found for incoming pod';
export const NOT_ELIGIBLE_NEVER = 'not eligible due to preemptionPolicy=Never.';
export const NOT_ELIGIBLE_TERMINATING = 'not eligible due to a terminating pod on the nominated node.';

// ---- priority resolution ------------------------------------------------------------------

/**
 * A pod's priority: spec.priority when admission set it; otherwise from its
 * PriorityClass, or the global default class, or 0 (upstream's Priority admission).
 */
export function resolvePriority(pod: Pod, classes: Iterable<PriorityClass>): number {
  if (typeof pod.spec?.priority === 'number') return pod.spec.priority;
  const name = pod.spec?.priorityClassName;
  let globalDefault: PriorityClass | undefined;
  for (const pc of classes) {
    if (name && pc.metadata?.name === name) return pc.value ?? 0;
    if (pc.globalDefault && (!globalDefault || (pc.value ?? 0) > (globalDefault.value ?? 0))) globalDefault = pc;
  }
  if (name === 'system-node-critical') return 2000001000;
  if (name === 'system-cluster-critical') return 2000000000;
  if (!name && globalDefault) return globalDefault.value ?? 0;
  return 0;
}

// ---- PodDisruptionBudgets -------------------------------------------------------------------

export interface Budget {
  namespace: string;
  selector: Selector;
  disruptionsAllowed: number;
  disruptedPods: ReadonlySet<string>;
}

export function budgetOf(pdb: PodDisruptionBudget): Budget {
  const sel = pdb.spec?.selector;
  return {
    namespace: pdb.metadata?.namespace ?? 'default',
    // A PDB with a nil or empty selector matches nothing.
    selector: !sel || Selector.from(sel).empty ? Selector.NOTHING : Selector.from(sel),
    disruptionsAllowed: pdb.status?.disruptionsAllowed ?? 0,
    disruptedPods: new Set(Object.keys(pdb.status?.disruptedPods ?? {})),
  };
}

/** filterPodsWithPDBViolation: split (stably) into pods whose eviction would break a budget and the rest. */
export function filterPodsWithPDBViolation(pods: readonly PodInfo[], budgets: readonly Budget[]): { violating: PodInfo[]; nonViolating: PodInfo[] } {
  const allowed = budgets.map((b) => b.disruptionsAllowed);
  const violating: PodInfo[] = [];
  const nonViolating: PodInfo[] = [];
  for (const p of pods) {
    let violated = false;
    if (Object.keys(p.labels).length > 0) {
      budgets.forEach((b, i) => {
        if (b.namespace !== p.namespace || !b.selector.matches(p.labels)) return;
        if (b.disruptedPods.has(p.name)) return;
        allowed[i]--;
        if (allowed[i] < 0) violated = true;
      });
    }
    (violated ? violating : nonViolating).push(p);
  }
  return { violating, nonViolating };
}

// ---- victims ----------------------------------------------------------------------------------

/** GetPodStartTime: a pod not started yet counts as starting now. */
function startTime(p: PodInfo, now: number): number {
  return p.startTime ?? now;
}

/** The start the last criterion compares: the earliest among the most important victims (not started: now). */
function startAtTop(c: Candidate, now: number): number {
  return c.unstartedAtTop ? Math.min(c.earliestStartAtTop, now) : c.earliestStartAtTop;
}

/**
 * pickOneNodeForPreemption's criteria, most decisive first: fewest PDB violations, the
 * lowest highest-priority victim, the smallest priority sum, the fewest victims, the
 * latest start of the most important victims. Positive when `a` is better than `b`,
 * negative when worse, 0 on a tie. Read from the candidates' own summaries: hundreds of
 * candidates per preemption allocate nothing and read no victim.
 */
function comparePreemptionCandidates(a: Candidate, b: Candidate, now: number): number {
  if (a.numPDBViolations !== b.numPDBViolations) return b.numPDBViolations - a.numPDBViolations;
  if (a.topPriority !== b.topPriority) return b.topPriority - a.topPriority;
  if (a.prioritySum !== b.prioritySum) return b.prioritySum - a.prioritySum;
  if (a.numVictims !== b.numVictims) return b.numVictims - a.numVictims;
  return startAtTop(a, now) - startAtTop(b, now);
}

/**
 * The first best of the candidates offered so far (comparePreemptionCandidates; a tie
 * keeps the earlier one): what pickOne returns for the list of them, found as they come,
 * with no list of hundreds of candidates.
 */
class FirstBest {
  best: Candidate | undefined;

  constructor(private readonly now: number) {}

  offer(c: Candidate): void {
    if (this.best === undefined || comparePreemptionCandidates(c, this.best, this.now) > 0) this.best = c;
  }
}

/** A candidate with the summary of its victims that pickOne compares. `victims`: most important first. */
export function makeCandidate(node: string, victims: readonly PodInfo[], numPDBViolations: number): Candidate {
  const top = victims[0].priority;
  let prioritySum = 0;
  let earliestStartAtTop = Infinity;
  let unstartedAtTop = false;
  for (const p of victims) {
    prioritySum += p.priority + 2147483648;
    if (p.priority !== top) continue;
    if (p.startTime === undefined) unstartedAtTop = true;
    else earliestStartAtTop = Math.min(earliestStartAtTop, p.startTime);
  }
  return { node, victims, numPDBViolations, numVictims: victims.length, topPriority: top, prioritySum, earliestStartAtTop, unstartedAtTop };
}

/** MoreImportantPod: higher priority, then started earlier. */
export function moreImportant(a: PodInfo, b: PodInfo, now = Date.now()): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return startTime(a, now) < startTime(b, now);
}

/** Is the pod already being deleted because the scheduler preempted it? */
export function terminatingByPreemption(p: PodInfo): boolean {
  if (!p.terminating) return false;
  const c = p.pod.status?.conditions?.find((x) => x.type === 'DisruptionTarget');
  return !!c && c.status === 'True' && c.reason === 'PreemptionByScheduler';
}

function hasLowerPriority(node: NodeInfo, priority: number): boolean {
  for (const p of node.pods.values()) if (p.priority < priority) return true;
  return false;
}

/** A dry run's result on a node: the victims that make room, or why there are none. */
type VictimsOrStatus = { readonly victims: PodInfo[]; readonly numPDBViolations: number } | { readonly status: Status };

/** A node's dry run as kept: the candidate it makes (the same object every time), or why it makes none. */
type KeptDryRun = Candidate | { readonly status: Status };

/** Pod shapes whose dry runs are kept. */
const MAX_KEPT_DRY_RUNS = 16;

interface KeptDryRuns {
  /** The snapshot's nodesVersion, nodeChangeMark and the nominator's nominationMark the results are up to date with. */
  nodesVersion: number;
  nodeMark: number;
  nominationMark: number;
  /** By the node's position in nodeList() (of nodesVersion): an array index, not a name's hash. */
  results: (KeptDryRun | undefined)[];
}

/** A node where preemption makes room (makeCandidate); kept with the node's dry run, so shared: read only. */
export interface Candidate {
  readonly node: string;
  /** Most important first. */
  readonly victims: readonly PodInfo[];
  readonly numPDBViolations: number;
  readonly numVictims: number;
  /** The priority of the most important victims. */
  readonly topPriority: number;
  /** Each victim's priority plus 2^31, summed (upstream's sum of priorities). */
  readonly prioritySum: number;
  /** The earliest start time among the most important victims that started (Infinity: none). */
  readonly earliestStartAtTop: number;
  /** Some of the most important victims have not started (they count as starting now). */
  readonly unstartedAtTop: boolean;
}

export interface PreemptionOptions {
  /** Share of the potential nodes to dry-run at least (upstream default 10%). */
  minCandidateNodesPercentage?: number;
  /** Dry-run at least this many nodes (upstream default 100). */
  minCandidateNodesAbsolute?: number;
  random?: () => number;
  now?: () => number;
}

export type PreemptionOutcome =
  | { ok: true; candidate: Candidate; lowerPriorityNominated: PodInfo[] }
  /** `clearNomination`: drop the pod's nominatedNodeName (upstream returns a PostFilterResult with ""). */
  | { ok: false; message: string; clearNomination: boolean };

export class Evaluator {
  private readonly dryRuns = new Map<string, KeptDryRuns>();
  private readonly minPct: number;
  private readonly minAbs: number;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(
    private readonly fw: Framework,
    private readonly snap: Snapshot,
    opts: PreemptionOptions = {},
  ) {
    this.minPct = opts.minCandidateNodesPercentage ?? 10;
    this.minAbs = opts.minCandidateNodesAbsolute ?? 100;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
  }

  /** DefaultPreemption.PostFilter: the message is prefixed "preemption: " as upstream's plugin does. */
  preempt(state: CycleState, pod: PodInfo, diagnosis: Diagnosis, budgets: readonly Budget[], nominator?: Nominator & { nominatedPodsForNode(n: string): readonly PodInfo[] }): PreemptionOutcome {
    const eligible = this.eligible(pod, diagnosis);
    if (eligible !== '') return { ok: false, message: `preemption: ${eligible}`, clearNomination: false };
    const allNodes = this.snap.nodeList();
    const potential = diagnosis.nodesForStatusCode(allNodes, Code.Unschedulable);
    const notHelpful = new Status(Code.UnschedulableAndUnresolvable, [PREEMPTION_NOT_HELPFUL]);
    if (potential.length === 0) {
      const d = new Diagnosis();
      d.absentStatus = notHelpful;
      return { ok: false, message: `preemption: ${new FitError(pod, allNodes.length, d).message()}`, clearNomination: true };
    }
    const { best, statuses } = this.dryRun(state, pod, potential, budgets, nominator);
    if (best === undefined) {
      const d = new Diagnosis();
      for (const [n, s] of statuses) d.record(n, s);
      d.absentStatus = notHelpful;
      return { ok: false, message: `preemption: ${new FitError(pod, allNodes.length, d).message()}`, clearNomination: true };
    }
    const lower = (nominator?.nominatedPodsForNode(best.node) ?? []).filter((p) => p.priority < pod.priority && p.key !== pod.key);
    return { ok: true, candidate: best, lowerPriorityNominated: lower };
  }

  /** PodEligibleToPreemptOthers: '' when eligible, else why not. */
  eligible(pod: PodInfo, diagnosis: Diagnosis): string {
    if (pod.pod.spec?.preemptionPolicy === 'Never') return NOT_ELIGIBLE_NEVER;
    const nom = pod.pod.status?.nominatedNodeName;
    if (nom) {
      const node = this.snap.getNode(nom);
      const st = node ? diagnosis.statusOf(node) : (diagnosis.nodeToStatus.get(nom) ?? diagnosis.absentStatus);
      if (st && st.code === Code.UnschedulableAndUnresolvable) return '';
      if (node) for (const p of node.pods.values()) if (p.priority < pod.priority && terminatingByPreemption(p)) return NOT_ELIGIBLE_TERMINATING;
    }
    return '';
  }

  /** calculateNumCandidates. */
  numCandidates(numNodes: number): number {
    let n = Math.trunc((numNodes * this.minPct) / 100);
    if (n < this.minAbs) n = this.minAbs;
    if (n > numNodes) n = numNodes;
    return n;
  }

  /**
   * The dry runs kept for pods of one shape (Framework.nodeLocalShape), without budgets
   * and with a cycle state that adding or removing pods leaves alone: a node's result
   * holds until its pods, Node or nominated pods change. Undefined when that can't be.
   * A nominated pod shares them too, but on every node except its own nominated one
   * (see dryRun): only there does its result differ from its shape's.
   */
  private keptDryRuns(state: CycleState, pod: PodInfo, budgets: readonly Budget[], statelessDryRun: boolean, nominator?: Nominator): (KeptDryRun | undefined)[] | undefined {
    if (budgets.length > 0 || !statelessDryRun) return undefined;
    const shape = this.fw.nodeLocalShape(state, pod, nominator, true);
    if (shape === undefined) return undefined;
    const nodeMark = this.snap.nodeChangeMark;
    const nominationMark = nominator?.nominationMark ?? 0;
    let kept = this.dryRuns.get(shape);
    const nodeChanges = kept && kept.nodesVersion === this.snap.nodesVersion ? this.snap.nodesChangedSince(kept.nodeMark) : undefined;
    const nominationChanges = kept && nominator ? nominator.nodesWithNominationChangesSince!(kept.nominationMark) : [];
    // More changes than nodes (a shape not seen for long): starting over costs less.
    if (kept && nodeChanges && nominationChanges && nodeChanges.length + nominationChanges.length <= this.snap.numNodes) {
      const results = kept.results;
      for (const n of nodeChanges) if (n.position >= 0) results[n.position] = undefined;
      for (const name of nominationChanges) {
        const n = this.snap.getNode(name);
        if (n && n.position >= 0) results[n.position] = undefined;
      }
      kept.nodeMark = nodeMark;
      kept.nominationMark = nominationMark;
      this.dryRuns.delete(shape);
    } else kept = { nodesVersion: this.snap.nodesVersion, nodeMark, nominationMark, results: new Array<KeptDryRun | undefined>(this.snap.numNodes) };
    // Most recently used last.
    this.dryRuns.set(shape, kept);
    if (this.dryRuns.size > MAX_KEPT_DRY_RUNS) this.dryRuns.delete(this.dryRuns.keys().next().value as string);
    return kept.results;
  }

  /**
   * DryRunPreemption from a random offset until enough candidates, and pickOne of them
   * ([...nonViolating, ...violating]) as they come: a candidate that breaks no budget
   * beats every one that does on the first criterion, so the pick is the first best of
   * those that break none, or if there are none, of the others. Undefined: no candidate,
   * `statuses` saying why for each node.
   */
  private dryRun(state: CycleState, pod: PodInfo, potential: readonly NodeInfo[], budgets: readonly Budget[], nominator?: Nominator): { best: Candidate; statuses?: undefined } | { best: undefined; statuses: Map<string, Status> } {
    const offset = Math.floor(this.random() * potential.length);
    const want = this.numCandidates(potential.length);
    const now = this.now();
    const nonViolating = new FirstBest(now);
    const violating = new FirstBest(now);
    let numNonViolating = 0;
    let numViolating = 0;
    // Why a node makes no candidate is asked for only when none does, and then every node
    // was dry-run: it is read back from the kept results then, and kept here for the others.
    let unkept: Map<NodeInfo, KeptDryRun> | undefined;
    const statelessDryRun = this.fw.addPodLeavesStateAlone(state);
    const kept = this.keptDryRuns(state, pod, budgets, statelessDryRun, nominator);
    // The filters leave a pod's own nomination out (runFilterWithNominated, as upstream's
    // addGEPriorityNominatedPods skips the pod itself), so on the node it is nominated to
    // its dry run is its own: neither read from nor written to its shape's kept results.
    const ownNomination = kept ? nominator?.nominatedNodeName?.(pod.key) : undefined;
    for (let i = 0; i < potential.length; i++) {
      const node = potential[(offset + i) % potential.length];
      const shared = kept !== undefined && node.name !== ownNomination;
      let r = shared ? kept[node.position] : undefined;
      if (!r) {
        // A node with nothing of lower priority has no victims: say so before copying it.
        // The state is copied only if removing and adding pods would change it.
        const v = !hasLowerPriority(node, pod.priority)
          ? { status: new Status(Code.UnschedulableAndUnresolvable, [NO_VICTIMS]) }
          : this.selectVictimsOnNode(statelessDryRun ? state : state.clone(), pod, node.clone(), budgets, nominator);
        if ('status' in v) r = v;
        else if (v.victims.length > 0) r = makeCandidate(node.name, v.victims, v.numPDBViolations);
        else r = { status: new Status(Code.Error, [`expected at least one victim pod on node "${node.name}"`]) };
        if (shared) kept[node.position] = r;
      }
      if ('status' in r) {
        if (!shared) (unkept ??= new Map()).set(node, r);
        continue;
      }
      if (r.numPDBViolations === 0) {
        nonViolating.offer(r);
        numNonViolating++;
      } else {
        violating.offer(r);
        numViolating++;
      }
      if (numNonViolating > 0 && numNonViolating + numViolating >= want) break;
    }
    const best = nonViolating.best ?? violating.best;
    if (best !== undefined) return { best };
    const statuses = new Map<string, Status>();
    for (let i = 0; i < potential.length; i++) {
      const node = potential[(offset + i) % potential.length];
      const r = kept !== undefined && node.name !== ownNomination ? kept[node.position] : unkept?.get(node);
      if (r !== undefined && 'status' in r) statuses.set(node.name, r.status);
    }
    return { best: undefined, statuses };
  }

  /** The fewest, least important pods on `node` (a copy) whose removal lets `pod` fit. */
  selectVictimsOnNode(state: CycleState, pod: PodInfo, node: NodeInfo, budgets: readonly Budget[], nominator?: Nominator): VictimsOrStatus {
    const potential: PodInfo[] = [];
    for (const p of node.pods.values()) if (p.priority < pod.priority) potential.push(p);
    if (potential.length === 0) return { status: new Status(Code.UnschedulableAndUnresolvable, [NO_VICTIMS]) };
    for (const p of potential) {
      node.removePod(p);
      this.fw.runRemovePod(state, pod, p, node);
    }
    const s = this.fw.runFilterWithNominated(state, pod, node, nominator);
    if (s !== null) return { status: s };
    const now = this.now();
    potential.sort((a, b) => (moreImportant(a, b, now) ? -1 : moreImportant(b, a, now) ? 1 : 0));
    const { violating, nonViolating } = filterPodsWithPDBViolation(potential, budgets);
    const victims: PodInfo[] = [];
    let numViolating = 0;
    const reprieve = (p: PodInfo): boolean => {
      node.addPod(p);
      this.fw.runAddPod(state, pod, p, node);
      const fits = this.fw.runFilterWithNominated(state, pod, node, nominator) === null;
      if (!fits) {
        node.removePod(p);
        this.fw.runRemovePod(state, pod, p, node);
        victims.push(p);
      }
      return fits;
    };
    for (const p of violating) if (!reprieve(p)) numViolating++;
    for (const p of nonViolating) reprieve(p);
    if (violating.length > 0 && nonViolating.length > 0) victims.sort((a, b) => (moreImportant(a, b, now) ? -1 : moreImportant(b, a, now) ? 1 : 0));
    return { victims, numPDBViolations: numViolating };
  }

  /**
   * pickOneNodeForPreemption: fewest PDB violations, then the lowest highest-priority
   * victim, the smallest priority sum, the fewest victims, the latest start of the
   * most important victims; then the first.
   */
  pickOne(candidates: readonly Candidate[]): Candidate {
    if (candidates.length === 1) return candidates[0];
    // One pass keeping the first best: the same pick as filtering the candidates by each
    // criterion in turn (upstream's order), without a list per criterion.
    const first = new FirstBest(this.now());
    for (const c of candidates) first.offer(c);
    return first.best!;
  }
}

