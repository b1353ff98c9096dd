// Pod, PodSpec and PodTemplateSpec validation (pkg/apis/core/validation: the pod half).
// Paths and messages follow upstream; the v1 JSON shape is walked directly (hostNetwork,
// hostPID, hostIPC and shareProcessNamespace live in spec on the wire; upstream's
// internal form moves them into securityContext, so their error paths say so too).
import {
  child,
  duplicate,
  forbidden,
  goIntOrString,
  goStringMap,
  goStruct,
  index,
  invalid,
  key,
  notFound,
  notSupported,
  required,
  tooLong,
  type Cause,
} from './field.js';
import {
  validateAnnotations,
  validateLabelName,
  validateLabelSelector,
  validateLabels,
  validateNonnegative,
  validateObjectMeta,
  validateObjectMetaUpdate,
  validateQualifiedName,
} from './meta.js';
import {
  inclusiveRangeError,
  isConfigMapKey,
  isDNS1123Label,
  isDNS1123Subdomain,
  isHTTPHeaderName,
  isRelaxedEnvVarName,
  isValidGroupID,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  isValidUserID,
  isValidIP,
  isQualifiedName,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
} from './names.js';
import { Quantity } from './quantity.js';
import { arr, isObj, isSet, num, obj, semanticEqual, specDiff, str, strMap, type Obj } from './util.js';

export interface PodValidationOptions {
  /** The PodSpec belongs to a Pod (not a template inside another kind). */
  resourceIsPod?: boolean;
}

const FILE_MODE_ERROR = 'must be a number between 0 and 0777 (octal), both inclusive';
const NOT_POSITIVE = 'must be greater than zero';
const SUPPORTED_PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

export function validateDNS1123Label(value: string, path: string): Cause[] {
  return isDNS1123Label(value).map((m) => invalid(path, value, m));
}

export function validateDNS1123Subdomain(value: string, path: string): Cause[] {
  return isDNS1123Subdomain(value).map((m) => invalid(path, value, m));
}

// ---- paths ---------------------------------------------------------------------------

function validatePathNoBacksteps(target: string, path: string): Cause[] {
  return target.replace(/\\/g, '/').split('/').includes('..') ? [invalid(path, target, "must not contain '..'")] : [];
}

function validateLocalDescendingPath(target: string, path: string): Cause[] {
  const errs: Cause[] = [];
  if (target.startsWith('/')) errs.push(invalid(path, target, 'must be a relative path'));
  return errs.concat(validatePathNoBacksteps(target, path));
}

export function validateLocalNonReservedPath(target: string, path: string): Cause[] {
  const errs = validateLocalDescendingPath(target, path);
  if (target.startsWith('..') && !target.startsWith('../')) errs.push(invalid(path, target, "must not start with '..'"));
  return errs;
}

function validateFileMode(mode: unknown, path: string): Cause[] {
  if (!isSet(mode)) return [];
  const m = num(mode);
  return m > 0o777 || m < 0 ? [invalid(path, m, FILE_MODE_ERROR)] : [];
}

function validateKeyToPath(kp: Obj, path: string): Cause[] {
  const errs: Cause[] = [];
  if (!str(kp.key)) errs.push(required(child(path, 'key')));
  if (!str(kp.path)) errs.push(required(child(path, 'path')));
  errs.push(...validateLocalNonReservedPath(str(kp.path), child(path, 'path')));
  errs.push(...validateFileMode(kp.mode, child(path, 'mode')));
  return errs;
}

// ---- downward API --------------------------------------------------------------------

const ENV_FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];
const VOLUME_FIELD_PATHS = ['metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid'];
const DOWNWARD_LABELS = new Set([
  'metadata.annotations',
  'metadata.labels',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.serviceAccountName',
  'spec.schedulerName',
  'status.phase',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
]);
const RESOURCE_FIELD_PATHS = ['limits.cpu', 'limits.ephemeral-storage', 'limits.memory', 'requests.cpu', 'requests.ephemeral-storage', 'requests.memory'];

function splitSubscript(p: string): [string, string] | undefined {
  if (!p.endsWith("']")) return undefined;
  const s = p.slice(0, -2);
  const i = s.indexOf("['");
  if (i <= 0) return undefined;
  return [s.slice(0, i), s.slice(i + 2)];
}

function validateObjectFieldSelector(fs: Obj, expressions: string[], path: string): Cause[] {
  if (!str(fs.apiVersion)) return [required(child(path, 'apiVersion'))];
  const fp = str(fs.fieldPath);
  if (!fp) return [required(child(path, 'fieldPath'))];
  if (fs.apiVersion !== 'v1') return [invalid(child(path, 'fieldPath'), fp, `error converting fieldPath: unsupported pod version: ${str(fs.apiVersion)}`)];
  const sub = splitSubscript(fp);
  let internal = fp;
  if (sub) {
    if (sub[0] !== 'metadata.annotations' && sub[0] !== 'metadata.labels')
      return [invalid(child(path, 'fieldPath'), fp, `error converting fieldPath: field label does not support subscript: ${fp}`)];
  } else if (fp === 'spec.host') internal = 'spec.nodeName';
  else if (!DOWNWARD_LABELS.has(fp)) return [invalid(child(path, 'fieldPath'), fp, `error converting fieldPath: field label not supported: ${fp}`)];
  if (sub) {
    if (sub[0] === 'metadata.annotations') return validateQualifiedName(sub[1].toLowerCase(), path);
    return validateQualifiedName(sub[1], path);
  }
  if (!expressions.includes(internal)) return [notSupported(child(path, 'fieldPath'), internal, expressions)];
  return [];
}

const CPU_DIVISORS = new Set(['1m', '1']);
const MEM_DIVISORS = new Set(['1', '1k', '1M', '1G', '1T', '1P', '1E', '1Ki', '1Mi', '1Gi', '1Ti', '1Pi', '1Ei']);

function validateContainerResourceFieldSelector(fs: Obj, path: string, volume: boolean): Cause[] {
  const errs: Cause[] = [];
  const res = str(fs.resource);
  if (volume && !str(fs.containerName)) errs.push(required(child(path, 'containerName')));
  else if (!res) errs.push(required(child(path, 'resource')));
  else if (!RESOURCE_FIELD_PATHS.includes(res) && !res.startsWith('requests.hugepages-') && !res.startsWith('limits.hugepages-'))
    errs.push(notSupported(child(path, 'resource'), res, RESOURCE_FIELD_PATHS));
  if (isSet(fs.divisor)) {
    const q = Quantity.tryParse(fs.divisor);
    if (q && !q.isZero()) {
      const d = q.toString();
      const p = child(path, 'divisor');
      if ((res === 'limits.cpu' || res === 'requests.cpu') && !CPU_DIVISORS.has(d))
        errs.push(invalid(p, res, "only divisor's values 1m and 1 are supported with the cpu resource"));
      if ((res === 'limits.memory' || res === 'requests.memory') && !MEM_DIVISORS.has(d))
        errs.push(invalid(p, res, "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource"));
      if ((res === 'limits.ephemeral-storage' || res === 'requests.ephemeral-storage') && !MEM_DIVISORS.has(d))
        errs.push(
          invalid(p, res, "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the local ephemeral storage resource"),
        );
    }
  }
  return errs;
}

function validateDownwardAPIVolumeFile(file: Obj, path: string): Cause[] {
  const errs: Cause[] = [];
  if (!str(file.path)) errs.push(required(child(path, 'path')));
  errs.push(...validateLocalNonReservedPath(str(file.path), child(path, 'path')));
  if (isObj(file.fieldRef)) {
    errs.push(...validateObjectFieldSelector(file.fieldRef, VOLUME_FIELD_PATHS, child(path, 'fieldRef')));
    if (isObj(file.resourceFieldRef)) errs.push(invalid(path, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously'));
  } else if (isObj(file.resourceFieldRef)) {
    errs.push(...validateContainerResourceFieldSelector(file.resourceFieldRef, child(path, 'resourceFieldRef'), true));
  } else errs.push(required(path, 'one of fieldRef and resourceFieldRef is required'));
  errs.push(...validateFileMode(file.mode, child(path, 'mode')));
  return errs;
}

// ---- volumes ---------------------------------------------------------------------------

type SourceValidator = (src: Obj, path: string, volName: string) => Cause[];

const req =
  (...fields: string[]): SourceValidator =>
  (src, path) =>
    fields.filter((f) => !str(src[f])).map((f) => required(child(path, f)));

const VOLUME_SOURCES: [string, string, string, SourceValidator][] = [
  // [json key, "more than 1" path name, detail path name, validator]
  [
    'emptyDir',
    'emptyDir',
    'emptyDir',
    (s, p) => {
      const q = isSet(s.sizeLimit) ? Quantity.tryParse(s.sizeLimit) : undefined;
      return q && q.sign() < 0 ? [forbidden(child(p, 'sizeLimit'), 'SizeLimit field must be a valid resource quantity')] : [];
    },
  ],
  ['hostPath', 'hostPath', 'hostPath', (s, p) => validateHostPath(s, p)],
  [
    'gitRepo',
    'gitRepo',
    'gitRepo',
    (s, p) => {
      const errs: Cause[] = [];
      if (!str(s.repository)) errs.push(required(child(p, 'repository')));
      return errs.concat(validateLocalDescendingPath(str(s.directory), child(p, 'directory')));
    },
  ],
  ['gcePersistentDisk', 'gcePersistentDisk', 'persistentDisk', req('pdName')],
  ['awsElasticBlockStore', 'awsElasticBlockStore', 'awsElasticBlockStore', req('volumeID')],
  [
    'secret',
    'secret',
    'secret',
    (s, p) => {
      const errs: Cause[] = [];
      if (!str(s.secretName)) errs.push(required(child(p, 'secretName')));
      errs.push(...validateFileMode(s.defaultMode, child(p, 'defaultMode')));
      arr(s.items).forEach((kp, i) => errs.push(...validateKeyToPath(obj(kp), index(child(p, 'items'), i))));
      return errs;
    },
  ],
  [
    'nfs',
    'nfs',
    'nfs',
    (s, p) => {
      const errs: Cause[] = [];
      if (!str(s.server)) errs.push(required(child(p, 'server')));
      if (!str(s.path)) errs.push(required(child(p, 'path')));
      if (!str(s.path).startsWith('/')) errs.push(invalid(child(p, 'path'), str(s.path), 'must be an absolute path'));
      return errs;
    },
  ],
  ['iscsi', 'iscsi', 'iscsi', req('targetPortal', 'iqn')],
  ['glusterfs', 'glusterfs', 'glusterfs', req('endpoints', 'path')],
  ['flocker', 'flocker', 'flocker', () => []],
  ['persistentVolumeClaim', 'persistentVolumeClaim', 'persistentVolumeClaim', req('claimName')],
  ['rbd', 'rbd', 'rbd', (s, p) => [...(arr(s.monitors).length ? [] : [required(child(p, 'monitors'))]), ...req('image')(s, p, '')]],
  ['cinder', 'cinder', 'cinder', req('volumeID')],
  ['cephfs', 'cephFS', 'cephfs', (s, p) => (arr(s.monitors).length ? [] : [required(child(p, 'monitors'))])],
  ['quobyte', 'quobyte', 'quobyte', req('volume')],
  [
    'downwardAPI',
    'downwarAPI',
    'downwardAPI',
    (s, p) => {
      const errs = validateFileMode(s.defaultMode, child(p, 'defaultMode'));
      for (const f of arr(s.items)) errs.push(...validateDownwardAPIVolumeFile(obj(f), p));
      return errs;
    },
  ],
  ['fc', 'fc', 'fc', () => []],
  ['flexVolume', 'flexVolume', 'flexVolume', req('driver')],
  [
    'configMap',
    'configMap',
    'configMap',
    (s, p) => {
      const errs: Cause[] = [];
      if (!str(s.name)) errs.push(required(child(p, 'name')));
      errs.push(...validateFileMode(s.defaultMode, child(p, 'defaultMode')));
      arr(s.items).forEach((kp, i) => errs.push(...validateKeyToPath(obj(kp), index(child(p, 'items'), i))));
      return errs;
    },
  ],
  ['azureFile', 'azureFile', 'azureFile', req('secretName', 'shareName')],
  ['vsphereVolume', 'vsphereVolume', 'vsphereVolume', req('volumePath')],
  ['photonPersistentDisk', 'photonPersistentDisk', 'photonPersistentDisk', req('pdID')],
  ['portworxVolume', 'portworxVolume', 'portworxVolume', req('volumeID')],
  ['azureDisk', 'azureDisk', 'azureDisk', req('diskName', 'diskURI')],
  ['storageos', 'storageos', 'storageos', req('volumeName')],
  ['projected', 'projected', 'projected', (s, p) => validateProjected(s, p)],
  ['scaleIO', 'scaleIO', 'scaleIO', req('gateway', 'system', 'volumeName')],
  [
    'csi',
    'csi',
    'csi',
    (s, p) => {
      const errs = validateCSIDriverName(str(s.driver), child(p, 'driver'));
      const ref = s.nodePublishSecretRef;
      if (isObj(ref)) {
        if (!str(ref.name)) errs.push(required(child(p, 'nodePublishSecretRef', 'name')));
        else for (const m of nameIsDNSSubdomain(str(ref.name), false)) errs.push(invalid(child(p, 'name'), str(ref.name), m));
      }
      return errs;
    },
  ],
  [
    'ephemeral',
    'ephemeral',
    'ephemeral',
    (s, p) => {
      if (!isObj(s.volumeClaimTemplate)) return [required(child(p, 'volumeClaimTemplate'))];
      const t = s.volumeClaimTemplate;
      const tp = child(p, 'volumeClaimTemplate');
      const errs = validateTemplateObjectMeta(t.metadata, child(tp, 'metadata'));
      return errs.concat(validatePersistentVolumeClaimSpec(obj(t.spec), child(tp, 'spec')));
    },
  ],
  ['image', 'image', 'image', () => []],
];

export function validateCSIDriverName(driver: string, path: string): Cause[] {
  const errs: Cause[] = [];
  if (driver.length === 0) errs.push(required(path));
  if (driver.length > 63) errs.push(tooLong(path, 63));
  for (const m of isDNS1123Subdomain(driver.toLowerCase())) errs.push(invalid(path, driver, m));
  return errs;
}

const HOST_PATH_TYPES = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];

function validateHostPath(s: Obj, p: string): Cause[] {
  if (!str(s.path)) return [required(child(p, 'path'))];
  const errs = validatePathNoBacksteps(str(s.path), child(p, 'path'));
  if (isSet(s.type) && !HOST_PATH_TYPES.includes(str(s.type))) errs.push(notSupported(child(p, 'type'), str(s.type), HOST_PATH_TYPES));
  return errs;
}

function validateProjected(s: Obj, p: string): Cause[] {
  const errs = validateFileMode(s.defaultMode, child(p, 'defaultMode'));
  const allPaths = new Set<string>();
  const track = (path: string, shown: string) => {
    if (!path) return;
    if (allPaths.has(path)) errs.push(invalid(p, shown, 'conflicting duplicate paths'));
    else allPaths.add(path);
  };
  arr(s.sources).forEach((raw, i) => {
    const src = obj(raw);
    const sp = index(child(p, 'sources'), i);
    let n = 0;
    for (const kind of ['secret', 'configMap'] as const) {
      const x = src[kind];
      if (!isObj(x)) continue;
      n++;
      const kp = child(sp, kind);
      if (!str(x.name)) errs.push(required(child(kp, 'name')));
      arr(x.items).forEach((it, j) => {
        const item = obj(it);
        errs.push(...validateKeyToPath(item, index(child(kp, 'items'), j)));
        track(str(item.path), str(x.name));
      });
    }
    if (isObj(src.downwardAPI)) {
      n++;
      for (const f of arr(src.downwardAPI.items)) {
        errs.push(...validateDownwardAPIVolumeFile(obj(f), child(sp, 'downwardAPI')));
        track(str(obj(f).path), str(obj(f).path));
      }
    }
    if (isObj(src.serviceAccountToken)) {
      n++;
      const t = src.serviceAccountToken;
      const tp = child(sp, 'serviceAccountToken');
      const exp = num(t.expirationSeconds);
      if (exp < 600) errs.push(invalid(child(tp, 'expirationSeconds'), exp, 'may not specify a duration less than 10 minutes'));
      if (exp > 2 ** 32) errs.push(invalid(child(tp, 'expirationSeconds'), exp, 'may not specify a duration larger than 2^32 seconds'));
      if (!str(t.path)) errs.push(required(child(p, 'path')));
      else errs.push(...validateLocalNonReservedPath(str(t.path), child(p, 'path')));
    }
    if (isObj(src.clusterTrustBundle)) {
      n++;
      const c = src.clusterTrustBundle;
      const cp = child(sp, 'clusterTrustBundle');
      if (!str(c.path)) errs.push(required(child(cp, 'path')));
      errs.push(...validateLocalNonReservedPath(str(c.path), child(cp, 'path')));
      track(str(c.path), str(c.path));
    }
    if (n > 1) errs.push(forbidden(sp, 'may not specify more than 1 volume type per source'));
  });
  return errs;
}

function validateVolumeSource(v: Obj, path: string, volName: string, podName: string | undefined): Cause[] {
  const errs: Cause[] = [];
  let n = 0;
  for (const [jsonKey, moreName, detailName, validate] of VOLUME_SOURCES) {
    const src = v[jsonKey];
    if (!isObj(src)) continue;
    if (n > 0) {
      errs.push(forbidden(child(path, moreName), 'may not specify more than 1 volume type'));
      continue;
    }
    n++;
    errs.push(...validate(src, child(path, detailName), volName));
    if (jsonKey === 'ephemeral' && podName && volName) {
      const pvcName = `${podName}-${volName}`;
      for (const m of isDNS1123Subdomain(pvcName)) errs.push(invalid(child(path, 'name'), volName, `PVC name "${pvcName}": ${m}`));
    }
  }
  if (n === 0) errs.push(required(path, 'must specify a volume type'));
  return errs;
}

/** ValidateVolumes: returns the valid volumes by name, and the errors. */
export function validateVolumes(volumes: unknown, podName: string | undefined, path: string): { vols: Map<string, Obj>; errs: Cause[] } {
  const vols = new Map<string, Obj>();
  const errs: Cause[] = [];
  const created = new Set<string>();
  if (podName) for (const raw of arr(volumes)) if (isObj(obj(raw).ephemeral)) created.add(`${podName}-${str(obj(raw).name)}`);
  arr(volumes).forEach((raw, i) => {
    const v = obj(raw);
    const p = index(path, i);
    const name = str(v.name);
    const el = validateVolumeSource(v, p, name, podName);
    if (!name) el.push(required(child(p, 'name')));
    else el.push(...validateDNS1123Label(name, child(p, 'name')));
    if (vols.has(name)) el.push(duplicate(child(p, 'name'), name));
    if (el.length === 0) vols.set(name, v);
    else errs.push(...el);
    const pvc = v.persistentVolumeClaim;
    if (isObj(pvc) && created.has(str(pvc.claimName)))
      errs.push(invalid(child(p, 'persistentVolumeClaim', 'claimName'), str(pvc.claimName), 'must not reference a PVC that gets created for an ephemeral volume'));
  });
  return { vols, errs };
}

// ---- PVC spec (also used by ephemeral volumes and StatefulSet templates) -------------------

export const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
export const VOLUME_MODES = ['Block', 'Filesystem'];

export function validateAccessModes(modes: string[], path: string): Cause[] {
  const errs: Cause[] = [];
  let rwop = false;
  let other = false;
  for (const m of modes) {
    if (!ACCESS_MODES.includes(m)) errs.push(notSupported(path, m, ACCESS_MODES));
    if (m === 'ReadWriteOncePod') rwop = true;
    else if (ACCESS_MODES.includes(m)) other = true;
  }
  if (rwop && other) errs.push(forbidden(path, 'may not use ReadWriteOncePod with other access modes'));
  return errs;
}

export function validatePersistentVolumeClaimSpec(spec: Obj, path: string): Cause[] {
  const errs: Cause[] = [];
  const modes = arr<string>(spec.accessModes).map(str);
  if (modes.length === 0) errs.push(required(child(path, 'accessModes'), 'at least 1 access mode is required'));
  if (isObj(spec.selector)) errs.push(...validateLabelSelector(spec.selector, child(path, 'selector')));
  errs.push(...validateAccessModes(modes, child(path, 'accessModes')));
  const requests = obj(obj(spec.resources).requests);
  const sp = key(child(path, 'resources'), 'storage');
  if (!isSet(requests.storage)) errs.push(required(sp));
  else {
    const q = Quantity.tryParse(requests.storage);
    if (q && q.sign() <= 0) errs.push(invalid(sp, q.toString(), NOT_POSITIVE));
  }
  if (str(spec.storageClassName))
    for (const m of nameIsDNSSubdomain(str(spec.storageClassName), false)) errs.push(invalid(child(path, 'storageClassName'), str(spec.storageClassName), m));
  if (isSet(spec.volumeMode) && !VOLUME_MODES.includes(str(spec.volumeMode))) errs.push(notSupported(child(path, 'volumeMode'), str(spec.volumeMode), VOLUME_MODES));
  for (const which of ['dataSource', 'dataSourceRef'] as const) {
    const ds = spec[which];
    if (!isObj(ds)) continue;
    const dp = child(path, which);
    if (!str(ds.name)) errs.push(required(child(dp, 'name')));
    if (!str(ds.kind)) errs.push(required(child(dp, 'kind')));
    const group = str(ds.apiGroup);
    if (!group && ds.kind !== 'PersistentVolumeClaim') errs.push(invalid(dp, str(ds.kind), "must be 'PersistentVolumeClaim' when referencing the default apiGroup"));
    if (group) for (const m of isDNS1123Subdomain(group)) errs.push(invalid(child(dp, 'apiGroup'), group, m));
  }
  return errs;
}

/** ValidateTemplateObjectMeta: only labels and annotations may be set. */
export function validateTemplateObjectMeta(metaIn: unknown, path: string): Cause[] {
  const m = obj(metaIn);
  const errs = validateAnnotations(m.annotations, child(path, 'annotations'));
  errs.push(...validateLabels(m.labels, child(path, 'labels')));
  for (const [k, v] of Object.entries(m)) {
    if (k === 'labels' || k === 'annotations' || k === 'creationTimestamp' || !isSet(v)) continue;
    if (typeof v === 'string' && v === '') continue;
    errs.push(forbidden(child(path, k), 'cannot be set'));
  }
  return errs;
}

// ---- containers ----------------------------------------------------------------------------

function validateContainerPorts(ports: unknown, path: string): Cause[] {
  const errs: Cause[] = [];
  const names = new Set<string>();
  arr(ports).forEach((raw, i) => {
    const port = obj(raw);
    const p = index(path, i);
    const name = str(port.name);
    if (name) {
      const msgs = isValidPortName(name);
      if (msgs.length) for (const m of msgs) errs.push(invalid(child(p, 'name'), name, m));
      else if (names.has(name)) errs.push(duplicate(child(p, 'name'), name));
      else names.add(name);
    }
    const cp = num(port.containerPort);
    if (cp === 0) errs.push(required(child(p, 'containerPort')));
    else for (const m of isValidPortNum(cp)) errs.push(invalid(child(p, 'containerPort'), cp, m));
    const hp = num(port.hostPort);
    if (hp !== 0) for (const m of isValidPortNum(hp)) errs.push(invalid(child(p, 'hostPort'), hp, m));
    const proto = str(port.protocol);
    if (!proto) errs.push(required(child(p, 'protocol')));
    else if (!SUPPORTED_PROTOCOLS.includes(proto)) errs.push(notSupported(child(p, 'protocol'), proto, SUPPORTED_PROTOCOLS));
  });
  return errs;
}

function validateEnv(env: unknown, path: string): Cause[] {
  const errs: Cause[] = [];
  arr(env).forEach((raw, i) => {
    const ev = obj(raw);
    const p = index(path, i);
    const name = str(ev.name);
    if (!name) errs.push(required(child(p, 'name')));
    else for (const m of isRelaxedEnvVarName(name)) errs.push(invalid(child(p, 'name'), name, m));
    if (!isObj(ev.valueFrom)) return;
    const vf = ev.valueFrom;
    const vp = child(p, 'valueFrom');
    let n = 0;
    if (isObj(vf.fieldRef)) {
      n++;
      errs.push(...validateObjectFieldSelector(vf.fieldRef, ENV_FIELD_PATHS, child(vp, 'fieldRef')));
    }
    if (isObj(vf.resourceFieldRef)) {
      n++;
      errs.push(...validateContainerResourceFieldSelector(vf.resourceFieldRef, child(vp, 'resourceFieldRef'), false));
    }
    for (const which of ['configMapKeyRef', 'secretKeyRef'] as const) {
      const ref = vf[which];
      if (!isObj(ref)) continue;
      n++;
      const rp = child(vp, which);
      for (const m of nameIsDNSSubdomain(str(ref.name), false)) errs.push(invalid(child(rp, 'name'), str(ref.name), m));
      if (!str(ref.key)) errs.push(required(child(rp, 'key')));
      else for (const m of isConfigMapKey(str(ref.key))) errs.push(invalid(child(rp, 'key'), str(ref.key), m));
    }
    if (n === 0) errs.push(invalid(vp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
    else if (str(ev.value)) errs.push(invalid(vp, '', 'may not be specified when `value` is not empty'));
    else if (n > 1) errs.push(invalid(vp, '', 'may not have more than one field specified at a time'));
  });
  return errs;
}

function validateEnvFrom(envFrom: unknown, path: string): Cause[] {
  const errs: Cause[] = [];
  arr(envFrom).forEach((raw, i) => {
    const ev = obj(raw);
    const p = index(path, i);
    if (str(ev.prefix)) for (const m of isRelaxedEnvVarName(str(ev.prefix))) errs.push(invalid(child(p, 'prefix'), str(ev.prefix), m));
    let n = 0;
    for (const which of ['configMapRef', 'secretRef'] as const) {
      const ref = ev[which];
      if (!isObj(ref)) continue;
      n++;
      if (!str(ref.name)) errs.push(required(child(p, which, 'name')));
      else for (const m of nameIsDNSSubdomain(str(ref.name), true)) errs.push(invalid(child(p, which, 'name'), str(ref.name), m));
    }
    if (n === 0) errs.push(invalid(path, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (n > 1) errs.push(invalid(path, '', 'may not have more than one field specified at a time'));
  });
  return errs;
}

function validateVolumeMounts(mounts: unknown, devices: Map<string, string>, vols: Map<string, Obj>, ctr: Obj, path: string): Cause[] {
  const errs: Cause[] = [];
  const mountpoints = new Set<string>();
  const devPaths = new Set(devices.values());
  arr(mounts).forEach((raw, i) => {
    const m = obj(raw);
    const p = index(path, i);
    const name = str(m.name);
    const mp = str(m.mountPath);
    if (!name) errs.push(required(child(p, 'name')));
    if (!vols.has(name)) errs.push(notFound(child(p, 'name'), name));
    if (!mp) errs.push(required(child(p, 'mountPath')));
    if (mountpoints.has(mp)) errs.push(invalid(child(p, 'mountPath'), mp, 'must be unique'));
    mountpoints.add(mp);
    if (devices.has(name)) errs.push(invalid(child(p, 'name'), name, 'must not already exist in volumeDevices'));
    if (devPaths.has(mp)) errs.push(invalid(child(p, 'mountPath'), mp, 'must not already exist as a path in volumeDevices'));
    const v = vols.get(name);
    if (v && isObj(v.image)) {
      if (str(m.subPath)) errs.push(invalid(child(p, 'subPath'), str(m.subPath), 'not allowed in image volume sources'));
      if (str(m.subPathExpr)) errs.push(invalid(child(p, 'subPathExpr'), str(m.subPathExpr), 'not allowed in image volume sources'));
    }
    // upstream reports these under the list path, not the item
    if (str(m.subPath)) errs.push(...validateLocalDescendingPath(str(m.subPath), child(path, 'subPath')));
    if (str(m.subPathExpr)) {
      if (str(m.subPath)) errs.push(invalid(child(p, 'subPathExpr'), str(m.subPathExpr), 'subPathExpr and subPath are mutually exclusive'));
      errs.push(...validateLocalDescendingPath(str(m.subPathExpr), child(path, 'subPathExpr')));
    }
    if (isSet(m.mountPropagation)) {
      const mpp = str(m.mountPropagation);
      const ok = ['Bidirectional', 'HostToContainer', 'None'];
      const pp = child(path, 'mountPropagation');
      if (!ok.includes(mpp)) errs.push(notSupported(pp, mpp, ok));
      const privileged = obj(ctr.securityContext).privileged === true;
      if (mpp === 'Bidirectional' && !privileged) errs.push(forbidden(pp, 'Bidirectional mount propagation is available only to privileged containers'));
    }
    if (isSet(m.recursiveReadOnly)) {
      const rro = str(m.recursiveReadOnly);
      const rp = child(path, 'recursiveReadOnly');
      if (rro === 'Enabled' || rro === 'IfPossible') {
        if (m.readOnly !== true) errs.push(forbidden(rp, 'may only be specified when readOnly is true'));
        if (isSet(m.mountPropagation) && m.mountPropagation !== 'None')
          errs.push(forbidden(rp, 'may only be specified when mountPropagation is None or not specified'));
      } else if (rro !== 'Disabled') errs.push(notSupported(rp, rro, ['Disabled', 'Enabled', 'IfPossible']));
    }
  });
  return errs;
}

function validateVolumeDevices(devicesIn: unknown, mounts: Map<string, string>, vols: Map<string, Obj>, path: string): Cause[] {
  const errs: Cause[] = [];
  const paths = new Set<string>();
  const names = new Set<string>();
  const mountPaths = new Set(mounts.values());
  arr(devicesIn).forEach((raw, i) => {
    const d = obj(raw);
    const p = index(path, i);
    const name = str(d.name);
    const dp = str(d.devicePath);
    const v = vols.get(name);
    const isPVC = !!v && (isObj(v.persistentVolumeClaim) || isObj(v.ephemeral));
    if (!name) errs.push(required(child(p, 'name')));
    if (names.has(name)) errs.push(invalid(child(p, 'name'), name, 'must be unique'));
    if (v && !isPVC) errs.push(invalid(child(p, 'name'), name, 'can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode'));
    if (!v) errs.push(notFound(child(p, 'name'), name));
    if (!dp) errs.push(required(child(p, 'devicePath')));
    if (paths.has(dp)) errs.push(invalid(child(p, 'devicePath'), dp, 'must be unique'));
    if (dp && validatePathNoBacksteps(dp, '').length) errs.push(invalid(child(p, 'devicePath'), dp, "can not contain backsteps ('..')"));
    else paths.add(dp);
    if (mounts.has(name)) errs.push(invalid(child(p, 'name'), name, 'must not already exist in volumeMounts'));
    if (mountPaths.has(dp)) errs.push(invalid(child(p, 'devicePath'), dp, 'must not already exist as a path in volumeMounts'));
    if (name) names.add(name);
  });
  return errs;
}

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];

function validatePullPolicy(policy: string, path: string): Cause[] {
  if (PULL_POLICIES.includes(policy)) return [];
  if (!policy) return [required(path)];
  return [notSupported(path, policy, PULL_POLICIES)];
}

// ---- resources -----------------------------------------------------------------------------

const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);
const STANDARD_RESOURCES = new Set([
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
  'pods',
  'services',
  'replicationcontrollers',
  'resourcequotas',
  'secrets',
  'configmaps',
  'persistentvolumeclaims',
  'storage',
  'requests.storage',
  'services.nodeports',
  'services.loadbalancers',
]);

export function isHugePageResourceName(n: string): boolean {
  return n.startsWith('hugepages-');
}

export function isNativeResource(n: string): boolean {
  return !n.includes('/') || n.includes('kubernetes.io/');
}

export function isExtendedResourceName(n: string): boolean {
  if (isNativeResource(n) || n.startsWith('requests.')) return false;
  return validateQualifiedName(`requests.${n}`, '').length === 0;
}

export function isOvercommitAllowed(n: string): boolean {
  return isNativeResource(n) && !isHugePageResourceName(n);
}

function isStandardResourceName(n: string): boolean {
  return STANDARD_RESOURCES.has(n) || n.startsWith('hugepages-') || n.startsWith('requests.hugepages-') || n.startsWith('count/');
}

function validateResourceName(n: string, path: string): Cause[] {
  // a ResourceName prints through its String() method: unquoted
  const bad = isQualifiedName(n).map((m) => invalid(path, goIntOrString(n), m));
  if (bad.length) return bad;
  if (!n.includes('/') && !isStandardResourceName(n)) return [invalid(path, goIntOrString(n), 'must be a standard resource type or fully qualified')];
  return [];
}

function validateContainerResourceName(n: string, path: string): Cause[] {
  const errs = validateResourceName(n, path);
  if (!n.includes('/')) {
    if (!STANDARD_CONTAINER_RESOURCES.has(n) && !isHugePageResourceName(n))
      return errs.concat(invalid(path, goIntOrString(n), 'must be a standard resource for containers'));
  } else if (!isNativeResource(n) && !isExtendedResourceName(n)) {
    return errs.concat(invalid(path, goIntOrString(n), "doesn't follow extended resource name standard"));
  }
  return errs;
}

/** ValidateResourceQuantityValue: non-negative, and whole for integer resources. */
export function validateResourceQuantityValue(resource: string, q: Quantity, path: string): Cause[] {
  const errs: Cause[] = [];
  if (q.sign() < 0) errs.push(invalid(path, q.toString(), 'must be greater than or equal to 0'));
  if (isExtendedResourceName(resource) && q.scaledValue(-3) % 1000n !== 0n) errs.push(invalid(path, goIntOrString(q.toString()), 'must be an integer'));
  return errs;
}

function hugePageSize(n: string): Quantity | undefined {
  return Quantity.tryParse(n.slice('hugepages-'.length));
}

export function validateResourceRequirements(res: Obj, path: string, podClaimNames: Set<string>): Cause[] {
  const errs: Cause[] = [];
  const limPath = child(path, 'limits');
  const reqPath = child(path, 'requests');
  const limits = obj(res.limits);
  const requests = obj(res.requests);
  let limCM = false;
  let reqCM = false;
  let limHP = false;
  let reqHP = false;
  const parsed = (v: unknown) => Quantity.tryParse(v) ?? Quantity.zero();
  const hugeCheck = (name: string, q: Quantity, p: string) => {
    const size = hugePageSize(name);
    if (!size || size.isZero()) return;
    const [a, b] = [q.scaledValue(-9), size.scaledValue(-9)];
    if (b === 0n || a % b !== 0n) errs.push(invalid(p, q.toString(), `${q.toString()} is not positive integer multiple of ${name}`));
  };
  for (const [name, v] of Object.entries(limits)) {
    const p = key(limPath, name);
    const q = parsed(v);
    errs.push(...validateContainerResourceName(name, p));
    errs.push(...validateResourceQuantityValue(name, q, p));
    if (isHugePageResourceName(name)) {
      limHP = true;
      hugeCheck(name, q, p);
    }
    if (name === 'cpu' || name === 'memory') limCM = true;
  }
  for (const [name, v] of Object.entries(requests)) {
    const p = key(reqPath, name);
    const q = parsed(v);
    errs.push(...validateContainerResourceName(name, p));
    errs.push(...validateResourceQuantityValue(name, q, p));
    if (isSet(limits[name])) {
      const lim = parsed(limits[name]);
      if (q.cmp(lim) !== 0 && !isOvercommitAllowed(name))
        errs.push(invalid(reqPath, q.toString(), `must be equal to ${name} limit of ${lim.toString()}`));
      else if (q.cmp(lim) > 0) errs.push(invalid(reqPath, q.toString(), `must be less than or equal to ${name} limit of ${lim.toString()}`));
    } else if (!isOvercommitAllowed(name)) errs.push(required(limPath, 'Limit must be set for non overcommitable resources'));
    if (isHugePageResourceName(name)) {
      reqHP = true;
      hugeCheck(name, q, p);
    }
    if (name === 'cpu' || name === 'memory') reqCM = true;
  }
  if (!limCM && !reqCM && (reqHP || limHP)) errs.push(forbidden(path, 'HugePages require cpu or memory'));
  const names = new Set<string>();
  arr(res.claims).forEach((raw, i) => {
    const c = obj(raw);
    const p = index(child(path, 'claims'), i);
    const n = str(c.name);
    if (!n) {
      errs.push(required(p));
      return;
    }
    const k = str(c.request) ? `${n}/${str(c.request)}` : n;
    if (names.has(k) || names.has(n)) errs.push(duplicate(p, n));
    names.add(k);
    if (!podClaimNames.has(n)) {
      const c2 = notFound(p, n);
      c2.message += `: must be one of the names in pod.spec.resourceClaims${podClaimNames.size ? ': ' + [...podClaimNames].sort().join(', ') : ' which is empty'}`;
      errs.push(c2);
    }
  });
  return errs;
}

// ---- probes and handlers ------------------------------------------------------------------

export function validatePortNumOrName(port: unknown, path: string): Cause[] {
  if (typeof port === 'number') return isValidPortNum(port).map((m) => invalid(path, port, m));
  if (typeof port === 'string') return isValidPortName(port).map((m) => invalid(path, port, m));
  return isValidPortNum(0).map((m) => invalid(path, 0, m));
}

function validateHandler(h: Obj, gracePeriod: number | undefined, path: string, allowSleep: boolean, allowGRPC: boolean): Cause[] {
  const errs: Cause[] = [];
  let n = 0;
  const kinds: [string, (x: Obj, p: string) => Cause[]][] = [
    ['exec', (x, p) => (arr(x.command).length ? [] : [required(child(p, 'command'))])],
    [
      'httpGet',
      (x, p) => {
        const e: Cause[] = [];
        if (!str(x.path)) e.push(required(child(p, 'path')));
        e.push(...validatePortNumOrName(x.port, child(p, 'port')));
        const scheme = str(x.scheme);
        if (scheme !== 'HTTP' && scheme !== 'HTTPS') e.push(notSupported(child(p, 'scheme'), scheme, ['HTTP', 'HTTPS']));
        for (const hdr of arr(x.httpHeaders)) for (const m of isHTTPHeaderName(str(obj(hdr).name))) e.push(invalid(child(p, 'httpHeaders'), str(obj(hdr).name), m));
        return e;
      },
    ],
    ['tcpSocket', (x, p) => validatePortNumOrName(x.port, child(p, 'port'))],
  ];
  if (allowGRPC) kinds.push(['grpc', (x, p) => validatePortNumOrName(num(x.port), child(p, 'port'))]);
  if (allowSleep)
    kinds.push([
      'sleep',
      (x, p) => {
        const s = num(x.seconds);
        if (gracePeriod !== undefined && (s < 0 || s > gracePeriod))
          return [invalid(p, s, `must be non-negative and less than terminationGracePeriodSeconds (${gracePeriod})`)];
        return [];
      },
    ]);
  for (const [k, fn] of kinds) {
    if (!isObj(h[k])) continue;
    if (n > 0) {
      errs.push(forbidden(child(path, k), 'may not specify more than 1 handler type'));
      continue;
    }
    n++;
    errs.push(...fn(h[k] as Obj, child(path, k)));
  }
  if (n === 0) errs.push(required(path, 'must specify a handler type'));
  return errs;
}

function validateProbe(probe: Obj, gracePeriod: number | undefined, path: string): Cause[] {
  const errs = validateHandler(probe, gracePeriod, path, false, true);
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'])
    errs.push(...validateNonnegative(num(probe[f]), child(path, f)));
  if (isSet(probe.terminationGracePeriodSeconds) && num(probe.terminationGracePeriodSeconds) <= 0)
    errs.push(invalid(child(path, 'terminationGracePeriodSeconds'), num(probe.terminationGracePeriodSeconds), 'must be greater than 0'));
  return errs;
}

function validateLivenessOrStartup(probe: unknown, gracePeriod: number | undefined, path: string): Cause[] {
  if (!isObj(probe)) return [];
  const errs = validateProbe(probe, gracePeriod, path);
  if (num(probe.successThreshold) !== 1) errs.push(invalid(child(path, 'successThreshold'), num(probe.successThreshold), 'must be 1'));
  return errs;
}

function validateReadiness(probe: unknown, gracePeriod: number | undefined, path: string): Cause[] {
  if (!isObj(probe)) return [];
  const errs = validateProbe(probe, gracePeriod, path);
  if (isSet(probe.terminationGracePeriodSeconds))
    errs.push(invalid(child(path, 'terminationGracePeriodSeconds'), num(probe.terminationGracePeriodSeconds), 'must not be set for readinessProbes'));
  return errs;
}

function validateLifecycle(lc: Obj, gracePeriod: number | undefined, path: string): Cause[] {
  const errs: Cause[] = [];
  if (isObj(lc.postStart)) errs.push(...validateHandler(lc.postStart, gracePeriod, child(path, 'postStart'), true, false));
  if (isObj(lc.preStop)) errs.push(...validateHandler(lc.preStop, gracePeriod, child(path, 'preStop'), true, false));
  return errs;
}

// ---- security contexts ----------------------------------------------------------------------

function validateSeccompProfileField(sp: unknown, path: string): Cause[] {
  if (!isObj(sp)) return [];
  const errs: Cause[] = [];
  const t = str(sp.type);
  const types = ['Localhost', 'RuntimeDefault', 'Unconfined'];
  if (!t) errs.push(required(child(path, 'type'), 'type is required when seccompProfile is set'));
  else if (!types.includes(t)) errs.push(notSupported(child(path, 'type'), t, types));
  if (t === 'Localhost') {
    if (!isSet(sp.localhostProfile)) errs.push(required(child(path, 'localhostProfile'), 'must be set when seccomp type is Localhost'));
    else errs.push(...validateLocalDescendingPath(str(sp.localhostProfile), child(path, 'localhostProfile')));
  } else if (isSet(sp.localhostProfile)) {
    errs.push(invalid(child(path, 'localhostProfile'), goStruct('&core.SeccompProfile', sp), 'can only be set when seccomp type is Localhost'));
  }
  return errs;
}

function validateAppArmorProfileField(ap: unknown, path: string): Cause[] {
  if (!isObj(ap)) return [];
  const t = str(ap.type);
  const lp = child(path, 'localhostProfile');
  switch (t) {
    case 'Localhost': {
      if (!isSet(ap.localhostProfile)) return [required(lp, 'must be set when AppArmor type is Localhost')];
      const v = str(ap.localhostProfile);
      if (v.trim() !== v) return [invalid(lp, v, 'must not be padded with whitespace')];
      if (v === '') return [required(lp, 'must be set when AppArmor type is Localhost')];
      return v.length > 4095 ? [tooLong(lp, 4095)] : [];
    }
    case 'RuntimeDefault':
    case 'Unconfined':
      return isSet(ap.localhostProfile) ? [invalid(lp, str(ap.localhostProfile), 'can only be set when AppArmor type is Localhost')] : [];
    case '':
      return [required(child(path, 'type'), 'type is required when appArmorProfile is set')];
    default:
      return [notSupported(child(path, 'type'), t, ['Localhost', 'RuntimeDefault', 'Unconfined'])];
  }
}

function validateSecurityContext(scIn: unknown, path: string, hostUsers: boolean): Cause[] {
  if (!isObj(scIn)) return [];
  const sc = scIn;
  const errs: Cause[] = [];
  if (isSet(sc.runAsUser)) for (const m of isValidUserID(num(sc.runAsUser))) errs.push(invalid(child(path, 'runAsUser'), num(sc.runAsUser), m));
  if (isSet(sc.runAsGroup)) for (const m of isValidGroupID(num(sc.runAsGroup))) errs.push(invalid(child(path, 'runAsGroup'), num(sc.runAsGroup), m));
  if (isSet(sc.procMount)) {
    const pm = str(sc.procMount);
    if (pm !== 'Default' && pm !== 'Unmasked') errs.push(notSupported(child(path, 'procMount'), pm, ['Default', 'Unmasked']));
    if (hostUsers && pm === 'Unmasked') errs.push(invalid(child(path, 'procMount'), pm, '`hostUsers` must be false to use `Unmasked`'));
  }
  errs.push(...validateSeccompProfileField(sc.seccompProfile, child(path, 'seccompProfile')));
  if (sc.allowPrivilegeEscalation === false) {
    const shown = goStruct('&core.SecurityContext', sc);
    if (sc.privileged === true) errs.push(invalid(path, shown, 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'));
    for (const c of arr(obj(sc.capabilities).add))
      if (c === 'CAP_SYS_ADMIN') errs.push(invalid(path, shown, 'cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN'));
  }
  errs.push(...validateAppArmorProfileField(sc.appArmorProfile, child(path, 'appArmorProfile')));
  return errs;
}

const SYSCTL_SEGMENT = '[a-z0-9]([-_a-z0-9]*[a-z0-9])?';
const SYSCTL_FMT = `(${SYSCTL_SEGMENT}[\\./])*${SYSCTL_SEGMENT}`;
const sysctlRe = new RegExp(`^${SYSCTL_FMT}$`);

function validatePodSecurityContext(spec: Obj, path: string): Cause[] {
  const sc = spec.securityContext;
  if (!isObj(sc)) return [];
  const errs: Cause[] = [];
  if (isSet(sc.fsGroup)) for (const m of isValidGroupID(num(sc.fsGroup))) errs.push(invalid(child(path, 'fsGroup'), num(sc.fsGroup), m));
  if (isSet(sc.runAsUser)) for (const m of isValidUserID(num(sc.runAsUser))) errs.push(invalid(child(path, 'runAsUser'), num(sc.runAsUser), m));
  if (isSet(sc.runAsGroup)) for (const m of isValidGroupID(num(sc.runAsGroup))) errs.push(invalid(child(path, 'runAsGroup'), num(sc.runAsGroup), m));
  arr(sc.supplementalGroups).forEach((g, i) => {
    for (const m of isValidGroupID(num(g))) errs.push(invalid(index(child(path, 'supplementalGroups'), i), num(g), m));
  });
  if (spec.shareProcessNamespace === true && spec.hostPID === true)
    errs.push(invalid(child(path, 'shareProcessNamespace'), true, 'ShareProcessNamespace and HostPID cannot both be enabled'));
  const seen = new Set<string>();
  arr(sc.sysctls).forEach((raw, i) => {
    const s = obj(raw);
    const p = child(index(child(path, 'sysctls'), i), 'name');
    const name = str(s.name);
    if (!name) errs.push(required(p));
    else if (name.length > 253 || !sysctlRe.test(name)) errs.push(invalid(p, name, `must have at most 253 characters and match regex ${SYSCTL_FMT.replace(/^/, '^')}$`));
    else if (seen.has(name)) errs.push(duplicate(p, name));
    if (spec.hostNetwork === true && name.startsWith('net.')) errs.push(invalid(p, name, "may not be specified when 'hostNetwork' is true"));
    if (spec.hostIPC === true && (name.startsWith('kernel.shm') || name.startsWith('kernel.msg') || name === 'kernel.sem' || name.startsWith('fs.mqueue.')))
      errs.push(invalid(p, name, "may not be specified when 'hostIPC' is true"));
    seen.add(name);
  });
  if (isSet(sc.fsGroupChangePolicy)) {
    const v = str(sc.fsGroupChangePolicy);
    if (v !== 'Always' && v !== 'OnRootMismatch') errs.push(notSupported(child(path, 'fsGroupChangePolicy'), v, ['Always', 'OnRootMismatch']));
  }
  errs.push(...validateSeccompProfileField(sc.seccompProfile, child(path, 'seccompProfile')));
  errs.push(...validateAppArmorProfileField(sc.appArmorProfile, child(path, 'appArmorProfile')));
  if (isSet(sc.supplementalGroupsPolicy)) {
    const v = str(sc.supplementalGroupsPolicy);
    if (v !== 'Merge' && v !== 'Strict') errs.push(notSupported(child(path, 'supplementalGroupsPolicy'), v, ['Merge', 'Strict']));
  }
  if (isSet(sc.seLinuxChangePolicy)) {
    const v = str(sc.seLinuxChangePolicy);
    if (v !== 'MountOption' && v !== 'Recursive') errs.push(notSupported(child(path, 'seLinuxChangePolicy'), v, ['MountOption', 'Recursive']));
  }
  return errs;
}

// ---- containers (common, regular, init) ---------------------------------------------------

function validateContainerCommon(ctr: Obj, vols: Map<string, Obj>, podClaimNames: Set<string>, path: string, restartPolicy: string, hostUsers: boolean): Cause[] {
  const errs: Cause[] = [];
  const name = str(ctr.name);
  if (!name) errs.push(required(child(path, 'name')));
  else errs.push(...validateDNS1123Label(name, child(path, 'name')));
  if (!str(ctr.image)) errs.push(required(child(path, 'image')));
  const tmp = str(ctr.terminationMessagePolicy);
  if (!tmp) errs.push(required(child(path, 'terminationMessagePolicy')));
  else if (tmp !== 'File' && tmp !== 'FallbackToLogsOnError')
    errs.push(notSupported(child(path, 'terminationMessagePolicy'), tmp, ['File', 'FallbackToLogsOnError']));
  const mounts = new Map<string, string>();
  for (const m of arr(ctr.volumeMounts)) mounts.set(str(obj(m).name), str(obj(m).mountPath));
  const devices = new Map<string, string>();
  for (const d of arr(ctr.volumeDevices)) devices.set(str(obj(d).name), str(obj(d).devicePath));
  errs.push(...validateContainerPorts(ctr.ports, child(path, 'ports')));
  errs.push(...validateEnv(ctr.env, child(path, 'env')));
  errs.push(...validateEnvFrom(ctr.envFrom, child(path, 'envFrom')));
  errs.push(...validateVolumeMounts(ctr.volumeMounts, devices, vols, ctr, child(path, 'volumeMounts')));
  errs.push(...validateVolumeDevices(ctr.volumeDevices, mounts, vols, child(path, 'volumeDevices')));
  errs.push(...validatePullPolicy(str(ctr.imagePullPolicy), child(path, 'imagePullPolicy')));
  errs.push(...validateResourceRequirements(obj(ctr.resources), child(path, 'resources'), podClaimNames));
  const seenRes = new Set<string>();
  const rpPath = child(path, 'resizePolicy');
  arr(ctr.resizePolicy).forEach((raw, i) => {
    const rp = obj(raw);
    const rn = str(rp.resourceName);
    if (seenRes.has(rn)) errs.push(duplicate(index(rpPath, i), rn));
    seenRes.add(rn);
    if (!rn) errs.push(required(rpPath));
    else if (rn !== 'cpu' && rn !== 'memory') errs.push(notSupported(rpPath, goIntOrString(rn), ['cpu', 'memory']));
    const pol = str(rp.restartPolicy);
    if (!pol) errs.push(required(rpPath));
    else if (pol !== 'NotRequired' && pol !== 'RestartContainer') errs.push(notSupported(rpPath, pol, ['NotRequired', 'RestartContainer']));
    if (restartPolicy === 'Never' && pol !== 'NotRequired') errs.push(invalid(rpPath, pol, "must be 'NotRequired' when `restartPolicy` is 'Never'"));
  });
  errs.push(...validateSecurityContext(ctr.securityContext, child(path, 'securityContext'), hostUsers));
  return errs;
}

function hostPortConflicts(containers: Obj[], path: string): Cause[] {
  const errs: Cause[] = [];
  const seen = new Set<string>();
  containers.forEach((ctr, ci) => {
    arr(ctr.ports).forEach((raw, pi) => {
      const p = obj(raw);
      const hp = num(p.hostPort);
      if (hp === 0) return;
      const k = `${str(p.protocol)}/${str(p.hostIP)}/${hp}`;
      if (seen.has(k)) errs.push(duplicate(child(index(child(index(path, ci), 'ports'), pi), 'hostPort'), k));
      else seen.add(k);
    });
  });
  return errs;
}

function validateContainers(containersIn: unknown, vols: Map<string, Obj>, claims: Set<string>, grace: number | undefined, path: string, restartPolicy: string, hostUsers: boolean): Cause[] {
  const containers = arr(containersIn).map(obj);
  if (containers.length === 0) return [required(path)];
  const errs: Cause[] = [];
  const names = new Set<string>();
  containers.forEach((ctr, i) => {
    const p = index(path, i);
    errs.push(...validateContainerCommon(ctr, vols, claims, p, restartPolicy, hostUsers));
    const name = str(ctr.name);
    if (names.has(name)) errs.push(duplicate(child(p, 'name'), name));
    else names.add(name);
    if (isObj(ctr.lifecycle)) errs.push(...validateLifecycle(ctr.lifecycle, grace, child(p, 'lifecycle')));
    errs.push(...validateLivenessOrStartup(ctr.livenessProbe, grace, child(p, 'livenessProbe')));
    errs.push(...validateReadiness(ctr.readinessProbe, grace, child(p, 'readinessProbe')));
    errs.push(...validateLivenessOrStartup(ctr.startupProbe, grace, child(p, 'startupProbe')));
    if (isSet(ctr.restartPolicy)) errs.push(forbidden(child(p, 'restartPolicy'), 'may not be set for non-init containers'));
  });
  return errs.concat(hostPortConflicts(containers, path));
}

function validateInitContainers(initIn: unknown, regular: unknown, vols: Map<string, Obj>, claims: Set<string>, grace: number | undefined, path: string, restartPolicy: string, hostUsers: boolean): Cause[] {
  const errs: Cause[] = [];
  const names = new Set(arr(regular).map((c) => str(obj(c).name)));
  arr(initIn)
    .map(obj)
    .forEach((ctr, i) => {
      const p = index(path, i);
      errs.push(...validateContainerCommon(ctr, vols, claims, p, restartPolicy, hostUsers));
      let restartAlways = false;
      if (isSet(ctr.restartPolicy)) {
        if (ctr.restartPolicy !== 'Always') errs.push(notSupported(child(p, 'restartPolicy'), str(ctr.restartPolicy), ['Always']));
        restartAlways = ctr.restartPolicy === 'Always';
      }
      const name = str(ctr.name);
      if (names.has(name)) errs.push(duplicate(child(p, 'name'), name));
      else if (name) names.add(name);
      errs.push(...hostPortConflicts([ctr], path));
      if (restartAlways) {
        if (isObj(ctr.lifecycle)) errs.push(...validateLifecycle(ctr.lifecycle, grace, child(p, 'lifecycle')));
        errs.push(...validateLivenessOrStartup(ctr.livenessProbe, grace, child(p, 'livenessProbe')));
        errs.push(...validateReadiness(ctr.readinessProbe, grace, child(p, 'readinessProbe')));
        errs.push(...validateLivenessOrStartup(ctr.startupProbe, grace, child(p, 'startupProbe')));
      } else {
        for (const f of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'])
          if (isSet(ctr[f])) errs.push(forbidden(child(p, f), 'may not be set for init containers without restartPolicy=Always'));
      }
    });
  return errs;
}

function validateEphemeralContainers(ecs: unknown, containers: unknown, init: unknown, vols: Map<string, Obj>, claims: Set<string>, path: string, restartPolicy: string, hostUsers: boolean): Cause[] {
  const list = arr(ecs).map(obj);
  if (list.length === 0) return [];
  const errs: Cause[] = [];
  const other = new Set([...arr(containers), ...arr(init)].map((c) => str(obj(c).name)));
  const all = new Set(other);
  const disallowed = ['ports', 'resources', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'resizePolicy', 'restartPolicy'];
  list.forEach((ec, i) => {
    const p = index(path, i);
    errs.push(...validateContainerCommon(ec, vols, claims, p, restartPolicy, hostUsers));
    const name = str(ec.name);
    if (all.has(name)) errs.push(duplicate(child(p, 'name'), name));
    else all.add(name);
    if (str(ec.targetContainerName) && !other.has(str(ec.targetContainerName)))
      errs.push(notFound(child(p, 'targetContainerName'), str(ec.targetContainerName)));
    for (const f of disallowed)
      if (isSet(ec[f]) && !(isObj(ec[f]) && Object.keys(ec[f] as Obj).length === 0)) errs.push(forbidden(child(p, f), 'cannot be set for an Ephemeral Container'));
    arr(ec.volumeMounts).forEach((vm, j) => {
      const m = obj(vm);
      const mp = index(child(p, 'volumeMounts'), j);
      if (str(m.subPath)) errs.push(forbidden(child(mp, 'subPath'), 'cannot be set for an Ephemeral Container'));
      if (str(m.subPathExpr)) errs.push(forbidden(child(mp, 'subPathExpr'), 'cannot be set for an Ephemeral Container'));
    });
  });
  return errs;
}

// ---- scheduling: tolerations, affinity, topology spread --------------------------------------

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export function validateTaintEffect(effect: string, allowEmpty: boolean, path: string): Cause[] {
  if (!allowEmpty && !effect) return [required(path)];
  return TAINT_EFFECTS.includes(effect) ? [] : [notSupported(path, effect, TAINT_EFFECTS)];
}

export function validateTolerations(tolerations: unknown, path: string): Cause[] {
  const errs: Cause[] = [];
  arr(tolerations).forEach((raw, i) => {
    const t = obj(raw);
    const p = index(path, i);
    const k = str(t.key);
    const op = str(t.operator);
    const effect = str(t.effect);
    if (k) errs.push(...validateLabelName(k, child(p, 'key')));
    if (!k && op !== 'Exists') errs.push(invalid(child(p, 'operator'), op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (isSet(t.tolerationSeconds) && effect !== 'NoExecute') errs.push(invalid(child(p, 'effect'), effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    if (op === 'Equal' || op === '') {
      const msgs = isValidLabelValue(str(t.value));
      if (msgs.length) errs.push(invalid(child(p, 'operator'), str(t.value), msgs.join(';')));
    } else if (op === 'Exists') {
      if (str(t.value)) errs.push(invalid(child(p, 'operator'), str(t.value), "value must be empty when `operator` is 'Exists'"));
    } else errs.push(notSupported(child(p, 'operator'), op, ['Equal', 'Exists']));
    if (effect) errs.push(...validateTaintEffect(effect, true, child(p, 'effect')));
  });
  return errs;
}

function validateNodeSelectorRequirement(rq: Obj, path: string, checkValues: boolean): Cause[] {
  const errs: Cause[] = [];
  const values = arr<string>(rq.values);
  const op = str(rq.operator);
  switch (op) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) errs.push(required(child(path, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) errs.push(forbidden(child(path, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    case 'Gt':
    case 'Lt':
      if (values.length !== 1) errs.push(required(child(path, 'values'), "must be specified single value when `operator` is 'Lt' or 'Gt'"));
      break;
    default:
      errs.push(invalid(child(path, 'operator'), op, 'not a valid selector operator'));
  }
  errs.push(...validateLabelName(str(rq.key), child(path, 'key')));
  if (checkValues) values.forEach((v, i) => isValidLabelValue(str(v)).forEach((m) => errs.push(invalid(index(child(path, 'values'), i), str(v), m))));
  return errs;
}

function validateNodeSelectorTerm(term: Obj, path: string, checkValues: boolean): Cause[] {
  const errs: Cause[] = [];
  arr(term.matchExpressions).forEach((r, j) => errs.push(...validateNodeSelectorRequirement(obj(r), index(child(path, 'matchExpressions'), j), checkValues)));
  arr(term.matchFields).forEach((raw, j) => {
    const r = obj(raw);
    const p = index(child(path, 'matchFields'), j);
    const values = arr<string>(r.values);
    if (r.operator === 'In' || r.operator === 'NotIn') {
      if (values.length !== 1) errs.push(required(child(p, 'values'), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
    } else errs.push(invalid(child(p, 'operator'), str(r.operator), 'not a valid selector operator'));
    if (r.key !== 'metadata.name') errs.push(invalid(child(p, 'key'), str(r.key), 'not a valid field selector key'));
    else values.forEach((v, i) => isDNS1123Subdomain(str(v)).forEach((m) => errs.push(invalid(index(child(p, 'values'), i), str(v), m))));
  });
  return errs;
}

export function validateNodeSelector(ns: Obj, path: string): Cause[] {
  const terms = arr(ns.nodeSelectorTerms);
  const tp = child(path, 'nodeSelectorTerms');
  if (terms.length === 0) return [required(tp, 'must have at least one node selector term')];
  const errs: Cause[] = [];
  terms.forEach((t, i) => errs.push(...validateNodeSelectorTerm(obj(t), index(tp, i), true)));
  return errs;
}

function validatePodAffinityTerm(term: Obj, path: string): Cause[] {
  const errs: Cause[] = [];
  errs.push(...validateLabelSelector(term.labelSelector, child(path, 'labelSelector')));
  errs.push(...validateLabelSelector(term.namespaceSelector, child(path, 'namespaceSelector')));
  for (const n of arr<string>(term.namespaces)) for (const m of nameIsDNSLabel(str(n), false)) errs.push(invalid(child(path, 'namespace'), str(n), m));
  for (const which of ['matchLabelKeys', 'mismatchLabelKeys'] as const) {
    const keys = arr<string>(term[which]);
    if (keys.length === 0) continue;
    if (!isObj(term.labelSelector)) errs.push(forbidden(child(path, which), 'must not be specified when labelSelector is not set'));
    else keys.forEach((k, i) => errs.push(...validateLabelName(str(k), index(child(path, which), i))));
  }
  if (!str(term.topologyKey)) errs.push(required(child(path, 'topologyKey'), 'can not be empty'));
  return errs.concat(validateLabelName(str(term.topologyKey), child(path, 'topologyKey')));
}

function validatePodAffinity(pa: Obj, path: string): Cause[] {
  const errs: Cause[] = [];
  arr(pa.requiredDuringSchedulingIgnoredDuringExecution).forEach((t, i) =>
    errs.push(...validatePodAffinityTerm(obj(t), index(child(path, 'requiredDuringSchedulingIgnoredDuringExecution'), i))),
  );
  arr(pa.preferredDuringSchedulingIgnoredDuringExecution).forEach((raw, i) => {
    const w = obj(raw);
    const p = index(child(path, 'preferredDuringSchedulingIgnoredDuringExecution'), i);
    const weight = num(w.weight);
    if (weight <= 0 || weight > 100) errs.push(invalid(child(p, 'weight'), weight, 'must be in the range 1-100'));
    errs.push(...validatePodAffinityTerm(obj(w.podAffinityTerm), child(p, 'podAffinityTerm')));
  });
  return errs;
}

function validateAffinity(aff: unknown, path: string): Cause[] {
  if (!isObj(aff)) return [];
  const errs: Cause[] = [];
  if (isObj(aff.nodeAffinity)) {
    const na = aff.nodeAffinity;
    const np = child(path, 'nodeAffinity');
    if (isObj(na.requiredDuringSchedulingIgnoredDuringExecution))
      errs.push(...validateNodeSelector(na.requiredDuringSchedulingIgnoredDuringExecution, child(np, 'requiredDuringSchedulingIgnoredDuringExecution')));
    arr(na.preferredDuringSchedulingIgnoredDuringExecution).forEach((raw, i) => {
      const t = obj(raw);
      const p = index(child(np, 'preferredDuringSchedulingIgnoredDuringExecution'), i);
      const weight = num(t.weight);
      if (weight <= 0 || weight > 100) errs.push(invalid(child(p, 'weight'), weight, 'must be in the range 1-100'));
      errs.push(...validateNodeSelectorTerm(obj(t.preference), child(p, 'preference'), false));
    });
  }
  if (isObj(aff.podAffinity)) errs.push(...validatePodAffinity(aff.podAffinity, child(path, 'podAffinity')));
  if (isObj(aff.podAntiAffinity)) errs.push(...validatePodAffinity(aff.podAntiAffinity, child(path, 'podAntiAffinity')));
  return errs;
}

function validateTopologySpreadConstraints(list: unknown, path: string): Cause[] {
  const errs: Cause[] = [];
  const items = arr(list).map(obj);
  items.forEach((c, i) => {
    const p = index(path, i);
    const skew = num(c.maxSkew);
    if (skew <= 0) errs.push(invalid(child(p, 'maxSkew'), skew, NOT_POSITIVE));
    if (!str(c.topologyKey)) errs.push(required(child(p, 'topologyKey'), 'can not be empty'));
    const wu = str(c.whenUnsatisfiable);
    if (wu !== 'DoNotSchedule' && wu !== 'ScheduleAnyway') errs.push(notSupported(child(p, 'whenUnsatisfiable'), wu, ['DoNotSchedule', 'ScheduleAnyway']));
    for (const rest of items.slice(i + 1)) {
      if (rest.topologyKey === c.topologyKey && rest.whenUnsatisfiable === c.whenUnsatisfiable) {
        errs.push(duplicate(child(p, '{topologyKey, whenUnsatisfiable}'), `{${str(c.topologyKey)}, ${wu}}`));
        break;
      }
    }
    if (isSet(c.minDomains)) {
      const md = num(c.minDomains);
      if (md <= 0) errs.push(invalid(child(p, 'minDomains'), md, NOT_POSITIVE));
      if (wu !== 'DoNotSchedule') errs.push(invalid(child(p, 'minDomains'), md, `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${wu}`));
    }
    for (const pol of ['nodeAffinityPolicy', 'nodeTaintsPolicy'])
      if (isSet(c[pol]) && c[pol] !== 'Honor' && c[pol] !== 'Ignore') errs.push(notSupported(child(p, pol), str(c[pol]), ['Honor', 'Ignore']));
    const mlk = arr<string>(c.matchLabelKeys);
    if (mlk.length) {
      const sel = obj(c.labelSelector);
      const selKeys = new Set([...Object.keys(obj(sel.matchLabels)), ...arr(sel.matchExpressions).map((e) => str(obj(e).key))]);
      if (!isObj(c.labelSelector)) errs.push(forbidden(child(p, 'matchLabelKeys'), 'must not be specified when labelSelector is not set'));
      mlk.forEach((k, j) => {
        errs.push(...validateLabelName(str(k), index(child(p, 'matchLabelKeys'), j)));
        if (selKeys.has(str(k))) errs.push(invalid(index(child(p, 'matchLabelKeys'), j), str(k), 'exists in both matchLabelKeys and labelSelector'));
      });
    }
    errs.push(...validateLabelSelector(c.labelSelector, child(p, 'labelSelector')));
  });
  return errs;
}

const SUBDOMAIN_WITH_UNDERSCORE = /^_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*$/;

function validateDNSConfig(cfg: unknown, dnsPolicy: string, path: string): Cause[] {
  if (dnsPolicy === 'None') {
    if (!isObj(cfg)) return [required(path, 'must provide `dnsConfig` when `dnsPolicy` is None')];
    if (arr(cfg.nameservers).length === 0) return [required(child(path, 'nameservers'), 'must provide at least one DNS nameserver when `dnsPolicy` is None')];
  }
  if (!isObj(cfg)) return [];
  const errs: Cause[] = [];
  const ns = arr<string>(cfg.nameservers);
  if (ns.length > 3) errs.push(invalid(child(path, 'nameservers'), ns, 'must not have more than 3 nameservers'));
  ns.forEach((n, i) => errs.push(...isValidIP(index(child(path, 'nameservers'), i), str(n))));
  const searches = arr<string>(cfg.searches).map(str);
  if (searches.length > 32) errs.push(invalid(child(path, 'searches'), searches, 'must not have more than 32 search paths'));
  if (searches.join(' ').length > 2048) errs.push(invalid(child(path, 'searches'), searches, 'must not have more than 2048 characters (including spaces) in the search list'));
  searches.forEach((s, i) => {
    if (s === '.') return;
    const t = s.endsWith('.') ? s.slice(0, -1) : s;
    if (t.length > 253 || !SUBDOMAIN_WITH_UNDERSCORE.test(t))
      errs.push(
        invalid(
          index(child(path, 'searches'), i),
          t,
          t.length > 253
            ? 'must be no more than 253 characters'
            : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*')",
        ),
      );
  });
  arr(cfg.options).forEach((o, i) => {
    if (!str(obj(o).name)) errs.push(required(index(child(path, 'options'), i), 'must not be empty'));
  });
  return errs;
}

// ---- PodSpec -------------------------------------------------------------------------------------

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];

export function validatePodSpec(spec: Obj, podName: string | undefined, path: string, opts: PodValidationOptions): Cause[] {
  const errs: Cause[] = [];
  if (!isSet(spec.terminationGracePeriodSeconds)) errs.push(required(child(path, 'terminationGracePeriodSeconds')));
  const grace = isSet(spec.terminationGracePeriodSeconds) ? num(spec.terminationGracePeriodSeconds) : undefined;
  const sc = obj(spec.securityContext);
  const hostUsers = sc.hostUsers !== false;
  const restartPolicy = str(spec.restartPolicy);
  const { vols, errs: vErrs } = validateVolumes(spec.volumes, podName, child(path, 'volumes'));
  errs.push(...vErrs);
  const claims = new Set(arr(spec.resourceClaims).map((c) => str(obj(c).name)).filter(Boolean));
  const claimNames = new Set<string>();
  arr(spec.resourceClaims).forEach((raw, i) => {
    const c = obj(raw);
    const p = index(child(path, 'resourceClaims'), i);
    const n = str(c.name);
    if (!n) errs.push(required(child(p, 'name')));
    else if (claimNames.has(n)) errs.push(duplicate(child(p, 'name'), n));
    else {
      errs.push(...validateDNS1123Label(n, child(p, 'name')));
      claimNames.add(n);
    }
    const hasName = isSet(c.resourceClaimName);
    const hasTpl = isSet(c.resourceClaimTemplateName);
    if (hasName && hasTpl) errs.push(invalid(p, goStruct('core.PodResourceClaim', c), 'at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified'));
    if (!hasName && !hasTpl) errs.push(invalid(p, goStruct('core.PodResourceClaim', c), 'must specify one of: `resourceClaimName`, `resourceClaimTemplateName`'));
  });
  errs.push(...validateContainers(spec.containers, vols, claims, grace, child(path, 'containers'), restartPolicy, hostUsers));
  errs.push(...validateInitContainers(spec.initContainers, spec.containers, vols, claims, grace, child(path, 'initContainers'), restartPolicy, hostUsers));
  errs.push(...validateEphemeralContainers(spec.ephemeralContainers, spec.containers, spec.initContainers, vols, claims, child(path, 'ephemeralContainers'), restartPolicy, hostUsers));
  if (spec.hostNetwork === true) {
    arr(spec.containers).forEach((c, i) =>
      arr(obj(c).ports).forEach((raw, j) => {
        const port = obj(raw);
        const hp = num(port.hostPort);
        const cp = num(port.containerPort);
        if ((opts.resourceIsPod || hp !== 0) && hp !== cp)
          errs.push(invalid(child(index(child(index(child(path, 'containers'), i), 'ports'), j), 'hostPort'), hp, 'must match `containerPort` when `hostNetwork` is true'));
      }),
    );
  }
  if (RESTART_POLICIES.includes(restartPolicy)) {
    /* ok */
  } else if (!restartPolicy) errs.push(required(child(path, 'restartPolicy')));
  else errs.push(notSupported(child(path, 'restartPolicy'), restartPolicy, RESTART_POLICIES));
  const dnsPolicy = str(spec.dnsPolicy);
  if (DNS_POLICIES.includes(dnsPolicy)) {
    /* ok */
  } else if (!dnsPolicy) errs.push(required(child(path, 'dnsPolicy')));
  else errs.push(notSupported(child(path, 'dnsPolicy'), dnsPolicy, DNS_POLICIES));
  errs.push(...validateLabels(spec.nodeSelector, child(path, 'nodeSelector')));
  errs.push(...validatePodSecurityContext(spec, child(path, 'securityContext')));
  arr(spec.imagePullSecrets).forEach((raw, i) => {
    const s = obj(raw);
    if (Object.keys(s).some((k) => k !== 'name')) errs.push(invalid(index(child(path, 'imagePullSecrets'), i), goStruct('core.LocalObjectReference', s), 'only name may be set'));
  });
  errs.push(...validateAffinity(spec.affinity, child(path, 'affinity')));
  errs.push(...validateDNSConfig(spec.dnsConfig, dnsPolicy, child(path, 'dnsConfig')));
  arr(spec.readinessGates).forEach((g, i) => errs.push(...validateQualifiedName(str(obj(g).conditionType), child(index(child(path, 'readinessGates'), i), 'conditionType'))));
  const gates = new Set<string>();
  arr(spec.schedulingGates).forEach((g, i) => {
    const n = str(obj(g).name);
    const p = index(child(path, 'schedulingGates'), i);
    errs.push(...validateQualifiedName(n, p));
    if (gates.has(n)) errs.push(duplicate(p, n));
    gates.add(n);
  });
  errs.push(...validateTopologySpreadConstraints(spec.topologySpreadConstraints, child(path, 'topologySpreadConstraints')));
  if (sc.hostUsers === false) {
    if (spec.hostNetwork === true) errs.push(forbidden(child(path, 'hostNetwork'), 'when `pod.Spec.HostUsers` is false'));
    if (spec.hostPID === true) errs.push(forbidden(child(path, 'HostPID'), 'when `pod.Spec.HostUsers` is false'));
    if (spec.hostIPC === true) errs.push(forbidden(child(path, 'HostIPC'), 'when `pod.Spec.HostUsers` is false'));
  }
  if (str(spec.serviceAccountName))
    for (const m of nameIsDNSSubdomain(str(spec.serviceAccountName), false)) errs.push(invalid(child(path, 'serviceAccountName'), str(spec.serviceAccountName), m));
  if (str(spec.nodeName)) for (const m of nameIsDNSSubdomain(str(spec.nodeName), false)) errs.push(invalid(child(path, 'nodeName'), str(spec.nodeName), m));
  if (isSet(spec.activeDeadlineSeconds)) {
    const v = num(spec.activeDeadlineSeconds);
    if (v < 1 || v > 2147483647) errs.push(invalid(child(path, 'activeDeadlineSeconds'), v, inclusiveRangeError(1, 2147483647)));
  }
  if (str(spec.hostname)) errs.push(...validateDNS1123Label(str(spec.hostname), child(path, 'hostname')));
  if (str(spec.subdomain)) errs.push(...validateDNS1123Label(str(spec.subdomain), child(path, 'subdomain')));
  errs.push(...validateTolerations(spec.tolerations, child(path, 'tolerations')));
  arr(spec.hostAliases).forEach((raw, i) => {
    const h = obj(raw);
    const p = index(child(path, 'hostAliases'), i);
    errs.push(...isValidIP(child(p, 'ip'), str(h.ip)));
    arr<string>(h.hostnames).forEach((hn, j) => errs.push(...validateDNS1123Subdomain(str(hn), index(child(p, 'hostnames'), j))));
  });
  if (str(spec.priorityClassName))
    for (const m of nameIsDNSSubdomain(str(spec.priorityClassName), false)) errs.push(invalid(child(path, 'priorityClassName'), str(spec.priorityClassName), m));
  if (isSet(spec.runtimeClassName))
    for (const m of nameIsDNSSubdomain(str(spec.runtimeClassName), false)) errs.push(invalid(child(path, 'runtimeClassName'), str(spec.runtimeClassName), m));
  if (isSet(spec.preemptionPolicy)) errs.push(...validatePreemptionPolicy(str(spec.preemptionPolicy), child(path, 'preemptionPolicy')));
  if (isObj(spec.overhead)) errs.push(...validateResourceRequirements({ limits: spec.overhead }, child(path, 'overhead'), claims));
  if (isObj(spec.os)) {
    const n = str(spec.os.name);
    if (!n) errs.push(required(child(path, 'os', 'name'), 'cannot be empty'));
    else if (n !== 'linux' && n !== 'windows') errs.push(notSupported(child(path, 'os'), n, ['linux', 'windows']));
  }
  return errs;
}

export function validatePreemptionPolicy(p: string, path: string): Cause[] {
  if (p === 'PreemptLowerPriority' || p === 'Never') return [];
  if (!p) return [required(path)];
  return [notSupported(path, p, ['PreemptLowerPriority', 'Never'])];
}

function validatePodSpecificAnnotations(annotations: unknown, spec: Obj, path: string): Cause[] {
  const errs: Cause[] = [];
  const a = strMap(annotations);
  if ('kubernetes.io/config.mirror' in a && !str(spec.nodeName))
    errs.push(invalid(key(path, 'kubernetes.io/config.mirror'), a['kubernetes.io/config.mirror'], 'must set spec.nodeName if mirror pod annotation is set'));
  const cost = a['controller.kubernetes.io/pod-deletion-cost'];
  if (cost !== undefined) {
    const n = /^[-+]?\d+$/.test(cost) ? Number(cost) : NaN;
    if (!Number.isInteger(n) || n > 2147483647 || n < -2147483648)
      errs.push(invalid(key(path, 'controller.kubernetes.io/pod-deletion-cost'), cost, 'must be a 32bit integer'));
  }
  return errs;
}

/** ValidatePodTemplateSpec (templates inside workloads and PodTemplate). */
export function validatePodTemplateSpec(tpl: unknown, path: string, opts: PodValidationOptions = {}): Cause[] {
  const t = obj(tpl);
  const m = obj(t.metadata);
  const spec = obj(t.spec);
  const errs: Cause[] = [];
  errs.push(...validateLabels(m.labels, child(path, 'labels')));
  errs.push(...validateAnnotations(m.annotations, child(path, 'annotations')));
  errs.push(...validatePodSpecificAnnotations(m.annotations, spec, child(path, 'annotations')));
  errs.push(...validatePodSpec(spec, undefined, child(path, 'spec'), opts));
  if (arr(spec.ephemeralContainers).length > 0) errs.push(forbidden(child(path, 'spec', 'ephemeralContainers'), 'ephemeral containers not allowed in pod template'));
  return errs;
}

function validateContainersOnlyForPod(containers: unknown, path: string): Cause[] {
  const errs: Cause[] = [];
  arr(containers).forEach((c, i) => {
    const image = str(obj(c).image);
    if (image.length !== image.trim().length) errs.push(invalid(child(index(path, i), 'image'), image, 'must not have leading or trailing whitespace'));
  });
  return errs;
}

function validatePodMetadataAndSpec(pod: Obj): Cause[] {
  const meta = obj(pod.metadata);
  const spec = obj(pod.spec);
  const errs = validateObjectMeta(meta, true, nameIsDNSSubdomain, 'metadata');
  errs.push(...validatePodSpecificAnnotations(meta.annotations, spec, 'metadata.annotations'));
  errs.push(...validatePodSpec(spec, str(meta.name) || undefined, 'spec', { resourceIsPod: true }));
  if (!str(spec.serviceAccountName)) {
    arr(spec.volumes).forEach((raw, vi) => {
      const proj = obj(raw).projected;
      if (!isObj(proj)) return;
      arr(proj.sources).forEach((s, si) => {
        if (isObj(obj(s).serviceAccountToken))
          errs.push(forbidden(`spec.volumes[${vi}].projected.sources[${si}].serviceAccountToken`, 'must not be specified when serviceAccountName is not set'));
      });
    });
  }
  errs.push(...validateContainersOnlyForPod(spec.containers, 'spec.containers'));
  errs.push(...validateContainersOnlyForPod(spec.initContainers, 'spec.initContainers'));
  return errs;
}

export function validatePodCreate(pod: Obj): Cause[] {
  const errs = validatePodMetadataAndSpec(pod);
  const spec = obj(pod.spec);
  if (arr(spec.ephemeralContainers).length > 0) errs.push(forbidden('spec.ephemeralContainers', 'cannot be set on create'));
  if (str(spec.nodeName) && arr(spec.schedulingGates).length > 0) errs.push(forbidden('spec.nodeName', 'cannot be set until all schedulingGates have been cleared'));
  return errs;
}

const UPDATABLE_POD_SPEC_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

function validateContainerUpdates(newC: unknown, oldC: unknown, path: string): { errs: Cause[]; stop: boolean } {
  const n = arr(newC);
  const o = arr(oldC);
  if (n.length !== o.length) return { errs: [forbidden(path, 'pod updates may not add or remove containers')], stop: true };
  const errs: Cause[] = [];
  n.forEach((c, i) => {
    const image = str(obj(c).image);
    if (!image) errs.push(required(child(index(path, i), 'image')));
    if (image.trim().length !== image.length) errs.push(invalid(child(index(path, i), 'image'), image, 'must not have leading or trailing whitespace'));
  });
  return { errs, stop: false };
}

function tolerationsOnlyAdded(newT: unknown, oldT: unknown, path: string): Cause[] {
  for (const old of arr(oldT).map(obj)) {
    const found = arr(newT)
      .map(obj)
      .some((t) => semanticEqual({ ...old, tolerationSeconds: undefined }, { ...t, tolerationSeconds: undefined }));
    if (!found) return [forbidden(path, 'existing toleration can not be modified except its tolerationSeconds')];
  }
  return validateTolerations(newT, path);
}

export function validatePodUpdate(pod: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata, 'metadata');
  errs.push(...validatePodMetadataAndSpec(pod));
  const na = strMap(obj(pod.metadata).annotations);
  const oa = strMap(obj(old.metadata).annotations);
  const mirror = 'kubernetes.io/config.mirror';
  if (mirror in oa && na[mirror] !== oa[mirror]) errs.push(forbidden(key('metadata.annotations', mirror), 'may not remove or update mirror pod annotation'));
  if (!(mirror in oa) && mirror in na) errs.push(forbidden(key('metadata.annotations', mirror), 'may not add mirror pod annotation'));
  const spec = obj(pod.spec);
  const oldSpec = obj(old.spec);
  for (const which of ['containers', 'initContainers']) {
    const r = validateContainerUpdates(spec[which], oldSpec[which], `spec.${which}`);
    errs.push(...r.errs);
    if (r.stop) return errs;
  }
  if (isSet(spec.activeDeadlineSeconds)) {
    const v = num(spec.activeDeadlineSeconds);
    if (v < 0 || v > 2147483647) {
      errs.push(invalid('spec.activeDeadlineSeconds', v, inclusiveRangeError(0, 2147483647)));
      return errs;
    }
    if (isSet(oldSpec.activeDeadlineSeconds) && num(oldSpec.activeDeadlineSeconds) < v) {
      errs.push(invalid('spec.activeDeadlineSeconds', v, 'must be less than or equal to previous value'));
      return errs;
    }
  } else if (isSet(oldSpec.activeDeadlineSeconds)) {
    errs.push(invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
  }
  errs.push(...tolerationsOnlyAdded(spec.tolerations, oldSpec.tolerations, 'spec.tolerations'));
  const newGates = arr(spec.schedulingGates).map((g) => str(obj(g).name));
  const oldGates = new Set(arr(oldSpec.schedulingGates).map((g) => str(obj(g).name)));
  newGates.forEach((g, i) => {
    if (!oldGates.has(g)) errs.push(forbidden(`spec.schedulingGates[${i}].name`, `only deletion is allowed, but found new scheduling gate '${g}'`));
  });
  if (semanticEqual(spec, oldSpec)) return errs;
  // munge the mutable fields to the old values, then compare what's left
  const munged: Obj = structuredClone(spec);
  for (const which of ['containers', 'initContainers']) {
    if (Array.isArray(munged[which]))
      munged[which] = (munged[which] as Obj[]).map((c, i) => ({ ...c, image: obj(arr(oldSpec[which])[i]).image }));
  }
  munged.activeDeadlineSeconds = oldSpec.activeDeadlineSeconds;
  munged.schedulingGates = oldSpec.schedulingGates;
  munged.tolerations = oldSpec.tolerations;
  if (num(oldSpec.terminationGracePeriodSeconds) < 0 && num(munged.terminationGracePeriodSeconds) === 1)
    munged.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  if (oldGates.size > 0) {
    // gated pods may add node selectors and node affinity terms
    const ons = strMap(oldSpec.nodeSelector);
    const nns = strMap(munged.nodeSelector);
    if (!semanticEqual(nns, ons)) {
      if (Object.entries(ons).some(([k, v]) => nns[k] !== v))
        errs.push(invalid('spec.nodeSelector', goStringMap(nns), 'only additions to spec.nodeSelector are allowed (no mutations or deletions)'));
      munged.nodeSelector = oldSpec.nodeSelector;
    }
    const oa2 = obj(obj(oldSpec.affinity).nodeAffinity);
    if (isObj(munged.affinity) && !isSet(obj(oldSpec.affinity).nodeAffinity)) {
      const { nodeAffinity: _drop, ...rest } = munged.affinity;
      void _drop;
      munged.affinity = Object.keys(rest).length ? rest : oldSpec.affinity;
    } else if (isObj(munged.affinity) && Object.keys(oa2).length) munged.affinity = { ...munged.affinity, nodeAffinity: oa2 };
  }
  if (!semanticEqual(munged, oldSpec)) {
    errs.push(forbidden('spec', `pod updates may not change fields other than ${UPDATABLE_POD_SPEC_FIELDS.join(',')}\n${specDiff('core.PodSpec', oldSpec, munged)}`));
  }
  return errs;
}

/** Condition types the system sets (upstream isPodConditionTypeSystem): not validated as qualified names. */
const SYSTEM_POD_CONDITIONS = new Set(['PodScheduled', 'Ready', 'Initialized']);

export function validatePodStatusUpdate(pod: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata, 'metadata');
  const status = obj(pod.status);
  const oldStatus = obj(old.status);
  arr(status.conditions).forEach((c, i) => {
    const t = str(obj(c).type);
    if (!SYSTEM_POD_CONDITIONS.has(t)) errs.push(...validateQualifiedName(t, `metadata.conditions[${i}].Type`));
  });
  if (str(obj(pod.spec).nodeName) !== str(obj(old.spec).nodeName)) errs.push(forbidden('status.nodeName', 'may not be changed directly'));
  const nn = str(status.nominatedNodeName);
  if (nn && nn !== str(oldStatus.nominatedNodeName)) for (const m of nameIsDNSSubdomain(nn, false)) errs.push(invalid('status.nominatedNodeName', nn, m));
  if (str(status.qosClass) !== str(oldStatus.qosClass)) errs.push(invalid('status.qosClass', str(status.qosClass), 'field is immutable'));
  arr(status.podIPs).forEach((ip, i) => errs.push(...isValidIP(`status.podIPs[${i}]`, str(obj(ip).ip))));
  const hostIPs = arr(status.hostIPs);
  if (hostIPs.length) {
    if (str(status.hostIP) !== str(obj(hostIPs[0]).ip)) errs.push(invalid('status.hostIPs[0].ip', str(obj(hostIPs[0]).ip), 'must be equal to `hostIP`'));
    hostIPs.forEach((ip, i) => errs.push(...isValidIP(`status.hostIPs[${i}]`, str(obj(ip).ip))));
  }
  const rp = str(obj(old.spec).restartPolicy);
  if (rp !== 'Always') {
    arr(oldStatus.containerStatuses).forEach((raw, i) => {
      const os = obj(raw);
      const term = obj(obj(os.state).terminated);
      if (!isObj(obj(os.state).terminated)) return;
      if (num(term.exitCode) !== 0 && rp === 'OnFailure') return;
      for (const ns of arr(status.containerStatuses).map(obj))
        if (ns.name === os.name && !isObj(obj(ns.state).terminated))
          errs.push(forbidden(`status.containerStatuses[${i}].state`, 'may not be transitioned to non-terminated state'));
    });
  }
  return errs;
}

export function validatePodEphemeralContainersUpdate(pod: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata, 'metadata');
  errs.push(...validatePodMetadataAndSpec(pod));
  if ('kubernetes.io/config.mirror' in strMap(obj(old.metadata).annotations)) return [forbidden('', 'static pods do not support ephemeral containers')];
  const byName = new Map(arr(obj(pod.spec).ephemeralContainers).map((c) => [str(obj(c).name), obj(c)]));
  for (const oc of arr(obj(old.spec).ephemeralContainers).map(obj)) {
    const nc = byName.get(str(oc.name));
    if (!nc) errs.push(forbidden('spec.ephemeralContainers', `existing ephemeral containers "${str(oc.name)}" may not be removed\n`));
    else if (!semanticEqual(oc, nc))
      errs.push(forbidden('spec.ephemeralContainers', `existing ephemeral containers "${str(oc.name)}" may not be changed\n${specDiff('core.EphemeralContainer', oc, nc)}`));
  }
  return errs;
}
