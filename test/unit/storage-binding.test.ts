// The PV controller's binding, against the real in-process API: which volume a claim
// gets, the annotations and phases on both sides, pre-binding in both directions.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { claim, eventually, hostPathPV, startStorage } from './storage-fixture.js';
import type { StorageCluster } from './storage-fixture.js';
import { waitForQuietInProcess } from '../wait.js';

let s: StorageCluster;

before(async () => {
  s = await startStorage();
});

after(async () => {
  await s.close();
});

test('a static volume becomes Available; a fitting claim gets the smallest one, both sides Bound and annotated', async () => {
  await s.createPV(hostPathPV('small', `${s.dir}/small`, '5Gi'));
  await s.createPV(hostPathPV('large', `${s.dir}/large`, '10Gi'));
  const pv = await eventually('Available', async () => ((await s.pv('small'))?.status?.phase === 'Available' ? s.pv('small') : undefined));
  assert.deepEqual(pv!.metadata?.finalizers, ['kubernetes.io/pv-protection']);
  assert.ok(pv!.status?.lastPhaseTransitionTime, 'phase changes are stamped');

  await s.createPVC(claim('data', '3Gi', { storageClassName: '' }));
  const bound = await eventually('claim bound', async () => {
    const c = await s.pvc('data');
    return c?.status?.phase === 'Bound' ? c : undefined;
  });
  assert.equal(bound.spec?.volumeName, 'small');
  assert.equal(bound.metadata?.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
  assert.equal(bound.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
  assert.deepEqual(bound.status?.capacity, { storage: '5Gi' });
  assert.deepEqual(bound.status?.accessModes, ['ReadWriteOnce']);
  assert.deepEqual(bound.metadata?.finalizers, ['kubernetes.io/pvc-protection']);

  const v = await eventually('volume bound', async () => ((await s.pv('small'))?.status?.phase === 'Bound' ? s.pv('small') : undefined));
  assert.equal(v!.spec?.claimRef?.name, 'data');
  assert.equal(v!.spec?.claimRef?.namespace, 'default');
  assert.equal(v!.spec?.claimRef?.uid, bound.metadata?.uid);
  assert.equal(v!.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
  assert.equal((await s.pv('large'))?.status?.phase, 'Available');
});

test('claims that fit nothing stay Pending: size, class, access mode, volume mode, selector', async () => {
  await s.createPV(hostPathPV('mm-vol', `${s.dir}/mm`, '2Gi', { storageClassName: 'slow', labels: { tier: 'gold' } }));
  await eventually('Available', async () => (await s.pv('mm-vol'))?.status?.phase === 'Available');
  await s.createPVC(claim('too-big', '3Gi', { storageClassName: 'slow' }));
  await s.createPVC(claim('other-class', '1Gi', { storageClassName: '' }));
  await s.createPVC(claim('wrong-mode', '1Gi', { storageClassName: 'slow', accessModes: ['ReadWriteMany'] }));
  await s.createPVC(claim('block', '1Gi', { storageClassName: 'slow', volumeMode: 'Block' }));
  await s.createPVC(claim('silver', '1Gi', { storageClassName: 'slow', selector: { matchLabels: { tier: 'silver' } } }));
  // The unclassed claim may take a leftover "" volume from the first test: give it none that fits.
  await waitForQuietInProcess();
  for (const name of ['too-big', 'wrong-mode', 'block', 'silver']) {
    const c = await s.pvc(name);
    assert.equal(c?.status?.phase, 'Pending', name);
    assert.equal(c?.spec?.volumeName, undefined, name);
  }
  assert.notEqual((await s.pvc('other-class'))?.spec?.volumeName, 'mm-vol');
  assert.equal((await s.pv('mm-vol'))?.status?.phase, 'Available');

  // The matching claim (selector and all) gets it.
  await s.createPVC(claim('gold', '1Gi', { storageClassName: 'slow', selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold'] }] } }));
  await eventually('gold bound', async () => (await s.pvc('gold'))?.spec?.volumeName === 'mm-vol');
});

test('a claim without class and nothing to bind gets FailedBinding: no storage class is set', async () => {
  await s.createPVC(claim('nothing', '100Gi', { storageClassName: '' }));
  const ev = await eventually('event', () => s.events('nothing').find((e) => e.reason === 'FailedBinding'));
  assert.equal(ev.message, 'no persistent volumes available for this claim and no storage class is set');
  assert.equal(ev.type, 'Normal');
  assert.equal(ev.source?.component, 'persistentvolume-controller');
  assert.equal((await s.pvc('nothing'))?.status?.phase, 'Pending');
});

test('fewest access modes first: a RWO claim prefers a RWO volume to a smaller RWO+RWX one', async () => {
  await s.createPV(hostPathPV('rwo-big', `${s.dir}/rwo`, '20Gi', { storageClassName: 'modes' }));
  await s.createPV(hostPathPV('rwx-small', `${s.dir}/rwx`, '15Gi', { storageClassName: 'modes', accessModes: ['ReadWriteOnce', 'ReadWriteMany'] }));
  await eventually('both Available', async () => (await s.pv('rwo-big'))?.status?.phase === 'Available' && (await s.pv('rwx-small'))?.status?.phase === 'Available');
  await s.createPVC(claim('modes-claim', '1Gi', { storageClassName: 'modes' }));
  await eventually('bound', async () => (await s.pvc('modes-claim'))?.spec?.volumeName === 'rwo-big');
  await s.createPVC(claim('modes-rwx', '1Gi', { storageClassName: 'modes', accessModes: ['ReadWriteMany'] }));
  await eventually('bound', async () => (await s.pvc('modes-rwx'))?.spec?.volumeName === 'rwx-small');
});

test('pre-binding: a claim naming a volume gets it; a volume with a claimRef waits for that claim', async () => {
  // volumeName on the claim: the large volume, though a smaller one would do.
  await s.createPV(hostPathPV('pb-a', `${s.dir}/pba`, '1Gi', { storageClassName: 'pb' }));
  await s.createPV(hostPathPV('pb-b', `${s.dir}/pbb`, '8Gi', { storageClassName: 'pb' }));
  await s.createPVC(claim('wants-b', '1Gi', { storageClassName: 'pb', volumeName: 'pb-b' }));
  const c = await eventually('bound to pb-b', async () => {
    const x = await s.pvc('wants-b');
    return x?.status?.phase === 'Bound' ? x : undefined;
  });
  assert.equal(c.spec?.volumeName, 'pb-b');
  assert.equal(c.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined, 'the user bound it');
  const pvb = await s.pv('pb-b');
  assert.equal(pvb?.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');

  // claimRef on the volume: reserved for "reserved", not given to "other".
  await s.createPV(hostPathPV('pb-r', `${s.dir}/pbr`, '1Gi', { storageClassName: 'pr', claimRef: { namespace: 'default', name: 'reserved' } }));
  await eventually('Available while pre-bound', async () => (await s.pv('pb-r'))?.status?.phase === 'Available');
  await s.createPVC(claim('other', '1Gi', { storageClassName: 'pr' }));
  await waitForQuietInProcess();
  assert.equal((await s.pvc('other'))?.status?.phase, 'Pending');
  await s.createPVC(claim('reserved', '1Gi', { storageClassName: 'pr' }));
  const r = await eventually('reserved bound', async () => {
    const x = await s.pvc('reserved');
    return x?.status?.phase === 'Bound' ? x : undefined;
  });
  assert.equal(r.spec?.volumeName, 'pb-r');
  const pvr = await s.pv('pb-r');
  assert.equal(pvr?.spec?.claimRef?.uid, r.metadata?.uid);
  assert.equal(pvr?.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined, 'pre-bound by the user');
});

test('a claim naming a volume that does not fit gets VolumeMismatch and stays Pending', async () => {
  await s.createPV(hostPathPV('tiny', `${s.dir}/tiny`, '1Mi', { storageClassName: 'mismatch' }));
  await s.createPVC(claim('needs-more', '1Gi', { storageClassName: 'mismatch', volumeName: 'tiny' }));
  const ev = await eventually('event', () => s.events('needs-more').find((e) => e.reason === 'VolumeMismatch'));
  assert.equal(ev.message, 'Cannot bind to requested volume "tiny": requested PV is too small');
  assert.equal(ev.type, 'Warning');
  assert.equal((await s.pvc('needs-more'))?.status?.phase, 'Pending');
});

test('a claim for an Immediate class with an external provisioner is handed to it', async () => {
  await s.createClass({ metadata: { name: 'ext' }, provisioner: 'example.com/nfs', volumeBindingMode: 'Immediate' });
  await s.createPVC(claim('ext-claim', '1Gi', { storageClassName: 'ext' }));
  const c = await eventually('annotated', async () => {
    const x = await s.pvc('ext-claim');
    return x?.metadata?.annotations?.['volume.kubernetes.io/storage-provisioner'] ? x : undefined;
  });
  assert.equal(c.metadata?.annotations?.['volume.kubernetes.io/storage-provisioner'], 'example.com/nfs');
  assert.equal(c.metadata?.annotations?.['volume.beta.kubernetes.io/storage-provisioner'], 'example.com/nfs');
  const ev = await eventually('event', () => s.events('ext-claim').find((e) => e.reason === 'ExternalProvisioning'));
  assert.match(ev.message!, /^Waiting for a volume to be created either by the external provisioner 'example.com\/nfs' or manually by the system administrator/);

  await s.createPVC(claim('no-class-obj', '1Gi', { storageClassName: 'missing' }));
  const ev2 = await eventually('event', () => s.events('no-class-obj').find((e) => e.reason === 'ProvisioningFailed'));
  assert.equal(ev2.message, 'storageclass.storage.k8s.io "missing" not found');
});
