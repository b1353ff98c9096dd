// Service account tokens (upstream: pkg/serviceaccount, the TokenRequest API and the
// service-account token authenticator): RS256 JWTs signed with the cluster's
// service-account key, bound to the ServiceAccount's uid (and optionally a Pod), with
// upstream's claims so in-cluster clients and `kubectl create token` work.
import { randomUUID } from 'node:crypto';
import { SignJWT, importPKCS8, importSPKI, jwtVerify } from 'jose';
import type { KubeObject } from '../machinery/object.js';
import { badRequest, invalid, notFound } from '../machinery/status.js';
import type { Registry } from './registry.js';
import type { TokenAuthenticator } from './authentication.js';
import type { RequestPipeline } from './pipeline.js';
import type { UserInfo } from './context.js';

type KeyLike = Awaited<ReturnType<typeof importPKCS8>>;

export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;

interface KubernetesClaims {
  namespace: string;
  serviceaccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
  node?: { name: string; uid: string };
}

export class ServiceAccountTokens {
  private privateKey?: KeyLike;
  private publicKey?: KeyLike;

  constructor(
    private readonly registry: Registry,
    private readonly keys: { privateKey: string; publicKey: string },
  ) {}

  private async signingKey(): Promise<KeyLike> {
    return (this.privateKey ??= await importPKCS8(this.keys.privateKey, 'RS256'));
  }

  private async verifyKey(): Promise<KeyLike> {
    return (this.publicKey ??= await importSPKI(this.keys.publicKey, 'RS256'));
  }

  /** serviceaccounts/token: answer a TokenRequest for the ServiceAccount `sa`. */
  async tokenRequest(sa: KubeObject, body: KubeObject): Promise<KubeObject> {
    const spec = (body.spec ?? {}) as { audiences?: string[]; expirationSeconds?: number | null; boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string } };
    const ns = sa.metadata!.namespace!;
    const name = sa.metadata!.name!;
    const expiration = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
    if (expiration < MIN_EXPIRATION_SECONDS) {
      throw invalid('authentication.k8s.io', 'TokenRequest', name, [
        { reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${expiration}: may not specify a duration less than 10 minutes` },
      ]);
    }
    const audiences = spec.audiences?.length ? spec.audiences : [SERVICE_ACCOUNT_ISSUER];
    const claims: KubernetesClaims = { namespace: ns, serviceaccount: { name, uid: sa.metadata!.uid! } };
    const bound = spec.boundObjectRef;
    if (bound?.name) {
      if (bound.kind === 'Pod') {
        const pod = this.registry.getStored(this.registry.resourceOf('', 'v1', 'pods'), ns, bound.name);
        if (!pod) throw notFound('', 'pods', bound.name);
        if (bound.uid && bound.uid !== pod.metadata?.uid) throw badRequest(`the UID in the bound object reference (${bound.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
        claims.pod = { name: bound.name, uid: pod.metadata!.uid! };
        const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
        if (nodeName) {
          const node = this.registry.getStored(this.registry.resourceOf('', 'v1', 'nodes'), undefined, nodeName);
          if (node) claims.node = { name: nodeName, uid: node.metadata!.uid! };
        }
      } else if (bound.kind !== 'Secret' && bound.kind !== 'Node') {
        throw badRequest(`cannot bind token for object of kind "${bound.kind}"`);
      }
    }
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ 'kubernetes.io': claims as unknown as Record<string, unknown> })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(SERVICE_ACCOUNT_ISSUER)
      .setSubject(`system:serviceaccount:${ns}:${name}`)
      .setAudience(audiences)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + expiration)
      .setJti(randomUUID())
      .sign(await this.signingKey());
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace: ns, creationTimestamp: null } as unknown as KubeObject['metadata'],
      spec: { audiences, expirationSeconds: expiration, boundObjectRef: bound ?? null },
      status: { token, expirationTimestamp: new Date((now + expiration) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
    };
  }

  /** Bearer-token authentication: a valid, unexpired token whose ServiceAccount (and Pod) still exist. */
  readonly authenticate: TokenAuthenticator = async (token: string): Promise<UserInfo | undefined> => {
    if (token.split('.').length !== 3) return undefined;
    try {
      const { payload } = await jwtVerify(token, await this.verifyKey(), { issuer: SERVICE_ACCOUNT_ISSUER });
      const k = payload['kubernetes.io'] as KubernetesClaims | undefined;
      if (!k?.serviceaccount?.name || !k.namespace) return undefined;
      const sa = this.registry.getStored(this.registry.resourceOf('', 'v1', 'serviceaccounts'), k.namespace, k.serviceaccount.name);
      if (!sa || sa.metadata?.uid !== k.serviceaccount.uid) return undefined;
      const extra: Record<string, string[]> = {};
      if (k.pod) {
        const pod = this.registry.getStored(this.registry.resourceOf('', 'v1', 'pods'), k.namespace, k.pod.name);
        if (!pod || pod.metadata?.uid !== k.pod.uid) return undefined;
        extra['authentication.kubernetes.io/pod-name'] = [k.pod.name];
        extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid];
      }
      if (k.node) {
        extra['authentication.kubernetes.io/node-name'] = [k.node.name];
        extra['authentication.kubernetes.io/node-uid'] = [k.node.uid];
      }
      if (payload.jti) extra['authentication.kubernetes.io/credential-id'] = [`JTI=${payload.jti}`];
      return {
        name: `system:serviceaccount:${k.namespace}:${k.serviceaccount.name}`,
        uid: k.serviceaccount.uid,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
        extra,
      };
    } catch {
      return undefined;
    }
  };

  install(pipeline: RequestPipeline): void {
    pipeline.handleSubresource('/serviceaccounts/token', {
      create: async ({ resource, namespace, name }, body) => {
        const parent = this.registry.get(resource, namespace, name);
        return { code: 201, body: await this.tokenRequest(parent, body), isObject: false };
      },
    });
    pipeline.handleVirtual('authentication.k8s.io/tokenreviews', async (body) => {
      const token = ((body.spec ?? {}) as { token?: string }).token ?? '';
      const user = await this.authenticate(token);
      const status = user
        ? { authenticated: true, user: { username: user.name, uid: user.uid, groups: user.groups, extra: user.extra }, audiences: [SERVICE_ACCOUNT_ISSUER] }
        : { authenticated: false, error: 'invalid bearer token' };
      return { ...body, metadata: { creationTimestamp: null } as unknown as KubeObject['metadata'], status };
    });
  }
}
