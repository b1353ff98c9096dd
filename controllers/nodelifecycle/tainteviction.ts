// The taint eviction controller (upstream: pkg/controller/tainteviction, formerly the
// node lifecycle controller's NoExecuteTaintManager). Pods on a node with NoExecute
// taints are deleted: at once when some taint is not tolerated, after the shortest
// matching tolerationSeconds otherwise (counted from when the controller first saw
// the pod under those taints), never when every matching toleration is forever.
// Taints going away, or the pod going away, cancel a scheduled deletion. Deletion
// first sets the pod's DisruptionTarget condition, then deletes it gracefully.
import type { Node, Pod, PodCondition, Taint } from 'kubernetes-types/core/v1.js';
import type { Controller } from '../../client/controller.js';
import { QueueController } from '../../client/controller.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { NODE_NAME_INDEX, indexByNodeName } from '../../client/store.js';
import type { ApiTransport } from '../../client/transport.js';
import { isNotFound } from '../../client/transport.js';
import { jsonEqual } from '../../machinery/object.js';
import type { ControllerContext } from '../manager.js';
import { NODES, PODS, getCondition, matchingTolerations, minTolerationMs, rfc3339 } from './taints.js';

interface ScheduledEviction {
  namespace: string;
  name: string;
  createdAt: number;
  fireAt: number;
  timer?: NodeJS.Timeout;
  /** Done: kept so the same pod is not scheduled again until the entry is cancelled. */
  done: boolean;
}

function noExecuteTaints(node: Node | undefined): Taint[] {
  return (node?.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
}

export interface TaintEvictionOptions {
  now?: () => number;
  log?: (msg: string) => void;
}

export class TaintEvictionController implements Controller {
  readonly name = 'taint-eviction-controller';
  readonly nodes: Informer<Node>;
  readonly pods: Informer<Pod>;
  private readonly transport: ApiTransport;
  private readonly recorder: EventRecorder;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;
  /** Node name → its NoExecute taints (only tainted nodes). */
  private readonly taintedNodes = new Map<string, Taint[]>();
  private readonly scheduled = new Map<string, ScheduledEviction>();
  private readonly nodeUpdates: QueueController;
  private readonly podUpdates: QueueController;
  private stopped = false;

  constructor(ctx: ControllerContext, opts: TaintEvictionOptions = {}) {
    this.transport = ctx.transport;
    this.recorder = ctx.events.newRecorder('taint-eviction-controller');
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? ((msg) => console.error(`taint eviction controller: ${msg}`));
    this.nodes = ctx.informers.informerFor<Node>(NODES);
    this.pods = ctx.informers.informerFor<Pod>(PODS, { indexers: { [NODE_NAME_INDEX]: indexByNodeName } });
    this.nodeUpdates = new QueueController({ name: 'noexec_taint_node', workers: 4, reconcile: (name) => this.handleNodeUpdate(name) });
    this.nodeUpdates.watch(this.nodes, (n) => n.metadata?.name, { update: (a, b) => !jsonEqual(noExecuteTaints(a), noExecuteTaints(b)) });
    this.podUpdates = new QueueController({ name: 'noexec_taint_pod', workers: 4, reconcile: (key) => this.handlePodUpdate(key) });
    this.podUpdates.watch(this.pods, (p) => `${p.metadata?.namespace}/${p.metadata?.name}`, {
      update: (a, b) => a.spec?.nodeName !== b.spec?.nodeName || !jsonEqual(a.spec?.tolerations ?? [], b.spec?.tolerations ?? []),
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.nodeUpdates.start(), this.podUpdates.start()]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.scheduled.values()) if (s.timer) clearTimeout(s.timer);
    this.scheduled.clear();
    await Promise.all([this.nodeUpdates.stop(), this.podUpdates.stop()]);
  }

  /** Pods with an eviction scheduled (for tests): key → when it fires. */
  scheduledEvictions(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, s] of this.scheduled) if (!s.done) out.set(k, s.fireAt);
    return out;
  }

  private async handleNodeUpdate(name: string): Promise<void> {
    const node = this.nodes.store.get(undefined, name);
    if (!node) {
      this.taintedNodes.delete(name);
      return;
    }
    const taints = noExecuteTaints(node);
    if (taints.length === 0) this.taintedNodes.delete(name);
    else this.taintedNodes.set(name, taints);
    const pods = this.pods.store.byIndex(NODE_NAME_INDEX, name);
    if (pods.length === 0) return;
    if (taints.length === 0) {
      for (const p of pods) this.cancelWithEvent(`${p.metadata?.namespace}/${p.metadata?.name}`);
      return;
    }
    const now = this.now();
    for (const p of pods) this.processPodOnNode(p, taints, now);
  }

  private async handlePodUpdate(key: string): Promise<void> {
    const i = key.indexOf('/');
    const pod = this.pods.store.get(key.slice(0, i), key.slice(i + 1));
    if (!pod) {
      this.cancelWithEvent(key);
      return;
    }
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) return;
    const taints = this.taintedNodes.get(nodeName);
    // The node is gone or untainted: any eviction was cancelled when that was seen.
    if (!taints) return;
    this.processPodOnNode(pod, taints, this.now());
  }

  private processPodOnNode(pod: Pod, taints: readonly Taint[], now: number): void {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    if (taints.length === 0) {
      this.cancelWithEvent(key);
      return;
    }
    const { all, used } = matchingTolerations(taints, pod.spec?.tolerations ?? []);
    if (!all) {
      // Not tolerated: delete now (any later deletion is replaced).
      this.cancelWithEvent(key);
      this.schedule(pod, now, now);
      return;
    }
    const min = minTolerationMs(used);
    if (min < 0) {
      this.cancelWithEvent(key);
      return;
    }
    let start = now;
    const existing = this.scheduled.get(key);
    if (existing && !existing.done) {
      start = existing.createdAt;
      // Already due sooner than this would make it: keep it.
      if (start + min < now + min) return;
      this.cancelWithEvent(key);
    }
    this.schedule(pod, start, start + min);
  }

  private schedule(pod: Pod, createdAt: number, fireAt: number): void {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    if (this.scheduled.has(key) || this.stopped) return;
    const entry: ScheduledEviction = { namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, createdAt, fireAt, done: false };
    this.scheduled.set(key, entry);
    entry.timer = setTimeout(() => void this.fire(key, entry), Math.max(0, fireAt - this.now()));
  }

  private cancelWithEvent(key: string): void {
    const s = this.scheduled.get(key);
    if (!s) return;
    this.scheduled.delete(key);
    if (s.timer) clearTimeout(s.timer);
    if (!s.done) {
      this.recorder.event({ apiVersion: 'v1', kind: 'Pod', namespace: s.namespace, name: s.name }, 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
    }
  }

  private async fire(key: string, entry: ScheduledEviction): Promise<void> {
    if (this.scheduled.get(key) !== entry || this.stopped) return;
    entry.timer = undefined;
    this.recorder.event({ apiVersion: 'v1', kind: 'Pod', namespace: entry.namespace, name: entry.name }, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.addConditionAndDeletePod(entry.namespace, entry.name);
        if (this.scheduled.get(key) === entry) entry.done = true;
        return;
      } catch (err) {
        if (attempt === 4) this.log(`failed to delete pod ${key}: ${err instanceof Error ? err.message : String(err)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    // Gave up: let a later update schedule it again.
    if (this.scheduled.get(key) === entry) this.scheduled.delete(key);
  }

  private async addConditionAndDeletePod(namespace: string, name: string): Promise<void> {
    let pod: Pod;
    try {
      pod = await this.transport.get<Pod>(PODS, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (pod.metadata?.deletionTimestamp) return;
    const cond = getCondition(pod.status?.conditions, 'DisruptionTarget');
    const want: PodCondition = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' };
    if (!cond || cond.status !== want.status || cond.reason !== want.reason || cond.message !== want.message) {
      const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget');
      conditions.push({ ...want, lastTransitionTime: cond?.status === 'True' ? cond.lastTransitionTime : rfc3339(this.now()) });
      try {
        await this.transport.patch(PODS, namespace, name, 'merge', { metadata: { uid: pod.metadata?.uid, resourceVersion: pod.metadata?.resourceVersion }, status: { conditions } }, { subresource: 'status' });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
    }
    try {
      await this.transport.delete(PODS, namespace, name, { preconditions: { uid: pod.metadata?.uid } });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }
}

export function newTaintEvictionController(ctx: ControllerContext, opts: TaintEvictionOptions = {}): TaintEvictionController {
  return new TaintEvictionController(ctx, opts);
}
