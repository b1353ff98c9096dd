// Impersonation headers: a request without any acts as its caller; one with them acts as
// the impersonated user once the caller may impersonate each part.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Authenticator, impersonate } from '../../apiserver/authentication.js';
import type { RequestAttributes } from '../../apiserver/authorization/types.js';

const caller = { name: 'alice', groups: ['dev', 'system:authenticated'] };
const request = (headers: Record<string, string | string[]>) => ({ headers, method: 'GET', url: '/api', socket: {} }) as unknown as IncomingMessage;

test('a request that impersonates no one acts as its caller, asking no authorization', () => {
  const asked: RequestAttributes[] = [];
  assert.equal(impersonate(request({ accept: 'application/json', 'user-agent': 'impersonate-user/1' }), caller, (a) => asked.push(a)), caller);
  assert.deepEqual(asked, []);
});

test('impersonation headers: each part authorized, the user as asked', () => {
  const asked: string[] = [];
  const user = impersonate(
    request({ 'impersonate-user': 'bob', 'impersonate-group': 'ops, qa', 'impersonate-extra-scopes': 'view' }),
    caller,
    (a) => asked.push(`${a.resource}/${a.name}`),
  );
  assert.deepEqual(user, { name: 'bob', groups: ['ops', 'qa', 'system:authenticated'], extra: { scopes: ['view'] } });
  assert.deepEqual(asked, ['users/bob', 'groups/ops', 'groups/qa', 'userextras/view']);
  assert.throws(() => impersonate(request({ 'impersonate-group': 'ops' }), caller, () => undefined), /without impersonating a user/);
});

test('a caller without a certificate or token is not authenticated, at once', async () => {
  const auth = new Authenticator([async (token) => (token === 'good' ? caller : undefined)]);
  assert.equal(auth.authenticate(request({})), undefined);
  assert.deepEqual(await auth.authenticate(request({ authorization: 'Bearer good' })), caller);
  assert.equal(await auth.authenticate(request({ authorization: 'Bearer bad' })), undefined);
});
