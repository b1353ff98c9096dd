// Acceptance: several API servers on one etcd (`kite up --store etcd --servers 3`: three
// `kite server`s and a load balancer on the kubeconfig's address), driven by the real
// kubectl through each of them and through the balancer: a
// write through one is seen by another's watch, the `kubernetes` endpoints list every
// live server, exactly one controller manager and one scheduler act (their Leases), and
// after kill -9 of the server holding them another takes over: a deleted pod of a
// Deployment is replaced and scheduled, the dead server leaves the endpoints, and no
// acknowledged write is lost, and kubectl through the kubeconfig keeps working; `kite down`
// and `kite up` bring back the same etcd membership (peer URLs, data). The node is left out (KITE_NODE=none): pods are scheduled
// onto a Node object made here, which is all the scheduler needs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { Cluster, KITE_MAIN, freePort, run, waitFor } from './harness.js';
import { isAlive } from '../../machinery/process.js';

const canRun = existsSync('/usr/bin/etcd') || process.getuid?.() === 0;
const cluster = new Cluster('ha-e2e', { KITE_NODE: 'none' });
const dir = join(cluster.home, cluster.name);

interface Server {
  index: number;
  port: number;
  url: string;
  log: string;
  pid: () => number;
}

const servers: Server[] = [];
/** The kubeconfig's address: the load balancer in front of the servers. */
let balancerURL = '';

function pidOf(file: string): number {
  return Number(readFileSync(file, 'utf8').trim());
}

/** kubectl through one server. */
function k(s: Server, args: string[]): Promise<string> {
  return cluster.k(['--server', s.url, ...args]);
}

/** A create through one server straight over HTTPS (no kubectl start-up per write): resolves once acknowledged. */
function createConfigMap(s: Server, name: string): Promise<void> {
  const pki = join(dir, 'pki');
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'writes' }, data: { n: name } });
  return new Promise((resolve, reject) => {
    const req = request(
      `${s.url}/api/v1/namespaces/writes/configmaps`,
      {
        method: 'POST',
        ca: readFileSync(join(pki, 'ca.crt')),
        cert: readFileSync(join(pki, 'admin.crt')),
        key: readFileSync(join(pki, 'admin.key')),
        headers: { 'content-type': 'application/json' },
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

/** The servers `kite up --servers 3` started: port from each log's "listening" line, pid from its pid file. */
function discoverServers(): Server[] {
  return [0, 1, 2].map((index) => {
    const log = join(dir, index ? `server-${index}.log` : 'server.log');
    const m = /API server listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(log, 'utf8'));
    assert.ok(m, `no listening line in ${log}`);
    const port = Number(m[1]);
    const pidFile = join(dir, index ? `server-${index}.pid` : 'server.pid');
    const pid = pidOf(pidFile);
    return { index, port, url: `https://127.0.0.1:${port}`, log, pid: () => pid };
  });
}

/** Which server holds a Lease (each logs the identity it acquired with). */
async function holderOf(lease: string): Promise<Server | undefined> {
  const live = servers.find((s) => isAlive(s.pid()))!;
  const id = (await k(live, ['-n', 'kube-system', 'get', 'lease', lease, '-o', 'jsonpath={.spec.holderIdentity}'])).trim();
  if (!id) return undefined;
  return servers.find((s) => readFileSync(s.log, 'utf8').includes(`${id} acquired the lease`));
}

async function endpointPorts(s: Server): Promise<number[]> {
  const ep = JSON.parse(await k(s, ['get', 'endpoints', 'kubernetes', '-o', 'json']));
  return (ep.subsets ?? []).flatMap((ss: { ports: { port: number }[] }) => ss.ports.map((p) => p.port)).sort((a: number, b: number) => a - b);
}

describe('several API servers on one etcd', { skip: canRun ? undefined : 'needs etcd-server (root installs it)' }, () => {
  before(async () => {
    const port = await freePort();
    const r = await run(process.execPath, [KITE_MAIN, 'up', '--name', cluster.name, '--store', 'etcd', '--servers', '3', '--api-port', String(port)], { env: cluster.env(), timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /Load balancer at https:\/\/127\.0\.0\.1:\d+ in front of 3 API servers/);
    balancerURL = `https://127.0.0.1:${port}`;
    servers.push(...discoverServers());
    assert.equal(new Set(servers.map((s) => s.port)).size, 3);
  });

  after(async () => {
    const r = await run(process.execPath, [KITE_MAIN, 'down', '--name', cluster.name, '--purge'], { env: cluster.env(), timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(servers.every((s) => !isAlive(s.pid())), 'kite down stops every server');
  });

  test('a write through one server is seen by a watch through another, and read back through the third', async () => {
    const [a, b, c] = servers;
    const watch = cluster.spawnKubectl(['--server', b.url, 'get', 'configmaps', '-w', '--output-watch-events', '-o', 'custom-columns=EVENT:.type,NAME:.object.metadata.name,A:.object.data.a', '--no-headers']);
    try {
      await k(a, ['create', 'configmap', 'shared', '--from-literal=a=1']);
      // A consistent read through another server right after the write sees it.
      assert.equal((await k(c, ['get', 'configmap', 'shared', '-o', 'jsonpath={.data.a}'])).trim(), '1');
      await k(c, ['patch', 'configmap', 'shared', '--type=merge', '-p', '{"data":{"a":"2"}}']);
      await waitFor('the watch through another server', () => /ADDED\s+shared\s+1[\s\S]*MODIFIED\s+shared\s+2/.test(watch.output()), 20_000);
    } finally {
      watch.stop();
    }
  });

  test('cluster IPs and node ports are never handed out twice by different servers', async () => {
    await k(servers[0], ['create', 'namespace', 'alloc']);
    const names = Array.from({ length: 12 }, (_, i) => `svc-${i}`);
    await Promise.all(names.map((n, i) => k(servers[i % 3], ['-n', 'alloc', 'create', 'service', 'nodeport', n, '--tcp=80:80'])));
    const list = JSON.parse(await k(servers[1], ['-n', 'alloc', 'get', 'services', '-o', 'json'])).items as { spec: { clusterIP: string; ports: { nodePort: number }[] } }[];
    assert.equal(list.length, names.length);
    assert.equal(new Set(list.map((s) => s.spec.clusterIP)).size, names.length, 'distinct cluster IPs');
    assert.equal(new Set(list.map((s) => s.spec.ports[0].nodePort)).size, names.length, 'distinct node ports');
  });

  test('the kubernetes endpoints list every live API server', async () => {
    const want = servers.map((s) => s.port).sort((a, b) => a - b);
    await waitFor('three endpoints', async () => JSON.stringify(await endpointPorts(servers[1])) === JSON.stringify(want), 30_000, 500);
    const leases = await k(servers[2], ['-n', 'kube-system', 'get', 'leases', '-l', 'apiserver.kubernetes.io/identity=kube-apiserver', '-o', 'name']);
    assert.equal(leases.split('\n').filter(Boolean).length, 3, leases);
  });

  test('exactly one controller manager and one scheduler lead; after kill -9 of the leader another takes over and no acknowledged write is lost', async () => {
    const leader = await waitFor('a controller-manager leader', () => holderOf('kube-controller-manager'), 45_000, 500);
    await waitFor('a scheduler leader', () => holderOf('kube-scheduler'), 45_000, 500);
    // Only the leader logged an acquisition of each lease.
    for (const lease of ['kube-controller-manager', 'kube-scheduler']) {
      const acquired = servers.filter((s) => new RegExp(`kube-system/${lease}: \\S+ acquired the lease`).test(readFileSync(s.log, 'utf8')));
      assert.equal(acquired.length, 1, `${lease} acquired by ${acquired.map((s) => s.index).join(',')}`);
    }
    const survivors = servers.filter((s) => s !== leader);
    const via = survivors[0];

    // A node for the scheduler (no kubelet here: the pods only need placing).
    const nodeFile = cluster.writeFile('node.yaml', 'apiVersion: v1\nkind: Node\nmetadata:\n  name: ha-fake-node\n  labels:\n    kubernetes.io/hostname: ha-fake-node\nstatus:\n  allocatable: {cpu: "8", memory: 16Gi, pods: "110"}\n  capacity: {cpu: "8", memory: 16Gi, pods: "110"}\n');
    await k(via, ['apply', '-f', nodeFile]);
    const deployFile = cluster.writeFile(
      'web.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      tolerations: [{operator: Exists}]\n      containers: [{name: web, image: "busybox:1"}]\n',
    );
    await k(via, ['apply', '-f', deployFile]);
    const scheduled = async (s: Server) => {
      const pods = JSON.parse(await k(s, ['get', 'pods', '-l', 'app=web', '-o', 'json'])).items as { metadata: { name: string; deletionTimestamp?: string }; spec: { nodeName?: string } }[];
      return pods.filter((p) => !p.metadata.deletionTimestamp && p.spec.nodeName === 'ha-fake-node');
    };
    await waitFor('two scheduled pods', async () => (await scheduled(via)).length === 2, 45_000, 500);

    // Writes keep coming through every server while the leader dies.
    await k(via, ['create', 'namespace', 'writes']);
    const acked: string[] = [];
    let writing = true;
    const balancer: Server = { index: 9, port: 0, url: balancerURL, log: '', pid: () => 0 };
    const writers = [...servers, balancer].map(async (s) => {
      for (let i = 0; writing; i++) {
        const name = `w-${s.index}-${i}`;
        try {
          await createConfigMap(s, name);
          acked.push(name);
        } catch {
          if (s === leader) return;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    });
    await waitFor('some writes', () => acked.length >= 20, 30_000);
    const killedAt = Date.now();
    process.kill(leader.pid(), 'SIGKILL');
    await waitFor('the leader to die', () => !isAlive(leader.pid()), 10_000);

    // kubectl through the kubeconfig's address (the load balancer) keeps working.
    assert.match(await cluster.k(['get', 'namespace', 'writes', '-o', 'name']), /namespace\/writes/);
    const victim = (await scheduled(via))[0].metadata.name;
    await cluster.k(['delete', 'pod', victim, '--wait=false']);
    // Leadership moves once the Lease expires (15 s) plus a retry period: 45 s of room.
    const newLeader = await waitFor('another controller-manager leader', async () => {
      const h = await holderOf('kube-controller-manager');
      return h && h !== leader ? h : undefined;
    }, 45_000, 500);
    const takeoverMs = Date.now() - killedAt;
    assert.ok(survivors.includes(newLeader));
    await waitFor('a new scheduler leader', async () => {
      const h = await holderOf('kube-scheduler');
      return h && h !== leader ? h : undefined;
    }, 45_000, 500);
    await waitFor('the deleted pod replaced and scheduled', async () => {
      const pods = await scheduled(via);
      return pods.length === 2 && !pods.some((p) => p.metadata.name === victim);
    }, 45_000, 500);
    const want = survivors.map((s) => s.port).sort((a, b) => a - b);
    await waitFor('the dead server to leave the endpoints', async () => JSON.stringify(await endpointPorts(via)) === JSON.stringify(want), 45_000, 500);

    writing = false;
    await Promise.all(writers);
    const stored = new Set((await k(survivors[1], ['-n', 'writes', 'get', 'configmaps', '-o', 'name'])).split('\n').filter(Boolean).map((n) => n.replace('configmap/', '')));
    const lost = acked.filter((n) => !stored.has(n));
    assert.deepEqual(lost, [], `acknowledged writes lost: ${lost.length} of ${acked.length}`);
    console.log(`# takeover: controller-manager lease moved ${takeoverMs} ms after kill -9; ${acked.length} acknowledged writes, ${lost.length} lost`);
  });

  test('kill -9 of an etcd member: writes continue, a watch through a server resumes without missing an event, nothing acknowledged is lost', async () => {
    const etcdDir = join(dir, 'etcd');
    assert.deepEqual(JSON.parse(readFileSync(join(etcdDir, 'members.json'), 'utf8')), { members: 3 });
    const live = servers.filter((s) => isAlive(s.pid()));
    const watch = cluster.spawnKubectl(['--server', live[0].url, '-n', 'writes', 'get', 'configmaps', '-w', '--watch-only', '-o', 'name']);
    const acked: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        try {
          await createConfigMap({ index: 0, port: 0, url: balancerURL, log: '', pid: () => 0 }, `e-${i}`);
          acked.push(`e-${i}`);
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
    try {
      await waitFor('some writes', () => acked.length >= 10, 30_000);
      const member = pidOf(join(etcdDir, 'etcd-2.pid'));
      process.kill(member, 'SIGKILL');
      const before = acked.length;
      await waitFor('writes after the etcd member died', () => acked.length >= before + 20, 45_000);
      writing = false;
      await writer;
      const last = acked[acked.length - 1];
      await waitFor('the watch to see the last write', () => watch.output().includes(`configmap/${last}`), 30_000).catch((err: Error) => {
        const logs = servers.map((s) => readFileSync(s.log, 'utf8').split('\n').filter((l) => /etcd|watch/.test(l)).slice(-5).join('\n')).join('\n');
        throw new Error(`${err.message}; last write ${last}; watch through server ${live[0].index} printed ${watch.output().split('\n').length} lines, ending ${watch.output().slice(-300)}\n${logs}`);
      });
      const seen = new Set(watch.output().split('\n').map((l) => l.trim().replace('configmap/', '')));
      // Writes before the watch was established are not its to see: from the first one it saw on.
      const first = acked.findIndex((n) => seen.has(n));
      const missed = acked.slice(first).filter((n) => !seen.has(n));
      assert.deepEqual(missed, [], `the watch missed ${missed.length} events`);
    } finally {
      writing = false;
      watch.stop();
    }
    const stored = new Set((await cluster.k(['-n', 'writes', 'get', 'configmaps', '-o', 'name'])).split('\n').filter(Boolean).map((n) => n.replace('configmap/', '')));
    const lost = acked.filter((n) => !stored.has(n));
    assert.deepEqual(lost, [], `acknowledged writes lost: ${lost.length} of ${acked.length}`);
    console.log(`# etcd member killed: ${acked.length} acknowledged writes, ${lost.length} lost`);
  });

  test('kite down and kite up keep the etcd membership: same members, peer URLs and data', async () => {
    const etcdDir = join(dir, 'etcd');
    // Member 0 is `kite` (data, ports.json), the others `kite-N` (data-N, ports-N.json).
    const peers = () => ['ports.json', 'ports-1.json', 'ports-2.json'].map((f) => JSON.parse(readFileSync(join(etcdDir, f), 'utf8')).peer as number);
    const before = peers();
    const down = await run(process.execPath, [KITE_MAIN, 'down', '--name', cluster.name], { env: cluster.env(), timeoutMs: 120_000 });
    assert.equal(down.code, 0, down.stdout + down.stderr);
    const up = await run(process.execPath, [KITE_MAIN, 'up', '--name', cluster.name], { env: cluster.env(), timeoutMs: 300_000 });
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout + up.stderr, /in front of 3 API servers/);
    assert.deepEqual(JSON.parse(readFileSync(join(etcdDir, 'members.json'), 'utf8')), { members: 3 });
    assert.deepEqual(peers(), before, 'every member kept its peer URL');
    for (const d of ['data', 'data-1', 'data-2']) assert.ok(existsSync(join(etcdDir, d, 'member')), `${d} kept`);
    // The data written before is there, and the three members still make a quorum that takes writes.
    assert.equal((await cluster.k(['get', 'configmap', 'shared', '-o', 'jsonpath={.data.a}'])).trim(), '2');
    await cluster.k(['create', 'configmap', 'after-restart', '--from-literal=a=1']);
    assert.match(await cluster.k(['get', 'configmap', 'after-restart', '-o', 'name']), /configmap\/after-restart/);
  });
});
