// Score plugins, normalization, weights, the random tie-break and the share of nodes
// evaluated in big clusters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CycleState } from '../../scheduler/framework.js';
import { NodeResourcesFit } from '../../scheduler/plugins/noderesources.js';
import { BalancedAllocation, balancedScore } from '../../scheduler/plugins/balancedallocation.js';
import { ImageLocality } from '../../scheduler/plugins/imagelocality.js';
import { numFeasibleNodesToFind, SchedulingAlgorithm } from '../../scheduler/schedule.js';
import { defaultFramework, DEFAULT_WEIGHTS } from '../../scheduler/profile.js';
import { PodTopologySpread } from '../../scheduler/plugins/podtopologyspread.js';
import { Selector } from '../../scheduler/labels.js';
import { harness, info, node, nodeOf, pod, snapshotOf } from './scheduler-fixtures.js';

function selectorOf(set: Record<string, string>): Selector {
  return Object.keys(set).length ? Selector.fromSet(set) : Selector.EVERYTHING;
}

test('default score weights are upstream\'s', () => {
  assert.deepEqual(DEFAULT_WEIGHTS, {
    TaintToleration: 3,
    NodeAffinity: 2,
    NodeResourcesFit: 1,
    PodTopologySpread: 2,
    InterPodAffinity: 2,
    NodeResourcesBalancedAllocation: 1,
    ImageLocality: 1,
  });
});

test('NodeResourcesFit LeastAllocated, with non-zero defaults for pods that request nothing', () => {
  const snap = snapshotOf([node('empty'), node('busy')], [pod('x', { nodeName: 'busy', cpu: '2', memory: '4Gi' })]);
  const fit = new NodeResourcesFit();
  const st = new CycleState();
  const p = info(pod('p', { cpu: '1', memory: '2Gi' }));
  assert.equal(fit.score(st, p, snap.getNode('empty')!), 75);
  assert.equal(fit.score(st, p, snap.getNode('busy')!), 25);
  // 100m and 200Mi stand in for a pod without requests.
  const be = info(pod('be'));
  assert.equal(fit.score(st, be, snap.getNode('empty')!), Math.trunc((Math.trunc(((4000 - 100) * 100) / 4000) + Math.trunc(((8 * 1024 - 200) * 100) / (8 * 1024))) / 2));
});

test('NodeResourcesBalancedAllocation: 1 − std of the usage fractions; best-effort pods skip it', () => {
  assert.equal(balancedScore([1000, 1024], [4000, 8192]), 93);
  assert.equal(balancedScore([3000, 6144], [4000, 8192]), 100);
  assert.equal(balancedScore([8000, 0], [4000, 8192]), 50);
  const snap = snapshotOf([node('n')]);
  const ba = new BalancedAllocation();
  assert.equal(ba.preScore(new CycleState(), info(pod('be')))?.code, 4 /* Skip */);
  assert.equal(ba.preScore(new CycleState(), info(pod('p', { cpu: '1' }))), null);
  assert.equal(ba.score(new CycleState(), info(pod('p', { cpu: '1', memory: '1Gi' })), snap.getNode('n')!), 93);
});

test('TaintToleration score: untolerated PreferNoSchedule taints, normalized in reverse', () => {
  const nodes = [
    node('clean'),
    node('one', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }] }),
    node('two', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }, { key: 'b', effect: 'PreferNoSchedule' }] }),
  ];
  const h = harness(nodes);
  const s = h.scores(pod('p', { cpu: '1' }));
  // Every other plugin scores the three nodes the same; TaintToleration weighs 3.
  assert.equal(s.clean - s.one, 3 * 50);
  assert.equal(s.one - s.two, 3 * 50);
  const tolerant = h.scores(pod('t', { cpu: '1', tolerations: [{ key: 'a', operator: 'Exists', effect: 'PreferNoSchedule' }] }));
  assert.equal(tolerant.clean, tolerant.one);
  assert.equal(tolerant.one - tolerant.two, 3 * 100);
});

test('NodeAffinity score: preferred term weights, normalized by the best', () => {
  const nodes = [node('a1', { labels: { zone: 'a', disk: 'ssd' } }), node('a2', { labels: { zone: 'a' } }), node('b1', { labels: { zone: 'b' } })];
  const h = harness(nodes);
  const p = pod('p', {
    cpu: '1',
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 10, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
          { weight: 5, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
        ],
      },
    },
  });
  const s = h.scores(p);
  assert.equal(s.a1 - s.b1, 2 * 100);
  assert.equal(s.a2 - s.b1, 2 * 66);
  assert.equal(nodeOf(h.schedule(p)), 'a1');
});

test('InterPodAffinity score: preferred affinity and anti-affinity, and existing pods\' terms', () => {
  const zone = 'topology.kubernetes.io/zone';
  const nodes = [node('a1', { labels: { [zone]: 'a' } }), node('a2', { labels: { [zone]: 'a' } }), node('b1', { labels: { [zone]: 'b' } })];
  const h = harness(nodes, [pod('x', { nodeName: 'a1', labels: { app: 'x' } })]);
  const pref = (anti: boolean) => ({
    [anti ? 'podAntiAffinity' : 'podAffinity']: {
      preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: { labelSelector: { matchLabels: { app: 'x' } }, topologyKey: anti ? 'kubernetes.io/hostname' : zone } }],
    },
  });
  const near = h.scores(pod('p', { cpu: '1', affinity: pref(false) }));
  assert.equal(near.a2 - near.b1, 2 * 100);
  const both = h.scores(pod('q', { cpu: '1', affinity: { ...pref(false), ...pref(true) } }));
  // a1: +50 −50 = 0, a2: +50, b1: 0 → normalized 0, 100, 0.
  assert.equal(both.a2 - both.b1, 2 * 100);
  assert.ok(both.a1 < both.a2);
  // An existing pod's required affinity pulls matching pods to its zone (hardPodAffinityWeight 1).
  const h2 = harness(nodes, [pod('filler', { nodeName: 'a1' }), pod('db', { nodeName: 'b1', labels: { app: 'db' }, affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: zone }] } } })]);
  const web = h2.scores(pod('w', { cpu: '1', labels: { app: 'web' } }));
  assert.equal(web.b1 - web.a1, 2 * 100);
});

test('PodTopologySpread score: ScheduleAnyway constraints favour the emptier domain', () => {
  const zone = 'topology.kubernetes.io/zone';
  const nodes = [node('a1', { labels: { [zone]: 'a' } }), node('a2', { labels: { [zone]: 'a' } }), node('b1', { labels: { [zone]: 'b' } })];
  const h = harness(nodes, [pod('s1', { nodeName: 'a1', labels: { app: 's' } }), pod('s2', { nodeName: 'a2', labels: { app: 's' } }), pod('filler', { nodeName: 'b1' })]);
  const p = pod('p', { cpu: '1', labels: { app: 's' }, spread: [{ maxSkew: 1, topologyKey: zone, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 's' } } }] });
  const s = h.scores(p);
  assert.equal(s.b1 - s.a1, 2 * 100);
  assert.equal(nodeOf(h.schedule(p)), 'b1');
});

test('PodTopologySpread: system default constraints spread a Service\'s pods over hosts', () => {
  const nodes = [node('n1'), node('n2')];
  const h = harness(nodes, [pod('s1', { nodeName: 'n1', labels: { app: 'svc' } }), pod('s2', { nodeName: 'n1', labels: { app: 'svc' } })]);
  const pts = new PodTopologySpread((p) => (p.labels.app === 'svc' ? selectorOf({ app: 'svc' }) : selectorOf({})));
  const state = new CycleState();
  const p = info(pod('p', { labels: { app: 'svc' } }));
  const nodesList = h.snap.nodeList();
  assert.equal(pts.preScore(state, p, nodesList, h.snap), null);
  const scores = nodesList.map((n) => pts.score(state, p, n));
  pts.normalizeScore(state, p, nodesList, scores);
  assert.ok(scores[1] > scores[0], `n2 should score higher: ${scores}`);
  // A pod no Service or controller selects gets no default constraints.
  assert.equal(pts.preScore(new CycleState(), info(pod('lone')), nodesList, h.snap)?.code, 4);
});

test('ImageLocality: nodes that have the image score higher, scaled by spread', () => {
  const nodes = [node('has', { images: [{ names: ['nginx:1.0'], sizeBytes: 500 * 1024 * 1024 }] }), node('hasnt')];
  const snap = snapshotOf(nodes);
  const il = new ImageLocality();
  const st = new CycleState();
  const p = info(pod('p', { image: 'nginx:1.0' }));
  assert.equal(il.preScore(st, p, snap.nodeList(), snap), null);
  assert.equal(il.score(st, p, snap.getNode('has')!), 23);
  assert.equal(il.score(st, p, snap.getNode('hasnt')!), 0);
  assert.equal(il.preScore(new CycleState(), info(pod('q', { image: 'redis' })), snap.nodeList(), snap)?.code, 4);
});

test('ties are broken at random (reservoir sampling)', () => {
  const nodes = [node('n1'), node('n2'), node('n3')];
  const counts: Record<string, number> = { n1: 0, n2: 0, n3: 0 };
  const snap = snapshotOf(nodes);
  const alg = new SchedulingAlgorithm(defaultFramework(), snap);
  for (let i = 0; i < 3000; i++) counts[nodeOf(alg.schedulePod(new CycleState(), info(pod(`p${i}`))))]++;
  for (const n of Object.keys(counts)) assert.ok(counts[n] > 800 && counts[n] < 1200, `uneven: ${JSON.stringify(counts)}`);
  // A deterministic source: 0.999 keeps the first of the best, 0 takes the last.
  assert.equal(nodeOf(new SchedulingAlgorithm(defaultFramework(), snap, { random: () => 0.999 }).schedulePod(new CycleState(), info(pod('x')))), 'n1');
  assert.equal(nodeOf(new SchedulingAlgorithm(defaultFramework(), snap, { random: () => 0 }).schedulePod(new CycleState(), info(pod('y')))), 'n3');
});

test('percentageOfNodesToScore: adaptive share of big clusters, at least 100 nodes', () => {
  assert.equal(numFeasibleNodesToFind(0, 50), 50);
  assert.equal(numFeasibleNodesToFind(0, 100), 100);
  assert.equal(numFeasibleNodesToFind(0, 1000), 420);
  assert.equal(numFeasibleNodesToFind(0, 5000), 500);
  assert.equal(numFeasibleNodesToFind(0, 6000), 300);
  assert.equal(numFeasibleNodesToFind(0, 20000), 1000);
  assert.equal(numFeasibleNodesToFind(30, 1000), 300);
  assert.equal(numFeasibleNodesToFind(100, 1000), 1000);
  // The search stops once enough nodes fit, and the next cycle starts where it stopped.
  const nodes = Array.from({ length: 1000 }, (_, i) => node(`n${String(i).padStart(4, '0')}`));
  const snap = snapshotOf(nodes);
  const alg = new SchedulingAlgorithm(defaultFramework(), snap);
  const r = alg.schedulePod(new CycleState(), info(pod('p', { cpu: '1' })));
  assert.ok(!('diagnosis' in r));
  assert.equal(r.evaluatedNodes, 420);
  assert.equal(alg.nextStartNodeIndex, 420);
});

