// The RBAC authorizer against the bootstrap policy and hand-made roles: the matrix
// users expect of view/edit/admin, subjects of every kind, wildcards, subresources,
// resourceNames, non-resource URLs, reasons, memoization and invalidation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RbacAuthorizer, RbacCache } from '../../apiserver/authorization/rbac.js';
import { MemoryRbac, bootstrapped, groupSubject, nonResource, req, saSubject, u, userSubject } from './authz-fixture.js';

const alice = u('alice');

function withNamespaceRole(role: 'view' | 'edit' | 'admin'): RbacAuthorizer {
  const m = bootstrapped().bind('team', `${role}-alice`, 'ClusterRole', role, [userSubject('alice')]);
  return new RbacAuthorizer(m);
}

const allowed = (a: RbacAuthorizer, attrs: Parameters<RbacAuthorizer['authorize']>[0]) => a.authorize(attrs).decision === 'allow';

test('view: reads pods, deployments and endpointslices in its namespace, not secrets, not writes, not other namespaces', () => {
  const a = withNamespaceRole('view');
  for (const verb of ['get', 'list', 'watch']) assert.ok(allowed(a, req(alice, verb, 'pods', { ns: 'team' })), verb);
  assert.ok(allowed(a, req(alice, 'get', 'pods/log', { ns: 'team', name: 'p' })));
  assert.ok(allowed(a, req(alice, 'list', 'deployments', { group: 'apps', ns: 'team' })));
  assert.ok(allowed(a, req(alice, 'list', 'endpointslices', { group: 'discovery.k8s.io', ns: 'team' })));
  assert.ok(!allowed(a, req(alice, 'get', 'secrets', { ns: 'team', name: 's' })));
  assert.ok(!allowed(a, req(alice, 'create', 'pods', { ns: 'team' })));
  assert.ok(!allowed(a, req(alice, 'create', 'pods/exec', { ns: 'team', name: 'p' })));
  assert.ok(!allowed(a, req(alice, 'get', 'pods', { ns: 'other', name: 'p' })));
  assert.ok(!allowed(a, req(alice, 'list', 'pods')), 'a RoleBinding grants nothing cluster-wide');
});

test('edit: creates deployments, reads and writes secrets, execs, but cannot touch roles or rolebindings', () => {
  const a = withNamespaceRole('edit');
  assert.ok(allowed(a, req(alice, 'create', 'deployments', { group: 'apps', ns: 'team' })));
  assert.ok(allowed(a, req(alice, 'update', 'deployments/scale', { group: 'apps', ns: 'team', name: 'd' })));
  assert.ok(allowed(a, req(alice, 'get', 'secrets', { ns: 'team', name: 's' })));
  assert.ok(allowed(a, req(alice, 'create', 'secrets', { ns: 'team' })));
  assert.ok(allowed(a, req(alice, 'create', 'pods/exec', { ns: 'team', name: 'p' })));
  assert.ok(allowed(a, req(alice, 'create', 'serviceaccounts/token', { ns: 'team', name: 'sa' })));
  assert.ok(allowed(a, req(alice, 'list', 'pods', { ns: 'team' })), 'view aggregated into edit');
  assert.ok(!allowed(a, req(alice, 'create', 'roles', { group: 'rbac.authorization.k8s.io', ns: 'team' })));
  assert.ok(!allowed(a, req(alice, 'create', 'rolebindings', { group: 'rbac.authorization.k8s.io', ns: 'team' })));
  assert.ok(!allowed(a, req(alice, 'update', 'resourcequotas', { ns: 'team', name: 'q' })));
});

test('admin: everything edit can, plus roles and rolebindings in its namespace', () => {
  const a = withNamespaceRole('admin');
  assert.ok(allowed(a, req(alice, 'create', 'rolebindings', { group: 'rbac.authorization.k8s.io', ns: 'team' })));
  assert.ok(allowed(a, req(alice, 'delete', 'roles', { group: 'rbac.authorization.k8s.io', ns: 'team', name: 'r' })));
  assert.ok(allowed(a, req(alice, 'create', 'localsubjectaccessreviews', { group: 'authorization.k8s.io', ns: 'team' })));
  assert.ok(allowed(a, req(alice, 'create', 'deployments', { group: 'apps', ns: 'team' })), 'edit aggregated into admin');
  assert.ok(allowed(a, req(alice, 'watch', 'configmaps', { ns: 'team' })), 'view aggregated through edit into admin');
  assert.ok(!allowed(a, req(alice, 'create', 'rolebindings', { group: 'rbac.authorization.k8s.io', ns: 'other' })));
  assert.ok(!allowed(a, req(alice, 'create', 'clusterroles', { group: 'rbac.authorization.k8s.io' })));
});

test('system:masters is not special to RBAC: it is the cluster-admin binding that grants everything', () => {
  const root = u('root', 'system:masters', 'system:authenticated');
  const withPolicy = new RbacAuthorizer(bootstrapped());
  const d = withPolicy.authorize(req(root, 'delete', 'nodes', { name: 'n1' }));
  assert.equal(d.decision, 'allow');
  assert.equal(d.reason, 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"');
  assert.ok(allowed(withPolicy, nonResource(root, 'get', '/metrics')));
  const empty = new RbacAuthorizer(new MemoryRbac());
  assert.deepEqual(empty.authorize(req(root, 'get', 'pods', { ns: 'x' })), { decision: 'noOpinion', reason: '' });
});

test('a ServiceAccount with a Role allowing get pods is allowed exactly that', () => {
  const m = new MemoryRbac().addRole('apps', 'pod-reader', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]).bind('apps', 'read-pods', 'Role', 'pod-reader', [saSubject('robot')]);
  const a = new RbacAuthorizer(m);
  const robot = u('system:serviceaccount:apps:robot', 'system:serviceaccounts', 'system:serviceaccounts:apps', 'system:authenticated');
  const d = a.authorize(req(robot, 'get', 'pods', { ns: 'apps', name: 'p' }));
  assert.equal(d.decision, 'allow');
  assert.equal(d.reason, 'RBAC: allowed by RoleBinding "read-pods/apps" of Role "pod-reader" to ServiceAccount "robot/apps"');
  assert.ok(!allowed(a, req(robot, 'list', 'pods', { ns: 'apps' })));
  assert.ok(!allowed(a, req(robot, 'get', 'pods/log', { ns: 'apps', name: 'p' })));
  assert.ok(!allowed(a, req(robot, 'get', 'pods', { ns: 'other', name: 'p' })));
  assert.ok(!allowed(a, req(robot, 'get', 'pods', { ns: 'apps', name: 'p', group: 'apps' })));
  // Same name in another namespace is another account.
  assert.ok(!allowed(a, req(u('system:serviceaccount:other:robot'), 'get', 'pods', { ns: 'apps', name: 'p' })));
});

test('ServiceAccount subjects without a namespace match only in RoleBindings (the binding namespace)', () => {
  const m = new MemoryRbac()
    .addClusterRole('reader', [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }])
    .bindCluster('crb', 'reader', [saSubject('robot')])
    .bind('ns1', 'rb', 'ClusterRole', 'reader', [saSubject('robot'), saSubject('other', 'ns2')]);
  const a = new RbacAuthorizer(m);
  assert.ok(!allowed(a, req(u('system:serviceaccount:ns1:robot'), 'list', 'pods')), 'unqualified SA in a ClusterRoleBinding matches nobody');
  assert.ok(allowed(a, req(u('system:serviceaccount:ns1:robot'), 'list', 'pods', { ns: 'ns1' })));
  assert.ok(allowed(a, req(u('system:serviceaccount:ns2:other'), 'list', 'pods', { ns: 'ns1' })), 'a qualified SA from another namespace');
  assert.ok(!allowed(a, req(u('system:serviceaccount:ns2:robot'), 'list', 'pods', { ns: 'ns1' })));
});

test('Group subjects and ClusterRoleBindings grant everywhere', () => {
  const m = new MemoryRbac().addClusterRole('node-reader', [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['nodes'] }]).bindCluster('ops-nodes', 'node-reader', [groupSubject('ops')]);
  const a = new RbacAuthorizer(m);
  const d = a.authorize(req(u('bob', 'ops'), 'list', 'nodes'));
  assert.equal(d.reason, 'RBAC: allowed by ClusterRoleBinding "ops-nodes" of ClusterRole "node-reader" to Group "ops"');
  assert.ok(!allowed(a, req(u('bob', 'dev'), 'list', 'nodes')));
});

test('wildcards: verbs *, apiGroups *, resources *, */scale; pods/* is not a wildcard in authorization (as upstream)', () => {
  const m = new MemoryRbac()
    .addClusterRole('scaler', [{ verbs: ['get', 'update'], apiGroups: ['*'], resources: ['*/scale'] }])
    .addClusterRole('everything-core', [{ verbs: ['*'], apiGroups: [''], resources: ['*'] }])
    .addClusterRole('pods-star', [{ verbs: ['get'], apiGroups: [''], resources: ['pods/*'] }])
    .bindCluster('s', 'scaler', [userSubject('s')])
    .bindCluster('c', 'everything-core', [userSubject('c')])
    .bindCluster('p', 'pods-star', [userSubject('p')]);
  const a = new RbacAuthorizer(m);
  assert.ok(allowed(a, req(u('s'), 'update', 'deployments/scale', { group: 'apps', ns: 'x', name: 'd' })));
  assert.ok(allowed(a, req(u('s'), 'get', 'replicationcontrollers/scale', { ns: 'x', name: 'r' })));
  assert.ok(!allowed(a, req(u('s'), 'get', 'deployments', { group: 'apps', ns: 'x', name: 'd' })));
  assert.ok(!allowed(a, req(u('s'), 'get', 'deployments/status', { group: 'apps', ns: 'x', name: 'd' })));
  assert.ok(allowed(a, req(u('c'), 'deletecollection', 'pods/log', { ns: 'x' })), 'resources * covers subresources');
  assert.ok(allowed(a, req(u('c'), 'escalate', 'secrets', { ns: 'x' })));
  assert.ok(!allowed(a, req(u('c'), 'get', 'deployments', { group: 'apps', ns: 'x' })));
  assert.ok(allowed(a, req(u('p'), 'get', 'pods/*', { ns: 'x', name: 'a' })), 'only the literal pods/*');
  assert.ok(!allowed(a, req(u('p'), 'get', 'pods/log', { ns: 'x', name: 'a' })));
});

test('resourceNames: the rule applies only to requests naming one of them (never to list or create)', () => {
  const m = new MemoryRbac().addRole('ns', 'one-cm', [{ verbs: ['get', 'list', 'update', 'create'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['settings'] }]).bind('ns', 'b', 'Role', 'one-cm', [userSubject('carol')]);
  const a = new RbacAuthorizer(m);
  const carol = u('carol');
  assert.ok(allowed(a, req(carol, 'get', 'configmaps', { ns: 'ns', name: 'settings' })));
  assert.ok(allowed(a, req(carol, 'update', 'configmaps', { ns: 'ns', name: 'settings' })));
  assert.ok(!allowed(a, req(carol, 'get', 'configmaps', { ns: 'ns', name: 'other' })));
  assert.ok(!allowed(a, req(carol, 'list', 'configmaps', { ns: 'ns' })));
  assert.ok(!allowed(a, req(carol, 'create', 'configmaps', { ns: 'ns' })));
});

test('non-resource URLs: exact, trailing * prefix, and the bootstrap discovery and public-info roles', () => {
  const m = bootstrapped().addClusterRole('logs', [{ verbs: ['get'], nonResourceURLs: ['/logs*', '/debug/pprof/'] }]).bindCluster('logs', 'logs', [userSubject('dave')]);
  const a = new RbacAuthorizer(m);
  const dave = u('dave');
  assert.ok(allowed(a, nonResource(dave, 'get', '/logs')));
  assert.ok(allowed(a, nonResource(dave, 'get', '/logs/kube-apiserver.log')));
  assert.ok(allowed(a, nonResource(dave, 'get', '/debug/pprof/')));
  assert.ok(!allowed(a, nonResource(dave, 'get', '/debug/pprof/heap')));
  assert.ok(!allowed(a, nonResource(dave, 'post', '/logs')));
  // system:authenticated gets discovery; anonymous only public info.
  assert.ok(allowed(a, nonResource(dave, 'get', '/apis/apps/v1')));
  assert.ok(allowed(a, nonResource(dave, 'get', '/openapi/v3')));
  const anon = { name: 'system:anonymous', groups: ['system:unauthenticated'] };
  assert.ok(allowed(a, nonResource(anon, 'get', '/version')));
  assert.ok(allowed(a, nonResource(anon, 'get', '/healthz')));
  assert.ok(!allowed(a, nonResource(anon, 'get', '/api')));
  assert.ok(!allowed(a, nonResource(dave, 'get', '/metrics')));
  assert.ok(allowed(a, req(dave, 'create', 'selfsubjectaccessreviews', { group: 'authorization.k8s.io' })), 'basic-user');
});

test('bindings to missing roles: no opinion with upstream resolution errors in the reason', () => {
  const m = new MemoryRbac().bindCluster('dangling', 'gone', [userSubject('erin')]).bind('ns', 'dangling-rb', 'Role', 'missing', [userSubject('erin')]);
  const a = new RbacAuthorizer(m);
  assert.deepEqual(a.authorize(req(u('erin'), 'get', 'pods')), { decision: 'noOpinion', reason: 'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found' });
  assert.deepEqual(a.authorize(req(u('erin'), 'get', 'pods', { ns: 'ns' })), {
    decision: 'noOpinion',
    reason: 'RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, role.rbac.authorization.k8s.io "missing" not found]',
  });
  assert.deepEqual(a.authorize(req(u('frank'), 'get', 'pods', { ns: 'ns' })), { decision: 'noOpinion', reason: '' }, 'errors only from bindings that apply');
});

test('memoized per user, groups and namespace; invalidate() picks up changed bindings and roles', () => {
  const m = new MemoryRbac().addRole('ns', 'r', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]);
  const a = new RbacAuthorizer(m);
  let listed = 0;
  const original = m.roleBindings.bind(m);
  m.roleBindings = (ns: string) => {
    listed++;
    return original(ns);
  };
  const gina = u('gina');
  assert.ok(!allowed(a, req(gina, 'get', 'pods', { ns: 'ns', name: 'p' })));
  m.bind('ns', 'b', 'Role', 'r', [userSubject('gina')]);
  assert.ok(!allowed(a, req(gina, 'get', 'pods', { ns: 'ns', name: 'p' })), 'still the memoized answer');
  assert.equal(listed, 1);
  a.invalidate();
  assert.ok(allowed(a, req(gina, 'get', 'pods', { ns: 'ns', name: 'p' })));
  for (let i = 0; i < 100; i++) a.authorize(req(gina, 'get', 'pods', { ns: 'ns', name: 'p' }));
  assert.equal(listed, 2, 'one resolution per invalidation');
  assert.ok(!allowed(a, req(u('gina', 'other-group'), 'delete', 'pods', { ns: 'ns', name: 'p' })));
  assert.equal(listed, 3, 'different groups are a different key');
  m.addRole('ns', 'r', [{ verbs: ['get', 'delete'], apiGroups: [''], resources: ['pods'] }]);
  a.invalidate();
  assert.ok(allowed(a, req(gina, 'delete', 'pods', { ns: 'ns', name: 'p' })));
});

test('rulesFor: cluster rules then namespace rules, split into resource and non-resource rules', () => {
  const m = new MemoryRbac()
    .addClusterRole('urls', [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }])
    .addRole('ns', 'cm', [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] }])
    .bindCluster('c', 'urls', [userSubject('hank')])
    .bind('ns', 'b', 'Role', 'cm', [userSubject('hank')])
    .bind('ns', 'bad', 'Role', 'nope', [userSubject('hank')]);
  const a = new RbacAuthorizer(m);
  assert.deepEqual(a.rulesFor(u('hank'), 'ns'), {
    resourceRules: [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] }],
    nonResourceRules: [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }],
    incomplete: false,
    evaluationError: 'role.rbac.authorization.k8s.io "nope" not found',
  });
  assert.deepEqual(a.rulesFor(u('hank'), 'elsewhere'), { resourceRules: [], nonResourceRules: [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }], incomplete: false });
});

test('bootstrap controller and component identities hold what their controllers need', () => {
  const a = new RbacAuthorizer(bootstrapped());
  const sa = (name: string) => u(`system:serviceaccount:kube-system:${name}`, 'system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated');
  assert.ok(allowed(a, req(sa('replicaset-controller'), 'create', 'pods', { ns: 'x' })));
  assert.ok(allowed(a, req(sa('deployment-controller'), 'update', 'deployments/status', { group: 'apps', ns: 'x', name: 'd' })));
  assert.ok(!allowed(a, req(sa('deployment-controller'), 'create', 'pods', { ns: 'x' })));
  assert.ok(allowed(a, req(sa('namespace-controller'), 'deletecollection', 'widgets', { group: 'example.com', ns: 'x' })));
  assert.ok(allowed(a, req(u('system:kube-scheduler'), 'create', 'pods/binding', { ns: 'x', name: 'p' })));
  assert.ok(allowed(a, req(u('system:kube-scheduler'), 'update', 'leases', { group: 'coordination.k8s.io', ns: 'kube-system', name: 'kube-scheduler' })), 'leader-locking role');
  assert.ok(allowed(a, req(u('system:kube-proxy'), 'watch', 'endpointslices', { group: 'discovery.k8s.io' })));
  assert.ok(allowed(a, req(u('system:kite:dns'), 'watch', 'endpointslices', { group: 'discovery.k8s.io' })));
  assert.ok(!allowed(a, req(u('system:kite:dns'), 'get', 'secrets', { ns: 'x', name: 's' })));
  assert.ok(allowed(a, req(u('system:kite:ingress'), 'get', 'secrets', { ns: 'x', name: 's' })));
  assert.ok(allowed(a, req(u('system:kite:ingress'), 'update', 'ingresses/status', { group: 'networking.k8s.io', ns: 'x', name: 'i' })));
  assert.ok(allowed(a, req(u('system:kite:netpol'), 'watch', 'networkpolicies', { group: 'networking.k8s.io' })));
  assert.ok(!allowed(a, req(u('system:node:n1', 'system:nodes'), 'get', 'secrets', { ns: 'x', name: 's' })), 'nothing binds system:node in RBAC');
});

test('RbacCache: fed by watch events, invalidates the authorizer on every change', () => {
  const holder: { authorizer?: RbacAuthorizer } = {};
  const cache = new RbacCache(() => holder.authorizer?.invalidate());
  const authorizer = (holder.authorizer = new RbacAuthorizer(cache));
  const ivy = u('ivy');
  const rb = { apiVersion: 'rbac.authorization.k8s.io/v1' as const, kind: 'RoleBinding' as const, metadata: { name: 'b', namespace: 'ns' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'reader' }, subjects: [userSubject('ivy')] };
  cache.upsert(rb);
  assert.equal(authorizer.authorize(req(ivy, 'list', 'pods', { ns: 'ns' })).reason, 'RBAC: clusterrole.rbac.authorization.k8s.io "reader" not found');
  cache.upsert({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'reader' }, rules: [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }] });
  assert.ok(allowed(authorizer, req(ivy, 'list', 'pods', { ns: 'ns' })));
  assert.ok(!allowed(authorizer, req(ivy, 'list', 'pods', { ns: 'other' })));
  cache.upsert({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'c' }, roleRef: rb.roleRef, subjects: rb.subjects });
  assert.ok(allowed(authorizer, req(ivy, 'list', 'pods', { ns: 'other' })));
  cache.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'c' }, roleRef: rb.roleRef });
  cache.delete(rb);
  assert.ok(!allowed(authorizer, req(ivy, 'list', 'pods', { ns: 'ns' })));
  assert.deepEqual([...cache.roleBindings('ns')], []);
});
