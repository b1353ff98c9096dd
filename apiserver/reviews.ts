// Create-only "review" resources: clients asking the server a question about
// themselves (`kubectl auth can-i`, `kubectl auth whoami`). Until RBAC lands every
// authenticated user may do everything, so the answers say so truthfully.
import type { KubeObject } from '../machinery/object.js';
import type { ApiServer } from './server.js';
import type { UserInfo } from './context.js';

function userInfo(user: UserInfo): Record<string, unknown> {
  const out: Record<string, unknown> = { username: user.name, groups: user.groups };
  if (user.uid) out.uid = user.uid;
  if (user.extra) out.extra = user.extra;
  return out;
}

function allowed(body: KubeObject): KubeObject {
  return { ...body, metadata: { ...(body.metadata ?? {}), creationTimestamp: null } as unknown as KubeObject['metadata'], status: { allowed: true, reason: 'kite: authenticated users are cluster administrators until RBAC is enabled' } };
}

export function registerReviews(api: ApiServer): void {
  api.onVirtual('authorization.k8s.io/selfsubjectaccessreviews', (body) => allowed(body));
  api.onVirtual('authorization.k8s.io/subjectaccessreviews', (body) => allowed(body));
  api.onVirtual('authorization.k8s.io/localsubjectaccessreviews', (body) => allowed(body));
  api.onVirtual('authorization.k8s.io/selfsubjectrulesreviews', (body) => ({
    ...body,
    metadata: { creationTimestamp: null } as unknown as KubeObject['metadata'],
    status: {
      resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
      nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
      incomplete: false,
    },
  }));
  api.onVirtual('authentication.k8s.io/selfsubjectreviews', (_body, user) => ({
    metadata: { creationTimestamp: null } as unknown as KubeObject['metadata'],
    status: { userInfo: userInfo(user) },
  }));
}
