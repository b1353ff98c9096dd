import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { SqliteStore } from '../../store/sqlite.js';
import { StoreError } from '../../store/types.js';
import type { WatchEvent } from '../../store/types.js';

const b = (s: string) => Buffer.from(s);

function tempDb(): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'kite-store-'));
  return { file: join(dir, 'state.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('revisions increase by one per write and become modRevision', async () => {
  const s = new SqliteStore(':memory:');
  const a = await s.create('/registry/core/pods/default/a', b('1'));
  const c = await s.create('/registry/core/pods/default/c', b('2'));
  assert.equal(a.modRevision, 1);
  assert.equal(c.modRevision, 2);
  const u = await s.update('/registry/core/pods/default/a', b('3'), 1);
  assert.equal(u.modRevision, 3);
  assert.equal(u.createRevision, 1);
  assert.equal(s.revision(), 3);
  await s.close();
});

test('create refuses an existing key; update is compare-and-swap', async () => {
  const s = new SqliteStore(':memory:');
  await s.create('/k', b('1'));
  await assert.rejects(s.create('/k', b('2')), (e: unknown) => e instanceof StoreError && e.code === 'KeyExists');
  await assert.rejects(s.update('/k', b('2'), 99), (e: unknown) => e instanceof StoreError && e.code === 'Conflict' && e.current?.value.toString() === '1');
  await assert.rejects(s.update('/missing', b('2'), 1), (e: unknown) => e instanceof StoreError && e.code === 'KeyNotFound');
  assert.equal((await s.get('/k'))!.value.toString(), '1');
  await s.close();
});

test('list returns only keys under the prefix, in key order', async () => {
  const s = new SqliteStore(':memory:');
  await s.create('/registry/core/pods/ns/b', b('b'));
  await s.create('/registry/core/pods/ns/a', b('a'));
  await s.create('/registry/core/podtemplates/ns/x', b('x'));
  const l = await s.list('/registry/core/pods/');
  assert.deepEqual(
    l.items.map((i) => i.key),
    ['/registry/core/pods/ns/a', '/registry/core/pods/ns/b'],
  );
  assert.equal(l.revision, 3);
  await s.close();
});

test('watch replays history after a revision, then follows live writes', async () => {
  const s = new SqliteStore(':memory:');
  await s.create('/p/a', b('1'));
  await s.update('/p/a', b('2'), 1);
  await s.create('/q/x', b('x'));
  const seen: WatchEvent[] = [];
  const h = s.watch('/p/', 1, (ev) => seen.push(ev));
  await s.delete('/p/a');
  h.stop();
  await s.create('/p/b', b('after stop'));
  assert.deepEqual(
    seen.map((e) => [e.type, e.kv.key, e.revision, e.kv.value.toString(), e.prevKv?.value.toString()]),
    [
      ['put', '/p/a', 2, '2', '1'],
      ['delete', '/p/a', 4, '2', '2'],
    ],
  );
  await s.close();
});

test('compaction makes older revisions unwatchable (410 material)', async () => {
  const s = new SqliteStore(':memory:');
  for (let i = 0; i < 5; i++) await s.create(`/k/${i}`, b(String(i)));
  await s.compact(4);
  assert.equal(s.compactedRevision(), 4);
  assert.throws(() => s.watch('/k/', 2, () => {}), (e: unknown) => e instanceof StoreError && e.code === 'Compacted');
  const seen: number[] = [];
  s.watch('/k/', 4, (ev) => seen.push(ev.revision)).stop();
  assert.deepEqual(seen, [5]);
  await s.close();
});

test('data and revision survive reopening the file', async () => {
  const { file, cleanup } = tempDb();
  try {
    const s = new SqliteStore(file);
    await s.create('/a', b('1'));
    await s.create('/b', b('2'));
    await s.delete('/a');
    await s.compact(2);
    await s.close();
    const r = new SqliteStore(file);
    assert.equal(r.revision(), 3);
    assert.equal(r.compactedRevision(), 2);
    assert.equal(await r.get('/a'), undefined);
    assert.equal((await r.get('/b'))!.value.toString(), '2');
    const next = await r.create('/c', b('3'));
    assert.equal(next.modRevision, 4);
    await r.close();
  } finally {
    cleanup();
  }
});

test('an acknowledged write survives kill -9 of the writer', async () => {
  const { file, cleanup } = tempDb();
  try {
    // A child process writes, prints after each acknowledged write, then is killed
    // with SIGKILL without closing the database.
    const storeModule = new URL('../../store/sqlite.js', import.meta.url).href;
    const script = `
      import { SqliteStore } from ${JSON.stringify(storeModule)};
      const s = new SqliteStore(${JSON.stringify(file)});
      for (let i = 0; i < 50; i++) await s.create('/k/' + i, Buffer.from('v' + i));
      process.stdout.write('acked\\n');
      process.kill(process.pid, 'SIGKILL');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL');
    assert.match(r.stdout, /acked/);
    const s = new SqliteStore(file);
    const l = await s.list('/k/');
    assert.equal(l.items.length, 50);
    assert.equal(s.revision(), 50);
    await s.close();
  } finally {
    cleanup();
  }
});

test('concurrent writes are committed together, each checked in order', async () => {
  const s = new SqliteStore(':memory:');
  const seen: number[] = [];
  s.watch('/', 0, (ev) => seen.push(ev.revision));
  const results = await Promise.allSettled([
    s.create('/a', b('1')),
    s.create('/a', b('dup')),
    s.create('/b', b('2')),
    s.update('/a', b('3'), 1),
    s.update('/a', b('stale'), 1),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected'],
  );
  assert.equal((results[1] as PromiseRejectedResult).reason.code, 'KeyExists');
  assert.equal((results[4] as PromiseRejectedResult).reason.code, 'Conflict');
  assert.equal((await s.get('/a'))!.value.toString(), '3');
  assert.deepEqual(seen, [1, 2, 3]);
  await s.close();
});
