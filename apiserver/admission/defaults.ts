// Defaulting as upstream's SetDefaults_* (pkg/apis/<group>/v1/defaults.go plus the
// declarative `+default` markers), applied in place to v1 JSON, including nested
// templates (PodTemplateSpec in workloads, JobTemplate in CronJob, PVC templates).
// Resource quantities are canonicalized here, as decoding does upstream; a quantity
// that does not parse is a decode error (400), thrown as a StatusError.
import { StatusError } from '../../machinery/status.js';
import { Quantity, QuantityError } from './quantity.js';
import { arr, ensureObj, isObj, isSet, num, obj, str, type Obj } from './util.js';

/** The 400 upstream returns when a body does not decode into the kind. */
export class DecodeError extends StatusError {
  constructor(kind: string, apiVersion: string, detail: string) {
    const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
    super(400, 'BadRequest', `${kind} in version "${version || 'v1'}" cannot be handled as a ${kind}: ${detail}`);
  }
}

/** Thrown by the helpers below; turned into a DecodeError by the caller that knows the kind. */
class BadQuantity extends Error {}

/**
 * Canonical strings already worked out, by input (a string and a number of the same text
 * are kept apart) and rounding: every pod and node write defaults the same few quantities,
 * and parsing one is BigInt arithmetic. Emptied when full; bad quantities are not kept.
 */
const canonicalQuantities = new Map<string, string>();
const MAX_CANONICAL_QUANTITIES = 4096;

function canonicalQuantity(v: unknown, roundToMilli: boolean): string {
  if (typeof v !== 'string' && typeof v !== 'number') throw new BadQuantity('quantities must match the regular expression');
  const key = `${roundToMilli ? 'm' : '-'}${typeof v === 'number' ? 'n' : 's'}${v}`;
  let canonical = canonicalQuantities.get(key);
  if (canonical === undefined) {
    canonical = parseCanonicalQuantity(v, roundToMilli);
    if (canonicalQuantities.size >= MAX_CANONICAL_QUANTITIES) canonicalQuantities.clear();
    canonicalQuantities.set(key, canonical);
  }
  return canonical;
}

function parseCanonicalQuantity(v: string | number, roundToMilli: boolean): string {
  let q: Quantity;
  try {
    q = Quantity.parse(v);
  } catch (e) {
    if (e instanceof QuantityError) throw new BadQuantity(e.message);
    throw e;
  }
  if (roundToMilli) q = q.roundUp(-3);
  return q.toString();
}

// A canonical value is written only where it differs: defaulting an object already
// defaulted (a stored one, which a status write shares) writes nothing.

/** SetDefaults_ResourceList: canonical strings, rounded up to milli precision. */
export function defaultResourceList(list: unknown, roundToMilli = true): void {
  if (!isObj(list)) return;
  for (const k of Object.keys(list)) {
    const canonical = canonicalQuantity(list[k], roundToMilli);
    if (list[k] !== canonical) list[k] = canonical;
  }
}

function canonicalField(o: Obj, k: string): void {
  if (!isSet(o[k])) return;
  const canonical = canonicalQuantity(o[k], false);
  if (o[k] !== canonical) o[k] = canonical;
}

/** Run `fn`, turning a bad quantity into the decode error upstream returns. */
export function withDecodeErrors(objIn: Obj, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof BadQuantity)
      throw new DecodeError(str(objIn.kind) || 'Object', str(objIn.apiVersion), e.message.startsWith('quantities') ? "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'" : e.message);
    throw e;
  }
}

// ---- images ---------------------------------------------------------------------------------

/** The tag parsers.ParseImageName would report ("latest" when neither tag nor digest is given). */
export function imageTag(image: string): string {
  let ref = image;
  const at = ref.indexOf('@');
  const hasDigest = at >= 0;
  if (hasDigest) ref = ref.slice(0, at);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return ref.slice(colon + 1);
  if (hasDigest) return '';
  // an unparseable reference yields no tag (uppercase is only allowed in the registry host)
  const parts = ref.split('/');
  const hasHost = parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost');
  const path = hasHost ? parts.slice(1) : parts;
  if (!ref || path.some((p) => p === '' || /[A-Z\s]/.test(p))) return '';
  return 'latest';
}

// ---- pod spec pieces ------------------------------------------------------------------------------

function defaultHandler(h: unknown): void {
  if (!isObj(h)) return;
  if (isObj(h.httpGet)) {
    if (!str(h.httpGet.path)) h.httpGet.path = '/';
    if (!str(h.httpGet.scheme)) h.httpGet.scheme = 'HTTP';
  }
}

function defaultProbe(p: unknown): void {
  if (!isObj(p)) return;
  if (!num(p.timeoutSeconds)) p.timeoutSeconds = 1;
  if (!num(p.periodSeconds)) p.periodSeconds = 10;
  if (!num(p.successThreshold)) p.successThreshold = 1;
  if (!num(p.failureThreshold)) p.failureThreshold = 3;
  defaultHandler(p);
}

function defaultEnv(env: unknown): void {
  for (const e of arr(env)) {
    const vf = obj(obj(e).valueFrom);
    if (isObj(vf.fieldRef) && !str(vf.fieldRef.apiVersion)) vf.fieldRef.apiVersion = 'v1';
    if (isObj(vf.resourceFieldRef)) canonicalField(vf.resourceFieldRef, 'divisor');
  }
}

export function defaultContainer(c: Obj): void {
  if (!str(c.imagePullPolicy)) c.imagePullPolicy = imageTag(str(c.image)) === 'latest' ? 'Always' : 'IfNotPresent';
  if (!str(c.terminationMessagePath)) c.terminationMessagePath = '/dev/termination-log';
  if (!str(c.terminationMessagePolicy)) c.terminationMessagePolicy = 'File';
  for (const p of arr(c.ports)) if (isObj(p) && !str(p.protocol)) p.protocol = 'TCP';
  const res = ensureObj(c, 'resources');
  defaultResourceList(res.limits);
  defaultResourceList(res.requests);
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  if (isObj(c.lifecycle)) {
    defaultHandler(c.lifecycle.postStart);
    defaultHandler(c.lifecycle.preStop);
  }
  defaultEnv(c.env);
}

const VOLUME_SOURCE_KEYS = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
];

function defaultDownwardItems(items: unknown): void {
  for (const it of arr(items)) {
    const f = obj(it);
    if (isObj(f.fieldRef) && !str(f.fieldRef.apiVersion)) f.fieldRef.apiVersion = 'v1';
    if (isObj(f.resourceFieldRef)) canonicalField(f.resourceFieldRef, 'divisor');
  }
}

export function defaultVolume(v: Obj): void {
  if (!VOLUME_SOURCE_KEYS.some((k) => isSet(v[k]))) v.emptyDir = {};
  if (isObj(v.emptyDir)) canonicalField(v.emptyDir, 'sizeLimit');
  if (isObj(v.hostPath) && !isSet(v.hostPath.type)) v.hostPath.type = '';
  for (const k of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    const s = v[k];
    if (isObj(s) && !isSet(s.defaultMode)) s.defaultMode = 420;
  }
  if (isObj(v.downwardAPI)) defaultDownwardItems(v.downwardAPI.items);
  if (isObj(v.projected))
    for (const src of arr(v.projected.sources)) {
      const s = obj(src);
      if (isObj(s.serviceAccountToken) && !isSet(s.serviceAccountToken.expirationSeconds)) s.serviceAccountToken.expirationSeconds = 3600;
      if (isObj(s.downwardAPI)) defaultDownwardItems(s.downwardAPI.items);
    }
  if (isObj(v.iscsi) && !str(v.iscsi.iscsiInterface)) v.iscsi.iscsiInterface = 'default';
  if (isObj(v.rbd)) {
    if (!str(v.rbd.pool)) v.rbd.pool = 'rbd';
    if (!str(v.rbd.user)) v.rbd.user = 'admin';
    if (!str(v.rbd.keyring)) v.rbd.keyring = '/etc/ceph/keyring';
  }
  if (isObj(v.azureDisk)) {
    if (!isSet(v.azureDisk.cachingMode)) v.azureDisk.cachingMode = 'ReadWrite';
    if (!isSet(v.azureDisk.fsType)) v.azureDisk.fsType = 'ext4';
    if (!isSet(v.azureDisk.readOnly)) v.azureDisk.readOnly = false;
    if (!isSet(v.azureDisk.kind)) v.azureDisk.kind = 'Shared';
  }
  if (isObj(v.image) && !str(v.image.pullPolicy)) v.image.pullPolicy = imageTag(str(v.image.reference)) === 'latest' ? 'Always' : 'IfNotPresent';
  if (isObj(v.ephemeral) && isObj(v.ephemeral.volumeClaimTemplate)) defaultPersistentVolumeClaimSpec(ensureObj(v.ephemeral.volumeClaimTemplate, 'spec'));
}

/** SetDefaults_PodSpec and everything nested in it (containers, volumes, probes). */
export function defaultPodSpec(spec: Obj): void {
  if (!str(spec.dnsPolicy)) spec.dnsPolicy = 'ClusterFirst';
  if (!str(spec.restartPolicy)) spec.restartPolicy = 'Always';
  if (!isObj(spec.securityContext)) spec.securityContext = {};
  if (!isSet(spec.terminationGracePeriodSeconds)) spec.terminationGracePeriodSeconds = 30;
  if (!str(spec.schedulerName)) spec.schedulerName = 'default-scheduler';
  for (const which of ['containers', 'initContainers', 'ephemeralContainers']) for (const c of arr(spec[which])) if (isObj(c)) defaultContainer(c);
  for (const v of arr(spec.volumes)) if (isObj(v)) defaultVolume(v);
  if (isObj(spec.overhead)) defaultResourceList(spec.overhead);
  if (isObj(spec.resources)) {
    defaultResourceList(spec.resources.limits);
    defaultResourceList(spec.resources.requests);
  }
  // the v1 conversion keeps the deprecated serviceAccount mirrored
  if (str(spec.serviceAccountName)) {
    if (spec.serviceAccount !== spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  } else if (str(spec.serviceAccount)) spec.serviceAccountName = spec.serviceAccount;
}

export function defaultPodTemplateSpec(tpl: unknown): void {
  if (!isObj(tpl)) return;
  defaultPodSpec(ensureObj(tpl, 'spec'));
}

/** SetDefaults_Pod (on top of the PodSpec defaults). */
export function defaultPod(pod: Obj): void {
  const spec = ensureObj(pod, 'spec');
  defaultPodSpec(spec);
  for (const which of ['containers', 'initContainers']) {
    for (const c of arr(spec[which])) {
      if (!isObj(c)) continue;
      const res = ensureObj(c, 'resources');
      if (isObj(res.limits)) {
        const req = ensureObj(res, 'requests');
        for (const [k, v] of Object.entries(res.limits)) if (!isSet(req[k])) req[k] = v;
      }
    }
  }
  if (!isSet(spec.enableServiceLinks)) spec.enableServiceLinks = true;
  if (spec.hostNetwork === true)
    for (const which of ['containers', 'initContainers'])
      for (const c of arr(spec[which])) for (const p of arr(obj(c).ports)) if (isObj(p) && !num(p.hostPort)) p.hostPort = p.containerPort;
}

// ---- workloads ---------------------------------------------------------------------------------------

export function defaultDeployment(d: Obj): void {
  const spec = ensureObj(d, 'spec');
  if (!isSet(spec.replicas)) spec.replicas = 1;
  const strategy = ensureObj(spec, 'strategy');
  if (!str(strategy.type)) strategy.type = 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = ensureObj(strategy, 'rollingUpdate');
    if (!isSet(ru.maxUnavailable)) ru.maxUnavailable = '25%';
    if (!isSet(ru.maxSurge)) ru.maxSurge = '25%';
  }
  if (!isSet(spec.revisionHistoryLimit)) spec.revisionHistoryLimit = 10;
  if (!isSet(spec.progressDeadlineSeconds)) spec.progressDeadlineSeconds = 600;
  defaultPodTemplateSpec(ensureObj(spec, 'template'));
}

export function defaultReplicaSet(rs: Obj): void {
  const spec = ensureObj(rs, 'spec');
  if (!isSet(spec.replicas)) spec.replicas = 1;
  defaultPodTemplateSpec(ensureObj(spec, 'template'));
}

export function defaultDaemonSet(ds: Obj): void {
  const spec = ensureObj(ds, 'spec');
  const us = ensureObj(spec, 'updateStrategy');
  if (!str(us.type)) us.type = 'RollingUpdate';
  if (us.type === 'RollingUpdate') {
    const ru = ensureObj(us, 'rollingUpdate');
    if (!isSet(ru.maxUnavailable)) ru.maxUnavailable = 1;
    if (!isSet(ru.maxSurge)) ru.maxSurge = 0;
  }
  if (!isSet(spec.revisionHistoryLimit)) spec.revisionHistoryLimit = 10;
  defaultPodTemplateSpec(ensureObj(spec, 'template'));
}

export function defaultPersistentVolumeClaimSpec(spec: Obj): void {
  if (!isSet(spec.volumeMode)) spec.volumeMode = 'Filesystem';
  const res = obj(spec.resources);
  defaultResourceList(res.requests);
  defaultResourceList(res.limits);
}

export function defaultStatefulSet(s: Obj): void {
  const spec = ensureObj(s, 'spec');
  if (!str(spec.podManagementPolicy)) spec.podManagementPolicy = 'OrderedReady';
  const us = ensureObj(spec, 'updateStrategy');
  if (!str(us.type)) {
    us.type = 'RollingUpdate';
    if (!isObj(us.rollingUpdate)) us.rollingUpdate = {};
  }
  if (us.type === 'RollingUpdate' && isObj(us.rollingUpdate) && !isSet(us.rollingUpdate.partition)) us.rollingUpdate.partition = 0;
  const rp = ensureObj(spec, 'persistentVolumeClaimRetentionPolicy');
  if (!str(rp.whenDeleted)) rp.whenDeleted = 'Retain';
  if (!str(rp.whenScaled)) rp.whenScaled = 'Retain';
  if (!isSet(spec.replicas)) spec.replicas = 1;
  if (!isSet(spec.revisionHistoryLimit)) spec.revisionHistoryLimit = 10;
  defaultPodTemplateSpec(ensureObj(spec, 'template'));
  for (const t of arr(spec.volumeClaimTemplates)) {
    if (!isObj(t)) continue;
    defaultPersistentVolumeClaimSpec(ensureObj(t, 'spec'));
    const st = ensureObj(t, 'status');
    if (!str(st.phase)) st.phase = 'Pending';
  }
}

export function defaultReplicationController(rc: Obj): void {
  const spec = ensureObj(rc, 'spec');
  const tpl = spec.template;
  const labels = isObj(tpl) ? obj(tpl.metadata).labels : undefined;
  if (isObj(labels)) {
    if (!isObj(spec.selector) || Object.keys(spec.selector).length === 0) spec.selector = { ...labels };
    const meta = ensureObj(rc, 'metadata');
    if (!isObj(meta.labels) || Object.keys(meta.labels).length === 0) meta.labels = { ...labels };
  }
  if (!isSet(spec.replicas)) spec.replicas = 1;
  if (isObj(tpl)) defaultPodTemplateSpec(tpl);
}

export function defaultJobSpec(spec: Obj): void {
  defaultPodTemplateSpec(ensureObj(spec, 'template'));
}

export function defaultJob(job: Obj): void {
  const spec = ensureObj(job, 'spec');
  if (!isSet(spec.completions) && !isSet(spec.parallelism)) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  if (!isSet(spec.parallelism)) spec.parallelism = 1;
  if (!isSet(spec.backoffLimit)) spec.backoffLimit = isSet(spec.backoffLimitPerIndex) ? 2147483647 : 6;
  const tplLabels = obj(obj(spec.template).metadata).labels;
  const meta = ensureObj(job, 'metadata');
  if (isObj(tplLabels) && (!isObj(meta.labels) || Object.keys(meta.labels).length === 0)) meta.labels = { ...tplLabels };
  if (!isSet(spec.completionMode)) spec.completionMode = 'NonIndexed';
  if (!isSet(spec.suspend)) spec.suspend = false;
  if (isObj(spec.podFailurePolicy))
    for (const r of arr(spec.podFailurePolicy.rules)) for (const c of arr(obj(r).onPodConditions)) if (isObj(c) && !str(c.status)) c.status = 'True';
  if (!isSet(spec.podReplacementPolicy)) spec.podReplacementPolicy = isObj(spec.podFailurePolicy) ? 'Failed' : 'TerminatingOrFailed';
  if (!isSet(spec.manualSelector)) spec.manualSelector = false;
  defaultJobSpec(spec);
}

export function defaultCronJob(cj: Obj): void {
  const spec = ensureObj(cj, 'spec');
  if (!str(spec.concurrencyPolicy)) spec.concurrencyPolicy = 'Allow';
  if (!isSet(spec.suspend)) spec.suspend = false;
  if (!isSet(spec.successfulJobsHistoryLimit)) spec.successfulJobsHistoryLimit = 3;
  if (!isSet(spec.failedJobsHistoryLimit)) spec.failedJobsHistoryLimit = 1;
  const jt = ensureObj(spec, 'jobTemplate');
  defaultJobSpec(ensureObj(jt, 'spec'));
}

// ---- core kinds -----------------------------------------------------------------------------------------

export function defaultService(svc: Obj): void {
  const spec = ensureObj(svc, 'spec');
  if (!str(spec.sessionAffinity)) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const cfg = obj(spec.sessionAffinityConfig);
    if (!isSet(obj(cfg.clientIP).timeoutSeconds)) spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  if (!str(spec.type)) spec.type = 'ClusterIP';
  for (const p of arr(spec.ports)) {
    if (!isObj(p)) continue;
    if (!str(p.protocol)) p.protocol = 'TCP';
    if (!isSet(p.targetPort) || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  const external = spec.type === 'LoadBalancer' || spec.type === 'NodePort' || (spec.type === 'ClusterIP' && arr(spec.externalIPs).length > 0);
  if (external && !str(spec.externalTrafficPolicy)) spec.externalTrafficPolicy = 'Cluster';
  if (!isSet(spec.internalTrafficPolicy) && (spec.type === 'NodePort' || spec.type === 'LoadBalancer' || spec.type === 'ClusterIP')) spec.internalTrafficPolicy = 'Cluster';
  if (spec.type === 'LoadBalancer') {
    if (!isSet(spec.allocateLoadBalancerNodePorts)) spec.allocateLoadBalancerNodePorts = true;
    for (const ing of arr(obj(obj(svc.status).loadBalancer).ingress)) if (isObj(ing) && str(ing.ip) && !isSet(ing.ipMode)) ing.ipMode = 'VIP';
  }
  // the service registry's normalizeClusterIPs (create) and IP-family defaulting
  if (str(spec.clusterIP) && arr(spec.clusterIPs).length === 0) spec.clusterIPs = [spec.clusterIP];
  if (spec.type !== 'ExternalName') {
    const headlessNoSelector =
      spec.type === 'ClusterIP' && arr<string>(spec.clusterIPs)[0] === 'None' && Object.keys(obj(spec.selector)).length === 0;
    if (!isSet(spec.ipFamilyPolicy)) {
      if (arr(spec.ipFamilies).length === 2 || headlessNoSelector) spec.ipFamilyPolicy = 'RequireDualStack';
      else spec.ipFamilyPolicy = 'SingleStack';
    }
    if (arr(spec.ipFamilies).length === 0) {
      const first = arr<string>(spec.clusterIPs)[0];
      spec.ipFamilies = first && first !== 'None' && first.includes(':') ? ['IPv6'] : ['IPv4'];
    }
  }
}

export function defaultNamespace(ns: Obj): void {
  const meta = ensureObj(ns, 'metadata');
  if (str(meta.name)) {
    const labels = ensureObj(meta, 'labels');
    labels['kubernetes.io/metadata.name'] = str(meta.name);
  }
  const st = ensureObj(ns, 'status');
  if (!str(st.phase)) st.phase = 'Active';
}

export function defaultNode(node: Obj): void {
  const st = obj(node.status);
  defaultResourceList(st.capacity, false);
  defaultResourceList(st.allocatable, false);
  if (isObj(st.capacity) && !isSet(st.allocatable)) st.allocatable = { ...st.capacity };
}

export function defaultPersistentVolume(pv: Obj): void {
  const spec = ensureObj(pv, 'spec');
  if (!str(spec.persistentVolumeReclaimPolicy)) spec.persistentVolumeReclaimPolicy = 'Retain';
  if (!isSet(spec.volumeMode)) spec.volumeMode = 'Filesystem';
  defaultResourceList(spec.capacity);
  if (isObj(spec.hostPath) && !isSet(spec.hostPath.type)) spec.hostPath.type = '';
  const st = ensureObj(pv, 'status');
  if (!str(st.phase)) st.phase = 'Pending';
}

export function defaultPersistentVolumeClaim(pvc: Obj): void {
  defaultPersistentVolumeClaimSpec(ensureObj(pvc, 'spec'));
  const st = ensureObj(pvc, 'status');
  if (!str(st.phase)) st.phase = 'Pending';
  defaultResourceList(st.capacity);
  defaultResourceList(st.allocatedResources);
}

function isBase64(s: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 !== 1;
}

function checkBase64Map(o: Obj, field: string): void {
  const m = o[field];
  if (!isObj(m)) return;
  for (const [k, v] of Object.entries(m)) {
    const s = str(v).replace(/\s+/g, '');
    if (!isBase64(s)) {
      let at = 0;
      while (at < s.length && /[A-Za-z0-9+/=]/.test(s[at])) at++;
      throw new DecodeError(str(o.kind) || 'Secret', str(o.apiVersion) || 'v1', `illegal base64 data at input byte ${at}`);
    }
    m[k] = s;
  }
}

export function defaultSecret(secret: Obj): void {
  if (!str(secret.type)) secret.type = 'Opaque';
  checkBase64Map(secret, 'data');
  // the v1 conversion folds stringData into data (stringData wins)
  if (isObj(secret.stringData)) {
    const data = ensureObj(secret, 'data');
    for (const [k, v] of Object.entries(secret.stringData)) data[k] = Buffer.from(str(v), 'utf8').toString('base64');
    delete secret.stringData;
  }
}

export function defaultConfigMap(cm: Obj): void {
  checkBase64Map(cm, 'binaryData');
}

export function defaultEndpoints(ep: Obj): void {
  for (const ss of arr(ep.subsets)) for (const p of arr(obj(ss).ports)) if (isObj(p) && !str(p.protocol)) p.protocol = 'TCP';
}

export function defaultLimitRange(lr: Obj): void {
  for (const raw of arr(obj(lr.spec).limits)) {
    if (!isObj(raw)) continue;
    const item = raw;
    for (const f of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) defaultResourceList(item[f]);
    if (item.type !== 'Container') continue;
    const def = ensureObj(item, 'default');
    const defReq = ensureObj(item, 'defaultRequest');
    for (const [k, v] of Object.entries(obj(item.max))) if (!isSet(def[k])) def[k] = v;
    for (const [k, v] of Object.entries(def)) if (!isSet(defReq[k])) defReq[k] = v;
    for (const [k, v] of Object.entries(obj(item.min))) if (!isSet(defReq[k])) defReq[k] = v;
  }
}

export function defaultResourceQuota(rq: Obj): void {
  defaultResourceList(obj(rq.spec).hard);
  defaultResourceList(obj(rq.status).hard);
  defaultResourceList(obj(rq.status).used);
}

// ---- other groups -----------------------------------------------------------------------------------------

export function defaultStorageClass(sc: Obj): void {
  if (!str(sc.reclaimPolicy)) sc.reclaimPolicy = 'Delete';
  if (!str(sc.volumeBindingMode)) sc.volumeBindingMode = 'Immediate';
}

export function defaultCSIDriver(d: Obj): void {
  const spec = ensureObj(d, 'spec');
  if (!isSet(spec.attachRequired)) spec.attachRequired = true;
  if (!isSet(spec.podInfoOnMount)) spec.podInfoOnMount = false;
  if (!isSet(spec.storageCapacity)) spec.storageCapacity = false;
  if (!isSet(spec.fsGroupPolicy)) spec.fsGroupPolicy = 'ReadWriteOnceWithFSType';
  if (arr(spec.volumeLifecycleModes).length === 0) spec.volumeLifecycleModes = ['Persistent'];
  if (!isSet(spec.requiresRepublish)) spec.requiresRepublish = false;
}

export function defaultNetworkPolicy(np: Obj): void {
  const spec = ensureObj(np, 'spec');
  if (!isObj(spec.podSelector)) spec.podSelector = {};
  for (const dir of ['ingress', 'egress'])
    for (const rule of arr(spec[dir])) for (const p of arr(obj(rule).ports)) if (isObj(p) && !isSet(p.protocol)) p.protocol = 'TCP';
  if (arr(spec.policyTypes).length === 0) {
    const types = ['Ingress'];
    if (arr(spec.egress).length > 0) types.push('Egress');
    spec.policyTypes = types;
  }
}

export function defaultPriorityClass(pc: Obj): void {
  if (!isSet(pc.preemptionPolicy)) pc.preemptionPolicy = 'PreemptLowerPriority';
}

export function defaultRoleBinding(rb: Obj): void {
  const ref = ensureObj(rb, 'roleRef');
  if (!str(ref.apiGroup)) ref.apiGroup = 'rbac.authorization.k8s.io';
  for (const s of arr(rb.subjects)) {
    if (!isObj(s) || str(s.apiGroup)) continue;
    if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = 'rbac.authorization.k8s.io';
    else if (s.kind === 'ServiceAccount') s.apiGroup = '';
  }
}

export function defaultEndpointSlice(eps: Obj): void {
  for (const p of arr(eps.ports)) {
    if (!isObj(p)) continue;
    if (!isSet(p.name)) p.name = '';
    if (!isSet(p.protocol)) p.protocol = 'TCP';
  }
}

function scalingRules(rules: unknown, up: boolean): Obj {
  const r = isObj(rules) ? rules : {};
  if (!isSet(r.stabilizationWindowSeconds)) r.stabilizationWindowSeconds = up ? 0 : 300;
  if (!isSet(r.selectPolicy)) r.selectPolicy = 'Max';
  if (arr(r.policies).length === 0)
    r.policies = up
      ? [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ]
      : [{ type: 'Percent', value: 100, periodSeconds: 15 }];
  return r;
}

export function defaultHorizontalPodAutoscaler(hpa: Obj): void {
  const spec = ensureObj(hpa, 'spec');
  if (!isSet(spec.minReplicas)) spec.minReplicas = 1;
  const v1 = str(hpa.apiVersion) === 'autoscaling/v1' || isSet(spec.targetCPUUtilizationPercentage);
  if (!v1 && arr(spec.metrics).length === 0)
    spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
  if (isObj(spec.behavior)) {
    spec.behavior.scaleUp = scalingRules(spec.behavior.scaleUp, true);
    spec.behavior.scaleDown = scalingRules(spec.behavior.scaleDown, false);
  }
  for (const m of arr(spec.metrics)) {
    for (const k of ['object', 'pods', 'resource', 'external', 'containerResource']) {
      const t = obj(obj(obj(m)[k]).target);
      canonicalField(t, 'value');
      canonicalField(t, 'averageValue');
    }
  }
}

export function defaultCustomResourceDefinition(crd: Obj): void {
  const spec = ensureObj(crd, 'spec');
  const names = ensureObj(spec, 'names');
  if (!str(names.singular) && str(names.kind)) names.singular = str(names.kind).toLowerCase();
  if (!str(names.listKind) && str(names.kind)) names.listKind = `${str(names.kind)}List`;
  if (!isObj(spec.conversion)) spec.conversion = { strategy: 'None' };
}
