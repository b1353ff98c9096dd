import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, ConfigMap } from 'kubernetes-types/core/v1.js';
import { Informer, SharedInformerFactory } from '../../client/informer.js';
import { NAMESPACE_INDEX, NODE_NAME_INDEX, OWNER_UID_INDEX, indexByNodeName, indexByOwnerUID } from '../../client/store.js';
import { isExpired, isNotFound } from '../../client/transport.js';
import type { WatchEnd } from '../../client/transport.js';
import { CONFIGMAPS, ControlledTransport, NAMESPACES, PODS, configMap, pod, sleep, startCluster, waitFor } from './client-fixture.js';

type Seen = { type: 'add' | 'update' | 'delete'; name: string; initial?: boolean; tombstone?: boolean; oldRV?: string; newRV?: string };

function recorder<T extends { metadata?: { name?: string; resourceVersion?: string } }>() {
  const seen: Seen[] = [];
  return {
    seen,
    handler: {
      onAdd: (o: T, initial: boolean) => seen.push({ type: 'add', name: o.metadata!.name!, initial }),
      onUpdate: (a: T, b: T) => seen.push({ type: 'update', name: b.metadata!.name!, oldRV: a.metadata?.resourceVersion, newRV: b.metadata?.resourceVersion }),
      onDelete: (o: T, tombstone: boolean) => seen.push({ type: 'delete', name: o.metadata!.name!, tombstone }),
    },
  };
}

test('informer: syncs, delivers add/update/delete in order, keeps indexes current', async () => {
  const c = await startCluster(['default', 'other']);
  const t = c.transport;
  try {
    await t.create(PODS, 'default', pod('p1', { nodeName: 'n1', owner: 'uid-a' }));
    await t.create(PODS, 'default', pod('p2', { nodeName: 'n1', owner: 'uid-b' }));
    await t.create(PODS, 'other', pod('p3', { namespace: 'other', owner: 'uid-a' }));

    const inf = new Informer<Pod>(t, PODS, { indexers: { [NODE_NAME_INDEX]: indexByNodeName, [OWNER_UID_INDEX]: indexByOwnerUID } });
    const r = recorder<Pod>();
    const reg = inf.addEventHandler(r.handler);
    assert.equal(inf.hasSynced(), false);
    assert.equal(reg.hasSynced(), false);
    inf.start();
    assert.equal(await inf.waitForSync(2000), true);
    assert.equal(reg.hasSynced(), true);
    assert.deepEqual(
      r.seen.map((s) => `${s.type}:${s.name}:${s.initial}`).sort(),
      ['add:p1:true', 'add:p2:true', 'add:p3:true'],
    );
    assert.equal(inf.store.size, 3);
    assert.deepEqual(inf.store.byIndex(NODE_NAME_INDEX, 'n1').map((p) => p.metadata!.name).sort(), ['p1', 'p2']);
    assert.deepEqual(inf.store.byIndex(OWNER_UID_INDEX, 'uid-a').map((p) => p.metadata!.name).sort(), ['p1', 'p3']);
    assert.deepEqual(inf.store.listNamespace('other').map((p) => p.metadata!.name), ['p3']);
    assert.ok(inf.store.hasIndex(NAMESPACE_INDEX), 'namespaced resources get byNamespace');
    assert.equal(inf.store.get('default', 'p1')!.kind, 'Pod');

    r.seen.length = 0;
    await t.create(PODS, 'default', pod('p4', { labels: { app: 'x' } }));
    await t.patch(PODS, 'default', 'p4', 'merge', { metadata: { labels: { app: 'y' } } });
    const bound = await t.createSubresource<{ status?: string }>(PODS, 'default', 'p4', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p4' }, target: { kind: 'Node', name: 'n2' } }, { readOnly: true });
    assert.equal(bound.status, 'Success', 'a read-only caller gets the answer itself');
    await t.delete(PODS, 'default', 'p2', { gracePeriodSeconds: 0 });
    await waitFor(() => r.seen.length >= 4, 'four events');
    assert.deepEqual(
      r.seen.map((s) => `${s.type}:${s.name}`),
      ['add:p4', 'update:p4', 'update:p4', 'delete:p2'],
    );
    assert.equal(r.seen[0].initial, false);
    assert.notEqual(r.seen[1].oldRV, r.seen[1].newRV);
    assert.equal(r.seen[3].tombstone, false);
    assert.equal(inf.store.get('default', 'p4')!.metadata!.labels!.app, 'y');
    assert.equal(inf.store.get('default', 'p2'), undefined);
    // Index moves: p4 was unscheduled (no nodeName), now on n2; p2 left n1.
    assert.deepEqual(inf.store.byIndex(NODE_NAME_INDEX, 'n2').map((p) => p.metadata!.name), ['p4']);
    assert.deepEqual(inf.store.byIndex(NODE_NAME_INDEX, 'n1').map((p) => p.metadata!.name), ['p1']);
    assert.deepEqual(inf.store.indexKeys(OWNER_UID_INDEX, 'uid-b'), []);
    assert.deepEqual(inf.store.indexValues(NODE_NAME_INDEX).sort(), ['n1', 'n2']);
    assert.equal(inf.lastSyncResourceVersion(), String(c.registry.currentRevision()));

    // A handler joining late is given the current contents first.
    const late = recorder<Pod>();
    const lateReg = inf.addEventHandler(late.handler);
    assert.equal(lateReg.hasSynced(), true);
    assert.deepEqual(late.seen.map((s) => `${s.name}:${s.initial}`).sort(), ['p1:true', 'p3:true', 'p4:true']);
    lateReg.remove();
    await t.create(PODS, 'default', pod('p5'));
    await waitFor(() => inf.store.has('default/p5'), 'p5');
    assert.equal(late.seen.length, 3, 'removed handler gets nothing more');
    await inf.stop();
  } finally {
    await c.close();
  }
});

test('informer: a normal watch end resumes from the last resourceVersion without a re-list', async () => {
  const c = await startCluster();
  const t = new ControlledTransport(c.transport);
  try {
    await t.create(CONFIGMAPS, 'default', configMap('a'));
    const inf = new Informer<ConfigMap>(t, CONFIGMAPS, { backoff: { initialMs: 5, maxMs: 20 } });
    inf.start();
    await inf.waitForSync(2000);
    await t.create(CONFIGMAPS, 'default', configMap('b'));
    await waitFor(() => inf.store.has('default/b'), 'b');
    const rv = inf.lastSyncResourceVersion();
    assert.equal(t.listCalls.length, 1);
    t.holdWatches();
    t.closeWatches();
    await waitFor(() => t.watchCalls.length === 2, 'a second watch');
    assert.equal(t.watchCalls[1].resourceVersion, rv, 'resumes from the last RV seen');
    // Changes made while no watch is open are replayed from the watch cache.
    await t.create(CONFIGMAPS, 'default', configMap('c'));
    await t.delete(CONFIGMAPS, 'default', 'a');
    t.releaseWatches();
    await waitFor(() => inf.store.has('default/c') && !inf.store.has('default/a'), 'replayed events');
    assert.equal(t.listCalls.length, 1, 'no re-list');
    assert.equal(t.watchCalls[0].allowWatchBookmarks, true);
    assert.ok(t.watchCalls[0].timeoutSeconds! >= 300 && t.watchCalls[0].timeoutSeconds! < 600);
    await inf.stop();
  } finally {
    await c.close();
  }
});

test('informer: 410 Expired on the watch forces a re-list; vanished objects are delivered as tombstones', async () => {
  const c = await startCluster();
  const t = new ControlledTransport(c.transport);
  try {
    await t.create(CONFIGMAPS, 'default', configMap('keep', { v: '1' }));
    await t.create(CONFIGMAPS, 'default', configMap('gone', { v: '1' }));
    const inf = new Informer<ConfigMap>(t, CONFIGMAPS, { backoff: { initialMs: 5, maxMs: 20 } });
    const r = recorder<ConfigMap>();
    inf.addEventHandler(r.handler);
    inf.start();
    await inf.waitForSync(2000);
    // One event through the open watch, so that closing it is an ordinary end.
    await t.create(CONFIGMAPS, 'default', configMap('marker'));
    await waitFor(() => inf.store.has('default/marker'), 'marker');
    const staleRV = inf.lastSyncResourceVersion();
    r.seen.length = 0;

    // Hold the next watch, end this one, and meanwhile push the watch cache's window
    // for configmaps (4096 events) past the informer's resourceVersion.
    t.holdWatches();
    t.closeWatches();
    await waitFor(() => t.watchCalls.length === 2, 'the informer to ask for a new watch');
    await t.delete(CONFIGMAPS, 'default', 'gone');
    await t.patch(CONFIGMAPS, 'default', 'keep', 'merge', { data: { v: '2' } });
    for (let i = 0; i < 4200; i++) {
      const key = `/registry/core/configmaps/default/filler-${String(i).padStart(4, '0')}`;
      await c.store.create(key, Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `filler-${String(i).padStart(4, '0')}`, namespace: 'default', uid: `u${i}` } })));
    }
    // The watch cache really refuses that resourceVersion now.
    const probe = c.transport.watch(CONFIGMAPS, 'default', { resourceVersion: staleRV }, () => undefined);
    const end: WatchEnd = await probe.done;
    assert.equal(end.reason, 'error');
    assert.ok(isExpired(end.error), `410 expected, got ${end.error?.code}`);
    assert.equal(end.error!.code, 410);

    t.releaseWatches();
    await waitFor(() => t.listCalls.length === 2, 're-list');
    await waitFor(() => inf.store.size === 4202, 'store to match the re-list', 10_000);
    assert.equal(t.listCalls.length, 2, 'exactly one re-list');
    assert.equal(t.watchCalls[1].resourceVersion, staleRV, 'the watch that failed asked for the stale RV');
    const deletes = r.seen.filter((s) => s.type === 'delete');
    assert.deepEqual(deletes, [{ type: 'delete', name: 'gone', tombstone: true }]);
    const updates = r.seen.filter((s) => s.type === 'update');
    assert.deepEqual(updates.map((u) => u.name), ['keep']);
    assert.equal(inf.store.get('default', 'keep')!.data!.v, '2');
    assert.equal(r.seen.filter((s) => s.type === 'add').length, 4200);
    assert.ok(r.seen.filter((s) => s.type === 'add').every((s) => s.initial === false), 'adds after the first sync are not initial');
    // And it is watching again, from the new list's RV.
    await waitFor(() => t.watchCalls.length === 3, 'a fresh watch');
    assert.ok(Number(t.watchCalls[2].resourceVersion) > Number(staleRV));
    await t.create(CONFIGMAPS, 'default', configMap('after'));
    await waitFor(() => inf.store.has('default/after'), 'events after the re-list');
    await inf.stop();
  } finally {
    await c.close();
  }
});

test('informer: periodic resync re-delivers every object as an update; off by default', async () => {
  const c = await startCluster();
  try {
    await c.transport.create(CONFIGMAPS, 'default', configMap('a'));
    await c.transport.create(CONFIGMAPS, 'default', configMap('b'));
    const inf = new Informer<ConfigMap>(c.transport, CONFIGMAPS);
    const quiet = recorder<ConfigMap>();
    const resynced = recorder<ConfigMap>();
    inf.addEventHandler(quiet.handler);
    inf.addEventHandler(resynced.handler, { resyncPeriodMs: 20 });
    inf.start();
    await inf.waitForSync(2000);
    await sleep(110);
    const ups = resynced.seen.filter((s) => s.type === 'update');
    assert.ok(ups.length >= 4, `resync updates: ${ups.length}`);
    assert.ok(ups.every((u) => u.oldRV === u.newRV));
    assert.equal(quiet.seen.filter((s) => s.type === 'update').length, 0);
    await inf.stop();
  } finally {
    await c.close();
  }
});

test('informer: selectors and namespace narrow what is cached', async () => {
  const c = await startCluster(['default', 'other']);
  const t = c.transport;
  try {
    await t.create(PODS, 'default', pod('a', { labels: { app: 'web' } }));
    await t.create(PODS, 'default', pod('b', { labels: { app: 'db' } }));
    await t.create(PODS, 'other', pod('c', { namespace: 'other', labels: { app: 'web' } }));
    const inf = new Informer<Pod>(t, PODS, { namespace: 'default', labelSelector: 'app=web' });
    inf.start();
    await inf.waitForSync(2000);
    assert.deepEqual(inf.store.listKeys(), ['default/a']);
    // Relabelling out of the selector is a delete for this informer.
    await t.patch(PODS, 'default', 'a', 'merge', { metadata: { labels: { app: 'db' } } });
    await t.patch(PODS, 'default', 'b', 'merge', { metadata: { labels: { app: 'web' } } });
    await waitFor(() => inf.store.listKeys().join() === 'default/b', 'selector moves');
    await inf.stop();
  } finally {
    await c.close();
  }
});

test('informer: stop before sync resolves waitForSync(false); cluster-scoped keys are bare names', async () => {
  const c = await startCluster(['default', 'kube-system']);
  try {
    const inf = new Informer(c.transport, NAMESPACES);
    const waiting = inf.waitForSync();
    await inf.stop();
    assert.equal(await waiting, false);
    const ns = new Informer(c.transport, NAMESPACES);
    ns.start();
    assert.equal(await ns.waitForSync(2000), true);
    assert.deepEqual(ns.store.listKeys().sort(), ['default', 'kube-system']);
    assert.equal(ns.store.hasIndex(NAMESPACE_INDEX), false);
    await ns.stop();
  } finally {
    await c.close();
  }
});

test('shared informer factory: one informer per resource and options, started and stopped together', async () => {
  const c = await startCluster();
  try {
    await c.transport.create(CONFIGMAPS, 'default', configMap('a'));
    const f = new SharedInformerFactory(c.transport);
    const a = f.informerFor<ConfigMap>(CONFIGMAPS);
    const b = f.informerFor<ConfigMap>(CONFIGMAPS, { indexers: { byData: (o) => Object.keys((o as ConfigMap).data ?? {}) } });
    const other = f.informerFor<ConfigMap>(CONFIGMAPS, { namespace: 'default' });
    assert.equal(a, b, 'same resource, same options: shared');
    assert.notEqual(a, other);
    assert.ok(a.store.hasIndex('byData'), 'indexers merged into the shared informer');
    f.start();
    assert.equal(await f.waitForCacheSync(2000), true);
    assert.equal(a.store.size, 1);
    // Made after start: started at once.
    const pods = f.informerFor<Pod>(PODS);
    assert.equal(await pods.waitForSync(2000), true);
    await f.stop();
    assert.ok(a.isStopped() && other.isStopped() && pods.isStopped());
  } finally {
    await c.close();
  }
});

test('local transport: private copies, asynchronous ordered watch, StatusErrors', async () => {
  const c = await startCluster();
  const t = c.transport;
  try {
    const input = configMap('x', { k: 'v' });
    const created = await t.create(CONFIGMAPS, 'default', input);
    assert.equal((input.metadata as { resourceVersion?: string }).resourceVersion, undefined, 'input not mutated');
    (created as ConfigMap).data!.k = 'changed';
    const again = await t.get<ConfigMap>(CONFIGMAPS, 'default', 'x');
    assert.equal(again.data!.k, 'v', 'returned objects are copies');

    const events: string[] = [];
    let inWriter = false;
    const w = t.watch<ConfigMap>(CONFIGMAPS, 'default', { resourceVersion: again.metadata!.resourceVersion }, (ev) => {
      assert.equal(inWriter, false, 'never delivered inside the writer');
      events.push(`${ev.type}:${ev.object.metadata!.name}:${ev.object.data?.k ?? ''}`);
      ev.object.data = { k: 'mutated by watcher' };
    });
    for (let i = 0; i < 5; i++) {
      inWriter = true;
      const p = t.patch(CONFIGMAPS, 'default', 'x', 'merge', { data: { k: `v${i}` } });
      inWriter = false;
      await p;
    }
    await t.delete(CONFIGMAPS, 'default', 'x');
    await waitFor(() => events.length === 6, 'six events');
    assert.deepEqual(events, ['MODIFIED:x:v0', 'MODIFIED:x:v1', 'MODIFIED:x:v2', 'MODIFIED:x:v3', 'MODIFIED:x:v4', 'DELETED:x:v4']);
    w.stop();
    assert.deepEqual(await w.done, { reason: 'stopped' });

    await assert.rejects(t.get(CONFIGMAPS, 'default', 'x'), (e: unknown) => isNotFound(e));
    const bad = t.watch(CONFIGMAPS, 'default', { labelSelector: 'a in (' }, () => undefined);
    const end = await bad.done;
    assert.equal(end.reason, 'error');

    const timed = t.watch(CONFIGMAPS, 'default', { timeoutSeconds: 0.05 }, () => undefined);
    assert.deepEqual(await timed.done, { reason: 'closed' });
  } finally {
    await c.close();
  }
});

test('informer: stripManagedFields keeps listed and watched objects without managedFields, the server keeps them', async () => {
  const c = await startCluster(['default']);
  const t = c.transport;
  try {
    await t.create(CONFIGMAPS, 'default', configMap('listed', { a: '1' }));
    const inf = new Informer<ConfigMap>(t, CONFIGMAPS, { stripManagedFields: true });
    const r = recorder<ConfigMap>();
    inf.addEventHandler(r.handler);
    inf.start();
    assert.equal(await inf.waitForSync(2000), true);
    await t.create(CONFIGMAPS, 'default', configMap('watched', { b: '2' }));
    await waitFor(() => inf.store.get('default', 'watched') !== undefined);
    for (const name of ['listed', 'watched']) {
      const cached = inf.store.get('default', name)!;
      assert.equal(cached.metadata?.managedFields, undefined, `${name} in the store`);
      assert.ok(cached.data, `${name} keeps its data`);
      const live = await t.get<ConfigMap>(CONFIGMAPS, 'default', name);
      assert.ok((live.metadata?.managedFields ?? []).length > 0, `${name} keeps its managedFields on the server`);
    }
    await inf.stop();
  } finally {
    await c.close();
  }
});

test('informer: in process, informers share the API server\'s objects (one view without managedFields for all); other reads get private copies', async () => {
  const c = await startCluster(['default']);
  const t = c.transport;
  try {
    await t.create(CONFIGMAPS, 'default', configMap('listed', { a: '1' }));
    const scheduler = new Informer<ConfigMap>(t, CONFIGMAPS, { stripManagedFields: true });
    const controllers = new Informer<ConfigMap>(new ControlledTransport(t), CONFIGMAPS, { stripManagedFields: true });
    const whole = new Informer<ConfigMap>(t, CONFIGMAPS);
    for (const inf of [scheduler, controllers, whole]) inf.start();
    for (const inf of [scheduler, controllers, whole]) assert.equal(await inf.waitForSync(2000), true);
    await t.create(CONFIGMAPS, 'default', configMap('watched', { b: '2' }));
    await waitFor(() => [scheduler, controllers, whole].every((inf) => inf.store.get('default', 'watched') !== undefined));
    for (const name of ['listed', 'watched']) {
      const shared = scheduler.store.get('default', name)!;
      assert.equal(controllers.store.get('default', name), shared, `${name}: one object for both informers`);
      assert.equal(shared.metadata?.managedFields, undefined);
      const full = whole.store.get('default', name)!;
      assert.ok((full.metadata?.managedFields ?? []).length > 0, `${name}: kept where not stripped`);
      assert.equal(full.data, shared.data, `${name}: the view shares the object's contents`);
      const listed = (await t.list<ConfigMap>(CONFIGMAPS, 'default')).items.find((o) => o.metadata?.name === name)!;
      assert.notEqual(listed.data, shared.data, `${name}: a plain list gets a copy`);
      assert.deepEqual(listed.data, shared.data);
    }
    for (const inf of [scheduler, controllers, whole]) await inf.stop();
  } finally {
    await c.close();
  }
});

test('informer: a big initial list reaches the handlers a time slice at a time, letting the event loop in', async () => {
  const c = await startCluster(['default']);
  const t = c.transport;
  try {
    const names = Array.from({ length: 30 }, (_, i) => `cm-${i}`);
    for (const n of names) await t.create(CONFIGMAPS, 'default', configMap(n, {}));
    const inf = new Informer<ConfigMap>(t, CONFIGMAPS, { pageSize: 1000 });
    const added: string[] = [];
    // A handler that holds the event loop 2 ms an object: 60 ms for the one page.
    inf.addEventHandler({
      onAdd: (cm) => {
        const until = performance.now() + 2;
        while (performance.now() < until);
        added.push(cm.metadata!.name!);
      },
    });
    // How far the adds had got each time a timer ran: some timer must run between the first and the last.
    const seenByTimers: number[] = [];
    const timer = setInterval(() => seenByTimers.push(added.length), 1);
    inf.start();
    assert.equal(await inf.waitForSync(5000), true);
    clearInterval(timer);
    assert.deepEqual([...added].sort(), [...names].sort());
    assert.ok(
      seenByTimers.some((n) => n > 0 && n < names.length),
      `timers ran only before or after the adds: ${seenByTimers.join(',')}`,
    );
    await inf.stop();
  } finally {
    await c.close();
  }
});
