// Serving CustomResourceDefinitions (upstream: apiextensions-apiserver's naming,
// establishing and finalizing controllers, which run inside the API server): accepts a
// CRD's names unless another resource of its group holds them, registers its served
// versions as resources (routing, discovery, OpenAPI, the watch cache all follow the
// resource table), marks it Established, and on deletion deletes every custom resource
// before letting the CRD go.
import type { KubeObject } from '../../machinery/object.js';
import type { ResourceInfo, SubresourceInfo } from '../../machinery/resources.js';
import { CRUD_VERBS, RESOURCES, resourceByPath, resourcesOf, setResources } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';
import { internalContext } from '../context.js';
import type { Registry } from '../registry.js';
import { nowRFC3339 } from '../registry.js';
import type { WatchCache } from '../watchcache.js';
import { storagePrefix } from '../lookups.js';

type Obj = Record<string, any>;

export const CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';
const MANAGER = 'kube-apiserver';

interface Condition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

function setCondition(status: Obj, cond: Condition): void {
  const conds: Condition[] = (status.conditions ??= []);
  const existing = conds.find((c) => c.type === cond.type);
  if (!existing) {
    conds.push({ ...cond, lastTransitionTime: nowRFC3339() });
    return;
  }
  if (existing.status !== cond.status) existing.lastTransitionTime = nowRFC3339();
  existing.status = cond.status;
  existing.reason = cond.reason;
  existing.message = cond.message;
}

/** The names a CRD asks for, with upstream's defaults (singular = lower-case kind, listKind = kind + List). */
export function requestedNames(crd: Obj): Obj {
  const names = { ...(crd.spec?.names ?? {}) };
  names.singular ||= String(names.kind ?? '').toLowerCase();
  names.listKind ||= `${names.kind}List`;
  return names;
}

export class CrdController {
  private readonly crds: ResourceInfo;
  private readonly queue = new Set<string>();
  private running = false;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly watcher = { deliver: (ev: { object: KubeObject }) => this.enqueue(ev.object.metadata!.name!) };

  constructor(
    private readonly registry: Registry,
    private readonly cache: WatchCache,
  ) {
    this.crds = resourceByPath('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
  }

  /** Serve every stored CRD now (before the API server takes requests), then follow changes. */
  async start(): Promise<void> {
    const cache = this.registry.resourceCache(this.crds);
    cache.watchers.add(this.watcher);
    for (const crd of cache.list()) this.queue.add(crd.metadata!.name!);
    await this.drain();
  }

  stop(): void {
    this.stopped = true;
    this.registry.resourceCache(this.crds).watchers.delete(this.watcher);
    for (const t of this.timers) clearTimeout(t);
  }

  private enqueue(name: string): void {
    this.queue.add(name);
    if (!this.running) void this.drain();
  }

  private later(name: string, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) this.enqueue(name);
    }, ms);
    this.timers.add(t);
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.size && !this.stopped) {
        const name = this.queue.values().next().value as string;
        this.queue.delete(name);
        try {
          await this.sync(name);
        } catch (err) {
          if (!(err instanceof StatusError && (err.code === 409 || err.code === 404))) console.error(`crd controller: ${name}:`, err);
          this.later(name, 1000);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private stored(name: string): Obj | undefined {
    return this.registry.getStored(this.crds, undefined, name) as Obj | undefined;
  }

  /** A name clash with a built-in resource or another CRD of the same group; undefined when none. */
  private conflict(crd: Obj): string | undefined {
    const group = crd.spec?.group;
    const names = requestedNames(crd);
    const mine = [names.plural, names.singular, ...(names.shortNames ?? [])].filter(Boolean);
    for (const r of RESOURCES) {
      if (r.group !== group) continue;
      if (r.plural === names.plural) return `"${names.plural}" is already in use`;
      if (r.kind === names.kind) return `"${names.kind}" is already in use`;
    }
    for (const other of this.registry.resourceCache(this.crds).list() as Obj[]) {
      if (other.metadata.name === crd.metadata.name || other.spec?.group !== group) continue;
      const accepted = other.status?.acceptedNames;
      if (!accepted?.plural) continue;
      const theirs = new Set([accepted.plural, accepted.singular, ...(accepted.shortNames ?? [])]);
      for (const n of mine) if (theirs.has(n)) return `"${n}" is already in use`;
      if (accepted.kind === names.kind) return `"${names.kind}" is already in use`;
      if (accepted.listKind === names.listKind) return `"${names.listKind}" is already in use`;
    }
    return undefined;
  }

  /** The resources a CRD serves: one per served version. */
  private resourcesFor(crd: Obj, names: Obj, terminating: boolean): ResourceInfo[] {
    const spec = crd.spec;
    const versions: Obj[] = spec.versions ?? [];
    const storage = versions.find((v) => v.storage)?.name;
    return versions
      .filter((v) => v.served)
      .map((v) => {
        const subresources: SubresourceInfo[] = [];
        if (v.subresources?.scale) subresources.push({ name: 'scale', kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] });
        if (v.subresources?.status) subresources.push({ name: 'status', kind: names.kind, verbs: ['get', 'patch', 'update'] });
        const res: ResourceInfo = {
          group: spec.group,
          version: v.name,
          kind: names.kind,
          plural: names.plural,
          singular: names.singular,
          namespaced: spec.scope !== 'Cluster',
          verbs: CRUD_VERBS,
          custom: { crdName: crd.metadata.name, version: v, terminating },
        };
        if (names.shortNames?.length) res.shortNames = [...names.shortNames];
        if (names.categories?.length) res.categories = [...names.categories];
        if (subresources.length) res.subresources = subresources;
        if (storage && v.name !== storage) res.storedAs = { group: spec.group, version: storage };
        return res;
      });
  }

  private async writeStatus(name: string, change: (status: Obj) => void): Promise<void> {
    await this.registry.guaranteedUpdate(this.crds, undefined, name, (crd) => {
      if (!crd) return undefined;
      const status = ((crd as Obj).status ??= {});
      change(status);
      return crd;
    });
  }

  private async sync(name: string): Promise<void> {
    const crd = this.stored(name);
    if (!crd) {
      this.unserve(name);
      return;
    }
    const terminating = !!crd.metadata.deletionTimestamp;
    const clash = terminating ? undefined : this.conflict(crd);
    const names = requestedNames(crd);
    if (clash) {
      await this.writeStatus(name, (st) => {
        setCondition(st, { type: 'NamesAccepted', status: 'False', reason: 'NameConflict', message: clash });
        setCondition(st, { type: 'Established', status: 'False', reason: 'NotAccepted', message: 'not all names are accepted' });
      });
      this.unserve(name);
      return;
    }
    // Served under the names accepted (upstream keeps serving the accepted names while a rename is pending; kite accepts at once).
    const next = this.resourcesFor(crd, names, terminating);
    // Status writes re-sync the CRD: only a real change replaces what is served (and drops discovery/OpenAPI caches).
    if (JSON.stringify(next) !== JSON.stringify(resourcesOf(name))) setResources(name, next);
    if (terminating) {
      await this.finalize(crd);
      return;
    }
    const storage = (crd.spec.versions ?? []).find((v: Obj) => v.storage)?.name;
    await this.writeStatus(name, (st) => {
      st.acceptedNames = names;
      setCondition(st, { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' });
      setCondition(st, { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' });
      const stored: string[] = (st.storedVersions ??= []);
      if (storage && !stored.includes(storage)) stored.push(storage);
    });
  }

  private unserve(name: string): void {
    const before = resourcesOf(name);
    if (before.length === 0) return;
    setResources(name, []);
    const prefixes = new Set(before.map((r) => storagePrefix(r)));
    for (const p of prefixes) this.cache.drop(p);
  }

  /** Delete every custom resource of a terminating CRD, then remove its cleanup finalizer. */
  private async finalize(crd: Obj): Promise<void> {
    const name = crd.metadata.name;
    if (!(crd.metadata.finalizers ?? []).includes(CLEANUP_FINALIZER)) return;
    const res = resourcesOf(name).find((r) => !r.storedAs) ?? resourcesOf(name)[0];
    if (res) {
      const items = this.registry.resourceCache(res).list();
      if (items.length) {
        await this.writeStatus(name, (st) =>
          setCondition(st, { type: 'Terminating', status: 'True', reason: 'InstanceDeletionInProgress', message: 'CustomResource deletion is in progress' }),
        );
        const ctx = internalContext(MANAGER);
        for (const item of items) {
          if (item.metadata?.deletionTimestamp) continue;
          try {
            await this.registry.delete(res, item.metadata?.namespace, item.metadata!.name!, {}, ctx);
          } catch (err) {
            if (!(err instanceof StatusError && err.code === 404)) throw err;
          }
        }
        if (this.registry.resourceCache(res).objects.size > 0) {
          // Some wait for their own finalizers: look again shortly.
          this.later(name, 1000);
          return;
        }
      }
    }
    await this.registry.guaranteedUpdate(this.crds, undefined, name, (cur) => {
      if (!cur) return undefined;
      const meta = cur.metadata!;
      meta.finalizers = (meta.finalizers ?? []).filter((f) => f !== CLEANUP_FINALIZER);
      if (meta.finalizers.length === 0) delete meta.finalizers;
      setCondition(((cur as Obj).status ??= {}), { type: 'Terminating', status: 'True', reason: 'InstanceDeletionCompleted', message: 'removed all instances' });
      return cur;
    });
  }
}
