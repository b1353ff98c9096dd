// The store contract, run against both backends: SQLite, and etcd (a real etcd from
// Debian's etcd-server, started once for this file). Each test works under its own
// key prefix and counts revisions from where the store stood when it began, since
// the etcd is shared by the tests and its revisions start from its own history.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { SqliteStore } from '../../store/sqlite.js';
import { EtcdStore } from '../../store/etcd.js';
import { startEtcd, type EtcdProcess } from '../../store/etcd-process.js';
import { fromEtcdKey, toEtcdKey, etcdPrefixFor } from '../../store/etcd-keys.js';
import { StoreError } from '../../store/types.js';
import type { Store, WatchEvent } from '../../store/types.js';
import { createCA } from '../../machinery/pki.js';

const b = (s: string) => Buffer.from(s);
const isCode = (code: string) => (e: unknown) => e instanceof StoreError && e.code === code;

function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'kite-store-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

let unique = 0;
/** A key prefix no other test uses. */
const fresh = () => `/t${process.pid}-${++unique}/`;

interface Backend {
  name: string;
  /** A store; the same data each time it is reopened (reopen after close). */
  open(): Promise<Store>;
  skip?: string;
}

const canRunEtcd = existsSync('/usr/bin/etcd') || process.getuid?.() === 0;
let etcd: EtcdProcess | undefined;
const etcdDir = tempDir();

const sqliteFile = join(tempDir().dir, 'state.db');
const backends: Backend[] = [
  { name: 'sqlite', open: async () => new SqliteStore(sqliteFile) },
  {
    name: 'etcd',
    skip: canRunEtcd ? undefined : 'needs /usr/bin/etcd (apt-get install etcd-server) or root to install it',
    open: () => EtcdStore.open({ endpoints: [etcd!.clientURL], ...etcd!.tls }),
  },
];

before(async () => {
  if (!canRunEtcd) return;
  const ca = await createCA('kite-test');
  etcd = await startEtcd({ clusterDir: etcdDir.dir, ca });
});

after(async () => {
  await etcd?.stop();
  etcdDir.cleanup();
});

for (const be of backends) {
  describe(`store contract: ${be.name}`, { skip: be.skip }, () => {
    test('revisions increase by one per write and become modRevision', async () => {
      const s = await be.open();
      const p = fresh();
      const base = s.revision();
      const a = await s.create(`${p}a`, b('1'));
      const c = await s.create(`${p}c`, b('2'));
      assert.equal(a.modRevision, base + 1);
      assert.equal(a.createRevision, base + 1);
      assert.equal(c.modRevision, base + 2);
      const u = await s.update(`${p}a`, b('3'), a.modRevision);
      assert.equal(u.modRevision, base + 3);
      assert.equal(u.createRevision, base + 1);
      assert.equal(s.revision(), base + 3);
      const got = await s.get(`${p}a`);
      assert.deepEqual([got!.value.toString(), got!.createRevision, got!.modRevision], ['3', base + 1, base + 3]);
      await s.close();
    });

    test('create refuses an existing key; update and delete are compare-and-swap', async () => {
      const s = await be.open();
      const p = fresh();
      const k = await s.create(`${p}k`, b('1'));
      await assert.rejects(s.create(`${p}k`, b('2')), isCode('KeyExists'));
      await assert.rejects(
        s.update(`${p}k`, b('2'), k.modRevision + 99),
        (e: unknown) => isCode('Conflict')(e) && (e as StoreError).current?.value.toString() === '1' && (e as StoreError).current?.modRevision === k.modRevision,
      );
      await assert.rejects(s.update(`${p}missing`, b('2'), 1), isCode('KeyNotFound'));
      await assert.rejects(s.delete(`${p}k`, k.modRevision + 99), isCode('Conflict'));
      await assert.rejects(s.delete(`${p}missing`), isCode('KeyNotFound'));
      assert.equal((await s.get(`${p}k`))!.value.toString(), '1');
      const d = await s.delete(`${p}k`, k.modRevision);
      assert.equal(d.prev.value.toString(), '1');
      assert.equal(d.revision, s.revision());
      assert.equal(await s.get(`${p}k`), undefined);
      await s.close();
    });

    test('list returns only keys under the prefix, in key order', async () => {
      const s = await be.open();
      const ns = `ns${process.pid}x${++unique}`;
      await s.create(`/registry/core/pods/${ns}/b`, b('b'));
      await s.create(`/registry/core/pods/${ns}/a`, b('a'));
      await s.create(`/registry/core/podtemplates/${ns}/x`, b('x'));
      await s.create(`/registry/apps/deployments/${ns}/d`, b('d'));
      const l = await s.list(`/registry/core/pods/${ns}/`);
      assert.deepEqual(
        l.items.map((i) => i.key),
        [`/registry/core/pods/${ns}/a`, `/registry/core/pods/${ns}/b`],
      );
      assert.equal(l.revision, s.revision());
      // A prefix that spans resources (a whole group).
      const apps = await s.list('/registry/apps/');
      assert.ok(apps.items.some((i) => i.key === `/registry/apps/deployments/${ns}/d`));
      assert.ok(apps.items.every((i) => i.key.startsWith('/registry/apps/')));
      await s.close();
    });

    test('listPage pages with a limit and a continue token at one revision', async () => {
      const s = await be.open();
      const p = fresh();
      for (const n of ['e', 'a', 'd', 'b', 'c']) await s.create(`${p}${n}`, b(n));
      const seen: string[] = [];
      let page = await s.listPage(p, { limit: 2 });
      const revision = page.revision;
      seen.push(...page.items.map((i) => i.key.slice(p.length)));
      while (page.continue !== undefined) {
        assert.equal(page.items.length, 2);
        page = await s.listPage(p, { limit: 2, continue: page.continue, revision });
        assert.equal(page.revision, revision);
        seen.push(...page.items.map((i) => i.key.slice(p.length)));
      }
      assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e']);
      await s.close();
    });

    test('watch replays history after a revision, then follows live writes', async () => {
      const s = await be.open();
      const p = fresh();
      const q = fresh();
      const a = await s.create(`${p}a`, b('1'));
      const u = await s.update(`${p}a`, b('2'), a.modRevision);
      await s.create(`${q}x`, b('x'));
      const seen: WatchEvent[] = [];
      const h = s.watch(p, a.modRevision, (ev) => seen.push(ev));
      // A write returns only once the store's watches have seen it (read-your-writes).
      const d = await s.delete(`${p}a`);
      assert.deepEqual(
        seen.map((e) => [e.type, e.kv.key, e.revision, e.kv.value.toString(), e.prevKv?.value.toString()]),
        [
          ['put', `${p}a`, u.modRevision, '2', '1'],
          ['delete', `${p}a`, d.revision, '2', '2'],
        ],
      );
      h.stop();
      await s.create(`${p}b`, b('after stop'));
      // Quiet: a second watch over the same range has caught up past the write.
      const later: number[] = [];
      const h2 = s.watch(p, d.revision, (ev) => later.push(ev.revision));
      await s.create(`${p}c`, b('sync'));
      h2.stop();
      assert.equal(later.length, 2);
      assert.equal(seen.length, 2);
      await s.close();
    });

    test('compaction makes older revisions unwatchable (410 material)', async () => {
      const s = await be.open();
      const p = fresh();
      const revs: number[] = [];
      for (let i = 0; i < 5; i++) revs.push((await s.create(`${p}${i}`, b(String(i)))).modRevision);
      await s.compact(revs[3]);
      assert.equal(s.compactedRevision(), revs[3]);
      assert.throws(() => s.watch(p, revs[1], () => {}), isCode('Compacted'));
      const seen: number[] = [];
      const h = s.watch(p, revs[3], (ev) => seen.push(ev.revision));
      // Wait for the replay through a write the watch must deliver.
      const last = await s.create(`${p}sync`, b('s'));
      h.stop();
      assert.deepEqual(seen, [revs[4], last.modRevision]);
      await s.close();
    });

    test('data, revision and compaction survive reopening', async () => {
      const s = await be.open();
      const p = fresh();
      await s.create(`${p}a`, b('1'));
      const k = await s.create(`${p}b`, b('2'));
      await s.delete(`${p}a`);
      await s.compact(k.modRevision);
      const rev = s.revision();
      await s.close();
      await assert.rejects(s.get(`${p}b`), isCode('Closed'));
      const r = await be.open();
      assert.equal(r.revision(), rev);
      assert.equal(r.compactedRevision(), k.modRevision);
      assert.equal(await r.get(`${p}a`), undefined);
      assert.equal((await r.get(`${p}b`))!.value.toString(), '2');
      const next = await r.create(`${p}c`, b('3'));
      assert.equal(next.modRevision, rev + 1);
      await r.close();
    });

    test('concurrent creates of one key: exactly one wins', async () => {
      const s = await be.open();
      const p = fresh();
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => s.create(`${p}k`, b(String(i)))));
      const won = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ value: Buffer }>[];
      assert.equal(won.length, 1);
      for (const r of results) if (r.status === 'rejected') assert.equal(r.reason.code, 'KeyExists');
      assert.equal((await s.get(`${p}k`))!.value.toString(), won[0].value.value.toString());
      await s.close();
    });
  });
}

describe('sqlite only', () => {
  test('an acknowledged write survives kill -9 of the writer', async () => {
    const { dir, cleanup } = tempDir();
    const file = join(dir, 'state.db');
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
});

test('etcd key layout: built-ins as upstream, custom resources under their group, reversible', () => {
  assert.equal(toEtcdKey('/registry/core/pods/default/web'), '/registry/pods/default/web');
  assert.equal(toEtcdKey('/registry/apps/deployments/default/web'), '/registry/deployments/default/web');
  assert.equal(toEtcdKey('/registry/core/namespaces/kube-system'), '/registry/namespaces/kube-system');
  assert.equal(toEtcdKey('/registry/example.com/widgets/default/w'), '/registry/example.com/widgets/default/w');
  for (const k of ['/registry/core/pods/default/web', '/registry/rbac.authorization.k8s.io/roles/a/b', '/registry/example.com/widgets/default/w', '/other']) {
    assert.equal(fromEtcdKey(toEtcdKey(k)), k);
  }
  assert.deepEqual(etcdPrefixFor('/registry/core/pods/'), { etcdPrefix: '/registry/pods/', filter: false });
  assert.deepEqual(etcdPrefixFor('/registry/apps/'), { etcdPrefix: '/registry/', filter: true });
});

describe('etcd only', { skip: canRunEtcd ? undefined : 'needs etcd' }, () => {
  test('keys are laid out in etcd as upstream: /registry/<resource>/<namespace>/<name>', async () => {
    const s = await EtcdStore.open({ endpoints: [etcd!.clientURL], ...etcd!.tls });
    const raw = await EtcdStore.open({ endpoints: [etcd!.clientURL], ...etcd!.tls, keyLayout: 'identity' });
    const ns = `layout${process.pid}`;
    await s.create(`/registry/core/pods/${ns}/web`, b('{}'));
    assert.equal((await raw.get(`/registry/pods/${ns}/web`))?.value.toString(), '{}');
    assert.equal(await raw.get(`/registry/core/pods/${ns}/web`), undefined);
    await Promise.all([s.close(), raw.close()]);
  });

  test('TLS is required: a client without a certificate is refused', async () => {
    await assert.rejects(EtcdStore.open({ endpoints: [etcd!.clientURL], ca: etcd!.tls.ca, connectTimeoutMs: 1500 }), /cannot reach/);
  });

  test('an acknowledged write survives kill -9 of etcd, and watches resume across the restart', async () => {
    const s = await EtcdStore.open({ endpoints: [etcd!.clientURL], ...etcd!.tls });
    const p = fresh();
    const seen: string[] = [];
    s.watch(p, s.revision(), (ev) => seen.push(ev.kv.key.slice(p.length)));
    for (let i = 0; i < 20; i++) await s.create(`${p}${i}`, b(String(i)));
    const pid = etcd!.pid()!;
    process.kill(pid, 'SIGKILL');
    // A watch made while etcd is down joins the others when the stream comes back.
    const seenLater: string[] = [];
    s.watch(p, s.revision(), (ev) => seenLater.push(ev.kv.key.slice(p.length)), { onError: (e) => seenLater.push(`error ${e.message}`) });
    // The supervisor restarts etcd; the store reconnects.
    const deadline = Date.now() + 30_000;
    let after: number | undefined;
    while (Date.now() < deadline) {
      try {
        after = (await s.create(`${p}after`, b('x'))).modRevision;
        break;
      } catch (err) {
        // The create may have been applied before its answer was lost.
        if (isCode('KeyExists')(err)) {
          after = (await s.get(`${p}after`))!.modRevision;
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    assert.ok(after, 'etcd came back');
    assert.notEqual(etcd!.pid(), pid);
    const l = await s.list(p);
    assert.equal(l.items.length, 21);
    assert.deepEqual(seen, [...Array.from({ length: 20 }, (_, i) => String(i)), 'after']);
    assert.deepEqual(seenLater, ['after']);
    await s.close();
  });

  test('a watch behind a compaction by another client ends with Compacted', async () => {
    const s = await EtcdStore.open({ endpoints: [etcd!.clientURL], ...etcd!.tls });
    const other = await EtcdStore.open({ endpoints: [etcd!.clientURL], ...etcd!.tls });
    const p = fresh();
    const first = await s.create(`${p}a`, b('1'));
    await s.create(`${p}b`, b('2'));
    await other.create(`${p}c`, b('3'));
    await other.compact(other.revision());
    // s does not know of the compaction yet: etcd refuses the watch.
    const err = await new Promise<StoreError>((resolve) => s.watch(p, first.modRevision - 1, () => {}, { onError: resolve }));
    assert.equal(err.code, 'Compacted');
    assert.ok(s.compactedRevision() >= other.compactedRevision());
    await Promise.all([s.close(), other.close()]);
  });

  test('several stores on one etcd: a whole-keyspace watch reports other keys as progress, freshRevision sees the other store\'s writes, and a watch cache catches up with it', async () => {
    const s = await EtcdStore.open({ endpoints: [etcd!.clientURL], ...etcd!.tls });
    const other = await EtcdStore.open({ endpoints: [etcd!.clientURL], ...etcd!.tls });
    const p = fresh();
    const start = await s.freshRevision();
    const events: number[] = [];
    const progress: number[] = [];
    const h = s.watch(p, start, (ev) => events.push(ev.revision), { everyRevision: true, onProgress: (r) => progress.push(r) });
    const inside = await other.create(`${p}a`, b('1'));
    const outside = await other.create(`/kite/allocations/test-${process.pid}-${Date.now()}`, b('x'));
    // The other store's writes are not in s's own revision until it reads etcd.
    assert.ok((await s.freshRevision()) >= outside.modRevision);
    const deadline = Date.now() + 10_000;
    while (!progress.includes(outside.modRevision) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(events, [inside.modRevision]);
    assert.ok(progress.includes(outside.modRevision), `progress ${progress.join(',')}`);
    h.stop();
    await Promise.all([s.close(), other.close()]);
  });
});
