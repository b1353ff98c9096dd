// Failover benchmark, one run: `kite up --servers 3 --store etcd` (3 API servers, a
// 3-member etcd, a load balancer on the kubeconfig's address; no node), a client writing
// ConfigMaps through the balancer all along; then kill -9 of the API server holding the
// controller manager's Lease, and later of one etcd member. Prints how long the
// controller manager's and scheduler's leadership took to move, how long until the
// `kubernetes` endpoints dropped the dead server, the longest gap between acknowledged
// writes around each kill, and how many acknowledged writes were lost.
//
//   node dist/bench/ha-failover.js
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/e2e/harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const KITE_MAIN = join(here, '..', 'cli', 'main.js');
const NAME = 'ha-bench';

const home = mkdtempSync(join(tmpdir(), 'kite-bench-ha-'));
const dir = join(home, NAME);
const env = { ...process.env, KITE_HOME: home, KITE_NODE: 'none', KUBECONFIG: join(home, 'kubeconfig') };

function kite(args: string[]): void {
  const r = spawnSync(process.execPath, [KITE_MAIN, ...args, '--name', NAME], { env, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`kite ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
}

let agent: Agent;

function api(base: string, method: string, path: string, body?: object): Promise<{ code: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, agent, headers: { 'content-type': 'application/json' }, timeout: 10_000 }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => {
        try {
          resolve({ code: res.statusCode ?? 0, json: data ? JSON.parse(data) : undefined });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

async function until<T>(fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const port = await freePort();
  const t0 = Date.now();
  kite(['up', '--store', 'etcd', '--servers', '3', '--api-port', String(port)]);
  const upMs = Date.now() - t0;
  const pki = join(dir, 'pki');
  agent = new Agent({ ca: readFileSync(join(pki, 'ca.crt')), cert: readFileSync(join(pki, 'admin.crt')), key: readFileSync(join(pki, 'admin.key')), keepAlive: false });
  const lb = `https://127.0.0.1:${port}`;
  const servers = [0, 1, 2].map((i) => {
    const log = join(dir, i ? `server-${i}.log` : 'server.log');
    const p = Number(/API server listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(log, 'utf8'))![1]);
    const pid = Number(readFileSync(join(dir, i ? `server-${i}.pid` : 'server.pid'), 'utf8'));
    return { i, port: p, log, pid };
  });
  const holder = async (lease: string) => (await api(lb, 'GET', `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${lease}`)).json?.spec?.holderIdentity as string | undefined;
  const serverOf = (id: string) => servers.find((s) => readFileSync(s.log, 'utf8').includes(`${id} acquired the lease`));
  const endpointPorts = async () =>
    ((await api(lb, 'GET', '/api/v1/namespaces/default/endpoints/kubernetes')).json?.subsets ?? []).flatMap((s: any) => s.ports.map((p: any) => p.port)).sort();

  await api(lb, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
  const cmId = await until(() => holder('kube-controller-manager'), 30_000);
  await until(() => holder('kube-scheduler'), 30_000);
  const leader = serverOf(cmId)!;

  // One writer through the balancer, as kubectl would reach the cluster.
  const acked: { name: string; at: number }[] = [];
  let writing = true;
  const writer = (async () => {
    for (let n = 0; writing; n++) {
      try {
        const r = await api(lb, 'POST', '/api/v1/namespaces/bench/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `w-${n}` } });
        if (r.code === 201) acked.push({ name: `w-${n}`, at: Date.now() });
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  })();
  const gapAround = (from: number, to: number) => {
    let worst = 0;
    let prev = from;
    for (const a of acked) {
      if (a.at < from) continue;
      if (a.at > to) break;
      worst = Math.max(worst, a.at - prev);
      prev = a.at;
    }
    return worst;
  };
  await new Promise((r) => setTimeout(r, 3000));

  const killed = Date.now();
  process.kill(leader.pid, 'SIGKILL');
  const [cmMs, schedMs, epMs] = await Promise.all([
    until(async () => {
      const h = await holder('kube-controller-manager');
      return h && h !== cmId ? Date.now() - killed : undefined;
    }, 60_000),
    until(async () => {
      const h = await holder('kube-scheduler');
      const s = h ? serverOf(h) : undefined;
      return s && s !== leader ? Date.now() - killed : undefined;
    }, 60_000),
    until(async () => (!(await endpointPorts()).includes(leader.port) ? Date.now() - killed : undefined), 60_000),
  ]);
  const serverGap = gapAround(killed - 1000, killed + 10_000);

  await new Promise((r) => setTimeout(r, 3000));
  const etcdPidFile = readdirSync(join(dir, 'etcd')).find((f) => f === 'etcd-2.pid')!;
  const etcdKilled = Date.now();
  process.kill(Number(readFileSync(join(dir, 'etcd', etcdPidFile), 'utf8')), 'SIGKILL');
  await new Promise((r) => setTimeout(r, 10_000));
  const etcdGap = gapAround(etcdKilled - 1000, etcdKilled + 10_000);
  writing = false;
  await writer;

  const list = await api(lb, 'GET', '/api/v1/namespaces/bench/configmaps');
  const stored = new Set((list.json.items as any[]).map((o) => o.metadata.name));
  const lost = acked.filter((a) => !stored.has(a.name)).length;

  const rows: [string, string][] = [
    ['kite up --servers 3 (3 API servers, 3 etcd members)', `${(upMs / 1000).toFixed(1)} s`],
    ['controller-manager Lease moved after kill -9 of its holder', `${(cmMs / 1000).toFixed(1)} s (lease 15 s, retry 2 s)`],
    ['scheduler Lease held by a live server', `${(schedMs / 1000).toFixed(1)} s`],
    ['dead server gone from the kubernetes endpoints', `${(epMs / 1000).toFixed(1)} s (lease 15 s, reconcile 5 s)`],
    ['longest gap between acknowledged writes (API server kill)', `${serverGap} ms`],
    ['longest gap between acknowledged writes (etcd member kill)', `${etcdGap} ms`],
    ['acknowledged writes / lost', `${acked.length} / ${lost}`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log('\nHA failover (one host, KITE_NODE=none)');
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
  kite(['down', '--purge']);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
    try {
      kite(['down', '--purge']);
    } catch {
      // best effort
    }
  })
  .finally(() => rmSync(home, { recursive: true, force: true }));
