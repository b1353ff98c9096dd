// The bootstrap policy's shape (labels, annotations, aggregation, bindings) and the
// start-up reconciliation: create what is missing, top up what autoupdates, never
// remove what users added, leave autoupdate=false objects alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterRole, ClusterRoleBinding } from 'kubernetes-types/rbac/v1.js';
import { AUTOUPDATE_ANNOTATION, BOOTSTRAP_LABEL, bootstrapPolicy, reconcileBootstrapPolicy } from '../../apiserver/authorization/bootstrap-policy.js';
import type { BootstrapStore, RbacKind } from '../../apiserver/authorization/bootstrap-policy.js';

test('every bootstrap object carries the rbac-defaults label and the autoupdate annotation', () => {
  const p = bootstrapPolicy();
  const all = [...p.clusterRoles, ...p.clusterRoleBindings, ...p.roles, ...p.roleBindings];
  assert.ok(all.length > 60);
  for (const o of all) {
    assert.equal(o.metadata?.labels?.[BOOTSTRAP_LABEL], 'rbac-defaults', o.metadata?.name);
    assert.equal(o.metadata?.annotations?.[AUTOUPDATE_ANNOTATION], 'true', o.metadata?.name);
    assert.equal(o.apiVersion, 'rbac.authorization.k8s.io/v1');
  }
  const names = new Set(p.clusterRoles.map((r) => r.metadata!.name));
  for (const n of ['cluster-admin', 'admin', 'edit', 'view', 'system:basic-user', 'system:discovery', 'system:public-info-viewer', 'system:node', 'system:node-proxier', 'system:kube-scheduler', 'system:volume-scheduler', 'system:kube-controller-manager', 'system:kube-dns', 'system:auth-delegator', 'system:monitoring', 'system:certificates.k8s.io:kubelet-serving-approver', 'system:controller:deployment-controller', 'system:controller:generic-garbage-collector', 'system:controller:clusterrole-aggregation-controller', 'system:kite:dns', 'system:kite:ingress', 'system:kite:netpol']) {
    assert.ok(names.has(n), n);
  }
  assert.equal(names.size, p.clusterRoles.length, 'no duplicates');
});

test('admin, edit and view aggregate by label; view feeds edit feeds admin', () => {
  const byName = new Map(bootstrapPolicy().clusterRoles.map((r) => [r.metadata!.name!, r]));
  assert.deepEqual(byName.get('admin')!.aggregationRule, { clusterRoleSelectors: [{ matchLabels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' } }] });
  assert.equal(byName.get('edit')!.metadata!.labels!['rbac.authorization.k8s.io/aggregate-to-admin'], 'true');
  assert.equal(byName.get('view')!.metadata!.labels!['rbac.authorization.k8s.io/aggregate-to-edit'], 'true');
  assert.equal(byName.get('system:aggregate-to-view')!.metadata!.labels!['rbac.authorization.k8s.io/aggregate-to-view'], 'true');
  assert.equal(byName.get('admin')!.rules, undefined, 'rules are the controller’s to fill');
});

test('bindings: masters, authenticated, unauthenticated, components, and each controller’s service account', () => {
  const crbs = new Map(bootstrapPolicy().clusterRoleBindings.map((b) => [b.metadata!.name!, b]));
  const subjects = (n: string) => crbs.get(n)!.subjects!.map((s) => `${s.kind}:${s.namespace ? `${s.namespace}/` : ''}${s.name}`);
  assert.deepEqual(subjects('cluster-admin'), ['Group:system:masters']);
  assert.deepEqual(subjects('system:basic-user'), ['Group:system:authenticated']);
  assert.deepEqual(subjects('system:public-info-viewer'), ['Group:system:authenticated', 'Group:system:unauthenticated']);
  assert.deepEqual(subjects('system:node-proxier'), ['User:system:kube-proxy']);
  assert.deepEqual(subjects('system:kube-scheduler'), ['User:system:kube-scheduler']);
  assert.deepEqual(subjects('system:controller:replicaset-controller'), ['ServiceAccount:kube-system/replicaset-controller']);
  assert.deepEqual(subjects('system:controller:generic-garbage-collector'), ['ServiceAccount:kube-system/generic-garbage-collector']);
  assert.deepEqual(subjects('system:node'), [], 'upstream binds system:node to nobody');
  assert.equal(crbs.get('cluster-admin')!.roleRef.name, 'cluster-admin');
});

class FakeStore implements BootstrapStore {
  objects = new Map<string, ClusterRole | ClusterRoleBinding>();
  writes: string[] = [];
  key = (kind: RbacKind, ns: string | undefined, name: string) => `${kind}/${ns ?? ''}/${name}`;
  get(kind: RbacKind, ns: string | undefined, name: string) {
    return structuredClone(this.objects.get(this.key(kind, ns, name)));
  }
  create(kind: RbacKind, obj: ClusterRole) {
    const k = this.key(kind, obj.metadata?.namespace, obj.metadata!.name!);
    assert.ok(!this.objects.has(k), `create of existing ${k}`);
    this.objects.set(k, obj);
    this.writes.push(`create ${k}`);
  }
  update(kind: RbacKind, obj: ClusterRole) {
    const k = this.key(kind, obj.metadata?.namespace, obj.metadata!.name!);
    this.objects.set(k, obj);
    this.writes.push(`update ${k}`);
  }
  delete(kind: RbacKind, ns: string | undefined, name: string) {
    this.objects.delete(this.key(kind, ns, name));
    this.writes.push(`delete ${this.key(kind, ns, name)}`);
  }
}

test('reconcile creates everything once, then does nothing', async () => {
  const store = new FakeStore();
  const p = bootstrapPolicy();
  const first = await reconcileBootstrapPolicy(store);
  assert.equal(first.created.length, p.clusterRoles.length + p.clusterRoleBindings.length + p.roles.length + p.roleBindings.length);
  store.writes = [];
  const second = await reconcileBootstrapPolicy(store);
  assert.deepEqual(second, { created: [], updated: [], recreated: [], skipped: [] });
  assert.deepEqual(store.writes, []);
});

test('reconcile tops up missing rules, subjects, labels; keeps user additions; respects autoupdate=false; recreates a changed roleRef', async () => {
  const store = new FakeStore();
  await reconcileBootstrapPolicy(store);
  // A user trimmed `view`'s source role and added a rule of their own.
  const agg = store.get('ClusterRole', undefined, 'system:aggregate-to-view') as ClusterRole;
  const original = agg.rules!;
  agg.rules = [...original.slice(1), { verbs: ['get'], apiGroups: ['example.com'], resources: ['widgets'] }];
  agg.metadata!.labels = { custom: 'yes' };
  store.objects.set('ClusterRole//system:aggregate-to-view', agg);
  // ...added a subject to cluster-admin and removed the masters group.
  const ca = store.get('ClusterRoleBinding', undefined, 'cluster-admin') as ClusterRoleBinding;
  ca.subjects = [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'ops' }];
  store.objects.set('ClusterRoleBinding//cluster-admin', ca);
  // ...protected system:discovery and emptied it.
  const disc = store.get('ClusterRole', undefined, 'system:discovery') as ClusterRole;
  disc.rules = [];
  disc.metadata!.annotations = { [AUTOUPDATE_ANNOTATION]: 'false' };
  store.objects.set('ClusterRole//system:discovery', disc);
  // ...and pointed a binding at another role.
  const kd = store.get('ClusterRoleBinding', undefined, 'system:kube-dns') as ClusterRoleBinding;
  kd.roleRef = { ...kd.roleRef, name: 'view' };
  store.objects.set('ClusterRoleBinding//system:kube-dns', kd);

  const report = await reconcileBootstrapPolicy(store);
  assert.deepEqual(report.updated.sort(), ['ClusterRole system:aggregate-to-view', 'ClusterRoleBinding cluster-admin']);
  assert.deepEqual(report.skipped, ['ClusterRole system:discovery']);
  assert.deepEqual(report.recreated, ['ClusterRoleBinding system:kube-dns']);

  const after = store.get('ClusterRole', undefined, 'system:aggregate-to-view') as ClusterRole;
  assert.ok(after.rules!.some((r) => r.apiGroups?.[0] === 'example.com'), 'user rule kept');
  assert.deepEqual(after.metadata!.labels, { [BOOTSTRAP_LABEL]: 'rbac-defaults', 'rbac.authorization.k8s.io/aggregate-to-view': 'true', custom: 'yes' });
  // The removed rule comes back broken down into single-verb, single-resource rules.
  for (const res of original[0].resources!) for (const verb of original[0].verbs) assert.ok(after.rules!.some((r) => r.resources?.[0] === res && r.verbs[0] === verb && r.resources.length === 1), `${verb} ${res}`);
  const admins = (store.get('ClusterRoleBinding', undefined, 'cluster-admin') as ClusterRoleBinding).subjects!.map((s) => s.name);
  assert.deepEqual(admins, ['ops', 'system:masters']);
  assert.deepEqual((store.get('ClusterRole', undefined, 'system:discovery') as ClusterRole).rules, []);
  assert.equal((store.get('ClusterRoleBinding', undefined, 'system:kube-dns') as ClusterRoleBinding).roleRef.name, 'system:kube-dns');
  // Settled.
  assert.deepEqual((await reconcileBootstrapPolicy(store)).updated, []);
});

/** A store whose writes take a while (as durable ones do): counts how many are in flight at once. */
class SlowStore extends FakeStore {
  inFlight = 0;
  maxInFlight = 0;
  ended = 0;
  failOn?: string;
  override async create(kind: RbacKind, obj: ClusterRole) {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 1));
      if (obj.metadata?.name === this.failOn) throw new Error(`refused ${this.failOn}`);
      super.create(kind, obj);
    } finally {
      this.inFlight--;
      this.ended++;
    }
  }
}

test('reconcile writes the objects at once (sharing the store’s commits) and reports them in policy order', async () => {
  const store = new SlowStore();
  const p = bootstrapPolicy();
  const report = await reconcileBootstrapPolicy(store);
  const total = p.clusterRoles.length + p.roles.length + p.clusterRoleBindings.length + p.roleBindings.length;
  assert.equal(store.maxInFlight, total, 'every create in flight together');
  const expected = [
    ...p.clusterRoles.map((o) => `ClusterRole ${o.metadata!.name}`),
    ...p.roles.map((o) => `Role ${o.metadata!.namespace}/${o.metadata!.name}`),
    ...p.clusterRoleBindings.map((o) => `ClusterRoleBinding ${o.metadata!.name}`),
    ...p.roleBindings.map((o) => `RoleBinding ${o.metadata!.namespace}/${o.metadata!.name}`),
  ];
  assert.deepEqual(report.created, expected);
});

test('a failed write fails the reconcile only once every other write has ended', async () => {
  const store = new SlowStore();
  store.failOn = 'view';
  const total = (() => {
    const p = bootstrapPolicy();
    return p.clusterRoles.length + p.roles.length + p.clusterRoleBindings.length + p.roleBindings.length;
  })();
  await assert.rejects(reconcileBootstrapPolicy(store), /refused view/);
  assert.equal(store.ended, total, 'no write still going when it reports');
  assert.equal(store.objects.size, total - 1, 'the others are written');
});
