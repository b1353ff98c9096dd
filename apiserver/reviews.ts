// Create-only "review" resources (upstream: pkg/registry/authorization and
// authentication/selfsubjectreview): clients asking the server a question —
// `kubectl auth can-i` (SelfSubjectAccessReview, SelfSubjectRulesReview), a webhook or
// proxy asking about someone else (SubjectAccessReview, LocalSubjectAccessReview), and
// `kubectl auth whoami` (SelfSubjectReview). Answered by the same authorizer that
// guards every request.
import type { KubeObject } from '../machinery/object.js';
import { badRequest } from '../machinery/status.js';
import type { UserInfo } from './context.js';
import type { RequestPipeline } from './pipeline.js';
import type { RequestAttributes } from './authorization/types.js';

interface ReviewSpec {
  user?: string;
  groups?: string[];
  uid?: string;
  extra?: Record<string, string[]>;
  resourceAttributes?: { namespace?: string; verb?: string; group?: string; version?: string; resource?: string; subresource?: string; name?: string };
  nonResourceAttributes?: { path?: string; verb?: string };
}

function userInfo(user: UserInfo): Record<string, unknown> {
  const out: Record<string, unknown> = { username: user.name, groups: user.groups };
  if (user.uid) out.uid = user.uid;
  if (user.extra) out.extra = user.extra;
  return out;
}

const NO_TIMESTAMP = { creationTimestamp: null } as unknown as KubeObject['metadata'];

function attributesOf(user: UserInfo, spec: ReviewSpec): RequestAttributes {
  const ra = spec.resourceAttributes;
  const nra = spec.nonResourceAttributes;
  if (ra && nra) throw badRequest('spec.resourceAttributes: Invalid value: ...: resourceAttributes and nonResourceAttributes are mutually exclusive');
  if (!ra && !nra) throw badRequest('spec.resourceAttributes: Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified');
  if (ra) {
    return {
      user,
      verb: ra.verb ?? '',
      resourceRequest: true,
      path: '',
      apiGroup: ra.group ?? '',
      apiVersion: ra.version ?? '',
      resource: ra.resource ?? '',
      subresource: ra.subresource ?? '',
      namespace: ra.namespace ?? '',
      name: ra.name ?? '',
    };
  }
  return { user, verb: nra!.verb ?? '', resourceRequest: false, path: nra!.path ?? '', apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '' };
}

function answer(pipeline: RequestPipeline, body: KubeObject, attrs: RequestAttributes): KubeObject {
  const d = pipeline.decide(attrs);
  const status: Record<string, unknown> = { allowed: d.decision === 'allow' };
  if (d.decision === 'deny') status.denied = true;
  if (d.reason) status.reason = d.reason;
  return { ...body, metadata: { ...(body.metadata ?? {}), ...NO_TIMESTAMP }, status };
}

export function registerReviews(pipeline: RequestPipeline): void {
  pipeline.handleVirtual('authorization.k8s.io/selfsubjectaccessreviews', (body, ctx) => answer(pipeline, body, attributesOf(ctx.user, (body.spec ?? {}) as ReviewSpec)));
  pipeline.handleVirtual('authorization.k8s.io/subjectaccessreviews', (body) => {
    const spec = (body.spec ?? {}) as ReviewSpec;
    if (!spec.user && !(spec.groups ?? []).length) throw badRequest('spec.user: Invalid value: "": at least one of user or group must be specified');
    const user: UserInfo = { name: spec.user ?? '', groups: spec.groups ?? [], uid: spec.uid, extra: spec.extra };
    return answer(pipeline, body, attributesOf(user, spec));
  });
  pipeline.handleVirtual('authorization.k8s.io/localsubjectaccessreviews', (body, _ctx, namespace) => {
    const spec = (body.spec ?? {}) as ReviewSpec;
    if (!spec.resourceAttributes || (spec.resourceAttributes.namespace ?? '') !== (namespace ?? '')) {
      throw badRequest(`spec.resourceAttributes.namespace must match namespace: ${namespace ?? ''}`);
    }
    const user: UserInfo = { name: spec.user ?? '', groups: spec.groups ?? [], uid: spec.uid, extra: spec.extra };
    return answer(pipeline, body, attributesOf(user, spec));
  });
  pipeline.handleVirtual('authorization.k8s.io/selfsubjectrulesreviews', (body, ctx) => {
    const namespace = ((body.spec ?? {}) as { namespace?: string }).namespace ?? '';
    const rules = pipeline.rulesFor(ctx.user, namespace);
    const status: Record<string, unknown> = { resourceRules: rules.resourceRules, nonResourceRules: rules.nonResourceRules, incomplete: rules.incomplete };
    if (rules.evaluationError) status.evaluationError = rules.evaluationError;
    return { ...body, metadata: NO_TIMESTAMP, status };
  });
  pipeline.handleVirtual('authentication.k8s.io/selfsubjectreviews', (_body, ctx) => ({
    metadata: NO_TIMESTAMP,
    status: { userInfo: userInfo(ctx.user) },
  }));
}
