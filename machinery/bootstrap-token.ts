// Bootstrap tokens (upstream: k8s.io/cluster-bootstrap/token): `<id>.<secret>`, kept as
// Secrets `bootstrap-token-<id>` of type bootstrap.kubernetes.io/token in kube-system,
// shared by the API server's authenticator, the token cleaner and `kite token`.
import { createHmac, randomInt } from 'node:crypto';

export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const BOOTSTRAP_TOKEN_SECRET_PREFIX = 'bootstrap-token-';
export const BOOTSTRAP_TOKEN_NAMESPACE = 'kube-system';
export const BOOTSTRAP_USER_PREFIX = 'system:bootstrap:';
export const BOOTSTRAPPERS_GROUP = 'system:bootstrappers';
/** kubeadm's default group for the tokens it makes. */
export const DEFAULT_BOOTSTRAP_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
/** Extra groups must be of this form (upstream's BootstrapGroupPattern). */
export const BOOTSTRAP_GROUP_PATTERN = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;
export const TOKEN_PATTERN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
export const TOKEN_ID_PATTERN = /^[a-z0-9]{6}$/;

/** kube-public/cluster-info: the cluster's address and CA, signed per token (JWS). */
export const CLUSTER_INFO_NAMESPACE = 'kube-public';
export const CLUSTER_INFO_NAME = 'cluster-info';
export const JWS_KEY_PREFIX = 'jws-kubeconfig-';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomString(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

export function generateBootstrapToken(): { id: string; secret: string; token: string } {
  const id = randomString(6);
  const secret = randomString(16);
  return { id, secret, token: `${id}.${secret}` };
}

export interface BootstrapTokenSecretOptions {
  id: string;
  secret: string;
  /** Absolute expiry, or none. */
  expires?: Date;
  description?: string;
  usages?: string[];
  extraGroups?: string[];
}

/** The Secret kubeadm writes for a token (string values in stringData form). */
export function bootstrapTokenSecret(o: BootstrapTokenSecretOptions): Record<string, unknown> {
  const data: Record<string, string> = { 'token-id': o.id, 'token-secret': o.secret };
  if (o.expires) data.expiration = o.expires.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (o.description) data.description = o.description;
  for (const u of o.usages ?? ['authentication', 'signing']) data[`usage-bootstrap-${u}`] = 'true';
  const groups = o.extraGroups ?? [DEFAULT_BOOTSTRAP_GROUP];
  if (groups.length) data['auth-extra-groups'] = groups.join(',');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: BOOTSTRAP_TOKEN_SECRET_PREFIX + o.id, namespace: BOOTSTRAP_TOKEN_NAMESPACE },
    type: BOOTSTRAP_TOKEN_SECRET_TYPE,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

/** A Secret's data, decoded. */
export function secretValues(secret: { data?: Record<string, string> | null }): Record<string, string> {
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** The expiry of a token Secret's `expiration` value: undefined when none, NaN when unparsable (treated as expired). */
export function tokenExpiry(values: Record<string, string>): number | undefined {
  const e = values.expiration;
  if (e === undefined || e === '') return undefined;
  return Date.parse(e);
}

export function isTokenExpired(values: Record<string, string>, now = Date.now()): boolean {
  const t = tokenExpiry(values);
  return t !== undefined && !(t > now);
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/**
 * A detached JWS (HS256, key = the token secret, kid = the token id) over `content`, as
 * upstream's bootstrap signer puts into cluster-info: `<header>..<signature>`.
 */
export function detachedJws(content: string, id: string, secret: string): string {
  const header = b64url(JSON.stringify({ alg: 'HS256', kid: id }));
  const signature = createHmac('sha256', secret).update(`${header}.${b64url(content)}`).digest('base64url');
  return `${header}..${signature}`;
}

/** Whether `jws` is the detached signature of `content` by token `id`.`secret`. */
export function verifyDetachedJws(jws: string, content: string, id: string, secret: string): boolean {
  return jws === detachedJws(content, id, secret);
}
