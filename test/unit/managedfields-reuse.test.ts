// A write keeps the FieldsV1 of the managers whose fields it leaves alone (shared with the
// object it replaces, not encoded again): what is stored and served stays what upstream
// records, the stored text is the served object's JSON, and no manager's entry goes stale.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { internalContext } from '../../apiserver/context.js';
import { storagePrefix } from '../../apiserver/lookups.js';
import type { KubeObject } from '../../machinery/object.js';
import { PODS, startCluster, type Cluster } from './client-fixture.js';

let core: Cluster;
let store: Cluster['store'];

before(async () => {
  core = await startCluster();
  store = core.store;
});

after(() => core.close());

/** The stored text of the pod, and what the API serves for it. */
async function storedAndServed(name: string): Promise<{ text: string; served: KubeObject }> {
  const kv = await store.get(`${storagePrefix(PODS)}default/${name}`);
  assert.ok(kv);
  const served = core.registry.get(PODS, 'default', name);
  return { text: kv.value.toString('utf8'), served };
}

function withoutResourceVersion(obj: KubeObject): KubeObject {
  const { resourceVersion: _rv, ...metadata } = obj.metadata ?? {};
  void _rv;
  return { ...obj, metadata };
}

async function assertStoredAsServed(name: string): Promise<KubeObject> {
  const { text, served } = await storedAndServed(name);
  assert.equal(text, JSON.stringify(withoutResourceVersion(served)));
  return served;
}

test('status patches, a spec patch by another manager and a graceful delete keep every manager\'s fields right', async () => {
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', labels: { app: 'a' } },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] },
  };
  await core.registry.create(PODS, 'default', pod, internalContext('creator'));
  const created = await assertStoredAsServed('p');

  const patch = (manager: string, body: object, subresource?: string) =>
    core.registry.patch(PODS, 'default', 'p', 'strategic', Buffer.from(JSON.stringify(body)), internalContext(manager), subresource);

  await patch('scheduler', { status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] } }, 'status');
  const statusPatched = await assertStoredAsServed('p');
  assert.deepEqual(statusPatched.spec, created.spec);

  // The kubelet writes its field twice: its entry stays as it was but for its time.
  await patch('kubelet', { status: { phase: 'Pending' } }, 'status');
  await patch('kubelet', { status: { phase: 'Running' } }, 'status');
  const again = await assertStoredAsServed('p');
  assert.equal((again.status as { phase?: string } | undefined)?.phase, 'Running');
  const fieldsOf = (obj: KubeObject, manager: string) => obj.metadata?.managedFields?.find((e) => e.manager === manager)?.fieldsV1;
  assert.deepEqual(fieldsOf(again, 'creator'), fieldsOf(created, 'creator'));
  assert.deepEqual(fieldsOf(again, 'scheduler'), fieldsOf(statusPatched, 'scheduler'));
  assert.deepEqual(fieldsOf(again, 'kubelet'), { 'f:status': { 'f:phase': {} } });

  await patch('labeller', { metadata: { labels: { extra: 'x' } }, spec: { activeDeadlineSeconds: 30 } });
  const specPatched = await assertStoredAsServed('p');
  assert.equal((specPatched.spec as { activeDeadlineSeconds?: number }).activeDeadlineSeconds, 30);
  assert.deepEqual(specPatched.status, again.status);
  assert.deepEqual(
    specPatched.metadata?.managedFields?.map((e) => e.manager),
    ['creator', 'kubelet', 'labeller', 'scheduler'],
  );
  assert.deepEqual(fieldsOf(specPatched, 'labeller'), { 'f:metadata': { 'f:labels': { 'f:extra': {} } }, 'f:spec': { 'f:activeDeadlineSeconds': {} } });
  assert.deepEqual(fieldsOf(specPatched, 'kubelet'), fieldsOf(again, 'kubelet'));

  await core.registry.delete(PODS, 'default', 'p', { gracePeriodSeconds: 30 }, internalContext('deleter'));
  const deleting = await assertStoredAsServed('p');
  assert.ok(deleting.metadata?.deletionTimestamp);
  assert.deepEqual(deleting.spec, specPatched.spec);
  assert.deepEqual(deleting.metadata?.managedFields, specPatched.metadata?.managedFields);
});

test('a write decodes the managedFields the previous write encoded as a fresh decoding would', async () => {
  const { decodeManagedFields, encodeManagedFields } = await import('../../apiserver/patch/managedfields.js');
  const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'q', namespace: 'default', labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
  await core.registry.create(PODS, 'default', pod, internalContext('creator'));
  const patch = (manager: string, body: object, subresource?: string) =>
    core.registry.patch(PODS, 'default', 'q', 'strategic', Buffer.from(JSON.stringify(body)), internalContext(manager), subresource);
  await patch('scheduler', { status: { conditions: [{ type: 'PodScheduled', status: 'False' }] } }, 'status');
  await patch('labeller', { metadata: { labels: { app: 'b' } } });
  const list = (await assertStoredAsServed('q')).metadata?.managedFields;
  const remembered = decodeManagedFields(list);
  const fresh = decodeManagedFields(structuredClone(list));
  assert.deepEqual([...remembered.times], [...fresh.times]);
  assert.deepEqual([...remembered.fields.keys()], [...fresh.fields.keys()]);
  for (const [key, vs] of fresh.fields) {
    const got = remembered.fields.get(key)!;
    assert.equal(got.apiVersion, vs.apiVersion);
    assert.equal(got.applied, vs.applied);
    assert.ok(got.set.equals(vs.set), key);
  }
  // The copy is the caller's: changing it leaves the next decoding as it was.
  remembered.fields.clear();
  assert.equal(decodeManagedFields(list).fields.size, fresh.fields.size);
  assert.deepEqual(encodeManagedFields(decodeManagedFields(list)), list);
});

test('a write that changes nothing but managedFields times keeps the resourceVersion; one that changes a member or an owner does not', async () => {
  const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'r', namespace: 'default', labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
  await core.registry.create(PODS, 'default', pod, internalContext('creator'));
  const patch = (manager: string, body: object, subresource?: string) =>
    core.registry.patch(PODS, 'default', 'r', 'strategic', Buffer.from(JSON.stringify(body)), internalContext(manager), subresource);
  const rv = () => core.registry.get(PODS, 'default', 'r').metadata?.resourceVersion;
  const condition = { status: { conditions: [{ type: 'PodScheduled', status: 'False' }] } };
  await patch('scheduler', condition, 'status');
  const first = rv();
  await patch('scheduler', condition, 'status');
  assert.equal(rv(), first, 'the same write again changes nothing');
  await patch('other', condition, 'status');
  assert.equal(rv(), first, 'another manager writing the same values takes nothing and changes nothing');
  await patch('scheduler', { metadata: { labels: { app: 'a', extra: 'x' } } });
  assert.notEqual(rv(), first, 'a new label is a change');
});
