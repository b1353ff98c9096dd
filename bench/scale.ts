// Scale: a store holding upstream's scalability envelope — 150,000 pods (realistic, with
// managedFields, ~6 KB each) in 100 namespaces, 10,000 Services and the ReplicaSets owning the
// pods, on 100 Nodes — filled
// straight into the SQLite store of a `kite server` (no node), which is then started.
// Figures: RSS once ready; a paged `kubectl get pods -A` (limit=500, Table, as kubectl asks) — total time,
// per-page p99 and the RSS peak during it; a watch of every pod from the start
// (resourceVersion=0) read to the end of its initial events — time and the RSS peak
// during it. The nodes' Leases are renewed meanwhile, as hollow kubelets would.
//
//   node dist/bench/scale.js [--pods 150000] [--services 10000] [--nodes 100] [--namespaces 100]
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request, type Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/e2e/harness.js';
import { cpuMsOf } from './procfs.js';
import { resourceByPath } from '../machinery/resources.js';
import { storagePrefix } from '../apiserver/lookups.js';
import { adminAgent, call, fillStore, layOutCluster, rssMiB, startServer, stop, uidOf, waitReady, type StoredObject } from './bigstore.js';
import { benchArgs } from './args.js';
import { percentile } from './stats.js';

const args = benchArgs();
const PODS = Number(args.get('pods') ?? 150_000);
const SERVICES = Number(args.get('services') ?? 10_000);
const NODES = Number(args.get('nodes') ?? 100);
const NAMESPACES = Number(args.get('namespaces') ?? 100);
const PAGE = 500;
/** Goals: per-page p99 of the paged list; the RSS a watch from the start may add (bounded, not proportional to the store). */
const PAGE_P99_GOAL_MS = 1000;
const WATCH_GROWTH_GOAL_MIB = 256;
/** Samples (about a second apart) in a row that must look settled. */
const SETTLED_SAMPLES = 15;
/** The server's CPU use over those samples that still counts as settled (share of one core): the informers' initial lists keep it busy. */
const SETTLED_CPU_SHARE = 0.25;
const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

const prefix = (group: string, plural: string) => storagePrefix(resourceByPath(group, 'v1', plural)!);
const P = { pods: prefix('', 'pods'), replicasets: prefix('apps', 'replicasets'), services: prefix('', 'services'), nodes: prefix('', 'nodes'), namespaces: prefix('', 'namespaces'), leases: prefix('coordination.k8s.io', 'leases') };
const CREATED = '2026-01-01T00:00:00Z';
const ns = (i: number) => `scale-${i % NAMESPACES}`;
const nodeName = (i: number) => `hollow-${i % NODES}`;

/** What a field set of a container (fieldsV1) looks like: its fields, keyed by name. */
function containerFields(name: string, more: Record<string, unknown>): Record<string, unknown> {
  return { [`k:{"name":"${name}"}`]: { '.': {}, 'f:image': {}, 'f:imagePullPolicy': {}, 'f:name': {}, 'f:resources': { '.': {}, 'f:limits': { '.': {}, 'f:cpu': {}, 'f:memory': {} }, 'f:requests': { '.': {}, 'f:cpu': {}, 'f:memory': {} } }, 'f:terminationMessagePath': {}, 'f:terminationMessagePolicy': {}, 'f:volumeMounts': {}, ...more } };
}

/** A pod's managedFields as the API server records them: the ReplicaSet controller's create and the kubelet's status writes. */
function podManagedFields(): unknown[] {
  const time = '2026-01-01T00:00:05Z';
  return [
    {
      manager: 'kube-controller-manager',
      operation: 'Update',
      apiVersion: 'v1',
      time: CREATED,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/restartedAt': {} }, 'f:generateName': {}, 'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {}, 'f:tier': {} }, 'f:ownerReferences': { '.': {}, 'k:{"uid":"…"}': {} } },
        'f:spec': {
          'f:containers': { ...containerFields('app', { 'f:args': {}, 'f:env': {}, 'f:ports': {}, 'f:readinessProbe': {} }), ...containerFields('sidecar', {}) },
          'f:dnsPolicy': {}, 'f:enableServiceLinks': {}, 'f:restartPolicy': {}, 'f:schedulerName': {}, 'f:securityContext': {}, 'f:terminationGracePeriodSeconds': {}, 'f:volumes': { '.': {}, 'k:{"name":"config"}': { '.': {}, 'f:configMap': {}, 'f:name': {} } },
        },
      },
    },
    {
      manager: 'kubelet',
      operation: 'Update',
      apiVersion: 'v1',
      time,
      fieldsType: 'FieldsV1',
      subresource: 'status',
      fieldsV1: { 'f:status': { 'f:conditions': Object.fromEntries(['ContainersReady', 'Initialized', 'PodReadyToStartContainers', 'Ready'].map((t) => [`k:{"type":"${t}"}`, { '.': {}, 'f:lastProbeTime': {}, 'f:lastTransitionTime': {}, 'f:status': {}, 'f:type': {} }])), 'f:containerStatuses': {}, 'f:hostIP': {}, 'f:hostIPs': {}, 'f:phase': {}, 'f:podIP': {}, 'f:podIPs': {}, 'f:startTime': {} } },
    },
  ];
}

/** A pod as a ReplicaSet and a kubelet leave it: owner, two containers, volumes, status, managedFields. ~6 KB of JSON. */
function pod(i: number): StoredObject {
  const namespace = ns(i);
  const app = `svc-${Math.floor(i / NAMESPACES) % Math.max(1, Math.floor(SERVICES / NAMESPACES))}`;
  const name = `${app}-7d9f8c6b5-${String(i).padStart(6, '0')}`;
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const started = '2026-01-01T00:00:05Z';
  return {
    key: `${P.pods}${namespace}/${name}`,
    object: {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: {
        name,
        generateName: `${app}-7d9f8c6b5-`,
        namespace,
        uid: uidOf(1, i),
        creationTimestamp: CREATED,
        labels: { app, 'pod-template-hash': '7d9f8c6b5', tier: 'backend' },
        annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-7d9f8c6b5`, uid: uidOf(2, i % SERVICES), controller: true, blockOwnerDeletion: true }],
        managedFields: podManagedFields(),
      },
      spec: {
        volumes: [
          { name: 'config', configMap: { name: `${app}-config`, defaultMode: 420 } },
          { name: 'kube-api-access', projected: { defaultMode: 420, sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }, { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }, { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } }] } },
        ],
        containers: [
          {
            name: 'app',
            image: `registry.example.com/team/${app}:v1.2.3`,
            args: ['--port=8080', '--log-level=info'],
            ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
            env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } }, { name: 'MODE', value: 'production' }],
            resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
            volumeMounts: [{ name: 'config', mountPath: '/etc/app' }, { name: 'kube-api-access', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
            readinessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
            terminationMessagePath: '/dev/termination-log',
            terminationMessagePolicy: 'File',
            imagePullPolicy: 'IfNotPresent',
          },
          {
            name: 'sidecar',
            image: 'registry.example.com/infra/log-shipper:v0.9.1',
            resources: { limits: { cpu: '100m', memory: '64Mi' }, requests: { cpu: '10m', memory: '32Mi' } },
            volumeMounts: [{ name: 'kube-api-access', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
            terminationMessagePath: '/dev/termination-log',
            terminationMessagePolicy: 'File',
            imagePullPolicy: 'IfNotPresent',
          },
        ],
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 30,
        dnsPolicy: 'ClusterFirst',
        serviceAccountName: 'default',
        serviceAccount: 'default',
        nodeName: nodeName(i),
        securityContext: {},
        schedulerName: 'default-scheduler',
        tolerations: [
          { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
          { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        ],
        priority: 0,
        enableServiceLinks: true,
        preemptionPolicy: 'PreemptLowerPriority',
      },
      status: {
        phase: 'Running',
        conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: started })),
        hostIP: `100.64.0.${(i % NODES) + 2}`,
        hostIPs: [{ ip: `100.64.0.${(i % NODES) + 2}` }],
        podIP: ip,
        podIPs: [{ ip }],
        startTime: CREATED,
        containerStatuses: ['app', 'sidecar'].map((c) => ({
          name: c,
          state: { running: { startedAt: started } },
          lastState: {},
          ready: true,
          restartCount: 0,
          image: `registry.example.com/${c}:v1`,
          imageID: `registry.example.com/${c}@sha256:${'0123456789abcdef'.repeat(4)}`,
          containerID: `containerd://${String(i).padStart(16, '0')}${'ab'.repeat(24)}`,
          started: true,
        })),
        qosClass: 'Burstable',
      },
    },
  };
}

/**
 * The ReplicaSet owning the pods `i` modulo SERVICES (one per Service, same name stem and
 * namespace), at its replica count and with the status its controller writes: without
 * it the garbage collector would rightly delete every pod as a dependent of an absent owner.
 */
function replicaSet(i: number): StoredObject {
  const namespace = ns(i);
  const app = `svc-${Math.floor(i / NAMESPACES)}`;
  const name = `${app}-7d9f8c6b5`;
  const replicas = Math.floor((PODS - 1 - i) / SERVICES) + 1;
  const labels = { app, 'pod-template-hash': '7d9f8c6b5', tier: 'backend' };
  const template = pod(i).object as { spec: unknown };
  return {
    key: `${P.replicasets}${namespace}/${name}`,
    object: {
      kind: 'ReplicaSet',
      apiVersion: 'apps/v1',
      metadata: { name, namespace, uid: uidOf(2, i), generation: 1, creationTimestamp: CREATED, labels },
      spec: { replicas, selector: { matchLabels: { app, 'pod-template-hash': '7d9f8c6b5' } }, template: { metadata: { labels }, spec: { ...(template.spec as object), nodeName: undefined } } },
      status: { replicas, fullyLabeledReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas, observedGeneration: 1 },
    },
  };
}

function service(i: number): StoredObject {
  const namespace = ns(i);
  const name = `svc-${Math.floor(i / NAMESPACES)}`;
  // 10.96.0.0/12: skip .0.0/.0.1 (the kubernetes Service) and .0.10 (DNS).
  const n = i + 256;
  const ip = `10.${96 + ((n >> 16) & 15)}.${(n >> 8) & 255}.${n & 255}`;
  return {
    key: `${P.services}${namespace}/${name}`,
    object: {
      kind: 'Service',
      apiVersion: 'v1',
      metadata: { name, namespace, uid: uidOf(3, i), creationTimestamp: CREATED, labels: { app: name } },
      spec: { selector: { app: name }, ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }], type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', sessionAffinity: 'None', internalTrafficPolicy: 'Cluster' },
      status: { loadBalancer: {} },
    },
  };
}

function node(i: number): StoredObject {
  const name = nodeName(i);
  const now = new Date().toISOString();
  return {
    key: `${P.nodes}${name}`,
    object: {
      kind: 'Node',
      apiVersion: 'v1',
      metadata: { name, uid: uidOf(4, i), creationTimestamp: CREATED, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' } },
      spec: { podCIDR: `10.${i}.0.0/16`, podCIDRs: [`10.${i}.0.0/16`] },
      status: {
        capacity: { cpu: '64', memory: '256Gi', pods: '2000' },
        allocatable: { cpu: '64', memory: '256Gi', pods: '2000' },
        conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: now, lastTransitionTime: CREATED, reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
        addresses: [{ type: 'InternalIP', address: `100.64.0.${i + 2}` }, { type: 'Hostname', address: name }],
        nodeInfo: { kubeletVersion: 'v1.31.0', containerRuntimeVersion: 'containerd://1.6.20', operatingSystem: 'linux', architecture: 'amd64' },
      },
    },
  };
}

function lease(i: number): StoredObject {
  const name = nodeName(i);
  return {
    key: `${P.leases}kube-node-lease/${name}`,
    object: { kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', metadata: { name, namespace: 'kube-node-lease', uid: uidOf(5, i), creationTimestamp: CREATED }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new Date().toISOString() } },
  };
}

function namespace(i: number): StoredObject {
  const name = ns(i);
  return { key: `${P.namespaces}${name}`, object: { kind: 'Namespace', apiVersion: 'v1', metadata: { name, uid: uidOf(6, i), creationTimestamp: CREATED, labels: { 'kubernetes.io/metadata.name': name } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } } };
}

/** Resets the process's peak RSS (VmHWM), so a phase's peak can be read after it. */
function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // not ours to reset: the peak then covers the whole run
  }
}

function peakMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Reads a watch until `want` ADDED events came (or it ends); resolves to how many came. */
function watchInitial(port: number, agent: Agent, path: string, want: number, onProgress: () => void): Promise<number> {
  return new Promise((resolve) => {
    let added = 0;
    let tail = '';
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.on('data', (c: Buffer) => {
        const text = tail + c.toString('latin1');
        let from = 0;
        for (;;) {
          const i = text.indexOf('{"type":"ADDED"', from);
          if (i < 0) break;
          added++;
          from = i + 15;
        }
        tail = text.slice(Math.max(from, text.length - 15));
        onProgress();
        if (added >= want) {
          req.destroy();
          resolve(added);
        }
      });
      res.on('end', () => resolve(added));
      res.on('error', () => resolve(added));
    });
    req.on('error', () => resolve(added));
    req.end();
  });
}

const dir = mkdtempSync(join(tmpdir(), 'kite-bench-scale-'));
const clusterDir = join(dir, 'cluster');
let server: ReturnType<typeof startServer> | undefined;
let renewer: NodeJS.Timeout | undefined;
try {
  const port = await freePort();
  let agent = await layOutCluster('bench-scale', clusterDir, port);
  agent.destroy();
  const t0 = performance.now();
  const small = [...Array.from({ length: NAMESPACES }, (_, i) => namespace(i)), ...Array.from({ length: NODES }, (_, i) => node(i)), ...Array.from({ length: NODES }, (_, i) => lease(i))];
  const owned = [service, replicaSet];
  const perPod = small.length + owned.length * SERVICES;
  const file = await fillStore(clusterDir, perPod + PODS, (i) => (i < small.length ? small[i] : i < perPod ? owned[Math.floor((i - small.length) / SERVICES)]((i - small.length) % SERVICES) : pod(i - perPod)));
  const podBytes = Buffer.byteLength(JSON.stringify(pod(0).object));
  console.log(`filled ${PODS} pods (~${podBytes} B each), ${SERVICES} Services and ReplicaSets, ${NODES} Nodes in ${NAMESPACES} namespaces: ${Math.round(statSync(file).size / 1e6)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const start = performance.now();
  server = startServer('bench-scale', clusterDir, port);
  agent = adminAgent(clusterDir, true);
  const ready = await waitReady(port, () => agent, server, start);
  const pid = server.pid!;
  // The nodes' kubelets: renew their Leases every 10 s so the node lifecycle controller leaves them (and their pods) be.
  const renew = () => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, '.000000Z');
    for (let i = 0; i < NODES; i++) void call(port, agent, 'PATCH', `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${nodeName(i)}`, { body: { spec: { renewTime: now } }, type: 'application/merge-patch+json', timeoutMs: 60_000 });
  };
  renew();
  renewer = setInterval(renew, 10_000);
  const rssReady = rssMiB(pid);
  // KITE_BENCH_HEAP_SNAPSHOT_AT_READY=1 (with KITE_BENCH_SERVER_NODE_ARGS=--heapsnapshot-signal=SIGUSR2):
  // the server writes a heap snapshot into the working directory now, what is live at /readyz.
  if (process.env.KITE_BENCH_HEAP_SNAPSHOT_AT_READY === '1') process.kill(pid, 'SIGUSR2');
  const cpuReady = cpuMsOf(`/proc/${pid}/stat`) / 1000;
  // The in-process controllers and scheduler list everything into their informers after
  // /readyz (as a kube-controller-manager and kube-scheduler would, in their processes):
  // the API server's own figures are taken once that has settled — RSS steady within 3 %,
  // a GET answered within 200 ms and the server's CPU under a quarter of a core, for 15 s
  // in a row (the informers' lists are time-sliced, so GETs stay fast while they fill;
  // their RSS growth and CPU use are what tell they are not done — RSS alone can stay
  // within 3 % for a while when the informers share objects the server already holds).
  const settleStart = performance.now();
  const samples: { rss: number; ms: number; at: number; cpu: number }[] = [];
  for (;;) {
    const t = performance.now();
    await call(port, agent, 'GET', '/api/v1/namespaces/default', { timeoutMs: 60_000 });
    samples.push({ rss: rssMiB(pid), ms: performance.now() - t, at: performance.now(), cpu: cpuMsOf(`/proc/${pid}/stat`) / 1000 });
    const last = samples.slice(-SETTLED_SAMPLES);
    const cpuShare = last.length > 1 ? (last[last.length - 1].cpu - last[0].cpu) / ((last[last.length - 1].at - last[0].at) / 1000) : 1;
    if (last.length === SETTLED_SAMPLES && last.every((x) => x.ms < 200) && Math.max(...last.map((x) => x.rss)) <= Math.min(...last.map((x) => x.rss)) * 1.03 && cpuShare < SETTLED_CPU_SHARE) break;
    if (performance.now() - settleStart > 900_000) throw new Error('the server did not settle within 15 minutes');
    await new Promise((r) => setTimeout(r, 1000));
  }
  const settleS = (performance.now() - settleStart) / 1000;
  const rssSettled = rssMiB(pid);
  const cpuSettled = cpuMsOf(`/proc/${pid}/stat`) / 1000;

  // kubectl get pods -A: pages of 500 (Table), following continue tokens.
  resetPeak(pid);
  const pages: number[] = [];
  let listed = 0;
  let cont: string | undefined;
  const listStart = performance.now();
  do {
    const t = performance.now();
    const r = await call(port, agent, 'GET', `/api/v1/pods?limit=${PAGE}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`, { keep: true, timeoutMs: 120_000, accept: TABLE_ACCEPT });
    pages.push(performance.now() - t);
    if (r.code !== 200) throw new Error(`list page failed: ${r.code} ${r.body?.toString().slice(0, 300)}`);
    const body = JSON.parse(r.body!.toString()) as { rows?: unknown[]; metadata: { continue?: string } };
    listed += body.rows?.length ?? 0;
    cont = body.metadata.continue;
  } while (cont);
  const listS = (performance.now() - listStart) / 1000;
  const cpuList = cpuMsOf(`/proc/${pid}/stat`) / 1000 - cpuSettled;
  const listPeak = peakMiB(pid);
  const rssAfterList = rssMiB(pid);
  pages.sort((a, b) => a - b);

  // A watch of every pod from the start (resourceVersion=0): its initial ADDED events, read as they come.
  resetPeak(pid);
  const watchStart = performance.now();
  const cpuBeforeWatch = cpuMsOf(`/proc/${pid}/stat`) / 1000;
  const got = await watchInitial(port, agent, '/api/v1/pods?watch=1&resourceVersion=0', PODS, () => undefined);
  const watchS = (performance.now() - watchStart) / 1000;
  const cpuWatch = cpuMsOf(`/proc/${pid}/stat`) / 1000 - cpuBeforeWatch;
  const watchPeak = peakMiB(pid);
  const rssAfterWatch = rssMiB(pid);

  const pagesOk = pages[pages.length - 1] !== undefined && percentile(pages, 99) <= PAGE_P99_GOAL_MS;
  console.log('| figure | value | goal |');
  console.log('|---|---|---|');
  console.log(`| to /readyz | ${ready.toFixed(1)} s | |`);
  console.log(`| RSS when ready | ${rssReady} MiB | |`);
  console.log(`| controllers' and scheduler's informers synced (settled) after ready / RSS then / server CPU meanwhile | ${settleS.toFixed(0)} s / ${rssSettled} MiB / ${(cpuSettled - cpuReady).toFixed(1)} s | |`);
  console.log(`| paged list of all pods (${listed} rows, ${pages.length} pages of ${PAGE}) / server CPU | ${listS.toFixed(1)} s / ${cpuList.toFixed(1)} s | |`);
  console.log(`| per-page p50 / p99 / max | ${percentile(pages, 50).toFixed(0)} / ${percentile(pages, 99).toFixed(0)} / ${pages[pages.length - 1].toFixed(0)} ms | p99 ≤ ${PAGE_P99_GOAL_MS} ms ${pagesOk ? 'met' : 'NOT met'} |`);
  console.log(`| RSS peak during the list / after (growth over settled) | ${listPeak} / ${rssAfterList} MiB (+${listPeak - rssSettled}) | bounded |`);
  console.log(`| watch from resourceVersion=0: initial events / server CPU | ${got} in ${watchS.toFixed(1)} s / ${cpuWatch.toFixed(1)} s | all ${PODS} |`);
  const watchGrowth = watchPeak - Math.max(rssSettled, rssAfterList);
  console.log(`| RSS peak during that watch / after (growth over before it) | ${watchPeak} / ${rssAfterWatch} MiB (+${watchGrowth}) | growth ≤ ${WATCH_GROWTH_GOAL_MIB} MiB ${watchGrowth <= WATCH_GROWTH_GOAL_MIB ? 'met' : 'NOT met'} |`);
  agent.destroy();
} finally {
  if (renewer) clearInterval(renewer);
  if (server) await stop(server);
  rmSync(dir, { recursive: true, force: true });
}
