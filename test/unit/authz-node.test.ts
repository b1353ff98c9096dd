// The Node authorizer (what a kubelet may read, via the pods bound to its node) and
// the NodeRestriction admission plugin (what a kubelet may write).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { AdmissionOperation, AdmissionRequest } from '../../apiserver/admission/chain.js';
import { NodeAuthorizer, NodeGraphCache, nodeRestrictionAdmission } from '../../apiserver/authorization/node.js';
import type { NodeGraphSource } from '../../apiserver/authorization/node.js';
import type { KubeObject } from '../../machinery/object.js';
import { resourceByPath } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';
import { req, u } from './authz-fixture.js';

/** A graph over plain arrays and maps that tests change freely: each question is answered by a graph cache built from them then. */
class Graph implements NodeGraphSource {
  pods: Pod[] = [];
  pvcs = new Map<string, PersistentVolumeClaim>();
  pvs = new Map<string, PersistentVolume>();
  volumeAttachmentNode?: (name: string) => string | undefined;
  private built(): NodeGraphCache {
    const cache = new NodeGraphCache();
    for (const p of this.pods) cache.upsertPod(p);
    for (const c of this.pvcs.values()) cache.upsertPVC(c);
    for (const v of this.pvs.values()) cache.upsertPV(v);
    return cache;
  }
  podReferencesOn(node: string) {
    return this.built().podReferencesOn(node);
  }
  claimVolume(ns: string, claim: string) {
    return this.built().claimVolume(ns, claim);
  }
  volumeNamesSecret(volume: string, claimNamespace: string, ns: string, name: string) {
    return this.built().volumeNamesSecret(volume, claimNamespace, ns, name);
  }
}

function pod(name: string, nodeName: string | undefined, spec: Record<string, unknown> = {}, ns = 'default'): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, uid: `uid-${name}` }, spec: { containers: [{ name: 'c', image: 'busybox' }], nodeName, ...spec } } as Pod;
}

const n1 = u('system:node:n1', 'system:nodes', 'system:authenticated');

function graph(): Graph {
  const g = new Graph();
  g.pods.push(
    pod('web', 'n1', {
      serviceAccountName: 'web-sa',
      imagePullSecrets: [{ name: 'pull' }],
      containers: [{ name: 'c', image: 'x', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'k' } } }], envFrom: [{ configMapRef: { name: 'env-cm' } }] }],
      volumes: [
        { name: 'v1', secret: { secretName: 'vol-secret' } },
        { name: 'v2', projected: { sources: [{ configMap: { name: 'proj-cm' } }, { secret: { name: 'proj-secret' } }] } },
        { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
        { name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: {} } } },
      ],
    }),
    pod('elsewhere', 'n2', { volumes: [{ name: 'v', secret: { secretName: 'n2-secret' } }] }),
    pod('pending', undefined, { volumes: [{ name: 'v', secret: { secretName: 'pending-secret' } }] }),
  );
  g.pvcs.set('default/data', { metadata: { name: 'data', namespace: 'default' }, spec: { volumeName: 'pv-data' } });
  g.pvs.set('pv-data', { metadata: { name: 'pv-data' }, spec: { csi: { driver: 'd', volumeHandle: 'h', nodePublishSecretRef: { name: 'csi-secret', namespace: 'storage' } } } });
  return g;
}

test('a node reads a secret only when a pod bound to it references it', () => {
  const a = new NodeAuthorizer(graph());
  for (const name of ['pull', 'env-secret', 'vol-secret', 'proj-secret']) assert.equal(a.authorize(req(n1, 'get', 'secrets', { ns: 'default', name })).decision, 'allow', name);
  assert.equal(a.authorize(req(n1, 'watch', 'secrets', { ns: 'default', name: 'vol-secret' })).decision, 'allow');
  assert.deepEqual(a.authorize(req(n1, 'get', 'secrets', { ns: 'default', name: 'n2-secret' })), { decision: 'noOpinion', reason: "no relationship found between node 'n1' and this object" });
  assert.equal(a.authorize(req(n1, 'get', 'secrets', { ns: 'default', name: 'pending-secret' })).decision, 'noOpinion');
  assert.equal(a.authorize(req(n1, 'get', 'secrets', { ns: 'other', name: 'vol-secret' })).decision, 'noOpinion', 'same name, other namespace');
  assert.equal(a.authorize(req(n1, 'get', 'secrets', { ns: 'storage', name: 'csi-secret' })).decision, 'allow', 'through the pod’s claim and its volume');
  const n2 = u('system:node:n2', 'system:nodes');
  assert.equal(a.authorize(req(n2, 'get', 'secrets', { ns: 'default', name: 'n2-secret' })).decision, 'allow');
  assert.equal(a.authorize(req(n2, 'get', 'secrets', { ns: 'default', name: 'vol-secret' })).decision, 'noOpinion');
});

test('upstream reasons for what the node may not do with subdivided types', () => {
  const a = new NodeAuthorizer(graph());
  assert.deepEqual(a.authorize(req(n1, 'list', 'secrets', { ns: 'default' })), { decision: 'noOpinion', reason: 'No Object name found' });
  assert.deepEqual(a.authorize(req(n1, 'create', 'secrets', { ns: 'default', name: 'x' })), { decision: 'noOpinion', reason: 'can only read resources of this type' });
  assert.deepEqual(a.authorize(req(n1, 'get', 'secrets', { name: 'x' })), { decision: 'noOpinion', reason: 'can only read namespaced object of this type' });
  assert.deepEqual(a.authorize(req(n1, 'list', 'persistentvolumes')), { decision: 'noOpinion', reason: 'can only get individual resources of this type' });
  assert.deepEqual(a.authorize(req(n1, 'create', 'serviceaccounts/token', { ns: 'default' })), { decision: 'noOpinion', reason: 'can only create tokens for individual service accounts' });
  assert.deepEqual(a.authorize(req(n1, 'get', 'leases', { group: 'coordination.k8s.io', ns: 'default', name: 'n1' })), { decision: 'noOpinion', reason: 'can only access leases in the "kube-node-lease" system namespace' });
  assert.deepEqual(a.authorize(req(n1, 'update', 'leases', { group: 'coordination.k8s.io', ns: 'kube-node-lease', name: 'n2' })), { decision: 'noOpinion', reason: 'can only access node lease with the same name as the requesting node' });
  assert.deepEqual(a.authorize(req(u('system:node:', 'system:nodes'), 'get', 'pods')), { decision: 'noOpinion', reason: 'unknown node for user "system:node:"' });
});

test('configmaps, claims, volumes, service account tokens and leases follow the pods on the node', () => {
  const a = new NodeAuthorizer(graph());
  const allow = (attrs: Parameters<NodeAuthorizer['authorize']>[0]) => a.authorize(attrs).decision === 'allow';
  assert.ok(allow(req(n1, 'get', 'configmaps', { ns: 'default', name: 'env-cm' })));
  assert.ok(allow(req(n1, 'get', 'configmaps', { ns: 'default', name: 'proj-cm' })));
  assert.ok(!allow(req(n1, 'get', 'configmaps', { ns: 'default', name: 'kube-root-ca.crt' })));
  assert.ok(allow(req(n1, 'get', 'persistentvolumeclaims', { ns: 'default', name: 'data' })));
  assert.ok(allow(req(n1, 'get', 'persistentvolumeclaims', { ns: 'default', name: 'web-scratch' })), 'ephemeral volume claim');
  assert.ok(allow(req(n1, 'patch', 'persistentvolumeclaims/status', { ns: 'default', name: 'data' })));
  assert.ok(!allow(req(n1, 'update', 'persistentvolumeclaims', { ns: 'default', name: 'data' })));
  assert.ok(allow(req(n1, 'get', 'persistentvolumes', { name: 'pv-data' })));
  assert.ok(!allow(req(n1, 'get', 'persistentvolumes', { name: 'pv-other' })));
  assert.ok(allow(req(n1, 'create', 'serviceaccounts/token', { ns: 'default', name: 'web-sa' })));
  assert.ok(!allow(req(n1, 'create', 'serviceaccounts/token', { ns: 'default', name: 'default' })));
  assert.ok(allow(req(n1, 'create', 'leases', { group: 'coordination.k8s.io', ns: 'kube-node-lease' })));
  assert.ok(allow(req(n1, 'update', 'leases', { group: 'coordination.k8s.io', ns: 'kube-node-lease', name: 'n1' })));
  assert.ok(allow(req(n1, 'update', 'csinodes', { group: 'storage.k8s.io', name: 'n1' })));
  assert.deepEqual(a.authorize(req(n1, 'get', 'csinodes', { group: 'storage.k8s.io', name: 'n2' })), { decision: 'noOpinion', reason: 'can only access CSINode with the same name as the requesting node' });
});

test('volume attachments: only those naming the node', () => {
  const g = graph();
  g.volumeAttachmentNode = (name: string) => (name === 'va-1' ? 'n1' : name === 'va-2' ? 'n2' : undefined);
  const a = new NodeAuthorizer(g);
  assert.equal(a.authorize(req(n1, 'get', 'volumeattachments', { group: 'storage.k8s.io', name: 'va-1' })).decision, 'allow');
  assert.equal(a.authorize(req(n1, 'get', 'volumeattachments', { group: 'storage.k8s.io', name: 'va-2' })).decision, 'noOpinion');
  assert.equal(a.authorize(req(n1, 'list', 'volumeattachments', { group: 'storage.k8s.io' })).reason, 'can only get individual resources of this type');
});

test('everything else a node may do is the static system:node rule set; non-nodes get no opinion', () => {
  const a = new NodeAuthorizer(graph());
  assert.equal(a.authorize(req(n1, 'get', 'nodes', { name: 'n1' })).decision, 'allow');
  assert.equal(a.authorize(req(n1, 'patch', 'nodes/status', { name: 'n1' })).decision, 'allow');
  assert.equal(a.authorize(req(n1, 'watch', 'pods')).decision, 'allow');
  assert.equal(a.authorize(req(n1, 'update', 'pods/status', { ns: 'default', name: 'web' })).decision, 'allow');
  assert.equal(a.authorize(req(n1, 'create', 'events', { ns: 'default' })).decision, 'allow');
  assert.equal(a.authorize(req(n1, 'list', 'services')).decision, 'allow');
  assert.deepEqual(a.authorize(req(n1, 'delete', 'deployments', { group: 'apps', ns: 'default', name: 'd' })), { decision: 'noOpinion', reason: '' });
  assert.deepEqual(a.authorize(req(u('alice'), 'get', 'secrets', { ns: 'default', name: 'vol-secret' })), { decision: 'noOpinion', reason: '' });
  assert.equal(a.authorize(req(u('system:node:n1'), 'get', 'nodes', { name: 'n1' })).decision, 'noOpinion', 'the name alone is not enough: group system:nodes');
});

test('a pod changed in the cache (a new object) is seen on the next request', () => {
  const g = graph();
  const a = new NodeAuthorizer(g);
  assert.equal(a.authorize(req(n1, 'get', 'secrets', { ns: 'default', name: 'late' })).decision, 'noOpinion');
  g.pods[0] = { ...g.pods[0], spec: { ...g.pods[0].spec!, volumes: [{ name: 'l', secret: { secretName: 'late' } }] } };
  assert.equal(a.authorize(req(n1, 'get', 'secrets', { ns: 'default', name: 'late' })).decision, 'allow');
});

test('NodeGraphCache: pods follow their binding and deletion; claims resolve to volumes', () => {
  const cache = new NodeGraphCache();
  const a = new NodeAuthorizer(cache);
  const p = pod('db', undefined, { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'db-data' } }, { name: 's', secret: { secretName: 'db-pass' } }] });
  cache.upsertPod(p);
  const secret = req(n1, 'get', 'secrets', { ns: 'default', name: 'db-pass' });
  assert.equal(a.authorize(secret).decision, 'noOpinion', 'not scheduled yet');
  cache.upsertPod({ ...p, spec: { ...p.spec!, nodeName: 'n1' } });
  assert.equal(a.authorize(secret).decision, 'allow');
  cache.upsertPVC({ metadata: { name: 'db-data', namespace: 'default' }, spec: { volumeName: 'pv-1' } });
  cache.upsertPV({ metadata: { name: 'pv-1' }, spec: {} });
  assert.equal(a.authorize(req(n1, 'get', 'persistentvolumes', { name: 'pv-1' })).decision, 'allow');
  cache.deletePod(p);
  assert.equal(a.authorize(secret).decision, 'noOpinion');
  assert.equal(cache.podCountOn('n1'), 0);
});

test('NodeGraphCache: pods referencing the same names share them; a name stays reachable while any pod on the node references it', () => {
  const cache = new NodeGraphCache();
  const a = new NodeAuthorizer(cache);
  const replica = (name: string, node: string) => pod(name, node, { volumes: [{ name: 's', secret: { secretName: 'shared' } }] });
  const [r1, r2, r3] = [replica('r1', 'n1'), replica('r2', 'n1'), replica('r3', 'n2')];
  for (const p of [r1, r2, r3]) cache.upsertPod(p);
  assert.equal(cache.podCountOn('n1'), 2);
  assert.equal([...cache.podReferencesOn('n1')].length, 1, 'one set of references for both pods');
  assert.equal([...cache.podReferencesOn('n1')][0], [...cache.podReferencesOn('n2')][0], 'the same set on every node');
  const secret = req(n1, 'get', 'secrets', { ns: 'default', name: 'shared' });
  cache.deletePod(r1);
  assert.equal(a.authorize(secret).decision, 'allow', 'r2 still references it');
  cache.upsertPod({ ...r2, spec: { ...r2.spec!, volumes: [] } });
  assert.equal(a.authorize(secret).decision, 'noOpinion', 'r2 no longer references it');
  assert.equal(cache.podCountOn('n1'), 1);
  cache.deletePod(r2);
  cache.deletePod(r2);
  assert.equal(cache.podCountOn('n1'), 0, 'a second delete changes nothing');
  assert.equal(a.authorize(req(u('system:node:n2', 'system:nodes'), 'get', 'secrets', { ns: 'default', name: 'shared' })).decision, 'allow');
});

test('NodeGraphCache: a write keeping the spec object keeps the pod filed; a pod sharing the object, or a claim status added, is filed on its own', () => {
  const cache = new NodeGraphCache();
  const a = new NodeAuthorizer(cache);
  const spec: Pod['spec'] = { nodeName: 'n1', containers: [{ name: 'c' }], volumes: [{ name: 'scratch', ephemeral: {} }, { name: 's', secret: { secretName: 'app' } }] };
  const p1: Pod = { metadata: { name: 'p1', namespace: 'default' }, spec };
  cache.upsertPod(p1);
  cache.upsertPod({ ...p1, status: { phase: 'Running' } });
  assert.equal(cache.podCountOn('n1'), 1);
  const claim = (name: string) => req(n1, 'get', 'persistentvolumeclaims', { ns: 'default', name });
  cache.upsertPVC({ metadata: { name: 'p1-scratch', namespace: 'default' }, spec: { volumeName: 'pv-1' } });
  cache.upsertPVC({ metadata: { name: 'p2-scratch', namespace: 'default' }, spec: { volumeName: 'pv-2' } });
  cache.upsertPV({ metadata: { name: 'pv-1' }, spec: {} });
  cache.upsertPV({ metadata: { name: 'pv-2' }, spec: {} });
  assert.equal(a.authorize(claim('p1-scratch')).decision, 'allow');
  // Another pod with the very same spec object: its ephemeral claim is named after it.
  const p2: Pod = { metadata: { name: 'p2', namespace: 'default' }, spec };
  cache.upsertPod(p2);
  cache.upsertPod({ ...p1, metadata: { ...p1.metadata, labels: { a: 'b' } } });
  assert.equal(cache.podCountOn('n1'), 2);
  assert.equal(a.authorize(claim('p2-scratch')).decision, 'allow');
  cache.deletePod(p2);
  assert.equal(a.authorize(claim('p2-scratch')).decision, 'noOpinion', 'p1 does not reference p2-scratch');
  assert.equal(a.authorize(claim('p1-scratch')).decision, 'allow');
  // Resource claim statuses come from the status: the same spec, new references.
  cache.upsertPod({ ...p1, status: { resourceClaimStatuses: [{ name: 'gpu', resourceClaimName: 'p1-gpu' }] } });
  assert.equal(a.authorize(req(n1, 'get', 'resourceclaims', { group: 'resource.k8s.io', ns: 'default', name: 'p1-gpu' })).decision, 'allow');
  cache.upsertPod({ ...p1, status: {} });
  assert.equal(a.authorize(req(n1, 'get', 'resourceclaims', { group: 'resource.k8s.io', ns: 'default', name: 'p1-gpu' })).decision, 'noOpinion');
  cache.deletePod(p1);
  assert.equal(cache.podCountOn('n1'), 0);
  assert.equal(a.authorize(req(n1, 'get', 'secrets', { ns: 'default', name: 'app' })).decision, 'noOpinion');
});

// ---- NodeRestriction ------------------------------------------------------------

const R = {
  pods: resourceByPath('', 'v1', 'pods')!,
  nodes: resourceByPath('', 'v1', 'nodes')!,
  leases: resourceByPath('coordination.k8s.io', 'v1', 'leases')!,
  serviceaccounts: resourceByPath('', 'v1', 'serviceaccounts')!,
  pvcs: resourceByPath('', 'v1', 'persistentvolumeclaims')!,
};

function admission(resource: keyof typeof R, operation: AdmissionOperation, opts: { name?: string; namespace?: string; subresource?: string; object?: KubeObject; oldObject?: KubeObject; user?: typeof n1 }): AdmissionRequest {
  return { operation, resource: R[resource], subresource: opts.subresource ?? '', namespace: opts.namespace ?? '', name: opts.name ?? '', object: opts.object, oldObject: opts.oldObject, user: opts.user ?? n1, dryRun: false, warnings: [] };
}

function restriction() {
  const g = graph();
  const node: Node = { metadata: { name: 'n1', uid: 'node-uid' } };
  return nodeRestrictionAdmission({ pod: (ns, name) => g.pods.find((p) => p.metadata?.namespace === ns && p.metadata?.name === name), node: (name) => (name === 'n1' ? node : undefined) });
}

function forbids(fn: () => void, message: string, code = 403): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StatusError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.message, message);
    return true;
  });
}

const nodeObj = (labels: Record<string, string> = {}, spec: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels }, spec });

test('NodeRestriction: a node changes only its own Node, its allowed labels, and never its taints', () => {
  const p = restriction();
  p.admit!(admission('nodes', 'CREATE', { object: nodeObj({ 'kubernetes.io/hostname': 'n1', 'node.kubernetes.io/exclude-from-external-load-balancers': '', 'example.com/rack': 'r1' }) }));
  forbids(() => p.admit!(admission('nodes', 'UPDATE', { name: 'n2', object: { ...nodeObj(), metadata: { name: 'n2' } }, oldObject: { ...nodeObj(), metadata: { name: 'n2' } } })), 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"');
  forbids(() => p.admit!(admission('nodes', 'DELETE', { name: 'n2' })), 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"');
  forbids(
    () => p.admit!(admission('nodes', 'CREATE', { object: nodeObj({ 'node-restriction.kubernetes.io/secure': 'true', 'node-role.kubernetes.io/master': '' }) })),
    'nodes "n1" is forbidden: node "n1" is not allowed to set the following labels: node-restriction.kubernetes.io/secure, node-role.kubernetes.io/master',
  );
  forbids(() => p.admit!(admission('nodes', 'UPDATE', { name: 'n1', object: nodeObj({ 'foo.k8s.io/x': '1' }), oldObject: nodeObj() })), 'nodes "n1" is forbidden: is not allowed to modify labels: foo.k8s.io/x');
  forbids(() => p.admit!(admission('nodes', 'UPDATE', { name: 'n1', object: nodeObj({}, { taints: [] }), oldObject: nodeObj({}, { taints: [{ key: 'k', effect: 'NoSchedule' }] }) })), 'nodes "n1" is forbidden: node "n1" is not allowed to modify taints');
  p.admit!(admission('nodes', 'UPDATE', { name: 'n1', subresource: 'status', object: nodeObj({ 'topology.kubernetes.io/zone': 'z' }), oldObject: nodeObj() }));
  p.admit!(admission('nodes', 'UPDATE', { name: 'x', object: nodeObj(), oldObject: nodeObj(), user: u('alice') }));
});

const mirrorPod = (extra: Record<string, unknown> = {}, ownerExtra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'static-n1', namespace: 'kube-system', annotations: { 'kubernetes.io/config.mirror': 'hash' }, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'node-uid', controller: true, ...ownerExtra }] },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }], ...extra },
});

test('NodeRestriction: pods — only mirror pods owned by the node, referencing nothing; delete and evict only its own', () => {
  const p = restriction();
  p.admit!(admission('pods', 'CREATE', { namespace: 'kube-system', object: mirrorPod() }));
  const plain = mirrorPod();
  delete plain.metadata!.annotations;
  forbids(() => p.admit!(admission('pods', 'CREATE', { namespace: 'kube-system', object: plain })), 'pods "static-n1" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods');
  forbids(() => p.admit!(admission('pods', 'CREATE', { namespace: 'kube-system', object: mirrorPod({ nodeName: 'n2' }) })), 'pods "static-n1" is forbidden: node "n1" can only create pods with spec.nodeName set to itself');
  forbids(() => p.admit!(admission('pods', 'CREATE', { namespace: 'kube-system', object: mirrorPod({}, { uid: 'other' }) })), 'pods "static-n1" is forbidden: node n1 UID mismatch: expected other got node-uid');
  forbids(() => p.admit!(admission('pods', 'CREATE', { namespace: 'kube-system', object: mirrorPod({}, { controller: false }) })), 'pods "static-n1" is forbidden: node "n1" can only create pods with a controller owner reference set to itself');
  forbids(
    () => p.admit!(admission('pods', 'CREATE', { namespace: 'kube-system', object: mirrorPod({ volumes: [{ name: 's', secret: { secretName: 'x' } }] }) })),
    'pods "static-n1" is forbidden: node "n1" can not create pods that reference secrets',
  );
  forbids(() => p.admit!(admission('pods', 'CREATE', { namespace: 'kube-system', object: mirrorPod({ serviceAccountName: 'sa' }) })), 'pods "static-n1" is forbidden: node "n1" can not create pods that reference a service account');
  p.admit!(admission('pods', 'DELETE', { namespace: 'default', name: 'web' }));
  forbids(() => p.admit!(admission('pods', 'DELETE', { namespace: 'default', name: 'elsewhere' })), 'pods "elsewhere" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself');
  forbids(() => p.admit!(admission('pods', 'DELETE', { namespace: 'default', name: 'ghost' })), 'pod "ghost" not found', 404);
  forbids(() => p.admit!(admission('pods', 'UPDATE', { namespace: 'default', name: 'web', object: pod('web', 'n1') as KubeObject, oldObject: pod('web', 'n1') as KubeObject })), 'pods "web" is forbidden: unexpected operation "UPDATE", node "n1" can only create and delete mirror pods');
  const evict = (name: string): KubeObject => ({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'default' } });
  p.admit!(admission('pods', 'CREATE', { namespace: 'default', name: 'web', subresource: 'eviction', object: evict('web') }));
  forbids(() => p.admit!(admission('pods', 'CREATE', { namespace: 'default', name: 'elsewhere', subresource: 'eviction', object: evict('elsewhere') })), 'pods "elsewhere" is forbidden: node n1 can only evict pods with spec.nodeName set to itself');
  forbids(() => p.admit!(admission('pods', 'UPDATE', { namespace: 'default', name: 'web', subresource: 'exec' })), 'pods "web" is forbidden: unexpected pod subresource "exec", only \'status\' and \'eviction\' are allowed');
});

test('NodeRestriction: pod status only for its own pods, without label changes', () => {
  const p = restriction();
  const web = pod('web', 'n1') as KubeObject;
  p.admit!(admission('pods', 'UPDATE', { namespace: 'default', name: 'web', subresource: 'status', object: { ...web, status: { phase: 'Running' } }, oldObject: web }));
  const other = pod('elsewhere', 'n2') as KubeObject;
  forbids(() => p.admit!(admission('pods', 'UPDATE', { namespace: 'default', name: 'elsewhere', subresource: 'status', object: other, oldObject: other })), 'pods "elsewhere" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself');
  const relabeled = structuredClone(web);
  relabeled.metadata!.labels = { a: 'b' };
  forbids(() => p.admit!(admission('pods', 'UPDATE', { namespace: 'default', name: 'web', subresource: 'status', object: relabeled, oldObject: web })), 'pods "web" is forbidden: node "n1" cannot update labels through pod status');
});

test('NodeRestriction: its own lease only; tokens only bound to its pods; PVC status only', () => {
  const p = restriction();
  const lease = (name: string): KubeObject => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease' } });
  p.admit!(admission('leases', 'CREATE', { namespace: 'kube-node-lease', object: lease('n1') }));
  forbids(() => p.admit!(admission('leases', 'CREATE', { namespace: 'kube-node-lease', object: lease('n2') })), 'leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node');
  forbids(() => p.admit!(admission('leases', 'UPDATE', { namespace: 'default', name: 'n1', object: lease('n1'), oldObject: lease('n1') })), 'leases.coordination.k8s.io "n1" is forbidden: can only access leases in the "kube-node-lease" system namespace');
  const token = (ref: Record<string, unknown> | undefined): KubeObject => ({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['a'], boundObjectRef: ref } });
  p.admit!(admission('serviceaccounts', 'CREATE', { namespace: 'default', name: 'web-sa', subresource: 'token', object: token({ apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'uid-web' }) }));
  forbids(() => p.admit!(admission('serviceaccounts', 'CREATE', { namespace: 'default', name: 'web-sa', subresource: 'token', object: token(undefined) })), 'serviceaccounts "web-sa" is forbidden: node requested token not bound to a pod');
  forbids(
    () => p.admit!(admission('serviceaccounts', 'CREATE', { namespace: 'default', name: 'sa', subresource: 'token', object: token({ apiVersion: 'v1', kind: 'Pod', name: 'elsewhere', uid: 'uid-elsewhere' }) })),
    'serviceaccounts "sa" is forbidden: node requested token bound to a pod scheduled on a different node',
  );
  const pvc: KubeObject = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'default', resourceVersion: '1' }, spec: { volumeName: 'pv' }, status: { phase: 'Bound' } };
  p.admit!(admission('pvcs', 'UPDATE', { namespace: 'default', name: 'data', subresource: 'status', object: { ...pvc, metadata: { ...pvc.metadata, resourceVersion: '' }, status: { phase: 'Bound', capacity: { storage: '2Gi' } } }, oldObject: pvc }));
  assert.throws(() => p.admit!(admission('pvcs', 'UPDATE', { namespace: 'default', name: 'data', subresource: 'status', object: { ...pvc, status: { phase: 'Lost' } }, oldObject: pvc })), /node "n1" is not allowed to update fields other than status.capacity and status.conditions/);
  forbids(() => p.admit!(admission('pvcs', 'UPDATE', { namespace: 'default', name: 'data', object: pvc, oldObject: pvc })), 'persistentvolumeclaims "data" is forbidden: may only update PVC status');
});
