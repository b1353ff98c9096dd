// The watch cache over a SQLite store starts from keys and revisions only: values are read
// on first access (one by one, or a range at once for lists), and never stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SqliteStore } from '../../store/sqlite.js';
import { WatchCache } from '../../apiserver/watchcache.js';
import { startApiCore, OPEN_POLICY } from '../../apiserver/api.js';
import { internalContext } from '../../apiserver/context.js';
import { resourceByPath } from '../../machinery/resources.js';

const PREFIX = '/registry/core/configmaps/';
const value = (name: string, v: string) => Buffer.from(JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name, namespace: 'ns' }, data: { v } }));

test('objects present at start are read on demand, lists read them in one range, changes replace them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-unread-'));
  const store = new SqliteStore(join(dir, 'state.db'));
  try {
    for (let i = 0; i < 200; i++) await store.create(`${PREFIX}ns/cm-${String(i).padStart(3, '0')}`, value(`cm-${i}`, '0'));
    const updated = await store.update(`${PREFIX}ns/cm-005`, value('cm-5', '1'), (await store.get(`${PREFIX}ns/cm-005`))!.modRevision);
    let ranges = 0;
    let singles = 0;
    const counting = Object.assign(Object.create(store) as SqliteStore, {
      valuesBetween: (a: string, b: string) => (ranges++, store.valuesBetween(a, b)),
      valueAt: (k: string, r: number) => (singles++, store.valueAt(k, r)),
    });
    const cache = new WatchCache(counting);
    await cache.start([PREFIX]);
    const res = cache.resource(PREFIX);
    assert.equal(res.objects.size, 200);
    assert.equal(singles + ranges, 0, 'nothing read at start');

    const one = res.objects.get(`${PREFIX}ns/cm-005`)!;
    assert.equal((one as { data?: { v: string } }).data?.v, '1');
    assert.equal(one.metadata?.resourceVersion, String(updated.modRevision));
    assert.equal(singles, 1);

    // A change after start replaces the unread entry: the cache never serves the old value.
    const cur = (await store.get(`${PREFIX}ns/cm-007`))!;
    await store.update(`${PREFIX}ns/cm-007`, value('cm-7', '2'), cur.modRevision);
    assert.equal((res.objects.get(`${PREFIX}ns/cm-007`) as { data?: { v: string } }).data?.v, '2');
    await store.delete(`${PREFIX}ns/cm-008`);
    assert.equal(res.objects.get(`${PREFIX}ns/cm-008`), undefined);

    const listed = res.list('ns');
    assert.equal(listed.length, 199);
    assert.equal(ranges, 1, 'the list read its objects in one range');
    assert.equal(singles, 1);
    assert.deepEqual(listed.map((o) => o.metadata?.name).slice(0, 3), ['cm-0', 'cm-1', 'cm-2']);
    cache.stop();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a later page of a paged list, served as of an older revision, reads its unread objects in one range too, without keeping them decoded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-unread-'));
  const store = new SqliteStore(join(dir, 'state.db'));
  try {
    const name = (i: number) => `cm-${String(i).padStart(3, '0')}`;
    for (let i = 0; i < 300; i++) await store.create(`${PREFIX}ns/${name(i)}`, value(name(i), '0'));
    let ranges = 0;
    let singles = 0;
    const valueAt = store.valueAt.bind(store);
    const valuesBetween = store.valuesBetween.bind(store);
    store.valueAt = (k, r) => (singles++, valueAt(k, r));
    store.valuesBetween = (a, b) => (ranges++, valuesBetween(a, b));
    const core = await startApiCore(store, OPEN_POLICY);
    const configmaps = resourceByPath('', 'v1', 'configmaps')!;
    const first = core.registry.list(configmaps, 'ns', { limit: 100 });
    assert.equal(first.items.length, 100);
    // Something else changes meanwhile: the next page is served as of the first one's revision.
    await core.registry.create(resourceByPath('', 'v1', 'namespaces')!, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } }, internalContext('test'));
    singles = 0;
    ranges = 0;
    const second = core.registry.list(configmaps, 'ns', { limit: 100, continue: first.continue });
    assert.equal(second.resourceVersion, first.resourceVersion);
    assert.deepEqual(
      second.items.map((o) => o.metadata?.name),
      Array.from({ length: 100 }, (_, i) => name(100 + i)),
    );
    assert.equal(singles, 0, 'no object read on its own');
    assert.equal(ranges, 1, 'the page read in one range');
    // Read in passing: a walk over the whole store leaves nothing more decoded in memory.
    const objects = core.cache.resource(PREFIX).objects;
    assert.ok(second.items.every((o) => objects.isUnread(`${PREFIX}ns/${o.metadata?.name}`)));
    core.stop();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('objects the cache dropped are listed without reading the store while something else holds them (an in-process informer), and read again once nothing does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-unread-'));
  const store = new SqliteStore(join(dir, 'state.db'));
  try {
    const name = (i: number) => `cm-${String(i).padStart(3, '0')}`;
    for (let i = 0; i < 300; i++) await store.create(`${PREFIX}ns/${name(i)}`, value(name(i), '0'));
    let reads = 0;
    const valueAt = store.valueAt.bind(store);
    const valuesBetween = store.valuesBetween.bind(store);
    store.valueAt = (k, r) => (reads++, valueAt(k, r));
    store.valuesBetween = (a, b) => (reads++, valuesBetween(a, b));
    const core = await startApiCore(store, OPEN_POLICY);
    const configmaps = resourceByPath('', 'v1', 'configmaps')!;
    // Paged, as kubectl lists (the pages are dropped at once: only `held` keeps objects).
    const pages = () => {
      const first = core.registry.list(configmaps, 'ns', { limit: 150 });
      return [...first.items, ...core.registry.list(configmaps, 'ns', { limit: 150, continue: first.continue }).items];
    };
    let held: unknown[] | undefined = core.registry.list(configmaps, 'ns', {}).items;
    assert.ok(reads > 0);
    reads = 0;
    assert.ok(pages().every((o, i) => o === held![i]), 'the very objects held');
    assert.equal(reads, 0, 'no read of the store');
    held = undefined;
    await new Promise((r) => setImmediate(r));
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    assert.equal(core.registry.list(configmaps, 'ns', {}).items.length, 300);
    assert.ok(reads > 0, 'read again once nothing held them');
    core.stop();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
