// The ClusterRole aggregation controller against the in-process API: the bootstrap
// view → edit → admin chain, a custom role joining by label, leaving, and the
// controller's server-side apply stomping hand edits of an aggregated role's rules.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterRole } from 'kubernetes-types/rbac/v1.js';
import { ClusterRoleAggregationController, FIELD_MANAGER, aggregatedRules } from '../../controllers/clusterroleaggregation/controller.js';
import { bootstrapPolicy } from '../../apiserver/authorization/bootstrap-policy.js';
import { resourceByPath } from '../../machinery/resources.js';
import { eventually, harness, tryGet } from './controllers-housekeeping-fixture.js';
import type { Harness } from './controllers-housekeeping-fixture.js';

const CLUSTER_ROLES = resourceByPath('rbac.authorization.k8s.io', 'v1', 'clusterroles')!;
let h: Harness;

beforeEach(async () => {
  h = await harness();
});

afterEach(async () => {
  await h.close();
});

const get = (name: string) => tryGet<ClusterRole>(h.client, CLUSTER_ROLES, undefined, name);
const hasRule = (role: ClusterRole | undefined, group: string, resource: string, verb: string) => !!role?.rules?.some((r) => r.apiGroups?.includes(group) && r.resources?.includes(resource) && r.verbs.includes(verb));

async function loadBootstrapRoles(): Promise<void> {
  for (const r of bootstrapPolicy().clusterRoles) {
    if (['admin', 'edit', 'view'].includes(r.metadata!.name!) || r.metadata!.name!.startsWith('system:aggregate-to-')) await h.client.create(CLUSTER_ROLES, undefined, r);
  }
}

test('view, edit and admin get their rules through the aggregation chain, by the controller’s field manager', async () => {
  await loadBootstrapRoles();
  await h.run((ctx) => new ClusterRoleAggregationController(ctx, { log: () => undefined }));
  const admin = await eventually('admin aggregated through edit and view', async () => {
    const a = await get('admin');
    return hasRule(a, '', 'pods', 'list') && hasRule(a, 'apps', 'deployments', 'create') && hasRule(a, 'rbac.authorization.k8s.io', 'rolebindings', 'create') ? a : undefined;
  });
  const view = (await get('view'))!;
  const edit = (await get('edit'))!;
  const source = (await get('system:aggregate-to-view'))!;
  assert.deepEqual(view.rules, source.rules, 'view is exactly its one source');
  assert.ok(!hasRule(view, '', 'secrets', 'get'));
  assert.ok(hasRule(edit, '', 'secrets', 'get'));
  assert.ok(!hasRule(edit, 'rbac.authorization.k8s.io', 'roles', 'create'));
  // Order: selectors in order, matching roles by name, rules deduplicated.
  const all = [admin, edit, view, source, (await get('system:aggregate-to-edit'))!, (await get('system:aggregate-to-admin'))!];
  assert.deepEqual(admin.rules, aggregatedRules(admin, all));
  assert.ok(admin.metadata?.managedFields?.some((f) => f.manager === FIELD_MANAGER));
});

test('a role joins and leaves an aggregate by its label; hand edits of aggregated rules are stomped', async () => {
  const selector = { clusterRoleSelectors: [{ matchLabels: { 'example.com/aggregate-to-monitoring': 'true' } }] };
  await h.client.create(CLUSTER_ROLES, undefined, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'monitoring' }, aggregationRule: selector });
  const dup = { verbs: ['get'], apiGroups: [''], resources: ['pods'] };
  await h.client.create(CLUSTER_ROLES, undefined, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'b-metrics', labels: { 'example.com/aggregate-to-monitoring': 'true' } }, rules: [{ verbs: ['get'], apiGroups: ['metrics.k8s.io'], resources: ['pods'] }, dup] });
  await h.run((ctx) => new ClusterRoleAggregationController(ctx, { log: () => undefined }));
  await eventually('monitoring has b-metrics rules', async () => (await get('monitoring'))?.rules?.length === 2);
  await h.client.create(CLUSTER_ROLES, undefined, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'a-nodes', labels: { 'example.com/aggregate-to-monitoring': 'true' } }, rules: [{ verbs: ['list'], apiGroups: [''], resources: ['nodes'] }, dup] });
  const joined = await eventually('a-nodes joined, first by name, duplicate once', async () => {
    const m = await get('monitoring');
    return m?.rules?.length === 3 ? m : undefined;
  });
  assert.deepEqual(joined.rules, [{ verbs: ['list'], apiGroups: [''], resources: ['nodes'] }, dup, { verbs: ['get'], apiGroups: ['metrics.k8s.io'], resources: ['pods'] }]);
  // A hand edit of the aggregated role is put back.
  await h.client.patch(CLUSTER_ROLES, undefined, 'monitoring', 'merge', { rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }] });
  await eventually('rules restored', async () => (await get('monitoring'))?.rules?.length === 3);
  // Removing the label takes the role's rules out.
  await h.client.patch(CLUSTER_ROLES, undefined, 'a-nodes', 'merge', { metadata: { labels: { 'example.com/aggregate-to-monitoring': null } } });
  await eventually('a-nodes left', async () => {
    const m = await get('monitoring');
    return m?.rules?.length === 2 && !hasRule(m, '', 'nodes', 'list');
  });
  await h.client.delete(CLUSTER_ROLES, undefined, 'b-metrics');
  await eventually('empty once nothing matches', async () => ((await get('monitoring'))?.rules ?? []).length === 0);
});
