// Dynamic provisioning with the built-in local-path provisioner: the default class given
// by admission, WaitForFirstConsumer until a pod lands, the volume made on that node,
// removed under Delete; ephemeral volumes; the default class given retroactively.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { PODS, PVCS } from '../../controllers/volume/util.js';
import { defaultLocalPathStorageClass } from '../../controllers/volume/storage-class.js';
import { claim, eventually, podWithClaim, startStorage } from './storage-fixture.js';
import type { StorageCluster } from './storage-fixture.js';

let s: StorageCluster;
let storageDir: string;

before(async () => {
  s = await startStorage();
  storageDir = join(s.dir, 'storage');
  await s.createClass(defaultLocalPathStorageClass(storageDir));
  await s.createNode('node-a');
  await s.createNode('node-b');
});

after(async () => {
  await s.close();
});

test('a claim without a class gets the default class; it waits for a consumer (WaitForFirstConsumer)', async () => {
  const created = await s.createPVC(claim('web-data', '1Gi'));
  assert.equal(created.spec?.storageClassName, 'local-path', 'DefaultStorageClass admission');
  const ev = await eventually('event', () => s.events('web-data').find((e) => e.reason === 'WaitForFirstConsumer'));
  assert.equal(ev.message, 'waiting for first consumer to be created before binding');
  assert.equal(ev.type, 'Normal');
  await new Promise((r) => setTimeout(r, 300));
  const c = await s.pvc('web-data');
  assert.equal(c?.status?.phase, 'Pending');
  assert.equal(c?.metadata?.annotations?.['volume.kubernetes.io/selected-node'], undefined);

  // A pod that is not scheduled yet: the event names it.
  await s.createPod(podWithClaim('web-0', 'web-data'));
  const ev2 = await eventually('event', () => s.events('web-data').find((e) => e.reason === 'WaitForPodScheduled'));
  assert.equal(ev2.message, 'waiting for pod web-0 to be scheduled');
});

test('once a pod using it is on a node, the volume is provisioned there and bound', async () => {
  await s.createPVC(claim('data-db-0', '2Gi'));
  await s.createPod(podWithClaim('db-0', 'data-db-0', 'node-b'));
  const c = await eventually('bound', async () => {
    const x = await s.pvc('data-db-0');
    return x?.status?.phase === 'Bound' ? x : undefined;
  });
  assert.equal(c.metadata?.annotations?.['volume.kubernetes.io/selected-node'], 'node-b');
  assert.equal(c.metadata?.annotations?.['volume.kubernetes.io/storage-provisioner'], 'rancher.io/local-path');
  assert.equal(c.metadata?.annotations?.['volume.beta.kubernetes.io/storage-provisioner'], 'rancher.io/local-path');
  const pvName = `pvc-${c.metadata!.uid}`;
  assert.equal(c.spec?.volumeName, pvName);
  assert.deepEqual(c.status?.capacity, { storage: '2Gi' });

  const pv = (await s.pv(pvName))!;
  const path = join(storageDir, `${pvName}_default_data-db-0`);
  assert.deepEqual(pv.spec?.hostPath, { path, type: 'DirectoryOrCreate' });
  assert.deepEqual(pv.spec?.nodeAffinity, { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-b'] }] }] } });
  assert.equal(pv.spec?.persistentVolumeReclaimPolicy, 'Delete');
  assert.equal(pv.spec?.storageClassName, 'local-path');
  assert.equal(pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'], 'rancher.io/local-path');
  assert.equal(pv.status?.phase, 'Bound');
  assert.ok(statSync(path).isDirectory());
  assert.equal(statSync(path).mode & 0o777, 0o777);
  // Events are written asynchronously: wait for them.
  for (const r of ['ExternalProvisioning', 'Provisioning', 'ProvisioningSucceeded']) await eventually(`${r} event`, () => s.events('data-db-0').some((e) => e.reason === r));
  assert.equal(s.events('data-db-0').find((e) => e.reason === 'ProvisioningSucceeded')?.message, `Successfully provisioned volume ${pvName}`);

  // Delete: the pod goes, then the claim; the provisioner removes the data and the volume.
  writeFileSync(join(path, 'db'), 'rows');
  await s.api.delete(PODS, 'default', 'db-0', { gracePeriodSeconds: 0 });
  await s.api.delete(PVCS, 'default', 'data-db-0');
  await eventually('volume deleted', async () => !(await s.pv(pvName)));
  assert.equal(existsSync(path), false, 'data removed under Delete');
});

test('a Retain class keeps the provisioned directory when the claim goes', async () => {
  await s.createClass({ ...defaultLocalPathStorageClass(storageDir), metadata: { name: 'keep' }, reclaimPolicy: 'Retain' });
  await s.createPVC(claim('kept', '1Gi', { storageClassName: 'keep' }));
  await s.createPod(podWithClaim('keeper', 'kept', 'node-a'));
  const c = await eventually('bound', async () => {
    const x = await s.pvc('kept');
    return x?.status?.phase === 'Bound' ? x : undefined;
  });
  const pvName = c.spec!.volumeName!;
  const path = (await s.pv(pvName))!.spec!.hostPath!.path;
  await s.api.delete(PODS, 'default', 'keeper', { gracePeriodSeconds: 0 });
  await s.api.delete(PVCS, 'default', 'kept');
  await eventually('Released', async () => (await s.pv(pvName))?.status?.phase === 'Released');
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(existsSync(path));
  assert.ok(await s.pv(pvName));
});

test('a claim for a selected node that does not exist fails to provision, with an event', async () => {
  await s.createPVC({ ...claim('lost-node', '1Gi'), metadata: { name: 'lost-node', namespace: 'default', annotations: { 'volume.kubernetes.io/selected-node': 'nowhere' } } });
  const ev = await eventually('event', () => s.events('lost-node').find((e) => e.reason === 'ProvisioningFailed'), 8000);
  assert.equal(ev.message, 'failed to provision volume with StorageClass "local-path": failed to get target node: nodes "nowhere" not found');
});

test('ephemeral volumes: the claim <pod>-<volume> is created, owned by the pod, and provisioned on its node', async () => {
  const pod: Pod = {
    metadata: { name: 'scratch', namespace: 'default' },
    spec: {
      nodeName: 'node-a',
      containers: [{ name: 'c', image: 'busybox' }],
      volumes: [
        {
          name: 'tmp',
          ephemeral: { volumeClaimTemplate: { metadata: { labels: { kind: 'scratch' } }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } },
        },
      ],
    },
  };
  const created = await s.createPod(pod);
  const c = await eventually('claim', async () => {
    const x = await s.pvc('scratch-tmp');
    return x?.status?.phase === 'Bound' ? x : undefined;
  });
  assert.deepEqual(c.metadata?.ownerReferences, [{ apiVersion: 'v1', kind: 'Pod', name: 'scratch', uid: created.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
  assert.equal(c.metadata?.labels?.kind, 'scratch');
  assert.equal(c.spec?.storageClassName, 'local-path');
  assert.equal(c.metadata?.annotations?.['volume.kubernetes.io/selected-node'], 'node-a');

  // A claim of that name the pod doesn't own: FailedBinding on the pod.
  await s.createPVC(claim('squat-tmp', '1Gi'));
  await s.createPod({ ...pod, metadata: { name: 'squat', namespace: 'default' } });
  const ev = await eventually('event', () => s.events('squat').find((e) => e.reason === 'FailedBinding'));
  assert.equal(ev.message, 'ephemeral volume tmp: PVC default/squat-tmp was not created for pod default/squat (pod is not owner)');
});

test('a claim made while no default class existed gets it once one appears', async () => {
  // Take the default away, make a class-less claim, bring a default back.
  const sc = defaultLocalPathStorageClass(storageDir);
  const api = s.api;
  const classes = (await import('../../controllers/volume/util.js')).STORAGE_CLASSES;
  await api.delete(classes, undefined, 'local-path');
  await eventually('gone', async () => {
    try {
      await api.get(classes, undefined, 'local-path');
      return false;
    } catch {
      return true;
    }
  });
  const created = await s.createPVC(claim('late', '1Gi'));
  assert.equal(created.spec?.storageClassName, undefined);
  await s.createClass(sc);
  const c = await eventually('class assigned', async () => {
    const x = await s.pvc('late');
    return x?.spec?.storageClassName ? x : undefined;
  });
  assert.equal(c.spec?.storageClassName, 'local-path');
});
