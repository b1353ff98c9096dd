// The EndpointSlice controller (upstream: pkg/controller/endpointslice): for every
// Service with a selector, EndpointSlices `<service>-<random>` listing the pods it
// selects — address, ready/serving/terminating, node, zone, targetRef — with the ports
// resolved per pod. Keyed by Service; pods, slices and nodes map back to the Services
// they matter to. A tracker of the slices this controller wrote keeps it from acting
// on a cache that has not yet seen its own writes (which would create twice).
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { QueueController } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import { namespacedKey, objectKey, splitKey } from '../../client/keys.js';
import type { ApiTransport } from '../../client/transport.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../client/transport.js';
import type { EventRecorder } from '../../client/events.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ControllerContext } from '../manager.js';
import { desiredEndpoints, reconcileSlices } from './reconciler.js';
import { CONTROLLER_NAME, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, LABEL_ZONE, MAX_ENDPOINTS_PER_SLICE, lastChangeTriggerTime, selectorMatches } from './util.js';

export const SERVICES = resourceByPath('', 'v1', 'services')!;
export const PODS = resourceByPath('', 'v1', 'pods')!;
export const NODES = resourceByPath('', 'v1', 'nodes')!;
export const ENDPOINT_SLICES = resourceByPath('discovery.k8s.io', 'v1', 'endpointslices')!;

/** Index of slices by the Service key (`ns/name`) their service-name label gives. */
export const SLICES_BY_SERVICE = 'byServiceName';
export const indexSliceByService = (s: EndpointSlice): string[] => {
  const name = s.metadata?.labels?.[LABEL_SERVICE_NAME];
  return name ? [namespacedKey(s.metadata?.namespace, name)] : [];
};

export interface EndpointSliceControllerOptions {
  maxEndpointsPerSlice?: number;
  workers?: number;
}

/** What this controller last wrote for each slice, until its informer shows it. */
type Expected = Map<string, { rv?: string; deleted?: boolean }>;

function rvOlder(seen: string | undefined, wanted: string | undefined): boolean {
  if (!wanted || !seen) return false;
  if (/^\d+$/.test(seen) && /^\d+$/.test(wanted)) return BigInt(seen) < BigInt(wanted);
  return seen !== wanted;
}

export class EndpointSliceController extends QueueController {
  readonly services: Informer<Service>;
  readonly pods: Informer<Pod>;
  readonly slices: Informer<EndpointSlice>;
  readonly nodes: Informer<Node>;
  private readonly maxPerSlice: number;
  private readonly expected = new Map<string, Expected>();
  private readonly transport: ApiTransport;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext, opts: EndpointSliceControllerOptions = {}) {
    super({ name: 'endpointslice', workers: opts.workers ?? 4 });
    this.transport = ctx.transport;
    this.recorder = ctx.events.newRecorder('endpoint-slice-controller');
    this.maxPerSlice = opts.maxEndpointsPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
    this.services = ctx.informers.informerFor<Service>(SERVICES);
    this.pods = ctx.informers.informerFor<Pod>(PODS);
    this.slices = ctx.informers.informerFor<EndpointSlice>(ENDPOINT_SLICES, { indexers: { [SLICES_BY_SERVICE]: indexSliceByService } });
    this.nodes = ctx.informers.informerFor<Node>(NODES);

    this.watch(this.services);
    this.watch(this.pods, (pod) => this.servicesFor(pod), {
      // Only what endpoints are made of: labels, IPs, readiness, deletion, node, hostname, ports.
      update: (a, b) => a.metadata?.resourceVersion !== b.metadata?.resourceVersion,
      ownersListed: true,
    });
    this.watch(this.slices, (s) => (s.metadata?.labels?.[LABEL_MANAGED_BY] === CONTROLLER_NAME ? indexSliceByService(s) : undefined));
    this.nodes.addEventHandler({
      onUpdate: (a, b) => {
        if (a.metadata?.labels?.[LABEL_ZONE] !== b.metadata?.labels?.[LABEL_ZONE]) this.enqueuePodsOnNode(b.metadata!.name!);
      },
      onAdd: (n, initial) => {
        if (!initial) this.enqueuePodsOnNode(n.metadata!.name!);
      },
    });
    this.requireSynced(this.nodes);
  }

  private servicesFor(pod: Pod): string[] {
    const ns = pod.metadata?.namespace ?? '';
    const keys: string[] = [];
    for (const svc of this.services.store.listNamespace(ns)) {
      if (selectorMatches(svc.spec?.selector, pod.metadata?.labels)) keys.push(objectKey(svc));
    }
    return keys;
  }

  private enqueuePodsOnNode(node: string): void {
    for (const pod of this.pods.store.list()) if (pod.spec?.nodeName === node) for (const k of this.servicesFor(pod)) this.enqueue(k);
  }

  /** True when the informer has not yet caught up with this controller's writes for `key`. */
  private staleCache(key: string, slices: readonly EndpointSlice[]): boolean {
    const exp = this.expected.get(key);
    if (!exp) return false;
    const byName = new Map(slices.map((s) => [s.metadata!.name!, s]));
    let stale = false;
    for (const [name, want] of exp) {
      const seen = byName.get(name);
      if (want.deleted) {
        if (seen) stale = true;
        else exp.delete(name);
      } else if (!seen || rvOlder(seen.metadata?.resourceVersion, want.rv)) {
        stale = true;
      } else {
        exp.delete(name);
      }
    }
    if (exp.size === 0) this.expected.delete(key);
    return stale;
  }

  private expect(key: string, name: string, v: { rv?: string; deleted?: boolean }): void {
    let exp = this.expected.get(key);
    if (!exp) this.expected.set(key, (exp = new Map()));
    exp.set(name, v);
  }

  protected override async reconcile(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.store.get(namespace, name);
    const allSlices = this.slices.store.byIndex(SLICES_BY_SERVICE, key);
    if (this.staleCache(key, allSlices)) return { requeueAfterMs: 1000 };
    const ours = allSlices.filter((s) => s.metadata?.labels?.[LABEL_MANAGED_BY] === CONTROLLER_NAME);

    if (!svc || svc.metadata?.deletionTimestamp || svc.spec?.type === 'ExternalName' || !svc.spec?.selector || Object.keys(svc.spec.selector).length === 0) {
      // No Service (the garbage collector would take its slices; do it now), or one
      // this controller gives no endpoints: remove what it made.
      if (!svc || svc.spec?.type === 'ExternalName' || svc.metadata?.deletionTimestamp) {
        await this.deleteSlices(key, ours);
      }
      if (!svc) this.expected.delete(key);
      return;
    }

    // Slices of a previous Service with the same name are not this one's.
    const mine: EndpointSlice[] = [];
    const foreign: EndpointSlice[] = [];
    for (const s of ours) {
      const owners = s.metadata?.ownerReferences ?? [];
      if (owners.length === 0 || owners.some((o) => o.kind === 'Service' && o.uid === svc.metadata?.uid)) mine.push(s);
      else foreign.push(s);
    }
    await this.deleteSlices(key, foreign);

    const pods = this.pods.store.listNamespace(namespace ?? '').filter((p) => selectorMatches(svc.spec!.selector, p.metadata?.labels));
    const desired = desiredEndpoints(svc, pods, (n) => this.nodes.store.get(undefined, n));
    const changes = reconcileSlices(svc, desired, mine, this.maxPerSlice, lastChangeTriggerTime(svc, pods));

    // Creates first, then updates, then deletes: endpoints are never missing in between.
    for (const s of changes.create) {
      try {
        const made = await this.transport.create<EndpointSlice>(ENDPOINT_SLICES, namespace, s);
        this.expect(key, made.metadata!.name!, { rv: made.metadata?.resourceVersion });
      } catch (err) {
        // The namespace is going away: nothing to do.
        if (isForbiddenTerminating(err)) return;
        this.recorder.event(svc, 'Warning', 'FailedToUpdateEndpointSlices', `Error updating Endpoint Slices for Service ${key}: ${(err as Error).message}`);
        throw err;
      }
    }
    for (const s of changes.update) {
      try {
        const done = await this.transport.update<EndpointSlice>(ENDPOINT_SLICES, namespace, s);
        this.expect(key, done.metadata!.name!, { rv: done.metadata?.resourceVersion });
      } catch (err) {
        if (isConflict(err) || isNotFound(err) || isAlreadyExists(err)) return { requeueAfterMs: 100 };
        throw err;
      }
    }
    await this.deleteSlices(key, changes.delete);
  }

  private async deleteSlices(key: string, slices: readonly EndpointSlice[]): Promise<void> {
    for (const s of slices) {
      try {
        await this.transport.delete(ENDPOINT_SLICES, s.metadata!.namespace, s.metadata!.name!, { preconditions: { uid: s.metadata?.uid } });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) {
          this.recorder.event({ kind: 'Service', namespace: s.metadata?.namespace, name: s.metadata?.labels?.[LABEL_SERVICE_NAME] }, 'Warning', 'FailedToUpdateEndpointSlices', `Error updating Endpoint Slices for Service ${key}: ${(err as Error).message}`);
          throw err;
        }
      }
      this.expect(key, s.metadata!.name!, { deleted: true });
    }
  }
}

function isForbiddenTerminating(err: unknown): boolean {
  const e = err as { code?: number; message?: string };
  return e?.code === 403 && /terminat/i.test(e.message ?? '');
}

export function newEndpointSliceController(ctx: ControllerContext): EndpointSliceController {
  return new EndpointSliceController(ctx);
}
