// Every filter plugin on hand-built snapshots: which nodes pass, and the reason
// strings of those that don't (upstream's wording).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, node, nodeOf, pod } from './scheduler-fixtures.js';

const ZONES = [
  node('a1', { labels: { 'topology.kubernetes.io/zone': 'a', disk: 'ssd', gen: '3' } }),
  node('a2', { labels: { 'topology.kubernetes.io/zone': 'a', disk: 'hdd', gen: '5' } }),
  node('b1', { labels: { 'topology.kubernetes.io/zone': 'b', gen: '7' } }),
];

test('NodeResourcesFit: cpu, memory, ephemeral-storage and pod count', () => {
  const h = harness([node('small', { cpu: '1', memory: '1Gi', pods: 2, ephemeral: '1Gi' }), node('big', { cpu: '8', memory: '32Gi' })], [pod('x', { nodeName: 'small', cpu: '500m' }), pod('y', { nodeName: 'small' })]);
  const r = h.filterAll(pod('p', { cpu: '600m', memory: '2Gi' }));
  assert.equal(r.small, 'Too many pods, Insufficient cpu, Insufficient memory');
  assert.equal(r.big, '');
  const e = h.filterAll({ ...pod('e'), spec: { containers: [{ name: 'c', image: 'i', resources: { requests: { 'ephemeral-storage': '2Gi' } } }] } });
  assert.match(e.small, /Insufficient ephemeral-storage/);
  assert.equal(e.big, '');
});

test('NodeResourcesFit: init containers take the max, sidecars add up, overhead is added', () => {
  const h = harness([node('n3', { cpu: '3' }), node('n2', { cpu: '2' })]);
  const initMax = pod('p', {
    cpu: '1',
    initContainers: [
      { name: 'i1', image: 'i', resources: { requests: { cpu: '2500m' } } },
      { name: 'i2', image: 'i', resources: { requests: { cpu: '500m' } } },
    ],
  });
  assert.deepEqual(h.filterAll(initMax), { n3: '', n2: 'Insufficient cpu' });
  // A sidecar (restartPolicy Always) runs beside the app container: 1 + 1.5 = 2.5 cpu.
  const sidecar = pod('s', { cpu: '1', initContainers: [{ name: 'side', image: 'i', restartPolicy: 'Always', resources: { requests: { cpu: '1500m' } } }] });
  assert.deepEqual(h.filterAll(sidecar), { n3: '', n2: 'Insufficient cpu' });
  const overhead = pod('o', { cpu: '1800m', overhead: { cpu: '300m' } });
  assert.deepEqual(h.filterAll(overhead), { n3: '', n2: 'Insufficient cpu' });
  // Limits without requests count as requests (API defaulting).
  const limits = { ...pod('l'), spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { cpu: '2500m' } } }] } };
  assert.deepEqual(h.filterAll(limits), { n3: '', n2: 'Insufficient cpu' });
});

test('GPUs: pods requesting nvidia.com/gpu land only on nodes that have them', () => {
  const nodes = [node('cpu-only'), node('gpu-1', { extended: { 'nvidia.com/gpu': '1' } }), node('gpu-4', { extended: { 'nvidia.com/gpu': '4' } })];
  const h = harness(nodes, [pod('busy', { nodeName: 'gpu-1', extended: { 'nvidia.com/gpu': '1' } })]);
  const r = h.filterAll(pod('train', { extended: { 'nvidia.com/gpu': '1' } }));
  assert.deepEqual(r, { 'cpu-only': 'Insufficient nvidia.com/gpu', 'gpu-1': 'Insufficient nvidia.com/gpu', 'gpu-4': '' });
  for (let i = 0; i < 10; i++) assert.equal(nodeOf(h.schedule(pod(`t${i}`, { extended: { 'nvidia.com/gpu': '2' } }))), 'gpu-4');
  // A pod without a GPU request is not kept off GPU nodes.
  assert.equal(h.filterAll(pod('plain'))['gpu-4'], '');
});

test('NodeName: only the named node', () => {
  const h = harness(ZONES);
  assert.deepEqual(h.filterAll({ ...pod('p'), spec: { ...pod('p').spec!, nodeName: 'a2' } }), {
    a1: "node(s) didn't match the requested node name",
    a2: '',
    b1: "node(s) didn't match the requested node name",
  });
});

test('NodeUnschedulable: cordoned nodes, unless the pod tolerates the unschedulable taint', () => {
  const h = harness([node('cordoned', { unschedulable: true }), node('ok')]);
  assert.deepEqual(h.filterAll(pod('p')), { cordoned: 'node(s) were unschedulable', ok: '' });
  const tolerant = pod('t', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] });
  assert.deepEqual(h.filterAll(tolerant), { cordoned: '', ok: '' });
});

test('NodeAffinity: nodeSelector and every operator', () => {
  const h = harness(ZONES);
  const sel = (exprs: { key: string; operator: string; values?: string[] }[]) =>
    pod('p', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: exprs }] } } } });
  const pass = (p: ReturnType<typeof pod>) =>
    Object.entries(h.filterAll(p))
      .filter(([, v]) => v === '')
      .map(([k]) => k)
      .sort();
  assert.deepEqual(pass(pod('s', { nodeSelector: { disk: 'ssd' } })), ['a1']);
  assert.deepEqual(pass(sel([{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['b'] }])), ['b1']);
  assert.deepEqual(pass(sel([{ key: 'disk', operator: 'NotIn', values: ['ssd'] }])), ['a2', 'b1']);
  assert.deepEqual(pass(sel([{ key: 'disk', operator: 'Exists' }])), ['a1', 'a2']);
  assert.deepEqual(pass(sel([{ key: 'disk', operator: 'DoesNotExist' }])), ['b1']);
  assert.deepEqual(pass(sel([{ key: 'gen', operator: 'Gt', values: ['4'] }])), ['a2', 'b1']);
  assert.deepEqual(pass(sel([{ key: 'gen', operator: 'Lt', values: ['6'] }])), ['a1', 'a2']);
  assert.deepEqual(pass(sel([{ key: 'gen', operator: 'Gt', values: ['x'] }])), []);
  // Terms are ORed; an empty term matches nothing.
  const ored = pod('o', {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['hdd'] }] }, { matchExpressions: [{ key: 'gen', operator: 'In', values: ['7'] }] }, {}],
        },
      },
    },
  });
  assert.deepEqual(pass(ored), ['a2', 'b1']);
  assert.equal(h.filterAll(pod('s', { nodeSelector: { disk: 'nvme' } })).a1, "node(s) didn't match Pod's node affinity/selector");
});

test('NodeAffinity: matchFields metadata.name narrows the nodes PreFilter hands on', () => {
  const h = harness(ZONES);
  const byName = (names: string[][], cpu?: string) =>
    pod('p', {
      cpu,
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: names.map((v) => ({ matchFields: [{ key: 'metadata.name', operator: 'In', values: v }] })) } } },
    });
  assert.equal(nodeOf(h.schedule(byName([['b1']]))), 'b1');
  const r = h.schedule(byName([['a2']], '100'));
  assert.ok('diagnosis' in r);
  assert.equal(r.message(), "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity].");
});

test('TaintToleration: NoSchedule and NoExecute keep untolerating pods off; PreferNoSchedule does not', () => {
  const nodes = [
    node('cp', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }),
    node('gone', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }),
    node('gpu', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
    node('soft', { taints: [{ key: 'spot', value: 'true', effect: 'PreferNoSchedule' }] }),
  ];
  const h = harness(nodes);
  assert.deepEqual(h.filterAll(pod('p')), {
    cp: 'node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }',
    gone: 'node(s) had untolerated taint {node.kubernetes.io/unreachable: }',
    gpu: 'node(s) had untolerated taint {dedicated: gpu}',
    soft: '',
  });
  const t = pod('t', {
    tolerations: [
      { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
      { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' },
    ],
  });
  const r = h.filterAll(t);
  assert.equal(r.cp, '');
  assert.equal(r.gpu, '');
  assert.match(r.gone, /unreachable/);
  const wrongValue = pod('w', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'cpu' }] });
  assert.match(h.filterAll(wrongValue).gpu, /dedicated: gpu/);
  const everything = pod('e', { tolerations: [{ operator: 'Exists' }] });
  assert.ok(Object.values(h.filterAll(everything)).every((v) => v === ''));
});

test('NodePorts: host port conflicts, 0.0.0.0 against every address', () => {
  const h = harness([node('n1'), node('n2'), node('n3')], [
    pod('web', { nodeName: 'n1', hostPorts: [{ port: 80 }] }),
    pod('dns', { nodeName: 'n2', hostPorts: [{ port: 53, protocol: 'UDP', ip: '10.0.0.1' }] }),
  ]);
  const reason = "node(s) didn't have free ports for the requested pod ports";
  assert.deepEqual(h.filterAll(pod('p', { hostPorts: [{ port: 80 }] })), { n1: reason, n2: '', n3: '' });
  assert.deepEqual(h.filterAll(pod('p', { hostPorts: [{ port: 80, ip: '10.0.0.2' }] })), { n1: reason, n2: '', n3: '' });
  assert.deepEqual(h.filterAll(pod('p', { hostPorts: [{ port: 53, protocol: 'UDP', ip: '10.0.0.2' }] })), { n1: '', n2: '', n3: '' });
  assert.deepEqual(h.filterAll(pod('p', { hostPorts: [{ port: 53, protocol: 'UDP' }] })), { n1: '', n2: reason, n3: '' });
  assert.deepEqual(h.filterAll(pod('p', { hostPorts: [{ port: 53, protocol: 'TCP' }] })), { n1: '', n2: '', n3: '' });
});

const antiSelf = (group: string, key = 'kubernetes.io/hostname') => ({
  podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { group } }, topologyKey: key }] },
});

test('InterPodAffinity: required affinity to a zone, and the first pod of a self-affine group', () => {
  const h = harness(ZONES, [pod('db', { nodeName: 'b1', labels: { app: 'db' } })]);
  const withDb = pod('web', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'topology.kubernetes.io/zone' }] } } });
  assert.deepEqual(h.filterAll(withDb), { a1: "node(s) didn't match pod affinity rules", a2: "node(s) didn't match pod affinity rules", b1: '' });
  const toCache = pod('x', { labels: { app: 'cache' }, affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'topology.kubernetes.io/zone' }] } } });
  // No cache pod anywhere yet, and the pod matches its own term: it may go anywhere.
  assert.ok(Object.values(h.filterAll(toCache)).every((v) => v === ''));
  const other = pod('y', { labels: { app: 'other' }, affinity: toCache.spec!.affinity });
  assert.ok(Object.values(h.filterAll(other)).every((v) => v === "node(s) didn't match pod affinity rules"));
  // A node without the topology label never satisfies affinity.
  const h2 = harness([...ZONES, node('nolabel')], [pod('db', { nodeName: 'b1', labels: { app: 'db' } })]);
  assert.equal(h2.filterAll(withDb).nolabel, "node(s) didn't match pod affinity rules");
});

test('InterPodAffinity: required anti-affinity, both ways', () => {
  const h = harness(ZONES, [pod('w1', { nodeName: 'a1', labels: { group: 'g' }, affinity: antiSelf('g') })]);
  // The incoming pod's own anti-affinity.
  assert.deepEqual(h.filterAll(pod('w2', { labels: { group: 'g' }, affinity: antiSelf('g') })), { a1: "node(s) didn't match pod anti-affinity rules", a2: '', b1: '' });
  // An existing pod's anti-affinity keeps a matching pod away even if it has none itself.
  assert.deepEqual(h.filterAll(pod('plain', { labels: { group: 'g' } })), { a1: "node(s) didn't satisfy existing pods anti-affinity rules", a2: '', b1: '' });
  assert.ok(Object.values(h.filterAll(pod('unrelated', { labels: { group: 'h' } }))).every((v) => v === ''));
  // Zone-wide anti-affinity.
  const hz = harness(ZONES, [pod('z1', { nodeName: 'a2', labels: { group: 'z' } })]);
  assert.deepEqual(hz.filterAll(pod('z2', { labels: { group: 'z' }, affinity: antiSelf('z', 'topology.kubernetes.io/zone') })), {
    a1: "node(s) didn't match pod anti-affinity rules",
    a2: "node(s) didn't match pod anti-affinity rules",
    b1: '',
  });
});

test('InterPodAffinity: namespaces and namespaceSelector', () => {
  const namespaces = { default: {}, prod: { env: 'prod' }, dev: { env: 'dev' } };
  const h = harness(ZONES, [pod('p1', { ns: 'prod', nodeName: 'a1', labels: { app: 'x' } }), pod('d1', { ns: 'dev', nodeName: 'b1', labels: { app: 'x' } })], { namespaces });
  const anti = (term: Record<string, unknown>) =>
    pod('q', { labels: { app: 'x' }, affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'x' } }, topologyKey: 'kubernetes.io/hostname', ...term }] } } });
  const blocked = (p: ReturnType<typeof pod>) =>
    Object.entries(h.filterAll(p))
      .filter(([, v]) => v !== '')
      .map(([k]) => k)
      .sort();
  // Default: the pod's own namespace only (nothing in default).
  assert.deepEqual(blocked(anti({})), []);
  assert.deepEqual(blocked(anti({ namespaces: ['prod'] })), ['a1']);
  assert.deepEqual(blocked(anti({ namespaceSelector: { matchLabels: { env: 'dev' } } })), ['b1']);
  assert.deepEqual(blocked(anti({ namespaceSelector: {} })), ['a1', 'b1']);
});

const spread = (maxSkew: number, key: string, extra: Record<string, unknown> = {}) => [
  { maxSkew, topologyKey: key, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 's' } }, ...extra },
];

test('PodTopologySpread: maxSkew over zones, missing labels', () => {
  const nodes = [...ZONES, node('nolabel')];
  const h = harness(nodes, [pod('s1', { nodeName: 'a1', labels: { app: 's' } }), pod('s2', { nodeName: 'a2', labels: { app: 's' } })]);
  const p = pod('s3', { labels: { app: 's' }, spread: spread(1, 'topology.kubernetes.io/zone') });
  assert.deepEqual(h.filterAll(p), {
    a1: "node(s) didn't match pod topology spread constraints",
    a2: "node(s) didn't match pod topology spread constraints",
    b1: '',
    nolabel: "node(s) didn't match pod topology spread constraints (missing required label)",
  });
  const loose = pod('s4', { labels: { app: 's' }, spread: spread(3, 'topology.kubernetes.io/zone') });
  assert.equal(h.filterAll(loose).a1, '');
  // A pod outside the selector doesn't count itself.
  const outsider = pod('o', { labels: { app: 'other' }, spread: spread(1, 'topology.kubernetes.io/zone') });
  assert.equal(h.filterAll(outsider).a1, "node(s) didn't match pod topology spread constraints");
});

test('PodTopologySpread: minDomains treats missing domains as empty', () => {
  const h = harness(ZONES, [pod('s1', { nodeName: 'a1', labels: { app: 's' } }), pod('s2', { nodeName: 'b1', labels: { app: 's' } })]);
  const two = pod('p', { labels: { app: 's' }, spread: spread(1, 'topology.kubernetes.io/zone') });
  assert.equal(h.filterAll(two).a1, '');
  const three = pod('p', { labels: { app: 's' }, spread: spread(1, 'topology.kubernetes.io/zone', { minDomains: 3 }) });
  // Only 2 zones exist: the global minimum counts as 0, so a domain with 1 pod is full.
  assert.equal(h.filterAll(three).a1, "node(s) didn't match pod topology spread constraints");
});

test('PodTopologySpread: nodeAffinityPolicy and nodeTaintsPolicy decide which nodes count', () => {
  const nodes = [
    node('a1', { labels: { 'topology.kubernetes.io/zone': 'a', pool: 'x' } }),
    node('b1', { labels: { 'topology.kubernetes.io/zone': 'b', pool: 'x' } }),
    node('c1', { labels: { 'topology.kubernetes.io/zone': 'c', pool: 'y' }, taints: [{ key: 'k', effect: 'NoSchedule' }] }),
  ];
  const placed = [pod('s1', { nodeName: 'a1', labels: { app: 's' } }), pod('s2', { nodeName: 'b1', labels: { app: 's' } })];
  const h = harness(nodes, placed);
  // Zone c is empty; with Honor (default) it is outside the pod's node affinity and doesn't count.
  const honor = pod('p', { labels: { app: 's' }, nodeSelector: { pool: 'x' }, spread: spread(1, 'topology.kubernetes.io/zone') });
  assert.equal(h.filterAll(honor).a1, '');
  const ignore = pod('p', { labels: { app: 's' }, nodeSelector: { pool: 'x' }, spread: spread(1, 'topology.kubernetes.io/zone', { nodeAffinityPolicy: 'Ignore' }) });
  assert.equal(h.filterAll(ignore).a1, "node(s) didn't match pod topology spread constraints");
  // Taints: Ignore (default) counts the tainted empty zone; Honor doesn't.
  const taintsIgnore = pod('p', { labels: { app: 's' }, spread: spread(1, 'topology.kubernetes.io/zone') });
  assert.equal(h.filterAll(taintsIgnore).a1, "node(s) didn't match pod topology spread constraints");
  const taintsHonor = pod('p', { labels: { app: 's' }, spread: spread(1, 'topology.kubernetes.io/zone', { nodeTaintsPolicy: 'Honor' }) });
  assert.equal(h.filterAll(taintsHonor).a1, '');
});

test('PodTopologySpread: matchLabelKeys narrows the selector to the pod\'s own values', () => {
  const h = harness(ZONES, [pod('old1', { nodeName: 'a1', labels: { app: 's', rev: '1' } }), pod('old2', { nodeName: 'a2', labels: { app: 's', rev: '1' } })]);
  const plain = pod('p', { labels: { app: 's', rev: '2' }, spread: spread(1, 'topology.kubernetes.io/zone') });
  assert.equal(h.filterAll(plain).a1, "node(s) didn't match pod topology spread constraints");
  const byRev = pod('p', { labels: { app: 's', rev: '2' }, spread: spread(1, 'topology.kubernetes.io/zone', { matchLabelKeys: ['rev'] }) });
  assert.equal(h.filterAll(byRev).a1, '');
});

test('PodTopologySpread: hostname spreading with many nodes', () => {
  const nodes = Array.from({ length: 50 }, (_, i) => node(`n${i}`));
  const placed = Array.from({ length: 49 }, (_, i) => pod(`s${i}`, { nodeName: `n${i}`, labels: { app: 's' } }));
  const h = harness(nodes, placed);
  const p = pod('p', { labels: { app: 's' }, spread: spread(1, 'kubernetes.io/hostname') });
  // 49 nodes have one pod, n49 none: the minimum is 0 and only n49 takes the pod.
  assert.equal(nodeOf(h.schedule(p)), 'n49');
  h.snap.addPod(h.snap.pods.get('default/s0')!.withNodeName('n0'));
  const r = h.filterAll(p);
  assert.equal(Object.values(r).filter((v) => v === '').length, 1);
});
