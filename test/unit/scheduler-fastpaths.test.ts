// The scheduler's cheap paths must decide exactly as the general ones:
// - PodTopologySpread folds maxSkew, the global minimum (minDomains) and the pod's own
//   match into one limit per cycle; with pods added or removed in the cycle (nominated
//   pods, preemption dry runs) the filter recomputes from the counts — both must agree;
// - filtered nodes' statuses reach the Diagnosis only when the pod fits nowhere, and
//   the per-status counts are kept as runs while recording;
// - with many nodes the search stops after enough feasible nodes and the next cycle
//   starts where it stopped (percentageOfNodesToScore, round robin).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, CycleState, Diagnosis, FitError, Status } from '../../scheduler/framework.js';
import { SchedulingAlgorithm, numFeasibleNodesToFind } from '../../scheduler/schedule.js';
import { POD_TOPOLOGY_SPREAD } from '../../scheduler/plugins/podtopologyspread.js';
import type { PodTopologySpread } from '../../scheduler/plugins/podtopologyspread.js';
import { Selector } from '../../scheduler/labels.js';
import { harness, info, node, pod } from './scheduler-fixtures.js';
import type { PodInfo } from '../../scheduler/podinfo.js';
import { Evaluator } from '../../scheduler/preemption.js';
import { schedulingCycle } from '../../scheduler/cycle.js';
import type { CycleResult } from '../../scheduler/cycle.js';

/** A small deterministic generator (tests must not depend on Math.random). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

test('PodTopologySpread: the folded limit and the recomputing path give the same verdicts', () => {
  const rnd = lcg(7);
  for (let round = 0; round < 40; round++) {
    const zones = 1 + Math.floor(rnd() * 5);
    const nodes = Array.from({ length: 2 + Math.floor(rnd() * 10) }, (_, i) => node(`n${i}`, { labels: { 'topology.kubernetes.io/zone': `z${i % zones}` } }));
    const pods = Array.from({ length: Math.floor(rnd() * 15) }, (_, i) => pod(`e${i}`, { nodeName: `n${Math.floor(rnd() * nodes.length)}`, labels: { app: rnd() < 0.7 ? 's' : 'other' } }));
    const h = harness(nodes, pods);
    const maxSkew = 1 + Math.floor(rnd() * 3);
    const minDomains = rnd() < 0.3 ? zones + 1 : undefined;
    const selfLabels = { app: rnd() < 0.8 ? 's' : 'other' };
    const p = info(
      pod('incoming', {
        labels: selfLabels,
        spread: [
          { maxSkew, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 's' } }, ...(minDomains ? { minDomains } : {}) },
          { maxSkew: maxSkew + 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 's' } } },
        ],
      }),
    );
    const plugin = h.fw.filterPlugins.find((x) => x.name === POD_TOPOLOGY_SPREAD) as PodTopologySpread;
    const folded = new CycleState();
    assert.equal(plugin.preFilter(folded, p, h.snap), null);
    // A pod added and taken away again: the counts are the same, the path is the other one.
    const general = new CycleState();
    plugin.preFilter(general, p, h.snap);
    const someone = info(pod('ghost', { nodeName: 'n0', labels: { app: 's' } }));
    const n0 = h.snap.getNode('n0')!;
    plugin.addPod(general, p, someone, n0);
    plugin.removePod(general, p, someone, n0);
    for (const n of h.snap.nodeList()) {
      const a = plugin.filter(folded, p, n);
      const b = plugin.filter(general, p, n);
      assert.equal(a?.message() ?? '', b?.message() ?? '', `round ${round}, node ${n.name}`);
    }
  }
});

test('PodTopologySpread: a pod added in the cycle counts in its domain (nominated pods, dry runs)', () => {
  const nodes = [node('a1', { labels: { 'topology.kubernetes.io/zone': 'a' } }), node('b1', { labels: { 'topology.kubernetes.io/zone': 'b' } })];
  const h = harness(nodes);
  const p = info(pod('p', { labels: { app: 's' }, spread: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 's' } } }] }));
  const plugin = h.fw.filterPlugins.find((x) => x.name === POD_TOPOLOGY_SPREAD) as PodTopologySpread;
  const state = new CycleState();
  plugin.preFilter(state, p, h.snap);
  const a1 = h.snap.getNode('a1')!;
  assert.equal(plugin.filter(state, p, a1), null);
  plugin.addPod(state, p, info(pod('nominated', { nodeName: 'a1', labels: { app: 's' } })), a1);
  // Zone a now holds one more than zone b: a second there would make the skew 2.
  assert.equal(plugin.filter(state, p, a1)?.message(), "node(s) didn't match pod topology spread constraints");
  assert.equal(plugin.filter(state, p, h.snap.getNode('b1')!), null);
});

test('Diagnosis: statuses counted as recorded, in first-seen order, and unkept nodes still counted', () => {
  const cpu = new Status(Code.Unschedulable, ['Insufficient cpu'], 'NodeResourcesFit');
  const taint = new Status(Code.UnschedulableAndUnresolvable, ['node(s) had untolerated taint {k: v}'], 'TaintToleration');
  const d = new Diagnosis();
  const order = [cpu, cpu, taint, cpu, cpu, cpu, taint];
  order.forEach((s, i) => d.record(`n${i}`, s));
  assert.deepEqual([...d.statusCounts()], [
    [cpu, 5],
    [taint, 2],
  ]);
  // Asking twice doesn't count twice; recording more after asking adds on.
  assert.deepEqual([...d.statusCounts()].map(([, n]) => n), [5, 2]);
  d.record('n7', taint);
  assert.deepEqual([...d.statusCounts()].map(([, n]) => n), [5, 3]);
  assert.equal(d.filteredCount, 8);
  assert.equal(d.nodeToStatus.get('n2'), taint);
  // Once the map exists the counts come from it.
  assert.deepEqual([...d.statusCounts()].map(([, n]) => n), [5, 3]);
  assert.equal(new FitError(info(pod('x')), 8, d).message(), '0/8 nodes are available: 3 node(s) had untolerated taint {k: v}, 5 Insufficient cpu.');
  const fit = new Diagnosis();
  fit.recordUnkept(4);
  assert.equal(fit.filteredCount, 4);
  assert.equal(fit.nodeToStatus.size, 0);
});

test('Diagnosis.statusOf: a node\'s status from every node recorded at once, as nodeToStatus has it', () => {
  const h = harness([node('a'), node('b'), node('c')]);
  const nodes = h.snap.nodeList();
  const cpu = new Status(Code.Unschedulable, ['Insufficient cpu'], 'NodeResourcesFit');
  const taint = new Status(Code.UnschedulableAndUnresolvable, ['node(s) had untolerated taint {k: v}'], 'TaintToleration');
  const statuses = nodes.map((n) => (n.name === 'b' ? taint : cpu));
  const d = new Diagnosis();
  d.recordEveryNode(nodes, statuses, new Map([[cpu, 2], [taint, 1]]));
  for (const n of nodes) assert.equal(d.statusOf(n), n.name === 'b' ? taint : cpu);
  for (const n of nodes) assert.equal(d.nodeToStatus.get(n.name), d.statusOf(n));
  // The nodes of a code: some of them, or (by the counts) all.
  const names = (ns: readonly { name: string }[]) => ns.map((n) => n.name);
  const some = new Diagnosis();
  some.recordEveryNode(nodes, statuses, new Map([[cpu, 2], [taint, 1]]));
  assert.deepEqual(names(some.nodesForStatusCode(nodes, Code.Unschedulable)), ['a', 'c']);
  assert.deepEqual(names(some.nodesForStatusCode(nodes, Code.UnschedulableAndUnresolvable)), ['b']);
  const all = new Diagnosis();
  all.recordEveryNode(nodes, nodes.map(() => cpu), new Map([[cpu, 3]]));
  assert.deepEqual(names(all.nodesForStatusCode(nodes, Code.Unschedulable)), ['a', 'b', 'c']);
  assert.deepEqual(names(all.nodesForStatusCode(nodes, Code.UnschedulableAndUnresolvable)), []);
  const absent = new Status(Code.UnschedulableAndUnresolvable, ['none']);
  const other = new Diagnosis();
  other.absentStatus = absent;
  assert.equal(other.statusOf(nodes[0]), absent);
});

test('a pod that fits reports every node it evaluated; one that fits nowhere reports every node\'s reason', () => {
  const nodes = [node('small1', { cpu: '1' }), node('small2', { cpu: '1' }), node('big', { cpu: '8' }), node('tainted', { cpu: '8', taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] })];
  const h = harness(nodes);
  const r = h.schedule(pod('p', { cpu: '2' }));
  assert.ok(!(r instanceof FitError));
  assert.equal(r.node, 'big');
  assert.equal(r.evaluatedNodes, 4);
  assert.equal(r.feasibleNodes, 1);
  const none = h.schedule(pod('huge', { cpu: '16' }));
  assert.ok(none instanceof FitError);
  assert.equal(none.message(), '0/4 nodes are available: 1 node(s) had untolerated taint {k: v}, 3 Insufficient cpu.');
  assert.equal(none.diagnosis.nodeToStatus.size, 4);
});

test('percentageOfNodesToScore: adaptive share of big clusters, at least 100 nodes, all of small ones', () => {
  assert.equal(numFeasibleNodesToFind(0, 50), 50);
  assert.equal(numFeasibleNodesToFind(0, 100), 100);
  // 50 − 1000/125 = 42 %.
  assert.equal(numFeasibleNodesToFind(0, 1000), 420);
  // 50 − 5000/125 = 10 %.
  assert.equal(numFeasibleNodesToFind(0, 5000), 500);
  // Never below 5 %.
  assert.equal(numFeasibleNodesToFind(0, 10000), 500);
  assert.equal(numFeasibleNodesToFind(0, 6000), 300);
  assert.equal(numFeasibleNodesToFind(10, 500), 100);
  assert.equal(numFeasibleNodesToFind(100, 5000), 5000);
});

test('with many nodes the search stops after enough feasible ones and the next cycle starts after them', () => {
  const nodes = Array.from({ length: 300 }, (_, i) => node(`n${String(i).padStart(3, '0')}`));
  const h = harness(nodes);
  // 300 nodes: 50 − 2 = 48 % → 144 to find; every node fits, so 144 are evaluated.
  const first = h.schedule(pod('a'));
  assert.ok(!(first instanceof FitError));
  assert.equal(first.evaluatedNodes, 144);
  assert.equal(h.alg.nextStartNodeIndex, 144);
  const second = h.schedule(pod('b'));
  assert.ok(!(second instanceof FitError));
  assert.equal(h.alg.nextStartNodeIndex, 288);
  // The window wraps around the node list.
  h.schedule(pod('c'));
  assert.equal(h.alg.nextStartNodeIndex, (288 + 144) % 300);
  // Filtered nodes count as processed: a pod only half the nodes fit still finds 144.
  const half = harness(Array.from({ length: 300 }, (_, i) => node(`m${String(i).padStart(3, '0')}`, { cpu: i % 2 === 0 ? '4' : '1' })));
  const r = half.schedule(pod('p', { cpu: '2' }));
  assert.ok(!(r instanceof FitError));
  assert.equal(r.feasibleNodes, 144);
  assert.ok(r.evaluatedNodes >= 287 && r.evaluatedNodes <= 288, String(r.evaluatedNodes));
});

test('Snapshot.topologyIds: a label\'s values by node position, current after nodes come, go and relabel', () => {
  const h = harness([node('a', { labels: { zone: 'x' } }), node('b', { labels: { zone: 'y' } }), node('c')]);
  const look = () => {
    const t = h.snap.topologyIds('zone');
    const out: Record<string, string> = {};
    for (const n of h.snap.nodeList()) out[n.name] = t.ids[n.position] < 0 ? '-' : t.values[t.ids[n.position]];
    return out;
  };
  assert.deepEqual(look(), { a: 'x', b: 'y', c: '-' });
  h.snap.setNode(node('c', { labels: { zone: 'x' } }));
  assert.deepEqual(look(), { a: 'x', b: 'y', c: 'x' });
  h.snap.removeNode('a');
  assert.deepEqual(look(), { b: 'y', c: 'x' });
  h.snap.setNode(node('d', { labels: { zone: 'z' } }));
  assert.deepEqual(look(), { b: 'y', c: 'x', d: 'z' });
  // Positions match the list, and a removed node has none.
  h.snap.nodeList().forEach((n, i) => assert.equal(n.position, i));
  // A spread filter decided through the ids agrees with the labels after the changes.
  const p = pod('p', { labels: { app: 's' }, spread: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 's' } } }] });
  h.snap.addPod(info(pod('s1', { nodeName: 'c', labels: { app: 's' } })));
  assert.deepEqual(h.filterAll(p), { b: '', c: "node(s) didn't match pod topology spread constraints", d: '' });
});

test('NodeInfo keeps its cpu, memory and pod-count mirrors equal to allocatable and requested', () => {
  const h = harness([node('n1', { cpu: '4', memory: '8Gi', pods: 3 })]);
  const n = h.snap.getNode('n1')!;
  const same = (x: typeof n) => {
    assert.equal(x.allocMilliCPU, x.allocatable.milliCPU);
    assert.equal(x.allocMemory, x.allocatable.memory);
    assert.equal(x.allocPods, x.allocatable.pods);
    assert.equal(x.usedMilliCPU, x.requested.milliCPU);
    assert.equal(x.usedMemory, x.requested.memory);
    assert.equal(x.numPods, x.podCount);
  };
  same(n);
  h.snap.addPod(info(pod('a', { nodeName: 'n1', cpu: '1', memory: '1Gi' })));
  h.snap.addPod(info(pod('b', { nodeName: 'n1', cpu: '2' })));
  same(n);
  assert.equal(n.usedMilliCPU, 3000);
  const copy = n.clone();
  copy.removePod(info(pod('a', { nodeName: 'n1', cpu: '1', memory: '1Gi' })));
  same(copy);
  same(n);
  assert.equal(n.numPods, 2);
  h.snap.setNode(node('n1', { cpu: '8', memory: '8Gi', pods: 3 }));
  same(n);
  // The filter decides on the mirrors: 8 cpu − 3 used leaves room for 5, and one pod slot.
  assert.equal(h.filterAll(pod('fits', { cpu: '5' })).n1, '');
  assert.equal(h.filterAll(pod('too-big', { cpu: '6' })).n1, 'Insufficient cpu');
  h.snap.addPod(info(pod('c', { nodeName: 'n1' })));
  assert.equal(h.filterAll(pod('one-more', {})).n1, 'Too many pods');
  h.snap.removePod('default/c');
  same(n);
  assert.equal(h.filterAll(pod('one-more', {})).n1, '');
});

test('Snapshot.countsByPosition: a counter\'s pods per node by position, current as pods and nodes come and go', () => {
  const h = harness([node('a'), node('b'), node('c')], [pod('p1', { nodeName: 'a', labels: { app: 's' } }), pod('p2', { nodeName: 'b', labels: { app: 'other' } })]);
  const ctr = h.snap.counter(new Set(['default']), Selector.fromSet({ app: 's' }), 'kubernetes.io/hostname', true);
  const look = () => {
    const counts = h.snap.countsByPosition(ctr);
    const out: Record<string, number> = {};
    for (const n of h.snap.nodeList()) out[n.name] = counts[n.position];
    return out;
  };
  assert.deepEqual(look(), { a: 1, b: 0, c: 0 });
  h.snap.addPod(info(pod('p3', { nodeName: 'c', labels: { app: 's' } })));
  h.snap.addPod(info(pod('p4', { nodeName: 'c', labels: { app: 's' } })));
  assert.deepEqual(look(), { a: 1, b: 0, c: 2 });
  h.snap.removePod('default/p1');
  h.snap.setNode(node('d'));
  h.snap.addPod(info(pod('p5', { nodeName: 'd', labels: { app: 's' } })));
  assert.deepEqual(look(), { a: 0, b: 0, c: 2, d: 1 });
  h.snap.removeNode('b');
  assert.deepEqual(look(), { a: 0, c: 2, d: 1 });
});

/** Nominated pods by node, with the log of changes the verdicts kept per node follow (as the queue's). */
class LoggingNominator {
  private readonly byNode = new Map<string, PodInfo[]>();
  private readonly changes: string[] = [];
  nominate(p: PodInfo, nodeName: string): void {
    this.byNode.set(nodeName, [...(this.byNode.get(nodeName) ?? []), p]);
    this.changes.push(nodeName);
  }
  clear(nodeName: string): void {
    this.byNode.delete(nodeName);
    this.changes.push(nodeName);
  }
  withdraw(podName: string, nodeName: string): void {
    this.byNode.set(nodeName, (this.byNode.get(nodeName) ?? []).filter((p) => p.name !== podName));
    this.changes.push(nodeName);
  }
  nominatedPodsForNode(nodeName: string): readonly PodInfo[] {
    return this.byNode.get(nodeName) ?? [];
  }
  hasNominatedPods(): boolean {
    return this.byNode.size > 0;
  }
  nominatedNodeName(podKey: string): string | undefined {
    for (const [n, list] of this.byNode) if (list.some((p) => p.key === podKey)) return n;
    return undefined;
  }
  get nominationMark(): number {
    return this.changes.length;
  }
  nodesWithNominationChangesSince(mark: number): readonly string[] {
    return this.changes.slice(mark);
  }
}

test('pods of a shape that fit nowhere: the verdict kept per shape and brought up to date equals a fresh one, for nominated pods too, and so do the few nodes it finds fit', () => {
  const rnd = lcg(11);
  for (let round = 0; round < 12; round++) {
    const nodeOf = (i: number) =>
      node(`n${i}`, {
        cpu: rnd() < 0.5 ? '2' : '4',
        pods: 1 + Math.floor(rnd() * 3),
        labels: { disk: rnd() < 0.5 ? 'ssd' : 'hdd' },
        ...(rnd() < 0.2 ? { taints: [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' as const }] } : {}),
        ...(rnd() < 0.1 ? { unschedulable: true } : {}),
      });
    const nodes = Array.from({ length: 3 + Math.floor(rnd() * 8) }, (_, i) => nodeOf(i));
    const h = harness(nodes);
    const nominator = round % 2 === 1 ? new LoggingNominator() : undefined;
    // Shapes that fit nowhere (more cpu than any node has) with more reasons on some
    // nodes, and shapes that fit on some nodes some of the time.
    const shapes = [
      () => pod(`big-${rnd()}`, { cpu: '8' }),
      () => pod(`big-${rnd()}`, { cpu: '8', memory: '4Gi', nodeSelector: { disk: 'ssd' } }),
      () => pod(`big-${rnd()}`, { cpu: '6', hostPorts: [{ port: 80 }], tolerations: [{ key: 'dedicated', operator: 'Exists' }] }),
      () => pod(`mid-${rnd()}`, { cpu: '3', priority: 10 }),
      () => pod(`mid-${rnd()}`, { cpu: '2', memory: '4Gi', hostPorts: [{ port: 80 }] }),
    ];
    const placed: string[] = [];
    const earlier: { error: FitError; byCode: string[][] }[] = [];
    for (let step = 0; step < 60; step++) {
      const r = rnd();
      if (r < 0.4) {
        const name = `p${round}-${step}`;
        h.snap.addPod(info(pod(name, { nodeName: `n${Math.floor(rnd() * nodes.length)}`, cpu: rnd() < 0.5 ? '1' : '500m', memory: '3Gi', hostPorts: rnd() < 0.3 ? [{ port: 80 }] : undefined })));
        placed.push(`default/${name}`);
      } else if (r < 0.6 && placed.length > 0) {
        h.snap.removePod(placed.splice(Math.floor(rnd() * placed.length), 1)[0]);
      } else if (r < 0.65) {
        const i = Math.floor(rnd() * nodes.length);
        h.snap.setNode((nodes[i] = nodeOf(i)));
      } else if (r < 0.8 && nominator) {
        const at = `n${Math.floor(rnd() * nodes.length)}`;
        if (rnd() < 0.6) nominator.nominate(info(pod(`nom-${step}`, { cpu: '1', priority: rnd() < 0.5 ? 0 : 100 })), at);
        else nominator.clear(at);
      }
      const p = shapes[Math.floor(rnd() * shapes.length)]();
      // Some pods are nominated themselves (an earlier preemption's): they leave their own
      // nomination out on that node.
      const ownNode = nominator && rnd() < 0.3 ? `n${Math.floor(rnd() * nodes.length)}` : undefined;
      if (ownNode) nominator!.nominate(info(p), ownNode);
      const kept = h.alg.schedulePod(new CycleState(), info(p), nominator);
      const fresh = new SchedulingAlgorithm(h.fw, h.snap, { random: () => 0.999 }).schedulePod(new CycleState(), info(p), nominator);
      // Withdrawn at once or left (its node's later changes must still reach the verdict).
      if (ownNode && rnd() < 0.5) nominator!.withdraw(p.metadata!.name!, ownNode);
      assert.equal(kept instanceof FitError, fresh instanceof FitError, `round ${round} step ${step}`);
      if (!(kept instanceof FitError) && !(fresh instanceof FitError)) {
        // A few nodes fit: taken from the verdict, the same nodes as a search finds.
        assert.equal(kept.feasibleNodes, fresh.feasibleNodes, `round ${round} step ${step}`);
        assert.equal(kept.evaluatedNodes, fresh.evaluatedNodes, `round ${round} step ${step}`);
        continue;
      }
      if (!(kept instanceof FitError) || !(fresh instanceof FitError)) continue;
      assert.equal(kept.message(), fresh.message(), `round ${round} step ${step}`);
      const statuses = (d: Diagnosis) => [...d.nodeToStatus].map(([n, s]) => `${n}:${s.plugin}:${s.code}:${s.message()}`).sort();
      assert.deepEqual(statuses(kept.diagnosis), statuses(fresh.diagnosis), `round ${round} step ${step}`);
      assert.deepEqual([...kept.diagnosis.unschedulablePlugins].sort(), [...fresh.diagnosis.unschedulablePlugins].sort());
      const unschedulable = (d: Diagnosis) => d.nodesForStatusCode(h.snap.nodeList(), Code.Unschedulable).map((n) => n.name);
      assert.deepEqual(unschedulable(kept.diagnosis), unschedulable(fresh.diagnosis), `round ${round} step ${step}`);
      // FitErrors handed out earlier still say what they said then.
      const byCode = (d: Diagnosis) => [Code.Unschedulable, Code.UnschedulableAndUnresolvable].map((c) => d.nodesForStatusCode(h.snap.nodeList(), c).map((n) => n.name));
      for (const e of earlier) assert.deepEqual(byCode(e.error.diagnosis), e.byCode, `round ${round} step ${step}`);
      earlier.push({ error: kept, byCode: byCode(kept.diagnosis) });
    }
  }
});

test('pod affinity: searching the candidate nodes first finds what a search of every node finds', () => {
  const rnd = lcg(5);
  for (let round = 0; round < 80; round++) {
    const zones = 1 + Math.floor(rnd() * 4);
    const nodes = Array.from({ length: 2 + Math.floor(rnd() * 10) }, (_, i) =>
      node(`n${i}`, { cpu: rnd() < 0.5 ? '1' : '4', labels: rnd() < 0.9 ? { 'topology.kubernetes.io/zone': `z${i % zones}` } : {} }),
    );
    const pods = Array.from({ length: Math.floor(rnd() * 6) }, (_, i) => pod(`e${i}`, { nodeName: `n${Math.floor(rnd() * nodes.length)}`, labels: { color: rnd() < 0.6 ? 'blue' : 'red' } }));
    const h = harness(nodes, pods);
    const all = new SchedulingAlgorithm(h.fw, h.snap, { percentageOfNodesToScore: 100 });
    const p = pod('incoming', {
      cpu: rnd() < 0.4 ? '2' : '100m',
      labels: { color: 'green' },
      affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { color: 'blue' } }, topologyKey: rnd() < 0.7 ? 'topology.kubernetes.io/zone' : 'kubernetes.io/hostname' }] } },
    });
    const want = Object.entries(h.filterAll(p));
    const { feasible, diagnosis } = all.findNodesThatFitPod(new CycleState(), info(p));
    assert.deepEqual(
      feasible.map((n) => n.name).sort(),
      want.filter(([, s]) => s === '').map(([n]) => n).sort(),
      `round ${round}`,
    );
    if (feasible.length === 0) {
      const got = [...diagnosis.nodeToStatus].map(([n, s]) => [n, s.message()]).sort();
      assert.deepEqual(got, want.sort(), `round ${round}`);
    }
  }
});

test('preemption: dry runs kept per pod shape and brought up to date choose as fresh ones', () => {
  const rnd = lcg(3);
  for (let round = 0; round < 12; round++) {
    const nodes = Array.from({ length: 3 + Math.floor(rnd() * 8) }, (_, i) => node(`n${i}`, { cpu: '4', pods: 4 }));
    const h = harness(nodes);
    const nominator = round % 2 === 1 ? new LoggingNominator() : undefined;
    const kept = new Evaluator(h.fw, h.snap, { random: () => 0.5, now: () => 0 });
    let seq = 0;
    const place = () => {
      const name = `low-${round}-${seq++}`;
      h.snap.addPod(info(pod(name, { nodeName: `n${Math.floor(rnd() * nodes.length)}`, cpu: rnd() < 0.5 ? '1' : '2', priority: Math.floor(rnd() * 3), startTime: `2026-01-0${1 + Math.floor(rnd() * 9)}T00:00:00Z` })));
      return `default/${name}`;
    };
    const placed = Array.from({ length: nodes.length * 3 }, place);
    for (let step = 0; step < 40; step++) {
      const r = rnd();
      if (r < 0.3) placed.push(place());
      else if (r < 0.55 && placed.length > 0) h.snap.removePod(placed.splice(Math.floor(rnd() * placed.length), 1)[0]);
      else if (r < 0.7 && nominator) nominator.nominate(info(pod(`nom-${step}`, { cpu: '1', priority: rnd() < 0.5 ? 1 : 100 })), `n${Math.floor(rnd() * nodes.length)}`);
      else if (r < 0.8 && nominator) nominator.clear(`n${Math.floor(rnd() * nodes.length)}`);
      const p = info(pod(`high-${step}`, { cpu: rnd() < 0.5 ? '3' : '4', priority: rnd() < 0.5 ? 5 : 10 }));
      const fresh = new Evaluator(h.fw, h.snap, { random: () => 0.5, now: () => 0 });
      const a = schedulingCycle(new SchedulingAlgorithm(h.fw, h.snap), kept, p, [], nominator);
      const b = schedulingCycle(new SchedulingAlgorithm(h.fw, h.snap), fresh, p, [], nominator);
      const summary = (c: CycleResult) =>
        c.kind === 'scheduled' ? 'scheduled' : `${c.message} | ${c.preemption ? `${c.preemption.candidate.node}: ${c.preemption.candidate.victims.map((v) => v.name).join(',')}` : '-'}`;
      assert.equal(summary(a), summary(b), `round ${round} step ${step}`);
    }
  }
});

test('a FitError from a kept verdict keeps its reasons when the verdict changes later', () => {
  const h = harness([node('n0', { cpu: '4' }), node('n1', { cpu: '4' }), node('n2', { cpu: '2' })]);
  const place = (name: string) => {
    const r = h.alg.schedulePod(new CycleState(), info(pod(name, { cpu: '3' })));
    if (!(r instanceof FitError)) h.snap.assumePod(info(pod(name, { cpu: '3', nodeName: r.node })));
    return r;
  };
  place('b0');
  place('b1');
  assert.ok(place('b2') instanceof FitError);
  // The second pod of the shape that fit nowhere gets its reasons from the kept verdict.
  const kept = place('b3');
  assert.ok(kept instanceof FitError);
  const reasons = () => kept.diagnosis.nodesForStatusCode(h.snap.nodeList(), Code.Unschedulable).map((n) => n.name);
  // n2 has less cpu than the pod asks for: preemption can't help there.
  assert.deepEqual(reasons(), ['n0', 'n1']);
  h.snap.removePod('default/b0');
  assert.ok(!(place('b4') instanceof FitError));
  assert.deepEqual(reasons(), ['n0', 'n1']);
  assert.equal(kept.message(), '0/3 nodes are available: 3 Insufficient cpu.');
});
