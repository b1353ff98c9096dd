// Versions that share storage with another (upstream keeps one storage version per
// resource and converts on the way in and out). kite stores events as core/v1 and
// HorizontalPodAutoscalers as autoscaling/v2.
import type { KubeObject } from '../machinery/object.js';
import type { ResourceInfo } from '../machinery/resources.js';
import { apiVersionOf, resourceByPath } from '../machinery/resources.js';

type Obj = Record<string, any>;

/** The resource whose storage holds `res`'s objects. */
export function storageResource(res: ResourceInfo): ResourceInfo {
  if (!res.storedAs) return res;
  return resourceByPath(res.storedAs.group, res.storedAs.version, res.plural) ?? res;
}

function rename(from: Obj, to: Obj, pairs: [string, string][]): void {
  for (const [a, b] of pairs) if (from[a] !== undefined) to[b] = from[a];
}

const EVENT_PAIRS: [string, string][] = [
  ['involvedObject', 'regarding'],
  ['related', 'related'],
  ['message', 'note'],
  ['reason', 'reason'],
  ['type', 'type'],
  ['action', 'action'],
  ['eventTime', 'eventTime'],
  ['reportingComponent', 'reportingController'],
  ['reportingInstance', 'reportingInstance'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
];

function eventToV1beta(core: Obj): Obj {
  const out: Obj = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: core.metadata };
  rename(core, out, EVENT_PAIRS);
  if (core.series) out.series = core.series;
  return out;
}

function eventToCore(ev: Obj): Obj {
  const out: Obj = { apiVersion: 'v1', kind: 'Event', metadata: ev.metadata };
  rename(
    ev,
    out,
    EVENT_PAIRS.map(([a, b]) => [b, a]),
  );
  if (ev.series) out.series = ev.series;
  return out;
}

function hpaV2ToV1(v2: Obj): Obj {
  const spec = v2.spec ?? {};
  const out: Obj = {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: v2.metadata,
    spec: { scaleTargetRef: spec.scaleTargetRef, minReplicas: spec.minReplicas, maxReplicas: spec.maxReplicas },
  };
  const cpu = (spec.metrics ?? []).find((m: Obj) => m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.target?.type === 'Utilization');
  if (cpu) out.spec.targetCPUUtilizationPercentage = cpu.resource.target.averageUtilization;
  if (v2.status) {
    const st = v2.status;
    out.status = {
      observedGeneration: st.observedGeneration,
      lastScaleTime: st.lastScaleTime,
      currentReplicas: st.currentReplicas ?? 0,
      desiredReplicas: st.desiredReplicas ?? 0,
    };
    const cur = (st.currentMetrics ?? []).find((m: Obj) => m.type === 'Resource' && m.resource?.name === 'cpu');
    if (cur?.resource?.current?.averageUtilization !== undefined) out.status.currentCPUUtilizationPercentage = cur.resource.current.averageUtilization;
  }
  return out;
}

function hpaV1ToV2(v1: Obj): Obj {
  const spec = v1.spec ?? {};
  const out: Obj = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: v1.metadata,
    spec: { scaleTargetRef: spec.scaleTargetRef, minReplicas: spec.minReplicas, maxReplicas: spec.maxReplicas },
  };
  if (spec.targetCPUUtilizationPercentage !== undefined) {
    out.spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } }];
  }
  if (v1.status) {
    out.status = {
      observedGeneration: v1.status.observedGeneration,
      lastScaleTime: v1.status.lastScaleTime,
      currentReplicas: v1.status.currentReplicas,
      desiredReplicas: v1.status.desiredReplicas,
    };
  }
  return out;
}

/** Object as stored → object as `res`'s version shows it (a new object; input untouched). */
export function fromStorage(res: ResourceInfo, stored: KubeObject): KubeObject {
  if (!res.storedAs) return stored;
  if (res.group === 'events.k8s.io') return eventToV1beta(stored as Obj) as KubeObject;
  if (res.group === 'autoscaling' && res.version === 'v1') return hpaV2ToV1(stored as Obj) as KubeObject;
  return { ...stored, apiVersion: apiVersionOf(res) };
}

/** Object in `res`'s version → object as stored. */
export function toStorage(res: ResourceInfo, obj: KubeObject): KubeObject {
  if (!res.storedAs) return obj;
  if (res.group === 'events.k8s.io') return eventToCore(obj as Obj) as KubeObject;
  if (res.group === 'autoscaling' && res.version === 'v1') return hpaV1ToV2(obj as Obj) as KubeObject;
  return { ...obj, apiVersion: apiVersionOf(storageResource(res)) };
}
