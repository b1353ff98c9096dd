// Priority and preemption: victim selection, PodDisruptionBudgets, node choice,
// nominated pods, priority resolution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
import { Evaluator, budgetOf, filterPodsWithPDBViolation, makeCandidate, resolvePriority } from '../../scheduler/preemption.js';
import type { Candidate } from '../../scheduler/preemption.js';
import { CycleState } from '../../scheduler/framework.js';
import { SchedulingQueue } from '../../scheduler/queue.js';
import { cycle, harness, info, node, pod } from './scheduler-fixtures.js';
import type { CycleResult } from '../../scheduler/cycle.js';
import { schedulingCycle } from '../../scheduler/cycle.js';

function victims(r: CycleResult): string[] {
  assert.equal(r.kind, 'unschedulable');
  if (r.kind !== 'unschedulable' || !r.preemption) throw new Error(`no preemption: ${r.kind === 'unschedulable' ? r.message : ''}`);
  return r.preemption.candidate.victims.map((v) => v.name);
}

test('the fewest, least important victims; equal or higher priority pods are never victims', () => {
  const placed = [1, 2, 3, 4].map((prio) => pod(`p${prio}`, { nodeName: 'n', cpu: '1', priority: prio, startTime: '2026-01-01T00:00:00Z' }));
  const h = harness([node('n', { cpu: '4' })], placed);
  const r = cycle(h, pod('hi', { cpu: '2', priority: 10 }));
  assert.deepEqual(victims(r), ['p2', 'p1']);
  assert.equal(r.kind === 'unschedulable' && r.nominate, 'n');
  // The message of the failed attempt has no preemption part when preemption succeeded.
  assert.equal(r.kind === 'unschedulable' && r.message, '0/1 nodes are available: 1 Insufficient cpu.');
  // Priority 3 can only evict 1 and 2.
  assert.deepEqual(victims(cycle(h, pod('mid', { cpu: '2', priority: 3 }))), ['p2', 'p1']);
  const none = cycle(h, pod('low', { cpu: '2', priority: 1 }));
  assert.equal(none.kind === 'unschedulable' && none.message, '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.');
  // Evicting every lower-priority pod still isn't enough: the filter's reason is reported.
  const huge = cycle(h, pod('huge', { cpu: '4', priority: 2 }));
  assert.equal(huge.kind === 'unschedulable' && huge.message, '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu.');
});

test('the node with the least important victims wins; then fewer victims', () => {
  const h = harness(
    [node('a', { cpu: '2' }), node('b', { cpu: '2' }), node('c', { cpu: '2' })],
    [
      pod('a1', { nodeName: 'a', cpu: '2', priority: 5 }),
      pod('b1', { nodeName: 'b', cpu: '1', priority: 1 }),
      pod('b2', { nodeName: 'b', cpu: '1', priority: 1 }),
      pod('c1', { nodeName: 'c', cpu: '2', priority: 1 }),
    ],
  );
  const r = cycle(h, pod('p', { cpu: '2', priority: 10 }));
  // b and c both have highest victim priority 1; c needs one victim (sum of priorities smaller).
  assert.deepEqual(victims(r), ['c1']);
  assert.equal(r.kind === 'unschedulable' && r.nominate, 'c');
});

test('pickOne: each criterion decides only among the candidates tied on the ones before it; a full tie keeps the first', () => {
  const h = harness([node('n')]);
  const now = Date.parse('2026-01-02T00:00:00Z');
  const ev = new Evaluator(h.fw, h.snap, { now: () => now });
  const v = (name: string, priority: number, startTime?: string) => info(pod(name, { priority, startTime }));
  const c = (node: string, victims: ReturnType<typeof v>[], numPDBViolations = 0) => makeCandidate(node, victims, numPDBViolations);
  // Fewer budget violations beat a lower victim priority.
  assert.equal(ev.pickOne([c('a', [v('a1', 1)], 1), c('b', [v('b1', 5)])]).node, 'b');
  // The lowest highest-priority victim, then the smallest priority sum, then fewer victims.
  assert.equal(ev.pickOne([c('a', [v('a1', 5)]), c('b', [v('b1', 3), v('b2', 3)]), c('c', [v('c1', 3), v('c2', 1)])]).node, 'c');
  assert.equal(ev.pickOne([c('a', [v('a1', 3), v('a2', 1)]), c('b', [v('b1', 3), v('b2', 0)])]).node, 'b');
  // Each victim adds 2^31 to the sum (as upstream), so fewer victims decide only when the sums tie.
  assert.equal(ev.pickOne([c('a', [v('a1', 3), v('a2', -2147483648)]), c('b', [v('b1', 3)])]).node, 'b');
  assert.equal(ev.pickOne([c('a', [v('a1', 3), v('a2', 0)]), c('b', [v('b1', 3), v('b2', 0), v('b3', 0)]), c('d', [v('d1', 3), v('d2', 0)])]).node, 'a');
  // Then the latest start among the most important victims (no start time: now).
  const started = [c('a', [v('a1', 3, '2026-01-01T00:00:00Z')]), c('b', [v('b1', 3, '2026-01-01T12:00:00Z')]), c('c', [v('c1', 3, '2026-01-01T06:00:00Z')])];
  assert.equal(ev.pickOne(started).node, 'b');
  assert.equal(ev.pickOne([...started, c('d', [v('d1', 3)])]).node, 'd');
  // A full tie: the first.
  assert.equal(ev.pickOne([c('x', [v('x1', 3)]), c('y', [v('y1', 3)])]).node, 'x');
});

test('PodDisruptionBudgets: nodes whose victims break no budget are preferred', () => {
  const h = harness([node('a', { cpu: '1' }), node('b', { cpu: '1' })], [pod('guarded', { nodeName: 'a', cpu: '1', priority: 0, labels: { app: 'db' } }), pod('free', { nodeName: 'b', cpu: '1', priority: 5, labels: { app: 'web' } })]);
  const pdb: PodDisruptionBudget = { metadata: { name: 'db', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'db' } } }, status: { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 } };
  const r = cycle(h, pod('p', { cpu: '1', priority: 10 }), [budgetOf(pdb)]);
  assert.deepEqual(victims(r), ['free']);
  // Without the budget, the lower-priority victim on a is chosen.
  assert.deepEqual(victims(cycle(h, pod('q', { cpu: '1', priority: 10 }))), ['guarded']);
  // When every candidate violates a budget, preemption still happens (budgets are best effort).
  const h2 = harness([node('a', { cpu: '1' })], [pod('guarded', { nodeName: 'a', cpu: '1', labels: { app: 'db' } })]);
  const r2 = cycle(h2, pod('p', { cpu: '1', priority: 10 }), [budgetOf(pdb)]);
  assert.deepEqual(victims(r2), ['guarded']);
  assert.equal(r2.kind === 'unschedulable' && r2.preemption?.candidate.numPDBViolations, 1);
});

test('filterPodsWithPDBViolation counts down the allowed disruptions', () => {
  const pods = ['x1', 'x2', 'x3'].map((n) => info(pod(n, { labels: { app: 'x' } })));
  const pdb = budgetOf({ metadata: { namespace: 'default' }, spec: { selector: { matchLabels: { app: 'x' } } }, status: { disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 } });
  const r = filterPodsWithPDBViolation(pods, [pdb]);
  assert.deepEqual(r.nonViolating.map((p) => p.name), ['x1']);
  assert.deepEqual(r.violating.map((p) => p.name), ['x2', 'x3']);
  const empty = budgetOf({ metadata: { namespace: 'default' }, spec: { selector: {} }, status: { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 } });
  assert.equal(filterPodsWithPDBViolation(pods, [empty]).violating.length, 0);
});

test('a terminating victim on the nominated node makes the preemptor wait', () => {
  const victim = pod('v', { nodeName: 'n', cpu: '1', priority: 0, deleting: true });
  (victim as { status: unknown }).status = { conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler' }] };
  const h = harness([node('n', { cpu: '1' })], [victim]);
  const r = cycle(h, pod('p', { cpu: '1', priority: 10, nominatedNodeName: 'n' }));
  assert.equal(r.kind === 'unschedulable' && r.message, '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a terminating pod on the nominated node.');
});

test('nominated pods keep lower-priority pods off the space preemption freed', () => {
  const h = harness([node('n', { cpu: '2' })], [pod('x', { nodeName: 'n', cpu: '1' })]);
  const q = new SchedulingQueue({ timers: false });
  q.addNominated(info(pod('nominee', { cpu: '1', priority: 100 })), 'n');
  const filter = (prio: number) => {
    const st = new CycleState();
    const p = info(pod(`p${prio}`, { cpu: '1', priority: prio }));
    h.fw.runPreFilter(st, p, h.snap);
    return h.fw.runFilterWithNominated(st, p, h.snap.getNode('n')!, q);
  };
  assert.equal(filter(1)?.message(), 'Insufficient cpu');
  assert.equal(filter(200), null);
  q.close();
});

test('priority: spec.priority, else the PriorityClass, else the global default, else 0', () => {
  const classes: PriorityClass[] = [
    { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000 },
    { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'default' }, value: 50, globalDefault: true },
  ];
  assert.equal(resolvePriority(pod('a', { priority: 7, priorityClassName: 'high' }), classes), 7);
  assert.equal(resolvePriority(pod('b', { priorityClassName: 'high' }), classes), 1000);
  assert.equal(resolvePriority(pod('c'), classes), 50);
  assert.equal(resolvePriority(pod('d'), []), 0);
  assert.equal(resolvePriority(pod('e', { priorityClassName: 'system-node-critical' }), []), 2000001000);
});

test('a nominated preemptor shares its shape\'s kept dry runs except on its own nominated node: the same victims as a fresh dry run', () => {
  // a: two priority-1 pods fill it; b: one priority-5 pod fills it. `nominee` (nominated
  // to a) and `other` have the same shape. On a, nominee's own nomination doesn't count
  // against it (one victim makes room), while other must make room for nominee too (both go).
  const nodes = [node('a', { cpu: '2' }), node('b', { cpu: '2' })];
  const placed = [
    pod('a1', { nodeName: 'a', cpu: '1', priority: 1, startTime: '2026-01-01T00:00:00Z' }),
    pod('a2', { nodeName: 'a', cpu: '1', priority: 1, startTime: '2026-01-01T01:00:00Z' }),
    pod('b1', { nodeName: 'b', cpu: '2', priority: 5 }),
  ];
  const nominee = info(pod('nominee', { cpu: '1', priority: 10, nominatedNodeName: 'a' }));
  const other = info(pod('other', { cpu: '1', priority: 10 }));
  const outcome = (ev: Evaluator, h: ReturnType<typeof harness>, p: typeof nominee, q: SchedulingQueue) => {
    const r = schedulingCycle(h.alg, ev, p, [], q);
    if (r.kind !== 'unschedulable' || !r.preemption) throw new Error(`no preemption for ${p.name}`);
    return { node: r.preemption.candidate.node, victims: r.preemption.candidate.victims.map((v) => v.name) };
  };
  /** What each pod gets from an evaluator of its own (nothing kept). */
  const fresh = (p: typeof nominee) => {
    const h = harness(nodes, placed);
    const q = new SchedulingQueue({ timers: false });
    q.addNominated(nominee, 'a');
    const r = outcome(new Evaluator(h.fw, h.snap, { random: () => 0 }), h, p, q);
    q.close();
    return r;
  };
  assert.deepEqual(fresh(nominee), { node: 'a', victims: ['a2'] });
  assert.deepEqual(fresh(other), { node: 'a', victims: ['a1', 'a2'] });
  for (const order of [[other, nominee], [nominee, other]]) {
    const h = harness(nodes, placed);
    const q = new SchedulingQueue({ timers: false });
    q.addNominated(nominee, 'a');
    const ev = new Evaluator(h.fw, h.snap, { random: () => 0 });
    const dryRunNodes: string[] = [];
    const select = ev.selectVictimsOnNode.bind(ev);
    ev.selectVictimsOnNode = (...args) => {
      dryRunNodes.push(args[2].name);
      return select(...args);
    };
    const [first, second] = order;
    assert.deepEqual(outcome(ev, h, first, q), fresh(first), `${first.name} first`);
    dryRunNodes.length = 0;
    assert.deepEqual(outcome(ev, h, second, q), fresh(second), `${second.name} after ${first.name}`);
    // The second pod reuses the first's dry run on b; only the nominee's node is its own.
    assert.deepEqual(dryRunNodes, ['a'], `dry runs of ${second.name} after ${first.name}`);
    q.close();
  }
});

test('the node preemption picks is pickOne of every dry run\'s candidate, those that break no budget first', () => {
  // A seeded generator: full nodes of pods with random priorities, start times and labels,
  // a budget over some of them; the preemptor fits nowhere. The pick made while dry-running
  // must be pickOne of the list of all candidates, in node order (offset 0: random() = 0).
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let round = 0; round < 40; round++) {
    const nodes = [];
    const placed = [];
    for (let n = 0; n < 6; n++) {
      nodes.push(node(`n${n}`, { cpu: '4' }));
      for (let k = 0; k < 4; k++) {
        const start = rand(3) === 0 ? undefined : `2026-01-01T0${rand(3)}:00:00Z`;
        placed.push(pod(`n${n}-p${k}`, { nodeName: `n${n}`, cpu: '1', priority: rand(4), startTime: start, labels: { app: rand(2) === 0 ? 'db' : 'web' } }));
      }
    }
    const pdb: PodDisruptionBudget = { metadata: { name: 'db', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'db' } } }, status: { disruptionsAllowed: rand(3), currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 } };
    const budgets = rand(2) === 0 ? [budgetOf(pdb)] : [];
    const h = harness(nodes, placed);
    const preemptor = pod('hi', { cpu: String(1 + rand(2)), priority: 2 + rand(2) });
    const now = Date.parse('2026-01-01T12:00:00Z');
    const ev = new Evaluator(h.fw, h.snap, { random: () => 0, now: () => now });
    const r = schedulingCycle(h.alg, ev, info(preemptor), budgets);
    // Every node's dry run, in node order, as a list.
    const nonViolating: Candidate[] = [];
    const violating: Candidate[] = [];
    for (const n of h.snap.nodeList()) {
      const state = new CycleState();
      const p = info(preemptor);
      h.fw.runPreFilter(state, p, h.snap);
      const v = ev.selectVictimsOnNode(state, p, n.clone(), budgets);
      if ('status' in v || v.victims.length === 0) continue;
      (v.numPDBViolations === 0 ? nonViolating : violating).push(makeCandidate(n.name, v.victims, v.numPDBViolations));
    }
    const all = [...nonViolating, ...violating];
    if (all.length === 0) {
      assert.ok(r.kind === 'unschedulable' && !r.preemption, `round ${round}: no candidate, no preemption`);
      continue;
    }
    const expected = ev.pickOne(all);
    assert.ok(r.kind === 'unschedulable' && r.preemption, `round ${round}: a preemption`);
    assert.equal(r.preemption.candidate.node, expected.node, `round ${round}`);
    assert.deepEqual(r.preemption.candidate.victims.map((x) => x.name), expected.victims.map((x) => x.name), `round ${round}`);
  }
});

test('when no node makes a candidate, the reasons come from the kept dry runs and the pod\'s own node alike', () => {
  const h = harness(
    [node('a', { cpu: '1' }), node('b', { cpu: '1' }), node('c', { cpu: '1' })],
    [pod('a1', { nodeName: 'a', cpu: '1', priority: 5 }), pod('b1', { nodeName: 'b', cpu: '1', priority: 5 }), pod('c1', { nodeName: 'c', cpu: '1', priority: 1 })],
  );
  const q = new SchedulingQueue({ timers: false });
  // On c, a pod nominated there (of the preemptors' priority) leaves no room for a second one.
  q.addNominated(info(pod('waiting', { cpu: '1', priority: 3 })), 'c');
  const ev = new Evaluator(h.fw, h.snap, { random: () => 0 });
  const expected =
    '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 1 Insufficient cpu, 2 No preemption victims found for incoming pod.';
  for (const p of [info(pod('first', { cpu: '1', priority: 3 })), info(pod('second', { cpu: '1', priority: 3 }))]) {
    const r = schedulingCycle(h.alg, ev, p, [], q);
    assert.equal(r.kind === 'unschedulable' && r.message, expected, p.name);
  }
  // `waiting` itself, nominated to c: its own nomination doesn't count there, so c makes a candidate.
  const waiting = info(pod('waiting', { cpu: '1', priority: 3, nominatedNodeName: 'c' }));
  const r = schedulingCycle(h.alg, ev, waiting, [], q);
  assert.equal(r.kind === 'unschedulable' && r.preemption?.candidate.node, 'c');
  // Another nominated to a (no victims there either way) reads c's kept status and a's own.
  q.addNominated(info(pod('third', { cpu: '1', priority: 3 })), 'a');
  const third = schedulingCycle(h.alg, ev, info(pod('third', { cpu: '1', priority: 3, nominatedNodeName: 'a' })), [], q);
  assert.equal(
    third.kind === 'unschedulable' && third.message,
    '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 1 Insufficient cpu, 2 No preemption victims found for incoming pod.',
  );
  q.close();
});
