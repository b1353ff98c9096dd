// Shared set-up for the authorization tests: an in-memory RbacSource over plain
// objects (indexed the way the lead's informer-backed source will be), the bootstrap
// policy with its aggregated roles filled in, and request attributes.
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding, Subject } from 'kubernetes-types/rbac/v1.js';
import type { UserInfo } from '../../apiserver/context.js';
import type { RbacSource } from '../../apiserver/authorization/rbac.js';
import type { PolicyRule, RequestAttributes } from '../../apiserver/authorization/types.js';
import { bootstrapPolicy } from '../../apiserver/authorization/bootstrap-policy.js';
import { aggregatedRules } from '../../controllers/clusterroleaggregation/controller.js';

export class MemoryRbac implements RbacSource {
  readonly roles = new Map<string, Role>();
  readonly clusterRolesByName = new Map<string, ClusterRole>();
  readonly roleBindingsByNs = new Map<string, RoleBinding[]>();
  readonly crbs: ClusterRoleBinding[] = [];

  role(ns: string, name: string): Role | undefined {
    return this.roles.get(`${ns}/${name}`);
  }
  clusterRole(name: string): ClusterRole | undefined {
    return this.clusterRolesByName.get(name);
  }
  roleBindings(ns: string): Iterable<RoleBinding> {
    return this.roleBindingsByNs.get(ns) ?? [];
  }
  clusterRoleBindings(): Iterable<ClusterRoleBinding> {
    return this.crbs;
  }

  addRole(ns: string, name: string, rules: PolicyRule[]): this {
    this.roles.set(`${ns}/${name}`, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: ns }, rules });
    return this;
  }
  addClusterRole(name: string, rules: PolicyRule[], extra: Partial<ClusterRole> = {}): this {
    this.clusterRolesByName.set(name, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules, ...extra });
    return this;
  }
  bind(ns: string, name: string, roleKind: 'Role' | 'ClusterRole', roleName: string, subjects: Subject[]): this {
    const list = this.roleBindingsByNs.get(ns) ?? [];
    list.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace: ns }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: roleName }, subjects });
    this.roleBindingsByNs.set(ns, list);
    return this;
  }
  bindCluster(name: string, roleName: string, subjects: Subject[]): this {
    this.crbs.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName }, subjects });
    return this;
  }
}

/** The bootstrap policy loaded, with admin/edit/view aggregated as the controller would (to a fixpoint). */
export function bootstrapped(): MemoryRbac {
  const m = new MemoryRbac();
  const p = bootstrapPolicy();
  for (const r of p.clusterRoles) m.clusterRolesByName.set(r.metadata!.name!, r);
  for (const r of p.roles) m.roles.set(`${r.metadata!.namespace}/${r.metadata!.name}`, r);
  m.crbs.push(...p.clusterRoleBindings);
  for (const b of p.roleBindings) {
    const ns = b.metadata!.namespace!;
    m.roleBindingsByNs.set(ns, [...(m.roleBindingsByNs.get(ns) ?? []), b]);
  }
  aggregateAll(m);
  return m;
}

export function aggregateAll(m: MemoryRbac): void {
  for (let changed = true; changed; ) {
    changed = false;
    const all = [...m.clusterRolesByName.values()];
    for (const r of all) {
      if (!r.aggregationRule) continue;
      const rules = aggregatedRules(r, all);
      if (JSON.stringify(rules) !== JSON.stringify(r.rules ?? [])) {
        m.clusterRolesByName.set(r.metadata!.name!, { ...r, rules });
        changed = true;
      }
    }
  }
}

export const userSubject = (name: string): Subject => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name });
export const groupSubject = (name: string): Subject => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name });
export const saSubject = (name: string, namespace?: string): Subject => (namespace === undefined ? { kind: 'ServiceAccount', name } : { kind: 'ServiceAccount', name, namespace });

export function u(name: string, ...groups: string[]): UserInfo {
  return { name, groups: groups.length ? groups : ['system:authenticated'] };
}

/** Resource attributes: `res` may be `pods` or `pods/log`. */
export function req(user: UserInfo, verb: string, res: string, opts: { group?: string; ns?: string; name?: string } = {}): RequestAttributes {
  const [resource, subresource = ''] = res.split('/');
  return { user, verb, resourceRequest: true, path: '', apiGroup: opts.group ?? '', apiVersion: 'v1', resource, subresource, namespace: opts.ns ?? '', name: opts.name ?? '' };
}

export function nonResource(user: UserInfo, verb: string, path: string): RequestAttributes {
  return { user, verb, resourceRequest: false, path, apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '' };
}
