import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Event as CoreEvent, Pod } from 'kubernetes-types/core/v1.js';
import { EventBroadcaster, createEventRecorder } from '../../client/events.js';
import { EVENTS, PODS, pod, res, startCluster } from './client-fixture.js';

test('events: created as upstream names them; repeats within 10 minutes bump count on the same Event', async () => {
  const c = await startCluster();
  const t = c.transport;
  let now = new Date('2026-01-01T00:00:00Z');
  const logs: string[] = [];
  const b = new EventBroadcaster(t, { host: 'node-a', now: () => now, log: (m) => logs.push(m) });
  const rec = b.newRecorder('kite-scheduler');
  try {
    const p = await t.create<Pod>(PODS, 'default', pod('web-1') as Pod);
    rec.event(p, 'Normal', 'Scheduled', 'Successfully assigned default/web-1 to n1');
    now = new Date('2026-01-01T00:00:05Z');
    rec.event(p, 'Normal', 'Scheduled', 'Successfully assigned default/web-1 to n1');
    now = new Date('2026-01-01T00:01:00Z');
    rec.event(p, 'Normal', 'Scheduled', 'Successfully assigned default/web-1 to n1');
    rec.event(p, 'Warning', 'FailedMount', 'volume "x" not found');
    await b.flush();

    const list = await t.list<CoreEvent>(EVENTS, 'default');
    assert.equal(list.items.length, 2, JSON.stringify(logs));
    const sched = list.items.find((e) => e.reason === 'Scheduled')!;
    assert.match(sched.metadata!.name!, /^web-1\.[0-9a-f]+$/);
    assert.equal(BigInt('0x' + sched.metadata!.name!.split('.')[1]), BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1_000_000n, 'hex nanoseconds of the first occurrence');
    assert.equal(sched.count, 3);
    assert.equal(sched.firstTimestamp, '2026-01-01T00:00:00Z');
    assert.equal(sched.lastTimestamp, '2026-01-01T00:01:00Z');
    assert.equal(sched.type, 'Normal');
    assert.deepEqual(sched.involvedObject, {
      kind: 'Pod',
      namespace: 'default',
      name: 'web-1',
      uid: p.metadata!.uid,
      apiVersion: 'v1',
      resourceVersion: p.metadata!.resourceVersion,
    });
    assert.deepEqual(sched.source, { component: 'kite-scheduler', host: 'node-a' });
    assert.equal(sched.reportingComponent, 'kite-scheduler');
    assert.equal(sched.reportingInstance, 'node-a');
    const warn = list.items.find((e) => e.reason === 'FailedMount')!;
    assert.equal(warn.count, 1);
    assert.equal(warn.type, 'Warning');

    // Eleven minutes later the same event is a new Event.
    now = new Date('2026-01-01T00:12:00Z');
    rec.event(p, 'Normal', 'Scheduled', 'Successfully assigned default/web-1 to n1');
    await b.flush();
    const after = (await t.list<CoreEvent>(EVENTS, 'default')).items.filter((e) => e.reason === 'Scheduled');
    assert.equal(after.length, 2);
    assert.deepEqual(after.map((e) => e.count).sort(), [1, 3]);

    // The aggregated Event was deleted meanwhile: a repeat creates a fresh one.
    const fresh = after.find((e) => e.count === 1)!;
    await t.delete(EVENTS, 'default', fresh.metadata!.name!);
    now = new Date('2026-01-01T00:12:30Z');
    rec.event(p, 'Normal', 'Scheduled', 'Successfully assigned default/web-1 to n1');
    await b.flush();
    const final = (await t.list<CoreEvent>(EVENTS, 'default')).items.filter((e) => e.reason === 'Scheduled');
    assert.deepEqual(final.map((e) => e.count).sort(), [1, 3]);
    assert.ok(final.some((e) => e.firstTimestamp === '2026-01-01T00:12:30Z'));
  } finally {
    await b.shutdown();
    await c.close();
  }
});

test('events: cluster-scoped objects record into default; failures never reach the caller', async () => {
  const c = await startCluster();
  const logs: string[] = [];
  const rec = createEventRecorder(c.transport, 'kite-node-controller', { host: 'h', log: (m) => logs.push(m) });
  try {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'node-uid' } };
    rec.event(node, 'Normal', 'RegisteredNode', 'Node n1 event: Registered Node n1 in Controller');
    // A namespace that doesn't exist: the write fails, quietly.
    assert.doesNotThrow(() => rec.event({ kind: 'Pod', apiVersion: 'v1', metadata: { name: 'x', namespace: 'nope' } }, 'Warning', 'Oops', 'no namespace'));
    // An object reference works as well as an object.
    rec.event({ kind: 'Node', name: 'n2', uid: 'u2', apiVersion: 'v1' }, 'Normal', 'Ref', 'by reference');
    await rec.flush();
    const evs = (await c.transport.list<CoreEvent>(EVENTS, 'default')).items;
    const names = evs.map((e) => e.involvedObject.name).sort();
    assert.deepEqual(names, ['n1', 'n2']);
    const n1 = evs.find((e) => e.involvedObject.name === 'n1')!;
    assert.equal(n1.involvedObject.namespace, undefined);
    assert.equal(n1.metadata!.namespace, 'default');
    assert.equal(logs.length, 1, 'the failed write was logged');
    assert.match(logs[0], /Oops/);
    // events.k8s.io/v1 sees the same objects.
    const v1 = await c.transport.list(res('events.k8s.io', 'v1', 'events'), 'default');
    assert.equal(v1.items.length, 2);
  } finally {
    await rec.shutdown();
    await c.close();
  }
});
