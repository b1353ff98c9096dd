// The EndpointSlice reconciler (upstream: staging/src/k8s.io/endpointslice/reconciler.go),
// as pure functions: from a Service, the pods it selects and the slices that exist
// now, work out which slices to create, update and delete. Endpoints are grouped by
// their resolved port set (pods of one Service may expose a named targetPort on
// different numbers); each group fills slices of at most `maxEndpointsPerSlice`,
// keeping endpoints where they already are so that one pod's change touches one slice.
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { jsonEqual } from '../../machinery/object.js';
import {
  ANNOTATION_TRIGGER_TIME,
  CONTROLLER_NAME,
  LABEL_HEADLESS,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  LABEL_ZONE,
  copiedServiceLabels,
  findPort,
  isHeadless,
  isPodReady,
  podIPv4s,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from './util.js';

/** Endpoints that share one port set. */
export interface EndpointGroup {
  ports: EndpointPort[];
  /** By endpoint identity (its addresses). */
  endpoints: Map<string, Endpoint>;
}

export interface SliceChanges {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

export function portsKey(ports: readonly EndpointPort[] | undefined): string {
  if (!ports || ports.length === 0) return '';
  return ports
    .map((p) => `${p.name ?? ''}/${p.protocol ?? 'TCP'}/${p.port ?? ''}/${p.appProtocol ?? ''}`)
    .sort()
    .join(',');
}

export function endpointKey(ep: Endpoint): string {
  return ep.addresses.join(',');
}

/** The endpoint a pod contributes (upstream podToEndpoint). */
export function podToEndpoint(pod: Pod, node: Node | undefined, svc: Service): Endpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata?.deletionTimestamp;
  const ready = !!svc.spec?.publishNotReadyAddresses || (serving && !terminating);
  const ep: Endpoint = {
    addresses: podIPv4s(pod),
    conditions: { ready, serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
  };
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec!.hostname;
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata?.labels?.[LABEL_ZONE];
  if (zone) ep.zone = zone;
  return ep;
}

/** The slice ports of a Service for one pod: each Service port with its targetPort resolved. */
export function endpointPorts(svc: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

/** Every endpoint the Service should have, grouped by port set. */
export function desiredEndpoints(svc: Service, pods: readonly Pod[], nodeOf: (name: string) => Node | undefined): Map<string, EndpointGroup> {
  const groups = new Map<string, EndpointGroup>();
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ports = endpointPorts(svc, pod);
    // A Service with ports none of which this pod has: no endpoint (headless without ports is fine).
    if (ports.length === 0 && (svc.spec?.ports?.length ?? 0) > 0) continue;
    const key = portsKey(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports, endpoints: new Map() }));
    const ep = podToEndpoint(pod, pod.spec?.nodeName ? nodeOf(pod.spec.nodeName) : undefined, svc);
    g.endpoints.set(endpointKey(ep), ep);
  }
  return groups;
}

/** The labels every slice of this Service carries. */
export function sliceLabels(svc: Service): Record<string, string> {
  const labels = copiedServiceLabels(svc);
  if (isHeadless(svc)) labels[LABEL_HEADLESS] = '';
  labels[LABEL_SERVICE_NAME] = svc.metadata!.name!;
  labels[LABEL_MANAGED_BY] = CONTROLLER_NAME;
  return labels;
}

/** `<service>-` unless that is too long to prefix a generated name. */
export function slicePrefix(serviceName: string): string {
  return serviceName.length <= 253 - 6 ? `${serviceName}-` : serviceName;
}

function ownerRef(svc: Service) {
  return { apiVersion: 'v1', kind: 'Service', name: svc.metadata!.name!, uid: svc.metadata!.uid!, controller: true, blockOwnerDeletion: true };
}

function newSlice(svc: Service, ports: EndpointPort[] | undefined, endpoints: Endpoint[], triggerTime: string | undefined): EndpointSlice {
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: slicePrefix(svc.metadata!.name!),
      namespace: svc.metadata!.namespace,
      labels: sliceLabels(svc),
      ownerReferences: [ownerRef(svc)],
    },
    addressType: 'IPv4',
    endpoints,
  };
  if (ports) slice.ports = ports;
  if (triggerTime) slice.metadata!.annotations = { [ANNOTATION_TRIGGER_TIME]: triggerTime };
  return slice;
}

/** A copy of `slice` with this Service's metadata (labels, owner, trigger time). */
function withMetadata(slice: EndpointSlice, svc: Service, triggerTime: string | undefined, endpointsChanged: boolean): EndpointSlice {
  const meta = { ...slice.metadata };
  meta.labels = sliceLabels(svc);
  meta.ownerReferences = [ownerRef(svc)];
  const annotations = { ...(meta.annotations ?? {}) };
  if (endpointsChanged) {
    if (triggerTime) annotations[ANNOTATION_TRIGGER_TIME] = triggerTime;
    else delete annotations[ANNOTATION_TRIGGER_TIME];
  }
  if (Object.keys(annotations).length > 0) meta.annotations = annotations;
  else delete meta.annotations;
  return { ...slice, metadata: meta };
}

function metadataDiffers(slice: EndpointSlice, svc: Service): boolean {
  const owners = slice.metadata?.ownerReferences ?? [];
  if (!owners.some((o) => o.uid === svc.metadata?.uid && o.kind === 'Service')) return true;
  return !jsonEqual(slice.metadata?.labels ?? {}, sliceLabels(svc));
}

/**
 * Compare what should be with what is. `existing` are the slices this controller
 * manages for the Service. Unchanged slices are left alone; changed endpoints are
 * updated in place; new endpoints first fill slices that change anyway, then new
 * slices, and only a remainder smaller than a slice goes into the unchanged slice it
 * fills best. A Service with no endpoints keeps one empty placeholder slice.
 */
export function reconcileSlices(
  svc: Service,
  desired: Map<string, EndpointGroup>,
  existing: readonly EndpointSlice[],
  maxPerSlice: number,
  triggerTime?: string,
): SliceChanges {
  const out: SliceChanges = { create: [], update: [], delete: [] };
  const byKey = new Map<string, EndpointSlice[]>();
  for (const s of existing) {
    // Only IPv4 slices are kite's; anything else of ours is stale.
    if (s.addressType !== 'IPv4') {
      out.delete.push(s);
      continue;
    }
    const k = portsKey(s.ports);
    let list = byKey.get(k);
    if (!list) byKey.set(k, (list = []));
    list.push(s);
  }

  let total = 0;
  for (const g of desired.values()) total += g.endpoints.size;

  for (const [key, group] of desired) {
    if (group.endpoints.size === 0) continue;
    const slices = byKey.get(key) ?? [];
    byKey.delete(key);
    const placed = new Set<string>();
    const changed: EndpointSlice[] = [];
    const unchanged: EndpointSlice[] = [];
    for (const slice of slices) {
      const kept: Endpoint[] = [];
      let dirty = false;
      for (const ep of slice.endpoints ?? []) {
        const k = endpointKey(ep);
        const want = group.endpoints.get(k);
        if (!want || placed.has(k)) {
          dirty = true;
          continue;
        }
        placed.add(k);
        if (!jsonEqual(want, ep)) dirty = true;
        kept.push(want);
      }
      if (!dirty && !metadataDiffers(slice, svc)) {
        unchanged.push(slice);
        continue;
      }
      if (kept.length === 0) {
        out.delete.push(slice);
        continue;
      }
      changed.push(withMetadata({ ...slice, endpoints: kept }, svc, triggerTime, dirty));
    }
    let remaining = [...group.endpoints.entries()].filter(([k]) => !placed.has(k)).map(([, ep]) => ep);
    remaining.sort((a, b) => endpointKey(a).localeCompare(endpointKey(b), 'en', { numeric: true }));
    // 1. Slices that are being written anyway, fullest first.
    changed.sort((a, b) => b.endpoints.length - a.endpoints.length);
    for (const s of changed) {
      if (remaining.length === 0) break;
      const room = maxPerSlice - s.endpoints.length;
      if (room <= 0) continue;
      s.endpoints = [...s.endpoints, ...remaining.slice(0, room)];
      remaining = remaining.slice(room);
      Object.assign(s, withMetadata(s, svc, triggerTime, true));
    }
    // 2. Whole new slices; a small remainder may go into the unchanged slice it fills best.
    while (remaining.length > 0) {
      if (remaining.length < maxPerSlice) {
        let best: EndpointSlice | undefined;
        let bestDiff = maxPerSlice;
        for (const s of unchanged) {
          const diff = maxPerSlice - (s.endpoints.length + remaining.length);
          if (diff >= 0 && diff < bestDiff) {
            bestDiff = diff;
            best = s;
          }
        }
        if (best) {
          unchanged.splice(unchanged.indexOf(best), 1);
          changed.push(withMetadata({ ...best, endpoints: [...best.endpoints, ...remaining] }, svc, triggerTime, true));
          break;
        }
      }
      out.create.push(newSlice(svc, group.ports, remaining.slice(0, maxPerSlice), triggerTime));
      remaining = remaining.slice(maxPerSlice);
    }
    out.update.push(...changed);
  }

  // Port sets no longer wanted: their slices go, except one empty placeholder when
  // the Service has no endpoints at all.
  const leftovers = [...byKey.values()].flat();
  if (total === 0) {
    const placeholder = leftovers.find((s) => (s.endpoints ?? []).length === 0 && (s.ports ?? []).length === 0);
    for (const s of leftovers) if (s !== placeholder) out.delete.push(s);
    if (placeholder) {
      if (metadataDiffers(placeholder, svc)) out.update.push(withMetadata(placeholder, svc, triggerTime, false));
    } else {
      // Reuse a slice being deleted? Upstream creates a fresh placeholder.
      out.create.push(newSlice(svc, undefined, [], undefined));
    }
  } else {
    out.delete.push(...leftovers);
  }
  return out;
}
