// The RBAC authorizer (upstream: plugin/pkg/auth/authorizer/rbac and
// pkg/registry/rbac/validation DefaultRuleResolver): the rules a user holds are the
// rules of every role bound to them — by ClusterRoleBindings everywhere, by
// RoleBindings in the binding's namespace. RBAC only ever allows; when nothing
// matches it has no opinion (the chain then denies).
//
// Resolving a user's rules walks every binding, so the result is memoized per
// (user, groups) for the cluster part and per (user, groups, namespace) for the
// namespaced part; invalidate() drops everything when any role or binding changes.
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding, RoleRef, Subject } from 'kubernetes-types/rbac/v1.js';
import type { UserInfo } from '../context.js';
import type { Authorizer, Decision, PolicyRule, RequestAttributes, RulesForUser } from './types.js';

/** Where the authorizer reads roles and bindings (the lead backs it with informer caches). */
export interface RbacSource {
  role(namespace: string, name: string): Role | undefined;
  clusterRole(name: string): ClusterRole | undefined;
  roleBindings(namespace: string): Iterable<RoleBinding>;
  clusterRoleBindings(): Iterable<ClusterRoleBinding>;
}

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
const SA_PREFIX = 'system:serviceaccount:';

// ---- rule matching (upstream pkg/apis/rbac/v1/evaluation_helpers.go) --------------

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  for (const v of rule.verbs) if (v === '*' || v === verb) return true;
  return false;
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  for (const g of rule.apiGroups ?? []) if (g === '*' || g === group) return true;
  return false;
}

// `*`, the exact `resource/subresource`, or "*" + "/subresource" (upstream authorization has no `resource/*`).
export function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource && r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(subresource)) return true;
  }
  return false;
}

export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames;
  if (!names || names.length === 0) return true;
  return names.includes(name);
}

export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(trimRightStars(u))) return true;
  }
  return false;
}

export function trimRightStars(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 42) end--;
  return s.slice(0, end);
}

export function ruleAllows(attrs: RequestAttributes, rule: PolicyRule): boolean {
  if (attrs.resourceRequest) {
    const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    return verbMatches(rule, attrs.verb) && apiGroupMatches(rule, attrs.apiGroup) && resourceMatches(rule, combined, attrs.subresource) && resourceNameMatches(rule, attrs.name);
  }
  return verbMatches(rule, attrs.verb) && nonResourceURLMatches(rule, attrs.path);
}

export function rulesAllow(attrs: RequestAttributes, rules: readonly PolicyRule[]): boolean {
  for (const r of rules) if (ruleAllows(attrs, r)) return true;
  return false;
}

// ---- subjects and sources ------------------------------------------------------------

/** Whether a binding subject names this user; `namespace` is the binding's ('' for cluster bindings). */
export function subjectAppliesTo(user: UserInfo, subject: Subject, namespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return user.name === subject.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      // An unqualified SA subject in a RoleBinding means the binding's namespace.
      const ns = subject.namespace || namespace;
      if (!ns) return false;
      const n = user.name;
      return n.length === SA_PREFIX.length + ns.length + 1 + subject.name.length && n.startsWith(SA_PREFIX) && n.startsWith(ns, SA_PREFIX.length) && n.charCodeAt(SA_PREFIX.length + ns.length) === 58 && n.endsWith(subject.name);
    }
    default:
      return false;
  }
}

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `${s.kind} ${goQuote(`${s.name}/${s.namespace || bindingNamespace}`)}`;
  return `${s.kind} ${goQuote(s.name)}`;
}

/** Go's %q of a string (JSON escaping is the same for everything a Kubernetes name may hold). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Go's %q of a []string: `["a" "b"]`. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map(goQuote).join(' ')}]`;
}

/** utilerrors.NewAggregate(errs).Error(): one error as is, several as `[a, b]`. */
export function aggregateMessage(errors: readonly string[]): string {
  return errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`;
}

/** One binding's contribution: who granted it (for allow reasons) and the rules. */
export interface RuleSource {
  /** `ClusterRoleBinding "x" of ClusterRole "y" to User "z"`. */
  description: string;
  rules: readonly PolicyRule[];
}

export interface ResolvedRules {
  sources: RuleSource[];
  /** Role references that could not be resolved (the rules are then incomplete). */
  errors: string[];
}

const EMPTY: ResolvedRules = { sources: [], errors: [] };
const MAX_CACHED = 20000;

export class RbacAuthorizer implements Authorizer {
  private clusterCache = new Map<string, ResolvedRules>();
  private namespaceCache = new Map<string, ResolvedRules>();
  /** The entry namespaceRules found last, with the cache it is in (see namespaceRules). */
  private lastNamespaceRules?: { cache: Map<string, ResolvedRules>; user: string; namespace: string; rules: ResolvedRules };

  constructor(private readonly source: RbacSource) {}

  /** Any Role, ClusterRole, RoleBinding or ClusterRoleBinding changed. */
  invalidate(): void {
    this.clusterCache = new Map();
    this.namespaceCache = new Map();
  }

  authorize(attrs: RequestAttributes): Decision {
    const cluster = this.clusterRules(attrs.user);
    for (const s of cluster.sources) {
      for (const r of s.rules) if (ruleAllows(attrs, r)) return { decision: 'allow', reason: `RBAC: allowed by ${s.description}` };
    }
    const local = attrs.namespace ? this.namespaceRules(attrs.user, attrs.namespace) : EMPTY;
    for (const s of local.sources) {
      for (const r of s.rules) if (ruleAllows(attrs, r)) return { decision: 'allow', reason: `RBAC: allowed by ${s.description}` };
    }
    const errors = local.errors.length ? [...cluster.errors, ...local.errors] : cluster.errors;
    return { decision: 'noOpinion', reason: errors.length ? `RBAC: ${aggregateMessage(errors)}` : '' };
  }

  /** Every rule the user holds in `namespace` ('' for cluster-wide only), cluster bindings first. */
  resolve(user: UserInfo, namespace: string): { rules: PolicyRule[]; errors: string[] } {
    const parts = namespace ? [this.clusterRules(user), this.namespaceRules(user, namespace)] : [this.clusterRules(user)];
    const rules: PolicyRule[] = [];
    const errors: string[] = [];
    for (const p of parts) {
      for (const s of p.sources) rules.push(...s.rules);
      errors.push(...p.errors);
    }
    return { rules, errors };
  }

  /** What SelfSubjectRulesReview reports (upstream RBACAuthorizer.RulesFor). */
  rulesFor(user: UserInfo, namespace: string): RulesForUser {
    const { rules, errors } = this.resolve(user, namespace);
    const out: RulesForUser = { resourceRules: [], nonResourceRules: [], incomplete: false };
    for (const r of rules) {
      if (r.resources && r.resources.length > 0) {
        const rr: RulesForUser['resourceRules'][number] = { verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources };
        if (r.resourceNames && r.resourceNames.length > 0) rr.resourceNames = r.resourceNames;
        out.resourceRules.push(rr);
      }
      if (r.nonResourceURLs && r.nonResourceURLs.length > 0) out.nonResourceRules.push({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs });
    }
    if (errors.length) out.evaluationError = aggregateMessage(errors);
    return out;
  }

  /** The rules a role reference grants, or the lister's NotFound message. */
  roleReferenceRules(ref: RoleRef, bindingNamespace: string): { rules?: readonly PolicyRule[]; error?: string } {
    return roleReferenceRules(this.source, ref, bindingNamespace);
  }

  private clusterRules(user: UserInfo): ResolvedRules {
    const key = userKey(user);
    let hit = this.clusterCache.get(key);
    if (hit) return hit;
    hit = { sources: [], errors: [] };
    for (const b of this.source.clusterRoleBindings()) {
      const subject = firstApplying(user, b.subjects, '');
      if (!subject) continue;
      const { rules, error } = this.roleReferenceRules(b.roleRef, '');
      if (error !== undefined) {
        hit.errors.push(error);
        continue;
      }
      hit.sources.push({
        description: `ClusterRoleBinding ${goQuote(b.metadata?.name ?? '')} of ${b.roleRef.kind} ${goQuote(b.roleRef.name)} to ${describeSubject(subject, '')}`,
        rules: rules!,
      });
    }
    if (this.clusterCache.size >= MAX_CACHED) this.clusterCache.clear();
    this.clusterCache.set(key, hit);
    return hit;
  }

  private namespaceRules(user: UserInfo, namespace: string): ResolvedRules {
    const forUser = userKey(user);
    // The same user in the same namespace as last time (a client's run of requests): its
    // entry without a key built and looked up, while the cache is the same one.
    const last = this.lastNamespaceRules;
    if (last && last.cache === this.namespaceCache && last.user === forUser && last.namespace === namespace) return last.rules;
    const key = `${forUser}\u0001${namespace}`;
    let hit = this.namespaceCache.get(key);
    if (hit) {
      this.lastNamespaceRules = { cache: this.namespaceCache, user: forUser, namespace, rules: hit };
      return hit;
    }
    hit = { sources: [], errors: [] };
    for (const b of this.source.roleBindings(namespace)) {
      const subject = firstApplying(user, b.subjects, namespace);
      if (!subject) continue;
      const { rules, error } = this.roleReferenceRules(b.roleRef, namespace);
      if (error !== undefined) {
        hit.errors.push(error);
        continue;
      }
      hit.sources.push({
        description: `RoleBinding ${goQuote(`${b.metadata?.name ?? ''}/${namespace}`)} of ${b.roleRef.kind} ${goQuote(b.roleRef.name)} to ${describeSubject(subject, namespace)}`,
        rules: rules!,
      });
    }
    if (this.namespaceCache.size >= MAX_CACHED) this.namespaceCache.clear();
    this.namespaceCache.set(key, hit);
    return hit;
  }
}

/** upstream GetRoleReferenceRules: the referenced role's rules, or the lister's NotFound message. */
export function roleReferenceRules(source: RbacSource, ref: RoleRef, bindingNamespace: string): { rules?: readonly PolicyRule[]; error?: string } {
  switch (ref.kind) {
    case 'Role': {
      const role = bindingNamespace ? source.role(bindingNamespace, ref.name) : undefined;
      return role ? { rules: role.rules ?? [] } : { error: `role.${RBAC_GROUP} ${goQuote(ref.name)} not found` };
    }
    case 'ClusterRole': {
      const role = source.clusterRole(ref.name);
      return role ? { rules: role.rules ?? [] } : { error: `clusterrole.${RBAC_GROUP} ${goQuote(ref.name)} not found` };
    }
    default:
      return { error: `unsupported role reference kind: ${goQuote(ref.kind)}` };
  }
}

/** The last user keyed: requests come in runs of one client, each with an identity object of its own. */
let lastKeyed: { name: string; groups: readonly string[]; key: string } | undefined;

function userKey(user: UserInfo): string {
  const last = lastKeyed;
  if (last && last.name === user.name && sameStrings(last.groups, user.groups)) return last.key;
  const key = user.groups.length ? `${user.name}\u0000${user.groups.join('\u0000')}` : user.name;
  lastKeyed = { name: user.name, groups: [...user.groups], key };
  return key;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function firstApplying(user: UserInfo, subjects: readonly Subject[] | undefined, namespace: string): Subject | undefined {
  if (!subjects) return undefined;
  for (const s of subjects) if (subjectAppliesTo(user, s, namespace)) return s;
  return undefined;
}

// ---- coverage (upstream k8s.io/component-helpers/auth/rbac/validation) --------------

/** One rule per (group, resource, verb[, name]) and per (url, verb). */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        if (rule.resourceNames && rule.resourceNames.length > 0) {
          for (const name of rule.resourceNames) out.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [name] });
        } else {
          out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        }
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) for (const verb of rule.verbs) out.push({ nonResourceURLs: [url], verbs: [verb] });
  return out;
}

function hasAll(set: readonly string[] | undefined, contains: readonly string[] | undefined): boolean {
  if (!contains || contains.length === 0) return true;
  if (!set) return false;
  for (const c of contains) if (!set.includes(c)) return false;
  return true;
}

function resourceCoversAll(owner: readonly string[] | undefined, servant: readonly string[] | undefined): boolean {
  const o = owner ?? [];
  if (o.includes('*') || hasAll(o, servant)) return true;
  for (const path of servant ?? []) {
    if (o.includes(path)) continue;
    const slash = path.indexOf('/');
    if (slash < 0) return false;
    if (!o.includes(`*/${path.slice(slash + 1)}`)) return false;
  }
  return true;
}

function nonResourceURLCovers(owner: string, sub: string): boolean {
  if (owner === sub) return true;
  return owner.endsWith('*') && sub.startsWith(trimRightStars(owner));
}

function nonResourceURLsCoverAll(owner: readonly string[] | undefined, servant: readonly string[] | undefined): boolean {
  for (const path of servant ?? []) {
    if (!(owner ?? []).some((o) => nonResourceURLCovers(o, path))) return false;
  }
  return true;
}

export function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verbs = owner.verbs.includes('*') || hasAll(owner.verbs, sub.verbs);
  const groups = (owner.apiGroups ?? []).includes('*') || hasAll(owner.apiGroups, sub.apiGroups);
  const resources = resourceCoversAll(owner.resources, sub.resources);
  const urls = nonResourceURLsCoverAll(owner.nonResourceURLs, sub.nonResourceURLs);
  const ownerNames = owner.resourceNames ?? [];
  const names = !sub.resourceNames || sub.resourceNames.length === 0 ? ownerNames.length === 0 : ownerNames.length === 0 || hasAll(ownerNames, sub.resourceNames);
  return verbs && groups && resources && names && urls;
}

/** Whether `owner` rules hold every permission in `servant`; the broken-down rules they miss. */
export function covers(owner: readonly PolicyRule[], servant: readonly PolicyRule[]): { covered: boolean; missing: PolicyRule[] } {
  const missing: PolicyRule[] = [];
  for (const s of servant) {
    for (const sub of breakdownRule(s)) {
      if (!owner.some((o) => ruleCovers(o, sub))) missing.push(sub);
    }
  }
  return { covered: missing.length === 0, missing };
}

/** Merge rules naming one group, one resource and at most one name into one rule per target (upstream CompactRules). */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const simple = new Map<string, PolicyRule>();
  for (const r of rules) {
    const key = simpleResourceKey(r);
    if (key === undefined) {
      out.push(r);
      continue;
    }
    const existing = simple.get(key);
    if (existing) existing.verbs = [...existing.verbs, ...r.verbs];
    else simple.set(key, structuredClone(r));
  }
  out.push(...simple.values());
  return out;
}

function simpleResourceKey(r: PolicyRule): string | undefined {
  if ((r.resourceNames?.length ?? 0) > 1 || (r.nonResourceURLs?.length ?? 0) > 0) return undefined;
  if (r.apiGroups?.length !== 1 || r.resources?.length !== 1) return undefined;
  const name = r.resourceNames?.length ? `\u0001${r.resourceNames[0]}` : '';
  return `${r.apiGroups[0]}\u0000${r.resources[0]}${name}`;
}

/** `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}` (upstream rbacv1helpers.CompactString). */
export function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuoteList(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuoteList(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoteList(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuoteList(r.resourceNames)}`);
  if (r.verbs?.length) parts.push(`Verbs:${goQuoteList(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

// ---- a ready RbacSource fed by watch events --------------------------------------

type RbacKindName = 'Role' | 'ClusterRole' | 'RoleBinding' | 'ClusterRoleBinding';
type AnyRbacObject = Role | ClusterRole | RoleBinding | ClusterRoleBinding;

/**
 * Roles and bindings indexed the way the authorizer reads them (role bindings by
 * namespace). Feed it every add/update/delete of the four kinds; each change calls
 * `onChange` (pass the authorizer's invalidate).
 */
export class RbacCache implements RbacSource {
  private readonly rolesByKey = new Map<string, Role>();
  private readonly clusterRolesByName = new Map<string, ClusterRole>();
  private readonly bindingsByNamespace = new Map<string, Map<string, RoleBinding>>();
  private readonly clusterBindingsByName = new Map<string, ClusterRoleBinding>();

  constructor(private readonly onChange: () => void = () => undefined) {}

  role(namespace: string, name: string): Role | undefined {
    return this.rolesByKey.get(`${namespace}/${name}`);
  }
  clusterRole(name: string): ClusterRole | undefined {
    return this.clusterRolesByName.get(name);
  }
  roleBindings(namespace: string): Iterable<RoleBinding> {
    return this.bindingsByNamespace.get(namespace)?.values() ?? [];
  }
  clusterRoleBindings(): Iterable<ClusterRoleBinding> {
    return this.clusterBindingsByName.values();
  }

  /** An object of one of the four kinds was added or updated (`kind` defaults to obj.kind). */
  upsert(obj: AnyRbacObject, kind: RbacKindName = obj.kind as RbacKindName): void {
    this.write(kind, obj, false);
  }

  delete(obj: AnyRbacObject, kind: RbacKindName = obj.kind as RbacKindName): void {
    this.write(kind, obj, true);
  }

  private write(kind: RbacKindName, obj: AnyRbacObject, remove: boolean): void {
    const name = obj.metadata?.name ?? '';
    const ns = obj.metadata?.namespace ?? '';
    switch (kind) {
      case 'Role':
        if (remove) this.rolesByKey.delete(`${ns}/${name}`);
        else this.rolesByKey.set(`${ns}/${name}`, obj as Role);
        break;
      case 'ClusterRole':
        if (remove) this.clusterRolesByName.delete(name);
        else this.clusterRolesByName.set(name, obj as ClusterRole);
        break;
      case 'RoleBinding': {
        let m = this.bindingsByNamespace.get(ns);
        if (remove) {
          m?.delete(name);
          if (m?.size === 0) this.bindingsByNamespace.delete(ns);
        } else {
          if (!m) this.bindingsByNamespace.set(ns, (m = new Map()));
          m.set(name, obj as RoleBinding);
        }
        break;
      }
      case 'ClusterRoleBinding':
        if (remove) this.clusterBindingsByName.delete(name);
        else this.clusterBindingsByName.set(name, obj as ClusterRoleBinding);
        break;
      default:
        return;
    }
    this.onChange();
  }
}
