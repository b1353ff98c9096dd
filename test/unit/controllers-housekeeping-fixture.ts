// Shared set-up for the housekeeping controller tests: an in-process API (registry +
// LocalTransport), a controller context, and helpers to start controllers and read
// objects and events back.
import type { Controller } from '../../client/controller.js';
import { EventBroadcaster } from '../../client/events.js';
import { SharedInformerFactory } from '../../client/informer.js';
import { LocalTransport } from '../../client/local-transport.js';
import type { ApiTransport } from '../../client/transport.js';
import { isNotFound } from '../../client/transport.js';
import type { KubeObject } from '../../machinery/object.js';
import type { ResourceInfo } from '../../machinery/resources.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ControllerContext } from '../../controllers/manager.js';
import { startCluster } from './client-fixture.js';
import type { Cluster } from './client-fixture.js';
import { waitInProcess } from '../wait.js';

export const R = {
  pods: resourceByPath('', 'v1', 'pods')!,
  configmaps: resourceByPath('', 'v1', 'configmaps')!,
  secrets: resourceByPath('', 'v1', 'secrets')!,
  namespaces: resourceByPath('', 'v1', 'namespaces')!,
  nodes: resourceByPath('', 'v1', 'nodes')!,
  events: resourceByPath('', 'v1', 'events')!,
  serviceaccounts: resourceByPath('', 'v1', 'serviceaccounts')!,
  leases: resourceByPath('coordination.k8s.io', 'v1', 'leases')!,
  replicasets: resourceByPath('apps', 'v1', 'replicasets')!,
  deployments: resourceByPath('apps', 'v1', 'deployments')!,
  jobs: resourceByPath('batch', 'v1', 'jobs')!,
  pdbs: resourceByPath('policy', 'v1', 'poddisruptionbudgets')!,
};

export interface Harness {
  cluster: Cluster;
  /** The client the test itself uses. */
  client: ApiTransport;
  ctx: ControllerContext;
  controllers: Controller[];
  /** Construct controllers, then start the informers and the controllers. */
  run(...make: ((ctx: ControllerContext) => Controller)[]): Promise<Controller[]>;
  close(): Promise<void>;
}

export async function harness(namespaces: string[] = ['default', 'kube-node-lease']): Promise<Harness> {
  const cluster = await startCluster(namespaces);
  const transport = new LocalTransport(cluster.pipeline, { component: 'kube-controller-manager' });
  const informers = new SharedInformerFactory(transport);
  const events = new EventBroadcaster(transport, { host: 'test', log: () => undefined });
  const ctx: ControllerContext = { transport, informers, events };
  const client = new LocalTransport(cluster.pipeline, { component: 'test' });
  const controllers: Controller[] = [];
  return {
    cluster,
    client,
    ctx,
    controllers,
    async run(...make) {
      const made = make.map((m) => m(ctx));
      controllers.push(...made);
      informers.start();
      await Promise.all(made.map((c) => c.start()));
      return made;
    },
    async close() {
      await Promise.all(controllers.map((c) => c.stop()));
      await informers.stop();
      await events.shutdown();
      await cluster.close();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns something truthy. */
export function eventually<T>(what: string, fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 5000): Promise<T> {
  return waitInProcess(what, fn, timeoutMs);
}

/** The object, or undefined when it does not exist. */
export async function tryGet<T = KubeObject>(client: ApiTransport, res: ResourceInfo, namespace: string | undefined, name: string): Promise<T | undefined> {
  try {
    return (await client.get(res, namespace, name)) as unknown as T;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function gone(client: ApiTransport, res: ResourceInfo, namespace: string | undefined, name: string): Promise<boolean> {
  return (await tryGet(client, res, namespace, name)) === undefined;
}

export interface RecordedEvent {
  reason: string;
  message: string;
  type: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

/** Every Event in every namespace. */
export async function events(client: ApiTransport): Promise<RecordedEvent[]> {
  const { items } = await client.list<KubeObject>(R.events, undefined);
  return items.map((e) => {
    const io = (e.involvedObject ?? {}) as { kind?: string; name?: string; namespace?: string };
    return { reason: String(e.reason), message: String(e.message), type: String(e.type), kind: io.kind, name: io.name, namespace: io.namespace };
  });
}

export function configMap(name: string, namespace = 'default', extra: { ownerReferences?: unknown[]; finalizers?: string[] } = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, ...extra } as KubeObject['metadata'], data: { k: 'v' } };
}

export function ownerRef(obj: KubeObject, opts: { blockOwnerDeletion?: boolean; controller?: boolean } = {}): Record<string, unknown> {
  return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata!.name, uid: obj.metadata!.uid, ...opts };
}

export function podSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { containers: [{ name: 'c', image: 'busybox' }], ...extra };
}

export function pod(name: string, opts: { namespace?: string; nodeName?: string; labels?: Record<string, string>; owner?: Record<string, unknown>; spec?: Record<string, unknown>; finalizers?: string[] } = {}): KubeObject {
  const metadata: Record<string, unknown> = { name, namespace: opts.namespace ?? 'default' };
  if (opts.labels) metadata.labels = opts.labels;
  if (opts.owner) metadata.ownerReferences = [opts.owner];
  if (opts.finalizers) metadata.finalizers = opts.finalizers;
  const spec = podSpec(opts.spec);
  if (opts.nodeName) spec.nodeName = opts.nodeName;
  return { apiVersion: 'v1', kind: 'Pod', metadata: metadata as KubeObject['metadata'], spec };
}

/** Set a pod's phase and Ready condition through the status subresource (as a kubelet would). */
export async function setPodStatus(client: ApiTransport, namespace: string, name: string, phase: string, ready: boolean): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await client.patch(R.pods, namespace, name, 'merge', { status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now }] } }, { subresource: 'status' });
}

export function rfc3339(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function microTime(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}
