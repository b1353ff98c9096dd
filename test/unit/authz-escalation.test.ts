// Escalation prevention on RBAC writes: refused with upstream's message when the
// user lacks a permission, allowed when held, with `escalate` or `bind`, for
// system:masters, and the cluster-admin requirement for aggregation rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterRole } from 'kubernetes-types/rbac/v1.js';
import type { AdmissionOperation, AdmissionRequest } from '../../apiserver/admission/chain.js';
import type { UserInfo } from '../../apiserver/context.js';
import { RbacAuthorizer, compactRules, compactString, covers } from '../../apiserver/authorization/rbac.js';
import { rbacEscalationAdmission } from '../../apiserver/authorization/escalation.js';
import type { PolicyRule } from '../../apiserver/authorization/types.js';
import type { KubeObject } from '../../machinery/object.js';
import { resourceByPath } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';
import { MemoryRbac, bootstrapped, u, userSubject } from './authz-fixture.js';

const RES = {
  roles: resourceByPath('rbac.authorization.k8s.io', 'v1', 'roles')!,
  clusterroles: resourceByPath('rbac.authorization.k8s.io', 'v1', 'clusterroles')!,
  rolebindings: resourceByPath('rbac.authorization.k8s.io', 'v1', 'rolebindings')!,
  clusterrolebindings: resourceByPath('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings')!,
};

function plugin(m: MemoryRbac) {
  const rbac = new RbacAuthorizer(m);
  return rbacEscalationAdmission({ rbac, authorize: (a) => rbac.authorize(a), source: m });
}

function request(resource: keyof typeof RES, user: UserInfo, object: KubeObject, opts: { operation?: AdmissionOperation; namespace?: string; oldObject?: KubeObject } = {}): AdmissionRequest {
  const operation = opts.operation ?? 'CREATE';
  return { operation, resource: RES[resource], subresource: '', namespace: opts.namespace ?? '', name: operation === 'CREATE' ? '' : object.metadata!.name!, object, oldObject: opts.oldObject, user, dryRun: false, warnings: [] };
}

const role = (name: string, rules: PolicyRule[], namespace = 'team'): KubeObject => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace }, rules });
const clusterRole = (name: string, rules: PolicyRule[], extra: Partial<ClusterRole> = {}): KubeObject => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules, ...extra }) as KubeObject;
const binding = (name: string, kind: 'Role' | 'ClusterRole', roleName: string, namespace?: string): KubeObject =>
  ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: namespace ? 'RoleBinding' : 'ClusterRoleBinding', metadata: namespace ? { name, namespace } : { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: roleName }, subjects: [userSubject('mallory')] }) as KubeObject;

function rejects(fn: () => void, code: number, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StatusError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.message, message);
    return true;
  });
}

const alice = u('alice', 'g1', 'g2');
const adminInTeam = () => bootstrapped().bind('team', 'alice-admin', 'ClusterRole', 'admin', [userSubject('alice')]);

test('a namespace admin may create a Role with rules it holds, not one with rules it lacks (upstream message)', () => {
  const p = plugin(adminInTeam());
  p.validate!(request('roles', alice, role('pod-reader', [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }]), { namespace: 'team' }));
  rejects(
    () => p.validate!(request('roles', alice, role('node-admin', [{ verbs: ['get', 'delete'], apiGroups: [''], resources: ['nodes', 'pods'] }, { verbs: ['get'], apiGroups: [''], resources: ['resourcequotas/status'] }]), { namespace: 'team' })),
    403,
    'roles.rbac.authorization.k8s.io "node-admin" is forbidden: user "alice" (groups=["g1" "g2"]) is attempting to grant RBAC permissions not currently held:\n' +
      '{APIGroups:[""], Resources:["nodes"], Verbs:["get" "delete"]}',
  );
  // The same rules in another namespace: nothing held there.
  rejects(
    () => p.validate!(request('roles', alice, role('r', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], 'other'), { namespace: 'other' })),
    403,
    'roles.rbac.authorization.k8s.io "r" is forbidden: user "alice" (groups=["g1" "g2"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["pods"], Verbs:["get"]}',
  );
});

test('ClusterRoles are checked against cluster-wide rules only; the missing rules are compacted and sorted', () => {
  const p = plugin(adminInTeam());
  rejects(
    () =>
      p.validate!(
        request(
          'clusterroles',
          alice,
          clusterRole('x', [
            { verbs: ['delete'], apiGroups: [''], resources: ['pods'] },
            { verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a', 'b'] },
            { verbs: ['get'], nonResourceURLs: ['/metrics'] },
          ]),
        ),
      ),
    403,
    'clusterroles.rbac.authorization.k8s.io "x" is forbidden: user "alice" (groups=["g1" "g2"]) is attempting to grant RBAC permissions not currently held:\n' +
      ['{APIGroups:[""], Resources:["configmaps"], ResourceNames:["a"], Verbs:["get"]}', '{APIGroups:[""], Resources:["configmaps"], ResourceNames:["b"], Verbs:["get"]}', '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}', '{NonResourceURLs:["/metrics"], Verbs:["get"]}'].join('\n'),
  );
});

test('the escalate verb on roles lets a user write rules it does not hold', () => {
  const m = adminInTeam().addClusterRole('role-escalator', [{ verbs: ['escalate'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'] }]).bind('team', 'esc', 'ClusterRole', 'role-escalator', [userSubject('alice')]);
  const p = plugin(m);
  p.validate!(request('roles', alice, role('anything', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]), { namespace: 'team' }));
  assert.throws(() => p.validate!(request('clusterroles', alice, clusterRole('anything', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]))), /is attempting to grant RBAC permissions not currently held/);
});

test('bindings: allowed when the user holds the role, refused otherwise, allowed with bind on that role name', () => {
  const m = adminInTeam().addClusterRole('secret-deleter', [{ verbs: ['delete', 'deletecollection'], apiGroups: [''], resources: ['secrets', 'nodes'] }]);
  let p = plugin(m);
  p.validate!(request('rolebindings', alice, binding('mallory-edit', 'ClusterRole', 'edit', 'team'), { namespace: 'team' }));
  p.validate!(request('rolebindings', alice, binding('mallory-view', 'ClusterRole', 'view', 'team'), { namespace: 'team' }));
  rejects(
    () => p.validate!(request('rolebindings', alice, binding('mallory-sd', 'ClusterRole', 'secret-deleter', 'team'), { namespace: 'team' })),
    403,
    'rolebindings.rbac.authorization.k8s.io "mallory-sd" is forbidden: user "alice" (groups=["g1" "g2"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["delete" "deletecollection"]}',
  );
  // view cluster-wide: everything it holds is missing (one line per group and resource, sorted).
  assert.throws(
    () => p.validate!(request('clusterrolebindings', alice, binding('mallory-view-everywhere', 'ClusterRole', 'view'))),
    (err: unknown) => {
      const msg = (err as StatusError).message;
      const lines = msg.split('\n');
      assert.equal(lines[0], 'clusterrolebindings.rbac.authorization.k8s.io "mallory-view-everywhere" is forbidden: user "alice" (groups=["g1" "g2"]) is attempting to grant RBAC permissions not currently held:');
      assert.equal(lines[1], '{APIGroups:[""], Resources:["bindings"], Verbs:["get" "list" "watch"]}');
      assert.ok(lines.includes('{APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "list" "watch"]}'));
      assert.deepEqual(lines.slice(1), [...lines.slice(1)].sort());
      return true;
    },
  );
  // bind on exactly that ClusterRole name, granted in the namespace.
  m.addClusterRole('binder', [{ verbs: ['bind'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['secret-deleter'] }]).bind('team', 'binder', 'ClusterRole', 'binder', [userSubject('alice')]);
  p = plugin(m);
  p.validate!(request('rolebindings', alice, binding('mallory-sd', 'ClusterRole', 'secret-deleter', 'team'), { namespace: 'team' }));
  assert.throws(() => p.validate!(request('clusterrolebindings', alice, binding('mallory-sd', 'ClusterRole', 'secret-deleter'))), /forbidden/, 'bind in a namespace does not allow a ClusterRoleBinding');
});

test('binding to a role that does not exist is NotFound (for users who cannot bind it)', () => {
  const p = plugin(adminInTeam());
  rejects(() => p.validate!(request('rolebindings', alice, binding('b', 'Role', 'ghost', 'team'), { namespace: 'team' })), 404, 'role.rbac.authorization.k8s.io "ghost" not found');
});

test('resolution errors are appended to the message', () => {
  const m = new MemoryRbac().addRole('team', 'pods', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]).bind('team', 'ok', 'Role', 'pods', [userSubject('alice')]).bind('team', 'broken', 'Role', 'ghost', [userSubject('alice')]);
  const p = plugin(m);
  rejects(
    () => p.validate!(request('roles', alice, role('r', [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }]), { namespace: 'team' })),
    403,
    'roles.rbac.authorization.k8s.io "r" is forbidden: user "alice" (groups=["g1" "g2"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["pods"], Verbs:["list"]}; resolution errors: [role.rbac.authorization.k8s.io "ghost" not found]',
  );
});

test('system:masters bypasses the checks; updates that only touch finalizers or owners are not checked', () => {
  const p = plugin(new MemoryRbac());
  p.validate!(request('clusterroles', u('root', 'system:masters'), clusterRole('all', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }])));
  const old = clusterRole('all', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]);
  old.metadata!.resourceVersion = '5';
  const next = structuredClone(old);
  next.metadata!.finalizers = ['example.com/keep'];
  p.validate!(request('clusterroles', u('gc'), next, { operation: 'UPDATE', oldObject: old }));
  const changed = structuredClone(old);
  changed.metadata!.labels = { a: 'b' };
  assert.throws(() => p.validate!(request('clusterroles', u('gc'), changed, { operation: 'UPDATE', oldObject: old })), /not currently held/);
});

test('an aggregationRule needs cluster-admin privileges, even with an empty rule list', () => {
  const m = adminInTeam().addClusterRole('escalator', [{ verbs: ['get', 'list', 'create', 'update'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'] }]).bindCluster('e', 'escalator', [userSubject('alice')]);
  const p = plugin(m);
  const agg = clusterRole('agg', [], { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: 'y' } }] } });
  rejects(() => p.validate!(request('clusterroles', alice, agg)), 403, 'clusterroles.rbac.authorization.k8s.io "agg" is forbidden: must have cluster-admin privileges to use the aggregationRule');
  // Removing the rule from an aggregated role needs it too (the old object is checked).
  rejects(() => p.validate!(request('clusterroles', alice, clusterRole('agg', []), { operation: 'UPDATE', oldObject: agg })), 403, 'clusterroles.rbac.authorization.k8s.io "agg" is forbidden: must have cluster-admin privileges to use the aggregationRule');
  const admin = new MemoryRbac().addClusterRole('cluster-admin', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }]).bindCluster('root', 'cluster-admin', [userSubject('root')]);
  plugin(admin).validate!(request('clusterroles', u('root'), agg));
});

test('Covers and CompactRules as upstream: */subresource covers subresources, verbs merge per resource', () => {
  const owner: PolicyRule[] = [{ verbs: ['get'], apiGroups: ['*'], resources: ['*/scale'] }, { verbs: ['get'], nonResourceURLs: ['/api/*'] }];
  assert.ok(covers(owner, [{ verbs: ['get'], apiGroups: ['apps'], resources: ['deployments/scale'] }]).covered);
  assert.ok(!covers(owner, [{ verbs: ['get'], apiGroups: ['apps'], resources: ['deployments'] }]).covered);
  assert.ok(covers(owner, [{ verbs: ['get'], nonResourceURLs: ['/api/v1'] }]).covered);
  assert.ok(!covers(owner, [{ verbs: ['get'], nonResourceURLs: ['/apis'] }]).covered);
  const compact = compactRules([
    { verbs: ['get'], apiGroups: [''], resources: ['pods'] },
    { verbs: ['list'], apiGroups: [''], resources: ['pods'] },
    { verbs: ['get'], nonResourceURLs: ['/x'] },
  ]).map(compactString);
  assert.deepEqual(compact, ['{NonResourceURLs:["/x"], Verbs:["get"]}', '{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}']);
});
