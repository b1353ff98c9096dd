// The HorizontalPodAutoscaler controller (upstream: pkg/controller/podautoscaler,
// horizontal.go and replica_calculator.go). Every SYNC_MS each HPA's target is read
// through its scale subresource (so Deployments, StatefulSets, ReplicaSets and custom
// resources with a scale subresource all work), the pods its selector picks are
// matched with their metrics.k8s.io PodMetrics, and the replica count is computed as
// upstream does: Resource and ContainerResource metrics with Utilization or
// AverageValue targets, a 10 % tolerance, unready and missing pods handled
// conservatively, then `behavior` (stabilization windows, Pods/Percent policies,
// selectPolicy) or the legacy limits, min/max. Status, conditions and events as
// upstream writes them.
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { HorizontalPodAutoscaler, HPAScalingRules, MetricSpec, MetricStatus } from 'kubernetes-types/autoscaling/v2.js';
import { QueueController } from '../../client/controller.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { splitKey } from '../../client/keys.js';
import type { ApiTransport } from '../../client/transport.js';
import { isNotFound } from '../../client/transport.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import { resourceByKind, resourceByPath, splitApiVersion, allResources } from '../../machinery/resources.js';
import { parseQuantity } from '../../apiserver/admission/quantity.js';
import type { ControllerContext } from '../manager.js';

const HPAS = resourceByPath('autoscaling', 'v2', 'horizontalpodautoscalers')!;
const PODS = resourceByPath('', 'v1', 'pods')!;
const POD_METRICS = resourceByPath('metrics.k8s.io', 'v1beta1', 'pods')!;

/** upstream --horizontal-pod-autoscaler-sync-period */
export const SYNC_MS = 15_000;
const TOLERANCE = 0.1;
/** upstream --horizontal-pod-autoscaler-cpu-initialization-period */
const CPU_INITIALIZATION_MS = 5 * 60_000;
/** upstream --horizontal-pod-autoscaler-initial-readiness-delay */
const INITIAL_READINESS_DELAY_MS = 30_000;
/** upstream --horizontal-pod-autoscaler-downscale-stabilization (HPAs without behavior) */
const DOWNSCALE_STABILIZATION_MS = 5 * 60_000;
const METRICS_WINDOW_MS = 10_000;

type Condition = { type: string; status: 'True' | 'False'; reason: string; message: string; lastTransitionTime?: string };

interface Scale {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown>;
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

interface PodMetric {
  /** milli-units (CPU: millicores, memory: milli-bytes as upstream's MilliValue) */
  value: number;
  timestamp: number;
  windowMs: number;
}

interface ScaleEvent {
  change: number;
  at: number;
}

class MetricError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

const milli = (q: unknown): number => {
  try {
    return parseQuantity(q as string).milliValue();
  } catch {
    return 0;
  }
};

/** A quantity from milli-units the way upstream prints them (`250m`, `1200Mi` stays as milli-bytes → bytes). */
function quantityFromMilli(m: number, resource: string): string {
  if (resource === 'cpu') return `${Math.round(m)}m`;
  const bytes = Math.round(m / 1000);
  if (bytes % (1024 * 1024) === 0 && bytes > 0) return `${bytes / (1024 * 1024)}Mi`;
  if (bytes % 1024 === 0 && bytes > 0) return `${bytes / 1024}Ki`;
  return String(bytes);
}

function podReadyCondition(pod: Pod) {
  return (pod.status?.conditions ?? []).find((c) => c.type === 'Ready');
}

/** Requests of `resource` per pod (milli), summed over the chosen containers; missing requests are an error. */
function podRequests(pods: Pod[], resource: string, container?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pod of pods) {
    let sum = 0;
    for (const c of pod.spec?.containers ?? []) {
      if (container && c.name !== container) continue;
      const q = c.resources?.requests?.[resource];
      if (q === undefined) throw new MetricError(`missing request for ${resource} in container ${c.name} of Pod ${pod.metadata?.name}`, 'FailedGetResourceMetric');
      sum += milli(q);
    }
    out.set(pod.metadata!.name!, sum);
  }
  return out;
}

/** upstream groupPods: which pods count, which are unready, missing or ignored. */
function groupPods(pods: Pod[], metrics: Map<string, PodMetric>, resource: string, now: number) {
  const ready = new Set<string>();
  const unready = new Set<string>();
  const missing = new Set<string>();
  const ignored = new Set<string>();
  for (const pod of pods) {
    const name = pod.metadata!.name!;
    if (pod.metadata?.deletionTimestamp || pod.status?.phase === 'Failed') {
      ignored.add(name);
      continue;
    }
    if (pod.status?.phase === 'Pending') {
      unready.add(name);
      continue;
    }
    const metric = metrics.get(name);
    if (!metric) {
      missing.add(name);
      continue;
    }
    if (resource === 'cpu') {
      const cond = podReadyCondition(pod);
      const start = pod.status?.startTime ? Date.parse(pod.status.startTime) : undefined;
      let isUnready: boolean;
      if (!cond || start === undefined) isUnready = true;
      else {
        const transition = cond.lastTransitionTime ? Date.parse(cond.lastTransitionTime) : start;
        if (start + CPU_INITIALIZATION_MS > now) isUnready = cond.status === 'False' || metric.timestamp < transition + metric.windowMs;
        else isUnready = cond.status === 'False' && start + INITIAL_READINESS_DELAY_MS > transition;
      }
      if (isUnready) {
        unready.add(name);
        continue;
      }
    }
    ready.add(name);
  }
  return { ready, unready, missing, ignored };
}

interface Computed {
  replicas: number;
  /** Utilization: percent; AverageValue: milli per pod */
  utilization?: number;
  averageMilli: number;
}

/**
 * upstream calcPlainMetricReplicas / GetResourceReplicas: `requests` given → utilization
 * against `targetUtilization` percent; otherwise the average against `targetAverageMilli`.
 */
function calcReplicas(
  current: number,
  pods: Pod[],
  metrics: Map<string, PodMetric>,
  resource: string,
  now: number,
  target: { utilization?: number; averageMilli?: number },
  requests?: Map<string, number>,
): Computed {
  if (pods.length === 0) throw new MetricError('no pods returned by selector while calculating replica count', 'FailedGetResourceMetric');
  const { unready, missing, ignored } = groupPods(pods, metrics, resource, now);
  const counted = new Map<string, number>();
  for (const [name, m] of metrics) if (!unready.has(name) && !ignored.has(name) && pods.some((p) => p.metadata?.name === name)) counted.set(name, m.value);
  if (counted.size === 0) throw new MetricError(`did not receive metrics for targeted pods (pods might be unready)`, 'FailedGetResourceMetric');

  const ratioOf = (values: Map<string, number>): { ratio: number; utilization?: number; average: number } => {
    let sum = 0;
    let req = 0;
    for (const [name, v] of values) {
      sum += v;
      if (requests) req += requests.get(name) ?? 0;
    }
    if (requests) {
      if (req === 0) throw new MetricError(`no metrics returned matched known pods`, 'FailedGetResourceMetric');
      const utilization = (sum * 100) / req;
      return { ratio: utilization / target.utilization!, utilization, average: sum / values.size };
    }
    return { ratio: sum / (target.averageMilli! * values.size), average: sum / values.size };
  };

  const first = ratioOf(counted);
  const result = (replicas: number): Computed => ({ replicas, utilization: first.utilization !== undefined ? Math.trunc(first.utilization) : undefined, averageMilli: first.average });
  const rebalanceIgnored = unready.size > 0 && first.ratio > 1;
  if (!rebalanceIgnored && missing.size === 0) {
    if (Math.abs(1 - first.ratio) <= TOLERANCE) return result(current);
    return result(Math.ceil(first.ratio * counted.size));
  }
  const filled = new Map(counted);
  if (missing.size > 0) {
    for (const name of missing) {
      // Scale down: assume missing pods use all they asked for (or the target); scale up: nothing.
      if (first.ratio < 1) filled.set(name, requests ? (requests.get(name) ?? 0) : target.averageMilli!);
      else filled.set(name, 0);
    }
  }
  if (rebalanceIgnored) for (const name of unready) filled.set(name, 0);
  const next = ratioOf(filled);
  if (Math.abs(1 - next.ratio) <= TOLERANCE || (first.ratio < 1 && next.ratio > 1) || (first.ratio > 1 && next.ratio < 1)) return result(current);
  const replicas = Math.ceil(next.ratio * filled.size);
  if ((next.ratio < 1 && replicas > current) || (next.ratio > 1 && replicas < current)) return result(current);
  return result(replicas);
}

function metricName(spec: MetricSpec): string {
  const r = spec.type === 'ContainerResource' ? spec.containerResource! : spec.resource!;
  const util = r.target.type === 'Utilization';
  return `${r.name} ${spec.type === 'ContainerResource' ? 'container ' : ''}resource${util ? ' utilization (percentage of request)' : ''}`;
}

function defaultRules(up: boolean): HPAScalingRules {
  return up
    ? { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] }
    : { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };
}

function changeInPeriod(periodSeconds: number, events: ScaleEvent[], now: number): number {
  let n = 0;
  for (const e of events) if (e.at > now - periodSeconds * 1000) n += e.change;
  return n;
}

function scaleUpLimit(current: number, events: ScaleEvent[], rules: HPAScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const min = rules.selectPolicy === 'Min';
  let result = min ? Infinity : -Infinity;
  for (const p of rules.policies ?? []) {
    const start = current - changeInPeriod(p.periodSeconds, events, now);
    const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = min ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

function scaleDownLimit(current: number, events: ScaleEvent[], rules: HPAScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const min = rules.selectPolicy === 'Min';
  let result = min ? -Infinity : Infinity;
  for (const p of rules.policies ?? []) {
    const start = current + changeInPeriod(p.periodSeconds, events, now);
    const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = min ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

export class HorizontalController extends QueueController {
  readonly hpas: Informer<HorizontalPodAutoscaler>;
  readonly pods: Informer<Pod>;
  private readonly transport: ApiTransport;
  private readonly recorder: EventRecorder;
  private readonly recommendations = new Map<string, { at: number; replicas: number }[]>();
  private readonly upEvents = new Map<string, ScaleEvent[]>();
  private readonly downEvents = new Map<string, ScaleEvent[]>();
  private readonly now: () => number;

  constructor(ctx: ControllerContext, opts: { now?: () => number; log?: (m: string) => void } = {}) {
    super({ name: 'horizontalpodautoscaler', workers: 5, log: opts.log });
    this.transport = ctx.transport;
    this.now = opts.now ?? Date.now;
    this.recorder = ctx.events.newRecorder('horizontal-pod-autoscaler');
    this.hpas = ctx.informers.informerFor<HorizontalPodAutoscaler>(HPAS);
    this.pods = ctx.informers.informerFor<Pod>(PODS);
    this.watch(this.hpas, undefined, { update: (o, n) => o.metadata?.generation !== n.metadata?.generation });
  }

  protected override async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const hpa = this.hpas.store.get(namespace, name);
    if (!hpa) {
      this.recommendations.delete(key);
      this.upEvents.delete(key);
      this.downEvents.delete(key);
      return;
    }
    await this.reconcileAutoscaler(key, structuredClone(hpa));
    return { requeueAfterMs: SYNC_MS };
  }

  private targetResource(hpa: HorizontalPodAutoscaler) {
    const ref = hpa.spec!.scaleTargetRef;
    const { group, version } = splitApiVersion(ref.apiVersion ?? '');
    const res = resourceByKind(group, version, ref.kind) ?? allResources().find((r) => r.group === group && r.kind === ref.kind && r.subresources?.some((s) => s.name === 'scale'));
    return res;
  }

  private async reconcileAutoscaler(key: string, hpa: HorizontalPodAutoscaler): Promise<void> {
    const ns = hpa.metadata!.namespace!;
    const spec = hpa.spec!;
    const ref = spec.scaleTargetRef;
    const conditions: Condition[] = [...((hpa.status?.conditions as Condition[] | undefined) ?? [])];
    const setCondition = (type: string, status: 'True' | 'False', reason: string, message: string) => {
      const i = conditions.findIndex((c) => c.type === type);
      const now = new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const prev = i >= 0 ? conditions[i] : undefined;
      const c: Condition = { type, status, reason, message, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now };
      if (i >= 0) conditions[i] = c;
      else conditions.push(c);
    };
    const orderConditions = () => {
      const order = ['AbleToScale', 'ScalingActive', 'ScalingLimited'];
      conditions.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
    };
    const reference = `${ref.kind}/${ref.name}`;

    const res = this.targetResource(hpa);
    let scale: Scale;
    try {
      if (!res || !res.subresources?.some((s) => s.name === 'scale')) throw new Error(`the server could not find the requested resource`);
      scale = await this.transport.getSubresource<Scale>(res, ns, ref.name, 'scale');
    } catch (err) {
      const msg = `the HPA controller was unable to get the target's current scale: ${(err as Error).message}`;
      this.recorder.event(hpa, 'Warning', 'FailedGetScale', (err as Error).message);
      setCondition('AbleToScale', 'False', 'FailedGetScale', msg);
      orderConditions();
      await this.writeStatus(hpa, hpa.status?.currentReplicas ?? 0, hpa.status?.desiredReplicas ?? 0, hpa.status?.currentMetrics ?? [], conditions, false);
      return;
    }
    setCondition('AbleToScale', 'True', 'SucceededGetScale', "the HPA controller was able to get the target's current scale");
    const current = scale.status?.replicas ?? 0;
    const specReplicas = scale.spec?.replicas ?? 0;
    const minReplicas = spec.minReplicas ?? 1;
    const maxReplicas = spec.maxReplicas;
    const now = this.now();

    let desired: number;
    let rescaleReason = '';
    let metricStatuses: MetricStatus[] = hpa.status?.currentMetrics ?? [];
    if (specReplicas === 0 && minReplicas !== 0) {
      // Autoscaling is off while the target is scaled to zero.
      desired = 0;
      setCondition('ScalingActive', 'False', 'ScalingDisabled', 'scaling is disabled since the replica count of the target is zero');
    } else if (specReplicas > maxReplicas) {
      rescaleReason = 'Current number of replicas above Spec.MaxReplicas';
      desired = maxReplicas;
    } else if (specReplicas < minReplicas) {
      rescaleReason = 'Current number of replicas below Spec.MinReplicas';
      desired = minReplicas;
    } else {
      const computed = await this.computeReplicasForMetrics(hpa, scale, specReplicas, now);
      metricStatuses = computed.statuses;
      if (computed.error && computed.replicas === undefined) {
        setCondition('ScalingActive', 'False', computed.error.reason, `the HPA was unable to compute the replica count: ${computed.error.message}`);
        orderConditions();
        await this.writeStatus(hpa, current, hpa.status?.desiredReplicas ?? specReplicas, metricStatuses, conditions, false);
        return;
      }
      setCondition('ScalingActive', 'True', 'ValidMetricFound', `the HPA was able to successfully calculate a replica count from ${computed.metricName}`);
      const proposed = computed.replicas!;
      const normalized = spec.behavior ? this.normalizeWithBehaviors(key, hpa, specReplicas, proposed, minReplicas, maxReplicas, setCondition, now) : this.normalize(key, specReplicas, proposed, minReplicas, maxReplicas, setCondition, now);
      desired = normalized;
      if (desired !== specReplicas) rescaleReason = desired > specReplicas ? `${computed.metricName} above target` : 'All metrics below target';
    }

    const rescale = desired !== specReplicas && rescaleReason !== '';
    if (rescale && res) {
      try {
        await this.transport.update(res, ns, { ...scale, spec: { ...scale.spec, replicas: desired } } as never, { subresource: 'scale' });
      } catch (err) {
        this.recorder.event(hpa, 'Warning', 'FailedRescale', `New size: ${desired}; reason: ${rescaleReason}; error: ${(err as Error).message}`);
        setCondition('AbleToScale', 'False', 'FailedUpdateScale', `the HPA controller was unable to update the target scale: ${(err as Error).message}`);
        orderConditions();
        await this.writeStatus(hpa, current, specReplicas, metricStatuses, conditions, false);
        return;
      }
      setCondition('AbleToScale', 'True', 'SucceededRescale', `the HPA controller was able to update the target scale to ${desired}`);
      this.recorder.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${rescaleReason}`);
      const events = desired > specReplicas ? this.upEvents : this.downEvents;
      const list = (events.get(key) ?? []).filter((e) => now - e.at < 60 * 60_000);
      list.push({ change: Math.abs(desired - specReplicas), at: now });
      events.set(key, list);
      this.log(`Successful rescale of ${ns}/${hpa.metadata!.name} (${reference}), old size: ${specReplicas}, new size: ${desired}, reason: ${rescaleReason}`);
    }
    orderConditions();
    await this.writeStatus(hpa, current, desired, metricStatuses, conditions, rescale);
  }

  private async computeReplicasForMetrics(hpa: HorizontalPodAutoscaler, scale: Scale, specReplicas: number, now: number) {
    const ns = hpa.metadata!.namespace!;
    const metrics: MetricSpec[] = hpa.spec!.metrics?.length ? hpa.spec!.metrics : [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
    const selector = scale.status?.selector;
    const statuses: MetricStatus[] = [];
    let replicas: number | undefined;
    let name = '';
    let firstError: MetricError | undefined;
    let invalid = 0;
    for (const spec of metrics) {
      try {
        if (spec.type !== 'Resource' && spec.type !== 'ContainerResource') throw new MetricError(`unrecognized metric source type "${spec.type}"`, 'InvalidMetricSourceType');
        if (!selector) throw new MetricError(`selector is required`, 'InvalidSelector');
        const r = await this.resourceReplicas(ns, spec, selector, specReplicas, now);
        statuses.push(r.status);
        if (replicas === undefined || r.replicas > replicas) {
          replicas = r.replicas;
          name = metricName(spec);
        }
      } catch (err) {
        invalid++;
        const e = err instanceof MetricError ? err : new MetricError((err as Error).message, 'FailedGetResourceMetric');
        const r = spec.type === 'ContainerResource' ? spec.containerResource : spec.resource;
        const wrapped = new MetricError(`failed to get ${r?.name ?? spec.type} utilization: ${e.message}`, e.reason);
        firstError ??= wrapped;
        this.recorder.event(hpa, 'Warning', e.reason, wrapped.message);
        statuses.push({ type: spec.type } as MetricStatus);
      }
    }
    if (firstError && (replicas === undefined || invalid > 0)) {
      // Scale only when every metric could be read, or when the valid ones ask to scale up (upstream).
      if (replicas === undefined || replicas <= specReplicas) {
        this.recorder.event(hpa, 'Warning', 'FailedComputeMetricsReplicas', `invalid metrics (${invalid} invalid out of ${metrics.length}), first error is: ${firstError.message}`);
        return { statuses, error: firstError, replicas: undefined, metricName: name };
      }
    }
    return { statuses, replicas, metricName: name, error: undefined };
  }

  private async resourceReplicas(ns: string, spec: MetricSpec, selector: string, current: number, now: number): Promise<{ replicas: number; status: MetricStatus }> {
    const source = spec.type === 'ContainerResource' ? spec.containerResource! : spec.resource!;
    const resource = source.name;
    const container = spec.type === 'ContainerResource' ? spec.containerResource!.container : undefined;
    const selectorMatch = parseSelector(selector);
    const pods = this.pods.store.list().filter((p) => p.metadata?.namespace === ns && selectorMatch(p.metadata?.labels ?? {}));
    let list;
    try {
      list = await this.transport.list<{ metadata?: { name?: string }; timestamp?: string; window?: string; containers?: { name: string; usage?: Record<string, string> }[] }>(POD_METRICS, ns, { labelSelector: selector });
    } catch (err) {
      if (isNotFound(err)) throw new MetricError(`unable to get metrics for resource ${resource}: no metrics returned from resource metrics API`, 'FailedGetResourceMetric');
      throw new MetricError(`unable to get metrics for resource ${resource}: unable to fetch metrics from resource metrics API: ${(err as Error).message}`, 'FailedGetResourceMetric');
    }
    if (list.items.length === 0) throw new MetricError(`unable to get metrics for resource ${resource}: no metrics returned from resource metrics API`, 'FailedGetResourceMetric');
    const metrics = new Map<string, PodMetric>();
    for (const m of list.items) {
      let sum = 0;
      let found = false;
      for (const c of m.containers ?? []) {
        if (container && c.name !== container) continue;
        const q = c.usage?.[resource];
        if (q === undefined) continue;
        found = true;
        sum += milli(q);
      }
      if (!found) continue;
      const w = /^(\d+(?:\.\d+)?)s$/.exec(m.window ?? '');
      metrics.set(m.metadata?.name ?? '', { value: sum, timestamp: m.timestamp ? Date.parse(m.timestamp) : now, windowMs: w ? Number(w[1]) * 1000 : METRICS_WINDOW_MS });
    }
    const target = source.target;
    const statusSource = (current: { averageUtilization?: number; averageValue: string }) =>
      spec.type === 'ContainerResource'
        ? ({ type: 'ContainerResource', containerResource: { name: resource, container: container!, current } } as MetricStatus)
        : ({ type: 'Resource', resource: { name: resource, current } } as MetricStatus);
    if (target.type === 'Utilization') {
      if (target.averageUtilization === undefined) throw new MetricError(`invalid resource metric source: neither a utilization target nor a value target was set`, 'FailedGetResourceMetric');
      const requests = podRequests(pods, resource, container);
      const r = calcReplicas(current, pods, metrics, resource, now, { utilization: target.averageUtilization }, requests);
      return { replicas: r.replicas, status: statusSource({ averageUtilization: r.utilization, averageValue: quantityFromMilli(r.averageMilli, resource) }) };
    }
    const avg = target.averageValue !== undefined ? milli(target.averageValue) : undefined;
    if (avg === undefined) throw new MetricError(`invalid resource metric source: neither a utilization target nor a value target was set`, 'FailedGetResourceMetric');
    const r = calcReplicas(current, pods, metrics, resource, now, { averageMilli: avg });
    return { replicas: r.replicas, status: statusSource({ averageValue: quantityFromMilli(r.averageMilli, resource) }) };
  }

  /** Legacy normalization for HPAs without behavior (upstream normalizeDesiredReplicas). */
  private normalize(key: string, current: number, proposed: number, min: number, max: number, setCondition: (t: string, s: 'True' | 'False', r: string, m: string) => void, now: number): number {
    const recs = (this.recommendations.get(key) ?? []).filter((r) => r.at > now - DOWNSCALE_STABILIZATION_MS);
    recs.push({ at: now, replicas: proposed });
    this.recommendations.set(key, recs);
    const stabilized = Math.max(...recs.map((r) => r.replicas));
    if (stabilized !== proposed) setCondition('AbleToScale', 'True', 'ScaleDownStabilized', 'recent recommendations were higher than current one, applying the highest recent recommendation');
    else setCondition('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size');
    const upLimit = Math.max(2 * current, 4);
    let desired = stabilized;
    let reason = 'DesiredWithinRange';
    let message = 'the desired count is within the acceptable range';
    const maxAllowed = Math.min(upLimit, max);
    if (desired < min) {
      desired = min;
      reason = 'TooFewReplicas';
      message = 'the desired replica count is less than the minimum replica count';
    } else if (desired > maxAllowed) {
      reason = upLimit < max ? 'ScaleUpLimit' : 'TooManyReplicas';
      message = upLimit < max ? 'the desired replica count is increasing faster than the maximum scale rate' : 'the desired replica count is more than the maximum replica count';
      desired = maxAllowed;
    }
    setCondition('ScalingLimited', reason === 'DesiredWithinRange' ? 'False' : 'True', reason, message);
    return desired;
  }

  /** upstream normalizeDesiredReplicasWithBehaviors: stabilization windows, then the rate policies and min/max. */
  private normalizeWithBehaviors(
    key: string,
    hpa: HorizontalPodAutoscaler,
    current: number,
    proposed: number,
    min: number,
    max: number,
    setCondition: (t: string, s: 'True' | 'False', r: string, m: string) => void,
    now: number,
  ): number {
    const up = { ...defaultRules(true), ...(hpa.spec?.behavior?.scaleUp ?? {}) };
    const down = { ...defaultRules(false), ...(hpa.spec?.behavior?.scaleDown ?? {}) };
    const upWindow = (up.stabilizationWindowSeconds ?? 0) * 1000;
    const downWindow = (down.stabilizationWindowSeconds ?? 300) * 1000;
    const recs = this.recommendations.get(key) ?? [];
    let upRec = proposed;
    let downRec = proposed;
    for (const r of recs) {
      if (r.at > now - upWindow) upRec = Math.min(upRec, r.replicas);
      if (r.at > now - downWindow) downRec = Math.max(downRec, r.replicas);
    }
    let stabilized = current;
    if (stabilized < upRec) stabilized = upRec;
    if (stabilized > downRec) stabilized = downRec;
    const keep = Math.max(upWindow, downWindow);
    const kept = recs.filter((r) => r.at > now - keep);
    kept.push({ at: now, replicas: proposed });
    this.recommendations.set(key, kept);
    if (stabilized !== proposed) {
      if (stabilized > proposed) setCondition('AbleToScale', 'True', 'ScaleDownStabilized', 'recent recommendations were higher than current one, applying the highest recent recommendation');
      else setCondition('AbleToScale', 'True', 'ScaleUpStabilized', 'recent recommendations were lower than current one, applying the lowest recent recommendation');
    } else setCondition('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size');

    let desired = stabilized;
    let reason = 'DesiredWithinRange';
    let message = 'the desired count is within the acceptable range';
    if (stabilized > current) {
      let limit = scaleUpLimit(current, this.upEvents.get(key) ?? [], up, now);
      if (limit < current) limit = current;
      let maxAllowed = max;
      if (maxAllowed > limit) {
        maxAllowed = limit;
        reason = 'ScaleUpLimit';
        message = 'the desired replica count is increasing faster than the maximum scale rate';
      } else {
        reason = 'TooManyReplicas';
        message = 'the desired replica count is more than the maximum replica count';
      }
      if (stabilized > maxAllowed) desired = maxAllowed;
      else {
        reason = 'DesiredWithinRange';
        message = 'the desired count is within the acceptable range';
      }
    } else if (stabilized < current) {
      let limit = scaleDownLimit(current, this.downEvents.get(key) ?? [], down, now);
      if (limit > current) limit = current;
      let minAllowed = min;
      if (minAllowed < limit) {
        minAllowed = limit;
        reason = 'ScaleDownLimit';
        message = 'the desired replica count is decreasing faster than the maximum scale rate';
      } else {
        reason = 'TooFewReplicas';
        message = 'the desired replica count is less than the minimum replica count';
      }
      if (stabilized < minAllowed) desired = minAllowed;
      else {
        reason = 'DesiredWithinRange';
        message = 'the desired count is within the acceptable range';
      }
    }
    setCondition('ScalingLimited', reason === 'DesiredWithinRange' ? 'False' : 'True', reason, message);
    return desired;
  }

  private async writeStatus(hpa: HorizontalPodAutoscaler, current: number, desired: number, metrics: MetricStatus[], conditions: Condition[], rescaled: boolean): Promise<void> {
    const status: Record<string, unknown> = {
      ...(hpa.status ?? {}),
      currentReplicas: current,
      desiredReplicas: desired,
      currentMetrics: metrics.length ? metrics : undefined,
      conditions,
      observedGeneration: hpa.metadata?.generation,
    };
    if (rescaled) status.lastScaleTime = new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (status.currentMetrics === undefined) delete status.currentMetrics;
    try {
      await this.transport.updateStatus(HPAS, hpa.metadata!.namespace, { ...hpa, status } as unknown as HorizontalPodAutoscaler);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }
}

/** A label selector string as the scale subresource gives it (`a=b,c in (d)`), as a matcher. */
function parseSelector(selector: string): (labels: Record<string, string>) => boolean {
  const reqs = selector
    .split(/,(?![^(]*\))/)
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => {
      let m = /^(\S+?)\s*(==|=|!=)\s*(\S*)$/.exec(t);
      if (m) return { key: m[1], op: m[2] === '!=' ? '!=' : '=', values: [m[3]] };
      m = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(t);
      if (m) return { key: m[1], op: m[2], values: m[3].split(',').map((v) => v.trim()) };
      if (t.startsWith('!')) return { key: t.slice(1), op: '!exists', values: [] };
      return { key: t, op: 'exists', values: [] };
    });
  return (labels) =>
    reqs.every((r) => {
      const v = labels[r.key];
      switch (r.op) {
        case '=':
          return v === r.values[0];
        case '!=':
          return v !== r.values[0];
        case 'in':
          return v !== undefined && r.values.includes(v);
        case 'notin':
          return v === undefined || !r.values.includes(v);
        case '!exists':
          return v === undefined;
        default:
          return v !== undefined;
      }
    });
}

export function newHorizontalController(ctx: ControllerContext): HorizontalController {
  return new HorizontalController(ctx);
}

export { calcReplicas as calculateReplicas, scaleUpLimit, scaleDownLimit };
