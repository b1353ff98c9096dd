// Keeps the kubelet's view of every pod's status and writes it to the API
// server's status subresource (upstream: pkg/kubelet/status/status_manager.go).
// Writes are coalesced per pod, one in flight at a time, and retried; a
// periodic pass re-writes any status the API does not show yet.
import type { Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import { resourceByPath } from '../machinery/resources.js';
import type { ApiTransport } from '../client/transport.js';
import { isNotFound } from '../client/transport.js';
import { normalizeStatus } from './status.js';
import { errorMessage, stableJson } from './util.js';

const PODS = resourceByPath('', 'v1', 'pods')!;

/** Status fields the kubelet writes; others (nominatedNodeName, resize, ...) are left alone. */
const OWNED = ['phase', 'conditions', 'message', 'reason', 'hostIP', 'hostIPs', 'podIP', 'podIPs', 'startTime', 'containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses', 'qosClass'] as const;

interface Entry {
  uid: string;
  namespace: string;
  name: string;
  status: PodStatus;
  version: number;
  written: number;
  writing: boolean;
}

export interface StatusManagerOptions {
  transport: ApiTransport;
  /** The pod as the informer has it (for comparison and uid checks). */
  apiPod: (namespace: string, name: string) => Pod | undefined;
  log: (msg: string) => void;
  now?: () => number;
}

export function ownedStatus(s: PodStatus | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!s) return out;
  for (const k of OWNED) if ((s as Record<string, unknown>)[k] !== undefined) out[k] = (s as Record<string, unknown>)[k];
  return out;
}

function stripNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripNulls);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = stripNulls(x);
    return out;
  }
  return v;
}

export class StatusManager {
  private readonly entries = new Map<string, Entry>();
  private readonly waiters = new Map<string, Array<() => void>>();
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly opts: StatusManagerOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(periodMs = 10_000): void {
    this.timer = setInterval(() => this.syncAll(), periodMs);
    this.timer.unref();
  }

  stop(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }

  get(uid: string): PodStatus | undefined {
    return this.entries.get(uid)?.status;
  }

  /** Record the status the kubelet computed; writes it when it differs from the last one. */
  set(pod: Pod, status: PodStatus): PodStatus {
    const uid = pod.metadata!.uid!;
    const prev = this.entries.get(uid);
    const normalized = normalizeStatus(status, prev?.status, pod.status, this.now());
    if (prev && stableJson(ownedStatus(prev.status)) === stableJson(ownedStatus(normalized))) return prev.status;
    const e: Entry = prev ?? { uid, namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, status: normalized, version: 0, written: 0, writing: false };
    e.status = normalized;
    e.version++;
    this.entries.set(uid, e);
    this.kick(e);
    return normalized;
  }

  remove(uid: string): void {
    this.entries.delete(uid);
    for (const w of this.waiters.get(uid) ?? []) w();
    this.waiters.delete(uid);
  }

  /** Resolves when the current status of the pod has been written (or given up on). */
  flush(uid: string, timeoutMs = 10_000): Promise<void> {
    const e = this.entries.get(uid);
    if (!e || (e.written >= e.version && !e.writing)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const list = this.waiters.get(uid) ?? [];
      list.push(done);
      this.waiters.set(uid, list);
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private kick(e: Entry): void {
    if (e.writing || this.closed) return;
    e.writing = true;
    setImmediate(() => void this.write(e));
  }

  private async write(e: Entry): Promise<void> {
    let attempts = 0;
    try {
      while (e.written < e.version && !this.closed && this.entries.get(e.uid) === e) {
        const version = e.version;
        const api = this.opts.apiPod(e.namespace, e.name);
        if (api && api.metadata?.uid !== e.uid) {
          // The name belongs to a newer pod now.
          e.written = version;
          break;
        }
        try {
          const t = performance.now();
          await this.patch(e, api);
          if (process.env.KITE_KUBELET_TRACE) this.opts.log(`status of ${e.name} written in ${(performance.now() - t).toFixed(0)} ms`);
          e.written = version;
          attempts = 0;
        } catch (err) {
          if (isNotFound(err)) {
            e.written = version;
            break;
          }
          attempts++;
          this.opts.log(`status update for pod ${e.namespace}/${e.name} failed (attempt ${attempts}): ${errorMessage(err)}`);
          if (attempts >= 5) break;
          await new Promise((r) => setTimeout(r, 200 * attempts));
        }
      }
    } finally {
      e.writing = false;
      if (e.written >= e.version) {
        for (const w of this.waiters.get(e.uid) ?? []) w();
        this.waiters.delete(e.uid);
      }
    }
  }

  private async patch(e: Entry, api: Pod | undefined): Promise<void> {
    const body: Record<string, unknown> = { ...ownedStatus(e.status) };
    // Fields we no longer report are removed (merge patch: null deletes).
    const current = ownedStatus(api?.status);
    for (const k of Object.keys(current)) if (!(k in body)) body[k] = null;
    await this.opts.transport.patch(PODS, e.namespace, e.name, 'merge', { status: body }, { subresource: 'status' });
  }

  /** Re-write statuses the API does not show (lost writes, API restarts). */
  private syncAll(): void {
    for (const e of this.entries.values()) {
      if (e.writing) continue;
      const api = this.opts.apiPod(e.namespace, e.name);
      if (!api || api.metadata?.uid !== e.uid) continue;
      if (stableJson(stripNulls(ownedStatus(api.status))) !== stableJson(stripNulls(ownedStatus(e.status)))) {
        e.version++;
        this.kick(e);
      }
    }
  }
}
