import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startHttpApi, call, type HttpApi } from './apiserver-faults-fixture.js';
import { CONFIGMAPS } from './client-fixture.js';
import { internalContext } from '../../apiserver/context.js';

let h: HttpApi;
before(async () => {
  h = await startHttpApi(['default'], { maxRequestsInflight: 2, maxMutatingRequestsInflight: 1, maxWatchBacklogBytes: 2 * 1024 * 1024 });
});
after(() => h.close());

const CM = '/api/v1/namespaces/default/configmaps';

test('requests beyond the in-flight limit get 429 with Retry-After; watches are not counted', async () => {
  // Watches are long-running: more of them than the read-only limit stay open.
  const watches = await Promise.all(
    [0, 1, 2].map(
      () =>
        new Promise<import('node:http').ClientRequest>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: h.port, path: `${CM}?watch=true`, headers: { authorization: 'Bearer admin' } }, (res) => {
            assert.equal(res.statusCode, 200);
            resolve(req);
          });
          req.on('error', reject);
          req.end();
        }),
    ),
  );
  // One create held open by a slow body fills the mutating limit.
  const slow = request({ host: '127.0.0.1', port: h.port, path: CM, method: 'POST', headers: { authorization: 'Bearer admin', 'content-type': 'application/json', 'content-length': '200' } });
  slow.on('error', () => {});
  slow.write('{"apiVersion":"v1",');
  const slowDone = new Promise<number>((resolve) => slow.on('response', (r) => (r.resume(), resolve(r.statusCode ?? 0))));
  let r = await call(h.port, 'POST', CM, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'second' } }));
  for (let i = 0; i < 50 && r.status !== 429; i++) r = await call(h.port, 'POST', CM, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `second${i}` } }));
  assert.equal(r.status, 429);
  assert.equal(r.headers['retry-after'], '1');
  assert.equal(r.json().reason, 'TooManyRequests');
  assert.equal(r.json().message, 'Too many requests, please try again later.');
  // Reads have their own limit and still answer.
  assert.equal((await call(h.port, 'GET', '/api/v1/namespaces')).status, 200);
  slow.end(JSON.stringify({ kind: 'ConfigMap', metadata: { name: 'slow' } }).slice(1).padEnd(181, ' '));
  assert.equal(await slowDone, 201);
  // The slot is free again.
  assert.equal((await call(h.port, 'POST', CM, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'third' } }))).status, 201);
  for (const w of watches) w.destroy();
});

test('a watcher that never reads is closed once its backlog is bounded', async () => {
  let resume = () => {};
  const received = new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: h.port, path: `${CM}?watch=true`, headers: { authorization: 'Bearer admin' } }, (res) => {
      res.pause(); // not reading while the writes happen
      let lines = 0;
      res.on('data', (c: Buffer) => {
        for (const b of c) if (b === 10) lines++;
      });
      res.socket.on('close', () => resolve(lines));
      resume = () => res.resume();
    });
    req.on('error', reject);
    req.end();
    setTimeout(() => reject(new Error('slow watcher was not closed')), 60_000).unref();
  });
  await new Promise((r) => setTimeout(r, 100));
  const big = 'x'.repeat(500_000);
  for (let i = 0; i < 100; i++) {
    const res = await call(h.port, 'POST', CM, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `big${i}` }, data: { a: big } }));
    assert.equal(res.status, 201);
  }
  resume();
  // The server ended the stream early: fewer events than writes reached the client.
  assert.ok((await received) < 100);
});

test('a large list is streamed in chunks and parses as one list, while other requests are answered', async () => {
  const path = '/api/v1/namespaces/default/configmaps';
  const existing = (await call(h.port, 'GET', path)).json().items.length;
  for (let i = 0; i < 1200; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => h.cluster.registry.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `many${i + j}` } }, internalContext('test'))));
  }
  const [list, ns] = await Promise.all([call(h.port, 'GET', path), call(h.port, 'GET', '/api/v1/namespaces')]);
  assert.equal(list.status, 200);
  assert.equal(list.headers['content-length'], undefined);
  assert.equal(list.json().items.length, existing + 1200);
  assert.equal(ns.status, 200);
});

test('a streamed list that waits on its client many times leaves no listeners behind', async () => {
  // Over ten chunks, each bigger than the socket's buffer: every chunk waits for 'drain'.
  // Each wait used to leave a 'close' listener on the response (MaxListenersExceededWarning).
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    const data = { v: 'x'.repeat(200) };
    for (let i = 0; i < 6000; i += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, j) => h.cluster.registry.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `chunked${i + j}` }, data }, internalContext('test'))));
    }
    const list = await call(h.port, 'GET', '/api/v1/namespaces/default/configmaps');
    assert.equal(list.status, 200);
    assert.ok(list.json().items.length >= 6000);
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')), []);
  } finally {
    process.off('warning', onWarning);
  }
});
