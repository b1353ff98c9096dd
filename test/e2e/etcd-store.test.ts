// Acceptance: a cluster on the etcd store (`kite up --store etcd`: a local etcd from
// Debian's etcd-server, TLS, upstream's key layout) driven by the real kubectl; it
// resumes on etcd after `kite down`/`kite up`, and `kite store migrate` moves it to
// SQLite and back with every object (and its uid) intact. The node is left out
// (KITE_NODE=none): this is about the store.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, KITE_MAIN, freePort, run, waitFor } from './harness.js';
import { EtcdStore } from '../../store/etcd.js';
import { isAlive } from '../../machinery/process.js';

const canRun = existsSync('/usr/bin/etcd') || process.getuid?.() === 0;
const cluster = new Cluster('etcd-e2e', { KITE_NODE: 'none' });
const dir = join(cluster.home, cluster.name);

function kite(args: string[]) {
  return run(process.execPath, [KITE_MAIN, ...args, '--name', cluster.name], { env: cluster.env(), timeoutMs: 180_000 });
}

async function mustKite(args: string[]): Promise<string> {
  const r = await kite(args);
  assert.equal(r.code, 0, `kite ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

function state(): { store?: string } {
  return JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8'));
}

function etcdPid(): number | undefined {
  const f = join(dir, 'etcd', 'etcd.pid');
  return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : undefined;
}

async function uidOf(name: string): Promise<string> {
  return (await cluster.k(['get', 'configmap', name, '-o', 'jsonpath={.metadata.uid}'])).trim();
}

describe('etcd store', { skip: canRun ? undefined : 'needs etcd-server (root installs it)' }, () => {
  after(() => cluster.down());

  const uids: Record<string, string> = {};

  test('kite up --store etcd: kubectl create, get, list, watch, patch, delete', async () => {
    const out = await mustKite(['up', '--store', 'etcd', '--api-port', String(await freePort())]);
    assert.match(out, /API server ready/);
    assert.equal(state().store, 'etcd');
    assert.ok(isAlive(etcdPid()), 'the cluster runs its own etcd');
    assert.match(readFileSync(join(dir, 'server.log'), 'utf8'), /store: etcd 3\.\d+\.\d+ at https:\/\/127\.0\.0\.1:\d+/);

    await cluster.k(['create', 'configmap', 'one', '--from-literal=a=1']);
    const watch = cluster.spawnKubectl(['get', 'configmaps', '-w', '--output-watch-events', '-o', 'custom-columns=EVENT:.type,NAME:.object.metadata.name,A:.object.data.a', '--no-headers']);
    try {
      await waitFor('the watch to list', () => /ADDED\s+one\s+1/.test(watch.output()));
      await cluster.k(['create', 'configmap', 'two', '--from-literal=a=2']);
      await cluster.k(['patch', 'configmap', 'one', '--type=merge', '-p', '{"data":{"a":"patched"}}']);
      await cluster.k(['delete', 'configmap', 'two']);
      await waitFor('watch events', () => /ADDED\s+two\s+2[\s\S]*MODIFIED\s+one\s+patched[\s\S]*DELETED\s+two/.test(watch.output()), 20_000);
    } finally {
      watch.stop();
    }
    assert.equal((await cluster.k(['get', 'configmap', 'one', '-o', 'jsonpath={.data.a}'])).trim(), 'patched');
    const names = (await cluster.k(['get', 'configmaps', '-o', 'name'])).split('\n').filter(Boolean);
    assert.ok(names.includes('configmap/one') && !names.includes('configmap/two'), names.join(','));
    const deploy = await cluster.k(['create', 'deployment', 'web', '--image=busybox:1', '--replicas=2']);
    assert.match(deploy, /created/);
    // The controllers work on etcd too: the Deployment gets its ReplicaSet and pods.
    await waitFor('the deployment pods', async () => (await cluster.k(['get', 'pods', '-l', 'app=web', '-o', 'name'])).split('\n').filter(Boolean).length === 2, 30_000);

    // In etcd, keys are laid out as upstream's.
    const pki = join(dir, 'etcd', 'pki');
    const ports = JSON.parse(readFileSync(join(dir, 'etcd', 'ports.json'), 'utf8'));
    const raw = await EtcdStore.open({
      endpoints: [`https://127.0.0.1:${ports.client}`],
      ca: readFileSync(join(pki, 'ca.crt'), 'utf8'),
      cert: readFileSync(join(pki, 'kite-client.crt'), 'utf8'),
      key: readFileSync(join(pki, 'kite-client.key'), 'utf8'),
      keyLayout: 'identity',
    });
    try {
      const kv = await raw.get('/registry/configmaps/default/one');
      assert.equal(JSON.parse(kv!.value.toString()).data.a, 'patched');
      assert.ok(await raw.get('/registry/deployments/default/web'));
    } finally {
      await raw.close();
    }
    uids.one = await uidOf('one');
  });

  test('kite down stops etcd; kite up resumes on etcd with the objects', async () => {
    const pid = etcdPid();
    await mustKite(['down']);
    assert.ok(!isAlive(pid), 'etcd stopped with the cluster');
    const refused = await kite(['up', '--store', 'sqlite']);
    assert.notEqual(refused.code, 0);
    assert.ok(refused.stderr.includes(`uses the etcd store; to move it to sqlite run \`kite store migrate --name ${cluster.name} --to sqlite\``), refused.stderr);
    await mustKite(['up']);
    assert.equal(state().store, 'etcd');
    assert.equal(await uidOf('one'), uids.one);
    assert.equal((await cluster.k(['get', 'configmap', 'one', '-o', 'jsonpath={.data.a}'])).trim(), 'patched');
  });

  test('kite store migrate: etcd → sqlite → etcd keeps objects and uids', async () => {
    const running = await kite(['store', 'migrate', '--to', 'sqlite']);
    assert.notEqual(running.code, 0);
    assert.match(running.stderr, /is running/);
    await mustKite(['down']);
    const out = await mustKite(['store', 'migrate', '--to', 'sqlite']);
    assert.match(out, /Copied \d+ objects from etcd to sqlite/);
    assert.equal(state().store, 'sqlite');
    await mustKite(['up']);
    assert.ok(!isAlive(etcdPid()), 'no etcd on the sqlite store');
    assert.match(readFileSync(join(dir, 'server.log'), 'utf8'), /store: sqlite /);
    assert.equal(await uidOf('one'), uids.one);
    await cluster.k(['create', 'configmap', 'three', '--from-literal=a=3']);
    uids.three = await uidOf('three');
    await mustKite(['down']);

    const back = await mustKite(['store', 'migrate', '--to', 'etcd']);
    assert.match(back, /Copied \d+ objects from sqlite to etcd/);
    await mustKite(['up']);
    assert.equal(state().store, 'etcd');
    assert.equal(await uidOf('one'), uids.one);
    assert.equal(await uidOf('three'), uids.three);
    assert.ok((await cluster.k(['get', 'deployment', 'web', '-o', 'name'])).includes('deployment.apps/web'));
  });

  test('kill -9 of the server: acknowledged writes survive, kite down stops the etcd it left, kite up resumes', async () => {
    await cluster.k(['create', 'configmap', 'acked', '--from-literal=a=ok']);
    const server = Number(readFileSync(join(dir, 'server.pid'), 'utf8').trim());
    const etcd = etcdPid();
    process.kill(server, 'SIGKILL');
    await waitFor('the server to die', () => !isAlive(server));
    assert.ok(isAlive(etcd), 'etcd outlives a killed server');
    await mustKite(['down']);
    assert.ok(!isAlive(etcd), 'kite down stopped the leftover etcd');
    await mustKite(['up']);
    assert.equal((await cluster.k(['get', 'configmap', 'acked', '-o', 'jsonpath={.data.a}'])).trim(), 'ok');
    assert.equal(await uidOf('one'), uids.one);
  });
});
