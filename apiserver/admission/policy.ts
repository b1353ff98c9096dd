// The ValidatingAdmissionPolicy plugin (upstream: apiserver/pkg/admission/plugin/policy/
// validating): CEL validations from ValidatingAdmissionPolicy objects, put in force by
// ValidatingAdmissionPolicyBindings. Policies and bindings are kept in memory, re-read
// only when the watch cache reports a change of either; each binding that matches a
// request evaluates its policy's matchConditions, variables and validations over
// `object`, `oldObject`, `request`, `params` and `namespaceObject`, then acts on a
// failure as its validationActions say (Deny, Warn, Audit).
import type { KubeObject } from '../../machinery/object.js';
import { labelSelectorMatches } from '../../machinery/labels.js';
import { resourceByKind, splitApiVersion, type ResourceInfo } from '../../machinery/resources.js';
import { StatusError, qualifiedResource } from '../../machinery/status.js';
import type { AdmissionPlugin, AdmissionRequest } from './chain.js';
import { evalCel, toCel } from './cel.js';
import { admissionReviewRequest, celRequest, isExemptFromAdmissionHooks, rulesMatch, selectorsMatch, type RuleWithOperations, type WebhookLookups } from './webhook.js';
import { arr, isObj, obj, str, strMap, type Obj } from './util.js';

const GROUP = 'admissionregistration.k8s.io';

interface NamedRule extends RuleWithOperations {
  resourceNames?: string[];
}

interface MatchResources {
  namespaceSelector?: unknown;
  objectSelector?: unknown;
  resourceRules?: NamedRule[];
  excludeResourceRules?: NamedRule[];
  matchPolicy?: string;
}

const REASON_CODES: Record<string, number> = { Unauthorized: 401, Forbidden: 403, Invalid: 422, RequestEntityTooLarge: 413 };

function namedRulesMatch(rules: readonly NamedRule[], matchPolicy: string, req: AdmissionRequest): boolean {
  const applicable = rules.filter((r) => !arr(r.resourceNames).length || arr<string>(r.resourceNames).includes(req.name));
  return !!rulesMatch(applicable, matchPolicy, req);
}

/** Whether the match resources cover the request (upstream matching.Matcher). */
function matchResources(mr: MatchResources, req: AdmissionRequest, lookups: WebhookLookups): boolean {
  if (!selectorsMatch(mr.namespaceSelector ?? {}, mr.objectSelector ?? {}, req, lookups)) return false;
  const policy = mr.matchPolicy ?? 'Equivalent';
  if (arr(mr.excludeResourceRules).length && namedRulesMatch(arr(mr.excludeResourceRules), policy, req)) return false;
  // A binding without resourceRules narrows nothing (the policy's rules still apply).
  return !arr(mr.resourceRules).length || namedRulesMatch(arr(mr.resourceRules), policy, req);
}

function celMessage(expr: string, vars: Obj): string | undefined {
  try {
    const m = evalCel(expr, vars);
    if (typeof m === 'string' && m.trim() && !m.includes('\n')) return m.trim();
  } catch {
    // upstream falls back to the static message
  }
  return undefined;
}

interface Failure {
  message: string;
  reason: string;
}

export function validatingAdmissionPolicyAdmission(lookups: WebhookLookups): AdmissionPlugin {
  let state: { policies: Map<string, KubeObject>; bindings: KubeObject[] } | undefined;
  const invalidate = () => void (state = undefined);
  lookups.onChange(GROUP, 'validatingadmissionpolicies', invalidate);
  lookups.onChange(GROUP, 'validatingadmissionpolicybindings', invalidate);
  const current = () => {
    if (!state) {
      const policies = new Map(lookups.list(GROUP, 'validatingadmissionpolicies').map((p) => [str(p.metadata?.name), p] as const));
      const bindings = [...lookups.list(GROUP, 'validatingadmissionpolicybindings')].sort((a, b) => (str(a.metadata?.name) < str(b.metadata?.name) ? -1 : 1));
      state = { policies, bindings };
    }
    return state;
  };

  /** The params objects a binding names, or undefined when the policy takes none. */
  const paramsFor = (policy: Obj, binding: Obj, req: AdmissionRequest): KubeObject[] | 'not-found' | undefined => {
    const kind = obj(obj(policy.spec).paramKind);
    if (!str(kind.kind)) return undefined;
    const ref = obj(obj(binding.spec).paramRef);
    const { group, version } = splitApiVersion(str(kind.apiVersion));
    const res: ResourceInfo | undefined = resourceByKind(group, version, str(kind.kind));
    if (!res) return 'not-found';
    const ns = res.namespaced ? str(ref.namespace) || req.namespace : undefined;
    let found: KubeObject[] = [];
    try {
      if (str(ref.name)) {
        const o = lookups.get(res.group, res.plural, ns, str(ref.name));
        found = o ? [o] : [];
      } else if (isObj(ref.selector)) {
        found = lookups.list(res.group, res.plural, ns).filter((o) => labelSelectorMatches(ref.selector, strMap(o.metadata?.labels)));
      }
    } catch {
      found = [];
    }
    return found.length ? found : 'not-found';
  };

  /** Evaluate one policy with one params object; the failures (validations that did not hold). */
  const evaluate = (policy: Obj, vars: Obj): Failure[] | 'skip' => {
    const spec = obj(policy.spec);
    const failurePolicy = str(spec.failurePolicy) || 'Fail';
    const errorFailure = (message: string): Failure[] | 'skip' => (failurePolicy === 'Ignore' ? [] : [{ message, reason: 'Invalid' }]);
    for (const c of arr(spec.matchConditions).map(obj)) {
      try {
        const v = evalCel(str(c.expression), vars);
        if (v === false) return 'skip';
        if (v !== true) return errorFailure(`expression '${str(c.expression)}' resulted in error: no such overload`);
      } catch (err) {
        return errorFailure(`expression '${str(c.expression)}' resulted in error: ${(err as Error).message}`);
      }
    }
    const variables: Record<string, unknown> = {};
    vars.variables = variables;
    for (const v of arr(spec.variables).map(obj)) {
      try {
        variables[str(v.name)] = evalCel(str(v.expression), vars);
      } catch {
        // A variable that fails is an error only where it is used.
      }
    }
    const out: Failure[] = [];
    for (const v of arr(spec.validations).map(obj)) {
      const expr = str(v.expression);
      let ok: unknown;
      try {
        ok = evalCel(expr, vars);
      } catch (err) {
        if (failurePolicy !== 'Ignore') out.push({ message: `expression '${expr}' resulted in error: ${(err as Error).message}`, reason: 'Invalid' });
        continue;
      }
      if (ok === true) continue;
      if (ok !== false) {
        if (failurePolicy !== 'Ignore') out.push({ message: `expression '${expr}' resulted in error: no such overload`, reason: 'Invalid' });
        continue;
      }
      let message = str(v.messageExpression) ? celMessage(str(v.messageExpression), vars) : undefined;
      message ??= str(v.message) || `failed expression: ${expr.trim()}`;
      out.push({ message, reason: str(v.reason) || 'Invalid' });
    }
    return out;
  };

  return {
    name: 'ValidatingAdmissionPolicy',
    validate(req) {
      if (isExemptFromAdmissionHooks(req.resource) || req.operation === 'CONNECT') return;
      const { policies, bindings } = current();
      if (!bindings.length) return;
      let base: Obj | undefined;
      for (const binding of bindings as Obj[]) {
        const bspec = obj(binding.spec);
        const policy = policies.get(str(bspec.policyName)) as Obj | undefined;
        if (!policy) continue;
        const pspec = obj(policy.spec);
        if (!matchResources(obj(pspec.matchConstraints) as MatchResources, req, lookups)) continue;
        if (isObj(bspec.matchResources) && !matchResources(bspec.matchResources as MatchResources, req, lookups)) continue;
        if (!base) {
          const review = admissionReviewRequest(req, req.resource, '');
          const nsObj = req.namespace ? lookups.get('', 'namespaces', undefined, req.namespace) : undefined;
          base = { object: toCel(req.object ?? null), oldObject: toCel(req.oldObject ?? null), request: celRequest(review), namespaceObject: toCel(nsObj ?? null) };
        }
        const policyName = str(policy.metadata && obj(policy.metadata).name);
        const bindingName = str(binding.metadata && obj(binding.metadata).name);
        const params = paramsFor(policy, binding, req);
        let failures: Failure[] = [];
        if (params === 'not-found') {
          if (str(obj(bspec.paramRef).parameterNotFoundAction) !== 'Allow') {
            failures = [{ message: 'failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction', reason: 'Invalid' }];
          }
        } else {
          for (const p of params ?? [null]) {
            const r = evaluate(policy, { ...base, params: toCel(p) });
            if (r !== 'skip') failures.push(...r);
          }
        }
        if (!failures.length) continue;
        const actions = arr<string>(bspec.validationActions);
        if (actions.includes('Warn')) {
          for (const f of failures) req.warnings.push(`Validation failed for ValidatingAdmissionPolicy '${policyName}' with binding '${bindingName}': ${f.message}`);
        }
        if (actions.includes('Deny')) {
          const f = failures[0];
          const message = `ValidatingAdmissionPolicy '${policyName}' with binding '${bindingName}' denied request: ${f.message}`;
          const resource = qualifiedResource(req.resource.group, req.resource.plural);
          throw new StatusError(REASON_CODES[f.reason] ?? 422, f.reason, `${resource} "${req.name}" is forbidden: ${message}`, {
            name: req.name,
            group: req.resource.group || undefined,
            kind: req.resource.plural,
            causes: [{ message }],
          });
        }
      }
    },
  };
}
