// The snapshot's incremental aggregates and indexes agree with a from-scratch count
// after any sequence of pod and node changes, assume and forget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { PodInfo } from '../../scheduler/podinfo.js';
import { Snapshot } from '../../scheduler/snapshot.js';
import { Selector } from '../../scheduler/labels.js';
import { info, node, pod } from './scheduler-fixtures.js';

const ZONE = 'topology.kubernetes.io/zone';

test('node order interleaves zones (NodeTree)', () => {
  const s = new Snapshot();
  for (const [n, z] of [['a1', 'a'], ['a2', 'a'], ['a3', 'a'], ['b1', 'b'], ['c1', 'c'], ['c2', 'c']]) s.setNode(node(n, { labels: { [ZONE]: z } }));
  assert.deepEqual(s.nodeList().map((n) => n.name), ['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
  s.removeNode('b1');
  assert.deepEqual(s.nodeList().map((n) => n.name), ['a1', 'c1', 'a2', 'c2', 'a3']);
});

test('assume, confirm, forget', () => {
  const s = new Snapshot();
  s.setNode(node('n', { cpu: '4' }));
  const p = info(pod('p', { cpu: '1', hostPorts: [{ port: 8080 }] }));
  s.assumePod(p.withNodeName('n'));
  assert.equal(s.isAssumed('default/p'), true);
  assert.equal(s.getNode('n')!.requested.milliCPU, 1000);
  assert.equal(s.getNode('n')!.hasPortConflict([{ protocol: 'TCP', port: 8080, ip: '0.0.0.0' }]), true);
  s.forgetPod('default/p');
  assert.equal(s.getNode('n')!.requested.milliCPU, 0);
  assert.equal(s.getNode('n')!.podCount, 0);
  s.assumePod(p.withNodeName('n'));
  s.confirmPod(info(pod('p', { cpu: '1', nodeName: 'n', hostPorts: [{ port: 8080 }], uid: p.uid })));
  assert.equal(s.isAssumed('default/p'), false);
  assert.equal(s.getNode('n')!.requested.milliCPU, 1000);
  assert.equal(s.forgetPod('default/p'), undefined, 'a confirmed pod is not forgotten');
});

test('pods bound to a node the scheduler has not seen yet are kept and counted when it arrives', () => {
  const s = new Snapshot();
  s.addPod(info(pod('early', { nodeName: 'late', cpu: '1', labels: { app: 'a' } })));
  assert.equal(s.numNodes, 0);
  const c = s.counter(new Set(['default']), Selector.fromSet({ app: 'a' }), ZONE, true);
  assert.equal(c.total, 0);
  s.setNode(node('late', { labels: { [ZONE]: 'z' } }));
  assert.equal(s.getNode('late')!.requested.milliCPU, 1000);
  assert.equal(c.byValue.get('z'), 1);
});

test('random changes: counters, term groups and aggregates match a recount', () => {
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const s = new Snapshot();
  const zones = ['a', 'b', 'c'];
  const apps = ['x', 'y', 'z'];
  const nodeNames = Array.from({ length: 8 }, (_, i) => `n${i}`);
  for (const n of nodeNames) s.setNode(node(n, { labels: { [ZONE]: zones[rand(3)] } }));
  const counters = apps.map((a) => s.counter(new Set(['default']), Selector.fromSet({ app: a }), ZONE, true));
  const hostCounters = apps.map((a) => s.counter(undefined, Selector.fromSet({ app: a }), 'kubernetes.io/hostname', false));
  let live = new Map<string, ReturnType<typeof info>>();
  for (let step = 0; step < 2000; step++) {
    const op = rand(10);
    if (op < 5) {
      const name = `p${rand(40)}`;
      const app = apps[rand(3)];
      const anti = rand(3) === 0 ? { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app } }, topologyKey: ZONE }] } } : undefined;
      const p = info(pod(name, { nodeName: nodeNames[rand(8)], cpu: `${1 + rand(3)}00m`, labels: { app }, affinity: anti, ns: rand(5) === 0 ? 'other' : 'default', deleting: rand(10) === 0 }));
      if (rand(2) === 0) s.addPod(p);
      else s.assumePod(p);
      live.set(p.key, p);
    } else if (op < 8) {
      const keys = [...live.keys()];
      if (keys.length === 0) continue;
      const k = keys[rand(keys.length)];
      if (s.isAssumed(k) && rand(2) === 0) s.forgetPod(k);
      else s.removePod(k);
      live.delete(k);
    } else if (op === 8) {
      s.setNode(node(nodeNames[rand(8)], { labels: { [ZONE]: zones[rand(3)] } }));
    } else {
      const n = nodeNames[rand(8)];
      s.removeNode(n);
      s.setNode(node(n, { labels: { [ZONE]: zones[rand(3)] } }));
    }
    live = new Map([...live].filter(([k]) => s.pods.has(k)));
    if (step % 50 !== 0) continue;
    // Recount everything from the pods and nodes.
    for (const [i, app] of apps.entries()) {
      const want = new Map<string, number>();
      const wantHost = new Map<string, number>();
      for (const p of s.pods.values()) {
        const n = s.getNode(p.nodeName);
        if (!n || p.labels.app !== app) continue;
        wantHost.set(n.name, (wantHost.get(n.name) ?? 0) + 1);
        if (p.namespace !== 'default' || p.terminating) continue;
        const z = n.labels[ZONE];
        want.set(z, (want.get(z) ?? 0) + 1);
      }
      assert.deepEqual(new Map([...counters[i].byValue].sort()), new Map([...want].sort()), `zone counter ${app} at step ${step}`);
      assert.deepEqual(new Map([...hostCounters[i].byNode].sort()), new Map([...wantHost].sort()), `host counter ${app} at step ${step}`);
    }
    const groups = new Map<string, number>();
    for (const p of s.pods.values()) {
      const n = s.getNode(p.nodeName);
      for (const t of p.requiredAntiAffinityTerms) {
        const z = n?.labels[ZONE];
        if (z === undefined) continue;
        const k = `${t.selector.signature}|${z}`;
        groups.set(k, (groups.get(k) ?? 0) + 1);
      }
    }
    const got = new Map<string, number>();
    for (const g of s.requiredAntiAffinity.all()) for (const [z, c] of g.counts) got.set(`${g.term.selector.signature}|${z}`, (got.get(`${g.term.selector.signature}|${z}`) ?? 0) + c);
    assert.deepEqual(new Map([...got].sort()), new Map([...groups].sort()), `anti-affinity groups at step ${step}`);
    for (const n of s.nodeList()) {
      let cpu = 0;
      for (const p of s.pods.values()) if (p.nodeName === n.name) cpu += p.requests.milliCPU;
      assert.equal(n.requested.milliCPU, cpu, `requested cpu of ${n.name} at step ${step}`);
    }
  }
});

test('PodInfo.forVersion: a later version keeping the spec object shares what follows from it and equals a PodInfo built anew; any other change builds anew', () => {
  const first: Pod = {
    metadata: { name: 'p', namespace: 'ns', uid: 'u1', labels: { app: 'a' }, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80, hostPort: 8080 }], resources: { requests: { cpu: '250m', memory: '64Mi' } } }],
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'zone', labelSelector: { matchLabels: { app: 'a' } } }] } },
    },
    status: { phase: 'Pending' },
  };
  const base = new PodInfo(first, 10);
  const versions: Pod[] = [
    { ...first, status: { phase: 'Running', startTime: '2024-01-01T00:00:05Z' } },
    { ...first, metadata: { ...first.metadata, deletionTimestamp: '2024-01-01T00:01:00Z' } },
    { ...first, status: { phase: 'Succeeded' } },
    { ...first, metadata: { ...first.metadata, labels: { app: 'b' } } },
    { ...first, metadata: { ...first.metadata, uid: 'u2' } },
    { ...first, spec: { ...first.spec!, nodeName: 'n2' } },
  ];
  for (const [i, v] of versions.entries()) {
    const next = base.forVersion(v, 10);
    assert.ok(next instanceof PodInfo);
    assert.equal(next.pod, v);
    assert.deepEqual({ ...next }, { ...new PodInfo(v, 10) }, `version ${i}`);
  }
  assert.equal(base.forVersion(versions[0], 10).requests, base.requests, 'shared when the spec is kept');
  assert.notEqual(base.forVersion(versions[5], 10).requests, base.requests);
  assert.equal(base.forVersion(versions[0], 20).priority, 20);
  // An assumed copy (placed on another node) gives the version's own node.
  assert.equal(base.withNodeName('n9').forVersion(versions[0], 10).nodeName, 'n1');
  assert.equal(base.pod, first, 'the original is unchanged');
});
