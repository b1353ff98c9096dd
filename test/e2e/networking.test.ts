// Acceptance: Service networking on a real `kite up` cluster with real pods (the local
// busybox image: httpd, wget, nslookup), driven by the real kubectl. Needs root.
//
// Endpoints, EndpointSlices and LoadBalancer addresses come from the controller
// manager. Traffic needs the node's networking (proxy, DNS, ingress): when `kite
// server` does not run it (yet), the test starts it itself against the cluster, the
// way `kite server` would (proxy/node-networking.ts).
//
// Traffic only goes to loopback, to the node's own address and to pod/Service
// addresses on the node's bridge.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Cluster, WEB_APP, applyYaml, nodeNameOf, waitFor, waitForNodeReady } from './harness.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = isRoot ? false : 'needs root: runs containers and programs the kernel';

const cluster = new Cluster('net');
let nodeIP = '';
let ingressPort = 0;

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

async function json(args: string[]): Promise<any> {
  return JSON.parse(await cluster.k([...args, '-o', 'json']));
}

/** `kite server` runs the node's proxy, DNS, ingress and NetworkPolicy: wait until DNS is published. */
async function ensureNodeNetworking(): Promise<void> {
  const published = async () => {
    const r = await cluster.kubectl(['get', 'endpoints', '-n', 'kube-system', 'kube-dns', '-o', 'json']);
    return r.code === 0 && (JSON.parse(r.stdout).subsets?.[0]?.addresses?.length ?? 0) > 0;
  };
  await waitFor('kite server node networking (kube-dns endpoints)', published, 60_000, 500);
}

const WEB = `${WEB_APP}---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 8081, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-lb}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: 18082, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: web.kite.test
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: c, image: busybox, command: ["sleep", "3600"]}]
`;

describe('service networking', { skip }, () => {
  let pods: string[] = [];

  before(async () => {
    await cluster.up();
    const node = await waitForNodeReady(cluster, 90_000);
    nodeIP = node.status.addresses.find((a: any) => a.type === 'InternalIP').address;
    await ensureNodeNetworking();
    await applyYaml(cluster, 'web', WEB);
    await waitFor(
      'web pods ready and client running',
      async () => {
        const list = await json(['get', 'pods']);
        const web = list.items.filter((p: any) => p.metadata.labels?.app === 'web' && (p.status.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'));
        const client = list.items.find((p: any) => p.metadata.name === 'client' && p.status.phase === 'Running');
        pods = web.map((p: any) => p.metadata.name).sort();
        return web.length === 2 && client;
      },
      120_000,
      500,
    );
    const cls = await json(['get', 'ingressclass', 'kite']);
    ingressPort = Number(cls.metadata.annotations?.['ingress.kite.dev/http-port'] ?? 80);
  });

  after(async () => {
    await cluster.down();
  });

  test('Endpoints and EndpointSlices list the ready pods; kubectl shows them', async () => {
    const ep = await waitFor('endpoints', async () => {
      const e = await json(['get', 'endpoints', 'web']);
      return e.subsets?.[0]?.addresses?.length === 2 ? e : undefined;
    });
    assert.deepEqual(ep.subsets[0].ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    assert.ok(ep.metadata.annotations['endpoints.kubernetes.io/last-change-trigger-time']);
    const slices = await json(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web']);
    assert.equal(slices.items.length, 1);
    const s = slices.items[0];
    assert.match(s.metadata.name, /^web-[a-z0-9]{5}$/);
    assert.equal(s.metadata.labels['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.deepEqual(s.endpoints.map((e: any) => e.targetRef.name).sort(), pods);
    assert.ok(s.endpoints.every((e: any) => e.conditions.ready && e.nodeName === nodeNameOf(cluster)));
    const table = await cluster.k(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web']);
    assert.match(table, /web-\w{5}\s+IPv4\s+8080\s+10\.\d+\.\d+\.\d+,10\.\d+\.\d+\.\d+/);
    const described = await cluster.k(['describe', 'service', 'web']);
    assert.match(described, /Endpoints:\s+10\.\d+\.\d+\.\d+:8080,10\.\d+\.\d+\.\d+:8080/);
    assert.match(await cluster.k(['cluster-info']), /KubeDNS is running at/);
  });

  test('from a pod: the Service by DNS name and by ClusterIP, both pods answering; DNS records', async () => {
    const ip = (await json(['get', 'svc', 'web'])).spec.clusterIP;
    const seen = new Set<string>();
    for (let i = 0; i < 12 && seen.size < 2; i++) {
      const byName = (await cluster.k(['exec', 'client', '--', 'wget', '-qO-', 'http://web.default.svc.cluster.local'])).trim();
      const byIP = (await cluster.k(['exec', 'client', '--', 'wget', '-qO-', `http://${ip}`])).trim();
      assert.ok(pods.includes(byName), byName);
      assert.ok(pods.includes(byIP), byIP);
      seen.add(byName).add(byIP);
    }
    assert.equal(seen.size, 2, 'both endpoints serve');
    // The search path: a short name works too.
    assert.ok(pods.includes((await cluster.k(['exec', 'client', '--', 'wget', '-qO-', 'http://web'])).trim()));
    const ns = await cluster.k(['exec', 'client', '--', 'nslookup', 'web.default.svc.cluster.local']);
    assert.match(ns, new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`));
    const headless = await cluster.k(['exec', 'client', '--', 'nslookup', 'db.default.svc.cluster.local']);
    assert.equal((headless.match(/Address: 10\.\d+\.\d+\.\d+/g) ?? []).length, 2, headless);
    const missing = await cluster.kubectl(['exec', 'client', '--', 'nslookup', 'nope.default.svc.cluster.local']);
    assert.match(missing.stdout + missing.stderr, /NXDOMAIN/);
  });

  test('NodePort on 127.0.0.1 and the node address; LoadBalancer ingress IP; Ingress by Host header', async () => {
    const np = (await json(['get', 'svc', 'web-np'])).spec.ports[0].nodePort;
    assert.ok(pods.includes(await httpGet('127.0.0.1', np)));
    assert.ok(pods.includes(await httpGet(nodeIP, np)));
    const lb = await waitFor('LoadBalancer address', async () => (await json(['get', 'svc', 'web-lb'])).status?.loadBalancer?.ingress?.[0]?.ip);
    assert.equal(lb, nodeIP);
    assert.match(await cluster.k(['get', 'svc', 'web-lb']), new RegExp(`LoadBalancer\\s+\\S+\\s+${nodeIP.replace(/\./g, '\\.')}\\s+18082:`));
    assert.ok(pods.includes(await waitFor('LB traffic', async () => {
      const r = await httpGet(lb, 18082);
      return pods.includes(r) ? r : undefined;
    })));
    const viaIngress = await waitFor('ingress route', async () => {
      const r = await httpGet('127.0.0.1', ingressPort, '/', 'web.kite.test');
      return pods.includes(r) ? r : undefined;
    });
    assert.ok(pods.includes(viaIngress));
    assert.match(await httpGet('127.0.0.1', ingressPort, '/', 'unknown.kite.test'), /^ERR 404/);
    await waitFor('ingress status', async () => (await json(['get', 'ingress', 'web'])).status?.loadBalancer?.ingress?.[0]?.ip === nodeIP);
  });

  test('endpoints follow readiness: a pod that stops being ready leaves the Service, and comes back', async () => {
    const [a, b] = pods;
    await cluster.k(['exec', a, '--', 'rm', '/www/ready']);
    await waitFor(
      `${a} not ready in the endpoints`,
      async () => {
        const e = await json(['get', 'endpoints', 'web']);
        return e.subsets?.[0]?.addresses?.length === 1 && e.subsets[0].notReadyAddresses?.length === 1;
      },
      20_000,
      200,
    );
    const slice = (await json(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web'])).items[0];
    assert.equal(slice.endpoints.find((e: any) => e.targetRef.name === a).conditions.ready, false);
    const np = (await json(['get', 'svc', 'web-np'])).spec.ports[0].nodePort;
    await waitFor('only the ready pod answers', async () => {
      const answers = await Promise.all(Array.from({ length: 6 }, () => httpGet('127.0.0.1', np)));
      return answers.every((x) => x === b);
    }, 10_000, 200);
    await cluster.k(['exec', a, '--', 'touch', '/www/ready']);
    await waitFor('both ready again', async () => (await json(['get', 'endpoints', 'web'])).subsets?.[0]?.addresses?.length === 2, 20_000, 200);
  });

  test('NetworkPolicy: default deny for the web pods, then allowed from pods labelled role=fe', async () => {
    await applyYaml(
      cluster,
      'deny',
      `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-deny}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
`,
    );
    await waitFor('traffic denied', async () => (await cluster.kubectl(['exec', 'client', '--', 'wget', '-qO-', 'http://web'], { timeoutMs: 4000 })).code !== 0, 20_000, 500);
    await cluster.k(['label', 'pod', 'client', 'role=fe']);
    await applyYaml(
      cluster,
      'allow',
      `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-fe}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {role: fe}}}], ports: [{port: http}]}]
`,
    );
    await waitFor('allowed from role=fe', async () => pods.includes((await cluster.kubectl(['exec', 'client', '--', 'wget', '-qO-', 'http://web'], { timeoutMs: 4000 })).stdout.trim()), 20_000, 500);
    await cluster.k(['delete', 'networkpolicy', 'web-deny', 'web-from-fe']);
  });
});
