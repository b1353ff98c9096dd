// The pod garbage collector against the in-process API: the terminated-pod threshold,
// pods bound to nodes that no longer exist (after the quarantine), and terminating
// pods on out-of-service nodes.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { PodGCController } from '../../controllers/podgc/controller.js';
import type { PodGCOptions } from '../../controllers/podgc/controller.js';
import { R, eventually, gone, harness, pod, rfc3339, setPodStatus, tryGet } from './controllers-housekeeping-fixture.js';
import type { Harness } from './controllers-housekeeping-fixture.js';
import { waitForQuietInProcess } from '../wait.js';

let h: Harness;

beforeEach(async () => {
  h = await harness();
});

afterEach(async () => {
  await h.close();
});

async function startGC(opts: PodGCOptions = {}): Promise<PodGCController> {
  const [gc] = await h.run((ctx) => new PodGCController(ctx, { gcCheckPeriodMs: 30, quarantineMs: 200, log: () => undefined, ...opts }));
  return gc as PodGCController;
}

async function node(name: string, ready: 'True' | 'False' | 'Unknown' = 'True', taints?: unknown[]): Promise<void> {
  await h.client.create(R.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: taints ? { taints } : {} });
  const now = rfc3339();
  await h.client.patch(R.nodes, undefined, name, 'merge', { status: { conditions: [{ type: 'Ready', status: ready, reason: 'Test', lastHeartbeatTime: now, lastTransitionTime: now }] } }, { subresource: 'status' });
}

async function podWithPhase(name: string, phase: string, nodeName?: string): Promise<void> {
  await h.client.create(R.pods, 'default', pod(name, { nodeName }));
  await setPodStatus(h.client, 'default', name, phase, false);
}

/**
 * Waits until the controllers are quiet and then a whole collection pass of `gc` has
 * run (one started after this call), so whatever it would collect is gone.
 */
async function afterFullPass(gc: PodGCController): Promise<void> {
  await waitForQuietInProcess();
  const from = gc.passes;
  await eventually('a whole pod GC pass', () => gc.passes >= from + 2);
}

async function exists(name: string): Promise<boolean> {
  return !(await gone(h.client, R.pods, 'default', name));
}

test('terminated pods beyond the threshold are deleted, oldest first; running pods never count', async () => {
  await node('n1');
  // Same creation second: the name breaks the tie, so a-* are the oldest.
  for (const name of ['a-1', 'a-2', 'b-1', 'b-2']) await podWithPhase(name, name.endsWith('1') ? 'Succeeded' : 'Failed', 'n1');
  await podWithPhase('running', 'Running', 'n1');
  await podWithPhase('pending', 'Pending');
  const gc = await startGC({ terminatedPodThreshold: 2 });
  await eventually('a-1 and a-2 gone', async () => !(await exists('a-1')) && !(await exists('a-2')));
  await afterFullPass(gc);
  for (const name of ['b-1', 'b-2', 'running', 'pending']) assert.ok(await exists(name), `${name} stays`);
});

test('pods the kubelet evicted (Failed, reason Evicted) are collected before older terminated pods', async () => {
  await node('n1');
  await podWithPhase('a-old', 'Succeeded', 'n1');
  await podWithPhase('z-evicted', 'Failed', 'n1');
  await h.client.patch(R.pods, 'default', 'z-evicted', 'merge', { status: { reason: 'Evicted', message: 'The node was low on resource: memory.' } }, { subresource: 'status' });
  const gc = await startGC({ terminatedPodThreshold: 1 });
  await eventually('z-evicted gone', async () => !(await exists('z-evicted')));
  await afterFullPass(gc);
  assert.ok(await exists('a-old'), 'the older, not evicted pod stays');
});

test('a threshold of 0 disables the terminated-pod collection', async () => {
  await node('n1');
  await podWithPhase('done', 'Succeeded', 'n1');
  const gc = await startGC({ terminatedPodThreshold: 0 });
  await afterFullPass(gc);
  assert.ok(await exists('done'));
});

test('pods bound to a node that does not exist go after the quarantine, marked Failed with a DisruptionTarget condition', async () => {
  await node('real');
  await podWithPhase('on-real', 'Running', 'real');
  await podWithPhase('on-ghost', 'Running', 'ghost');
  await podWithPhase('on-late', 'Running', 'late');
  // Watch what the collector writes before it deletes.
  const seen: Pod[] = [];
  const w = h.client.watch<Pod>(R.pods, 'default', {}, (ev) => {
    if (ev.object.metadata?.name === 'on-ghost') seen.push(ev.object);
  });
  const t0 = Date.now();
  const gc = await startGC({ quarantineMs: 300 });
  // The node `late` shows up during the quarantine (which the first pass starts): its pod stays.
  await eventually('the first pass', () => gc.passes >= 1);
  await node('late');
  await eventually('on-ghost gone', async () => !(await exists('on-ghost')), 5000);
  w.stop();
  assert.ok(Date.now() - t0 >= 250, 'not before the quarantine ends');
  const marked = seen.find((p) => p.status?.phase === 'Failed');
  assert.ok(marked, 'phase Failed before the delete');
  const dt = marked!.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
  assert.equal(dt?.status, 'True');
  assert.equal(dt?.reason, 'DeletionByPodGC');
  assert.equal(dt?.message, 'PodGC: node no longer exists');
  await afterFullPass(gc);
  assert.ok(await exists('on-real'));
  assert.ok(await exists('on-late'), 'its node appeared before the quarantine ended');
});

test('terminating pods on a not-ready node with the out-of-service taint are force-deleted; elsewhere they wait for the kubelet', async () => {
  await node('broken', 'False', [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }]);
  await node('down', 'Unknown');
  await podWithPhase('stuck', 'Running', 'broken');
  await podWithPhase('waits', 'Running', 'down');
  // Bound pods are deleted gracefully: they stay, terminating, until a kubelet confirms.
  await h.client.delete(R.pods, 'default', 'stuck');
  await h.client.delete(R.pods, 'default', 'waits');
  assert.ok((await tryGet<Pod>(h.client, R.pods, 'default', 'stuck'))?.metadata?.deletionTimestamp);
  const gc = await startGC({ terminatedPodThreshold: 0 });
  await eventually('stuck force-deleted', async () => !(await exists('stuck')));
  await afterFullPass(gc);
  const waits = await tryGet<Pod>(h.client, R.pods, 'default', 'waits');
  assert.ok(waits?.metadata?.deletionTimestamp, 'no out-of-service taint: left to the kubelet');
});
