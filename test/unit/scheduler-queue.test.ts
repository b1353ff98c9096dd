// The scheduling queue: priority order, back-off, parking unschedulable pods and
// moving them back on the events their plugins registered (never by polling).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchedulingQueue } from '../../scheduler/queue.js';
import { defaultFramework } from '../../scheduler/profile.js';
import { Action } from '../../scheduler/framework.js';
import { nodeChanges } from '../../scheduler/scheduler.js';
import { info, node, pod } from './scheduler-fixtures.js';

function makeQueue() {
  let now = 1_000_000;
  const q = new SchedulingQueue({ timers: false, now: () => now, registeredEvents: defaultFramework().registeredEvents() });
  return { q, advance: (ms: number) => (now += ms), now: () => now };
}

test('activeQ: highest priority first, then first come', () => {
  const { q, advance } = makeQueue();
  q.add(info(pod('low1', { priority: 1 })));
  advance(1);
  q.add(info(pod('high', { priority: 10 })));
  advance(1);
  q.add(info(pod('low2', { priority: 1 })));
  assert.deepEqual([q.tryPop()!.key, q.tryPop()!.key, q.tryPop()!.key], ['default/high', 'default/low1', 'default/low2']);
  assert.equal(q.tryPop(), undefined);
});

test('back-off: 1 s doubling per attempt, capped at 10 s', () => {
  const { q } = makeQueue();
  q.add(info(pod('p')));
  const qp = q.tryPop()!;
  const durations: number[] = [];
  for (let attempts = 1; attempts <= 6; attempts++) {
    qp.attempts = attempts;
    durations.push(q.backoffDuration(qp));
  }
  assert.deepEqual(durations, [1000, 2000, 4000, 8000, 10000, 10000]);
});

test('errors go to the back-off queue and come back once the window after its end starts; an idle scheduler does not take them early', () => {
  const { q, advance } = makeQueue();
  q.add(info(pod('p')));
  const qp = q.tryPop()!;
  advance(300); // fails at 1,000.3 s: its 1 s back-off ends at 1,001.3 s, in the window [1,001 s, 1,002 s)
  q.addUnschedulableIfNotPresent(qp, new Set(), true);
  assert.equal(q.where('default/p'), 'backoff');
  assert.equal(q.tryPop(), undefined, 'a pod that failed with an error is not popped from the back-off queue');
  advance(1200); // 1,001.5 s: still in the window its back-off ends in
  q.flushBackoffCompleted();
  assert.equal(q.where('default/p'), 'backoff');
  advance(500); // 1,002.0 s: the next window
  q.flushBackoffCompleted();
  assert.equal(q.where('default/p'), 'active');
});

test('SchedulerPopFromBackoffQ: with activeQ empty, the plugin-rejected back-off pods are popped, earliest window first, by priority within a window', () => {
  const { q, advance } = makeQueue();
  for (const [name, priority] of [['low', 1], ['high', 10], ['later', 100]] as const) q.add(info(pod(name, { priority, cpu: '16' })));
  const popped = [q.tryPop()!, q.tryPop()!, q.tryPop()!];
  // low and high fail in the same second, later one second after.
  for (const p of popped.filter((x) => x.key !== 'default/later')) q.addUnschedulableIfNotPresent(p, new Set(['NodeResourcesFit']));
  advance(1000);
  q.addUnschedulableIfNotPresent(popped.find((x) => x.key === 'default/later')!, new Set(['NodeResourcesFit']));
  // Room freed: all three move, still backing off.
  assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'AssignedPod', action: Action.Delete, label: 'AssignedPodDelete' }, pod('gone', { nodeName: 'n' }), undefined), 3);
  assert.deepEqual([q.where('default/low'), q.where('default/high'), q.where('default/later')], ['backoff', 'backoff', 'backoff']);
  const order = [q.tryPop()!, q.tryPop()!, q.tryPop()!];
  assert.deepEqual(order.map((x) => x.key), ['default/high', 'default/low', 'default/later']);
  assert.deepEqual(order.map((x) => x.attempts), [2, 2, 2], 'each pop is an attempt');
  // But a pod in activeQ goes first.
  for (const x of order) q.addUnschedulableIfNotPresent(x, new Set(['NodeResourcesFit']));
  q.moveAllToActiveOrBackoffQueue({ resource: 'AssignedPod', action: Action.Delete, label: 'AssignedPodDelete' }, pod('gone2', { nodeName: 'n' }), undefined);
  q.add(info(pod('fresh', { priority: 0 })));
  assert.equal(q.tryPop()!.key, 'default/fresh');
});

test('SchedulerPopFromBackoffQ: a scheduler waiting for work gets a pod as soon as it enters the back-off queue', async () => {
  const { q, advance } = makeQueue();
  q.add(info(pod('p', { cpu: '16' })));
  q.addUnschedulableIfNotPresent(q.tryPop()!, new Set(['NodeResourcesFit']));
  const next = q.pop();
  advance(10);
  assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'AssignedPod', action: Action.Delete, label: 'AssignedPodDelete' }, pod('gone', { nodeName: 'n' }), undefined), 1);
  const got = await next;
  assert.equal(got?.key, 'default/p');
  assert.equal(q.where('default/p'), 'inflight');
});

test('unschedulable pods move only on events their plugins care about', () => {
  const { q, advance } = makeQueue();
  q.add(info(pod('big', { cpu: '16' })));
  const qp = q.tryPop()!;
  q.addUnschedulableIfNotPresent(qp, new Set(['NodeResourcesFit']));
  assert.equal(q.where('default/big'), 'unschedulable');
  // A pod being bound elsewhere doesn't help a pod that lacked cpu.
  assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'AssignedPod', action: Action.Add, label: 'AssignedPodAdd' }, undefined, pod('x', { nodeName: 'n' })), 0);
  // A node too small for it doesn't either (the hint says Skip).
  assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'Node', action: Action.Add, label: 'NodeAdd' }, undefined, node('small', { cpu: '4' })), 0);
  assert.equal(q.where('default/big'), 'unschedulable');
  // A big enough node does; still backing off, so it goes to backoffQ first.
  assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'Node', action: Action.Add, label: 'NodeAdd' }, undefined, node('large', { cpu: '32' })), 1);
  assert.equal(q.where('default/big'), 'backoff');
  advance(2000); // the window after the one its back-off ends in
  q.flushBackoffCompleted();
  assert.equal(q.where('default/big'), 'active');
  assert.equal(q.moves.get('NodeAdd'), 1);
});

test('a deleted pod frees resources: NodeResourcesFit requeues on AssignedPod delete', () => {
  const { q, advance } = makeQueue();
  q.add(info(pod('p', { cpu: '1' })));
  const qp = q.tryPop()!;
  q.addUnschedulableIfNotPresent(qp, new Set(['NodeResourcesFit']));
  advance(5000);
  assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'AssignedPod', action: Action.Delete, label: 'AssignedPodDelete' }, pod('gone', { nodeName: 'n' }), undefined), 1);
  assert.equal(q.where('default/p'), 'active');
});

test('cordon and uncordon: NodeUnschedulable requeues when the node becomes schedulable', () => {
  const { q, advance } = makeQueue();
  q.add(info(pod('p')));
  q.addUnschedulableIfNotPresent(q.tryPop()!, new Set(['NodeUnschedulable']));
  advance(2000);
  const cordoned = node('n', { unschedulable: true });
  const uncordoned = node('n');
  assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'Node', action: Action.UpdateNodeLabel, label: 'NodeUpdate' }, cordoned, uncordoned), 0);
  assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'Node', action: Action.UpdateNodeTaint, label: 'NodeUpdate' }, cordoned, uncordoned), 1);
});

test('pods parked for more than 5 minutes are retried anyway', () => {
  const { q, advance } = makeQueue();
  q.add(info(pod('p', { nodeSelector: { nope: 'x' } })));
  q.addUnschedulableIfNotPresent(q.tryPop()!, new Set(['NodeAffinity']));
  advance(4 * 60 * 1000);
  q.flushUnschedulableLeftover();
  assert.equal(q.where('default/p'), 'unschedulable');
  advance(61 * 1000);
  q.flushUnschedulableLeftover();
  assert.equal(q.where('default/p'), 'active');
  assert.equal(q.moves.get('UnschedulableTimeout'), 1);
});

test('updates: status-only changes leave a parked pod alone; spec changes retry it; gates hold pods back', () => {
  const { q, advance } = makeQueue();
  const p = pod('p', { nodeSelector: { disk: 'ssd' } });
  q.add(info(p));
  q.addUnschedulableIfNotPresent(q.tryPop()!, new Set(['NodeAffinity']));
  advance(3000);
  const statusOnly = { ...p, status: { conditions: [{ type: 'PodScheduled', status: 'False' }] } };
  q.update(info(p), info(statusOnly));
  assert.equal(q.where('default/p'), 'unschedulable');
  const relabeled = { ...statusOnly, metadata: { ...p.metadata, labels: { x: 'y' } } };
  q.update(info(statusOnly), info(relabeled));
  assert.equal(q.where('default/p'), 'active');

  const gated = pod('g');
  gated.spec!.schedulingGates = [{ name: 'example.com/wait' }];
  q.add(info(gated));
  assert.equal(q.where('default/g'), 'unschedulable');
  assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'Node', action: Action.Add, label: 'NodeAdd' }, undefined, node('n')), 0);
  const ungated = { ...gated, spec: { ...gated.spec!, schedulingGates: [] } };
  q.update(info(gated), info(ungated));
  assert.equal(q.where('default/g'), 'active');
});

test('pop waits for a pod; close releases the waiter', async () => {
  const { q } = makeQueue();
  const waiting = q.pop();
  q.add(info(pod('late')));
  assert.equal((await waiting)?.key, 'default/late');
  const again = q.pop();
  q.close();
  assert.equal(await again, undefined);
});


test('node updates become events only when something the scheduler uses changed', () => {
  const base = node('n', { labels: { zone: 'a' } });
  const heartbeat = { ...base, status: { ...base.status, conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2026-01-01T00:00:10Z' }] } };
  assert.equal(nodeChanges(base, heartbeat), 0);
  assert.equal(nodeChanges(base, node('n', { labels: { zone: 'b' } })), Action.UpdateNodeLabel);
  assert.equal(nodeChanges(node('n', { unschedulable: true, labels: { zone: 'a' } }), base), Action.UpdateNodeTaint);
  assert.equal(nodeChanges(base, node('n', { unschedulable: true, labels: { zone: 'a' } })), 0);
  assert.equal(nodeChanges(base, node('n', { labels: { zone: 'a' }, cpu: '8' })), Action.UpdateNodeAllocatable);
  const notReady = { ...base, status: { ...base.status, conditions: [{ type: 'Ready', status: 'False' }] } };
  assert.equal(nodeChanges(base, notReady), Action.UpdateNodeCondition);
});
