// The pod garbage collector (upstream: pkg/controller/podgc/gc_controller.go). Every
// gc-check-period it force-deletes (grace period 0):
// - terminated pods (Succeeded/Failed) beyond --terminated-pod-gc-threshold, those the
//   kubelet evicted first, then the oldest;
// - terminating pods on nodes that are not ready and carry the out-of-service taint;
// - pods bound to nodes that do not exist — after the node has been missing for a
//   quarantine period, confirmed by a fresh read — with a DisruptionTarget condition;
// - terminating pods that were never scheduled.
// A pod that is not yet terminal is first patched to phase Failed, since no kubelet will.
import type { Node, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import type { Controller } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { ApiTransport } from '../../client/transport.js';
import { isNotFound } from '../../client/transport.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ControllerContext } from '../manager.js';
import { TAINT_OUT_OF_SERVICE, getCondition, rfc3339 } from '../nodelifecycle/taints.js';

const PODS = resourceByPath('', 'v1', 'pods')!;
const NODES = resourceByPath('', 'v1', 'nodes')!;

export interface PodGCOptions {
  /** Terminated pods kept before the oldest are deleted; 0 disables (upstream default 12500). */
  terminatedPodThreshold?: number;
  /** How often the collector runs (upstream 20 s). */
  gcCheckPeriodMs?: number;
  /** How long a node must be missing before its pods count as orphaned (upstream 40 s). */
  quarantineMs?: number;
  now?: () => number;
  log?: (msg: string) => void;
}

function isTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  // As upstream, a pod without a phase counts as terminated.
  return phase !== 'Pending' && phase !== 'Running' && phase !== 'Unknown';
}

/** Failed with reason Evicted (the kubelet evicted it; upstream eviction.PodIsEvicted). */
function isEvicted(pod: Pod): boolean {
  return pod.status?.phase === 'Failed' && pod.status.reason === 'Evicted';
}

/** Evicted pods first (so controllers' terminated pods are kept longer), then oldest, then by name (upstream byEvictionAndCreationTimestamp). */
function byEvictionAndCreation(a: Pod, b: Pod): number {
  const ea = isEvicted(a);
  if (ea !== isEvicted(b)) return ea ? -1 : 1;
  return byCreation(a, b);
}

function byCreation(a: Pod, b: Pod): number {
  const ta = a.metadata?.creationTimestamp ?? '';
  const tb = b.metadata?.creationTimestamp ?? '';
  if (ta === tb) return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1;
  return ta < tb ? -1 : 1;
}

export class PodGCController implements Controller {
  readonly name = 'podgc';
  readonly pods: Informer<Pod>;
  readonly nodes: Informer<Node>;
  private readonly transport: ApiTransport;
  private readonly threshold: number;
  private readonly periodMs: number;
  private readonly quarantineMs: number;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;
  /** Node names seen missing → when the quarantine ends. */
  private readonly missingNodes = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private passesDone = 0;

  constructor(ctx: ControllerContext, opts: PodGCOptions = {}) {
    this.transport = ctx.transport;
    this.threshold = opts.terminatedPodThreshold ?? 12500;
    this.periodMs = opts.gcCheckPeriodMs ?? 20_000;
    this.quarantineMs = opts.quarantineMs ?? 40_000;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? ((msg) => console.error(`pod gc: ${msg}`));
    this.pods = ctx.informers.informerFor<Pod>(PODS);
    this.nodes = ctx.informers.informerFor<Node>(NODES);
  }

  async start(): Promise<void> {
    const synced = await Promise.all([this.pods.waitForSync(), this.nodes.waitForSync()]);
    if (this.stopped || !synced.every(Boolean)) return;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.gc()
        .catch((err) => this.log(err instanceof Error ? err.message : String(err)))
        .finally(() => {
          this.passesDone++;
          if (!this.stopped) this.timer = setTimeout(tick, this.periodMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Collection passes finished so far (a test of "nothing collected" waits for a whole one). */
  get passes(): number {
    return this.passesDone;
  }

  /** One collection pass. */
  async gc(): Promise<void> {
    const pods = this.pods.store.list();
    const nodes = this.nodes.store.list();
    if (this.threshold > 0) await this.gcTerminated(pods);
    await this.gcTerminating(pods, nodes);
    await this.gcOrphaned(pods, nodes);
    await this.gcUnscheduledTerminating(pods);
  }

  private async gcTerminated(pods: readonly Pod[]): Promise<void> {
    const terminated = pods.filter(isTerminated).sort(byEvictionAndCreation);
    const count = terminated.length - this.threshold;
    if (count <= 0) return;
    this.log(`garbage collecting ${count} pods`);
    await Promise.all(terminated.slice(0, count).map((p) => this.markFailedAndDelete(p)));
  }

  private async gcTerminating(pods: readonly Pod[], nodes: readonly Node[]): Promise<void> {
    const outOfService = new Set<string>();
    for (const n of nodes) {
      const ready = getCondition(n.status?.conditions, 'Ready');
      if (ready?.status === 'True') continue;
      if ((n.spec?.taints ?? []).some((t) => t.key === TAINT_OUT_OF_SERVICE && t.effect === 'NoExecute')) outOfService.add(n.metadata!.name!);
    }
    if (outOfService.size === 0) return;
    const victims = pods.filter((p) => p.metadata?.deletionTimestamp && p.spec?.nodeName && outOfService.has(p.spec.nodeName)).sort(byCreation);
    await Promise.all(victims.map((p) => this.markFailedAndDelete(p)));
  }

  private async gcOrphaned(pods: readonly Pod[], nodes: readonly Node[]): Promise<void> {
    const existing = new Set(nodes.map((n) => n.metadata!.name!));
    const now = this.now();
    for (const p of pods) {
      const node = p.spec?.nodeName;
      if (node && !existing.has(node) && !this.missingNodes.has(node)) this.missingNodes.set(node, now + this.quarantineMs);
    }
    const deleted = new Set<string>();
    for (const [node, until] of [...this.missingNodes]) {
      if (existing.has(node)) {
        this.missingNodes.delete(node);
        continue;
      }
      if (until > now) continue;
      this.missingNodes.delete(node);
      try {
        await this.transport.get(NODES, undefined, node);
      } catch (err) {
        if (isNotFound(err)) deleted.add(node);
        else this.log(`error while getting node ${node}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (deleted.size === 0) return;
    const condition: PodCondition = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' };
    await Promise.all(pods.filter((p) => p.spec?.nodeName && deleted.has(p.spec.nodeName)).map((p) => this.markFailedAndDelete(p, condition)));
  }

  private async gcUnscheduledTerminating(pods: readonly Pod[]): Promise<void> {
    await Promise.all(pods.filter((p) => p.metadata?.deletionTimestamp && !p.spec?.nodeName).map((p) => this.markFailedAndDelete(p)));
  }

  /** Phase Failed (and the condition) first when not terminal, then delete with grace period 0. */
  private async markFailedAndDelete(pod: Pod, condition?: PodCondition): Promise<void> {
    const ns = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    this.log(`PodGC is force deleting Pod ${ns}/${name}`);
    try {
      if (pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') {
        const status: Record<string, unknown> = { phase: 'Failed' };
        if (condition) {
          const old = getCondition(pod.status?.conditions, condition.type);
          const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== condition.type);
          conditions.push({ ...condition, lastTransitionTime: old && old.status === condition.status ? old.lastTransitionTime : rfc3339(this.now()) });
          status.conditions = conditions;
        }
        await this.transport.patch(PODS, ns, name, 'merge', { metadata: { uid: pod.metadata?.uid }, status }, { subresource: 'status' });
      }
      await this.transport.delete(PODS, ns, name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } });
    } catch (err) {
      if (isNotFound(err)) return;
      this.log(`failed to delete pod ${ns}/${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

export function newPodGCController(ctx: ControllerContext, opts: PodGCOptions = {}): PodGCController {
  return new PodGCController(ctx, opts);
}
