// Object history: every change recorded with its user, manager and diff, served as
// `<object>/history` (also after the object is deleted), pruned by age and size; a
// bounded queue to the recording thread (gaps), stop and restart.
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { SqliteStore } from '../../store/sqlite.js';
import { startApiCore, OPEN_POLICY } from '../../apiserver/api.js';
import type { ApiCore } from '../../apiserver/api.js';
import type { RequestContext } from '../../apiserver/context.js';
import { internalContext } from '../../apiserver/context.js';
import { resourceByPath } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';
import { applyPatch, describePatch, diffObjects } from '../../apiserver/history/diff.js';
import { parseRetention, historyOptionsFromEnv } from '../../apiserver/history/options.js';
import type { HistoryEntry } from '../../apiserver/history/recorder.js';

const CONFIGMAPS = resourceByPath('', 'v1', 'configmaps')!;
const SECRETS = resourceByPath('', 'v1', 'secrets')!;
const NAMESPACES = resourceByPath('', 'v1', 'namespaces')!;
const DEPLOYMENTS = resourceByPath('apps', 'v1', 'deployments')!;

function as(user: string, fieldManager?: string): RequestContext {
  return { user: { name: user, groups: ['system:authenticated'] }, dryRun: false, fieldManager, fieldValidation: 'Ignore', warnings: [], userAgent: 'kubectl/v1.33.0 (linux/amd64)' };
}

async function start(): Promise<{ core: ApiCore; close(): Promise<void> }> {
  const store = new SqliteStore(':memory:');
  const core = await startApiCore(store, OPEN_POLICY, { history: { path: ':memory:', flushIntervalMs: 10 } });
  await core.registry.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, internalContext('test'));
  return {
    core,
    async close() {
      core.stop();
      await store.close();
    },
  };
}

async function history(core: ApiCore, res = CONFIGMAPS, name = 'cfg', user = 'reader'): Promise<HistoryEntry[]> {
  const out = await core.pipeline.get(as(user), res, 'default', name, 'history');
  assert.equal(out.code, 200);
  const body = out.body as unknown as { kind: string; apiVersion: string; entries: HistoryEntry[] };
  assert.equal(body.kind, 'ObjectHistory');
  assert.equal(body.apiVersion, 'history.kite.dev/v1');
  return body.entries;
}

test('create, update and delete are recorded with user, manager and diff, and served after deletion', async () => {
  const c = await start();
  try {
    const p = c.core.pipeline;
    const created = await p.create(as('alice', 'alice-tool'), CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: '1', b: '2' } });
    const createdRV = (created.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    await p.patch(as('bob'), CONFIGMAPS, 'default', 'cfg', 'merge', Buffer.from(JSON.stringify({ data: { a: '10', b: null, c: 'z' } })));
    await p.delete(as('carol'), CONFIGMAPS, 'default', 'cfg', {});

    const entries = await history(c.core);
    assert.deepEqual(
      entries.map((e) => [e.type, e.user, e.manager]),
      [
        ['create', 'alice', 'alice-tool'],
        ['update', 'bob', 'kubectl'],
        ['delete', 'carol', 'kubectl'],
      ],
    );
    assert.equal(entries[0].revision, createdRV);
    assert.ok(Number(entries[1].revision) > Number(entries[0].revision));
    const createOp = entries[0].patch[0] as { op: string; path: string; value: { data: object; metadata: Record<string, unknown> } };
    assert.equal(createOp.op, 'add');
    assert.equal(createOp.path, '');
    assert.deepEqual(createOp.value.data, { a: '1', b: '2' });
    assert.equal(createOp.value.metadata.managedFields, undefined, 'volatile fields are not in the snapshot');
    assert.deepEqual(entries[1].patch, [
      { op: 'replace', path: '/data/a', value: '10' },
      { op: 'remove', path: '/data/b' },
      { op: 'add', path: '/data/c', value: 'z' },
    ]);
    assert.deepEqual(entries[2].patch, [{ op: 'remove', path: '' }]);
    assert.ok(entries.every((e) => e.uid === entries[0].uid && !Number.isNaN(Date.parse(e.time))));
  } finally {
    await c.close();
  }
});

test('a write through a subresource is credited to its request\'s user', async () => {
  const c = await start();
  try {
    const p = c.core.pipeline;
    const labels = { app: 'web' };
    await p.create(as('alice'), DEPLOYMENTS, 'default', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    });
    await p.update(as('dave'), DEPLOYMENTS, 'default', 'web', { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 3 } }, 'scale');
    const entries = await history(c.core, DEPLOYMENTS, 'web');
    assert.deepEqual(
      entries.map((e) => [e.type, e.user]),
      [
        ['create', 'alice'],
        ['update', 'dave'],
      ],
    );
  } finally {
    await c.close();
  }
});

test('an object that never existed is NotFound; a live one without changes answers empty', async () => {
  const c = await start();
  try {
    await assert.rejects(c.core.pipeline.get(as('x'), CONFIGMAPS, 'default', 'nope', 'history'), (err: StatusError) => err.code === 404 && /configmaps "nope" not found/.test(err.message));
  } finally {
    await c.close();
  }
});

test('a Secret\'s values are recorded as digests, never in clear', async () => {
  const c = await start();
  try {
    await c.core.pipeline.create(as('alice'), SECRETS, 'default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { pw: Buffer.from('hunter2').toString('base64') } });
    await c.core.pipeline.patch(as('alice'), SECRETS, 'default', 's', 'merge', Buffer.from(JSON.stringify({ data: { pw: Buffer.from('hunter3').toString('base64') } })));
    const entries = await history(c.core, SECRETS, 's');
    const text = JSON.stringify(entries);
    assert.ok(!text.includes(Buffer.from('hunter2').toString('base64')) && !text.includes(Buffer.from('hunter3').toString('base64')));
    assert.equal(entries[1].patch.length, 1);
    assert.match(String(entries[1].patch[0].value), /^<redacted sha256:[0-9a-f]{12}>$/);
  } finally {
    await c.close();
  }
});

test('history is authorized as get on <plural>/history', async () => {
  const store = new SqliteStore(':memory:');
  const seen: string[] = [];
  const core = await startApiCore(
    store,
    () => ({
      authorizer: {
        authorize: (a) => {
          seen.push(`${a.verb} ${a.resource}/${a.subresource} ${a.user.name}`);
          return a.user.name === 'nobody' ? { decision: 'deny', reason: '' } : { decision: 'allow', reason: '' };
        },
      },
      admission: [],
    }),
    { history: { path: ':memory:' } },
  );
  try {
    await core.registry.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, internalContext('test'));
    await core.pipeline.create(as('alice'), CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' } });
    await assert.rejects(core.pipeline.get(as('nobody'), CONFIGMAPS, 'default', 'cfg', 'history'), (err: StatusError) => err.code === 403);
    assert.ok(seen.includes('get configmaps/history nobody'));
    assert.equal((await history(core)).length, 1);
  } finally {
    core.stop();
    await store.close();
  }
});

test('pruning drops changes past the retention window and past the size bound', async () => {
  const store = new SqliteStore(':memory:');
  const core = await startApiCore(store, OPEN_POLICY, { history: { path: ':memory:', retentionMs: 60_000, maxBytes: 2000 } });
  try {
    await core.registry.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, internalContext('test'));
    for (let i = 0; i < 20; i++) {
      await core.pipeline.create(as('a'), CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}` }, data: { v: 'x'.repeat(100) } });
    }
    core.history!.flush();
    core.history!.prune();
    const kept = (await Promise.all(Array.from({ length: 20 }, (_, i) => core.pipeline.get(as('a'), CONFIGMAPS, 'default', `c${i}`, 'history')))).map((r) => (r.body as unknown as { entries: unknown[] }).entries.length);
    assert.ok(kept[0] === 0 && kept[19] === 1 && kept.filter((n) => n === 1).length >= 2, `oldest dropped first by size: ${kept}`);
    core.history!.prune(Date.now() + 120_000);
    assert.equal((await history(core, CONFIGMAPS, 'c19')).length, 0);
  } finally {
    core.stop();
    await store.close();
  }
});

test('a worker started again prunes at once what passed the retention window while it was stopped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-history-prune-'));
  const store = new SqliteStore(':memory:');
  // Periodic prunes never come in this test: only the one at the worker's start can drop the change.
  const core = await startApiCore(store, OPEN_POLICY, { history: { path: join(dir, 'history.db'), flushIntervalMs: 10, idleStopMs: 100, retentionMs: 1, pruneIntervalMs: 3_600_000 } });
  try {
    const recorder = core.history!;
    await core.registry.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, internalContext('test'));
    await core.pipeline.create(as('alice'), CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: '1' } });
    // Written by a worker (which starts if an idle stop came before the create), then that worker stops for idleness.
    recorder.flush();
    await until(() => !recorder.workerRunning());
    assert.equal((await history(core)).length, 0);
  } finally {
    core.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('diffObjects and the settings', () => {
  assert.deepEqual(diffObjects({ a: [1, 2], b: { c: 1 } }, { a: [1, 3], b: { c: 1 } }), [{ op: 'replace', path: '/a/1', value: 3 }]);
  assert.deepEqual(diffObjects({ a: [1, 2] }, { a: [1, 2, 3] }), [{ op: 'replace', path: '/a', value: [1, 2, 3] }]);
  const before = { s: { conditions: [{ type: 'A', status: 'False' }] }, keep: 1 };
  const ops = diffObjects(before, { s: { conditions: [{ type: 'A', status: 'True' }] }, keep: 1 });
  assert.deepEqual(ops, [{ op: 'replace', path: '/s/conditions/0/status', value: 'True' }]);
  assert.deepEqual(applyPatch(before, ops), { s: { conditions: [{ type: 'A', status: 'True' }] }, keep: 1 });
  assert.deepEqual(describePatch(before, ops), [{ kind: 'changed', path: '/s/conditions/0/status', old: 'False', value: 'True' }]);
  assert.deepEqual(diffObjects({ l: {} }, { l: { 'a/b~c': '1' } }), [{ op: 'add', path: '/l/a~1b~0c', value: '1' }]);
  assert.deepEqual(diffObjects({ m: { rv: '1', x: 1 } }, { m: { rv: '2', x: 1 } }, new Set(['/m/rv'])), []);
  assert.equal(parseRetention('7d'), 7 * 86_400_000);
  assert.equal(parseRetention('30m'), 1_800_000);
  assert.throws(() => parseRetention('7 days'), /invalid history retention/);
  assert.equal(historyOptionsFromEnv('/d', { KITE_HISTORY: 'off' }), undefined);
  assert.deepEqual(historyOptionsFromEnv('/d', { KITE_HISTORY_RETENTION: '1h', KITE_HISTORY_MAX_MB: '1' }), { path: '/d/history.db', retentionMs: 3_600_000, maxBytes: 1048576 });
});

interface Gap {
  fromRevision: string;
  toRevision: string;
  changes?: number;
}

async function historyBody(core: ApiCore, name: string): Promise<{ entries: HistoryEntry[]; gaps?: Gap[] }> {
  const out = await core.pipeline.get(as('reader'), CONFIGMAPS, 'default', name, 'history');
  return out.body as unknown as { entries: HistoryEntry[]; gaps?: Gap[] };
}

test('a worker that falls behind its queue bound costs a gap, not memory; recording resumes', async () => {
  const store = new SqliteStore(':memory:');
  // Room for a few events only: 30 creates in one store batch overflow it.
  const core = await startApiCore(store, OPEN_POLICY, { history: { path: ':memory:', maxQueueBytes: 3000 } });
  try {
    await core.registry.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, internalContext('test'));
    await Promise.all(Array.from({ length: 30 }, (_, i) => core.pipeline.create(as('a'), CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}` }, data: { v: 'x'.repeat(100) } })));
    const bodies = await Promise.all(Array.from({ length: 30 }, (_, i) => historyBody(core, `c${i}`)));
    const recorded = bodies.filter((b) => b.entries.length === 1).length;
    assert.ok(recorded > 0 && recorded < 30, `some recorded, some dropped: ${recorded}`);
    const gaps = bodies[29].gaps ?? [];
    assert.equal(gaps.length, 1, 'the dropped revisions are one gap');
    assert.equal(gaps[0].changes, 30 - recorded, 'every change not recorded is counted in the gap');
    assert.ok(Number(gaps[0].fromRevision) <= Number(gaps[0].toRevision));

    await core.pipeline.create(as('a'), CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after' } });
    const after = await historyBody(core, 'after');
    assert.deepEqual(
      after.entries.map((e) => [e.type, e.user]),
      [['create', 'a']],
    );
    assert.equal(after.gaps, undefined, 'a gap before the object\'s first change is not its own');
  } finally {
    core.stop();
    await store.close();
  }
});

test('stopping flushes what is queued; a restart resumes where it stopped, or past compaction records a gap', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-history-'));
  const store = new SqliteStore(join(dir, 'state.db'));
  const opts = { history: { path: join(dir, 'history.db') } };
  try {
    let core = await startApiCore(store, OPEN_POLICY, opts);
    await core.registry.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, internalContext('test'));
    await core.pipeline.create(as('alice'), CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: '1' } });
    await core.pipeline.patch(as('bob'), CONFIGMAPS, 'default', 'cfg', 'merge', Buffer.from('{"data":{"a":"2"}}'));
    core.stop(); // right after the writes: nothing read them yet

    // Down while a write happens, not compacted: the new recorder replays it.
    const plain = await startApiCore(store, OPEN_POLICY, {});
    await plain.pipeline.patch(as('carol'), CONFIGMAPS, 'default', 'cfg', 'merge', Buffer.from('{"data":{"a":"3"}}'));
    plain.stop();
    core = await startApiCore(store, OPEN_POLICY, opts);
    let body = await historyBody(core, 'cfg');
    assert.deepEqual(
      body.entries.map((e) => [e.type, e.user]),
      [
        ['create', 'alice'],
        ['update', 'bob'],
        ['update', undefined],
      ],
      'the replayed write has no request to credit',
    );
    assert.deepEqual(body.entries[2].patch, [{ op: 'replace', path: '/data/a', value: '3' }]);
    assert.equal(body.gaps, undefined);
    core.stop();

    // Down past compaction: what it missed is a gap, then recording goes on.
    const again = await startApiCore(store, OPEN_POLICY, {});
    await again.pipeline.patch(as('dave'), CONFIGMAPS, 'default', 'cfg', 'merge', Buffer.from('{"data":{"a":"4"}}'));
    again.stop();
    const missed = store.revision();
    await store.compact(missed);
    core = await startApiCore(store, OPEN_POLICY, opts);
    await core.pipeline.patch(as('erin'), CONFIGMAPS, 'default', 'cfg', 'merge', Buffer.from('{"data":{"a":"5"}}'));
    body = await historyBody(core, 'cfg');
    assert.deepEqual(
      body.entries.map((e) => e.user),
      ['alice', 'bob', undefined, 'erin'],
    );
    assert.deepEqual(body.entries[3].patch, [{ op: 'replace', path: '/data/a', value: '5' }], 'diffed against the version before, which was not recorded');
    assert.equal(body.gaps?.length, 1);
    assert.ok(Number(body.gaps![0].fromRevision) <= missed && Number(body.gaps![0].toRevision) >= missed, `the gap covers revision ${missed}: ${JSON.stringify(body.gaps)}`);
    core.stop();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Polls `cond` every 10 ms until it holds (at most `ms`). */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('an idle worker stops and the next change or read starts it again, losing nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-history-idle-'));
  const store = new SqliteStore(':memory:');
  const core = await startApiCore(store, OPEN_POLICY, { history: { path: join(dir, 'history.db'), flushIntervalMs: 10, idleStopMs: 100 } });
  try {
    const recorder = core.history!;
    await core.registry.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, internalContext('test'));
    await core.pipeline.create(as('alice'), CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: '1' } });
    await until(() => !recorder.workerRunning());
    // A change while it is stopped starts it again.
    await core.pipeline.patch(as('bob'), CONFIGMAPS, 'default', 'cfg', 'merge', Buffer.from('{"data":{"a":"2"}}'));
    await until(() => recorder.workerRunning(), 1000);
    assert.deepEqual(
      (await history(core)).map((e) => [e.type, e.user]),
      [
        ['create', 'alice'],
        ['update', 'bob'],
      ],
    );
    // A read while it is stopped (blocking or not) starts it again and sees everything.
    await until(() => !recorder.workerRunning());
    assert.deepEqual(
      recorder.entries('/registry/core/configmaps/default/cfg').map((e) => e.user),
      ['alice', 'bob'],
    );
    await until(() => !recorder.workerRunning());
    assert.equal((await history(core)).length, 2);
  } finally {
    core.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
