// The garbage collector against the in-process API: background, foreground and orphan
// deletion, dangling references, uid mismatches.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { GarbageCollector } from '../../controllers/garbagecollector/garbagecollector.js';
import { DependencyGraph } from '../../controllers/garbagecollector/graph.js';
import type { KubeObject } from '../../machinery/object.js';
import { R, configMap, eventually, gone, harness, ownerRef, pod, sleep, tryGet } from './controllers-housekeeping-fixture.js';
import type { Harness } from './controllers-housekeeping-fixture.js';

let h: Harness;

beforeEach(async () => {
  h = await harness();
  await h.run((ctx) => new GarbageCollector(ctx, { log: () => undefined }));
});

afterEach(async () => {
  await h.close();
});

async function cm(name: string, extra: Parameters<typeof configMap>[2] = {}): Promise<KubeObject> {
  return h.client.create(R.configmaps, 'default', configMap(name, 'default', extra));
}

test('background: dependents of a deleted owner are deleted, across kinds', async () => {
  const owner = await cm('owner');
  await cm('dep-a', { ownerReferences: [ownerRef(owner)] });
  await h.client.create(R.pods, 'default', pod('dep-pod', { owner: ownerRef(owner, { controller: true, blockOwnerDeletion: true }) }));
  const grandchild = await cm('grandchild', { ownerReferences: [ownerRef((await h.client.get(R.configmaps, 'default', 'dep-a')) as KubeObject)] });
  assert.ok(grandchild.metadata?.uid);
  await sleep(50);
  assert.ok(await tryGet(h.client, R.configmaps, 'default', 'dep-a'), 'dependents live while the owner does');

  await h.client.delete(R.configmaps, 'default', 'owner', { propagationPolicy: 'Background' });
  await eventually('dep-a gone', () => gone(h.client, R.configmaps, 'default', 'dep-a'));
  await eventually('dep-pod gone', () => gone(h.client, R.pods, 'default', 'dep-pod'));
  await eventually('grandchild gone (cascade)', () => gone(h.client, R.configmaps, 'default', 'grandchild'));
});

test('a dependent created for an owner that never existed is collected', async () => {
  await cm('orphaned', { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'nobody', uid: '7e2c1d1c-0000-4000-8000-000000000001' }] });
  await eventually('orphaned gone', () => gone(h.client, R.configmaps, 'default', 'orphaned'));
});

test('an owner recreated under the same name (another uid) counts as gone', async () => {
  const first = await cm('owner2');
  await h.client.delete(R.configmaps, 'default', 'owner2');
  await cm('owner2'); // same name, new uid
  await cm('dep2', { ownerReferences: [ownerRef(first)] });
  await eventually('dep2 gone', () => gone(h.client, R.configmaps, 'default', 'dep2'));
  assert.ok(await tryGet(h.client, R.configmaps, 'default', 'owner2'), 'the new owner stays');
});

test('a live owner keeps its dependent; only the dangling reference is removed', async () => {
  const live = await cm('live');
  await cm('mixed', {
    ownerReferences: [ownerRef(live), { apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: '7e2c1d1c-0000-4000-8000-000000000002' }],
  });
  const after = await eventually('dangling ref dropped', async () => {
    const o = await tryGet<KubeObject>(h.client, R.configmaps, 'default', 'mixed');
    return o && (o.metadata?.ownerReferences ?? []).length === 1 ? o : undefined;
  });
  assert.equal(after.metadata!.ownerReferences![0].uid, live.metadata!.uid);
});

test('foreground: the owner waits for blocking dependents, which are deleted first', async () => {
  const owner = await cm('fg-owner');
  // Held by a finalizer so the wait can be observed.
  await cm('fg-dep', { ownerReferences: [ownerRef(owner, { blockOwnerDeletion: true })], finalizers: ['example.com/hold'] });
  await sleep(50);
  await h.client.delete(R.configmaps, 'default', 'fg-owner', { propagationPolicy: 'Foreground' });
  const dep = await eventually('dependent being deleted', async () => {
    const d = await tryGet<KubeObject>(h.client, R.configmaps, 'default', 'fg-dep');
    return d?.metadata?.deletionTimestamp ? d : undefined;
  });
  assert.ok(dep);
  await sleep(100);
  const waiting = await tryGet<KubeObject>(h.client, R.configmaps, 'default', 'fg-owner');
  assert.ok(waiting?.metadata?.deletionTimestamp, 'owner still there, being deleted');
  assert.deepEqual(waiting!.metadata!.finalizers, ['foregroundDeletion']);

  await h.client.patch(R.configmaps, 'default', 'fg-dep', 'merge', { metadata: { finalizers: null } });
  await eventually('dependent gone', () => gone(h.client, R.configmaps, 'default', 'fg-dep'));
  await eventually('owner gone once its dependents are', () => gone(h.client, R.configmaps, 'default', 'fg-owner'));
});

test('foreground: a dependent with dependents of its own is deleted in the foreground too', async () => {
  const top = await cm('top');
  const mid = await cm('mid', { ownerReferences: [ownerRef(top, { blockOwnerDeletion: true })] });
  await cm('leaf', { ownerReferences: [ownerRef(mid, { blockOwnerDeletion: true })], finalizers: ['example.com/hold'] });
  await sleep(50);
  await h.client.delete(R.configmaps, 'default', 'top', { propagationPolicy: 'Foreground' });
  const m = await eventually('mid deleted in the foreground', async () => {
    const o = await tryGet<KubeObject>(h.client, R.configmaps, 'default', 'mid');
    return o?.metadata?.deletionTimestamp ? o : undefined;
  });
  assert.deepEqual(m.metadata!.finalizers, ['foregroundDeletion']);
  await h.client.patch(R.configmaps, 'default', 'leaf', 'merge', { metadata: { finalizers: null } });
  await eventually('leaf, mid and top gone', async () => (await gone(h.client, R.configmaps, 'default', 'leaf')) && (await gone(h.client, R.configmaps, 'default', 'mid')) && (await gone(h.client, R.configmaps, 'default', 'top')));
});

test('foreground: non-blocking dependents do not hold the owner, and are collected after it', async () => {
  const owner = await cm('nb-owner');
  await cm('nb-dep', { ownerReferences: [ownerRef(owner)] });
  await sleep(50);
  await h.client.delete(R.configmaps, 'default', 'nb-owner', { propagationPolicy: 'Foreground' });
  await eventually('owner and dependent gone', async () => (await gone(h.client, R.configmaps, 'default', 'nb-owner')) && (await gone(h.client, R.configmaps, 'default', 'nb-dep')));
});

test('orphan: dependents lose the ownerReference and stay; the owner goes', async () => {
  const owner = await cm('or-owner');
  const other = await cm('or-other');
  await cm('or-dep', { ownerReferences: [ownerRef(owner, { controller: true, blockOwnerDeletion: true }), ownerRef(other)] });
  await cm('or-dep2', { ownerReferences: [ownerRef(owner)] });
  await sleep(50);
  await h.client.delete(R.configmaps, 'default', 'or-owner', { propagationPolicy: 'Orphan' });
  await eventually('owner gone', () => gone(h.client, R.configmaps, 'default', 'or-owner'));
  const dep = (await h.client.get(R.configmaps, 'default', 'or-dep')) as KubeObject;
  assert.deepEqual(
    dep.metadata!.ownerReferences!.map((r) => r.name),
    ['or-other'],
  );
  const dep2 = (await h.client.get(R.configmaps, 'default', 'or-dep2')) as KubeObject;
  assert.equal(dep2.metadata!.ownerReferences, undefined);
  await sleep(100);
  assert.ok(await tryGet(h.client, R.configmaps, 'default', 'or-dep2'), 'orphans are not collected');
});

test('cluster-scoped owners of namespaced dependents', async () => {
  const ns = (await h.client.create(R.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'owned-ns' } })) as KubeObject;
  // A namespaced object owned by a cluster-scoped one (a Namespace here, as a stand-in).
  await cm('by-cluster-owner', { ownerReferences: [ownerRef(ns)] });
  await sleep(50);
  assert.ok(await tryGet(h.client, R.configmaps, 'default', 'by-cluster-owner'));
  // Remove the namespace object directly (no namespace controller runs here).
  await h.client.patch(R.namespaces, undefined, 'owned-ns', 'merge', { spec: { finalizers: [] } }, { subresource: 'finalize' }).catch(() => undefined);
  await h.client.delete(R.namespaces, undefined, 'owned-ns');
  await h.client.patch(R.namespaces, undefined, 'owned-ns', 'merge', { spec: { finalizers: [] } }, { subresource: 'finalize' }).catch(() => undefined);
  await eventually('namespace gone', () => gone(h.client, R.namespaces, undefined, 'owned-ns'));
  await eventually('dependent collected', () => gone(h.client, R.configmaps, 'default', 'by-cluster-owner'));
});

test('graph: virtual owners, transitions and removal', () => {
  const toDelete: string[] = [];
  const toOrphan: string[] = [];
  const g = new DependencyGraph({ attemptToDelete: (u) => toDelete.push(u), attemptToOrphan: (u) => toOrphan.push(u) }, () => true);
  const id = (name: string, uid: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name, uid });
  const dep = { metadata: { name: 'd', namespace: 'default', uid: 'd1', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'o1', blockOwnerDeletion: true }] } };
  g.observe(id('d', 'd1'), dep);
  assert.equal(g.get('o1')?.observed, false, 'virtual owner');
  assert.deepEqual(toDelete, ['o1'], 'the virtual owner is checked');
  g.observe(id('o', 'o1'), { metadata: { name: 'o', namespace: 'default', uid: 'o1' } });
  assert.equal(g.get('o1')?.observed, true);
  assert.deepEqual(g.get('o1')!.blockingDependents().map((n) => n.uid), ['d1']);
  toDelete.length = 0;
  const deleting = { metadata: { name: 'o', namespace: 'default', uid: 'o1', deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] } };
  g.observe(id('o', 'o1'), deleting, { metadata: { name: 'o', namespace: 'default', uid: 'o1' } });
  assert.deepEqual(toDelete.sort(), ['d1', 'o1']);
  toDelete.length = 0;
  g.remove(id('d', 'd1'));
  assert.deepEqual(toDelete, ['o1'], 'the waiting owner is looked at again');
  g.observe(id('x', 'x1'), { metadata: { name: 'x', namespace: 'default', uid: 'x1', deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['orphan'] } });
  assert.deepEqual(toOrphan, ['x1']);
});
