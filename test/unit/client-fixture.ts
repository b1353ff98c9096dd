// A real in-process API (SQLite in memory + watch cache + registry) for the client tests.
import { SqliteStore } from '../../store/sqlite.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ResourceInfo } from '../../machinery/resources.js';
import type { Registry } from '../../apiserver/registry.js';
import type { RequestPipeline } from '../../apiserver/pipeline.js';
import { startApiCore, OPEN_POLICY } from '../../apiserver/api.js';
import type { ApiPolicy } from '../../apiserver/api.js';
import type { ClusterLookups } from '../../apiserver/lookups.js';
import { internalContext } from '../../apiserver/context.js';
import { LocalTransport } from '../../client/local-transport.js';
import type { ApiObject, ApiTransport, ListOptions, ListResult, Watch, WatchEnd, WatchEvent, WatchOptions } from '../../client/transport.js';
import { waitInProcess } from '../wait.js';

export const res = (group: string, version: string, plural: string): ResourceInfo => resourceByPath(group, version, plural)!;
export const PODS = res('', 'v1', 'pods');
export const CONFIGMAPS = res('', 'v1', 'configmaps');
export const NAMESPACES = res('', 'v1', 'namespaces');
export const EVENTS = res('', 'v1', 'events');

export interface Cluster {
  store: SqliteStore;
  registry: Registry;
  pipeline: RequestPipeline;
  lookups: ClusterLookups;
  transport: LocalTransport;
  close(): Promise<void>;
}

/** `policy`: the authorizer and admission plugins (default: allow everything, no plugins). */
export async function startCluster(namespaces: string[] = ['default'], policy: (lookups: ClusterLookups) => ApiPolicy = OPEN_POLICY): Promise<Cluster> {
  const store = new SqliteStore(':memory:');
  const core = await startApiCore(store, policy);
  const { registry, pipeline, lookups } = core;
  for (const name of namespaces) {
    await registry.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, internalContext('test'));
  }
  const transport = new LocalTransport(pipeline, { component: 'test' });
  return {
    store,
    registry,
    pipeline,
    lookups,
    transport,
    async close() {
      core.stop();
      await store.close();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean, what = 'condition', timeoutMs = 5000): Promise<void> {
  await waitInProcess(what, cond, timeoutMs);
}

export function pod(name: string, extra: { nodeName?: string; labels?: Record<string, string>; owner?: string; namespace?: string } = {}): ApiObject & Record<string, unknown> {
  const metadata: Record<string, unknown> = { name, namespace: extra.namespace ?? 'default' };
  if (extra.labels) metadata.labels = extra.labels;
  if (extra.owner) metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: extra.owner, controller: true }];
  const spec: Record<string, unknown> = { containers: [{ name: 'c', image: 'nginx' }] };
  if (extra.nodeName) spec.nodeName = extra.nodeName;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec } as ApiObject & Record<string, unknown>;
}

export function configMap(name: string, data: Record<string, string> = {}, namespace = 'default'): ApiObject & Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data } as ApiObject & Record<string, unknown>;
}

/**
 * The real transport with two test levers: `gate` holds new watches back until it is
 * opened, and closeWatches() ends the open watches as a server would (normally).
 */
export class ControlledTransport implements ApiTransport {
  readonly component: string;
  readonly preferredPageSize: number;
  readonly listCalls: ListOptions[] = [];
  readonly watchCalls: WatchOptions[] = [];
  private gate?: Promise<void>;
  private openGate?: () => void;
  private readonly closers = new Set<() => void>();

  constructor(
    readonly inner: ApiTransport,
    pageSize = 0,
  ) {
    this.component = inner.component;
    this.preferredPageSize = pageSize;
  }

  holdWatches(): void {
    this.gate = new Promise((r) => (this.openGate = r));
  }

  releaseWatches(): void {
    this.gate = undefined;
    this.openGate?.();
  }

  /** End every open watch with reason `closed`, as a server timeout would. */
  closeWatches(): void {
    for (const c of [...this.closers]) c();
  }

  get: ApiTransport['get'] = (r, ns, name) => this.inner.get(r, ns, name);
  create: ApiTransport['create'] = (r, ns, obj, o) => this.inner.create(r, ns, obj, o);
  update: ApiTransport['update'] = (r, ns, obj, o) => this.inner.update(r, ns, obj, o);
  updateStatus: ApiTransport['updateStatus'] = (r, ns, obj, o) => this.inner.updateStatus(r, ns, obj, o);
  patch: ApiTransport['patch'] = (r, ns, name, t, b, o) => this.inner.patch(r, ns, name, t, b, o);
  delete: ApiTransport['delete'] = (r, ns, name, o) => this.inner.delete(r, ns, name, o);
  getSubresource: ApiTransport['getSubresource'] = (r, ns, name, s) => this.inner.getSubresource(r, ns, name, s);
  createSubresource: ApiTransport['createSubresource'] = (r, ns, name, s, b, o) => this.inner.createSubresource(r, ns, name, s, b, o);
  close(): void {}

  list<T extends ApiObject>(r: ResourceInfo, ns: string | undefined, opts: ListOptions = {}): Promise<ListResult<T>> {
    this.listCalls.push(opts);
    return this.inner.list<T>(r, ns, opts);
  }

  watch<T extends ApiObject>(r: ResourceInfo, ns: string | undefined, opts: WatchOptions, onEvent: (ev: WatchEvent<T>) => void): Watch {
    this.watchCalls.push(opts);
    let inner: Watch | undefined;
    let stopped = false;
    let settle!: (e: WatchEnd) => void;
    const done = new Promise<WatchEnd>((resolve) => (settle = resolve));
    const close = () => {
      this.closers.delete(close);
      inner?.stop();
      settle({ reason: 'closed' });
    };
    const open = () => {
      if (stopped) return;
      inner = this.inner.watch<T>(r, ns, opts, onEvent);
      this.closers.add(close);
      void inner.done.then((e) => {
        this.closers.delete(close);
        settle(e);
      });
    };
    if (this.gate) void this.gate.then(open);
    else open();
    return {
      stop: () => {
        stopped = true;
        this.closers.delete(close);
        inner?.stop();
        settle({ reason: 'stopped' });
      },
      done,
    };
  }
}
