// Who may use the kubelet's API, and for what (upstream: pkg/kubelet/server/auth.go
// and the kubelet's webhook authenticator/authorizer, as kubeadm configures them:
// anonymous off, x509 client certificates from the cluster CA, webhook token
// authentication and webhook authorization).
//
//   authentication: a client certificate signed by the cluster CA (user = CN,
//   groups = O), else a bearer token checked with a TokenReview; neither → 401.
//   authorization: a SubjectAccessReview for verb (from the HTTP method) on
//   nodes/<subresource> named after this node: /stats → stats, /metrics → metrics,
//   /logs → log, everything else → proxy; denied → 403.
//
// Both answers are cached (TokenReview 2 min, SAR allowed 5 min / denied 30 s, the
// kubelet's defaults) so streaming and log requests cost no API round trip each.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ApiObject, ApiTransport } from '../../client/transport.js';
import { resourceByPath } from '../../machinery/resources.js';
import { errorMessage } from '../util.js';

const TOKEN_REVIEWS = resourceByPath('authentication.k8s.io', 'v1', 'tokenreviews')!;
const SUBJECT_ACCESS_REVIEWS = resourceByPath('authorization.k8s.io', 'v1', 'subjectaccessreviews')!;

const AUTHN_TTL_MS = 2 * 60_000;
const AUTHN_FAILURE_TTL_MS = 10_000;
const AUTHZ_ALLOWED_TTL_MS = 5 * 60_000;
const AUTHZ_DENIED_TTL_MS = 30_000;
const CACHE_MAX = 2048;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export interface KubeletUser {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface NodeRequestAttributes {
  verb: string;
  resource: 'nodes';
  subresource: string;
  name: string;
  path: string;
}

export type AuthResult = { ok: true; user: KubeletUser; attrs: NodeRequestAttributes } | { ok: false; code: 401 | 403 | 500; message: string };

/** An HTTP method as an API verb (upstream nodeAuthorizerAttributesGetter). */
export function apiVerb(method: string | undefined): string {
  switch (method) {
    case 'POST':
      return 'create';
    case 'GET':
      return 'get';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return '';
  }
}

function isSubpath(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** The authorization attributes of a kubelet API request. */
export function nodeRequestAttributes(nodeName: string, method: string | undefined, path: string): NodeRequestAttributes {
  let subresource = 'proxy';
  if (isSubpath(path, '/stats')) subresource = 'stats';
  else if (isSubpath(path, '/metrics')) subresource = 'metrics';
  else if (isSubpath(path, '/logs')) subresource = 'log';
  return { verb: apiVerb(method), resource: 'nodes', subresource, name: nodeName, path };
}

/** A small TTL cache that forgets its oldest entries beyond a bound. */
class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  constructor(private readonly now: () => number) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.entries.delete(key);
    if (this.entries.size >= CACHE_MAX) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, until: this.now() + ttlMs });
  }
}

export interface KubeletAuthOptions {
  nodeName: string;
  /** The kubelet's own API client (TokenReview, SubjectAccessReview). */
  transport: ApiTransport;
  now?: () => number;
  log?: (msg: string) => void;
}

export class KubeletAuth {
  private readonly tokens: TtlCache<KubeletUser | null>;
  private readonly decisions: TtlCache<boolean>;
  /** A connection's certificate never changes: read its user once. */
  private readonly certUsers = new WeakMap<TLSSocket, KubeletUser | null>();

  constructor(private readonly opts: KubeletAuthOptions) {
    const now = opts.now ?? Date.now;
    this.tokens = new TtlCache(now);
    this.decisions = new TtlCache(now);
  }

  private certUser(sock: TLSSocket): KubeletUser | undefined {
    let user = this.certUsers.get(sock);
    if (user === undefined) {
      user = null;
      const peer = sock.authorized ? sock.getPeerCertificate?.() : undefined;
      // Only certificates meant for clients (upstream's x509 authenticator asks for ExtKeyUsageClientAuth).
      const usages = (peer as { ext_key_usage?: string[] } | undefined)?.ext_key_usage;
      if (peer && (!usages || usages.includes(CLIENT_AUTH))) {
        const subject = peer.subject as unknown as Record<string, string | string[]> | undefined;
        const cn = subject?.CN;
        if (cn) {
          const o = subject.O;
          const groups = Array.isArray(o) ? o : o ? [o] : [];
          user = { name: Array.isArray(cn) ? cn[0]! : cn, groups: [...groups, 'system:authenticated'] };
        }
      }
      this.certUsers.set(sock, user);
    }
    return user ?? undefined;
  }

  private async tokenUser(token: string): Promise<KubeletUser | undefined> {
    const key = createHash('sha256').update(token).digest('base64');
    const cached = this.tokens.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const review = await this.opts.transport.create<ApiObject & { status?: { authenticated?: boolean; user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> } } }>(
      TOKEN_REVIEWS,
      undefined,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } as never,
    );
    const u = review.status?.authenticated ? review.status.user : undefined;
    const user: KubeletUser | null = u?.username ? { name: u.username, uid: u.uid || undefined, groups: u.groups ?? [], extra: u.extra } : null;
    this.tokens.set(key, user, user ? AUTHN_TTL_MS : AUTHN_FAILURE_TTL_MS);
    return user ?? undefined;
  }

  /** Who is asking: a certificate user, a token user, or nobody. */
  async authenticate(req: IncomingMessage): Promise<KubeletUser | undefined> {
    const fromCert = this.certUser(req.socket as TLSSocket);
    if (fromCert) return fromCert;
    const auth = req.headers.authorization;
    if (!auth || !/^bearer /i.test(auth)) return undefined;
    const token = auth.slice(7).trim();
    if (!token) return undefined;
    return this.tokenUser(token);
  }

  /** A SubjectAccessReview for the request, cached. */
  async authorize(user: KubeletUser, attrs: NodeRequestAttributes): Promise<boolean> {
    const key = JSON.stringify([user.name, user.uid ?? '', user.groups, user.extra ?? {}, attrs.verb, attrs.subresource]);
    const cached = this.decisions.get(key);
    if (cached !== undefined) return cached;
    const sar = await this.opts.transport.create<ApiObject & { status?: { allowed?: boolean } }>(SUBJECT_ACCESS_REVIEWS, undefined, {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: user.name,
        ...(user.uid ? { uid: user.uid } : {}),
        groups: user.groups,
        ...(user.extra ? { extra: user.extra } : {}),
        resourceAttributes: { verb: attrs.verb, group: '', version: 'v1', resource: attrs.resource, subresource: attrs.subresource, name: attrs.name },
      },
    } as never);
    const allowed = !!sar.status?.allowed;
    this.decisions.set(key, allowed, allowed ? AUTHZ_ALLOWED_TTL_MS : AUTHZ_DENIED_TTL_MS);
    return allowed;
  }

  /** Authenticate and authorize one request, with upstream's status codes and messages. */
  async check(req: IncomingMessage): Promise<AuthResult> {
    let user: KubeletUser | undefined;
    try {
      user = await this.authenticate(req);
    } catch (err) {
      this.opts.log?.(`unable to authenticate the request: ${errorMessage(err)}`);
      return { ok: false, code: 401, message: 'Unauthorized' };
    }
    if (!user) return { ok: false, code: 401, message: 'Unauthorized' };
    const path = new URL(req.url ?? '/', 'https://kubelet').pathname;
    const attrs = nodeRequestAttributes(this.opts.nodeName, req.method, path);
    const who = `(user=${user.name}, verb=${attrs.verb}, resource=${attrs.resource}, subresource=${attrs.subresource})`;
    try {
      if (!(await this.authorize(user, attrs))) return { ok: false, code: 403, message: `Forbidden ${who}` };
    } catch (err) {
      this.opts.log?.(`authorization error ${who}: ${errorMessage(err)}`);
      return { ok: false, code: 500, message: `Authorization error ${who}` };
    }
    return { ok: true, user, attrs };
  }
}
