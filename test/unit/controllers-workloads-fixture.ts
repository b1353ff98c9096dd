// Shared set-up for the workload-controller unit tests: an in-memory API (registry over
// SQLite :memory:), the controllers under test on the in-process transport, and a
// stand-in kubelet that marks pods Running and Ready through the status subresource.
import type { Pod, Node } from 'kubernetes-types/core/v1.js';
import { SharedInformerFactory } from '../../client/informer.js';
import { EventBroadcaster } from '../../client/events.js';
import type { Controller } from '../../client/controller.js';
import type { ApiObject, ApiTransport, WriteOptions } from '../../client/transport.js';
import type { ResourceInfo } from '../../machinery/resources.js';
import type { ControllerConstructor, ControllerContext } from '../../controllers/manager.js';
import { res, startCluster, sleep } from './client-fixture.js';
import type { Cluster } from './client-fixture.js';
import { waitInProcess } from '../wait.js';

export const PODS = res('', 'v1', 'pods');
export const NODES = res('', 'v1', 'nodes');
export const PVCS = res('', 'v1', 'persistentvolumeclaims');
export const EVENTS = res('', 'v1', 'events');
export const RCS = res('', 'v1', 'replicationcontrollers');
export const DEPLOYMENTS = res('apps', 'v1', 'deployments');
export const REPLICASETS = res('apps', 'v1', 'replicasets');
export const STATEFULSETS = res('apps', 'v1', 'statefulsets');
export const DAEMONSETS = res('apps', 'v1', 'daemonsets');
export const CONTROLLERREVISIONS = res('apps', 'v1', 'controllerrevisions');

/** Failures to inject into the controllers' writes (return an error to throw it). */
export interface Faults {
  create?: (resource: string, obj: ApiObject) => Error | undefined;
}

export interface WorkloadCluster extends Cluster {
  ctx: ControllerContext;
  faults: Faults;
  controllers: Controller[];
  /** Stop the controllers, informers and the API. */
  stop(): Promise<void>;
}

export async function startWorkloads(constructors: readonly ControllerConstructor[], namespaces: string[] = ['default']): Promise<WorkloadCluster> {
  const c = await startCluster(namespaces);
  const faults: Faults = {};
  // The controllers' transport: the real one, with injectable create failures.
  const transport = new Proxy(c.transport, {
    get(target, prop) {
      if (prop === 'create') {
        return async (r: ResourceInfo, ns: string | undefined, obj: ApiObject, o?: WriteOptions) => {
          const err = faults.create?.(r.plural, obj);
          if (err) throw err;
          return target.create(r, ns, obj, o);
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as ApiTransport;
  const informers = new SharedInformerFactory(transport);
  const events = new EventBroadcaster(transport, { host: 'test', log: () => undefined });
  const ctx: ControllerContext = { transport, informers, events };
  const controllers = constructors.map((make) => make(ctx));
  informers.start();
  await Promise.all(controllers.map((x) => x.start()));
  return {
    ...c,
    ctx,
    faults,
    controllers,
    async stop() {
      await Promise.all(controllers.map((x) => x.stop()));
      await informers.stop();
      await events.shutdown();
      await c.close();
    },
  };
}

const rfc3339 = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** What a kubelet would report for a started pod: Running, and Ready (or not). */
export async function setPodReady(c: Cluster, pod: Pod, ready = true, readySinceMs = Date.now()): Promise<void> {
  const cur = await c.transport.get<Pod>(PODS, pod.metadata!.namespace, pod.metadata!.name!);
  const t = rfc3339(readySinceMs);
  const status = {
    ...(cur.status ?? {}),
    phase: 'Running',
    conditions: [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: t },
      { type: 'Initialized', status: 'True', lastTransitionTime: t },
      { type: 'ContainersReady', status: ready ? 'True' : 'False', lastTransitionTime: t },
      { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: t },
    ],
  };
  await c.transport.updateStatus<Pod>(PODS, cur.metadata!.namespace, { ...cur, status });
}

export async function setPodPhase(c: Cluster, pod: Pod, phase: string): Promise<void> {
  const cur = await c.transport.get<Pod>(PODS, pod.metadata!.namespace, pod.metadata!.name!);
  await c.transport.updateStatus<Pod>(PODS, cur.metadata!.namespace, { ...cur, status: { ...(cur.status ?? {}), phase } });
}

export async function listPods(c: Cluster, namespace = 'default', labelSelector?: string): Promise<Pod[]> {
  return (await c.transport.list<Pod>(PODS, namespace, { labelSelector })).items;
}

/**
 * A stand-in kubelet: every pod (optionally only those `filter` accepts) is made Running
 * and Ready soon after it appears; pods being deleted gracefully are removed.
 */
export function fakeKubelet(c: Cluster, opts: { filter?: (pod: Pod) => boolean; delayMs?: number } = {}): { stop(): void; pause(): void; resume(): void } {
  let stopped = false;
  let paused = false;
  const loop = async () => {
    while (!stopped) {
      if (!paused) {
        try {
          for (const pod of await listPods(c, '')) {
            if (pod.metadata?.deletionTimestamp) {
              await c.transport.delete(PODS, pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0 }).catch(() => undefined);
              continue;
            }
            if (opts.filter && !opts.filter(pod)) continue;
            const ready = pod.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True';
            if (ready) continue;
            const created = Date.parse(pod.metadata?.creationTimestamp ?? '') || 0;
            if (opts.delayMs && Date.now() - created < opts.delayMs) continue;
            await setPodReady(c, pod).catch(() => undefined);
          }
        } catch {
          /* the API is going away */
        }
      }
      await sleep(10);
    }
  };
  void loop();
  return {
    stop: () => void (stopped = true),
    pause: () => void (paused = true),
    resume: () => void (paused = false),
  };
}

export function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 8000): Promise<T> {
  return waitInProcess(what, fn, timeoutMs);
}

export function node(name: string, extra: { labels?: Record<string, string>; taints?: { key: string; value?: string; effect: string }[]; unschedulable?: boolean } = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(extra.labels ?? {}) } },
    spec: { taints: extra.taints, unschedulable: extra.unschedulable },
  };
}

export function podTemplate(labels: Record<string, string>, image = 'nginx:1.25'): { metadata: { labels: Record<string, string> }; spec: { containers: { name: string; image: string }[] } } {
  return { metadata: { labels }, spec: { containers: [{ name: 'web', image }] } };
}

export async function eventsFor(c: Cluster, obj: ApiObject): Promise<{ reason?: string; message?: string; type?: string }[]> {
  const all = (await c.transport.list<{ involvedObject?: { name?: string; kind?: string }; reason?: string; message?: string; type?: string } & ApiObject>(EVENTS, obj.metadata?.namespace ?? 'default')).items;
  return all.filter((e) => e.involvedObject?.name === obj.metadata?.name && e.involvedObject?.kind === obj.kind);
}
