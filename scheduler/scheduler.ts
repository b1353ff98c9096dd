// The running scheduler (upstream: scheduler.go, schedule_one.go, eventhandlers.go):
// informers feed the snapshot (assigned pods, nodes, namespaces) and the queue
// (unassigned pods this scheduler is responsible for); one loop pops a pod, runs the
// algorithm against the snapshot synchronously, assumes the pod on the chosen node
// and starts the bind — several binds are in flight at once and no decision waits on
// the API server. Pods that fit nowhere get preemption, a PodScheduled=False condition
// and a FailedScheduling event, and wait in the queue for an event that may help.
import type { Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, ReplicationController, Service } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { resourceByPath } from '../machinery/resources.js';
import type { ResourceInfo } from '../machinery/resources.js';
import type { ApiTransport, EventRecorder, Informer } from '../client/index.js';
import { SharedInformerFactory, createEventRecorder, isConflict, isNotFound } from '../client/index.js';
import type { ClusterEvent, Framework } from './framework.js';
import { Action } from './framework.js';
import type { Labels } from './labels.js';
import { NO_LABELS, Selector } from './labels.js';
import { PodInfo } from './podinfo.js';
import { Snapshot } from './snapshot.js';
import { SchedulingAlgorithm } from './schedule.js';
import { schedulingCycle } from './cycle.js';
import { Evaluator, budgetOf, resolvePriority } from './preemption.js';
import type { PreemptionOutcome } from './preemption.js';
import { SchedulingQueue } from './queue.js';
import type { QueuedPodInfo } from './queue.js';
import { DEFAULT_SCHEDULER_NAME, defaultFramework } from './profile.js';
import { listerFromStores } from '../controllers/volume/scheduling.js';
import { defaultRegistry } from '../machinery/metrics.js';

// Upstream's scheduler metrics (pkg/scheduler/metrics), in the process's registry.
const attemptsTotal = defaultRegistry.counter('scheduler_schedule_attempts_total', 'Number of attempts to schedule pods, by the result. \'unschedulable\' means a pod could not be scheduled, while \'error\' means an internal scheduler problem.', ['result', 'profile'], 'STABLE');
const pendingPods = defaultRegistry.gauge('scheduler_pending_pods', 'Number of pending pods, by the queue type. \'active\' means number of pods in activeQ; \'backoff\' means number of pods in backoffQ; \'unschedulable\' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; \'gated\' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.', ['queue'], 'STABLE');

const res = (group: string, version: string, plural: string): ResourceInfo => resourceByPath(group, version, plural)!;
const PODS = res('', 'v1', 'pods');
const NODES = res('', 'v1', 'nodes');
const NAMESPACES = res('', 'v1', 'namespaces');
const SERVICES = res('', 'v1', 'services');
const RCS = res('', 'v1', 'replicationcontrollers');
const REPLICASETS = res('apps', 'v1', 'replicasets');
const STATEFULSETS = res('apps', 'v1', 'statefulsets');
const PDBS = res('policy', 'v1', 'poddisruptionbudgets');
const PVCS = res('', 'v1', 'persistentvolumeclaims');
const PVS = res('', 'v1', 'persistentvolumes');
const STORAGECLASSES = res('storage.k8s.io', 'v1', 'storageclasses');
const PRIORITY_CLASSES = res('scheduling.k8s.io', 'v1', 'priorityclasses');

export interface SchedulerOptions {
  /** Pods with this spec.schedulerName (or none) are ours. Default `default-scheduler`. */
  schedulerName?: string;
  /** 0 (default): adaptive, as upstream. */
  percentageOfNodesToScore?: number;
  podInitialBackoffMs?: number;
  podMaxBackoffMs?: number;
  maxUnschedulableMs?: number;
  /** Binds in flight at once before the loop waits (default 256). */
  maxInFlightBinds?: number;
  /** Record Scheduled / FailedScheduling / Preempted events (default true). */
  recordEvents?: boolean;
  recorder?: EventRecorder;
  random?: () => number;
  log?: (msg: string) => void;
}

export interface SchedulerMetrics {
  attempts: number;
  scheduled: number;
  unschedulable: number;
  errors: number;
  preemptions: number;
  bindFailures: number;
  /** Milliseconds spent in the scheduling algorithm, per attempt (the most recent 200,000). */
  algorithmMs: Float64Array;
  algorithmSamples: number;
}

const MAX_SAMPLES = 200_000;

const running = new Set<Scheduler>();
defaultRegistry.collect(() => {
  const n = { active: 0, backoff: 0, unschedulable: 0, gated: 0 };
  for (const sch of running) {
    n.active += sch.queue.activeCount;
    n.backoff += sch.queue.backoffCount;
    n.unschedulable += sch.queue.unschedulableCount;
  }
  for (const [queue, v] of Object.entries(n)) pendingPods.set({ queue }, v);
});

/** Schedulers started in this process and not stopped (benchmarks and tests look theirs up). */
export function runningSchedulers(): readonly Scheduler[] {
  return [...running];
}

function rfc3339(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

function jsonEq(a: unknown, b: unknown): boolean {
  // The same object: a status write keeps the stored spec, labels and the like as they were.
  if (a === b) return true;
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Which scheduling-relevant parts of a node changed (NodeSchedulingPropertiesChange). */
export function nodeChanges(o: Node, n: Node): number {
  let bits = 0;
  if (!!o.spec?.unschedulable !== !!n.spec?.unschedulable && !n.spec?.unschedulable) bits |= Action.UpdateNodeTaint;
  if (!jsonEq(o.status?.allocatable, n.status?.allocatable)) bits |= Action.UpdateNodeAllocatable;
  if (!jsonEq(o.metadata?.labels, n.metadata?.labels)) bits |= Action.UpdateNodeLabel;
  if (!jsonEq(o.spec?.taints, n.spec?.taints)) bits |= Action.UpdateNodeTaint;
  const conds = (x: Node) => (x.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`).sort().join(',');
  if (conds(o) !== conds(n)) bits |= Action.UpdateNodeCondition;
  if (!jsonEq(o.metadata?.annotations, n.metadata?.annotations)) bits |= Action.UpdateNodeAnnotation;
  return bits;
}

/** Which parts of an assigned pod changed, as event action bits. */
function podChanges(o: PodInfo, n: PodInfo): number {
  let bits = 0;
  if (!jsonEq(o.labels, n.labels)) bits |= Action.UpdatePodLabel;
  if (n.requests.milliCPU < o.requests.milliCPU || n.requests.memory < o.requests.memory) bits |= Action.UpdatePodScaleDown;
  if (!jsonEq(o.tolerations, n.tolerations)) bits |= Action.UpdatePodToleration;
  return bits || Action.UpdateOther;
}

/** Anything beyond status and bookkeeping changed. */
function specChanged(a: Pod, b: Pod): boolean {
  const ma = a.metadata ?? {};
  const mb = b.metadata ?? {};
  return !jsonEq(ma.labels, mb.labels) || !jsonEq(ma.annotations, mb.annotations) || ma.deletionTimestamp !== mb.deletionTimestamp || !jsonEq(a.spec, b.spec);
}

export class Scheduler {
  readonly schedulerName: string;
  readonly snapshot = new Snapshot();
  readonly framework: Framework;
  readonly queue: SchedulingQueue;
  readonly algorithm: SchedulingAlgorithm;
  readonly preemption: Evaluator;
  readonly factory: SharedInformerFactory;
  readonly metrics: SchedulerMetrics = {
    attempts: 0,
    scheduled: 0,
    unschedulable: 0,
    errors: 0,
    preemptions: 0,
    bindFailures: 0,
    algorithmMs: new Float64Array(MAX_SAMPLES),
    algorithmSamples: 0,
  };
  /** Resolves once the caches have synced and the loop runs. */
  readonly ready: Promise<void>;

  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly namespaces: Informer<Namespace>;
  private readonly pdbs: Informer<PodDisruptionBudget>;
  private readonly priorityClasses: Informer<PriorityClass>;
  private readonly services: Informer<Service>;
  private readonly rcs: Informer<ReplicationController>;
  private readonly replicaSets: Informer<ReplicaSet>;
  private readonly statefulSets: Informer<StatefulSet>;
  private readonly recorder: EventRecorder | undefined;
  private readonly ownRecorder?: { flush(): Promise<void>; shutdown(): Promise<void> };
  private readonly log: (msg: string) => void;
  private readonly maxInFlight: number;
  private readonly writes = new Set<Promise<unknown>>();
  private bindsInFlight = 0;
  private slotWaiters: (() => void)[] = [];
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    readonly transport: ApiTransport,
    opts: SchedulerOptions = {},
  ) {
    running.add(this);
    this.schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.log = opts.log ?? ((m) => console.error(m));
    this.maxInFlight = opts.maxInFlightBinds ?? 256;
    // As upstream's scheduler, its informers keep no managedFields.
    this.factory = new SharedInformerFactory(transport, { informerDefaults: { stripManagedFields: true } });
    this.pods = this.factory.informerFor<Pod>(PODS);
    this.nodes = this.factory.informerFor<Node>(NODES);
    this.namespaces = this.factory.informerFor<Namespace>(NAMESPACES);
    this.pdbs = this.factory.informerFor<PodDisruptionBudget>(PDBS);
    this.priorityClasses = this.factory.informerFor<PriorityClass>(PRIORITY_CLASSES);
    this.services = this.factory.informerFor<Service>(SERVICES);
    this.rcs = this.factory.informerFor<ReplicationController>(RCS);
    this.replicaSets = this.factory.informerFor<ReplicaSet>(REPLICASETS);
    this.statefulSets = this.factory.informerFor<StatefulSet>(STATEFULSETS);
    const claims = this.factory.informerFor<PersistentVolumeClaim>(PVCS);
    const volumes = this.factory.informerFor<PersistentVolume>(PVS);
    const classes = this.factory.informerFor<StorageClass>(STORAGECLASSES);
    // A claim that appears or binds may make a waiting pod schedulable.
    claims.addEventHandler({
      onAdd: (c) => this.move('PersistentVolumeClaim', Action.Add, 'PvcAdd', undefined, c),
      onUpdate: (o, n) => this.move('PersistentVolumeClaim', Action.Update, 'PvcUpdate', o, n),
    });
    this.framework = defaultFramework({
      defaultSelector: (p) => this.defaultSelector(p),
      volumes: listerFromStores({ claims: claims.store, volumes: volumes.store, classes: classes.store }),
    });
    this.queue = new SchedulingQueue({
      initialBackoffMs: opts.podInitialBackoffMs,
      maxBackoffMs: opts.podMaxBackoffMs,
      maxUnschedulableMs: opts.maxUnschedulableMs,
      registeredEvents: this.framework.registeredEvents(),
      log: this.log,
    });
    this.algorithm = new SchedulingAlgorithm(this.framework, this.snapshot, { percentageOfNodesToScore: opts.percentageOfNodesToScore, random: opts.random });
    this.preemption = new Evaluator(this.framework, this.snapshot, { random: opts.random });
    if (opts.recorder) this.recorder = opts.recorder;
    else if (opts.recordEvents !== false) {
      const r = createEventRecorder(transport, this.schedulerName, { log: this.log });
      this.recorder = r;
      this.ownRecorder = r;
    }
    this.registerHandlers();
    this.ready = this.start();
  }

  // ---- informer events --------------------------------------------------------------------

  private move(resource: ClusterEvent['resource'], action: number, label: string, oldObj?: unknown, newObj?: unknown): void {
    this.queue.moveAllToActiveOrBackoffQueue({ resource, action, label }, oldObj, newObj);
  }

  private podInfo(pod: Pod, prev?: PodInfo): PodInfo {
    const priority = typeof pod.spec?.priority === 'number' ? pod.spec.priority : resolvePriority(pod, this.priorityClasses.store.list());
    return prev ? prev.forVersion(pod, priority) : new PodInfo(pod, priority);
  }

  private responsibleFor(pod: Pod): boolean {
    return (pod.spec?.schedulerName || DEFAULT_SCHEDULER_NAME) === this.schedulerName;
  }

  private registerHandlers(): void {
    this.nodes.addEventHandler({
      onAdd: (n) => {
        this.snapshot.setNode(n);
        this.move('Node', Action.Add, 'NodeAdd', undefined, n);
      },
      onUpdate: (o, n) => {
        if (o === n) return;
        this.snapshot.setNode(n);
        const bits = nodeChanges(o, n);
        if (bits) this.move('Node', bits, 'NodeUpdate', o, n);
      },
      onDelete: (n) => {
        this.snapshot.removeNode(n.metadata?.name ?? '');
        this.move('Node', Action.Delete, 'NodeDelete', n, undefined);
      },
    });
    this.namespaces.addEventHandler({
      onAdd: (ns) => this.snapshot.setNamespace(ns.metadata?.name ?? '', (ns.metadata?.labels ?? NO_LABELS) as Labels),
      onUpdate: (_o, ns) => this.snapshot.setNamespace(ns.metadata?.name ?? '', (ns.metadata?.labels ?? NO_LABELS) as Labels),
      onDelete: (ns) => this.snapshot.removeNamespace(ns.metadata?.name ?? ''),
    });
    this.pods.addEventHandler({
      onAdd: (pod) => this.onPodAdd(pod),
      onUpdate: (o, n) => this.onPodUpdate(o, n),
      onDelete: (pod) => this.onPodDelete(pod),
    });
  }

  private onPodAdd(pod: Pod): void {
    if (pod.spec?.nodeName) {
      if (isTerminal(pod)) return;
      this.addAssigned(pod);
      return;
    }
    if (!this.responsibleFor(pod) || isTerminal(pod) || pod.metadata?.deletionTimestamp) return;
    this.queue.add(this.podInfo(pod));
  }

  private addAssigned(pod: Pod): void {
    const p = this.podInfo(pod);
    if (this.snapshot.isAssumed(p.key)) this.snapshot.confirmPod(p);
    else this.snapshot.addPod(p);
    this.move('AssignedPod', Action.Add, 'AssignedPodAdd', undefined, pod);
  }

  private onPodUpdate(o: Pod, n: Pod): void {
    if (o === n || o.metadata?.resourceVersion === n.metadata?.resourceVersion) return;
    const key = `${n.metadata?.namespace ?? 'default'}/${n.metadata?.name ?? ''}`;
    if (n.spec?.nodeName) {
      if (!o.spec?.nodeName) {
        // Bound (by us or anyone): leaves the queue, joins the snapshot.
        this.queue.delete(key);
        if (!isTerminal(n)) this.addAssigned(n);
        return;
      }
      if (isTerminal(n)) {
        if (this.snapshot.removePod(key)) this.move('AssignedPod', Action.Delete, 'AssignedPodDelete', o, undefined);
        return;
      }
      const before = this.snapshot.pods.get(key);
      const p = this.podInfo(n, before);
      if (!before) {
        this.addAssigned(n);
        return;
      }
      if (!specChanged(o, n)) {
        this.snapshot.confirmPod(p);
        return;
      }
      this.snapshot.addPod(p);
      this.move('AssignedPod', podChanges(before, p), 'AssignedPodUpdate', o, n);
      return;
    }
    if (this.snapshot.isAssumed(key)) return;
    if (!this.responsibleFor(n) || isTerminal(n) || n.metadata?.deletionTimestamp) {
      this.queue.delete(key);
      return;
    }
    const q = this.queue.get(key);
    this.queue.update(q?.podInfo, this.podInfo(n, q?.podInfo));
  }

  private onPodDelete(pod: Pod): void {
    const key = `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`;
    this.queue.delete(key);
    if (this.snapshot.removePod(key)) this.move('AssignedPod', Action.Delete, 'AssignedPodDelete', pod, undefined);
  }

  private readonly serviceSelectors = new WeakMap<Service, Selector>();

  /** helper.DefaultSelector: the selectors of the pod's Services and controller, merged. */
  private defaultSelector(p: PodInfo): Selector {
    const set: Record<string, string> = {};
    for (const svc of this.services.store.listNamespace(p.namespace)) {
      const sel = svc.spec?.selector;
      if (!sel) continue;
      let compiled = this.serviceSelectors.get(svc);
      if (!compiled) this.serviceSelectors.set(svc, (compiled = Selector.fromSet(sel)));
      if (compiled.matches(p.labels)) Object.assign(set, sel);
    }
    let selector = Object.keys(set).length > 0 ? Selector.fromSet(set) : Selector.EVERYTHING;
    const owner = p.pod.metadata?.ownerReferences?.find((r) => r.controller);
    if (!owner) return selector;
    if (owner.kind === 'ReplicationController' && owner.apiVersion === 'v1') {
      const rc = this.rcs.store.get(p.namespace, owner.name);
      if (rc?.spec?.selector) selector = Selector.fromSet({ ...set, ...rc.spec.selector });
    } else if ((owner.kind === 'ReplicaSet' || owner.kind === 'StatefulSet') && owner.apiVersion === 'apps/v1') {
      const ctrl = owner.kind === 'ReplicaSet' ? this.replicaSets.store.get(p.namespace, owner.name) : this.statefulSets.store.get(p.namespace, owner.name);
      if (ctrl?.spec?.selector) selector = selector.and(Selector.from(ctrl.spec.selector));
    }
    return selector;
  }

  // ---- the loop -------------------------------------------------------------------------

  private async start(): Promise<void> {
    this.factory.start();
    const synced = await this.factory.waitForCacheSync();
    if (!synced || this.stopped) return;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let lastYield = performance.now();
    while (!this.stopped) {
      let q = this.queue.tryPop();
      if (!q) {
        q = await this.queue.pop();
        if (!q) break;
        lastYield = performance.now();
      }
      if (this.bindsInFlight >= this.maxInFlight) {
        await new Promise<void>((r) => this.slotWaiters.push(r));
        if (this.stopped) break;
      }
      try {
        this.scheduleOne(q);
      } catch (err) {
        this.log(`scheduler: scheduling ${q.key} failed: ${(err as Error).stack ?? err}`);
        this.queue.addUnschedulableIfNotPresent(q, new Set(), true);
      }
      // Let watch events, timers and I/O in between decisions.
      if (performance.now() - lastYield > 20) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
  }

  /** One scheduling cycle, synchronous up to the (asynchronous) bind. */
  scheduleOne(q: QueuedPodInfo): void {
    const key = q.key;
    const pod = this.pods.store.getByKey(key);
    if (!pod || pod.spec?.nodeName || pod.metadata?.deletionTimestamp || this.snapshot.isAssumed(key)) {
      this.queue.done(key);
      return;
    }
    if (q.podInfo.pod !== pod) q.podInfo = this.podInfo(pod);
    const p = q.podInfo;
    this.metrics.attempts++;
    const start = performance.now();
    const r = schedulingCycle(this.algorithm, this.preemption, p, this.pdbs.store.list().map(budgetOf), this.queue);
    this.recordAlgorithm(start);
    if (r.kind === 'unschedulable') {
      this.metrics.unschedulable++;
      attemptsTotal.inc({ result: 'unschedulable', profile: DEFAULT_SCHEDULER_NAME });
      if (r.preemption) {
        this.metrics.preemptions++;
        this.executePreemption(p, r.preemption);
      }
      this.failure(q, r.rejectedBy, r.message, 'Unschedulable', r.nominate ? { node: r.nominate } : r.clearNomination ? { clear: true } : undefined);
      return;
    }
    const assumed = p.withNodeName(r.node);
    this.snapshot.assumePod(assumed);
    this.queue.deleteNominated(key);
    this.queue.done(key);
    this.bind(q, assumed, r.node);
  }

  private recordAlgorithm(start: number): void {
    const m = this.metrics;
    m.algorithmMs[m.algorithmSamples % MAX_SAMPLES] = performance.now() - start;
    m.algorithmSamples++;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.writes.add(p);
    void p.finally(() => this.writes.delete(p)).catch(() => undefined);
    return p;
  }

  private bind(q: QueuedPodInfo, assumed: PodInfo, node: string): void {
    this.bindsInFlight++;
    const body = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: assumed.name, namespace: assumed.namespace, uid: assumed.uid || undefined },
      target: { apiVersion: 'v1', kind: 'Node', name: node },
    };
    const done = () => {
      this.bindsInFlight--;
      const w = this.slotWaiters.shift();
      if (w) w();
    };
    this.track(
      // The answer (a Status) is not read: no copy of it.
      this.transport.createSubresource(PODS, assumed.namespace, assumed.name, 'binding', body, { readOnly: true }).then(
        () => {
          done();
          this.metrics.scheduled++;
          attemptsTotal.inc({ result: 'scheduled', profile: DEFAULT_SCHEDULER_NAME });
          this.recorder?.event(assumed.pod, 'Normal', 'Scheduled', `Successfully assigned ${assumed.namespace}/${assumed.name} to ${node}`);
        },
        (err: unknown) => {
          done();
          this.metrics.bindFailures++;
          const forgotten = this.snapshot.forgetPod(assumed.key);
          if (forgotten) this.move('AssignedPod', Action.Delete, 'AssignedPodDelete', forgotten.pod, undefined);
          const cur = this.pods.store.getByKey(assumed.key);
          if (!cur || cur.spec?.nodeName || isNotFound(err)) return;
          const msg = `binding rejected: ${(err as Error).message}`;
          if (!isConflict(err)) this.log(`scheduler: ${msg} (${assumed.key} → ${node})`);
          this.metrics.errors++;
          attemptsTotal.inc({ result: 'error', profile: DEFAULT_SCHEDULER_NAME });
          this.failure(q, new Set(), msg, 'SchedulerError', undefined, true);
        },
      ),
    );
  }

  /** handleSchedulingFailure: back to the queue, an event, and the PodScheduled condition. */
  private failure(q: QueuedPodInfo, rejectedBy: ReadonlySet<string>, message: string, reason: string, nominating?: { node?: string; clear?: boolean }, error = false): void {
    const pod = this.pods.store.getByKey(q.key);
    if (!pod || pod.spec?.nodeName || pod.metadata?.deletionTimestamp) {
      this.queue.done(q.key);
      return;
    }
    this.queue.addUnschedulableIfNotPresent(q, rejectedBy, error);
    if (nominating?.node) this.queue.addNominated(q.podInfo, nominating.node);
    else if (nominating?.clear) this.queue.deleteNominated(q.key);
    this.recorder?.event(pod, 'Warning', 'FailedScheduling', message);
    this.patchScheduledCondition(pod, reason, message, nominating);
  }

  private patchScheduledCondition(pod: Pod, reason: string, message: string, nominating?: { node?: string; clear?: boolean }): void {
    const existing = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    const nnCur = pod.status?.nominatedNodeName ?? '';
    const nnWant = nominating?.node ?? (nominating?.clear ? '' : nnCur);
    const condChanged = !existing || existing.status !== 'False' || existing.reason !== reason || existing.message !== message;
    if (!condChanged && nnWant === nnCur) return;
    const status: Record<string, unknown> = {
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason,
          message,
          lastProbeTime: null,
          lastTransitionTime: existing && existing.status === 'False' && existing.lastTransitionTime ? existing.lastTransitionTime : rfc3339(),
        },
      ],
    };
    if (nnWant !== nnCur) status.nominatedNodeName = nnWant === '' ? null : nnWant;
    const ns = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    this.track(
      this.transport.patch(PODS, ns, name, 'strategic', { status }, { subresource: 'status', readOnly: true }).catch((err: unknown) => {
        if (!isNotFound(err)) this.log(`scheduler: updating the status of ${ns}/${name}: ${(err as Error).message}`);
      }),
    );
  }

  /** prepareCandidate: mark and delete the victims, clear lower-priority nominations on the node. */
  private executePreemption(preemptor: PodInfo, outcome: Extract<PreemptionOutcome, { ok: true }>): void {
    const node = outcome.candidate.node;
    for (const v of outcome.candidate.victims) {
      if (v.terminating) continue;
      const work = async () => {
        try {
          await this.transport.patch(
            PODS,
            v.namespace,
            v.name,
            'strategic',
            {
              status: {
                conditions: [
                  {
                    type: 'DisruptionTarget',
                    status: 'True',
                    reason: 'PreemptionByScheduler',
                    message: `${this.schedulerName}: preempting to accommodate a higher priority pod`,
                    lastTransitionTime: rfc3339(),
                  },
                ],
              },
            },
            { subresource: 'status', readOnly: true },
          );
          await this.transport.delete(PODS, v.namespace, v.name, v.uid ? { preconditions: { uid: v.uid }, readOnly: true } : { readOnly: true });
          this.recorder?.event(v.pod, 'Normal', 'Preempted', `Preempted by pod ${preemptor.uid} on node ${node}`);
        } catch (err) {
          if (!isNotFound(err)) this.log(`scheduler: preempting ${v.key} for ${preemptor.key}: ${(err as Error).message}`);
          // The preemptor may be stuck waiting for this victim: let it try again.
          this.queue.activate([preemptor.key]);
        }
      };
      this.track(work());
    }
    for (const np of outcome.lowerPriorityNominated) {
      this.queue.deleteNominated(np.key);
      this.track(
        this.transport.patch(PODS, np.namespace, np.name, 'strategic', { status: { nominatedNodeName: null } }, { subresource: 'status', readOnly: true }).catch((err: unknown) => {
          if (!isNotFound(err)) this.log(`scheduler: clearing the nomination of ${np.key}: ${(err as Error).message}`);
        }),
      );
    }
  }

  /** Wait until every write the scheduler started has settled. */
  async flush(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
    await this.ownRecorder?.flush();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    running.delete(this);
    this.queue.close();
    for (const w of this.slotWaiters.splice(0)) w();
    await this.ready.catch(() => undefined);
    await this.loop;
    await this.factory.stop();
    await Promise.allSettled([...this.writes]);
    await this.ownRecorder?.shutdown();
  }
}

/** Start a scheduler on an API transport (in process: a LocalTransport). */
export function startScheduler(transport: ApiTransport, opts: SchedulerOptions = {}): Scheduler {
  const s = new Scheduler(transport, opts);
  s.ready.catch((err: unknown) => (opts.log ?? console.error)(`scheduler: failed to start: ${(err as Error).message}`));
  return s;
}
