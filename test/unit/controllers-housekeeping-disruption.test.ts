// The disruption controller against the in-process API: PodDisruptionBudget status for
// minAvailable and maxUnavailable, as integers and percentages of the controllers'
// scale, the DisruptionAllowed condition, unmanaged pods, pods just evicted, and the
// fail-safe when a controller cannot be found.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { DisruptionController, scaledValue } from '../../controllers/disruption/controller.js';
import type { KubeObject } from '../../machinery/object.js';
import { R, events, eventually, harness, ownerRef, pod, rfc3339, setPodStatus } from './controllers-housekeeping-fixture.js';
import type { Harness } from './controllers-housekeeping-fixture.js';

let h: Harness;

beforeEach(async () => {
  h = await harness();
  await h.run((ctx) => new DisruptionController(ctx));
});

afterEach(async () => {
  await h.close();
});

type Budget = { minAvailable?: number | string; maxUnavailable?: number | string; selector?: Record<string, unknown> };

async function pdb(name: string, budget: Budget): Promise<KubeObject> {
  const spec = { selector: { matchLabels: { app: name } }, ...budget };
  return h.client.create(R.pdbs, 'default', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec } as KubeObject);
}

function template(app: string): Record<string, unknown> {
  return { metadata: { labels: { app } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
}

async function replicaSet(name: string, app: string, replicas: number, owner?: Record<string, unknown>): Promise<KubeObject> {
  const metadata: Record<string, unknown> = { name };
  if (owner) metadata.ownerReferences = [owner];
  return h.client.create(R.replicasets, 'default', { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata, spec: { replicas, selector: { matchLabels: { app } }, template: template(app) } } as KubeObject);
}

/** `n` pods labelled app=`app`, `ready` of them Running and Ready, owned by `owner` when given. */
async function pods(app: string, n: number, ready: number, owner?: KubeObject): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${app}-${i}`;
    await h.client.create(R.pods, 'default', pod(name, { labels: { app }, owner: owner ? ownerRef(owner, { controller: true, blockOwnerDeletion: true }) : undefined }));
    await setPodStatus(h.client, 'default', name, 'Running', i < ready);
    names.push(name);
  }
  return names;
}

type Status = NonNullable<PodDisruptionBudget['status']>;

async function statusOf(name: string): Promise<Status | undefined> {
  return ((await h.client.get(R.pdbs, 'default', name)) as unknown as PodDisruptionBudget).status;
}

/** Wait until the status has these numbers (and is for the current generation). */
async function waitStatus(name: string, want: { expectedPods: number; desiredHealthy: number; currentHealthy: number; disruptionsAllowed: number }): Promise<Status> {
  let last: Status | undefined;
  try {
    return await eventually(`${name} status ${JSON.stringify(want)}`, async () => {
      last = await statusOf(name);
      if (!last) return undefined;
      const got = { expectedPods: last.expectedPods, desiredHealthy: last.desiredHealthy, currentHealthy: last.currentHealthy, disruptionsAllowed: last.disruptionsAllowed };
      return JSON.stringify(got) === JSON.stringify(want) ? last : undefined;
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status ${JSON.stringify(last)}`, { cause: err });
  }
}

function allowedCondition(st: Status) {
  return (st.conditions ?? []).find((c) => c.type === 'DisruptionAllowed');
}

test('minAvailable as an integer: expected = the selected pods; the condition follows disruptionsAllowed', async () => {
  await pods('web', 3, 3);
  const created = await pdb('web', { minAvailable: 2 });
  const st = await waitStatus('web', { expectedPods: 3, desiredHealthy: 2, currentHealthy: 3, disruptionsAllowed: 1 });
  assert.equal(st.observedGeneration, created.metadata?.generation);
  const c = allowedCondition(st)!;
  assert.equal(c.status, 'True');
  assert.equal(c.reason, 'SufficientPods');
  assert.equal(c.observedGeneration, created.metadata?.generation);

  // A pod that stops being ready no longer counts as healthy.
  await setPodStatus(h.client, 'default', 'web-2', 'Running', false);
  const after = await waitStatus('web', { expectedPods: 3, desiredHealthy: 2, currentHealthy: 2, disruptionsAllowed: 0 });
  assert.equal(allowedCondition(after)!.status, 'False');
  assert.equal(allowedCondition(after)!.reason, 'InsufficientPods');

  // Raising minAvailable (a new generation) is observed.
  await h.client.patch(R.pdbs, 'default', 'web', 'merge', { spec: { minAvailable: 1 } });
  const third = await waitStatus('web', { expectedPods: 3, desiredHealthy: 1, currentHealthy: 2, disruptionsAllowed: 1 });
  assert.equal(third.observedGeneration, 2);
});

test('a pod being deleted does not count as healthy; a deleted pod leaves the count', async () => {
  // A pod on a node is deleted gracefully: it stays a while with a deletionTimestamp.
  await pods('del', 2, 2);
  await h.client.create(R.pods, 'default', pod('del-bound', { labels: { app: 'del' }, nodeName: 'n1' }));
  await setPodStatus(h.client, 'default', 'del-bound', 'Running', true);
  await pdb('del', { minAvailable: 1 });
  await waitStatus('del', { expectedPods: 3, desiredHealthy: 1, currentHealthy: 3, disruptionsAllowed: 2 });
  await h.client.delete(R.pods, 'default', 'del-bound');
  await waitStatus('del', { expectedPods: 3, desiredHealthy: 1, currentHealthy: 2, disruptionsAllowed: 1 });
  await h.client.delete(R.pods, 'default', 'del-0');
  await waitStatus('del', { expectedPods: 2, desiredHealthy: 1, currentHealthy: 1, disruptionsAllowed: 0 });
});

test('minAvailable as a percentage of the ReplicaSet scale, rounded up', async () => {
  const rs = await replicaSet('pct', 'pct', 4);
  // Only 3 of the 4 replicas exist: expected still counts the scale.
  await pods('pct', 3, 3, rs);
  await pdb('pct', { minAvailable: '50%' });
  await waitStatus('pct', { expectedPods: 4, desiredHealthy: 2, currentHealthy: 3, disruptionsAllowed: 1 });
  await h.client.patch(R.pdbs, 'default', 'pct', 'merge', { spec: { minAvailable: '51%' } });
  await waitStatus('pct', { expectedPods: 4, desiredHealthy: 3, currentHealthy: 3, disruptionsAllowed: 0 });
});

test('maxUnavailable as an integer and a percentage; a Deployment scale counts through its ReplicaSet', async () => {
  const rs = await replicaSet('mu', 'mu', 3);
  await pods('mu', 3, 3, rs);
  await pdb('mu', { maxUnavailable: 1 });
  await waitStatus('mu', { expectedPods: 3, desiredHealthy: 2, currentHealthy: 3, disruptionsAllowed: 1 });

  const deploy = await h.client.create(R.deployments, 'default', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'dep' },
    spec: { replicas: 4, selector: { matchLabels: { app: 'dep' } }, template: template('dep') },
  } as KubeObject);
  // The ReplicaSet says 2, its Deployment 4: the Deployment wins.
  const drs = await replicaSet('dep-abc', 'dep', 2, ownerRef(deploy, { controller: true, blockOwnerDeletion: true }));
  await pods('dep', 4, 4, drs);
  await pdb('dep', { maxUnavailable: '25%' });
  await waitStatus('dep', { expectedPods: 4, desiredHealthy: 3, currentHealthy: 4, disruptionsAllowed: 1 });
  await h.client.patch(R.pdbs, 'default', 'dep', 'merge', { spec: { maxUnavailable: '10%' } });
  // ceil(10% of 4) = 1: still one.
  await waitStatus('dep', { expectedPods: 4, desiredHealthy: 3, currentHealthy: 4, disruptionsAllowed: 1 });
  await h.client.patch(R.pdbs, 'default', 'dep', 'merge', { spec: { maxUnavailable: 0 } });
  await waitStatus('dep', { expectedPods: 4, desiredHealthy: 4, currentHealthy: 4, disruptionsAllowed: 0 });
});

test('maxUnavailable over unmanaged pods: an UnmanagedPods warning, nothing allowed', async () => {
  await pods('bare', 2, 2);
  await pdb('bare', { maxUnavailable: 1 });
  await waitStatus('bare', { expectedPods: 0, desiredHealthy: 0, currentHealthy: 2, disruptionsAllowed: 0 });
  const e = await eventually('UnmanagedPods event', async () => (await events(h.client)).find((x) => x.reason === 'UnmanagedPods'));
  assert.equal(e.type, 'Warning');
  assert.equal(e.kind, 'PodDisruptionBudget');
  assert.match(e.message, /^Pods selected by this PodDisruptionBudget \(selector: app=bare\) were found to be unmanaged\./);
});

test('a pod whose controller cannot be found: the budget fails safe (SyncFailed, nothing allowed)', async () => {
  await pods('lost', 2, 2, { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'gone-rs', uid: '00000000-0000-4000-8000-00000000abcd' } } as KubeObject);
  await pdb('lost', { minAvailable: '50%' });
  const st = await eventually('SyncFailed', async () => {
    const s = await statusOf('lost');
    return s && allowedCondition(s)?.reason === 'SyncFailed' ? s : undefined;
  });
  assert.equal(st.disruptionsAllowed, 0);
  assert.equal(allowedCondition(st)!.status, 'False');
  assert.equal(allowedCondition(st)!.message, 'found no controllers for pod "lost-0"');
});

test('pods the eviction subresource just approved (status.disruptedPods) do not count as healthy', async () => {
  await pods('ev', 3, 3);
  await pdb('ev', { minAvailable: 1 });
  const st = await waitStatus('ev', { expectedPods: 3, desiredHealthy: 1, currentHealthy: 3, disruptionsAllowed: 2 });
  // What the API server writes when it approves an eviction of ev-0.
  const cur = await h.client.get(R.pdbs, 'default', 'ev');
  await h.client.updateStatus(R.pdbs, 'default', { ...cur, status: { ...st, disruptionsAllowed: 1, disruptedPods: { 'ev-0': rfc3339() } } } as KubeObject);
  const after = await waitStatus('ev', { expectedPods: 3, desiredHealthy: 1, currentHealthy: 2, disruptionsAllowed: 1 });
  assert.ok(after.disruptedPods?.['ev-0'], 'kept until the pod goes (or two minutes pass)');
  await h.client.delete(R.pods, 'default', 'ev-0');
  const done = await waitStatus('ev', { expectedPods: 2, desiredHealthy: 1, currentHealthy: 2, disruptionsAllowed: 1 });
  assert.equal(done.disruptedPods, undefined, 'the entry goes with the pod');
});

test('an empty selector picks every pod of the namespace', async () => {
  await pods('any', 2, 2);
  await h.client.create(R.pdbs, 'default', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'all' }, spec: { minAvailable: 1, selector: {} } } as KubeObject);
  await waitStatus('all', { expectedPods: 2, desiredHealthy: 1, currentHealthy: 2, disruptionsAllowed: 1 });
});

test('scaledValue: integers as they are, percentages rounded up', () => {
  assert.equal(scaledValue(3, 10), 3);
  assert.equal(scaledValue('3', 10), 3);
  assert.equal(scaledValue('50%', 5), 3);
  assert.equal(scaledValue('0%', 5), 0);
  assert.equal(scaledValue('100%', 7), 7);
  assert.throws(() => scaledValue('x%', 3), /invalid value for IntOrString/);
});
