// What happens when claims and volumes go: Retain and Delete, in-use protection of
// claims (while a scheduled pod uses them) and of volumes (while Bound).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PODS, PVCS, PVS } from '../../controllers/volume/util.js';
import { claim, eventually, hostPathPV, podWithClaim, startStorage } from './storage-fixture.js';
import type { StorageCluster } from './storage-fixture.js';
import { waitForQuietInProcess } from '../wait.js';

let s: StorageCluster;

before(async () => {
  s = await startStorage();
});

after(async () => {
  await s.close();
});

async function bindPair(pvName: string, claimName: string, policy: 'Retain' | 'Delete', path: string): Promise<void> {
  await s.createPV(hostPathPV(pvName, path, '1Gi', { storageClassName: `c-${pvName}`, persistentVolumeReclaimPolicy: policy }));
  await s.createPVC(claim(claimName, '1Gi', { storageClassName: `c-${pvName}` }));
  await eventually('bound', async () => (await s.pvc(claimName))?.status?.phase === 'Bound' && (await s.pv(pvName))?.status?.phase === 'Bound');
}

test('Retain: when the claim goes the volume is Released, keeps its claimRef and its data', async () => {
  const path = join(s.dir, 'retained');
  mkdirSync(path);
  writeFileSync(join(path, 'file'), 'keep me');
  await bindPair('keep', 'keep-claim', 'Retain', path);
  await s.api.delete(PVCS, 'default', 'keep-claim');
  await eventually('claim gone', async () => !(await s.pvc('keep-claim')));
  const pv = await eventually('Released', async () => {
    const v = await s.pv('keep');
    return v?.status?.phase === 'Released' ? v : undefined;
  });
  assert.equal(pv.spec?.claimRef?.name, 'keep-claim');
  assert.ok(existsSync(join(path, 'file')), 'data kept');
  // A new claim of the same name does not get the released volume back.
  await s.createPVC(claim('keep-claim', '1Gi', { storageClassName: 'c-keep' }));
  await waitForQuietInProcess();
  assert.equal((await s.pvc('keep-claim'))?.status?.phase, 'Pending');
  assert.equal((await s.pv('keep'))?.status?.phase, 'Released');
});

test('Delete on a hostPath volume under /tmp: the directory and the volume are removed', async () => {
  const path = mkdtempSync('/tmp/kite-pv-delete-');
  writeFileSync(join(path, 'file'), 'bye');
  await bindPair('del', 'del-claim', 'Delete', path);
  await s.api.delete(PVCS, 'default', 'del-claim');
  await eventually('volume deleted', async () => !(await s.pv('del')));
  assert.equal(existsSync(path), false, 'directory removed');
});

test('Delete on a hostPath volume elsewhere: Failed, as upstream (only /tmp/.+ is deletable)', async () => {
  await bindPair('nodel', 'nodel-claim', 'Delete', '/srv/kite-test-never-created');
  await s.api.delete(PVCS, 'default', 'nodel-claim');
  const pv = await eventually('Failed', async () => {
    const v = await s.pv('nodel');
    return v?.status?.phase === 'Failed' ? v : undefined;
  });
  assert.equal(pv.status?.message, 'host_path deleter only supports /tmp/.+ but received provided /srv/kite-test-never-created');
  const ev = await eventually('event', () => s.events('nodel').find((e) => e.reason === 'VolumeFailedDelete'));
  assert.equal(ev.type, 'Warning');
});

test('a claim in use by a scheduled pod is only marked for deletion until the pod is gone', async () => {
  await bindPair('used', 'used-claim', 'Retain', join(s.dir, 'used'));
  await s.createPod(podWithClaim('user', 'used-claim', 'node-x'));
  // An unscheduled pod does not hold a claim.
  await s.createPod(podWithClaim('pending-user', 'used-claim'));
  await s.api.delete(PVCS, 'default', 'used-claim');
  await waitForQuietInProcess();
  const c = await s.pvc('used-claim');
  assert.ok(c?.metadata?.deletionTimestamp, 'Terminating');
  assert.deepEqual(c?.metadata?.finalizers, ['kubernetes.io/pvc-protection']);
  assert.equal((await s.pv('used'))?.status?.phase, 'Bound');

  await s.api.delete(PODS, 'default', 'user', { gracePeriodSeconds: 0 });
  await eventually('claim gone', async () => !(await s.pvc('used-claim')));
  await eventually('volume Released', async () => (await s.pv('used'))?.status?.phase === 'Released');
});

test('a Bound volume is only marked for deletion until it is released', async () => {
  await bindPair('prot', 'prot-claim', 'Retain', join(s.dir, 'prot'));
  await s.api.delete(PVS, undefined, 'prot');
  await waitForQuietInProcess();
  const pv = await s.pv('prot');
  assert.ok(pv?.metadata?.deletionTimestamp, 'Terminating');
  assert.equal(pv?.status?.phase, 'Bound');
  await s.api.delete(PVCS, 'default', 'prot-claim');
  await eventually('volume gone', async () => !(await s.pv('prot')));
});

test('a bound claim whose volume vanishes is Lost', async () => {
  await bindPair('vanish', 'vanish-claim', 'Retain', join(s.dir, 'vanish'));
  // Delete it, then strip the protection finalizer, so it really goes while bound.
  await s.api.delete(PVS, undefined, 'vanish');
  const pv = (await s.pv('vanish'))!;
  await s.api.update(PVS, undefined, { ...pv, metadata: { ...pv.metadata, finalizers: [] } });
  const c = await eventually('Lost', async () => {
    const x = await s.pvc('vanish-claim');
    return x?.status?.phase === 'Lost' ? x : undefined;
  });
  assert.equal(c.spec?.volumeName, 'vanish');
  const ev = await eventually('event', () => s.events('vanish-claim').find((e) => e.reason === 'ClaimLost'));
  assert.equal(ev.message, 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
});
