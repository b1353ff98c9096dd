// The table of built-in resources kite serves: the one place that says which kinds
// exist, in which group/version, under which names and scope. Discovery, routing,
// storage keys, OpenAPI and printing are all driven from here.

export const CRUD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;
export const CREATE_ONLY = ['create'] as const;

export interface SubresourceInfo {
  /** e.g. `status`, `scale`, `log`. */
  name: string;
  /** Kind of the subresource's body (`Scale` for scale, the parent kind for status). */
  kind: string;
  /** Group/version of that kind when it differs from the parent's (scale → autoscaling/v1). */
  group?: string;
  version?: string;
  verbs: readonly string[];
}

export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  /** Lower-case plural: the path segment (`deployments`). */
  plural: string;
  singular: string;
  namespaced: boolean;
  verbs: readonly string[];
  shortNames?: readonly string[];
  categories?: readonly string[];
  subresources?: readonly SubresourceInfo[];
  /**
   * When another group/version's resource holds the objects (autoscaling/v1 HPAs are
   * stored as autoscaling/v2), the group/version whose storage this one converts to.
   */
  storedAs?: { group: string; version: string };
  /** Create-only virtual resources (reviews) are never stored. */
  virtual?: boolean;
  /** Read-only resources computed on request, never stored (metrics.k8s.io). */
  computed?: boolean;
  /** Served from a CustomResourceDefinition (added at runtime; see addResources). */
  custom?: CustomResourceInfo;
}

/** What a CustomResourceDefinition says about one served version of its resource. */
export interface CustomResourceInfo {
  /** The CRD's name (`<plural>.<group>`). */
  crdName: string;
  /** The CRD version entry (`spec.versions[i]`): schema, subresources, printer columns, selectable fields. */
  version: Record<string, any>;
  /** Creates are refused while the CRD is being deleted. */
  terminating: boolean;
}

const status = (kind: string): SubresourceInfo => ({ name: 'status', kind, verbs: ['get', 'patch', 'update'] });
const scale: SubresourceInfo = { name: 'scale', kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] };
const ALL = ['all'] as const;

function r(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  extra: Partial<ResourceInfo> = {},
): ResourceInfo {
  return { group, version, kind, plural, singular: kind.toLowerCase(), namespaced, verbs: CRUD_VERBS, ...extra };
}

export const RESOURCES: readonly ResourceInfo[] = [
  // core/v1
  r('', 'v1', 'Binding', 'bindings', true, { verbs: CREATE_ONLY, virtual: true }),
  r('', 'v1', 'ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  r('', 'v1', 'Endpoints', 'endpoints', true, { shortNames: ['ep'], singular: 'endpoints' }),
  r('', 'v1', 'Event', 'events', true, { shortNames: ['ev'] }),
  r('', 'v1', 'LimitRange', 'limitranges', true, { shortNames: ['limits'] }),
  r('', 'v1', 'Namespace', 'namespaces', false, {
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['ns'],
    subresources: [{ name: 'finalize', kind: 'Namespace', verbs: ['update'] }, status('Namespace')],
  }),
  r('', 'v1', 'Node', 'nodes', false, {
    shortNames: ['no'],
    subresources: [{ name: 'proxy', kind: 'NodeProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] }, status('Node')],
  }),
  r('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, { shortNames: ['pvc'], subresources: [status('PersistentVolumeClaim')] }),
  r('', 'v1', 'PersistentVolume', 'persistentvolumes', false, { shortNames: ['pv'], subresources: [status('PersistentVolume')] }),
  r('', 'v1', 'Pod', 'pods', true, {
    shortNames: ['po'],
    categories: ALL,
    subresources: [
      { name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
      { name: 'binding', kind: 'Binding', verbs: ['create'] },
      { name: 'ephemeralcontainers', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
      { name: 'eviction', kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] },
      { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
      { name: 'proxy', kind: 'PodProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
      status('Pod'),
    ],
  }),
  r('', 'v1', 'PodTemplate', 'podtemplates', true),
  r('', 'v1', 'ReplicationController', 'replicationcontrollers', true, {
    shortNames: ['rc'],
    categories: ALL,
    subresources: [scale, status('ReplicationController')],
  }),
  r('', 'v1', 'ResourceQuota', 'resourcequotas', true, { shortNames: ['quota'], subresources: [status('ResourceQuota')] }),
  r('', 'v1', 'Secret', 'secrets', true),
  r('', 'v1', 'ServiceAccount', 'serviceaccounts', true, {
    shortNames: ['sa'],
    subresources: [{ name: 'token', kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] }],
  }),
  r('', 'v1', 'Service', 'services', true, {
    shortNames: ['svc'],
    categories: ALL,
    subresources: [{ name: 'proxy', kind: 'ServiceProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] }, status('Service')],
  }),

  // apps/v1
  r('apps', 'v1', 'ControllerRevision', 'controllerrevisions', true),
  r('apps', 'v1', 'DaemonSet', 'daemonsets', true, { shortNames: ['ds'], categories: ALL, subresources: [status('DaemonSet')] }),
  r('apps', 'v1', 'Deployment', 'deployments', true, { shortNames: ['deploy'], categories: ALL, subresources: [scale, status('Deployment')] }),
  r('apps', 'v1', 'ReplicaSet', 'replicasets', true, { shortNames: ['rs'], categories: ALL, subresources: [scale, status('ReplicaSet')] }),
  r('apps', 'v1', 'StatefulSet', 'statefulsets', true, { shortNames: ['sts'], categories: ALL, subresources: [scale, status('StatefulSet')] }),

  // authentication.k8s.io/v1, authorization.k8s.io/v1: create-only reviews
  r('authentication.k8s.io', 'v1', 'SelfSubjectReview', 'selfsubjectreviews', false, { verbs: CREATE_ONLY, virtual: true }),
  r('authentication.k8s.io', 'v1', 'TokenReview', 'tokenreviews', false, { verbs: CREATE_ONLY, virtual: true }),
  r('authorization.k8s.io', 'v1', 'LocalSubjectAccessReview', 'localsubjectaccessreviews', true, { verbs: CREATE_ONLY, virtual: true }),
  r('authorization.k8s.io', 'v1', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', false, { verbs: CREATE_ONLY, virtual: true }),
  r('authorization.k8s.io', 'v1', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', false, { verbs: CREATE_ONLY, virtual: true }),
  r('authorization.k8s.io', 'v1', 'SubjectAccessReview', 'subjectaccessreviews', false, { verbs: CREATE_ONLY, virtual: true }),

  // autoscaling: v2 is stored and preferred; v1 is a view of the same objects
  r('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, {
    shortNames: ['hpa'],
    categories: ALL,
    subresources: [status('HorizontalPodAutoscaler')],
  }),
  r('autoscaling', 'v1', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, {
    shortNames: ['hpa'],
    categories: ALL,
    subresources: [status('HorizontalPodAutoscaler')],
    storedAs: { group: 'autoscaling', version: 'v2' },
  }),

  // batch/v1
  r('batch', 'v1', 'CronJob', 'cronjobs', true, { shortNames: ['cj'], categories: ALL, subresources: [status('CronJob')] }),
  r('batch', 'v1', 'Job', 'jobs', true, { categories: ALL, subresources: [status('Job')] }),

  // coordination.k8s.io/v1
  r('coordination.k8s.io', 'v1', 'Lease', 'leases', true),

  // discovery.k8s.io/v1
  r('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices', true),

  // events.k8s.io/v1: the same events as core/v1, in the newer shape
  r('events.k8s.io', 'v1', 'Event', 'events', true, { shortNames: ['ev'], storedAs: { group: '', version: 'v1' } }),

  // networking.k8s.io/v1
  r('networking.k8s.io', 'v1', 'IngressClass', 'ingressclasses', false),
  r('networking.k8s.io', 'v1', 'Ingress', 'ingresses', true, { shortNames: ['ing'], subresources: [status('Ingress')] }),
  r('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', true, { shortNames: ['netpol'] }),

  // policy/v1
  r('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true, { shortNames: ['pdb'], subresources: [status('PodDisruptionBudget')] }),

  // rbac.authorization.k8s.io/v1
  r('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false),
  r('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false),
  r('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true),
  r('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true),

  // scheduling.k8s.io/v1
  r('scheduling.k8s.io', 'v1', 'PriorityClass', 'priorityclasses', false, { shortNames: ['pc'] }),

  // storage.k8s.io/v1
  r('storage.k8s.io', 'v1', 'CSIDriver', 'csidrivers', false),
  r('storage.k8s.io', 'v1', 'CSINode', 'csinodes', false),
  r('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', false, { shortNames: ['sc'] }),
  r('storage.k8s.io', 'v1', 'VolumeAttachment', 'volumeattachments', false, { subresources: [status('VolumeAttachment')] }),

  // admissionregistration.k8s.io/v1: webhook configurations and admission policies, enforced by apiserver/admission/webhook and policy
  r('admissionregistration.k8s.io', 'v1', 'MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', false, { categories: ['api-extensions'] }),
  r('admissionregistration.k8s.io', 'v1', 'ValidatingAdmissionPolicyBinding', 'validatingadmissionpolicybindings', false, { categories: ['api-extensions'] }),
  r('admissionregistration.k8s.io', 'v1', 'ValidatingAdmissionPolicy', 'validatingadmissionpolicies', false, {
    categories: ['api-extensions'],
    subresources: [status('ValidatingAdmissionPolicy')],
  }),
  r('admissionregistration.k8s.io', 'v1', 'ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', false, { categories: ['api-extensions'] }),

  // apiregistration.k8s.io/v1: served; every built-in group/version has a local APIService (no aggregation proxy yet)
  r('apiregistration.k8s.io', 'v1', 'APIService', 'apiservices', false, { categories: ['api-extensions'], subresources: [status('APIService')] }),

  // certificates.k8s.io/v1
  r('certificates.k8s.io', 'v1', 'CertificateSigningRequest', 'certificatesigningrequests', false, {
    shortNames: ['csr'],
    subresources: [{ name: 'approval', kind: 'CertificateSigningRequest', verbs: ['get', 'patch', 'update'] }, status('CertificateSigningRequest')],
  }),

  // flowcontrol.apiserver.k8s.io/v1: served with upstream's bootstrap objects; every request is treated alike
  r('flowcontrol.apiserver.k8s.io', 'v1', 'FlowSchema', 'flowschemas', false, { subresources: [status('FlowSchema')] }),
  r('flowcontrol.apiserver.k8s.io', 'v1', 'PriorityLevelConfiguration', 'prioritylevelconfigurations', false, { subresources: [status('PriorityLevelConfiguration')] }),

  // node.k8s.io/v1
  r('node.k8s.io', 'v1', 'RuntimeClass', 'runtimeclasses', false),

  // metrics.k8s.io/v1beta1: usage scraped from the kubelets, computed on request (upstream: metrics-server)
  r('metrics.k8s.io', 'v1beta1', 'NodeMetrics', 'nodes', false, { verbs: ['get', 'list'], computed: true, singular: '' }),
  r('metrics.k8s.io', 'v1beta1', 'PodMetrics', 'pods', true, { verbs: ['get', 'list'], computed: true, singular: '' }),

  // apiextensions.k8s.io/v1: definitions are stored; serving their custom resources comes later
  r('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false, {
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    subresources: [status('CustomResourceDefinition')],
  }),
];

/** Group order as upstream lists them in /apis (legacy core first, then this order). */
export const GROUP_ORDER = [
  'apiregistration.k8s.io',
  'apps',
  'events.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'networking.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'scheduling.k8s.io',
  'coordination.k8s.io',
  'node.k8s.io',
  'discovery.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'metrics.k8s.io',
];

/** Preferred version first, per group. */
export function groupVersions(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const res of allResources()) {
    const list = out.get(res.group) ?? [];
    if (!list.includes(res.version)) list.push(res.version);
    out.set(res.group, list);
  }
  for (const [g, vs] of out) out.set(g, vs.sort(compareVersions));
  return out;
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0];
    const stage = m[2] === 'alpha' ? 1 : m[2] === 'beta' ? 2 : 3;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  const [sa, ma, na] = parse(a);
  const [sb, mb, nb] = parse(b);
  return sb - sa || mb - ma || nb - na;
}

export function apiVersionOf(res: { group: string; version: string }): string {
  return res.group ? `${res.group}/${res.version}` : res.version;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

// Built-in resources, then the ones added at runtime (custom resources), by owner.
const byPath = new Map<string, ResourceInfo>();
const byKind = new Map<string, ResourceInfo>();
const dynamic = new Map<string, readonly ResourceInfo[]>();
let generation = 0;
let all: readonly ResourceInfo[] = RESOURCES;
const listeners = new Set<() => void>();

function index(res: ResourceInfo): void {
  byPath.set(`${res.group}/${res.version}/${res.plural}`, res);
  byKind.set(`${res.group}/${res.version}/${res.kind}`, res);
}

function reindex(): void {
  byPath.clear();
  byKind.clear();
  const list: ResourceInfo[] = [];
  for (const group of dynamic.values()) for (const res of group) list.push(res);
  // Built-ins win over any custom resource claiming the same path.
  for (const res of list) index(res);
  for (const res of RESOURCES) index(res);
  all = [...RESOURCES, ...list.filter((r) => byPath.get(`${r.group}/${r.version}/${r.plural}`) === r)];
  generation++;
  for (const fn of listeners) fn();
}
reindex();

/** Every served resource: the built-ins and those added at runtime. Don't modify it. */
export function allResources(): readonly ResourceInfo[] {
  return all;
}

/** Bumped whenever the set of served resources changes (discovery and OpenAPI caches key on it). */
export function resourcesGeneration(): number {
  return generation;
}

/** Called after every change of the served set. */
export function onResourcesChanged(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Serve `resources` under `owner` (a CRD's name), replacing what that owner served before. */
export function setResources(owner: string, resources: readonly ResourceInfo[]): void {
  if (resources.length === 0) {
    if (!dynamic.delete(owner)) return;
  } else {
    dynamic.set(owner, resources);
  }
  reindex();
}

/** The resources `owner` serves (none: empty). */
export function resourcesOf(owner: string): readonly ResourceInfo[] {
  return dynamic.get(owner) ?? [];
}

/** The last path looked up and what it found, while the served set is unchanged (see resourceByPath). */
let lastByPath: { group: string; version: string; plural: string; generation: number; res: ResourceInfo | undefined } | undefined;

export function resourceByPath(group: string, version: string, plural: string): ResourceInfo | undefined {
  // Requests come in runs to one resource: the last answer is compared part by part
  // instead of a key built and looked up again.
  const last = lastByPath;
  if (last && last.generation === generation && last.plural === plural && last.group === group && last.version === version) return last.res;
  const res = byPath.get(`${group}/${version}/${plural}`);
  lastByPath = { group, version, plural, generation, res };
  return res;
}

export function resourceByKind(group: string, version: string, kind: string): ResourceInfo | undefined {
  return byKind.get(`${group}/${version}/${kind}`);
}
