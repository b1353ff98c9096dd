// Namespace lifecycle (upstream: pkg/controller/namespace): a namespace being deleted
// is emptied of every namespaced object, then its `kubernetes` finalizer is removed
// and the API server lets it go. Also keeps a `default` ServiceAccount in every
// active namespace (upstream: the serviceaccounts controller).
//
// These run in the control-plane process against the registry (the in-process
// transport of the API). They will move onto the shared informer/workqueue layer.
import { RESOURCES } from '../machinery/resources.js';
import type { ResourceInfo } from '../machinery/resources.js';
import type { KubeObject } from '../machinery/object.js';
import { StatusError } from '../machinery/status.js';
import type { Registry } from '../apiserver/registry.js';
import { internalContext } from '../apiserver/context.js';

const RETRY_MS = 1000;

export class NamespaceController {
  private readonly pending = new Set<string>();
  private running = false;
  private timer?: NodeJS.Timeout;
  private readonly handles: { stop(): void }[] = [];
  private readonly namespaced: ResourceInfo[];

  constructor(private readonly registry: Registry) {
    // One entry per stored resource (versions that share storage are the same objects).
    this.namespaced = RESOURCES.filter((r) => r.namespaced && !r.virtual && !r.storedAs);
  }

  start(): void {
    const namespaces = this.registry.resourceOf('', 'v1', 'namespaces');
    const sas = this.registry.resourceOf('', 'v1', 'serviceaccounts');
    this.handles.push(
      this.registry.watch(namespaces, undefined, {}, {
        event: (type, obj) => {
          const name = obj.metadata!.name!;
          if (type === 'DELETED') return;
          // Never write from inside another write's notification.
          if (obj.metadata?.deletionTimestamp) setImmediate(() => this.enqueue(name));
          else setImmediate(() => void this.ensureServiceAccount(name));
        },
      }),
    );
    this.handles.push(
      this.registry.watch(sas, undefined, { fieldSelector: 'metadata.name=default' }, {
        event: (type, obj) => {
          if (type === 'DELETED') setImmediate(() => void this.ensureServiceAccount(obj.metadata!.namespace!));
        },
      }),
    );
  }

  stop(): void {
    for (const h of this.handles) h.stop();
    if (this.timer) clearTimeout(this.timer);
  }

  private async ensureServiceAccount(namespace: string): Promise<void> {
    const nsRes = this.registry.resourceOf('', 'v1', 'namespaces');
    const ns = this.registry.getStored(nsRes, undefined, namespace);
    if (!ns || ns.metadata?.deletionTimestamp) return;
    const sas = this.registry.resourceOf('', 'v1', 'serviceaccounts');
    if (this.registry.getStored(sas, namespace, 'default')) return;
    try {
      await this.registry.create(sas, namespace, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } }, internalContext('kube-controller-manager'));
    } catch (err) {
      if (!(err instanceof StatusError && (err.code === 409 || err.code === 404 || err.code === 403))) console.error('serviceaccount controller:', err);
    }
  }

  private enqueue(name: string): void {
    this.pending.add(name);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending.size > 0) {
        const [name] = this.pending;
        this.pending.delete(name);
        const done = await this.sync(name).catch((err) => {
          console.error(`namespace controller: ${name}:`, err);
          return false;
        });
        if (!done) this.retryLater(name);
      }
    } finally {
      this.running = false;
    }
  }

  private retryLater(name: string): void {
    setTimeout(() => this.enqueue(name), RETRY_MS).unref();
  }

  /** Returns true when the namespace needs no more work. */
  private async sync(name: string): Promise<boolean> {
    const nsRes = this.registry.resourceOf('', 'v1', 'namespaces');
    const ns = this.registry.getStored(nsRes, undefined, name);
    if (!ns || !ns.metadata?.deletionTimestamp) return true;
    const ctx = internalContext('namespace-controller');
    let remaining = 0;
    for (const res of this.namespaced) {
      const { items } = this.registry.list(res, name, {});
      if (items.length === 0) continue;
      remaining += items.length;
      for (const item of items) {
        if (item.metadata?.deletionTimestamp) continue;
        try {
          await this.registry.delete(res, name, item.metadata!.name!, { propagationPolicy: 'Background' }, ctx);
        } catch (err) {
          if (!(err instanceof StatusError && err.code === 404)) throw err;
        }
      }
    }
    if (remaining > 0) {
      // Count again: most deletions are immediate.
      remaining = this.namespaced.reduce((n, res) => n + this.registry.list(res, name, {}).items.length, 0);
      if (remaining > 0) return false;
    }
    await this.registry.guaranteedUpdate(nsRes, undefined, name, (cur: KubeObject | undefined) => {
      if (!cur) return undefined;
      const spec = (cur.spec ?? {}) as { finalizers?: string[] };
      const left = (spec.finalizers ?? []).filter((f) => f !== 'kubernetes');
      if (left.length === (spec.finalizers ?? []).length) return undefined;
      cur.spec = left.length ? { ...spec, finalizers: left } : {};
      return cur;
    });
    return true;
  }
}
