// Store growth: the SQLite file's size after an hour-equivalent of updates to the same
// objects, with the control plane's periodic compaction (every 5 minutes, scaled down).
// Run: node dist/bench/store-growth.js [objects] [updatesPerObject]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../store/sqlite.js';

const objects = Number(process.argv[2] ?? 1000);
const updates = Number(process.argv[3] ?? 120);
/** 12 compactions: one hour at upstream's 5-minute interval. */
const COMPACTIONS = 12;

const dir = mkdtempSync(join(tmpdir(), 'kite-growth-'));
const store = new SqliteStore(join(dir, 'state.db'), { synchronous: 'NORMAL' });
const value = (i: number, r: number) => Buffer.from(JSON.stringify({ metadata: { name: `c${i}` }, data: { r: String(r), pad: 'x'.repeat(1000) } }));
for (let i = 0; i < objects; i++) await store.create(`/registry/configmaps/default/c${i}`, value(i, 0));
const live = store.sizeOnDisk();
let lastSeen = store.revision();
const every = Math.max(1, Math.floor(updates / COMPACTIONS));
const rows: string[] = [];
const start = Date.now();
for (let r = 1; r <= updates; r++) {
  await Promise.all(
    Array.from({ length: objects }, async (_, i) => {
      const cur = await store.get(`/registry/configmaps/default/c${i}`);
      await store.update(`/registry/configmaps/default/c${i}`, value(i, r), cur!.modRevision);
    }),
  );
  if (r % every === 0) {
    const target = lastSeen;
    lastSeen = store.revision();
    await store.compact(target);
    rows.push(`${String(r).padStart(8)} ${String(store.revision()).padStart(10)} ${(store.sizeOnDisk() / 1e6).toFixed(1).padStart(10)}`);
  }
}
console.log(`objects ${objects}, updates per object ${updates}, ${objects * updates} writes in ${((Date.now() - start) / 1000).toFixed(1)} s`);
console.log(`size with live data only: ${(live / 1e6).toFixed(1)} MB`);
console.log('   round   revision    size MB');
for (const r of rows) console.log(r);
await store.close();
rmSync(dir, { recursive: true, force: true });
