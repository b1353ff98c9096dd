// Recording core/v1 Events about objects (upstream: client-go tools/record). Events are
// named `<object name>.<nanoseconds in hex>` and live in the object's namespace
// (`default` for cluster-scoped objects). Repeats — same source, object, type, reason
// and message within ten minutes — don't make new Events: the existing one gets its
// `count` bumped and `lastTimestamp` moved on, by a patch. Recording is fire-and-
// forget: event() queues and returns; failures are logged, never thrown.
import { hostname } from 'node:os';
import type { ObjectReference } from 'kubernetes-types/core/v1.js';
import { resourceByPath } from '../machinery/resources.js';
import type { ResourceInfo } from '../machinery/resources.js';
import type { ApiObject, ApiTransport } from './transport.js';
import { isNotFound } from './transport.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  /** Record that `reason`/`message` happened to `obj` (an object, or a reference to one). */
  event(obj: ApiObject | ObjectReference, type: EventType, reason: string, message: string): void;
}

export interface EventBroadcasterOptions {
  /** `source.host` / `reportingInstance`; default this machine's host name. */
  host?: string;
  /** Repeats within this window are counted on the existing Event (default 10 minutes). */
  aggregationWindowMs?: number;
  /** How many distinct recent events are remembered for aggregation (default 4096, as upstream). */
  cacheSize?: number;
  /** Events waiting to be written beyond this are dropped (default 1000, as upstream's broadcaster). */
  maxQueued?: number;
  now?: () => Date;
  log?: (msg: string) => void;
}

interface Pending {
  ref: ObjectReference;
  type: EventType;
  reason: string;
  message: string;
  component: string;
  host: string;
  at: Date;
}

interface Seen {
  namespace: string;
  name: string;
  count: number;
  firstTimestamp: string;
  /** ms of the last occurrence. */
  last: number;
}

const TEN_MINUTES = 10 * 60 * 1000;

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function referenceOf(obj: ApiObject | ObjectReference): ObjectReference {
  if (!('metadata' in obj) || obj.metadata === undefined) {
    // Already a reference (or something shaped like one).
    const r = obj as ObjectReference;
    return { kind: r.kind, namespace: r.namespace, name: r.name, uid: r.uid, apiVersion: r.apiVersion, resourceVersion: r.resourceVersion, fieldPath: r.fieldPath };
  }
  const o = obj as ApiObject;
  const m = o.metadata!;
  return { kind: o.kind, namespace: m.namespace, name: m.name, uid: m.uid, apiVersion: o.apiVersion, resourceVersion: m.resourceVersion };
}

/**
 * Owns the write path for events: one queue, one aggregation cache, any number of
 * recorders (one per component).
 */
export class EventBroadcaster {
  private readonly events: ResourceInfo;
  private readonly host: string;
  private readonly windowMs: number;
  private readonly cacheSize: number;
  private readonly maxQueued: number;
  private readonly now: () => Date;
  private readonly log: (msg: string) => void;
  /** Aggregation key → the Event that holds it. Map order = least recently used first. */
  private readonly seen = new Map<string, Seen>();
  private queue: Pending[] = [];
  private running?: Promise<void>;
  private draining = false;
  private closed = false;
  private lastNanos = 0n;

  constructor(
    private readonly transport: ApiTransport,
    opts: EventBroadcasterOptions = {},
  ) {
    this.events = resourceByPath('', 'v1', 'events')!;
    this.host = opts.host ?? hostname();
    this.windowMs = opts.aggregationWindowMs ?? TEN_MINUTES;
    this.cacheSize = opts.cacheSize ?? 4096;
    this.maxQueued = opts.maxQueued ?? 1000;
    this.now = opts.now ?? (() => new Date());
    this.log = opts.log ?? ((msg) => console.warn(msg));
  }

  newRecorder(component: string): EventRecorder {
    return {
      event: (obj, type, reason, message) => {
        try {
          this.enqueue({ ref: referenceOf(obj), type, reason, message, component, host: this.host, at: this.now() });
        } catch (err) {
          this.log(`events: dropped ${reason} event: ${(err as Error).message}`);
        }
      },
    };
  }

  private enqueue(p: Pending): void {
    if (this.closed || !p.ref.name) return;
    if (this.queue.length >= this.maxQueued) return; // upstream drops when the channel is full
    this.queue.push(p);
    if (!this.draining) {
      this.draining = true;
      this.running = this.drain();
    }
  }

  /** Writes one event at a time, so a repeat always finds the Event its predecessor made. */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const p = this.queue.shift()!;
        try {
          await this.write(p);
        } catch (err) {
          this.log(`events: could not record ${p.reason} for ${p.ref.kind ?? ''} ${p.ref.namespace ? p.ref.namespace + '/' : ''}${p.ref.name}: ${(err as Error).message}`);
        }
      }
    } finally {
      // Cleared in the same turn the queue was seen empty: the next event starts a new drain.
      this.draining = false;
    }
  }

  /** Resolves when everything recorded so far has been written (or given up on). */
  async flush(): Promise<void> {
    while (this.draining) await this.running;
  }

  /** Stop accepting events; write what is queued. */
  async shutdown(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private key(p: Pending): string {
    const r = p.ref;
    return JSON.stringify([p.component, p.host, r.kind, r.namespace, r.name, r.fieldPath, r.uid, r.apiVersion, p.type, p.reason, p.message]);
  }

  /** Unique, increasing nanoseconds for Event names. */
  private nanos(at: Date): bigint {
    let n = BigInt(at.getTime()) * 1_000_000n;
    if (n <= this.lastNanos) n = this.lastNanos + 1n;
    this.lastNanos = n;
    return n;
  }

  private remember(key: string, s: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, s);
    if (this.seen.size > this.cacheSize) this.seen.delete(this.seen.keys().next().value as string);
  }

  private async write(p: Pending): Promise<void> {
    const key = this.key(p);
    const at = p.at.getTime();
    const prior = this.seen.get(key);
    if (prior && at - prior.last <= this.windowMs) {
      const count = prior.count + 1;
      try {
        await this.transport.patch(this.events, prior.namespace, prior.name, 'merge', { count, lastTimestamp: rfc3339(p.at) }, { readOnly: true });
        this.remember(key, { ...prior, count, last: at });
        return;
      } catch (err) {
        // Gone (deleted, or expired by a TTL): start a new Event.
        if (!isNotFound(err)) throw err;
      }
    }
    const ts = rfc3339(p.at);
    const namespace = p.ref.namespace || 'default';
    const name = `${p.ref.name}.${this.nanos(p.at).toString(16)}`;
    const involvedObject: ObjectReference = {};
    for (const [k, v] of Object.entries(p.ref)) if (v !== undefined && v !== '') (involvedObject as Record<string, unknown>)[k] = v;
    await this.transport.create(this.events, namespace, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject,
      reason: p.reason,
      message: p.message,
      type: p.type,
      source: { component: p.component, host: p.host },
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
      reportingComponent: p.component,
      reportingInstance: p.host,
    }, { readOnly: true });
    this.remember(key, { namespace, name, count: 1, firstTimestamp: ts, last: at });
  }
}

/** A recorder with its own broadcaster; `flush()` waits for the writes. */
export function createEventRecorder(
  transport: ApiTransport,
  component: string,
  opts: EventBroadcasterOptions = {},
): EventRecorder & { flush(): Promise<void>; shutdown(): Promise<void> } {
  const b = new EventBroadcaster(transport, opts);
  const r = b.newRecorder(component);
  return { event: r.event, flush: () => b.flush(), shutdown: () => b.shutdown() };
}
