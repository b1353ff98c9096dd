// The nftables proxier's delta computation, without a kernel: every transaction it
// would send to nft is recorded, and the tests check which chains, sets and map
// elements a change to one Service or endpoint writes — and that nothing else is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NftablesProxier, renderServicePort, sharedChainRules } from '../../proxy/nftables.js';
import type { EndpointInfo, ServicePort, ServicePortState } from '../../proxy/model.js';

function sp(name: string, extra: Partial<ServicePort> = {}): ServicePort {
  return {
    id: `default/${name}:http`,
    namespace: 'default',
    name,
    portName: 'http',
    protocol: 'tcp',
    clusterIP: '10.96.0.10',
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

function svc(i: number, endpoints: EndpointInfo[], extra: Partial<ServicePort> = {}): ServicePortState {
  return { svc: sp(`s${i}`, { clusterIP: `10.96.${i >> 8}.${i & 255}`, ...extra }), endpoints };
}

/** A proxier that records its transactions (one string each) instead of running nft. */
function recording(): { proxier: NftablesProxier; txns: string[]; last(): string[] } {
  const txns: string[] = [];
  const proxier = new NftablesProxier({
    run: () => Promise.reject(new Error('no nft in this test')),
    clusterCIDR: '10.244.0.0/16',
    apply: async (script) => {
      txns.push(script);
    },
  });
  return { proxier, txns, last: () => txns[txns.length - 1].trim().split('\n') };
}

/** The element lists of a transaction, as `verb map → [items]` (chunked statements joined). */
function elements(lines: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of lines) {
    const m = /^(add|delete) element ip kite-proxy (\S+) \{ (.*) \}$/.exec(l);
    if (!m) continue;
    const k = `${m[1]} ${m[2]}`;
    out.set(k, [...(out.get(k) ?? []), ...m[3].split(', ')]);
  }
  return out;
}

const nonElement = (lines: string[]) => lines.filter((l) => !/^(add|delete) element /.test(l));

test('render: plain Services need no chains of their own — map elements and a shared chain per endpoint count', () => {
  const r = renderServicePort(svc(1, [ep('10.244.0.2'), ep('10.244.0.3')], { nodePort: 30001 }), { clusterCIDR: '10.244.0.0/16' });
  assert.equal(r.chains.size, 0);
  assert.deepEqual([...r.shared].sort(), ['clusterip-tcp-2', 'nodeport-tcp-2']);
  assert.deepEqual(
    r.elements.map((e) => `${e.map} ${e.key}${e.value ? ` : ${e.value}` : ''}`),
    [
      'service-ips 10.96.0.1 . tcp . 80 : goto clusterip-tcp-2',
      'cluster-ips-tcp 10.96.0.1 . tcp . 80 . 0 : 10.244.0.2 . 8080',
      'cluster-ips-tcp 10.96.0.1 . tcp . 80 . 1 : 10.244.0.3 . 8080',
      'service-nodeports tcp . 30001 : goto nodeport-tcp-2',
      'cluster-nodeports-tcp tcp . 30001 . 0 : 10.244.0.2 . 8080',
      'cluster-nodeports-tcp tcp . 30001 . 1 : 10.244.0.3 . 8080',
      'hairpin 10.244.0.2 . 10.244.0.2',
      'hairpin 10.244.0.3 . 10.244.0.3',
    ],
  );
  assert.deepEqual(sharedChainRules('clusterip-tcp-2', { clusterCIDR: '10.244.0.0/16' }), [
    'ip saddr != 10.244.0.0/16 jump mark-for-masquerade',
    'dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @cluster-ips-tcp',
  ]);
  // Local external policy: pods and the node itself use all endpoints, others the local ones.
  assert.deepEqual(sharedChainRules('nodeport-local-udp-3-1', { clusterCIDR: '10.244.0.0/16' }), [
    'ip saddr 10.244.0.0/16 ip version 4 dnat ip to meta l4proto . th dport . numgen random mod 3 map @cluster-nodeports-udp',
    'fib saddr type local jump mark-for-masquerade',
    'fib saddr type local ip version 4 dnat ip to meta l4proto . th dport . numgen random mod 3 map @cluster-nodeports-udp',
    'ip version 4 dnat ip to meta l4proto . th dport . numgen random mod 1 map @local-nodeports-udp',
  ]);
  assert.equal(sharedChainRules('service-ABCD-default/x/tcp/http', {}), undefined);
});

test('full sync: one transaction with the whole table; a resync flushes and refills the maps', async () => {
  const { proxier, txns, last } = recording();
  const states = [svc(1, [ep('10.244.0.2'), ep('10.244.0.3')]), svc(2, [ep('10.244.0.4')]), svc(3, [])];
  const stats = await proxier.fullSync(states);
  assert.equal(txns.length, 1);
  const lines = last();
  assert.deepEqual(lines.slice(0, 2), ['add table ip kite-proxy', 'delete table ip kite-proxy']);
  assert.ok(lines.includes('add chain ip kite-proxy clusterip-tcp-2') && lines.includes('add chain ip kite-proxy clusterip-tcp-1'));
  assert.equal(stats.chainsWritten, 2);
  const els = elements(lines);
  assert.deepEqual(els.get('add service-ips')?.sort(), ['10.96.0.1 . tcp . 80 : goto clusterip-tcp-2', '10.96.0.2 . tcp . 80 : goto clusterip-tcp-1']);
  assert.deepEqual(els.get('add no-endpoint-services'), ['10.96.0.3 . tcp . 80 : goto reject-chain']);
  assert.equal(els.get('add cluster-ips-tcp')?.length, 3);
  assert.ok(!lines.some((l) => l.startsWith('flush map')), 'a fresh table has nothing to flush');

  await proxier.fullSync(states);
  const again = last();
  assert.ok(!again.includes('delete table ip kite-proxy'), 'a resync keeps the table (and the affinity sets in it)');
  assert.ok(again.includes('flush map ip kite-proxy service-ips') && again.includes('flush chain ip kite-proxy clusterip-tcp-2'));
  assert.equal(elements(again).get('add cluster-ips-tcp')?.length, 3);
});

test('full resync: what it writes equals a fresh full sync of the same states, after changes, removals and partial syncs', async () => {
  const a = svc(1, [ep('10.244.0.2'), ep('10.244.0.3')], { nodePort: 30001 });
  const b = svc(2, [ep('10.244.0.4')], { affinitySeconds: 300 });
  const c = svc(3, [ep('10.244.0.5')], { loadBalancerIPs: ['192.0.2.1'] });
  const d = svc(4, [ep('10.244.0.6')], { loadBalancerIPs: ['192.0.2.1'], rank: '2023-01-01T00:00:00Z|default/s4' });
  const { proxier, last } = recording();
  await proxier.fullSync([a, b, c]);
  await proxier.partialSync(new Map([[a.svc.id, svc(1, [ep('10.244.0.2')], { nodePort: 30001 })]]));
  // The resync: a back to two endpoints (a fresh copy of the same state), b unchanged, c gone, d (older, same LB address) new.
  const now = [svc(1, [ep('10.244.0.2'), ep('10.244.0.3')], { nodePort: 30001 }), svc(2, [ep('10.244.0.4')], { affinitySeconds: 300 }), d];
  await proxier.fullSync(now);
  const resync = last();
  const fresh = recording();
  await fresh.proxier.fullSync(now);
  const sorted = (lines: string[]) => new Map([...elements(lines)].map(([k, v]) => [k, [...v].sort()]));
  assert.deepEqual(sorted(resync), sorted(fresh.last()));
  assert.deepEqual(elements(resync).get('add cluster-ips-tcp')?.filter((e) => e.startsWith('192.0.2.1 ')), ['192.0.2.1 . tcp . 80 . 0 : 10.244.0.6 . 8080']);
  // b's endpoint keeps the affinity id it had (the fresh proxier hands out the same first id).
  assert.deepEqual(elements(resync).get('add affinity-ids'), elements(fresh.last()).get('add affinity-ids'));
  assert.equal(elements(resync).get('add affinity-ids')?.length, 1);
});

test('partial sync: adding a Service writes its elements only; a new endpoint count adds one shared chain', async () => {
  const { proxier, txns, last } = recording();
  await proxier.fullSync([svc(1, [ep('10.244.0.2'), ep('10.244.0.3')]), svc(2, [ep('10.244.0.4'), ep('10.244.0.5')])]);

  // Same endpoint count as existing Services: no chain work at all.
  let stats = await proxier.partialSync(new Map([[sp('s3').id, svc(3, [ep('10.244.0.6'), ep('10.244.0.7')])]]));
  assert.deepEqual(nonElement(last()), []);
  assert.equal(stats.chainsWritten, 0);
  assert.deepEqual(
    Object.fromEntries(elements(last())),
    {
      'add service-ips': ['10.96.0.3 . tcp . 80 : goto clusterip-tcp-2'],
      'add cluster-ips-tcp': ['10.96.0.3 . tcp . 80 . 0 : 10.244.0.6 . 8080', '10.96.0.3 . tcp . 80 . 1 : 10.244.0.7 . 8080'],
      'add hairpin': ['10.244.0.6 . 10.244.0.6', '10.244.0.7 . 10.244.0.7'],
    },
  );
  assert.equal(stats.elementsChanged, 5);

  // Three endpoints: the shared chain for 3 is made in the same transaction, before the element that jumps to it.
  stats = await proxier.partialSync(new Map([[sp('s4').id, svc(4, [ep('10.244.0.8'), ep('10.244.0.9'), ep('10.244.0.10')])]]));
  const lines = last();
  assert.deepEqual(nonElement(lines), [
    'add chain ip kite-proxy clusterip-tcp-3',
    'add rule ip kite-proxy clusterip-tcp-3 ip saddr != 10.244.0.0/16 jump mark-for-masquerade',
    'add rule ip kite-proxy clusterip-tcp-3 dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3 map @cluster-ips-tcp',
  ]);
  assert.equal(stats.chainsWritten, 1);
  assert.equal(txns.length, 3);
});

test('partial sync: an endpoint change rewrites only the elements that differ', async () => {
  const { proxier, last } = recording();
  await proxier.fullSync([svc(1, [ep('10.244.0.2'), ep('10.244.0.3')], { nodePort: 30001 }), svc(2, [ep('10.244.0.4'), ep('10.244.0.5')])]);

  // 10.244.0.3 replaced by 10.244.0.6: index 1 of the ClusterIP and the NodePort, and the hairpin pair.
  await proxier.partialSync(new Map([[sp('s1').id, svc(1, [ep('10.244.0.2'), ep('10.244.0.6')], { nodePort: 30001 })]]));
  assert.deepEqual(nonElement(last()), []);
  assert.deepEqual(Object.fromEntries(elements(last())), {
    'delete cluster-ips-tcp': ['10.96.0.1 . tcp . 80 . 1'],
    'delete cluster-nodeports-tcp': ['tcp . 30001 . 1'],
    'delete hairpin': ['10.244.0.3 . 10.244.0.3'],
    'add cluster-ips-tcp': ['10.96.0.1 . tcp . 80 . 1 : 10.244.0.6 . 8080'],
    'add cluster-nodeports-tcp': ['tcp . 30001 . 1 : 10.244.0.6 . 8080'],
    'add hairpin': ['10.244.0.6 . 10.244.0.6'],
  });

  // Down to one endpoint: the dispatch elements point at the chains for 1, index 1 goes.
  await proxier.partialSync(new Map([[sp('s1').id, svc(1, [ep('10.244.0.2')], { nodePort: 30001 })]]));
  const els = elements(last());
  assert.deepEqual(els.get('delete service-ips'), ['10.96.0.1 . tcp . 80']);
  assert.deepEqual(els.get('add service-ips'), ['10.96.0.1 . tcp . 80 : goto clusterip-tcp-1']);
  assert.deepEqual(els.get('add service-nodeports'), ['tcp . 30001 : goto nodeport-tcp-1']);
  assert.deepEqual(els.get('delete cluster-ips-tcp'), ['10.96.0.1 . tcp . 80 . 1']);
  assert.equal(els.get('add cluster-ips-tcp'), undefined, 'index 0 is unchanged');
  // nodeport-tcp-2 has no user left: flushed now, deleted after the grace period.
  assert.ok(last().includes('flush chain ip kite-proxy nodeport-tcp-2'));
  assert.ok(!last().includes('flush chain ip kite-proxy clusterip-tcp-2'), 'still used by s2');

  // Nothing changed: no transaction at all.
  const stats = await proxier.partialSync(new Map([[sp('s2').id, svc(2, [ep('10.244.0.4'), ep('10.244.0.5')])]]));
  assert.deepEqual(stats, { chainsWritten: 0, elementsChanged: 0, scriptBytes: 0 });
});

test('partial sync: losing every endpoint swaps the dispatch element for a reject; removing a Service deletes its elements', async () => {
  const { proxier, last } = recording();
  await proxier.fullSync([svc(1, [ep('10.244.0.2')]), svc(2, [ep('10.244.0.2')])]);

  await proxier.partialSync(new Map([[sp('s1').id, svc(1, [])]]));
  assert.deepEqual(Object.fromEntries(elements(last())), {
    'delete service-ips': ['10.96.0.1 . tcp . 80'],
    'delete cluster-ips-tcp': ['10.96.0.1 . tcp . 80 . 0'],
    'add no-endpoint-services': ['10.96.0.1 . tcp . 80 : goto reject-chain'],
  });
  // The hairpin pair stays: s2 still has 10.244.0.2.

  await proxier.partialSync(new Map([[sp('s2').id, undefined]]));
  assert.deepEqual(Object.fromEntries(elements(last())), {
    'delete service-ips': ['10.96.0.2 . tcp . 80'],
    'delete cluster-ips-tcp': ['10.96.0.2 . tcp . 80 . 0'],
    'delete hairpin': ['10.244.0.2 . 10.244.0.2'],
  });
  assert.ok(last().includes('flush chain ip kite-proxy clusterip-tcp-1'), 'unused shared chain flushed');
});

test('partial sync: two Services on one LB address — the older keeps it, the other takes over when it goes', async () => {
  const { proxier, last } = recording();
  const older = svc(1, [ep('10.244.0.2')], { loadBalancerIPs: ['192.0.2.1'], rank: '2024-01-01T00:00:00Z|default/s1' });
  const newer = svc(2, [ep('10.244.0.3')], { loadBalancerIPs: ['192.0.2.1'], rank: '2024-02-01T00:00:00Z|default/s2' });
  await proxier.fullSync([newer, older]);
  const lb = (lines: string[]) => (elements(lines).get('add cluster-ips-tcp') ?? []).filter((e) => e.startsWith('192.0.2.1 '));
  assert.deepEqual(lb(last()), ['192.0.2.1 . tcp . 80 . 0 : 10.244.0.2 . 8080']);
  await proxier.partialSync(new Map([[older.svc.id, undefined]]));
  assert.deepEqual(lb(last()), ['192.0.2.1 . tcp . 80 . 0 : 10.244.0.3 . 8080']);
  assert.deepEqual(elements(last()).get('delete cluster-ips-tcp')?.sort(), ['10.96.0.1 . tcp . 80 . 0', '192.0.2.1 . tcp . 80 . 0']);
});

test('partial sync: ClientIP affinity goes through shared sticky chains, its endpoint ids in map elements; an endpoint change writes elements', async () => {
  const { proxier, last, txns } = recording();
  const sticky = (eps: EndpointInfo[], extra: Partial<ServicePort> = {}) => svc(1, eps, { affinitySeconds: 600, nodePort: 30001, ...extra });
  await proxier.fullSync([sticky([ep('10.244.0.2'), ep('10.244.0.3')]), svc(2, [ep('10.244.0.4')])]);
  const full = last();
  assert.ok(full.includes('add set ip kite-proxy affinity { typeof ip saddr . ct mark; size 1048576; flags dynamic,timeout; }'));
  assert.ok(!full.some((l) => /^add chain ip kite-proxy (service|local|external|firewall)-[0-9A-F]{8}-/.test(l)), 'no chain of its own');
  assert.ok(full.includes('add chain ip kite-proxy sticky-600-clusterip-tcp-2') && full.includes('add chain ip kite-proxy clusterip-tcp-2'));
  const els = elements(full);
  assert.ok(els.get('add service-ips')?.includes('10.96.0.1 . tcp . 80 : goto sticky-600-clusterip-tcp-2'));
  assert.ok(els.get('add service-nodeports')?.includes('tcp . 30001 : goto sticky-600-nodeport-tcp-2'));
  // One id per endpoint, the same through the ClusterIP and the NodePort.
  const idAt = (lines: string[], map: string, key: string) => {
    const e = elements(lines)
      .get(`add ${map}`)
      ?.find((x) => x.startsWith(`${key} : `));
    return e ? Number(e.split(' : ')[1]) : undefined;
  };
  const id2 = idAt(full, 'affinity-ids', '10.96.0.1 . tcp . 80 . 0')!;
  const id3 = idAt(full, 'affinity-ids', '10.96.0.1 . tcp . 80 . 1')!;
  assert.ok(id2 > 0 && id3 > 0 && id2 !== id3);
  assert.equal(idAt(full, 'affinity-nodeport-ids', 'tcp . 30001 . 0'), id2);
  assert.equal(idAt(full, 'affinity-nodeport-ids', 'tcp . 30001 . 1'), id3);
  const id = (i: number) => `ct mark set ip daddr . meta l4proto . th dport . numgen inc mod 1 offset ${i} map @affinity-ids`;
  const remember = 'update @affinity { ip saddr . ct mark timeout 600s } ct mark set 0';
  const to = (i: number) => `dnat ip to ip daddr . meta l4proto . th dport . numgen inc mod 1 offset ${i} map @cluster-ips-tcp`;
  assert.deepEqual(sharedChainRules('sticky-600-clusterip-tcp-2', { clusterCIDR: '10.244.0.0/16' }), [
    'ct mark != 0 goto clusterip-tcp-2',
    'ip saddr != 10.244.0.0/16 jump mark-for-masquerade',
    `${id(0)} ip saddr . ct mark @affinity ${remember} ${to(0)}`,
    `${id(1)} ip saddr . ct mark @affinity ${remember} ${to(1)}`,
    `numgen random mod 2 == 0 ${id(0)} ${remember} ${to(0)}`,
    `${id(1)} ${remember} ${to(1)}`,
    `ct mark set 0 ${to(1)}`,
  ]);
  // Local lists index the same endpoints from LOCAL_INDEX_BASE in the id maps.
  assert.ok(sharedChainRules('sticky-60-nodeport-local-tcp-2-1', {})!.includes('ct mark set meta l4proto . th dport . numgen inc mod 1 offset 65536 map @affinity-nodeport-ids update @affinity { ip saddr . ct mark timeout 60s } ct mark set 0 ip version 4 dnat ip to meta l4proto . th dport . numgen inc mod 1 offset 0 map @local-nodeports-tcp'));

  // An endpoint moves (same count): map elements only, the other endpoint keeps its id.
  await proxier.partialSync(new Map([[sp('s1').id, sticky([ep('10.244.0.5'), ep('10.244.0.3')])]]));
  assert.deepEqual(nonElement(last()), []);
  const id5 = idAt(last(), 'affinity-ids', '10.96.0.1 . tcp . 80 . 0')!;
  assert.ok(![id2, id3].includes(id5), `a new endpoint, a new id: ${id5}`);
  assert.equal(idAt(last(), 'affinity-ids', '10.96.0.1 . tcp . 80 . 1'), undefined, 'index 1 is unchanged');
  assert.deepEqual(elements(last()).get('delete hairpin'), ['10.244.0.2 . 10.244.0.2']);

  // An endpoint leaves: the one left keeps its id at its new index.
  await proxier.partialSync(new Map([[sp('s1').id, sticky([ep('10.244.0.3')])]]));
  assert.equal(idAt(last(), 'affinity-ids', '10.96.0.1 . tcp . 80 . 0'), id3);
  // An endpoint that comes back gets a new id (its old clients are balanced afresh, as
  // with upstream's set per endpoint); so does one whose timeout changed.
  await proxier.partialSync(new Map([[sp('s1').id, sticky([ep('10.244.0.2'), ep('10.244.0.3')])]]));
  const id2b = idAt(last(), 'affinity-ids', '10.96.0.1 . tcp . 80 . 0')!;
  assert.ok(![id2, id3, id5].includes(id2b), `fresh id ${id2b}`);
  assert.equal(idAt(last(), 'affinity-ids', '10.96.0.1 . tcp . 80 . 1'), id3);
  await proxier.partialSync(new Map([[sp('s1').id, sticky([ep('10.244.0.2'), ep('10.244.0.3')], { affinitySeconds: 60 })]]));
  assert.ok(elements(last()).get('add service-ips')?.includes('10.96.0.1 . tcp . 80 : goto sticky-60-clusterip-tcp-2'));
  assert.ok(![id2, id3, id5, id2b].includes(idAt(last(), 'affinity-ids', '10.96.0.1 . tcp . 80 . 0')!));
  // A resync writes the same ids and never flushes the affinity set.
  const ids = elements(last()).get('add affinity-ids');
  const before = txns.length;
  await proxier.fullSync([sticky([ep('10.244.0.2'), ep('10.244.0.3')], { affinitySeconds: 60 }), svc(2, [ep('10.244.0.4')])]);
  assert.equal(txns.length, before + 1);
  assert.ok(!last().some((l) => l.includes('flush set ip kite-proxy affinity')));
  assert.deepEqual(elements(last()).get('add affinity-ids')?.sort(), ids?.sort());
});

test('partial sync: the transaction for one change is the same size with 10 or 2,000 Services', async () => {
  const sizes: number[] = [];
  for (const n of [10, 2000]) {
    const { proxier } = recording();
    const states: ServicePortState[] = [];
    for (let i = 1; i <= n; i++) states.push(svc(i, [ep(`10.244.${i >> 8}.${i & 255}`), ep(`10.245.${i >> 8}.${i & 255}`)]));
    await proxier.fullSync(states);
    const stats = await proxier.partialSync(new Map([[sp('s5').id, svc(5, [ep('10.244.0.5'), ep('10.246.0.5')])]]));
    sizes.push(stats.scriptBytes);
    assert.equal(stats.elementsChanged, 3, 'index 1 replaced (delete + add counts once), hairpin pair swapped');
  }
  assert.equal(sizes[0], sizes[1]);
});

test('a failed transaction makes the next sync a full one', async () => {
  let fail = false;
  const proxier = new NftablesProxier({
    run: () => Promise.reject(new Error('unused')),
    apply: async () => {
      if (fail) throw new Error('nft: boom');
    },
  });
  await proxier.fullSync([svc(1, [ep('10.244.0.2')])]);
  fail = true;
  await assert.rejects(proxier.partialSync(new Map([[sp('s1').id, svc(1, [ep('10.244.0.3')])]])), /boom/);
  await assert.rejects(proxier.partialSync(new Map([[sp('s1').id, svc(1, [ep('10.244.0.3')])]])), /full sync needed first/);
});
