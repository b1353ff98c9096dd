// The scheduling queue (upstream: internal/queue/scheduling_queue.go). Three parts:
// - activeQ: pods to schedule now, highest priority first, then oldest (PrioritySort);
// - backoffQ: pods waiting out their back-off (1 s doubling per attempt up to 10 s)
//   after a failure, ordered by when the back-off ends, in whole-second windows, and
//   by priority within a window; those that failed with an error (no plugin rejected
//   them) wait apart. As upstream 1.33 (SchedulerPopFromBackoffQ, on by default), a
//   scheduler with nothing in activeQ takes the head of the plugin-rejected ones at
//   once instead of sitting idle until its back-off ends;
// - unschedulable pods: parked until a cluster event that one of the plugins that
//   rejected them says may help (queueing hints) — or for at most 5 minutes.
// It is also the nominator: pods nominated to nodes by preemption, which filters must
// account for.
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ClusterEvent, ClusterEventWithHint, Nominator } from './framework.js';
import { eventMatches } from './framework.js';
import type { PodInfo } from './podinfo.js';
import { ChangeLog } from './change-log.js';

const NONE: readonly PodInfo[] = Object.freeze([]);

export const DEFAULT_POD_INITIAL_BACKOFF_MS = 1000;
export const DEFAULT_POD_MAX_BACKOFF_MS = 10_000;
export const DEFAULT_MAX_UNSCHEDULABLE_MS = 5 * 60 * 1000;
const UNSCHEDULABLE_FLUSH_INTERVAL_MS = 30_000;
/** Back-off ends are rounded down to whole seconds; a pod's back-off is over once the window after its end starts (upstream's backoffQOrderingWindowDuration). */
const BACKOFF_WINDOW_MS = 1000;

export interface QueuedPodInfo {
  podInfo: PodInfo;
  readonly key: string;
  /** When it entered the queue, or last failed. */
  timestamp: number;
  /** Scheduling attempts so far. */
  attempts: number;
  initialAttemptTimestamp?: number;
  /** Plugins that rejected it in its last attempt (empty: retry on any event). */
  unschedulablePlugins: Set<string>;
  /** Held back by spec.schedulingGates. */
  gated: boolean;
  seq: number;
}

/** PrioritySort's Less: higher priority first, then earlier. */
export function lessByPriority(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
  const pa = a.podInfo.priority;
  const pb = b.podInfo.priority;
  if (pa !== pb) return pa > pb;
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp;
  return a.seq < b.seq;
}

/** A binary heap with removal by key. */
class Heap<T extends { key: string }> {
  private readonly items: T[] = [];
  private readonly index = new Map<string, number>();

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): T | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.items[i];
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const existing = this.index.get(item.key);
    if (existing !== undefined) {
      this.items[existing] = item;
      this.fix(existing);
      return;
    }
    this.items.push(item);
    this.index.set(item.key, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    if (this.items.length === 0) return undefined;
    const top = this.items[0];
    this.removeAt(0);
    return top;
  }

  remove(key: string): T | undefined {
    const i = this.index.get(key);
    if (i === undefined) return undefined;
    const item = this.items[i];
    this.removeAt(i);
    return item;
  }

  /** Re-position after the item's ordering fields changed. */
  fix(i: number): void {
    if (!this.up(i)) this.down(i);
  }

  fixKey(key: string): void {
    const i = this.index.get(key);
    if (i !== undefined) this.fix(i);
  }

  values(): T[] {
    return [...this.items];
  }

  private removeAt(i: number): void {
    const last = this.items.length - 1;
    this.index.delete(this.items[i].key);
    if (i !== last) {
      this.items[i] = this.items[last];
      this.index.set(this.items[i].key, i);
    }
    this.items.pop();
    if (i < this.items.length) this.fix(i);
  }

  private swap(i: number, j: number): void {
    const a = this.items[i];
    this.items[i] = this.items[j];
    this.items[j] = a;
    this.index.set(this.items[i].key, i);
    this.index.set(this.items[j].key, j);
  }

  private up(i: number): boolean {
    let moved = false;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(this.items[i], this.items[parent])) break;
      this.swap(i, parent);
      i = parent;
      moved = true;
    }
    return moved;
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      let m = l;
      if (r < n && this.less(this.items[r], this.items[l])) m = r;
      if (!this.less(this.items[m], this.items[i])) return;
      this.swap(i, m);
      i = m;
    }
  }
}

export interface QueueOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxUnschedulableMs?: number;
  now?: () => number;
  /** The events each plugin registered, with queueing hints. */
  registeredEvents?: readonly { plugin: string; events: readonly ClusterEventWithHint[] }[];
  /** Run the back-off and leftover flushes on timers (default true; tests drive them by hand). */
  timers?: boolean;
  log?: (msg: string) => void;
}

function alignToWindow(t: number): number {
  return Math.floor(t / BACKOFF_WINDOW_MS) * BACKOFF_WINDOW_MS;
}

function gatedPod(p: PodInfo): boolean {
  return (p.pod.spec?.schedulingGates?.length ?? 0) > 0;
}

/** isPodUpdated: anything but status and bookkeeping changed. */
function podUpdated(a: Pod, b: Pod): boolean {
  const strip = (p: Pod) => {
    const m = p.metadata ?? {};
    return JSON.stringify([m.labels ?? null, m.annotations ?? null, m.deletionTimestamp ?? null, m.finalizers ?? null, p.spec ?? null]);
  };
  return strip(a) !== strip(b);
}

export class SchedulingQueue implements Nominator {
  private readonly active = new Heap<QueuedPodInfo>(lessByPriority);
  /** Pods some plugin rejected: by back-off window, then priority (a scheduler with an empty activeQ pops from here). */
  private readonly backoff: Heap<QueuedPodInfo>;
  /** Pods that failed with an error: by back-off end; they always wait it out. */
  private readonly errorBackoff: Heap<QueuedPodInfo>;
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  /** plugin → keys of unschedulable pods it rejected; '' → pods no plugin rejected. */
  private readonly byPlugin = new Map<string, Set<string>>();
  private readonly inFlight = new Map<string, QueuedPodInfo>();
  private waiters: ((q: QueuedPodInfo | undefined) => void)[] = [];
  private closed = false;
  private seq = 0;
  private backoffTimer?: NodeJS.Timeout;
  private backoffTimerAt = Infinity;
  private leftoverTimer?: NodeJS.Timeout;

  private readonly nominated = new Map<string, PodInfo[]>();
  private readonly nominatedNodeOf = new Map<string, string>();
  /** Nodes whose nominated pods changed (a verdict kept per node looks at these). */
  private readonly nominationChanges = new ChangeLog<string>();

  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly maxUnschedulableMs: number;
  private readonly now: () => number;
  private readonly registered: readonly { plugin: string; events: readonly ClusterEventWithHint[] }[];
  private readonly timers: boolean;
  private readonly log: (msg: string) => void;
  /** Incremented by every pop (upstream's scheduling cycle). */
  schedulingCycle = 0;
  /** Pods moved by events, for metrics and tests: event label → count. */
  readonly moves = new Map<string, number>();

  constructor(opts: QueueOptions = {}) {
    this.initialBackoffMs = opts.initialBackoffMs ?? DEFAULT_POD_INITIAL_BACKOFF_MS;
    this.maxBackoffMs = opts.maxBackoffMs ?? DEFAULT_POD_MAX_BACKOFF_MS;
    this.maxUnschedulableMs = opts.maxUnschedulableMs ?? DEFAULT_MAX_UNSCHEDULABLE_MS;
    this.now = opts.now ?? Date.now;
    this.registered = opts.registeredEvents ?? [];
    this.timers = opts.timers ?? true;
    this.log = opts.log ?? ((m) => console.warn(m));
    this.backoff = new Heap<QueuedPodInfo>((a, b) => {
      const ea = this.backoffExpiry(a);
      const eb = this.backoffExpiry(b);
      return ea !== eb ? ea < eb : lessByPriority(a, b);
    });
    this.errorBackoff = new Heap<QueuedPodInfo>((a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
    if (this.timers) {
      this.leftoverTimer = setInterval(() => this.flushUnschedulableLeftover(), UNSCHEDULABLE_FLUSH_INTERVAL_MS);
      this.leftoverTimer.unref();
    }
  }

  // ---- sizes ----

  get activeCount(): number {
    return this.active.size;
  }
  get backoffCount(): number {
    return this.backoff.size + this.errorBackoff.size;
  }
  get unschedulableCount(): number {
    return this.unschedulable.size;
  }
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Where a pod is: 'active' | 'backoff' | 'unschedulable' | 'inflight' | undefined. */
  where(key: string): string | undefined {
    if (this.active.has(key)) return 'active';
    if (this.backoff.has(key) || this.errorBackoff.has(key)) return 'backoff';
    if (this.unschedulable.has(key)) return 'unschedulable';
    if (this.inFlight.has(key)) return 'inflight';
    return undefined;
  }

  get(key: string): QueuedPodInfo | undefined {
    return this.active.get(key) ?? this.backoff.get(key) ?? this.errorBackoff.get(key) ?? this.unschedulable.get(key) ?? this.inFlight.get(key);
  }

  // ---- back-off ----

  /** calculateBackoffDuration: initial · 2^(attempts−1), capped. */
  backoffDuration(q: QueuedPodInfo): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < q.attempts; i++) {
      if (d > this.maxBackoffMs - d) return this.maxBackoffMs;
      d += d;
    }
    return Math.min(d, this.maxBackoffMs);
  }

  /** When the back-off ends, rounded down to its window. */
  backoffExpiry(q: QueuedPodInfo): number {
    return alignToWindow(q.timestamp + this.backoffDuration(q));
  }

  /** Backing off until the window after the one its back-off ends in. */
  isBackingOff(q: QueuedPodInfo): boolean {
    return q.attempts > 0 && this.backoffExpiry(q) >= alignToWindow(this.now());
  }

  // ---- adding and popping ----

  private newQueued(p: PodInfo): QueuedPodInfo {
    return { podInfo: p, key: p.key, timestamp: this.now(), attempts: 0, unschedulablePlugins: new Set(), gated: false, seq: this.seq++ };
  }

  /** A new unscheduled pod. */
  add(p: PodInfo): void {
    if (this.closed) return;
    if (this.get(p.key)) {
      this.update(undefined, p);
      return;
    }
    const q = this.newQueued(p);
    this.addNominatedFromStatus(p);
    if (gatedPod(p)) {
      q.gated = true;
      this.parkUnschedulable(q);
      return;
    }
    this.pushActive(q);
  }

  private pushActive(q: QueuedPodInfo): void {
    this.active.push(q);
    const w = this.waiters.shift();
    if (w) w(this.popActive());
  }

  /** The head of activeQ, else (SchedulerPopFromBackoffQ) of the plugin-rejected back-off pods. */
  private popActive(): QueuedPodInfo | undefined {
    const q = this.active.pop() ?? this.backoff.pop();
    if (!q) return undefined;
    q.attempts++;
    q.initialAttemptTimestamp ??= this.now();
    this.schedulingCycle++;
    this.inFlight.set(q.key, q);
    return q;
  }

  /** The next pod, without waiting (undefined when activeQ and the plugin-rejected back-off pods are empty). */
  tryPop(): QueuedPodInfo | undefined {
    if (this.closed) return undefined;
    return this.popActive();
  }

  /** The next pod to schedule; waits for one. Resolves undefined once closed. */
  pop(): Promise<QueuedPodInfo | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const q = this.popActive();
    if (q) return Promise.resolve(q);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The cycle for this pod is over (scheduled, or handed back with addUnschedulableIfNotPresent). */
  done(key: string): void {
    this.inFlight.delete(key);
  }

  private parkUnschedulable(q: QueuedPodInfo): void {
    this.unschedulable.set(q.key, q);
    const plugins = q.unschedulablePlugins.size === 0 || q.gated ? [''] : [...q.unschedulablePlugins];
    for (const pl of plugins) {
      let s = this.byPlugin.get(pl);
      if (!s) this.byPlugin.set(pl, (s = new Set()));
      s.add(q.key);
    }
  }

  private unpark(key: string): QueuedPodInfo | undefined {
    const q = this.unschedulable.get(key);
    if (!q) return undefined;
    this.unschedulable.delete(key);
    for (const s of this.byPlugin.values()) s.delete(key);
    return q;
  }

  /**
   * A pod that failed its cycle comes back: rejected by plugins → parked until an
   * event may help; failed with an error (no plugin to blame) → back-off queue.
   */
  addUnschedulableIfNotPresent(q: QueuedPodInfo, rejectedBy: ReadonlySet<string>, error = false): void {
    this.inFlight.delete(q.key);
    if (this.closed || this.get(q.key) !== undefined) return;
    q.timestamp = this.now();
    q.unschedulablePlugins = new Set(rejectedBy);
    if (error) {
      this.pushBackoff(q);
      return;
    }
    this.parkUnschedulable(q);
  }

  private pushBackoff(q: QueuedPodInfo): void {
    if (q.unschedulablePlugins.size === 0) {
      this.errorBackoff.push(q);
    } else {
      this.backoff.push(q);
      // An idle scheduler takes it now (it would otherwise wait out the back-off with nothing to do).
      const w = this.waiters.shift();
      if (w) w(this.popActive());
    }
    this.armBackoffTimer();
  }

  private armBackoffTimer(): void {
    if (!this.timers || this.closed) return;
    const heads = [this.backoff.peek(), this.errorBackoff.peek()].filter((h): h is QueuedPodInfo => h !== undefined);
    if (heads.length === 0) return;
    // The back-off is over when the window after its end starts.
    const at = Math.min(...heads.map((h) => this.backoffExpiry(h))) + BACKOFF_WINDOW_MS;
    if (this.backoffTimer && at >= this.backoffTimerAt) return;
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.backoffTimerAt = at;
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      this.backoffTimerAt = Infinity;
      this.flushBackoffCompleted();
    }, Math.max(0, at - this.now()) + 1);
    this.backoffTimer.unref();
  }

  /** Pods whose back-off ended go to activeQ. */
  flushBackoffCompleted(): void {
    for (const heap of [this.backoff, this.errorBackoff]) {
      for (;;) {
        const head = heap.peek();
        if (!head || this.isBackingOff(head)) break;
        heap.pop();
        this.pushActive(head);
      }
    }
    this.armBackoffTimer();
  }

  /** Pods parked longer than maxUnschedulableMs are retried anyway. */
  flushUnschedulableLeftover(): void {
    const now = this.now();
    const stale: QueuedPodInfo[] = [];
    for (const q of this.unschedulable.values()) if (!q.gated && now - q.timestamp > this.maxUnschedulableMs) stale.push(q);
    for (const q of stale) this.requeue(q, 'UnschedulableTimeout');
  }

  private requeue(q: QueuedPodInfo, label: string): void {
    this.unpark(q.key);
    this.moves.set(label, (this.moves.get(label) ?? 0) + 1);
    if (this.isBackingOff(q)) this.pushBackoff(q);
    else this.pushActive(q);
  }

  /**
   * A cluster event happened: retry the parked pods it may help — those rejected by
   * a plugin that registered the event and whose hint says Queue (and those no plugin
   * rejected). No polling: only events move pods.
   */
  moveAllToActiveOrBackoffQueue(event: ClusterEvent, oldObj?: unknown, newObj?: unknown): number {
    if (this.unschedulable.size === 0) return 0;
    const interested: { plugin: string; hints: ClusterEventWithHint[] }[] = [];
    for (const r of this.registered) {
      const hints = r.events.filter((e) => eventMatches(e, event));
      if (hints.length > 0) interested.push({ plugin: r.plugin, hints });
    }
    const keys = new Set<string>(this.byPlugin.get('') ?? []);
    for (const i of interested) for (const k of this.byPlugin.get(i.plugin) ?? []) keys.add(k);
    let moved = 0;
    for (const key of keys) {
      const q = this.unschedulable.get(key);
      if (!q || q.gated) continue;
      if (this.worthRequeuing(q, interested, oldObj, newObj)) {
        this.requeue(q, event.label);
        moved++;
      }
    }
    return moved;
  }

  private worthRequeuing(q: QueuedPodInfo, interested: readonly { plugin: string; hints: ClusterEventWithHint[] }[], oldObj: unknown, newObj: unknown): boolean {
    if (q.unschedulablePlugins.size === 0) return true;
    for (const i of interested) {
      if (!q.unschedulablePlugins.has(i.plugin)) continue;
      for (const h of i.hints) {
        if (!h.hint) return true;
        try {
          if (h.hint(q.podInfo, oldObj, newObj) === 'Queue') return true;
        } catch (err) {
          this.log(`scheduler: queueing hint of ${i.plugin} failed for ${q.key}: ${(err as Error).message}`);
          return true;
        }
      }
    }
    return false;
  }

  /** Move specific pods to activeQ now (Activate). */
  activate(keys: Iterable<string>): void {
    for (const key of keys) {
      const q = this.unpark(key) ?? this.backoff.remove(key) ?? this.errorBackoff.remove(key);
      if (q) this.pushActive(q);
    }
  }

  /** The pod changed (informer update of an unscheduled pod). */
  update(oldPod: PodInfo | undefined, p: PodInfo): void {
    if (this.closed) return;
    this.updateNominatedFromStatus(oldPod, p);
    const key = p.key;
    const inActive = this.active.get(key);
    if (inActive) {
      inActive.podInfo = p;
      this.active.fixKey(key);
      return;
    }
    const inBackoff = this.backoff.get(key) ?? this.errorBackoff.get(key);
    if (inBackoff) {
      inBackoff.podInfo = p;
      return;
    }
    const flying = this.inFlight.get(key);
    if (flying) {
      flying.podInfo = p;
      return;
    }
    const parked = this.unschedulable.get(key);
    if (parked) {
      const before = parked.podInfo;
      parked.podInfo = p;
      if (parked.gated) {
        if (!gatedPod(p)) {
          this.unpark(key);
          parked.gated = false;
          this.moves.set('UpdatePodSchedulingGatesEliminated', (this.moves.get('UpdatePodSchedulingGatesEliminated') ?? 0) + 1);
          this.pushActive(parked);
        }
        return;
      }
      if (podUpdated(before.pod, p.pod)) this.requeue(parked, 'UnscheduledPodUpdate');
      return;
    }
    this.add(p);
  }

  delete(key: string): void {
    this.active.remove(key);
    this.backoff.remove(key);
    this.errorBackoff.remove(key);
    this.unpark(key);
    this.deleteNominated(key);
  }

  close(): void {
    this.closed = true;
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    if (this.leftoverTimer) clearInterval(this.leftoverTimer);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(undefined);
  }

  /** Pending pods (for metrics and tests). */
  pendingPods(): { active: QueuedPodInfo[]; backoff: QueuedPodInfo[]; unschedulable: QueuedPodInfo[] } {
    return { active: this.active.values(), backoff: [...this.backoff.values(), ...this.errorBackoff.values()], unschedulable: [...this.unschedulable.values()] };
  }

  // ---- nominator ----

  private addNominatedFromStatus(p: PodInfo): void {
    const nn = p.pod.status?.nominatedNodeName;
    if (nn) this.addNominated(p, nn);
  }

  private updateNominatedFromStatus(oldP: PodInfo | undefined, p: PodInfo): void {
    const nn = p.pod.status?.nominatedNodeName;
    const cur = this.nominatedNodeOf.get(p.key);
    if (nn) this.addNominated(p, nn);
    else if (cur && oldP?.pod.status?.nominatedNodeName) this.deleteNominated(p.key);
    else if (cur) {
      // Keep the scheduler's own nomination; refresh the pod object.
      this.addNominated(p, cur);
    }
  }

  addNominated(p: PodInfo, node: string): void {
    this.deleteNominated(p.key);
    let list = this.nominated.get(node);
    if (!list) this.nominated.set(node, (list = []));
    list.push(p);
    this.nominatedNodeOf.set(p.key, node);
    this.nominationChanges.add(node);
  }

  deleteNominated(key: string): void {
    const node = this.nominatedNodeOf.get(key);
    if (node === undefined) return;
    this.nominatedNodeOf.delete(key);
    this.nominationChanges.add(node);
    const list = this.nominated.get(node);
    if (!list) return;
    const i = list.findIndex((x) => x.key === key);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.nominated.delete(node);
  }

  nominatedNodeName(key: string): string | undefined {
    return this.nominatedNodeOf.get(key);
  }

  get nominationMark(): number {
    return this.nominationChanges.mark;
  }

  nodesWithNominationChangesSince(mark: number): readonly string[] | undefined {
    return this.nominationChanges.since(mark);
  }

  nominatedPodsForNode(nodeName: string): readonly PodInfo[] {
    return this.nominated.get(nodeName) ?? NONE;
  }

  hasNominatedPods(): boolean {
    return this.nominated.size > 0;
  }
}
