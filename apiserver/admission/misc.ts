// The remaining groups: rbac, storage, scheduling, policy, coordination, discovery,
// autoscaling and apiextensions (each from its pkg/apis/<group>/validation).
import {
  child,
  duplicate,
  forbidden,
  goIntOrString,
  goStruct,
  invalid,
  notSupported,
  required,
  tooLong,
  tooMany,
  FIELD_IMMUTABLE,
  type Cause,
} from './field.js';
import { validateLabelSelector, validateNonnegative, validateObjectMeta, validateObjectMetaUpdate, validateObjectMetaGeneric, validateQualifiedName } from './meta.js';
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  isValidPortNum,
  nameIsDNSSubdomain,
  parseIPSloppy,
  pathSegmentName,
} from './names.js';
import { isNotMoreThan100Percent, validatePositiveIntOrPercent } from './apps.js';
import { validateCSIDriverName, validatePreemptionPolicy } from './pod.js';
import { Quantity } from './quantity.js';
import { arr, isObj, isSet, num, obj, semanticEqual, str, type Obj } from './util.js';

// ---- rbac.authorization.k8s.io ----------------------------------------------------------------

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

function validatePolicyRule(rule: Obj, namespaced: boolean, path: string): Cause[] {
  const errs: Cause[] = [];
  if (arr(rule.verbs).length === 0) errs.push(required(child(path, 'verbs'), 'verbs must contain at least one value'));
  const urls = arr<string>(rule.nonResourceURLs);
  if (urls.length > 0) {
    if (namespaced) errs.push(invalid(child(path, 'nonResourceURLs'), urls, 'namespaced rules cannot apply to non-resource URLs'));
    if (arr(rule.apiGroups).length || arr(rule.resources).length || arr(rule.resourceNames).length)
      errs.push(invalid(child(path, 'nonResourceURLs'), urls, 'rules cannot apply to both regular resources and non-resource URLs'));
    return errs;
  }
  if (arr(rule.apiGroups).length === 0) errs.push(required(child(path, 'apiGroups'), 'resource rules must supply at least one api group'));
  if (arr(rule.resources).length === 0) errs.push(required(child(path, 'resources'), 'resource rules must supply at least one resource'));
  return errs;
}

export function validateRole(role: Obj, namespaced: boolean): Cause[] {
  const errs = validateObjectMeta(role.metadata, namespaced, pathSegmentName, 'metadata');
  arr(role.rules).forEach((r, i) => errs.push(...validatePolicyRule(obj(r), namespaced, `rules[${i}]`)));
  if (!namespaced && isObj(role.aggregationRule)) {
    const sels = arr(role.aggregationRule.clusterRoleSelectors);
    if (sels.length === 0) errs.push(required('aggregationRule.clusterRoleSelectors', 'at least one clusterRoleSelector required if aggregationRule is non-nil'));
    sels.forEach((s, i) => errs.push(...validateLabelSelector(s, `aggregationRule.clusterRoleSelectors[${i}]`)));
  }
  return errs;
}

function validateSubject(s: Obj, namespaced: boolean, path: string): Cause[] {
  const errs: Cause[] = [];
  const name = str(s.name);
  if (!name) errs.push(required(child(path, 'name')));
  switch (s.kind) {
    case 'ServiceAccount':
      if (name) for (const m of nameIsDNSSubdomain(name, false)) errs.push(invalid(child(path, 'name'), name, m));
      if (str(s.apiGroup)) errs.push(notSupported(child(path, 'apiGroup'), str(s.apiGroup), ['']));
      if (!namespaced && !str(s.namespace)) errs.push(required(child(path, 'namespace')));
      break;
    case 'User':
    case 'Group':
      if (s.apiGroup !== RBAC_GROUP) errs.push(notSupported(child(path, 'apiGroup'), str(s.apiGroup), [RBAC_GROUP]));
      break;
    default:
      errs.push(notSupported(child(path, 'kind'), str(s.kind), ['ServiceAccount', 'User', 'Group']));
  }
  return errs;
}

export function validateRoleBinding(rb: Obj, namespaced: boolean): Cause[] {
  const errs = validateObjectMeta(rb.metadata, namespaced, pathSegmentName, 'metadata');
  const ref = obj(rb.roleRef);
  if (ref.apiGroup !== RBAC_GROUP) errs.push(notSupported('roleRef.apiGroup', str(ref.apiGroup), [RBAC_GROUP]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(str(ref.kind))) errs.push(notSupported('roleRef.kind', str(ref.kind), kinds));
  if (!str(ref.name)) errs.push(required('roleRef.name'));
  else for (const m of pathSegmentName(str(ref.name), false)) errs.push(invalid('roleRef.name', str(ref.name), m));
  arr(rb.subjects).forEach((s, i) => errs.push(...validateSubject(obj(s), namespaced, `subjects[${i}]`)));
  return errs;
}

export function validateRoleBindingUpdate(rb: Obj, old: Obj, namespaced: boolean): Cause[] {
  const errs = validateRoleBinding(rb, namespaced);
  errs.push(...validateObjectMetaUpdate(rb.metadata, old.metadata, 'metadata'));
  const n = obj(rb.roleRef);
  const o = obj(old.roleRef);
  if (str(n.apiGroup) !== str(o.apiGroup) || str(n.kind) !== str(o.kind) || str(n.name) !== str(o.name))
    errs.push(invalid('roleRef', goStruct('rbac.RoleRef', { aPIGroup: str(n.apiGroup), kind: str(n.kind), name: str(n.name) }), 'cannot change roleRef'));
  return errs;
}

// ---- storage.k8s.io ------------------------------------------------------------------------------

export function validateStorageClass(sc: Obj): Cause[] {
  const errs = validateObjectMeta(sc.metadata, false, nameIsDNSSubdomain, 'metadata');
  const prov = str(sc.provisioner);
  if (!prov) errs.push(required('provisioner', prov));
  else errs.push(...validateQualifiedName(prov.toLowerCase(), 'provisioner'));
  const params = obj(sc.parameters);
  if (Object.keys(params).length > 512) errs.push(tooLong('parameters', 512));
  else {
    let total = 0;
    for (const [k, v] of Object.entries(params)) {
      if (k.length < 1) errs.push(invalid('parameters', k, 'field can not be empty.'));
      total += k.length + str(v).length;
    }
    if (total > 256 * 1024) errs.push(tooLong('parameters', 256 * 1024));
  }
  const rp = str(sc.reclaimPolicy);
  if (rp && rp !== 'Delete' && rp !== 'Retain') errs.push(notSupported('reclaimPolicy', rp, ['Delete', 'Retain']));
  if (!isSet(sc.volumeBindingMode)) errs.push(required('volumeBindingMode'));
  else if (sc.volumeBindingMode !== 'Immediate' && sc.volumeBindingMode !== 'WaitForFirstConsumer')
    errs.push(notSupported('volumeBindingMode', str(sc.volumeBindingMode), ['Immediate', 'WaitForFirstConsumer']));
  const keys = new Set<string>();
  arr(sc.allowedTopologies).forEach((t, i) => {
    const exprs = arr(obj(t).matchLabelExpressions);
    const tp = `allowedTopologies[${i}]`;
    if (exprs.length === 0) errs.push(required(tp, 'must have at least one label selector requirement'));
    keys.clear();
    exprs.forEach((raw, j) => {
      const e = obj(raw);
      const ep = `${tp}.matchLabelExpressions[${j}]`;
      if (arr(e.values).length === 0) errs.push(required(`${ep}.values`));
      if (keys.has(str(e.key))) errs.push(duplicate(`${ep}.key`, str(e.key)));
      keys.add(str(e.key));
    });
  });
  return errs;
}

export function validateStorageClassUpdate(sc: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(sc.metadata, old.metadata, 'metadata');
  if (!semanticEqual(sc.parameters, old.parameters)) errs.push(forbidden('parameters', 'updates to parameters are forbidden.'));
  if (str(sc.provisioner) !== str(old.provisioner)) errs.push(forbidden('provisioner', 'updates to provisioner are forbidden.'));
  if (str(sc.reclaimPolicy) !== str(old.reclaimPolicy)) errs.push(forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
  if (str(sc.volumeBindingMode) !== str(old.volumeBindingMode)) errs.push(invalid('volumeBindingMode', str(sc.volumeBindingMode), FIELD_IMMUTABLE));
  return errs;
}

export function validateCSIDriver(d: Obj): Cause[] {
  const name = str(obj(d.metadata).name);
  const errs = validateObjectMetaGeneric(d.metadata, false, () => [], 'metadata').filter((c) => c.field !== 'metadata.name');
  errs.unshift(...validateCSIDriverName(name, 'metadata.name'));
  const spec = obj(d.spec);
  if (!isSet(spec.attachRequired)) errs.push(required('spec.attachRequired'));
  if (!isSet(spec.podInfoOnMount)) errs.push(required('spec.podInfoOnMount'));
  const fsg = str(spec.fsGroupPolicy);
  const fsgOk = ['File', 'None', 'ReadWriteOnceWithFSType'];
  if (isSet(spec.fsGroupPolicy) && !fsgOk.includes(fsg)) errs.push(notSupported('spec.fsGroupPolicy', fsg, fsgOk));
  arr<string>(spec.volumeLifecycleModes).forEach((m) => {
    if (m !== 'Persistent' && m !== 'Ephemeral') errs.push(notSupported('spec.volumeLifecycleModes', str(m), ['Ephemeral', 'Persistent']));
  });
  return errs;
}

export function validateCSIDriverUpdate(d: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(d.metadata, old.metadata, 'metadata');
  errs.push(...validateCSIDriver(d));
  const s = obj(d.spec);
  const o = obj(old.spec);
  if (!semanticEqual(s.attachRequired, o.attachRequired)) errs.push(invalid('spec.attachRequired', s.attachRequired ?? null, FIELD_IMMUTABLE));
  if (!semanticEqual(s.volumeLifecycleModes, o.volumeLifecycleModes))
    errs.push(invalid('spec.volumeLifecycleModes', arr(s.volumeLifecycleModes), FIELD_IMMUTABLE));
  return errs;
}

export function validateCSINode(n: Obj): Cause[] {
  const errs = validateObjectMeta(n.metadata, false, nameIsDNSSubdomain, 'metadata');
  const names = new Set<string>();
  arr(obj(n.spec).drivers).forEach((raw, i) => {
    const d = obj(raw);
    const p = `spec.drivers[${i}]`;
    errs.push(...validateCSIDriverName(str(d.name), `${p}.name`));
    if (!str(d.nodeID)) errs.push(required(`${p}.nodeID`));
    else if (str(d.nodeID).length > 192) errs.push(tooLong(`${p}.nodeID`, 192));
    if (names.has(str(d.name))) errs.push(duplicate(`${p}.name`, str(d.name)));
    names.add(str(d.name));
  });
  return errs;
}

export function validateVolumeAttachment(va: Obj): Cause[] {
  const errs = validateObjectMeta(va.metadata, false, nameIsDNSSubdomain, 'metadata');
  const spec = obj(va.spec);
  errs.push(...validateCSIDriverName(str(spec.attacher), 'spec.attacher'));
  const src = obj(spec.source);
  const n = (isSet(src.persistentVolumeName) ? 1 : 0) + (isSet(src.inlineVolumeSpec) ? 1 : 0);
  if (n === 0) errs.push(required('spec.source', 'must specify exactly one of inlineVolumeSpec and persistentVolumeName'));
  else if (n > 1) errs.push(forbidden('spec.source', 'must specify exactly one of inlineVolumeSpec and persistentVolumeName'));
  if (isSet(src.persistentVolumeName) && !str(src.persistentVolumeName)) errs.push(required('spec.source.persistentVolumeName', 'must specify non empty persistentVolumeName'));
  if (!str(spec.nodeName)) errs.push(required('spec.nodeName'));
  else for (const m of nameIsDNSSubdomain(str(spec.nodeName), false)) errs.push(invalid('spec.nodeName', str(spec.nodeName), m));
  return errs;
}

export function validateVolumeAttachmentUpdate(va: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(va.metadata, old.metadata, 'metadata');
  errs.push(...validateVolumeAttachment(va));
  if (!semanticEqual(va.spec, old.spec)) errs.push(invalid('spec', goStruct('storage.VolumeAttachmentSpec', obj(va.spec)), FIELD_IMMUTABLE));
  return errs;
}

// ---- scheduling.k8s.io -----------------------------------------------------------------------------

export const SYSTEM_PRIORITY_CLASSES: Record<string, { value: number; globalDefault: boolean; description: string }> = {
  'system-node-critical': { value: 2000001000, globalDefault: false, description: 'Used for system critical pods that must not be moved from their current node.' },
  'system-cluster-critical': { value: 2000000000, globalDefault: false, description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.' },
};
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1000000000;

export function validatePriorityClass(pc: Obj): Cause[] {
  const meta = obj(pc.metadata);
  const errs = validateObjectMeta(meta, false, nameIsDNSSubdomain, 'metadata');
  const name = str(meta.name);
  const value = num(pc.value);
  if (name.startsWith('system-')) {
    const sys = SYSTEM_PRIORITY_CLASSES[name];
    let err = '';
    if (!sys) err = `${name} is not a known system priority class`;
    else if (sys.value !== value) err = `value of ${name} PriorityClass must be ${sys.value}`;
    else if (sys.globalDefault !== (pc.globalDefault === true)) err = `globalDefault of ${name} PriorityClass must be ${sys.globalDefault}`;
    if (err) errs.push(forbidden('metadata.name', `priority class names with 'system-' prefix are reserved for system use only. error: ${err}`));
  } else if (value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push(forbidden('value', `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
  }
  if (isSet(pc.preemptionPolicy)) errs.push(...validatePreemptionPolicy(str(pc.preemptionPolicy), 'preemptionPolicy'));
  return errs;
}

export function validatePriorityClassUpdate(pc: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(pc.metadata, old.metadata, 'metadata');
  if (num(pc.value) !== num(old.value)) errs.push(forbidden('value', 'may not be changed in an update.'));
  if (!semanticEqual(pc.preemptionPolicy, old.preemptionPolicy)) errs.push(invalid('preemptionPolicy', isSet(pc.preemptionPolicy) ? str(pc.preemptionPolicy) : null, FIELD_IMMUTABLE));
  return errs;
}

// ---- policy/v1 ------------------------------------------------------------------------------------

export function validatePodDisruptionBudget(pdb: Obj): Cause[] {
  const spec = obj(pdb.spec);
  const errs: Cause[] = [];
  if (isSet(spec.minAvailable) && isSet(spec.maxUnavailable))
    errs.push(invalid('spec', goStruct('policy.PodDisruptionBudgetSpec', spec), 'minAvailable and maxUnavailable cannot be both set'));
  for (const f of ['minAvailable', 'maxUnavailable']) {
    if (!isSet(spec[f])) continue;
    errs.push(...validatePositiveIntOrPercent(spec[f], `spec.${f}`));
    errs.push(...isNotMoreThan100Percent(spec[f], `spec.${f}`));
  }
  errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  if (isSet(spec.unhealthyPodEvictionPolicy) && !['AlwaysAllow', 'IfHealthyBudget'].includes(str(spec.unhealthyPodEvictionPolicy)))
    errs.push(notSupported('spec.unhealthyPodEvictionPolicy', str(spec.unhealthyPodEvictionPolicy), ['AlwaysAllow', 'IfHealthyBudget']));
  // the registry's common checks run only when the kind's own rules pass
  if (errs.length === 0) errs.push(...validateObjectMetaGeneric(pdb.metadata, true, pathSegmentName, 'metadata'));
  return errs;
}

export function validatePodDisruptionBudgetStatusUpdate(pdb: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(pdb.metadata, old.metadata, 'metadata');
  const st = obj(pdb.status);
  for (const f of ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods']) errs.push(...validateNonnegative(num(st[f]), `status.${f}`));
  return errs;
}

// ---- coordination.k8s.io ------------------------------------------------------------------------------

export function validateLease(lease: Obj): Cause[] {
  const errs = validateObjectMeta(lease.metadata, true, nameIsDNSSubdomain, 'metadata');
  const spec = obj(lease.spec);
  if (isSet(spec.leaseDurationSeconds) && num(spec.leaseDurationSeconds) <= 0)
    errs.push(invalid('spec.leaseDurationSeconds', num(spec.leaseDurationSeconds), 'must be greater than 0'));
  if (isSet(spec.leaseTransitions) && num(spec.leaseTransitions) < 0)
    errs.push(invalid('spec.leaseTransitions', num(spec.leaseTransitions), 'must be greater than or equal to 0'));
  if (isSet(spec.strategy) && spec.strategy !== 'OldestEmulationVersion') errs.push(notSupported('spec.strategy', str(spec.strategy), ['OldestEmulationVersion']));
  if (isSet(spec.preferredHolder) && !isSet(spec.strategy)) errs.push(forbidden('spec.preferredHolder', 'may only be specified if `strategy` is defined'));
  return errs;
}

// ---- discovery.k8s.io/v1 --------------------------------------------------------------------------------

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];

export function validateEndpointSlice(eps: Obj): Cause[] {
  const errs = validateObjectMeta(eps.metadata, true, nameIsDNSSubdomain, 'metadata');
  const at = str(eps.addressType);
  const endpoints = arr(eps.endpoints).map(obj);
  if (endpoints.length > 1000) errs.push(tooMany('endpoints', endpoints.length, 1000));
  endpoints.forEach((ep, i) => {
    const p = `endpoints[${i}]`;
    const addrs = arr<string>(ep.addresses).map(str);
    if (addrs.length === 0) errs.push(required(`${p}.addresses`, 'must contain at least 1 address'));
    else if (addrs.length > 100) errs.push(tooMany(`${p}.addresses`, addrs.length, 100));
    addrs.forEach((a, j) => {
      const ap = `${p}.addresses[${j}]`;
      if (at === 'IPv4') {
        const ip = parseIPSloppy(a);
        if (!ip || ip.family !== 4) errs.push(invalid(ap, a, 'must be an IPv4 address'));
      } else if (at === 'IPv6') {
        const ip = parseIPSloppy(a);
        if (!ip || ip.family !== 6) errs.push(invalid(ap, a, 'must be an IPv6 address'));
      } else if (at === 'FQDN') {
        for (const m of isDNS1123Subdomain(a)) errs.push(invalid(ap, a, m));
      }
    });
    if (isSet(ep.nodeName)) for (const m of nameIsDNSSubdomain(str(ep.nodeName), false)) errs.push(invalid(`${p}.nodeName`, str(ep.nodeName), m));
    if (isSet(ep.hostname)) for (const m of isDNS1123Label(str(ep.hostname))) errs.push(invalid(`${p}.hostname`, str(ep.hostname), m));
    const zones = arr(obj(ep.hints).forZones);
    if (zones.length > 8) errs.push(tooMany(`${p}.hints.forZones`, zones.length, 8));
  });
  const ports = arr(eps.ports).map(obj);
  if (ports.length > 20000) errs.push(tooMany('ports', ports.length, 20000));
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = `ports[${i}]`;
    const name = str(port.name);
    if (name) for (const m of isDNS1123Label(name)) errs.push(invalid(`${p}.name`, name, m));
    if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
    else names.add(name);
    if (!isSet(port.protocol)) errs.push(required(`${p}.protocol`));
    else if (!['SCTP', 'TCP', 'UDP'].includes(str(port.protocol))) errs.push(notSupported(`${p}.protocol`, str(port.protocol), ['SCTP', 'TCP', 'UDP']));
    if (isSet(port.appProtocol)) errs.push(...validateQualifiedName(str(port.appProtocol), `${p}.appProtocol`));
    if (isSet(port.port)) for (const m of isValidPortNum(num(port.port))) errs.push(invalid(`${p}.port`, num(port.port), m));
  });
  if (!at) errs.push(required('addressType'));
  else if (!ADDRESS_TYPES.includes(at)) errs.push(notSupported('addressType', at, ADDRESS_TYPES));
  return errs;
}

export function validateEndpointSliceUpdate(eps: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(eps.metadata, old.metadata, 'metadata');
  errs.push(...validateEndpointSlice(eps));
  if (str(eps.addressType) !== str(old.addressType)) errs.push(invalid('addressType', str(eps.addressType), FIELD_IMMUTABLE));
  return errs;
}

// ---- autoscaling ---------------------------------------------------------------------------------------

const METRIC_TYPES = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];

function validateCrossVersionObjectReference(ref: Obj, path: string): Cause[] {
  const errs: Cause[] = [];
  for (const f of ['kind', 'name']) {
    const v = str(ref[f]);
    if (!v) errs.push(required(child(path, f)));
    else for (const m of pathSegmentName(v, false)) errs.push(invalid(child(path, f), v, m));
  }
  return errs;
}

function validateMetricTarget(t: Obj, path: string): Cause[] {
  const errs: Cause[] = [];
  const type = str(t.type);
  if (!type) errs.push(required(child(path, 'type'), 'must specify a metric target type'));
  if (type !== 'Utilization' && type !== 'Value' && type !== 'AverageValue') errs.push(invalid(child(path, 'type'), type, 'must be either Utilization, Value, or AverageValue'));
  for (const f of ['value', 'averageValue']) {
    if (!isSet(t[f])) continue;
    const q = Quantity.tryParse(t[f]);
    if (!q || q.sign() !== 1) errs.push(invalid(child(path, f), goIntOrString(q ? q.toString() : str(t[f])), 'must be positive'));
  }
  if (isSet(t.averageUtilization) && num(t.averageUtilization) < 1) errs.push(invalid(child(path, 'averageUtilization'), num(t.averageUtilization), 'must be greater than 0'));
  return errs;
}

function validateMetricSpec(m: Obj, path: string): Cause[] {
  const errs: Cause[] = [];
  const type = str(m.type);
  if (!type) errs.push(required(child(path, 'type'), 'must specify a metric source type'));
  if (!METRIC_TYPES.includes(type)) errs.push(notSupported(child(path, 'type'), type, METRIC_TYPES));
  const present = ['object', 'pods', 'resource', 'external', 'containerResource'].filter((k) => isObj(m[k]));
  for (const k of present.slice(0, 1)) {
    const src = obj(m[k]);
    const sp = child(path, k);
    const target = obj(src.target);
    if (k === 'resource' || k === 'containerResource') {
      if (!str(src.name)) errs.push(required(child(sp, 'name'), 'must specify a resource name'));
      if (k === 'containerResource' && !str(src.container)) errs.push(required(child(sp, 'container'), 'must specify a container'));
      errs.push(...validateMetricTarget(target, child(sp, 'target')));
      if (!isSet(target.averageUtilization) && !isSet(target.averageValue))
        errs.push(required(child(sp, 'target', 'averageUtilization'), 'must set either a target raw value or a target utilization'));
      if (isSet(target.averageUtilization) && isSet(target.averageValue))
        errs.push(forbidden(child(sp, 'target', 'averageValue'), 'may not set both a target raw value and a target utilization'));
    } else {
      if (!str(obj(src.metric).name)) errs.push(required(child(sp, 'metric', 'name'), 'must specify a metric name'));
      errs.push(...validateMetricTarget(target, child(sp, 'target')));
      if (k === 'object') errs.push(...validateCrossVersionObjectReference(obj(src.describedObject), child(sp, 'describedObject')));
    }
  }
  const expected = type === 'ContainerResource' ? 'containerResource' : type.toLowerCase();
  if (METRIC_TYPES.includes(type) && !isObj(m[expected])) errs.push(required(child(path, expected), 'must populate information for the given metric source'));
  if (present.length !== 1) for (const k of present.filter((k) => k !== expected)) errs.push(forbidden(child(path, k), 'must populate the given metric source only'));
  return errs;
}

function validateScalingRules(r: unknown, path: string): Cause[] {
  if (!isObj(r)) return [];
  const errs: Cause[] = [];
  if (isSet(r.stabilizationWindowSeconds)) {
    const s = num(r.stabilizationWindowSeconds);
    if (s < 0) errs.push(invalid(child(path, 'stabilizationWindowSeconds'), s, 'must be greater than or equal to zero'));
    if (s > 3600) errs.push(invalid(child(path, 'stabilizationWindowSeconds'), s, 'must be less than or equal to 3600'));
  }
  if (isSet(r.selectPolicy) && !['Disabled', 'Max', 'Min'].includes(str(r.selectPolicy)))
    errs.push(notSupported(child(path, 'selectPolicy'), str(r.selectPolicy), ['Disabled', 'Max', 'Min']));
  const policies = arr(r.policies).map(obj);
  if (policies.length === 0) errs.push(required(child(path, 'policies'), 'must specify at least one Policy'));
  policies.forEach((p, i) => {
    const pp = `${child(path, 'policies')}[${i}]`;
    if (p.type !== 'Pods' && p.type !== 'Percent') errs.push(invalid(`${pp}.type`, str(p.type), 'must be either Pods or Percent'));
    if (num(p.value) <= 0) errs.push(invalid(`${pp}.value`, num(p.value), 'must be greater than zero'));
    const ps = num(p.periodSeconds);
    if (ps <= 0) errs.push(invalid(`${pp}.periodSeconds`, ps, 'must be greater than zero'));
    if (ps > 1800) errs.push(invalid(`${pp}.periodSeconds`, ps, 'must be less than or equal to 1800'));
  });
  return errs;
}

export function validateHorizontalPodAutoscaler(hpa: Obj): Cause[] {
  const errs = validateObjectMeta(hpa.metadata, true, nameIsDNSSubdomain, 'metadata');
  const spec = obj(hpa.spec);
  if (isSet(spec.minReplicas) && num(spec.minReplicas) < 1) errs.push(invalid('spec.minReplicas', num(spec.minReplicas), 'must be greater than or equal to 1'));
  if (num(spec.maxReplicas) < 1) errs.push(invalid('spec.maxReplicas', num(spec.maxReplicas), 'must be greater than 0'));
  if (isSet(spec.minReplicas) && num(spec.maxReplicas) < num(spec.minReplicas))
    errs.push(invalid('spec.maxReplicas', num(spec.maxReplicas), 'must be greater than or equal to `minReplicas`'));
  errs.push(...validateCrossVersionObjectReference(obj(spec.scaleTargetRef), 'spec.scaleTargetRef'));
  arr(spec.metrics).forEach((m, i) => errs.push(...validateMetricSpec(obj(m), `spec.metrics[${i}]`)));
  if (isObj(spec.behavior)) {
    errs.push(...validateScalingRules(spec.behavior.scaleUp, 'spec.behavior.scaleUp'));
    errs.push(...validateScalingRules(spec.behavior.scaleDown, 'spec.behavior.scaleDown'));
  }
  // autoscaling/v1 shape
  if (isSet(spec.targetCPUUtilizationPercentage) && num(spec.targetCPUUtilizationPercentage) < 1)
    errs.push(invalid('spec.targetCPUUtilizationPercentage', num(spec.targetCPUUtilizationPercentage), 'must be greater than 0'));
  return errs;
}

export function validateHorizontalPodAutoscalerUpdate(hpa: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(hpa.metadata, old.metadata, 'metadata');
  return errs.concat(validateHorizontalPodAutoscaler(hpa).filter((c) => !c.field?.startsWith('metadata.')));
}

export function validateHorizontalPodAutoscalerStatusUpdate(hpa: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(hpa.metadata, old.metadata, 'metadata');
  const st = obj(hpa.status);
  errs.push(...validateNonnegative(num(st.currentReplicas), 'status.currentReplicas'));
  errs.push(...validateNonnegative(num(st.desiredReplicas), 'status.desiredReplicas'));
  return errs;
}

// ---- apiextensions.k8s.io/v1 (the parts users meet first) ------------------------------------------------

export function validateCustomResourceDefinition(crd: Obj): Cause[] {
  const meta = obj(crd.metadata);
  const spec = obj(crd.spec);
  const names = obj(spec.names);
  const errs = validateObjectMeta(meta, false, nameIsDNSSubdomain, 'metadata');
  const group = str(spec.group);
  const plural = str(names.plural);
  if (str(meta.name) !== `${plural}.${group}`) errs.push(invalid('metadata.name', str(meta.name), 'must be spec.names.plural+"."+spec.group'));
  if (!group) errs.push(required('spec.group'));
  else {
    for (const m of isDNS1123Subdomain(group)) errs.push(invalid('spec.group', group, m));
    if (group.split('.').length < 2) errs.push(invalid('spec.group', group, 'should be a domain with at least one dot'));
  }
  const scope = str(spec.scope);
  if (!scope) errs.push(required('spec.scope'));
  else if (scope !== 'Cluster' && scope !== 'Namespaced') errs.push(notSupported('spec.scope', scope, ['Cluster', 'Namespaced']));
  for (const f of ['plural', 'singular']) {
    const v = str(names[f]);
    if (f === 'plural' && !v) errs.push(required('spec.names.plural'));
    if (v) for (const m of isDNS1123Label(v)) errs.push(invalid(`spec.names.${f}`, v, m));
  }
  if (!str(names.kind)) errs.push(required('spec.names.kind'));
  if (!str(names.listKind)) errs.push(required('spec.names.listKind'));
  const versions = arr(spec.versions).map(obj);
  if (versions.length === 0) errs.push(required('spec.versions', 'must have exactly one version marked as storage version'));
  const storage = versions.filter((v) => v.storage === true).length;
  if (versions.length && storage !== 1) errs.push(invalid('spec.versions', goStruct('[]apiextensions.CustomResourceDefinitionVersion', versions), 'must have exactly one version marked as storage version'));
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    const name = str(v.name);
    for (const m of isDNS1123Label(name)) errs.push(invalid(`spec.versions[${i}].name`, name, m));
    if (seen.has(name)) errs.push(invalid('spec.versions', goStruct('[]apiextensions.CustomResourceDefinitionVersion', versions), 'must contain unique version names'));
    seen.add(name);
    if (!isObj(obj(v.schema).openAPIV3Schema)) errs.push(required(`spec.versions[${i}].schema.openAPIV3Schema`, 'schemas are required'));
  });
  return errs;
}

export function validateCustomResourceDefinitionUpdate(crd: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(crd.metadata, old.metadata, 'metadata');
  errs.push(...validateCustomResourceDefinition(crd).filter((c) => !c.field?.startsWith('metadata.') || c.field === 'metadata.name'));
  const s = obj(crd.spec);
  const o = obj(old.spec);
  if (str(s.group) !== str(o.group)) errs.push(invalid('spec.group', str(s.group), FIELD_IMMUTABLE));
  if (str(obj(s.names).plural) !== str(obj(o.names).plural)) errs.push(invalid('spec.names.plural', str(obj(s.names).plural), FIELD_IMMUTABLE));
  return errs;
}

