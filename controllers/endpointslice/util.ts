// What the EndpointSlice and Endpoints controllers agree on (upstream:
// staging/src/k8s.io/endpointslice/utils.go and util/controller_utils.go): which pods
// back a Service, whether a pod is ready, how a Service port's targetPort resolves
// against one pod, and the labels and annotations both controllers write.
import type { Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const LABEL_SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';
export const ANNOTATION_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
export const ANNOTATION_OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';

/** Max endpoints in one slice (upstream's --max-endpoints-per-slice default). */
export const MAX_ENDPOINTS_PER_SLICE = 100;

/** Services whose ClusterIP is "None" (or unset) are headless. */
export function isHeadless(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  return !ip || ip === 'None';
}

/** True when the pod's Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The pod's IPv4 addresses (podIPs, else podIP). */
export function podIPv4s(pod: Pod): string[] {
  const ips: string[] = [];
  for (const p of pod.status?.podIPs ?? []) if (p.ip) ips.push(p.ip);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips.filter((ip) => ip.includes('.'));
}

/**
 * Whether a pod belongs in a Service's endpoints at all (upstream
 * ShouldPodBeInEndpoints): it has an IP, it is not finished for good, and — unless
 * terminating pods are wanted — it is not being deleted.
 */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (podIPv4s(pod).length === 0) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  const phase = pod.status?.phase;
  const restart = pod.spec?.restartPolicy ?? 'Always';
  if (restart === 'Never') return phase !== 'Failed' && phase !== 'Succeeded';
  if (restart === 'OnFailure') return phase !== 'Succeeded';
  return true;
}

/** A pod's hostname goes into endpoints when its subdomain names the Service (StatefulSets). */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace;
}

/**
 * The container port a Service port's targetPort means on this pod: a number as it
 * is, a name looked up in the containers' (and restartable init containers') ports of
 * the same protocol. Undefined when the name is not there.
 */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const proto = sp.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === proto) return p.containerPort;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    if (c.restartPolicy !== 'Always') continue;
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === proto) return p.containerPort;
  }
  return undefined;
}

/** Does a Service's (map) selector select these labels? An empty selector selects nothing here. */
export function selectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  const keys = Object.keys(selector);
  if (keys.length === 0) return false;
  for (const k of keys) if (labels?.[k] !== selector[k]) return false;
  return true;
}

/**
 * The time the newest change that affects these endpoints happened (upstream's
 * TriggerTimeTracker, simplified to "latest of"): the Service's creation, and for every
 * pod its creation, its Ready condition's last transition and its deletion.
 */
export function lastChangeTriggerTime(svc: Service, pods: readonly Pod[]): string | undefined {
  let best = svc.metadata?.creationTimestamp ?? '';
  for (const p of pods) {
    for (const t of [p.metadata?.creationTimestamp, p.metadata?.deletionTimestamp, p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime]) {
      if (t && Date.parse(t) > Date.parse(best || '1970-01-01T00:00:00Z')) best = t;
    }
  }
  if (!best) return undefined;
  const ms = Date.parse(best);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The Service's labels as its endpoint objects carry them, without the reserved ones. */
export function copiedServiceLabels(svc: Service): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata?.labels ?? {})) {
    if (k === LABEL_SERVICE_NAME || k === LABEL_MANAGED_BY || k === LABEL_HEADLESS) continue;
    out[k] = v;
  }
  return out;
}

/** Services in a namespace that select this pod (the pod → service key mapping). */
export function servicesSelecting(services: readonly Service[], pod: Pod): Service[] {
  return services.filter((s) => s.spec?.type !== 'ExternalName' && selectorMatches(s.spec?.selector, pod.metadata?.labels));
}
