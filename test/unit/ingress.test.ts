// The ingress controller: routing rules as pure functions, then the real listeners on
// loopback in front of backend HTTP servers on loopback addresses (127.0.0.2/3, named
// as endpoints in EndpointSlices), with TLS by SNI from a Secret and status updates.
import { test, before, after } from 'node:test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Event as CoreEvent } from 'kubernetes-types/core/v1.js';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { RoutingTable, hostMatches, pathMatches } from '../../ingress/router.js';
import { startIngress } from '../../ingress/controller.js';
import { nginxInstalled } from '../../ingress/nginx.js';
import type { IngressController } from '../../ingress/controller.js';
import { defaultIngressClass } from '../../ingress/class.js';
import { ServiceAllocator } from '../../apiserver/allocators.js';
import { createCA, issueServingCert } from '../../machinery/pki.js';
import type { ApiTransport } from '../../client/transport.js';
import { res, startCluster } from './client-fixture.js';
import type { Cluster } from './client-fixture.js';

const SERVICES = res('', 'v1', 'services');
const SLICES = res('discovery.k8s.io', 'v1', 'endpointslices');
const INGRESSES = res('networking.k8s.io', 'v1', 'ingresses');
const CLASSES = res('networking.k8s.io', 'v1', 'ingressclasses');
const SECRETS = res('', 'v1', 'secrets');
const EVENTS = res('', 'v1', 'events');

function ing(name: string, spec: Ingress['spec'], created = '2024-01-01T00:00:00Z'): Ingress {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'default', creationTimestamp: created }, spec };
}
const be = (name: string, port = 80) => ({ service: { name, port: { number: port } } });

test('routing: hosts, wildcards, Exact/Prefix precedence, default backend', () => {
  assert.ok(hostMatches('*.example.com', 'a.example.com'));
  assert.ok(!hostMatches('*.example.com', 'example.com'));
  assert.ok(!hostMatches('*.example.com', 'a.b.example.com'));
  assert.ok(pathMatches({ path: '/foo', pathType: 'Prefix' }, '/foo/bar'));
  assert.ok(pathMatches({ path: '/foo/', pathType: 'Prefix' }, '/foo'));
  assert.ok(!pathMatches({ path: '/foo', pathType: 'Prefix' }, '/foobar'));
  assert.ok(pathMatches({ path: '/', pathType: 'Prefix' }, '/anything'));
  assert.ok(!pathMatches({ path: '/foo', pathType: 'Exact' }, '/foo/'));
  const table = new RoutingTable([
    ing('a', {
      defaultBackend: be('default'),
      rules: [
        { host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('shop') }, { path: '/api', pathType: 'Prefix', backend: be('api') }, { path: '/api', pathType: 'Exact', backend: be('api-exact') }] } },
        { host: '*.example.com', http: { paths: [{ path: '/', pathType: 'ImplementationSpecific', backend: be('wild') }] } },
        { http: { paths: [{ path: '/any', pathType: 'Prefix', backend: be('any') }] } },
      ],
    }),
    ing('b', { defaultBackend: be('later-default') }, '2024-02-01T00:00:00Z'),
  ]);
  const svc = (h: string, p: string) => table.match(h, p)?.backend.service?.name;
  assert.equal(svc('shop.example.com', '/cart'), 'shop');
  assert.equal(svc('SHOP.example.com:8080', '/api/v1/items?x=1'), 'api', 'longest prefix; host case and port ignored');
  assert.equal(svc('shop.example.com', '/api'), 'api-exact', 'Exact beats Prefix of the same path');
  assert.equal(svc('blog.example.com', '/x'), 'wild');
  assert.equal(svc('other.org', '/any/thing'), 'any');
  assert.equal(svc('other.org', '/nothing'), 'default', 'the oldest Ingress default backend');
});

let cluster: Cluster;
let t: ApiTransport;
/** One controller per data plane: nginx (where installed) and the Node one, on the same API. */
const ctrls: IngressController[] = [];
const backends: Server[] = [];
let backendPort = 0;
let tlsCA = '';

function get(port: number, host: string, path: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    r.on('error', reject);
    r.end();
  });
}

before(async () => {
  // Two backends, each on its own loopback address, answering with who they are.
  const addrs = ['127.0.0.2', '127.0.0.3'];
  for (const a of addrs) {
    const s = createServer((req, res) => res.end(`${a} ${req.url} ${req.headers.host} ${req.headers['x-forwarded-proto']} ${req.headers['x-forwarded-for']}`));
    // An echo protocol after an HTTP upgrade, as WebSockets do.
    s.on('upgrade', (_req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.pipe(socket);
    });
    await new Promise<void>((r) => s.listen(backendPort, a, () => r()));
    backendPort = (s.address() as AddressInfo).port;
    backends.push(s);
  }
  cluster = await startCluster(['default']);
  new ServiceAllocator(cluster.registry, '10.96.0.0/12').install();
  t = cluster.transport;
  await t.create(CLASSES, undefined, defaultIngressClass());
  await t.create(SERVICES, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ name: 'http', port: 80, targetPort: backendPort }] } });
  await t.create(SERVICES, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'idle', namespace: 'default' }, spec: { ports: [{ name: 'http', port: 80 }] } });
  await t.create(SLICES, 'default', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: backendPort, protocol: 'TCP' }],
    endpoints: addrs.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  });
  const ca = await createCA('test-ca');
  tlsCA = ca.cert;
  const cert = await issueServingCert(ca, { commonName: 'secure.example.com', dnsNames: ['secure.example.com'] });
  await t.create(SECRETS, 'default', { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'secure-tls', namespace: 'default' }, data: { 'tls.crt': Buffer.from(cert.cert).toString('base64'), 'tls.key': Buffer.from(cert.key).toString('base64') } });
  for (const dataPlane of nginxInstalled() ? (['nginx', 'node'] as const) : (['node'] as const)) {
    const ctrl = await startIngress({ transport: t, httpPort: 0, httpsPort: 0, listenIP: '127.0.0.1', statusIP: '192.0.2.80', dataPlane, log: () => {} });
    assert.equal(ctrl.dataPlane, dataPlane);
    ctrls.push(ctrl);
    await ctrl.ready;
  }
});

after(async () => {
  for (const c of ctrls) await c.stop();
  for (const s of backends) s.close();
  await cluster?.close();
});

async function until(what: string, fn: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('HTTP: routes by Host header to ready endpoints, balanced; 503 without endpoints; 404 without a rule; status filled', async () => {
  await t.create(INGRESSES, 'default', ing('web', { rules: [{ host: 'web.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('web') }, { path: '/idle', pathType: 'Prefix', backend: be('idle') }] } }] }));
  await t.create(INGRESSES, 'default', { ...ing('other', { ingressClassName: 'nginx', rules: [{ host: 'other.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('web') }] } }] }) });
  for (const ctrl of ctrls) {
    await until(`route in effect (${ctrl.dataPlane})`, async () => (await get(ctrl.httpPort, 'web.example.com', '/')).status === 200);
    // nginx: the previous configuration's workers may still take a connection until the reload is done.
    await ctrl.whenIdle();
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await get(ctrl.httpPort, 'web.example.com', '/hello');
      assert.equal(r.status, 200);
      const [addr, url, host, proto, xff] = r.body.split(' ');
      seen.add(addr);
      assert.equal(url, '/hello');
      assert.equal(host, 'web.example.com', 'the original Host is kept');
      assert.equal(proto, 'http');
      assert.equal(xff, '127.0.0.1');
    }
    assert.deepEqual(seen, new Set(['127.0.0.2', '127.0.0.3']));
    assert.equal((await get(ctrl.httpPort, 'web.example.com', '/idle')).status, 503);
    assert.equal((await get(ctrl.httpPort, 'nobody.example.com', '/')).status, 404);
    assert.equal((await get(ctrl.httpPort, 'other.example.com', '/')).status, 404, 'another class is not ours');
  }
  await until('status', async () => {
    const i = await t.get<Ingress>(INGRESSES, 'default', 'web');
    return i.status?.loadBalancer?.ingress?.[0]?.ip === '192.0.2.80';
  });
  assert.equal((await t.get<Ingress>(INGRESSES, 'default', 'other')).status?.loadBalancer?.ingress, undefined);
});

test('HTTPS: the Secret certificate by SNI, the default certificate otherwise', async () => {
  await t.create(INGRESSES, 'default', ing('secure', { tls: [{ hosts: ['secure.example.com'], secretName: 'secure-tls' }], rules: [{ host: 'secure.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('web') }] } }] }));
  for (const ctrl of ctrls) {
    await until('tls route', async () => ctrl.routes().tlsFor('secure.example.com') !== undefined);
    const secureGet = () =>
      new Promise<string>((resolve, reject) => {
        const r = httpsRequest({ host: '127.0.0.1', port: ctrl.httpsPort, path: '/s', servername: 'secure.example.com', headers: { host: 'secure.example.com' }, ca: tlsCA, agent: false }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve(b));
        });
        r.on('error', reject);
        r.end();
      });
    // nginx takes the new certificate on its next reload: until then it serves the default one.
    let body = '';
    await until('the Secret certificate served', async () => {
      body = await secureGet().catch(() => '');
      return body !== '';
    });
    assert.match(body, /^127\.0\.0\.[23] \/s secure\.example\.com https /);
    // Another name: the self-signed default (not trusted by our CA).
    await assert.rejects(
      new Promise((resolve, reject) => {
        const r = httpsRequest({ host: '127.0.0.1', port: ctrl.httpsPort, path: '/', servername: 'web.example.com', headers: { host: 'web.example.com' }, ca: tlsCA }, resolve);
        r.on('error', reject);
        r.end();
      }),
    );
  }
});

test('nginx: a certificate nginx refuses is not used (default certificate, Warning event); the Ingress is still served', { skip: !nginxInstalled() && 'nginx is not installed' }, async () => {
  const ctrl = ctrls.find((c) => c.dataPlane === 'nginx')!;
  // A 1024-bit RSA key: a well-formed certificate that OpenSSL's default security level (and so nginx) refuses.
  const dir = mkdtempSync(join(tmpdir(), 'kite-ingress-weak-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-days', '1', '-subj', '/CN=weak.example.com', '-keyout', join(dir, 'k'), '-out', join(dir, 'c')], { stdio: 'ignore' });
    const pem = (f: string) => readFileSync(join(dir, f)).toString('base64');
    await t.create(SECRETS, 'default', { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'weak-tls', namespace: 'default' }, data: { 'tls.crt': pem('c'), 'tls.key': pem('k') } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await t.create(INGRESSES, 'default', ing('weak', { tls: [{ hosts: ['weak.example.com'], secretName: 'weak-tls' }], rules: [{ host: 'weak.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('web') }] } }] }));
  await until('a Warning event on the Ingress', async () => (await t.list<CoreEvent>(EVENTS, 'default')).items.some((e) => e.involvedObject.name === 'weak' && e.involvedObject.kind === 'Ingress' && e.type === 'Warning' && e.reason === 'BadCertificate'), 15_000);
  await until('the Ingress served', async () => (await get(ctrl.httpPort, 'weak.example.com', '/')).status === 200, 15_000);
  const cn = await new Promise<string>((resolve, reject) => {
    const r = httpsRequest({ host: '127.0.0.1', port: ctrl.httpsPort, path: '/', servername: 'weak.example.com', headers: { host: 'weak.example.com' }, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      resolve(String((res.socket as TLSSocket).getPeerCertificate().subject?.CN ?? ''));
    });
    r.on('error', reject);
    r.end();
  });
  assert.notEqual(cn, 'weak.example.com');
});

test('nginx: a configuration nginx refuses leaves the Ingress that brought it out, with a Warning event; other changes still go on', { skip: !nginxInstalled() && 'nginx is not installed' }, async () => {
  const ctrl = ctrls.find((c) => c.dataPlane === 'nginx')!;
  // A path longer than nginx reads as one token (4 KiB): valid for the API, refused by nginx.
  const long = `/${'a'.repeat(5000)}`;
  await t.create(INGRESSES, 'default', ing('long', { rules: [{ host: 'long.example.com', http: { paths: [{ path: long, pathType: 'Exact', backend: be('web') }, { path: '/', pathType: 'Prefix', backend: be('web') }] } }] }));
  await until(
    'a Warning event on the Ingress',
    async () => (await t.list<CoreEvent>(EVENTS, 'default')).items.some((e) => e.involvedObject.kind === 'Ingress' && e.involvedObject.name === 'long' && e.type === 'Warning' && e.reason === 'RELOAD' && /nginx rejected/.test(e.message ?? '')),
    15_000,
  );
  await t.create(INGRESSES, 'default', ing('after', { rules: [{ host: 'after.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('web') }] } }] }));
  await until('the next Ingress served', async () => (await get(ctrl.httpPort, 'after.example.com', '/')).status === 200, 15_000);
  await ctrl.whenIdle();
  assert.equal((await get(ctrl.httpPort, 'long.example.com', '/')).status, 404, 'the refused Ingress is not served');
  assert.equal((await get(ctrl.httpPort, 'web.example.com', '/')).status, 200, 'the others are');
});

test('upgrades (WebSocket-like): the connection is handed through to the backend', async () => {
  for (const ctrl of ctrls) {
    await until(`route in effect (${ctrl.dataPlane})`, async () => (await get(ctrl.httpPort, 'web.example.com', '/')).status === 200);
    const echoed = await new Promise<string>((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port: ctrl.httpPort, path: '/ws', agent: false, headers: { host: 'web.example.com', connection: 'Upgrade', upgrade: 'echo' } });
      r.on('upgrade', (res, socket) => {
        assert.equal(res.statusCode, 101);
        socket.once('data', (d) => {
          resolve(d.toString());
          socket.destroy();
        });
        socket.write('ping');
      });
      r.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      r.on('error', reject);
      r.end();
    });
    assert.equal(echoed, 'ping', ctrl.dataPlane);
  }
});
