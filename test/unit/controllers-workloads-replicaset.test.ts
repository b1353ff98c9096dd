// The ReplicaSet and ReplicationController controller against the in-process API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod, ReplicationController } from 'kubernetes-types/core/v1.js';
import { newReplicaSetController, newReplicationManager } from '../../controllers/replicaset/index.js';
import { podsToDelete } from '../../controllers/replicaset/replicaset.js';
import { compareActivePodsWithRanks } from '../../controllers/replicaset/controller-utils.js';
import { StatusError } from '../../machinery/status.js';
import type { WorkloadCluster } from './controllers-workloads-fixture.js';
import { PODS, RCS, REPLICASETS, eventsFor, listPods, podTemplate, setPodReady, startWorkloads, until } from './controllers-workloads-fixture.js';
import { sleep } from './client-fixture.js';

function replicaSet(name: string, replicas: number, labels: Record<string, string> = { app: name }, minReadySeconds = 0): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default' },
    spec: { replicas, minReadySeconds, selector: { matchLabels: labels }, template: podTemplate(labels) },
  };
}

const getRS = (c: WorkloadCluster, name: string) => c.transport.get<ReplicaSet>(REPLICASETS, 'default', name);

test('a ReplicaSet gets its pods: generateName, owner reference, labels, status, events; no double creates', async () => {
  const c = await startWorkloads([newReplicaSetController]);
  try {
    const rs = await c.transport.create<ReplicaSet>(REPLICASETS, 'default', replicaSet('web', 12));
    const pods = await until('12 pods', async () => {
      const p = await listPods(c, 'default', 'app=web');
      return p.length === 12 && p;
    });
    for (const p of pods) {
      assert.match(p.metadata!.name!, /^web-[a-z0-9]{5}$/);
      assert.deepEqual(p.metadata!.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
      assert.equal(p.spec!.containers[0].image, 'nginx:1.25');
    }
    const st = await until('status', async () => {
      const cur = await getRS(c, 'web');
      return cur.status?.replicas === 12 && cur.status.observedGeneration === 1 && cur.status;
    });
    assert.equal(st.fullyLabeledReplicas, 12);
    assert.equal(st.readyReplicas ?? 0, 0);
    assert.equal(st.availableReplicas ?? 0, 0);
    await sleep(100);
    assert.equal((await listPods(c)).length, 12, 'expectations: nothing created twice');
    const evs = await until('events', async () => {
      const e = await eventsFor(c, rs);
      return e.length >= 1 && e;
    });
    assert.ok(evs.every((e) => e.reason === 'SuccessfulCreate' && /^Created pod: web-/.test(e.message!)));

    // Ready pods count as ready and (without minReadySeconds) available.
    for (const p of pods.slice(0, 5)) await setPodReady(c, p);
    await until('ready/available', async () => {
      const cur = await getRS(c, 'web');
      return cur.status?.readyReplicas === 5 && cur.status.availableReplicas === 5;
    });

    // A deleted pod is replaced.
    await c.transport.delete(PODS, 'default', pods[11].metadata!.name!);
    await until('replacement', async () => {
      const p = await listPods(c, 'default', 'app=web');
      return p.length === 12 && !p.some((x) => x.metadata!.name === pods[11].metadata!.name);
    });

    // Scale down: the not-ready pods go first.
    await c.transport.patch(REPLICASETS, 'default', 'web', 'merge', { spec: { replicas: 5 } });
    const left = await until('scale down to 5', async () => {
      const p = await listPods(c, 'default', 'app=web');
      return p.length === 5 && p;
    });
    assert.deepEqual(left.map((p) => p.metadata!.name).sort(), pods.slice(0, 5).map((p) => p.metadata!.name).sort());
    await until('SuccessfulDelete events', async () => (await eventsFor(c, rs)).some((e) => e.reason === 'SuccessfulDelete' && /^Deleted pod: web-/.test(e.message!)));
    await until('status replicas 5', async () => (await getRS(c, 'web')).status?.replicas === 5);
  } finally {
    await c.stop();
  }
});

test('orphans matching the selector are adopted; pods that stop matching are released', async () => {
  const c = await startWorkloads([newReplicaSetController]);
  try {
    const orphan: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stray', namespace: 'default', labels: { app: 'adopt' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    await c.transport.create(PODS, 'default', orphan);
    const rs = await c.transport.create<ReplicaSet>(REPLICASETS, 'default', replicaSet('adopt', 2));
    const pods = await until('2 pods, one adopted', async () => {
      const p = await listPods(c, 'default', 'app=adopt');
      return p.length === 2 && p.every((x) => x.metadata?.ownerReferences?.[0]?.uid === rs.metadata!.uid) && p;
    });
    assert.ok(pods.some((p) => p.metadata!.name === 'stray'));
    await sleep(50);
    assert.equal((await listPods(c, 'default', 'app=adopt')).length, 2, 'the adopted pod counts: only one created');

    // Relabel the stray: it is released and replaced.
    await c.transport.patch(PODS, 'default', 'stray', 'merge', { metadata: { labels: { app: 'gone' } } });
    await until('released', async () => {
      const p = await c.transport.get<Pod>(PODS, 'default', 'stray');
      return (p.metadata?.ownerReferences ?? []).length === 0;
    });
    await until('replaced', async () => (await listPods(c, 'default', 'app=adopt')).length === 2);
  } finally {
    await c.stop();
  }
});

test('availableReplicas waits for minReadySeconds', async () => {
  const c = await startWorkloads([newReplicaSetController]);
  try {
    await c.transport.create<ReplicaSet>(REPLICASETS, 'default', replicaSet('slow', 2, { app: 'slow' }, 3));
    const pods = await until('2 pods', async () => {
      const p = await listPods(c, 'default', 'app=slow');
      return p.length === 2 && p;
    });
    for (const p of pods) await setPodReady(c, p);
    await until('ready, not yet available', async () => {
      const st = (await getRS(c, 'slow')).status;
      return st?.readyReplicas === 2 && (st.availableReplicas ?? 0) === 0;
    });
    await until('available after minReadySeconds', async () => (await getRS(c, 'slow')).status?.availableReplicas === 2, 5000);
  } finally {
    await c.stop();
  }
});

test('create failures set ReplicaFailure (FailedCreate) and a FailedCreate event; success clears it', async () => {
  const c = await startWorkloads([newReplicaSetController]);
  try {
    c.faults.create = (r) => (r === 'pods' ? new StatusError(403, 'Forbidden', 'pods "x" is forbidden: exceeded quota: q') : undefined);
    const rs = await c.transport.create<ReplicaSet>(REPLICASETS, 'default', replicaSet('quota', 2));
    const cond = await until('ReplicaFailure', async () => (await getRS(c, 'quota')).status?.conditions?.find((x) => x.type === 'ReplicaFailure'));
    assert.equal(cond.status, 'True');
    assert.equal(cond.reason, 'FailedCreate');
    assert.match(cond.message!, /exceeded quota/);
    await until('FailedCreate event', async () => (await eventsFor(c, rs)).some((e) => e.reason === 'FailedCreate' && e.type === 'Warning' && /^Error creating: /.test(e.message!)));
    c.faults.create = undefined;
    await until('recovered', async () => {
      const cur = await getRS(c, 'quota');
      return cur.status?.replicas === 2 && !cur.status.conditions?.some((x) => x.type === 'ReplicaFailure');
    }, 15000);
  } finally {
    await c.stop();
  }
});

test('a ReplicationController keeps its count with a map selector', async () => {
  const c = await startWorkloads([newReplicationManager]);
  try {
    const rc: ReplicationController = {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'legacy', namespace: 'default' },
      spec: { replicas: 3, template: podTemplate({ app: 'legacy' }) },
    };
    const created = await c.transport.create<ReplicationController>(RCS, 'default', rc);
    assert.deepEqual(created.spec!.selector, { app: 'legacy' }, 'defaulted from the template');
    const pods = await until('3 pods', async () => {
      const p = await listPods(c, 'default', 'app=legacy');
      return p.length === 3 && p;
    });
    assert.equal(pods[0].metadata!.ownerReferences![0].kind, 'ReplicationController');
    assert.equal(pods[0].metadata!.ownerReferences![0].apiVersion, 'v1');
    await until('status', async () => (await c.transport.get<ReplicationController>(RCS, 'default', 'legacy')).status?.replicas === 3);
    await c.transport.patch(RCS, 'default', 'legacy', 'merge', { spec: { replicas: 1 } });
    await until('1 pod', async () => (await listPods(c, 'default', 'app=legacy')).length === 1);
  } finally {
    await c.stop();
  }
});

// ---- the scale-down ranking ---------------------------------------------------------

function rankPod(name: string, o: { node?: string; phase?: string; ready?: boolean; readySince?: number; created?: number; restarts?: number; cost?: number }): Pod {
  const t = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    metadata: {
      name,
      uid: name,
      creationTimestamp: o.created !== undefined ? t(o.created) : undefined,
      annotations: o.cost !== undefined ? { 'controller.kubernetes.io/pod-deletion-cost': String(o.cost) } : undefined,
    },
    spec: { nodeName: o.node, containers: [{ name: 'c' }] },
    status: {
      phase: o.phase ?? 'Running',
      conditions: o.ready ? [{ type: 'Ready', status: 'True', lastTransitionTime: t(o.readySince ?? 0) }] : [],
      containerStatuses: [{ name: 'c', restartCount: o.restarts ?? 0, ready: !!o.ready, image: '', imageID: '' }],
    },
  };
}

test('scale-down ranking: unassigned < assigned, pending < running, not ready < ready, cost, doubled up, newer first', () => {
  const now = Date.parse('2024-01-01T00:00:00Z');
  const cmp = (a: Pod, b: Pod, ra = 0, rb = 0) => compareActivePodsWithRanks(a, b, ra, rb, now);
  assert.ok(cmp(rankPod('a', { phase: 'Pending' }), rankPod('b', { node: 'n1' })) < 0, 'unassigned first');
  assert.ok(cmp(rankPod('a', { node: 'n', phase: 'Pending' }), rankPod('b', { node: 'n', phase: 'Running' })) < 0, 'pending first');
  assert.ok(cmp(rankPod('a', { node: 'n', phase: 'Unknown' }), rankPod('b', { node: 'n', phase: 'Running' })) < 0, 'unknown before running');
  assert.ok(cmp(rankPod('a', { node: 'n' }), rankPod('b', { node: 'n', ready: true })) < 0, 'not ready first');
  assert.ok(cmp(rankPod('a', { node: 'n', ready: true, cost: -5 }), rankPod('b', { node: 'n', ready: true })) < 0, 'lower deletion cost first');
  assert.ok(cmp(rankPod('a', { node: 'n', ready: true }), rankPod('b', { node: 'm', ready: true }), 3, 1) < 0, 'doubled up first');
  assert.ok(cmp(rankPod('a', { node: 'n', ready: true, readySince: now - 10_000 }), rankPod('b', { node: 'n', ready: true, readySince: now - 10_000_000 })) < 0, 'ready for less time first');
  assert.ok(cmp(rankPod('a', { node: 'n', restarts: 5 }), rankPod('b', { node: 'n', restarts: 0 })) < 0, 'more restarts first');
  assert.ok(cmp(rankPod('a', { node: 'n', created: now - 1000 }), rankPod('b', { node: 'n', created: now - 1_000_000 })) < 0, 'newer first');
  const pods = [rankPod('old-ready', { node: 'n', ready: true, created: now - 9e6 }), rankPod('pending', { phase: 'Pending' }), rankPod('running', { node: 'n', created: now - 5e6 })];
  assert.deepEqual(
    podsToDelete(pods, [], 2, now).map((p) => p.metadata!.name),
    ['pending', 'running'],
  );
});
