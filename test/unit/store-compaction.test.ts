import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../store/sqlite.js';
import { startCompactor } from '../../store/open.js';

async function churn(store: SqliteStore, objects: number, rounds: number): Promise<void> {
  const value = (i: number, r: number) => Buffer.from(JSON.stringify({ i, r, pad: 'x'.repeat(2000) }));
  for (let i = 0; i < objects; i++) await store.create(`/registry/configmaps/default/c${i}`, value(i, 0));
  for (let r = 1; r < rounds; r++) {
    await Promise.all(
      Array.from({ length: objects }, async (_, i) => {
        const cur = await store.get(`/registry/configmaps/default/c${i}`);
        await store.update(`/registry/configmaps/default/c${i}`, value(i, r), cur!.modRevision);
      }),
    );
  }
}

test('compaction returns the space of old revisions: the file stays proportional to live data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-compact-'));
  try {
    const store = new SqliteStore(join(dir, 'state.db'));
    await churn(store, 100, 40);
    const grown = store.sizeOnDisk();
    await store.compact(store.revision());
    const compacted = store.sizeOnDisk();
    // 100 live objects of ~2 KB: well under 1 MB once 3,900 old revisions are gone.
    assert.ok(grown > 4 * compacted, `grown ${grown} compacted ${compacted}`);
    assert.ok(compacted < 1_000_000, `compacted ${compacted}`);
    assert.equal((await store.list('/registry/')).items.length, 100);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the periodic compactor compacts to the revision seen one interval earlier', async () => {
  const store = new SqliteStore(':memory:');
  await churn(store, 5, 3);
  const seen = store.revision();
  const stop = startCompactor(store, 30);
  await churn(store, 0, 0);
  await store.create('/registry/configmaps/default/late', Buffer.from('{}'));
  const deadline = Date.now() + 5000;
  while (store.compactedRevision() < seen && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  stop();
  assert.ok(store.compactedRevision() >= seen, `compacted ${store.compactedRevision()} seen ${seen}`);
  assert.ok(store.compactedRevision() <= store.revision());
  await store.close();
});
