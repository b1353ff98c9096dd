// Acceptance: the scheduler inside `kite server`, driven with the real kubectl.
// Nodes are simulated: Node objects created with kubectl (status through the status
// subresource) whose Leases this test renews as kubelets would, so the node lifecycle
// controller keeps them Ready. Pods are never run — only placed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, waitFor } from './harness.js';
import { SIMULATED, SimulatedNodes, nodeOf, otherNodes, unavailableMessage, unschedulableCondition } from './sim-nodes.js';

const cluster = new Cluster('sched');
const sim = new SimulatedNodes(cluster);
const NOT_SELECTED = "node(s) didn't match Pod's node affinity/selector";

/** Create a pod; `extra` is merged into its spec (`labels` into its metadata). */
async function run(name: string, extra: Record<string, unknown> = {}, container: Record<string, unknown> = {}): Promise<void> {
  const { labels, ...spec } = extra;
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { test: 'sched', ...((labels as Record<string, string>) ?? {}) } },
    spec: { containers: [{ name: 'c', image: 'busybox', ...container }], nodeSelector: SIMULATED, ...spec },
  };
  await cluster.k(['create', '-f', '-'], { stdin: JSON.stringify(pod) });
}

before(async () => {
  await cluster.up();
  sim.startHeartbeat({ component: 'e2e-heartbeat', everyMs: 5000 });
  await sim.add({ name: 'sim-a', labels: { 'topology.kubernetes.io/zone': 'a', disk: 'ssd' } });
  await sim.add({ name: 'sim-b', labels: { 'topology.kubernetes.io/zone': 'b' } });
  await sim.add({ name: 'sim-gpu', cpu: '8', labels: { 'topology.kubernetes.io/zone': 'b' }, extended: { 'nvidia.com/gpu': '2' } });
});

after(async () => {
  sim.stop();
  await cluster.down();
});

test('pods land where their constraints say: nodeSelector, node affinity, GPUs', async () => {
  await run('on-ssd', { nodeSelector: { ...SIMULATED, disk: 'ssd' } });
  await run('in-zone-b', {
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['b'] }] }] } } },
  });
  await run('trainer', {}, { resources: { requests: { 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } } });
  assert.equal(await nodeOf(cluster, 'on-ssd'), 'sim-a');
  assert.ok(['sim-b', 'sim-gpu'].includes(await nodeOf(cluster, 'in-zone-b')));
  assert.equal(await nodeOf(cluster, 'trainer'), 'sim-gpu');
  const describe = await cluster.k(['describe', 'pod', 'trainer']);
  assert.match(describe, /Normal\s+Scheduled\s+.*default-scheduler\s+Successfully assigned default\/trainer to sim-gpu/);
  assert.match(await cluster.k(['get', 'pods', '-o', 'wide']), /trainer\s+0\/1\s+Pending\s+0\s+\S+\s+<none>\s+sim-gpu/);
});

test('required pod anti-affinity spreads replicas over nodes', async () => {
  const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'spread' } }, topologyKey: 'kubernetes.io/hostname' }] } };
  for (const n of ['r1', 'r2', 'r3']) await run(n, { labels: { app: 'spread' }, affinity: anti });
  const placed = await Promise.all(['r1', 'r2', 'r3'].map((pod) => nodeOf(cluster, pod)));
  assert.deepEqual([...placed].sort(), ['sim-a', 'sim-b', 'sim-gpu']);
  const realNodes = await otherNodes(cluster);
  await run('r4', { labels: { app: 'spread' }, affinity: anti });
  const c = await unschedulableCondition(cluster, 'r4');
  assert.equal(c.reason, 'Unschedulable');
  assert.equal(
    c.message,
    unavailableMessage(realNodes + 3, [[realNodes, NOT_SELECTED], [3, "node(s) didn't match pod anti-affinity rules"]], [[3, 'No preemption victims found for incoming pod'], [realNodes, 'Preemption is not helpful for scheduling']]),
  );
  await cluster.k(['delete', 'pod', 'r1', 'r2', 'r3', 'r4', '--grace-period=0', '--force']);
});

test('an unschedulable pod: PodScheduled=False, FailedScheduling in describe, scheduled once a node fits', async () => {
  const realNodes = await otherNodes(cluster);
  await run('big', {}, { resources: { requests: { cpu: '16' } } });
  // Like the brief's example: one reason per node, counted and sorted as upstream does.
  const want = unavailableMessage(realNodes + 3, [[realNodes, NOT_SELECTED], [3, 'Insufficient cpu']], [[realNodes + 3, 'Preemption is not helpful for scheduling']]);
  const c = await unschedulableCondition(cluster, 'big');
  assert.deepEqual({ status: c.status, reason: c.reason, message: c.message }, { status: 'False', reason: 'Unschedulable', message: want });
  const describe = await waitFor('the FailedScheduling event', async () => {
    const d = await cluster.k(['describe', 'pod', 'big']);
    return /FailedScheduling/.test(d) ? d : undefined;
  });
  assert.match(describe, /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/\d+ nodes are available: /);
  assert.ok(describe.replace(/\s+/g, ' ').includes(want), `describe shows the message:\n${describe}`);
  assert.equal((await cluster.k(['get', 'pod', 'big', '-o', 'jsonpath={.spec.nodeName}'])).trim(), '');
  // A node that fits arrives: the pod is retried on that event (no polling) and placed.
  await sim.add({ name: 'sim-big', cpu: '32', labels: { 'topology.kubernetes.io/zone': 'c' } });
  assert.equal(await nodeOf(cluster, 'big'), 'sim-big');
});

test('cordon keeps new pods off; uncordon lets them in', async () => {
  await cluster.k(['cordon', ...sim.names]);
  const realNodes = await otherNodes(cluster);
  await run('patient');
  const c = await unschedulableCondition(cluster, 'patient');
  assert.equal(c.message, unavailableMessage(realNodes + 4, [[realNodes, NOT_SELECTED], [4, 'node(s) were unschedulable']], [[realNodes + 4, 'Preemption is not helpful for scheduling']]));
  await cluster.k(['uncordon', 'sim-b']);
  assert.equal(await nodeOf(cluster, 'patient'), 'sim-b');
  await cluster.k(['uncordon', ...sim.names]);
});

test('preemption: a higher-priority pod evicts a lower-priority one, is nominated, then placed', async () => {
  await sim.add({ name: 'sim-small', cpu: '1', taints: [{ key: 'dedicated', value: 'small', effect: 'NoSchedule' }] });
  const onSmall = { nodeSelector: { ...SIMULATED, 'kubernetes.io/hostname': 'sim-small' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'small', effect: 'NoSchedule' }] };
  await cluster.k(['create', 'priorityclass', 'high', '--value=1000', '--description=e2e']);
  await run('victim', onSmall, { resources: { requests: { cpu: '800m' } } });
  assert.equal(await nodeOf(cluster, 'victim'), 'sim-small');
  await run('vip', { ...onSmall, priorityClassName: 'high' }, { resources: { requests: { cpu: '800m' } } });
  const nominated = await waitFor('vip to be nominated', async () => (await cluster.k(['get', 'pod', 'vip', '-o', 'jsonpath={.status.nominatedNodeName}'])).trim() || undefined, 30_000, 250);
  assert.equal(nominated, 'sim-small');
  // The victim is being deleted gracefully (no kubelet finishes it here) and was told why.
  const v = JSON.parse(await cluster.k(['get', 'pod', 'victim', '-o', 'json'])) as { metadata: { deletionTimestamp?: string }; status: { conditions?: { type: string; reason?: string }[] } };
  assert.ok(v.metadata.deletionTimestamp);
  assert.equal(v.status.conditions?.find((x) => x.type === 'DisruptionTarget')?.reason, 'PreemptionByScheduler');
  assert.match(await cluster.k(['get', 'events', '--field-selector', 'involvedObject.name=victim']), /Preempted\s+pod\/victim\s+Preempted by pod \S+ on node sim-small/);
  await cluster.k(['delete', 'pod', 'victim', '--grace-period=0', '--force']);
  assert.equal(await nodeOf(cluster, 'vip'), 'sim-small');
});
