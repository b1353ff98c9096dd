// The cluster's policy, as the control plane assembles it (upstream: kube-apiserver's
// --authorization-mode=Node,RBAC and its default admission plugins): who may do what
// (the authorizer chain) and what every write passes through (the admission chain),
// built once at start-up over the in-memory lookups. The caches the authorizers read
// are fed by the watch cache, so a change of a Role or a pod is in force at once.
import type { Pod, PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import type { KubeObject } from '../machinery/object.js';
import { GROUP_MASTERS } from '../machinery/identities.js';
import type { ClusterLookups } from '../apiserver/lookups.js';
import type { ApiPolicy } from '../apiserver/api.js';
import type { AdmissionPlugin } from '../apiserver/admission/chain.js';
import type { Authorizer, Decision, RequestAttributes } from '../apiserver/authorization/types.js';
import { AuthorizerChain } from '../apiserver/authorization/types.js';
import { RbacAuthorizer, RbacCache } from '../apiserver/authorization/rbac.js';
import { NodeAuthorizer, NodeGraphCache, nodeRestrictionAdmission } from '../apiserver/authorization/node.js';
import { rbacEscalationAdmission } from '../apiserver/authorization/escalation.js';
import { priorityAdmission } from '../apiserver/admission/priority.js';
import { namespaceLifecycleAdmission } from '../apiserver/admission/namespace-lifecycle.js';
import { podSecurityAdmission } from '../apiserver/admission/podsecurity.js';
import { serviceAccountAdmission } from '../apiserver/admission/serviceaccount.js';
import { webhookAdmission } from '../apiserver/admission/webhook.js';
import { validatingAdmissionPolicyAdmission } from '../apiserver/admission/policy.js';
import { runtimeClassAdmission } from '../apiserver/admission/runtimeclass.js';
import { certificatesAdmission } from '../apiserver/admission/certificates.js';
import { defaultStorageClassAdmission } from '../controllers/volume/default-class.js';

/** Members of system:masters may do everything, before any other authorizer is asked (upstream's privileged-group authorizer). */
const privilegedGroup: Authorizer = {
  authorize: (a: RequestAttributes): Decision => (a.user.groups.includes(GROUP_MASTERS) ? { decision: 'allow', reason: '' } : { decision: 'noOpinion', reason: '' }),
};

const RBAC = 'rbac.authorization.k8s.io';

/** Load `plural` into a cache now and keep it current from the watch cache. */
function follow(lookups: ClusterLookups, group: string, plural: string, upsert: (o: KubeObject) => void, remove: (o: KubeObject) => void): void {
  for (const o of lookups.each(group, plural)) upsert(o);
  lookups.onChange(group, plural, (ev) => (ev.type === 'DELETED' ? remove(ev.object) : upsert(ev.object)));
}

/**
 * `Node,RBAC` (the default) or `AlwaysAllow` (upstream's --authorization-mode values kite
 * supports; AlwaysAllow is for benchmarks and trusted single-user set-ups only).
 */
export type AuthorizationMode = 'Node,RBAC' | 'AlwaysAllow';

export function parseAuthorizationMode(value: string | undefined): AuthorizationMode {
  if (value === undefined || value === '' || value === 'Node,RBAC') return 'Node,RBAC';
  if (value === 'AlwaysAllow') return value;
  throw new Error(`unsupported authorization mode "${value}" (want Node,RBAC or AlwaysAllow)`);
}

const alwaysAllow: Authorizer = { authorize: (): Decision => ({ decision: 'allow', reason: '' }) };

export function clusterPolicy(lookups: ClusterLookups, mode: AuthorizationMode = 'Node,RBAC'): ApiPolicy {
  // RBAC over Roles and bindings held in memory; any change clears its memo.
  const rbacCache: RbacCache = new RbacCache(() => rbac.invalidate());
  const rbac = new RbacAuthorizer(rbacCache);
  for (const [plural, kind] of [
    ['roles', 'Role'],
    ['clusterroles', 'ClusterRole'],
    ['rolebindings', 'RoleBinding'],
    ['clusterrolebindings', 'ClusterRoleBinding'],
  ] as const) {
    follow(
      lookups,
      RBAC,
      plural,
      (o) => rbacCache.upsert(o as unknown as Role | ClusterRole | RoleBinding | ClusterRoleBinding, kind),
      (o) => rbacCache.delete(o as unknown as Role | ClusterRole | RoleBinding | ClusterRoleBinding, kind),
    );
  }

  // The Node authorizer's graph: which pods run on which node, and what they reference.
  const graph = new NodeGraphCache();
  follow(lookups, '', 'pods', (o) => graph.upsertPod(o as unknown as Pod), (o) => graph.deletePod(o as unknown as Pod));
  follow(lookups, '', 'persistentvolumeclaims', (o) => graph.upsertPVC(o as unknown as PersistentVolumeClaim), (o) => graph.deletePVC(o as unknown as PersistentVolumeClaim));
  follow(lookups, '', 'persistentvolumes', (o) => graph.upsertPV(o as unknown as PersistentVolume), (o) => graph.deletePV(o as unknown as PersistentVolume));

  const authorizer = mode === 'AlwaysAllow' ? alwaysAllow : new AuthorizerChain([privilegedGroup, new NodeAuthorizer(graph), rbac]);

  // Dynamic admission comes last in each phase, as in upstream's default plugin order.
  const webhooks = webhookAdmission(lookups);
  const admission: AdmissionPlugin[] = [
    namespaceLifecycleAdmission(),
    serviceAccountAdmission({ serviceAccount: (ns, name) => lookups.get('', 'serviceaccounts', ns, name) }),
    nodeRestrictionAdmission({
      pod: (ns, name) => lookups.get('', 'pods', ns, name) as unknown as Pod | undefined,
      node: (name) => lookups.get('', 'nodes', undefined, name) as never,
    }),
    podSecurityAdmission({ namespace: (name) => lookups.get('', 'namespaces', undefined, name), podsInNamespace: (ns) => lookups.list('', 'pods', ns) }),
    priorityAdmission({
      priorityClass: (name) => lookups.get('scheduling.k8s.io', 'priorityclasses', undefined, name),
      priorityClasses: () => lookups.list('scheduling.k8s.io', 'priorityclasses'),
    }),
    defaultStorageClassAdmission(() => lookups.list('storage.k8s.io', 'storageclasses')),
    runtimeClassAdmission((name) => lookups.get('node.k8s.io', 'runtimeclasses', undefined, name)),
    rbacEscalationAdmission({ rbac, authorize: (a) => authorizer.authorize(a), source: rbacCache }),
    certificatesAdmission((a) => authorizer.authorize(a)),
    webhooks.mutating,
    validatingAdmissionPolicyAdmission(lookups),
    webhooks.validating,
  ];
  return { authorizer, rules: rbac, admission };
}
