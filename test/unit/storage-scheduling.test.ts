// The scheduler's side of volume binding (controllers/volume/scheduling.ts), as pure
// functions over in-memory objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import {
  ERR_REASON_BIND_CONFLICT,
  ERR_REASON_NODE_CONFLICT,
  ERR_REASON_PV_NOT_EXIST,
  ERR_REASON_UNBOUND_IMMEDIATE,
  filterPodVolumes,
  planPodVolumes,
  podVolumesBound,
  preFilterPodVolumes,
} from '../../controllers/volume/scheduling.js';
import type { VolumeLister } from '../../controllers/volume/scheduling.js';
import { checkNodeAffinity, findBestMatchForClaim, labelSelectorMatches } from '../../controllers/volume/util.js';

function lister(objs: { claims?: PersistentVolumeClaim[]; volumes?: PersistentVolume[]; classes?: StorageClass[] }): VolumeLister {
  return {
    claim: (ns, name) => objs.claims?.find((c) => c.metadata?.namespace === ns && c.metadata?.name === name),
    volume: (name) => objs.volumes?.find((v) => v.metadata?.name === name),
    volumes: () => objs.volumes ?? [],
    storageClass: (name) => objs.classes?.find((c) => c.metadata?.name === name),
  };
}

const node = (name: string, labels: Record<string, string> = {}): Node => ({ metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } } });
const wffc: StorageClass = { metadata: { name: 'local' }, provisioner: 'rancher.io/local-path', volumeBindingMode: 'WaitForFirstConsumer' };
const staticWffc: StorageClass = { metadata: { name: 'static' }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'WaitForFirstConsumer' };
const immediate: StorageClass = { metadata: { name: 'fast' }, provisioner: 'example.com/fast', volumeBindingMode: 'Immediate' };

function pvc(name: string, cls: string, extra: Partial<PersistentVolumeClaim['spec']> = {}, annotations?: Record<string, string>): PersistentVolumeClaim {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, ...(annotations ? { annotations } : {}) },
    spec: { storageClassName: cls, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...extra },
  };
}

function localPV(name: string, host: string, cls = 'static', size = '5Gi'): PersistentVolume {
  return {
    metadata: { name },
    spec: {
      storageClassName: cls,
      capacity: { storage: size },
      accessModes: ['ReadWriteOnce'],
      local: { path: `/mnt/${name}` },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [host] }] }] } },
    },
    status: { phase: 'Available' },
  };
}

function pod(...claims: string[]): Pod {
  return {
    metadata: { name: 'p', namespace: 'default', uid: 'pod-uid' },
    spec: { containers: [{ name: 'c', image: 'busybox' }], volumes: claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })) },
  };
}

test('PreFilter: no claims skips; missing, terminating and unbound Immediate claims are unresolvable', () => {
  assert.deepEqual(preFilterPodVolumes(pod(), lister({})), { status: 'skip' });
  assert.deepEqual(preFilterPodVolumes(pod('x'), lister({})), { status: 'unresolvable', reason: 'persistentvolumeclaim "x" not found' });
  const dying = { ...pvc('d', 'local'), metadata: { ...pvc('d', 'local').metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } };
  assert.deepEqual(preFilterPodVolumes(pod('d'), lister({ claims: [dying], classes: [wffc] })), { status: 'unresolvable', reason: 'persistentvolumeclaim "d" is being deleted' });
  assert.deepEqual(preFilterPodVolumes(pod('i'), lister({ claims: [pvc('i', 'fast')], classes: [immediate] })), { status: 'unresolvable', reason: ERR_REASON_UNBOUND_IMMEDIATE });
  const r = preFilterPodVolumes(pod('w', 'b'), lister({ claims: [pvc('w', 'local'), pvc('b', 'fast', { volumeName: 'pv-b' })], classes: [wffc, immediate] }));
  assert.equal(r.status, 'ok');
  if (r.status === 'ok') {
    assert.deepEqual(r.claims.delayed.map((c) => c.metadata?.name), ['w']);
    assert.deepEqual(r.claims.bound.map((c) => c.metadata?.name), ['b']);
  }
});

test('Filter: a bound volume must admit the node; a missing one fails everywhere', () => {
  const pv = { ...localPV('pv-b', 'n1', 'fast'), spec: { ...localPV('pv-b', 'n1', 'fast').spec, claimRef: { namespace: 'default', name: 'b', uid: 'uid-b' } }, status: { phase: 'Bound' } };
  const l = lister({ claims: [pvc('b', 'fast', { volumeName: 'pv-b' })], volumes: [pv], classes: [immediate] });
  assert.deepEqual(planPodVolumes(pod('b'), node('n1'), l).reasons, []);
  const on2 = planPodVolumes(pod('b'), node('n2'), l);
  assert.deepEqual(on2.reasons, [ERR_REASON_NODE_CONFLICT]);
  assert.equal(on2.unresolvable, true);
  const none = planPodVolumes(pod('b'), node('n1'), lister({ claims: [pvc('b', 'fast', { volumeName: 'gone' })], classes: [immediate] }));
  assert.deepEqual(none.reasons, [ERR_REASON_PV_NOT_EXIST]);
});

test('Filter: a WaitForFirstConsumer claim takes a static local volume on that node, the smallest, each volume once', () => {
  const l = lister({
    claims: [pvc('a', 'static'), pvc('b', 'static')],
    volumes: [localPV('big-n1', 'n1', 'static', '50Gi'), localPV('small-n1', 'n1', 'static', '2Gi'), localPV('only-n2', 'n2')],
    classes: [staticWffc],
  });
  const r1 = planPodVolumes(pod('a', 'b'), node('n1'), l);
  assert.deepEqual(r1.reasons, []);
  assert.deepEqual(r1.decision!.staticBindings.map((b) => [b.claim.metadata?.name, b.volume.metadata?.name]), [
    ['a', 'small-n1'],
    ['b', 'big-n1'],
  ]);
  assert.deepEqual(r1.decision!.provisions, []);
  // n2 has only one volume for two claims, and the class can't provision.
  const r2 = planPodVolumes(pod('a', 'b'), node('n2'), l);
  assert.deepEqual(r2.reasons, [ERR_REASON_BIND_CONFLICT]);
  assert.equal(r2.unresolvable, false);
});

test('Filter: a provisioning class provisions on any node its allowedTopologies admit; a selected node sticks', () => {
  const zoned: StorageClass = { ...wffc, metadata: { name: 'zoned' }, allowedTopologies: [{ matchLabelExpressions: [{ key: 'zone', values: ['a'] }] }] };
  const l = lister({ claims: [pvc('w', 'local'), pvc('z', 'zoned'), pvc('s', 'local', {}, { 'volume.kubernetes.io/selected-node': 'n1' })], classes: [wffc, zoned] });
  const r = planPodVolumes(pod('w'), node('n9'), l);
  assert.deepEqual(r.reasons, []);
  assert.deepEqual(r.decision!.provisions.map((c) => c.metadata?.name), ['w']);
  assert.deepEqual(planPodVolumes(pod('z'), node('n1', { zone: 'b' }), l).reasons, [ERR_REASON_BIND_CONFLICT]);
  assert.deepEqual(planPodVolumes(pod('z'), node('n1', { zone: 'a' }), l).reasons, []);
  assert.deepEqual(planPodVolumes(pod('s'), node('n2'), l).reasons, [ERR_REASON_BIND_CONFLICT]);
  assert.deepEqual(planPodVolumes(pod('s'), node('n1'), l).reasons, []);
  // excluded volumes (assumed for other pods this cycle) are not offered again
  const l2 = lister({ claims: [pvc('a', 'static')], volumes: [localPV('v1', 'n1')], classes: [staticWffc] });
  const pre = preFilterPodVolumes(pod('a'), l2);
  assert.equal(pre.status, 'ok');
  if (pre.status === 'ok') assert.deepEqual(filterPodVolumes(pod('a'), pre.claims, node('n1'), l2, new Set(['v1'])).reasons, [ERR_REASON_BIND_CONFLICT]);
});

test('podVolumesBound says what is still missing', () => {
  const bound = { ...pvc('b', 'local', { volumeName: 'v' }), status: { phase: 'Bound' } };
  assert.equal(podVolumesBound(pod('b'), lister({ claims: [bound] })), true);
  assert.equal(podVolumesBound(pod('b', 'w'), lister({ claims: [bound, pvc('w', 'local')] })), 'persistentvolumeclaim "w" is not bound yet');
});

test('node affinity and selectors: In/NotIn/Exists/Gt, matchFields, empty terms', () => {
  const pv = (terms: object[]): PersistentVolume => ({ metadata: { name: 'x' }, spec: { nodeAffinity: { required: { nodeSelectorTerms: terms as never } } } });
  const n = node('n1', { rack: '7', zone: 'a' });
  assert.equal(checkNodeAffinity({ metadata: { name: 'free' }, spec: {} }, n), true);
  assert.equal(checkNodeAffinity(pv([{ matchExpressions: [{ key: 'rack', operator: 'Gt', values: ['5'] }] }]), n), true);
  assert.equal(checkNodeAffinity(pv([{ matchExpressions: [{ key: 'rack', operator: 'Lt', values: ['5'] }] }]), n), false);
  assert.equal(checkNodeAffinity(pv([{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['b'] }, { key: 'gpu', operator: 'DoesNotExist' }] }]), n), true);
  assert.equal(checkNodeAffinity(pv([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }, { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }]), n), true);
  assert.equal(checkNodeAffinity(pv([{}]), n), false, 'an empty term matches nothing');
  assert.equal(labelSelectorMatches({ matchLabels: { a: '1' }, matchExpressions: [{ key: 'b', operator: 'NotIn', values: ['2'] }] }, { a: '1' }), true);
  assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'b', operator: 'Exists' }] }, { a: '1' }), false);
});

test('the PV controller path leaves unbound volumes to the scheduler for WaitForFirstConsumer claims, but takes pre-bound ones', () => {
  const c = pvc('a', 'static');
  const free = localPV('free', 'n1');
  const prebound = { ...localPV('pre', 'n1'), spec: { ...localPV('pre', 'n1').spec, claimRef: { namespace: 'default', name: 'a' } } };
  assert.equal(findBestMatchForClaim(c, [free], true), undefined);
  assert.equal(findBestMatchForClaim(c, [free], false)?.metadata?.name, 'free');
  assert.equal(findBestMatchForClaim(c, [free, prebound], true)?.metadata?.name, 'pre');
});
