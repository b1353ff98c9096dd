// Hand-built nodes, pods and snapshots for the scheduler's unit tests.
import type { Affinity, Container, Node, Pod, Taint, Toleration, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { Snapshot } from '../../scheduler/snapshot.js';
import { PodInfo } from '../../scheduler/podinfo.js';
import { CycleState, FitError } from '../../scheduler/framework.js';
import type { Framework } from '../../scheduler/framework.js';
import { SchedulingAlgorithm } from '../../scheduler/schedule.js';
import type { ScheduleResult } from '../../scheduler/schedule.js';
import { defaultFramework } from '../../scheduler/profile.js';

export interface NodeOpts {
  cpu?: string;
  memory?: string;
  pods?: number;
  ephemeral?: string;
  extended?: Record<string, string>;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  images?: { names: string[]; sizeBytes: number }[];
  /** Omit the hostname label. */
  noHostname?: boolean;
}

export function node(name: string, o: NodeOpts = {}): Node {
  const allocatable: Record<string, string> = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: String(o.pods ?? 110), 'ephemeral-storage': o.ephemeral ?? '100Gi', ...(o.extended ?? {}) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { ...(o.noHostname ? {} : { 'kubernetes.io/hostname': name }), ...(o.labels ?? {}) } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: {
      capacity: allocatable,
      allocatable,
      conditions: [{ type: 'Ready', status: 'True' }],
      ...(o.images ? { images: o.images } : {}),
    },
  };
}

export interface PodOpts {
  ns?: string;
  cpu?: string;
  memory?: string;
  extended?: Record<string, string>;
  labels?: Record<string, string>;
  nodeName?: string;
  priority?: number;
  priorityClassName?: string;
  nodeSelector?: Record<string, string>;
  affinity?: Affinity;
  tolerations?: Toleration[];
  hostPorts?: { port: number; protocol?: string; ip?: string }[];
  spread?: TopologySpreadConstraint[];
  initContainers?: Container[];
  overhead?: Record<string, string>;
  image?: string;
  preemptionPolicy?: string;
  startTime?: string;
  uid?: string;
  nominatedNodeName?: string;
  deleting?: boolean;
}

let uidSeq = 0;

export function pod(name: string, o: PodOpts = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  Object.assign(requests, o.extended ?? {});
  const container: Container = {
    name: 'c',
    image: o.image ?? 'busybox',
    ...(Object.keys(requests).length ? { resources: { requests, ...(o.extended ? { limits: { ...o.extended } } : {}) } } : {}),
    ...(o.hostPorts ? { ports: o.hostPorts.map((h) => ({ containerPort: h.port, hostPort: h.port, protocol: h.protocol ?? 'TCP', ...(h.ip ? { hostIP: h.ip } : {}) })) } : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      uid: o.uid ?? `uid-${name}-${uidSeq++}`,
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {
      containers: [container],
      ...(o.initContainers ? { initContainers: o.initContainers } : {}),
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.priorityClassName ? { priorityClassName: o.priorityClassName } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.affinity ? { affinity: o.affinity } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
      ...(o.spread ? { topologySpreadConstraints: o.spread } : {}),
      ...(o.overhead ? { overhead: o.overhead } : {}),
      ...(o.preemptionPolicy ? { preemptionPolicy: o.preemptionPolicy } : {}),
    },
    status: {
      ...(o.startTime ? { startTime: o.startTime } : {}),
      ...(o.nominatedNodeName ? { nominatedNodeName: o.nominatedNodeName } : {}),
    },
  };
}

export function info(p: Pod): PodInfo {
  return new PodInfo(p, p.spec?.priority ?? 0);
}

export function snapshotOf(nodes: Node[], pods: Pod[] = [], namespaces: Record<string, Record<string, string>> = { default: {} }): Snapshot {
  const s = new Snapshot();
  for (const [ns, labels] of Object.entries(namespaces)) s.setNamespace(ns, labels);
  for (const n of nodes) s.setNode(n);
  for (const p of pods) s.addPod(info(p));
  return s;
}

export interface Harness {
  snap: Snapshot;
  fw: Framework;
  alg: SchedulingAlgorithm;
  schedule(p: Pod): ScheduleResult | FitError;
  /** Filter statuses of every node (reasons joined), '' for fit. */
  filterAll(p: Pod): Record<string, string>;
  /** Normalized, weighted totals per node. */
  scores(p: Pod): Record<string, number>;
}

export function harness(nodes: Node[], pods: Pod[] = [], opts: { random?: () => number; namespaces?: Record<string, Record<string, string>>; fw?: Framework } = {}): Harness {
  const snap = snapshotOf(nodes, pods, opts.namespaces);
  const fw = opts.fw ?? defaultFramework();
  const alg = new SchedulingAlgorithm(fw, snap, { random: opts.random ?? (() => 0.999) });
  return {
    snap,
    fw,
    alg,
    schedule: (p) => alg.schedulePod(new CycleState(), info(p)),
    filterAll(p) {
      const state = new CycleState();
      const pi = info(p);
      const pre = fw.runPreFilter(state, pi, snap);
      const out: Record<string, string> = {};
      for (const n of snap.nodeList()) {
        if (pre.status) {
          out[n.name] = pre.status.message();
          continue;
        }
        const s = fw.runFilter(state, pi, n);
        out[n.name] = s ? s.message() : '';
      }
      return out;
    },
    scores(p) {
      const state = new CycleState();
      const pi = info(p);
      fw.runPreFilter(state, pi, snap);
      const nodes = snap.nodeList().filter((n) => fw.runFilter(state, pi, n) === null);
      const totals = alg.prioritizeNodes(state, pi, nodes);
      const out: Record<string, number> = {};
      nodes.forEach((n, i) => (out[n.name] = totals[i]));
      return out;
    },
  };
}

export function nodeOf(r: ScheduleResult | FitError): string {
  if (r instanceof FitError) throw new Error(`expected a node, got: ${r.message()}`);
  return r.node;
}

export function messageOf(r: ScheduleResult | FitError): string {
  if (!(r instanceof FitError)) throw new Error(`expected a FitError, got node ${r.node}`);
  return r.message();
}

import { Evaluator } from '../../scheduler/preemption.js';
import type { Budget } from '../../scheduler/preemption.js';
import { schedulingCycle } from '../../scheduler/cycle.js';
import type { CycleResult } from '../../scheduler/cycle.js';

/** A full decision with PostFilter (preemption), as the running scheduler makes it. */
export function cycle(h: Harness, p: Pod, budgets: Budget[] = [], nominator?: { nominatedPodsForNode(n: string): readonly PodInfo[] }): CycleResult {
  const ev = new Evaluator(h.fw, h.snap, { random: () => 0 });
  return schedulingCycle(h.alg, ev, info(p), budgets, nominator);
}
