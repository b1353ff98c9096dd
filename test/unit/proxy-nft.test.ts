// The nftables proxy in a private network namespace: the ruleset it writes (checked
// with `nft list`) and real traffic between veth pairs — ClusterIP balancing,
// NodePorts (node address and 127.0.0.1), LoadBalancer IPs, masquerading and source
// preservation, externalTrafficPolicy Local, ClientIP affinity, REJECT without
// endpoints, incremental syncs that touch one Service only, and cleanup.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NftablesProxier } from '../../proxy/nftables.js';
import { NftSession, commandRunner } from '../../proxy/exec.js';
import type { EndpointInfo, ServicePort, ServicePortState } from '../../proxy/model.js';
import { canUseNetns, makeTopology } from './proxy-fixture.js';
import type { Topology } from './proxy-fixture.js';

const skip = canUseNetns();
let topo: Topology;

function sp(name: string, extra: Partial<ServicePort> = {}): ServicePort {
  return {
    id: `default/${name}:http`,
    namespace: 'default',
    name,
    portName: 'http',
    protocol: 'tcp',
    clusterIP: '10.96.0.50',
    port: 80,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    affinitySeconds: 0,
    externalPolicyLocal: false,
    internalPolicyLocal: false,
    rank: `2024-01-01T00:00:00Z|default/${name}`,
    ...extra,
  };
}

function ep(ip: string, extra: Partial<EndpointInfo> = {}): EndpointInfo {
  return { ip, port: 8080, ready: true, serving: true, terminating: false, isLocal: true, ...extra };
}

const names = (answers: string[]) => new Set(answers.map((a) => a.split(' ')[0]));

before(async () => {
  if (skip) return;
  topo = await makeTopology(`kpn${process.pid % 10000}`, 2, 31);
  topo.exec(topo.node, ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.route_localnet=1']);
});

after(() => topo?.destroy());

test('nftables: ClusterIP, NodePort, LoadBalancer, masquerade, Local policy, affinity, reject, incremental, cleanup', { skip }, async () => {
  const run = commandRunner(topo.node);
  const proxier = new NftablesProxier({ run, clusterCIDR: '10.244.0.0/16' });
  const [p1, p2] = topo.pods;
  const web: ServicePortState = {
    svc: sp('web', { nodePort: 30080, loadBalancerIPs: [topo.nodeIP] }),
    endpoints: [ep(p1.ip), ep(p2.ip)],
  };
  const empty: ServicePortState = { svc: sp('empty', { clusterIP: '10.96.0.51', nodePort: 30081 }), endpoints: [] };
  const local: ServicePortState = {
    svc: sp('local', { clusterIP: '10.96.0.52', nodePort: 30082, externalPolicyLocal: true }),
    endpoints: [ep(p1.ip), ep(p2.ip, { isLocal: false })],
  };
  const sticky: ServicePortState = { svc: sp('sticky', { clusterIP: '10.96.0.53', nodePort: 30083, affinitySeconds: 600 }), endpoints: [ep(p1.ip), ep(p2.ip)] };
  const full = await proxier.fullSync([web, empty, local, sticky]);
  assert.ok(full.chainsWritten > 0);

  const listing = topo.exec(topo.node, ['nft', 'list', 'table', 'ip', 'kite-proxy']);
  assert.match(listing, /chain nat-prerouting \{\s+type nat hook prerouting priority dstnat; policy accept;\s+jump services/);
  assert.match(listing, /10\.96\.0\.50 \. tcp \. 80 : goto clusterip-tcp-2/);
  // Even balancing: one shared chain per endpoint count, the endpoints by index in a map.
  assert.match(listing, /chain clusterip-tcp-2 \{\s+ip saddr != 10\.244\.0\.0\/16 jump mark-for-masquerade\s+dnat ip to ip daddr \. meta l4proto \. tcp dport \. numgen random mod 2 map @cluster-ips-tcp/);
  assert.match(listing, /10\.96\.0\.50 \. tcp \. 80 \. 0 : 10\.244\.0\.2 \. 8080/);
  assert.match(listing, /10\.96\.0\.50 \. tcp \. 80 \. 1 : 10\.244\.0\.3 \. 8080/);
  assert.match(listing, /set hairpin \{[^}]*elements = \{ [^}]*10\.244\.0\.2 \. 10\.244\.0\.2/);
  assert.match(listing, /set hairpin \{[^}]*elements = \{ [^}]*10\.244\.0\.3 \. 10\.244\.0\.3/);
  assert.match(listing, /10\.96\.0\.51 \. tcp \. 80 : goto reject-chain/);
  assert.match(listing, /tcp \. 30080 : goto nodeport-tcp-2/);
  // ClientIP affinity: shared sticky chains; one set for every endpoint (client . endpoint
  // id, the id through the conntrack mark), the timeout per element.
  assert.match(listing, /set affinity \{\s+typeof ip saddr \. ct mark\s+size 1048576\s+flags dynamic,timeout/);
  assert.match(listing, /10\.96\.0\.53 \. tcp \. 80 : goto sticky-600-clusterip-tcp-2/);
  assert.match(listing, /ct mark set ip daddr \. meta l4proto \. th dport \. numgen inc mod 1 offset 1 map @affinity-ids ip saddr \. ct mark @affinity update @affinity \{ ip saddr \. ct mark timeout 10m \} ct mark set 0x0+ dnat ip to ip daddr \. meta l4proto \. th dport \. numgen inc mod 1 offset 1 map @cluster-ips-tcp/);

  // ClusterIP from outside the pod network: both endpoints, source masqueraded to the bridge address.
  const fromClient = await topo.request(topo.client, '10.96.0.50:80', 30);
  assert.deepEqual(names(fromClient), new Set(['pod1', 'pod2']), `even balancing: ${fromClient.join('; ')}`);
  assert.ok(fromClient.every((a) => a.endsWith(' 10.244.0.1')), 'off-cluster traffic is masqueraded');
  // From a pod: no masquerade (source kept), and hairpin (pod1 reaching itself) works.
  const fromPod = await topo.request(p1.ns, '10.96.0.50:80', 16);
  assert.deepEqual(names(fromPod), new Set(['pod1', 'pod2']));
  assert.ok(fromPod.filter((a) => a.startsWith('pod2')).every((a) => a.endsWith(` ${p1.ip}`)), 'pod source preserved');
  assert.ok(fromPod.filter((a) => a.startsWith('pod1')).every((a) => a.endsWith(' 10.244.0.1')), 'hairpin is masqueraded');
  // From the node itself.
  assert.match((await topo.request(topo.node, '10.96.0.50:80'))[0], /^pod[12] /);

  // NodePort: on the node address from outside, from the node on 127.0.0.1 and its own address.
  assert.match((await topo.request(topo.client, `${topo.nodeIP}:30080`))[0], /^pod[12] 10\.244\.0\.1$/);
  assert.match((await topo.request(topo.node, '127.0.0.1:30080'))[0], /^pod[12] /);
  assert.match((await topo.request(topo.node, `${topo.nodeIP}:30080`))[0], /^pod[12] /);
  // LoadBalancer ingress IP (the node's address) on the service port.
  assert.match((await topo.request(topo.client, `${topo.nodeIP}:80`))[0], /^pod[12] /);

  // No endpoints: connections are refused, on the ClusterIP and the NodePort.
  assert.deepEqual(await topo.request(topo.client, '10.96.0.51:80'), ['ERR ECONNREFUSED']);
  assert.deepEqual(await topo.request(topo.client, `${topo.nodeIP}:30081`), ['ERR ECONNREFUSED']);

  // externalTrafficPolicy Local: only the local endpoint, client source preserved.
  const viaLocal = await topo.request(topo.client, `${topo.nodeIP}:30082`, 12);
  assert.deepEqual([...new Set(viaLocal)], [`pod1 ${topo.clientIP}`]);
  // ...but the ClusterIP still balances over both.
  assert.deepEqual(names(await topo.request(topo.client, '10.96.0.52:80', 24)), new Set(['pod1', 'pod2']));

  // ClientIP affinity: one client keeps one endpoint.
  const stuck = await topo.request(topo.client, '10.96.0.53:80', 12);
  assert.equal(names(stuck).size, 1, stuck.join('; '));
  // ...and the same one on its NodePort (the endpoint's id is the same through every entry point; masqueraded).
  const stuckNodePort = await topo.request(topo.client, `${topo.nodeIP}:30083`, 6);
  assert.deepEqual(names(stuckNodePort), names(stuck), `the same endpoint: ${stuckNodePort.join('; ')}`);
  assert.ok(stuckNodePort.every((a) => a.endsWith(' 10.244.0.1')), `NodePort traffic is masqueraded: ${stuckNodePort.join('; ')}`);
  assert.match(topo.exec(topo.node, ['nft', 'list', 'set', 'ip', 'kite-proxy', 'affinity']), new RegExp(`elements = \\{ ${topo.clientIP.replace(/\./g, '\\.')} \\. 0x[0-9a-f]+ timeout 10m expires`));
  // The mark was only borrowed: the connections carry none.
  assert.doesNotMatch(topo.exec(topo.node, ['cat', '/proc/net/nf_conntrack']), /mark=[1-9]/);

  // The client's endpoint leaves `sticky`: its affinity element is left behind (it
  // times out) but nothing matches it any more — the client goes to the other pod.
  const stuckTo = [...names(stuck)][0];
  const remaining = stuckTo === 'pod1' ? p2.ip : p1.ip;
  await proxier.partialSync(new Map([[sticky.svc.id, { ...sticky, endpoints: [ep(remaining)] }]]));
  const moved = await topo.request(topo.client, '10.96.0.53:80', 4);
  assert.deepEqual(names(moved), new Set([stuckTo === 'pod1' ? 'pod2' : 'pod1']), moved.join('; '));
  await proxier.partialSync(new Map([[sticky.svc.id, sticky]]));

  // Incremental: pod2 leaves `web`. Only web's chains are written; traffic follows at once.
  const otherElements = () => topo.exec(topo.node, ['nft', 'list', 'map', 'ip', 'kite-proxy', 'cluster-ips-tcp']).split('\n').filter((l) => l.includes('10.96.0.52 . tcp . 80')).join('\n');
  const before = otherElements();
  const inc = await proxier.partialSync(new Map([[web.svc.id, { ...web, endpoints: [ep(p1.ip)] }]]));
  assert.equal(inc.chainsWritten, 3, 'only the shared chains for one endpoint (clusterip-, external-, nodeport-tcp-1) are new');
  assert.ok(inc.elementsChanged <= 10, `a handful of elements: ${inc.elementsChanged}`);
  assert.deepEqual(names(await topo.request(topo.client, '10.96.0.50:80', 10)), new Set(['pod1']));
  assert.equal(otherElements(), before, 'other services untouched');
  const afterInc = topo.exec(topo.node, ['nft', 'list', 'table', 'ip', 'kite-proxy']);
  assert.match(afterInc, /10\.96\.0\.50 \. tcp \. 80 : goto clusterip-tcp-1/);
  assert.match(afterInc, /10\.96\.0\.50 \. tcp \. 80 \. 0 : 10\.244\.0\.2 \. 8080/);
  assert.doesNotMatch(afterInc, /10\.96\.0\.50 \. tcp \. 80 \. 1 :/);

  // A service gains endpoints: rejected → served.
  await proxier.partialSync(new Map([[empty.svc.id, { ...empty, endpoints: [ep(p2.ip)] }]]));
  assert.deepEqual(await topo.request(topo.client, '10.96.0.51:80'), ['pod2 10.244.0.1']);
  assert.match((await topo.request(topo.client, `${topo.nodeIP}:30081`))[0], /^pod2 /);

  // A service goes: its elements go at once, its chains a moment later.
  await proxier.partialSync(new Map([[sticky.svc.id, undefined]]));
  const t1 = await topo.request(topo.client, '10.96.0.53:80');
  assert.ok(t1[0] === 'TIMEOUT' || t1[0].startsWith('ERR'), `gone service not answered: ${t1[0]}`);
  await new Promise((r) => setTimeout(r, 1100));
  await proxier.deleteStaleChains();
  assert.doesNotMatch(topo.exec(topo.node, ['nft', 'list', 'table', 'ip', 'kite-proxy']), /default\/sticky/);

  // A full resync keeps everything working and reports the whole table.
  const again = await proxier.fullSync([{ ...web, endpoints: [ep(p1.ip)] }, { ...empty, endpoints: [ep(p2.ip)] }, local]);
  assert.ok(again.chainsWritten >= 4);
  assert.match((await topo.request(topo.client, '10.96.0.51:80'))[0], /^pod2 /);

  await proxier.cleanup();
  assert.doesNotMatch(topo.exec(topo.node, ['nft', 'list', 'tables']), /kite-proxy/);
});

test('nftables: two Services claiming one LB address — the older wins, the other takes over when it goes; balancing through the shared chain', { skip }, async () => {
  const run = commandRunner(topo.node);
  const proxier = new NftablesProxier({ run, clusterCIDR: '10.244.0.0/16' });
  const [p1, p2] = topo.pods;
  const a: ServicePortState = { svc: sp('a', { clusterIP: '10.96.0.60', port: 81, loadBalancerIPs: [topo.nodeIP], rank: '2024-01-01T00:00:00Z|default/a' }), endpoints: [ep(p1.ip)] };
  const b: ServicePortState = { svc: sp('b', { clusterIP: '10.96.0.61', port: 81, loadBalancerIPs: [topo.nodeIP], rank: '2024-02-01T00:00:00Z|default/b' }), endpoints: [ep(p2.ip)] };
  const both: ServicePortState = { svc: sp('both', { clusterIP: '10.96.0.62' }), endpoints: [ep(p1.ip), ep(p2.ip)] };
  await proxier.fullSync([b, a, both]);
  assert.match((await topo.request(topo.client, `${topo.nodeIP}:81`))[0], /^pod1 /);
  assert.match(topo.exec(topo.node, ['nft', 'list', 'chain', 'ip', 'kite-proxy', 'clusterip-tcp-2']), /numgen random mod 2 map @cluster-ips-tcp/);
  assert.deepEqual(names(await topo.request(topo.client, '10.96.0.62:80', 24)), new Set(['pod1', 'pod2']));
  await proxier.partialSync(new Map([[a.svc.id, undefined]]));
  assert.match((await topo.request(topo.client, `${topo.nodeIP}:81`))[0], /^pod2 /);
  await proxier.cleanup();
});

test('nftables: ClientIP affinity with its set full — new clients are still served, without affinity', { skip }, async () => {
  const run = commandRunner(topo.node);
  const proxier = new NftablesProxier({ run, clusterCIDR: '10.244.0.0/16', affinitySetSize: 1, table: 'kite-proxy-full' });
  const [p1, p2] = topo.pods;
  const sticky: ServicePortState = { svc: sp('sticky', { clusterIP: '10.96.0.70', affinitySeconds: 600 }), endpoints: [ep(p1.ip), ep(p2.ip)] };
  await proxier.fullSync([sticky]);
  // The first client takes the set's only entry and keeps its endpoint.
  const first = await topo.request(topo.client, '10.96.0.70:80', 4);
  assert.equal(names(first).size, 1, first.join('; '));
  // Another client (the node itself) finds the set full: the last endpoint serves it.
  const second = await topo.request(topo.node, '10.96.0.70:80', 4);
  assert.deepEqual(names(second), new Set(['pod2']), second.join('; '));
  assert.match(topo.exec(topo.node, ['nft', 'list', 'set', 'ip', 'kite-proxy-full', 'affinity']), new RegExp(`size 1\\s[\\s\\S]*elements = \\{ ${topo.clientIP.replace(/\./g, '\\.')} \\. 0x[0-9a-f]+ timeout`));
  await proxier.cleanup();
});

test('nftables: ClientIP affinity leaves the mark of a connection someone else marked — balanced without affinity', { skip }, async () => {
  const run = commandRunner(topo.node);
  const proxier = new NftablesProxier({ run, clusterCIDR: '10.244.0.0/16', table: 'kite-proxy-marked' });
  const [p1, p2] = topo.pods;
  await proxier.fullSync([{ svc: sp('sticky', { clusterIP: '10.96.0.71', affinitySeconds: 600 }), endpoints: [ep(p1.ip), ep(p2.ip)] }]);
  // Another program marks these connections before DNAT.
  topo.exec(topo.node, ['nft', 'add table ip other-marks; add chain ip other-marks pre { type filter hook prerouting priority -150; }; add rule ip other-marks pre ip daddr 10.96.0.71 ct mark set 7']);
  try {
    const answers = await topo.request(topo.client, '10.96.0.71:80', 16);
    assert.deepEqual(names(answers), new Set(['pod1', 'pod2']), answers.join('; '));
    assert.match(topo.exec(topo.node, ['cat', '/proc/net/nf_conntrack']), /dst=10\.96\.0\.71 .*mark=7/);
    assert.doesNotMatch(topo.exec(topo.node, ['nft', 'list', 'set', 'ip', 'kite-proxy-marked', 'affinity']), /elements/);
  } finally {
    topo.exec(topo.node, ['nft', 'delete table ip other-marks']);
    await proxier.cleanup();
  }
});

test('nftables: scoped to the pod bridge, ClusterIPs answer only this node\'s pods and the host', { skip }, async () => {
  const run = commandRunner(topo.node);
  const proxier = new NftablesProxier({ run, clusterCIDR: '10.244.0.0/24', serviceCIDR: '10.96.0.0/12', podInterfaces: ['kite0'], table: 'kite-proxy-scoped' });
  const [p1, p2] = topo.pods;
  await proxier.fullSync([{ svc: sp('scoped', { clusterIP: '10.96.0.70', nodePort: 30170 }), endpoints: [ep(p2.ip)] }]);
  try {
    assert.match(topo.exec(topo.node, ['nft', 'list', 'chain', 'ip', 'kite-proxy-scoped', 'nat-prerouting']), /iifname != "kite0" ip daddr 10\.96\.0\.0\/12 return/);
    assert.match((await topo.request(p1.ns, '10.96.0.70:80'))[0], /^pod2 /, 'from a pod on the bridge');
    assert.match((await topo.request(topo.node, '10.96.0.70:80'))[0], /^pod2 /, 'from the host');
    assert.doesNotMatch((await topo.request(topo.client, '10.96.0.70:80'))[0], /^pod/, 'not from elsewhere');
    assert.match((await topo.request(topo.client, `${topo.nodeIP}:30170`))[0], /^pod2 /, 'NodePorts still from anywhere');
  } finally {
    await proxier.cleanup();
  }
});

test('NftSession: one nft -i for many transactions; a failed one rejects with nft\'s message and leaves the session usable', { skip }, async () => {
  const session = new NftSession(topo.node);
  try {
    await session.apply('add table ip kite-session-test\nadd chain ip kite-session-test c\n');
    const pid = session.pid;
    await assert.rejects(session.apply('add rule ip kite-session-test c bogus stuff\n'), /nft failed: [\s\S]*Error: /);
    // Atomic: the good first line of a failing transaction is not applied either.
    await assert.rejects(session.apply('add chain ip kite-session-test d\nadd rule ip kite-session-test nope accept\n'), /No such file or directory/);
    await session.apply('add rule ip kite-session-test c counter accept\n');
    assert.equal(session.pid, pid, 'the same process throughout');
    const listing = topo.exec(topo.node, ['nft', 'list', 'table', 'ip', 'kite-session-test']);
    assert.match(listing, /chain c \{\s+counter packets \d+ bytes \d+ accept\s+\}/);
    assert.doesNotMatch(listing, /chain d/);
    await session.apply('delete table ip kite-session-test\n');
  } finally {
    session.close();
  }
});

test('NftSession: a streamed transaction is one atomic batch; one whose producer fails or whose nft dies commits nothing, and the session goes on', { skip }, async () => {
  const session = new NftSession(topo.node);
  try {
    await session.apply('add table ip kite-stream-test\n');
    // Larger than a pipe's buffer, written in pieces with pauses between them.
    const elements = Array.from({ length: 20000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`);
    await session.applyStreamed(async (write) => {
      await write('add set ip kite-stream-test big { type ipv4_addr; }\n');
      for (let i = 0; i < elements.length; i += 2000) {
        await write(`add element ip kite-stream-test big { ${elements.slice(i, i + 2000).join(', ')} }\n`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    });
    const listing = topo.exec(topo.node, ['nft', 'list', 'set', 'ip', 'kite-stream-test', 'big']);
    assert.equal(listing.match(/10\.\d+\.\d+\.1\b/g)?.length, elements.length);

    await assert.rejects(
      session.applyStreamed(async (write) => {
        await write('add chain ip kite-stream-test half\n');
        throw new Error('rendering failed');
      }),
      /rendering failed/,
    );
    await assert.rejects(session.applyStreamed(async (write) => write('add rule ip kite-stream-test nope accept\n')), /nft failed: [\s\S]*Error: /);
    // nft gone in the middle: the transaction rejects, and the next one starts a new nft.
    await assert.rejects(
      session.applyStreamed(async (write) => {
        await write('add chain ip kite-stream-test killed\n');
        process.kill(session.pid!, 'SIGKILL');
        for (let i = 0; i < 50; i++) await write(`# ${'x'.repeat(65536)}\n`);
      }),
    );
    await session.apply('add chain ip kite-stream-test whole\n');
    const table = topo.exec(topo.node, ['nft', 'list', 'table', 'ip', 'kite-stream-test']);
    assert.doesNotMatch(table, /chain (half|killed)/, 'nothing of the failed transactions');
    assert.match(table, /chain whole/);
    await session.apply('delete table ip kite-stream-test\n');
  } finally {
    session.close();
  }
});
