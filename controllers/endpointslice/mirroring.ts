// The EndpointSlice mirroring controller (upstream: pkg/controller/endpointslicemirroring):
// a Service without a selector whose Endpoints someone writes by hand gets EndpointSlices
// mirroring them (addresses → ready endpoints, notReadyAddresses → not ready), so that
// consumers of slices (the proxy, DNS, ingress) see them. Endpoints labelled
// `endpointslice.kubernetes.io/skip-mirror: "true"` (the `kubernetes` Service's, or the
// DNS server's own) are not mirrored; neither are Endpoints of Services with a selector
// (the EndpointSlice controller owns those).
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { QueueController } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import { splitKey } from '../../client/keys.js';
import type { ApiTransport } from '../../client/transport.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../client/transport.js';
import { jsonEqual } from '../../machinery/object.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ControllerContext } from '../manager.js';
import { ENDPOINT_SLICES, SERVICES, SLICES_BY_SERVICE, indexSliceByService } from './controller.js';
import { portsKey } from './reconciler.js';
import { LABEL_MANAGED_BY, LABEL_SERVICE_NAME, LABEL_SKIP_MIRROR, copiedServiceLabels } from './util.js';

const ENDPOINTS = resourceByPath('', 'v1', 'endpoints')!;
export const MIRROR_CONTROLLER_NAME = 'endpointslicemirroring-controller.k8s.io';
/** Most endpoints mirrored per subset (upstream's default). */
const MAX_MIRRORED = 1000;

interface DesiredSlice {
  ports: EndpointPort[];
  endpoints: Endpoint[];
}

/** The slices an Endpoints object mirrors to: one per subset's port set. */
export function mirroredSlices(ep: Endpoints): DesiredSlice[] {
  const byPorts = new Map<string, DesiredSlice>();
  for (const subset of ep.subsets ?? []) {
    const ports: EndpointPort[] = (subset.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) }));
    const key = portsKey(ports);
    let d = byPorts.get(key);
    if (!d) byPorts.set(key, (d = { ports, endpoints: [] }));
    const add = (ready: boolean) => (a: { ip: string; hostname?: string; nodeName?: string; targetRef?: Endpoint['targetRef'] }) => {
      if (!a.ip.includes('.') || d!.endpoints.length >= MAX_MIRRORED || d!.endpoints.some((e) => e.addresses[0] === a.ip)) return;
      const e: Endpoint = { addresses: [a.ip], conditions: { ready } };
      if (a.hostname) e.hostname = a.hostname;
      if (a.nodeName) e.nodeName = a.nodeName;
      if (a.targetRef) e.targetRef = a.targetRef;
      d!.endpoints.push(e);
    };
    (subset.addresses ?? []).forEach(add(true));
    (subset.notReadyAddresses ?? []).forEach(add(false));
  }
  return [...byPorts.values()].filter((d) => d.endpoints.length > 0);
}

export class EndpointSliceMirroringController extends QueueController {
  readonly services: Informer<Service>;
  readonly endpoints: Informer<Endpoints>;
  readonly slices: Informer<EndpointSlice>;
  private readonly transport: ApiTransport;
  /** Slices created per key and not yet seen by the informer (no double creates). */
  private readonly created = new Map<string, Set<string>>();

  constructor(ctx: ControllerContext) {
    super({ name: 'endpointslicemirroring', workers: 2 });
    this.transport = ctx.transport;
    this.services = ctx.informers.informerFor<Service>(SERVICES);
    this.endpoints = ctx.informers.informerFor<Endpoints>(ENDPOINTS);
    this.slices = ctx.informers.informerFor<EndpointSlice>(ENDPOINT_SLICES, { indexers: { [SLICES_BY_SERVICE]: indexSliceByService } });
    this.watch(this.endpoints);
    this.watch(this.services);
    this.watch(this.slices, (s) => (s.metadata?.labels?.[LABEL_MANAGED_BY] === MIRROR_CONTROLLER_NAME ? indexSliceByService(s) : undefined));
  }

  protected override async reconcile(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.store.get(namespace, name);
    const ep = this.endpoints.store.get(namespace, name);
    const mine = this.slices.store.byIndex(SLICES_BY_SERVICE, key).filter((s) => s.metadata?.labels?.[LABEL_MANAGED_BY] === MIRROR_CONTROLLER_NAME);
    const waiting = this.created.get(key);
    if (waiting) {
      for (const n of waiting) if (mine.some((s) => s.metadata?.name === n)) waiting.delete(n);
      if (waiting.size > 0) return { requeueAfterMs: 100 };
      this.created.delete(key);
    }
    const mirror = !!svc && !!ep && !svc.spec?.selector && svc.spec?.type !== 'ExternalName' && ep.metadata?.labels?.[LABEL_SKIP_MIRROR] !== 'true';
    const desired = mirror ? mirroredSlices(ep!) : [];
    const labels = mirror ? { ...copiedServiceLabels(svc!), [LABEL_SERVICE_NAME]: name, [LABEL_MANAGED_BY]: MIRROR_CONTROLLER_NAME } : {};
    const existing = new Map(mine.map((s) => [portsKey(s.ports), s]));
    try {
      for (const d of desired) {
        const k = portsKey(d.ports);
        const cur = existing.get(k);
        existing.delete(k);
        const body: EndpointSlice = {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            ...(cur?.metadata ?? { generateName: `${name}-`, namespace }),
            labels,
            ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name, uid: ep!.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
          },
          addressType: 'IPv4',
          ports: d.ports,
          endpoints: d.endpoints,
        };
        if (!cur) {
          const made = await this.transport.create<EndpointSlice>(ENDPOINT_SLICES, namespace, body);
          let set = this.created.get(key);
          if (!set) this.created.set(key, (set = new Set()));
          set.add(made.metadata!.name!);
        }
        else if (!jsonEqual(cur.endpoints, d.endpoints) || !jsonEqual(cur.metadata?.labels ?? {}, labels)) await this.transport.update(ENDPOINT_SLICES, namespace, body);
      }
      for (const stale of existing.values()) {
        try {
          await this.transport.delete(ENDPOINT_SLICES, namespace, stale.metadata!.name!);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    } catch (err) {
      if (isConflict(err) || isAlreadyExists(err) || isNotFound(err)) return { requeueAfterMs: 200 };
      throw err;
    }
  }
}

export function newEndpointSliceMirroringController(ctx: ControllerContext): EndpointSliceMirroringController {
  return new EndpointSliceMirroringController(ctx);
}
