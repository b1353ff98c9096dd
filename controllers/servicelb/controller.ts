// The built-in service load balancer (in the spirit of k3s ServiceLB): every Service of
// type LoadBalancer that names no other loadBalancerClass gets the nodes' addresses in
// `status.loadBalancer.ingress` — their ExternalIPs when nodes have any, else their
// InternalIPs; only InternalIPs when the Service is annotated
// `service.beta.kubernetes.io/aws-load-balancer-scheme: internal`. kite's proxy makes
// those address:port pairs reach the endpoints (as kube-proxy does for any LB VIP),
// so no per-Service pods are needed. With no nodes registered yet the control plane's
// own addresses are used: a LoadBalancer Service never stays <pending>.
import type { LoadBalancerIngress, Node, Service } from 'kubernetes-types/core/v1.js';
import { QueueController } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import { splitKey } from '../../client/keys.js';
import type { ApiTransport } from '../../client/transport.js';
import { isConflict, isNotFound } from '../../client/transport.js';
import { hostIPv4Addresses } from '../../machinery/pki.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ControllerContext } from '../manager.js';

const SERVICES = resourceByPath('', 'v1', 'services')!;
const NODES = resourceByPath('', 'v1', 'nodes')!;

export const ANNOTATION_LB_SCHEME = 'service.beta.kubernetes.io/aws-load-balancer-scheme';
/** The class this controller answers for (besides Services naming none). */
export const LOAD_BALANCER_CLASS = 'kite.dev/servicelb';

export interface ServiceLBOptions {
  /** Addresses to hand out while no node is registered (default: this host's first IPv4 address). */
  fallbackIPs?: () => string[];
}

function isReady(node: Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function ipOrder(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

/** The addresses a LoadBalancer Service should get, given the nodes. */
export function loadBalancerAddresses(svc: Service, nodes: readonly Node[], fallback: () => string[]): string[] {
  const internalOnly = svc.metadata?.annotations?.[ANNOTATION_LB_SCHEME] === 'internal';
  const usable = nodes.filter((n) => !n.metadata?.deletionTimestamp && !n.spec?.unschedulable);
  const ready = usable.filter(isReady);
  const pool = ready.length > 0 ? ready : usable;
  const external = new Set<string>();
  const internal = new Set<string>();
  for (const n of pool) {
    for (const a of n.status?.addresses ?? []) {
      if (!a.address.includes('.')) continue;
      if (a.type === 'ExternalIP') external.add(a.address);
      else if (a.type === 'InternalIP') internal.add(a.address);
    }
  }
  let ips = !internalOnly && external.size > 0 ? [...external] : [...internal];
  if (ips.length === 0) ips = fallback().filter((ip) => ip.includes('.'));
  return [...new Set(ips)].sort(ipOrder);
}

export function wantsServiceLB(svc: Service): boolean {
  if (svc.spec?.type !== 'LoadBalancer') return false;
  const cls = svc.spec.loadBalancerClass;
  return !cls || cls === LOAD_BALANCER_CLASS;
}

export class ServiceLBController extends QueueController {
  readonly services: Informer<Service>;
  readonly nodes: Informer<Node>;
  private readonly transport: ApiTransport;
  private readonly fallback: () => string[];

  constructor(ctx: ControllerContext, opts: ServiceLBOptions = {}) {
    super({ name: 'servicelb', workers: 2 });
    this.transport = ctx.transport;
    this.fallback = opts.fallbackIPs ?? (() => hostIPv4Addresses().slice(0, 1));
    this.services = ctx.informers.informerFor<Service>(SERVICES);
    this.nodes = ctx.informers.informerFor<Node>(NODES);
    this.watch(this.services, undefined, {
      update: (a, b) => a.spec?.type !== b.spec?.type || a.spec?.loadBalancerClass !== b.spec?.loadBalancerClass || a.metadata?.annotations?.[ANNOTATION_LB_SCHEME] !== b.metadata?.annotations?.[ANNOTATION_LB_SCHEME] || JSON.stringify(a.status) !== JSON.stringify(b.status),
    });
    // Any change to a node's addresses or readiness can change every LB Service.
    const all = () => {
      for (const s of this.services.store.list()) if (s.spec?.type === 'LoadBalancer') this.enqueueObject(s);
    };
    this.nodes.addEventHandler({
      onAdd: (_n, initial) => {
        if (!initial) all();
      },
      onUpdate: (a, b) => {
        if (JSON.stringify(a.status?.addresses) !== JSON.stringify(b.status?.addresses) || isReady(a) !== isReady(b) || a.spec?.unschedulable !== b.spec?.unschedulable) all();
      },
      onDelete: all,
    });
    this.requireSynced(this.nodes);
  }

  protected override async reconcile(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.store.get(namespace, name);
    if (!svc || svc.metadata?.deletionTimestamp) return;
    const current = svc.status?.loadBalancer?.ingress ?? [];
    let want: LoadBalancerIngress[];
    if (wantsServiceLB(svc)) {
      want = loadBalancerAddresses(svc, this.nodes.store.list(), this.fallback).map((ip) => ({ ip, ipMode: 'VIP' }));
    } else if (svc.spec?.type !== 'LoadBalancer') {
      // No longer a LoadBalancer: the ingress it had is no longer served.
      want = [];
    } else {
      return; // another load balancer's Service
    }
    const same = current.length === want.length && current.every((c, i) => c.ip === want[i].ip && !c.hostname);
    if (same) return;
    const next: Service = { ...svc, status: { ...(svc.status ?? {}), loadBalancer: want.length ? { ingress: want } : {} } };
    try {
      await this.transport.updateStatus<Service>(SERVICES, namespace, next);
    } catch (err) {
      if (isNotFound(err)) return;
      if (isConflict(err)) return { requeueAfterMs: 100 };
      throw err;
    }
  }
}

export function newServiceLBController(ctx: ControllerContext): ServiceLBController {
  return new ServiceLBController(ctx);
}
