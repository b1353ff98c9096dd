// Facts about upstream API types that the kubernetes-types declarations cannot express.
// Compiled by hand from the `+listType`, `+listMapKey`, `+patchStrategy`, `+patchMergeKey`,
// `+mapType` tags of upstream k8s.io/api and apimachinery types.go and the published
// OpenAPI. Used by scripts/gen-openapi.ts; strategic merge patch and server-side apply
// depend on them, so keep them exact.

export interface PropertyFact {
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: string[];
  mapType?: 'atomic' | 'granular';
  patchStrategy?: string;
  patchMergeKey?: string;
  format?: 'int64' | 'double' | 'byte';
  /** Upstream's `default` (only where server-side apply needs it: list-map key fields). */
  default?: string;
}

/**
 * Parses the compact notation of PROPERTY_FACTS, space-separated:
 * `list=map(name,protocol)` / `list=atomic` / `list=set`, `map=atomic|granular`,
 * `patch=merge|retainKeys|merge,retainKeys|replace`, `key=<merge key>`,
 * `int64`, `double`, `byte`, `default=<string>`.
 */
export function parseFact(spec: string): PropertyFact {
  const fact: PropertyFact = {};
  for (const token of spec.split(/\s+/).filter(Boolean)) {
    let m: RegExpExecArray | null;
    if ((m = /^list=map\(([^)]+)\)$/.exec(token))) {
      fact.listType = 'map';
      fact.listMapKeys = m[1].split(',');
    } else if ((m = /^list=(atomic|set)$/.exec(token))) {
      fact.listType = m[1] as 'atomic' | 'set';
    } else if ((m = /^map=(atomic|granular)$/.exec(token))) {
      fact.mapType = m[1] as 'atomic' | 'granular';
    } else if ((m = /^patch=(merge|retainKeys|merge,retainKeys|replace)$/.exec(token))) {
      fact.patchStrategy = m[1];
    } else if ((m = /^key=(\S+)$/.exec(token))) {
      fact.patchMergeKey = m[1];
    } else if ((m = /^default=(\S+)$/.exec(token))) {
      fact.default = m[1];
    } else if (token === 'int64' || token === 'double' || token === 'byte') {
      fact.format = token;
    } else {
      throw new Error(`bad fact token ${JSON.stringify(token)} in ${JSON.stringify(spec)}`);
    }
  }
  return fact;
}

/** Definition name → property → facts (see parseFact). */
export const PROPERTY_FACTS: Record<string, Record<string, string>> = {
  'io.k8s.api.core.v1.ServicePort': {
    protocol: 'default=TCP',
  },
  'io.k8s.api.core.v1.ContainerPort': {
    protocol: 'default=TCP',
  },
  'io.k8s.api.apps.v1.ControllerRevision': {
    revision: 'int64',
  },
  'io.k8s.api.apps.v1.DaemonSetStatus': {
    conditions: 'list=map(type) patch=merge key=type',
    observedGeneration: 'int64',
  },
  'io.k8s.api.apps.v1.DeploymentSpec': {
    strategy: 'patch=retainKeys',
  },
  'io.k8s.api.apps.v1.DeploymentStatus': {
    conditions: 'list=map(type) patch=merge key=type',
    observedGeneration: 'int64',
  },
  'io.k8s.api.apps.v1.ReplicaSetStatus': {
    conditions: 'list=map(type) patch=merge key=type',
    observedGeneration: 'int64',
  },
  'io.k8s.api.apps.v1.StatefulSetSpec': {
    volumeClaimTemplates: 'list=atomic',
  },
  'io.k8s.api.apps.v1.StatefulSetStatus': {
    conditions: 'list=map(type) patch=merge key=type',
    observedGeneration: 'int64',
  },
  'io.k8s.api.authentication.v1.TokenRequestSpec': {
    audiences: 'list=atomic',
    expirationSeconds: 'int64',
  },
  'io.k8s.api.authentication.v1.TokenReviewSpec': {
    audiences: 'list=atomic',
  },
  'io.k8s.api.authentication.v1.TokenReviewStatus': {
    audiences: 'list=atomic',
  },
  'io.k8s.api.authentication.v1.UserInfo': {
    groups: 'list=atomic',
  },
  'io.k8s.api.authorization.v1.NonResourceRule': {
    nonResourceURLs: 'list=atomic',
    verbs: 'list=atomic',
  },
  'io.k8s.api.authorization.v1.ResourceRule': {
    apiGroups: 'list=atomic',
    resourceNames: 'list=atomic',
    resources: 'list=atomic',
    verbs: 'list=atomic',
  },
  'io.k8s.api.authorization.v1.SubjectAccessReviewSpec': {
    groups: 'list=atomic',
  },
  'io.k8s.api.authorization.v1.SubjectRulesReviewStatus': {
    nonResourceRules: 'list=atomic',
    resourceRules: 'list=atomic',
  },
  'io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerStatus': {
    observedGeneration: 'int64',
  },
  'io.k8s.api.autoscaling.v2.HPAScalingRules': {
    policies: 'list=atomic',
  },
  'io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec': {
    metrics: 'list=atomic',
  },
  'io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus': {
    conditions: 'list=map(type) patch=merge key=type',
    currentMetrics: 'list=atomic',
    observedGeneration: 'int64',
  },
  'io.k8s.api.batch.v1.CronJobSpec': {
    startingDeadlineSeconds: 'int64',
  },
  'io.k8s.api.batch.v1.CronJobStatus': {
    active: 'list=atomic',
  },
  'io.k8s.api.batch.v1.JobSpec': {
    activeDeadlineSeconds: 'int64',
  },
  'io.k8s.api.batch.v1.JobStatus': {
    conditions: 'list=atomic patch=merge key=type',
  },
  'io.k8s.api.batch.v1.PodFailurePolicy': {
    rules: 'list=atomic',
  },
  'io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement': {
    values: 'list=set',
  },
  'io.k8s.api.batch.v1.PodFailurePolicyRule': {
    onPodConditions: 'list=atomic',
  },
  'io.k8s.api.batch.v1.SuccessPolicy': {
    rules: 'list=atomic',
  },
  'io.k8s.api.batch.v1.UncountedTerminatedPods': {
    failed: 'list=set',
    succeeded: 'list=set',
  },
  'io.k8s.api.core.v1.Capabilities': {
    add: 'list=atomic',
    drop: 'list=atomic',
  },
  'io.k8s.api.core.v1.CephFSPersistentVolumeSource': {
    monitors: 'list=atomic',
  },
  'io.k8s.api.core.v1.CephFSVolumeSource': {
    monitors: 'list=atomic',
  },
  'io.k8s.api.core.v1.ComponentStatus': {
    conditions: 'list=map(type) patch=merge key=type',
  },
  'io.k8s.api.core.v1.ConfigMap': {
    binaryData: 'byte',
  },
  'io.k8s.api.core.v1.ConfigMapProjection': {
    items: 'list=atomic',
  },
  'io.k8s.api.core.v1.ConfigMapVolumeSource': {
    items: 'list=atomic',
  },
  'io.k8s.api.core.v1.Container': {
    args: 'list=atomic',
    command: 'list=atomic',
    env: 'list=map(name) patch=merge key=name',
    envFrom: 'list=atomic',
    ports: 'list=map(containerPort,protocol) patch=merge key=containerPort',
    resizePolicy: 'list=atomic',
    volumeDevices: 'list=map(devicePath) patch=merge key=devicePath',
    volumeMounts: 'list=map(mountPath) patch=merge key=mountPath',
  },
  'io.k8s.api.core.v1.ContainerImage': {
    names: 'list=atomic',
    sizeBytes: 'int64',
  },
  'io.k8s.api.core.v1.ContainerStatus': {
    volumeMounts: 'list=map(mountPath) patch=merge key=mountPath',
  },
  'io.k8s.api.core.v1.DownwardAPIProjection': {
    items: 'list=atomic',
  },
  'io.k8s.api.core.v1.DownwardAPIVolumeSource': {
    items: 'list=atomic',
  },
  'io.k8s.api.core.v1.EndpointSubset': {
    addresses: 'list=atomic',
    notReadyAddresses: 'list=atomic',
    ports: 'list=atomic',
  },
  'io.k8s.api.core.v1.Endpoints': {
    subsets: 'list=atomic',
  },
  'io.k8s.api.core.v1.EphemeralContainer': {
    args: 'list=atomic',
    command: 'list=atomic',
    env: 'list=map(name) patch=merge key=name',
    envFrom: 'list=atomic',
    ports: 'list=map(containerPort,protocol) patch=merge key=containerPort',
    resizePolicy: 'list=atomic',
    volumeDevices: 'list=map(devicePath) patch=merge key=devicePath',
    volumeMounts: 'list=map(mountPath) patch=merge key=mountPath',
  },
  'io.k8s.api.core.v1.ExecAction': {
    command: 'list=atomic',
  },
  'io.k8s.api.core.v1.FCVolumeSource': {
    targetWWNs: 'list=atomic',
    wwids: 'list=atomic',
  },
  'io.k8s.api.core.v1.HTTPGetAction': {
    httpHeaders: 'list=atomic',
  },
  'io.k8s.api.core.v1.HostAlias': {
    hostnames: 'list=atomic',
  },
  'io.k8s.api.core.v1.ISCSIPersistentVolumeSource': {
    portals: 'list=atomic',
  },
  'io.k8s.api.core.v1.ISCSIVolumeSource': {
    portals: 'list=atomic',
  },
  'io.k8s.api.core.v1.LimitRangeSpec': {
    limits: 'list=atomic',
  },
  'io.k8s.api.core.v1.LoadBalancerIngress': {
    ports: 'list=atomic',
  },
  'io.k8s.api.core.v1.LoadBalancerStatus': {
    ingress: 'list=atomic',
  },
  'io.k8s.api.core.v1.NamespaceSpec': {
    finalizers: 'list=atomic',
  },
  'io.k8s.api.core.v1.NamespaceStatus': {
    conditions: 'list=map(type) patch=merge key=type',
  },
  'io.k8s.api.core.v1.NodeAffinity': {
    preferredDuringSchedulingIgnoredDuringExecution: 'list=atomic',
  },
  'io.k8s.api.core.v1.NodeSelector': {
    nodeSelectorTerms: 'list=atomic',
  },
  'io.k8s.api.core.v1.NodeSelectorRequirement': {
    values: 'list=atomic',
  },
  'io.k8s.api.core.v1.NodeSelectorTerm': {
    matchExpressions: 'list=atomic',
    matchFields: 'list=atomic',
  },
  'io.k8s.api.core.v1.NodeSpec': {
    podCIDRs: 'list=set patch=merge',
    taints: 'list=atomic',
  },
  'io.k8s.api.core.v1.NodeStatus': {
    addresses: 'list=map(type) patch=merge key=type',
    conditions: 'list=map(type) patch=merge key=type',
    images: 'list=atomic',
    runtimeHandlers: 'list=atomic',
    volumesAttached: 'list=atomic',
    volumesInUse: 'list=atomic',
  },
  'io.k8s.api.core.v1.PersistentVolumeClaimSpec': {
    accessModes: 'list=atomic',
  },
  'io.k8s.api.core.v1.PersistentVolumeClaimStatus': {
    accessModes: 'list=atomic',
    allocatedResourceStatuses: 'map=granular',
    conditions: 'list=map(type) patch=merge key=type',
  },
  'io.k8s.api.core.v1.PersistentVolumeSpec': {
    accessModes: 'list=atomic',
    claimRef: 'map=granular',
    mountOptions: 'list=atomic',
  },
  'io.k8s.api.core.v1.PodAffinity': {
    preferredDuringSchedulingIgnoredDuringExecution: 'list=atomic',
    requiredDuringSchedulingIgnoredDuringExecution: 'list=atomic',
  },
  'io.k8s.api.core.v1.PodAffinityTerm': {
    matchLabelKeys: 'list=atomic',
    mismatchLabelKeys: 'list=atomic',
    namespaces: 'list=atomic',
  },
  'io.k8s.api.core.v1.PodAntiAffinity': {
    preferredDuringSchedulingIgnoredDuringExecution: 'list=atomic',
    requiredDuringSchedulingIgnoredDuringExecution: 'list=atomic',
  },
  'io.k8s.api.core.v1.PodCondition': {
    observedGeneration: 'int64',
  },
  'io.k8s.api.core.v1.PodDNSConfig': {
    nameservers: 'list=atomic',
    options: 'list=atomic',
    searches: 'list=atomic',
  },
  'io.k8s.api.core.v1.PodSecurityContext': {
    fsGroup: 'int64',
    runAsGroup: 'int64',
    runAsUser: 'int64',
    supplementalGroups: 'list=atomic int64',
    sysctls: 'list=atomic',
  },
  'io.k8s.api.core.v1.PodSpec': {
    activeDeadlineSeconds: 'int64',
    containers: 'list=map(name) patch=merge key=name',
    ephemeralContainers: 'list=map(name) patch=merge key=name',
    hostAliases: 'list=map(ip) patch=merge key=ip',
    imagePullSecrets: 'list=map(name) patch=merge key=name',
    initContainers: 'list=map(name) patch=merge key=name',
    nodeSelector: 'map=atomic',
    readinessGates: 'list=atomic',
    resourceClaims: 'list=map(name) patch=merge,retainKeys key=name',
    schedulingGates: 'list=map(name) patch=merge key=name',
    terminationGracePeriodSeconds: 'int64',
    tolerations: 'list=atomic',
    topologySpreadConstraints: 'list=map(topologyKey,whenUnsatisfiable) patch=merge key=topologyKey',
    volumes: 'list=map(name) patch=merge,retainKeys key=name',
  },
  'io.k8s.api.core.v1.PodStatus': {
    conditions: 'list=map(type) patch=merge key=type',
    containerStatuses: 'list=atomic',
    ephemeralContainerStatuses: 'list=atomic',
    hostIPs: 'list=atomic patch=merge key=ip',
    initContainerStatuses: 'list=atomic',
    observedGeneration: 'int64',
    podIPs: 'list=map(ip) patch=merge key=ip',
    resourceClaimStatuses: 'list=map(name) patch=merge,retainKeys key=name',
  },
  'io.k8s.api.core.v1.Probe': {
    terminationGracePeriodSeconds: 'int64',
  },
  'io.k8s.api.core.v1.ProjectedVolumeSource': {
    sources: 'list=atomic',
  },
  'io.k8s.api.core.v1.RBDPersistentVolumeSource': {
    monitors: 'list=atomic',
  },
  'io.k8s.api.core.v1.RBDVolumeSource': {
    monitors: 'list=atomic',
  },
  'io.k8s.api.core.v1.ReplicationControllerSpec': {
    selector: 'map=atomic',
  },
  'io.k8s.api.core.v1.ReplicationControllerStatus': {
    conditions: 'list=map(type) patch=merge key=type',
    observedGeneration: 'int64',
  },
  'io.k8s.api.core.v1.ResourceQuotaSpec': {
    scopes: 'list=atomic',
  },
  'io.k8s.api.core.v1.ResourceRequirements': {
    claims: 'list=map(name)',
  },
  'io.k8s.api.core.v1.ScopeSelector': {
    matchExpressions: 'list=atomic',
  },
  'io.k8s.api.core.v1.ScopedResourceSelectorRequirement': {
    values: 'list=atomic',
  },
  'io.k8s.api.core.v1.Secret': {
    data: 'byte',
  },
  'io.k8s.api.core.v1.SecretProjection': {
    items: 'list=atomic',
  },
  'io.k8s.api.core.v1.SecretVolumeSource': {
    items: 'list=atomic',
  },
  'io.k8s.api.core.v1.SecurityContext': {
    runAsGroup: 'int64',
    runAsUser: 'int64',
  },
  'io.k8s.api.core.v1.ServiceAccount': {
    imagePullSecrets: 'list=atomic',
    secrets: 'list=map(name) patch=merge key=name',
  },
  'io.k8s.api.core.v1.ServiceAccountTokenProjection': {
    expirationSeconds: 'int64',
  },
  'io.k8s.api.core.v1.ServiceSpec': {
    clusterIPs: 'list=atomic',
    externalIPs: 'list=atomic',
    ipFamilies: 'list=atomic',
    loadBalancerSourceRanges: 'list=atomic',
    ports: 'list=map(port,protocol) patch=merge key=port',
    selector: 'map=atomic',
  },
  'io.k8s.api.core.v1.ServiceStatus': {
    conditions: 'list=map(type) patch=merge key=type',
  },
  'io.k8s.api.core.v1.SleepAction': {
    seconds: 'int64',
  },
  'io.k8s.api.core.v1.Toleration': {
    tolerationSeconds: 'int64',
  },
  'io.k8s.api.core.v1.TopologySelectorLabelRequirement': {
    values: 'list=atomic',
  },
  'io.k8s.api.core.v1.TopologySelectorTerm': {
    matchLabelExpressions: 'list=atomic',
  },
  'io.k8s.api.core.v1.TopologySpreadConstraint': {
    matchLabelKeys: 'list=atomic',
  },
  'io.k8s.api.discovery.v1.Endpoint': {
    addresses: 'list=set',
  },
  'io.k8s.api.discovery.v1.EndpointHints': {
    forNodes: 'list=atomic',
    forZones: 'list=atomic',
  },
  'io.k8s.api.discovery.v1.EndpointSlice': {
    endpoints: 'list=atomic',
    ports: 'list=atomic',
  },
  'io.k8s.api.networking.v1.HTTPIngressRuleValue': {
    paths: 'list=atomic',
  },
  'io.k8s.api.networking.v1.IPBlock': {
    except: 'list=atomic',
  },
  'io.k8s.api.networking.v1.IngressLoadBalancerIngress': {
    ports: 'list=atomic',
  },
  'io.k8s.api.networking.v1.IngressLoadBalancerStatus': {
    ingress: 'list=atomic',
  },
  'io.k8s.api.networking.v1.IngressSpec': {
    rules: 'list=atomic',
    tls: 'list=atomic',
  },
  'io.k8s.api.networking.v1.IngressTLS': {
    hosts: 'list=atomic',
  },
  'io.k8s.api.networking.v1.NetworkPolicyEgressRule': {
    ports: 'list=atomic',
    to: 'list=atomic',
  },
  'io.k8s.api.networking.v1.NetworkPolicyIngressRule': {
    from: 'list=atomic',
    ports: 'list=atomic',
  },
  'io.k8s.api.networking.v1.NetworkPolicySpec': {
    egress: 'list=atomic',
    ingress: 'list=atomic',
    policyTypes: 'list=atomic',
  },
  'io.k8s.api.policy.v1.PodDisruptionBudgetSpec': {
    selector: 'patch=replace',
  },
  'io.k8s.api.policy.v1.PodDisruptionBudgetStatus': {
    conditions: 'list=map(type) patch=merge key=type',
    observedGeneration: 'int64',
  },
  'io.k8s.api.rbac.v1.AggregationRule': {
    clusterRoleSelectors: 'list=atomic',
  },
  'io.k8s.api.rbac.v1.ClusterRole': {
    rules: 'list=atomic',
  },
  'io.k8s.api.rbac.v1.ClusterRoleBinding': {
    subjects: 'list=atomic',
  },
  'io.k8s.api.rbac.v1.PolicyRule': {
    apiGroups: 'list=atomic',
    nonResourceURLs: 'list=atomic',
    resourceNames: 'list=atomic',
    resources: 'list=atomic',
    verbs: 'list=atomic',
  },
  'io.k8s.api.rbac.v1.Role': {
    rules: 'list=atomic',
  },
  'io.k8s.api.rbac.v1.RoleBinding': {
    subjects: 'list=atomic',
  },
  'io.k8s.api.storage.v1.CSIDriverSpec': {
    nodeAllocatableUpdatePeriodSeconds: 'int64',
    tokenRequests: 'list=atomic',
    volumeLifecycleModes: 'list=set',
  },
  'io.k8s.api.storage.v1.CSINodeDriver': {
    topologyKeys: 'list=atomic',
  },
  'io.k8s.api.storage.v1.CSINodeSpec': {
    drivers: 'list=map(name) patch=merge key=name',
  },
  'io.k8s.api.storage.v1.StorageClass': {
    allowedTopologies: 'list=atomic',
    mountOptions: 'list=atomic',
  },
  'io.k8s.api.storage.v1.TokenRequest': {
    expirationSeconds: 'int64',
  },
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNames': {
    categories: 'list=atomic',
    shortNames: 'list=atomic',
  },
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpec': {
    versions: 'list=atomic',
  },
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus': {
    conditions: 'list=map(type)',
    storedVersions: 'list=atomic',
  },
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersion': {
    additionalPrinterColumns: 'list=atomic',
    selectableFields: 'list=atomic',
  },
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps': {
    allOf: 'list=atomic',
    anyOf: 'list=atomic',
    enum: 'list=atomic',
    maxItems: 'int64',
    maxLength: 'int64',
    maxProperties: 'int64',
    maximum: 'double',
    minItems: 'int64',
    minLength: 'int64',
    minProperties: 'int64',
    minimum: 'double',
    multipleOf: 'double',
    oneOf: 'list=atomic',
    required: 'list=atomic',
    'x-kubernetes-list-map-keys': 'list=atomic',
    'x-kubernetes-validations': 'list=map(rule) patch=merge key=rule',
  },
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.WebhookClientConfig': {
    caBundle: 'byte',
  },
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.WebhookConversion': {
    conversionReviewVersions: 'list=atomic',
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup': {
    serverAddressByClientCIDRs: 'list=atomic',
    versions: 'list=atomic',
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList': {
    groups: 'list=atomic',
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIResource': {
    categories: 'list=atomic',
    shortNames: 'list=atomic',
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList': {
    resources: 'list=atomic',
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions': {
    serverAddressByClientCIDRs: 'list=atomic',
    versions: 'list=atomic',
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.Condition': {
    observedGeneration: 'int64',
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions': {
    dryRun: 'list=atomic',
    gracePeriodSeconds: 'int64',
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector': {
    matchExpressions: 'list=atomic',
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement': {
    values: 'list=atomic',
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta': {
    remainingItemCount: 'int64',
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': {
    deletionGracePeriodSeconds: 'int64',
    finalizers: 'list=set patch=merge',
    generation: 'int64',
    managedFields: 'list=atomic',
    ownerReferences: 'list=map(uid) patch=merge key=uid',
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails': {
    causes: 'list=atomic',
  },
};

/** Structs that are replaced as a whole (`+structType=atomic`). */
export const ATOMIC_STRUCTS: string[] = [
  'io.k8s.api.autoscaling.v1.CrossVersionObjectReference',
  'io.k8s.api.core.v1.ConfigMapKeySelector',
  'io.k8s.api.core.v1.EndpointAddress',
  'io.k8s.api.core.v1.EndpointPort',
  'io.k8s.api.core.v1.LocalObjectReference',
  'io.k8s.api.core.v1.NodeSelector',
  'io.k8s.api.core.v1.NodeSelectorTerm',
  'io.k8s.api.core.v1.ObjectFieldSelector',
  'io.k8s.api.core.v1.ObjectReference',
  'io.k8s.api.core.v1.ResourceFieldSelector',
  'io.k8s.api.core.v1.ScopeSelector',
  'io.k8s.api.core.v1.SecretKeySelector',
  'io.k8s.api.core.v1.SecretReference',
  'io.k8s.api.core.v1.TopologySelectorTerm',
  'io.k8s.api.core.v1.TypedLocalObjectReference',
  'io.k8s.api.discovery.v1.EndpointPort',
  'io.k8s.api.networking.v1.ServiceBackendPort',
  'io.k8s.api.rbac.v1.RoleRef',
  'io.k8s.api.rbac.v1.Subject',
  'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector',
  'io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference',
];

export interface ExtraProperty {
  description: string;
  /** Schema; `$ref` may be given as a bare definition name. */
  schema: Record<string, unknown>;
}

/** Properties added upstream after the kubernetes-types release in node_modules. */
const str = (description: string): ExtraProperty => ({ description, schema: { type: 'string' } });
const bool = (description: string): ExtraProperty => ({ description, schema: { type: 'boolean' } });
const int32 = (description: string): ExtraProperty => ({ description, schema: { type: 'integer', format: 'int32' } });
const int64 = (description: string): ExtraProperty => ({ description, schema: { type: 'integer', format: 'int64' } });
const ref = (name: string, description: string): ExtraProperty => ({ description, schema: { $ref: name } });
const strings = (description: string): ExtraProperty => ({ description, schema: { type: 'array', items: { type: 'string' } } });

const CORE = 'io.k8s.api.core.v1';
const APIEXT = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1';
const APIREG = 'io.k8s.kube-aggregator.pkg.apis.apiregistration.v1';

/**
 * Properties missing from the kubernetes-types release in node_modules: fields added
 * upstream up to v1.33, and a few its generator drops (names with dashes, comments
 * containing a comment terminator). Descriptions here are kite's own summaries.
 */
export const EXTRA_PROPERTIES: Record<string, Record<string, ExtraProperty>> = {
  'io.k8s.api.admissionregistration.v1.RuleWithOperations': {
    resources: strings('Resources is a list of resources this rule applies to. "pods" means pods, "pods/log" the log subresource of pods, "*" all resources but not subresources, "pods/*" all subresources of pods, "*/scale" all scale subresources, "*/*" all resources and their subresources. Required.'),
    scope: str('scope says whether the rule applies to cluster-scoped resources ("Cluster"), namespaced ones ("Namespaced") or both ("*", the default).'),
  },
  'io.k8s.api.admissionregistration.v1.NamedRuleWithOperations': {
    resources: strings('Resources is a list of resources this rule applies to. "pods" means pods, "pods/log" the log subresource of pods, "*" all resources but not subresources, "pods/*" all subresources of pods, "*/scale" all scale subresources, "*/*" all resources and their subresources. Required.'),
    scope: str('scope says whether the rule applies to cluster-scoped resources ("Cluster"), namespaced ones ("Namespaced") or both ("*", the default).'),
  },
  [`${APIEXT}.JSONSchemaProps`]: {
    'x-kubernetes-embedded-resource': bool('x-kubernetes-embedded-resource marks the value as an embedded Kubernetes object with apiVersion, kind and metadata. The type must be object.'),
    'x-kubernetes-int-or-string': bool('x-kubernetes-int-or-string marks a value that may be either an integer or a string.'),
    'x-kubernetes-list-map-keys': strings('x-kubernetes-list-map-keys names the fields that identify an item of a list whose x-kubernetes-list-type is `map`.'),
    'x-kubernetes-list-type': str('x-kubernetes-list-type describes the topology of a list: `atomic` (replaced as a whole), `set` (unique scalar items) or `map` (items identified by x-kubernetes-list-map-keys).'),
    'x-kubernetes-map-type': str('x-kubernetes-map-type describes the topology of an object: `granular` (fields merged individually) or `atomic` (replaced as a whole).'),
    'x-kubernetes-preserve-unknown-fields': bool('x-kubernetes-preserve-unknown-fields keeps fields that the schema does not specify instead of pruning them. It applies recursively until nested properties or additionalProperties are specified. May only be true or unset.'),
    'x-kubernetes-validations': {
      description: 'x-kubernetes-validations lists validation rules written in the CEL expression language.',
      schema: { type: 'array', items: { $ref: `${APIEXT}.ValidationRule` } },
    },
  },
  'io.k8s.api.authorization.v1.ResourceRule': {
    resources: strings('resources lists the resources this rule applies to. "*" means all resources of the listed API groups; a "*/sub" entry names subresource sub of all resources.'),
    verbs: strings('verbs lists the API verbs this rule allows, like get, list, watch, create, update, delete, proxy. "*" means all.'),
  },
  'io.k8s.api.apps.v1.DeploymentStatus': {
    terminatingReplicas: int32('Number of terminating pods of this deployment: pods with a deletionTimestamp that have not yet reached the Failed or Succeeded phase. Alpha: requires the DeploymentReplicaSetTerminatingReplicas feature gate.'),
  },
  'io.k8s.api.apps.v1.ReplicaSetStatus': {
    terminatingReplicas: int32('Number of terminating pods of this replica set: pods with a deletionTimestamp that have not yet reached the Failed or Succeeded phase. Alpha: requires the DeploymentReplicaSetTerminatingReplicas feature gate.'),
  },
  'io.k8s.api.autoscaling.v2.HPAScalingRules': {
    tolerance: ref('io.k8s.apimachinery.pkg.api.resource.Quantity', 'tolerance is the relative difference between the current and the desired metric value below which the autoscaler does not scale. Alpha: requires the HPAConfigurableTolerance feature gate.'),
  },
  'io.k8s.api.coordination.v1.LeaseSpec': {
    preferredHolder: str('preferredHolder tells the current holder that another candidate should take over the lease. It may only be set together with strategy.'),
    strategy: str('strategy names how the leader is chosen among candidates when coordinated leader election is used. Unset means no coordination.'),
  },
  [`${CORE}.Lifecycle`]: {
    stopSignal: str('stopSignal is the signal sent to the container when it is stopped. Unset means the default of the container image or runtime. Requires spec.os.name to be set.'),
  },
  [`${CORE}.ContainerStatus`]: {
    stopSignal: str('stopSignal is the signal actually used to stop this container.'),
  },
  [`${CORE}.NodeRuntimeHandlerFeatures`]: {
    userNamespaces: bool('userNamespaces is true when the runtime handler supports user namespaces, including for volumes.'),
  },
  [`${CORE}.PodCondition`]: {
    observedGeneration: int64('The .metadata.generation of the pod that this condition was computed from.'),
  },
  [`${CORE}.PodStatus`]: {
    observedGeneration: int64('The .metadata.generation of the pod that this status was computed from.'),
    resources: ref(`${CORE}.ResourceRequirements`, 'Pod-level resource requests and limits currently applied, when pod-level resources are used.'),
  },
  [`${CORE}.PodResourceClaim`]: {
    resourceClaimName: str('Name of a ResourceClaim in the pod\'s namespace. Exactly one of resourceClaimName and resourceClaimTemplateName must be set.'),
    resourceClaimTemplateName: str('Name of a ResourceClaimTemplate in the pod\'s namespace from which a claim for this pod is created. Exactly one of resourceClaimName and resourceClaimTemplateName must be set.'),
  },
  [`${CORE}.PodSecurityContext`]: {
    seLinuxChangePolicy: str('How the SELinux label of the pod is applied to its volumes: "Recursive" relabels every file, "MountOption" uses a mount option where the volume supports it.'),
    supplementalGroupsPolicy: str('How the supplemental groups of the first container process are computed: "Merge" (default) adds the groups of the container image, "Strict" uses only the groups listed in the pod.'),
  },
  [`${CORE}.PodSpec`]: {
    resources: ref(`${CORE}.ResourceRequirements`, 'Total CPU and memory requests and limits of all containers of the pod (pod-level resources). Requires the PodLevelResources feature gate.'),
  },
  [`${CORE}.ResourceClaim`]: {
    request: str('Name of one request of the referenced claim. Empty makes the whole claim available; otherwise only the result of that request.'),
  },
  [`${CORE}.Volume`]: {
    image: ref(`${CORE}.ImageVolumeSource`, 'image mounts the content of an OCI image or artifact, read-only, pulled by the kubelet like a container image.'),
  },
  'io.k8s.api.discovery.v1.EndpointHints': {
    forNodes: {
      description: 'forNodes lists the nodes that should consume this endpoint under topology-aware routing. At most 8 entries.',
      schema: { type: 'array', items: { $ref: 'io.k8s.api.discovery.v1.ForNode' } },
    },
  },
  'io.k8s.api.storage.v1.CSIDriverSpec': {
    nodeAllocatableUpdatePeriodSeconds: int64('Interval in seconds between periodic refreshes of the CSINode allocatable capacity of this driver. Minimum 10. Alpha: requires the MutableCSINodeAllocatableCount feature gate.'),
  },
  'io.k8s.api.storage.v1.VolumeError': {
    errorCode: int32('gRPC status code of the error of the Attach or Detach operation. Alpha: requires the MutableCSINodeAllocatableCount feature gate.'),
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions': {
    ignoreStoreReadErrorWithClusterBreakingPotential: bool('When true, an object that cannot be read from storage (corrupt data, failed decryption) is deleted anyway, bypassing finalizers and preconditions. Unsafe; defaults to false.'),
  },
  'io.k8s.apimachinery.pkg.version.Info': {
    emulationMajor: str('Major version of the emulated version.'),
    emulationMinor: str('Minor version of the emulated version.'),
    minCompatibilityMajor: str('Major version of the minimum compatibility version.'),
    minCompatibilityMinor: str('Minor version of the minimum compatibility version.'),
  },
};

/** Definitions missing from kubernetes-types that EXTRA_PROPERTIES refer to. */
export const EXTRA_DEFINITIONS: Record<string, Record<string, unknown>> = {
  // apiregistration.k8s.io/v1 (kube-aggregator's types; kubernetes-types has no declarations for them).
  [`${APIREG}.APIService`]: {
    description: 'APIService represents a server for a particular GroupVersion. Name must be "version.group".',
    type: 'object',
    properties: {
      apiVersion: { description: 'APIVersion defines the versioned schema of this representation of an object.', type: 'string' },
      kind: { description: 'Kind is a string value representing the REST resource this object represents.', type: 'string' },
      metadata: { description: 'Standard object metadata.', $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' },
      spec: { description: 'Spec contains information for locating and communicating with a server.', $ref: `#/definitions/${APIREG}.APIServiceSpec` },
      status: { description: 'Status contains derived information about an API server.', $ref: `#/definitions/${APIREG}.APIServiceStatus` },
    },
    'x-kubernetes-group-version-kind': [{ group: 'apiregistration.k8s.io', kind: 'APIService', version: 'v1' }],
  },
  [`${APIREG}.APIServiceList`]: {
    description: 'APIServiceList is a list of APIService objects.',
    type: 'object',
    properties: {
      apiVersion: { description: 'APIVersion defines the versioned schema of this representation of an object.', type: 'string' },
      items: { description: 'Items is the list of APIService.', type: 'array', items: { $ref: `#/definitions/${APIREG}.APIService` } },
      kind: { description: 'Kind is a string value representing the REST resource this object represents.', type: 'string' },
      metadata: { description: 'Standard list metadata.', $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta' },
    },
    required: ['items'],
    'x-kubernetes-group-version-kind': [{ group: 'apiregistration.k8s.io', kind: 'APIServiceList', version: 'v1' }],
  },
  [`${APIREG}.APIServiceSpec`]: {
    description: 'APIServiceSpec contains information for locating and communicating with a server. Only https is supported.',
    type: 'object',
    properties: {
      caBundle: { description: 'CABundle is a PEM encoded CA bundle which will be used to validate an API server\'s serving certificate. If unspecified, system trust roots on the apiserver are used.', type: 'string', format: 'byte', 'x-kubernetes-list-type': 'atomic' },
      group: { description: 'Group is the API group name this server hosts.', type: 'string' },
      groupPriorityMinimum: { description: 'GroupPriorityMinimum is the priority this group should have at least. Higher priority means that the group is preferred by clients over lower priority ones.', type: 'integer', format: 'int32' },
      insecureSkipTLSVerify: { description: 'InsecureSkipTLSVerify disables TLS certificate verification when communicating with this server. This is strongly discouraged.', type: 'boolean' },
      service: { description: 'Service is a reference to the service for this API server. If empty, the API is handled locally on this server.', $ref: `#/definitions/${APIREG}.ServiceReference` },
      version: { description: 'Version is the API version this server hosts. For example, "v1".', type: 'string' },
      versionPriority: { description: 'VersionPriority controls the ordering of this API version inside of its group. Must be greater than zero.', type: 'integer', format: 'int32' },
    },
    required: ['groupPriorityMinimum', 'versionPriority'],
  },
  [`${APIREG}.ServiceReference`]: {
    description: 'ServiceReference holds a reference to Service.legacy.k8s.io',
    type: 'object',
    properties: {
      name: { description: 'Name is the name of the service', type: 'string' },
      namespace: { description: 'Namespace is the namespace of the service', type: 'string' },
      port: { description: 'If specified, the port on the service that hosting webhook. Default to 443 for backward compatibility.', type: 'integer', format: 'int32' },
    },
  },
  [`${APIREG}.APIServiceStatus`]: {
    description: 'APIServiceStatus contains derived information about an API server',
    type: 'object',
    properties: {
      conditions: {
        description: 'Current service state of apiService.',
        type: 'array',
        items: { $ref: `#/definitions/${APIREG}.APIServiceCondition` },
        'x-kubernetes-list-map-keys': ['type'],
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-patch-merge-key': 'type',
        'x-kubernetes-patch-strategy': 'merge',
      },
    },
  },
  [`${APIREG}.APIServiceCondition`]: {
    description: 'APIServiceCondition describes the state of an APIService at a particular point',
    type: 'object',
    properties: {
      lastTransitionTime: { description: 'Last time the condition transitioned from one status to another.', $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Time' },
      message: { description: 'Human-readable message indicating details about last transition.', type: 'string' },
      reason: { description: "Unique, one-word, CamelCase reason for the condition's last transition.", type: 'string' },
      status: { description: 'Status is the status of the condition. Can be True, False, Unknown.', type: 'string' },
      type: { description: 'Type is the type of the condition.', type: 'string' },
    },
    required: ['type', 'status'],
  },
  [`${CORE}.ImageVolumeSource`]: {
    description: 'ImageVolumeSource mounts an OCI image or artifact as a read-only volume.',
    type: 'object',
    properties: {
      pullPolicy: { description: 'When to pull the image: Always, Never or IfNotPresent. Defaults to Always for the :latest tag, IfNotPresent otherwise.', type: 'string' },
      reference: { description: 'Image or artifact reference, as for a container image.', type: 'string' },
    },
  },
  'io.k8s.api.discovery.v1.ForNode': {
    description: 'ForNode names a node that should consume an endpoint.',
    type: 'object',
    properties: {
      name: { description: 'name of the node.', type: 'string' },
    },
    required: ['name'],
  },
};

/** `required` lists to use instead of the ones derived from kubernetes-types. */
export const REQUIRED_OVERRIDES: Record<string, string[]> = {
  'io.k8s.api.authorization.v1.ResourceRule': ['verbs'],
};

/** Kinds of apimachinery types that kubernetes-types declares with a plain string apiVersion/kind. */
export const META_GVKS: Record<string, { group: string; kind: string; version: string }[]> = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup': [{ group: '', kind: 'APIGroup', version: 'v1' }],
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList': [{ group: '', kind: 'APIGroupList', version: 'v1' }],
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList': [{ group: '', kind: 'APIResourceList', version: 'v1' }],
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions': [{ group: '', kind: 'APIVersions', version: 'v1' }],
  'io.k8s.apimachinery.pkg.apis.meta.v1.Status': [{ group: '', kind: 'Status', version: 'v1' }],
};
