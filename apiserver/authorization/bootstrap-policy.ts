// The default RBAC policy every cluster starts with (upstream: plugin/pkg/auth/
// authorizer/rbac/bootstrappolicy policy.go, controller_policy.go, namespace_policy.go
// as of Kubernetes 1.33), plus the roles of kite's own node components, and the
// start-up reconciliation that creates what is missing and tops up what autoupdates
// (upstream: pkg/registry/rbac/reconciliation).
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding, Subject } from 'kubernetes-types/rbac/v1.js';
import type { PolicyRule } from './types.js';
import { RBAC_GROUP, covers } from './rbac.js';

export const BOOTSTRAP_LABEL = 'kubernetes.io/bootstrapping';
export const AUTOUPDATE_ANNOTATION = 'rbac.authorization.kubernetes.io/autoupdate';
const RBAC_V1 = 'rbac.authorization.k8s.io/v1' as const;

const READ = ['get', 'list', 'watch'];
const READ_WRITE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];

/** A resource rule; verbs, groups and resources as upstream lists them. */
function rule(verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule {
  const r: PolicyRule = { verbs, apiGroups, resources };
  if (resourceNames) r.resourceNames = resourceNames;
  return r;
}

function urls(verbs: string[], nonResourceURLs: string[]): PolicyRule {
  return { verbs, nonResourceURLs };
}

const eventsRule = (): PolicyRule => rule(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events']);

function meta(name: string, labels: Record<string, string> = {}, namespace?: string): ClusterRole['metadata'] {
  const m: Record<string, unknown> = { name, labels: { [BOOTSTRAP_LABEL]: 'rbac-defaults', ...labels }, annotations: { [AUTOUPDATE_ANNOTATION]: 'true' } };
  if (namespace) m.namespace = namespace;
  return m as ClusterRole['metadata'];
}

function clusterRole(name: string, rules: PolicyRule[], labels?: Record<string, string>): ClusterRole {
  return { apiVersion: RBAC_V1, kind: 'ClusterRole', metadata: meta(name, labels), rules };
}

function aggregatedClusterRole(name: string, aggregateLabel: string, labels?: Record<string, string>): ClusterRole {
  return { apiVersion: RBAC_V1, kind: 'ClusterRole', metadata: meta(name, labels), aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [aggregateLabel]: 'true' } }] } };
}

const user = (name: string): Subject => ({ apiGroup: RBAC_GROUP, kind: 'User', name });
const group = (name: string): Subject => ({ apiGroup: RBAC_GROUP, kind: 'Group', name });
const serviceAccount = (namespace: string, name: string): Subject => ({ kind: 'ServiceAccount', name, namespace });

function clusterRoleBinding(name: string, roleName: string, subjects: Subject[]): ClusterRoleBinding {
  return { apiVersion: RBAC_V1, kind: 'ClusterRoleBinding', metadata: meta(name), roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: roleName }, subjects };
}

const AGG_ADMIN = 'rbac.authorization.k8s.io/aggregate-to-admin';
const AGG_EDIT = 'rbac.authorization.k8s.io/aggregate-to-edit';
const AGG_VIEW = 'rbac.authorization.k8s.io/aggregate-to-view';

/** The rules of `system:node`, which the Node authorizer evaluates itself (upstream NodeRules()). */
export function nodeRules(): PolicyRule[] {
  return [
    rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
    rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews', 'subjectaccessreviews']),
    rule(READ, [''], ['services']),
    rule(['create', 'get', 'list', 'watch'], [''], ['nodes']),
    rule(['patch', 'update'], [''], ['nodes/status']),
    rule(['patch', 'update'], [''], ['nodes']),
    rule(['create', 'patch', 'update'], [''], ['events']),
    rule(READ, [''], ['pods']),
    rule(['create', 'delete'], [''], ['pods']),
    rule(['patch', 'update'], [''], ['pods/status']),
    rule(['create'], [''], ['pods/eviction']),
    rule(READ, [''], ['configmaps', 'secrets']),
    rule(['get'], [''], ['persistentvolumeclaims', 'persistentvolumes']),
    rule(['get'], [''], ['endpoints']),
    rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    rule(['create', 'delete', 'get', 'patch', 'update'], ['coordination.k8s.io'], ['leases']),
    rule(['get'], ['storage.k8s.io'], ['volumeattachments']),
    rule(['create'], [''], ['serviceaccounts/token']),
    rule(['get', 'patch', 'update'], [''], ['persistentvolumeclaims/status']),
    rule(READ, ['storage.k8s.io'], ['csidrivers']),
    rule(['create', 'delete', 'get', 'patch', 'update'], ['storage.k8s.io'], ['csinodes']),
    rule(READ, ['node.k8s.io'], ['runtimeclasses']),
  ];
}

function clusterRoles(): ClusterRole[] {
  return [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    clusterRole('system:discovery', [urls(['get'], ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'])]),
    clusterRole('system:monitoring', [urls(['get'], ['/healthz', '/healthz/*', '/livez', '/livez/*', '/metrics', '/metrics/slis', '/readyz', '/readyz/*'])]),
    clusterRole('system:basic-user', [rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']), rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews'])]),
    clusterRole('system:public-info-viewer', [urls(['get'], ['/healthz', '/livez', '/readyz', '/version', '/version/'])]),
    aggregatedClusterRole('admin', AGG_ADMIN),
    aggregatedClusterRole('edit', AGG_EDIT, { [AGG_ADMIN]: 'true' }),
    aggregatedClusterRole('view', AGG_VIEW, { [AGG_EDIT]: 'true' }),
    clusterRole('system:aggregate-to-admin', [rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']), rule(READ_WRITE, [RBAC_GROUP], ['rolebindings', 'roles'])], { [AGG_ADMIN]: 'true' }),
    clusterRole(
      'system:aggregate-to-edit',
      [
        rule(READ, [''], ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy']),
        rule(['impersonate'], [''], ['serviceaccounts']),
        rule(WRITE, [''], ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy']),
        rule(['create'], [''], ['pods/eviction']),
        rule(WRITE, [''], ['configmaps', 'events', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale', 'secrets', 'serviceaccounts', 'services', 'services/proxy']),
        rule(['create'], [''], ['serviceaccounts/token']),
        rule(WRITE, ['apps'], ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale']),
        rule(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
        rule(WRITE, ['batch'], ['cronjobs', 'jobs']),
        rule(WRITE, ['extensions'], ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'ingresses', 'networkpolicies', 'replicasets', 'replicasets/scale', 'replicationcontrollers/scale']),
        rule(WRITE, ['policy'], ['poddisruptionbudgets']),
        rule(WRITE, ['networking.k8s.io'], ['ingresses', 'networkpolicies']),
        rule(['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], ['coordination.k8s.io'], ['leases']),
      ],
      { [AGG_EDIT]: 'true' },
    ),
    clusterRole(
      'system:aggregate-to-view',
      [
        rule(READ, [''], ['configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status']),
        rule(READ, [''], ['bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status', 'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status']),
        rule(READ, [''], ['namespaces']),
        rule(READ, ['discovery.k8s.io'], ['endpointslices']),
        rule(READ, ['apps'], ['controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status']),
        rule(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
        rule(READ, ['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status']),
        rule(READ, ['extensions'], ['daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'ingresses', 'ingresses/status', 'networkpolicies', 'replicasets', 'replicasets/scale', 'replicasets/status', 'replicationcontrollers/scale']),
        rule(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
        rule(READ, ['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']),
      ],
      { [AGG_VIEW]: 'true' },
    ),
    // kite: reading an object's history (`<object>/history`) comes with reading the object,
    // for the kinds `view` reads (not secrets: their history shows which keys changed).
    clusterRole(
      'kite:aggregate-to-view-history',
      [
        rule(['get'], [''], ['configmaps/history', 'endpoints/history', 'limitranges/history', 'namespaces/history', 'persistentvolumeclaims/history', 'pods/history', 'replicationcontrollers/history', 'resourcequotas/history', 'serviceaccounts/history', 'services/history']),
        rule(['get'], ['apps'], ['controllerrevisions/history', 'daemonsets/history', 'deployments/history', 'replicasets/history', 'statefulsets/history']),
        rule(['get'], ['autoscaling'], ['horizontalpodautoscalers/history']),
        rule(['get'], ['batch'], ['cronjobs/history', 'jobs/history']),
        rule(['get'], ['discovery.k8s.io'], ['endpointslices/history']),
        rule(['get'], ['policy'], ['poddisruptionbudgets/history']),
        rule(['get'], ['networking.k8s.io'], ['ingresses/history', 'networkpolicies/history']),
      ],
      { [AGG_VIEW]: 'true' },
    ),
    clusterRole('system:auth-delegator', [rule(['create'], ['authentication.k8s.io'], ['tokenreviews']), rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews'])]),
    clusterRole('system:kube-aggregator', [rule(READ, [''], ['endpoints', 'services'])]),
    clusterRole('system:kube-controller-manager', [
      eventsRule(),
      rule(['create'], ['coordination.k8s.io'], ['leases']),
      rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-controller-manager']),
      rule(['create'], [''], ['secrets', 'serviceaccounts']),
      rule(['delete'], [''], ['secrets']),
      rule(['get'], [''], ['configmaps', 'namespaces', 'secrets', 'serviceaccounts']),
      rule(['update'], [''], ['secrets', 'serviceaccounts']),
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      rule(['list', 'watch'], ['*'], ['*']),
      rule(['create'], [''], ['serviceaccounts/token']),
    ]),
    clusterRole('system:kube-dns', [rule(['list', 'watch'], [''], ['endpoints', 'services'])]),
    clusterRole('system:kube-scheduler', [
      eventsRule(),
      rule(['create'], ['coordination.k8s.io'], ['leases']),
      rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-scheduler']),
      rule(READ, [''], ['nodes']),
      rule(['delete', 'get', 'list', 'watch'], [''], ['pods']),
      rule(['create'], [''], ['bindings', 'pods/binding']),
      rule(['patch', 'update'], [''], ['pods/status']),
      rule(READ, [''], ['replicationcontrollers', 'services']),
      rule(READ, ['apps', 'extensions'], ['replicasets']),
      rule(READ, ['apps'], ['statefulsets']),
      rule(READ, ['policy'], ['poddisruptionbudgets']),
      rule(READ, [''], ['persistentvolumeclaims', 'persistentvolumes']),
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      rule(READ, ['storage.k8s.io'], ['csinodes']),
      rule(READ, [''], ['namespaces']),
      rule(READ, ['storage.k8s.io'], ['csidrivers']),
      rule(READ, ['storage.k8s.io'], ['csistoragecapacities']),
    ]),
    clusterRole('system:kubelet-api-admin', [rule(READ, [''], ['nodes']), rule(['proxy'], [''], ['nodes']), rule(['*'], [''], ['nodes/log', 'nodes/metrics', 'nodes/proxy', 'nodes/stats'])]),
    clusterRole('system:node', nodeRules()),
    clusterRole('system:node-bootstrapper', [rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests'])]),
    clusterRole('system:node-problem-detector', [rule(['get'], [''], ['nodes']), rule(['patch'], [''], ['nodes/status']), eventsRule()]),
    clusterRole('system:node-proxier', [rule(['list', 'watch'], [''], ['endpoints', 'services']), rule(READ, [''], ['nodes']), eventsRule(), rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices'])]),
    clusterRole('system:persistent-volume-provisioner', [
      rule(['create', 'delete', 'get', 'list', 'watch'], [''], ['persistentvolumes']),
      rule(['get', 'list', 'update', 'watch'], [''], ['persistentvolumeclaims']),
      rule(READ, ['storage.k8s.io'], ['storageclasses']),
      rule(['watch'], [''], ['events']),
      eventsRule(),
    ]),
    clusterRole('system:service-account-issuer-discovery', [urls(['get'], ['/.well-known/openid-configuration', '/openid/v1/jwks'])]),
    clusterRole('system:volume-scheduler', [
      rule(['get', 'list', 'patch', 'update', 'watch'], [''], ['persistentvolumes']),
      rule(READ, ['storage.k8s.io'], ['storageclasses']),
      rule(['get', 'list', 'patch', 'update', 'watch'], [''], ['persistentvolumeclaims']),
    ]),
    clusterRole('system:certificates.k8s.io:certificatesigningrequests:nodeclient', [rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/nodeclient'])]),
    clusterRole('system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', [rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/selfnodeclient'])]),
    clusterRole('system:certificates.k8s.io:kube-apiserver-client-approver', [rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client'])]),
    clusterRole('system:certificates.k8s.io:kube-apiserver-client-kubelet-approver', [rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client-kubelet'])]),
    clusterRole('system:certificates.k8s.io:kubelet-serving-approver', [rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kubelet-serving'])]),
    clusterRole('system:certificates.k8s.io:legacy-unknown-approver', [rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/legacy-unknown'])]),
  ];
}

function clusterRoleBindings(): ClusterRoleBinding[] {
  return [
    clusterRoleBinding('cluster-admin', 'cluster-admin', [group('system:masters')]),
    clusterRoleBinding('system:monitoring', 'system:monitoring', [group('system:monitoring')]),
    clusterRoleBinding('system:discovery', 'system:discovery', [group('system:authenticated')]),
    clusterRoleBinding('system:basic-user', 'system:basic-user', [group('system:authenticated')]),
    clusterRoleBinding('system:public-info-viewer', 'system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]),
    clusterRoleBinding('system:node-proxier', 'system:node-proxier', [user('system:kube-proxy')]),
    clusterRoleBinding('system:kube-controller-manager', 'system:kube-controller-manager', [user('system:kube-controller-manager')]),
    clusterRoleBinding('system:kube-dns', 'system:kube-dns', [serviceAccount('kube-system', 'kube-dns')]),
    clusterRoleBinding('system:kube-scheduler', 'system:kube-scheduler', [user('system:kube-scheduler')]),
    clusterRoleBinding('system:volume-scheduler', 'system:volume-scheduler', [user('system:kube-scheduler')]),
    clusterRoleBinding('system:service-account-issuer-discovery', 'system:service-account-issuer-discovery', [group('system:serviceaccounts')]),
    // Upstream creates it with no subjects: nodes get these rules from the Node authorizer.
    clusterRoleBinding('system:node', 'system:node', []),
  ];
}

// ---- controller roles (controller_policy.go), one per controller kite runs ------

function controllerRoles(): ClusterRole[] {
  const c = (name: string, rules: PolicyRule[]) => clusterRole(`system:controller:${name}`, rules);
  return [
    c('certificate-controller', [
      rule(['delete', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
      rule(['update'], ['certificates.k8s.io'], ['certificatesigningrequests/approval', 'certificatesigningrequests/status']),
      rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client-kubelet', 'kubernetes.io/legacy-unknown']),
      rule(['sign'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client', 'kubernetes.io/kube-apiserver-client-kubelet', 'kubernetes.io/kubelet-serving', 'kubernetes.io/legacy-unknown']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      eventsRule(),
    ]),
    c('clusterrole-aggregation-controller', [rule(['escalate', 'get', 'list', 'patch', 'update', 'watch'], [RBAC_GROUP], ['clusterroles'])]),
    c('cronjob-controller', [
      rule(['get', 'list', 'update', 'watch'], ['batch'], ['cronjobs']),
      rule(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['batch'], ['jobs']),
      rule(['update'], ['batch'], ['cronjobs/status']),
      rule(['update'], ['batch'], ['cronjobs/finalizers']),
      rule(['delete', 'list', 'watch'], [''], ['pods']),
      eventsRule(),
    ]),
    c('daemon-set-controller', [
      rule(READ, ['apps', 'extensions'], ['daemonsets']),
      rule(['update'], ['apps', 'extensions'], ['daemonsets/status']),
      rule(['update'], ['apps', 'extensions'], ['daemonsets/finalizers']),
      rule(['list', 'watch'], [''], ['nodes']),
      rule(['create', 'delete', 'list', 'patch', 'watch'], [''], ['pods']),
      rule(['create'], [''], ['pods/binding']),
      rule(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['apps'], ['controllerrevisions']),
      eventsRule(),
    ]),
    c('deployment-controller', [
      rule(['get', 'list', 'update', 'watch'], ['apps', 'extensions'], ['deployments']),
      rule(['update'], ['apps', 'extensions'], ['deployments/status']),
      rule(['update'], ['apps', 'extensions'], ['deployments/finalizers']),
      rule(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['apps', 'extensions'], ['replicasets']),
      rule(['get', 'list', 'update', 'watch'], [''], ['pods']),
      eventsRule(),
    ]),
    c('disruption-controller', [
      rule(READ, ['apps', 'extensions'], ['deployments']),
      rule(READ, ['apps', 'extensions'], ['replicasets']),
      rule(READ, [''], ['replicationcontrollers']),
      rule(READ, ['policy'], ['poddisruptionbudgets']),
      rule(READ, ['apps'], ['statefulsets']),
      rule(['update'], ['policy'], ['poddisruptionbudgets/status']),
      rule(['patch', 'update'], [''], ['pods/status']),
      rule(['get'], ['*'], ['*/scale']),
      eventsRule(),
    ]),
    c('endpoint-controller', [
      rule(READ, [''], ['pods', 'services']),
      rule(['create', 'delete', 'get', 'list', 'update', 'watch'], [''], ['endpoints']),
      rule(['create'], [''], ['endpoints/restricted']),
      eventsRule(),
    ]),
    c('endpointslice-controller', [
      rule(READ, [''], ['nodes', 'pods', 'services']),
      rule(['update'], [''], ['services/finalizers']),
      rule(['create', 'delete', 'get', 'list', 'update', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
      eventsRule(),
    ]),
    c('endpointslicemirroring-controller', [
      rule(READ, [''], ['endpoints', 'services']),
      rule(['update'], [''], ['services/finalizers']),
      rule(['update'], [''], ['endpoints/finalizers']),
      rule(['create', 'delete', 'get', 'list', 'update', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
      eventsRule(),
    ]),
    c('ephemeral-volume-controller', [
      rule(READ, [''], ['pods']),
      rule(['update'], [''], ['pods/finalizers']),
      rule(['create', 'get', 'list', 'watch'], [''], ['persistentvolumeclaims']),
      eventsRule(),
    ]),
    c('generic-garbage-collector', [rule(['delete', 'get', 'list', 'patch', 'update', 'watch'], ['*'], ['*']), eventsRule()]),
    c('horizontal-pod-autoscaler', [
      rule(READ, ['autoscaling'], ['horizontalpodautoscalers']),
      rule(['update'], ['autoscaling'], ['horizontalpodautoscalers/status']),
      rule(['get', 'update'], ['*'], ['*/scale']),
      rule(['list', 'watch'], [''], ['pods']),
      rule(['list', 'watch'], ['metrics.k8s.io'], ['pods']),
      rule(READ, ['custom.metrics.k8s.io'], ['*']),
      rule(READ, ['external.metrics.k8s.io'], ['*']),
      eventsRule(),
    ]),
    c('job-controller', [
      rule(['get', 'list', 'patch', 'update', 'watch'], ['batch'], ['jobs']),
      rule(['update'], ['batch'], ['jobs/status']),
      rule(['update'], ['batch'], ['jobs/finalizers']),
      rule(['create', 'delete', 'list', 'patch', 'watch'], [''], ['pods']),
      eventsRule(),
    ]),
    c('namespace-controller', [
      rule(['delete', 'get', 'list', 'watch'], [''], ['namespaces']),
      rule(['update'], [''], ['namespaces/finalize', 'namespaces/status']),
      rule(['delete', 'deletecollection', 'get', 'list', 'watch'], ['*'], ['*']),
    ]),
    c('node-controller', [
      rule(['delete', 'get', 'list', 'patch', 'update', 'watch'], [''], ['nodes']),
      rule(['patch', 'update'], [''], ['nodes/status']),
      rule(['patch', 'update'], [''], ['pods/status']),
      rule(['delete', 'get', 'list', 'watch'], [''], ['pods']),
      eventsRule(),
    ]),
    c('persistent-volume-binder', [
      rule(['create', 'delete', 'get', 'list', 'update', 'watch'], [''], ['persistentvolumes']),
      rule(['update'], [''], ['persistentvolumes/status']),
      rule(['get', 'list', 'update', 'watch'], [''], ['persistentvolumeclaims']),
      rule(['update'], [''], ['persistentvolumeclaims/status']),
      rule(['create', 'delete', 'get', 'list', 'watch'], [''], ['pods']),
      rule(READ, ['storage.k8s.io'], ['storageclasses']),
      rule(['list', 'watch'], [''], ['nodes']),
      eventsRule(),
      rule(['watch'], [''], ['events']),
    ]),
    c('pod-garbage-collector', [rule(['delete', 'list', 'watch'], [''], ['pods']), rule(READ, [''], ['nodes']), rule(['patch'], [''], ['pods/status'])]),
    c('pv-protection-controller', [rule(['get', 'list', 'update', 'watch'], [''], ['persistentvolumes']), eventsRule()]),
    c('pvc-protection-controller', [
      rule(['get', 'list', 'update', 'watch'], [''], ['persistentvolumeclaims']),
      rule(['update'], [''], ['persistentvolumeclaims/status']),
      rule(READ, [''], ['pods']),
      eventsRule(),
    ]),
    c('replicaset-controller', [
      rule(['get', 'list', 'update', 'watch'], ['apps', 'extensions'], ['replicasets']),
      rule(['update'], ['apps', 'extensions'], ['replicasets/status']),
      rule(['update'], ['apps', 'extensions'], ['replicasets/finalizers']),
      rule(['create', 'delete', 'list', 'patch', 'watch'], [''], ['pods']),
      eventsRule(),
    ]),
    c('replication-controller', [
      rule(['get', 'list', 'update', 'watch'], [''], ['replicationcontrollers']),
      rule(['update'], [''], ['replicationcontrollers/status']),
      rule(['update'], [''], ['replicationcontrollers/finalizers']),
      rule(['create', 'delete', 'list', 'patch', 'watch'], [''], ['pods']),
      eventsRule(),
    ]),
    c('resourcequota-controller', [rule(['list', 'watch'], ['*'], ['*']), rule(['update'], [''], ['resourcequotas/status']), eventsRule()]),
    c('root-ca-cert-publisher', [rule(['create', 'update'], [''], ['configmaps']), eventsRule()]),
    c('service-account-controller', [rule(['create'], [''], ['serviceaccounts']), eventsRule()]),
    c('service-controller', [rule(READ, [''], ['services']), rule(['patch', 'update'], [''], ['services/status']), rule(['list', 'watch'], [''], ['nodes']), eventsRule()]),
    c('statefulset-controller', [
      rule(['list', 'watch'], [''], ['pods']),
      rule(READ, ['apps'], ['statefulsets']),
      rule(['update'], ['apps'], ['statefulsets/status']),
      rule(['update'], ['apps'], ['statefulsets/finalizers']),
      rule(['create', 'delete', 'get', 'patch', 'update'], [''], ['pods']),
      rule(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['apps'], ['controllerrevisions']),
      rule(['create', 'get', 'list', 'watch'], [''], ['persistentvolumeclaims']),
      rule(['delete', 'update'], [''], ['persistentvolumeclaims']),
      rule(['update'], [''], ['pods/finalizers']),
      eventsRule(),
    ]),
    c('ttl-after-finished-controller', [rule(['delete', 'get', 'list', 'watch'], ['batch'], ['jobs']), eventsRule()]),
  ];
}

/** Each controller role is bound to the service account kube-system/<controller>. */
function controllerRoleBindings(roles: ClusterRole[]): ClusterRoleBinding[] {
  return roles.map((r) => {
    const name = r.metadata!.name!;
    return clusterRoleBinding(name, name, [serviceAccount('kube-system', name.slice('system:controller:'.length))]);
  });
}

// ---- namespaced roles (namespace_policy.go) ------------------------------------

function role(namespace: string, name: string, rules: PolicyRule[]): Role {
  return { apiVersion: RBAC_V1, kind: 'Role', metadata: meta(name, {}, namespace), rules };
}

function roleBinding(namespace: string, name: string, roleName: string, subjects: Subject[]): RoleBinding {
  return { apiVersion: RBAC_V1, kind: 'RoleBinding', metadata: meta(name, {}, namespace), roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: roleName }, subjects };
}

function namespaceRoles(): Role[] {
  const leaderLocking = [rule(['create', 'get', 'list', 'update', 'watch'], ['coordination.k8s.io'], ['leases']), rule(['create', 'get', 'list', 'update', 'watch'], ['coordination.k8s.io'], ['leasecandidates'])];
  return [
    role('kube-public', 'system:controller:bootstrap-signer', [rule(READ, [''], ['configmaps']), rule(['update'], [''], ['configmaps'], ['cluster-info']), eventsRule()]),
    role('kube-system', 'extension-apiserver-authentication-reader', [rule(READ, [''], ['configmaps'], ['extension-apiserver-authentication'])]),
    role('kube-system', 'system::leader-locking-kube-controller-manager', leaderLocking),
    role('kube-system', 'system::leader-locking-kube-scheduler', structuredClone(leaderLocking)),
    role('kube-system', 'system:controller:bootstrap-signer', [rule(READ, [''], ['secrets'])]),
    role('kube-system', 'system:controller:token-cleaner', [rule(['delete', 'get', 'list', 'watch'], [''], ['secrets']), eventsRule()]),
  ];
}

function namespaceRoleBindings(): RoleBinding[] {
  return [
    roleBinding('kube-public', 'system:controller:bootstrap-signer', 'system:controller:bootstrap-signer', [serviceAccount('kube-system', 'bootstrap-signer')]),
    roleBinding('kube-system', 'system::extension-apiserver-authentication-reader', 'extension-apiserver-authentication-reader', [user('system:kube-controller-manager'), user('system:kube-scheduler')]),
    roleBinding('kube-system', 'system::leader-locking-kube-controller-manager', 'system::leader-locking-kube-controller-manager', [
      user('system:kube-controller-manager'),
      serviceAccount('kube-system', 'kube-controller-manager'),
      serviceAccount('kube-system', 'leader-election-controller'),
    ]),
    roleBinding('kube-system', 'system::leader-locking-kube-scheduler', 'system::leader-locking-kube-scheduler', [user('system:kube-scheduler'), serviceAccount('kube-system', 'kube-scheduler')]),
    roleBinding('kube-system', 'system:controller:bootstrap-signer', 'system:controller:bootstrap-signer', [serviceAccount('kube-system', 'bootstrap-signer')]),
    roleBinding('kube-system', 'system:controller:token-cleaner', 'system:controller:token-cleaner', [serviceAccount('kube-system', 'token-cleaner')]),
  ];
}

// ---- kite's node components ----------------------------------------------------

/** The users kite's node-side components authenticate as. */
export const KITE_COMPONENT_USERS = {
  dns: 'system:kite:dns',
  ingress: 'system:kite:ingress',
  netpol: 'system:kite:netpol',
  nodeNetworking: 'system:kite:node-networking',
} as const;

function kiteRoles(): ClusterRole[] {
  return [
    // What CoreDNS's system:coredns ClusterRole allows.
    clusterRole('system:kite:dns', [rule(['list', 'watch'], [''], ['endpoints', 'services', 'pods', 'namespaces']), rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices'])]),
    clusterRole('system:kite:ingress', [
      rule(READ, ['networking.k8s.io'], ['ingresses', 'ingressclasses']),
      rule(['update'], ['networking.k8s.io'], ['ingresses/status']),
      rule(READ, [''], ['services', 'secrets']),
      rule(READ, ['discovery.k8s.io'], ['endpointslices']),
      rule(['create', 'patch'], ['', 'events.k8s.io'], ['events']),
      // The ports it really listens on, recorded on its IngressClass.
      rule(['patch'], ['networking.k8s.io'], ['ingressclasses']),
    ]),
    // kite's scheduler also follows PriorityClasses (for preemption), which upstream's role doesn't read.
    clusterRole('system:kite:scheduler', [rule(READ, ['scheduling.k8s.io'], ['priorityclasses'])]),
    // kite's built-in provisioner for the local-path StorageClass (a controller of the controller manager).
    clusterRole('system:kite:local-path-provisioner', [
      rule(['get', 'create', 'delete'], [''], ['persistentvolumes']),
      rule(['get'], [''], ['nodes', 'persistentvolumeclaims']),
      eventsRule(),
    ]),
    // The CSR approver also approves a node's own kubelet-serving request (controllers/certificates/approver.ts).
    clusterRole('system:kite:kubelet-serving-approver', [rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kubelet-serving'])]),
    clusterRole('system:kite:netpol', [rule(READ, ['networking.k8s.io'], ['networkpolicies']), rule(READ, [''], ['pods', 'namespaces', 'nodes'])]),
    // The service proxy and node network set-up: what kube-proxy's role allows.
    clusterRole('system:kite:node-networking', [
      rule(['list', 'watch'], [''], ['endpoints', 'services']),
      rule(READ, [''], ['nodes']),
      rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
      eventsRule(),
    ]),
  ];
}

function kiteRoleBindings(): ClusterRoleBinding[] {
  return [
    ...Object.values(KITE_COMPONENT_USERS).map((u) => clusterRoleBinding(u, u, [user(u)])),
    clusterRoleBinding('system:kite:local-path-provisioner', 'system:kite:local-path-provisioner', [serviceAccount('kube-system', 'local-path-provisioner')]),
    clusterRoleBinding('system:kite:scheduler', 'system:kite:scheduler', [user('system:kube-scheduler')]),
    // What kubeadm binds for TLS bootstrapping (`kite join`): bootstrap tokens may ask
    // for node client certificates, which the CSR approver then approves, as it does
    // a node's renewal of its own.
    clusterRoleBinding('system:kite:kubelet-serving-approver', 'system:kite:kubelet-serving-approver', [serviceAccount('kube-system', 'certificate-controller')]),
    clusterRoleBinding('kubeadm:kubelet-bootstrap', 'system:node-bootstrapper', [group('system:bootstrappers')]),
    clusterRoleBinding('kubeadm:node-autoapprove-bootstrap', 'system:certificates.k8s.io:certificatesigningrequests:nodeclient', [group('system:bootstrappers')]),
    clusterRoleBinding('kubeadm:node-autoapprove-certificate-rotation', 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', [group('system:nodes')]),
    // A joined node's service proxy and NetworkPolicy enforcement run as the node itself
    // (kite has no kube-proxy DaemonSet with its ServiceAccount): nodes read what they read.
    clusterRoleBinding('kite:node-networking:nodes', KITE_COMPONENT_USERS.nodeNetworking, [group('system:nodes')]),
    clusterRoleBinding('kite:netpol:nodes', KITE_COMPONENT_USERS.netpol, [group('system:nodes')]),
  ];
}

/** The cluster DNS server publishes the kube-dns Service's endpoints itself (it has no selector). */
function kiteNamespaceRoles(): Role[] {
  return [
    role('kube-public', 'kubeadm:bootstrap-signer-clusterinfo', [rule(['get'], [''], ['configmaps'], ['cluster-info'])]),
    role('kube-system', 'system:kite:dns-endpoints', [
      rule(['get', 'create'], [''], ['services']),
      rule(['get', 'create', 'update'], [''], ['endpoints']),
      rule(['get', 'create', 'update', 'delete'], ['discovery.k8s.io'], ['endpointslices']),
    ]),
  ];
}

function kiteNamespaceRoleBindings(): RoleBinding[] {
  return [
    roleBinding('kube-system', 'system:kite:dns-endpoints', 'system:kite:dns-endpoints', [user(KITE_COMPONENT_USERS.dns)]),
    // kubeadm lets anyone read kube-public/cluster-info (kite authenticates anonymous
    // callers on that path only); bootstrap tokens may read it too.
    roleBinding('kube-public', 'kubeadm:bootstrap-signer-clusterinfo', 'kubeadm:bootstrap-signer-clusterinfo', [user('system:anonymous'), group('system:bootstrappers')]),
  ];
}

export interface BootstrapPolicy {
  clusterRoles: ClusterRole[];
  clusterRoleBindings: ClusterRoleBinding[];
  roles: Role[];
  roleBindings: RoleBinding[];
}

/** Fresh objects every call (callers may change them). */
export function bootstrapPolicy(): BootstrapPolicy {
  const controllers = controllerRoles();
  const kite = kiteRoles();
  return {
    clusterRoles: [...clusterRoles(), ...controllers, ...kite],
    clusterRoleBindings: [...clusterRoleBindings(), ...controllerRoleBindings(controllers), ...kiteRoleBindings()],
    roles: [...namespaceRoles(), ...kiteNamespaceRoles()],
    roleBindings: [...namespaceRoleBindings(), ...kiteNamespaceRoleBindings()],
  };
}

// ---- reconciliation -------------------------------------------------------------

export type RbacKind = 'ClusterRole' | 'ClusterRoleBinding' | 'Role' | 'RoleBinding';
type RbacObject = ClusterRole | ClusterRoleBinding | Role | RoleBinding;

/** How reconciliation reads and writes (the lead backs it with the registry). */
export interface BootstrapStore {
  get(kind: RbacKind, namespace: string | undefined, name: string): RbacObject | undefined | Promise<RbacObject | undefined>;
  create(kind: RbacKind, obj: RbacObject): unknown;
  update(kind: RbacKind, obj: RbacObject): unknown;
  /** For a binding whose roleRef changed (roleRef is immutable: delete, then create). */
  delete(kind: RbacKind, namespace: string | undefined, name: string): unknown;
}

export interface ReconcileReport {
  created: string[];
  updated: string[];
  recreated: string[];
  /** Objects annotated autoupdate=false that would have changed. */
  skipped: string[];
}

/** Existing values win; expected keys that are missing are added. */
function mergeMaps(expected: Record<string, string> | undefined, existing: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!expected && !existing) return existing;
  return { ...(expected ?? {}), ...(existing ?? {}) };
}

function sameMap(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ak = Object.keys(a ?? {});
  if (ak.length !== Object.keys(b ?? {}).length) return false;
  return ak.every((k) => (a ?? {})[k] === (b ?? {})[k]);
}

function selectorKey(s: unknown): string {
  return JSON.stringify(s, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}

/** The role `existing` should become (upstream computeReconciledRole with removeExtraPermissions=false), or undefined when unchanged. */
export function reconcileRole<T extends ClusterRole | Role>(existing: T, expected: T): T | undefined {
  const out = structuredClone(existing) as T & { aggregationRule?: ClusterRole['aggregationRule'] };
  const exp = expected as T & { aggregationRule?: ClusterRole['aggregationRule'] };
  let changed = false;
  const m = (out.metadata ??= {});
  const annotations = mergeMaps(expected.metadata?.annotations, m.annotations);
  if (!sameMap(annotations, m.annotations)) {
    m.annotations = annotations;
    changed = true;
  }
  const labels = mergeMaps(expected.metadata?.labels, m.labels);
  if (!sameMap(labels, m.labels)) {
    m.labels = labels;
    changed = true;
  }
  const { missing } = covers((existing.rules ?? []) as PolicyRule[], (expected.rules ?? []) as PolicyRule[]);
  if (missing.length) {
    out.rules = [...(out.rules ?? []), ...missing] as T['rules'];
    changed = true;
  }
  if (!exp.aggregationRule && out.aggregationRule) {
    delete out.aggregationRule;
    changed = true;
  } else if (exp.aggregationRule) {
    const have = out.aggregationRule?.clusterRoleSelectors ?? [];
    const haveKeys = new Set(have.map(selectorKey));
    const add = (exp.aggregationRule.clusterRoleSelectors ?? []).filter((s) => !haveKeys.has(selectorKey(s)));
    if (add.length) {
      out.aggregationRule = { clusterRoleSelectors: [...have, ...add] };
      changed = true;
    }
  }
  return changed ? out : undefined;
}

function subjectKey(s: Subject): string {
  return `${s.kind}\u0000${s.apiGroup ?? ''}\u0000${s.namespace ?? ''}\u0000${s.name}`;
}

/** 'recreate' when the roleRef differs; the updated binding when subjects or metadata are missing; undefined when unchanged. */
export function reconcileBinding<T extends ClusterRoleBinding | RoleBinding>(existing: T, expected: T): T | 'recreate' | undefined {
  const a = existing.roleRef;
  const b = expected.roleRef;
  if (a.apiGroup !== b.apiGroup || a.kind !== b.kind || a.name !== b.name) return 'recreate';
  const out = structuredClone(existing);
  let changed = false;
  const m = (out.metadata ??= {});
  const annotations = mergeMaps(expected.metadata?.annotations, m.annotations);
  if (!sameMap(annotations, m.annotations)) {
    m.annotations = annotations;
    changed = true;
  }
  const labels = mergeMaps(expected.metadata?.labels, m.labels);
  if (!sameMap(labels, m.labels)) {
    m.labels = labels;
    changed = true;
  }
  const have = new Set((existing.subjects ?? []).map(subjectKey));
  const missing = (expected.subjects ?? []).filter((s) => !have.has(subjectKey(s)));
  if (missing.length) {
    out.subjects = [...(out.subjects ?? []), ...missing];
    changed = true;
  }
  return changed ? out : undefined;
}

/**
 * Create every missing bootstrap object; top up the ones that exist (missing rules,
 * selectors, subjects, labels, annotations — never removing anything) unless they
 * are annotated `rbac.authorization.kubernetes.io/autoupdate: "false"`.
 */
export async function reconcileBootstrapPolicy(store: BootstrapStore, policy: BootstrapPolicy = bootstrapPolicy()): Promise<ReconcileReport> {
  const report: ReconcileReport = { created: [], updated: [], recreated: [], skipped: [] };
  const items: [RbacKind, RbacObject][] = [
    ...policy.clusterRoles.map((o) => ['ClusterRole', o] as [RbacKind, RbacObject]),
    ...policy.roles.map((o) => ['Role', o] as [RbacKind, RbacObject]),
    ...policy.clusterRoleBindings.map((o) => ['ClusterRoleBinding', o] as [RbacKind, RbacObject]),
    ...policy.roleBindings.map((o) => ['RoleBinding', o] as [RbacKind, RbacObject]),
  ];
  // Each object on its own, all at once: none depends on another (a binding may name a role
  // before it exists), and a new cluster's ~200 creates then share the store's commits
  // instead of waiting for one durable write after another. The report keeps their order.
  const settled = await Promise.allSettled(
    items.map(async ([kind, expected]): Promise<keyof ReconcileReport | undefined> => {
      const ns = expected.metadata?.namespace;
      const name = expected.metadata!.name!;
      const existing = await store.get(kind, ns, name);
      if (!existing) {
        await store.create(kind, structuredClone(expected));
        return 'created';
      }
      const isProtected = existing.metadata?.annotations?.[AUTOUPDATE_ANNOTATION] === 'false';
      const next = kind === 'ClusterRole' || kind === 'Role' ? reconcileRole(existing as ClusterRole, expected as ClusterRole) : reconcileBinding(existing as ClusterRoleBinding, expected as ClusterRoleBinding);
      if (next === undefined) return undefined;
      if (isProtected) return 'skipped';
      if (next === 'recreate') {
        await store.delete(kind, ns, name);
        await store.create(kind, structuredClone(expected));
        return 'recreated';
      }
      await store.update(kind, next);
      return 'updated';
    }),
  );
  // Every object's write has ended before a failure is reported (a caller that retries
  // starts from what is stored then, not beside writes still going).
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  items.forEach(([kind, expected], i) => {
    const outcome = (settled[i] as PromiseFulfilledResult<keyof ReconcileReport | undefined>).value;
    const ns = expected.metadata?.namespace;
    if (outcome) report[outcome].push(`${kind} ${ns ? `${ns}/` : ''}${expected.metadata!.name!}`);
  });
  return report;
}
