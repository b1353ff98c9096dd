// The node lifecycle controller (heartbeats, Unknown conditions, taints, zones) and the
// taint eviction controller, with fast grace periods, against the in-process API.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.js';
import { NodeLifecycleController } from '../../controllers/nodelifecycle/controller.js';
import { TaintEvictionController } from '../../controllers/nodelifecycle/tainteviction.js';
import { matchingTolerations, minTolerationMs, toleratesTaint } from '../../controllers/nodelifecycle/taints.js';
import { R, events, eventually, gone, harness, microTime, pod, rfc3339, setPodStatus, sleep, tryGet } from './controllers-housekeeping-fixture.js';
import type { Harness } from './controllers-housekeeping-fixture.js';

let h: Harness;
let renewers: NodeJS.Timeout[] = [];

beforeEach(async () => {
  h = await harness();
  renewers = [];
});

afterEach(async () => {
  for (const t of renewers) clearInterval(t);
  await h.close();
});

const FAST = { nodeMonitorPeriodMs: 50, nodeMonitorGracePeriodMs: 400, nodeStartupGracePeriodMs: 400, taintPassPeriodMs: 20 };

async function startControllers(opts: Partial<typeof FAST> & { evictionLimiterQPS?: number } = {}): Promise<{ nlc: NodeLifecycleController; tec: TaintEvictionController }> {
  const [nlc, tec] = (await h.run(
    (ctx) => new NodeLifecycleController(ctx, { ...FAST, ...opts, log: () => undefined }),
    (ctx) => new TaintEvictionController(ctx, { log: () => undefined }),
  )) as [NodeLifecycleController, TaintEvictionController];
  return { nlc, tec };
}

/** A node that posted Ready=True, and its Lease. */
async function node(name: string, labels: Record<string, string> = {}): Promise<void> {
  await h.client.create(R.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });
  const now = rfc3339();
  const conditions = [
    { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'ok', lastHeartbeatTime: now, lastTransitionTime: now },
    { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'ok', lastHeartbeatTime: now, lastTransitionTime: now },
    { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'ok', lastHeartbeatTime: now, lastTransitionTime: now },
    { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now },
  ];
  await h.client.patch(R.nodes, undefined, name, 'merge', { status: { conditions } }, { subresource: 'status' });
  await h.client.create(R.leases, 'kube-node-lease', {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: 'kube-node-lease' },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime() },
  });
}

/** Keep renewing a node's Lease (a live kubelet). */
function keepRenewing(name: string): void {
  renewers.push(
    setInterval(() => {
      void h.client.patch(R.leases, 'kube-node-lease', name, 'merge', { spec: { renewTime: microTime() } }).catch(() => undefined);
    }, 50),
  );
}

async function getNode(name: string): Promise<Node> {
  return (await h.client.get(R.nodes, undefined, name)) as unknown as Node;
}

function taintKeys(n: Node): string[] {
  return (n.spec?.taints ?? []).map((t: Taint) => `${t.key}:${t.effect}`).sort();
}

function ready(n: Node): string | undefined {
  return (n.status?.conditions ?? []).find((c) => c.type === 'Ready')?.status;
}

test('a node whose lease stops being renewed goes Unknown, is tainted, and its pods are marked not ready', async () => {
  await node('alive');
  await node('silent');
  keepRenewing('alive');
  await h.client.create(R.pods, 'default', pod('on-silent', { nodeName: 'silent' }));
  await setPodStatus(h.client, 'default', 'on-silent', 'Running', true);
  await startControllers();

  const silent = await eventually('silent Unknown', async () => {
    const n = await getNode('silent');
    return ready(n) === 'Unknown' ? n : undefined;
  }, 5000);
  for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
    const c = silent.status!.conditions!.find((x) => x.type === type)!;
    assert.equal(c.status, 'Unknown', type);
    assert.equal(c.reason, 'NodeStatusUnknown');
    assert.equal(c.message, 'Kubelet stopped posting node status.');
  }
  const tainted = await eventually('taints', async () => {
    const n = await getNode('silent');
    return taintKeys(n).length === 2 ? n : undefined;
  });
  assert.deepEqual(taintKeys(tainted), ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
  assert.ok(tainted.spec!.taints!.every((t) => t.timeAdded), 'taints carry timeAdded');
  assert.equal(ready(await getNode('alive')), 'True');
  assert.deepEqual(taintKeys(await getNode('alive')), []);

  const p = await eventually('pod not ready', async () => {
    const x = (await h.client.get(R.pods, 'default', 'on-silent')) as unknown as Pod;
    return x.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False' ? x : undefined;
  });
  assert.ok(p);
  const evs = await eventually('events', async () => {
    const e = await events(h.client);
    return e.some((x) => x.reason === 'NodeNotReady' && x.kind === 'Node') && e.some((x) => x.reason === 'NodeNotReady' && x.kind === 'Pod') ? e : undefined;
  });
  assert.ok(evs.some((e) => e.kind === 'Node' && e.name === 'silent' && e.message === 'Node silent status is now: NodeNotReady'));
  assert.ok(evs.some((e) => e.kind === 'Pod' && e.name === 'on-silent' && e.type === 'Warning' && e.message === 'Node is not ready'));
  assert.ok(evs.some((e) => e.reason === 'RegisteredNode' && e.message === 'Registered Node alive in Controller'));

  // The pod tolerates unreachable for the default 300 s: scheduled, not deleted.
  const tec = h.controllers[1] as TaintEvictionController;
  await eventually('eviction scheduled', () => tec.scheduledEvictions().has('default/on-silent'));
  const at = tec.scheduledEvictions().get('default/on-silent')!;
  assert.ok(at - Date.now() > 290_000 && at - Date.now() <= 300_000);
  assert.equal((await h.client.get(R.pods, 'default', 'on-silent')).metadata?.deletionTimestamp, undefined);

  // The kubelet comes back: taints go, the scheduled eviction is cancelled. Like a real
  // kubelet it keeps posting its status, so a pass of the controller that raced with the
  // first post (and wrote Unknown from an older heartbeat) is corrected by the next.
  keepRenewing('silent');
  const back = rfc3339();
  const post = async () => {
    const conditions = silent.status!.conditions!.map((c) => ({ ...c, status: c.type === 'Ready' ? 'True' : 'False', reason: 'KubeletReady', lastHeartbeatTime: rfc3339(), lastTransitionTime: back }));
    await h.client.patch(R.nodes, undefined, 'silent', 'merge', { status: { conditions } }, { subresource: 'status' });
  };
  await post();
  renewers.push(setInterval(() => void post().catch(() => undefined), 200));
  await eventually('taints removed', async () => taintKeys(await getNode('silent')).length === 0);
  await eventually('eviction cancelled', () => !tec.scheduledEvictions().has('default/on-silent'));
  await eventually('cancel event', async () => (await events(h.client)).some((e) => e.reason === 'TaintManagerEviction' && e.message === 'Cancelling deletion of Pod default/on-silent'));
});

test('tolerationSeconds: a pod is deleted when its toleration runs out; an untolerated taint deletes at once', async () => {
  await node('alive');
  await node('silent');
  keepRenewing('alive');
  await h.client.create(R.pods, 'default', pod('short', { nodeName: 'silent', spec: { tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1 }] } }));
  await h.client.create(R.pods, 'default', pod('forever', { nodeName: 'silent', spec: { tolerations: [{ operator: 'Exists' }] } }));
  await startControllers();
  await eventually('silent tainted', async () => taintKeys(await getNode('silent')).includes('node.kubernetes.io/unreachable:NoExecute'));
  const t0 = Date.now();
  const short = await eventually('short deleted', async () => {
    const p = await tryGet<Pod>(h.client, R.pods, 'default', 'short');
    return p?.metadata?.deletionTimestamp ? p : undefined;
  }, 4000);
  assert.ok(Date.now() - t0 >= 700, 'not before its tolerationSeconds');
  const dt = short.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
  assert.equal(dt?.reason, 'DeletionByTaintManager');
  assert.equal(dt?.message, 'Taint manager: deleting due to NoExecute taint');
  assert.ok((await events(h.client)).some((e) => e.reason === 'TaintManagerEviction' && e.message === 'Marking for deletion Pod default/short'));
  await sleep(200);
  assert.equal((await h.client.get(R.pods, 'default', 'forever')).metadata?.deletionTimestamp, undefined, 'tolerates forever');

  // A NoExecute taint nobody tolerates: the pod goes at once.
  await h.client.create(R.pods, 'default', pod('plain', { nodeName: 'alive' }));
  await sleep(50);
  await h.client.patch(R.nodes, undefined, 'alive', 'merge', { spec: { taints: [{ key: 'example.com/evict', effect: 'NoExecute' }] } });
  await eventually('plain deleted', async () => (await tryGet<Pod>(h.client, R.pods, 'default', 'plain'))?.metadata?.deletionTimestamp);
});

test('Ready=False posted by the kubelet gives the not-ready taints', async () => {
  await node('alive');
  await node('sick');
  keepRenewing('alive');
  keepRenewing('sick');
  const n = await getNode('sick');
  const conditions = n.status!.conditions!.map((c) => (c.type === 'Ready' ? { ...c, status: 'False', reason: 'KubeletNotReady', message: 'container runtime is down' } : c));
  await h.client.patch(R.nodes, undefined, 'sick', 'merge', { status: { conditions } }, { subresource: 'status' });
  await startControllers();
  const tainted = await eventually('not-ready taints', async () => {
    const x = await getNode('sick');
    return taintKeys(x).length === 2 ? x : undefined;
  });
  assert.deepEqual(taintKeys(tainted), ['node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/not-ready:NoSchedule']);
  assert.equal(ready(tainted), 'False', 'the controller does not overwrite what the kubelet posted');
});

test('when every node is down the controller does not add NoExecute taints (master disruption mode)', async () => {
  await node('only');
  await startControllers();
  await eventually('Unknown', async () => ready(await getNode('only')) === 'Unknown');
  await eventually('NoSchedule taint', async () => taintKeys(await getNode('only')).includes('node.kubernetes.io/unreachable:NoSchedule'));
  await sleep(300);
  assert.deepEqual(taintKeys(await getNode('only')), ['node.kubernetes.io/unreachable:NoSchedule']);
});

test('a node that never posted status goes Unknown after the startup grace period; cordon adds the unschedulable taint', async () => {
  await node('alive');
  keepRenewing('alive');
  await h.client.create(R.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'mute' } });
  await startControllers();
  const mute = await eventually('mute Unknown', async () => {
    const x = await getNode('mute');
    return ready(x) === 'Unknown' ? x : undefined;
  });
  const c = mute.status!.conditions!.find((x) => x.type === 'Ready')!;
  assert.equal(c.reason, 'NodeStatusNeverUpdated');
  assert.equal(c.message, 'Kubelet never posted node status.');
  await h.client.patch(R.nodes, undefined, 'alive', 'merge', { spec: { unschedulable: true } });
  await eventually('unschedulable taint', async () => taintKeys(await getNode('alive')).includes('node.kubernetes.io/unschedulable:NoSchedule'));
  await h.client.patch(R.nodes, undefined, 'alive', 'merge', { spec: { unschedulable: null } });
  await eventually('unschedulable taint removed', async () => taintKeys(await getNode('alive')).length === 0);
});

test('a deleted node is forgotten; its pods are left to pod GC', async () => {
  await node('alive');
  await node('temp');
  keepRenewing('alive');
  keepRenewing('temp');
  await startControllers();
  await sleep(200);
  await h.client.delete(R.nodes, undefined, 'temp');
  await eventually('RemovingNode event', async () => (await events(h.client)).some((e) => e.reason === 'RemovingNode' && e.message === 'Removing Node temp from Controller'));
  assert.ok(await gone(h.client, R.nodes, undefined, 'temp'));
});

test('tolerations: matching and the shortest tolerationSeconds', () => {
  const unreachable: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };
  assert.equal(toleratesTaint({ operator: 'Exists' }, unreachable), true);
  assert.equal(toleratesTaint({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' }, unreachable), false);
  assert.equal(toleratesTaint({ key: 'a', operator: 'Equal', value: 'x' }, { key: 'a', value: 'x', effect: 'NoExecute' }), true);
  assert.equal(toleratesTaint({ key: 'a', value: 'y' }, { key: 'a', value: 'x', effect: 'NoExecute' }), false);
  const m = matchingTolerations([unreachable], [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }, { operator: 'Exists', tolerationSeconds: 10 }]);
  assert.equal(m.all, true);
  assert.equal(minTolerationMs(m.used), 30_000, 'the first matching toleration per taint is used');
  assert.equal(minTolerationMs([{ operator: 'Exists' }]), -1);
  assert.equal(minTolerationMs([]), 0);
  assert.equal(matchingTolerations([unreachable, { key: 'x', effect: 'NoExecute' }], [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists' }]).all, false);
});
