// Acceptance: more Service networking on a real `kite up` cluster (real pods, the local
// busybox image), driven by the real kubectl. Needs root. One cluster for the file:
//   - seed 003 (node-app:v1 built locally and `kite image load`ed) reached through
//     `kubectl port-forward service/node-service`;
//   - a client in another namespace reaching node-service by its DNS name, the answers
//     spread over the three replicas;
//   - headless Service DNS (every ready pod IP) and StatefulSet pod names
//     (web-0.<svc>.<ns>.svc.cluster.local);
//   - ExternalName Services answering with a CNAME;
//   - an Ingress with two hosts, two paths, two Services and TLS for one host from a
//     Secret (picked by SNI);
//   - NetworkPolicy isolating a namespace from another one, same-namespace allowed.
//
// Traffic only goes to loopback and to pod/Service addresses on the node's bridge.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster, KITE_MAIN, applyYaml, run, waitFor, waitForNodeReady } from './harness.js';
import { baseRootfsEntries, buildDockerArchive, DEFAULT_PATH_ENV, IMAGE_EPOCH } from '../../kubelet/images/archive.js';
import { busyboxApplets, findStaticBusybox } from '../../kubelet/images/busybox.js';
import { writeTar, type TarEntry } from '../../kubelet/images/tar.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = isRoot ? false : 'needs root: runs containers and programs the kernel';

// dist/test/e2e → test/fixtures/seeds in the source tree.
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'seeds');

const cluster = new Cluster('netmore');
let ingressHttpPort = 0;
let ingressHttpsPort = 0;

async function json(args: string[]): Promise<any> {
  return JSON.parse(await cluster.k([...args, '-o', 'json']));
}

/** GET http://host:port/path (with an optional Host header) from this host; the body, or `ERR …`. */
function httpGet(host: string, port: number, path = '/', hostHeader?: string): Promise<string> {
  return new Promise((resolve) => {
    const r = request({ host, port, path, timeout: 3000, agent: false, headers: hostHeader ? { host: hostHeader } : {} }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(res.statusCode === 200 ? b.trim() : `ERR ${res.statusCode} ${b.trim()}`));
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', (e) => resolve(`ERR ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    r.end();
  });
}

/** GET https://127.0.0.1:port/path with SNI and Host `host`; the body and the served certificate's CN. */
function httpsGet(port: number, path: string, host: string): Promise<{ body: string; cn: string }> {
  return new Promise((resolve) => {
    const r = httpsRequest(
      { host: '127.0.0.1', port, path, servername: host, rejectUnauthorized: false, timeout: 3000, agent: false, headers: { host } },
      (res) => {
        const cert = (res.socket as TLSSocket).getPeerCertificate();
        const cn = String(cert?.subject?.CN ?? '');
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve({ body: res.statusCode === 200 ? b.trim() : `ERR ${res.statusCode} ${b.trim()}`, cn }));
      },
    );
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', (e) => resolve({ body: `ERR ${(e as NodeJS.ErrnoException).code ?? e.message}`, cn: '' }));
    r.end();
  });
}

/** `kite server` runs the node's proxy, DNS, ingress and NetworkPolicy: wait until DNS is published. */
async function ensureNodeNetworking(): Promise<void> {
  const published = async () => {
    const r = await cluster.kubectl(['get', 'endpoints', '-n', 'kube-system', 'kube-dns', '-o', 'json']);
    return r.code === 0 && (JSON.parse(r.stdout).subsets?.[0]?.addresses?.length ?? 0) > 0;
  };
  await waitFor('kite server node networking (kube-dns endpoints)', published, 60_000, 500);
}

/** A docker-archive of a busybox image whose default command serves its hostname over HTTP on 8080. */
function buildNodeAppImage(tag: string, outPath: string): void {
  const busybox = findStaticBusybox();
  if (!busybox) throw new Error('no statically linked busybox: apt-get install busybox-static');
  const m = IMAGE_EPOCH;
  const entries: TarEntry[] = baseRootfsEntries();
  entries.push({ type: 'file', name: 'bin/busybox', data: readFileSync(busybox), mode: 0o755, mtime: m });
  for (const applet of busyboxApplets(busybox)) entries.push({ type: 'symlink', name: `bin/${applet}`, target: 'busybox', mtime: m });
  entries.push({ type: 'dir', name: 'www', mode: 0o755, mtime: m });
  const archive = buildDockerArchive({
    repoTags: [tag],
    layers: [writeTar(entries)],
    config: { Cmd: ['sh', '-c', 'hostname > /www/index.html && exec httpd -f -p 8080 -h /www'], Env: [DEFAULT_PATH_ENV], ExposedPorts: { '8080/tcp': {} } },
    createdBy: ['kite e2e: busybox httpd on 8080 serving its hostname'],
  });
  writeFileSync(outPath, archive.tar);
}

const isReady = (p: any) => !p.metadata.deletionTimestamp && (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');

/** Waits for `count` ready pods matching the selector in the namespace; resolves with them. */
async function readyPods(ns: string, selector: string, count: number, timeoutMs = 120_000): Promise<any[]> {
  return waitFor(
    `${count} ready pods ${selector} in ${ns}`,
    async () => {
      const list = await json(['get', 'pods', '-n', ns, '-l', selector]);
      const ready = list.items.filter(isReady);
      return ready.length === count && list.items.length === count ? ready : undefined;
    },
    timeoutMs,
    500,
  );
}

/** busybox httpd on 8080 serving `text` at /, /one and /two. */
function httpdContainer(text: string): string {
  return `{name: httpd, image: busybox, command: ["sh", "-c", "mkdir -p /www && echo ${text} > /www/index.html && cp /www/index.html /www/one && cp /www/index.html /www/two && exec httpd -f -p 8080 -h /www"], ports: [{name: http, containerPort: 8080}]}`;
}

/** `kubectl exec` in a pod; stdout+stderr and the exit code (never throws). */
async function execIn(ns: string, pod: string, cmd: string[], timeoutMs = 10_000): Promise<{ code: number; out: string }> {
  const r = await cluster.kubectl(['exec', '-n', ns, pod, '--', ...cmd], { timeoutMs });
  return { code: r.code, out: (r.stdout + r.stderr).trim() };
}

const CLIENTS = `apiVersion: v1
kind: Namespace
metadata: {name: clients}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: clients}
spec:
  containers: [{name: c, image: busybox, command: ["sleep", "3600"]}]
`;

describe('more service networking', { skip }, () => {
  let nodeApp: any[] = [];

  before(async () => {
    await cluster.up();
    await waitForNodeReady(cluster, 90_000);
    await ensureNodeNetworking();
    const tar = join(cluster.home, 'node-app-v1.tar');
    buildNodeAppImage('node-app:v1', tar);
    const load = await run(process.execPath, [KITE_MAIN, 'image', 'load', '--name', cluster.name, tar], { env: cluster.env() });
    if (load.code !== 0) throw new Error(`kite image load failed: ${load.stderr}`);
    await applyYaml(cluster, 'clients', CLIENTS);
    const cls = await json(['get', 'ingressclass', 'kite']);
    ingressHttpPort = Number(cls.metadata.annotations?.['ingress.kite.dev/http-port'] ?? 80);
    ingressHttpsPort = Number(cls.metadata.annotations?.['ingress.kite.dev/https-port'] ?? 443);
  });

  after(async () => {
    await cluster.down();
  });

  test('seed 003: node-app:v1 3/3, and kubectl port-forward service/node-service answers', async () => {
    const out = await cluster.k(['apply', '-f', join(fixtures, '003-node-app.yaml')]);
    assert.match(out, /deployment.apps\/node-deployment created/);
    assert.match(out, /service\/node-service created/);
    const rollout = await cluster.kubectl(['rollout', 'status', 'deployment/node-deployment', '--timeout=180s'], { timeoutMs: 200_000 });
    assert.equal(rollout.code, 0, rollout.stderr + rollout.stdout);
    assert.match(await cluster.k(['get', 'deploy', 'node-deployment']), /^node-deployment\s+3\/3\s+3\s+3\s+\S+$/m);
    nodeApp = await readyPods('default', 'app=node-web', 3);
    const names = nodeApp.map((p) => p.metadata.name);

    const pf = cluster.spawnKubectl(['port-forward', 'service/node-service', '18080:8080']);
    try {
      await waitFor('port-forward listening', () => /Forwarding from 127\.0\.0\.1:18080 -> 8080/.test(pf.output()), 30_000, 200);
      const body = await waitFor('an answer through the port-forward', async () => {
        const r = await httpGet('127.0.0.1', 18080);
        return r.startsWith('ERR') ? undefined : r;
      }, 20_000, 500);
      assert.ok(names.includes(body), `${body} is one of ${names.join(', ')}`);
      // A second request over the same forward works too.
      assert.ok(names.includes(await httpGet('127.0.0.1', 18080)));
    } finally {
      pf.stop();
      await pf.exited;
    }
  });

  test('a client in another namespace reaches node-service by DNS name; all 3 replicas answer', async () => {
    await waitFor('client running', async () => (await json(['get', 'pod', '-n', 'clients', 'client'])).status?.phase === 'Running', 60_000, 500);
    const names = nodeApp.map((p) => p.metadata.name).sort();
    assert.equal(names.length, 3);
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await execIn('clients', 'client', ['wget', '-qO-', 'http://node-service.default.svc.cluster.local:8080/']);
      assert.equal(r.code, 0, r.out);
      assert.ok(names.includes(r.out), `${r.out} is one of ${names.join(', ')}`);
      seen.add(r.out);
    }
    assert.deepEqual([...seen].sort(), names, 'answers spread over all 3 replicas');
  });

  test('headless Service DNS: every ready pod IP; StatefulSet web-0.<svc>.<ns>.svc.cluster.local', async () => {
    await applyYaml(
      cluster,
      'headless',
      `apiVersion: v1
kind: Namespace
metadata: {name: hl}
---
apiVersion: v1
kind: Service
metadata: {name: web-hl, namespace: hl}
spec:
  clusterIP: None
  selector: {app: hlweb}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: hl}
spec:
  serviceName: web-hl
  replicas: 2
  selector: {matchLabels: {app: hlweb}}
  template:
    metadata: {labels: {app: hlweb}}
    spec:
      containers:
      - ${httpdContainer('hl')}
`,
    );
    const pods = await readyPods('hl', 'app=hlweb', 2, 180_000);
    const ips = pods.map((p) => p.status.podIP as string).sort();
    assert.equal(ips.length, 2);
    const all = await waitFor('headless A records for both pods', async () => {
      const r = await execIn('clients', 'client', ['nslookup', 'web-hl.hl.svc.cluster.local']);
      const got = [...r.out.matchAll(/Address: (10\.\d+\.\d+\.\d+)/g)].map((m) => m[1]).sort();
      return JSON.stringify(got) === JSON.stringify(ips) ? r.out : undefined;
    }, 30_000, 1000);
    assert.doesNotMatch(all, /Address: 10\.96\.\d+\.\d+$/m, 'no ClusterIP for a headless Service');
    const web0 = pods.find((p) => p.metadata.name === 'web-0');
    assert.ok(web0, 'pod web-0 exists');
    assert.equal(web0.spec.hostname, 'web-0');
    assert.equal(web0.spec.subdomain, 'web-hl');
    const one = await waitFor('web-0 A record', async () => {
      const r = await execIn('clients', 'client', ['nslookup', 'web-0.web-hl.hl.svc.cluster.local']);
      return r.code === 0 && r.out.includes(`Address: ${web0.status.podIP}`) ? r.out : undefined;
    }, 30_000, 1000);
    assert.equal((one.match(/Address: 10\.\d+\.\d+\.\d+/g) ?? []).length, 1, one);
    // And it serves by that name.
    assert.equal((await execIn('clients', 'client', ['wget', '-qO-', 'http://web-0.web-hl.hl.svc.cluster.local:8080/'])).out, 'hl');
  });

  test('ExternalName Service: nslookup answers with a CNAME to the external name', async () => {
    await applyYaml(
      cluster,
      'externalname',
      `apiVersion: v1
kind: Service
metadata: {name: ext-in}
spec:
  type: ExternalName
  externalName: node-service.default.svc.cluster.local
---
apiVersion: v1
kind: Service
metadata: {name: ext-out}
spec:
  type: ExternalName
  externalName: db.example.invalid
`,
    );
    const clusterIP = (await json(['get', 'svc', 'node-service'])).spec.clusterIP as string;
    // A target inside the cluster zone: the CNAME, followed to the Service's ClusterIP.
    const inner = await waitFor('CNAME of ext-in', async () => {
      const r = await execIn('clients', 'client', ['nslookup', 'ext-in.default.svc.cluster.local']);
      return /canonical name = node-service\.default\.svc\.cluster\.local/.test(r.out) ? r.out : undefined;
    }, 20_000, 1000);
    assert.match(inner, new RegExp(`Address: ${clusterIP.replace(/\./g, '\\.')}`));
    // A target outside it: the CNAME to the external name.
    const outer = await waitFor('CNAME of ext-out', async () => {
      const r = await execIn('clients', 'client', ['nslookup', 'ext-out.default.svc.cluster.local'], 20_000);
      return /canonical name = db\.example\.invalid/.test(r.out) ? r.out : undefined;
    }, 30_000, 1000);
    assert.match(outer, /ext-out\.default\.svc\.cluster\.local\s+canonical name = db\.example\.invalid/);
    assert.match(await cluster.k(['get', 'svc', 'ext-out']), /ext-out\s+ExternalName\s+<none>\s+db\.example\.invalid/);
  });

  test('Ingress: two hosts, two paths, two Services; TLS for one host from a Secret by SNI', async () => {
    const keyFile = join(cluster.home, 'tls.key');
    const crtFile = join(cluster.home, 'tls.crt');
    // An RSA key, as most users bring (EC keys work too).
    const ossl = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=shop.kite.test', '-addext', 'subjectAltName=DNS:shop.kite.test', '-keyout', keyFile, '-out', crtFile]);
    assert.equal(ossl.code, 0, ossl.stderr);
    await cluster.k(['create', 'secret', 'tls', 'shop-tls', '--cert', crtFile, '--key', keyFile]);
    await applyYaml(
      cluster,
      'ingress',
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: svc-one}
spec:
  replicas: 1
  selector: {matchLabels: {app: svc-one}}
  template:
    metadata: {labels: {app: svc-one}}
    spec:
      containers:
      - ${httpdContainer('svc-one')}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: svc-two}
spec:
  replicas: 1
  selector: {matchLabels: {app: svc-two}}
  template:
    metadata: {labels: {app: svc-two}}
    spec:
      containers:
      - ${httpdContainer('svc-two')}
---
apiVersion: v1
kind: Service
metadata: {name: svc-one}
spec:
  selector: {app: svc-one}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: svc-two}
spec:
  selector: {app: svc-two}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  ingressClassName: kite
  tls:
  - hosts: [shop.kite.test]
    secretName: shop-tls
  rules:
  - host: shop.kite.test
    http:
      paths:
      - {path: /one, pathType: Prefix, backend: {service: {name: svc-one, port: {name: http}}}}
      - {path: /two, pathType: Prefix, backend: {service: {name: svc-two, port: {number: 80}}}}
  - host: blog.kite.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: svc-two, port: {name: http}}}}
`,
    );
    await readyPods('default', 'app=svc-one', 1);
    await readyPods('default', 'app=svc-two', 1);
    const route = (path: string, host: string, want: string) =>
      waitFor(`http://${host}${path} → ${want}`, async () => ((await httpGet('127.0.0.1', ingressHttpPort, path, host)) === want ? true : undefined), 30_000, 500);
    await route('/one', 'shop.kite.test', 'svc-one');
    await route('/two', 'shop.kite.test', 'svc-two');
    await route('/', 'blog.kite.test', 'svc-two');
    assert.match(await httpGet('127.0.0.1', ingressHttpPort, '/', 'shop.kite.test'), /^ERR 404/);
    assert.match(await httpGet('127.0.0.1', ingressHttpPort, '/one', 'nope.kite.test'), /^ERR 404/);

    // HTTPS: the Secret's certificate for shop.kite.test, each path from its own Service.
    let last: unknown;
    const one = await waitFor('https://shop.kite.test/one', async () => {
      const r = await httpsGet(ingressHttpsPort, '/one', 'shop.kite.test');
      last = r;
      return r.body === 'svc-one' && r.cn === 'shop.kite.test' ? r : undefined;
    }, 30_000, 500).catch((err) => {
      throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)} (https port ${ingressHttpsPort})`);
    });
    assert.equal(one.cn, 'shop.kite.test');
    const two = await httpsGet(ingressHttpsPort, '/two', 'shop.kite.test');
    assert.deepEqual(two, { body: 'svc-two', cn: 'shop.kite.test' });
    // The other host has no TLS Secret: not the shop certificate.
    const blog = await httpsGet(ingressHttpsPort, '/', 'blog.kite.test');
    assert.notEqual(blog.cn, 'shop.kite.test');
  });

  test('NetworkPolicy: namespace B denies ingress from namespace A, same-namespace traffic still allowed', async () => {
    await applyYaml(
      cluster,
      'np-b',
      `apiVersion: v1
kind: Namespace
metadata: {name: np-b}
---
apiVersion: v1
kind: Pod
metadata: {name: target, namespace: np-b, labels: {app: target}}
spec:
  containers:
  - ${httpdContainer('target')}
---
apiVersion: v1
kind: Pod
metadata: {name: insider, namespace: np-b}
spec:
  containers: [{name: c, image: busybox, command: ["sleep", "3600"]}]
`,
    );
    const [target] = await readyPods('np-b', 'app=target', 1);
    await waitFor('insider running', async () => (await json(['get', 'pod', '-n', 'np-b', 'insider'])).status?.phase === 'Running', 60_000, 500);
    const url = `http://${target.status.podIP}:8080/`;
    const fromA = () => execIn('clients', 'client', ['wget', '-qO-', url], 4000);
    const fromB = () => execIn('np-b', 'insider', ['wget', '-qO-', url], 4000);
    // Open before any policy.
    await waitFor('reachable from A without a policy', async () => (await fromA()).out === 'target', 20_000, 500);
    assert.equal((await fromB()).out, 'target');

    await applyYaml(
      cluster,
      'np-b-policy',
      `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: np-b}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-same-namespace, namespace: np-b}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {}}]}]
`,
    );
    await waitFor('denied from namespace A', async () => (await fromA()).code !== 0, 20_000, 500);
    assert.equal((await fromB()).out, 'target', 'same-namespace traffic still allowed');
    // Stays denied (not a transient).
    assert.notEqual((await fromA()).code, 0);
    // The Service in the other namespace (the client's own) is unaffected.
    assert.equal((await execIn('clients', 'client', ['wget', '-qO-', 'http://node-service.default.svc.cluster.local:8080/'])).code, 0);

    await cluster.k(['delete', 'networkpolicy', '-n', 'np-b', 'default-deny-ingress', 'allow-same-namespace']);
    await waitFor('reachable from A again', async () => (await fromA()).out === 'target', 20_000, 500);
  });
});
