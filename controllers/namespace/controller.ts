// The namespace controller (upstream: pkg/controller/namespace + deletion/
// namespaced_resources_deleter.go). A namespace with a deletionTimestamp is kept in
// phase Terminating while everything in it is deleted — every namespaced resource the
// server serves, each item with propagationPolicy=Background — and its status
// conditions say what remains. Pods get time to stop (the estimate is their longest
// termination grace period, counted from the namespace's deletion); objects with
// finalizers get 15 s at a time. Once nothing remains, the `kubernetes` finalizer is
// removed through the `finalize` subresource and the API server lets the namespace go.
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import { QueueController } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { ApiTransport } from '../../client/transport.js';
import { isConflict, isNotFound } from '../../client/transport.js';
import { BucketRateLimiter, ItemExponentialFailureRateLimiter, MaxOfRateLimiter } from '../../client/workqueue.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import type { KubeObject } from '../../machinery/object.js';
import type { ResourceInfo } from '../../machinery/resources.js';
import { allResources, resourceByPath } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';
import type { ControllerContext } from '../manager.js';
import { NamespaceConditionUpdater } from './conditions.js';
import type { Condition } from './conditions.js';

const NAMESPACES = resourceByPath('', 'v1', 'namespaces')!;
const PODS = resourceByPath('', 'v1', 'pods')!;

/** The finalizer this controller owns in `spec.finalizers`. */
export const FINALIZER_KUBERNETES = 'kubernetes';
/** Seconds to wait for objects held by finalizers before looking again. */
const FINALIZER_ESTIMATE_SECONDS = 15;

/** Content still there, expected to go within `estimate` seconds. */
export class ResourcesRemainingError extends Error {
  constructor(readonly estimate: number) {
    super(`some content remains in the namespace, estimate ${estimate} seconds before it is removed`);
  }
}

/** Every namespaced resource that can be listed and deleted, once per storage. */
export function deletableNamespacedResources(): ResourceInfo[] {
  // Custom resources too: the served set is read at each sync (CRDs come and go).
  return allResources().filter((r) => r.namespaced && !r.virtual && !r.storedAs && r.verbs.includes('delete') && r.verbs.includes('list'));
}

function gvrString(res: ResourceInfo): string {
  return `${res.group}/${res.version}, Resource=${res.plural}`;
}

function aggregate(errors: string[]): string {
  return errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`;
}

interface GroupResult {
  estimate: number;
  remaining: number;
  finalizers: Map<string, number>;
  error?: string;
}

export interface NamespaceControllerOptions {
  workers?: number;
  /** Resources to empty; default every namespaced resource. */
  resources?: readonly ResourceInfo[];
  now?: () => number;
}

export class NamespaceController extends QueueController {
  readonly namespaces: Informer<Namespace>;
  readonly pods: Informer<Pod>;
  private readonly transport: ApiTransport;
  private readonly fixedResources?: readonly ResourceInfo[];
  private readonly now: () => number;

  constructor(ctx: ControllerContext, opts: NamespaceControllerOptions = {}) {
    super({
      name: 'namespace',
      workers: opts.workers ?? 5,
      // upstream: 5 ms doubling to 60 s per namespace, 10 qps overall
      rateLimiter: new MaxOfRateLimiter<string>(new ItemExponentialFailureRateLimiter<string>(5, 60_000), new BucketRateLimiter<string>(10, 100)),
    });
    this.transport = ctx.transport;
    this.fixedResources = opts.resources;
    this.now = opts.now ?? Date.now;
    this.namespaces = ctx.informers.informerFor<Namespace>(NAMESPACES);
    // Only namespaces being deleted are work.
    this.watch(this.namespaces, (ns) => (ns.metadata?.deletionTimestamp ? ns.metadata.name : undefined));
    // A pod going away may be the last thing a terminating namespace waits for.
    this.pods = ctx.informers.informerFor<Pod>(PODS);
    this.pods.addEventHandler({
      onDelete: (pod) => {
        const name = pod.metadata?.namespace;
        if (name && this.namespaces.store.get(undefined, name)?.metadata?.deletionTimestamp) this.enqueue(name);
      },
    });
  }

  protected override async reconcile(name: string): Promise<ReconcileResult | void> {
    try {
      await this.deleteNamespace(name);
    } catch (err) {
      if (err instanceof ResourcesRemainingError) return { requeueAfterMs: (Math.floor(err.estimate / 2) + 1) * 1000 };
      throw err;
    }
  }

  private async getNamespace(name: string): Promise<Namespace | undefined> {
    try {
      return await this.transport.get<Namespace>(NAMESPACES, undefined, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Run `fn` on the latest namespace, again after a conflict (the namespace must keep its uid). */
  private async retryOnConflict(ns: Namespace, fn: (ns: Namespace) => Promise<Namespace>): Promise<Namespace> {
    let latest = ns;
    for (;;) {
      try {
        return await fn(latest);
      } catch (err) {
        if (!isConflict(err)) throw err;
        const uid = latest.metadata?.uid;
        const again = await this.transport.get<Namespace>(NAMESPACES, undefined, latest.metadata!.name!);
        if (again.metadata?.uid !== uid) throw new Error('namespace uid has changed across retries', { cause: err });
        latest = again;
      }
    }
  }

  /** Empties a namespace being deleted, then finalizes it. Throws ResourcesRemainingError while content remains. */
  async deleteNamespace(name: string): Promise<void> {
    let ns = await this.getNamespace(name);
    if (!ns?.metadata?.deletionTimestamp) return;
    try {
      ns = await this.retryOnConflict(ns, async (cur) => {
        if (!cur.metadata?.deletionTimestamp || cur.status?.phase === 'Terminating') return cur;
        return this.transport.updateStatus<Namespace>(NAMESPACES, undefined, { ...cur, status: { ...(cur.status ?? {}), phase: 'Terminating' } });
      });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (!ns.metadata?.deletionTimestamp) return;
    if ((ns.spec?.finalizers ?? []).length === 0) return;

    const estimate = await this.deleteAllContent(ns);
    if (estimate > 0) throw new ResourcesRemainingError(estimate);

    try {
      await this.retryOnConflict(ns, (cur) => this.finalize(cur));
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  /** Remove our token from spec.finalizers through the finalize subresource. */
  private async finalize(ns: Namespace): Promise<Namespace> {
    const rest = [...new Set((ns.spec?.finalizers ?? []).filter((f) => f !== FINALIZER_KUBERNETES))].sort();
    // PUT, as upstream's namespace controller (its role may update namespaces/finalize, not patch it).
    return this.transport.update<Namespace>(NAMESPACES, undefined, { ...ns, spec: { ...(ns.spec ?? {}), finalizers: rest } }, { subresource: 'finalize' });
  }

  /** Deletes everything in the namespace; returns seconds to wait for what remains (0: empty). */
  private async deleteAllContent(ns: Namespace): Promise<number> {
    const name = ns.metadata!.name!;
    const deletedAt = Date.parse(ns.metadata!.deletionTimestamp!);
    const conditions = new NamespaceConditionUpdater(this.now);
    const errors: string[] = [];
    let estimate = 0;
    const remaining = new Map<string, number>();
    const finalizers = new Map<string, number>();
    const resources = this.fixedResources ?? deletableNamespacedResources();
    const results = await Promise.all(resources.map((res) => this.deleteAllContentFor(res, name, deletedAt)));
    resources.forEach((res, i) => {
      const r = results[i];
      if (r.error) {
        errors.push(r.error);
        conditions.processDeleteContentError(r.error);
      }
      estimate = Math.max(estimate, r.estimate);
      if (r.remaining > 0) {
        remaining.set(`${res.plural}.${res.group}`, r.remaining);
        for (const [f, n] of r.finalizers) if (n > 0) finalizers.set(f, (finalizers.get(f) ?? 0) + n);
      }
    });
    conditions.processContentTotals(remaining, finalizers);
    // Always written when changed: a condition that was failing may be fine now.
    const status = structuredClone(ns.status ?? {}) as { conditions?: Condition[]; phase?: string };
    if (conditions.update(status)) {
      try {
        await this.transport.updateStatus<Namespace>(NAMESPACES, undefined, { ...ns, status } as Namespace);
      } catch (err) {
        console.error(`namespace controller: couldn't update status condition for namespace "${name}": ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (errors.length) throw new StatusError(500, 'InternalError', aggregate(errors));
    return estimate;
  }

  private async deleteAllContentFor(res: ResourceInfo, namespace: string, deletedAt: number): Promise<GroupResult> {
    const out: GroupResult = { estimate: 0, remaining: 0, finalizers: new Map() };
    try {
      if (res === PODS) out.estimate = await this.estimateForPods(namespace, deletedAt);
      const { items } = await this.transport.list<KubeObject>(res, namespace);
      await Promise.all(
        items.map(async (item) => {
          try {
            await this.transport.delete(res, namespace, item.metadata!.name!, { propagationPolicy: 'Background' });
          } catch (err) {
            if (!isNotFound(err) && !(err instanceof StatusError && err.code === 405)) throw err;
          }
        }),
      );
      if (items.length === 0) {
        out.estimate = 0;
        return out;
      }
      const left = (await this.transport.list<KubeObject>(res, namespace)).items;
      if (left.length === 0) {
        out.estimate = 0;
        return out;
      }
      out.remaining = left.length;
      for (const item of left) for (const f of item.metadata?.finalizers ?? []) out.finalizers.set(f, (out.finalizers.get(f) ?? 0) + 1);
      if (out.estimate !== 0) return out;
      if (out.finalizers.size > 0) {
        out.estimate = FINALIZER_ESTIMATE_SECONDS;
        return out;
      }
      out.error = `unexpected items still remain in namespace: ${namespace} for gvr: ${gvrString(res)}`;
      return out;
    } catch (err) {
      out.error = err instanceof Error ? err.message : String(err);
      return out;
    }
  }

  /** The longest termination grace period of the namespace's running pods, less the time already waited. */
  private async estimateForPods(namespace: string, deletedAt: number): Promise<number> {
    const { items } = await this.transport.list<Pod>(PODS, namespace);
    let estimate = 0;
    for (const pod of items) {
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') continue;
      const grace = pod.spec?.terminationGracePeriodSeconds;
      if (grace !== undefined && grace > estimate) estimate = grace;
    }
    if (this.now() - deletedAt >= estimate * 1000) return 0;
    return estimate;
  }
}

export function newNamespaceController(ctx: ControllerContext, opts: NamespaceControllerOptions = {}): NamespaceController {
  return new NamespaceController(ctx, opts);
}
