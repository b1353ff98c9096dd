// The bootstrap token authenticator (upstream: plugin/pkg/auth/authenticator/token/bootstrap):
// `Bearer <id>.<secret>` is user `system:bootstrap:<id>` in `system:bootstrappers` and the
// token's `auth-extra-groups`, when kube-system/bootstrap-token-<id> is a Secret of type
// bootstrap.kubernetes.io/token with that secret, usable for authentication, not expired
// and not being deleted. Read from the watch cache: a deleted or expired token stops
// working at once.
import { timingSafeEqual } from 'node:crypto';
import {
  BOOTSTRAP_GROUP_PATTERN,
  BOOTSTRAP_TOKEN_NAMESPACE,
  BOOTSTRAP_TOKEN_SECRET_PREFIX,
  BOOTSTRAP_TOKEN_SECRET_TYPE,
  BOOTSTRAP_USER_PREFIX,
  BOOTSTRAPPERS_GROUP,
  TOKEN_PATTERN,
  isTokenExpired,
  secretValues,
} from '../machinery/bootstrap-token.js';
import type { KubeObject } from '../machinery/object.js';
import type { TokenAuthenticator } from './authentication.js';
import type { UserInfo } from './context.js';
import { AUTHENTICATED } from './authentication.js';

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `secretOf(name)`: the kube-system Secret of that name, or undefined. */
export function bootstrapTokenAuthenticator(secretOf: (name: string) => KubeObject | undefined): TokenAuthenticator {
  return (token: string): UserInfo | undefined => {
    const m = TOKEN_PATTERN.exec(token);
    if (!m) return undefined;
    const [, id, secret] = m;
    const s = secretOf(BOOTSTRAP_TOKEN_SECRET_PREFIX + id) as (KubeObject & { type?: string; data?: Record<string, string> }) | undefined;
    if (!s || s.type !== BOOTSTRAP_TOKEN_SECRET_TYPE || s.metadata?.deletionTimestamp) return undefined;
    const v = secretValues(s);
    if (v['token-id'] !== id || !sameString(v['token-secret'] ?? '', secret)) return undefined;
    if (isTokenExpired(v)) return undefined;
    if (v['usage-bootstrap-authentication'] !== 'true') return undefined;
    const extra = (v['auth-extra-groups'] ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter((g) => g.length > 0);
    // Upstream refuses the token when a listed group is not a bootstrappers group.
    if (extra.some((g) => !BOOTSTRAP_GROUP_PATTERN.test(g))) return undefined;
    return { name: BOOTSTRAP_USER_PREFIX + id, groups: [BOOTSTRAPPERS_GROUP, ...extra.filter((g) => g !== BOOTSTRAPPERS_GROUP), AUTHENTICATED] };
  };
}

export { BOOTSTRAP_TOKEN_NAMESPACE };
