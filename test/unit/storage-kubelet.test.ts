// The kubelet's side: resolving a pod's persistentVolumeClaim / ephemeral volume to a host
// path (kubelet/volumes-pvc.ts), and fsGroup ownership.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { applyFsGroup, isClaimVolume, resolveClaimVolume } from '../../kubelet/volumes-pvc.js';
import type { ClaimSources } from '../../kubelet/volumes-pvc.js';
import { VolumeError } from '../../kubelet/volumes.js';

const pod: Pod = {
  metadata: { name: 'web-0', namespace: 'default', uid: 'pod-uid' },
  spec: {
    containers: [{ name: 'c', image: 'busybox' }],
    volumes: [
      { name: 'data', persistentVolumeClaim: { claimName: 'data-web-0' } },
      { name: 'ro', persistentVolumeClaim: { claimName: 'data-web-0', readOnly: true } },
      { name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: {} } } },
    ],
  },
};

function boundClaim(name: string, volume: string, extra: Partial<PersistentVolumeClaim['metadata']> = {}): PersistentVolumeClaim {
  return { metadata: { name, namespace: 'default', uid: `uid-${name}`, ...extra }, spec: { volumeName: volume }, status: { phase: 'Bound' } };
}

function pvFor(name: string, claim: string, source: Partial<PersistentVolume['spec']>, annotations?: Record<string, string>): PersistentVolume {
  return {
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: {
      claimRef: { namespace: 'default', name: claim, uid: `uid-${claim}` },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-a'] }] }] } },
      ...source,
    },
  };
}

function sources(claims: PersistentVolumeClaim[], volumes: PersistentVolume[], node?: string): ClaimSources {
  return {
    claim: async (ns, name) => claims.find((c) => c.metadata?.namespace === ns && c.metadata?.name === name),
    volume: async (name) => volumes.find((v) => v.metadata?.name === name),
    ...(node ? { node: { name: node, labels: { 'kubernetes.io/hostname': node } } } : {}),
  };
}

test('claim → bound volume → host path (created for DirectoryOrCreate), with readOnly from the pod volume', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-pvc-'));
  try {
    const path = join(dir, 'pvc-1_default_data-web-0');
    const src = sources([boundClaim('data-web-0', 'pvc-1')], [pvFor('pvc-1', 'data-web-0', { hostPath: { path, type: 'DirectoryOrCreate' } }, { 'pv.kubernetes.io/provisioned-by': 'rancher.io/local-path' })], 'node-a');
    assert.equal(isClaimVolume(pod.spec!.volumes![0]), true);
    const m = await resolveClaimVolume(pod, pod.spec!.volumes![0], src);
    assert.deepEqual(m, { name: 'data', hostPath: path, readOnly: false, kind: 'persistentVolumeClaim', claimName: 'data-web-0', volumeName: 'pvc-1', fsGroupManaged: false });
    assert.ok(statSync(path).isDirectory());
    assert.equal(statSync(path).mode & 0o777, 0o777, "local-path's directories are world-writable");
    const ro = await resolveClaimVolume(pod, pod.spec!.volumes![1], src);
    assert.equal(ro.readOnly, true);
    // Another node: the volume's node affinity says no.
    await assert.rejects(resolveClaimVolume(pod, pod.spec!.volumes![0], sources([boundClaim('data-web-0', 'pvc-1')], [pvFor('pvc-1', 'data-web-0', { hostPath: { path } })], 'node-b')), /volume node affinity conflict/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('not yet usable: missing, unbound or terminating claims, missing volumes, foreign ephemeral claims', async () => {
  const v = pod.spec!.volumes![0];
  await assert.rejects(resolveClaimVolume(pod, v, sources([], [])), (e: Error) => e instanceof VolumeError && e.message === 'error processing PVC default/data-web-0: failed to fetch PVC from API server: persistentvolumeclaims "data-web-0" not found');
  const pending: PersistentVolumeClaim = { metadata: { name: 'data-web-0', namespace: 'default' }, spec: {}, status: { phase: 'Pending' } };
  await assert.rejects(resolveClaimVolume(pod, v, sources([pending], [])), { message: 'error processing PVC default/data-web-0: PVC is not bound' });
  const dying = boundClaim('data-web-0', 'pvc-1', { deletionTimestamp: '2024-01-01T00:00:00Z' });
  await assert.rejects(resolveClaimVolume(pod, v, sources([dying], [])), { message: 'error processing PVC default/data-web-0: PVC is being deleted' });
  // ... unless the pod already has it mounted.
  const kept = await resolveClaimVolume(pod, v, sources([dying], []), { name: 'data', hostPath: '/srv/x', readOnly: false, kind: 'persistentVolumeClaim' });
  assert.equal(kept.hostPath, '/srv/x');
  await assert.rejects(resolveClaimVolume(pod, v, sources([boundClaim('data-web-0', 'pvc-1')], [])), { message: 'failed to fetch PV pvc-1 from API server: persistentvolumes "pvc-1" not found' });
  await assert.rejects(resolveClaimVolume(pod, pod.spec!.volumes![2], sources([boundClaim('web-0-scratch', 'pvc-2')], [])), {
    message: 'error processing PVC default/web-0-scratch: PVC default/web-0-scratch was not created for pod default/web-0 (pod is not owner)',
  });
});

test('ephemeral volumes resolve through the pod-owned claim; local volumes must exist', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-pvc-'));
  try {
    const owned = boundClaim('web-0-scratch', 'pvc-2', { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-0', uid: 'pod-uid', controller: true }] });
    const src = sources([owned], [pvFor('pvc-2', 'web-0-scratch', { local: { path: dir } })]);
    const m = await resolveClaimVolume(pod, pod.spec!.volumes![2], src);
    assert.equal(m.hostPath, dir);
    assert.equal(m.kind, 'ephemeral');
    assert.equal(m.fsGroupManaged, true);
    const missing = sources([owned], [pvFor('pvc-2', 'web-0-scratch', { local: { path: join(dir, 'nope') } })]);
    await assert.rejects(resolveClaimVolume(pod, pod.spec!.volumes![2], missing), /local volume "pvc-2": path ".*nope" does not exist/);
    const nfs = sources([owned], [pvFor('pvc-2', 'web-0-scratch', { nfs: { server: 'x', path: '/' } })]);
    await assert.rejects(resolveClaimVolume(pod, pod.spec!.volumes![2], nfs), /nfs volumes are not supported by kite/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('applyFsGroup gives the tree the group, group rw, and setgid directories', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-fsgroup-'));
  try {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'f'), 'x', { mode: 0o600 });
    const gid = process.getgid!();
    applyFsGroup(dir, gid, undefined, false);
    assert.equal(statSync(join(dir, 'sub', 'f')).mode & 0o7777, 0o660);
    assert.equal(statSync(join(dir, 'sub')).mode & 0o2070, 0o2070);
    assert.equal(statSync(join(dir, 'sub', 'f')).gid, gid);
    assert.ok(existsSync(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
