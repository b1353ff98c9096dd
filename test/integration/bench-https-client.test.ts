// The benchmarks' lean HTTPS client (bench/https-client.ts) against a real `kite server`:
// for every kind of answer the benchmarks read (created, conflict, found, not found,
// lists, deletes, unauthorized, plain-text health), the same status code and body as
// node's own HTTPS client gets for the same request.
//
//   npm run test:integration
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterPathsIn } from '../../cli/paths.js';
import { clusterPKIPaths } from '../../machinery/pki.js';
import { benchConfigMap, benchConfigMapJson, startKiteServer, type KiteServer } from '../../bench/kite-server.js';
import { HttpsClient, type HttpsAnswer } from '../../bench/https-client.js';

let dir: string;
let server: KiteServer;
let lean: HttpsClient;
let nodeAgent: Agent;
let ca: string;

/** The same request through node:https (the reference): with the admin certificate, or with only `token` when given. */
function nodeCall(method: string, path: string, body?: object, token?: string): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const payload = body ? Buffer.from(JSON.stringify(body)) : undefined;
    const headers: Record<string, string | number> = token ? { Authorization: `Bearer ${token}` } : {};
    if (payload) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': payload.length });
    const agent = token ? new Agent({ ca }) : nodeAgent;
    const req = request({ host: '127.0.0.1', port: server.port, method, path, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kite-https-client-'));
  server = await startKiteServer(join(dir, 'cluster'), { name: 'https-client-test' });
  lean = server.admin(2);
  const pki = clusterPKIPaths(clusterPathsIn(join(dir, 'cluster')).pki);
  ca = readFileSync(pki.caCert, 'utf8');
  nodeAgent = new Agent({ keepAlive: true, maxSockets: 2, ca, cert: readFileSync(pki.adminCert, 'utf8'), key: readFileSync(pki.adminKey, 'utf8') });
  const ns = await lean.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
  assert.equal(ns.code, 201, ns.body);
});

after(async () => {
  lean?.close();
  nodeAgent?.destroy();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * An answer with a list's own resourceVersion and continue token masked: the cluster's
 * controllers write leases and events between the two reads, and a list carries the
 * store's current revision, so those two members may differ; every other byte may not.
 */
const sameState = (a: HttpsAnswer) => {
  // A plain object either way (the lean client's answer decodes its body on first read).
  if (!a.body.startsWith('{"kind":"ConfigMapList"')) return { code: a.code, body: a.body };
  const list = JSON.parse(a.body) as { metadata: { resourceVersion?: string; continue?: string } };
  if (list.metadata.resourceVersion !== undefined) list.metadata.resourceVersion = '<current>';
  if (list.metadata.continue !== undefined) list.metadata.continue = '<token>';
  return { code: a.code, body: JSON.stringify(list) };
};

/** A Status's fields that do not depend on which client asked. */
const status = (a: HttpsAnswer) => {
  const s = JSON.parse(a.body) as { kind: string; status: string; reason: string; code: number; message: string };
  return { code: a.code, kind: s.kind, status: s.status, reason: s.reason, statusCode: s.code };
};

test('lean HTTPS client: the same answers as node:https from a kite server', async () => {
  // Creates: 201 and the object, then 409 AlreadyExists for a taken name.
  // The lean side sends the body as the benchmarks do: JSON encoded once (benchConfigMapJson).
  for (const name of ['by-lean', 'quote"and\\backslash', 'ünïcode']) assert.equal(benchConfigMapJson(name), JSON.stringify(benchConfigMap(name)));
  const leanCreated = await lean.call('POST', '/api/v1/namespaces/bench/configmaps', benchConfigMapJson('by-lean'));
  const nodeCreated = await nodeCall('POST', '/api/v1/namespaces/bench/configmaps', benchConfigMap('by-node'));
  assert.equal(leanCreated.code, 201, leanCreated.body);
  assert.equal(nodeCreated.code, 201, nodeCreated.body);
  assert.equal((JSON.parse(leanCreated.body) as { data: { payload: string } }).data.payload, 'x'.repeat(1400));
  const leanTaken = await lean.call('POST', '/api/v1/namespaces/bench/configmaps', benchConfigMap('by-node'));
  assert.deepEqual(status(leanTaken), status(await nodeCall('POST', '/api/v1/namespaces/bench/configmaps', benchConfigMap('by-lean'))));
  assert.equal(leanTaken.code, 409);

  // Reads of the same state: the same answers (a list is chunked), byte for byte but for a list's current revision.
  for (const path of [
    '/api/v1/namespaces/bench/configmaps/by-lean',
    '/api/v1/namespaces/bench/configmaps?labelSelector=bench%3Dyes',
    '/api/v1/namespaces/bench/configmaps?labelSelector=bench%3Dyes&limit=1',
    '/api/v1/namespaces/bench/configmaps/missing',
    '/readyz',
  ]) {
    const [a, b] = [await lean.call('GET', path), await nodeCall('GET', path)];
    assert.deepEqual(sameState(a), sameState(b), path);
  }
  assert.equal((await lean.call('GET', '/api/v1/namespaces/bench/configmaps/missing')).code, 404);

  // An unknown bearer token: 401 from both.
  const badLean = new HttpsClient(server.port, { ca, token: 'not.a.token' }, 1);
  try {
    assert.deepEqual(status(await badLean.call('GET', '/api/v1/namespaces/bench/configmaps')), status(await nodeCall('GET', '/api/v1/namespaces/bench/configmaps', undefined, 'not.a.token')));
  } finally {
    badLean.close();
  }

  // Deletes: 200 and the deleted object, then 404.
  const [leanDeleted, nodeDeleted] = [await lean.call('DELETE', '/api/v1/namespaces/bench/configmaps/by-lean'), await nodeCall('DELETE', '/api/v1/namespaces/bench/configmaps/by-node')];
  assert.equal(leanDeleted.code, 200, leanDeleted.body);
  assert.equal(nodeDeleted.code, 200);
  assert.deepEqual(status(await lean.call('DELETE', '/api/v1/namespaces/bench/configmaps/by-lean')), status(await nodeCall('DELETE', '/api/v1/namespaces/bench/configmaps/by-node')));
});
