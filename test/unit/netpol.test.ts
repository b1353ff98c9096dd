// NetworkPolicy in the kernel: selector semantics and compilation as pure functions,
// then enforcement in a private network namespace (a bridge with three pods) driven by
// policies, pods and namespaces in an in-process API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import type { NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import type { Mutable } from '../../machinery/object.js';
import { compilePolicies, policyTypes, selects } from '../../netpol/compile.js';
import { startNetworkPolicy } from '../../netpol/controller.js';
import type { ApiTransport } from '../../client/transport.js';
import { NAMESPACES, PODS, res, startCluster } from './client-fixture.js';
import type { Cluster } from './client-fixture.js';
import { canUseNetns, makeTopology } from './proxy-fixture.js';
import type { Topology } from './proxy-fixture.js';

const POLICIES = res('networking.k8s.io', 'v1', 'networkpolicies');
const skip = canUseNetns();

test('selectors: matchLabels and every matchExpressions operator; policyTypes defaults', () => {
  const l = { app: 'web', tier: 'front' };
  assert.ok(selects({}, l));
  assert.ok(selects(undefined, l));
  assert.ok(selects({ matchLabels: { app: 'web' } }, l));
  assert.ok(!selects({ matchLabels: { app: 'db' } }, l));
  assert.ok(selects({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'x'] }] }, l));
  assert.ok(!selects({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, l));
  assert.ok(selects({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, l));
  assert.ok(selects({ matchExpressions: [{ key: 'gone', operator: 'DoesNotExist' }] }, l));
  assert.deepEqual(policyTypes({ spec: { podSelector: {} } }), { ingress: true, egress: false });
  assert.deepEqual(policyTypes({ spec: { podSelector: {}, egress: [{}] } }), { ingress: true, egress: true });
  assert.deepEqual(policyTypes({ spec: { podSelector: {}, policyTypes: ['Egress'] } }), { ingress: false, egress: true });
});

test('compile: isolation sets, peers, numeric and named ports', () => {
  const pod = (name: string, ip: string, labels: Record<string, string>, ns = 'default'): Pod => ({
    metadata: { name, namespace: ns, labels },
    spec: { containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: ip },
  });
  const pods = [pod('a', '10.0.0.1', { app: 'db' }), pod('b', '10.0.0.2', { role: 'fe' }), pod('c', '10.0.0.3', { role: 'fe' }, 'other')];
  const ns: Namespace[] = [{ metadata: { name: 'default' } }, { metadata: { name: 'other', labels: { team: 'x' } } }];
  const np: NetworkPolicy = {
    metadata: { name: 'db', namespace: 'default' },
    spec: {
      podSelector: { matchLabels: { app: 'db' } },
      ingress: [
        { from: [{ podSelector: { matchLabels: { role: 'fe' } } }], ports: [{ port: 'http' }, { port: 9000, endPort: 9010, protocol: 'UDP' }] },
        { from: [{ namespaceSelector: { matchLabels: { team: 'x' } } }, { ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } }] },
      ],
    },
  };
  const c = compilePolicies([np], pods, ns);
  assert.deepEqual(c.ingressIsolated, ['10.0.0.1']);
  assert.deepEqual(c.egressIsolated, []);
  assert.ok(c.ingressRules.some((r) => r.includes('meta l4proto . th dport { udp . 9000-9010 }') && r.includes('ip saddr { 10.0.0.2 }')));
  assert.ok(c.ingressRules.some((r) => r.includes('ip daddr . meta l4proto . th dport { 10.0.0.1 . tcp . 8080 }') && r.includes('ip saddr { 10.0.0.2 }')));
  assert.ok(c.ingressRules.some((r) => r.includes('ip saddr { 10.0.0.3 }')), 'namespaceSelector peer');
  assert.ok(c.ingressRules.some((r) => r.includes('ip saddr 192.168.0.0/16 ip saddr != { 192.168.1.0/24 }')), 'ipBlock with except');
});

let topo: Topology;
let cluster: Cluster;
let t: ApiTransport;

before(async () => {
  if (skip) return;
  topo = await makeTopology(`knp${process.pid % 10000}`, 3, 33);
  cluster = await startCluster(['default']);
  t = cluster.transport;
  await t.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other', labels: { team: 'x' } } });
  const spec: { name: string; ns: string; labels: Record<string, string> }[] = [
    { name: 'fe', ns: 'default', labels: { role: 'fe' } },
    { name: 'db', ns: 'default', labels: { app: 'db' } },
    { name: 'ext', ns: 'other', labels: { app: 'ext' } },
  ];
  for (const [i, s] of spec.entries()) {
    await t.create(PODS, s.ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name: s.name, namespace: s.ns, labels: s.labels }, spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }] }] } });
    const cur = await t.get<Pod>(PODS, s.ns, s.name);
    (cur as Mutable<Pod>).status = { phase: 'Running', podIP: topo.pods[i].ip, podIPs: [{ ip: topo.pods[i].ip }] };
    await t.updateStatus(PODS, s.ns, cur);
  }
});

after(async () => {
  topo?.destroy();
  await cluster?.close();
});

const ok = (a: string[]) => a[0].startsWith('pod');

test('enforcement: default deny, allow by pod/namespace selector and port, egress deny and ipBlock, removal', { skip }, async () => {
  const [fe, db, ext] = topo.pods;
  const np = await startNetworkPolicy({ transport: t, netns: topo.node, table: 'kite-netpol-test', debounceMs: 10, log: () => {} });
  try {
    await np.ready;
    assert.ok(ok(await topo.request(fe.ns, `${db.ip}:8080`)), 'no policy: open');

    const pol = (name: string, spec: NetworkPolicy['spec'], ns = 'default') => t.create(POLICIES, ns, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec });
    await pol('db-deny', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] });
    await np.sync();
    assert.match(topo.exec(topo.node, ['nft', 'list', 'table', 'inet', 'kite-netpol-test']), /ip daddr (\{ )?10\.244\.0\.3( \})? jump ingress-check/);
    assert.ok(!ok(await topo.request(fe.ns, `${db.ip}:8080`)), 'default deny for db');
    assert.ok(ok(await topo.request(db.ns, `${fe.ip}:8080`)), 'db may still connect out (and get replies)');

    await pol('db-from-fe', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'fe' } } }], ports: [{ port: 'http' }] }] });
    await np.sync();
    assert.ok(ok(await topo.request(fe.ns, `${db.ip}:8080`)), 'fe allowed on the named port');
    assert.ok(!ok(await topo.request(ext.ns, `${db.ip}:8080`)), 'ext (other namespace) still denied');

    await pol('db-from-team-x', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'x' } } }], ports: [{ port: 8080, protocol: 'TCP' }] }] });
    await np.sync();
    assert.ok(ok(await topo.request(ext.ns, `${db.ip}:8080`)), 'namespaceSelector allows ext');

    await pol('ext-egress', { podSelector: {}, policyTypes: ['Egress'] }, 'other');
    await np.sync();
    assert.ok(!ok(await topo.request(ext.ns, `${fe.ip}:8080`)), 'egress default deny for ext');
    assert.ok(ok(await topo.request(fe.ns, `${ext.ip}:8080`)), 'ext is not isolated for ingress');
    await pol('ext-to-fe', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: `${fe.ip}/32` } }] }] }, 'other');
    await np.sync();
    assert.ok(ok(await topo.request(ext.ns, `${fe.ip}:8080`)), 'ipBlock egress allows fe');

    // Labels move: db loses its label → no longer isolated.
    const dbPod = await t.get<Pod>(PODS, 'default', 'db');
    dbPod.metadata!.labels = { app: 'other' };
    await t.update(PODS, 'default', dbPod);
    await new Promise((r) => setTimeout(r, 100));
    await np.sync();
    assert.ok(ok(await topo.request(topo.pods[0].ns, `${db.ip}:8080`)), 'unlabelled pod is open again');
  } finally {
    await np.stop();
  }
  assert.doesNotMatch(topo.exec(topo.node, ['nft', 'list', 'tables']), /kite-netpol-test/);
});
