// The StatefulSet controller against the in-process API, with a stand-in kubelet
// (pods made Running and Ready on demand).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControllerRevision, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { newStatefulSetController } from '../../controllers/statefulset/index.js';
import { claimOwnerMatchesSetAndPod, updateClaimOwnerRefs } from '../../controllers/statefulset/utils.js';
import { encodedTemplate, templatePatch } from '../../controllers/history/history.js';
import type { WorkloadCluster } from './controllers-workloads-fixture.js';
import { CONTROLLERREVISIONS, PODS, PVCS, STATEFULSETS, eventsFor, fakeKubelet, listPods, podTemplate, setPodPhase, setPodReady, startWorkloads, until } from './controllers-workloads-fixture.js';
import { waitForQuietInProcess } from '../wait.js';

function statefulSet(name: string, replicas: number, extra: Partial<NonNullable<StatefulSet['spec']>> = {}, image = 'nginx:1.25'): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: { replicas, serviceName: name, selector: { matchLabels: { app: name } }, template: podTemplate({ app: name }, image), ...extra },
  };
}

const getSet = (c: WorkloadCluster, name: string) => c.transport.get<StatefulSet>(STATEFULSETS, 'default', name);
const names = (pods: Pod[]) => pods.map((p) => p.metadata!.name!).sort();
const image = (p: Pod) => p.spec!.containers[0].image;
const revisions = async (c: WorkloadCluster, app: string) =>
  (await c.transport.list<ControllerRevision>(CONTROLLERREVISIONS, 'default', { labelSelector: `app=${app}` })).items.sort((a, b) => a.revision - b.revision);

/** Change the set (read-modify-write, retried on conflicts). */
async function updateSet(c: WorkloadCluster, name: string, change: (s: StatefulSet) => void): Promise<StatefulSet> {
  for (;;) {
    const s = await getSet(c, name);
    change(s);
    try {
      return await c.transport.update<StatefulSet>(STATEFULSETS, 'default', s);
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
}

const setImage = (c: WorkloadCluster, name: string, img: string) =>
  updateSet(c, name, (s) => {
    s.spec!.template.spec!.containers[0].image = img;
  });

/** Record the order pods are deleted in. */
function deletionOrder(c: WorkloadCluster): { order: string[]; stop(): void } {
  const order: string[] = [];
  const w = c.transport.watch<Pod>(PODS, 'default', { resourceVersion: '' }, (ev) => {
    if (ev.type === 'DELETED') order.push(ev.object.metadata!.name!);
  });
  return { order, stop: () => w.stop() };
}

test('OrderedReady: web-0, web-1, web-2 one at a time, each after its predecessor is Running and Ready; identity, labels, revision, status', async () => {
  const c = await startWorkloads([newStatefulSetController]);
  try {
    const set = await c.transport.create<StatefulSet>(STATEFULSETS, 'default', statefulSet('web', 3));
    const [p0] = await until('web-0', async () => {
      const p = await listPods(c, 'default', 'app=web');
      return p.length === 1 && p;
    });
    await waitForQuietInProcess();
    assert.deepEqual(names(await listPods(c, 'default', 'app=web')), ['web-0'], 'web-1 waits for web-0');
    assert.equal(p0.metadata!.name, 'web-0');
    assert.equal(p0.spec!.hostname, 'web-0');
    assert.equal(p0.spec!.subdomain, 'web');
    assert.equal(p0.metadata!.labels!['statefulset.kubernetes.io/pod-name'], 'web-0');
    assert.equal(p0.metadata!.labels!['apps.kubernetes.io/pod-index'], '0');
    assert.deepEqual(p0.metadata!.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: set.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
    const [rev] = await revisions(c, 'web');
    assert.match(rev.metadata!.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.equal(rev.revision, 1);
    assert.equal(p0.metadata!.labels!['controller-revision-hash'], rev.metadata!.name);
    assert.equal(rev.metadata!.labels!.app, 'web');
    assert.deepEqual(rev.data, templatePatch((await getSet(c, 'web')).spec!.template));
    assert.equal(rev.metadata!.ownerReferences![0].uid, set.metadata!.uid);

    // Running but not Ready is not enough.
    await setPodPhase(c, p0, 'Running');
    await waitForQuietInProcess();
    assert.equal((await listPods(c, 'default', 'app=web')).length, 1);
    await setPodReady(c, p0);
    const p1 = await until('web-1', async () => (await listPods(c, 'default', 'app=web')).find((p) => p.metadata!.name === 'web-1'));
    await waitForQuietInProcess();
    assert.equal((await listPods(c, 'default', 'app=web')).length, 2, 'web-2 waits for web-1');
    await setPodReady(c, p1);
    const p2 = await until('web-2', async () => (await listPods(c, 'default', 'app=web')).find((p) => p.metadata!.name === 'web-2'));
    await setPodReady(c, p2);
    const st = await until('status', async () => {
      const s = await getSet(c, 'web');
      return s.status?.readyReplicas === 3 && s.status.availableReplicas === 3 && s.status;
    });
    assert.equal(st.replicas, 3);
    assert.equal(st.currentReplicas, 3);
    assert.equal(st.updatedReplicas, 3);
    assert.equal(st.currentRevision, rev.metadata!.name);
    assert.equal(st.updateRevision, rev.metadata!.name);
    assert.equal(st.observedGeneration, 1);
    assert.equal(st.collisionCount, 0);
    const evs = await eventsFor(c, set);
    assert.ok(evs.some((e) => e.reason === 'SuccessfulCreate' && e.message === 'create Pod web-0 in StatefulSet web successful'), JSON.stringify(evs));

    // Scale down: highest ordinal first, one at a time.
    const del = deletionOrder(c);
    await updateSet(c, 'web', (s) => void (s.spec!.replicas = 1));
    await until('one left', async () => (await listPods(c, 'default', 'app=web')).length === 1);
    del.stop();
    assert.deepEqual(del.order, ['web-2', 'web-1']);
    assert.deepEqual(names(await listPods(c, 'default', 'app=web')), ['web-0']);
    await until('status replicas 1', async () => (await getSet(c, 'web')).status?.replicas === 1);
  } finally {
    await c.stop();
  }
});

test('OrderedReady scale-down waits for an unhealthy pod: only the first unhealthy pod may go', async () => {
  const c = await startWorkloads([newStatefulSetController]);
  const kubelet = fakeKubelet(c);
  try {
    await c.transport.create<StatefulSet>(STATEFULSETS, 'default', statefulSet('db', 3));
    await until('3 ready', async () => (await getSet(c, 'db')).status?.readyReplicas === 3);
    kubelet.stop();
    // web-0 becomes unready: a scale-down to 1 must not delete db-2 (db-0 is the first unhealthy pod).
    const p0 = (await listPods(c, 'default', 'app=db')).find((p) => p.metadata!.name === 'db-0')!;
    await setPodReady(c, p0, false);
    await until('status sees it', async () => (await getSet(c, 'db')).status?.readyReplicas === 2);
    await updateSet(c, 'db', (s) => void (s.spec!.replicas = 1));
    await waitForQuietInProcess();
    assert.equal((await listPods(c, 'default', 'app=db')).length, 3, 'blocked while db-0 is unready');
    await setPodReady(c, p0, true);
    await until('scaled down', async () => names(await listPods(c, 'default', 'app=db')).join() === 'db-0');
  } finally {
    kubelet.stop();
    await c.stop();
  }
});

test('Parallel: every pod at once, without waiting; a failed pod is replaced', async () => {
  const c = await startWorkloads([newStatefulSetController]);
  try {
    await c.transport.create<StatefulSet>(STATEFULSETS, 'default', statefulSet('par', 4, { podManagementPolicy: 'Parallel' }));
    const pods = await until('4 pods', async () => {
      const p = await listPods(c, 'default', 'app=par');
      return p.length === 4 && p;
    });
    assert.deepEqual(names(pods), ['par-0', 'par-1', 'par-2', 'par-3']);
    const uid = pods.find((p) => p.metadata!.name === 'par-2')!.metadata!.uid;
    await setPodPhase(c, pods.find((p) => p.metadata!.name === 'par-2')!, 'Failed');
    await until('par-2 replaced', async () => {
      const p = (await listPods(c, 'default', 'app=par')).find((x) => x.metadata!.name === 'par-2');
      return p && p.metadata!.uid !== uid && p.status?.phase === 'Pending';
    });
  } finally {
    await c.stop();
  }
});

test('RollingUpdate: a new revision, pods replaced from the highest ordinal down to the partition; rollback re-numbers the old revision', async () => {
  const c = await startWorkloads([newStatefulSetController]);
  const kubelet = fakeKubelet(c);
  try {
    await c.transport.create<StatefulSet>(STATEFULSETS, 'default', statefulSet('ru', 3, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }));
    const first = await until('rolled out', async () => {
      const s = await getSet(c, 'ru');
      return s.status?.readyReplicas === 3 && !!s.status.currentRevision && s;
    });
    const rev1 = first.status!.currentRevision!;

    const del = deletionOrder(c);
    await setImage(c, 'ru', 'nginx:1.26');
    // Partition 2: only ru-2 moves to the new revision.
    const st = await until('partitioned', async () => {
      const s = await getSet(c, 'ru');
      return s.status?.updatedReplicas === 1 && s.status.readyReplicas === 3 && s.status.observedGeneration === 2 && s;
    });
    assert.notEqual(st.status!.updateRevision, rev1);
    assert.equal(st.status!.currentRevision, rev1);
    assert.equal(st.status!.currentReplicas, 2);
    await waitForQuietInProcess();
    let pods = await listPods(c, 'default', 'app=ru');
    assert.deepEqual(pods.map((p) => `${p.metadata!.name}=${image(p)}`).sort(), ['ru-0=nginx:1.25', 'ru-1=nginx:1.25', 'ru-2=nginx:1.26']);
    const revs = await revisions(c, 'ru');
    assert.deepEqual(revs.map((r) => r.revision), [1, 2]);

    // Partition 0: the rest, highest first; the update revision becomes current.
    await updateSet(c, 'ru', (s) => void (s.spec!.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }));
    const done = await until('complete', async () => {
      const x = await getSet(c, 'ru');
      return x.status?.currentRevision === x.status?.updateRevision && x.status?.updatedReplicas === 3 && x.status?.readyReplicas === 3 && x;
    });
    del.stop();
    assert.deepEqual(del.order, ['ru-2', 'ru-1', 'ru-0']);
    assert.equal(done.status!.currentReplicas, 3);
    pods = await listPods(c, 'default', 'app=ru');
    assert.ok(pods.every((p) => image(p) === 'nginx:1.26' && p.metadata!.labels!['controller-revision-hash'] === done.status!.updateRevision));

    // Back to the first template: no third revision, the first is re-numbered 3.
    await setImage(c, 'ru', 'nginx:1.25');
    await until('rolled back', async () => {
      const x = await getSet(c, 'ru');
      return x.status?.updateRevision === rev1 && x.status?.currentRevision === rev1 && x.status?.readyReplicas === 3;
    });
    const after = await revisions(c, 'ru');
    assert.deepEqual(after.map((r) => [r.metadata!.name, r.revision]), [
      [done.status!.updateRevision, 2],
      [rev1, 3],
    ]);
  } finally {
    kubelet.stop();
    await c.stop();
  }
});

test('OnDelete: a template change replaces nothing until a pod is deleted; revisionHistoryLimit prunes unused revisions', async () => {
  const c = await startWorkloads([newStatefulSetController]);
  const kubelet = fakeKubelet(c);
  try {
    await c.transport.create<StatefulSet>(STATEFULSETS, 'default', statefulSet('od', 2, { updateStrategy: { type: 'OnDelete' }, revisionHistoryLimit: 0 }));
    await until('ready', async () => (await getSet(c, 'od')).status?.readyReplicas === 2);
    await setImage(c, 'od', 'nginx:1.26');
    await until('observed', async () => (await getSet(c, 'od')).status?.observedGeneration === 2);
    await waitForQuietInProcess();
    let pods = await listPods(c, 'default', 'app=od');
    assert.ok(pods.every((p) => image(p) === 'nginx:1.25'), 'nothing replaced');
    const st = (await getSet(c, 'od')).status!;
    assert.equal(st.updatedReplicas ?? 0, 0);
    assert.equal(st.currentReplicas, 2);
    await c.transport.delete(PODS, 'default', 'od-1');
    await until('od-1 updated', async () => {
      const p = (await listPods(c, 'default', 'app=od')).find((x) => x.metadata!.name === 'od-1');
      return p && image(p) === 'nginx:1.26';
    });
    pods = await listPods(c, 'default', 'app=od');
    assert.equal(image(pods.find((p) => p.metadata!.name === 'od-0')!), 'nginx:1.25');
    // A third template; revision 1 is still used by od-0 (and current), 3 is the update revision: only 2 goes.
    await setImage(c, 'od', 'nginx:1.27');
    await until('observed 3', async () => (await getSet(c, 'od')).status?.observedGeneration === 3);
    await c.transport.delete(PODS, 'default', 'od-1');
    await until('od-1 at 1.27', async () => {
      const p = (await listPods(c, 'default', 'app=od')).find((x) => x.metadata!.name === 'od-1');
      return p && image(p) === 'nginx:1.27';
    });
    const revs = await until('pruned', async () => {
      const r = await revisions(c, 'od');
      return r.length === 2 && r;
    });
    assert.deepEqual(revs.map((r) => r.revision), [1, 3]);
  } finally {
    kubelet.stop();
    await c.stop();
  }
});

test('volumeClaimTemplates: claims <template>-<set>-<ordinal> made before the pod and mounted; owner references follow the retention policy', async () => {
  const c = await startWorkloads([newStatefulSetController]);
  const kubelet = fakeKubelet(c);
  const claimTemplate = (name: string) => ({ metadata: { name, labels: { tier: 'db' } }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  const claims = async (sel: string) => (await c.transport.list<PersistentVolumeClaim>(PVCS, 'default', { labelSelector: sel })).items;
  try {
    // Retain (the default): no owner references at all.
    await c.transport.create<StatefulSet>(STATEFULSETS, 'default', statefulSet('kept', 2, { volumeClaimTemplates: [claimTemplate('data')] }));
    await until('2 ready', async () => (await getSet(c, 'kept')).status?.readyReplicas === 2);
    const kept = await claims('app=kept');
    assert.deepEqual(kept.map((x) => x.metadata!.name).sort(), ['data-kept-0', 'data-kept-1']);
    for (const cl of kept) {
      assert.equal(cl.metadata!.ownerReferences, undefined);
      assert.deepEqual(cl.metadata!.labels, { tier: 'db', app: 'kept' });
      assert.deepEqual(cl.spec!.resources!.requests, { storage: '1Gi' });
    }
    const p0 = (await listPods(c, 'default', 'app=kept')).find((p) => p.metadata!.name === 'kept-0')!;
    assert.deepEqual(
      p0.spec!.volumes!.find((v) => v.name === 'data'),
      { name: 'data', persistentVolumeClaim: { claimName: 'data-kept-0' } },
    );
    const evs = await eventsFor(c, await getSet(c, 'kept'));
    assert.ok(evs.some((e) => e.reason === 'SuccessfulCreate' && e.message === 'create Claim data-kept-0 Pod kept-0 in StatefulSet kept success'), JSON.stringify(evs));

    // WhenDeleted=Delete, WhenScaled=Delete: the set controls the claims of pods in range;
    // a scaled-away pod's claim is controlled by the pod.
    const set = await c.transport.create<StatefulSet>(
      STATEFULSETS,
      'default',
      statefulSet('gone', 2, { volumeClaimTemplates: [claimTemplate('data')], persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' } }),
    );
    await until('set owns both claims', async () => {
      const cl = await claims('app=gone');
      return cl.length === 2 && cl.every((x) => x.metadata?.ownerReferences?.length === 1 && x.metadata.ownerReferences[0].uid === set.metadata!.uid && x.metadata.ownerReferences[0].controller === true);
    });
    kubelet.pause();
    await updateSet(c, 'gone', (s) => void (s.spec!.replicas = 1));
    const g1 = (await listPods(c, 'default', 'app=gone')).find((p) => p.metadata!.name === 'gone-1')!;
    const cl1 = await until('claim of gone-1 owned by the pod', async () => {
      const cl = (await claims('app=gone')).find((x) => x.metadata!.name === 'data-gone-1');
      return cl?.metadata!.ownerReferences?.length === 1 && cl.metadata.ownerReferences[0].kind === 'Pod' && cl;
    });
    assert.equal(cl1.metadata!.ownerReferences![0].uid, g1.metadata!.uid);
    kubelet.resume();
  } finally {
    kubelet.stop();
    await c.stop();
  }
});

test('claim owner references for every retention policy', () => {
  const set = (whenDeleted: string, whenScaled: string, replicas = 2): StatefulSet => ({
    metadata: { name: 'web', namespace: 'default', uid: 'set-uid' },
    spec: { replicas, serviceName: 'web', selector: { matchLabels: { a: 'b' } }, template: {}, persistentVolumeClaimRetentionPolicy: { whenDeleted, whenScaled } },
  });
  const pod: Pod = { metadata: { name: 'web-1', namespace: 'default', uid: 'pod-uid' } };
  const claim = (): PersistentVolumeClaim => ({ metadata: { name: 'data-web-1', namespace: 'default' } });
  const cases: [string, string, number, string[]][] = [
    ['Retain', 'Retain', 2, []],
    ['Delete', 'Retain', 2, ['set-uid']],
    ['Retain', 'Delete', 2, []],
    ['Retain', 'Delete', 1, ['pod-uid']],
    ['Delete', 'Delete', 2, ['set-uid']],
    ['Delete', 'Delete', 1, ['pod-uid']],
  ];
  for (const [wd, ws, replicas, want] of cases) {
    const s = set(wd, ws, replicas);
    const cl = claim();
    assert.equal(claimOwnerMatchesSetAndPod(cl, s, pod), want.length === 0, `${wd}/${ws}/${replicas} before`);
    updateClaimOwnerRefs(cl, s, pod);
    assert.deepEqual((cl.metadata!.ownerReferences ?? []).map((r) => r.uid), want, `${wd}/${ws}/${replicas}`);
    assert.ok((cl.metadata!.ownerReferences ?? []).every((r) => r.controller === true));
    assert.ok(claimOwnerMatchesSetAndPod(cl, s, pod), `${wd}/${ws}/${replicas} after`);
  }
  // Someone else's controller: left alone under Retain, our references cleaned otherwise.
  const foreign = claim();
  foreign.metadata!.ownerReferences = [{ apiVersion: 'v1', kind: 'Other', name: 'x', uid: 'other', controller: true }];
  assert.ok(claimOwnerMatchesSetAndPod(foreign, set('Delete', 'Retain'), pod));
});

test('revision data is the template as a Go client encodes it: sorted keys, creationTimestamp null, resources {}', () => {
  const t = encodedTemplate({ spec: { containers: [{ name: 'c', image: 'x' }], dnsPolicy: 'ClusterFirst' }, metadata: { labels: { z: '1', a: '2' } } });
  assert.equal(JSON.stringify(t), '{"metadata":{"creationTimestamp":null,"labels":{"a":"2","z":"1"}},"spec":{"containers":[{"image":"x","name":"c","resources":{}}],"dnsPolicy":"ClusterFirst"}}');
  assert.equal(JSON.stringify(templatePatch({ metadata: {}, spec: { containers: [] } })), '{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null},"spec":{"containers":[]}}}}');
});
