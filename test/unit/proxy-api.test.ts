// The proxy as a node component: Services and pods in an in-process API, the
// EndpointSlice controller making slices, startProxy() programming a private network
// namespace — and traffic following readiness. Also the iptables fallback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Mutable } from '../../machinery/object.js';
import { startControllerManager } from '../../controllers/manager.js';
import { NETWORKING_CONTROLLERS } from '../../controllers/networking.js';
import { ServiceAllocator } from '../../apiserver/allocators.js';
import { startProxy } from '../../proxy/index.js';
import { IptablesProxier } from '../../proxy/iptables.js';
import { commandRunner } from '../../proxy/exec.js';
import type { ApiTransport } from '../../client/transport.js';
import { PODS, res, startCluster } from './client-fixture.js';
import { canUseNetns, makeTopology } from './proxy-fixture.js';
import type { Topology } from './proxy-fixture.js';

const SERVICES = res('', 'v1', 'services');
const skip = canUseNetns();
let topo: Topology;

before(async () => {
  if (skip) return;
  topo = await makeTopology(`kpa${process.pid % 10000}`, 2, 32);
});
after(() => topo?.destroy());

async function setReady(t: ApiTransport, name: string, ip: string, ready: boolean): Promise<void> {
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

test('startProxy: Services and slices from the API become rules; readiness changes are synced incrementally', { skip }, async () => {
  const cluster = await startCluster(['default']);
  new ServiceAllocator(cluster.registry, '10.96.0.0/12').install();
  const t = cluster.transport;
  const cm = await startControllerManager(t, NETWORKING_CONTROLLERS);
  const proxy = await startProxy({ transport: t, nodeName: 'node-1', nodeIP: topo.nodeIP, clusterCIDR: '10.244.0.0/16', netns: topo.node });
  try {
    assert.equal(proxy.backend, 'nftables');
    const svc = await t.create<Service>(SERVICES, 'default', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    const ip = svc.spec!.clusterIP!;
    const nodePort = svc.spec!.ports![0].nodePort!;
    for (const [i, p] of topo.pods.entries()) {
      await t.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `web-${i}`, namespace: 'default', labels: { app: 'web' } }, spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'busybox' }] } });
      await setReady(t, `web-${i}`, p.ip, true);
    }
    await proxy.ready;
    await until('both pods behind the ClusterIP', async () => {
      const a = await topo.request(topo.client, `${ip}:80`, 12);
      return new Set(a.map((x) => x.split(' ')[0])).size === 2;
    });
    assert.match((await topo.request(topo.node, `127.0.0.1:${nodePort}`))[0], /^pod[12] /);

    // pod2 stops being ready: from then on no new connection reaches it (an incremental sync of that Service).
    await setReady(t, 'web-1', topo.pods[1].ip, false);
    await until('only pod1', async () => {
      const a = await topo.request(topo.client, `${ip}:80`, 8);
      return a.every((x) => x.startsWith('pod1 '));
    });
    const partials = proxy.history.filter((h) => h.kind === 'partial');
    assert.ok(partials.length > 0, 'incremental syncs happened');
    assert.ok(partials.every((h) => h.services <= 2), 'each touched only the changed Service');

    // The Service goes: the rules go.
    await t.delete(SERVICES, 'default', 'web');
    await until('service rules removed', async () => !topo.exec(topo.node, ['nft', 'list', 'map', 'ip', 'kite-proxy', 'service-ips']).includes(ip));
  } finally {
    await proxy.stop();
    await cm.stop();
    await cluster.close();
  }
  assert.doesNotMatch(topo.exec(topo.node, ['nft', 'list', 'tables']), /kite-proxy/, 'stop() removes the table');
});

test('iptables fallback: ClusterIP balancing, NodePort, reject, cleanup', { skip }, async () => {
  const run = commandRunner(topo.node);
  const proxier = new IptablesProxier({ run, clusterCIDR: '10.244.0.0/16' });
  const base = { namespace: 'default', portName: 'http', protocol: 'tcp' as const, port: 80, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], affinitySeconds: 0, externalPolicyLocal: false, internalPolicyLocal: false };
  const eps = topo.pods.map((p) => ({ ip: p.ip, port: 8080, ready: true, serving: true, terminating: false, isLocal: true }));
  await proxier.fullSync([
    { svc: { ...base, id: 'default/a:http', name: 'a', clusterIP: '10.96.1.1', nodePort: 30100, rank: '1' }, endpoints: eps },
    { svc: { ...base, id: 'default/b:http', name: 'b', clusterIP: '10.96.1.2', rank: '2' }, endpoints: [] },
  ]);
  const answers = await topo.request(topo.client, '10.96.1.1:80', 24);
  assert.deepEqual(new Set(answers.map((a) => a.split(' ')[0])), new Set(['pod1', 'pod2']));
  assert.ok(answers.every((a) => a.endsWith(' 10.244.0.1')), 'masqueraded');
  assert.match((await topo.request(topo.client, `${topo.nodeIP}:30100`))[0], /^pod[12] /);
  assert.match((await topo.request(topo.node, '127.0.0.1:30100'))[0], /^pod[12] /);
  assert.deepEqual(await topo.request(topo.client, '10.96.1.2:80'), ['ERR ECONNREFUSED']);
  await proxier.partialSync(new Map([['default/a:http', { svc: { ...base, id: 'default/a:http', name: 'a', clusterIP: '10.96.1.1', nodePort: 30100, rank: '1' }, endpoints: eps.slice(0, 1) }]]));
  assert.deepEqual(new Set((await topo.request(topo.client, '10.96.1.1:80', 8)).map((a) => a.split(' ')[0])), new Set(['pod1']));
  assert.match(topo.exec(topo.node, ['iptables-save', '-t', 'nat']), /KITE-SEP-/);
  await proxier.cleanup();
  assert.doesNotMatch(topo.exec(topo.node, ['iptables-save']), /KITE-/);
});
