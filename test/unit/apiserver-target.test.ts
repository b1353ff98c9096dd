// The request target's path and query: the cheap split of plain targets must give what
// WHATWG URL parsing gives, and anything else must still be parsed as a URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeObject, pathSegments, splitTarget } from '../../apiserver/server.js';

const TARGETS = [
  '/',
  '/api/v1/namespaces/bench/configmaps',
  '/api/v1/namespaces/bench/configmaps/cm-1?fieldManager=kubectl-client-side-apply&fieldValidation=Strict',
  '/api/v1/pods?labelSelector=app%3Dweb%2Ctier+in+(a,b)&limit=500&continue=abc%3D%3D',
  '/apis/apps/v1/namespaces/x/deployments/a.b.c/scale',
  '/api/v1/namespaces/x/configmaps/..',
  '/api/v1/namespaces/x/configmaps/%2e%2E/y',
  '/api/v1/namespaces/./x',
  '/a/../b?c=d',
  '//evil/api/v1',
  '/api/v1/namespaces/x y?a=b c',
  '/api/v1/namespaces/é?q=ü',
  '/api\\v1',
  '/api/v1?watch=1#frag',
  '/api//v1/pods?a=%zz&b=1&&c',
  '/healthz?verbose',
  '/api/v1/pods??a=b',
];

test('splitTarget gives the path and query that URL parsing gives', () => {
  for (const target of TARGETS) {
    const url = new URL(target, 'https://localhost');
    const { path, query } = splitTarget(target);
    assert.equal(path, url.pathname, target);
    assert.deepEqual([...query], [...url.searchParams], target);
  }
});

test("a path's segments: the non-empty ones, each percent-decoded as decodeURIComponent decodes it", () => {
  for (const path of ['/', '/api/v1/namespaces/bench/configmaps', '/api//v1/', '/api/v1/namespaces/x/configmaps/a%2Fb', '/api/v1/namespaces/%C3%A9/pods/%20x', '/apis/a.b/v1/%25', '', '//', 'api/v1', '/api/v1/', '/a//b///c']) {
    assert.deepEqual(pathSegments(path), path.split('/').filter((s) => s.length > 0).map(decodeURIComponent), path);
  }
  assert.throws(() => pathSegments('/api/v1/namespaces/%zz'), URIError);
});

test('a body decodes by its media type, whatever its parameters and letter case', () => {
  const body = Buffer.from('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}');
  for (const ct of [undefined, 'application/json', 'application/json; charset=utf-8', 'Application/JSON', ' application/json ;x=y', '*/*', 'application/yaml']) {
    assert.deepEqual(decodeObject(ct, body), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }, String(ct));
  }
  assert.throws(() => decodeObject('text/plain', body), (err: { status?: { code?: number } }) => err.status?.code === 415);
});
