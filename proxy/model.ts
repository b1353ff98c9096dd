// What the proxy programs, derived from Services and EndpointSlices (upstream:
// pkg/proxy/serviceport.go, endpoint.go, topology.go): one ServicePort per (Service,
// port) with its addresses and policies, and its endpoints from every slice of the
// Service, then split into the endpoints usable for cluster-wide and node-local
// traffic.
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';

export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface ServicePort {
  /** `ns/name:portName` — upstream's ServicePortName (plus the protocol in chain names). */
  id: string;
  namespace: string;
  name: string;
  portName: string;
  protocol: Protocol;
  /** Undefined for headless Services (nothing to program for those). */
  clusterIP?: string;
  port: number;
  nodePort?: number;
  externalIPs: string[];
  loadBalancerIPs: string[];
  loadBalancerSourceRanges: string[];
  /** ClientIP affinity timeout in seconds, or 0 for no affinity. */
  affinitySeconds: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  /** Orders claims on shared addresses (oldest Service wins): `creationTimestamp|ns/name`. */
  rank: string;
}

export interface EndpointInfo {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  isLocal: boolean;
}

export interface ServicePortState {
  svc: ServicePort;
  endpoints: EndpointInfo[];
}

const DEFAULT_AFFINITY_SECONDS = 10800;

function isIPv4(s: string | undefined): s is string {
  return !!s && /^\d{1,3}(\.\d{1,3}){3}$/.test(s);
}

/** The ServicePorts a Service asks the proxy for (none for ExternalName and headless Services). */
export function servicePorts(svc: Service): ServicePort[] {
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return [];
  const clusterIP = spec.clusterIP;
  if (!isIPv4(clusterIP)) return [];
  const ns = svc.metadata?.namespace ?? '';
  const name = svc.metadata?.name ?? '';
  const lbIPs = spec.type === 'LoadBalancer' ? (svc.status?.loadBalancer?.ingress ?? []).filter((i) => i.ipMode !== 'Proxy').map((i) => i.ip).filter(isIPv4) : [];
  const external = spec.type === 'NodePort' || spec.type === 'LoadBalancer' || (spec.externalIPs?.length ?? 0) > 0 || lbIPs.length > 0;
  const affinity = spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS) : 0;
  const out: ServicePort[] = [];
  for (const p of spec.ports ?? []) {
    const protocol = (p.protocol ?? 'TCP').toLowerCase() as Protocol;
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') continue;
    out.push({
      id: `${ns}/${name}:${p.name ?? ''}`,
      namespace: ns,
      name,
      portName: p.name ?? '',
      protocol,
      clusterIP,
      port: p.port,
      nodePort: (spec.type === 'NodePort' || spec.type === 'LoadBalancer') && p.nodePort ? p.nodePort : undefined,
      externalIPs: (spec.externalIPs ?? []).filter(isIPv4),
      loadBalancerIPs: lbIPs,
      loadBalancerSourceRanges: spec.type === 'LoadBalancer' ? (spec.loadBalancerSourceRanges ?? []).filter((c) => c.includes('.')) : [],
      affinitySeconds: affinity,
      externalPolicyLocal: external && spec.externalTrafficPolicy === 'Local',
      internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
      rank: `${svc.metadata?.creationTimestamp ?? ''}|${ns}/${name}`,
    });
  }
  return out;
}

/** The endpoints of one ServicePort, from all of the Service's IPv4 slices, de-duplicated. */
export function endpointsFor(sp: ServicePort, slices: readonly EndpointSlice[], nodeName: string): EndpointInfo[] {
  const seen = new Map<string, EndpointInfo>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4') continue;
    const port = (slice.ports ?? []).find((p) => (p.name ?? '') === sp.portName && (p.protocol ?? 'TCP').toLowerCase() === sp.protocol);
    if (!port || !port.port) continue;
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0];
      if (!isIPv4(ip)) continue;
      const key = `${ip}:${port.port}`;
      const c = ep.conditions ?? {};
      const info: EndpointInfo = {
        ip,
        port: port.port,
        // Unset means true for ready and serving, false for terminating.
        ready: c.ready !== false,
        serving: c.serving ?? c.ready !== false,
        terminating: c.terminating === true,
        isLocal: !!nodeName && ep.nodeName === nodeName,
      };
      const prev = seen.get(key);
      // The same address in two slices (a moving pod): prefer the ready copy.
      if (!prev || (!prev.ready && info.ready)) seen.set(key, info);
    }
  }
  return [...seen.values()].sort((a, b) => (a.ip === b.ip ? a.port - b.port : ipToInt(a.ip) - ipToInt(b.ip)));
}

export function ipToInt(ip: string): number {
  const p = ip.split('.');
  return ((Number(p[0]) << 24) >>> 0) + (Number(p[1]) << 16) + (Number(p[2]) << 8) + Number(p[3]);
}

/**
 * Which endpoints serve which traffic (upstream CategorizeEndpoints): ready endpoints,
 * or — when none are ready — serving-and-terminating ones, so connections drain
 * rather than fail. `local` the same among endpoints on this node.
 */
export function categorize(eps: readonly EndpointInfo[]): { cluster: EndpointInfo[]; local: EndpointInfo[]; hasAny: boolean } {
  const pick = (list: readonly EndpointInfo[]) => {
    const ready = list.filter((e) => e.ready);
    if (ready.length > 0) return ready;
    return list.filter((e) => e.serving && e.terminating);
  };
  const cluster = pick(eps);
  const local = pick(eps.filter((e) => e.isLocal));
  return { cluster, local, hasAny: cluster.length > 0 };
}
