// Service account tokens: upstream's claims, audiences, the user they authenticate
// as, and invalidation when the ServiceAccount or the bound Pod goes away.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { internalContext } from '../../apiserver/context.js';
import { API_AUDIENCES, SERVICE_ACCOUNT_ISSUER, ServiceAccountTokens } from '../../apiserver/serviceaccount-tokens.js';
import type { KubeObject } from '../../machinery/object.js';
import { createServiceAccountKeyPair } from '../../machinery/pki.js';
import { StatusError } from '../../machinery/status.js';
import { startCluster, res, type Cluster } from './client-fixture.js';

const SAS = res('', 'v1', 'serviceaccounts');
const PODS = res('', 'v1', 'pods');
const ctx = internalContext('test');
let cluster: Cluster;
let clock = Date.now();
let tokens: ServiceAccountTokens;
const keys = createServiceAccountKeyPair();

before(async () => {
  cluster = await startCluster(['default', 'team']);
  tokens = new ServiceAccountTokens(cluster.registry, keys, () => clock);
});

after(async () => {
  await cluster.close();
});

async function serviceAccount(name: string, namespace = 'team'): Promise<KubeObject> {
  return cluster.registry.create(SAS, namespace, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } }, ctx);
}

async function pod(name: string, sa: string, namespace = 'team'): Promise<KubeObject> {
  return cluster.registry.create(
    PODS,
    namespace,
    { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { serviceAccountName: sa, automountServiceAccountToken: false, containers: [{ name: 'c', image: 'busybox' }] } } as KubeObject,
    ctx,
  );
}

function request(spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec } as KubeObject;
}

async function issue(sa: KubeObject, spec: Record<string, unknown>): Promise<{ token: string; response: KubeObject }> {
  const response = await tokens.tokenRequest(sa, request(spec));
  return { token: (response.status as { token: string }).token, response };
}

test('a pod-bound token carries upstream claims and authenticates as the service account', async () => {
  const sa = await serviceAccount('builder');
  const p = await pod('web', 'builder');
  clock = Date.now();
  const { token, response } = await issue(sa, { expirationSeconds: 1200, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'web', uid: p.metadata!.uid } });
  const claims = decodeJwt(token);
  assert.equal(claims.iss, SERVICE_ACCOUNT_ISSUER);
  assert.equal(claims.sub, 'system:serviceaccount:team:builder');
  assert.deepEqual(claims.aud, [...API_AUDIENCES]);
  assert.equal(claims.exp! - claims.iat!, 1200);
  assert.equal(claims.nbf, claims.iat);
  assert.match(String(claims.jti), /^[0-9a-f-]{36}$/);
  assert.deepEqual(claims['kubernetes.io'], { namespace: 'team', serviceaccount: { name: 'builder', uid: sa.metadata!.uid }, pod: { name: 'web', uid: p.metadata!.uid } });
  assert.deepEqual((response.spec as { audiences: string[] }).audiences, [...API_AUDIENCES]);

  const user = await tokens.authenticate(token);
  assert.deepEqual(user, {
    name: 'system:serviceaccount:team:builder',
    uid: sa.metadata!.uid,
    groups: ['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated'],
    extra: {
      'authentication.kubernetes.io/pod-name': ['web'],
      'authentication.kubernetes.io/pod-uid': [p.metadata!.uid],
      'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`],
    },
  });
});

test('expirationSeconds below ten minutes is invalid; a stale bound uid is a conflict', async () => {
  const sa = await serviceAccount('short');
  await assert.rejects(issue(sa, { expirationSeconds: 599 }), (err: StatusError) => err.code === 422 && /may not specify a duration less than 10 minutes/.test(err.message));
  await pod('stale', 'short');
  await assert.rejects(
    issue(sa, { boundObjectRef: { kind: 'Pod', name: 'stale', uid: 'not-the-uid' } }),
    (err: StatusError) => err.code === 409 && err.message.includes('the UID in the bound object reference (not-the-uid) does not match the UID in record'),
  );
  await assert.rejects(issue(sa, { boundObjectRef: { kind: 'Pod', name: 'missing' } }), (err: StatusError) => err.code === 404);
});

test('the kube-api-access expiration (3607 s) is extended to a year with warnafter; the status keeps 3607 s', async () => {
  const sa = await serviceAccount('extended');
  const p = await pod('ext', 'extended');
  clock = Date.now();
  const { token, response } = await issue(sa, { expirationSeconds: 3607, boundObjectRef: { kind: 'Pod', name: 'ext', uid: p.metadata!.uid } });
  const claims = decodeJwt(token);
  assert.equal(claims.exp! - claims.iat!, 365 * 24 * 3600);
  assert.equal((claims['kubernetes.io'] as { warnafter: number }).warnafter, claims.iat! + 3607);
  const expiry = Date.parse((response.status as { expirationTimestamp: string }).expirationTimestamp);
  assert.ok(Math.abs(expiry - (claims.iat! + 3607) * 1000) < 1000);
});

test('tokens die with their pod (after the deletion grace), and with their service account', async () => {
  const sa = await serviceAccount('doomed');
  const p = await pod('victim', 'doomed');
  clock = Date.now();
  const bound = (await issue(sa, { boundObjectRef: { kind: 'Pod', name: 'victim', uid: p.metadata!.uid } })).token;
  const unbound = (await issue(sa, {})).token;
  assert.ok(await tokens.authenticate(bound));

  // A pod being deleted gracefully keeps its token for the grace period plus a minute.
  await cluster.registry.patch(PODS, 'team', 'victim', 'merge', Buffer.from(JSON.stringify({ metadata: { finalizers: ['test/hold'] } })), ctx);
  await cluster.registry.delete(PODS, 'team', 'victim', { gracePeriodSeconds: 0 } as never, ctx);
  const deleting = cluster.registry.getStored(PODS, 'team', 'victim');
  assert.ok(deleting?.metadata?.deletionTimestamp, 'the finalizer holds the pod');
  assert.ok(await tokens.authenticate(bound), 'valid just after deletion started');
  clock = Date.now() + 61_000;
  assert.equal(await tokens.authenticate(bound), undefined);
  assert.deepEqual(await tokens.authenticateToken(bound), { error: 'service account token has been invalidated' });

  // Recreated with the same name: a new uid, the old token stays dead.
  await cluster.registry.patch(PODS, 'team', 'victim', 'merge', Buffer.from(JSON.stringify({ metadata: { finalizers: null } })), ctx);
  assert.equal(cluster.registry.getStored(PODS, 'team', 'victim'), undefined);
  await pod('victim', 'doomed');
  clock = Date.now();
  assert.equal(await tokens.authenticate(bound), undefined);

  assert.ok(await tokens.authenticate(unbound));
  await cluster.registry.delete(SAS, 'team', 'doomed', {} as never, ctx);
  assert.equal(await tokens.authenticate(unbound), undefined, 'gone with the service account');
  await serviceAccount('doomed');
  assert.equal(await tokens.authenticate(unbound), undefined, 'a recreated account has a new uid');
});

test('audiences: the API server accepts only its own; TokenReview honours spec.audiences', async () => {
  const sa = await serviceAccount('vault-client');
  clock = Date.now();
  const vaultToken = (await issue(sa, { audiences: ['vault'] })).token;
  assert.equal(await tokens.authenticate(vaultToken), undefined);
  assert.deepEqual(await tokens.authenticateToken(vaultToken), { error: `token audiences ["vault"] is invalid for the target audiences ["${SERVICE_ACCOUNT_ISSUER}"]` });

  const review = await tokens.tokenReview({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: vaultToken, audiences: ['vault', 'other'] } } as KubeObject);
  const status = review.status as { authenticated: boolean; audiences: string[]; user: { username: string; groups: string[] } };
  assert.equal(status.authenticated, true);
  assert.deepEqual(status.audiences, ['vault']);
  assert.equal(status.user.username, 'system:serviceaccount:team:vault-client');

  const refused = await tokens.tokenReview({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: vaultToken } } as KubeObject);
  assert.equal((refused.status as { authenticated?: boolean }).authenticated, undefined);
  assert.match((refused.status as { error: string }).error, /is invalid for the target audiences/);

  const garbage = await tokens.tokenReview({ spec: { token: 'a.b.c' } } as unknown as KubeObject);
  assert.equal((garbage.status as { error: string }).error, 'invalid bearer token');
});

test('a token signed by another key, or expired, is refused even when cached', async () => {
  const sa = await serviceAccount('expiring');
  clock = Date.now();
  const { token } = await issue(sa, { expirationSeconds: 600 });
  assert.ok(await tokens.authenticate(token));
  clock = Date.now() + 601_000;
  assert.equal(await tokens.authenticate(token), undefined);

  const other = new ServiceAccountTokens(cluster.registry, createServiceAccountKeyPair());
  clock = Date.now();
  const forged = (await other.tokenRequest(sa, request({}))).status as { token: string };
  assert.equal(await tokens.authenticate(forged.token), undefined);
});
