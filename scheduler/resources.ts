// Resource arithmetic as the scheduler does it (upstream: framework.Resource and
// component-helpers resource.PodRequests): quantities parsed once into integers —
// millicores for cpu, bytes or units for everything else — and a pod's effective
// request computed with the init-container max rule, sidecars and pod overhead.
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from '../apiserver/admission/quantity.js';

/** Upstream's defaults for a container that requests nothing (schedutil.DefaultMilliCPURequest / DefaultMemoryRequest). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

export interface Resource {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** Allocatable only: how many pods the node takes. */
  pods: number;
  /** Extended, hugepages and other scalar resources by name; undefined when there are none. */
  scalar?: Map<string, number>;
}

export function emptyResource(): Resource {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, pods: 0 };
}

export function cloneResource(r: Resource): Resource {
  const out: Resource = { milliCPU: r.milliCPU, memory: r.memory, ephemeralStorage: r.ephemeralStorage, pods: r.pods };
  if (r.scalar) out.scalar = new Map(r.scalar);
  return out;
}

/** Names the scheduler tracks as scalar resources (schedutil.IsScalarResourceName). */
export function isScalarResourceName(name: string): boolean {
  return name.includes('/') || name.startsWith('hugepages-') || name.startsWith('attachable-volumes-');
}

/** Extended resources: outside kubernetes.io/, with a domain (v1helper.IsExtendedResourceName). */
export function isExtendedResourceName(name: string): boolean {
  return name.includes('/') && !name.includes('kubernetes.io/') && !name.startsWith('requests.');
}

const quantityCache = new Map<string, [number, number]>();

/** [Value(), MilliValue()] of a quantity, both rounded up; unparseable quantities count as 0. */
function quantity(q: unknown): [number, number] {
  const key = typeof q === 'number' ? String(q) : typeof q === 'string' ? q : '';
  let v = quantityCache.get(key);
  if (!v) {
    try {
      const p = parseQuantity(key);
      v = [p.value(), p.milliValue()];
    } catch {
      v = [0, 0];
    }
    if (quantityCache.size > 10_000) quantityCache.clear();
    quantityCache.set(key, v);
  }
  return v;
}

export function quantityValue(q: unknown): number {
  return quantity(q)[0];
}

export function quantityMilliValue(q: unknown): number {
  return quantity(q)[1];
}

type ResourceList = Readonly<Record<string, unknown>>;

/** framework.Resource.Add(ResourceList). */
export function addResourceList(r: Resource, rl: ResourceList | undefined): void {
  if (!rl) return;
  for (const name in rl) {
    const q = rl[name];
    switch (name) {
      case 'cpu':
        r.milliCPU += quantityMilliValue(q);
        break;
      case 'memory':
        r.memory += quantityValue(q);
        break;
      case 'ephemeral-storage':
        r.ephemeralStorage += quantityValue(q);
        break;
      case 'pods':
        r.pods += quantityValue(q);
        break;
      default:
        if (isScalarResourceName(name)) {
          r.scalar ??= new Map();
          r.scalar.set(name, (r.scalar.get(name) ?? 0) + quantityValue(q));
        }
    }
  }
}

export function resourceFromList(rl: ResourceList | undefined): Resource {
  const r = emptyResource();
  addResourceList(r, rl);
  return r;
}

export function addResource(into: Resource, r: Resource, sign = 1): void {
  into.milliCPU += sign * r.milliCPU;
  into.memory += sign * r.memory;
  into.ephemeralStorage += sign * r.ephemeralStorage;
  into.pods += sign * r.pods;
  if (r.scalar) {
    into.scalar ??= new Map();
    for (const [k, v] of r.scalar) {
      const next = (into.scalar.get(k) ?? 0) + sign * v;
      if (next === 0) into.scalar.delete(k);
      else into.scalar.set(k, next);
    }
  }
}

function maxResource(into: Resource, r: Resource): void {
  into.milliCPU = Math.max(into.milliCPU, r.milliCPU);
  into.memory = Math.max(into.memory, r.memory);
  into.ephemeralStorage = Math.max(into.ephemeralStorage, r.ephemeralStorage);
  if (r.scalar) {
    into.scalar ??= new Map();
    for (const [k, v] of r.scalar) into.scalar.set(k, Math.max(into.scalar.get(k) ?? 0, v));
  }
}

/**
 * A container's effective requests: what it requests, and — as API defaulting
 * does — its limit for a resource it sets a limit but no request for.
 */
function containerRequests(c: Container, nonMissingDefaults: boolean): Resource {
  const req = (c.resources?.requests ?? {}) as ResourceList;
  const lim = (c.resources?.limits ?? {}) as ResourceList;
  const r = resourceFromList(req);
  for (const name in lim) if (!(name in req)) addResourceList(r, { [name]: lim[name] });
  if (nonMissingDefaults) {
    if (!('cpu' in req) && !('cpu' in lim)) r.milliCPU += DEFAULT_MILLI_CPU_REQUEST;
    if (!('memory' in req) && !('memory' in lim)) r.memory += DEFAULT_MEMORY_REQUEST;
  }
  return r;
}

/**
 * resource.PodRequests: sum of the app containers (and of restartable init
 * containers, which run beside them), at least the largest init-container step,
 * plus the pod overhead. `nonMissingDefaults` gives containers without a cpu/memory
 * request upstream's non-zero defaults (the value scoring uses).
 */
export function podRequests(pod: Pod, nonMissingDefaults = false): Resource {
  const spec = pod.spec;
  const reqs = emptyResource();
  for (const c of spec?.containers ?? []) addResource(reqs, containerRequests(c, nonMissingDefaults));
  const sidecars = emptyResource();
  const initMax = emptyResource();
  for (const c of spec?.initContainers ?? []) {
    const cr = containerRequests(c, nonMissingDefaults);
    let step: Resource;
    if (c.restartPolicy === 'Always') {
      addResource(reqs, cr);
      addResource(sidecars, cr);
      step = cloneResource(sidecars);
    } else {
      step = cloneResource(cr);
      addResource(step, sidecars);
    }
    maxResource(initMax, step);
  }
  maxResource(reqs, initMax);
  addResourceList(reqs, spec?.overhead as ResourceList | undefined);
  reqs.pods = 0;
  return reqs;
}
