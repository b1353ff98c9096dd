// Memory at scale: the watch cache keeps a bounded number of decoded objects (the rest are
// read again from the store on demand), and a watch from the start streams its initial
// events as the client reads them — each object as of the watch's start, then what
// happened meanwhile, in order — however much bigger than the slow-watcher backlog it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AddressInfo } from 'node:net';
import { ObjectMap, type UnreadSource } from '../../apiserver/watchcache.js';
import type { KubeObject } from '../../machinery/object.js';
import { SqliteStore } from '../../store/sqlite.js';
import { startApiCore, OPEN_POLICY } from '../../apiserver/api.js';
import { ApiServer } from '../../apiserver/server.js';
import { Authenticator } from '../../apiserver/authentication.js';
import { internalContext } from '../../apiserver/context.js';
import { resourceByPath } from '../../machinery/resources.js';

/** A full garbage collection (WeakRef targets nothing else holds are gone after it). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

test('an ObjectMap over a store keeps at most its bound of decoded objects, least recently used out, and reads the others again', async () => {
  let reads = 0;
  const stored = (key: string, rev: number): KubeObject => ({ kind: 'ConfigMap', metadata: { name: key, resourceVersion: String(rev) }, data: { k: key } }) as KubeObject;
  const source: UnreadSource = {
    one: (key, rev) => (reads++, stored(key, rev)),
    range: () => [],
  };
  const map = new ObjectMap(source, 5);
  const keys = Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(2, '0')}`);
  keys.forEach((k, i) => map.setUnread(k, i + 1));
  for (const k of keys) assert.equal(map.get(k)?.metadata?.name, k);
  assert.equal(reads, 20);
  assert.deepEqual(
    keys.filter((k) => !map.isUnread(k)),
    keys.slice(15),
    'the five read last stay decoded',
  );
  // A dropped object still held elsewhere (an in-process informer's) is served as it is;
  // once nothing holds it, it is read again, at its revision, equal to what was served before.
  const k01 = map.get('k01');
  assert.equal(reads, 20);
  assert.equal(map.get('k01'), k01);
  await new Promise((r) => setImmediate(r));
  collectGarbage();
  assert.deepEqual(map.get('k00'), stored('k00', 1));
  assert.equal(reads, 21);
  // A recently used one is kept over older ones; a new value (from a watch event) counts too.
  map.get('k16');
  map.set('new', stored('new', 99));
  assert.equal(map.isUnread('k16'), false);
  assert.equal(map.isUnread('k15'), true);
  assert.equal(map.size, 21);
});

test('an ObjectMap keeps exactly the most recently used objects decoded over many evictions, in any order of use', () => {
  const stored = (key: string, rev: number): KubeObject => ({ kind: 'ConfigMap', metadata: { name: key, resourceVersion: String(rev) } }) as KubeObject;
  const map = new ObjectMap({ one: stored, range: () => [] }, 5);
  const keys = Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(2, '0')}`);
  keys.forEach((k, i) => map.setUnread(k, i + 1));
  // The reference: keys by last use, most recent last.
  const recency: string[] = [];
  let seed = 7;
  for (let round = 0; round < 500; round++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const k = keys[seed % keys.length];
    assert.equal(map.get(k)?.metadata?.name, k);
    const at = recency.indexOf(k);
    if (at >= 0) recency.splice(at, 1);
    recency.push(k);
    assert.deepEqual(
      keys.filter((x) => !map.isUnread(x)),
      [...recency.slice(-5)].sort(),
      `after use ${round}`,
    );
  }
});

test('a watch from resourceVersion=0 streams every object (more than the 8 MiB backlog) as of its start, then the changes made meanwhile', async () => {
  const store = new SqliteStore(':memory:');
  const core = await startApiCore(store, OPEN_POLICY);
  const ctx = internalContext('test');
  const configmaps = resourceByPath('', 'v1', 'configmaps')!;
  await core.registry.create(resourceByPath('', 'v1', 'namespaces')!, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'big' } }, ctx);
  const N = 1000;
  const pad = 'x'.repeat(10_000);
  const name = (i: number) => `cm-${String(i).padStart(4, '0')}`;
  for (let i = 0; i < N; i++) await core.registry.create(configmaps, 'big', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name(i) }, data: { v: 'start', pad } }, ctx);
  const api = new ApiServer({
    pipeline: core.pipeline,
    authenticator: new Authenticator([() => ({ name: 'admin', groups: ['system:masters', 'system:authenticated'] })]),
    serverAddress: '127.0.0.1:6443',
  });
  const server = createServer(api.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const events: { type: string; name: string; v?: string }[] = [];
    let changed = false;
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/v1/namespaces/big/configmaps?watch=1&resourceVersion=0', headers: { authorization: 'Bearer t' } }, (res) => {
        assert.equal(res.statusCode, 200);
        let tail = '';
        res.on('data', (chunk: Buffer) => {
          if (!changed) {
            // Changes while the initial events are still being sent (the client has not read them).
            changed = true;
            res.pause();
            void (async () => {
              const cur = core.registry.get(configmaps, 'big', name(0));
              await core.registry.update(configmaps, 'big', name(0), { ...cur, data: { v: 'changed', pad } }, ctx);
              await core.registry.delete(configmaps, 'big', name(1), {}, ctx);
              await core.registry.create(configmaps, 'big', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-new' }, data: { v: 'new' } }, ctx);
              res.resume();
            })().catch(reject);
          }
          const lines = (tail + chunk.toString('utf8')).split('\n');
          tail = lines.pop()!;
          for (const line of lines) {
            const ev = JSON.parse(line) as { type: string; object: { metadata: { name: string }; data?: { v?: string } } };
            events.push({ type: ev.type, name: ev.object.metadata.name, v: ev.object.data?.v });
            if (ev.object.metadata.name === 'cm-new') {
              req.destroy();
              resolve();
            }
          }
        });
        res.on('end', () => reject(new Error(`watch ended after ${events.length} events`)));
      });
      req.on('error', (err) => (events.length > 0 && events[events.length - 1].name === 'cm-new' ? undefined : reject(err)));
      req.end();
    });
    const initial = events.slice(0, N);
    assert.ok(initial.every((e) => e.type === 'ADDED'));
    assert.deepEqual(
      initial.map((e) => e.name),
      Array.from({ length: N }, (_, i) => name(i)),
    );
    assert.ok(initial.every((e) => e.v === 'start'), 'initial events show the objects as of the start');
    assert.deepEqual(events.slice(N), [
      { type: 'MODIFIED', name: name(0), v: 'changed' },
      { type: 'DELETED', name: name(1), v: 'start' },
      { type: 'ADDED', name: 'cm-new', v: 'new' },
    ]);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    core.stop();
    await store.close();
  }
});
