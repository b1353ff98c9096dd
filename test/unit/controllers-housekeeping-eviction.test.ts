// The pods/eviction subresource (apiserver/eviction.ts), through the in-process
// transport (the same handler the HTTP server uses): 429 with upstream's message and a
// DisruptionBudget cause when the budget allows nothing, the budget decremented and the
// pod recorded in disruptedPods on success, pods that disrupt nothing, several budgets,
// a budget not yet processed, dry run; and with the disruption controller running.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { DisruptionController } from '../../controllers/disruption/controller.js';
import type { KubeObject } from '../../machinery/object.js';
import { StatusError } from '../../machinery/status.js';
import { R, eventually, gone, harness, pod, setPodStatus, tryGet } from './controllers-housekeeping-fixture.js';
import type { Harness } from './controllers-housekeeping-fixture.js';

let h: Harness;

beforeEach(async () => {
  h = await harness();
});

afterEach(async () => {
  await h.close();
});

const VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget.";

function eviction(name: string, deleteOptions?: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'default' } };
  if (deleteOptions) body.deleteOptions = deleteOptions;
  return body;
}

function evict(name: string, deleteOptions?: Record<string, unknown>): Promise<KubeObject> {
  return h.client.createSubresource(R.pods, 'default', name, 'eviction', eviction(name, deleteOptions));
}

async function readyPod(name: string, app: string, phase = 'Running', ready = true, nodeName?: string): Promise<void> {
  await h.client.create(R.pods, 'default', pod(name, { labels: { app }, nodeName }));
  await setPodStatus(h.client, 'default', name, phase, ready);
}

/** A PDB whose status is set by hand, as if the disruption controller had computed it. */
async function pdbWithStatus(name: string, app: string, status: { disruptionsAllowed: number; currentHealthy: number; desiredHealthy: number; expectedPods: number; observedGeneration?: number }): Promise<PodDisruptionBudget> {
  const created = await h.client.create(R.pdbs, 'default', {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name },
    spec: { minAvailable: status.desiredHealthy, selector: { matchLabels: { app } } },
  } as KubeObject);
  const out = await h.client.updateStatus(R.pdbs, 'default', { ...created, status: { observedGeneration: created.metadata?.generation, ...status } } as KubeObject);
  return out as unknown as PodDisruptionBudget;
}

async function pdbStatus(name: string): Promise<NonNullable<PodDisruptionBudget['status']>> {
  return ((await h.client.get(R.pdbs, 'default', name)) as unknown as PodDisruptionBudget).status!;
}

async function refusal(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof StatusError, `a StatusError, got ${String(err)}`);
    return err;
  }
  assert.fail('the eviction was not refused');
}

test('no disruption allowed: 429 TooManyRequests with the DisruptionBudget cause; the pod stays', async () => {
  await readyPod('a', 'web');
  await pdbWithStatus('web-pdb', 'web', { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 });
  const err = await refusal(evict('a'));
  assert.equal(err.code, 429);
  assert.equal(err.reason, 'TooManyRequests');
  assert.equal(err.message, VIOLATION);
  assert.deepEqual(err.status.details?.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget web-pdb needs 2 healthy pods and has 2 currently' }]);
  assert.ok(await tryGet(h.client, R.pods, 'default', 'a'));
  assert.equal((await pdbStatus('web-pdb')).disruptionsAllowed, 0);
});

test('allowed: the pod is deleted, disruptionsAllowed decremented, the pod recorded in disruptedPods', async () => {
  await readyPod('a', 'web');
  await readyPod('b', 'web');
  await pdbWithStatus('web-pdb', 'web', { disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 });
  const out = await evict('a');
  assert.equal(out.kind, 'Status');
  assert.equal((out as { status?: string }).status, 'Success');
  assert.ok(await gone(h.client, R.pods, 'default', 'a'));
  const st = await pdbStatus('web-pdb');
  assert.equal(st.disruptionsAllowed, 0);
  assert.ok(st.disruptedPods?.a, 'a is recorded as disrupted');
  const cond = st.conditions?.find((c) => c.type === 'DisruptionAllowed');
  assert.equal(cond?.status, 'False');
  assert.equal(cond?.reason, 'InsufficientPods');
  // The budget is used up: the next one is refused.
  const err = await refusal(evict('b'));
  assert.equal(err.code, 429);
  assert.ok(await tryGet(h.client, R.pods, 'default', 'b'));
});

test('a bound pod is deleted gracefully by an eviction, and immediately with gracePeriodSeconds 0', async () => {
  await readyPod('slow', 'web', 'Running', true, 'n1');
  await readyPod('fast', 'web', 'Running', true, 'n1');
  await pdbWithStatus('web-pdb', 'web', { disruptionsAllowed: 2, currentHealthy: 2, desiredHealthy: 0, expectedPods: 2 });
  await evict('slow');
  const slow = await tryGet<Pod>(h.client, R.pods, 'default', 'slow');
  assert.ok(slow?.metadata?.deletionTimestamp, 'terminating, waiting for its kubelet');
  await evict('fast', { gracePeriodSeconds: 0 });
  assert.ok(await gone(h.client, R.pods, 'default', 'fast'));
});

test('pods that disrupt nothing are evicted whatever the budget: Pending, Succeeded, Failed', async () => {
  await readyPod('pending', 'web', 'Pending', false);
  await readyPod('done', 'web', 'Succeeded', false);
  await readyPod('failed', 'web', 'Failed', false);
  await pdbWithStatus('web-pdb', 'web', { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 3, expectedPods: 3 });
  for (const name of ['pending', 'done', 'failed']) {
    await evict(name);
    assert.ok(await gone(h.client, R.pods, 'default', name), name);
  }
  assert.equal((await pdbStatus('web-pdb')).disruptedPods, undefined, 'the budget is not touched');
});

test('no budget: plain delete; an empty selector budget selects nothing for eviction', async () => {
  await readyPod('free', 'other');
  await h.client.create(R.pdbs, 'default', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'empty' }, spec: { maxUnavailable: 0, selector: {} } } as KubeObject);
  await evict('free');
  assert.ok(await gone(h.client, R.pods, 'default', 'free'));
});

test('an unready pod when the budget is met anyway is evicted without using the budget', async () => {
  await readyPod('sick', 'web', 'Running', false);
  await pdbWithStatus('web-pdb', 'web', { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 3 });
  await evict('sick');
  assert.ok(await gone(h.client, R.pods, 'default', 'sick'));
  assert.equal((await pdbStatus('web-pdb')).disruptionsAllowed, 0);
});

test('a budget the controller has not processed yet: 429 "still being processed", retry after 10 s', async () => {
  await readyPod('a', 'web');
  await h.client.create(R.pdbs, 'default', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'fresh' }, spec: { minAvailable: 0, selector: { matchLabels: { app: 'web' } } } } as KubeObject);
  const err = await refusal(evict('a'));
  assert.equal(err.code, 429);
  assert.equal(err.message, VIOLATION);
  assert.deepEqual(err.status.details?.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget fresh is still being processed by the server.' }]);
  assert.equal(err.status.details?.retryAfterSeconds, 10);
});

test('several budgets for one pod: 500, not supported', async () => {
  await readyPod('a', 'web');
  await pdbWithStatus('one', 'web', { disruptionsAllowed: 1, currentHealthy: 1, desiredHealthy: 0, expectedPods: 1 });
  await pdbWithStatus('two', 'web', { disruptionsAllowed: 1, currentHealthy: 1, desiredHealthy: 0, expectedPods: 1 });
  const err = await refusal(evict('a'));
  assert.equal(err.code, 500);
  assert.equal(err.message, 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
  assert.ok(await tryGet(h.client, R.pods, 'default', 'a'));
});

test('dry run: approved, but neither the pod nor the budget changes', async () => {
  await readyPod('a', 'web');
  await pdbWithStatus('web-pdb', 'web', { disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 });
  await evict('a', { dryRun: ['All'] });
  assert.ok(await tryGet(h.client, R.pods, 'default', 'a'));
  const st = await pdbStatus('web-pdb');
  assert.equal(st.disruptionsAllowed, 1);
  assert.equal(st.disruptedPods, undefined);
});

test('a name in the body other than the URL is a bad request', async () => {
  await readyPod('a', 'web');
  const err = await refusal(h.client.createSubresource(R.pods, 'default', 'a', 'eviction', eviction('b')));
  assert.equal(err.code, 400);
  assert.equal(err.message, 'name in URL does not match name in Eviction object');
});

test('with the disruption controller: one eviction allowed by minAvailable, the next refused until a pod is ready again', async () => {
  await h.run((ctx) => new DisruptionController(ctx));
  for (const name of ['p0', 'p1', 'p2']) await readyPod(name, 'app');
  await h.client.create(R.pdbs, 'default', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'budget' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'app' } } } } as KubeObject);
  await eventually('one disruption allowed', async () => (await pdbStatus('budget'))?.disruptionsAllowed === 1);
  await evict('p0');
  assert.ok(await gone(h.client, R.pods, 'default', 'p0'));
  await eventually('recomputed: 2 healthy, none allowed', async () => {
    const st = await pdbStatus('budget');
    return st.currentHealthy === 2 && st.disruptionsAllowed === 0 && st.expectedPods === 2;
  });
  const err = await refusal(evict('p1'));
  assert.equal(err.code, 429);
  assert.equal(err.status.details?.causes?.[0]?.message, 'The disruption budget budget needs 2 healthy pods and has 2 currently');
  // A replacement becomes ready: the budget allows one again.
  await readyPod('p3', 'app');
  await eventually('allowed again', async () => (await pdbStatus('budget')).disruptionsAllowed === 1);
  await evict('p1');
  assert.ok(await gone(h.client, R.pods, 'default', 'p1'));
});
