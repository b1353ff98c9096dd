// The TTL-after-finished controller against the in-process API: finished Jobs go
// ttlSecondsAfterFinished after their Complete/Failed condition, in the foreground
// (with the garbage collector running, their pods go first).
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from 'kubernetes-types/batch/v1.js';
import { TTLAfterFinishedController, jobFinishedAt } from '../../controllers/ttlafterfinished/controller.js';
import { GarbageCollector } from '../../controllers/garbagecollector/garbagecollector.js';
import type { KubeObject } from '../../machinery/object.js';
import { R, eventually, gone, harness, ownerRef, pod, rfc3339, tryGet } from './controllers-housekeeping-fixture.js';
import type { Harness } from './controllers-housekeeping-fixture.js';
import { waitForQuietInProcess } from '../wait.js';

let h: Harness;

beforeEach(async () => {
  h = await harness();
});

afterEach(async () => {
  await h.close();
});

async function job(name: string, ttl?: number): Promise<KubeObject> {
  const spec: Record<string, unknown> = { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } };
  if (ttl !== undefined) spec.ttlSecondsAfterFinished = ttl;
  return h.client.create(R.jobs, 'default', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name }, spec } as KubeObject);
}

/** Post a finished status, as the Job controller would, `agoMs` ago. */
async function finish(name: string, type: 'Complete' | 'Failed', agoMs = 0): Promise<void> {
  const at = rfc3339(Date.now() - agoMs);
  const conditions = [{ type, status: 'True', lastProbeTime: at, lastTransitionTime: at, reason: type === 'Failed' ? 'BackoffLimitExceeded' : 'Completed' }];
  const status: Record<string, unknown> = { startTime: at, conditions, ...(type === 'Complete' ? { succeeded: 1, completionTime: at } : { failed: 1 }) };
  await h.client.patch(R.jobs, 'default', name, 'merge', { status }, { subresource: 'status' });
}

async function exists(name: string): Promise<boolean> {
  return !(await gone(h.client, R.jobs, 'default', name));
}

test('a Job finished longer ago than its TTL is deleted in the foreground; unfinished or TTL-less Jobs stay', async () => {
  await job('expired', 5);
  await job('running', 0);
  await job('no-ttl');
  await finish('expired', 'Complete', 10_000);
  await finish('no-ttl', 'Complete', 10_000);
  // Without a garbage collector the foreground deletion stays visible.
  await h.run((ctx) => new TTLAfterFinishedController(ctx));
  const deleting = await eventually('expired being deleted', async () => {
    const j = await tryGet<Job>(h.client, R.jobs, 'default', 'expired');
    return j?.metadata?.deletionTimestamp ? j : undefined;
  });
  assert.deepEqual(deleting.metadata?.finalizers, ['foregroundDeletion'], 'propagationPolicy=Foreground');
  await waitForQuietInProcess();
  assert.ok(await exists('running'), 'not finished');
  assert.equal((await tryGet<Job>(h.client, R.jobs, 'default', 'no-ttl'))?.metadata?.deletionTimestamp, undefined, 'no TTL');
});

test('with the garbage collector: a Failed Job with TTL 0 goes at once, its pods before it', async () => {
  const j = await job('failed', 0);
  await h.client.create(R.pods, 'default', pod('failed-pod', { owner: ownerRef(j, { controller: true, blockOwnerDeletion: true }) }));
  await h.run(
    (ctx) => new TTLAfterFinishedController(ctx),
    (ctx) => new GarbageCollector(ctx, { resources: [R.jobs, R.pods], log: () => undefined }),
  );
  await waitForQuietInProcess();
  assert.ok(await exists('failed'), 'not finished yet');
  await finish('failed', 'Failed');
  await eventually('job gone', async () => !(await exists('failed')));
  assert.ok(await gone(h.client, R.pods, 'default', 'failed-pod'));
});

test('the TTL is counted from the finish time: deleted once it runs out, and a shortened TTL is honoured', async () => {
  await job('soon', 1);
  await job('later', 3600);
  await h.run((ctx) => new TTLAfterFinishedController(ctx));
  await finish('soon', 'Complete');
  await finish('later', 'Complete');
  // The finish time has a resolution of one second (RFC 3339): count from what was written.
  const finished = jobFinishedAt((await h.client.get(R.jobs, 'default', 'soon')) as unknown as Job)!;
  const before = await tryGet<Job>(h.client, R.jobs, 'default', 'soon');
  if (Date.now() < finished + 1000) assert.equal(before?.metadata?.deletionTimestamp, undefined, 'not before its TTL');
  await eventually('soon deleted', async () => (await tryGet<Job>(h.client, R.jobs, 'default', 'soon'))?.metadata?.deletionTimestamp, 4000);
  assert.ok(Date.now() >= finished + 1000, 'deleted once the TTL ran out');
  assert.equal((await tryGet<Job>(h.client, R.jobs, 'default', 'later'))?.metadata?.deletionTimestamp, undefined);
  // ttlSecondsAfterFinished is mutable: lowering it makes the Job due.
  await h.client.patch(R.jobs, 'default', 'later', 'merge', { spec: { ttlSecondsAfterFinished: 0 } });
  await eventually('later deleted', async () => (await tryGet<Job>(h.client, R.jobs, 'default', 'later'))?.metadata?.deletionTimestamp);
});

test('jobFinishedAt: the transition time of a true Complete or Failed condition', () => {
  const at = '2024-05-01T10:00:00Z';
  assert.equal(jobFinishedAt({ status: { conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: at }] } } as Job), Date.parse(at));
  assert.equal(jobFinishedAt({ status: { conditions: [{ type: 'Failed', status: 'False', lastTransitionTime: at }] } } as Job), undefined);
  assert.equal(jobFinishedAt({ status: {} } as Job), undefined);
  assert.throws(() => jobFinishedAt({ metadata: { namespace: 'd', name: 'x' }, status: { conditions: [{ type: 'Complete', status: 'True' }] } } as Job), /unable to find the time when the Job d\/x finished/);
});
