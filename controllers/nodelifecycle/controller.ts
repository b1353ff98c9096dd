// The node lifecycle controller (upstream: pkg/controller/nodelifecycle/
// node_lifecycle_controller.go). Every node-monitor-period it checks each node's
// heartbeats — its Lease in kube-node-lease and the Ready condition's
// lastHeartbeatTime — and a node silent for longer than node-monitor-grace-period
// (node-startup-grace-period before it ever posted Ready) gets Ready, MemoryPressure,
// DiskPressure and PIDPressure set to Unknown ("Kubelet stopped posting node
// status."), a NodeNotReady event, and its pods marked not ready. Nodes that are not
// Ready get the NoExecute taint matching their state (`unreachable` for Unknown,
// `not-ready` for False) through a rate-limited per-zone queue — unless every node of
// every zone is down, in which case the controller assumes its own connectivity is
// the problem and stops (upstream's "master disruption mode"). Independently, node
// conditions and spec.unschedulable are mirrored as NoSchedule taints.
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node, NodeCondition, Pod, Taint } from 'kubernetes-types/core/v1.js';
import type { Controller } from '../../client/controller.js';
import { QueueController } from '../../client/controller.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { NODE_NAME_INDEX, indexByNodeName } from '../../client/store.js';
import type { ApiTransport } from '../../client/transport.js';
import type { Mutable } from '../../machinery/object.js';
import { jsonCopy } from '../../machinery/object.js';
import type { ControllerContext } from '../manager.js';
import {
  CONDITION_TAINTS,
  CONDITION_TAINT_KEYS,
  LEASES,
  NODES,
  NODE_LEASE_NAMESPACE,
  NOT_READY_NO_EXECUTE,
  PODS,
  TAINT_UNSCHEDULABLE,
  UNREACHABLE_NO_EXECUTE,
  getCondition,
  markPodsNotReady,
  matchTaint,
  rfc3339,
  swapNodeTaints,
  taintExists,
  zoneKey,
} from './taints.js';

export interface NodeLifecycleOptions {
  /** How often node health is checked (upstream --node-monitor-period, 5 s). */
  nodeMonitorPeriodMs?: number;
  /** Silence after which a node is Unknown (upstream --node-monitor-grace-period, 40 s). */
  nodeMonitorGracePeriodMs?: number;
  /** The same for a node that never posted Ready (upstream --node-startup-grace-period, 60 s). */
  nodeStartupGracePeriodMs?: number;
  /** NoExecute tainting rate per zone (upstream --node-eviction-rate, 0.1/s). */
  evictionLimiterQPS?: number;
  /** The rate in a partially disrupted large zone (upstream --secondary-node-eviction-rate, 0.01/s). */
  secondaryEvictionLimiterQPS?: number;
  /** Zones bigger than this keep tainting (slowly) when partially disrupted (upstream 50). */
  largeClusterThreshold?: number;
  /** Fraction of not-ready nodes that makes a zone partially disrupted (upstream 0.55). */
  unhealthyZoneThreshold?: number;
  /** How often the NoExecute taint queues are worked (upstream 100 ms). */
  taintPassPeriodMs?: number;
  now?: () => number;
  log?: (msg: string) => void;
}

type ZoneState = 'Initial' | 'Normal' | 'FullDisruption' | 'PartialDisruption';

interface NodeHealth {
  /** The node's Ready condition as last seen (a copy). */
  readyCondition?: NodeCondition;
  probeTimestamp: number;
  readyTransitionTimestamp: number;
  leaseRenewTime?: number;
}

/** metav1.MicroTime / Time → ms (fractions below a millisecond kept as a fraction). */
function parseTime(t: string | undefined): number | undefined {
  if (!t) return undefined;
  const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) return Date.parse(t);
  const base = Date.parse(m[1] + m[3]);
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return base + frac;
}

/** A token bucket (burst 1, as upstream's eviction limiter); qps 0 never accepts. */
class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    readonly qps: number,
    private readonly now: () => number,
    private readonly burst = 1,
  ) {
    this.tokens = qps > 0 ? burst : 0;
    this.last = now();
  }
  tryAccept(): boolean {
    if (this.qps <= 0) return false;
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Upstream's RateLimitedTimedQueue: node names waiting to be tainted, in order, each
 * processed once the limiter allows. A name stays "known" after it was processed
 * until remove() — so it is not queued twice.
 */
class RateLimitedTimedQueue {
  private readonly queue = new Map<string, { uid: string; processAt: number }>();
  private readonly known = new Set<string>();
  constructor(
    private limiter: TokenBucket,
    private readonly now: () => number,
  ) {}
  add(name: string, uid: string): boolean {
    if (this.known.has(name)) return false;
    this.known.add(name);
    this.queue.set(name, { uid, processAt: this.now() });
    return true;
  }
  remove(name: string): boolean {
    this.queue.delete(name);
    return this.known.delete(name);
  }
  swapLimiter(qps: number): void {
    if (this.limiter.qps === qps) return;
    this.limiter = new TokenBucket(qps, this.now);
  }
  async try(fn: (name: string, uid: string) => Promise<{ ok: boolean; retryMs: number }>): Promise<void> {
    for (;;) {
      const head = [...this.queue.entries()].sort((a, b) => a[1].processAt - b[1].processAt)[0];
      if (!head) return;
      if (!this.limiter.tryAccept()) return;
      const now = this.now();
      if (now < head[1].processAt) return;
      const { ok, retryMs } = await fn(head[0], head[1].uid);
      if (!this.queue.has(head[0])) continue;
      if (ok) this.queue.delete(head[0]);
      else this.queue.set(head[0], { uid: head[1].uid, processAt: now + retryMs + 1 });
    }
  }
}

const NODE_CONDITIONS_SET_UNKNOWN = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];
const LABEL_EXCLUDE_DISRUPTION = 'node.kubernetes.io/exclude-disruption';
const NODE_HEALTH_UPDATE_RETRY = 5;

export class NodeLifecycleController implements Controller {
  readonly name = 'nodelifecycle';
  readonly nodes: Informer<Node>;
  readonly leases: Informer<Lease>;
  readonly pods: Informer<Pod>;
  private readonly transport: ApiTransport;
  private readonly recorder: EventRecorder;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;
  private readonly opts: Required<Omit<NodeLifecycleOptions, 'now' | 'log'>>;
  private readonly nodeHealth = new Map<string, NodeHealth>();
  private readonly knownNodes = new Map<string, Node>();
  private readonly zoneStates = new Map<string, ZoneState>();
  private readonly zoneTainters = new Map<string, RateLimitedTimedQueue>();
  private readonly nodesToRetry = new Set<string>();
  /** NoSchedule taints from conditions (upstream nodeUpdateQueue + doNoScheduleTaintingPass). */
  private readonly noSchedule: QueueController;
  /** Pods newly bound to a node that is not ready get marked not ready (upstream podUpdateQueue). */
  private readonly podUpdates: QueueController;
  private stopped = false;
  private started = false;
  private monitorLoop?: Promise<void>;
  private taintTimer?: NodeJS.Timeout;
  private taintPassRunning = false;
  private wake?: () => void;

  constructor(ctx: ControllerContext, options: NodeLifecycleOptions = {}) {
    this.transport = ctx.transport;
    this.recorder = ctx.events.newRecorder('node-controller');
    this.now = options.now ?? Date.now;
    this.log = options.log ?? ((msg) => console.error(`node lifecycle controller: ${msg}`));
    this.opts = {
      nodeMonitorPeriodMs: options.nodeMonitorPeriodMs ?? 5_000,
      nodeMonitorGracePeriodMs: options.nodeMonitorGracePeriodMs ?? 40_000,
      nodeStartupGracePeriodMs: options.nodeStartupGracePeriodMs ?? 60_000,
      evictionLimiterQPS: options.evictionLimiterQPS ?? 0.1,
      secondaryEvictionLimiterQPS: options.secondaryEvictionLimiterQPS ?? 0.01,
      largeClusterThreshold: options.largeClusterThreshold ?? 50,
      unhealthyZoneThreshold: options.unhealthyZoneThreshold ?? 0.55,
      taintPassPeriodMs: options.taintPassPeriodMs ?? 100,
    };
    this.nodes = ctx.informers.informerFor<Node>(NODES);
    this.leases = ctx.informers.informerFor<Lease>(LEASES, { namespace: NODE_LEASE_NAMESPACE });
    this.pods = ctx.informers.informerFor<Pod>(PODS, { indexers: { [NODE_NAME_INDEX]: indexByNodeName } });

    this.noSchedule = new QueueController({ name: 'node-lifecycle-noschedule', workers: 4, reconcile: (name) => this.doNoScheduleTaintingPass(name) });
    this.noSchedule.watch(this.nodes, (n) => n.metadata?.name);
    this.noSchedule.requireSynced(this.leases);
    this.noSchedule.requireSynced(this.pods);

    this.podUpdates = new QueueController({ name: 'node-lifecycle-pods', workers: 2, reconcile: (key) => this.processPod(key) });
    this.podUpdates.watch(
      this.pods,
      (p) => (p.spec?.nodeName ? `${p.metadata?.namespace}/${p.metadata?.name}` : undefined),
      { update: (a, b) => !!b.spec?.nodeName && a.spec?.nodeName !== b.spec?.nodeName },
    );
  }

  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    this.started = true;
    await Promise.all([this.noSchedule.start(), this.podUpdates.start()]);
    if (this.stopped) return;
    this.monitorLoop = this.runMonitor();
    this.taintTimer = setInterval(() => void this.doNoExecuteTaintingPass(), this.opts.taintPassPeriodMs);
    this.taintTimer.unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.taintTimer) clearInterval(this.taintTimer);
    this.wake?.();
    await Promise.all([this.noSchedule.stop(), this.podUpdates.stop()]);
    await this.monitorLoop;
  }

  private async runMonitor(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.monitorNodeHealth();
      } catch (err) {
        this.log(`error monitoring node health: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (this.stopped) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.opts.nodeMonitorPeriodMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private podsOnNode(name: string): Pod[] {
    return this.pods.store.byIndex(NODE_NAME_INDEX, name);
  }

  private nodeRef(node: Node) {
    return { apiVersion: 'v1', kind: 'Node', name: node.metadata?.name, uid: node.metadata?.uid };
  }

  /** One pass over every node (upstream monitorNodeHealth). */
  async monitorNodeHealth(): Promise<void> {
    const nodes = this.nodes.store.list();
    const names = new Set(nodes.map((n) => n.metadata!.name!));
    for (const node of nodes) {
      const name = node.metadata!.name!;
      if (!this.knownNodes.has(name)) {
        this.recorder.event(this.nodeRef(node), 'Normal', 'RegisteredNode', `Registered Node ${name} in Controller`);
        this.knownNodes.set(name, node);
        this.addZoneTainter(node);
        await this.markNodeAsReachable(node);
      } else if (!this.zoneStates.has(zoneKey(node))) {
        this.addZoneTainter(node);
      }
    }
    for (const [name, node] of this.knownNodes) {
      if (names.has(name)) continue;
      this.recorder.event(this.nodeRef(node), 'Normal', 'RemovingNode', `Removing Node ${name} from Controller`);
      this.knownNodes.delete(name);
      this.nodeHealth.delete(name);
    }

    const zoneConditions = new Map<string, (NodeCondition | undefined)[]>();
    for (const cached of nodes) {
      let node = jsonCopy(cached) as Mutable<Node>;
      let result: { observed: NodeCondition; current?: NodeCondition } | undefined;
      for (let i = 0; i < NODE_HEALTH_UPDATE_RETRY; i++) {
        try {
          result = await this.tryUpdateNodeHealth(node);
          break;
        } catch {
          try {
            node = await this.transport.get<Node>(NODES, undefined, node.metadata!.name!);
          } catch {
            break; // probably deleted
          }
        }
      }
      if (!result) {
        this.log(`update health of node ${node.metadata?.name} failed, skipping - no pods will be evicted`);
        continue;
      }
      const { observed, current } = result;
      if (!(LABEL_EXCLUDE_DISRUPTION in (node.metadata?.labels ?? {}))) {
        const zone = zoneKey(node);
        const list = zoneConditions.get(zone) ?? [];
        list.push(current);
        zoneConditions.set(zone, list);
      }
      const name = node.metadata!.name!;
      if (current) {
        await this.processTaintBaseEviction(node, observed);
        const needsRetry = this.nodesToRetry.has(name);
        let mark = false;
        if (current.status !== 'True' && observed.status === 'True') {
          this.recorder.event(this.nodeRef(node), 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
          mark = true;
        } else if (needsRetry && observed.status !== 'True') {
          mark = true;
        }
        if (mark) {
          try {
            // Looked up only when needed: every 5 s for every node, that is every pod.
            await markPodsNotReady(this.transport, this.recorder, this.podsOnNode(name), name);
          } catch (err) {
            this.log(`unable to mark all pods NotReady on node ${name}: ${err instanceof Error ? err.message : String(err)}; queuing for retry`);
            this.nodesToRetry.add(name);
            continue;
          }
        }
      }
      this.nodesToRetry.delete(name);
    }
    await this.handleDisruption(zoneConditions, nodes);
  }

  /**
   * Compare the node's heartbeats with what was seen before; past the grace period, set
   * its conditions to Unknown. Returns the Ready condition as observed and as it is now.
   */
  async tryUpdateNodeHealth(node: Mutable<Node>): Promise<{ observed: NodeCondition; current?: NodeCondition }> {
    const name = node.metadata!.name!;
    let health = this.nodeHealth.get(name);
    const created = parseTime(node.metadata?.creationTimestamp) ?? this.now();
    let gracePeriod: number;
    let observed: NodeCondition;
    let current = getCondition(node.status?.conditions, 'Ready');
    if (!current) {
      // Never posted: pretend a Ready=Unknown from the node's creation.
      observed = { type: 'Ready', status: 'Unknown', lastHeartbeatTime: node.metadata?.creationTimestamp, lastTransitionTime: node.metadata?.creationTimestamp };
      gracePeriod = this.opts.nodeStartupGracePeriodMs;
      if (health) health = { ...health, readyCondition: undefined };
      else health = { probeTimestamp: created, readyTransitionTimestamp: created };
    } else {
      observed = jsonCopy(current);
      gracePeriod = this.opts.nodeMonitorGracePeriodMs;
    }
    const saved = health?.readyCondition;
    const savedLease = health?.leaseRenewTime;
    const now = this.now();
    if (!health) {
      health = { readyCondition: current && jsonCopy(current), probeTimestamp: now, readyTransitionTimestamp: now };
    } else if (!saved && current) {
      health = { readyCondition: jsonCopy(current), probeTimestamp: now, readyTransitionTimestamp: now };
    } else if (saved && current && saved.lastHeartbeatTime !== current.lastHeartbeatTime) {
      const transition = saved.lastTransitionTime !== current.lastTransitionTime ? now : health.readyTransitionTimestamp;
      health = { readyCondition: jsonCopy(current), probeTimestamp: now, readyTransitionTimestamp: transition };
    }
    // A renewed lease always counts as a heartbeat.
    const lease = this.leases.store.get(NODE_LEASE_NAMESPACE, name);
    const renew = parseTime(lease?.spec?.renewTime);
    if (renew !== undefined && (savedLease === undefined || savedLease < renew)) {
      health = { ...health, leaseRenewTime: renew, probeTimestamp: now };
    }
    this.nodeHealth.set(name, health);

    if (now > health.probeTimestamp + gracePeriod) {
      const conditions = [...(node.status?.conditions ?? [])].map((c) => ({ ...c }));
      const at = rfc3339(now);
      for (const type of NODE_CONDITIONS_SET_UNKNOWN) {
        const c = conditions.find((x) => x.type === type);
        if (!c) {
          conditions.push({ type, status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: node.metadata?.creationTimestamp, lastTransitionTime: at });
        } else if (c.status !== 'Unknown') {
          c.status = 'Unknown';
          c.reason = 'NodeStatusUnknown';
          c.message = 'Kubelet stopped posting node status.';
          c.lastTransitionTime = at;
        }
      }
      node.status = { ...(node.status ?? {}), conditions };
      current = getCondition(conditions, 'Ready');
      if (JSON.stringify(current) !== JSON.stringify(observed)) {
        const updated = await this.transport.updateStatus<Node>(NODES, undefined, node);
        node.metadata = updated.metadata;
        node.status = updated.status;
        this.nodeHealth.set(name, {
          readyCondition: current && jsonCopy(current),
          probeTimestamp: health.probeTimestamp,
          readyTransitionTimestamp: now,
          leaseRenewTime: renew ?? health.leaseRenewTime,
        });
      }
    }
    return { observed, current };
  }

  // ---- NoExecute taints ---------------------------------------------------------------

  private addZoneTainter(node: Node): void {
    const zone = zoneKey(node);
    if (this.zoneStates.has(zone)) return;
    this.zoneStates.set(zone, 'Initial');
    this.zoneTainters.set(zone, new RateLimitedTimedQueue(new TokenBucket(this.opts.evictionLimiterQPS, this.now), this.now));
  }

  private tainter(node: Node): RateLimitedTimedQueue {
    this.addZoneTainter(node);
    return this.zoneTainters.get(zoneKey(node))!;
  }

  private async processTaintBaseEviction(node: Node, observed: NodeCondition): Promise<void> {
    const taints = node.spec?.taints ?? [];
    switch (observed.status) {
      case 'False':
        if (taintExists(taints, UNREACHABLE_NO_EXECUTE)) {
          // Straight away: the node is reachable again, just not ready.
          if (!(await swapNodeTaints(this.transport, node, [NOT_READY_NO_EXECUTE], [UNREACHABLE_NO_EXECUTE], this.log))) this.log(`failed to swap the unreachable taint for not-ready on node ${node.metadata?.name}`);
        } else {
          this.markNodeForTainting(node, 'False');
        }
        break;
      case 'Unknown':
        if (taintExists(taints, NOT_READY_NO_EXECUTE)) {
          if (!(await swapNodeTaints(this.transport, node, [UNREACHABLE_NO_EXECUTE], [NOT_READY_NO_EXECUTE], this.log))) this.log(`failed to swap the not-ready taint for unreachable on node ${node.metadata?.name}`);
        } else {
          this.markNodeForTainting(node, 'Unknown');
        }
        break;
      case 'True':
        await this.markNodeAsReachable(node);
        break;
    }
  }

  private markNodeForTainting(node: Node, status: 'False' | 'Unknown'): boolean {
    const q = this.tainter(node);
    const name = node.metadata!.name!;
    if (status === 'False' && !taintExists(node.spec?.taints, NOT_READY_NO_EXECUTE)) q.remove(name);
    if (status === 'Unknown' && !taintExists(node.spec?.taints, UNREACHABLE_NO_EXECUTE)) q.remove(name);
    return q.add(name, node.metadata?.uid ?? '');
  }

  private async markNodeAsReachable(node: Node): Promise<boolean> {
    const taints = node.spec?.taints ?? [];
    if (taintExists(taints, UNREACHABLE_NO_EXECUTE) || taintExists(taints, NOT_READY_NO_EXECUTE)) {
      if (!(await swapNodeTaints(this.transport, node, [], [UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE], this.log))) return false;
    }
    return this.tainter(node).remove(node.metadata!.name!);
  }

  /** Work the per-zone queues: taint nodes still not ready (upstream doNoExecuteTaintingPass). */
  async doNoExecuteTaintingPass(): Promise<void> {
    if (this.taintPassRunning || this.stopped) return;
    this.taintPassRunning = true;
    try {
      for (const q of [...this.zoneTainters.values()]) {
        await q.try(async (name) => {
          const node = this.nodes.store.get(undefined, name);
          if (!node) return { ok: true, retryMs: 0 };
          const ready = getCondition(node.status?.conditions, 'Ready');
          if (!ready) return { ok: true, retryMs: 0 };
          let add: Taint;
          let opposite: Taint;
          if (ready.status === 'False') {
            add = NOT_READY_NO_EXECUTE;
            opposite = UNREACHABLE_NO_EXECUTE;
          } else if (ready.status === 'Unknown') {
            add = UNREACHABLE_NO_EXECUTE;
            opposite = NOT_READY_NO_EXECUTE;
          } else {
            return { ok: true, retryMs: 0 }; // ready again
          }
          return { ok: await swapNodeTaints(this.transport, node, [add], [opposite], this.log), retryMs: 0 };
        });
      }
    } catch (err) {
      this.log(`NoExecute tainting pass failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.taintPassRunning = false;
    }
  }

  // ---- zones --------------------------------------------------------------------------

  private computeZoneState(conditions: readonly (NodeCondition | undefined)[]): ZoneState {
    let ready = 0;
    let notReady = 0;
    for (const c of conditions) {
      if (c?.status === 'True') ready++;
      else notReady++;
    }
    if (ready === 0 && notReady > 0) return 'FullDisruption';
    if (notReady > 2 && notReady / (notReady + ready) >= this.opts.unhealthyZoneThreshold) return 'PartialDisruption';
    return 'Normal';
  }

  private qpsFor(state: ZoneState, zoneSize: number): number {
    switch (state) {
      case 'PartialDisruption':
        return zoneSize > this.opts.largeClusterThreshold ? this.opts.secondaryEvictionLimiterQPS : 0;
      default:
        return this.opts.evictionLimiterQPS;
    }
  }

  private async handleDisruption(zoneConditions: Map<string, (NodeCondition | undefined)[]>, nodes: readonly Node[]): Promise<void> {
    const newStates = new Map<string, ZoneState>();
    let allAreFullyDisrupted = true;
    for (const [zone, conds] of zoneConditions) {
      const state = this.computeZoneState(conds);
      if (state !== 'FullDisruption') allAreFullyDisrupted = false;
      newStates.set(zone, state);
      if (!this.zoneStates.has(zone)) this.zoneStates.set(zone, 'Initial');
    }
    let allWasFullyDisrupted = true;
    for (const [zone, state] of [...this.zoneStates]) {
      if (!zoneConditions.has(zone)) {
        this.zoneStates.delete(zone);
        continue;
      }
      if (state !== 'FullDisruption') {
        allWasFullyDisrupted = false;
        break;
      }
    }
    if (allAreFullyDisrupted && allWasFullyDisrupted) return;
    if (allAreFullyDisrupted) {
      this.log('controller detected that all Nodes are not-Ready. Entering master disruption mode');
      for (const node of nodes) await this.markNodeAsReachable(node);
      for (const zone of this.zoneStates.keys()) {
        this.zoneTainters.get(zone)?.swapLimiter(0);
        this.zoneStates.set(zone, 'FullDisruption');
      }
      return;
    }
    if (allWasFullyDisrupted) {
      this.log('controller detected that some Nodes are Ready. Exiting master disruption mode');
      const now = this.now();
      for (const node of nodes) {
        const h = this.nodeHealth.get(node.metadata!.name!);
        if (h) this.nodeHealth.set(node.metadata!.name!, { ...h, probeTimestamp: now, readyTransitionTimestamp: now });
      }
      for (const zone of [...this.zoneStates.keys()]) {
        const state = newStates.get(zone) ?? 'Normal';
        this.zoneTainters.get(zone)?.swapLimiter(this.qpsFor(state, zoneConditions.get(zone)?.length ?? 0));
        this.zoneStates.set(zone, state);
      }
      return;
    }
    for (const [zone, state] of [...this.zoneStates]) {
      const next = newStates.get(zone);
      if (!next || next === state) continue;
      this.zoneTainters.get(zone)?.swapLimiter(this.qpsFor(next, zoneConditions.get(zone)?.length ?? 0));
      this.zoneStates.set(zone, next);
    }
  }

  // ---- NoSchedule taints and pods -------------------------------------------------------

  /** Mirror conditions and spec.unschedulable as NoSchedule taints (upstream doNoScheduleTaintingPass). */
  private async doNoScheduleTaintingPass(name: string): Promise<void> {
    const node = this.nodes.store.get(undefined, name);
    if (!node) return;
    const want: Taint[] = [];
    for (const c of node.status?.conditions ?? []) {
      const key = CONDITION_TAINTS[c.type]?.[c.status];
      if (key) want.push({ key, effect: 'NoSchedule' });
    }
    if (node.spec?.unschedulable) want.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
    const have = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoSchedule' && (t.key === TAINT_UNSCHEDULABLE || CONDITION_TAINT_KEYS.has(t.key)));
    const add = want.filter((t) => !have.some((h) => matchTaint(h, t)));
    const remove = have.filter((t) => !want.some((w) => matchTaint(w, t)));
    if (add.length === 0 && remove.length === 0) return;
    if (!(await swapNodeTaints(this.transport, node, add, remove, this.log))) throw new Error(`failed to swap taints of node ${name}`);
  }

  private async processPod(key: string): Promise<void> {
    const i = key.indexOf('/');
    const pod = this.pods.store.get(key.slice(0, i), key.slice(i + 1));
    if (!pod?.spec?.nodeName) return;
    const health = this.nodeHealth.get(pod.spec.nodeName);
    if (!health || !this.nodes.store.get(undefined, pod.spec.nodeName)) return;
    const ready = health.readyCondition;
    if (!ready) return;
    if (ready.status !== 'True') await markPodsNotReady(this.transport, this.recorder, [pod], pod.spec.nodeName);
  }
}

export function newNodeLifecycleController(ctx: ControllerContext, opts: NodeLifecycleOptions = {}): NodeLifecycleController {
  return new NodeLifecycleController(ctx, opts);
}
