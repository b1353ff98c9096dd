// The legacy Endpoints object's `subsets` (upstream: pkg/controller/endpoint and
// pkg/api/v1/endpoints RepackSubsets): every (address, port) pair of the pods a Service
// selects, packed so that ports sharing exactly the same ready/not-ready addresses
// form one subset, in a stable order (so equal contents compare equal).
import type { EndpointAddress, EndpointPort, EndpointSubset, Pod, Service } from 'kubernetes-types/core/v1.js';
import { findPort, isPodReady, podIPv4s, shouldPodBeInEndpoints, shouldSetHostname } from '../endpointslice/util.js';

/** Most addresses an Endpoints object holds before it is truncated (upstream maxCapacity). */
export const MAX_ENDPOINTS_CAPACITY = 1000;

function ipCompare(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return a.localeCompare(b);
}

function addressCompare(a: EndpointAddress, b: EndpointAddress): number {
  return ipCompare(a.ip, b.ip) || (a.targetRef?.uid ?? '').localeCompare(b.targetRef?.uid ?? '');
}

function portKey(p: EndpointPort): string {
  return `${p.name ?? ''}/${p.port}/${p.protocol ?? 'TCP'}/${p.appProtocol ?? ''}`;
}

function addressKey(a: EndpointAddress): string {
  return `${a.ip}/${a.targetRef?.uid ?? ''}`;
}

interface Entry {
  address: EndpointAddress;
  ready: boolean;
}

/** The subsets an Endpoints object for `svc` should have, from the pods it selects. */
export function computeSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
  const tolerate = !!svc.spec?.publishNotReadyAddresses;
  const ports = svc.spec?.ports ?? [];
  const headlessNoPorts = ports.length === 0 && svc.spec?.clusterIP === 'None';
  // port key → (address key → entry); and the port itself.
  const byPort = new Map<string, { port: EndpointPort | undefined; addrs: Map<string, Entry> }>();
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, tolerate)) continue;
    const ip = podIPv4s(pod)[0];
    if (!ip) continue;
    const address: EndpointAddress = { ip, targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid } };
    if (pod.spec?.nodeName) address.nodeName = pod.spec.nodeName;
    if (shouldSetHostname(pod, svc)) address.hostname = pod.spec!.hostname;
    const ready = tolerate || isPodReady(pod);
    const add = (port: EndpointPort | undefined) => {
      const k = port ? portKey(port) : '';
      let e = byPort.get(k);
      if (!e) byPort.set(k, (e = { port, addrs: new Map() }));
      e.addrs.set(addressKey(address), { address, ready });
    };
    if (headlessNoPorts) add(undefined);
    for (const sp of ports) {
      const num = findPort(pod, sp);
      if (num === undefined) continue;
      const ep: EndpointPort = { name: sp.name ?? '', port: num, protocol: sp.protocol ?? 'TCP' };
      if (!sp.name) delete ep.name;
      if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
      add(ep);
    }
  }
  // Ports with identical address sets share a subset.
  const groups = new Map<string, { entries: Entry[]; ports: EndpointPort[] }>();
  for (const { port, addrs } of byPort.values()) {
    const entries = [...addrs.values()].sort((a, b) => addressCompare(a.address, b.address));
    const k = entries.map((e) => `${addressKey(e.address)}:${e.ready ? 1 : 0}`).join(',');
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { entries, ports: [] }));
    if (port) g.ports.push(port);
  }
  const subsets: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const subset: EndpointSubset = {};
    const ready = g.entries.filter((e) => e.ready).map((e) => e.address);
    const notReady = g.entries.filter((e) => !e.ready).map((e) => e.address);
    if (ready.length) subset.addresses = ready;
    if (notReady.length) subset.notReadyAddresses = notReady;
    if (g.ports.length) subset.ports = g.ports.sort((a, b) => portKey(a).localeCompare(portKey(b)));
    subsets.push(subset);
  }
  subsets.sort((a, b) => subsetKey(a).localeCompare(subsetKey(b)));
  return subsets;
}

function subsetKey(s: EndpointSubset): string {
  return `${(s.ports ?? []).map(portKey).join(',')}|${[...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])].map(addressKey).join(',')}`;
}

/**
 * Cut subsets down to MAX_ENDPOINTS_CAPACITY addresses (ready ones first, each subset
 * keeping its proportion); true when anything was cut.
 */
export function truncateSubsets(subsets: EndpointSubset[], max = MAX_ENDPOINTS_CAPACITY): boolean {
  let ready = 0;
  let notReady = 0;
  for (const s of subsets) {
    ready += s.addresses?.length ?? 0;
    notReady += s.notReadyAddresses?.length ?? 0;
  }
  if (ready + notReady <= max) return false;
  const truncateReady = ready > max;
  const budget = truncateReady ? max : max - ready;
  const total = truncateReady ? ready : notReady;
  let left = budget;
  for (const s of subsets) {
    const n = truncateReady ? (s.addresses?.length ?? 0) : (s.notReadyAddresses?.length ?? 0);
    const take = Math.min(left, Math.ceil((n / total) * budget));
    if (truncateReady) {
      s.addresses = (s.addresses ?? []).slice(0, take);
      delete s.notReadyAddresses;
      left -= s.addresses.length;
    } else {
      s.notReadyAddresses = (s.notReadyAddresses ?? []).slice(0, take);
      left -= s.notReadyAddresses.length;
    }
  }
  return true;
}
