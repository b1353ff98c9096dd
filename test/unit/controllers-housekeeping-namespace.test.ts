// The namespace controller (content deletion, status conditions, finalize) and the
// service accounts controller, against the in-process API.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Namespace } from 'kubernetes-types/core/v1.js';
import { NamespaceController } from '../../controllers/namespace/controller.js';
import { NamespaceConditionUpdater } from '../../controllers/namespace/conditions.js';
import type { Condition } from '../../controllers/namespace/conditions.js';
import { ServiceAccountsController } from '../../controllers/serviceaccount/controller.js';
import { R, configMap, eventually, gone, harness, pod, tryGet } from './controllers-housekeeping-fixture.js';
import type { Harness } from './controllers-housekeeping-fixture.js';
import { waitForQuietInProcess } from '../wait.js';

let h: Harness;

beforeEach(async () => {
  h = await harness();
  await h.run(
    (ctx) => new NamespaceController(ctx),
    (ctx) => new ServiceAccountsController(ctx),
  );
});

afterEach(async () => {
  await h.close();
});

async function namespace(name: string): Promise<void> {
  await h.client.create(R.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

function condition(ns: Namespace | undefined, type: string): Condition | undefined {
  return (ns?.status?.conditions ?? []).find((c) => c.type === type) as Condition | undefined;
}

test('an empty-ish namespace is emptied and finalized', async () => {
  await namespace('ns1');
  await h.client.create(R.configmaps, 'ns1', configMap('a', 'ns1'));
  await h.client.create(R.secrets, 'ns1', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns1' } });
  await h.client.create(R.pods, 'ns1', pod('unscheduled', { namespace: 'ns1' }));
  await h.client.delete(R.namespaces, undefined, 'ns1');
  await eventually('namespace gone', () => gone(h.client, R.namespaces, undefined, 'ns1'));
  assert.equal((await h.client.list(R.configmaps, 'ns1')).items.length, 0);
});

test('a namespace waits for pods being deleted gracefully, with upstream conditions', async () => {
  await namespace('ns2');
  await h.client.create(R.configmaps, 'ns2', configMap('a', 'ns2'));
  await h.client.create(R.pods, 'ns2', pod('on-node', { namespace: 'ns2', nodeName: 'node-1' }));
  await h.client.delete(R.namespaces, undefined, 'ns2');
  const ns = await eventually('content condition', async () => {
    const n = await tryGet<Namespace>(h.client, R.namespaces, undefined, 'ns2');
    return condition(n, 'NamespaceContentRemaining')?.status === 'True' ? n : undefined;
  });
  assert.equal(ns.status?.phase, 'Terminating');
  assert.deepEqual(
    (ns.status!.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message]),
    [
      ['NamespaceDeletionDiscoveryFailure', 'False', 'ResourcesDiscovered', 'All resources successfully discovered'],
      ['NamespaceDeletionGroupVersionParsingFailure', 'False', 'ParsedGroupVersions', 'All legacy kube types successfully parsed'],
      ['NamespaceDeletionContentFailure', 'False', 'ContentDeleted', 'All content successfully deleted, may be waiting on finalization'],
      ['NamespaceContentRemaining', 'True', 'SomeResourcesRemain', 'Some resources are remaining: pods. has 1 resource instances'],
      ['NamespaceFinalizersRemaining', 'False', 'ContentHasNoFinalizers', 'All content-preserving finalizers finished'],
    ],
  );
  assert.equal((await h.client.list(R.configmaps, 'ns2')).items.length, 0, 'everything else is gone');
  const p = await h.client.get(R.pods, 'ns2', 'on-node');
  assert.ok(p.metadata?.deletionTimestamp, 'the pod is terminating');
  // The kubelet finishes: the pod goes, and so does the namespace.
  await h.client.delete(R.pods, 'ns2', 'on-node', { gracePeriodSeconds: 0 });
  await eventually('namespace gone', () => gone(h.client, R.namespaces, undefined, 'ns2'));
});

test('content held by finalizers is reported and waited for', async () => {
  await namespace('ns3');
  await h.client.create(R.configmaps, 'ns3', configMap('held', 'ns3', { finalizers: ['example.com/hold'] }));
  await h.client.delete(R.namespaces, undefined, 'ns3');
  const ns = await eventually('finalizers condition', async () => {
    const n = await tryGet<Namespace>(h.client, R.namespaces, undefined, 'ns3');
    return condition(n, 'NamespaceFinalizersRemaining')?.status === 'True' ? n : undefined;
  });
  assert.equal(condition(ns, 'NamespaceFinalizersRemaining')!.message, 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances');
  assert.equal(condition(ns, 'NamespaceFinalizersRemaining')!.reason, 'SomeFinalizersRemain');
  assert.equal(condition(ns, 'NamespaceContentRemaining')!.message, 'Some resources are remaining: configmaps. has 1 resource instances');
  assert.deepEqual(ns.spec?.finalizers, ['kubernetes']);
  await h.client.patch(R.configmaps, 'ns3', 'held', 'merge', { metadata: { finalizers: null } });
  // The controller looks again after its finalizer estimate (15 s / 2 + 1); nudge it.
  const nc = h.controllers[0] as NamespaceController;
  nc.enqueue('ns3');
  await eventually('namespace gone', () => gone(h.client, R.namespaces, undefined, 'ns3'));
});

test('every namespace gets a default ServiceAccount, again after it is deleted', async () => {
  await namespace('sa1');
  await eventually('default SA', () => tryGet(h.client, R.serviceaccounts, 'sa1', 'default'));
  await eventually('default SA in default', () => tryGet(h.client, R.serviceaccounts, 'default', 'default'));
  await h.client.delete(R.serviceaccounts, 'sa1', 'default');
  await eventually('recreated', () => tryGet(h.client, R.serviceaccounts, 'sa1', 'default'));
});

test('a terminating namespace gets no new ServiceAccount', async () => {
  await namespace('sa2');
  await h.client.create(R.pods, 'sa2', pod('p', { namespace: 'sa2', nodeName: 'node-1' }));
  await eventually('default SA', () => tryGet(h.client, R.serviceaccounts, 'sa2', 'default'));
  await h.client.delete(R.namespaces, undefined, 'sa2');
  await eventually('SA deleted with the content', () => gone(h.client, R.serviceaccounts, 'sa2', 'default'));
  await waitForQuietInProcess();
  assert.equal(await tryGet(h.client, R.serviceaccounts, 'sa2', 'default'), undefined);
  await h.client.delete(R.pods, 'sa2', 'p', { gracePeriodSeconds: 0 });
  await eventually('namespace gone', () => gone(h.client, R.namespaces, undefined, 'sa2'));
});

test('conditions: only rewritten when they change; transition time moves with the status', () => {
  let now = Date.parse('2024-01-01T00:00:00Z');
  const status: { conditions?: Condition[] } = {};
  const first = new NamespaceConditionUpdater(() => now);
  first.processContentTotals(new Map([['pods.', 2]]), new Map());
  assert.equal(first.update(status), true);
  assert.equal(status.conditions!.length, 5);
  now += 60_000;
  const same = new NamespaceConditionUpdater(() => now);
  same.processContentTotals(new Map([['pods.', 2]]), new Map());
  assert.equal(same.update(status), false, 'nothing changed');
  const fail = new NamespaceConditionUpdater(() => now);
  fail.processDeleteContentError('b failed');
  fail.processDeleteContentError('a failed');
  assert.equal(fail.update(status), true);
  const c = status.conditions!.find((x) => x.type === 'NamespaceDeletionContentFailure')!;
  assert.equal(c.message, 'Failed to delete all resource types, 2 remaining: a failed, b failed');
  assert.equal(c.lastTransitionTime, '2024-01-01T00:01:00Z');
  const remaining = status.conditions!.find((x) => x.type === 'NamespaceContentRemaining')!;
  assert.equal(remaining.status, 'False');
  assert.equal(remaining.lastTransitionTime, '2024-01-01T00:01:00Z');
});
