// Service account tokens (upstream: pkg/serviceaccount, the TokenRequest API in
// pkg/registry/core/serviceaccount/storage/token.go, and the service-account token
// authenticator): RS256 JWTs signed with the cluster's service-account key, bound to
// the ServiceAccount's uid and optionally to a Pod, Secret or Node, with upstream's
// claims so in-cluster clients, `kubectl create token` and TokenReview work.
//
// Authentication runs on every request that carries a bearer token, so the costly
// part (the RS256 signature check) is cached per token for a few seconds; what can
// change at any moment (the ServiceAccount, the bound Pod being deleted) is checked
// on every call against the registry's in-memory cache.
import { createHash, randomUUID } from 'node:crypto';
import { SignJWT, importPKCS8, importSPKI, jwtVerify, type JWTPayload } from 'jose';
import type { KubeObject } from '../machinery/object.js';
import type { ResourceInfo } from '../machinery/resources.js';
import { badRequest, conflict, invalid, notFound } from '../machinery/status.js';
import type { Registry } from './registry.js';
import type { TokenAuthenticator } from './authentication.js';
import type { RequestPipeline } from './pipeline.js';
import type { UserInfo } from './context.js';

type KeyLike = Awaited<ReturnType<typeof importPKCS8>>;

/** kubeadm's --service-account-issuer; --api-audiences defaults to it. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** The audiences the API server accepts tokens for (upstream --api-audiences). */
export const API_AUDIENCES: readonly string[] = [SERVICE_ACCOUNT_ISSUER];

const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;
/** The admission plugin's kube-api-access expiration: the API server extends it (upstream WarnOnlyBoundTokenExpirationSeconds). */
export const WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS = 3607;
/** How long such a token really lives (upstream ExpirationExtensionSeconds, one year). */
const EXTENDED_EXPIRATION_SECONDS = 365 * 24 * 3600;
/** A bound object being deleted still validates tokens this long (upstream: 60 s). */
const DELETION_GRACE_MS = 60_000;
/** Verified signatures are remembered this long, at most this many (upstream caches successes for 10 s). */
const VERIFIED_TTL_MS = 10_000;
const VERIFIED_MAX = 4096;

export interface KubernetesClaims {
  namespace: string;
  serviceaccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
  secret?: { name: string; uid: string };
  node?: { name: string; uid: string };
  /** seconds since the epoch after which an extended token is "stale" (only logged upstream) */
  warnafter?: number;
}

interface VerifiedToken {
  claims: KubernetesClaims;
  audiences: string[];
  jti?: string;
  expiresAtMs: number;
}

export type TokenAuthentication = { user: UserInfo; audiences: string[] } | { error: string };

const INVALIDATED = 'service account token has been invalidated';

function userOf(r: TokenAuthentication): UserInfo | undefined {
  return 'user' in r ? r.user : undefined;
}

function quoteList(xs: readonly string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
}

export class ServiceAccountTokens {
  private privateKey?: KeyLike;
  private publicKey?: KeyLike;
  /** sha256(token) → verified claims: a token string never lives on as a map key. */
  private readonly verified = new Map<string, { token: VerifiedToken; until: number }>();
  /** The token verify hashed last, and its hash (see verify). */
  private lastToken = '';
  private lastTokenKey = '';
  private readonly res: { pods: ResourceInfo; serviceAccounts: ResourceInfo; secrets: ResourceInfo; nodes: ResourceInfo };

  constructor(
    private readonly registry: Registry,
    private readonly keys: { privateKey: string; publicKey: string },
    private readonly now: () => number = Date.now,
  ) {
    this.res = {
      pods: registry.resourceOf('', 'v1', 'pods'),
      serviceAccounts: registry.resourceOf('', 'v1', 'serviceaccounts'),
      secrets: registry.resourceOf('', 'v1', 'secrets'),
      nodes: registry.resourceOf('', 'v1', 'nodes'),
    };
  }

  private async signingKey(): Promise<KeyLike> {
    return (this.privateKey ??= await importPKCS8(this.keys.privateKey, 'RS256'));
  }

  private async verifyKey(): Promise<KeyLike> {
    return (this.publicKey ??= await importSPKI(this.keys.publicKey, 'RS256'));
  }

  /** serviceaccounts/token: answer a TokenRequest for the ServiceAccount `sa`. */
  async tokenRequest(sa: KubeObject, body: KubeObject): Promise<KubeObject> {
    const spec = (body.spec ?? {}) as { audiences?: string[] | null; expirationSeconds?: number | null; boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string } | null };
    const ns = sa.metadata!.namespace!;
    const name = sa.metadata!.name!;
    const expiration = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
    if (expiration < MIN_EXPIRATION_SECONDS) {
      throw invalid('authentication.k8s.io', 'TokenRequest', name, [
        { reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${expiration}: may not specify a duration less than 10 minutes` },
      ]);
    }
    if (expiration > 2 ** 32) {
      throw invalid('authentication.k8s.io', 'TokenRequest', name, [
        { reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${expiration}: may not specify a duration larger than 2^32 seconds` },
      ]);
    }
    const audiences = spec.audiences?.length ? [...spec.audiences] : [...API_AUDIENCES];
    const claims: KubernetesClaims = { namespace: ns, serviceaccount: { name, uid: sa.metadata!.uid! } };
    const bound = spec.boundObjectRef ?? undefined;
    if (bound) {
      const check = (obj: KubeObject | undefined, kind: string, plural: string): KubeObject => {
        if (!obj) throw notFound('', plural, bound.name ?? '');
        if (bound.uid && bound.uid !== obj.metadata?.uid) {
          throw conflict('', kind, bound.name ?? '', `the UID in the bound object reference (${bound.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
        }
        return obj;
      };
      if (bound.kind === 'Pod') {
        const pod = check(this.registry.getStored(this.res.pods, ns, bound.name ?? ''), 'Pod', 'pods');
        claims.pod = { name: bound.name!, uid: pod.metadata!.uid! };
        const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
        const node = nodeName ? this.registry.getStored(this.res.nodes, undefined, nodeName) : undefined;
        if (node) claims.node = { name: nodeName!, uid: node.metadata!.uid! };
      } else if (bound.kind === 'Secret') {
        const secret = check(this.registry.getStored(this.res.secrets, ns, bound.name ?? ''), 'Secret', 'secrets');
        claims.secret = { name: bound.name!, uid: secret.metadata!.uid! };
      } else if (bound.kind === 'Node') {
        const node = check(this.registry.getStored(this.res.nodes, undefined, bound.name ?? ''), 'Node', 'nodes');
        claims.node = { name: bound.name!, uid: node.metadata!.uid! };
      } else {
        throw badRequest(`cannot bind token for object of kind "${bound.kind}"`);
      }
    }
    const now = Math.floor(this.now() / 1000);
    // The kube-api-access volume's tokens live a year but say when they went stale,
    // so clients that never reload the file keep working (upstream --service-account-extend-token-expiration).
    let lifetime = expiration;
    if (claims.pod && expiration === WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS && audiences.every((a) => API_AUDIENCES.includes(a))) {
      claims.warnafter = now + expiration;
      lifetime = EXTENDED_EXPIRATION_SECONDS;
    }
    const token = await new SignJWT({ 'kubernetes.io': claims as unknown as Record<string, unknown> })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(SERVICE_ACCOUNT_ISSUER)
      .setSubject(`system:serviceaccount:${ns}:${name}`)
      .setAudience(audiences)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + lifetime)
      .setJti(randomUUID())
      .sign(await this.signingKey());
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace: ns, creationTimestamp: null } as unknown as KubeObject['metadata'],
      spec: { audiences, expirationSeconds: expiration, boundObjectRef: bound ?? null },
      // The status says the requested lifetime: that is when the kubelet renews it.
      status: { token, expirationTimestamp: new Date((now + expiration) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
    };
  }

  /**
   * The signature and the fixed claims, cached by the token's hash: at once (no promise)
   * when cached, which is every request but a token's first within the cache's lifetime.
   */
  private verify(token: string): VerifiedToken | undefined | Promise<VerifiedToken | undefined> {
    // A client sends the same token request after request: its hash is kept with it (one
    // token's text in memory, which every request of it brings anyway) instead of hashed again.
    let key: string;
    if (token === this.lastToken) key = this.lastTokenKey;
    else {
      key = createHash('sha256').update(token).digest('base64');
      this.lastToken = token;
      this.lastTokenKey = key;
    }
    const now = this.now();
    const hit = this.verified.get(key);
    if (hit && hit.until > now && hit.token.expiresAtMs > now) return hit.token;
    if (hit) this.verified.delete(key);
    return this.verifySignature(token, key, now);
  }

  private async verifySignature(token: string, key: string, now: number): Promise<VerifiedToken | undefined> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await this.verifyKey(), { issuer: SERVICE_ACCOUNT_ISSUER, currentDate: new Date(now) }));
    } catch {
      return undefined;
    }
    const k = payload['kubernetes.io'] as KubernetesClaims | undefined;
    if (!k?.namespace || !k.serviceaccount?.name || !k.serviceaccount.uid || payload.exp === undefined) return undefined;
    const aud = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const v: VerifiedToken = { claims: k, audiences: aud, jti: payload.jti, expiresAtMs: payload.exp * 1000 };
    if (this.verified.size >= VERIFIED_MAX) {
      // Oldest first: Map iteration follows insertion.
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(key, { token: v, until: now + VERIFIED_TTL_MS });
    return v;
  }

  /** Whether a bound object still stands: same uid, not deleted for longer than the grace. */
  private stillBound(obj: KubeObject | undefined, uid: string, now: number): boolean {
    if (!obj || obj.metadata?.uid !== uid) return false;
    const deletion = obj.metadata?.deletionTimestamp;
    return !deletion || Date.parse(deletion) >= now - DELETION_GRACE_MS;
  }

  /**
   * Authenticates `token` for `audiences` (default: the API server's). The token's
   * audiences must include one of them; its ServiceAccount and bound objects must
   * still exist with the uids it names.
   */
  authenticateToken(token: string, audiences: readonly string[] = API_AUDIENCES): TokenAuthentication | Promise<TokenAuthentication> {
    // Three parts: two dots, and no third.
    const dot = token.indexOf('.');
    const dot2 = dot < 0 ? -1 : token.indexOf('.', dot + 1);
    if (dot2 < 0 || token.includes('.', dot2 + 1)) return { error: 'invalid bearer token' };
    const v = this.verify(token);
    // A promise only for a token not verified yet: a cached one is answered without one.
    if (v instanceof Promise) return v.then((verified) => this.authenticateVerified(verified, audiences));
    return this.authenticateVerified(v, audiences);
  }

  private authenticateVerified(v: VerifiedToken | undefined, audiences: readonly string[]): TokenAuthentication {
    if (!v) return { error: 'invalid bearer token' };
    const matched = audiences.filter((a) => v.audiences.includes(a));
    if (matched.length === 0) return { error: `token audiences ${quoteList(v.audiences)} is invalid for the target audiences ${quoteList(audiences)}` };
    const k = v.claims;
    const now = this.now();
    const sa = this.registry.getStored(this.res.serviceAccounts, k.namespace, k.serviceaccount.name);
    if (!this.stillBound(sa, k.serviceaccount.uid, now)) return { error: INVALIDATED };
    const extra: Record<string, string[]> = {};
    if (k.pod) {
      if (!this.stillBound(this.registry.getStored(this.res.pods, k.namespace, k.pod.name), k.pod.uid, now)) return { error: INVALIDATED };
      extra['authentication.kubernetes.io/pod-name'] = [k.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid];
    }
    if (k.secret && !this.stillBound(this.registry.getStored(this.res.secrets, k.namespace, k.secret.name), k.secret.uid, now)) return { error: INVALIDATED };
    if (k.node) {
      // A token bound to a Node itself dies with it; a pod's node is only informative.
      if (!k.pod && !this.stillBound(this.registry.getStored(this.res.nodes, undefined, k.node.name), k.node.uid, now)) return { error: INVALIDATED };
      extra['authentication.kubernetes.io/node-name'] = [k.node.name];
      extra['authentication.kubernetes.io/node-uid'] = [k.node.uid];
    }
    if (v.jti) extra['authentication.kubernetes.io/credential-id'] = [`JTI=${v.jti}`];
    return {
      user: {
        name: `system:serviceaccount:${k.namespace}:${k.serviceaccount.name}`,
        uid: k.serviceaccount.uid,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
        extra,
      },
      audiences: matched,
    };
  }

  /** Bearer-token authentication for API requests (the API server's audiences). */
  readonly authenticate: TokenAuthenticator = (token: string): UserInfo | undefined | Promise<UserInfo | undefined> => {
    const r = this.authenticateToken(token);
    return r instanceof Promise ? r.then(userOf) : userOf(r);
  };

  /** authentication.k8s.io TokenReview: `spec.audiences` (default: the API server's) must match the token's. */
  async tokenReview(body: KubeObject): Promise<KubeObject> {
    const spec = (body.spec ?? {}) as { token?: string; audiences?: string[] | null };
    const wanted = spec.audiences?.length ? spec.audiences : API_AUDIENCES;
    const r = await this.authenticateToken(spec.token ?? '', wanted);
    const status =
      'user' in r
        ? { authenticated: true, user: { username: r.user.name, uid: r.user.uid, groups: r.user.groups, extra: r.user.extra }, audiences: r.audiences }
        : { user: {}, error: r.error };
    return { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', ...body, metadata: { ...(body.metadata ?? {}), creationTimestamp: null } as unknown as KubeObject['metadata'], status };
  }

  install(pipeline: RequestPipeline): void {
    pipeline.handleSubresource('/serviceaccounts/token', {
      create: async ({ resource, namespace, name }, body) => {
        const parent = this.registry.get(resource, namespace, name);
        return { code: 201, body: await this.tokenRequest(parent, body), isObject: false };
      },
    });
    pipeline.handleVirtual('authentication.k8s.io/tokenreviews', (body) => this.tokenReview(body));
  }
}
