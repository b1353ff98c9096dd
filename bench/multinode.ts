// Multi-node benchmark: a real `kite up --nodes 2` cluster (the control plane's node and
// one worker in its own network namespace), then, in one run:
//
//   1. RSS per added node: `kite node add` a second worker and sum what it added — its
//      kubelet, its containerd, and the growth of the `kite server` process (the node's
//      kube-proxy and NetworkPolicy informers run there) — once it is Ready and idle;
//   2. HTTP requests/s to a busybox httpd pod on worker A from worker A's network
//      namespace (same node: through A's pod bridge) next to the same load from worker
//      B's (cross-node: B's eth0 → underlay bridge → A, by kernel routes), and both
//      through the Service's ClusterIP (each node's own nftables proxy DNATs);
//      closed loop, keep-alive off, interleaved A/B rounds;
//   3. pod start latency (created → Running) on a worker next to the control plane's node.
//
// The load generator is this script run with `--load` inside the node's netns (nsenter).
//
//   node dist/bench/multinode.js [--duration 8] [--concurrency 16]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workerNames } from '../agent/workers.js';
import { Cluster, applyYaml, waitFor } from '../test/e2e/harness.js';
import { benchArgs } from './args.js';

const args = benchArgs();
const DURATION_MS = Number(args.get('duration') ?? 8) * 1000;
const CONCURRENCY = Number(args.get('concurrency') ?? 16);
const SELF = fileURLToPath(import.meta.url);

interface Result {
  ok: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
}

function get(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request({ host, port, path: '/', agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end();
  });
}

/** The load generator (runs inside a node's netns): closed loop for `ms`. */
async function load(host: string, port: number, ms: number, concurrency: number): Promise<Result> {
  const lat: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          if ((await get(host, port)) === 200) lat.push(performance.now() - t);
          else errors++;
        } catch {
          errors++;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    }),
  );
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? NaN;
  return { ok: lat.length, errors, seconds: (performance.now() - start) / 1000, p50: pct(0.5), p99: pct(0.99) };
}

function loadFrom(netns: string, host: string, port: number, ms: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=/run/netns/${netns}`, process.execPath, SELF, '--load', host, '--port', String(port), '--ms', String(ms), '--concurrency', String(CONCURRENCY)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Result) : reject(new Error(`load generator exited ${code}`))));
  });
}

async function ab(a: () => Promise<Result>, b: () => Promise<Result>, rounds = 2): Promise<[Result, Result]> {
  const acc: [Result[], Result[]] = [[], []];
  for (let i = 0; i < rounds; i++) {
    acc[0].push(await a());
    acc[1].push(await b());
  }
  const merge = (rs: Result[]): Result => ({
    ok: rs.reduce((s, r) => s + r.ok, 0),
    errors: rs.reduce((s, r) => s + r.errors, 0),
    seconds: rs.reduce((s, r) => s + r.seconds, 0),
    p50: rs.reduce((s, r) => s + r.p50, 0) / rs.length,
    p99: Math.max(...rs.map((r) => r.p99)),
  });
  return [merge(acc[0]), merge(acc[1])];
}

function fmt(label: string, r: Result): string {
  return `  ${label.padEnd(58)} ${(r.ok / r.seconds).toFixed(0).padStart(6)} req/s   p50 ${r.p50.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms   (${r.errors} errors)`;
}

function rssKiB(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const mb = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const cluster = new Cluster(`mnbench${Math.random().toString(36).slice(2, 6)}`);
  const json = async (a: string[]) => JSON.parse(await cluster.k([...a, '-o', 'json']));
  const readyCount = async () => (await json(['get', 'nodes'])).items.filter((n: any) => n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')).length;
  const dir = join(cluster.home, cluster.name);
  const pidOf = (file: string) => Number(readFileSync(file, 'utf8').trim());
  try {
    const t0 = performance.now();
    await cluster.up(['--nodes', '2']);
    await waitFor('2 Ready nodes', async () => ((await readyCount()) === 2 ? true : undefined), 180_000, 500);
    console.log(`kite up --nodes 2 → 2 Ready nodes: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const serverPid = pidOf(join(dir, 'server.pid'));
    const settle = () => new Promise((r) => setTimeout(r, 10_000));

    // ---- 1. RSS per added node
    await settle();
    const serverBefore = rssKiB(serverPid);
    const t1 = performance.now();
    const added = await cluster.kite(['node', 'add', '--name', cluster.name]);
    if (added.code !== 0) throw new Error(added.stdout + added.stderr);
    console.log(`kite node add → Ready: ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    await settle();
    const w2 = join(dir, 'nodes', `${cluster.name}-worker2`);
    const kubelet = rssKiB(pidOf(join(w2, 'kubelet.pid')));
    const containerd = rssKiB(pidOf(join(w2, 'containerd', 'containerd.pid')));
    const serverAfter = rssKiB(serverPid);
    console.log(`RSS per added node (idle, no pods): kubelet ${mb(kubelet)} + containerd ${mb(containerd)} = ${mb(kubelet + containerd)}`);
    // The node's proxy and NetworkPolicy informers live in the server; its RSS moves with GC too.
    console.log(`kite server RSS before the node ${mb(serverBefore)}, after ${mb(serverAfter)}`);

    // ---- 2. same-node vs cross-node request rate
    const A = `${cluster.name}-worker`;
    await applyYaml(cluster, 'target', `apiVersion: v1
kind: Pod
metadata: {name: target, labels: {app: target}}
spec:
  nodeName: ${A}
  containers:
  - name: web
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo ok > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: target}
spec:
  selector: {app: target}
  ports: [{port: 80, targetPort: 8080}]
`);
    const pod = await waitFor('target ready', async () => {
      const p = await json(['get', 'pod', 'target']);
      return p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
    }, 60_000, 500);
    const clusterIP = (await json(['get', 'svc', 'target'])).spec.clusterIP;
    const nsA = workerNames(join(dir, 'nodes', A)).netns;
    const nsB = workerNames(w2).netns;
    await waitFor('ClusterIP from B', async () => ((await loadFrom(nsB, clusterIP, 80, 300)).ok > 0 ? true : undefined), 30_000, 500);
    console.log(`HTTP to one busybox httpd pod on ${A}, ${CONCURRENCY} concurrent, keep-alive off, ${DURATION_MS / 1000} s each (2 interleaved rounds):`);
    const [samePod, crossPod] = await ab(() => loadFrom(nsA, pod.status.podIP, 8080, DURATION_MS / 2), () => loadFrom(nsB, pod.status.podIP, 8080, DURATION_MS / 2));
    console.log(fmt('pod IP, same node (from worker A)', samePod));
    console.log(fmt('pod IP, cross-node (from worker B over the underlay)', crossPod));
    console.log(`  cross-node / same-node: ${(crossPod.ok / crossPod.seconds / (samePod.ok / samePod.seconds)).toFixed(2)}`);
    const [sameSvc, crossSvc] = await ab(() => loadFrom(nsA, clusterIP, 80, DURATION_MS / 2), () => loadFrom(nsB, clusterIP, 80, DURATION_MS / 2));
    console.log(fmt('ClusterIP, same node', sameSvc));
    console.log(fmt('ClusterIP, cross-node', crossSvc));

    // ---- 3. pod start latency: control plane's node vs a worker
    const startOn = async (node: string, name: string): Promise<number> => {
      const t = performance.now();
      await applyYaml(cluster, name, `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 0
  containers: [{name: c, image: busybox, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}]
`);
      await waitFor(`${name} running`, async () => (await json(['get', 'pod', name])).status?.phase === 'Running', 60_000, 100);
      return performance.now() - t;
    };
    const lat: Record<string, number[]> = { cp: [], worker: [] };
    for (let i = 0; i < 5; i++) {
      lat.cp!.push(await startOn(`${cluster.name}-control-plane`, `s-cp-${i}`));
      lat.worker!.push(await startOn(A, `s-w-${i}`));
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`pod start (kubectl apply → Running seen by polling), median of 5: control plane's node ${med(lat.cp!).toFixed(0)} ms, worker ${med(lat.worker!).toFixed(0)} ms`);
  } finally {
    await cluster.down();
  }
}

if (args.has('load')) {
  load(args.get('load')!, Number(args.get('port')), Number(args.get('ms')), Number(args.get('concurrency'))).then((r) => process.stdout.write(JSON.stringify(r)));
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
