// What an authorizer is asked and what it answers (upstream: apiserver/pkg/authorization/
// authorizer). Every request — HTTP or in-process — is turned into these attributes by
// the request pipeline, then asked of the authorizer chain (Node, then RBAC).
// Authorizers answer synchronously: they read from in-memory caches fed by watches,
// never from the store per request.
import type { UserInfo } from '../context.js';

export interface RequestAttributes {
  user: UserInfo;
  /**
   * Resource requests: get, list, watch, create, update, patch, delete, deletecollection,
   * plus the special verbs impersonate, bind, escalate, use, approve, sign.
   * Non-resource requests: the lower-cased HTTP method as upstream maps it (get, post,
   * put, patch, delete, head→get).
   */
  verb: string;
  /** True for /api/... and /apis/... resource paths; false for /healthz, /version, discovery documents. */
  resourceRequest: boolean;
  /** The URL path (non-resource requests are matched on it). */
  path: string;
  apiGroup: string;
  apiVersion: string;
  /** Plural resource name ('pods'); empty for non-resource requests. */
  resource: string;
  /** 'status', 'log', 'exec', ...; empty when none. */
  subresource: string;
  namespace: string;
  name: string;
}

export type DecisionKind = 'allow' | 'deny' | 'noOpinion';

export interface Decision {
  decision: DecisionKind;
  /** Why (shown in SubjectAccessReview status.reason / evaluationError). */
  reason: string;
}

export interface Authorizer {
  authorize(attrs: RequestAttributes): Decision;
}

/** A policy rule as rbac.authorization.k8s.io/v1 spells it. */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** What SelfSubjectRulesReview reports for a user in a namespace. */
export interface RulesForUser {
  resourceRules: { verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[] }[];
  nonResourceRules: { verbs: string[]; nonResourceURLs?: string[] }[];
  incomplete: boolean;
  evaluationError?: string;
}

/** Tries each authorizer in turn; the first allow or deny wins (upstream union authorizer). */
export class AuthorizerChain implements Authorizer {
  constructor(private readonly authorizers: Authorizer[]) {}

  authorize(attrs: RequestAttributes): Decision {
    const reasons: string[] = [];
    for (const a of this.authorizers) {
      const d = a.authorize(attrs);
      if (d.decision !== 'noOpinion') return d;
      if (d.reason) reasons.push(d.reason);
    }
    return { decision: 'noOpinion', reason: reasons.join('; ') };
  }
}
