// Resource quantities as the kubelet needs them: CPU in millicores, memory in
// bytes; the QoS class; and the Linux resources a container gets from its
// requests and limits (upstream: kuberuntime_container_linux.go, cm/helpers_linux.go, qos/policy.go).
import type { Container, Pod } from 'kubernetes-types/core/v1.js';

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** The numeric value of a Kubernetes quantity ("100m" → 0.1, "64Mi" → 67108864, "1e3" → 1000). */
export function quantityValue(q: string | number | undefined): number | undefined {
  if (q === undefined || q === null) return undefined;
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[3] !== undefined) return n * 10 ** Number(m[3]);
  const suffix = m[2] ?? '';
  const mult = BINARY[suffix] ?? DECIMAL[suffix];
  return mult === undefined ? undefined : n * mult;
}

export function milliCPU(q: string | number | undefined): number | undefined {
  const v = quantityValue(q);
  return v === undefined ? undefined : Math.ceil(Math.round(v * 1e9) / 1e6);
}

export function bytesOf(q: string | number | undefined): number | undefined {
  const v = quantityValue(q);
  return v === undefined ? undefined : Math.ceil(v);
}

export type QOSClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

const QOS_RESOURCES = ['cpu', 'memory'];

/** upstream pkg/apis/core/v1/helper/qos GetPodQOS (pod-level resources aside). */
export function podQOS(pod: Pod): QOSClass {
  const requests: Record<string, number> = {};
  const limits: Record<string, number> = {};
  let isGuaranteed = true;
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  for (const c of containers) {
    for (const [name, q] of Object.entries(c.resources?.requests ?? {})) {
      if (!QOS_RESOURCES.includes(name)) continue;
      const v = quantityValue(q as string) ?? 0;
      if (v > 0) requests[name] = (requests[name] ?? 0) + v;
    }
    const present = new Set<string>();
    for (const [name, q] of Object.entries(c.resources?.limits ?? {})) {
      if (!QOS_RESOURCES.includes(name)) continue;
      const v = quantityValue(q as string) ?? 0;
      if (v > 0) {
        present.add(name);
        limits[name] = (limits[name] ?? 0) + v;
      }
    }
    if (!QOS_RESOURCES.every((r) => present.has(r))) isGuaranteed = false;
  }
  if (Object.keys(requests).length === 0 && Object.keys(limits).length === 0) return 'BestEffort';
  if (isGuaranteed) {
    for (const [name, v] of Object.entries(requests)) if (limits[name] === undefined || limits[name] !== v) isGuaranteed = false;
  }
  if (isGuaranteed && Object.keys(requests).length === Object.keys(limits).length) return 'Guaranteed';
  return 'Burstable';
}

export const MIN_SHARES = 2;
export const MAX_SHARES = 262144;
export const QUOTA_PERIOD = 100000;
export const MIN_QUOTA = 1000;

export function milliCPUToShares(milli: number): number {
  if (milli === 0) return MIN_SHARES;
  const shares = Math.floor((milli * 1024) / 1000);
  return Math.min(Math.max(shares, MIN_SHARES), MAX_SHARES);
}

export function milliCPUToQuota(milli: number, period = QUOTA_PERIOD): number {
  if (milli === 0) return 0;
  return Math.max(Math.floor((milli * period) / 1000), MIN_QUOTA);
}

/** OOM score adjustment by QoS (upstream qos/policy.go GetContainerOOMScoreAdjust). */
export function oomScoreAdj(pod: Pod, container: Container, memoryCapacity: number): number {
  const qos = podQOS(pod);
  if (qos === 'Guaranteed') return -997;
  if (qos === 'BestEffort') return 1000;
  const req = bytesOf(container.resources?.requests?.memory as string | undefined) ?? 0;
  let adj = 1000 - Math.floor((1000 * req) / Math.max(memoryCapacity, 1));
  if (adj < 2) adj = 2;
  if (adj >= 1000) adj = 999;
  return adj;
}

export interface LinuxResources {
  cpuShares: number;
  cpuQuota: number;
  cpuPeriod: number;
  memoryLimitInBytes: number;
  oomScoreAdj: number;
}

export function containerLinuxResources(pod: Pod, container: Container, memoryCapacity: number): LinuxResources {
  const req = container.resources?.requests ?? {};
  const lim = container.resources?.limits ?? {};
  const cpuReq = milliCPU(req.cpu as string | undefined);
  const cpuLim = milliCPU(lim.cpu as string | undefined);
  const memLim = bytesOf(lim.memory as string | undefined) ?? 0;
  // Requests default to limits (the API server does this too).
  const shares = milliCPUToShares(cpuReq ?? cpuLim ?? 0);
  return {
    cpuShares: shares,
    cpuQuota: cpuLim ? milliCPUToQuota(cpuLim) : 0,
    cpuPeriod: cpuLim ? QUOTA_PERIOD : 0,
    memoryLimitInBytes: memLim,
    oomScoreAdj: oomScoreAdj(pod, container, memoryCapacity),
  };
}
