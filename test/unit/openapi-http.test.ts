import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { serveOpenApi, openapiV3Index } from '../../apiserver/openapi/index.js';

let server: Server;
let port = 0;

before(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    if (!serveOpenApi(req, res, u.pathname, u.searchParams)) {
      res.statusCode = 418;
      res.end('not openapi');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/openapi/v2 negotiates JSON and protobuf, with ETag revalidation', async () => {
  const json = await get('/openapi/v2', { accept: 'application/json' });
  assert.equal(json.status, 200);
  assert.equal(json.headers['content-type'], 'application/json');
  assert.equal(JSON.parse(json.body.toString()).swagger, '2.0');
  const etag = json.headers.etag as string;
  assert.match(etag, /^"[0-9A-F]{128}"$/);
  assert.equal((await get('/openapi/v2', { accept: 'application/json', 'if-none-match': etag })).status, 304);

  const pb = await get('/openapi/v2', { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' });
  assert.equal(pb.status, 200);
  assert.equal(pb.headers['content-type'], 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
  assert.notEqual(pb.headers.etag, etag);
  const pbPath = await get('/swagger-2.0.0.pb-v1');
  assert.equal(pbPath.headers['content-type'], 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
  assert.deepEqual(pbPath.body, pb.body);
  const swaggerJson = await get('/swagger.json');
  assert.equal(swaggerJson.headers['content-type'], 'application/json');

  const gz = await get('/openapi/v2', { accept: 'application/json', 'accept-encoding': 'gzip' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.deepEqual(gunzipSync(gz.body), json.body);

  const head = await get('/openapi/v2', {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal((await get('/openapi/v2', {}, 'POST')).status, 405);
});

test('/openapi/v3 serves the index and hashed documents with immutable caching', async () => {
  const idx = await get('/openapi/v3');
  assert.equal(idx.status, 200);
  assert.equal(idx.headers['cache-control'], 'no-cache, private');
  const index = JSON.parse(idx.body.toString());
  assert.deepEqual(index, openapiV3Index());
  const url: string = index.paths['apis/apps/v1'].serverRelativeURL;
  const hashed = await get(url);
  assert.equal(hashed.status, 200);
  assert.equal(hashed.headers['content-type'], 'application/json');
  assert.equal(hashed.headers['cache-control'], 'public, immutable');
  assert.ok(hashed.headers.expires);
  assert.equal(hashed.headers.etag, `"${url.split('hash=')[1]}"`);
  assert.equal(JSON.parse(hashed.body.toString()).openapi, '3.0.0');

  const plain = await get('/openapi/v3/apis/apps/v1');
  assert.equal(plain.headers['cache-control'], 'no-cache, private');
  const stale = await get('/openapi/v3/apis/apps/v1?hash=0123');
  assert.equal(stale.headers['cache-control'], 'no-cache, private');
  assert.equal((await get('/openapi/v3/apis/apps/v1', { 'if-none-match': hashed.headers.etag as string })).status, 304);
  assert.equal((await get('/openapi/v3/apis/nope/v1')).status, 404);
  assert.equal((await get(index.paths['api/v1'].serverRelativeURL)).status, 200);
});

test('other paths are left to the caller', async () => {
  assert.equal((await get('/api/v1')).status, 418);
  assert.equal((await get('/openapi/v22')).status, 418);
  assert.equal((await get('/openapi')).status, 418);
});
