// Group commit in the SQLite store (store/sqlite.ts): concurrent writes share one
// transaction and one fsync of the WAL, yet keep one revision per write, per-write
// errors, watch events in revision order delivered before the writers are answered,
// and reads that never see a write before it is durable. Runs on a file (the durable
// path, with the store's own fsync), and through the API server for 409 AlreadyExists.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../store/sqlite.js';
import { StoreError, type WatchEvent } from '../../store/types.js';
import { startApiCore, OPEN_POLICY, type ApiCore } from '../../apiserver/api.js';
import { ApiServer } from '../../apiserver/server.js';
import { Authenticator } from '../../apiserver/authentication.js';
import { internalContext } from '../../apiserver/context.js';
import { resourceByPath } from '../../machinery/resources.js';

const b = (s: string) => Buffer.from(s);
const dir = mkdtempSync(join(tmpdir(), 'kite-group-commit-'));
let files = 0;
const open = () => new SqliteStore(join(dir, `s${++files}.db`));

after(() => rmSync(dir, { recursive: true, force: true }));

test('concurrent creates of one key: one wins, the others fail with KeyExists, the rest of the batch is intact', async () => {
  const s = open();
  const results = await Promise.allSettled([
    s.create('/k/a', b('first')),
    s.create('/k/same', b('0')),
    s.create('/k/same', b('1')),
    s.create('/k/same', b('2')),
    s.create('/k/z', b('last')),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled'],
  );
  for (const r of results.slice(2, 4)) assert.equal(((r as PromiseRejectedResult).reason as StoreError).code, 'KeyExists');
  const revs = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ modRevision: number }>).value.modRevision);
  // One revision per successful write, contiguous, in arrival order.
  assert.deepEqual(revs, [1, 2, 3]);
  assert.equal((await s.get('/k/same'))!.value.toString(), '0');
  assert.deepEqual((await s.list('/k/')).items.map((kv) => kv.key), ['/k/a', '/k/same', '/k/z']);
  assert.equal(s.revision(), 3);
  await s.close();
});

test('a failed compare-and-swap in a batch fails alone; the writes after it use the revisions in order', async () => {
  const s = open();
  const a = await s.create('/k/a', b('1'));
  const c = await s.create('/k/c', b('1'));
  const seen: WatchEvent[] = [];
  s.watch('/k/', s.revision(), (ev) => seen.push(ev));
  const results = await Promise.allSettled([
    s.update('/k/a', b('2'), a.modRevision),
    s.update('/k/a', b('stale'), a.modRevision),
    s.delete('/k/c', c.modRevision + 100),
    s.update('/k/missing', b('x'), 1),
    s.delete('/k/c', c.modRevision),
    s.create('/k/d', b('1')),
  ]);
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as StoreError).code)),
    ['ok', 'Conflict', 'Conflict', 'KeyNotFound', 'ok', 'ok'],
  );
  // The conflict reports the current value (the one the first update wrote).
  assert.equal(((results[1] as PromiseRejectedResult).reason as StoreError).current!.value.toString(), '2');
  assert.deepEqual(
    seen.map((ev) => [ev.type, ev.kv.key, ev.revision]),
    [
      ['put', '/k/a', 3],
      ['delete', '/k/c', 4],
      ['put', '/k/d', 5],
    ],
  );
  assert.equal((await s.get('/k/a'))!.value.toString(), '2');
  assert.equal(await s.get('/k/c'), undefined);
  await s.close();
});

test('many concurrent writers: contiguous revisions, each event once and in order, delivered before its writer is answered', async () => {
  const s = open();
  const events: number[] = [];
  s.watch('/w/', 0, (ev) => events.push(ev.revision));
  let lateWatch: number[] | undefined;
  const writes: Promise<unknown>[] = [];
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 40; i++) {
      const key = `/w/${round}-${i}`;
      writes.push(
        s.create(key, b(key)).then((kv) => {
          // The writer's own event reached the watcher first.
          assert.ok(events.includes(kv.modRevision), `event ${kv.modRevision} before the answer`);
          return kv;
        }),
      );
    }
    // Between rounds, batches are committed while earlier ones are still being synced.
    await new Promise((r) => setImmediate(r));
    if (round === 2) {
      // A watch from the start opened mid-stream: replay, then live events, none twice.
      lateWatch = [];
      const seen = lateWatch;
      s.watch('/w/', 0, (ev) => seen.push(ev.revision));
    }
  }
  await Promise.all(writes);
  const all = Array.from({ length: 200 }, (_, i) => i + 1);
  assert.deepEqual(events, all);
  assert.deepEqual(lateWatch, all);
  assert.equal(s.revision(), 200);
  await s.close();
});

test('a read answers only once the state it saw is durable, and close waits for the writes in flight', async () => {
  const file = join(dir, 'reads.db');
  const s = new SqliteStore(file);
  const order: string[] = [];
  const write = s.create('/r/a', b('1')).then(() => order.push('write'));
  // After the batch is committed (next turn), a read sees it but answers after the writer.
  await new Promise((r) => setImmediate(r));
  const read = s.get('/r/a').then((kv) => order.push(`read ${kv?.value.toString()}`));
  await Promise.all([write, read]);
  assert.deepEqual(order, ['write', 'read 1']);
  const pending = s.create('/r/b', b('2'));
  await s.close();
  assert.equal((await pending).modRevision, 2);
  const again = new SqliteStore(file);
  assert.deepEqual((await again.list('/r/')).items.map((kv) => kv.key), ['/r/a', '/r/b']);
  await again.close();
});

test('writes that come while an fsync runs wait for it, then commit together; close waits for them too', async () => {
  const file = join(dir, 'during-sync.db');
  const s = new SqliteStore(file);
  const first = s.create('/d/0', b('0'));
  // The next turn: the first batch is committed and its fsync is running.
  await new Promise((r) => setImmediate(r));
  const later = Array.from({ length: 20 }, (_, i) => s.create(`/d/${i + 1}`, b(String(i + 1))));
  const closed = s.close();
  assert.equal((await first).modRevision, 1);
  assert.deepEqual((await Promise.all(later)).map((kv) => kv.modRevision), Array.from({ length: 20 }, (_, i) => i + 2));
  await closed;
  const again = new SqliteStore(file);
  assert.equal((await again.list('/d/')).items.length, 21);
  assert.equal(again.revision(), 21);
  await again.close();
});

// Through the API server: the same name created concurrently is one 201 and 409s.
let server: Server;
let port = 0;
let core: ApiCore;
let apiStore: SqliteStore;

before(async () => {
  apiStore = new SqliteStore(join(dir, 'api.db'));
  core = await startApiCore(apiStore, OPEN_POLICY);
  await core.registry.create(resourceByPath('', 'v1', 'namespaces')!, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, internalContext('test'));
  const api = new ApiServer({
    pipeline: core.pipeline,
    authenticator: new Authenticator([() => ({ name: 'admin', groups: ['system:masters', 'system:authenticated'] })]),
    serverAddress: '127.0.0.1:6443',
  });
  server = createServer(api.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  core.stop();
  await apiStore.close();
});

function post(path: string, body: object): Promise<{ status: number; body: { reason?: string; metadata?: { resourceVersion?: string; name?: string } } }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

test('API: concurrent creates of one name are one 201 and 409 AlreadyExists for the others; other names all succeed with distinct resourceVersions', async () => {
  const cm = (name: string, v: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v } });
  const replies = await Promise.all([
    ...Array.from({ length: 8 }, (_, i) => post('/api/v1/namespaces/default/configmaps', cm('same', String(i)))),
    ...Array.from({ length: 8 }, (_, i) => post('/api/v1/namespaces/default/configmaps', cm(`other-${i}`, String(i)))),
  ]);
  const same = replies.slice(0, 8);
  assert.equal(same.filter((r) => r.status === 201).length, 1);
  for (const r of same.filter((r) => r.status !== 201)) {
    assert.equal(r.status, 409);
    assert.equal(r.body.reason, 'AlreadyExists');
  }
  const others = replies.slice(8);
  assert.deepEqual(
    others.map((r) => r.status),
    Array(8).fill(201),
  );
  const rvs = new Set(others.map((r) => r.body.metadata!.resourceVersion));
  assert.equal(rvs.size, 8);
});
