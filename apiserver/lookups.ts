// Read-only views of cluster state for the authorizers and admission plugins: straight
// on the watch cache (memory), so a lookup per request costs a map access. Built before
// the registry, because the registry is constructed with the admission chain that
// uses these.
import type { KubeObject } from '../machinery/object.js';
import { resourceByPath } from '../machinery/resources.js';
import type { ResourceInfo } from '../machinery/resources.js';
import { storageResource } from './conversion.js';
import type { CachedEvent, ResourceCache, WatchCache } from './watchcache.js';

/**
 * Storage prefixes by resource: every request needs its resource's several times (its
 * keys, its cache), and a resource's never changes (its storage resource is named by
 * its own group, version and plural).
 */
const prefixes = new WeakMap<ResourceInfo, string>();

export function storagePrefix(res: ResourceInfo): string {
  let prefix = prefixes.get(res);
  if (prefix === undefined) {
    const s = storageResource(res);
    prefix = `/registry/${s.group || 'core'}/${s.plural}/`;
    prefixes.set(res, prefix);
  }
  return prefix;
}

export class ClusterLookups {
  private podsByNode?: Map<string, Set<string>>;
  private readonly caches = new Map<string, ResourceCache>();

  constructor(private readonly cache: WatchCache) {}

  private resource(group: string, plural: string): { res: ResourceInfo; cache: ResourceCache } {
    const id = `${group}/${plural}`;
    const res = resourceByPath(group, group === '' ? 'v1' : versionOf(group), plural);
    if (!res) throw new Error(`unknown resource ${id}`);
    let c = this.caches.get(id);
    if (!c) this.caches.set(id, (c = this.cache.resource(storagePrefix(res))));
    return { res, cache: c };
  }

  /** The stored object (never mutate it), or undefined. */
  get(group: string, plural: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const { res, cache } = this.resource(group, plural);
    return cache.objects.get(storagePrefix(res) + (res.namespaced ? `${namespace}/` : '') + name);
  }

  /** Stored objects, optionally in one namespace (never mutate them). */
  list(group: string, plural: string, namespace?: string): KubeObject[] {
    return this.resource(group, plural).cache.list(namespace);
  }

  /** Stored objects one at a time (never mutate them): see ResourceCache.each. */
  each(group: string, plural: string, namespace?: string): Iterable<KubeObject> {
    return this.resource(group, plural).cache.each(namespace);
  }

  /** Call `onChange` after every change of this resource; returns a function that stops it. */
  onChange(group: string, plural: string, onChange: (ev: CachedEvent) => void): () => void {
    const { cache } = this.resource(group, plural);
    const watcher = { namespace: undefined, deliver: onChange };
    cache.watchers.add(watcher);
    return () => cache.watchers.delete(watcher);
  }

  /** Pods bound to a node (an index kept by a watch, built on first use). */
  *podsOnNode(node: string): Iterable<KubeObject> {
    const { cache } = this.resource('', 'pods');
    if (!this.podsByNode) {
      const index = new Map<string, Set<string>>();
      const add = (key: string, pod: KubeObject | undefined) => {
        const n = (pod?.spec as { nodeName?: string } | undefined)?.nodeName;
        if (!n) return;
        let set = index.get(n);
        if (!set) index.set(n, (set = new Set()));
        set.add(key);
      };
      const remove = (key: string, pod: KubeObject | undefined) => {
        const n = (pod?.spec as { nodeName?: string } | undefined)?.nodeName;
        if (!n) return;
        const set = index.get(n);
        set?.delete(key);
        if (set?.size === 0) index.delete(n);
      };
      for (const [key, pod] of cache.objects) add(key, pod);
      const keyOf = (o: KubeObject) => `${cache.prefix}${o.metadata?.namespace}/${o.metadata?.name}`;
      this.onChange('', 'pods', (ev) => {
        const key = keyOf(ev.object);
        remove(key, ev.prev);
        if (ev.type !== 'DELETED') add(key, ev.object);
      });
      this.podsByNode = index;
    }
    for (const key of this.podsByNode.get(node) ?? []) {
      const pod = cache.objects.get(key);
      if (pod) yield pod;
    }
  }
}

/** The served (storage) version of a non-core group used for lookups. */
function versionOf(group: string): string {
  switch (group) {
    case 'autoscaling':
      return 'v2';
    default:
      return 'v1';
  }
}
