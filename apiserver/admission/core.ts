// core/v1 kinds other than Pod: Service, ConfigMap, Secret, Namespace, Node, PV, PVC,
// ServiceAccount, PodTemplate, ReplicationController, Endpoints, LimitRange,
// ResourceQuota, Event, Binding (pkg/apis/core/validation).
import {
  child,
  duplicate,
  FIELD_IMMUTABLE,
  forbidden,
  goIntOrString,
  goStringMap,
  goStringSlice,
  goStruct,
  index,
  invalid,
  key,
  notSupported,
  required,
  tooLong,
  type Cause,
} from './field.js';
import {
  mapSelectorMatches,
  validateLabels,
  validateNonnegative,
  validateObjectMeta,
  validateObjectMetaUpdate,
  validateQualifiedName,
  validateKubeFinalizerName,
  validateLabelName,
} from './meta.js';
import {
  isConfigMapKey,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidCIDR,
  isValidIP,
  isValidLabelValue,
  isValidPortNum,
  nameIsDNS1035Label,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
  parseIPSloppy,
} from './names.js';
import {
  validateAccessModes,
  validateCSIDriverName,
  validateDNS1123Label,
  validateDNS1123Subdomain,
  validateNodeSelector,
  validatePersistentVolumeClaimSpec,
  validatePodTemplateSpec,
  validatePortNumOrName,
  validateResourceQuantityValue,
  validateTaintEffect,
  VOLUME_MODES,
} from './pod.js';
import { Quantity } from './quantity.js';
import { arr, isObj, isSet, num, obj, semanticEqual, specDiff, str, strMap, type Obj } from './util.js';

const SUPPORTED_PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
export const NODE_PORT_RANGE = { min: 30000, max: 32767 };

// ---- Service ---------------------------------------------------------------------------

export function isHeadlessService(spec: Obj): boolean {
  const ips = arr<string>(spec.clusterIPs);
  return ips.length === 1 && ips[0] === 'None';
}

/** apiservice.ExternallyAccessible: LoadBalancer, NodePort, or ClusterIP with external IPs. */
export function externallyAccessible(spec: Obj): boolean {
  return spec.type === 'LoadBalancer' || spec.type === 'NodePort' || (spec.type === 'ClusterIP' && arr(spec.externalIPs).length > 0);
}

function needsHealthCheck(spec: Obj): boolean {
  return spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
}

function validateServicePort(sp: Obj, requireName: boolean, names: Set<string>, path: string): Cause[] {
  const errs: Cause[] = [];
  const name = str(sp.name);
  if (requireName && !name) errs.push(required(child(path, 'name')));
  else if (name) {
    errs.push(...validateDNS1123Label(name, child(path, 'name')));
    if (names.has(name)) errs.push(duplicate(child(path, 'name'), name));
    else names.add(name);
  }
  for (const m of isValidPortNum(num(sp.port))) errs.push(invalid(child(path, 'port'), num(sp.port), m));
  const proto = str(sp.protocol);
  if (!proto) errs.push(required(child(path, 'protocol')));
  else if (!SUPPORTED_PROTOCOLS.includes(proto)) errs.push(notSupported(child(path, 'protocol'), proto, SUPPORTED_PROTOCOLS));
  errs.push(...validatePortNumOrName(sp.targetPort ?? 0, child(path, 'targetPort')));
  if (isSet(sp.appProtocol)) errs.push(...validateQualifiedName(str(sp.appProtocol), child(path, 'appProtocol')));
  return errs;
}

function validateNonSpecialIP(ip: string, path: string): Cause[] {
  const p = parseIPSloppy(ip);
  if (!p) return [invalid(path, ip, 'must be a valid IP address')];
  const errs: Cause[] = [];
  const b = p.bytes;
  const v4 = p.family === 4;
  if (b.every((x) => x === 0)) errs.push(invalid(path, ip, `may not be unspecified (${ip})`));
  if ((v4 && b[0] === 127) || (!v4 && b.slice(0, 15).every((x) => x === 0) && b[15] === 1))
    errs.push(invalid(path, ip, 'may not be in the loopback range (127.0.0.0/8, ::1/128)'));
  if ((v4 && b[0] === 169 && b[1] === 254) || (!v4 && b[0] === 0xfe && (b[1] & 0xc0) === 0x80))
    errs.push(invalid(path, ip, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'));
  if ((v4 && b[0] === 224 && b[1] === 0 && b[2] === 0) || (!v4 && b[0] === 0xff && (b[1] & 0x0f) === 2))
    errs.push(invalid(path, ip, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'));
  return errs;
}

function validateClusterIPsRelated(spec: Obj): Cause[] {
  if (spec.type === 'ExternalName') return [];
  const errs: Cause[] = [];
  const ips = arr<string>(spec.clusterIPs).map(str);
  const fams = arr<string>(spec.ipFamilies).map(str);
  const cip = str(spec.clusterIP);
  if (cip) {
    if (ips.length === 0) errs.push(required('spec.clusterIPs'));
    else if (ips[0] !== cip) errs.push(invalid('spec.clusterIPs', goStringSlice(ips), 'first value must match `clusterIP`'));
  } else if (ips.length) errs.push(invalid('spec.clusterIPs', goStringSlice(ips), 'must be empty when `clusterIP` is not specified'));
  const seen = new Set<string>();
  fams.forEach((f, i) => {
    if (f !== 'IPv4' && f !== 'IPv6') errs.push(notSupported(`spec.ipFamilies[${i}]`, f, ['IPv4', 'IPv6']));
    if (seen.has(f)) errs.push(duplicate(`spec.ipFamilies[${i}]`, f));
    seen.add(f);
  });
  if (isSet(spec.ipFamilyPolicy)) {
    const p = str(spec.ipFamilyPolicy);
    const ok = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
    if (!ok.includes(p)) errs.push(notSupported('spec.ipFamilyPolicy', p, ok));
  }
  let bad = false;
  ips.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (ips.length > 1) {
        bad = true;
        errs.push(invalid('spec.clusterIPs', goStringSlice(ips), "'None' must be the first and only value"));
      }
      return;
    }
    const e = isValidIP(`spec.clusterIPs[${i}]`, ip);
    if (e.length) bad = true;
    errs.push(...e);
  });
  if (ips.length > 2) errs.push(invalid('spec.clusterIPs', goStringSlice(ips), 'may only hold up to 2 values'));
  if (bad) return errs;
  if (ips.length > 1) {
    const f0 = parseIPSloppy(ips[0])?.family;
    const f1 = parseIPSloppy(ips[1])?.family;
    if (f0 === f1 || ips.length > 2) errs.push(invalid('spec.clusterIPs', goStringSlice(ips), 'may specify no more than one IP for each IP family'));
  }
  if (!isHeadlessService(spec) && ips.length && fams.length) {
    ips.forEach((ip, i) => {
      if (i > fams.length - 1) return;
      const fam = parseIPSloppy(ip)?.family;
      if (fams[i] === 'IPv4' && fam === 6) errs.push(invalid(`spec.clusterIPs[${i}]`, ip, `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``));
      if (fams[i] === 'IPv6' && fam !== 6) errs.push(invalid(`spec.clusterIPs[${i}]`, ip, `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``));
    });
  }
  return errs;
}

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

export function validateService(svc: Obj): Cause[] {
  const meta = obj(svc.metadata);
  const spec = obj(svc.spec);
  const errs = validateObjectMeta(meta, true, nameIsDNS1035Label, 'metadata');
  const ann = strMap(meta.annotations);
  const hints = ann['service.kubernetes.io/topology-aware-hints'];
  const mode = ann['service.kubernetes.io/topology-mode'];
  if (hints !== undefined && mode !== undefined && hints !== mode)
    errs.push(invalid(key('metadata.annotations', 'service.kubernetes.io/topology-mode'), mode, 'must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified'));
  const ports = arr(spec.ports).map(obj);
  const headless = isHeadlessService(spec);
  const type = str(spec.type);
  if (ports.length === 0 && !headless && type !== 'ExternalName') errs.push(required('spec.ports'));
  const ips = arr<string>(spec.clusterIPs);
  if (type === 'LoadBalancer' && headless) errs.push(invalid('spec.clusterIPs[0]', ips[0], "may not be set to 'None' for LoadBalancer services"));
  if (type === 'NodePort' && headless) errs.push(invalid('spec.clusterIPs[0]', ips[0], "may not be set to 'None' for NodePort services"));
  if (type === 'ExternalName') {
    if (ips.length) errs.push(forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
    if (arr(spec.ipFamilies).length) errs.push(forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
    if (isSet(spec.ipFamilyPolicy)) errs.push(forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
    const cname = str(spec.externalName).replace(/\.$/, '');
    if (cname) errs.push(...validateDNS1123Subdomain(cname, 'spec.externalName'));
    else errs.push(required('spec.externalName'));
  }
  const names = new Set<string>();
  ports.forEach((p, i) => errs.push(...validateServicePort(p, ports.length > 1, names, `spec.ports[${i}]`)));
  if (isObj(spec.selector)) errs.push(...validateLabels(spec.selector, 'spec.selector'));
  const sa = str(spec.sessionAffinity);
  if (!sa) errs.push(required('spec.sessionAffinity'));
  else if (sa !== 'ClientIP' && sa !== 'None') errs.push(notSupported('spec.sessionAffinity', sa, ['ClientIP', 'None']));
  if (sa === 'ClientIP') {
    const cfg = spec.sessionAffinityConfig;
    const p = 'spec.sessionAffinityConfig';
    if (!isObj(cfg)) errs.push(required(p, 'when session affinity type is ClientIP'));
    else if (!isObj(cfg.clientIP)) errs.push(required(`${p}.clientIP`, 'when session affinity type is ClientIP'));
    else if (!isSet(cfg.clientIP.timeoutSeconds)) errs.push(required(`${p}.clientIP.timeoutSeconds`, 'when session affinity type is ClientIP'));
    else {
      const t = num(cfg.clientIP.timeoutSeconds);
      if (t <= 0 || t > 86400) errs.push(invalid(`${p}.clientIP.timeoutSeconds`, t, 'must be greater than 0 and less than 86400'));
    }
  } else if (sa === 'None' && isSet(spec.sessionAffinityConfig)) {
    errs.push(forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  }
  errs.push(...validateClusterIPsRelated(spec));
  arr<string>(spec.externalIPs).forEach((ip, i) => {
    const p = `spec.externalIPs[${i}]`;
    const e = isValidIP(p, str(ip));
    errs.push(...(e.length ? e : validateNonSpecialIP(str(ip), p)));
  });
  if (!type) errs.push(required('spec.type'));
  else if (!SERVICE_TYPES.includes(type)) errs.push(notSupported('spec.type', type, SERVICE_TYPES));
  if (type === 'ClusterIP')
    ports.forEach((p, i) => {
      if (num(p.nodePort) !== 0) errs.push(forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  const nodePorts = new Set<string>();
  ports.forEach((p, i) => {
    if (num(p.nodePort) === 0) return;
    const k = `${str(p.protocol)}/${num(p.nodePort)}`;
    if (nodePorts.has(k)) errs.push(duplicate(`spec.ports[${i}].nodePort`, num(p.nodePort)));
    nodePorts.add(k);
  });
  const portKeys = new Set<string>();
  ports.forEach((p, i) => {
    const k = `${str(p.protocol)}/${num(p.port)}`;
    if (portKeys.has(k))
      errs.push(
        duplicate(
          `spec.ports[${i}]`,
          goStruct('core.ServicePort', { name: '', protocol: str(p.protocol), appProtocol: null, port: num(p.port), targetPort: goIntOrString(0).text, nodePort: 0 }),
        ),
      );
    portKeys.add(k);
  });
  const lbsr = arr<string>(spec.loadBalancerSourceRanges);
  if (lbsr.length) {
    const p = 'spec.LoadBalancerSourceRanges';
    if (type !== 'LoadBalancer') errs.push(forbidden(p, "may only be used when `type` is 'LoadBalancer'"));
    lbsr.forEach((v, i) => errs.push(...isValidCIDR(`${p}[${i}]`, str(v).trim())));
  } else if ('service.beta.kubernetes.io/load-balancer-source-ranges' in ann) {
    const p = key('metadata.annotations', 'service.beta.kubernetes.io/load-balancer-source-ranges');
    if (type !== 'LoadBalancer') errs.push(forbidden(p, "may only be used when `type` is 'LoadBalancer'"));
    const v = ann['service.beta.kubernetes.io/load-balancer-source-ranges'].trim();
    if (v) for (const c of v.split(',')) errs.push(...isValidCIDR(p, c.trim()));
  }
  if (isSet(spec.allocateLoadBalancerNodePorts) && type !== 'LoadBalancer')
    errs.push(forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'"));
  if (type === 'LoadBalancer' && !isSet(spec.allocateLoadBalancerNodePorts)) errs.push(required('allocateLoadBalancerNodePorts'));
  if (type === 'LoadBalancer') {
    if (isSet(spec.loadBalancerClass)) errs.push(...validateQualifiedName(str(spec.loadBalancerClass), 'spec.loadBalancerClass'));
  } else if (isSet(spec.loadBalancerClass)) errs.push(forbidden('spec.loadBalancerClass', "may only be used when `type` is 'LoadBalancer'"));
  // external traffic policy
  const etp = str(spec.externalTrafficPolicy);
  if (!externallyAccessible(spec)) {
    if (etp) errs.push(invalid('spec.externalTrafficPolicy', etp, 'may only be set for externally-accessible services'));
  } else if (!etp) errs.push(required('spec.externalTrafficPolicy'));
  else if (etp !== 'Cluster' && etp !== 'Local') errs.push(notSupported('spec.externalTrafficPolicy', etp, ['Cluster', 'Local']));
  const hc = num(spec.healthCheckNodePort);
  if (!needsHealthCheck(spec)) {
    if (hc !== 0) errs.push(invalid('spec.healthCheckNodePort', hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
  } else if (hc === 0) {
    // allocated by the registry after validation in kite; upstream allocates first
  } else for (const m of isValidPortNum(hc)) errs.push(invalid('spec.healthCheckNodePort', hc, m));
  // internal traffic policy
  if (!isSet(spec.internalTrafficPolicy)) {
    if (type === 'NodePort' || type === 'LoadBalancer' || type === 'ClusterIP') errs.push(required('spec.internalTrafficPolicy'));
  } else if (spec.internalTrafficPolicy !== 'Cluster' && spec.internalTrafficPolicy !== 'Local') {
    errs.push(notSupported('spec.internalTrafficPolicy', str(spec.internalTrafficPolicy), ['Cluster', 'Local']));
  }
  if (isSet(spec.trafficDistribution)) {
    const td = str(spec.trafficDistribution);
    const ok = ['PreferClose', 'PreferSameNode', 'PreferSameZone'];
    if (!ok.includes(td)) errs.push(notSupported('spec.trafficDistribution', td, ok));
  }
  // what the node-port allocator rejects
  if (type === 'NodePort' || type === 'LoadBalancer') {
    ports.forEach((p, i) => {
      const np = num(p.nodePort);
      if (np !== 0 && (np < NODE_PORT_RANGE.min || np > NODE_PORT_RANGE.max))
        errs.push(
          invalid(`spec.ports[${i}].nodePort`, np, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`),
        );
    });
  }
  return errs;
}

export function validateServiceUpdate(svc: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(svc.metadata, old.metadata, 'metadata');
  const s = obj(svc.spec);
  const o = obj(old.spec);
  if (s.type !== 'ExternalName' && o.type !== 'ExternalName' && !(isHeadlessService(s) && isHeadlessService(o))) {
    const ni = arr<string>(s.clusterIPs);
    const oi = arr<string>(o.clusterIPs);
    const shown = goStringSlice(ni);
    if (ni.length === oi.length) oi.forEach((ip, i) => ip !== ni[i] && errs.push(invalid(`spec.clusterIPs[${i}]`, shown, 'may not change once set')));
    else if (oi.length > ni.length) {
      if (ni.length === 0) errs.push(invalid('spec.clusterIPs[0]', shown, 'primary clusterIP can not be unset'));
      if (oi.length && ni.length && ni[0] !== oi[0]) errs.push(invalid('spec.clusterIPs[0]', shown, 'may not change once set'));
      if (ni.length === 1 && s.ipFamilyPolicy !== 'SingleStack')
        errs.push(invalid('spec.ipFamilyPolicy', isSet(s.ipFamilyPolicy) ? str(s.ipFamilyPolicy) : null, "must be set to 'SingleStack' when releasing the secondary clusterIP"));
    } else if (oi.length && ni[0] !== oi[0]) errs.push(invalid('spec.clusterIPs[0]', shown, 'may not change once set'));
  }
  if (s.type !== 'ExternalName' && o.type !== 'ExternalName' && isHeadlessService(s) === isHeadlessService(o) && !isHeadlessService(s)) {
    const nf = arr<string>(s.ipFamilies);
    const of = arr<string>(o.ipFamilies);
    if (nf.length === of.length) {
      if (of.some((f, i) => f !== nf[i])) errs.push(invalid('spec.ipFamilies[0]', goStringSlice(nf, 'core.IPFamily'), 'may not change once set'));
    } else if (of.length > nf.length) {
      if (nf.length && nf[0] !== of[0]) errs.push(invalid('spec.ipFamilies[0]', goStringSlice(arr(s.clusterIPs)), 'may not change once set'));
      if (nf.length === 1 && s.ipFamilyPolicy !== 'SingleStack')
        errs.push(invalid('spec.ipFamilyPolicy', isSet(s.ipFamilyPolicy) ? str(s.ipFamilyPolicy) : null, "must be set to 'SingleStack' when releasing the secondary ipFamily"));
    } else if (of.length && nf.length && nf[0] !== of[0]) errs.push(invalid('spec.ipFamilies[0]', goStringSlice(arr(s.clusterIPs)), 'may not change once set'));
  }
  if (s.type === 'LoadBalancer' && o.type === 'LoadBalancer' && str(s.loadBalancerClass) !== str(o.loadBalancerClass))
    errs.push(invalid('spec.loadBalancerClass', isSet(s.loadBalancerClass) ? str(s.loadBalancerClass) : null, 'may not change once set'));
  if (needsHealthCheck(o) && needsHealthCheck(s) && num(s.healthCheckNodePort) !== num(o.healthCheckNodePort))
    errs.push(forbidden('spec.healthCheckNodePort', FIELD_IMMUTABLE));
  return errs.concat(validateService(svc));
}

export function validateServiceStatusUpdate(svc: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(svc.metadata, old.metadata, 'metadata');
  const ingress = arr(obj(obj(svc.status).loadBalancer).ingress).map(obj);
  ingress.forEach((ing, i) => {
    const p = `status.loadBalancer.ingress[${i}]`;
    if (str(ing.ip)) errs.push(...isValidIP(`${p}.ip`, str(ing.ip)));
    if (isSet(ing.ipMode) && !str(ing.ip)) errs.push(forbidden(`${p}.ipMode`, 'may not be specified when `ip` is not set'));
    else if (isSet(ing.ipMode) && ing.ipMode !== 'Proxy' && ing.ipMode !== 'VIP') errs.push(notSupported(`${p}.ipMode`, str(ing.ipMode), ['Proxy', 'VIP']));
    if (str(ing.hostname)) {
      errs.push(...validateDNS1123Subdomain(str(ing.hostname), `${p}.hostname`));
      if (parseIPSloppy(str(ing.hostname))) errs.push(invalid(`${p}.hostname`, str(ing.hostname), 'must be a DNS name, not an IP address'));
    }
  });
  return errs;
}

// ---- ConfigMap / Secret ------------------------------------------------------------------------

export const MAX_SECRET_SIZE = 1024 * 1024;

export function base64Length(s: string): number {
  return Buffer.from(s, 'base64').length;
}

export function validateConfigMap(cm: Obj): Cause[] {
  const errs = validateObjectMeta(cm.metadata, true, nameIsDNSSubdomain, 'metadata');
  let total = 0;
  const bin = obj(cm.binaryData);
  for (const [k, v] of Object.entries(obj(cm.data))) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(key('data', k), k, m));
    if (k in bin) errs.push(invalid(key('data', k), k, 'duplicate of key present in binaryData'));
    total += Buffer.byteLength(str(v));
  }
  for (const [k, v] of Object.entries(bin)) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(key('binaryData', k), k, m));
    total += base64Length(str(v));
  }
  if (total > MAX_SECRET_SIZE) errs.push(tooLong('', MAX_SECRET_SIZE));
  return errs;
}

function immutableDataRules(n: Obj, o: Obj, fields: string[]): Cause[] {
  const errs: Cause[] = [];
  if (o.immutable === true) {
    if (n.immutable !== true) errs.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
    for (const f of fields) if (!semanticEqual(n[f], o[f])) errs.push(forbidden(f, 'field is immutable when `immutable` is set'));
  }
  return errs;
}

export function validateConfigMapUpdate(cm: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(cm.metadata, old.metadata, 'metadata');
  errs.push(...immutableDataRules(cm, old, ['data', 'binaryData']));
  return errs.concat(validateConfigMap(cm));
}

function jsonErrorText(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (e) {
    const m = /Unexpected token '?(.)'?.*?position (\d+)/.exec((e as Error).message);
    if (m) return `invalid character '${m[1]}' looking for beginning of value`;
    if (/end of JSON|Unexpected end/.test((e as Error).message)) return 'unexpected end of JSON input';
    return (e as Error).message;
  }
}

export function validateSecret(secret: Obj): Cause[] {
  const meta = obj(secret.metadata);
  const errs = validateObjectMeta(meta, true, nameIsDNSSubdomain, 'metadata');
  const data = obj(secret.data);
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(key('data', k), k, m));
    total += base64Length(str(v));
  }
  if (total > MAX_SECRET_SIZE) errs.push(tooLong('data', MAX_SECRET_SIZE));
  const decoded = (k: string) => Buffer.from(str(data[k]), 'base64').toString('utf8');
  switch (str(secret.type)) {
    case 'kubernetes.io/service-account-token':
      if (!strMap(meta.annotations)['kubernetes.io/service-account.name'])
        errs.push(required(key('metadata.annotations', 'kubernetes.io/service-account.name')));
      break;
    case 'Opaque':
    case '':
      break;
    case 'kubernetes.io/dockercfg': {
      if (!('.dockercfg' in data)) {
        errs.push(required(key('data', '.dockercfg')));
        break;
      }
      const e = jsonErrorText(decoded('.dockercfg'));
      if (e) errs.push(invalid(key('data', '.dockercfg'), '<secret contents redacted>', e));
      break;
    }
    case 'kubernetes.io/dockerconfigjson': {
      if (!('.dockerconfigjson' in data)) {
        errs.push(required(key('data', '.dockerconfigjson')));
        break;
      }
      const e = jsonErrorText(decoded('.dockerconfigjson'));
      if (e) errs.push(invalid(key('data', '.dockerconfigjson'), '<secret contents redacted>', e));
      break;
    }
    case 'kubernetes.io/basic-auth':
      if (!('username' in data) && !('password' in data)) {
        errs.push(required(key('data', 'username')));
        errs.push(required(key('data', 'password')));
      }
      break;
    case 'kubernetes.io/ssh-auth':
      if (base64Length(str(data['ssh-privatekey'])) === 0) errs.push(required(key('data', 'ssh-privatekey')));
      break;
    case 'kubernetes.io/tls':
      if (!('tls.crt' in data)) errs.push(required(key('data', 'tls.crt')));
      if (!('tls.key' in data)) errs.push(required(key('data', 'tls.key')));
      break;
  }
  return errs;
}

export function validateSecretUpdate(secret: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(secret.metadata, old.metadata, 'metadata');
  if (str(secret.type) !== str(old.type)) errs.push(invalid('type', str(secret.type), FIELD_IMMUTABLE));
  errs.push(...immutableDataRules(secret, old, ['data']));
  return errs.concat(validateSecret(secret));
}

// ---- Namespace ----------------------------------------------------------------------------------

function validateNamespaceFinalizerName(f: string, path: string): Cause[] {
  const errs = isQualifiedName(f).map((m) => invalid(path, f, m));
  return errs.concat(validateKubeFinalizerName(f, path));
}

export function validateNamespace(ns: Obj): Cause[] {
  const errs = validateObjectMeta(ns.metadata, false, nameIsDNSLabel, 'metadata');
  for (const f of arr<string>(obj(ns.spec).finalizers)) errs.push(...validateNamespaceFinalizerName(str(f), 'spec.finalizers'));
  return errs;
}

export function validateNamespaceStatusUpdate(ns: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(ns.metadata, old.metadata, 'metadata');
  const phase = str(obj(ns.status).phase);
  if (!obj(ns.metadata).deletionTimestamp) {
    if (phase !== 'Active') errs.push(invalid('status.Phase', phase, "may only be 'Active' if `deletionTimestamp` is empty"));
  } else if (phase !== 'Terminating') errs.push(invalid('status.Phase', phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"));
  return errs;
}

export function validateNamespaceFinalizeUpdate(ns: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(ns.metadata, old.metadata, 'metadata');
  arr<string>(obj(ns.spec).finalizers).forEach((f, i) => errs.push(...validateNamespaceFinalizerName(str(f), `spec.finalizers[${i}]`)));
  return errs;
}

// ---- Node -----------------------------------------------------------------------------------------

function validateNodeTaints(taints: unknown, path: string): Cause[] {
  const errs: Cause[] = [];
  const unique = new Map<string, Set<string>>();
  arr(taints).forEach((raw, i) => {
    const t = obj(raw);
    const p = index(path, i);
    errs.push(...validateLabelName(str(t.key), child(p, 'key')));
    const vm = isValidLabelValue(str(t.value));
    if (vm.length) errs.push(invalid(child(p, 'value'), str(t.value), vm.join(';')));
    errs.push(...validateTaintEffect(str(t.effect), false, child(p, 'effect')));
    const set = unique.get(str(t.effect)) ?? new Set<string>();
    if (set.has(str(t.key))) {
      const d = duplicate(p, goStruct('core.Taint', { key: str(t.key), value: str(t.value), effect: str(t.effect), timeAdded: t.timeAdded ?? null }));
      d.message += ': taints must be unique by key and effect pair';
      errs.push(d);
      return;
    }
    set.add(str(t.key));
    unique.set(str(t.effect), set);
  });
  return errs;
}

function validateNodeResources(node: Obj): Cause[] {
  const errs: Cause[] = [];
  for (const which of ['capacity', 'allocatable'])
    for (const [k, v] of Object.entries(obj(obj(node.status)[which]))) {
      const q = Quantity.tryParse(v);
      if (q) errs.push(...validateResourceQuantityValue(k, q, `status.${which}.${k}`));
    }
  return errs;
}

export function validateNode(node: Obj): Cause[] {
  const errs = validateObjectMeta(node.metadata, false, nameIsDNSSubdomain, 'metadata');
  const spec = obj(node.spec);
  errs.push(...validateNodeTaints(spec.taints, 'metadata.taints'));
  errs.push(...validateNodeResources(node));
  const cidrs = arr<string>(spec.podCIDRs).map(str);
  cidrs.forEach((c, i) => errs.push(...isValidCIDR(`spec.podCIDRs[${i}]`, c)));
  if (cidrs.length > 1) {
    const fams = cidrs.map((c) => (c.includes(':') ? 6 : 4));
    if (cidrs.length > 2 || fams[0] === fams[1]) errs.push(invalid('spec.podCIDRs', goStringSlice(cidrs), 'may specify no more than one CIDR for each IP family'));
    const seen = new Set<string>();
    cidrs.forEach((c, i) => {
      if (seen.has(c)) errs.push(duplicate(`spec.podCIDRs[${i}]`, c));
      seen.add(c);
    });
  }
  return errs;
}

export function validateNodeUpdate(node: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(node.metadata, old.metadata, 'metadata');
  errs.push(...validateNodeResources(node));
  const seen = new Set<string>();
  arr(obj(node.status).addresses).forEach((a, i) => {
    const k = `${str(obj(a).type)}/${str(obj(a).address)}`;
    if (seen.has(k)) errs.push(duplicate(`status.addresses[${i}]`, goStruct('core.NodeAddress', obj(a))));
    seen.add(k);
  });
  const s = obj(node.spec);
  const o = obj(old.spec);
  const oc = arr<string>(o.podCIDRs);
  const nc = arr<string>(s.podCIDRs);
  if (oc.length > 0 && (oc.length !== nc.length || oc.some((c, i) => c !== nc[i])))
    errs.push(forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
  if (str(o.providerID) && str(o.providerID) !== str(s.providerID))
    errs.push(forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  if (str(s.externalID) !== str(o.externalID)) errs.push(forbidden('spec.externalID', 'may not be updated'));
  errs.push(...validateNodeTaints(s.taints, 'metadata.taints'));
  return errs;
}

// ---- PersistentVolume / PersistentVolumeClaim ---------------------------------------------------

const PV_SOURCES = [
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'hostPath',
  'glusterfs',
  'nfs',
  'rbd',
  'iscsi',
  'cinder',
  'cephfs',
  'fc',
  'flocker',
  'flexVolume',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'local',
  'storageos',
  'csi',
];
const RECLAIM_POLICIES = ['Delete', 'Recycle', 'Retain'];

export function validatePersistentVolume(pv: Obj): Cause[] {
  const errs = validateObjectMeta(pv.metadata, false, nameIsDNSSubdomain, 'metadata');
  const spec = obj(pv.spec);
  const modes = arr<string>(spec.accessModes).map(str);
  if (modes.length === 0) errs.push(required('spec.accessModes'));
  errs.push(...validateAccessModes(modes, 'spec.accessModes'));
  const cap = obj(spec.capacity);
  if (Object.keys(cap).length === 0) errs.push(required('spec.capacity'));
  if (!('storage' in cap) || Object.keys(cap).length > 1) errs.push(notSupported('spec.capacity', goStringMap(strMap(cap)), ['storage']));
  for (const [k, v] of Object.entries(cap)) {
    const q = Quantity.tryParse(v) ?? Quantity.zero();
    const p = key('spec.capacity', k);
    if (q.value() < 0) errs.push(invalid(p, q.value(), 'must be a valid resource quantity'));
    if (q.sign() <= 0) errs.push(invalid(p, q.toString(), 'must be greater than zero'));
  }
  const rp = str(spec.persistentVolumeReclaimPolicy);
  if (rp && !RECLAIM_POLICIES.includes(rp)) errs.push(notSupported('spec.persistentVolumeReclaimPolicy', rp, RECLAIM_POLICIES));
  let nodeAffinitySet = false;
  if (isObj(spec.nodeAffinity)) {
    nodeAffinitySet = true;
    if (isObj(spec.nodeAffinity.required)) errs.push(...validateNodeSelector(spec.nodeAffinity.required, 'spec.nodeAffinity.required'));
    else errs.push(required('spec.nodeAffinity.required', 'must specify required node constraints'));
  }
  let n = 0;
  for (const s of PV_SOURCES) {
    const src = spec[s];
    if (!isObj(src)) continue;
    if (n > 0 && s !== 'flexVolume') {
      errs.push(forbidden(`spec.${s}`, 'may not specify more than 1 volume type'));
      continue;
    }
    n++;
    const p = `spec.${s}`;
    if (s === 'hostPath' || s === 'local') {
      if (!str(src.path)) errs.push(required(`${p}.path`));
      else if (str(src.path).split('/').includes('..')) errs.push(invalid(`${p}.path`, str(src.path), "must not contain '..'"));
      if (s === 'local' && !nodeAffinitySet) errs.push(required('spec.nodeAffinity', 'Local volume requires node affinity'));
    } else if (s === 'nfs') {
      if (!str(src.server)) errs.push(required(`${p}.server`));
      if (!str(src.path)) errs.push(required(`${p}.path`));
      if (!str(src.path).startsWith('/')) errs.push(invalid(`${p}.path`, str(src.path), 'must be an absolute path'));
    } else if (s === 'csi') {
      errs.push(...validateCSIDriverName(str(src.driver), `${p}.driver`));
      if (!str(src.volumeHandle)) errs.push(required(`${p}.volumeHandle`));
    }
  }
  if (n === 0) errs.push(required('spec', 'must specify a volume type'));
  if (isObj(spec.hostPath) && str(spec.hostPath.path).replace(/\/+$/, '') === '' && rp === 'Recycle')
    errs.push(forbidden('spec.persistentVolumeReclaimPolicy', "may not be 'recycle' for a hostPath mount of '/'"));
  if (str(spec.storageClassName))
    for (const m of nameIsDNSSubdomain(str(spec.storageClassName), false)) errs.push(invalid('spec.storageClassName', str(spec.storageClassName), m));
  if (isSet(spec.volumeMode) && !VOLUME_MODES.includes(str(spec.volumeMode))) errs.push(notSupported('spec.volumeMode', str(spec.volumeMode), VOLUME_MODES));
  return errs;
}

function pvSource(spec: Obj): Obj {
  const out: Obj = {};
  for (const s of PV_SOURCES) if (isSet(spec[s])) out[s] = spec[s];
  return out;
}

export function validatePersistentVolumeUpdate(pv: Obj, old: Obj): Cause[] {
  const errs = validatePersistentVolume(pv);
  errs.push(...validateObjectMetaUpdate(pv.metadata, old.metadata, 'metadata'));
  const ns = pvSource(obj(pv.spec));
  const os = pvSource(obj(old.spec));
  if (isObj(os.csi) && isObj(ns.csi) && !isSet(os.csi.controllerExpandSecretRef)) ns.csi = { ...ns.csi, controllerExpandSecretRef: undefined };
  if (!semanticEqual(ns, os))
    errs.push(forbidden('spec.persistentvolumesource', `spec.persistentvolumesource is immutable after creation\n${specDiff('core.PersistentVolumeSource', os, ns)}`));
  const nm = obj(pv.spec).volumeMode;
  const om = obj(old.spec).volumeMode;
  if (!semanticEqual(nm, om)) errs.push(invalid('volumeMode', isSet(nm) ? str(nm) : null, FIELD_IMMUTABLE));
  if (isSet(obj(old.spec).nodeAffinity) && !semanticEqual(obj(pv.spec).nodeAffinity, obj(old.spec).nodeAffinity))
    errs.push(invalid('nodeAffinity', goStruct('&core.VolumeNodeAffinity', obj(obj(pv.spec).nodeAffinity)), FIELD_IMMUTABLE + ', except for updating from beta label to GA'));
  return errs;
}

export function validatePersistentVolumeClaim(pvc: Obj): Cause[] {
  const errs = validateObjectMeta(pvc.metadata, true, nameIsDNSSubdomain, 'metadata');
  return errs.concat(validatePersistentVolumeClaimSpec(obj(pvc.spec), 'spec'));
}

export function validatePersistentVolumeClaimUpdate(pvc: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(pvc.metadata, old.metadata, 'metadata');
  errs.push(...validatePersistentVolumeClaim(pvc));
  const ns: Obj = structuredClone(obj(pvc.spec));
  const os: Obj = structuredClone(obj(old.spec));
  if (!str(os.volumeName)) os.volumeName = ns.volumeName;
  const oldAnn = strMap(obj(old.metadata).annotations);
  const newAnn = strMap(obj(pvc.metadata).annotations);
  const betaKey = 'volume.beta.kubernetes.io/storage-class';
  const upgradeFromAnnotation =
    betaKey in oldAnn && !isSet(os.storageClassName) && isSet(ns.storageClassName) && ns.storageClassName === oldAnn[betaKey] && (!(betaKey in newAnn) || newAnn[betaKey] === oldAnn[betaKey]);
  if (upgradeFromAnnotation) delete ns.storageClassName;
  else {
    if ((newAnn[betaKey] ?? '') !== (oldAnn[betaKey] ?? '')) errs.push(invalid(`metadata.annotations.${betaKey}`, newAnn[betaKey] ?? '', FIELD_IMMUTABLE));
    if (isSet(ns.storageClassName) && !isSet(os.storageClassName) && (!(betaKey in oldAnn) || ns.storageClassName === oldAnn[betaKey]))
      ns.storageClassName = os.storageClassName;
  }
  const bound = obj(pvc.status).phase === 'Bound';
  if (bound && isObj(obj(ns.resources).requests)) {
    ns.resources = { ...obj(ns.resources), requests: { ...obj(obj(ns.resources).requests), storage: obj(obj(os.resources).requests).storage } };
  }
  if (bound && isSet(ns.volumeAttributesClassName)) ns.volumeAttributesClassName = os.volumeAttributesClassName;
  if (!semanticEqual(ns, os))
    errs.push(
      forbidden('spec', `spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n${specDiff('core.PersistentVolumeClaimSpec', os, ns)}`),
    );
  const newSize = Quantity.tryParse(obj(obj(obj(pvc.spec).resources).requests).storage) ?? Quantity.zero();
  const oldSize = Quantity.tryParse(obj(obj(obj(old.spec).resources).requests).storage) ?? Quantity.zero();
  const statusSize = Quantity.tryParse(obj(obj(old.status).capacity).storage) ?? Quantity.zero();
  if (newSize.cmp(oldSize) < 0 && newSize.cmp(statusSize) <= 0)
    errs.push(forbidden('spec.resources.requests.storage', 'field can not be less than status.capacity'));
  const nm = obj(pvc.spec).volumeMode;
  const om = obj(old.spec).volumeMode;
  if (!semanticEqual(nm, om)) errs.push(invalid('volumeMode', isSet(nm) ? str(nm) : null, FIELD_IMMUTABLE));
  return errs;
}

export function validatePersistentVolumeClaimStatusUpdate(pvc: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(pvc.metadata, old.metadata, 'metadata');
  if (arr(obj(pvc.spec).accessModes).length === 0) errs.push(required('Spec.accessModes'));
  for (const [k, v] of Object.entries(obj(obj(pvc.status).capacity))) {
    const q = Quantity.tryParse(v) ?? Quantity.zero();
    if (q.value() < 0) errs.push(invalid(key('status.capacity', k), q.value(), 'must be a valid resource quantity'));
  }
  return errs;
}


// ---- ServiceAccount, PodTemplate, ReplicationController ------------------------------------------

export function validateServiceAccount(sa: Obj): Cause[] {
  return validateObjectMeta(sa.metadata, true, nameIsDNSSubdomain, 'metadata');
}

export function validatePodTemplate(pt: Obj): Cause[] {
  const errs = validateObjectMeta(pt.metadata, true, nameIsDNSSubdomain, 'metadata');
  return errs.concat(validatePodTemplateSpec(pt.template, 'template'));
}

export function validateReplicationControllerSpec(spec: Obj, path = 'spec'): Cause[] {
  const errs: Cause[] = [];
  errs.push(...validateNonnegative(num(spec.minReadySeconds), child(path, 'minReadySeconds')));
  const sel = strMap(spec.selector);
  if (Object.keys(sel).length === 0) errs.push(required(child(path, 'selector')));
  errs.push(...validateNonnegative(num(spec.replicas), child(path, 'replicas')));
  const tp = child(path, 'template');
  if (!isObj(spec.template)) errs.push(required(tp));
  else {
    const t = spec.template;
    const labels = strMap(obj(t.metadata).labels);
    if (Object.keys(sel).length && !mapSelectorMatches(sel, labels))
      errs.push(invalid(child(tp, 'metadata', 'labels'), goStringMap(isObj(obj(t.metadata).labels) ? labels : null), '`selector` does not match template `labels`'));
    errs.push(...validatePodTemplateSpec(t, tp));
    const rp = str(obj(t.spec).restartPolicy);
    if (rp !== 'Always') errs.push(notSupported(child(tp, 'spec', 'restartPolicy'), rp, ['Always']));
    if (isSet(obj(t.spec).activeDeadlineSeconds))
      errs.push(forbidden(child(tp, 'spec', 'activeDeadlineSeconds'), 'activeDeadlineSeconds in ReplicationController is not Supported'));
  }
  return errs;
}

export function validateReplicationController(rc: Obj): Cause[] {
  const errs = validateObjectMeta(rc.metadata, true, nameIsDNSSubdomain, 'metadata');
  return errs.concat(validateReplicationControllerSpec(obj(rc.spec)));
}

export function validateReplicaCountsStatus(status: Obj, path: string, fields: string[], readyField = 'readyReplicas'): Cause[] {
  const errs: Cause[] = [];
  for (const f of fields) errs.push(...validateNonnegative(num(status[f]), child(path, f)));
  const msg = 'cannot be greater than status.replicas';
  for (const f of fields) {
    if (f === 'replicas' || f === 'observedGeneration' || f === 'collisionCount' || f === 'unavailableReplicas') continue;
    if (num(status[f]) > num(status.replicas)) errs.push(invalid(child(path, f), num(status[f]), msg));
  }
  if (fields.includes('availableReplicas') && num(status.availableReplicas) > num(status[readyField]))
    errs.push(invalid(child(path, 'availableReplicas'), num(status.availableReplicas), 'cannot be greater than readyReplicas'));
  return errs;
}

// ---- Endpoints ----------------------------------------------------------------------------------

export function validateEndpoints(ep: Obj): Cause[] {
  const errs = validateObjectMeta(ep.metadata, true, nameIsDNSSubdomain, 'metadata');
  arr(ep.subsets).forEach((raw, i) => {
    const ss = obj(raw);
    const p = `subsets[${i}]`;
    if (arr(ss.addresses).length === 0 && arr(ss.notReadyAddresses).length === 0) errs.push(required(p, 'must specify `addresses` or `notReadyAddresses`'));
    for (const which of ['addresses', 'notReadyAddresses'])
      arr(ss[which]).forEach((a, j) => {
        const addr = obj(a);
        const ap = `${p}.${which}[${j}]`;
        errs.push(...isValidIP(`${ap}.ip`, str(addr.ip)));
        if (str(addr.hostname)) errs.push(...validateDNS1123Label(str(addr.hostname), `${ap}.hostname`));
        if (isSet(addr.nodeName)) for (const m of isDNS1123Subdomain(str(addr.nodeName))) errs.push(invalid(`${ap}.nodeName`, str(addr.nodeName), m));
        if (parseIPSloppy(str(addr.ip))) errs.push(...validateNonSpecialIP(str(addr.ip), `${ap}.ip`));
      });
    const ports = arr(ss.ports);
    ports.forEach((raw2, j) => {
      const port = obj(raw2);
      const pp = `${p}.ports[${j}]`;
      if (ports.length > 1 && !str(port.name)) errs.push(required(`${pp}.name`));
      else if (str(port.name)) errs.push(...validateDNS1123Label(str(port.name), `${pp}.name`));
      for (const m of isValidPortNum(num(port.port))) errs.push(invalid(`${pp}.port`, num(port.port), m));
      const proto = str(port.protocol);
      if (!proto) errs.push(required(`${pp}.protocol`));
      else if (!SUPPORTED_PROTOCOLS.includes(proto)) errs.push(notSupported(`${pp}.protocol`, proto, SUPPORTED_PROTOCOLS));
      if (isSet(port.appProtocol)) errs.push(...validateQualifiedName(str(port.appProtocol), `${pp}.appProtocol`));
    });
  });
  return errs;
}

// ---- LimitRange / ResourceQuota ------------------------------------------------------------------

const LIMIT_TYPES = ['Pod', 'Container', 'PersistentVolumeClaim'];

export function validateLimitRange(lr: Obj): Cause[] {
  const errs = validateObjectMeta(lr.metadata, true, nameIsDNSSubdomain, 'metadata');
  const seen = new Set<string>();
  arr(obj(lr.spec).limits).forEach((raw, i) => {
    const l = obj(raw);
    const p = `spec.limits[${i}]`;
    const t = str(l.type);
    for (const m of isQualifiedName(t)) errs.push(invalid(`${p}.type`, t, m));
    if (!t.includes('/') && isQualifiedName(t).length === 0 && !LIMIT_TYPES.includes(t))
      errs.push(invalid(`${p}.type`, t, 'must be a standard limit type or fully qualified'));
    if (seen.has(t)) errs.push(duplicate(`${p}.type`, t));
    seen.add(t);
    if (t === 'Pod') {
      if (Object.keys(obj(l.default)).length) errs.push(forbidden(`${p}.default`, "may not be specified when `type` is 'Pod'"));
      if (Object.keys(obj(l.defaultRequest)).length) errs.push(forbidden(`${p}.defaultRequest`, "may not be specified when `type` is 'Pod'"));
    }
    if (t === 'PersistentVolumeClaim' && !isSet(obj(l.min).storage) && !isSet(obj(l.max).storage))
      errs.push(required(`${p}.limits`, 'either minimum or maximum storage value is required, but neither was provided'));
    const q = (m: unknown, k: string) => Quantity.tryParse(obj(m)[k]);
    const keys = new Set([...Object.keys(obj(l.min)), ...Object.keys(obj(l.max)), ...Object.keys(obj(l.default)), ...Object.keys(obj(l.defaultRequest))]);
    for (const k of keys) {
      const min = q(l.min, k);
      const max = q(l.max, k);
      const def = q(l.default, k);
      const defReq = q(l.defaultRequest, k);
      if (min && max && min.cmp(max) > 0) errs.push(invalid(key(`${p}.min`, k), goIntOrString(min.toString()), `min value ${min} is greater than max value ${max}`));
      if (defReq && min && min.cmp(defReq) > 0)
        errs.push(invalid(key(`${p}.defaultRequest`, k), goIntOrString(defReq.toString()), `min value ${min} is greater than default request value ${defReq}`));
      if (defReq && max && defReq.cmp(max) > 0)
        errs.push(invalid(key(`${p}.defaultRequest`, k), goIntOrString(defReq.toString()), `default request value ${defReq} is greater than max value ${max}`));
      if (defReq && def && defReq.cmp(def) > 0)
        errs.push(invalid(key(`${p}.defaultRequest`, k), goIntOrString(defReq.toString()), `default request value ${defReq} is greater than default limit value ${def}`));
      if (def && min && min.cmp(def) > 0) errs.push(invalid(key(`${p}.default`, k), goIntOrString(min.toString()), `min value ${min} is greater than default value ${def}`));
      if (def && max && def.cmp(max) > 0) errs.push(invalid(key(`${p}.default`, k), goIntOrString(max.toString()), `default value ${def} is greater than max value ${max}`));
    }
  });
  return errs;
}

const QUOTA_SCOPES = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'PriorityClass', 'CrossNamespacePodAffinity', 'VolumeAttributesClass'];

export function validateResourceQuota(rq: Obj): Cause[] {
  const errs = validateObjectMeta(rq.metadata, true, nameIsDNSSubdomain, 'metadata');
  errs.push(...validateResourceQuotaSpec(obj(rq.spec)));
  for (const which of ['hard', 'used'])
    for (const [k, v] of Object.entries(obj(obj(rq.status)[which]))) {
      const q = Quantity.tryParse(v);
      if (q && q.sign() < 0) errs.push(invalid(key(`status.${which}`, k), q.toString(), 'must be greater than or equal to 0'));
    }
  return errs;
}

export function validateResourceQuotaSpec(spec: Obj): Cause[] {
  const errs: Cause[] = [];
  for (const [k, v] of Object.entries(obj(spec.hard))) {
    const p = key('spec.hard', k);
    for (const m of isQualifiedName(k)) errs.push(invalid(p, goIntOrString(k), m));
    const q = Quantity.tryParse(v);
    if (q && q.sign() < 0) errs.push(invalid(p, q.toString(), 'must be greater than or equal to 0'));
  }
  const scopes = arr<string>(spec.scopes).map(str);
  for (const s of scopes) if (!QUOTA_SCOPES.includes(s)) errs.push(invalid('spec.scopes', goStringSlice(scopes, 'core.ResourceQuotaScope'), 'unsupported scope'));
  if ((scopes.includes('BestEffort') && scopes.includes('NotBestEffort')) || (scopes.includes('Terminating') && scopes.includes('NotTerminating')))
    errs.push(invalid('spec.scopes', goStringSlice(scopes, 'core.ResourceQuotaScope'), 'conflicting scopes'));
  return errs;
}

export function validateResourceQuotaUpdate(rq: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(rq.metadata, old.metadata, 'metadata');
  errs.push(...validateResourceQuotaSpec(obj(rq.spec)));
  const ns = new Set(arr<string>(obj(rq.spec).scopes));
  const os = new Set(arr<string>(obj(old.spec).scopes));
  if (ns.size !== os.size || [...ns].some((s) => !os.has(s)))
    errs.push(invalid('spec.scopes', goStringSlice(arr<string>(obj(rq.spec).scopes), 'core.ResourceQuotaScope'), FIELD_IMMUTABLE));
  return errs;
}

// ---- Event (core/v1, legacy rules) ---------------------------------------------------------------

export function validateEvent(ev: Obj): Cause[] {
  const errs: Cause[] = [];
  const meta = obj(ev.metadata);
  const ns = str(meta.namespace);
  const involved = obj(ev.involvedObject);
  const ins = str(involved.namespace);
  if (!str(ev.eventTime)) {
    if (!ins) {
      if (ns !== '' && ns !== 'default') errs.push(invalid('involvedObject.namespace', ins, 'does not match event.namespace'));
    } else if (ns !== ins) errs.push(invalid('involvedObject.namespace', ins, 'does not match event.namespace'));
  } else {
    if (!ins && ns !== 'default' && ns !== 'kube-system') errs.push(invalid('involvedObject.namespace', ins, 'does not match event.namespace'));
    const rc = str(ev.reportingComponent);
    if (!rc) errs.push(required('reportingComponent'));
    errs.push(...validateQualifiedName(rc, 'reportingComponent'));
    const ri = str(ev.reportingInstance);
    if (!ri) errs.push(required('reportingInstance'));
    if (ri.length > 128) errs.push(invalid('reportingInstance', '', 'can have at most 128 characters'));
    if (!str(ev.action)) errs.push(required('action'));
    if (str(ev.action).length > 128) errs.push(invalid('action', '', 'can have at most 128 characters'));
    if (!str(ev.reason)) errs.push(required('reason'));
    if (str(ev.reason).length > 128) errs.push(invalid('reason', '', 'can have at most 128 characters'));
    if (str(ev.message).length > 1024) errs.push(invalid('message', '', 'can have at most 1024 characters'));
  }
  for (const m of isDNS1123Subdomain(ns)) errs.push(invalid('namespace', ns, m));
  // the registry's common ObjectMeta checks (names may be anything path-safe)
  return errs;
}

// ---- Binding -------------------------------------------------------------------------------------

export function validateBinding(b: Obj): Cause[] {
  const errs: Cause[] = [];
  const t = obj(b.target);
  if (str(t.kind) && t.kind !== 'Node') errs.push(notSupported('target.kind', str(t.kind), ['Node', '<empty>']));
  if (!str(t.name)) errs.push(required('target.name'));
  return errs;
}

