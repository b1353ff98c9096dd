// Acceptance: the default scheduler's filters and scores end to end, driven with the
// real kubectl. Each test brings its own simulated nodes (Node objects created with
// kubectl, status through the status subresource, Leases renewed here as kubelets
// would) in a group of its own, and removes them when done, so every "0/N nodes are
// available" message is exact. This test also plays the simulated kubelets' part of
// finishing pods that are being deleted on them. The last test runs real containers on
// the node `kite up` starts; that node's kubelet is pointed (KITE_GPU_DEV_DIR) at a
// directory of fake /dev/nvidiaN files so its GPU detection can be seen end to end.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, nodeNameOf, waitFor, waitForNodeReady, waitForPod } from './harness.js';
import { SIMULATED, SimulatedNodes, nodeOf, otherNodes, unavailableMessage, unschedulableCondition } from './sim-nodes.js';
import type { SimNode } from './sim-nodes.js';

const fakeDev = mkdtempSync(join(tmpdir(), 'kite-e2e-fakedev-'));
for (const f of ['nvidia0', 'nvidia1', 'nvidiactl', 'nvidia-uvm']) writeFileSync(join(fakeDev, f), '');
const cluster = new Cluster('schedp', { KITE_GPU_DEV_DIR: fakeDev });
const sim = new SimulatedNodes(cluster);
const GROUP = 'kite.test/group';
const NOT_SELECTED = "node(s) didn't match Pod's node affinity/selector";
const NOT_HELPFUL = 'Preemption is not helpful for scheduling';
const NO_VICTIMS = 'No preemption victims found for incoming pod';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** A simulated node in the test's own group of nodes. */
async function addNode(n: SimNode & { group: string }): Promise<void> {
  const { group, ...node } = n;
  await sim.add({ ...node, labels: { [GROUP]: group, ...(node.labels ?? {}) } });
}

/** Remove a test's pods and nodes so the next test starts from the real node alone. */
async function cleanup(group: string): Promise<void> {
  await cluster.k(['delete', 'pods,replicasets', '-l', `group=${group}`, '--grace-period=0', '--force', '--ignore-not-found', '--wait=false']);
  const names = (await cluster.k(['get', 'nodes', '-l', `${GROUP}=${group}`, '-o', 'jsonpath={.items[*].metadata.name}'])).split(/\s+/).filter(Boolean);
  sim.forget(names);
  if (names.length) await cluster.k(['delete', 'node', ...names, '--ignore-not-found']);
}

/** Create a pod of `group` (selecting that group's nodes); `extra` is merged into its spec (`labels` into its metadata). */
async function run(name: string, group: string, extra: Record<string, unknown> = {}, container: Record<string, unknown> = {}): Promise<void> {
  const { labels, nodeSelector, ...spec } = extra;
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { group, ...((labels as Record<string, string>) ?? {}) } },
    spec: { containers: [{ name: 'c', image: 'busybox', ...container }], nodeSelector: { ...SIMULATED, [GROUP]: group, ...((nodeSelector as Record<string, string>) ?? {}) }, ...spec },
  };
  await cluster.k(['create', '-f', '-'], { stdin: JSON.stringify(pod) });
}

async function unschedulable(pod: string): Promise<string> {
  const c = await unschedulableCondition(cluster, pod);
  assert.equal(c.reason, 'Unschedulable');
  return c.message!;
}

async function assertPending(pod: string): Promise<void> {
  assert.equal((await cluster.k(['get', 'pod', pod, '-o', 'jsonpath={.spec.nodeName}'])).trim(), '');
}

before(async () => {
  await cluster.up();
  // A real node that is still NotReady would carry the not-ready taint and change the messages.
  if (isRoot) await waitForNodeReady(cluster, 90_000);
  // The simulated kubelets' part, finishing the pods being deleted on their nodes included.
  sim.startHeartbeat({ component: 'e2e-sim-kubelets', everyMs: 2000, finishDeletedPods: true });
});

after(async () => {
  sim.stop();
  await cluster.down();
  rmSync(fakeDev, { recursive: true, force: true });
});

test('taints: NoSchedule keeps intolerant pods off, tolerations let them in, PreferNoSchedule steers away', async () => {
  const g = 'taints';
  await addNode({ name: 'tt-plain', group: g });
  await addNode({ name: 'tt-hard', group: g, taints: [{ key: 'gpu', value: 'only', effect: 'NoSchedule' }] });
  await addNode({ name: 'tt-soft', group: g, taints: [{ key: 'flaky', value: 'yes', effect: 'PreferNoSchedule' }] });
  const real = await otherNodes(cluster);
  await run('tt-intolerant', g, { nodeSelector: { 'kubernetes.io/hostname': 'tt-hard' } });
  // TaintToleration runs before NodeAffinity: tt-hard is rejected for its taint.
  assert.equal(
    await unschedulable('tt-intolerant'),
    unavailableMessage(real + 3, [[real + 2, NOT_SELECTED], [1, "node(s) had untolerated taint {gpu: only}"]], [[real + 3, NOT_HELPFUL]]),
  );
  await assertPending('tt-intolerant');
  await run('tt-tolerant', g, { nodeSelector: { 'kubernetes.io/hostname': 'tt-hard' }, tolerations: [{ key: 'gpu', operator: 'Equal', value: 'only', effect: 'NoSchedule' }] });
  assert.equal(await nodeOf(cluster, 'tt-tolerant'), 'tt-hard');
  // Without tolerations only tt-plain and tt-soft pass; the PreferNoSchedule taint scores tt-soft down.
  for (const p of ['tt-1', 'tt-2', 'tt-3']) {
    await run(p, g);
    assert.equal(await nodeOf(cluster, p), 'tt-plain', `${p} avoids the PreferNoSchedule node`);
  }
  // Tolerating the soft taint removes the penalty: the emptier tt-soft wins.
  await run('tt-4', g, { tolerations: [{ key: 'flaky', operator: 'Exists' }] });
  assert.equal(await nodeOf(cluster, 'tt-4'), 'tt-soft');
  await cleanup(g);
});

test('required pod affinity co-locates with a labelled pod; no match anywhere leaves the pod Pending', async () => {
  const g = 'affinity';
  for (const n of ['pa-1', 'pa-2', 'pa-3']) await addNode({ name: n, group: g });
  const real = await otherNodes(cluster);
  await run('pa-db', g, { labels: { app: 'db' }, nodeSelector: { 'kubernetes.io/hostname': 'pa-2' } });
  assert.equal(await nodeOf(cluster, 'pa-db'), 'pa-2');
  const withDb = (app: string) => ({ podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app } }, topologyKey: 'kubernetes.io/hostname' }] } });
  for (const p of ['pa-web-1', 'pa-web-2']) {
    await run(p, g, { labels: { app: 'web' }, affinity: withDb('db') });
    assert.equal(await nodeOf(cluster, p), 'pa-2');
  }
  await run('pa-lonely', g, { affinity: withDb('cache') });
  assert.equal(
    await unschedulable('pa-lonely'),
    unavailableMessage(real + 3, [[real, NOT_SELECTED], [3, "node(s) didn't match pod affinity rules"]], [[real + 3, NOT_HELPFUL]]),
  );
  // A matching pod appears: the waiting pod is retried and follows it.
  await run('pa-cache', g, { labels: { app: 'cache' }, nodeSelector: { 'kubernetes.io/hostname': 'pa-3' } });
  assert.equal(await nodeOf(cluster, 'pa-lonely'), 'pa-3');
  await cleanup(g);
});

test('topology spread: maxSkew 1 over zones; DoNotSchedule leaves a pod Pending until a zone opens', async () => {
  const g = 'spread';
  const zone = (z: string) => ({ 'topology.kubernetes.io/zone': z });
  for (const n of ['ts-a1', 'ts-a2', 'ts-a3']) await addNode({ name: n, group: g, labels: zone('a') });
  await addNode({ name: 'ts-b1', group: g, labels: zone('b') });
  const real = await otherNodes(cluster);
  const spread = { labels: { app: 'ts' }, topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'ts' } } }] };
  const zoneOf = (n: string) => (n === 'ts-b1' ? 'b' : 'a');
  const counts = { a: 0, b: 0 };
  // Four pods over three zone-a nodes and one zone-b node: least-allocated alone would put
  // three in zone a; the constraint keeps the zones within one of each other.
  for (const p of ['ts-1', 'ts-2', 'ts-3', 'ts-4']) {
    await run(p, g, spread);
    counts[zoneOf(await nodeOf(cluster, p))]++;
    assert.ok(Math.abs(counts.a - counts.b) <= 1, `skew after ${p}: ${JSON.stringify(counts)}`);
  }
  assert.deepEqual(counts, { a: 2, b: 2 });
  await cluster.k(['taint', 'node', 'ts-b1', 'hold=yes:NoSchedule']);
  await run('ts-5', g, spread);
  assert.equal(zoneOf(await nodeOf(cluster, 'ts-5')), 'a'); // a=3, b=2: skew 1 is allowed
  await run('ts-6', g, spread); // a=4 would make skew 2; zone b's node is tainted
  assert.equal(
    await unschedulable('ts-6'),
    unavailableMessage(
      real + 4,
      [[real, NOT_SELECTED], [3, "node(s) didn't match pod topology spread constraints"], [1, 'node(s) had untolerated taint {hold: yes}']],
      [[3, NO_VICTIMS], [real + 1, NOT_HELPFUL]],
    ),
  );
  await assertPending('ts-6');
  await cluster.k(['taint', 'node', 'ts-b1', 'hold-']);
  assert.equal(await nodeOf(cluster, 'ts-6'), 'ts-b1');
  await cleanup(g);
});

test('host ports: one pod per node per port', async () => {
  const g = 'ports';
  for (const n of ['hp-1', 'hp-2']) await addNode({ name: n, group: g });
  const real = await otherNodes(cluster);
  const port = { ports: [{ containerPort: 8080, hostPort: 8080, protocol: 'TCP' }] };
  await run('hp-a', g, {}, port);
  await run('hp-b', g, {}, port);
  assert.deepEqual([await nodeOf(cluster, 'hp-a'), await nodeOf(cluster, 'hp-b')].sort(), ['hp-1', 'hp-2']);
  await run('hp-c', g, {}, port);
  assert.equal(
    await unschedulable('hp-c'),
    unavailableMessage(real + 2, [[real, NOT_SELECTED], [2, "node(s) didn't have free ports for the requested pod ports"]], [[2, NO_VICTIMS], [real, NOT_HELPFUL]]),
  );
  // A different port fits; freeing the port lets the waiting pod in.
  await run('hp-d', g, {}, { ports: [{ containerPort: 9090, hostPort: 9090, protocol: 'TCP' }] });
  await nodeOf(cluster, 'hp-d');
  const freed = await nodeOf(cluster, 'hp-a');
  await cluster.k(['delete', 'pod', 'hp-a', '--grace-period=0', '--force']);
  assert.equal(await nodeOf(cluster, 'hp-c'), freed);
  await cleanup(g);
});

test('resource fit: memory requests pick a node with room; too much is Insufficient memory', async () => {
  const g = 'fit';
  await addNode({ name: 'rf-small', group: g, memory: '1Gi' });
  await addNode({ name: 'rf-large', group: g, memory: '4Gi' });
  const real = await otherNodes(cluster);
  await run('rf-2g', g, {}, { resources: { requests: { memory: '2Gi' } } });
  assert.equal(await nodeOf(cluster, 'rf-2g'), 'rf-large');
  await run('rf-3g', g, {}, { resources: { requests: { memory: '3Gi' } } });
  // Fits no node now: rf-large has 2Gi left (resolvable), rf-small never could (not).
  assert.equal(
    await unschedulable('rf-3g'),
    unavailableMessage(real + 2, [[real, NOT_SELECTED], [2, 'Insufficient memory']], [[1, NO_VICTIMS], [real + 1, NOT_HELPFUL]]),
  );
  await cluster.k(['delete', 'pod', 'rf-2g', '--grace-period=0', '--force']);
  assert.equal(await nodeOf(cluster, 'rf-3g'), 'rf-large');
  await cleanup(g);
});

test('scores: preferred node affinity picks the preferred node; least-allocated picks the emptier one', async () => {
  const g = 'scores';
  await addNode({ name: 'sc-blue', group: g, labels: { color: 'blue' } });
  await addNode({ name: 'sc-red', group: g, labels: { color: 'red' } });
  const prefer = (color: string) => ({
    affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: 'color', operator: 'In', values: [color] }] } }] } },
  });
  // Three in a row: the preference outweighs sc-red filling up.
  for (const p of ['sc-red-1', 'sc-red-2', 'sc-red-3']) {
    await run(p, g, prefer('red'));
    assert.equal(await nodeOf(cluster, p), 'sc-red');
  }
  await cluster.k(['delete', 'pod', 'sc-red-1', 'sc-red-2', 'sc-red-3', '--grace-period=0', '--force']);
  // A heavy pod on sc-blue: pods without preferences go to the emptier sc-red.
  await run('sc-heavy', g, { nodeSelector: { 'kubernetes.io/hostname': 'sc-blue' } }, { resources: { requests: { cpu: '3', memory: '6Gi' } } });
  assert.equal(await nodeOf(cluster, 'sc-heavy'), 'sc-blue');
  for (const p of ['sc-light-1', 'sc-light-2']) {
    await run(p, g, {}, { resources: { requests: { cpu: '500m', memory: '512Mi' } } });
    assert.equal(await nodeOf(cluster, p), 'sc-red');
  }
  await cleanup(g);
});

test('drain evicts a ReplicaSet’s pods; the ReplicaSet replaces them on another node', async () => {
  const g = 'drain';
  await addNode({ name: 'dr-1', group: g });
  await addNode({ name: 'dr-2', group: g });
  await cluster.k(['cordon', 'dr-2']);
  const rs = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'dr-web', labels: { group: g } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'dr-web' } },
      template: { metadata: { labels: { app: 'dr-web', group: g } }, spec: { nodeSelector: { ...SIMULATED, [GROUP]: g }, containers: [{ name: 'c', image: 'busybox' }] } },
    },
  };
  await cluster.k(['create', '-f', '-'], { stdin: JSON.stringify(rs) });
  const placement = async () => {
    const out = await cluster.k(['get', 'pods', '-l', 'app=dr-web', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.metadata.deletionTimestamp}{"\\n"}{end}']);
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '));
  };
  const before = await waitFor('3 replicas on dr-1', async () => {
    const ps = await placement();
    return ps.length === 3 && ps.every(([, n]) => n === 'dr-1') ? ps.map(([name]) => name) : undefined;
  });
  await cluster.k(['uncordon', 'dr-2']);
  const out = await cluster.k(['drain', 'dr-1', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=120s'], { timeoutMs: 150_000 });
  for (const p of before) assert.match(out, new RegExp(`evicting pod default/${p}`));
  assert.match(out, /node\/dr-1 drained/);
  assert.match(await cluster.k(['get', 'node', 'dr-1']), /Ready,SchedulingDisabled/);
  const after = await waitFor('3 new replicas on dr-2', async () => {
    const ps = await placement();
    return ps.length === 3 && ps.every(([, n, del]) => n === 'dr-2' && !del) ? ps.map(([name]) => name) : undefined;
  }, 60_000);
  assert.equal(after.filter((p) => before.includes(p)).length, 0);
  await cleanup(g);
});

test('real containers: a pod lands where its nodeSelector says and runs', { skip: isRoot ? false : 'needs root: runs containers' }, async () => {
  const node = nodeNameOf(cluster);
  await waitForNodeReady(cluster, 90_000);
  const pod = (name: string, nodeSelector: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { group: 'real' } },
    spec: { nodeSelector, terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] },
  });
  await cluster.k(['create', '-f', '-'], { stdin: JSON.stringify(pod('real-by-name', { 'kubernetes.io/hostname': node })) });
  await cluster.k(['create', '-f', '-'], { stdin: JSON.stringify(pod('real-by-role', { 'node-role.kubernetes.io/control-plane': '' })) });
  for (const name of ['real-by-name', 'real-by-role']) {
    const p = await waitForPod(cluster, name, 'Running', (x) => x.status?.phase === 'Running', 120_000);
    assert.equal(p.spec.nodeName, node);
    assert.equal(p.status.containerStatuses?.[0]?.ready, true);
  }
  const wide = await cluster.k(['get', 'pods', '-l', 'group=real', '-o', 'wide']);
  assert.match(wide, new RegExp(`real-by-name\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+\\S+\\s+${node}`));
  assert.match(await cluster.k(['describe', 'pod', 'real-by-role']), new RegExp(`Successfully assigned default/real-by-role to ${node}`));
  await cluster.k(['delete', 'pod', 'real-by-name', 'real-by-role', '--wait=false']);
});

test('GPUs: the real node advertises the GPUs its kubelet detects; a GPU pod is placed there', { skip: isRoot ? false : 'needs root: runs the node' }, async () => {
  const node = nodeNameOf(cluster);
  const n = JSON.parse(await cluster.k(['get', 'node', node, '-o', 'json'])) as { status: { capacity: Record<string, string>; allocatable: Record<string, string> } };
  assert.equal(n.status.capacity['nvidia.com/gpu'], '2');
  assert.equal(n.status.allocatable['nvidia.com/gpu'], '2');
  assert.match(await cluster.k(['describe', 'node', node]), /nvidia\.com\/gpu:\s+2/);
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'real-gpu', labels: { group: 'real' } },
    spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], resources: { limits: { 'nvidia.com/gpu': '2' } } }] },
  };
  await cluster.k(['create', '-f', '-'], { stdin: JSON.stringify(pod) });
  assert.equal(await nodeOf(cluster, 'real-gpu'), node);
  // A third GPU is nowhere: simulated nodes have none, the real node's two are taken.
  await cluster.k(['create', '-f', '-'], { stdin: JSON.stringify({ ...pod, metadata: { name: 'real-gpu-2', labels: { group: 'real' } } }) });
  const msg = await unschedulable('real-gpu-2');
  assert.match(msg, /^0\/\d+ nodes are available: 1 Insufficient nvidia\.com\/gpu\. preemption: /);
  await cluster.k(['delete', 'pod', 'real-gpu', 'real-gpu-2', '--wait=false']);
});
