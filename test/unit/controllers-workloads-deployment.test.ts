// The Deployment controller (with the ReplicaSet controller under it) against the
// in-process API, with a stand-in kubelet that makes pods Ready.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { newReplicaSetController } from '../../controllers/replicaset/index.js';
import { newDeploymentController } from '../../controllers/deployment/index.js';
import { computeHash } from '../../controllers/history/hash.js';
import { getProportion, maxSurge, maxUnavailable, newRSNewReplicas, resolveFenceposts } from '../../controllers/deployment/util.js';
import type { WorkloadCluster } from './controllers-workloads-fixture.js';
import { DEPLOYMENTS, REPLICASETS, eventsFor, fakeKubelet, listPods, podTemplate, startWorkloads, until } from './controllers-workloads-fixture.js';
import { sleep } from './client-fixture.js';
import { waitForQuietInProcess } from '../wait.js';

function deployment(name: string, replicas: number, image = 'nginx:1.25', extra: Partial<NonNullable<Deployment['spec']>> = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: podTemplate({ app: name }, image), ...extra },
  };
}

const getD = (c: WorkloadCluster, name: string) => c.transport.get<Deployment>(DEPLOYMENTS, 'default', name);
const listRS = async (c: WorkloadCluster, app: string) => (await c.transport.list<ReplicaSet>(REPLICASETS, 'default', { labelSelector: `app=${app}` })).items;
const rev = (o: { metadata?: { annotations?: Record<string, string> } }) => o.metadata?.annotations?.['deployment.kubernetes.io/revision'];
const image = (rs: ReplicaSet) => rs.spec!.template!.spec!.containers[0].image;
const cond = (d: Deployment, type: string) => d.status?.conditions?.find((x) => x.type === type);

/** The deployment has finished rolling out (what `kubectl rollout status` waits for). */
function rolledOut(d: Deployment): boolean {
  const s = d.status ?? {};
  const want = d.spec!.replicas ?? 1;
  return (s.observedGeneration ?? 0) >= (d.metadata!.generation ?? 0) && (s.updatedReplicas ?? 0) === want && (s.replicas ?? 0) === want && (s.availableReplicas ?? 0) === want;
}

test('a new Deployment makes <name>-<hash> with revision 1, annotations, labelled pods, events, conditions and counts', async () => {
  const c = await startWorkloads([newReplicaSetController, newDeploymentController]);
  const kubelet = fakeKubelet(c);
  try {
    const d = await c.transport.create<Deployment>(DEPLOYMENTS, 'default', {
      ...deployment('web', 3),
      metadata: { name: 'web', namespace: 'default', annotations: { 'kubernetes.io/change-cause': 'first', 'team': 'blue' } },
    });
    const [rs] = await until('one ReplicaSet', async () => {
      const l = await listRS(c, 'web');
      return l.length === 1 && l;
    });
    const hash = rs.metadata!.labels!['pod-template-hash'];
    assert.equal(hash, computeHash(d.spec!.template, undefined), 'the name comes from the stored template');
    assert.equal(rs.metadata!.name, `web-${hash}`);
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    assert.deepEqual(rs.spec!.selector, { matchLabels: { app: 'web', 'pod-template-hash': hash } });
    assert.equal(rs.spec!.template!.metadata!.labels!['pod-template-hash'], hash);
    assert.deepEqual(rs.metadata!.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
    const ann = rs.metadata!.annotations!;
    assert.equal(ann['deployment.kubernetes.io/revision'], '1');
    assert.equal(ann['deployment.kubernetes.io/desired-replicas'], '3');
    assert.equal(ann['deployment.kubernetes.io/max-replicas'], '4', '3 + 25% surge rounded up');
    assert.equal(ann['kubernetes.io/change-cause'], 'first');
    assert.equal(ann['team'], 'blue');

    const done = await until('rolled out', async () => {
      const cur = await getD(c, 'web');
      return rolledOut(cur) && cond(cur, 'Progressing')?.reason === 'NewReplicaSetAvailable' && cur;
    });
    assert.equal(rev(done), '1');
    assert.deepEqual(
      { r: done.status!.replicas, u: done.status!.updatedReplicas, rd: done.status!.readyReplicas, a: done.status!.availableReplicas, un: done.status!.unavailableReplicas ?? 0 },
      { r: 3, u: 3, rd: 3, a: 3, un: 0 },
    );
    assert.equal(cond(done, 'Available')?.status, 'True');
    assert.equal(cond(done, 'Available')?.reason, 'MinimumReplicasAvailable');
    assert.equal(cond(done, 'Progressing')?.message, `ReplicaSet "web-${hash}" has successfully progressed.`);
    const pods = await listPods(c, 'default', 'app=web');
    assert.equal(pods.length, 3);
    for (const p of pods) assert.equal(p.metadata!.labels!['pod-template-hash'], hash);
    const evs = await eventsFor(c, d);
    assert.ok(evs.some((e) => e.reason === 'ScalingReplicaSet' && e.message === `Scaled up replica set web-${hash} from 0 to 3`), JSON.stringify(evs));

    // An unchanged template (a no-op update, a metadata-only change) rolls nothing.
    await c.transport.patch(DEPLOYMENTS, 'default', 'web', 'merge', { metadata: { labels: { touched: 'yes' } }, spec: { template: podTemplate({ app: 'web' }) } });
    await waitForQuietInProcess();
    assert.equal((await listRS(c, 'web')).length, 1);
  } finally {
    kubelet.stop();
    await c.stop();
  }
});

test('a template change rolls out within maxSurge/maxUnavailable; rollback to revision 1 moves its revision to 3', async () => {
  const c = await startWorkloads([newReplicaSetController, newDeploymentController]);
  const kubelet = fakeKubelet(c, { delayMs: 30 });
  let maxTotal = 0;
  let minAvailable = Infinity;
  let watching = true;
  try {
    await c.transport.create<Deployment>(DEPLOYMENTS, 'default', deployment('roll', 4, 'nginx:1.25', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }));
    await until('first rollout', async () => rolledOut(await getD(c, 'roll')));
    void (async () => {
      while (watching) {
        const rss = await listRS(c, 'roll').catch(() => []);
        const total = rss.reduce((n, rs) => n + (rs.spec!.replicas ?? 0), 0);
        maxTotal = Math.max(maxTotal, total);
        const d = await getD(c, 'roll').catch(() => undefined);
        if (d?.status?.availableReplicas !== undefined) minAvailable = Math.min(minAvailable, d.status.availableReplicas);
        await sleep(2);
      }
    })();
    await c.transport.patch(DEPLOYMENTS, 'default', 'roll', 'strategic', { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.26' }] } } } });
    const d2 = await until('second rollout', async () => {
      const cur = await getD(c, 'roll');
      return rolledOut(cur) && rev(cur) === '2' && cur;
    }, 15000);
    watching = false;
    assert.ok(maxTotal <= 5, `never more than replicas + maxSurge ReplicaSet replicas (saw ${maxTotal})`);
    assert.ok(minAvailable >= 3, `never fewer than replicas - maxUnavailable available (saw ${minAvailable})`);
    const rss = await listRS(c, 'roll');
    assert.equal(rss.length, 2);
    const v1 = rss.find((r) => image(r) === 'nginx:1.25')!;
    const v2 = rss.find((r) => image(r) === 'nginx:1.26')!;
    assert.equal(rev(v1), '1');
    assert.equal(rev(v2), '2');
    await until('old RS empty', async () => (await c.transport.get<ReplicaSet>(REPLICASETS, 'default', v1.metadata!.name!)).status?.replicas === 0);
    assert.equal(v1.spec!.replicas, 0);
    assert.equal(cond(d2, 'Progressing')?.reason, 'NewReplicaSetAvailable');
    const evs = await eventsFor(c, d2);
    assert.ok(evs.some((e) => e.message === `Scaled down replica set ${v1.metadata!.name} from 4 to 3`), JSON.stringify(evs.map((e) => e.message)));

    // kubectl rollout undo (1.27+): JSON-patch the template (without the hash label) and the RS's annotations.
    const tpl = JSON.parse(JSON.stringify(v1.spec!.template));
    delete tpl.metadata.labels['pod-template-hash'];
    const annotations: Record<string, string> = { 'deployment.kubernetes.io/revision': rev(d2)! };
    for (const [k, v] of Object.entries(v1.metadata!.annotations!)) if (!k.startsWith('deployment.kubernetes.io/')) annotations[k] = v;
    await c.transport.patch(DEPLOYMENTS, 'default', 'roll', 'json', [
      { op: 'replace', path: '/spec/template', value: tpl },
      { op: 'replace', path: '/metadata/annotations', value: annotations },
    ]);
    await until('rolled back', async () => {
      const cur = await getD(c, 'roll');
      return rolledOut(cur) && rev(cur) === '3';
    }, 15000);
    const after = await listRS(c, 'roll');
    assert.equal(after.length, 2, 'the old ReplicaSet is reused, not a new one made');
    const back = after.find((r) => r.metadata!.name === v1.metadata!.name)!;
    assert.equal(rev(back), '3');
    assert.equal(back.metadata!.annotations!['deployment.kubernetes.io/revision-history'], '1');
    assert.equal(back.spec!.replicas, 4);
    assert.equal(after.find((r) => r.metadata!.name === v2.metadata!.name)!.spec!.replicas, 0);
  } finally {
    watching = false;
    kubelet.stop();
    await c.stop();
  }
});

test('revisionHistoryLimit deletes the oldest empty ReplicaSets', async () => {
  const c = await startWorkloads([newReplicaSetController, newDeploymentController]);
  const kubelet = fakeKubelet(c);
  try {
    await c.transport.create<Deployment>(DEPLOYMENTS, 'default', deployment('hist', 1, 'nginx:1', { revisionHistoryLimit: 1 }));
    for (let i = 2; i <= 4; i++) {
      await until(`rollout ${i - 1}`, async () => rolledOut(await getD(c, 'hist')));
      await c.transport.patch(DEPLOYMENTS, 'default', 'hist', 'strategic', { spec: { template: { spec: { containers: [{ name: 'web', image: `nginx:${i}` }] } } } });
    }
    await until('rollout 4', async () => {
      const cur = await getD(c, 'hist');
      return rolledOut(cur) && rev(cur) === '4';
    });
    const rss = await until('history trimmed to one old RS', async () => {
      const l = await listRS(c, 'hist');
      return l.length === 2 && l;
    });
    assert.deepEqual(rss.map((r) => rev(r)).sort(), ['3', '4']);
  } finally {
    kubelet.stop();
    await c.stop();
  }
});

test('Recreate scales the old ReplicaSet to zero and waits for its pods before creating the new one', async () => {
  const c = await startWorkloads([newReplicaSetController, newDeploymentController]);
  const kubelet = fakeKubelet(c);
  try {
    await c.transport.create<Deployment>(DEPLOYMENTS, 'default', deployment('re', 3, 'nginx:1.25', { strategy: { type: 'Recreate' } }));
    await until('first rollout', async () => rolledOut(await getD(c, 're')));
    let overlap = false;
    let watching = true;
    void (async () => {
      while (watching) {
        const pods = await listPods(c, 'default', 'app=re').catch(() => []);
        const images = new Set(pods.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.spec!.containers[0].image));
        if (images.size > 1) overlap = true;
        await sleep(2);
      }
    })();
    await c.transport.patch(DEPLOYMENTS, 'default', 're', 'strategic', { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.26' }] } } } });
    await until('second rollout', async () => {
      const cur = await getD(c, 're');
      return rolledOut(cur) && rev(cur) === '2';
    });
    watching = false;
    assert.equal(overlap, false, 'old and new pods never ran side by side');
    const pods = await listPods(c, 'default', 'app=re');
    assert.ok(pods.every((p) => p.spec!.containers[0].image === 'nginx:1.26'));
  } finally {
    kubelet.stop();
    await c.stop();
  }
});

test('a paused Deployment does not roll out (but scales); resuming rolls out', async () => {
  const c = await startWorkloads([newReplicaSetController, newDeploymentController]);
  const kubelet = fakeKubelet(c);
  try {
    await c.transport.create<Deployment>(DEPLOYMENTS, 'default', deployment('p', 2));
    await until('first rollout', async () => rolledOut(await getD(c, 'p')));
    await c.transport.patch(DEPLOYMENTS, 'default', 'p', 'merge', { spec: { paused: true } });
    await until('paused condition', async () => cond(await getD(c, 'p'), 'Progressing')?.reason === 'DeploymentPaused');
    await c.transport.patch(DEPLOYMENTS, 'default', 'p', 'strategic', { spec: { replicas: 3, template: { spec: { containers: [{ name: 'web', image: 'nginx:1.26' }] } } } });
    await until('scaled while paused', async () => (await listPods(c, 'default', 'app=p')).length === 3);
    await waitForQuietInProcess();
    assert.equal((await listRS(c, 'p')).length, 1, 'no new ReplicaSet while paused');
    await c.transport.patch(DEPLOYMENTS, 'default', 'p', 'merge', { spec: { paused: false } });
    await until('rolled out after resume', async () => {
      const cur = await getD(c, 'p');
      return rolledOut(cur) && rev(cur) === '2';
    });
  } finally {
    kubelet.stop();
    await c.stop();
  }
});

test('no progress within progressDeadlineSeconds sets ProgressDeadlineExceeded; Available=False while unavailable', async () => {
  const c = await startWorkloads([newReplicaSetController, newDeploymentController]);
  try {
    await c.transport.create<Deployment>(DEPLOYMENTS, 'default', deployment('stuck', 2, 'nginx:1.25', { progressDeadlineSeconds: 1 }));
    const d = await until('deadline exceeded', async () => {
      const cur = await getD(c, 'stuck');
      return cond(cur, 'Progressing')?.reason === 'ProgressDeadlineExceeded' && cur;
    }, 6000);
    assert.equal(cond(d, 'Progressing')?.status, 'False');
    assert.match(cond(d, 'Progressing')!.message!, /^ReplicaSet "stuck-[a-z0-9]+" has timed out progressing\.$/);
    assert.equal(cond(d, 'Available')?.status, 'False');
    assert.equal(cond(d, 'Available')?.reason, 'MinimumReplicasUnavailable');
    assert.equal(d.status!.unavailableReplicas, 2);
  } finally {
    await c.stop();
  }
});

test('scaling in the middle of a rollout spreads the change over both ReplicaSets', async () => {
  const c = await startWorkloads([newReplicaSetController, newDeploymentController]);
  // New pods never become ready: the rollout stalls with both ReplicaSets active.
  const kubelet = fakeKubelet(c, { filter: (p) => p.spec!.containers[0].image === 'nginx:1.25' });
  try {
    await c.transport.create<Deployment>(DEPLOYMENTS, 'default', deployment('prop', 10, 'nginx:1.25', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } } }));
    await until('first rollout', async () => rolledOut(await getD(c, 'prop')));
    await c.transport.patch(DEPLOYMENTS, 'default', 'prop', 'strategic', { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.26' }] } } } });
    await until('stalled rollout: 8 old + 5 new', async () => {
      const rss = await listRS(c, 'prop');
      const o = rss.find((r) => image(r) === 'nginx:1.25');
      const n = rss.find((r) => image(r) === 'nginx:1.26');
      return o?.spec?.replicas === 8 && n?.spec?.replicas === 5;
    });
    await c.transport.patch(DEPLOYMENTS, 'default', 'prop', 'merge', { spec: { replicas: 20 } });
    const [o, n] = await until('proportional scale-up', async () => {
      const rss = await listRS(c, 'prop');
      const o = rss.find((r) => image(r) === 'nginx:1.25')!;
      const n = rss.find((r) => image(r) === 'nginx:1.26')!;
      return (o.spec!.replicas ?? 0) + (n.spec!.replicas ?? 0) === 23 && [o, n];
    });
    // 13 replicas (max 13) become 23 (20 + surge 3): 8 → round(8·23/13) = 14, 5 → the other 4 = 9.
    assert.equal(o.spec!.replicas, 14);
    assert.equal(n.spec!.replicas, 9);
    assert.equal(o.metadata!.annotations!['deployment.kubernetes.io/desired-replicas'], '20');
    assert.equal(n.metadata!.annotations!['deployment.kubernetes.io/max-replicas'], '23');
  } finally {
    kubelet.stop();
    await c.stop();
  }
});

test('fenceposts and proportions as upstream computes them', () => {
  assert.deepEqual(resolveFenceposts('25%', '25%', 10), { surge: 3, unavailable: 2 });
  assert.deepEqual(resolveFenceposts('0%', '1%', 2), { surge: 0, unavailable: 1 }, 'both zero: one may be unavailable');
  assert.deepEqual(resolveFenceposts(0, 0, 5), { surge: 0, unavailable: 1 });
  const d = deployment('x', 10, 'i', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } });
  assert.equal(maxSurge(d), 3);
  assert.equal(maxUnavailable(d), 2);
  assert.equal(maxSurge({ ...d, spec: { ...d.spec!, strategy: { type: 'Recreate' } } }), 0);
  const rs = (replicas: number, max?: number): ReplicaSet => ({ metadata: { annotations: max ? { 'deployment.kubernetes.io/max-replicas': String(max) } : {} }, spec: { replicas, selector: {} } });
  assert.equal(newRSNewReplicas(d, [rs(10), rs(0)], rs(0)), 3, 'surge of 3');
  assert.equal(newRSNewReplicas(d, [rs(10), rs(3)], rs(3)), 3, 'no room left');
  assert.equal(getProportion(rs(5, 13), { ...d, spec: { ...d.spec!, replicas: 20 } }, 12, 0), 5, '5 * 25/13 rounded, minus 5');
});
