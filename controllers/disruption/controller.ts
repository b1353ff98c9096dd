// The disruption controller (upstream: pkg/controller/disruption/disruption.go): keeps
// every PodDisruptionBudget's status — the pods its selector picks, how many of them
// are healthy (Ready, not being deleted, not just evicted), how many must be
// (minAvailable as a number; or a percentage, or expected − maxUnavailable, of the
// expected count, which is the sum of the scales of the pods' controllers:
// Deployment, ReplicaSet, StatefulSet, ReplicationController), and so how many
// disruptions are allowed — with a DisruptionAllowed condition. Pods the eviction
// subresource has just approved (status.disruptedPods) do not count as healthy
// until they are deleted, or for two minutes.
import type { Deployment, ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Pod, ReplicationController } from 'kubernetes-types/core/v1.js';
import type { Condition, OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from 'kubernetes-types/policy/v1.js';
import { QueueController } from '../../client/controller.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { objectKey, splitKey } from '../../client/keys.js';
import type { ApiTransport } from '../../client/transport.js';
import { isConflict } from '../../client/transport.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import type { Mutable } from '../../machinery/object.js';
import { jsonEqual } from '../../machinery/object.js';
import { resourceByPath } from '../../machinery/resources.js';
import { labelSelectorMatches } from '../../apiserver/selectors.js';
import type { ControllerContext } from '../manager.js';

export const PDBS = resourceByPath('policy', 'v1', 'poddisruptionbudgets')!;
const PODS = resourceByPath('', 'v1', 'pods')!;
const REPLICASETS = resourceByPath('apps', 'v1', 'replicasets')!;
const DEPLOYMENTS = resourceByPath('apps', 'v1', 'deployments')!;
const STATEFULSETS = resourceByPath('apps', 'v1', 'statefulsets')!;
const RCS = resourceByPath('', 'v1', 'replicationcontrollers')!;

/** How long an eviction approved by the API server keeps a pod out of the healthy count (upstream DeletionTimeout). */
export const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

type IntOrString = number | string;
type PdbStatus = Mutable<PodDisruptionBudgetStatus> & { conditions?: Mutable<Condition>[] };

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Does the PDB's selector pick this pod? (a missing selector picks nothing, `{}` everything) */
export function pdbSelects(pdb: PodDisruptionBudget, pod: Pod): boolean {
  if (pdb.metadata?.namespace !== pod.metadata?.namespace) return false;
  return labelSelectorMatches(pdb.spec?.selector as Parameters<typeof labelSelectorMatches>[0], pod.metadata?.labels);
}

export function isPodReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** intstr.GetScaledValueFromIntOrPercent with rounding up. */
export function scaledValue(v: IntOrString, total: number): number {
  if (typeof v === 'number') return v;
  const m = /^(-?\d+)%$/.exec(v);
  if (!m) {
    if (/^-?\d+$/.test(v)) return Number(v);
    throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  }
  return Math.ceil((Number(m[1]) * total) / 100);
}

/** Set or replace a condition (apimachinery meta.SetStatusCondition). */
export function setStatusCondition(conditions: Mutable<Condition>[], c: Omit<Condition, 'lastTransitionTime'> & { lastTransitionTime?: string }, now: number): void {
  const existing = conditions.find((x) => x.type === c.type);
  if (!existing) {
    conditions.push({ ...c, lastTransitionTime: c.lastTransitionTime ?? rfc3339(now) } as Mutable<Condition>);
    return;
  }
  if (existing.status !== c.status) {
    existing.status = c.status;
    existing.lastTransitionTime = c.lastTransitionTime ?? rfc3339(now);
  }
  existing.reason = c.reason;
  existing.message = c.message;
  existing.observedGeneration = c.observedGeneration;
}

/** The DisruptionAllowed condition that matches disruptionsAllowed (component-helpers pdb UpdateDisruptionAllowedCondition). */
export function updateDisruptionAllowedCondition(status: PdbStatus, now: number): void {
  const conditions = (status.conditions ??= []);
  if (status.disruptionsAllowed > 0) {
    setStatusCondition(conditions, { type: 'DisruptionAllowed', reason: 'SufficientPods', status: 'True', message: '', observedGeneration: status.observedGeneration }, now);
  } else {
    setStatusCondition(conditions, { type: 'DisruptionAllowed', reason: 'InsufficientPods', status: 'False', message: '', observedGeneration: status.observedGeneration }, now);
  }
}

function conditionsAreUpToDate(pdb: PodDisruptionBudget): boolean {
  const cond = (pdb.status?.conditions ?? []).find((c) => c.type === 'DisruptionAllowed');
  if (!cond) return false;
  if ((pdb.status?.observedGeneration ?? 0) !== (pdb.metadata?.generation ?? 0)) return false;
  if ((pdb.status?.disruptionsAllowed ?? 0) > 0) return cond.status === 'True' && cond.reason === 'SufficientPods';
  return cond.status === 'False' && cond.reason === 'InsufficientPods';
}

function controllerOf(obj: { metadata?: { ownerReferences?: readonly OwnerReference[] } }): OwnerReference | undefined {
  return (obj.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
}

export interface DisruptionControllerOptions {
  workers?: number;
  now?: () => number;
}

export class DisruptionController extends QueueController {
  readonly pdbs: Informer<PodDisruptionBudget>;
  readonly pods: Informer<Pod>;
  readonly replicaSets: Informer<ReplicaSet>;
  readonly deployments: Informer<Deployment>;
  readonly statefulSets: Informer<StatefulSet>;
  readonly rcs: Informer<ReplicationController>;
  private readonly transport: ApiTransport;
  private readonly recorder: EventRecorder;
  private readonly now: () => number;

  constructor(ctx: ControllerContext, opts: DisruptionControllerOptions = {}) {
    super({ name: 'disruption', workers: opts.workers ?? 2 });
    this.transport = ctx.transport;
    this.recorder = ctx.events.newRecorder('controllermanager');
    this.now = opts.now ?? Date.now;
    this.pdbs = ctx.informers.informerFor<PodDisruptionBudget>(PDBS);
    this.pods = ctx.informers.informerFor<Pod>(PODS);
    this.replicaSets = ctx.informers.informerFor<ReplicaSet>(REPLICASETS);
    this.deployments = ctx.informers.informerFor<Deployment>(DEPLOYMENTS);
    this.statefulSets = ctx.informers.informerFor<StatefulSet>(STATEFULSETS);
    this.rcs = ctx.informers.informerFor<ReplicationController>(RCS);
    this.watch(this.pdbs);
    this.watch(this.pods, (pod) => this.pdbsForPod(pod), { update: (a, b) => a.metadata?.resourceVersion !== b.metadata?.resourceVersion, ownersListed: true });
    for (const inf of [this.replicaSets, this.deployments, this.statefulSets, this.rcs] as Informer<{ metadata?: { namespace?: string } }>[]) this.requireSynced(inf);
  }

  /** Every PDB in the pod's namespace whose selector picks it. */
  private pdbsForPod(pod: Pod): string[] {
    const keys: string[] = [];
    for (const pdb of this.pdbs.store.listNamespace(pod.metadata?.namespace ?? '')) if (pdbSelects(pdb, pod)) keys.push(objectKey(pdb));
    if (keys.length > 1 && !pod.metadata?.deletionTimestamp) {
      this.recorder.event(pod, 'Warning', 'MultiplePodDisruptionBudgets', `Pod "${pod.metadata?.namespace}"/"${pod.metadata?.name}" matches multiple PodDisruptionBudgets.  Chose "${splitKey(keys[0]).name}" arbitrarily.`);
    }
    return keys;
  }

  protected override async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const pdb = this.pdbs.store.get(namespace, name);
    if (!pdb) return;
    try {
      return await this.trySync(pdb);
    } catch (err) {
      // A conflict is retried as it is; anything else first closes the budget.
      if (isConflict(err)) throw err;
      await this.failSafe(pdb, err instanceof Error ? err.message : String(err));
    }
  }

  private async trySync(pdb: PodDisruptionBudget): Promise<ReconcileResult | void> {
    const pods = this.pods.store.listNamespace(pdb.metadata?.namespace ?? '').filter((p) => pdbSelects(pdb, p));
    if (pods.length === 0) this.recorder.event(pdb, 'Normal', 'NoPods', 'No matching pods found');
    let expected: { expectedCount: number; desiredHealthy: number; unmanaged: string[] };
    try {
      expected = this.expectedPodCount(pdb, pods);
    } catch (err) {
      this.recorder.event(pdb, 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
    if (expected.unmanaged.length > 0) {
      this.recorder.event(
        pdb,
        'Warning',
        'UnmanagedPods',
        `Pods selected by this PodDisruptionBudget (selector: ${selectorString(pdb)}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`,
      );
    }
    const now = this.now();
    const { disrupted, recheckAt } = this.buildDisruptedPodMap(pods, pdb, now);
    const currentHealthy = countHealthyPods(pods, disrupted, now);
    await this.updateStatus(pdb, currentHealthy, expected.desiredHealthy, expected.expectedCount, disrupted);
    if (recheckAt !== undefined) return { requeueAfterMs: Math.max(0, recheckAt - now) };
  }

  private expectedPodCount(pdb: PodDisruptionBudget, pods: readonly Pod[]): { expectedCount: number; desiredHealthy: number; unmanaged: string[] } {
    const spec = pdb.spec ?? {};
    if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
      const { expectedCount, unmanaged } = this.expectedScale(pods);
      const maxUnavailable = scaledValue(spec.maxUnavailable, expectedCount);
      return { expectedCount, desiredHealthy: Math.max(0, expectedCount - maxUnavailable), unmanaged };
    }
    if (spec.minAvailable !== undefined && spec.minAvailable !== null) {
      if (typeof spec.minAvailable === 'number') return { expectedCount: pods.length, desiredHealthy: spec.minAvailable, unmanaged: [] };
      const { expectedCount, unmanaged } = this.expectedScale(pods);
      return { expectedCount, desiredHealthy: scaledValue(spec.minAvailable, expectedCount), unmanaged };
    }
    return { expectedCount: 0, desiredHealthy: 0, unmanaged: [] };
  }

  /** The sum of the scales of the pods' controllers; pods without one are "unmanaged". */
  private expectedScale(pods: readonly Pod[]): { expectedCount: number; unmanaged: string[] } {
    const scales = new Map<string, number>();
    const unmanaged: string[] = [];
    for (const pod of pods) {
      const ref = controllerOf(pod);
      if (!ref) {
        unmanaged.push(pod.metadata?.name ?? '');
        continue;
      }
      if (scales.has(ref.uid)) continue;
      const found = this.findScale(ref, pod.metadata?.namespace ?? '');
      if (!found) throw new Error(`found no controllers for pod "${pod.metadata?.name}"`);
      scales.set(found.uid, found.scale);
    }
    let expectedCount = 0;
    for (const n of scales.values()) expectedCount += n;
    return { expectedCount, unmanaged };
  }

  /** The finders, in upstream's order: ReplicaSet (not owned by a Deployment), Deployment (through its ReplicaSet), RC, StatefulSet. */
  private findScale(ref: OwnerReference, namespace: string): { uid: string; scale: number } | undefined {
    const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
    if (ref.kind === 'ReplicaSet' && group === 'apps') {
      const rs = this.replicaSets.store.get(namespace, ref.name);
      if (rs && rs.metadata?.uid === ref.uid) {
        const owner = controllerOf(rs);
        if (owner?.kind === 'Deployment') {
          const d = this.deployments.store.get(namespace, owner.name);
          if (d && d.metadata?.uid === owner.uid) return { uid: d.metadata.uid!, scale: d.spec?.replicas ?? 1 };
          return undefined;
        }
        return { uid: rs.metadata!.uid!, scale: rs.spec?.replicas ?? 1 };
      }
      return undefined;
    }
    if (ref.kind === 'ReplicationController' && group === '') {
      const rc = this.rcs.store.get(namespace, ref.name);
      if (rc && rc.metadata?.uid === ref.uid) return { uid: ref.uid, scale: rc.spec?.replicas ?? 1 };
      return undefined;
    }
    if (ref.kind === 'StatefulSet' && group === 'apps') {
      const ss = this.statefulSets.store.get(namespace, ref.name);
      if (ss && ss.metadata?.uid === ref.uid) return { uid: ref.uid, scale: ss.spec?.replicas ?? 1 };
      return undefined;
    }
    if (ref.kind === 'Deployment' && group === 'apps') {
      const d = this.deployments.store.get(namespace, ref.name);
      if (d && d.metadata?.uid === ref.uid) return { uid: ref.uid, scale: d.spec?.replicas ?? 1 };
      return undefined;
    }
    return undefined;
  }

  /** Entries of status.disruptedPods still pending, and when the earliest of them times out. */
  private buildDisruptedPodMap(pods: readonly Pod[], pdb: PodDisruptionBudget, now: number): { disrupted: Record<string, string>; recheckAt?: number } {
    const old = pdb.status?.disruptedPods ?? {};
    const disrupted: Record<string, string> = {};
    let recheckAt: number | undefined;
    if (Object.keys(old).length === 0) return { disrupted };
    for (const pod of pods) {
      if (pod.metadata?.deletionTimestamp) continue;
      const at = old[pod.metadata?.name ?? ''];
      if (at === undefined) continue;
      const expectedDeletion = Date.parse(at) + DELETION_TIMEOUT_MS;
      if (expectedDeletion < now) {
        this.recorder.event(pod, 'Warning', 'NotDeleted', `Pod was expected by PDB ${pdb.metadata?.namespace}/${pdb.metadata?.name} to be deleted but it wasn't`);
      } else {
        if (recheckAt === undefined || expectedDeletion < recheckAt) recheckAt = expectedDeletion;
        disrupted[pod.metadata!.name!] = at;
      }
    }
    return { disrupted, recheckAt };
  }

  private async updateStatus(pdb: PodDisruptionBudget, currentHealthy: number, desiredHealthy: number, expectedCount: number, disrupted: Record<string, string>): Promise<void> {
    let disruptionsAllowed = currentHealthy - desiredHealthy;
    if (expectedCount <= 0 || disruptionsAllowed <= 0) disruptionsAllowed = 0;
    const st = pdb.status;
    if (
      st &&
      st.currentHealthy === currentHealthy &&
      st.desiredHealthy === desiredHealthy &&
      st.expectedPods === expectedCount &&
      st.disruptionsAllowed === disruptionsAllowed &&
      jsonEqual(st.disruptedPods ?? {}, disrupted) &&
      (st.observedGeneration ?? 0) === (pdb.metadata?.generation ?? 0) &&
      conditionsAreUpToDate(pdb)
    ) {
      return;
    }
    const status: PdbStatus = {
      currentHealthy,
      desiredHealthy,
      expectedPods: expectedCount,
      disruptionsAllowed,
      observedGeneration: pdb.metadata?.generation,
      conditions: structuredClone((st?.conditions ?? []) as Mutable<Condition>[]),
    };
    if (Object.keys(disrupted).length > 0) status.disruptedPods = disrupted;
    updateDisruptionAllowedCondition(status, this.now());
    await this.transport.updateStatus<PodDisruptionBudget>(PDBS, pdb.metadata?.namespace, { ...pdb, status });
  }

  /** Whatever failed, at least allow no disruptions (upstream failSafe). */
  private async failSafe(pdb: PodDisruptionBudget, message: string): Promise<void> {
    const status = structuredClone(pdb.status ?? { currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0, expectedPods: 0 }) as PdbStatus;
    status.disruptionsAllowed = 0;
    status.conditions ??= [];
    setStatusCondition(status.conditions, { type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message, observedGeneration: status.observedGeneration }, this.now());
    await this.transport.updateStatus<PodDisruptionBudget>(PDBS, pdb.metadata?.namespace, { ...pdb, status });
  }
}

function countHealthyPods(pods: readonly Pod[], disrupted: Record<string, string>, now: number): number {
  let healthy = 0;
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const at = disrupted[pod.metadata?.name ?? ''];
    if (at !== undefined && Date.parse(at) + DELETION_TIMEOUT_MS > now) continue;
    if (isPodReady(pod)) healthy++;
  }
  return healthy;
}

function selectorString(pdb: PodDisruptionBudget): string {
  const sel = pdb.spec?.selector;
  if (!sel) return '<none>';
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

export function newDisruptionController(ctx: ControllerContext, opts: DisruptionControllerOptions = {}): DisruptionController {
  return new DisruptionController(ctx, opts);
}
