// The running scheduler against a real in-process API (registry + watch cache +
// in-process transport): binding, the PodScheduled condition and events, retry on a
// cluster event, preemption, cordon, GPUs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { resourceByPath } from '../../machinery/resources.js';
import { startScheduler } from '../../scheduler/index.js';
import type { Scheduler } from '../../scheduler/index.js';
import { startCluster, waitFor } from './client-fixture.js';
import type { Cluster } from './client-fixture.js';
import { node, pod } from './scheduler-fixtures.js';

const PODS = resourceByPath('', 'v1', 'pods')!;
const NODES = resourceByPath('', 'v1', 'nodes')!;
const EVENTS = resourceByPath('', 'v1', 'events')!;
const PCS = resourceByPath('scheduling.k8s.io', 'v1', 'priorityclasses')!;

let cluster: Cluster;
let sched: Scheduler;

function plain(p: Pod): Pod {
  const { uid: _uid, ...metadata } = p.metadata!;
  return { ...p, metadata, status: undefined } as Pod;
}

async function createNode(n: Node): Promise<void> {
  await cluster.transport.create(NODES, undefined, n);
  // The status may be dropped on create: set it through the status subresource too.
  await cluster.transport.patch(NODES, undefined, n.metadata!.name!, 'merge', { status: n.status }, { subresource: 'status' });
}

async function get(name: string): Promise<Pod> {
  return cluster.transport.get<Pod>(PODS, 'default', name);
}

async function nodeNameOf(name: string, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const nn = (await get(name)).spec?.nodeName ?? '';
    if (nn) return nn;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${name} was not bound`);
}

async function eventsFor(name: string): Promise<{ reason?: string; message?: string; type?: string; source?: { component?: string } }[]> {
  await sched.flush();
  const list = await cluster.transport.list<{ metadata?: { name?: string }; involvedObject?: { name?: string }; reason?: string; message?: string; type?: string; source?: { component?: string } }>(EVENTS, 'default');
  return list.items.filter((e) => e.involvedObject?.name === name);
}

before(async () => {
  cluster = await startCluster(['default']);
  await createNode(node('n1', { cpu: '2', labels: { 'topology.kubernetes.io/zone': 'a' } }));
  await createNode(node('n2', { cpu: '2', labels: { 'topology.kubernetes.io/zone': 'b' } }));
  sched = startScheduler(cluster.transport, { podInitialBackoffMs: 50, podMaxBackoffMs: 200, log: () => undefined });
  await sched.ready;
});

after(async () => {
  await sched.stop();
  await cluster.close();
});

test('pods are bound through pods/binding, with a Scheduled event', async () => {
  await cluster.transport.create(PODS, 'default', plain(pod('web', { cpu: '500m' })));
  const n = await nodeNameOf('web');
  assert.ok(n === 'n1' || n === 'n2');
  const p = await get('web');
  assert.equal(p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status, 'True');
  await waitFor(() => sched.metrics.scheduled >= 1, 'bind metrics');
  const ev = await eventsFor('web');
  const scheduled = ev.find((e) => e.reason === 'Scheduled');
  assert.equal(scheduled?.message, `Successfully assigned default/web to ${n}`);
  assert.equal(scheduled?.type, 'Normal');
  assert.equal(scheduled?.source?.component, 'default-scheduler');
});

test('an unschedulable pod gets PodScheduled=False and FailedScheduling, and is placed once a node that fits arrives', async () => {
  await cluster.transport.create(PODS, 'default', plain(pod('huge', { cpu: '3' })));
  const want = '0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.';
  let cond: { status?: string; reason?: string; message?: string } | undefined;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    cond = (await get('huge')).status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (cond?.message) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual({ status: cond?.status, reason: cond?.reason, message: cond?.message }, { status: 'False', reason: 'Unschedulable', message: want });
  const failed = (await eventsFor('huge')).find((e) => e.reason === 'FailedScheduling');
  assert.equal(failed?.message, want);
  assert.equal(failed?.type, 'Warning');
  // Parked, not polled.
  assert.equal(sched.queue.where('default/huge'), 'unschedulable');
  await createNode(node('n3', { cpu: '4' }));
  assert.equal(await nodeNameOf('huge'), 'n3');
});

test('GPUs: a pod asking for nvidia.com/gpu waits for a GPU node', async () => {
  await cluster.transport.create(PODS, 'default', plain(pod('train', { extended: { 'nvidia.com/gpu': '1' } })));
  await waitFor(() => sched.queue.where('default/train') === 'unschedulable', 'train parked');
  await createNode(node('gpu', { cpu: '8', extended: { 'nvidia.com/gpu': '2' } }));
  assert.equal(await nodeNameOf('train'), 'gpu');
});

test('cordon keeps new pods off a node; uncordon lets them back', async () => {
  const all = ['n1', 'n2', 'n3', 'gpu'];
  for (const n of all) await cluster.transport.patch(NODES, undefined, n, 'merge', { spec: { unschedulable: true } });
  await cluster.transport.create(PODS, 'default', plain(pod('waiting', { cpu: '100m' })));
  await waitFor(() => sched.queue.where('default/waiting') === 'unschedulable', 'waiting parked');
  await sched.flush();
  const cond = (await get('waiting')).status?.conditions?.find((c) => c.type === 'PodScheduled');
  assert.match(cond?.message ?? '', /^0\/4 nodes are available: 4 node\(s\) were unschedulable\./);
  await cluster.transport.patch(NODES, undefined, 'n2', 'merge', { spec: { unschedulable: false } });
  assert.equal(await nodeNameOf('waiting'), 'n2');
  for (const n of all) await cluster.transport.patch(NODES, undefined, n, 'merge', { spec: { unschedulable: false } });
});

test('preemption: a high-priority pod evicts a lower-priority one and is nominated, then bound', async () => {
  await createNode(node('solo', { cpu: '1', taints: [{ key: 'solo', effect: 'NoSchedule' }] }));
  const tol = [{ key: 'solo', operator: 'Exists' }];
  await cluster.transport.create(PCS, undefined, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000 } as never);
  await cluster.transport.create(PODS, 'default', plain(pod('victim', { cpu: '1', tolerations: tol, nodeSelector: { 'kubernetes.io/hostname': 'solo' } })));
  assert.equal(await nodeNameOf('victim'), 'solo');
  const vip = plain(pod('vip', { cpu: '1', tolerations: tol, nodeSelector: { 'kubernetes.io/hostname': 'solo' }, priorityClassName: 'high' }));
  await cluster.transport.create(PODS, 'default', vip);
  // The victim is marked and deleted gracefully (it stays Terminating: there is no kubelet).
  let v: Pod | undefined;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    v = await get('victim');
    if (v.metadata?.deletionTimestamp) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(v?.metadata?.deletionTimestamp, 'victim is being deleted');
  assert.equal(v?.status?.conditions?.find((c) => c.type === 'DisruptionTarget')?.reason, 'PreemptionByScheduler');
  let nominated = '';
  while (Date.now() < deadline && !nominated) {
    nominated = (await get('vip')).status?.nominatedNodeName ?? '';
    if (!nominated) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(nominated, 'solo');
  assert.ok((await eventsFor('victim')).some((e) => e.reason === 'Preempted' && /^Preempted by pod .* on node solo$/.test(e.message ?? '')));
  // The kubelet would finish the deletion; do it by force.
  await cluster.transport.delete(PODS, 'default', 'victim', { gracePeriodSeconds: 0 });
  assert.equal(await nodeNameOf('vip'), 'solo');
});

test('many pods, several binds in flight', async () => {
  const before = sched.metrics.scheduled;
  const names = Array.from({ length: 200 }, (_, i) => `bulk-${i}`);
  await Promise.all(names.map((n) => cluster.transport.create(PODS, 'default', plain(pod(n, { cpu: '10m' })))));
  await waitFor(() => sched.metrics.scheduled >= before + 200, '200 binds', 10_000);
  const list = await cluster.transport.list<Pod>(PODS, 'default');
  const bound = list.items.filter((p) => p.metadata?.name?.startsWith('bulk-') && p.spec?.nodeName);
  assert.equal(bound.length, 200);
});
