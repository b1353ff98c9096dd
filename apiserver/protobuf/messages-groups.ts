// Message definitions for the meta/v1 types and the named API groups, in kite's own schema notation
// (parsed by ./schema.ts, which describes it). Field numbers, wire types, JSON
// names, pointer-ness and omitempty are the facts of the Kubernetes 1.33 API
// (k8s.io/api and k8s.io/apimachinery generated.proto and Go struct tags).
// A field line reads `<number> <jsonName> <type><flags>`, in Go struct order.

export const GROUP_MESSAGES = `
@meta
ObjectMeta
  1 name string
  2 generateName string
  3 namespace string
  4 selfLink string
  5 uid string
  6 resourceVersion string
  7 generation int64
  8 creationTimestamp Time
  9 deletionTimestamp Time?
  10 deletionGracePeriodSeconds int64?
  11 labels {}string
  12 annotations {}string
  13 ownerReferences []OwnerReference
  14 finalizers []string
  17 managedFields []ManagedFieldsEntry
OwnerReference
  5 apiVersion string!
  1 kind string!
  3 name string!
  4 uid string!
  6 controller bool?
  7 blockOwnerDeletion bool?
ManagedFieldsEntry
  1 manager string
  2 operation string
  3 apiVersion string
  4 time Time?
  6 fieldsType string
  7 fieldsV1 FieldsV1?
  8 subresource string
LabelSelector
  1 matchLabels {}string
  2 matchExpressions []LabelSelectorRequirement
LabelSelectorRequirement
  1 key string!
  2 operator string!
  3 values []string
Condition
  1 type string!
  2 status string!
  3 observedGeneration int64
  4 lastTransitionTime Time!
  5 reason string!
  6 message string!
DeleteOptions
  1 gracePeriodSeconds int64?
  2 preconditions Preconditions?
  3 orphanDependents bool?
  4 propagationPolicy string?
  5 dryRun []string
  6 ignoreStoreReadErrorWithClusterBreakingPotential bool?
Preconditions
  1 uid string?
  2 resourceVersion string?
FieldSelectorRequirement
  1 key string!
  2 operator string!
  3 values []string
Status
  1 metadata ListMeta
  2 status string
  3 message string
  4 reason string
  5 details StatusDetails?
  6 code int32
ListMeta
  1 selfLink string
  2 resourceVersion string
  3 continue string
  4 remainingItemCount int64?
StatusDetails
  1 name string
  2 group string
  3 kind string
  6 uid string
  4 causes []StatusCause
  5 retryAfterSeconds int32
StatusCause
  1 reason string
  2 message string
  3 field string

@apps
Deployment
  1 metadata meta.ObjectMeta
  2 spec DeploymentSpec
  3 status DeploymentStatus
DeploymentSpec
  1 replicas int32?
  2 selector meta.LabelSelector?!
  3 template core.PodTemplateSpec!
  4 strategy DeploymentStrategy
  5 minReadySeconds int32
  6 revisionHistoryLimit int32?
  7 paused bool
  9 progressDeadlineSeconds int32?
DeploymentStrategy
  1 type string
  2 rollingUpdate RollingUpdateDeployment?
RollingUpdateDeployment
  1 maxUnavailable IntOrString?
  2 maxSurge IntOrString?
DeploymentStatus
  1 observedGeneration int64
  2 replicas int32
  3 updatedReplicas int32
  7 readyReplicas int32
  4 availableReplicas int32
  5 unavailableReplicas int32
  9 terminatingReplicas int32?
  6 conditions []DeploymentCondition
  8 collisionCount int32?
DeploymentCondition
  1 type string!
  2 status string!
  6 lastUpdateTime Time
  7 lastTransitionTime Time
  4 reason string
  5 message string
StatefulSet
  1 metadata meta.ObjectMeta
  2 spec StatefulSetSpec
  3 status StatefulSetStatus
StatefulSetSpec
  1 replicas int32?
  2 selector meta.LabelSelector?!
  3 template core.PodTemplateSpec!
  4 volumeClaimTemplates []core.PersistentVolumeClaim
  5 serviceName string!
  6 podManagementPolicy string
  7 updateStrategy StatefulSetUpdateStrategy
  8 revisionHistoryLimit int32?
  9 minReadySeconds int32
  10 persistentVolumeClaimRetentionPolicy StatefulSetPersistentVolumeClaimRetentionPolicy?
  11 ordinals StatefulSetOrdinals?
StatefulSetUpdateStrategy
  1 type string
  2 rollingUpdate RollingUpdateStatefulSetStrategy?
RollingUpdateStatefulSetStrategy
  1 partition int32?
  2 maxUnavailable IntOrString?
StatefulSetPersistentVolumeClaimRetentionPolicy
  1 whenDeleted string
  2 whenScaled string
StatefulSetOrdinals
  1 start int32!
StatefulSetStatus
  1 observedGeneration int64
  2 replicas int32!
  3 readyReplicas int32
  4 currentReplicas int32
  5 updatedReplicas int32
  6 currentRevision string
  7 updateRevision string
  9 collisionCount int32?
  10 conditions []StatefulSetCondition
  11 availableReplicas int32!
StatefulSetCondition
  1 type string!
  2 status string!
  3 lastTransitionTime Time
  4 reason string
  5 message string
DaemonSet
  1 metadata meta.ObjectMeta
  2 spec DaemonSetSpec
  3 status DaemonSetStatus
DaemonSetSpec
  1 selector meta.LabelSelector?!
  2 template core.PodTemplateSpec!
  3 updateStrategy DaemonSetUpdateStrategy
  4 minReadySeconds int32
  6 revisionHistoryLimit int32?
DaemonSetUpdateStrategy
  1 type string
  2 rollingUpdate RollingUpdateDaemonSet?
RollingUpdateDaemonSet
  1 maxUnavailable IntOrString?
  2 maxSurge IntOrString?
DaemonSetStatus
  1 currentNumberScheduled int32!
  2 numberMisscheduled int32!
  3 desiredNumberScheduled int32!
  4 numberReady int32!
  5 observedGeneration int64
  6 updatedNumberScheduled int32
  7 numberAvailable int32
  8 numberUnavailable int32
  9 collisionCount int32?
  10 conditions []DaemonSetCondition
DaemonSetCondition
  1 type string!
  2 status string!
  3 lastTransitionTime Time
  4 reason string
  5 message string
ReplicaSet
  1 metadata meta.ObjectMeta
  2 spec ReplicaSetSpec
  3 status ReplicaSetStatus
ReplicaSetSpec
  1 replicas int32?
  4 minReadySeconds int32
  2 selector meta.LabelSelector?!
  3 template core.PodTemplateSpec
ReplicaSetStatus
  1 replicas int32!
  2 fullyLabeledReplicas int32
  4 readyReplicas int32
  5 availableReplicas int32
  7 terminatingReplicas int32?
  3 observedGeneration int64
  6 conditions []ReplicaSetCondition
ReplicaSetCondition
  1 type string!
  2 status string!
  3 lastTransitionTime Time
  4 reason string
  5 message string

@batch
Job
  1 metadata meta.ObjectMeta
  2 spec JobSpec
  3 status JobStatus
JobSpec
  1 parallelism int32?
  2 completions int32?
  3 activeDeadlineSeconds int64?
  11 podFailurePolicy PodFailurePolicy?
  16 successPolicy SuccessPolicy?
  7 backoffLimit int32?
  12 backoffLimitPerIndex int32?
  13 maxFailedIndexes int32?
  4 selector meta.LabelSelector?
  5 manualSelector bool?
  6 template core.PodTemplateSpec!
  8 ttlSecondsAfterFinished int32?
  9 completionMode string?
  10 suspend bool?
  14 podReplacementPolicy string?
  15 managedBy string?
PodFailurePolicy
  1 rules []PodFailurePolicyRule!
PodFailurePolicyRule
  1 action string!
  2 onExitCodes PodFailurePolicyOnExitCodesRequirement?
  3 onPodConditions []PodFailurePolicyOnPodConditionsPattern
PodFailurePolicyOnExitCodesRequirement
  1 containerName string?
  2 operator string!
  3 values []int32!
PodFailurePolicyOnPodConditionsPattern
  1 type string!
  2 status string!
SuccessPolicy
  1 rules []SuccessPolicyRule!
SuccessPolicyRule
  1 succeededIndexes string?
  2 succeededCount int32?
JobStatus
  1 conditions []JobCondition
  2 startTime Time?
  3 completionTime Time?
  4 active int32
  5 succeeded int32
  6 failed int32
  11 terminating int32?
  7 completedIndexes string
  10 failedIndexes string?
  8 uncountedTerminatedPods UncountedTerminatedPods?
  9 ready int32?
JobCondition
  1 type string!
  2 status string!
  3 lastProbeTime Time
  4 lastTransitionTime Time
  5 reason string
  6 message string
UncountedTerminatedPods
  1 succeeded []string
  2 failed []string
CronJob
  1 metadata meta.ObjectMeta
  2 spec CronJobSpec
  3 status CronJobStatus
CronJobSpec
  1 schedule string!
  8 timeZone string?
  2 startingDeadlineSeconds int64?
  3 concurrencyPolicy string
  4 suspend bool?
  5 jobTemplate JobTemplateSpec!
  6 successfulJobsHistoryLimit int32?
  7 failedJobsHistoryLimit int32?
JobTemplateSpec
  1 metadata meta.ObjectMeta
  2 spec JobSpec
CronJobStatus
  1 active []core.ObjectReference
  4 lastScheduleTime Time?
  5 lastSuccessfulTime Time?

@networking
Ingress
  1 metadata meta.ObjectMeta
  2 spec IngressSpec
  3 status IngressStatus
IngressSpec
  4 ingressClassName string?
  1 defaultBackend IngressBackend?
  2 tls []IngressTLS
  3 rules []IngressRule
IngressBackend
  4 service IngressServiceBackend?
  3 resource core.TypedLocalObjectReference?
IngressServiceBackend
  1 name string!
  2 port ServiceBackendPort
ServiceBackendPort
  1 name string
  2 number int32
IngressTLS
  1 hosts []string
  2 secretName string
IngressRule
  1 host string
  2 - IngressRuleValue^
IngressRuleValue
  1 http HTTPIngressRuleValue?
HTTPIngressRuleValue
  1 paths []HTTPIngressPath!
HTTPIngressPath
  1 path string
  3 pathType string?!
  2 backend IngressBackend!
IngressStatus
  1 loadBalancer IngressLoadBalancerStatus
IngressLoadBalancerStatus
  1 ingress []IngressLoadBalancerIngress
IngressLoadBalancerIngress
  1 ip string
  2 hostname string
  4 ports []IngressPortStatus
IngressPortStatus
  1 port int32!
  2 protocol string!
  3 error string?
IngressClass
  1 metadata meta.ObjectMeta
  2 spec IngressClassSpec
IngressClassSpec
  1 controller string
  2 parameters IngressClassParametersReference?
IngressClassParametersReference
  1 apiGroup string?
  2 kind string!
  3 name string!
  4 scope string?!
  5 namespace string?

@policy
PodDisruptionBudget
  1 metadata meta.ObjectMeta
  2 spec PodDisruptionBudgetSpec
  3 status PodDisruptionBudgetStatus
PodDisruptionBudgetSpec
  1 minAvailable IntOrString?
  2 selector meta.LabelSelector?
  3 maxUnavailable IntOrString?
  4 unhealthyPodEvictionPolicy string?
PodDisruptionBudgetStatus
  1 observedGeneration int64
  2 disruptedPods {}Time
  3 disruptionsAllowed int32!
  4 currentHealthy int32!
  5 desiredHealthy int32!
  6 expectedPods int32!
  7 conditions []meta.Condition
Eviction
  1 metadata meta.ObjectMeta
  2 deleteOptions meta.DeleteOptions?

@scheduling
PriorityClass
  1 metadata meta.ObjectMeta
  2 value int32!
  3 globalDefault bool
  4 description string
  5 preemptionPolicy string?

@rbac
Role
  1 metadata meta.ObjectMeta
  2 rules []PolicyRule!
PolicyRule
  1 verbs []string!
  2 apiGroups []string
  3 resources []string
  4 resourceNames []string
  5 nonResourceURLs []string
ClusterRole
  1 metadata meta.ObjectMeta
  2 rules []PolicyRule!
  3 aggregationRule AggregationRule?
AggregationRule
  1 clusterRoleSelectors []meta.LabelSelector
RoleBinding
  1 metadata meta.ObjectMeta
  2 subjects []Subject
  3 roleRef RoleRef!
Subject
  1 kind string!
  2 apiGroup string
  3 name string!
  4 namespace string
RoleRef
  1 apiGroup string!
  2 kind string!
  3 name string!
ClusterRoleBinding
  1 metadata meta.ObjectMeta
  2 subjects []Subject
  3 roleRef RoleRef!

@authorization
SelfSubjectAccessReview
  1 metadata meta.ObjectMeta
  2 spec SelfSubjectAccessReviewSpec!
  3 status SubjectAccessReviewStatus
SelfSubjectAccessReviewSpec
  1 resourceAttributes ResourceAttributes?
  2 nonResourceAttributes NonResourceAttributes?
ResourceAttributes
  1 namespace string
  2 verb string
  3 group string
  4 version string
  5 resource string
  6 subresource string
  7 name string
  8 fieldSelector FieldSelectorAttributes?
  9 labelSelector LabelSelectorAttributes?
FieldSelectorAttributes
  1 rawSelector string
  2 requirements []meta.FieldSelectorRequirement
LabelSelectorAttributes
  1 rawSelector string
  2 requirements []meta.LabelSelectorRequirement
NonResourceAttributes
  1 path string
  2 verb string
SubjectAccessReviewStatus
  1 allowed bool!
  4 denied bool
  2 reason string
  3 evaluationError string
SelfSubjectRulesReview
  1 metadata meta.ObjectMeta
  2 spec SelfSubjectRulesReviewSpec!
  3 status SubjectRulesReviewStatus
SelfSubjectRulesReviewSpec
  1 namespace string
SubjectRulesReviewStatus
  1 resourceRules []ResourceRule!
  2 nonResourceRules []NonResourceRule!
  3 incomplete bool!
  4 evaluationError string
ResourceRule
  1 verbs []string!
  2 apiGroups []string
  3 resources []string
  4 resourceNames []string
NonResourceRule
  1 verbs []string!
  2 nonResourceURLs []string
SubjectAccessReview
  1 metadata meta.ObjectMeta
  2 spec SubjectAccessReviewSpec!
  3 status SubjectAccessReviewStatus
SubjectAccessReviewSpec
  1 resourceAttributes ResourceAttributes?
  2 nonResourceAttributes NonResourceAttributes?
  3 user string
  4 groups []string
  5 extra {}StringList
  6 uid string
LocalSubjectAccessReview
  1 metadata meta.ObjectMeta
  2 spec SubjectAccessReviewSpec!
  3 status SubjectAccessReviewStatus

@authentication
TokenRequest
  1 metadata meta.ObjectMeta
  2 spec TokenRequestSpec!
  3 status TokenRequestStatus
TokenRequestSpec
  1 audiences []string!
  4 expirationSeconds int64?!
  3 boundObjectRef BoundObjectReference?!
BoundObjectReference
  1 kind string
  2 apiVersion string
  3 name string
  4 uid string
TokenRequestStatus
  1 token string!
  2 expirationTimestamp Time!
TokenReview
  1 metadata meta.ObjectMeta
  2 spec TokenReviewSpec!
  3 status TokenReviewStatus
TokenReviewSpec
  1 token string
  2 audiences []string
TokenReviewStatus
  1 authenticated bool
  2 user UserInfo
  4 audiences []string
  3 error string
UserInfo
  1 username string
  2 uid string
  3 groups []string
  4 extra {}StringList
SelfSubjectReview
  1 metadata meta.ObjectMeta
  2 status SelfSubjectReviewStatus
SelfSubjectReviewStatus
  1 userInfo UserInfo

@certificates
CertificateSigningRequest
  1 metadata meta.ObjectMeta
  2 spec CertificateSigningRequestSpec!
  3 status CertificateSigningRequestStatus
CertificateSigningRequestSpec
  1 request bytes!
  7 signerName string!
  8 expirationSeconds int32?
  5 usages []string
  2 username string
  3 uid string
  4 groups []string
  6 extra {}StringList
CertificateSigningRequestStatus
  1 conditions []CertificateSigningRequestCondition
  2 certificate bytes
CertificateSigningRequestCondition
  1 type string!
  6 status string!
  2 reason string
  3 message string
  4 lastUpdateTime Time
  5 lastTransitionTime Time

@autoscaling1
HorizontalPodAutoscaler
  1 metadata meta.ObjectMeta
  2 spec HorizontalPodAutoscalerSpec
  3 status HorizontalPodAutoscalerStatus
HorizontalPodAutoscalerSpec
  1 scaleTargetRef CrossVersionObjectReference!
  2 minReplicas int32?
  3 maxReplicas int32!
  4 targetCPUUtilizationPercentage int32?
CrossVersionObjectReference
  1 kind string!
  2 name string!
  3 apiVersion string
HorizontalPodAutoscalerStatus
  1 observedGeneration int64?
  2 lastScaleTime Time?
  3 currentReplicas int32!
  4 desiredReplicas int32!
  5 currentCPUUtilizationPercentage int32?
Scale
  1 metadata meta.ObjectMeta
  2 spec ScaleSpec
  3 status ScaleStatus
ScaleSpec
  1 replicas int32
ScaleStatus
  1 replicas int32!
  2 selector string

@autoscaling2
HorizontalPodAutoscaler
  1 metadata meta.ObjectMeta
  2 spec HorizontalPodAutoscalerSpec
  3 status HorizontalPodAutoscalerStatus
HorizontalPodAutoscalerSpec
  1 scaleTargetRef CrossVersionObjectReference!
  2 minReplicas int32?
  3 maxReplicas int32!
  4 metrics []MetricSpec
  5 behavior HorizontalPodAutoscalerBehavior?
CrossVersionObjectReference
  1 kind string!
  2 name string!
  3 apiVersion string
MetricSpec
  1 type string!
  2 object ObjectMetricSource?
  3 pods PodsMetricSource?
  4 resource ResourceMetricSource?
  7 containerResource ContainerResourceMetricSource?
  5 external ExternalMetricSource?
ObjectMetricSource
  1 describedObject CrossVersionObjectReference!
  2 target MetricTarget!
  3 metric MetricIdentifier!
MetricTarget
  1 type string!
  2 value Quantity?
  3 averageValue Quantity?
  4 averageUtilization int32?
MetricIdentifier
  1 name string!
  2 selector meta.LabelSelector?
PodsMetricSource
  1 metric MetricIdentifier!
  2 target MetricTarget!
ResourceMetricSource
  1 name string!
  2 target MetricTarget!
ContainerResourceMetricSource
  1 name string!
  2 target MetricTarget!
  3 container string!
ExternalMetricSource
  1 metric MetricIdentifier!
  2 target MetricTarget!
HorizontalPodAutoscalerBehavior
  1 scaleUp HPAScalingRules?
  2 scaleDown HPAScalingRules?
HPAScalingRules
  3 stabilizationWindowSeconds int32?
  1 selectPolicy string?
  2 policies []HPAScalingPolicy
  4 tolerance Quantity?
HPAScalingPolicy
  1 type string!
  2 value int32!
  3 periodSeconds int32!
HorizontalPodAutoscalerStatus
  1 observedGeneration int64?
  2 lastScaleTime Time?
  3 currentReplicas int32
  4 desiredReplicas int32!
  5 currentMetrics []MetricStatus!
  6 conditions []HorizontalPodAutoscalerCondition
MetricStatus
  1 type string!
  2 object ObjectMetricStatus?
  3 pods PodsMetricStatus?
  4 resource ResourceMetricStatus?
  7 containerResource ContainerResourceMetricStatus?
  5 external ExternalMetricStatus?
ObjectMetricStatus
  1 metric MetricIdentifier!
  2 current MetricValueStatus!
  3 describedObject CrossVersionObjectReference!
MetricValueStatus
  1 value Quantity?
  2 averageValue Quantity?
  3 averageUtilization int32?
PodsMetricStatus
  1 metric MetricIdentifier!
  2 current MetricValueStatus!
ResourceMetricStatus
  1 name string!
  2 current MetricValueStatus!
ContainerResourceMetricStatus
  1 name string!
  2 current MetricValueStatus!
  3 container string!
ExternalMetricStatus
  1 metric MetricIdentifier!
  2 current MetricValueStatus!
HorizontalPodAutoscalerCondition
  1 type string!
  2 status string!
  3 lastTransitionTime Time
  4 reason string
  5 message string
`;
