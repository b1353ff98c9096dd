// Scheduler benchmark, upstream scheduler_perf style: a real control plane in process
// (startControlPlane: SQLite store, watch cache, registry, HTTPS server), N simulated
// Node objects, then 10,000 pods created through the API while the scheduler — started
// with startScheduler(in-process transport), as `kite server` runs it — places them.
// Binding goes through pods/binding; "bound" is observed through a watch of pods.
//
// Scenarios (upstream scheduler_perf's where they exist): plain pods; required
// anti-affinity; topology spread; half the pods unschedulable (more cpu than any node);
// preemption (nodes filled with two low-priority pods each, then high-priority pods,
// one per node as upstream's PreemptionBasic, that must each preempt one: the bench
// deletes terminating victims as a kubelet would); pod
// affinity (required affinity, per zone, to a set of pods placed first in two zones);
// mixed churn (bound pods deleted while new ones are created, interleaved). Pods placed
// before the measurement ("init") are scheduled and waited for first, not measured.
//
// Per scenario it prints:
//   pods/s        measured pods bound ÷ (last bind seen − first create sent), next to
//                 the goal of 1,000 pods/s
//   pods/cpu-s    the same pods ÷ CPU seconds the whole process (API server,
//                 controllers, scheduler, load generator) used meanwhile: what one
//                 dedicated core would do, a fairer figure on a shared machine
//   e2e p50/p99   pod create sent → bound seen on the watch
//   algo avg/p99  time in the scheduling algorithm per attempt (filter + score)
//   create/s      how fast the API accepted the pods meanwhile (same thread)
//   events        Events written about the measured pods (counting repeats), next to the
//                 attempts (each records one, FailedScheduling or Scheduled): the
//                 recorder drops what finds its 1,000-event queue full, as upstream's
//                 broadcaster does
// and, on a line of its own, the pod writes seen on the watch meanwhile, by kind, per
// measured pod (creates, binds, other updates such as status patches, graceful deletes,
// deletes): what one placement costs the API besides events
// and, first, the core alone: the same pods scheduled on a snapshot of the same nodes
// with no API server (pods/s and p99 per decision).
//
// Everything runs on one thread: the API server, the controllers `kite server` runs
// (the node lifecycle controller watches the simulated nodes, whose Leases the bench
// renews as kubelets would), the scheduler and the load generator.
//
//   node dist/bench/scheduler.js [--quick] [--only plain-5000,...] [--sync FULL|NORMAL] [--pods 10000] [--transport local|https]
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Event as CoreEvent, Node, Pod } from 'kubernetes-types/core/v1.js';
import { startControlPlane } from '../server/control-plane.js';
import type { ControlPlane } from '../server/control-plane.js';
import { createCA, createServiceAccountKeyPair, issueClientCert, issueServingCert } from '../machinery/pki.js';
import { HttpTransport } from '../client/http-transport.js';
import { resourceByPath } from '../machinery/resources.js';
import { SqliteStore } from '../store/sqlite.js';
import { LocalTransport } from '../client/local-transport.js';
import { runningSchedulers, startScheduler } from '../scheduler/index.js';
import { Snapshot } from '../scheduler/snapshot.js';
import { PodInfo } from '../scheduler/podinfo.js';
import { SchedulingAlgorithm } from '../scheduler/schedule.js';
import { Evaluator } from '../scheduler/preemption.js';
import { schedulingCycle } from '../scheduler/cycle.js';
import { defaultFramework } from '../scheduler/profile.js';
import { runParallel } from './parallel.js';
import { percentile } from './stats.js';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const opt = (name: string, def: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : def;
};
const QUICK = flag('quick');
const PODS_N = Number(opt('pods', QUICK ? '2000' : '10000'));
const SYNC = opt('sync', 'NORMAL') as 'FULL' | 'NORMAL';
const CONCURRENCY = Number(opt('concurrency', '64'));
/** `local` (default): the scheduler `kite server` runs, on the in-process transport; `https`: a scheduler talking HTTPS to the same API server. */
const TRANSPORT = opt('transport', 'local');
const ONLY = opt('only', '')
  .split(',')
  .filter(Boolean);

const PODS = resourceByPath('', 'v1', 'pods')!;
const NODES = resourceByPath('', 'v1', 'nodes')!;
const NAMESPACES = resourceByPath('', 'v1', 'namespaces')!;
const LEASES = resourceByPath('coordination.k8s.io', 'v1', 'leases')!;
const PRIORITY_CLASSES = resourceByPath('scheduling.k8s.io', 'v1', 'priorityclasses')!;
const EVENTS = resourceByPath('', 'v1', 'events')!;
/** The scheduler keeps this many algorithm samples (SchedulerMetrics.algorithmMs). */
const MAX_ALGO_SAMPLES = 200_000;
/** Simulated kubelets renew their node Lease this often (within the node lifecycle controller's 40 s grace). */
const LEASE_RENEW_MS = 30_000;

function microTime(): string {
  return new Date().toISOString().replace('Z', '000Z');
}

/**
 * What kubelets would do for the simulated nodes: hold a Lease in kube-node-lease and
 * renew it, spread evenly over the renewal period, so the node lifecycle controller
 * (running in the control plane, as in `kite server`) keeps the nodes Ready.
 */
function heartbeats(api: LocalTransport, names: string[]): { stop(): void } {
  let i = 0;
  const perTick = Math.max(1, Math.ceil(names.length / (LEASE_RENEW_MS / 250)));
  const t = setInterval(() => {
    for (let k = 0; k < perTick; k++, i = (i + 1) % names.length) {
      api.patch(LEASES, 'kube-node-lease', names[i], 'merge', { spec: { renewTime: microTime() } }, { readOnly: true }).catch(() => undefined);
    }
  }, 250);
  t.unref();
  return { stop: () => clearInterval(t) };
}

type Kind = 'plain' | 'anti-affinity' | 'spread' | 'half-unschedulable' | 'preemption' | 'pod-affinity' | 'churn';

/** The goal for every scenario, end to end (issue 14). */
const GOAL_PODS_PER_SEC = 1000;
/** Mixed churn: from this many pods on, each create goes with the delete of a bound pod. */
const CHURN_WINDOW = 1000;
const LOW_PRIORITY = 'bench-low';
const HIGH_PRIORITY = 'bench-high';
const PRIORITY_VALUES: Record<string, number> = { [LOW_PRIORITY]: 10, [HIGH_PRIORITY]: 1000 };

interface Scenario {
  name: string;
  nodes: number;
  kind: Kind;
}

const SCENARIOS: Scenario[] = [
  { name: 'plain-1000', nodes: 1000, kind: 'plain' },
  { name: 'plain-5000', nodes: 5000, kind: 'plain' },
  { name: 'anti-affinity-1000', nodes: 1000, kind: 'anti-affinity' },
  { name: 'anti-affinity-5000', nodes: 5000, kind: 'anti-affinity' },
  { name: 'spread-1000', nodes: 1000, kind: 'spread' },
  { name: 'spread-5000', nodes: 5000, kind: 'spread' },
  { name: 'half-unschedulable-5000', nodes: 5000, kind: 'half-unschedulable' },
  { name: 'preemption-5000', nodes: 5000, kind: 'preemption' },
  { name: 'pod-affinity-5000', nodes: 5000, kind: 'pod-affinity' },
  { name: 'churn-5000', nodes: 5000, kind: 'churn' },
];

/** Pods placed (and waited for) before the measurement. */
function initCount(s: Scenario): number {
  if (s.kind === 'preemption') return 2 * s.nodes;
  if (s.kind === 'pod-affinity') return Math.max(100, Math.floor(s.nodes / 5));
  return 0;
}

/** Pods measured: preemption makes room for one high-priority pod per node at most. */
function measuredCount(s: Scenario): number {
  return s.kind === 'preemption' ? Math.min(PODS_N, s.nodes) : PODS_N;
}

/** What placing the pod leaves on its node's resources: preemption pods take half a node. */
function podCpu(s: Scenario): string {
  return s.kind === 'preemption' ? '16' : '100m';
}

function initPod(s: Scenario, i: number): Pod {
  const spec: Record<string, unknown> = {
    containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: podCpu(s), memory: '128Mi' } } }],
  };
  const labels: Record<string, string> = { app: 'bench-init' };
  if (s.kind === 'preemption') spec.priorityClassName = LOW_PRIORITY;
  else if (s.kind === 'pod-affinity') {
    // The set of pods the measured ones want to be near: in two of the ten zones.
    labels.color = 'blue';
    spec.affinity = {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone-0', 'zone-1'] }] }] } },
    };
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: `init-${i}`, namespace: 'bench', labels }, spec } as unknown as Pod;
}

function simulatedNode(i: number): Node {
  const name = `node-${String(i).padStart(5, '0')}`;
  const alloc = { cpu: '32', memory: '128Gi', pods: '110', 'ephemeral-storage': '500Gi' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': `zone-${i % 10}`, 'topology.kubernetes.io/region': 'bench' } },
    spec: {},
    status: { capacity: alloc, allocatable: alloc, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'simulated' }] },
  };
}

function benchPod(s: Scenario, i: number): Pod {
  const labels: Record<string, string> = { app: 'bench' };
  const spec: Record<string, unknown> = {
    containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: podCpu(s), memory: '128Mi' } } }],
  };
  if (s.kind === 'preemption') spec.priorityClassName = HIGH_PRIORITY;
  else if (s.kind === 'pod-affinity') {
    spec.affinity = { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { color: 'blue' } }, topologyKey: 'topology.kubernetes.io/zone' }] } };
  } else if (s.kind === 'anti-affinity') {
    // Groups of nodes/2 pods: one pod per node within a group.
    const group = `g${Math.floor(i / Math.max(1, Math.floor(s.nodes / 2)))}`;
    labels.group = group;
    spec.affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { group } }, topologyKey: 'kubernetes.io/hostname' }] } };
  } else if (s.kind === 'spread') {
    const group = `s${i % 10}`;
    labels.group = group;
    spec.topologySpreadConstraints = [
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { group } } },
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { group } } },
    ];
  } else if (s.kind === 'half-unschedulable' && i % 2 === 1) {
    // More cpu than any node has.
    (spec.containers as { resources: { requests: Record<string, string> } }[])[0].resources.requests.cpu = '64';
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}`, namespace: 'bench', labels }, spec } as unknown as Pod;
}

const parallel = async (n: number, width: number, work: (i: number) => Promise<void>): Promise<void> => {
  await runParallel(n, width, work);
};

let tls: { caCert: string; cert: string; key: string } | undefined;
let clientCert: { cert: string; key: string } | undefined;
let saKeys: { publicKey: string; privateKey: string } | undefined;

async function controlPlane(dir: string, store: SqliteStore): Promise<ControlPlane> {
  if (!tls) {
    const ca = await createCA('kite-bench-ca');
    const serving = await issueServingCert(ca, { commonName: 'kube-apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    tls = { caCert: ca.cert, cert: serving.cert, key: serving.key };
    clientCert = await issueClientCert(ca, { commonName: 'system:kube-scheduler', organizations: ['system:masters'] });
    saKeys = createServiceAccountKeyPair();
  }
  return startControlPlane({
    name: 'bench',
    dataDir: dir,
    port: 0,
    bindAddress: '127.0.0.1',
    tls,
    serviceAccountKeys: saKeys!,
    store,
  });
}

/**
 * The scheduling core alone, no API: the same nodes and pods, a snapshot, the default
 * profile; each decision is assumed on the snapshot as the running scheduler does.
 * Init pods are placed first, untimed. A preemption's victims leave the snapshot and
 * the pod is scheduled again (one decision, timed whole); churn removes bound pods as
 * the end-to-end run deletes them.
 */
function core(s: Scenario): { podsPerSec: number; p99: number } {
  const snap = new Snapshot();
  snap.setNamespace('bench', {});
  for (let i = 0; i < s.nodes; i++) snap.setNode(simulatedNode(i));
  const fw = defaultFramework();
  const alg = new SchedulingAlgorithm(fw, snap);
  const ev = new Evaluator(fw, snap);
  const priorityOf = (p: Pod) => PRIORITY_VALUES[p.spec?.priorityClassName ?? ''] ?? 0;
  const place = (p: Pod, uid: string): boolean => {
    (p.metadata as { uid?: string }).uid = uid;
    const pi = new PodInfo(p, priorityOf(p));
    let r = schedulingCycle(alg, ev, pi, []);
    if (r.kind === 'unschedulable' && r.preemption) {
      for (const v of r.preemption.candidate.victims) snap.removePod(v.key);
      r = schedulingCycle(alg, ev, pi, []);
    }
    if (r.kind !== 'scheduled') return false;
    snap.assumePod(pi.withNodeName(r.node));
    return true;
  };
  for (let i = 0; i < initCount(s); i++) place(initPod(s, i), `init-uid-${i}`);
  const n = measuredCount(s);
  const times = new Float64Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const p = benchPod(s, i);
    const start = performance.now();
    place(p, `uid-${i}`);
    if (s.kind === 'churn' && i >= CHURN_WINDOW) snap.removePod(`bench/pod-${i - CHURN_WINDOW}`);
    times[i] = performance.now() - start;
  }
  const secs = (performance.now() - t0) / 1000;
  times.sort();
  return { podsPerSec: n / secs, p99: percentile(times, 99) };
}

interface Result {
  scenario: string;
  corePodsPerSec: number;
  coreP99: number;
  attempts: number;
  bound: number;
  unschedulable: number;
  podsPerSec: number;
  podsPerCpuSec: number;
  deleted: number;
  e2eP50: number;
  e2eP99: number;
  algoAvg: number;
  algoP99: number;
  createPerSec: number;
  events: number;
  /** Pod writes seen on the watch while measuring, by kind. */
  podWrites: Record<PodWrite, number>;
  seconds: number;
}

type PodWrite = 'create' | 'bind' | 'update' | 'graceful delete' | 'delete';

async function run(s: Scenario): Promise<Result> {
  const c = core(s);
  const dir = mkdtempSync(join(tmpdir(), 'kite-bench-sched-'));
  // The bench's own store: the control plane leaves a store it was handed open, so the
  // bench closes it — else every scenario's database and caches stay in the process and
  // weigh on the scenarios after it.
  const store = new SqliteStore(join(dir, 'state.db'), { synchronous: SYNC });
  const cp = await controlPlane(dir, store);
  const api = cp.client('bench');
  try {
    await api.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    if (s.kind === 'preemption') {
      for (const [name, value] of Object.entries(PRIORITY_VALUES)) {
        await api.create(PRIORITY_CLASSES, undefined, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value });
      }
    }
    const names: string[] = [];
    await parallel(s.nodes, CONCURRENCY, async (i) => {
      const n = simulatedNode(i);
      names[i] = n.metadata!.name!;
      await api.create(NODES, undefined, n);
      await api.create(LEASES, 'kube-node-lease', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: names[i], namespace: 'kube-node-lease' },
        spec: { holderIdentity: names[i], leaseDurationSeconds: 40, renewTime: microTime() },
      });
    });
    const beat = heartbeats(api, names);

    const nInit = initCount(s);
    const n = measuredCount(s);
    const expectBound = s.kind === 'half-unschedulable' ? Math.ceil(n / 2) : n;
    const expectUnschedulable = n - expectBound;
    const created = new Float64Array(n);
    const boundAt = new Float64Array(n);
    const initBound = new Uint8Array(nInit);
    let initBoundCount = 0;
    let bound = 0;
    let unschedulable = 0;
    let deleted = 0;
    let lastBound = 0;
    /** Measured pods seen bound and not yet deleted (churn deletes from here). */
    const boundQueue: number[] = [];
    let resolveInit!: () => void;
    const initDone = new Promise<void>((r) => (nInit === 0 ? r() : (resolveInit = r)));
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    // The bench only reads what it is handed (as an informer): no copy of every event for it.
    const podWrites: Record<PodWrite, number> = { create: 0, bind: 0, update: 0, 'graceful delete': 0, delete: 0 };
    /** Per pod, whether it was seen bound and being deleted: tells a write's kind from its event. */
    const seen = new Map<string, { bound: boolean; deleting: boolean }>();
    let measuring = false;
    const watch = api.watch<Pod>(PODS, 'bench', { resourceVersion: '0', readOnly: true, withoutManagedFields: true }, (ev) => {
      const pod = ev.object;
      const name = pod.metadata?.name ?? '';
      const was = seen.get(name);
      const now = { bound: !!pod.spec?.nodeName, deleting: !!pod.metadata?.deletionTimestamp };
      if (ev.type === 'DELETED') seen.delete(name);
      else seen.set(name, now);
      if (measuring) {
        const kind: PodWrite =
          ev.type === 'ADDED' ? 'create' : ev.type === 'DELETED' ? 'delete' : now.bound && !was?.bound ? 'bind' : now.deleting && !was?.deleting ? 'graceful delete' : 'update';
        podWrites[kind]++;
      }
      if (ev.type !== 'MODIFIED') return;
      if (pod.metadata?.deletionTimestamp && pod.spec?.nodeName) {
        // What the node's kubelet would do once the containers stopped (preemption victims).
        api.delete(PODS, 'bench', name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid }, readOnly: true }).catch(() => undefined);
        return;
      }
      if (name.startsWith('init-')) {
        const i = Number(name.slice(5));
        if (pod.spec?.nodeName && !initBound[i]) {
          initBound[i] = 1;
          if (++initBoundCount >= nInit) resolveInit();
        }
        return;
      }
      const i = Number(name.slice(4));
      if (pod.spec?.nodeName && boundAt[i] === 0) {
        boundAt[i] = performance.now();
        lastBound = boundAt[i];
        bound++;
        boundQueue.push(i);
      } else if (!pod.spec?.nodeName && pod.status?.conditions?.some((x) => x.type === 'PodScheduled' && x.reason === 'Unschedulable') && boundAt[i] === 0 && s.kind === 'half-unschedulable') {
        boundAt[i] = -1;
        unschedulable++;
      }
      if (bound >= expectBound && unschedulable >= expectUnschedulable) resolveDone();
    });

    // `kite server`'s control plane runs the scheduler itself; start one only if it doesn't.
    const inProcess = runningSchedulers().find((x) => x.transport instanceof LocalTransport && x.transport.pipeline === cp.core.pipeline);
    let sched = inProcess ?? startScheduler(cp.client('default-scheduler'), { log: () => undefined });
    let http: HttpTransport | undefined;
    if (TRANSPORT === 'https') {
      await sched.stop();
      http = new HttpTransport({ server: `https://127.0.0.1:${cp.port}`, caData: tls!.caCert, certData: clientCert!.cert, keyData: clientCert!.key }, { component: 'default-scheduler' });
      sched = startScheduler(http, { log: () => undefined });
    }
    await sched.ready;

    if (nInit > 0) {
      await parallel(nInit, CONCURRENCY, async (i) => {
        await api.create(PODS, 'bench', initPod(s, i));
      });
      await Promise.race([initDone, new Promise<void>((r) => setTimeout(r, 600_000).unref())]);
    }
    const m0 = { attempts: sched.metrics.attempts, samples: sched.metrics.algorithmSamples };

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    measuring = true;
    await parallel(n, CONCURRENCY, async (i) => {
      created[i] = performance.now();
      await api.create(PODS, 'bench', benchPod(s, i), { readOnly: true });
      if (s.kind === 'churn' && i >= CHURN_WINDOW && boundQueue.length > 0) {
        const victim = boundQueue.shift()!;
        deleted++;
        await api.delete(PODS, 'bench', `pod-${victim}`, { gracePeriodSeconds: 0 }).catch(() => undefined);
      }
    });
    const createSecs = (performance.now() - t0) / 1000;
    const timeout = new Promise<void>((r) => setTimeout(r, 600_000).unref());
    await Promise.race([done, timeout]);
    const cpu = process.cpuUsage(cpu0);
    measuring = false;
    watch.stop();
    beat.stop();
    await sched.stop();
    http?.close();
    // After stop(), which writes what the recorder still had queued.
    let events = 0;
    for (const e of (await api.list<CoreEvent>(EVENTS, 'bench')).items) if (e.involvedObject.name?.startsWith('pod-')) events += e.count ?? 1;

    const lat: number[] = [];
    for (let i = 0; i < n; i++) if (boundAt[i] > 0) lat.push(boundAt[i] - created[i]);
    lat.sort((a, b) => a - b);
    const m = sched.metrics;
    // The measured pods' attempts only (the init pods' come first).
    const from = Math.max(m0.samples, m.algorithmSamples - MAX_ALGO_SAMPLES);
    const algo = new Float64Array(m.algorithmSamples - from);
    for (let k = from; k < m.algorithmSamples; k++) algo[k - from] = m.algorithmMs[k % MAX_ALGO_SAMPLES];
    algo.sort();
    let sum = 0;
    for (const x of algo) sum += x;
    const windowSecs = (lastBound - t0) / 1000;
    return {
      scenario: s.name,
      corePodsPerSec: c.podsPerSec,
      coreP99: c.p99,
      attempts: m.attempts - m0.attempts,
      bound,
      unschedulable,
      podsPerSec: bound / windowSecs,
      podsPerCpuSec: bound / ((cpu.user + cpu.system) / 1e6),
      deleted,
      e2eP50: percentile(lat, 50),
      e2eP99: percentile(lat, 99),
      algoAvg: sum / Math.max(1, algo.length),
      algoP99: percentile(algo, 99),
      createPerSec: n / createSecs,
      events,
      podWrites,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await cp.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const list = SCENARIOS.filter((s) => ONLY.length === 0 || ONLY.includes(s.name)).map((s) => (QUICK ? { ...s, nodes: s.nodes === 5000 ? 2000 : 500 } : s));
  console.log(`scheduler benchmark: ${PODS_N} pods per scenario, store synchronous=${SYNC}, ${CONCURRENCY} creates in flight, scheduler transport ${TRANSPORT}, Node ${process.version}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cpus`);
  console.log(`                                   | core (no API)      | end to end, in process with the control plane (goal ${GOAL_PODS_PER_SEC} pods/s)`);
  console.log('scenario                    nodes | pods/s  p99 ms     | pods/s  goal   pods/cpu-s  e2e p50 ms  e2e p99 ms  algo avg ms  algo p99 ms  create/s  bound  unsched  deleted  attempts  events');
  const began = performance.now();
  for (const s of list) {
    const r = await run(s);
    const verdict = r.podsPerSec >= GOAL_PODS_PER_SEC ? 'met ' : 'below';
    console.log(
      `${r.scenario.padEnd(26)} ${String(s.nodes).padStart(6)} | ${r.corePodsPerSec.toFixed(0).padStart(6)} ${r.coreP99.toFixed(3).padStart(7)}    | ${r.podsPerSec.toFixed(0).padStart(6)}  ${verdict} ${r.podsPerCpuSec.toFixed(0).padStart(10)} ${r.e2eP50.toFixed(0).padStart(11)} ${r.e2eP99.toFixed(0).padStart(11)} ${r.algoAvg.toFixed(3).padStart(12)} ${r.algoP99.toFixed(3).padStart(12)} ${r.createPerSec.toFixed(0).padStart(9)} ${String(r.bound).padStart(6)} ${String(r.unschedulable).padStart(8)} ${String(r.deleted).padStart(8)} ${String(r.attempts).padStart(9)} ${String(r.events).padStart(7)}`,
    );
    const perPod = Object.entries(r.podWrites).map(([kind, count]) => `${kind} ${(count / measuredCount(s)).toFixed(2)}`);
    console.log(`  pod writes seen per measured pod: ${perPod.join(', ')}`);
  }
  console.log(`total ${((performance.now() - began) / 1000).toFixed(0)} s, load now ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
