// The nginx data plane's configuration: what the renderer writes for paths (Exact,
// Prefix, ImplementationSpecific, their precedence), hosts, TLS and the default backend;
// then, where nginx is installed, `nginx -t` on rendered configurations and a real nginx
// on loopback answering a set of requests exactly as the routing table says.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { RoutingTable } from '../../ingress/router.js';
import type { Route } from '../../ingress/router.js';
import { locationsOf, renderNginxConfig, serverName } from '../../ingress/nginx-config.js';
import type { NginxConfigInput } from '../../ingress/nginx-config.js';
import { NginxConfigError, NginxProcess, nginxInstalled } from '../../ingress/nginx.js';
import { createCA, issueServingCert } from '../../machinery/pki.js';

function ing(name: string, spec: Ingress['spec'], created = '2024-01-01T00:00:00Z'): Ingress {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'default', creationTimestamp: created }, spec };
}
const be = (name: string, port = 80) => ({ service: { name, port: { number: port } } });

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Every backend Service has one endpoint: 127.0.0.<n>:port, n by name. */
function input(table: RoutingTable, over: Partial<NginxConfigInput> = {}): NginxConfigInput {
  return {
    table,
    endpoints: (r: Route) => (r.backend.service?.name === 'none' ? [] : r.backend.service?.name === 'missing' ? undefined : [{ ip: '10.0.0.1', port: 8080 }]),
    certificateFor: () => undefined,
    defaultCertificate: '/x/default.pem',
    dir: '/x',
    listenIP: '0.0.0.0',
    httpPort: 80,
    httpsPort: 443,
    ...over,
  };
}

/** The server block naming `name`. */
function serverBlock(conf: string, name: string): string {
  const blocks = conf.split('\n  server {').slice(1);
  const b = blocks.find((x) => x.includes(`server_name ${name};`));
  assert.ok(b, `a server for ${name} in\n${conf}`);
  return b;
}

test('paths: Exact is `location =`, Prefix element-wise (= /p and /p/), ImplementationSpecific as Prefix, / as /', () => {
  assert.deepEqual(locationsOf({ path: '/foo', pathType: 'Exact' }), [['=', '/foo']]);
  assert.deepEqual(locationsOf({ path: '/foo', pathType: 'Prefix' }), [['=', '/foo'], ['', '/foo/']]);
  assert.deepEqual(locationsOf({ path: '/foo/', pathType: 'Prefix' }), [['=', '/foo'], ['', '/foo/']], 'a trailing slash changes nothing');
  assert.deepEqual(locationsOf({ path: '/', pathType: 'Prefix' }), [['', '/']]);
  const table = new RoutingTable([
    ing('a', {
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [
              { path: '/api', pathType: 'Prefix', backend: be('api') },
              { path: '/api', pathType: 'Exact', backend: be('api-exact') },
              { path: '/docs', pathType: 'ImplementationSpecific', backend: be('docs') },
              { path: '/idle', pathType: 'Prefix', backend: be('none') },
              { path: '/gone', pathType: 'Prefix', backend: be('missing') },
            ],
          },
        },
      ],
    }),
    ing('b', { rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/api/', pathType: 'Prefix', backend: be('later') }] } }] }, '2024-02-01T00:00:00Z'),
  ]);
  const conf = renderNginxConfig(input(table));
  const shop = serverBlock(conf, 'shop.example.com');
  assert.match(shop, /location = "\/api" \{ proxy_pass http:\/\/default_api-exact_80; \}/, 'Exact beats the Prefix of the same path');
  assert.match(shop, /location "\/api\/" \{ proxy_pass http:\/\/default_api_80; \}/, 'the older Ingress keeps /api/');
  assert.doesNotMatch(conf, /default_later_80/, 'the newer Ingress with the same path loses');
  assert.match(shop, /location = "\/docs" \{ proxy_pass http:\/\/default_docs_80; \}/);
  assert.match(shop, /location "\/docs\/" \{ proxy_pass http:\/\/default_docs_80; \}/);
  assert.match(shop, /location "\/idle\/" \{ return 503; \}/, 'no ready endpoint: 503');
  assert.match(shop, /location "\/gone\/" \{ return 503; \}/, 'no such Service: 503');
  assert.match(shop, /location \/ \{ return 404; \}/, 'nothing matches and no default backend: 404');
  assert.match(conf, /upstream default_api_80 \{\n {4}server 10\.0\.0\.1:8080;\n {4}keepalive 64;/, 'endpoints, not the ClusterIP, with keep-alive');
});

test('hosts: exact names, wildcards match one label, host-less rules and the default backend in the default server', () => {
  assert.equal(serverName('a.example.com'), 'a.example.com');
  assert.equal(serverName('*.example.com'), '"~^[^.]+\\\\.example\\\\.com$"');
  const table = new RoutingTable([
    ing('a', {
      defaultBackend: be('fallback'),
      rules: [
        { host: '*.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('wild') }] } },
        { http: { paths: [{ path: '/any', pathType: 'Prefix', backend: be('any') }] } },
        { host: 'x.example.com', http: { paths: [{ path: '/x', pathType: 'Exact', backend: be('x') }] } },
      ],
    }),
  ]);
  const conf = renderNginxConfig(input(table));
  const def = serverBlock(conf, '_');
  assert.match(def, /listen 0\.0\.0\.0:80 default_server;\n {4}listen 0\.0\.0\.0:443 ssl default_server;/);
  assert.match(def, /location "\/any\/" \{ proxy_pass http:\/\/default_any_80; \}/);
  assert.match(def, /location \/ \{ proxy_pass http:\/\/default_fallback_80; \}/, 'the default backend where no rule matches');
  const x = serverBlock(conf, 'x.example.com');
  assert.match(x, /location = "\/x" \{ proxy_pass http:\/\/default_x_80; \}/);
  assert.match(x, /location \/ \{ proxy_pass http:\/\/default_fallback_80; \}/, 'a host\'s unmatched paths go to the default backend, not the host-less rules');
  assert.doesNotMatch(x, /\/any/);
  const wild = serverBlock(conf, serverName('*.example.com'));
  assert.match(wild, /location "\/" \{ proxy_pass http:\/\/default_wild_80; \}/);
});

test('TLS: the Secret certificate on its host, the default certificate elsewhere; TLS-only hosts follow the host-less rules', () => {
  const table = new RoutingTable([
    ing('a', {
      tls: [{ hosts: ['secure.example.com', 'only-tls.example.com'], secretName: 's' }],
      rules: [
        { host: 'secure.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('secure') }] } },
        { host: 'plain.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('plain') }] } },
        { http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('any') }] } },
      ],
    }),
  ]);
  const conf = renderNginxConfig(input(table, { certificateFor: (h) => (table.tlsFor(h) ? `/x/certs/default_s.pem` : undefined) }));
  assert.match(conf, /^ {2}ssl_certificate "\/x\/default\.pem";$/m, 'the default certificate for every server');
  assert.match(serverBlock(conf, 'secure.example.com'), /ssl_certificate "\/x\/certs\/default_s\.pem";\n {4}ssl_certificate_key "\/x\/certs\/default_s\.pem";/);
  assert.doesNotMatch(serverBlock(conf, 'plain.example.com'), /ssl_certificate/);
  const only = serverBlock(conf, 'only-tls.example.com');
  assert.match(only, /ssl_certificate "\/x\/certs\/default_s\.pem";/);
  assert.match(only, /location "\/" \{ proxy_pass http:\/\/default_any_80; \}/);
});

test('paths nginx would read as syntax are quoted', () => {
  const table = new RoutingTable([ing('a', { rules: [{ http: { paths: [{ path: '/a b;{"}', pathType: 'Exact', backend: be('q') }] } }] })]);
  assert.match(renderNginxConfig(input(table)), /location = "\/a b;\{\\"\}" \{/);
});

// ---- with nginx -------------------------------------------------------------------

const haveNginx = nginxInstalled();

async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createNetServer());
  const ports: number[] = [];
  for (const s of servers) {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    ports.push((s.address() as AddressInfo).port);
  }
  for (const s of servers) s.close();
  return ports;
}

function get(port: number, host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

test('nginx -t accepts rendered configurations and rejects a broken one', { skip: !haveNginx && 'nginx is not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-nginx-test-'));
  dirs.push(dir);
  const ca = await createCA('t');
  const cert = await issueServingCert(ca, { commonName: 'secure.example.com', dnsNames: ['secure.example.com'] });
  writeFileSync(join(dir, 'c.pem'), `${cert.cert}\n${cert.key}\n`, { mode: 0o600 });
  const table = new RoutingTable([
    ing('a', {
      defaultBackend: be('fallback'),
      tls: [{ hosts: ['secure.example.com', '*.wild.example.com'], secretName: 's' }],
      rules: [
        { host: 'secure.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('secure') }, { path: '/a', pathType: 'Exact', backend: be('a') }, { path: '/a', pathType: 'Prefix', backend: be('a2') }] } },
        { host: '*.wild.example.com', http: { paths: [{ path: '/w', pathType: 'ImplementationSpecific', backend: be('none') }] } },
        { http: { paths: [{ path: '/x y', pathType: 'Prefix', backend: be('missing') }] } },
        // The longest host name DNS allows (253 characters) fits nginx's server name hash.
        { host: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('long') }] } },
      ],
    }),
  ]);
  const [httpPort, httpsPort] = await freePorts(2);
  const proc = new NginxProcess({ dir, probe: { host: '127.0.0.1', port: httpPort }, log: () => {} });
  const conf = renderNginxConfig(input(table, { dir, defaultCertificate: join(dir, 'c.pem'), certificateFor: (h) => (table.tlsFor(h) ? join(dir, 'c.pem') : undefined), listenIP: '127.0.0.1', httpPort, httpsPort, runAsRoot: process.getuid?.() === 0 }));
  await proc.check(conf);
  await assert.rejects(proc.check(conf.replace('keepalive 64;', 'keepalive sixty-four;')), (err: Error) => err instanceof NginxConfigError && /keepalive/.test(err.message));
});

test('a real nginx answers every request as the routing table does', { skip: !haveNginx && 'nginx is not installed' }, async () => {
  // Each backend Service is a loopback server answering its own name.
  const names = ['root', 'api', 'api-exact', 'docs', 'wild', 'any', 'fallback', 'x'];
  const backends: Server[] = [];
  const ports = new Map<string, number>();
  for (const n of names) {
    const s = createServer((_req, res) => res.end(n));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    backends.push(s);
    ports.set(n, (s.address() as AddressInfo).port);
  }
  const dir = mkdtempSync(join(tmpdir(), 'kite-nginx-test-'));
  dirs.push(dir);
  const ca = await createCA('t');
  const cert = await issueServingCert(ca, { commonName: 'default', dnsNames: ['default'] });
  writeFileSync(join(dir, 'c.pem'), `${cert.cert}\n${cert.key}\n`, { mode: 0o600 });
  const table = new RoutingTable([
    ing('a', {
      defaultBackend: be('fallback'),
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: be('root') },
              { path: '/api', pathType: 'Prefix', backend: be('api') },
              { path: '/api', pathType: 'Exact', backend: be('api-exact') },
              { path: '/api/v1/docs/', pathType: 'ImplementationSpecific', backend: be('docs') },
            ],
          },
        },
        { host: '*.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('wild') }] } },
        { http: { paths: [{ path: '/any', pathType: 'Prefix', backend: be('any') }] } },
        { host: 'x.example.com', http: { paths: [{ path: '/x', pathType: 'Exact', backend: be('x') }] } },
      ],
    }),
  ]);
  const [httpPort, httpsPort] = await freePorts(2);
  const proc = new NginxProcess({ dir, probe: { host: '127.0.0.1', port: httpPort }, log: () => {} });
  const conf = renderNginxConfig({
    table,
    endpoints: (r) => [{ ip: '127.0.0.1', port: ports.get(r.backend.service!.name)! }],
    certificateFor: () => undefined,
    defaultCertificate: join(dir, 'c.pem'),
    dir,
    listenIP: '127.0.0.1',
    httpPort,
    httpsPort,
    workerProcesses: 1,
    runAsRoot: process.getuid?.() === 0,
  });
  await proc.check(conf);
  await proc.start(conf);
  try {
    const hosts = ['shop.example.com', 'SHOP.example.com:8080', 'a.example.com', 'a.b.example.com', 'example.com', 'x.example.com', 'other.org'];
    const paths = ['/', '/api', '/api/', '/api/v1', '/apix', '/api/v1/docs', '/api/v1/docs/x', '/api/v1/docsx', '/any', '/any/1', '/anything', '/x', '/x/', '/nothing?q=1'];
    for (const h of hosts) {
      for (const p of paths) {
        const want = table.match(h, p)?.backend.service?.name;
        const got = await get(httpPort, h, p);
        assert.equal(got.status === 200 ? got.body : `${got.status}`, want ?? '404', `${h}${p}`);
      }
    }
  } finally {
    await proc.stop();
    for (const s of backends) s.close();
  }
});
