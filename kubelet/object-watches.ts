// The ConfigMaps and Secrets the kubelet needs, watched one by one (upstream:
// pkg/kubelet/util/manager/watch_based_manager.go, the default "Watch" change
// detection strategy): a watch on `metadata.name=<name>` in the namespace for
// every object some pod on this node references, dropped when no pod does.
//
// Why not one informer on all ConfigMaps and Secrets: a node may only read
// what its own pods use (upstream's Node authorizer), and a node has no business
// caching every Secret of the cluster.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Informer } from '../client/informer.js';
import type { ApiObject, ApiTransport } from '../client/transport.js';
import { isNotFound } from '../client/transport.js';
import type { ResourceInfo } from '../machinery/resources.js';

interface ObjectWatch<T extends ApiObject> {
  informer: Informer<T>;
  pods: Set<string>;
}

export class ObjectWatches<T extends ApiObject> {
  private readonly watches = new Map<string, ObjectWatch<T>>();
  /** pod uid → the keys it references */
  private readonly podRefs = new Map<string, Set<string>>();
  private stopped = false;

  constructor(
    private readonly transport: ApiTransport,
    private readonly res: ResourceInfo,
    private readonly opts: { log?: (msg: string) => void } = {},
  ) {}

  private static key(namespace: string, name: string): string {
    return `${namespace}/${name}`;
  }

  /** The objects pod `uid` references now (replacing what it referenced before). */
  setPodReferences(uid: string, namespace: string, names: Iterable<string>): void {
    if (this.stopped) return;
    const keys = new Set<string>();
    for (const n of names) if (n) keys.add(ObjectWatches.key(namespace, n));
    const before = this.podRefs.get(uid) ?? new Set<string>();
    for (const k of keys) {
      if (before.has(k)) continue;
      let w = this.watches.get(k);
      if (!w) {
        const name = k.slice(namespace.length + 1);
        const informer = new Informer<T>(this.transport, this.res, { namespace, fieldSelector: `metadata.name=${name}`, log: this.opts.log, name: `${this.res.plural} ${k}` });
        w = { informer, pods: new Set() };
        this.watches.set(k, w);
        informer.start();
      }
      w.pods.add(uid);
    }
    for (const k of before) if (!keys.has(k)) this.release(k, uid);
    if (keys.size) this.podRefs.set(uid, keys);
    else this.podRefs.delete(uid);
  }

  removePod(uid: string): void {
    for (const k of this.podRefs.get(uid) ?? []) this.release(k, uid);
    this.podRefs.delete(uid);
  }

  private release(key: string, uid: string): void {
    const w = this.watches.get(key);
    if (!w) return;
    w.pods.delete(uid);
    if (w.pods.size === 0) {
      this.watches.delete(key);
      void w.informer.stop();
    }
  }

  /** Whether a watch runs for the object (tests, diagnostics). */
  watching(namespace: string, name: string): boolean {
    return this.watches.has(ObjectWatches.key(namespace, name));
  }

  /** The object from its watch once that has listed, else straight from the API. */
  async get(namespace: string, name: string): Promise<T | undefined> {
    const w = this.watches.get(ObjectWatches.key(namespace, name));
    if (w?.informer.hasSynced()) return w.informer.store.get(namespace, name);
    try {
      return await this.transport.get<T>(this.res, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.watches.values()];
    this.watches.clear();
    this.podRefs.clear();
    await Promise.all(all.map((w) => w.informer.stop()));
  }
}

function allContainers(pod: Pod) {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? []), ...(pod.spec?.ephemeralContainers ?? [])];
}

/** ConfigMaps a pod uses: volumes, projected sources, env and envFrom (upstream podutil.VisitPodConfigmapNames). */
export function podConfigMapNames(pod: Pod): Set<string> {
  const out = new Set<string>();
  for (const v of pod.spec?.volumes ?? []) {
    if (v.configMap?.name) out.add(v.configMap.name);
    for (const s of v.projected?.sources ?? []) if (s.configMap?.name) out.add(s.configMap.name);
  }
  for (const c of allContainers(pod)) {
    for (const e of c.envFrom ?? []) if (e.configMapRef?.name) out.add(e.configMapRef.name);
    for (const e of c.env ?? []) if (e.valueFrom?.configMapKeyRef?.name) out.add(e.valueFrom.configMapKeyRef.name);
  }
  return out;
}

/** Secrets a pod uses: volumes, projected sources, env, envFrom, image pull secrets (upstream podutil.VisitPodSecretNames). */
export function podSecretNames(pod: Pod): Set<string> {
  const out = new Set<string>();
  for (const s of pod.spec?.imagePullSecrets ?? []) if (s.name) out.add(s.name);
  for (const v of pod.spec?.volumes ?? []) {
    if (v.secret?.secretName) out.add(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) if (s.secret?.name) out.add(s.secret.name);
  }
  for (const c of allContainers(pod)) {
    for (const e of c.envFrom ?? []) if (e.secretRef?.name) out.add(e.secretRef.name);
    for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef?.name) out.add(e.valueFrom.secretKeyRef.name);
  }
  return out;
}
