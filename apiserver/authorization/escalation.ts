// Privilege-escalation prevention for RBAC objects (upstream: pkg/registry/rbac/
// validation ConfirmNoEscalation and the policybased storages of roles, clusterroles,
// rolebindings and clusterrolebindings). A user may write a role only with rules they
// already hold (or with the `escalate` verb on it), and a binding only to a role whose
// rules they already hold (or with the `bind` verb on it). system:masters bypasses.
import type { ClusterRole, RoleBinding, RoleRef } from 'kubernetes-types/rbac/v1.js';
import type { AdmissionPlugin, AdmissionRequest } from '../admission/chain.js';
import type { UserInfo } from '../context.js';
import type { KubeObject } from '../../machinery/object.js';
import { jsonCopy, semanticEqual } from '../../machinery/object.js';
import { StatusError, notFound, qualifiedResource } from '../../machinery/status.js';
import type { Decision, PolicyRule, RequestAttributes } from './types.js';
import type { RbacAuthorizer, RbacSource } from './rbac.js';
import { RBAC_GROUP, aggregateMessage, compactRules, compactString, covers, goQuote, goQuoteList, roleReferenceRules } from './rbac.js';

export const SYSTEM_PRIVILEGED_GROUP = 'system:masters';

const FULL_AUTHORITY: PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

/** upstream errors.NewForbidden(groupResource, name, err). */
export function forbiddenFor(group: string, resource: string, name: string, message: string): StatusError {
  const qr = qualifiedResource(group, resource);
  const msg = name ? `${qr} ${goQuote(name)} is forbidden: ${message}` : `${qr} is forbidden: ${message}`;
  return new StatusError(403, 'Forbidden', msg, { name: name || undefined, group: group || undefined, kind: resource });
}

/**
 * The upstream ConfirmNoEscalation message when `rules` are not all held by `user` in
 * `namespace` ('' = cluster-wide rules only); undefined when they are.
 */
export function confirmNoEscalation(rbac: RbacAuthorizer, user: UserInfo, namespace: string, rules: readonly PolicyRule[]): string | undefined {
  const owner = rbac.resolve(user, namespace);
  const { covered, missing } = covers(owner.rules, rules);
  if (covered) return undefined;
  const descriptions = [...new Set(compactRules(missing).map(compactString))].sort();
  let msg = `user ${goQuote(user.name)} (groups=${goQuoteList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${descriptions.join('\n')}`;
  // Go prints the []error holding one aggregate: `[msg]`.
  if (owner.errors.length) msg += `; resolution errors: [${aggregateMessage(owner.errors)}]`;
  return msg;
}

export function isPrivileged(user: UserInfo): boolean {
  return user.groups.includes(SYSTEM_PRIVILEGED_GROUP);
}

function hasAggregationRule(role: KubeObject | undefined): boolean {
  const sel = (role as ClusterRole | undefined)?.aggregationRule?.clusterRoleSelectors;
  return Array.isArray(sel) && sel.length > 0;
}

/** An update that only touches ownerReferences/finalizers (what the garbage collector writes) is never an escalation. */
export function isOnlyMutatingGCFields(obj: KubeObject, old: KubeObject | undefined): boolean {
  if (!old) return false;
  const copy = jsonCopy(obj);
  const meta = (copy.metadata ??= {});
  const oldMeta = old.metadata ?? {};
  for (const f of ['ownerReferences', 'finalizers', 'selfLink', 'managedFields', 'resourceVersion', 'generation'] as const) {
    if (oldMeta[f] === undefined) delete meta[f];
    else (meta as Record<string, unknown>)[f] = oldMeta[f];
  }
  return semanticEqual(copy, old);
}

function resourceAttrs(user: UserInfo, verb: string, resource: string, namespace: string, name: string, group = RBAC_GROUP): RequestAttributes {
  return { user, verb, resourceRequest: true, path: '', apiGroup: group, apiVersion: '*', resource, subresource: '', namespace, name };
}

export interface EscalationDeps {
  rbac: RbacAuthorizer;
  /** The whole authorizer chain (escalate / bind may be granted by any authorizer). */
  authorize(attrs: RequestAttributes): Decision;
  /** Where referenced roles are looked up (the same caches the authorizer reads). */
  source: RbacSource;
}

const ROLE_RESOURCES = new Set(['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings']);

/** The escalation checks as a validating admission plugin for the four RBAC resources. */
export function rbacEscalationAdmission(deps: EscalationDeps): AdmissionPlugin {
  return {
    name: 'RBACEscalationPrevention',
    validate(req: AdmissionRequest): void {
      if (req.resource.group !== RBAC_GROUP || !ROLE_RESOURCES.has(req.resource.plural) || req.subresource) return;
      if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return;
      if (!req.object || isPrivileged(req.user)) return;
      const resource = req.resource.plural;
      const obj = req.object;
      const name = obj.metadata?.name || req.name;
      const namespace = resource === 'roles' || resource === 'rolebindings' ? req.namespace || obj.metadata?.namespace || '' : '';
      if (req.operation === 'UPDATE' && isOnlyMutatingGCFields(obj, req.oldObject)) return;

      if (resource === 'roles' || resource === 'clusterroles') {
        // upstream RoleEscalationAuthorized: the request's own name (none on create).
        const requestName = req.operation === 'UPDATE' ? req.name : '';
        if (deps.authorize(resourceAttrs(req.user, 'escalate', resource, namespace, requestName)).decision === 'allow') return;
        const rules = ((obj as { rules?: PolicyRule[] }).rules ?? []) as PolicyRule[];
        const err = confirmNoEscalation(deps.rbac, req.user, namespace, rules);
        if (err) throw forbiddenFor(RBAC_GROUP, resource, name, err);
        if (resource === 'clusterroles' && (hasAggregationRule(obj) || (req.operation === 'UPDATE' && hasAggregationRule(req.oldObject)))) {
          // An aggregation rule can gather any permission: it takes `*` on `*.*`.
          if (confirmNoEscalation(deps.rbac, req.user, '', FULL_AUTHORITY)) throw forbiddenFor(RBAC_GROUP, resource, name, 'must have cluster-admin privileges to use the aggregationRule');
        }
        return;
      }

      const ref = (obj as unknown as RoleBinding).roleRef as RoleRef | undefined;
      if (!ref) return; // validation reports the missing roleRef
      if (bindingAuthorized(deps, req.user, ref, namespace)) return;
      const { rules, error } = roleReferenceRules(deps.source, ref, namespace);
      if (error !== undefined) {
        if (ref.kind === 'Role' || ref.kind === 'ClusterRole') throw notFound(RBAC_GROUP, ref.kind.toLowerCase(), ref.name);
        throw new StatusError(500, 'InternalError', `Internal error occurred: ${error}`);
      }
      const err = confirmNoEscalation(deps.rbac, req.user, namespace, rules!);
      if (err) throw forbiddenFor(RBAC_GROUP, resource, name, err);
    },
  };
}

/** upstream BindingAuthorized: `bind` on the referenced role, in the binding's namespace. */
export function bindingAuthorized(deps: Pick<EscalationDeps, 'authorize'>, user: UserInfo, ref: RoleRef, bindingNamespace: string): boolean {
  let resource: string;
  if (ref.kind === 'ClusterRole') resource = 'clusterroles';
  else if (ref.kind === 'Role') resource = 'roles';
  else return false;
  return deps.authorize(resourceAttrs(user, 'bind', resource, bindingNamespace, ref.name, ref.apiGroup)).decision === 'allow';
}
