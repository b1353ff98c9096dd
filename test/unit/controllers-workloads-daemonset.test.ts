// The DaemonSet controller against the in-process API, with Node objects and a stand-in
// kubelet (pods made Running and Ready; nothing binds them — the controller only pins
// each pod to its node through node affinity, as upstream leaves binding to the scheduler).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControllerRevision, DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { newDaemonSetsController } from '../../controllers/daemonset/index.js';
import { getTargetNodeName, nodeShouldRunDaemonPod, planRollingUpdate, createPodTemplate } from '../../controllers/daemonset/index.js';
import type { WorkloadCluster } from './controllers-workloads-fixture.js';
import { CONTROLLERREVISIONS, DAEMONSETS, NODES, PODS, eventsFor, fakeKubelet, listPods, node, podTemplate, setPodPhase, startWorkloads, until } from './controllers-workloads-fixture.js';
import { sleep } from './client-fixture.js';

function daemonSet(name: string, extra: Partial<NonNullable<DaemonSet['spec']>> = {}, image = 'nginx:1.25'): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: 'default' },
    spec: { selector: { matchLabels: { app: name } }, template: podTemplate({ app: name }, image), ...extra },
  };
}

const getDS = (c: WorkloadCluster, name: string) => c.transport.get<DaemonSet>(DAEMONSETS, 'default', name);
const image = (p: Pod) => p.spec!.containers[0].image;
const byNode = (pods: Pod[]) => pods.map((p) => getTargetNodeName(p)).sort();
const active = (pods: Pod[]) => pods.filter((p) => !p.metadata!.deletionTimestamp);
const revisions = async (c: WorkloadCluster, app: string) =>
  (await c.transport.list<ControllerRevision>(CONTROLLERREVISIONS, 'default', { labelSelector: `app=${app}` })).items.sort((a, b) => a.revision - b.revision);

async function updateDS(c: WorkloadCluster, name: string, change: (ds: DaemonSet) => void): Promise<DaemonSet> {
  for (;;) {
    const ds = await getDS(c, name);
    change(ds);
    try {
      return await c.transport.update<DaemonSet>(DAEMONSETS, 'default', ds);
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
}

async function updateNode(c: WorkloadCluster, name: string, change: (n: Node) => void): Promise<void> {
  for (;;) {
    const n = await c.transport.get<Node>(NODES, undefined, name);
    change(n);
    try {
      await c.transport.update<Node>(NODES, undefined, n);
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
}

test('one pod per eligible node: pinned by node affinity, daemon tolerations, labels; nodes joining and leaving; status', async () => {
  const c = await startWorkloads([newDaemonSetsController]);
  try {
    await c.transport.create(NODES, undefined, node('n1', { labels: { disk: 'ssd' } }));
    await c.transport.create(NODES, undefined, node('n2', { labels: { disk: 'ssd' }, unschedulable: true }));
    await c.transport.create(NODES, undefined, node('n3', { labels: { disk: 'hdd' } }));
    await c.transport.create(NODES, undefined, node('n4', { labels: { disk: 'ssd' }, taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }));
    const ds = await c.transport.create<DaemonSet>(DAEMONSETS, 'default', daemonSet('agent', { template: { ...podTemplate({ app: 'agent' }), spec: { ...podTemplate({ app: 'agent' }).spec, nodeSelector: { disk: 'ssd' } } } }));
    // n1 and n2 (cordoned nodes are tolerated); not n3 (selector) nor n4 (taint).
    const pods = await until('2 pods', async () => {
      const p = await listPods(c, 'default', 'app=agent');
      return p.length === 2 && p;
    });
    assert.deepEqual(byNode(pods), ['n1', 'n2']);
    const [rev] = await revisions(c, 'agent');
    const hash = rev.metadata!.labels!['controller-revision-hash'];
    assert.equal(rev.metadata!.name, `agent-${hash}`);
    assert.equal(rev.revision, 1);
    for (const p of pods) {
      assert.match(p.metadata!.name!, /^agent-[a-z0-9]{5}$/);
      assert.equal(p.spec!.nodeName, undefined, 'not bound by the controller');
      assert.deepEqual(p.metadata!.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: ds.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
      assert.equal(p.metadata!.labels!['controller-revision-hash'], hash);
      assert.equal(p.metadata!.labels!['pod-template-generation'], '1');
      const terms = p.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms;
      assert.deepEqual(terms, [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [getTargetNodeName(p)] }] }]);
      const tol = (p.spec!.tolerations ?? []).map((t) => `${t.key}:${t.operator}:${t.effect}`).sort();
      assert.deepEqual(tol, [
        'node.kubernetes.io/disk-pressure:Exists:NoSchedule',
        'node.kubernetes.io/memory-pressure:Exists:NoSchedule',
        'node.kubernetes.io/not-ready:Exists:NoExecute',
        'node.kubernetes.io/pid-pressure:Exists:NoSchedule',
        'node.kubernetes.io/unreachable:Exists:NoExecute',
        'node.kubernetes.io/unschedulable:Exists:NoSchedule',
      ]);
    }
    const st = await until('status', async () => {
      const d = await getDS(c, 'agent');
      return d.status?.currentNumberScheduled === 2 && d.status.observedGeneration === 1 && d.status;
    });
    assert.equal(st.desiredNumberScheduled, 2);
    assert.equal(st.numberMisscheduled, 0);
    assert.equal(st.numberReady, 0);
    assert.equal(st.updatedNumberScheduled, 2);
    assert.equal(st.numberAvailable ?? 0, 0);
    assert.equal(st.numberUnavailable, 2);
    const evs = await eventsFor(c, ds);
    assert.ok(evs.some((e) => e.reason === 'SuccessfulCreate' && /^Created pod: agent-/.test(e.message!)), JSON.stringify(evs));

    // A node joining later gets its pod; relabelling n3 makes it eligible too.
    await c.transport.create(NODES, undefined, node('n5', { labels: { disk: 'ssd' } }));
    await updateNode(c, 'n3', (n) => void (n.metadata!.labels = { ...n.metadata!.labels, disk: 'ssd' }));
    await until('pods on n1,n2,n3,n5', async () => byNode(active(await listPods(c, 'default', 'app=agent'))).join() === 'n1,n2,n3,n5');

    // A NoSchedule taint: the pod may stay (misscheduled); a NoExecute taint: it goes.
    await updateNode(c, 'n5', (n) => void (n.spec = { ...n.spec, taints: [{ key: 'maintenance', effect: 'NoSchedule' }] }));
    await until('misscheduled 1', async () => {
      const d = await getDS(c, 'agent');
      return d.status?.numberMisscheduled === 1 && d.status.desiredNumberScheduled === 3;
    });
    assert.equal(active(await listPods(c, 'default', 'app=agent')).length, 4);
    await updateNode(c, 'n5', (n) => void (n.spec = { ...n.spec, taints: [{ key: 'maintenance', effect: 'NoExecute' }] }));
    await until('pod on n5 gone', async () => byNode(active(await listPods(c, 'default', 'app=agent'))).join() === 'n1,n2,n3');

    // A node that loses its label loses its pod; a deleted node's unscheduled pod goes too.
    await updateNode(c, 'n1', (n) => void (n.metadata!.labels = { ...n.metadata!.labels, disk: 'hdd' }));
    await c.transport.delete(NODES, undefined, 'n3');
    await until('only n2', async () => byNode(active(await listPods(c, 'default', 'app=agent'))).join() === 'n2');
    await until('status follows', async () => {
      const d = await getDS(c, 'agent');
      return d.status?.desiredNumberScheduled === 1 && d.status.currentNumberScheduled === 1 && d.status.numberMisscheduled === 0;
    });
  } finally {
    await c.stop();
  }
});

test('a failed daemon pod is deleted (FailedDaemonPod) and replaced; a pod deleted by hand is replaced', async () => {
  const c = await startWorkloads([newDaemonSetsController]);
  try {
    await c.transport.create(NODES, undefined, node('n1'));
    const ds = await c.transport.create<DaemonSet>(DAEMONSETS, 'default', daemonSet('fail'));
    const [p] = await until('pod', async () => {
      const x = await listPods(c, 'default', 'app=fail');
      return x.length === 1 && x;
    });
    await setPodPhase(c, p, 'Failed');
    const q = await until('replacement', async () => {
      const x = active(await listPods(c, 'default', 'app=fail'));
      return x.length === 1 && x[0].metadata!.uid !== p.metadata!.uid && x[0];
    });
    const evs = await eventsFor(c, ds);
    assert.ok(evs.some((e) => e.reason === 'FailedDaemonPod' && e.message === `Found failed daemon pod default/${p.metadata!.name} on node n1, will try to kill it`), JSON.stringify(evs));
    await c.transport.delete(PODS, 'default', q.metadata!.name!);
    await until('replaced again', async () => {
      const x = active(await listPods(c, 'default', 'app=fail'));
      return x.length === 1 && x[0].metadata!.uid !== q.metadata!.uid;
    });
  } finally {
    await c.stop();
  }
});

test('RollingUpdate with maxUnavailable: replaced one node at a time; revisions; rollback re-numbers the old revision', async () => {
  const c = await startWorkloads([newDaemonSetsController]);
  const kubelet = fakeKubelet(c, { delayMs: 30 });
  try {
    for (const n of ['n1', 'n2', 'n3']) await c.transport.create(NODES, undefined, node(n));
    await c.transport.create<DaemonSet>(DAEMONSETS, 'default', daemonSet('roll', { minReadySeconds: 0 }));
    await until('3 available', async () => (await getDS(c, 'roll')).status?.numberAvailable === 3);
    const [rev1] = await revisions(c, 'roll');

    // Watch: never more than one node without an available pod.
    let worst = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const pods = active(await listPods(c, 'default', 'app=roll'));
        const ready = new Set(pods.filter((p) => p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).map(getTargetNodeName));
        worst = Math.max(worst, 3 - ready.size);
        await sleep(5);
      }
    })();
    await updateDS(c, 'roll', (ds) => void (ds.spec!.template.spec!.containers[0].image = 'nginx:1.26'));
    const done = await until(
      'rolled',
      async () => {
        const d = await getDS(c, 'roll');
        return d.status?.updatedNumberScheduled === 3 && d.status.numberAvailable === 3 && d.status.observedGeneration === 2 && d;
      },
      15000,
    );
    watching = false;
    await watcher;
    assert.ok(worst <= 1, `at most one node unavailable at a time (saw ${worst})`);
    const pods = active(await listPods(c, 'default', 'app=roll'));
    assert.equal(pods.length, 3);
    assert.ok(pods.every((p) => image(p) === 'nginx:1.26' && p.metadata!.labels!['pod-template-generation'] === '2'));
    const revs = await revisions(c, 'roll');
    assert.deepEqual(revs.map((r) => r.revision), [1, 2]);
    assert.equal(done.metadata!.annotations!['deprecated.daemonset.template.generation'], '2');

    // Back to the first template: revision 1 becomes 3, no new revision.
    await updateDS(c, 'roll', (ds) => void (ds.spec!.template.spec!.containers[0].image = 'nginx:1.25'));
    await until('rolled back', async () => {
      const d = await getDS(c, 'roll');
      return d.status?.updatedNumberScheduled === 3 && d.status.numberAvailable === 3 && d.status.observedGeneration === 3;
    }, 15000);
    const after = await revisions(c, 'roll');
    assert.deepEqual(after.map((r) => [r.metadata!.name, r.revision]), [
      [revs[1].metadata!.name, 2],
      [rev1.metadata!.name, 3],
    ]);
    assert.ok(active(await listPods(c, 'default', 'app=roll')).every((p) => p.metadata!.labels!['controller-revision-hash'] === rev1.metadata!.labels!['controller-revision-hash']));
  } finally {
    kubelet.stop();
    await c.stop();
  }
});

test('RollingUpdate with maxSurge: the new pod starts beside the old one, which goes once the new one is available', async () => {
  const c = await startWorkloads([newDaemonSetsController]);
  // The new pod takes a second to become ready, so the surge (two pods) is observable
  // even on a loaded machine.
  const kubelet = fakeKubelet(c, { delayMs: 1000 });
  try {
    await c.transport.create(NODES, undefined, node('n1'));
    await c.transport.create<DaemonSet>(
      DAEMONSETS,
      'default',
      daemonSet('surge', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }),
    );
    await until('available', async () => (await getDS(c, 'surge')).status?.numberAvailable === 1, 30_000);
    const [old] = await listPods(c, 'default', 'app=surge');
    await updateDS(c, 'surge', (ds) => void (ds.spec!.template.spec!.containers[0].image = 'nginx:1.26'));
    const both = await until(
      'two pods on n1',
      async () => {
        const p = active(await listPods(c, 'default', 'app=surge'));
        return p.length === 2 && p;
      },
      30_000,
    );
    assert.ok(both.some((p) => p.metadata!.uid === old.metadata!.uid), 'the old pod is still there');
    await until(
      'old one gone',
      async () => {
        const p = active(await listPods(c, 'default', 'app=surge'));
        return p.length === 1 && image(p[0]) === 'nginx:1.26';
      },
      30_000,
    );
  } finally {
    kubelet.stop();
    await c.stop();
  }
});

test('OnDelete: a template change replaces nothing until a pod is deleted', async () => {
  const c = await startWorkloads([newDaemonSetsController]);
  const kubelet = fakeKubelet(c);
  try {
    for (const n of ['n1', 'n2']) await c.transport.create(NODES, undefined, node(n));
    await c.transport.create<DaemonSet>(DAEMONSETS, 'default', daemonSet('od', { updateStrategy: { type: 'OnDelete' } }));
    await until('2 ready', async () => (await getDS(c, 'od')).status?.numberReady === 2);
    await updateDS(c, 'od', (ds) => void (ds.spec!.template.spec!.containers[0].image = 'nginx:1.26'));
    await until('observed', async () => (await getDS(c, 'od')).status?.observedGeneration === 2);
    await sleep(200);
    let pods = active(await listPods(c, 'default', 'app=od'));
    assert.ok(pods.every((p) => image(p) === 'nginx:1.25'));
    assert.equal((await getDS(c, 'od')).status!.updatedNumberScheduled ?? 0, 0);
    const onN1 = pods.find((p) => getTargetNodeName(p) === 'n1')!;
    await c.transport.delete(PODS, 'default', onN1.metadata!.name!);
    await until('n1 updated', async () => {
      pods = active(await listPods(c, 'default', 'app=od'));
      const p = pods.find((x) => getTargetNodeName(x) === 'n1');
      return p && image(p) === 'nginx:1.26';
    });
    await until('updated 1', async () => (await getDS(c, 'od')).status?.updatedNumberScheduled === 1);
  } finally {
    kubelet.stop();
    await c.stop();
  }
});

test('nodeShouldRunDaemonPod: selector, affinity, taints, tolerations', () => {
  const ds = (spec: Record<string, unknown> = {}): DaemonSet => ({ metadata: { name: 'd', namespace: 'default' }, spec: { selector: {}, template: { spec: { containers: [], ...spec } } } });
  const n = (extra: Parameters<typeof node>[1] = {}) => node('a', extra);
  const r = (d: DaemonSet, x: Node) => {
    const v = nodeShouldRunDaemonPod(x, d);
    return `${v.shouldRun}/${v.shouldContinueRunning}`;
  };
  assert.equal(r(ds(), n()), 'true/true');
  assert.equal(r(ds({ nodeSelector: { zone: 'x' } }), n()), 'false/false');
  assert.equal(r(ds({ nodeSelector: { zone: 'x' } }), n({ labels: { zone: 'x' } })), 'true/true');
  assert.equal(r(ds({ nodeName: 'other' }), n()), 'false/false');
  const aff = (op: string, values?: string[]) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu', operator: op, values }] }] } } } });
  assert.equal(r(ds(aff('Exists')), n()), 'false/false');
  assert.equal(r(ds(aff('DoesNotExist')), n()), 'true/true');
  assert.equal(r(ds(aff('Gt', ['2'])), n({ labels: { gpu: '4' } })), 'true/true');
  assert.equal(r(ds(aff('Lt', ['2'])), n({ labels: { gpu: '4' } })), 'false/false');
  // Taints: untolerated NoSchedule keeps existing pods, NoExecute evicts; tolerated ones don't matter.
  assert.equal(r(ds(), n({ taints: [{ key: 'k', effect: 'NoSchedule' }] })), 'false/true');
  assert.equal(r(ds(), n({ taints: [{ key: 'k', effect: 'NoExecute' }] })), 'false/false');
  assert.equal(r(ds(), n({ taints: [{ key: 'k', effect: 'PreferNoSchedule' }] })), 'true/true');
  assert.equal(r(ds({ tolerations: [{ key: 'k', operator: 'Exists' }] }), n({ taints: [{ key: 'k', effect: 'NoExecute' }] })), 'true/true');
  assert.equal(r(ds({ tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }] }), n({ taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] })), 'true/true');
  assert.equal(r(ds({ tolerations: [{ operator: 'Exists' }] }), n({ taints: [{ key: 'any', effect: 'NoExecute' }] })), 'true/true');
  // The automatic tolerations.
  assert.equal(r(ds(), n({ taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] })), 'true/true');
  assert.equal(r(ds(), n({ taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] })), 'true/true');
  assert.equal(r(ds(), n({ taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] })), 'false/true');
  assert.equal(r(ds(), n({ taints: [{ key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule' }] })), 'true/true');
  assert.equal(r(ds(), n({ taints: [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }] })), 'false/true');
  assert.equal(r(ds({ hostNetwork: true }), n({ taints: [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }] })), 'true/true');
  // Template labels get the generation and hash; host networking adds its toleration.
  const t = createPodTemplate({ metadata: { labels: { app: 'x' } }, spec: { containers: [], hostNetwork: true, tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }] } }, 4, 'abc');
  assert.deepEqual(t.metadata!.labels, { app: 'x', 'pod-template-generation': '4', 'controller-revision-hash': 'abc' });
  assert.equal(t.spec!.tolerations!.length, 7);
  assert.equal(t.spec!.tolerations!.find((x) => x.key === 'node.kubernetes.io/not-ready')!.tolerationSeconds, undefined, 'the daemon toleration replaces a time-limited one');
});

test('planRollingUpdate: maxUnavailable budget, unavailable old pods always replaced, surge budget', () => {
  const ready = (name: string, nodeName: string, hash: string, isReady = true): Pod => ({
    metadata: { name, labels: { 'controller-revision-hash': hash } },
    spec: { containers: [], nodeName },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: isReady ? 'True' : 'False' }] },
  });
  const nodes = ['a', 'b', 'c', 'd'].map((n) => node(n));
  const ds = (ru: Record<string, unknown>): DaemonSet => ({ metadata: { name: 'd' }, spec: { selector: {}, template: { spec: { containers: [] } }, updateStrategy: { type: 'RollingUpdate', rollingUpdate: ru } } });
  const pods = () =>
    new Map<string, Pod[]>([
      ['a', [ready('pa', 'a', 'old')]],
      ['b', [ready('pb', 'b', 'old', false)]],
      ['c', [ready('pc', 'c', 'old')]],
      ['d', [ready('pd', 'd', 'new')]],
    ]);
  // maxUnavailable 1: pb is unavailable anyway (always replaced); one more old pod may go.
  assert.deepEqual(planRollingUpdate(ds({ maxUnavailable: 1 }), nodes, pods(), 'new', Date.now()), { podsToDelete: ['pb', 'pa'], nodesToCreate: [] });
  assert.deepEqual(planRollingUpdate(ds({ maxUnavailable: '50%' }), nodes, pods(), 'new', Date.now()), { podsToDelete: ['pb', 'pa', 'pc'], nodesToCreate: [] });
  // A new pod not yet available counts against the budget.
  const p = pods();
  p.set('d', [ready('pd', 'd', 'new', false)]);
  assert.deepEqual(planRollingUpdate(ds({ maxUnavailable: 1 }), nodes, p, 'new', Date.now()), { podsToDelete: ['pb'], nodesToCreate: [] });
  // Surge 1: b (old unavailable) gets a new pod regardless; one more node may surge.
  assert.deepEqual(planRollingUpdate(ds({ maxSurge: 1, maxUnavailable: 0 }), nodes, pods(), 'new', Date.now()), { podsToDelete: [], nodesToCreate: ['b', 'a'] });
  // Surged and available: the old pod goes.
  const s = pods();
  s.set('a', [ready('pa', 'a', 'old'), ready('pa2', 'a', 'new')]);
  assert.deepEqual(planRollingUpdate(ds({ maxSurge: 1, maxUnavailable: 0 }), nodes, s, 'new', Date.now()), { podsToDelete: ['pa'], nodesToCreate: ['b', 'c'] });
});
