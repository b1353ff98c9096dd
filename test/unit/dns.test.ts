// The cluster DNS server over real UDP and TCP on loopback, fed by an in-process API
// (Services, pods with status, the EndpointSlice controller) and forwarding to a fake
// upstream resolver that also listens on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { RemoteInfo } from 'node:dgram';
import { connect } from 'node:net';
import { decode, encode } from 'dns-packet';
import type { Answer, DecodedPacket, Packet } from 'dns-packet';
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Mutable } from '../../machinery/object.js';
import { ServiceAllocator } from '../../apiserver/allocators.js';
import { startControllerManager } from '../../controllers/manager.js';
import type { ControllerManager } from '../../controllers/manager.js';
import { NETWORKING_CONTROLLERS } from '../../controllers/networking.js';
import { startDns } from '../../dns/server.js';
import type { DnsServer } from '../../dns/server.js';
import { clusterDnsSettings, DNS_SERVICE_IP } from '../../dns/config.js';
import { rcodeOf } from '../../dns/forwarder.js';
import { primaryHostIPv4 } from '../../machinery/pki.js';
import type { ApiTransport } from '../../client/transport.js';
import { PODS, res, startCluster } from './client-fixture.js';
import type { Cluster } from './client-fixture.js';

const SERVICES = res('', 'v1', 'services');
const ENDPOINTS = res('', 'v1', 'endpoints');
const SLICES = res('discovery.k8s.io', 'v1', 'endpointslices');

let cluster: Cluster;
let cm: ControllerManager;
let t: ApiTransport;
let dns: DnsServer;
let upstream: { port: number; queries: string[]; close(): void };
let webIP = '';

/** A fake upstream resolver: example.com A, big.example (many A records), NXDOMAIN otherwise. */
function fakeUpstream(): Promise<{ port: number; queries: string[]; close(): void }> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const queries: string[] = [];
    sock.on('message', (msg: Buffer, r: RemoteInfo) => {
      const q = decode(msg);
      const qq = q.questions![0];
      queries.push(`${qq.name}/${qq.type}`);
      const answers: Answer[] = [];
      let flags = 0x8180;
      if (qq.name === 'example.com' && qq.type === 'A') answers.push({ type: 'A', name: 'example.com', ttl: 300, data: '93.184.216.34' });
      else if (qq.name === 'big.example' && qq.type === 'A') for (let i = 0; i < 60; i++) answers.push({ type: 'A', name: 'big.example', ttl: 300, data: `198.51.100.${i + 1}` });
      else if (qq.name !== 'example.com') flags |= 3;
      sock.send(encode({ type: 'response', id: q.id, flags, questions: q.questions, answers }), r.port, r.address);
    });
    sock.bind(0, '127.0.0.1', () => resolve({ port: sock.address().port, queries, close: () => sock.close() }));
  });
}

function udpQuery(name: string, type: string, edns = true): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const id = Math.floor(Math.random() * 65535);
    const q: Packet = { type: 'query', id, flags: 0x100, questions: [{ name, type: type as 'A', class: 'IN' }] };
    if (edns) q.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }];
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`timeout: ${name} ${type}`));
    }, 3000);
    sock.on('message', (m) => {
      clearTimeout(timer);
      sock.close();
      const p = decode(m);
      assert.equal(p.id, id);
      resolve(p);
    });
    sock.send(encode(q), dns.port, '127.0.0.1');
  });
}

function tcpQuery(name: string, type: string): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: dns.port });
    const body = encode({ type: 'query', id: 7, flags: 0x100, questions: [{ name, type: type as 'A', class: 'IN' }] });
    const head = Buffer.alloc(2);
    head.writeUInt16BE(body.length);
    let buf = Buffer.alloc(0);
    s.on('connect', () => s.write(Buffer.concat([head, body])));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        s.destroy();
        resolve(decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      }
    });
    s.on('error', reject);
  });
}

const data = (p: DecodedPacket, type = 'A') => (p.answers ?? []).filter((a) => a.type === type).map((a) => (a as { data: unknown }).data);

async function makePod(name: string, ip: string, ready: boolean, labels: Record<string, string>, spec: Partial<Pod['spec']> = {}): Promise<void> {
  await t.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'pg', containerPort: 5432 }] }], ...spec } });
  const cur = await t.get<Pod>(PODS, 'default', name);
  (cur as Mutable<Pod>).status = { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] };
  await t.updateStatus(PODS, 'default', cur);
}

async function until(what: string, fn: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  cluster = await startCluster(['default', 'kube-system']);
  new ServiceAllocator(cluster.registry, '10.96.0.0/12').install();
  t = cluster.transport;
  cm = await startControllerManager(t, NETWORKING_CONTROLLERS);
  upstream = await fakeUpstream();
  // Listen on loopback; publish a documentation address (validation rejects loopback endpoints).
  dns = await startDns({ transport: t, listenIP: '127.0.0.1', advertiseIP: '192.0.2.53', port: 0, metricsPort: 0, nodeName: 'node-1', upstreams: [{ host: '127.0.0.1', port: upstream.port }], log: () => {} });
  await dns.ready;
  const web = await t.create<Service>(SERVICES, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
  webIP = web.spec!.clusterIP!;
  await t.create(SERVICES, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432, targetPort: 'pg' }] } });
  await t.create(SERVICES, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'empty', namespace: 'default' }, spec: { clusterIP: 'None', selector: { app: 'nothing' }, ports: [{ port: 1 }] } });
  await t.create(SERVICES, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'example.com' } });
  await makePod('db-0', '10.244.0.30', true, { app: 'db' }, { hostname: 'db-0', subdomain: 'db' });
  await makePod('db-x', '10.244.0.31', true, { app: 'db' });
  await makePod('db-unready', '10.244.0.32', false, { app: 'db' });
  await until('db endpoints in DNS', async () => data(await dns.query('db.default.svc.cluster.local', 'A')).length === 2);
});

after(async () => {
  await dns?.stop();
  await cm?.stop();
  upstream?.close();
  await cluster?.close();
});

test('config: what the kubelet uses for pod resolv.conf', () => {
  assert.deepEqual(clusterDnsSettings(), { clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local' });
});

test('Service A records: ClusterIP, NODATA for AAAA, NXDOMAIN for unknown names, case-insensitive', async () => {
  const a = await udpQuery('web.default.svc.cluster.local', 'A');
  assert.equal(rcodeOf(a), 'NOERROR');
  assert.ok(a.flag_aa, 'authoritative');
  assert.deepEqual(data(a), [webIP]);
  assert.deepEqual(data(await udpQuery('WEB.Default.SVC.Cluster.Local', 'A')), [webIP]);
  const aaaa = await udpQuery('web.default.svc.cluster.local', 'AAAA');
  assert.equal(rcodeOf(aaaa), 'NOERROR');
  assert.equal(aaaa.answers!.length, 0);
  assert.equal(aaaa.authorities![0].type, 'SOA', 'NODATA carries the SOA');
  const nx = await udpQuery('nope.default.svc.cluster.local', 'A');
  assert.equal(rcodeOf(nx), 'NXDOMAIN');
  assert.equal(nx.authorities![0].type, 'SOA');
  // What a pod's search path tries first (ndots:5) must fail fast.
  assert.equal(rcodeOf(await udpQuery('web.default.svc.cluster.local.default.svc.cluster.local', 'A')), 'NXDOMAIN');
  assert.equal(rcodeOf(await udpQuery('default.svc.cluster.local', 'A')), 'NOERROR', 'namespace name exists');
  assert.equal(rcodeOf(await udpQuery('nosuchns.svc.cluster.local', 'A')), 'NXDOMAIN');
  const v = await udpQuery('dns-version.cluster.local', 'TXT');
  assert.deepEqual((v.answers![0] as { data: Buffer[] }).data.map(String), ['1.1.0']);
});

test('headless Services: every ready endpoint, hostnames, SRV per endpoint, NXDOMAIN without endpoints', async () => {
  assert.deepEqual(data(await udpQuery('db.default.svc.cluster.local', 'A')).sort(), ['10.244.0.30', '10.244.0.31']);
  assert.deepEqual(data(await udpQuery('db-0.db.default.svc.cluster.local', 'A')), ['10.244.0.30']);
  assert.deepEqual(data(await udpQuery('10-244-0-31.db.default.svc.cluster.local', 'A')), ['10.244.0.31']);
  assert.equal(rcodeOf(await udpQuery('10-244-0-32.db.default.svc.cluster.local', 'A')), 'NXDOMAIN', 'not ready');
  const srv = await udpQuery('_pg._tcp.db.default.svc.cluster.local', 'SRV');
  const targets = (srv.answers ?? []).map((a) => (a as { data: { target: string; port: number } }).data).map((d) => `${d.target}:${d.port}`).sort();
  assert.deepEqual(targets, ['10-244-0-31.db.default.svc.cluster.local:5432', 'db-0.db.default.svc.cluster.local:5432']);
  assert.equal((srv.additionals ?? []).filter((a) => a.type === 'A').length, 2);
  assert.equal(rcodeOf(await udpQuery('empty.default.svc.cluster.local', 'A')), 'NXDOMAIN');
  const ptr = await udpQuery('30.0.244.10.in-addr.arpa', 'PTR');
  assert.deepEqual(data(ptr, 'PTR'), ['db-0.db.default.svc.cluster.local']);
});

test('SRV for named ports of a ClusterIP Service, PTR for its ClusterIP', async () => {
  const srv = await udpQuery('_http._tcp.web.default.svc.cluster.local', 'SRV');
  assert.deepEqual((srv.answers ?? []).map((a) => (a as { data: { port: number; target: string } }).data).map((d) => [d.port, d.target]), [[80, 'web.default.svc.cluster.local']]);
  assert.deepEqual(data({ answers: srv.additionals } as DecodedPacket), [webIP]);
  assert.equal(rcodeOf(await udpQuery('_nope._tcp.web.default.svc.cluster.local', 'SRV')), 'NXDOMAIN');
  const ptr = await udpQuery(webIP.split('.').reverse().join('.') + '.in-addr.arpa', 'PTR');
  assert.deepEqual(data(ptr, 'PTR'), ['web.default.svc.cluster.local']);
});

test('ExternalName → CNAME (with the target resolved upstream); pod records', async () => {
  const r = await udpQuery('ext.default.svc.cluster.local', 'A');
  assert.deepEqual(data(r, 'CNAME'), ['example.com']);
  assert.deepEqual(data(r), ['93.184.216.34']);
  assert.deepEqual(data(await udpQuery('10-244-0-30.default.pod.cluster.local', 'A')), ['10.244.0.30']);
  assert.equal(rcodeOf(await udpQuery('10-9-9-9.default.pod.cluster.local', 'A')), 'NXDOMAIN', 'no such pod');
  assert.equal(rcodeOf(await udpQuery('10-244-0-30.other.pod.cluster.local', 'A')), 'NXDOMAIN', 'pod is in another namespace');
});

test('forwarding: answers from upstream, cached; NXDOMAIN passed on; truncation and TCP; SERVFAIL when upstream is dead', async () => {
  const before = upstream.queries.filter((q) => q === 'example.com/A').length;
  const a1 = await udpQuery('example.com', 'A');
  const a2 = await udpQuery('example.com', 'A');
  assert.deepEqual(data(a1), ['93.184.216.34']);
  assert.deepEqual(data(a2), ['93.184.216.34']);
  assert.ok(!a1.flag_aa && a1.flag_ra);
  assert.ok(upstream.queries.filter((q) => q === 'example.com/A').length - before <= 1, 'second answer from cache');
  assert.equal(rcodeOf(await udpQuery('nothing.invalid', 'A')), 'NXDOMAIN');
  const small = await udpQuery('big.example', 'A', false);
  assert.ok(small.flag_tc, 'too big for 512 bytes: truncated');
  const full = await tcpQuery('big.example', 'A');
  assert.equal(data(full).length, 60);
  assert.deepEqual(data(await tcpQuery('web.default.svc.cluster.local', 'A')), [webIP]);

  const dead = await startDns({ transport: t, listenIP: '127.0.0.1', port: 0, metricsPort: false, publish: false, upstreams: [{ host: '127.0.0.1', port: 9 }], forwardTimeoutMs: 200, log: () => {} });
  try {
    assert.equal(rcodeOf(await dead.query('example.org', 'A')), 'SERVFAIL');
  } finally {
    await dead.stop();
  }
});

test('publishes kube-dns: the Service at 10.96.0.10 and endpoints where it listens', async () => {
  const svc = await t.get<Service>(SERVICES, 'kube-system', 'kube-dns');
  assert.equal(svc.spec!.clusterIP, DNS_SERVICE_IP);
  assert.equal(svc.metadata!.labels!['kubernetes.io/cluster-service'], 'true');
  assert.deepEqual(svc.spec!.ports!.map((p) => `${p.name}/${p.protocol}/${p.port}`), ['dns/UDP/53', 'dns-tcp/TCP/53', 'metrics/TCP/9153']);
  const ep = await t.get<Endpoints>(ENDPOINTS, 'kube-system', 'kube-dns');
  assert.equal(ep.subsets![0].addresses![0].ip, '192.0.2.53');
  assert.equal(ep.subsets![0].addresses![0].nodeName, 'node-1');
  assert.ok(ep.subsets![0].ports!.some((p) => p.name === 'dns' && p.port === dns.port && p.protocol === 'UDP'));
  const slices = (await t.list<EndpointSlice>(SLICES, 'kube-system', { labelSelector: 'kubernetes.io/service-name=kube-dns' })).items;
  assert.equal(slices.length, 1);
  assert.deepEqual(slices[0].endpoints[0].addresses, ['192.0.2.53']);
  const metrics = await (await fetch(`http://127.0.0.1:${dns.metricsPort}/metrics`)).text();
  assert.match(metrics, /kite_dns_requests_total\{proto="udp"\} \d+/);
});

test('the metrics port answers on loopback only and is not published', async () => {
  const hostIP = primaryHostIPv4();
  if (hostIP === '127.0.0.1') return; // no other address to reach it at
  const onHost = await startDns({ transport: t, listenIP: hostIP, port: 0, metricsPort: 0, publish: false, upstreams: [{ host: '127.0.0.1', port: 9 }], log: () => {} });
  try {
    assert.ok(onHost.metricsPort);
    assert.equal((await fetch(`http://127.0.0.1:${onHost.metricsPort}/metrics`)).status, 200);
    await assert.rejects(fetch(`http://${hostIP}:${onHost.metricsPort}/metrics`), 'refused on the host address');
  } finally {
    await onHost.stop();
  }
  const ep = await t.get<Endpoints>(ENDPOINTS, 'kube-system', 'kube-dns');
  assert.ok(!ep.subsets![0].ports!.some((p) => p.name === 'metrics'), 'no endpoint anyone could scrape');
});
