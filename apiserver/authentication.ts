// Who a request comes from (upstream: apiserver/pkg/authentication and the
// impersonation filter): a client certificate signed by the cluster CA (CN = user,
// O = groups) or a bearer token one of the token authenticators recognizes; then, when
// the request carries Impersonate-* headers and the caller may `impersonate`, the
// impersonated identity.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { badRequest } from '../machinery/status.js';
import type { UserInfo } from './context.js';
import type { RequestAttributes } from './authorization/types.js';

/** Something that can say who a bearer token belongs to (service accounts, bootstrap tokens). */
export type TokenAuthenticator = (token: string) => Promise<UserInfo | undefined> | UserInfo | undefined;

export const AUTHENTICATED = 'system:authenticated';
export const UNAUTHENTICATED = 'system:unauthenticated';
export const ANONYMOUS = 'system:anonymous';
const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

export class Authenticator {
  /** A TLS connection's client certificate doesn't change: read it once per socket. */
  private readonly certUsers = new WeakMap<TLSSocket, UserInfo | null>();

  private readonly anonymousPaths: ReadonlySet<string>;

  /**
   * `anonymousPaths`: GETs of these paths without credentials are `system:anonymous`
   * (upstream's structured AuthenticationConfiguration `anonymous.conditions`), then
   * authorized as any request; everything else without credentials is a 401.
   */
  constructor(
    private readonly tokenAuthenticators: TokenAuthenticator[] = [],
    opts: { anonymousPaths?: readonly string[] } = {},
  ) {
    this.anonymousPaths = new Set(opts.anonymousPaths ?? []);
  }

  /** At once when every authenticator asked answers at once (a cached token); a promise from the first that does not. */
  private tokenUser(token: string, from = 0): UserInfo | undefined | Promise<UserInfo | undefined> {
    for (let i = from; i < this.tokenAuthenticators.length; i++) {
      const user = this.tokenAuthenticators[i](token);
      if (user instanceof Promise) return user.then((u) => u ?? this.tokenUser(token, i + 1));
      if (user) return user;
    }
    return undefined;
  }

  private certUser(sock: TLSSocket): UserInfo | undefined {
    let user = this.certUsers.get(sock);
    if (user === undefined) {
      user = null;
      if (sock.authorized) {
        const subject = sock.getPeerCertificate()?.subject as Record<string, string | string[]> | undefined;
        if (subject?.CN) {
          const o = subject.O;
          const groups = Array.isArray(o) ? o : o ? [o] : [];
          user = { name: String(subject.CN), groups: [...groups, AUTHENTICATED] };
        }
      }
      this.certUsers.set(sock, user);
    }
    return user ?? undefined;
  }

  /** The caller's own identity, or undefined (401); a promise only for a bearer token. */
  authenticate(req: IncomingMessage): UserInfo | undefined | Promise<UserInfo | undefined> {
    const fromCert = this.certUser(req.socket as TLSSocket);
    if (fromCert) return fromCert;
    const auth = req.headers.authorization;
    if (auth && /^bearer /i.test(auth)) {
      const token = auth.slice(7).trim();
      if (!token) return undefined;
      return this.tokenUser(token);
    }
    if (!auth && req.method === 'GET' && this.anonymousPaths.size > 0) {
      const path = (req.url ?? '').split('?')[0];
      if (this.anonymousPaths.has(path)) return { name: ANONYMOUS, groups: [UNAUTHENTICATED] };
    }
    return undefined;
  }
}

/** Whether a request asks to impersonate anyone (nearly none does): a look at its header names. */
function impersonates(headers: IncomingHttpHeaders): boolean {
  for (const h in headers) if (h.startsWith('impersonate-')) return true;
  return false;
}

function headerValues(req: IncomingMessage, name: string): string[] {
  const v = req.headers[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
}

function attrs(user: UserInfo, apiGroup: string, resource: string, name: string, namespace = '', subresource = ''): RequestAttributes {
  return { user, verb: 'impersonate', resourceRequest: true, path: '', apiGroup, apiVersion: 'v1', resource, subresource, namespace, name };
}

/**
 * Apply Impersonate-User / -Group / -Uid / -Extra-* headers (upstream's WithImpersonation):
 * each impersonated attribute must be allowed with the `impersonate` verb (`authorize`
 * throws a 403 otherwise); returns the identity the request then runs as.
 */
export function impersonate(req: IncomingMessage, caller: UserInfo, authorize: (a: RequestAttributes) => void): UserInfo {
  if (!impersonates(req.headers)) return caller;
  const userHeader = req.headers['impersonate-user'];
  const name = Array.isArray(userHeader) ? userHeader[0] : userHeader;
  const groups = headerValues(req, 'impersonate-group');
  const uidHeader = req.headers['impersonate-uid'];
  const uid = Array.isArray(uidHeader) ? uidHeader[0] : uidHeader;
  const extra: Record<string, string[]> = {};
  for (const [h, v] of Object.entries(req.headers)) {
    if (!h.startsWith('impersonate-extra-') || v === undefined) continue;
    const key = decodeURIComponent(h.slice('impersonate-extra-'.length));
    extra[key] = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim());
  }
  const hasExtra = Object.keys(extra).length > 0;
  if (name === undefined && groups.length === 0 && uid === undefined && !hasExtra) return caller;
  if (!name) throw badRequest(`requested ${JSON.stringify({ groups, uid, extra })} without impersonating a user`);

  let outGroups: string[] = [];
  if (name.startsWith(SERVICE_ACCOUNT_PREFIX)) {
    const [ns, sa] = name.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
    authorize(attrs(caller, '', 'serviceaccounts', sa ?? '', ns ?? ''));
    if (groups.length === 0) outGroups = ['system:serviceaccounts', `system:serviceaccounts:${ns}`];
  } else {
    authorize(attrs(caller, '', 'users', name));
  }
  for (const g of groups) authorize(attrs(caller, '', 'groups', g));
  if (uid !== undefined) authorize(attrs(caller, 'authentication.k8s.io', 'uids', uid));
  for (const [key, values] of Object.entries(extra)) {
    for (const v of values) authorize(attrs(caller, 'authentication.k8s.io', 'userextras', v, '', key));
  }
  outGroups.push(...groups);
  if (name === ANONYMOUS) {
    if (!outGroups.includes(UNAUTHENTICATED)) outGroups.push(UNAUTHENTICATED);
  } else if (!outGroups.includes(AUTHENTICATED) && !outGroups.includes(UNAUTHENTICATED)) {
    outGroups.push(AUTHENTICATED);
  }
  const user: UserInfo = { name, groups: outGroups };
  if (uid !== undefined) user.uid = uid;
  if (hasExtra) user.extra = extra;
  return user;
}
