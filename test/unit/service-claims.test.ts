// Two API cores on one etcd (several API servers), each with its own watch cache: cluster
// IPs and node ports on the shared store, and reads and writes that see each other.
// Cluster IPs and node ports on a store several API servers share: two API cores on one
// etcd, each with its own watch cache and allocator, never hand out the same value, even
// when asked for the same one at the same moment; a deleted Service's claims are released.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiCore, OPEN_POLICY, type ApiCore } from '../../apiserver/api.js';
import { ServiceAllocator, CLAIM_PREFIX } from '../../apiserver/allocators.js';
import { internalContext } from '../../apiserver/context.js';
import { EtcdStore } from '../../store/etcd.js';
import { startEtcd, type EtcdProcess } from '../../store/etcd-process.js';
import { createCA } from '../../machinery/pki.js';
import { resourceByPath } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';

const canRun = existsSync('/usr/bin/etcd') || process.getuid?.() === 0;
const SERVICES = resourceByPath('', 'v1', 'services')!;
const NAMESPACES = resourceByPath('', 'v1', 'namespaces')!;
const dir = mkdtempSync(join(tmpdir(), 'kite-claims-'));
let etcd: EtcdProcess | undefined;
const cores: { core: ApiCore; store: EtcdStore; allocator: ServiceAllocator }[] = [];

before(async () => {
  if (!canRun) return;
  etcd = await startEtcd({ clusterDir: dir, ca: await createCA('kite-test') });
  for (let i = 0; i < 2; i++) {
    const store = await EtcdStore.open({ endpoints: etcd.clientURLs, ...etcd.tls });
    const core = await startApiCore(store, OPEN_POLICY);
    const allocator = new ServiceAllocator(core.registry, '10.96.0.0/12', store);
    allocator.install();
    cores.push({ core, store, allocator });
  }
  await cores[0].core.pipeline.create(internalContext('test'), NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'claims' } });
});

after(async () => {
  for (const c of cores) {
    c.allocator.uninstall();
    c.core.stop();
    await c.store.close();
  }
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function service(name: string, spec: object) {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'claims' }, spec: { ports: [{ port: 80 }], ...spec } };
}

test('two API servers asked for the same cluster IP and node port at once: one gets them, the other a 422', { skip: canRun ? undefined : 'needs etcd' }, async () => {
  const results = await Promise.allSettled(
    cores.map((c, i) => c.core.pipeline.create(internalContext('test'), SERVICES, 'claims', service(`same-${i}`, { type: 'NodePort', clusterIP: '10.96.7.7', ports: [{ port: 80, nodePort: 30777 }] }))),
  );
  const ok = results.filter((r) => r.status === 'fulfilled');
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(ok.length, 1, JSON.stringify(results.map((r) => r.status)));
  assert.ok(failed[0].reason instanceof StatusError && failed[0].reason.code === 422, String(failed[0].reason));
  assert.match(failed[0].reason.message, /already allocated/);
});

test('many Services created through both servers get distinct cluster IPs and node ports; deleting one releases its claims', { skip: canRun ? undefined : 'needs etcd' }, async () => {
  const created = await Promise.all(
    Array.from({ length: 40 }, (_, i) => cores[i % 2].core.pipeline.create(internalContext('test'), SERVICES, 'claims', service(`many-${i}`, { type: 'NodePort' }))),
  );
  const specs = created.map((r) => (r.body as { spec: { clusterIP: string; ports: { nodePort: number }[] } }).spec);
  assert.equal(new Set(specs.map((s) => s.clusterIP)).size, 40);
  assert.equal(new Set(specs.map((s) => s.ports[0].nodePort)).size, 40);
  const ip = specs[0].clusterIP;
  assert.ok(await cores[0].store.get(`${CLAIM_PREFIX}serviceips/${ip}`), 'the cluster IP is claimed in etcd');
  await cores[1].core.pipeline.delete(internalContext('test'), SERVICES, 'claims', 'many-0', {});
  const deadline = Date.now() + 10_000;
  while ((await cores[0].store.get(`${CLAIM_PREFIX}serviceips/${ip}`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await cores[0].store.get(`${CLAIM_PREFIX}serviceips/${ip}`), undefined, 'released after delete');
});

test('an object made through one server is at once listed, updated and deleted through the other', { skip: canRun ? undefined : 'needs etcd' }, async () => {
  const CONFIGMAPS = resourceByPath('', 'v1', 'configmaps')!;
  const [a, b] = cores.map((c) => c.core.pipeline);
  const ctx = () => internalContext('test');
  for (let i = 0; i < 10; i++) {
    await a.create(ctx(), CONFIGMAPS, 'claims', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { v: '1' } });
    const listed = await b.list(ctx(), CONFIGMAPS, 'claims', {});
    assert.ok(listed.items.some((o) => o.metadata?.name === `cm-${i}`), 'a consistent list through the other server has it');
    await b.patch(ctx(), CONFIGMAPS, 'claims', `cm-${i}`, 'merge', Buffer.from('{"data":{"v":"2"}}'));
    const got = (await a.get(ctx(), CONFIGMAPS, 'claims', `cm-${i}`)).body as { data: { v: string } };
    assert.equal(got.data.v, '2');
    await b.delete(ctx(), CONFIGMAPS, 'claims', `cm-${i}`, {});
  }
});
