// The Endpoints controller (upstream: pkg/controller/endpoint): for every Service with a
// selector, an Endpoints object of the same name whose subsets list the selected pods'
// addresses (ready ones in `addresses`, the rest in `notReadyAddresses`, all of them in
// `addresses` with publishNotReadyAddresses) and the resolved ports. The Service's
// labels are copied; headless Services add `service.kubernetes.io/headless`. Services
// without a selector and ExternalName Services are left alone (their Endpoints, if any,
// are someone else's); a deleted Service's Endpoints are deleted.
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import { QueueController } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import { objectKey, splitKey } from '../../client/keys.js';
import type { ApiTransport } from '../../client/transport.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../client/transport.js';
import type { EventRecorder } from '../../client/events.js';
import { jsonEqual } from '../../machinery/object.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ControllerContext } from '../manager.js';
import { ANNOTATION_OVER_CAPACITY, ANNOTATION_TRIGGER_TIME, LABEL_HEADLESS, isHeadless, lastChangeTriggerTime, selectorMatches } from '../endpointslice/util.js';
import { computeSubsets, truncateSubsets } from './subsets.js';

const SERVICES = resourceByPath('', 'v1', 'services')!;
const PODS = resourceByPath('', 'v1', 'pods')!;
export const ENDPOINTS = resourceByPath('', 'v1', 'endpoints')!;

/** Leader-election records live in Endpoints without a Service: never delete those. */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

function rvNewer(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b);
  return false;
}

export class EndpointsController extends QueueController {
  readonly services: Informer<Service>;
  readonly pods: Informer<Pod>;
  readonly endpoints: Informer<Endpoints>;
  private readonly transport: ApiTransport;
  private readonly recorder: EventRecorder;
  /** Resource versions this controller replaced: seeing one again means the cache is behind. */
  private readonly replaced = new Map<string, string>();

  constructor(ctx: ControllerContext, opts: { workers?: number } = {}) {
    super({ name: 'endpoint', workers: opts.workers ?? 4 });
    this.transport = ctx.transport;
    this.recorder = ctx.events.newRecorder('endpoint-controller');
    this.services = ctx.informers.informerFor<Service>(SERVICES);
    this.pods = ctx.informers.informerFor<Pod>(PODS);
    this.endpoints = ctx.informers.informerFor<Endpoints>(ENDPOINTS);
    this.watch(this.services);
    this.watch(this.pods, (pod) => this.servicesFor(pod), { update: (a, b) => a.metadata?.resourceVersion !== b.metadata?.resourceVersion, ownersListed: true });
    // Endpoints deleted or changed behind our back get looked at again; leftovers from
    // deleted Services (seen at start) get removed.
    this.endpoints.addEventHandler({
      onAdd: (ep, initial) => {
        if (initial && !ep.metadata?.annotations?.[LEADER_ANNOTATION] && !this.services.store.get(ep.metadata?.namespace, ep.metadata!.name!)) this.enqueueObject(ep);
      },
      onDelete: (ep) => this.enqueueObject(ep),
    });
    this.requireSynced(this.endpoints);
  }

  private servicesFor(pod: Pod): string[] {
    const keys: string[] = [];
    for (const svc of this.services.store.listNamespace(pod.metadata?.namespace ?? '')) {
      if (selectorMatches(svc.spec?.selector, pod.metadata?.labels)) keys.push(objectKey(svc));
    }
    return keys;
  }

  protected override async reconcile(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.store.get(namespace, name);
    const current = this.endpoints.store.get(namespace, name);
    if (!svc) {
      this.replaced.delete(key);
      if (!current || current.metadata?.annotations?.[LEADER_ANNOTATION]) return;
      try {
        await this.transport.delete(ENDPOINTS, namespace, name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      return;
    }
    if (svc.spec?.type === 'ExternalName' || !svc.spec?.selector || Object.keys(svc.spec.selector).length === 0) return;

    const stale = this.replaced.get(key);
    if (current && stale !== undefined) {
      if (current.metadata?.resourceVersion === stale || !rvNewer(current.metadata?.resourceVersion, stale)) return { requeueAfterMs: 1000 };
      this.replaced.delete(key);
    }

    const pods = this.pods.store.listNamespace(namespace ?? '').filter((p) => selectorMatches(svc.spec!.selector, p.metadata?.labels));
    const subsets = computeSubsets(svc, pods);
    const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
    if (isHeadless(svc)) labels[LABEL_HEADLESS] = '';
    else delete labels[LABEL_HEADLESS];

    const truncated = truncateSubsets(subsets);
    if (current && jsonEqual(current.subsets ?? [], subsets) && jsonEqual(current.metadata?.labels ?? {}, labels) && truncated === !!current.metadata?.annotations?.[ANNOTATION_OVER_CAPACITY]) return;

    const annotations: Record<string, string> = { ...(current?.metadata?.annotations ?? {}) };
    const trigger = lastChangeTriggerTime(svc, pods);
    if (trigger) annotations[ANNOTATION_TRIGGER_TIME] = trigger;
    else delete annotations[ANNOTATION_TRIGGER_TIME];
    if (truncated) annotations[ANNOTATION_OVER_CAPACITY] = 'truncated';
    else delete annotations[ANNOTATION_OVER_CAPACITY];

    const next: Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { ...(current?.metadata ?? { name, namespace }), labels, annotations },
    };
    if (subsets.length > 0) next.subsets = subsets;
    try {
      if (!current) {
        await this.transport.create<Endpoints>(ENDPOINTS, namespace, next);
      } else {
        const done = await this.transport.update<Endpoints>(ENDPOINTS, namespace, next);
        if (done.metadata?.resourceVersion !== current.metadata?.resourceVersion) this.replaced.set(key, current.metadata!.resourceVersion!);
      }
    } catch (err) {
      if (isConflict(err) || isAlreadyExists(err) || isNotFound(err)) return { requeueAfterMs: 100 };
      const e = err as { code?: number; message?: string };
      if (!current && e.code === 403 && /terminat/i.test(e.message ?? '')) return;
      this.recorder.event(svc, 'Warning', current ? 'FailedToUpdateEndpoint' : 'FailedToCreateEndpoint', `Failed to ${current ? 'update' : 'create'} endpoint ${key}: ${e.message ?? String(err)}`);
      throw err;
    }
  }
}

export function newEndpointsController(ctx: ControllerContext): EndpointsController {
  return new EndpointsController(ctx);
}
