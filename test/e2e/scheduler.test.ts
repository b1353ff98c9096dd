// Acceptance: the scheduler inside `kite server`, driven with the real kubectl.
// Nodes are simulated: Node objects created with kubectl (status through the status
// subresource) whose Leases this test renews as kubelets would, so the node lifecycle
// controller keeps them Ready. Pods are never run — only placed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, waitFor } from './harness.js';
import { HttpTransport, loadKubeconfig } from '../../client/index.js';
import { resourceByPath } from '../../machinery/resources.js';

const cluster = new Cluster('sched');
const LEASES = resourceByPath('coordination.k8s.io', 'v1', 'leases')!;
const nodes: string[] = [];
/** Keeps test pods on the simulated nodes. */
const SIM = { 'kite.test/simulated': 'true' };
const NOT_SELECTED = "node(s) didn't match Pod's node affinity/selector";

/** An upstream-style "0/N nodes are available" message from reason counts (zero counts left out). */
function available(total: number, filter: [number, string][], preemption: [number, string][] | string): string {
  const part = (xs: [number, string][]) =>
    xs
      .filter(([n]) => n > 0)
      .map(([n, r]) => `${n} ${r}`)
      .sort()
      .join(', ');
  const pre = typeof preemption === 'string' ? preemption : `0/${total} nodes are available: ${part(preemption)}.`;
  return `0/${total} nodes are available: ${part(filter)}. preemption: ${pre}`;
}
let heartbeat: NodeJS.Timeout | undefined;
let api: HttpTransport | undefined;

function microTime(): string {
  return new Date().toISOString().replace('Z', '000Z');
}

interface SimNode {
  name: string;
  cpu?: string;
  memory?: string;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  extended?: Record<string, string>;
}

/** Create a simulated node with kubectl: the object, its status, and a Lease kept renewed. */
async function addNode(n: SimNode): Promise<void> {
  const resources = { cpu: n.cpu ?? '4', memory: n.memory ?? '8Gi', pods: '110', ...(n.extended ?? {}) };
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', ...SIM, ...(n.labels ?? {}) } },
    spec: n.taints ? { taints: n.taints } : {},
  };
  await cluster.k(['create', '-f', '-'], { stdin: JSON.stringify(node) });
  const status = {
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'simulated', lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
    },
  };
  await cluster.k(['patch', 'node', n.name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  const lease = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: n.name, namespace: 'kube-node-lease' },
    spec: { holderIdentity: n.name, leaseDurationSeconds: 40, renewTime: microTime() },
  };
  await cluster.k(['create', '-f', '-'], { stdin: JSON.stringify(lease) });
  nodes.push(n.name);
}

/** Nodes the cluster has besides the simulated ones (a real node, when `kite up` registers one). */
async function otherNodes(): Promise<number> {
  return (await cluster.k(['get', 'nodes', '-l', '!kite.test/simulated', '-o', 'name'])).split('\n').filter(Boolean).length;
}

async function nodeOf(pod: string): Promise<string> {
  return waitFor(`${pod} to be scheduled`, async () => (await cluster.k(['get', 'pod', pod, '-o', 'jsonpath={.spec.nodeName}'])).trim() || undefined, 30_000, 250);
}

/** Create a pod; `extra` is merged into its spec (`labels` into its metadata). */
async function run(name: string, extra: Record<string, unknown> = {}, container: Record<string, unknown> = {}): Promise<void> {
  const { labels, ...spec } = extra;
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { test: 'sched', ...((labels as Record<string, string>) ?? {}) } },
    spec: { containers: [{ name: 'c', image: 'busybox', ...container }], nodeSelector: SIM, ...spec },
  };
  await cluster.k(['create', '-f', '-'], { stdin: JSON.stringify(pod) });
}

async function scheduledCondition(pod: string): Promise<{ status?: string; reason?: string; message?: string }> {
  return waitFor(
    `${pod} to be reported unschedulable`,
    async () => {
      const conds = JSON.parse((await cluster.k(['get', 'pod', pod, '-o', 'jsonpath={.status.conditions}'])) || '[]') as { type: string; status?: string; reason?: string; message?: string }[];
      const c = conds.find((x) => x.type === 'PodScheduled');
      return c?.status === 'False' && c.message ? c : undefined;
    },
    30_000,
    250,
  );
}

before(async () => {
  await cluster.up();
  api = new HttpTransport(loadKubeconfig(cluster.kubeconfig), { component: 'e2e-heartbeat' });
  // The kubelets' part: renew every simulated node's Lease.
  heartbeat = setInterval(() => {
    for (const n of nodes) api!.patch(LEASES, 'kube-node-lease', n, 'merge', { spec: { renewTime: microTime() } }).catch(() => undefined);
  }, 5000);
  await addNode({ name: 'sim-a', labels: { 'topology.kubernetes.io/zone': 'a', disk: 'ssd' } });
  await addNode({ name: 'sim-b', labels: { 'topology.kubernetes.io/zone': 'b' } });
  await addNode({ name: 'sim-gpu', cpu: '8', labels: { 'topology.kubernetes.io/zone': 'b' }, extended: { 'nvidia.com/gpu': '2' } });
});

after(async () => {
  if (heartbeat) clearInterval(heartbeat);
  api?.close();
  await cluster.down();
});

test('pods land where their constraints say: nodeSelector, node affinity, GPUs', async () => {
  await run('on-ssd', { nodeSelector: { ...SIM, disk: 'ssd' } });
  await run('in-zone-b', {
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['b'] }] }] } } },
  });
  await run('trainer', {}, { resources: { requests: { 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } } });
  assert.equal(await nodeOf('on-ssd'), 'sim-a');
  assert.ok(['sim-b', 'sim-gpu'].includes(await nodeOf('in-zone-b')));
  assert.equal(await nodeOf('trainer'), 'sim-gpu');
  const describe = await cluster.k(['describe', 'pod', 'trainer']);
  assert.match(describe, /Normal\s+Scheduled\s+.*default-scheduler\s+Successfully assigned default\/trainer to sim-gpu/);
  assert.match(await cluster.k(['get', 'pods', '-o', 'wide']), /trainer\s+0\/1\s+Pending\s+0\s+\S+\s+<none>\s+sim-gpu/);
});

test('required pod anti-affinity spreads replicas over nodes', async () => {
  const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'spread' } }, topologyKey: 'kubernetes.io/hostname' }] } };
  for (const n of ['r1', 'r2', 'r3']) await run(n, { labels: { app: 'spread' }, affinity: anti });
  const placed = await Promise.all(['r1', 'r2', 'r3'].map(nodeOf));
  assert.deepEqual([...placed].sort(), ['sim-a', 'sim-b', 'sim-gpu']);
  const realNodes = await otherNodes();
  await run('r4', { labels: { app: 'spread' }, affinity: anti });
  const c = await scheduledCondition('r4');
  assert.equal(c.reason, 'Unschedulable');
  assert.equal(
    c.message,
    available(realNodes + 3, [[realNodes, NOT_SELECTED], [3, "node(s) didn't match pod anti-affinity rules"]], [[3, 'No preemption victims found for incoming pod'], [realNodes, 'Preemption is not helpful for scheduling']]),
  );
  await cluster.k(['delete', 'pod', 'r1', 'r2', 'r3', 'r4', '--grace-period=0', '--force']);
});

test('an unschedulable pod: PodScheduled=False, FailedScheduling in describe, scheduled once a node fits', async () => {
  const realNodes = await otherNodes();
  await run('big', {}, { resources: { requests: { cpu: '16' } } });
  // Like the brief's example: one reason per node, counted and sorted as upstream does.
  const want = available(realNodes + 3, [[realNodes, NOT_SELECTED], [3, 'Insufficient cpu']], [[realNodes + 3, 'Preemption is not helpful for scheduling']]);
  const c = await scheduledCondition('big');
  assert.deepEqual({ status: c.status, reason: c.reason, message: c.message }, { status: 'False', reason: 'Unschedulable', message: want });
  const describe = await waitFor('the FailedScheduling event', async () => {
    const d = await cluster.k(['describe', 'pod', 'big']);
    return /FailedScheduling/.test(d) ? d : undefined;
  });
  assert.match(describe, /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/\d+ nodes are available: /);
  assert.ok(describe.replace(/\s+/g, ' ').includes(want), `describe shows the message:\n${describe}`);
  assert.equal((await cluster.k(['get', 'pod', 'big', '-o', 'jsonpath={.spec.nodeName}'])).trim(), '');
  // A node that fits arrives: the pod is retried on that event (no polling) and placed.
  await addNode({ name: 'sim-big', cpu: '32', labels: { 'topology.kubernetes.io/zone': 'c' } });
  assert.equal(await nodeOf('big'), 'sim-big');
});

test('cordon keeps new pods off; uncordon lets them in', async () => {
  await cluster.k(['cordon', ...nodes]);
  const realNodes = await otherNodes();
  await run('patient');
  const c = await scheduledCondition('patient');
  assert.equal(c.message, available(realNodes + 4, [[realNodes, NOT_SELECTED], [4, 'node(s) were unschedulable']], [[realNodes + 4, 'Preemption is not helpful for scheduling']]));
  await cluster.k(['uncordon', 'sim-b']);
  assert.equal(await nodeOf('patient'), 'sim-b');
  await cluster.k(['uncordon', ...nodes]);
});

test('preemption: a higher-priority pod evicts a lower-priority one, is nominated, then placed', async () => {
  await addNode({ name: 'sim-small', cpu: '1', taints: [{ key: 'dedicated', value: 'small', effect: 'NoSchedule' }] });
  const onSmall = { nodeSelector: { ...SIM, 'kubernetes.io/hostname': 'sim-small' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'small', effect: 'NoSchedule' }] };
  await cluster.k(['create', 'priorityclass', 'high', '--value=1000', '--description=e2e']);
  await run('victim', onSmall, { resources: { requests: { cpu: '800m' } } });
  assert.equal(await nodeOf('victim'), 'sim-small');
  await run('vip', { ...onSmall, priorityClassName: 'high' }, { resources: { requests: { cpu: '800m' } } });
  const nominated = await waitFor('vip to be nominated', async () => (await cluster.k(['get', 'pod', 'vip', '-o', 'jsonpath={.status.nominatedNodeName}'])).trim() || undefined, 30_000, 250);
  assert.equal(nominated, 'sim-small');
  // The victim is being deleted gracefully (no kubelet finishes it here) and was told why.
  const v = JSON.parse(await cluster.k(['get', 'pod', 'victim', '-o', 'json'])) as { metadata: { deletionTimestamp?: string }; status: { conditions?: { type: string; reason?: string }[] } };
  assert.ok(v.metadata.deletionTimestamp);
  assert.equal(v.status.conditions?.find((x) => x.type === 'DisruptionTarget')?.reason, 'PreemptionByScheduler');
  assert.match(await cluster.k(['get', 'events', '--field-selector', 'involvedObject.name=victim']), /Preempted\s+pod\/victim\s+Preempted by pod \S+ on node sim-small/);
  await cluster.k(['delete', 'pod', 'victim', '--grace-period=0', '--force']);
  assert.equal(await nodeOf('vip'), 'sim-small');
});
