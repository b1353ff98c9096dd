// Per-kind write strategies, as upstream's rest.RESTCreateStrategy/RESTUpdateStrategy
// plus the defaulting that decoding performs and the admission plugins that always run
// (DefaultTolerationSeconds, ServiceAccount's defaulting, Priority). The generic
// registry calls these on every write:
//
//   create: prepareForCreate → default → validateCreate   (any order of the first two works)
//   update: default → prepareForUpdate(obj, old, subresource) → validateUpdate
//
// Causes are StatusCauses worded as upstream's field.Error; the registry wraps them with
// machinery/status.ts invalid() into a 422.
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../machinery/object.js';
import { jsonCopy } from '../../machinery/object.js';
import { resourceByKind } from '../../machinery/resources.js';
import type { StatusCause } from '../../machinery/status.js';
import * as apps from './apps.js';
import * as batch from './batch.js';
import * as core from './core.js';
import * as d from './defaults.js';
import { dedupe, type Cause } from './field.js';
import { validateObjectMetaGeneric, validateObjectMetaUpdate } from './meta.js';
import * as misc from './misc.js';
import * as reg from './admissionregistration.js';
import * as certs from './certificates.js';
import { nameIsDNSSubdomain, pathSegmentName } from './names.js';
import * as net from './networking.js';
import * as pod from './pod.js';
import { Quantity } from './quantity.js';
import { arr, ensureObj, isSet, obj, semanticEqual, str, strMap, type Obj } from './util.js';

export interface Strategy {
  /** Set defaults in place, as upstream's SetDefaults_* for that version (nested templates too). Throws a 400 StatusError for bodies upstream could not decode (bad quantities, bad base64). */
  default(obj: KubeObject): void;
  /** Before create: clear status unless the kind keeps it, set generation=1 for kinds that track it, run the always-on admission defaulting. */
  prepareForCreate(obj: KubeObject): void;
  /**
   * Before update: keep old status (main resource) or old spec (status subresource), bump
   * metadata.generation when the spec changed. `old` is only read: for the status
   * subresource it may be the stored object itself, whose members besides metadata and
   * status `obj` then shares (nothing may write to those afterwards).
   */
  prepareForUpdate(obj: KubeObject, old: KubeObject, subresource?: string): void;
  validateCreate(obj: KubeObject): StatusCause[];
  validateUpdate(obj: KubeObject, old: KubeObject, subresource?: string): StatusCause[];
  /** Field-selector attributes besides metadata.name/metadata.namespace. */
  fieldLabels(obj: KubeObject): Record<string, string>;

  // How the kind is deleted and stored (upstream: the REST strategy's options).
  /** DELETE answers with the deleted object (true) or a Status (false). */
  readonly returnsDeletedObject: boolean;
  /** PUT of an absent object creates it (AllowCreateOnUpdate). */
  readonly allowCreateOnUpdate: boolean;
  /** PUT without a resourceVersion (or "0") overwrites the latest version (AllowUnconditionalUpdate). */
  readonly allowUnconditionalUpdate: boolean;
  /** May be created in a namespace that is being terminated (events can be). */
  readonly createInTerminatingNamespace: boolean;
  /** Seconds a deletion waits for the object's owner to act (graceful deletion); 0 removes at once. */
  gracefulDeleteSeconds(obj: KubeObject, requested: number | undefined): number;
  /**
   * Marks, in place, a deletion that must wait for something besides finalizers and grace
   * (a namespace waits for its spec.finalizers); returns whether it waits.
   */
  holdDeletion(obj: KubeObject): boolean;
  /** An object marked for deletion whose finalizers are gone is removed by this update. */
  removeWhenFinalized(obj: KubeObject): boolean;
}

// ---- names -----------------------------------------------------------------------------------

const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** names.SimpleNameGenerator: the prefix (cut to 58 characters) plus 5 random characters. */
export function generateName(prefix: string): string {
  let s = prefix.length > 58 ? prefix.slice(0, 58) : prefix;
  for (let i = 0; i < 5; i++) s += NAME_ALPHABET[Math.floor(Math.random() * NAME_ALPHABET.length)];
  return s;
}

// ---- pods: QoS and the always-on admission plugins --------------------------------------------

/** qos.ComputePodQOS. */
export function podQOSClass(p: KubeObject): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const spec = obj(p.spec);
  const requests = new Map<string, Quantity>();
  const limits = new Map<string, Quantity>();
  let guaranteed = true;
  const add = (m: Map<string, Quantity>, k: string, q: Quantity) => m.set(k, (m.get(k) ?? Quantity.zero()).add(q));
  for (const c of [...arr(spec.containers), ...arr(spec.initContainers)]) {
    const res = obj(obj(c).resources);
    for (const [k, v] of Object.entries(obj(res.requests))) {
      if (k !== 'cpu' && k !== 'memory') continue;
      const q = Quantity.tryParse(v);
      if (q && q.sign() > 0) add(requests, k, q);
    }
    const found = new Set<string>();
    for (const [k, v] of Object.entries(obj(res.limits))) {
      if (k !== 'cpu' && k !== 'memory') continue;
      const q = Quantity.tryParse(v);
      if (q && q.sign() > 0) {
        found.add(k);
        add(limits, k, q);
      }
    }
    if (!found.has('cpu') || !found.has('memory')) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [k, r] of requests) {
      const l = limits.get(k);
      if (!l || l.cmp(r) !== 0) {
        guaranteed = false;
        break;
      }
    }
  }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}

const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';

/** The DefaultTolerationSeconds admission plugin (300 s for not-ready and unreachable). */
export function addDefaultTolerations(p: Obj, seconds = 300): void {
  const spec = ensureObj(p, 'spec');
  const tols = arr(spec.tolerations).map(obj);
  const tolerates = (taint: string) => tols.some((t) => (t.key === taint || !str(t.key)) && (t.effect === 'NoExecute' || !str(t.effect)));
  const add: Obj[] = [];
  if (!tolerates(NOT_READY_TAINT)) add.push({ key: NOT_READY_TAINT, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
  if (!tolerates(UNREACHABLE_TAINT)) add.push({ key: UNREACHABLE_TAINT, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
  if (add.length) spec.tolerations = [...arr(spec.tolerations), ...add];
}

/** What the ServiceAccount admission plugin defaults (the plugin itself, with the token volume, is serviceaccount.ts). */
function admitServiceAccount(p: Obj): void {
  const spec = ensureObj(p, 'spec');
  if ('kubernetes.io/config.mirror' in strMap(obj(p.metadata).annotations)) return;
  if (!str(spec.serviceAccountName)) spec.serviceAccountName = 'default';
  spec.serviceAccount = spec.serviceAccountName;
}

// ---- field labels ------------------------------------------------------------------------------

function podFieldLabels(p: KubeObject): Record<string, string> {
  const spec = obj(p.spec);
  const st = obj(p.status);
  const ips = arr(st.podIPs);
  return {
    'spec.nodeName': str(spec.nodeName),
    'spec.restartPolicy': str(spec.restartPolicy),
    'spec.schedulerName': str(spec.schedulerName),
    'spec.serviceAccountName': str(spec.serviceAccountName),
    'spec.hostNetwork': String(spec.hostNetwork === true),
    'status.phase': str(st.phase),
    'status.podIP': ips.length ? str(obj(ips[0]).ip) : str(st.podIP),
    'status.nominatedNodeName': str(st.nominatedNodeName),
  };
}

function eventFieldLabels(e: KubeObject): Record<string, string> {
  // core/v1 and events.k8s.io/v1 shapes both land here
  const io = obj(e.involvedObject ?? e.regarding);
  const src = obj(e.source ?? e.deprecatedSource);
  const reporting = str(e.reportingComponent ?? e.reportingController);
  return {
    'involvedObject.kind': str(io.kind),
    'involvedObject.namespace': str(io.namespace),
    'involvedObject.name': str(io.name),
    'involvedObject.uid': str(io.uid),
    'involvedObject.apiVersion': str(io.apiVersion),
    'involvedObject.resourceVersion': str(io.resourceVersion),
    'involvedObject.fieldPath': str(io.fieldPath),
    'regarding.kind': str(io.kind),
    'regarding.namespace': str(io.namespace),
    'regarding.name': str(io.name),
    'regarding.uid': str(io.uid),
    'regarding.apiVersion': str(io.apiVersion),
    'regarding.resourceVersion': str(io.resourceVersion),
    'regarding.fieldPath': str(io.fieldPath),
    reason: str(e.reason),
    reportingComponent: reporting,
    reportingController: reporting,
    source: str(src.component) || reporting,
    deprecatedSource: str(src.component) || reporting,
    type: str(e.type),
  };
}

// ---- the per-kind table --------------------------------------------------------------------------

type Validate = (o: Obj) => Cause[];
type ValidateUpdate = (o: Obj, old: Obj) => Cause[];

interface KindSpec {
  defaults?: (o: Obj) => void;
  /**
   * The only top-level members `defaults` reads or writes, when it is known: a status
   * write whose object keeps the stored object's own ones (a status patch that names
   * none of them) is not defaulted, since defaulting the stored members changes nothing
   * and the status write keeps them as they are anyway.
   */
  defaultsOnly?: readonly string[];
  validate: Validate;
  /** Full update validation; by default ObjectMeta update checks plus `validate`. */
  validateUpdate?: ValidateUpdate;
  /** Status-subresource validation; by default ObjectMeta update checks. */
  validateStatus?: ValidateUpdate;
  /** Track metadata.generation: true compares `spec`; a function says whether it changed. */
  generation?: boolean | ((o: Obj, old: Obj) => boolean);
  /** The status a new object starts with (when the kind has a status the client may not set). */
  initialStatus?: (o: Obj) => unknown;
  prepareCreate?: (o: Obj) => void;
  prepareUpdate?: (o: Obj, old: Obj) => void;
  /** Other subresources that write the object (CSR `approval`): what they keep, how they validate. */
  subresources?: Record<string, { prepare: (o: Obj, old: Obj) => void; validate: ValidateUpdate }>;
  /** Extra resets for the status subresource (spec is always kept). */
  statusReset?: (o: Obj, old: Obj) => void;
  fieldLabels?: (o: KubeObject) => Record<string, string>;
  /** Deletion behaviour; by default deleted at once, answered with a Status. */
  deletion?: {
    returnsDeletedObject?: boolean;
    gracefulSeconds?: (o: Obj, requested: number | undefined) => number;
    hold?: (o: Obj) => boolean;
    removeWhenFinalized?: (o: Obj) => boolean;
  };
  allowCreateOnUpdate?: boolean;
  /** Upstream's built-in kinds allow it; CustomResourceDefinitions (and custom resources) don't. */
  allowUnconditionalUpdate?: boolean;
  createInTerminatingNamespace?: boolean;
}

/** Pods bound to a node get time to stop; unscheduled or finished pods have nothing to stop. */
function podGracefulSeconds(p: Obj, requested: number | undefined): number {
  const spec = obj(p.spec);
  const phase = str(obj(p.status).phase);
  if (!str(spec.nodeName) || phase === 'Succeeded' || phase === 'Failed') return 0;
  const grace = requested ?? (typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30);
  // Upstream turns a request of 0 into 1 unless forced, so the kubelet still gets a chance; 0 means force here.
  return Math.max(0, grace);
}

const DELETED_OBJECT = { returnsDeletedObject: true };

const keepLabels = (o: Obj, old: Obj) => {
  const m = ensureObj(o, 'metadata');
  const om = obj(old.metadata);
  if (isSet(om.labels)) m.labels = om.labels;
  else delete m.labels;
};

/** Add a finalizer to a new object unless it is there already. */
function addFinalizer(o: Obj, finalizer: string): void {
  const m = ensureObj(o, 'metadata');
  const f = arr<string>(m.finalizers);
  if (!f.includes(finalizer)) m.finalizers = [...f, finalizer];
}

function nowRFC3339(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const metaUpdateThen =
  (v: Validate): ValidateUpdate =>
  (o, old) =>
    validateObjectMetaUpdate(o.metadata, old.metadata).concat(v(o));

const KINDS: Record<string, KindSpec> = {
  // ---- core/v1
  '/Pod': {
    deletion: { returnsDeletedObject: true, gracefulSeconds: podGracefulSeconds, removeWhenFinalized: (o) => Number(obj(o.metadata).deletionGracePeriodSeconds ?? 0) === 0 },
    defaults: d.defaultPod,
    defaultsOnly: ['spec'],
    validate: pod.validatePodCreate,
    validateUpdate: pod.validatePodUpdate,
    validateStatus: pod.validatePodStatusUpdate,
    generation: true,
    initialStatus: (o) => ({ phase: 'Pending', qosClass: podQOSClass(o) }),
    prepareCreate: (o) => {
      addDefaultTolerations(o);
      admitServiceAccount(o);
      const spec = obj(o.spec);
      if (arr(spec.schedulingGates).length > 0) {
        const st = ensureObj(o, 'status');
        st.conditions = [
          { type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates', lastProbeTime: null, lastTransitionTime: null },
        ];
      }
      ensureObj(o, 'status').qosClass = podQOSClass(o);
    },
    statusReset: (o, old) => {
      const m = ensureObj(o, 'metadata');
      const om = obj(old.metadata);
      delete m.deletionTimestamp;
      if (isSet(om.deletionTimestamp)) m.deletionTimestamp = om.deletionTimestamp;
      if (isSet(om.ownerReferences)) m.ownerReferences = om.ownerReferences;
      else delete m.ownerReferences;
      const st = ensureObj(o, 'status');
      if (!str(st.qosClass) && str(obj(old.status).qosClass)) st.qosClass = obj(old.status).qosClass;
      if (!isSet(st.observedGeneration) && isSet(obj(old.status).observedGeneration)) st.observedGeneration = obj(old.status).observedGeneration;
    },
    fieldLabels: podFieldLabels,
  },
  '/PodTemplate': {
    defaults: (o) => d.defaultPodTemplateSpec(ensureObj(o, 'template')),
    validate: core.validatePodTemplate,
  },
  '/ReplicationController': {
    defaults: d.defaultReplicationController,
    validate: core.validateReplicationController,
    validateUpdate: (o, old) => validateObjectMetaUpdate(o.metadata, old.metadata).concat(core.validateReplicationControllerSpec(obj(o.spec))),
    validateStatus: (o, old) =>
      validateObjectMetaUpdate(o.metadata, old.metadata).concat(
        core.validateReplicaCountsStatus(obj(o.status), 'status', ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration']),
      ),
    generation: true,
    initialStatus: () => ({ replicas: 0 }),
    fieldLabels: (o) => ({ 'status.replicas': String(obj(o.status).replicas ?? 0) }),
  },
  '/Service': {
    deletion: DELETED_OBJECT,
    defaults: d.defaultService,
    validate: core.validateService,
    validateUpdate: core.validateServiceUpdate,
    validateStatus: core.validateServiceStatusUpdate,
    initialStatus: () => ({ loadBalancer: {} }),
    prepareUpdate: (o, old) => patchServiceAllocations(o, old),
    fieldLabels: (o) => ({ 'spec.clusterIP': str(obj(o.spec).clusterIP), 'spec.type': str(obj(o.spec).type) }),
  },
  '/ConfigMap': { defaults: d.defaultConfigMap, validate: core.validateConfigMap, validateUpdate: core.validateConfigMapUpdate },
  '/Secret': {
    defaults: d.defaultSecret,
    validate: core.validateSecret,
    validateUpdate: core.validateSecretUpdate,
    fieldLabels: (o) => ({ type: str(o.type) }),
  },
  '/ServiceAccount': { validate: core.validateServiceAccount },
  '/Namespace': {
    deletion: {
      returnsDeletedObject: true,
      // A namespace waits for its contents to go (the namespace controller empties spec.finalizers).
      hold: (o) => {
        if (arr(obj(o.spec).finalizers).length === 0) return false;
        ensureObj(o, 'status').phase = 'Terminating';
        return true;
      },
      removeWhenFinalized: (o) => arr(obj(o.spec).finalizers).length === 0,
    },
    defaults: d.defaultNamespace,
    validate: core.validateNamespace,
    validateUpdate: (o, old) => core.validateNamespace(o).concat(validateObjectMetaUpdate(o.metadata, old.metadata)),
    validateStatus: core.validateNamespaceStatusUpdate,
    initialStatus: () => ({ phase: 'Active' }),
    prepareCreate: (o) => {
      const spec = ensureObj(o, 'spec');
      const f = arr<string>(spec.finalizers);
      if (!f.includes('kubernetes')) spec.finalizers = [...f, 'kubernetes'];
    },
    prepareUpdate: (o, old) => {
      const spec = ensureObj(o, 'spec');
      const of = obj(old.spec).finalizers;
      if (isSet(of)) spec.finalizers = of;
      else delete spec.finalizers;
    },
    fieldLabels: (o) => ({ 'status.phase': str(obj(o.status).phase), name: str(o.metadata?.name) }),
  },
  '/Node': {
    deletion: DELETED_OBJECT,
    defaults: d.defaultNode,
    validate: core.validateNode,
    validateUpdate: core.validateNodeUpdate,
    validateStatus: core.validateNodeUpdate,
    fieldLabels: (o) => ({ 'spec.unschedulable': String(obj(o.spec).unschedulable === true) }),
  },
  '/PersistentVolume': {
    deletion: DELETED_OBJECT,
    defaults: d.defaultPersistentVolume,
    validate: core.validatePersistentVolume,
    validateUpdate: core.validatePersistentVolumeUpdate,
    initialStatus: () => ({ phase: 'Pending' }),
    // StorageObjectInUseProtection admission: a bound volume can't go until it is released.
    prepareCreate: (o) => addFinalizer(o, 'kubernetes.io/pv-protection'),
    // PersistentVolumeLastPhaseTransitionTime: stamped on every phase change.
    statusReset: (o, old) => {
      const st = ensureObj(o, 'status');
      const os = obj(old.status);
      if (str(st.phase) !== str(os.phase) && (!isSet(st.lastPhaseTransitionTime) || st.lastPhaseTransitionTime === os.lastPhaseTransitionTime)) st.lastPhaseTransitionTime = nowRFC3339();
    },
    fieldLabels: (o) => ({ name: str(o.metadata?.name) }),
  },
  '/PersistentVolumeClaim': {
    deletion: DELETED_OBJECT,
    defaults: d.defaultPersistentVolumeClaim,
    validate: core.validatePersistentVolumeClaim,
    validateUpdate: core.validatePersistentVolumeClaimUpdate,
    validateStatus: core.validatePersistentVolumeClaimStatusUpdate,
    initialStatus: () => ({ phase: 'Pending' }),
    // StorageObjectInUseProtection admission: a claim in use can't go until its pods do.
    prepareCreate: (o) => addFinalizer(o, 'kubernetes.io/pvc-protection'),
    fieldLabels: (o) => ({ name: str(o.metadata?.name) }),
  },
  '/Endpoints': { defaults: d.defaultEndpoints, validate: core.validateEndpoints, allowCreateOnUpdate: true },
  '/LimitRange': { defaults: d.defaultLimitRange, validate: core.validateLimitRange, allowCreateOnUpdate: true },
  '/ResourceQuota': {
    allowCreateOnUpdate: true,
    defaults: d.defaultResourceQuota,
    validate: core.validateResourceQuota,
    validateUpdate: core.validateResourceQuotaUpdate,
    initialStatus: () => ({}),
  },
  '/Event': {
    allowCreateOnUpdate: true,
    createInTerminatingNamespace: true,
    validate: (o) => {
      const errs = core.validateEvent(o);
      return errs.length ? errs : validateObjectMetaGeneric(o.metadata, true, pathSegmentName);
    },
    validateUpdate: (o, old) => {
      const errs = core.validateEvent(o);
      return errs.length ? errs : validateObjectMetaUpdate(o.metadata, old.metadata);
    },
    fieldLabels: eventFieldLabels,
  },
  '/Binding': { validate: core.validateBinding },

  // ---- apps/v1
  'apps/Deployment': {
    defaults: d.defaultDeployment,
    validate: apps.validateDeployment,
    validateUpdate: apps.validateDeploymentUpdate,
    validateStatus: apps.validateDeploymentStatusUpdate,
    generation: (o, old) => !semanticEqual(o.spec, old.spec) || !semanticEqual(obj(o.metadata).annotations, obj(old.metadata).annotations),
    initialStatus: () => ({}),
    statusReset: keepLabels,
  },
  'apps/ReplicaSet': {
    defaults: d.defaultReplicaSet,
    validate: apps.validateReplicaSet,
    validateUpdate: apps.validateReplicaSetUpdate,
    validateStatus: apps.validateReplicaSetStatusUpdate,
    generation: true,
    initialStatus: () => ({ replicas: 0 }),
    statusReset: keepLabels,
    fieldLabels: (o) => ({ 'status.replicas': String(obj(o.status).replicas ?? 0) }),
  },
  'apps/StatefulSet': {
    defaults: d.defaultStatefulSet,
    validate: apps.validateStatefulSet,
    validateUpdate: apps.validateStatefulSetUpdate,
    validateStatus: apps.validateStatefulSetStatusUpdate,
    generation: true,
    initialStatus: () => ({ availableReplicas: 0, replicas: 0 }),
    statusReset: keepLabels,
  },
  'apps/DaemonSet': {
    defaults: d.defaultDaemonSet,
    validate: apps.validateDaemonSet,
    validateUpdate: apps.validateDaemonSetUpdate,
    validateStatus: apps.validateDaemonSetStatusUpdate,
    generation: true,
    initialStatus: () => ({ currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 }),
    prepareCreate: (o) => {
      const ann = ensureObj(ensureObj(o, 'metadata'), 'annotations');
      const tg = Number(ann[apps.DS_TEMPLATE_GENERATION_ANNOTATION] ?? 0);
      if (!(tg >= 1)) ann[apps.DS_TEMPLATE_GENERATION_ANNOTATION] = '1';
    },
    prepareUpdate: (o, old) => {
      const ann = ensureObj(ensureObj(o, 'metadata'), 'annotations');
      const oldTG = Number(strMap(obj(old.metadata).annotations)[apps.DS_TEMPLATE_GENERATION_ANNOTATION] ?? 0);
      const changed = !semanticEqual(obj(o.spec).template, obj(old.spec).template);
      ann[apps.DS_TEMPLATE_GENERATION_ANNOTATION] = String(changed ? oldTG + 1 : Math.max(oldTG, Number(ann[apps.DS_TEMPLATE_GENERATION_ANNOTATION] ?? 0)) || oldTG);
    },
    statusReset: keepLabels,
  },
  'apps/ControllerRevision': { validate: apps.validateControllerRevision, validateUpdate: apps.validateControllerRevisionUpdate },

  // ---- batch/v1
  'batch/Job': {
    defaults: d.defaultJob,
    validate: batch.validateJob,
    validateUpdate: batch.validateJobUpdate,
    validateStatus: batch.validateJobStatusUpdate,
    generation: true,
    initialStatus: () => ({}),
    prepareCreate: (o) => {
      const m = ensureObj(o, 'metadata');
      if (!str(m.uid)) m.uid = randomUUID();
      batch.generateJobSelector(o);
    },
    fieldLabels: (o) => ({ 'status.successful': String(obj(o.status).succeeded ?? 0) }),
  },
  'batch/CronJob': {
    defaults: d.defaultCronJob,
    validate: batch.validateCronJob,
    validateUpdate: batch.validateCronJobUpdate,
    validateStatus: batch.validateCronJobStatusUpdate,
    generation: true,
    initialStatus: () => ({}),
  },

  // ---- networking.k8s.io/v1
  'networking.k8s.io/Ingress': {
    validate: net.validateIngress,
    validateUpdate: net.validateIngressUpdate,
    validateStatus: net.validateIngressStatusUpdate,
    generation: true,
    initialStatus: () => ({ loadBalancer: {} }),
  },
  'networking.k8s.io/IngressClass': { validate: net.validateIngressClass, validateUpdate: net.validateIngressClassUpdate, generation: true },
  'networking.k8s.io/NetworkPolicy': {
    defaults: d.defaultNetworkPolicy,
    validate: net.validateNetworkPolicy,
    validateUpdate: net.validateNetworkPolicyUpdate,
    generation: true,
  },

  // ---- rbac.authorization.k8s.io/v1
  'rbac.authorization.k8s.io/Role': { validate: (o) => misc.validateRole(o, true) },
  'rbac.authorization.k8s.io/ClusterRole': { validate: (o) => misc.validateRole(o, false) },
  'rbac.authorization.k8s.io/RoleBinding': {
    defaults: d.defaultRoleBinding,
    validate: (o) => misc.validateRoleBinding(o, true),
    validateUpdate: (o, old) => misc.validateRoleBindingUpdate(o, old, true),
  },
  'rbac.authorization.k8s.io/ClusterRoleBinding': {
    defaults: d.defaultRoleBinding,
    validate: (o) => misc.validateRoleBinding(o, false),
    validateUpdate: (o, old) => misc.validateRoleBindingUpdate(o, old, false),
  },

  // ---- storage.k8s.io/v1
  'storage.k8s.io/StorageClass': { defaults: d.defaultStorageClass, validate: misc.validateStorageClass, validateUpdate: misc.validateStorageClassUpdate },
  'storage.k8s.io/CSIDriver': { defaults: d.defaultCSIDriver, validate: misc.validateCSIDriver, validateUpdate: misc.validateCSIDriverUpdate },
  'storage.k8s.io/CSINode': { validate: misc.validateCSINode },
  'storage.k8s.io/VolumeAttachment': {
    validate: misc.validateVolumeAttachment,
    validateUpdate: misc.validateVolumeAttachmentUpdate,
    initialStatus: () => ({ attached: false }),
  },

  // ---- the rest
  'scheduling.k8s.io/PriorityClass': { defaults: d.defaultPriorityClass, validate: misc.validatePriorityClass, validateUpdate: misc.validatePriorityClassUpdate },
  'policy/PodDisruptionBudget': {
    validate: misc.validatePodDisruptionBudget,
    validateUpdate: (o, old) => validateObjectMetaUpdate(o.metadata, old.metadata).concat(misc.validatePodDisruptionBudget(o)),
    validateStatus: misc.validatePodDisruptionBudgetStatusUpdate,
    generation: true,
    initialStatus: () => ({ currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0, expectedPods: 0 }),
  },
  'coordination.k8s.io/Lease': { validate: misc.validateLease, allowCreateOnUpdate: true },
  'discovery.k8s.io/EndpointSlice': {
    allowCreateOnUpdate: true,
    defaults: d.defaultEndpointSlice,
    validate: misc.validateEndpointSlice,
    validateUpdate: misc.validateEndpointSliceUpdate,
    generation: (o, old) => {
      const strip = (x: Obj) => {
        const { metadata: _m, apiVersion: _a, kind: _k, ...rest } = x;
        void _m;
        void _a;
        void _k;
        return rest;
      };
      return !semanticEqual(strip(o), strip(old)) || !semanticEqual(obj(o.metadata).labels, obj(old.metadata).labels);
    },
  },
  'autoscaling/HorizontalPodAutoscaler': {
    defaults: d.defaultHorizontalPodAutoscaler,
    validate: misc.validateHorizontalPodAutoscaler,
    validateUpdate: misc.validateHorizontalPodAutoscalerUpdate,
    validateStatus: misc.validateHorizontalPodAutoscalerStatusUpdate,
    initialStatus: (o) => (str(o.apiVersion) === 'autoscaling/v1' ? { currentReplicas: 0, desiredReplicas: 0 } : { desiredReplicas: 0 }),
  },
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration': {
    defaults: reg.defaultValidatingWebhookConfiguration,
    validate: reg.validateValidatingWebhookConfiguration,
    generation: (o, old) => !semanticEqual(o.webhooks, old.webhooks),
  },
  'admissionregistration.k8s.io/MutatingWebhookConfiguration': {
    defaults: reg.defaultMutatingWebhookConfiguration,
    validate: reg.validateMutatingWebhookConfiguration,
    generation: (o, old) => !semanticEqual(o.webhooks, old.webhooks),
  },
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy': {
    defaults: reg.defaultValidatingAdmissionPolicy,
    validate: reg.validateValidatingAdmissionPolicy,
    generation: true,
    initialStatus: () => ({}),
  },
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding': {
    defaults: reg.defaultValidatingAdmissionPolicyBinding,
    validate: reg.validateValidatingAdmissionPolicyBinding,
    generation: true,
  },
  'certificates.k8s.io/CertificateSigningRequest': {
    validate: certs.validateCertificateSigningRequest,
    validateUpdate: (o, old) => validateObjectMetaUpdate(o.metadata, old.metadata).concat(certs.validateCertificateSigningRequestUpdate(o, old)),
    validateStatus: (o, old) => validateObjectMetaUpdate(o.metadata, old.metadata).concat(certs.validateCertificateSigningRequestStatus(o, old)),
    initialStatus: () => ({}),
    prepareUpdate: (o, old) => void (o.spec = structuredClone(old.spec)),
    statusReset: certs.prepareCertificateSigningRequestStatus,
    subresources: { approval: { prepare: certs.prepareCertificateSigningRequestApproval, validate: certs.validateCertificateSigningRequestUpdate } },
    fieldLabels: (o) => ({ 'spec.signerName': str(obj(o.spec).signerName) }),
  },
  'apiregistration.k8s.io/APIService': {
    validate: (o) => {
      const errs = validateObjectMetaGeneric(o.metadata, false, nameIsDNSSubdomain);
      const spec = obj(o.spec);
      const want = str(spec.group) ? `${str(spec.version)}.${str(spec.group)}` : str(spec.version);
      if (str(obj(o.metadata).name) !== want) errs.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${str(obj(o.metadata).name)}": must be ${want}` });
      if (!str(spec.version)) errs.push({ reason: 'FieldValueRequired', field: 'spec.version', message: 'Required value' });
      return errs;
    },
    initialStatus: () => ({}),
  },
  'node.k8s.io/RuntimeClass': { validate: certs.validateRuntimeClass, validateUpdate: certs.validateRuntimeClassUpdate },
  'apiextensions.k8s.io/CustomResourceDefinition': {
    allowUnconditionalUpdate: false,
    // Deleting a CRD first deletes its custom resources (upstream: the CRD's REST Delete
    // adds the cleanup finalizer and the Terminating condition; the finalizer controller
    // removes the finalizer once every instance is gone).
    deletion: {
      hold: (o) => {
        const meta = obj(o.metadata);
        if (meta.deletionTimestamp) return false;
        const finalizers = arr(meta.finalizers).map(str);
        if (!finalizers.includes('customresourcecleanup.apiextensions.k8s.io')) meta.finalizers = [...finalizers, 'customresourcecleanup.apiextensions.k8s.io'];
        const status = (o.status ??= {}) as Obj;
        const conds = arr(status.conditions).map(obj).filter((c) => c.type !== 'Terminating');
        conds.push({ type: 'Terminating', status: 'True', lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), reason: 'InstanceDeletionPending', message: 'CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon' });
        status.conditions = conds;
        return true;
      },
    },
    defaults: d.defaultCustomResourceDefinition,
    validate: misc.validateCustomResourceDefinition,
    validateUpdate: misc.validateCustomResourceDefinitionUpdate,
    generation: true,
    initialStatus: (o) => {
      const storage = arr(obj(o.spec).versions)
        .map(obj)
        .find((v) => v.storage === true);
      return { acceptedNames: { kind: '', plural: '' }, storedVersions: storage ? [str(storage.name)] : [] };
    },
  },
};

/** Virtual create-only kinds (reviews): nothing to default, validate or store. */
const VIRTUAL: KindSpec = { validate: () => [] };

/** metav1.ResetObjectMetaForStatus: a status write keeps the old metadata (custom resources). */
function resetObjectMetaForStatus(o: Obj, old: Obj): void {
  const m = ensureObj(o, 'metadata');
  const om = obj(old.metadata);
  for (const k of ['deletionTimestamp', 'generation', 'selfLink', 'labels', 'annotations', 'finalizers', 'ownerReferences']) {
    if (isSet(om[k])) m[k] = structuredClone(om[k]);
    else delete m[k];
  }
}

/** Custom resources and anything not in the table: generic ObjectMeta checks; generation tracks any non-metadata change. */
const GENERIC: KindSpec = {
  statusReset: resetObjectMetaForStatus,
  validate: (o) => validateObjectMetaGeneric(o.metadata, namespacedGuess(o), pathSegmentName),
  validateUpdate: (o, old) => validateObjectMetaUpdate(o.metadata, old.metadata),
  generation: (o, old) => {
    const strip = (x: Obj) => {
      const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = x;
      void _m;
      void _s;
      void _a;
      void _k;
      return rest;
    };
    return !semanticEqual(strip(o), strip(old));
  },
};

function namespacedGuess(o: Obj): boolean {
  return !!str(obj(o.metadata).namespace);
}

// ---- Service allocations on update (the service registry's patchAllocatedValues + normalizeClusterIPs) ----

function patchServiceAllocations(o: Obj, old: Obj): void {
  const ns = ensureObj(o, 'spec');
  const os = obj(old.spec);
  const needsClusterIP = (s: Obj) => s.type !== 'ExternalName';
  const needsNodePort = (s: Obj) => s.type === 'NodePort' || (s.type === 'LoadBalancer' && s.allocateLoadBalancerNodePorts !== false);
  if (needsClusterIP(os) && needsClusterIP(ns)) {
    if (!str(ns.clusterIP) && str(os.clusterIP)) ns.clusterIP = os.clusterIP;
    if (arr(ns.clusterIPs).length === 0 && arr(os.clusterIPs).length > 0) ns.clusterIPs = os.clusterIPs;
    if (!isSet(ns.ipFamilyPolicy) && isSet(os.ipFamilyPolicy)) ns.ipFamilyPolicy = os.ipFamilyPolicy;
    if (arr(ns.ipFamilies).length === 0 && arr(os.ipFamilies).length) ns.ipFamilies = os.ipFamilies;
  }
  if (needsNodePort(os) && needsNodePort(ns)) {
    const used = new Set(arr(ns.ports).map((p) => Number(obj(p).nodePort ?? 0)).filter((n) => n));
    const byName = new Map(arr(os.ports).map((p) => [str(obj(p).name), Number(obj(p).nodePort ?? 0)]));
    for (const p of arr(ns.ports).map(obj)) {
      if (Number(p.nodePort ?? 0) !== 0) continue;
      const v = byName.get(str(p.name)) ?? 0;
      if (v && !used.has(v)) p.nodePort = v;
    }
  }
  const needsHC = (s: Obj) => s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local';
  if (needsHC(os) && needsHC(ns) && !Number(ns.healthCheckNodePort ?? 0)) ns.healthCheckNodePort = os.healthCheckNodePort;
  // normalizeClusterIPs for updates
  const oIPs = arr<string>(os.clusterIPs);
  if (oIPs.length > 0 && arr(ns.clusterIPs).length === 0 && str(os.clusterIP) === str(ns.clusterIP)) ns.clusterIPs = oIPs;
  if (str(os.clusterIP) !== str(ns.clusterIP)) {
    const same = semanticEqual(os.clusterIPs, ns.clusterIPs);
    if (str(os.clusterIP) && !str(ns.clusterIP)) {
      if (same) delete ns.clusterIPs;
    } else if (same) ns.clusterIPs = [ns.clusterIP];
  }
}

// ---- the strategy implementation ----------------------------------------------------------------

const SYSTEM_TOP_LEVEL = new Set(['metadata', 'status', 'apiVersion', 'kind']);

class KindStrategy implements Strategy {
  private readonly namespaced: boolean;
  private readonly hasStatusSubresource: boolean;

  constructor(
    private readonly spec: KindSpec,
    info: { namespaced: boolean; statusSubresource: boolean } | undefined,
  ) {
    this.namespaced = info?.namespaced ?? true;
    this.hasStatusSubresource = info?.statusSubresource ?? false;
  }

  default(o: KubeObject): void {
    const fn = this.spec.defaults;
    if (fn) d.withDecodeErrors(o as Obj, () => fn(o as Obj));
  }

  prepareForCreate(o: KubeObject): void {
    const m = ensureObj(o as Obj, 'metadata');
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    if (!this.namespaced) delete m.namespace;
    // A generateName becomes a name in the registry, after mutating admission (as upstream's
    // BeforeCreate runs after it).
    this.default(o);
    if (this.spec.initialStatus) (o as Obj).status = this.spec.initialStatus(o as Obj);
    if (this.spec.generation) m.generation = 1;
    this.spec.prepareCreate?.(o as Obj);
    this.default(o);
  }

  prepareForUpdate(o: KubeObject, old: KubeObject, subresource?: string): void {
    const n = o as Obj;
    const prev = old as Obj;
    const m = ensureObj(n, 'metadata');
    const om = obj(prev.metadata);
    if (isSet(om.generation)) m.generation = om.generation;
    else delete m.generation;
    if (!str(m.uid) && str(om.uid)) m.uid = om.uid;
    if (isSet(om.creationTimestamp)) m.creationTimestamp = om.creationTimestamp;
    if (isSet(om.deletionTimestamp)) m.deletionTimestamp = om.deletionTimestamp;
    if (isSet(om.deletionGracePeriodSeconds) && !isSet(m.deletionGracePeriodSeconds)) m.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
    if (!this.namespaced) delete m.namespace;

    if (subresource === 'status') {
      // Upstream's order: the object sent is defaulted as it is decoded, then keeps the old
      // object's members besides metadata and status. Those are the old object's own (it
      // is only read, and nothing after this writes to them): no copy, and the managedFields
      // comparison and the change check see them as the same objects.
      const onlyStoredMembers = this.spec.defaultsOnly?.every((k) => n[k] === prev[k]) ?? false;
      if (!onlyStoredMembers) this.default(o);
      for (const k of Object.keys(n)) if (!SYSTEM_TOP_LEVEL.has(k) && !(k in prev)) delete n[k];
      for (const k of Object.keys(prev)) if (!SYSTEM_TOP_LEVEL.has(k)) n[k] = prev[k];
      this.spec.statusReset?.(n, prev);
      return;
    } else if (subresource && this.spec.subresources?.[subresource]) {
      for (const k of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
        if (isSet(om[k])) m[k] = jsonCopy(om[k]);
        else delete m[k];
      }
      this.spec.subresources[subresource].prepare(n, prev);
    } else if (subresource === 'finalize') {
      n.status = jsonCopy(prev.status);
    } else if (subresource === 'ephemeralcontainers' || subresource === 'resize') {
      const keep = jsonCopy(obj(prev.spec));
      const ns = obj(n.spec);
      if (subresource === 'ephemeralcontainers') keep.ephemeralContainers = ns.ephemeralContainers;
      else
        for (const which of ['containers', 'initContainers']) {
          const nc = arr(ns[which]).map(obj);
          keep[which] = arr(keep[which]).map((c, i) => ({ ...obj(c), resources: nc[i]?.resources ?? obj(c).resources, resizePolicy: nc[i]?.resizePolicy ?? obj(c).resizePolicy }));
        }
      n.spec = keep;
      n.status = jsonCopy(prev.status);
      for (const k of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
        if (isSet(om[k])) m[k] = om[k];
        else delete m[k];
      }
    } else {
      if (this.hasStatusSubresource || this.spec.initialStatus) {
        if (isSet(prev.status)) n.status = jsonCopy(prev.status);
        else delete n.status;
      }
      this.spec.prepareUpdate?.(n, prev);
    }

    const gen = this.spec.generation;
    if (gen && subresource !== 'status' && subresource !== 'finalize') {
      const changed = typeof gen === 'function' ? gen(n, prev) : !semanticEqual(n.spec, prev.spec);
      if (changed) m.generation = Number(om.generation ?? 0) + 1;
      else if (!isSet(m.generation)) m.generation = om.generation ?? 1;
    }
    this.default(o);
  }

  validateCreate(o: KubeObject): StatusCause[] {
    return dedupe(this.spec.validate(o as Obj));
  }

  validateUpdate(o: KubeObject, old: KubeObject, subresource?: string): StatusCause[] {
    const n = o as Obj;
    const prev = old as Obj;
    let errs: Cause[];
    if (subresource === 'status') errs = (this.spec.validateStatus ?? ((a, b) => validateObjectMetaUpdate(a.metadata, b.metadata)))(n, prev);
    else if (subresource === 'finalize') errs = core.validateNamespaceFinalizeUpdate(n, prev);
    else if (subresource === 'ephemeralcontainers') errs = pod.validatePodEphemeralContainersUpdate(n, prev);
    else if (subresource && this.spec.subresources?.[subresource]) errs = validateObjectMetaUpdate(n.metadata, prev.metadata).concat(this.spec.subresources[subresource].validate(n, prev));
    else errs = (this.spec.validateUpdate ?? metaUpdateThen(this.spec.validate))(n, prev);
    return dedupe(errs);
  }

  fieldLabels(o: KubeObject): Record<string, string> {
    return this.spec.fieldLabels ? this.spec.fieldLabels(o) : {};
  }

  get returnsDeletedObject(): boolean {
    return this.spec.deletion?.returnsDeletedObject ?? false;
  }

  get allowCreateOnUpdate(): boolean {
    return this.spec.allowCreateOnUpdate ?? false;
  }

  get allowUnconditionalUpdate(): boolean {
    return this.spec.allowUnconditionalUpdate ?? true;
  }

  get createInTerminatingNamespace(): boolean {
    return this.spec.createInTerminatingNamespace ?? false;
  }

  gracefulDeleteSeconds(o: KubeObject, requested: number | undefined): number {
    return this.spec.deletion?.gracefulSeconds?.(o as Obj, requested) ?? 0;
  }

  holdDeletion(o: KubeObject): boolean {
    return this.spec.deletion?.hold?.(o as Obj) ?? false;
  }

  removeWhenFinalized(o: KubeObject): boolean {
    return this.spec.deletion?.removeWhenFinalized?.(o as Obj) ?? true;
  }
}

const cache = new Map<string, Strategy>();

/** The strategy for a kind, by group/version/kind (any version of a group shares its rules). */
export function strategyFor(group: string, version: string, kind: string): Strategy {
  const id = `${group}/${version}/${kind}`;
  let s = cache.get(id);
  if (s) return s;
  const info = resourceByKind(group, version, kind);
  const statusSubresource = !!info?.subresources?.some((r) => r.name === 'status');
  const spec = KINDS[`${group}/${kind}`] ?? (info?.virtual ? VIRTUAL : undefined);
  if (spec) s = new KindStrategy(spec, info ? { namespaced: info.namespaced, statusSubresource } : undefined);
  else s = new KindStrategy(GENERIC, info ? { namespaced: info.namespaced, statusSubresource } : undefined);
  cache.set(id, s);
  return s;
}

/** A strategy for a custom resource whose scope and status subresource the CRD states. */
export function customResourceStrategy(namespaced: boolean, statusSubresource: boolean): Strategy {
  const spec: KindSpec = {
    ...GENERIC,
    // Custom resource names are DNS subdomains (upstream customResourceValidator).
    validate: (o) => validateObjectMetaGeneric(o.metadata, namespaced, nameIsDNSSubdomain),
    initialStatus: undefined,
    prepareCreate: statusSubresource ? (o) => void delete o.status : undefined,
  };
  return new KindStrategy(spec, { namespaced, statusSubresource });
}

// ---- re-exports for other components ----------------------------------------------------------------

export { Quantity, parseQuantity, canonicalQuantity, compareQuantities, sumQuantities, isQuantity, QuantityError } from './quantity.js';
export { labelSelectorMatches, mapSelectorMatches, validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
export { parseCron, nextTime, CronError } from './cron.js';
export { imageTag, DecodeError } from './defaults.js';
export { nameIsDNSSubdomain, nameIsDNSLabel, nameIsDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from './names.js';
export type { Cause } from './field.js';
