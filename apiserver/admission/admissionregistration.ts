// admissionregistration.k8s.io/v1: the defaults of webhook configurations and admission
// policies (upstream: SetDefaults_ValidatingWebhook/MutatingWebhook/Rule/ServiceReference
// and the policy defaults) and the checks users meet most (upstream:
// pkg/apis/admissionregistration/validation), worded as upstream words them.
import { child, index, invalid, notSupported, required, duplicate, type Cause } from './field.js';
import { validateObjectMetaGeneric } from './meta.js';
import { nameIsDNSSubdomain } from './names.js';
import { arr, ensureObj, isObj, isSet, obj, str, type Obj } from './util.js';

function defaultRules(rules: unknown): void {
  for (const r of arr(rules).map(obj)) if (!isSet(r.scope)) r.scope = '*';
}

function defaultWebhook(w: Obj, mutating: boolean): void {
  if (!isSet(w.failurePolicy)) w.failurePolicy = 'Fail';
  if (!isSet(w.matchPolicy)) w.matchPolicy = 'Equivalent';
  if (!isSet(w.namespaceSelector)) w.namespaceSelector = {};
  if (!isSet(w.objectSelector)) w.objectSelector = {};
  if (!isSet(w.timeoutSeconds)) w.timeoutSeconds = 10;
  if (mutating && !isSet(w.reinvocationPolicy)) w.reinvocationPolicy = 'Never';
  defaultRules(w.rules);
  const svc = obj(obj(w.clientConfig).service);
  if (isObj(obj(w.clientConfig).service) && !isSet(svc.port)) svc.port = 443;
}

export const defaultValidatingWebhookConfiguration = (o: Obj): void => arr(o.webhooks).map(obj).forEach((w) => defaultWebhook(w, false));
export const defaultMutatingWebhookConfiguration = (o: Obj): void => arr(o.webhooks).map(obj).forEach((w) => defaultWebhook(w, true));

export function defaultValidatingAdmissionPolicy(o: Obj): void {
  const spec = ensureObj(o, 'spec');
  if (!isSet(spec.failurePolicy)) spec.failurePolicy = 'Fail';
  const mc = ensureObj(spec, 'matchConstraints');
  if (!isSet(mc.matchPolicy)) mc.matchPolicy = 'Equivalent';
  if (!isSet(mc.namespaceSelector)) mc.namespaceSelector = {};
  if (!isSet(mc.objectSelector)) mc.objectSelector = {};
  defaultRules(mc.resourceRules);
  defaultRules(mc.excludeResourceRules);
}

export function defaultValidatingAdmissionPolicyBinding(o: Obj): void {
  const spec = ensureObj(o, 'spec');
  if (isObj(spec.matchResources)) {
    const mr = obj(spec.matchResources);
    if (!isSet(mr.matchPolicy)) mr.matchPolicy = 'Equivalent';
    if (!isSet(mr.namespaceSelector)) mr.namespaceSelector = {};
    if (!isSet(mr.objectSelector)) mr.objectSelector = {};
    defaultRules(mr.resourceRules);
    defaultRules(mr.excludeResourceRules);
  }
  const pr = obj(spec.paramRef);
  if (isObj(spec.paramRef) && !isSet(pr.parameterNotFoundAction)) pr.parameterNotFoundAction = 'Deny';
}

// ---- validation ------------------------------------------------------------------------------

const OPERATIONS = ['*', 'CONNECT', 'CREATE', 'DELETE', 'UPDATE'];

function validateRules(rules: unknown, path: string, out: Cause[]): void {
  arr(rules).map(obj).forEach((r, i) => {
    const p = index(path, i);
    if (arr(r.operations).length === 0) out.push(required(child(p, 'operations')));
    arr(r.operations).forEach((op, j) => {
      if (!OPERATIONS.includes(str(op))) out.push(notSupported(index(child(p, 'operations'), j), op, OPERATIONS));
    });
    if (arr(r.apiGroups).length === 0) out.push(required(child(p, 'apiGroups')));
    if (arr(r.apiVersions).length === 0) out.push(required(child(p, 'apiVersions')));
    if (arr(r.resources).length === 0) out.push(required(child(p, 'resources')));
    if (isSet(r.scope) && !['*', 'Cluster', 'Namespaced'].includes(str(r.scope))) out.push(notSupported(child(p, 'scope'), r.scope, ['*', 'Cluster', 'Namespaced']));
  });
}

function validateWebhook(w: Obj, path: string, mutating: boolean, out: Cause[]): void {
  const name = str(w.name);
  if (!name) out.push(required(child(path, 'name')));
  else if (name.split('.').length < 3) out.push(invalid(child(path, 'name'), name, 'should be a domain with at least three segments separated by dots'));
  validateRules(w.rules, child(path, 'rules'), out);
  const versions = arr<string>(w.admissionReviewVersions);
  if (versions.length === 0) out.push(required(child(path, 'admissionReviewVersions'), 'must specify one of v1, v1beta1'));
  else if (!versions.some((v) => v === 'v1' || v === 'v1beta1')) out.push(invalid(child(path, 'admissionReviewVersions'), versions, 'must include at least one of v1, v1beta1'));
  if (!['None', 'NoneOnDryRun'].includes(str(w.sideEffects))) out.push(notSupported(child(path, 'sideEffects'), w.sideEffects ?? '', ['None', 'NoneOnDryRun']));
  if (!['Fail', 'Ignore'].includes(str(w.failurePolicy))) out.push(notSupported(child(path, 'failurePolicy'), w.failurePolicy, ['Fail', 'Ignore']));
  if (!['Exact', 'Equivalent'].includes(str(w.matchPolicy))) out.push(notSupported(child(path, 'matchPolicy'), w.matchPolicy, ['Equivalent', 'Exact']));
  if (mutating && !['IfNeeded', 'Never'].includes(str(w.reinvocationPolicy))) out.push(notSupported(child(path, 'reinvocationPolicy'), w.reinvocationPolicy, ['IfNeeded', 'Never']));
  const t = w.timeoutSeconds;
  if (typeof t === 'number' && (t < 1 || t > 30)) out.push(invalid(child(path, 'timeoutSeconds'), t, 'the timeout value must be between 1 and 30 seconds'));
  const cc = obj(w.clientConfig);
  const ccPath = child(path, 'clientConfig');
  const hasURL = isSet(cc.url);
  const hasService = isObj(cc.service);
  if (hasURL === hasService) out.push(required(ccPath, 'exactly one of url or service is required'));
  if (hasURL) {
    let u: URL | undefined;
    try {
      u = new URL(str(cc.url));
    } catch {
      out.push(invalid(child(ccPath, 'url'), cc.url, 'host must be specified'));
    }
    if (u && u.protocol !== 'https:') out.push(invalid(child(ccPath, 'url'), cc.url, "'https' is the only allowed URL scheme"));
  }
  if (hasService) {
    const s = obj(cc.service);
    const sp = child(ccPath, 'service');
    if (!str(s.name)) out.push(required(child(sp, 'name'), 'service name is required'));
    if (!str(s.namespace)) out.push(required(child(sp, 'namespace'), 'service namespace is required'));
    const port = s.port;
    if (typeof port === 'number' && (port < 1 || port > 65535)) out.push(invalid(child(sp, 'port'), port, 'port is not valid: must be between 1 and 65535, inclusive'));
    if (isSet(s.path) && !str(s.path).startsWith('/')) out.push(invalid(child(sp, 'path'), s.path, "must start with a '/'"));
  }
  const conds = arr(w.matchConditions).map(obj);
  if (conds.length > 64) out.push({ reason: 'FieldValueTooMany', field: child(path, 'matchConditions'), message: `Too many: ${conds.length}: must have at most 64 items` });
  const seen = new Set<string>();
  conds.forEach((c, i) => {
    const p = index(child(path, 'matchConditions'), i);
    if (!str(c.name)) out.push(required(child(p, 'name')));
    else if (seen.has(str(c.name))) out.push(duplicate(child(p, 'name'), c.name));
    seen.add(str(c.name));
    if (!str(c.expression)) out.push(required(child(p, 'expression')));
  });
}

function validateWebhookConfiguration(o: Obj, mutating: boolean): Cause[] {
  const out = validateObjectMetaGeneric(o.metadata, false, nameIsDNSSubdomain);
  const names = new Set<string>();
  arr(o.webhooks).map(obj).forEach((w, i) => {
    const p = index('webhooks', i);
    if (str(w.name) && names.has(str(w.name))) out.push(duplicate(child(p, 'name'), w.name));
    names.add(str(w.name));
    validateWebhook(w, p, mutating, out);
  });
  return out;
}

export const validateValidatingWebhookConfiguration = (o: Obj): Cause[] => validateWebhookConfiguration(o, false);
export const validateMutatingWebhookConfiguration = (o: Obj): Cause[] => validateWebhookConfiguration(o, true);

export function validateValidatingAdmissionPolicy(o: Obj): Cause[] {
  const out = validateObjectMetaGeneric(o.metadata, false, nameIsDNSSubdomain);
  const spec = obj(o.spec);
  const validations = arr(spec.validations).map(obj);
  if (validations.length === 0 && arr(spec.auditAnnotations).length === 0) out.push(required('spec.validations', 'validations or auditAnnotations must contain at least one item'));
  validations.forEach((v, i) => {
    if (!str(v.expression)) out.push(required(child(index('spec.validations', i), 'expression')));
    if (isSet(v.reason) && !['Unauthorized', 'Forbidden', 'Invalid', 'RequestEntityTooLarge'].includes(str(v.reason))) {
      out.push(notSupported(child(index('spec.validations', i), 'reason'), v.reason, ['Unauthorized', 'Forbidden', 'Invalid', 'RequestEntityTooLarge']));
    }
  });
  if (!['Fail', 'Ignore'].includes(str(spec.failurePolicy))) out.push(notSupported('spec.failurePolicy', spec.failurePolicy, ['Fail', 'Ignore']));
  const mc = obj(spec.matchConstraints);
  if (arr(mc.resourceRules).length === 0) out.push(required('spec.matchConstraints.resourceRules'));
  validateRules(mc.resourceRules, 'spec.matchConstraints.resourceRules', out);
  return out;
}

export function validateValidatingAdmissionPolicyBinding(o: Obj): Cause[] {
  const out = validateObjectMetaGeneric(o.metadata, false, nameIsDNSSubdomain);
  const spec = obj(o.spec);
  if (!str(spec.policyName)) out.push(required('spec.policyName'));
  const actions = arr<string>(spec.validationActions);
  if (actions.length === 0) out.push(required('spec.validationActions'));
  actions.forEach((a, i) => {
    if (!['Deny', 'Warn', 'Audit'].includes(a)) out.push(notSupported(index('spec.validationActions', i), a, ['Audit', 'Deny', 'Warn']));
  });
  if (actions.includes('Deny') && actions.includes('Warn')) out.push(invalid('spec.validationActions', actions, 'must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)'));
  return out;
}
