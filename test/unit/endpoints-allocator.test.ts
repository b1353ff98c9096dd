// Service ClusterIP / NodePort allocation (apiserver/allocators.ts) through the real
// registry: creates, conflicts, release on delete and on type change, completion of
// updates that need new allocations, concurrent creates, dry runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from 'kubernetes-types/core/v1.js';
import { ServiceAllocator } from '../../apiserver/allocators.js';
import { res, startCluster } from './client-fixture.js';

const SERVICES = res('', 'v1', 'services');
const svc = (name: string, spec: Service['spec']): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec });

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('allocator: IPs and NodePorts on create, conflicts, release on delete and type change, repair on update', async () => {
  const c = await startCluster(['default']);
  const alloc = new ServiceAllocator(c.registry, '10.96.0.0/12');
  alloc.install();
  const t = c.transport;
  try {
    const a = await t.create<Service>(SERVICES, 'default', svc('a', { ports: [{ port: 80 }] }));
    const ip = a.spec!.clusterIP!;
    assert.match(ip, /^10\.(9[6-9]|10[0-9]|11[01])\./);
    await assert.rejects(t.create(SERVICES, 'default', svc('b', { clusterIP: ip, ports: [{ port: 80 }] })), /already allocated/);
    await assert.rejects(t.create(SERVICES, 'default', svc('b', { clusterIP: '10.200.0.1', ports: [{ port: 80 }] })), /not in the valid range/);

    const np = await t.create<Service>(SERVICES, 'default', svc('np', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30500 }, { name: 'x', port: 81 }] }));
    assert.equal(np.spec!.ports![0].nodePort, 30500);
    assert.ok(np.spec!.ports![1].nodePort! >= 30000);
    await assert.rejects(t.create(SERVICES, 'default', svc('np2', { type: 'NodePort', ports: [{ port: 80, nodePort: 30500 }] })), /already allocated/);

    // Dry runs reserve nothing.
    await t.create(SERVICES, 'default', svc('dry', { clusterIP: '10.96.5.5', ports: [{ port: 80 }] }), { dryRun: true });
    await t.create(SERVICES, 'default', svc('wet', { clusterIP: '10.96.5.5', ports: [{ port: 80 }] }));

    // Delete releases.
    await t.delete(SERVICES, 'default', 'a');
    await until('ip free again', async () => {
      try {
        await t.create(SERVICES, 'default', svc('a2', { clusterIP: ip, ports: [{ port: 80 }] }));
        return true;
      } catch {
        return undefined;
      }
    });

    // NodePort → ClusterIP releases its node ports.
    const cur = await t.get<Service>(SERVICES, 'default', 'np');
    cur.spec = { ...cur.spec, type: 'ClusterIP', externalTrafficPolicy: undefined, ports: cur.spec!.ports!.map((p) => ({ ...p, nodePort: undefined })) };
    await t.update(SERVICES, 'default', cur);
    await until('node port free again', async () => {
      try {
        await t.create(SERVICES, 'default', svc('np3', { type: 'NodePort', ports: [{ port: 80, nodePort: 30500 }] }));
        return true;
      } catch {
        return undefined;
      }
    });

    // ClusterIP → NodePort by update: node ports are filled in right after.
    const web = await t.create<Service>(SERVICES, 'default', svc('web', { ports: [{ port: 80 }] }));
    web.spec = { ...web.spec, type: 'NodePort' };
    await t.update(SERVICES, 'default', web);
    const got = await until('node port allocated', async () => {
      const s = await t.get<Service>(SERVICES, 'default', 'web');
      return s.spec!.ports![0].nodePort ? s : undefined;
    });
    assert.ok(got.spec!.ports![0].nodePort! >= 30000);
    assert.equal(got.spec!.clusterIP, web.spec!.clusterIP, 'the ClusterIP is kept');

    // LoadBalancer with externalTrafficPolicy Local gets a health check node port.
    const lb = await t.create<Service>(SERVICES, 'default', svc('lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] }));
    assert.ok(lb.spec!.healthCheckNodePort! >= 30000);
    assert.notEqual(lb.spec!.healthCheckNodePort, lb.spec!.ports![0].nodePort);

    // Concurrent creates never share an address.
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => t.create<Service>(SERVICES, 'default', svc(`m${i}`, { type: 'NodePort', ports: [{ port: 80 }] }))));
    assert.equal(new Set(many.map((s) => s.spec!.clusterIP)).size, 40);
    assert.equal(new Set(many.map((s) => s.spec!.ports![0].nodePort)).size, 40);
  } finally {
    alloc.uninstall();
    await c.close();
  }
});
