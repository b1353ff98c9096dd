// Scheduler benchmark, upstream scheduler_perf style: a real control plane in process
// (startControlPlane: SQLite store, watch cache, registry, HTTPS server), N simulated
// Node objects, then 10,000 pods created through the API while the scheduler — started
// with startScheduler(in-process transport), as `kite server` runs it — places them.
// Binding goes through pods/binding; "bound" is observed through a watch of pods.
//
// Per scenario it prints:
//   pods/s        pods bound ÷ (last bind seen − first create sent)
//   e2e p50/p99   pod create sent → bound seen on the watch
//   algo avg/p99  time in the scheduling algorithm per attempt (filter + score)
//   create/s      how fast the API accepted the pods meanwhile (same thread)
// and, first, the core alone: the same pods scheduled on a snapshot of the same nodes
// with no API server (pods/s and p99 per decision).
//
// Everything runs on one thread: the API server, the controllers `kite server` runs
// (the node lifecycle controller watches the simulated nodes, whose Leases the bench
// renews as kubelets would), the scheduler and the load generator.
//
//   node dist/bench/scheduler.js [--quick] [--only plain-5000,...] [--sync FULL|NORMAL] [--pods 10000] [--transport local|https]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
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
      api.patch(LEASES, 'kube-node-lease', names[i], 'merge', { spec: { renewTime: microTime() } }).catch(() => undefined);
    }
  }, 250);
  t.unref();
  return { stop: () => clearInterval(t) };
}

type Kind = 'plain' | 'anti-affinity' | 'spread' | 'half-unschedulable';

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
];

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
    containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '128Mi' } } }],
  };
  if (s.kind === 'anti-affinity') {
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

function pct(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const parallel = async (n: number, width: number, work: (i: number) => Promise<void>): Promise<void> => {
  await runParallel(n, width, work);
};

let tls: { caCert: string; cert: string; key: string } | undefined;
let clientCert: { cert: string; key: string } | undefined;
let saKeys: { publicKey: string; privateKey: string } | undefined;

async function controlPlane(dir: string): Promise<ControlPlane> {
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
    store: new SqliteStore(join(dir, 'state.db'), { synchronous: SYNC }),
  });
}

/**
 * The scheduling core alone, no API: the same nodes and pods, a snapshot, the default
 * profile; each decision is assumed on the snapshot as the running scheduler does.
 */
function core(s: Scenario): { podsPerSec: number; p99: number } {
  const snap = new Snapshot();
  snap.setNamespace('bench', {});
  for (let i = 0; i < s.nodes; i++) snap.setNode(simulatedNode(i));
  const fw = defaultFramework();
  const alg = new SchedulingAlgorithm(fw, snap);
  const ev = new Evaluator(fw, snap);
  const times = new Float64Array(PODS_N);
  const t0 = performance.now();
  for (let i = 0; i < PODS_N; i++) {
    const p = benchPod(s, i);
    (p.metadata as { uid?: string }).uid = `uid-${i}`;
    const start = performance.now();
    const pi = new PodInfo(p, 0);
    const r = schedulingCycle(alg, ev, pi, []);
    if (r.kind === 'scheduled') snap.assumePod(pi.withNodeName(r.node));
    times[i] = performance.now() - start;
  }
  const secs = (performance.now() - t0) / 1000;
  times.sort();
  return { podsPerSec: PODS_N / secs, p99: pct(times, 99) };
}

interface Result {
  scenario: string;
  corePodsPerSec: number;
  coreP99: number;
  attempts: number;
  bound: number;
  unschedulable: number;
  podsPerSec: number;
  e2eP50: number;
  e2eP99: number;
  algoAvg: number;
  algoP99: number;
  createPerSec: number;
  seconds: number;
}

async function run(s: Scenario): Promise<Result> {
  const c = core(s);
  const dir = mkdtempSync(join(tmpdir(), 'kite-bench-sched-'));
  const cp = await controlPlane(dir);
  const api = cp.client('bench');
  try {
    await api.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
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

    const expectBound = s.kind === 'half-unschedulable' ? Math.ceil(PODS_N / 2) : PODS_N;
    const expectUnschedulable = PODS_N - expectBound;
    const created = new Float64Array(PODS_N);
    const boundAt = new Float64Array(PODS_N);
    let bound = 0;
    let unschedulable = 0;
    let lastBound = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const idx = (name: string | undefined) => Number((name ?? '').slice(4));
    const watch = api.watch<Pod>(PODS, 'bench', { resourceVersion: '0' }, (ev) => {
      if (ev.type !== 'MODIFIED') return;
      const i = idx(ev.object.metadata?.name);
      if (ev.object.spec?.nodeName && boundAt[i] === 0) {
        boundAt[i] = performance.now();
        lastBound = boundAt[i];
        bound++;
      } else if (!ev.object.spec?.nodeName && ev.object.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable') && boundAt[i] === 0) {
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

    const t0 = performance.now();
    await parallel(PODS_N, CONCURRENCY, async (i) => {
      created[i] = performance.now();
      await api.create(PODS, 'bench', benchPod(s, i));
    });
    const createSecs = (performance.now() - t0) / 1000;
    const timeout = new Promise<void>((r) => setTimeout(r, 240_000).unref());
    await Promise.race([done, timeout]);
    watch.stop();
    beat.stop();
    await sched.stop();
    http?.close();

    const lat: number[] = [];
    for (let i = 0; i < PODS_N; i++) if (boundAt[i] > 0) lat.push(boundAt[i] - created[i]);
    lat.sort((a, b) => a - b);
    const m = sched.metrics;
    const n = Math.min(m.algorithmSamples, m.algorithmMs.length);
    const algo = Float64Array.from(m.algorithmMs.subarray(0, n)).sort();
    let sum = 0;
    for (const x of algo) sum += x;
    return {
      scenario: s.name,
      corePodsPerSec: c.podsPerSec,
      coreP99: c.p99,
      attempts: m.attempts,
      bound,
      unschedulable,
      podsPerSec: bound / ((lastBound - t0) / 1000),
      e2eP50: pct(lat, 50),
      e2eP99: pct(lat, 99),
      algoAvg: sum / Math.max(1, n),
      algoP99: pct(algo, 99),
      createPerSec: PODS_N / createSecs,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await cp.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const list = SCENARIOS.filter((s) => ONLY.length === 0 || ONLY.includes(s.name)).map((s) => (QUICK ? { ...s, nodes: s.nodes === 5000 ? 2000 : 500 } : s));
  console.log(`scheduler benchmark: ${PODS_N} pods per scenario, store synchronous=${SYNC}, ${CONCURRENCY} creates in flight, scheduler transport ${TRANSPORT}, Node ${process.version}`);
  console.log('                                   | core (no API)      | end to end, in process with the control plane');
  console.log('scenario                    nodes | pods/s  p99 ms     | pods/s  e2e p50 ms  e2e p99 ms  algo avg ms  algo p99 ms  create/s  bound  unsched  attempts');
  const began = performance.now();
  for (const s of list) {
    const r = await run(s);
    console.log(
      `${r.scenario.padEnd(26)} ${String(s.nodes).padStart(6)} | ${r.corePodsPerSec.toFixed(0).padStart(6)} ${r.coreP99.toFixed(3).padStart(7)}    | ${r.podsPerSec.toFixed(0).padStart(6)} ${r.e2eP50.toFixed(0).padStart(11)} ${r.e2eP99.toFixed(0).padStart(11)} ${r.algoAvg.toFixed(3).padStart(12)} ${r.algoP99.toFixed(3).padStart(12)} ${r.createPerSec.toFixed(0).padStart(9)} ${String(r.bound).padStart(6)} ${String(r.unschedulable).padStart(8)} ${String(r.attempts).padStart(9)}`,
    );
  }
  console.log(`total ${((performance.now() - began) / 1000).toFixed(0)} s`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
