// The EndpointSlice, Endpoints and service-LB controllers against an in-process API:
// pods are simulated by writing their status (IP, Ready condition) through the status
// subresource, as the kubelet would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoints, Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { startControllerManager } from '../../controllers/manager.js';
import type { ControllerManager } from '../../controllers/manager.js';
import { NETWORKING_CONTROLLERS } from '../../controllers/networking.js';
import { reconcileSlices, desiredEndpoints } from '../../controllers/endpointslice/reconciler.js';
import { computeSubsets } from '../../controllers/endpoints/subsets.js';
import type { ApiTransport } from '../../client/transport.js';
import type { Mutable } from '../../machinery/object.js';
import { ServiceAllocator } from '../../apiserver/allocators.js';
import { PODS, res, startCluster } from './client-fixture.js';
import type { Cluster } from './client-fixture.js';
import { waitForQuietInProcess } from '../wait.js';

const SERVICES = res('', 'v1', 'services');
const ENDPOINTS = res('', 'v1', 'endpoints');
const SLICES = res('discovery.k8s.io', 'v1', 'endpointslices');
const NODES = res('', 'v1', 'nodes');

interface Env {
  cluster: Cluster;
  t: ApiTransport;
  cm: ControllerManager;
  close(): Promise<void>;
}

async function env(): Promise<Env> {
  const cluster = await startCluster(['default', 'other']);
  new ServiceAllocator(cluster.registry, '10.96.0.0/12').install();
  const t = cluster.transport;
  const cm = await startControllerManager(t, NETWORKING_CONTROLLERS);
  return {
    cluster,
    t,
    cm,
    async close() {
      await cm.stop();
      await cluster.close();
    },
  };
}

function podSpec(name: string, labels: Record<string, string>, extra: Partial<Pod['spec']> = {}, ports: { name: string; containerPort: number }[] = [{ name: 'http', containerPort: 8080 }]): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels },
    spec: { containers: [{ name: 'c', image: 'busybox', ports: ports.map((p) => ({ ...p, protocol: 'TCP' })) }], nodeName: 'node-1', ...extra },
  };
}

async function makePod(t: ApiTransport, p: Pod, ip: string | undefined, ready: boolean): Promise<Pod> {
  const made = await t.create<Pod>(PODS, 'default', p);
  return setPod(t, made.metadata!.name!, ip, ready);
}

async function setPod(t: ApiTransport, name: string, ip: string | undefined, ready: boolean): Promise<Pod> {
  const cur = await t.get<Pod>(PODS, 'default', name);
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  (cur as Mutable<Pod>).status = {
    phase: 'Running',
    hostIP: '192.0.2.10',
    ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}),
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now }],
  };
  return t.updateStatus<Pod>(PODS, 'default', cur);
}

function service(name: string, spec: Service['spec'], labels?: Record<string, string>): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) }, spec };
}

async function slicesOf(t: ApiTransport, svc: string): Promise<EndpointSlice[]> {
  return (await t.list<EndpointSlice>(SLICES, 'default', { labelSelector: `kubernetes.io/service-name=${svc}` })).items;
}

async function endpointsOf(t: ApiTransport, svc: string): Promise<Endpoints | undefined> {
  try {
    return await t.get<Endpoints>(ENDPOINTS, 'default', svc);
  } catch {
    return undefined;
  }
}

/** Poll an async condition. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined | false;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

test('EndpointSlice and Endpoints follow pods: addresses, readiness, ports, labels, trigger time', async () => {
  const e = await env();
  try {
    const { t } = e;
    await t.create(SERVICES, 'default', service('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] }, { team: 'a' }));
    // No pods yet: one placeholder slice, an Endpoints without subsets.
    const placeholder = await eventually('placeholder slice', async () => {
      const s = await slicesOf(t, 'web');
      return s.length === 1 ? s[0] : undefined;
    });
    assert.deepEqual(placeholder.endpoints ?? [], []);
    assert.equal(placeholder.ports, undefined);
    assert.match(placeholder.metadata!.name!, /^web-[a-z0-9]{5}$/);
    assert.equal(placeholder.metadata!.labels!['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.equal(placeholder.metadata!.labels!.team, 'a');
    assert.equal(placeholder.addressType, 'IPv4');
    assert.equal(placeholder.metadata!.ownerReferences![0].kind, 'Service');
    await eventually('empty endpoints', async () => (await endpointsOf(t, 'web')) !== undefined);

    await makePod(t, podSpec('web-1', { app: 'web' }), '10.244.0.5', true);
    await makePod(t, podSpec('web-2', { app: 'web' }), '10.244.0.6', false);
    await makePod(t, podSpec('other', { app: 'other' }), '10.244.0.7', true);
    await makePod(t, podSpec('pending', { app: 'web' }), undefined, false);

    const slice = await eventually('slice with two endpoints', async () => {
      const s = await slicesOf(t, 'web');
      return s.length === 1 && s[0].endpoints?.length === 2 ? s[0] : undefined;
    });
    assert.deepEqual(slice.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const byIP = new Map(slice.endpoints.map((ep) => [ep.addresses[0], ep]));
    assert.deepEqual(byIP.get('10.244.0.5')!.conditions, { ready: true, serving: true, terminating: false });
    assert.deepEqual(byIP.get('10.244.0.6')!.conditions, { ready: false, serving: false, terminating: false });
    assert.equal(byIP.get('10.244.0.5')!.nodeName, 'node-1');
    assert.equal(byIP.get('10.244.0.5')!.targetRef!.kind, 'Pod');
    assert.equal(byIP.get('10.244.0.5')!.targetRef!.name, 'web-1');
    assert.ok(byIP.get('10.244.0.5')!.targetRef!.uid);
    assert.ok(slice.metadata!.annotations!['endpoints.kubernetes.io/last-change-trigger-time']);

    const ep = await eventually('endpoints with subsets', async () => {
      const x = await endpointsOf(t, 'web');
      return x?.subsets?.length ? x : undefined;
    });
    assert.deepEqual(
      ep.subsets!.map((s) => ({ a: s.addresses?.map((x) => x.ip), n: s.notReadyAddresses?.map((x) => x.ip), p: s.ports })),
      [{ a: ['10.244.0.5'], n: ['10.244.0.6'], p: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
    );
    assert.equal(ep.metadata!.labels!.team, 'a');
    assert.ok(ep.metadata!.annotations!['endpoints.kubernetes.io/last-change-trigger-time']);
    assert.equal(ep.subsets![0].addresses![0].targetRef!.name, 'web-1');

    // Readiness flips show within a second.
    const began = Date.now();
    await setPod(t, 'web-2', '10.244.0.6', true);
    await eventually(
      'web-2 ready in the slice and the endpoints',
      async () => {
        const s = (await slicesOf(t, 'web'))[0];
        const x = await endpointsOf(t, 'web');
        return s.endpoints.every((p) => p.conditions?.ready) && x?.subsets?.[0].addresses?.length === 2 && !x.subsets[0].notReadyAddresses;
      },
      1000,
    );
    assert.ok(Date.now() - began < 1000);

    // Terminating pods: serving stays, ready goes, and they leave Endpoints.
    await t.delete(PODS, 'default', 'web-1', { gracePeriodSeconds: 30 });
    const afterDelete = await eventually('web-1 terminating or gone', async () => {
      const s = (await slicesOf(t, 'web'))[0];
      const e1 = s.endpoints.find((p) => p.addresses[0] === '10.244.0.5');
      return !e1 || e1.conditions?.terminating ? (e1 ?? 'gone') : undefined;
    });
    if (afterDelete !== 'gone') assert.deepEqual(afterDelete.conditions, { ready: false, serving: true, terminating: true });
    await eventually('endpoints without web-1', async () => {
      const x = await endpointsOf(t, 'web');
      return x?.subsets?.[0].addresses?.length === 1 && x.subsets[0].addresses[0].ip === '10.244.0.6';
    });

    // The Service goes: so do its slices and Endpoints.
    await t.delete(SERVICES, 'default', 'web');
    await eventually('slices gone', async () => (await slicesOf(t, 'web')).length === 0);
    await eventually('endpoints gone', async () => (await endpointsOf(t, 'web')) === undefined);
  } finally {
    await e.close();
  }
});

test('named targetPorts resolve per pod: pods with different numbers get different slices', async () => {
  const e = await env();
  try {
    const { t } = e;
    await t.create(SERVICES, 'default', service('api', { selector: { app: 'api' }, ports: [{ name: 'http', port: 80, targetPort: 'web' }, { name: 'num', port: 9000, targetPort: 9001 }] }));
    await makePod(t, podSpec('a1', { app: 'api' }, {}, [{ name: 'web', containerPort: 8080 }]), '10.244.0.10', true);
    await makePod(t, podSpec('a2', { app: 'api' }, {}, [{ name: 'web', containerPort: 8081 }]), '10.244.0.11', true);
    await makePod(t, podSpec('a3', { app: 'api' }, {}, [{ name: 'other', containerPort: 1 }]), '10.244.0.12', true);
    const slices = await eventually('three port sets', async () => {
      const s = await slicesOf(t, 'api');
      return s.length === 3 && s.every((x) => x.endpoints.length === 1) ? s : undefined;
    });
    const byIP = new Map(slices.map((s) => [s.endpoints[0].addresses[0], s.ports!.map((p) => `${p.name}:${p.port}`).sort()]));
    assert.deepEqual(byIP.get('10.244.0.10'), ['http:8080', 'num:9001']);
    assert.deepEqual(byIP.get('10.244.0.11'), ['http:8081', 'num:9001']);
    assert.deepEqual(byIP.get('10.244.0.12'), ['num:9001'], 'a pod without the named port still serves the numeric one');
    const ep = await eventually('endpoints', async () => {
      const x = await endpointsOf(t, 'api');
      return x?.subsets?.length ? x : undefined;
    });
    // num:9001 has all three addresses; http has one each.
    const flat = ep.subsets!.map((s) => `${s.ports!.map((p) => `${p.name}:${p.port}`).join('+')}=${s.addresses!.map((a) => a.ip).join(',')}`).sort();
    assert.deepEqual(flat, ['http:8080=10.244.0.10', 'http:8081=10.244.0.11', 'num:9001=10.244.0.10,10.244.0.11,10.244.0.12']);
  } finally {
    await e.close();
  }
});

test('headless, publishNotReadyAddresses, hostname/subdomain, ExternalName and selectorless Services', async () => {
  const e = await env();
  try {
    const { t } = e;
    await t.create(SERVICES, 'default', service('db', { clusterIP: 'None', publishNotReadyAddresses: true, selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] }));
    await makePod(t, podSpec('db-0', { app: 'db' }, { hostname: 'db-0', subdomain: 'db' }), '10.244.0.20', false);
    const slice = await eventually('db slice', async () => {
      const s = await slicesOf(t, 'db');
      return s.length === 1 && s[0].endpoints.length === 1 ? s[0] : undefined;
    });
    assert.equal(slice.metadata!.labels!['service.kubernetes.io/headless'], '');
    assert.equal(slice.endpoints[0].hostname, 'db-0');
    assert.deepEqual(slice.endpoints[0].conditions, { ready: true, serving: false, terminating: false });
    assert.deepEqual(slice.ports, [{ name: 'pg', port: 5432, protocol: 'TCP' }]);
    const ep = await eventually('db endpoints', async () => {
      const x = await endpointsOf(t, 'db');
      return x?.subsets?.length ? x : undefined;
    });
    assert.equal(ep.subsets![0].addresses![0].hostname, 'db-0');
    assert.equal(ep.subsets![0].notReadyAddresses, undefined, 'publishNotReadyAddresses puts every address in addresses');
    assert.equal(ep.metadata!.labels!['service.kubernetes.io/headless'], '');

    await t.create(SERVICES, 'default', service('ext', { type: 'ExternalName', externalName: 'example.com' }));
    await t.create(SERVICES, 'default', service('manual', { ports: [{ port: 80 }] }));
    await waitForQuietInProcess();
    assert.equal((await slicesOf(t, 'ext')).length, 0);
    assert.equal(await endpointsOf(t, 'ext'), undefined);
    assert.equal((await slicesOf(t, 'manual')).length, 0);
    assert.equal(await endpointsOf(t, 'manual'), undefined);
  } finally {
    await e.close();
  }
});

test('mirroring: hand-written Endpoints of a selectorless Service become EndpointSlices (unless skip-mirror)', async () => {
  const e = await env();
  try {
    const { t } = e;
    await t.create(SERVICES, 'default', service('ext-db', { ports: [{ name: 'pg', port: 5432 }] }, { team: 'b' }));
    await t.create(ENDPOINTS, 'default', {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'ext-db', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '192.0.2.40' }], notReadyAddresses: [{ ip: '192.0.2.41' }], ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }],
    });
    const slice = await eventually('mirrored slice', async () => {
      const s = await slicesOf(t, 'ext-db');
      return s.length === 1 ? s[0] : undefined;
    });
    assert.equal(slice.metadata!.labels!['endpointslice.kubernetes.io/managed-by'], 'endpointslicemirroring-controller.k8s.io');
    assert.equal(slice.metadata!.labels!.team, 'b');
    assert.deepEqual(slice.ports, [{ name: 'pg', port: 5432, protocol: 'TCP' }]);
    assert.deepEqual(slice.endpoints.map((x) => [x.addresses[0], x.conditions?.ready]), [['192.0.2.40', true], ['192.0.2.41', false]]);
    // Changes follow; skip-mirror removes the mirror.
    const cur = await t.get<Endpoints>(ENDPOINTS, 'default', 'ext-db');
    cur.subsets = [{ addresses: [{ ip: '192.0.2.42' }], ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }];
    await t.update(ENDPOINTS, 'default', cur);
    await eventually('mirror updated', async () => (await slicesOf(t, 'ext-db'))[0]?.endpoints.map((x) => x.addresses[0]).join() === '192.0.2.42');
    const again = await t.get<Endpoints>(ENDPOINTS, 'default', 'ext-db');
    again.metadata!.labels = { 'endpointslice.kubernetes.io/skip-mirror': 'true' };
    await t.update(ENDPOINTS, 'default', again);
    await eventually('mirror removed', async () => (await slicesOf(t, 'ext-db')).length === 0);
  } finally {
    await e.close();
  }
});

test('more than 100 endpoints fill slices of at most 100; a single change rewrites one slice', async () => {
  const e = await env();
  try {
    const { t } = e;
    await t.create(SERVICES, 'default', service('big', { selector: { app: 'big' }, ports: [{ port: 80, targetPort: 8080 }] }));
    const pods = [];
    for (let i = 0; i < 130; i++) pods.push(makePod(t, podSpec(`big-${i}`, { app: 'big' }), `10.244.${1 + Math.floor(i / 200)}.${(i % 200) + 2}`, true));
    await Promise.all(pods);
    const slices = await eventually(
      '130 endpoints in two slices',
      async () => {
        const s = await slicesOf(t, 'big');
        const n = s.reduce((a, x) => a + x.endpoints.length, 0);
        return n === 130 ? s : undefined;
      },
      10000,
    );
    // At least ceil(130/100) slices, none over 100 (as upstream, arrival order may leave more, never fuller).
    assert.ok(slices.length >= 2 && slices.length <= 4, `${slices.length} slices`);
    assert.ok(slices.every((s) => s.endpoints.length <= 100));
    const rvs = new Map(slices.map((s) => [s.metadata!.name!, s.metadata!.resourceVersion]));
    await setPod(t, 'big-7', '10.244.1.9', false);
    const after = await eventually('big-7 not ready', async () => {
      const s = await slicesOf(t, 'big');
      return s.some((x) => x.endpoints.some((p) => p.addresses[0] === '10.244.1.9' && p.conditions?.ready === false)) ? s : undefined;
    });
    const changed = after.filter((s) => rvs.get(s.metadata!.name!) !== s.metadata!.resourceVersion);
    assert.equal(changed.length, 1, 'only the slice holding the pod was rewritten');
  } finally {
    await e.close();
  }
});

test('service LB: LoadBalancer Services get node addresses (internal-only when annotated), never pending', async () => {
  const e = await env();
  try {
    const { t } = e;
    const lb = await t.create<Service>(SERVICES, 'default', service('lb', { type: 'LoadBalancer', selector: { app: 'x' }, ports: [{ port: 80 }] }));
    assert.ok(lb.spec!.ports![0].nodePort! >= 30000);
    // No nodes yet: the fallback (this host's address) is used.
    const first = await eventually('ingress without nodes', async () => {
      const s = await t.get<Service>(SERVICES, 'default', 'lb');
      return s.status?.loadBalancer?.ingress?.length ? s : undefined;
    });
    assert.ok(first.status!.loadBalancer!.ingress![0].ip);
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-1' },
      status: {
        addresses: [
          { type: 'InternalIP', address: '192.0.2.10' },
          { type: 'ExternalIP', address: '203.0.113.10' },
          { type: 'Hostname', address: 'node-1' },
        ],
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    };
    const made = await t.create<Node>(NODES, undefined, node);
    (made as Mutable<Node>).status = node.status;
    await t.updateStatus(NODES, undefined, made);
    await eventually('external address', async () => {
      const s = await t.get<Service>(SERVICES, 'default', 'lb');
      return s.status?.loadBalancer?.ingress?.map((i) => i.ip).join() === '203.0.113.10';
    });
    await t.create(SERVICES, 'default', { ...service('internal', { type: 'LoadBalancer', ports: [{ port: 81 }] }), metadata: { name: 'internal', namespace: 'default', annotations: { 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal' } } });
    await eventually('internal address', async () => {
      const s = await t.get<Service>(SERVICES, 'default', 'internal');
      return s.status?.loadBalancer?.ingress?.map((i) => i.ip).join() === '192.0.2.10';
    });
    await t.create(SERVICES, 'default', service('other-class', { type: 'LoadBalancer', loadBalancerClass: 'example.com/lb', ports: [{ port: 82 }] }));
    await waitForQuietInProcess();
    assert.equal((await t.get<Service>(SERVICES, 'default', 'other-class')).status?.loadBalancer?.ingress, undefined);
  } finally {
    await e.close();
  }
});

test('reconciler: unchanged endpoints cause no writes; remainders fill the best unchanged slice', () => {
  const svc: Service = { metadata: { name: 's', namespace: 'd', uid: 'u1' }, spec: { selector: { a: 'b' }, ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }] } };
  const mkPod = (i: number): Pod => ({
    metadata: { name: `p${i}`, namespace: 'd', uid: `pu${i}`, labels: { a: 'b' } },
    spec: { containers: [{ name: 'c', image: 'x' }], nodeName: 'n' },
    status: { phase: 'Running', podIP: `10.0.0.${i}`, conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const pods = Array.from({ length: 5 }, (_, i) => mkPod(i + 1));
  const first = reconcileSlices(svc, desiredEndpoints(svc, pods, () => undefined), [], 3);
  assert.equal(first.create.length, 2);
  assert.deepEqual(first.create.map((s) => s.endpoints.length), [3, 2]);
  const existing = first.create.map((s, i) => ({ ...s, metadata: { ...s.metadata, name: `s-${i}`, uid: `x${i}` } }));
  const again = reconcileSlices(svc, desiredEndpoints(svc, pods, () => undefined), existing, 3);
  assert.deepEqual([again.create.length, again.update.length, again.delete.length], [0, 0, 0]);
  // One more pod: goes into the slice with room, nothing else moves.
  const more = reconcileSlices(svc, desiredEndpoints(svc, [...pods, mkPod(6)], () => undefined), existing, 3);
  assert.deepEqual([more.create.length, more.update.length, more.delete.length], [0, 1, 0]);
  assert.equal(more.update[0].metadata!.name, 's-1');
  // Endpoints subsets: stable order.
  const subsets = computeSubsets(svc, pods);
  assert.deepEqual(subsets[0].addresses!.map((a) => a.ip), ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']);
});

