// A database written by the first schema (every value stored twice, in `history` and
// `current`) opens with every key, revision and event it had. The fixture was made by that
// code (main at a87d12c): create a, b, c (revisions 1–3); update a (4); delete b (5);
// update c (6); compact at 5, which dropped a's current revision from history; create d
// (7) and update it (8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../store/sqlite.js';
import type { WatchEvent } from '../../store/types.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/sqlite/values-stored-twice.db', import.meta.url));
const text = (b: Buffer | undefined) => (b ? (JSON.parse(b.toString()) as { v: string }).v : undefined);

async function expectFixtureData(store: SqliteStore): Promise<void> {
  assert.equal(store.revision(), 8);
  assert.equal(store.compactedRevision(), 5);
  const items = (await store.list('/registry/')).items;
  assert.deepEqual(
    items.map((kv) => [kv.key, text(kv.value), kv.createRevision, kv.modRevision]),
    [
      ['/registry/a', 'a2', 1, 4],
      ['/registry/c', 'c2', 3, 6],
      ['/registry/d', 'd2', 7, 8],
    ],
  );
  assert.equal(await store.get('/registry/b'), undefined);
  assert.equal(text(store.valueAt('/registry/a', 4)), 'a2');
  const events: WatchEvent[] = [];
  store.watch('/registry/', 5, (ev) => events.push(ev)).stop();
  assert.deepEqual(
    events.map((ev) => [ev.type, ev.kv.key, text(ev.kv.value), ev.revision, text(ev.prevKv?.value)]),
    [
      ['put', '/registry/c', 'c2', 6, undefined],
      ['put', '/registry/d', 'd1', 7, undefined],
      ['put', '/registry/d', 'd2', 8, 'd1'],
    ],
  );
  assert.throws(() => store.watch('/registry/', 4, () => {}), /compacted/);
}

test('a database of the schema that stored values twice is migrated on open and keeps all its data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-migrate-'));
  const file = join(dir, 'state.db');
  try {
    copyFileSync(FIXTURE, file);
    let store = new SqliteStore(file);
    await expectFixtureData(store);
    const created = await store.create('/registry/e', Buffer.from(JSON.stringify({ v: 'e1' })));
    assert.equal(created.modRevision, 9);
    await store.close();

    const db = new Database(file, { readonly: true });
    const columns = (db.pragma('table_info(current)') as { name: string }[]).map((c) => c.name);
    assert.deepEqual(columns, ['key', 'create_revision', 'mod_revision']);
    db.close();

    // Opened again (nothing left to migrate), then compacted: every live key keeps its value.
    store = new SqliteStore(file);
    assert.equal(store.revision(), 9);
    await store.update('/registry/c', Buffer.from(JSON.stringify({ v: 'c3' })), 6);
    await store.compact(store.revision());
    assert.deepEqual(
      (await store.list('/registry/')).items.map((kv) => [kv.key, text(kv.value), kv.modRevision]),
      [
        ['/registry/a', 'a2', 4],
        ['/registry/c', 'c3', 10],
        ['/registry/d', 'd2', 8],
        ['/registry/e', 'e1', 9],
      ],
    );
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
