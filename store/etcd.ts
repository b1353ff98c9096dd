// The etcd store: kite's Store on etcd v3 over gRPC (@grpc/grpc-js with a subset of
// etcd's protos, store/etcd.proto). One revision space, etcd's: a create is a txn
// guarded by create_revision == 0, an update or a delete one guarded by mod_revision ==
// expected, and a write is acknowledged only once etcd acknowledged it (raft commit,
// WAL fsync). Watches share one gRPC stream, start from a revision, ask for progress
// notifications and follow the stream across reconnects. Compaction records its
// revision in upstream's `compact_rev_key` and then calls etcd's Compact.
//
// Read-your-writes for the watch cache: the API server reads from a cache fed by a
// store watch, and the SQLite store delivers events before a write returns. Here a
// write (or a failed precondition) returns only after every watch of this store that
// covers the key has delivered the revision it depends on.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { etcdPrefixFor, fromEtcdKey, prefixRangeEnd, toEtcdKey } from './etcd-keys.js';
import type { KeyValue, ListPage, ListPageOptions, ListResult, Store, WatchEvent, WatchHandle, WatchOptions } from './types.js';
import { StoreError } from './types.js';

export interface EtcdStoreOptions {
  /** Client URLs, e.g. `https://127.0.0.1:2379`; the first that answers is used, the next ones on failure. */
  endpoints: string[];
  /** PEM: CA to verify etcd's serving certificate, client certificate and key (mutual TLS). */
  ca?: string;
  cert?: string;
  key?: string;
  /** Key layout in etcd: upstream's (default, see etcd-keys.ts) or kite's keys as they are. */
  keyLayout?: 'upstream' | 'identity';
  /** How long open() keeps trying to reach etcd (it may still be starting). Default 30 s. */
  connectTimeoutMs?: number;
  /** Deadline of one unary call. Default 30 s. */
  callTimeoutMs?: number;
}

/** Where a kite API server records the last compaction (upstream's key, outside /registry/). */
export const COMPACT_REV_KEY = 'compact_rev_key';

/** How long a write waits for this store's watches to deliver it before answering anyway. */
const WATCH_SYNC_TIMEOUT_MS = 10_000;
/** Keys per range call in list(): bounds message sizes as the API server's paging does. */
const LIST_PAGE = 5000;

interface PbKeyValue {
  key: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Buffer;
}
interface PbHeader {
  revision: number;
}
interface PbRangeResponse {
  header: PbHeader;
  kvs: PbKeyValue[];
  more: boolean;
}
interface PbTxnResponse {
  header: PbHeader;
  succeeded: boolean;
  responses: { responseRange?: PbRangeResponse; responsePut?: { prevKv?: PbKeyValue | null }; responseDeleteRange?: { deleted: number; prevKvs: PbKeyValue[] } }[];
}
interface PbWatchResponse {
  header: PbHeader;
  watchId: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  events: { type: 'PUT' | 'DELETE'; kv: PbKeyValue; prevKv?: PbKeyValue | null }[];
}

const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, arrays: true, oneofs: true };

/** etcd.proto beside the module (source tree) or back in the source tree from dist/. */
function protoPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'etcd.proto'), join(here, '..', '..', 'store', 'etcd.proto')];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`etcd.proto not found (looked in ${candidates.join(', ')})`);
}

let services: { KV: grpc.ServiceClientConstructor; Watch: grpc.ServiceClientConstructor; Maintenance: grpc.ServiceClientConstructor } | undefined;
/** The gRPC service constructors (KV, Watch, Maintenance), also for benchmarks' raw calls. */
export function etcdServices(): NonNullable<typeof services> {
  if (!services) {
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath(), LOADER_OPTIONS)) as any;
    services = { KV: pkg.etcdserverpb.KV, Watch: pkg.etcdserverpb.Watch, Maintenance: pkg.etcdserverpb.Maintenance };
  }
  return services;
}

/** `https://host:port` → grpc target `host:port`. */
export function grpcTarget(endpoint: string): { target: string; tls: boolean } {
  const u = new URL(endpoint.includes('://') ? endpoint : `http://${endpoint}`);
  const port = u.port || '2379';
  return { target: `${u.hostname}:${port}`, tls: u.protocol === 'https:' };
}

interface Watcher {
  id: number;
  prefix: string;
  etcdPrefix: Buffer;
  filter: boolean;
  /** Highest revision delivered (event or progress): releases writes waiting on it. */
  delivered: number;
  /**
   * Revision of the last event really received: a new stream resumes after it. Never
   * a progress notification's (etcd 3.4 may send one ahead of events still queued).
   */
  resumeFrom: number;
  /** WatchOptions.everyRevision: the whole keyspace, other keys reported as progress. */
  everyRevision: boolean;
  onEvent: (ev: WatchEvent) => void;
  opts: WatchOptions;
  stopped: boolean;
  waiters: { revision: number; resolve: () => void }[];
  /** The watch stream (generation) etcd knows this watch on. */
  stream: number;
}

export class EtcdStore implements Store {
  private readonly clients: { kv: grpc.Client; watch: grpc.Client; maintenance: grpc.Client }[] = [];
  private current = 0;
  private rev = 0;
  private compacted = 0;
  private closed = false;
  private readonly toEtcd: (k: string) => string;
  private readonly fromEtcd: (k: string) => string;
  private readonly prefixFor: (p: string) => { etcdPrefix: string; filter: boolean };
  private readonly watchers = new Map<number, Watcher>();
  private nextWatchId = 1;
  private stream?: grpc.ClientDuplexStream<unknown, PbWatchResponse>;
  /** Bumped for every new watch stream; a watch is (re)created once per stream. */
  private streamGeneration = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private reconnectDelay = 100;

  private constructor(private readonly opts: EtcdStoreOptions) {
    if (opts.endpoints.length === 0) throw new Error('etcd store: no endpoints');
    const svc = etcdServices();
    const creds = (tls: boolean) =>
      tls
        ? grpc.credentials.createSsl(
            opts.ca ? Buffer.from(opts.ca) : null,
            opts.key ? Buffer.from(opts.key) : null,
            opts.cert ? Buffer.from(opts.cert) : null,
          )
        : grpc.credentials.createInsecure();
    const channelOptions = {
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    };
    for (const ep of opts.endpoints) {
      const { target, tls } = grpcTarget(ep);
      const c = creds(tls);
      // Loopback by name: TLS server names may not be IP addresses (the local etcd's
      // certificate names localhost too).
      const endpointOptions = tls && target.startsWith('127.0.0.1:') ? { ...channelOptions, 'grpc.ssl_target_name_override': 'localhost' } : channelOptions;
      // One channel per endpoint, shared by the three services.
      const kv = new svc.KV(target, c, endpointOptions);
      const channelOverride = kv.getChannel();
      this.clients.push({
        kv,
        watch: new svc.Watch(target, c, { ...endpointOptions, channelOverride }),
        maintenance: new svc.Maintenance(target, c, { ...endpointOptions, channelOverride }),
      });
    }
    const identity = opts.keyLayout === 'identity';
    this.toEtcd = identity ? (k) => k : toEtcdKey;
    this.fromEtcd = identity ? (k) => k : fromEtcdKey;
    this.prefixFor = identity ? (p) => ({ etcdPrefix: p, filter: false }) : etcdPrefixFor;
  }

  /** Connects (retrying while etcd starts) and reads the current and compacted revisions. */
  static async open(opts: EtcdStoreOptions): Promise<EtcdStore> {
    const store = new EtcdStore(opts);
    const deadline = Date.now() + (opts.connectTimeoutMs ?? 30_000);
    for (;;) {
      try {
        const r = await store.unary<PbRangeResponse>('kv', 'range', { key: Buffer.from(COMPACT_REV_KEY) }, 5000);
        store.seen(r.header);
        const v = r.kvs[0]?.value.toString();
        store.compacted = v && /^\d+$/.test(v) ? Number(v) : 0;
        return store;
      } catch (err) {
        if (Date.now() > deadline) {
          await store.close();
          throw new Error(`etcd store: cannot reach ${opts.endpoints.join(', ')}: ${(err as Error).message}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** etcd's version string (Maintenance.Status), for logs and health. */
  async serverVersion(): Promise<string> {
    const r = await this.unary<{ header: PbHeader; version: string }>('maintenance', 'status', {});
    return r.version;
  }

  revision(): number {
    return this.rev;
  }

  /** etcd's current revision (a one-key range read: the answer's header carries it). */
  async freshRevision(): Promise<number> {
    this.check();
    const r = await this.unary<PbRangeResponse>('kv', 'range', { key: Buffer.from(COMPACT_REV_KEY), countOnly: true });
    this.seen(r.header);
    return r.header.revision;
  }

  compactedRevision(): number {
    return this.compacted;
  }

  private check(): void {
    if (this.closed) throw new StoreError('Closed', 'store is closed');
  }

  private seen(h: PbHeader | undefined): void {
    if (h && h.revision > this.rev) this.rev = h.revision;
  }

  /** One unary call, moving to the next endpoint when this one is unavailable. */
  private async unary<T>(service: 'kv' | 'maintenance', method: string, req: unknown, timeoutMs?: number): Promise<T> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < this.clients.length; attempt++) {
      const client = this.clients[this.current][service] as any;
      try {
        return await new Promise<T>((resolve, reject) => {
          const deadline = new Date(Date.now() + (timeoutMs ?? this.opts.callTimeoutMs ?? 30_000));
          client[method](req, { deadline }, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
        });
      } catch (err) {
        lastErr = err;
        const code = (err as grpc.ServiceError).code;
        if (code !== grpc.status.UNAVAILABLE && code !== grpc.status.DEADLINE_EXCEEDED) throw this.translate(err);
        if (this.clients.length > 1) this.current = (this.current + 1) % this.clients.length;
      }
    }
    throw this.translate(lastErr);
  }

  private translate(err: unknown): unknown {
    const e = err as grpc.ServiceError;
    if (e && typeof e.details === 'string' && /required revision has been compacted/.test(e.details)) {
      return new StoreError('Compacted', e.details);
    }
    if (this.closed) return new StoreError('Closed', 'store is closed');
    return err;
  }

  private toKV(kv: PbKeyValue): KeyValue {
    return { key: this.fromEtcd(kv.key.toString('utf8')), value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision };
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.check();
    const r = await this.unary<PbRangeResponse>('kv', 'range', { key: Buffer.from(this.toEtcd(key)) });
    this.seen(r.header);
    return r.kvs[0] && this.toKV(r.kvs[0]);
  }

  async list(prefix: string): Promise<ListResult> {
    this.check();
    for (let attempt = 0; ; attempt++) {
      try {
        const items: KeyValue[] = [];
        let page: ListPage = await this.listPage(prefix, { limit: LIST_PAGE });
        const revision = page.revision;
        items.push(...page.items);
        while (page.continue !== undefined) {
          page = await this.listPage(prefix, { limit: LIST_PAGE, continue: page.continue, revision });
          items.push(...page.items);
        }
        if (this.prefixFor(prefix).filter || this.opts.keyLayout !== 'identity') items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        return { items, revision };
      } catch (err) {
        // Compacted between two pages: start over at the latest revision.
        if (err instanceof StoreError && err.code === 'Compacted' && attempt < 3) continue;
        throw err;
      }
    }
  }

  /**
   * Range reads with a limit; `continue` is the last etcd key of the previous page, so
   * pages of a prefix spanning several resources come in etcd's key order.
   */
  async listPage(prefix: string, opts: ListPageOptions): Promise<ListPage> {
    this.check();
    const { etcdPrefix, filter } = this.prefixFor(prefix);
    const start = Buffer.from(etcdPrefix);
    const end = prefixRangeEnd(start);
    const key = opts.continue !== undefined ? Buffer.concat([Buffer.from(opts.continue), Buffer.from([0])]) : start;
    const r = await this.unary<PbRangeResponse>('kv', 'range', { key, rangeEnd: end, limit: opts.limit, revision: opts.revision ?? 0 });
    this.seen(r.header);
    const revision = opts.revision || r.header.revision;
    let items = r.kvs.map((kv) => this.toKV(kv));
    if (filter) items = items.filter((kv) => kv.key.startsWith(prefix));
    const last = r.kvs[r.kvs.length - 1];
    return { items, revision, continue: r.more && last ? last.key.toString('utf8') : undefined };
  }

  private async txn(req: unknown): Promise<PbTxnResponse> {
    this.check();
    const r = await this.unary<PbTxnResponse>('kv', 'txn', req);
    this.seen(r.header);
    return r;
  }

  async create(key: string, value: Buffer): Promise<KeyValue> {
    const k = Buffer.from(this.toEtcd(key));
    const r = await this.txn({
      compare: [{ result: 'EQUAL', target: 'CREATE', key: k, createRevision: 0 }],
      success: [{ requestPut: { key: k, value } }],
      failure: [{ requestRange: { key: k } }],
    });
    if (!r.succeeded) {
      const cur = r.responses[0]?.responseRange?.kvs[0];
      if (cur) await this.synced(key, cur.modRevision);
      throw new StoreError('KeyExists', `key exists: ${key}`);
    }
    const rev = r.header.revision;
    await this.synced(key, rev);
    return { key, value, createRevision: rev, modRevision: rev };
  }

  async update(key: string, value: Buffer, expectedModRevision: number): Promise<KeyValue> {
    const k = Buffer.from(this.toEtcd(key));
    const r = await this.txn({
      compare: [{ result: 'EQUAL', target: 'MOD', key: k, modRevision: expectedModRevision }],
      success: [{ requestPut: { key: k, value, prevKv: true } }],
      failure: [{ requestRange: { key: k } }],
    });
    if (!r.succeeded) throw await this.failedPrecondition(key, r);
    const rev = r.header.revision;
    const prev = r.responses[0]?.responsePut?.prevKv;
    await this.synced(key, rev);
    return { key, value, createRevision: prev?.createRevision || rev, modRevision: rev };
  }

  async delete(key: string, expectedModRevision?: number): Promise<{ prev: KeyValue; revision: number }> {
    const k = Buffer.from(this.toEtcd(key));
    const r = await this.txn({
      compare: expectedModRevision === undefined ? [] : [{ result: 'EQUAL', target: 'MOD', key: k, modRevision: expectedModRevision }],
      success: [{ requestDeleteRange: { key: k, prevKv: true } }],
      failure: [{ requestRange: { key: k } }],
    });
    if (!r.succeeded) throw await this.failedPrecondition(key, r);
    const prev = r.responses[0]?.responseDeleteRange?.prevKvs[0];
    if (!prev) {
      await this.syncedAll(key, r.header.revision);
      throw new StoreError('KeyNotFound', `key not found: ${key}`);
    }
    const rev = r.header.revision;
    await this.synced(key, rev);
    return { prev: this.toKV(prev), revision: rev };
  }

  /** Conflict (with the current value) or KeyNotFound, once the watches have caught up with it. */
  private async failedPrecondition(key: string, r: PbTxnResponse): Promise<StoreError> {
    const cur = r.responses[0]?.responseRange?.kvs[0];
    if (!cur) {
      await this.syncedAll(key, r.header.revision);
      return new StoreError('KeyNotFound', `key not found: ${key}`);
    }
    await this.synced(key, cur.modRevision);
    return new StoreError('Conflict', `revision mismatch on ${key}`, this.toKV(cur));
  }

  /** Resolves once every watch covering `key` has delivered `revision` (its event for that key). */
  private synced(key: string, revision: number): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const w of this.watchers.values()) {
      if (w.stopped || w.delivered >= revision || !key.startsWith(w.prefix)) continue;
      waits.push(new Promise<void>((resolve) => w.waiters.push({ revision, resolve })));
    }
    if (waits.length === 0) return Promise.resolve();
    return this.bounded(Promise.all(waits).then(() => undefined), key, revision);
  }

  /**
   * Like synced() for a revision that has no event for the key (it was deleted at some
   * earlier, unknown revision): asks etcd for a progress notification.
   */
  private syncedAll(key: string, revision: number): Promise<void> {
    const behind = [...this.watchers.values()].some((w) => !w.stopped && w.delivered < revision && key.startsWith(w.prefix));
    if (behind) this.stream?.write({ progressRequest: {} });
    return this.synced(key, revision);
  }

  private bounded(p: Promise<void>, key: string, revision: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        console.error(`etcd store: watch did not deliver revision ${revision} of ${key} within ${WATCH_SYNC_TIMEOUT_MS / 1000}s; answering anyway`);
        resolve();
      }, WATCH_SYNC_TIMEOUT_MS);
      timer.unref();
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  // ------------------------------------------------------------------ watch

  watch(prefix: string, fromRevision: number, onEvent: (ev: WatchEvent) => void, opts: WatchOptions = {}): WatchHandle {
    this.check();
    if (fromRevision < this.compacted) {
      throw new StoreError('Compacted', `required revision ${fromRevision} has been compacted (compacted at ${this.compacted})`);
    }
    const { etcdPrefix, filter } = this.prefixFor(prefix);
    const w: Watcher = {
      id: this.nextWatchId++,
      prefix,
      etcdPrefix: Buffer.from(etcdPrefix),
      filter,
      delivered: fromRevision,
      resumeFrom: fromRevision,
      everyRevision: !!opts.everyRevision,
      onEvent,
      opts,
      stopped: false,
      waiters: [],
      stream: 0,
    };
    this.watchers.set(w.id, w);
    this.register(w, this.ensureStream());
    return {
      stop: () => {
        if (w.stopped) return;
        this.endWatcher(w);
        if (!this.closed) this.stream?.write({ cancelRequest: { watchId: w.id } });
      },
    };
  }

  private register(w: Watcher, stream: grpc.ClientDuplexStream<unknown, PbWatchResponse>): void {
    w.stream = this.streamGeneration;
    stream.write(this.createRequest(w));
  }

  private createRequest(w: Watcher): unknown {
    // The whole keyspace is the range [\0, \0).
    const all = Buffer.from([0]);
    return {
      createRequest: {
        key: w.everyRevision ? all : w.etcdPrefix,
        rangeEnd: w.everyRevision ? all : prefixRangeEnd(w.etcdPrefix),
        startRevision: w.resumeFrom + 1,
        progressNotify: !w.everyRevision,
        prevKv: true,
        watchId: w.id,
      },
    };
  }

  private endWatcher(w: Watcher): void {
    w.stopped = true;
    this.watchers.delete(w.id);
    for (const waiter of w.waiters) waiter.resolve();
    w.waiters = [];
  }

  private ensureStream(): grpc.ClientDuplexStream<unknown, PbWatchResponse> {
    if (this.stream) return this.stream;
    const client = this.clients[this.current].watch as any;
    const stream = client.watch() as grpc.ClientDuplexStream<unknown, PbWatchResponse>;
    this.stream = stream;
    this.streamGeneration++;
    stream.on('data', (res: PbWatchResponse) => {
      if (this.stream === stream) this.onWatchResponse(res);
    });
    const lost = (err?: Error) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      if (this.closed) return;
      if (err && (err as grpc.ServiceError).code !== grpc.status.CANCELLED) {
        console.error(`etcd store: watch stream lost (${err.message}); reconnecting`);
      }
      if (this.clients.length > 1) this.current = (this.current + 1) % this.clients.length;
      this.reconnectTimer = setTimeout(() => this.reconnect(), this.reconnectDelay);
      this.reconnectDelay = Math.min(this.reconnectDelay * 2, 5000);
    };
    stream.on('error', lost);
    stream.on('end', () => lost());
    return stream;
  }

  /** A new stream; every live watch resumes after the last revision it delivered. */
  private reconnect(): void {
    this.reconnectTimer = undefined;
    if (this.closed || this.watchers.size === 0) return;
    const stream = this.ensureStream();
    for (const w of [...this.watchers.values()]) {
      // A watch made since the stream came back is already on it.
      if (w.stream === this.streamGeneration) continue;
      if (w.resumeFrom < this.compacted) {
        this.failWatcher(w, `required revision ${w.resumeFrom} has been compacted (compacted at ${this.compacted})`);
        continue;
      }
      this.register(w, stream);
    }
  }

  private failWatcher(w: Watcher, message: string): void {
    this.endWatcher(w);
    const err = new StoreError('Compacted', message);
    if (w.opts.onError) w.opts.onError(err);
    else console.error(`etcd store: watch of ${w.prefix} ended: ${message}`);
  }

  private onWatchResponse(res: PbWatchResponse): void {
    this.seen(res.header);
    this.reconnectDelay = 100;
    if (res.watchId === -1) {
      // The answer to a WatchProgressRequest, for every watch of the stream. (etcd 3.4
      // may send it ahead of queued events: only the KeyNotFound wait relies on it, and
      // the registry's retry covers an early one.)
      for (const w of this.watchers.values()) this.progress(w, res.header.revision);
      return;
    }
    const w = this.watchers.get(res.watchId);
    if (!w || w.stopped) return;
    if (res.canceled) {
      if (res.compactRevision > 0) {
        if (res.compactRevision > this.compacted) this.compacted = res.compactRevision;
        this.failWatcher(w, `required revision ${w.delivered} has been compacted (compacted at ${res.compactRevision})`);
      } else {
        this.endWatcher(w);
        const err = new StoreError('Closed', `watch canceled by etcd: ${res.cancelReason || 'no reason given'}`);
        if (w.opts.onError) w.opts.onError(err);
        else console.error(`etcd store: watch of ${w.prefix} ${err.message}`);
      }
      return;
    }
    if (res.created) return;
    if (res.events.length === 0) {
      this.progress(w, res.header.revision);
      return;
    }
    for (const e of res.events) {
      if (w.stopped) return;
      const ev = this.toEvent(e);
      try {
        if ((!w.filter && !w.everyRevision) || ev.kv.key.startsWith(w.prefix)) w.onEvent(ev);
        else if (w.everyRevision && ev.revision > w.resumeFrom) w.opts.onProgress?.(ev.revision);
      } catch (err) {
        // A failing watcher must not break the stream or other watchers.
        console.error('store watcher failed:', err);
      }
      if (ev.revision > w.delivered) w.delivered = ev.revision;
      if (ev.revision > w.resumeFrom) w.resumeFrom = ev.revision;
    }
    this.release(w);
  }

  private progress(w: Watcher, revision: number): void {
    // A watch of every revision learns each one from its events; etcd 3.4's progress
    // notifications may run ahead of them.
    if (w.everyRevision || revision <= w.delivered) return;
    w.delivered = revision;
    w.opts.onProgress?.(revision);
    this.release(w);
  }

  private release(w: Watcher): void {
    if (w.waiters.length === 0) return;
    const still: Watcher['waiters'] = [];
    for (const waiter of w.waiters) {
      if (waiter.revision <= w.delivered) waiter.resolve();
      else still.push(waiter);
    }
    w.waiters = still;
  }

  private toEvent(e: PbWatchResponse['events'][number]): WatchEvent {
    const revision = e.kv.modRevision;
    if (e.type === 'DELETE') {
      const prev = e.prevKv ? this.toKV(e.prevKv) : undefined;
      const key = this.fromEtcd(e.kv.key.toString('utf8'));
      const kv = prev ? { ...prev, modRevision: revision } : { key, value: e.kv.value, createRevision: 0, modRevision: revision };
      return { type: 'delete', kv, prevKv: prev, revision };
    }
    return { type: 'put', kv: this.toKV(e.kv), prevKv: e.prevKv ? this.toKV(e.prevKv) : undefined, revision };
  }

  // ------------------------------------------------------------------ compaction

  /**
   * Drops history older than `revision`: records it in compact_rev_key (so every
   * store on this etcd knows, as upstream's compactor does) and compacts etcd.
   */
  async compact(revision: number): Promise<void> {
    this.check();
    if (revision <= this.compacted) return;
    const target = Math.min(revision, this.rev);
    await this.txn({ compare: [], success: [{ requestPut: { key: Buffer.from(COMPACT_REV_KEY), value: Buffer.from(String(target)) } }], failure: [] });
    try {
      await this.unary('kv', 'compact', { revision: target, physical: true });
    } catch (err) {
      if (!(err instanceof StoreError && err.code === 'Compacted')) throw err;
    }
    if (target > this.compacted) this.compacted = target;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const w of [...this.watchers.values()]) this.endWatcher(w);
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    for (const c of this.clients) {
      c.watch.close();
      c.maintenance.close();
      c.kv.close();
    }
  }
}

/** Reads PEM files named by paths (the --etcd-cafile/--etcd-certfile/--etcd-keyfile flags). */
export function readTLSFiles(files: { caFile?: string; certFile?: string; keyFile?: string }): { ca?: string; cert?: string; key?: string } {
  return {
    ca: files.caFile ? readFileSync(files.caFile, 'utf8') : undefined,
    cert: files.certFile ? readFileSync(files.certFile, 'utf8') : undefined,
    key: files.keyFile ? readFileSync(files.keyFile, 'utf8') : undefined,
  };
}
