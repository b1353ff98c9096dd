// networking.k8s.io/v1: Ingress, IngressClass, NetworkPolicy (pkg/apis/networking/validation).
import { child, forbidden, goStringSlice, goStruct, invalid, notSupported, required, tooLong, FIELD_IMMUTABLE, type Cause } from './field.js';
import { validateLabelSelector, validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import {
  cidrContainsIP,
  cidrNetwork,
  isDNS1123Subdomain,
  isDomainPrefixedPath,
  isValidCIDR,
  isValidPortName,
  isValidPortNum,
  isWildcardDNS1123Subdomain,
  nameIsDNS1035Label,
  nameIsDNSSubdomain,
  parseCIDRSloppy,
  parseIPSloppy,
} from './names.js';
import { arr, isObj, isSet, num, obj, str, type Obj } from './util.js';

// ---- Ingress ---------------------------------------------------------------------------------

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];
const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];

function validateTypedLocalObjectReference(ref: Obj, path: string): Cause[] {
  const errs: Cause[] = [];
  if (isSet(ref.apiGroup)) for (const m of isDNS1123Subdomain(str(ref.apiGroup))) errs.push(invalid(child(path, 'apiGroup'), str(ref.apiGroup), m));
  if (!str(ref.kind)) errs.push(required(child(path, 'kind')));
  else if (/[/%]/.test(str(ref.kind))) errs.push(invalid(child(path, 'kind'), str(ref.kind), `may not contain '${str(ref.kind).includes('/') ? '/' : '%'}'`));
  if (!str(ref.name)) errs.push(required(child(path, 'name')));
  else if (/[/%]/.test(str(ref.name))) errs.push(invalid(child(path, 'name'), str(ref.name), `may not contain '${str(ref.name).includes('/') ? '/' : '%'}'`));
  return errs;
}

function validateIngressBackend(b: Obj, path: string): Cause[] {
  const hasRes = isObj(b.resource);
  const hasSvc = isObj(b.service);
  if (hasRes && hasSvc) return [invalid(path, '', 'cannot set both resource and service backends')];
  if (hasRes) return validateTypedLocalObjectReference(obj(b.resource), child(path, 'resource'));
  if (!hasSvc) return [invalid(path, '', 'resource or service backend is required')];
  const errs: Cause[] = [];
  const svc = obj(b.service);
  const name = str(svc.name);
  if (!name) errs.push(required(child(path, 'service', 'name')));
  else for (const m of nameIsDNS1035Label(name, false)) errs.push(invalid(child(path, 'service', 'name'), name, m));
  const port = obj(svc.port);
  const pn = str(port.name);
  const pnum = num(port.number);
  if (pn && pnum) errs.push(invalid(path, '', 'cannot set both port name & port number'));
  else if (pn) for (const m of isValidPortName(pn)) errs.push(invalid(child(path, 'service', 'port', 'name'), pn, m));
  else if (pnum) for (const m of isValidPortNum(pnum)) errs.push(invalid(child(path, 'service', 'port', 'number'), pnum, m));
  else errs.push(required(path, 'port name or number is required'));
  return errs;
}

function validateHTTPIngressPath(p: Obj, path: string): Cause[] {
  if (!isSet(p.pathType)) return [required(child(path, 'pathType'), 'pathType must be specified')];
  const errs: Cause[] = [];
  const pt = str(p.pathType);
  const v = str(p.path);
  if (pt === 'Exact' || pt === 'Prefix') {
    if (!v.startsWith('/')) errs.push(invalid(child(path, 'path'), v, 'must be an absolute path'));
    if (v) {
      for (const seq of INVALID_PATH_SEQUENCES) if (v.includes(seq)) errs.push(invalid(child(path, 'path'), v, `must not contain '${seq}'`));
      for (const suf of INVALID_PATH_SUFFIXES) if (v.endsWith(suf)) errs.push(invalid(child(path, 'path'), v, `cannot end with '${suf}'`));
    }
  } else if (pt === 'ImplementationSpecific') {
    if (v && !v.startsWith('/')) errs.push(invalid(child(path, 'path'), v, 'must be an absolute path'));
  } else errs.push(notSupported(child(path, 'pathType'), pt, PATH_TYPES));
  return errs.concat(validateIngressBackend(obj(p.backend), child(path, 'backend')));
}

function validateIngressRules(rules: Obj[], path: string): Cause[] {
  const errs: Cause[] = [];
  rules.forEach((r, i) => {
    const rp = `${path}[${i}]`;
    const host = str(r.host);
    if (host) {
      if (parseIPSloppy(host)) errs.push(invalid(child(rp, 'host'), host, 'must be a DNS name, not an IP address'));
      const msgs = host.includes('*') ? isWildcardDNS1123Subdomain(host) : isDNS1123Subdomain(host);
      for (const m of msgs) errs.push(invalid(child(rp, 'host'), host, m));
    }
    if (isObj(r.http)) {
      const paths = arr(r.http.paths);
      const hp = child(rp, 'http');
      if (paths.length === 0) errs.push(required(child(hp, 'paths')));
      paths.forEach((p, j) => errs.push(...validateHTTPIngressPath(obj(p), `${child(hp, 'paths')}[${j}]`)));
    }
  });
  return errs;
}

export function validateIngressSpec(spec: Obj, path = 'spec'): Cause[] {
  const errs: Cause[] = [];
  const rules = arr(spec.rules).map(obj);
  if (rules.length === 0 && !isObj(spec.defaultBackend))
    errs.push(invalid(path, goStruct('[]networking.IngressRule', rules), 'either `defaultBackend` or `rules` must be specified'));
  if (isObj(spec.defaultBackend)) errs.push(...validateIngressBackend(spec.defaultBackend, child(path, 'defaultBackend')));
  if (rules.length) errs.push(...validateIngressRules(rules, child(path, 'rules')));
  arr(spec.tls).forEach((raw, i) => {
    const t = obj(raw);
    const tp = `${child(path, 'tls')}[${i}]`;
    arr<string>(t.hosts).forEach((h, j) => {
      const host = str(h);
      const msgs = host.includes('*') ? isWildcardDNS1123Subdomain(host) : isDNS1123Subdomain(host);
      for (const m of msgs) errs.push(invalid(`${child(tp, 'hosts')}[${j}]`, host, m));
    });
    if (str(t.secretName)) for (const m of nameIsDNSSubdomain(str(t.secretName), false)) errs.push(invalid(child(tp, 'secretName'), str(t.secretName), m));
  });
  if (isSet(spec.ingressClassName))
    for (const m of nameIsDNSSubdomain(str(spec.ingressClassName), false)) errs.push(invalid(child(path, 'ingressClassName'), str(spec.ingressClassName), m));
  return errs;
}

export function validateIngress(ing: Obj): Cause[] {
  const errs = validateObjectMeta(ing.metadata, true, nameIsDNSSubdomain, 'metadata');
  errs.push(...validateIngressSpec(obj(ing.spec)));
  const ann = obj(obj(ing.metadata).annotations);
  const cls = obj(ing.spec).ingressClassName;
  if ('kubernetes.io/ingress.class' in ann && isSet(cls) && str(ann['kubernetes.io/ingress.class']) !== str(cls))
    errs.push(invalid('annotations.kubernetes.io/ingress.class', str(ann['kubernetes.io/ingress.class']), 'must match `ingressClassName` when both are specified'));
  return errs;
}

export function validateIngressUpdate(ing: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(ing.metadata, old.metadata, 'metadata');
  return errs.concat(validateIngressSpec(obj(ing.spec)));
}

export function validateIngressStatusUpdate(ing: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(ing.metadata, old.metadata, 'metadata');
  arr(obj(obj(ing.status).loadBalancer).ingress).forEach((raw, i) => {
    const lb = obj(raw);
    const p = `status.loadBalancer.ingress[${i}]`;
    if (str(lb.ip) && !parseIPSloppy(str(lb.ip))) errs.push(invalid(`${p}.ip`, str(lb.ip), 'must be a valid IP address'));
    if (str(lb.hostname)) {
      for (const m of isDNS1123Subdomain(str(lb.hostname))) errs.push(invalid(`${p}.hostname`, str(lb.hostname), m));
      if (parseIPSloppy(str(lb.hostname))) errs.push(invalid(`${p}.hostname`, str(lb.hostname), 'must be a DNS name, not an IP address'));
    }
  });
  return errs;
}

// ---- IngressClass ------------------------------------------------------------------------------

function validateIngressClassSpec(spec: Obj): Cause[] {
  const errs: Cause[] = [];
  const c = str(spec.controller);
  if (c.length > 250) errs.push(tooLong('spec.controller', 250));
  errs.push(...isDomainPrefixedPath('spec.controller', c));
  if (isObj(spec.parameters)) {
    const p = spec.parameters;
    const pp = 'spec.parameters';
    errs.push(...validateTypedLocalObjectReference(p, pp));
    const scope = isSet(p.scope) ? str(p.scope) : undefined;
    if (scope === undefined) {
      if (isSet(p.namespace)) errs.push(required(`${pp}.scope`, '`parameters.scope` is required when `parameters.namespace` is set'));
    } else if (scope === 'Namespace') {
      if (!isSet(p.namespace)) errs.push(required(`${pp}.namespace`, '`parameters.scope` is set to "Namespace"'));
    } else if (scope === 'Cluster') {
      if (isSet(p.namespace)) errs.push(forbidden(`${pp}.namespace`, '`parameters.scope` is set to "Cluster"'));
    } else errs.push(notSupported(`${pp}.scope`, scope, ['Cluster', 'Namespace']));
  }
  return errs;
}

export function validateIngressClass(ic: Obj): Cause[] {
  const errs = validateObjectMeta(ic.metadata, false, nameIsDNSSubdomain, 'metadata');
  return errs.concat(validateIngressClassSpec(obj(ic.spec)));
}

export function validateIngressClassUpdate(ic: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(ic.metadata, old.metadata, 'metadata');
  errs.push(...validateIngressClassSpec(obj(ic.spec)));
  if (str(obj(ic.spec).controller) !== str(obj(old.spec).controller)) errs.push(invalid('spec.controller', str(obj(ic.spec).controller), FIELD_IMMUTABLE));
  return errs;
}

// ---- NetworkPolicy --------------------------------------------------------------------------------

function validateNetworkPolicyPort(port: Obj, path: string): Cause[] {
  const errs: Cause[] = [];
  if (isSet(port.protocol) && !['TCP', 'UDP', 'SCTP'].includes(str(port.protocol)))
    errs.push(notSupported(child(path, 'protocol'), str(port.protocol), ['TCP', 'UDP', 'SCTP']));
  if (isSet(port.port)) {
    if (typeof port.port === 'number') {
      for (const m of isValidPortNum(port.port)) errs.push(invalid(child(path, 'port'), port.port, m));
      if (isSet(port.endPort)) {
        if (num(port.endPort) < port.port) errs.push(invalid(child(path, 'endPort'), port.port, 'must be greater than or equal to `port`'));
        for (const m of isValidPortNum(num(port.endPort))) errs.push(invalid(child(path, 'endPort'), num(port.endPort), m));
      }
    } else {
      if (isSet(port.endPort)) errs.push(invalid(child(path, 'endPort'), num(port.endPort), 'may not be specified when `port` is non-numeric'));
      for (const m of isValidPortName(str(port.port))) errs.push(invalid(child(path, 'port'), str(port.port), m));
    }
  } else if (isSet(port.endPort)) errs.push(invalid(child(path, 'endPort'), num(port.endPort), 'may not be specified when `port` is not specified'));
  return errs;
}

function validateIPBlock(ipb: Obj, path: string): Cause[] {
  const cidr = str(ipb.cidr);
  if (!cidr) return [required(child(path, 'cidr'))];
  const errs = isValidCIDR(child(path, 'cidr'), cidr);
  const outer = parseCIDRSloppy(cidr);
  if (!outer) return errs;
  arr<string>(ipb.except).forEach((e, i) => {
    const p = `${child(path, 'except')}[${i}]`;
    errs.push(...isValidCIDR(p, str(e)));
    const inner = parseCIDRSloppy(str(e));
    if (!inner) return;
    if (!cidrContainsIP({ ...outer, bytes: cidrNetwork(outer) }, cidrNetwork(inner)) || outer.prefix >= inner.prefix)
      errs.push(invalid(p, str(e), 'must be a strict subset of `cidr`'));
  });
  return errs;
}

function validateNetworkPolicyPeer(peer: Obj, path: string): Cause[] {
  const errs: Cause[] = [];
  let n = 0;
  if (isObj(peer.podSelector)) {
    n++;
    errs.push(...validateLabelSelector(peer.podSelector, child(path, 'podSelector')));
  }
  if (isObj(peer.namespaceSelector)) {
    n++;
    errs.push(...validateLabelSelector(peer.namespaceSelector, child(path, 'namespaceSelector')));
  }
  if (isObj(peer.ipBlock)) {
    n++;
    errs.push(...validateIPBlock(peer.ipBlock, child(path, 'ipBlock')));
  }
  if (n === 0) errs.push(required(path, 'must specify a peer'));
  else if (n > 1 && isObj(peer.ipBlock)) errs.push(forbidden(path, 'may not specify both ipBlock and another peer'));
  return errs;
}

export function validateNetworkPolicySpec(spec: Obj, path = 'spec'): Cause[] {
  const errs = validateLabelSelector(obj(spec.podSelector), child(path, 'podSelector'));
  for (const [dir, peers] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const) {
    arr(spec[dir]).forEach((raw, i) => {
      const rule = obj(raw);
      const rp = `${child(path, dir)}[${i}]`;
      arr(rule.ports).forEach((p, j) => errs.push(...validateNetworkPolicyPort(obj(p), `${child(rp, 'ports')}[${j}]`)));
      arr(rule[peers]).forEach((p, j) => errs.push(...validateNetworkPolicyPeer(obj(p), `${child(rp, peers)}[${j}]`)));
    });
  }
  const types = arr<string>(spec.policyTypes).map(str);
  if (types.length > 2) {
    errs.push(invalid(child(path, 'policyTypes'), goStringSlice(types, 'networking.PolicyType'), 'may not specify more than two policyTypes'));
    return errs;
  }
  types.forEach((t, i) => {
    if (t !== 'Ingress' && t !== 'Egress') errs.push(notSupported(`${child(path, 'policyTypes')}[${i}]`, t, ['Ingress', 'Egress']));
  });
  return errs;
}

export function validateNetworkPolicy(np: Obj): Cause[] {
  const errs = validateObjectMeta(np.metadata, true, nameIsDNSSubdomain, 'metadata');
  return errs.concat(validateNetworkPolicySpec(obj(np.spec)));
}

export function validateNetworkPolicyUpdate(np: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(np.metadata, old.metadata, 'metadata');
  return errs.concat(validateNetworkPolicySpec(obj(np.spec)));
}

