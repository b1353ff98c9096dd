import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.js';
import { createCA, createServiceAccountKeyPair, issueClientCert, issueServingCert } from '../../machinery/pki.js';
import { buildKubeconfig, kubeconfigToYAML } from '../../machinery/kubeconfig.js';
import { SqliteStore } from '../../store/sqlite.js';
import { startControlPlane } from '../../server/control-plane.js';
import { HttpTransport, loadKubeconfig } from '../../client/http-transport.js';
import { Informer } from '../../client/informer.js';
import { isConflict, isExpired, isNotFound } from '../../client/transport.js';
import type { WatchEvent } from '../../client/transport.js';
import { StatusError } from '../../machinery/status.js';
import { CONFIGMAPS, ControlledTransport, PODS, configMap, pod, waitFor } from './client-fixture.js';

async function pki() {
  const ca = await createCA('kite-test-ca');
  const serving = await issueServingCert(ca, { commonName: 'kube-apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const admin = await issueClientCert(ca, { commonName: 'kubernetes-admin', organizations: ['system:masters'] });
  return { ca, serving, admin };
}

test('HTTP transport against a real control plane: verbs, errors, paging, watch, informer, 410', async () => {
  const { ca, serving, admin } = await pki();
  const dir = mkdtempSync(join(tmpdir(), 'kite-client-'));
  const store = new SqliteStore(':memory:');
  // History from before the API server started: watching from here is too old (410).
  await store.create('/registry/core/configmaps/default/ancient', Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ancient', namespace: 'default', uid: 'u0' } })));
  await store.delete('/registry/core/configmaps/default/ancient');
  const cp = await startControlPlane({
    name: 'test',
    dataDir: dir,
    port: 0,
    bindAddress: '127.0.0.1',
    tls: { caCert: ca.cert, cert: serving.cert, key: serving.key },
    serviceAccountKeys: createServiceAccountKeyPair(),
    store,
  });
  const server = `https://127.0.0.1:${cp.port}`;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigToYAML(buildKubeconfig({ clusterName: 't', server, caCert: ca.cert, clientCert: admin.cert, clientKey: admin.key })));
  const cfg = loadKubeconfig(kubeconfig);
  assert.equal(cfg.server, server);
  const t = new HttpTransport(cfg, { component: 'client-test' });
  let inf: Informer<ConfigMap> | undefined;
  try {
    // create / get / update / patch / list
    const created = await t.create<ConfigMap>(CONFIGMAPS, 'default', configMap('one', { a: '1' }) as ConfigMap);
    assert.equal(created.metadata!.namespace, 'default');
    assert.ok(created.metadata!.managedFields?.some((m) => m.manager === 'client-test'), 'fieldManager is the component');
    const got = await t.get<ConfigMap>(CONFIGMAPS, 'default', 'one');
    assert.equal(got.data!.a, '1');
    got.data = { a: '2' };
    const updated = await t.update(CONFIGMAPS, 'default', got);
    assert.equal(updated.data!.a, '2');
    await assert.rejects(t.update(CONFIGMAPS, 'default', got), (e: unknown) => isConflict(e) && e instanceof StatusError && e.reason === 'Conflict');
    const patched = await t.patch<ConfigMap>(CONFIGMAPS, 'default', 'one', 'merge', { data: { b: '3' } });
    assert.deepEqual(patched.data, { a: '2', b: '3' });
    const applied = await t.patch<ConfigMap>(CONFIGMAPS, 'default', 'two', 'apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'two' }, data: { x: 'y' } }, { force: true });
    assert.equal(applied.data!.x, 'y');
    await t.create(CONFIGMAPS, 'default', configMap('three'));
    const page1 = await t.list<ConfigMap>(CONFIGMAPS, 'default', { limit: 2 });
    assert.equal(page1.items.length, 2);
    assert.ok(page1.continue);
    const page2 = await t.list<ConfigMap>(CONFIGMAPS, 'default', { limit: 2, continue: page1.continue });
    assert.deepEqual([...page1.items, ...page2.items].map((c) => c.metadata!.name).filter((n) => n !== 'kube-root-ca.crt'), ['one', 'three', 'two']);

    // Errors carry the server's Status.
    await assert.rejects(t.get(CONFIGMAPS, 'default', 'nope'), (e: unknown) => {
      assert.ok(e instanceof StatusError);
      assert.equal(e.code, 404);
      assert.equal(e.reason, 'NotFound');
      assert.equal(e.message, 'configmaps "nope" not found');
      assert.equal(e.status.details?.name, 'nope');
      return isNotFound(e);
    });

    // Pods: binding subresource and the status subresource, as scheduler and kubelet use them.
    await t.create(PODS, 'default', pod('p'));
    await t.createSubresource(PODS, 'default', 'p', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { kind: 'Node', name: 'n1' } });
    const bound = await t.get<Pod>(PODS, 'default', 'p');
    assert.equal(bound.spec!.nodeName, 'n1');
    const st = await t.updateStatus(PODS, 'default', { ...bound, status: { ...bound.status, phase: 'Running' } } as Pod);
    assert.equal(st.status!.phase, 'Running');
    const del = await t.delete(PODS, 'default', 'p', { gracePeriodSeconds: 0 });
    assert.ok(del.kind === 'Pod' || del.kind === 'Status');

    // A raw watch: events in order, then an ERROR 410 ends a watch from a compacted RV.
    const events: string[] = [];
    const w = t.watch<ConfigMap>(CONFIGMAPS, 'default', { resourceVersion: updated.metadata!.resourceVersion }, (ev: WatchEvent<ConfigMap>) => events.push(`${ev.type}:${ev.object.metadata!.name}`));
    await waitFor(() => events.length >= 3, 'replayed events');
    assert.deepEqual(events.slice(0, 3), ['MODIFIED:one', 'ADDED:two', 'ADDED:three']);
    w.stop();
    assert.deepEqual(await w.done, { reason: 'stopped' });
    const old = t.watch(CONFIGMAPS, 'default', { resourceVersion: '1' }, () => undefined);
    const end = await old.done;
    assert.equal(end.reason, 'error');
    assert.ok(isExpired(end.error), `got ${end.error?.code} ${end.error?.message}`);

    // An informer over HTTP, listing in pages of one.
    const counted = new ControlledTransport(t, 1);
    inf = new Informer<ConfigMap>(counted, CONFIGMAPS, { namespace: 'default', backoff: { initialMs: 5, maxMs: 20 } });
    const seen: string[] = [];
    inf.addEventHandler({
      onAdd: (o) => seen.push(`add:${o.metadata!.name}`),
      onUpdate: (_o, n) => seen.push(`update:${n.metadata!.name}`),
      onDelete: (o) => seen.push(`delete:${o.metadata!.name}`),
    });
    inf.start();
    assert.equal(await inf.waitForSync(5000), true);
    assert.ok(counted.listCalls.length >= 3, `paged list: ${counted.listCalls.length} requests`);
    assert.ok(inf.store.has('default/one') && inf.store.has('default/two') && inf.store.has('default/three'));
    seen.length = 0;
    await t.patch(CONFIGMAPS, 'default', 'two', 'merge', { data: { x: 'z' } });
    await t.delete(CONFIGMAPS, 'default', 'three');
    await t.create(CONFIGMAPS, 'default', configMap('four'));
    await waitFor(() => seen.length >= 3, 'informer events');
    assert.deepEqual(seen, ['update:two', 'delete:three', 'add:four']);
    assert.equal(inf.store.get('default', 'two')!.data!.x, 'z');
    // The server going away mid-watch: the informer notices (stream closed) and comes back.
    cp.api.closeWatches();
    await waitFor(() => counted.watchCalls.length >= 2, 'a new watch');
    await t.create(CONFIGMAPS, 'default', configMap('five'));
    await waitFor(() => inf!.store.has('default/five'), 'events on the new watch');
  } finally {
    await inf?.stop();
    t.close();
    await cp.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
