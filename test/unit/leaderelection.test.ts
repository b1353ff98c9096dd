// Leader election on a Lease (client/leaderelection.ts) against a real API core: one
// candidate leads at a time, a stopped leader releases the Lease at once, and a Lease
// whose holder stopped renewing is taken over once it stayed unchanged for leaseDuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteStore } from '../../store/sqlite.js';
import { startApiCore, OPEN_POLICY } from '../../apiserver/api.js';
import { LocalTransport } from '../../client/local-transport.js';
import { LeaderElector } from '../../client/leaderelection.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';

const LEASES = resourceByPath('coordination.k8s.io', 'v1', 'leases')!;
const NAMESPACES = resourceByPath('', 'v1', 'namespaces')!;

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function setup() {
  const core = await startApiCore(new SqliteStore(':memory:'), OPEN_POLICY);
  const client = new LocalTransport(core.pipeline, { component: 'test' });
  await client.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } });
  return { core, client };
}

function candidate(client: LocalTransport, id: string, events: string[]) {
  return new LeaderElector(client, {
    namespace: 'kube-system',
    name: 'test-lock',
    identity: id,
    leaseDurationMs: 2000,
    renewDeadlineMs: 1500,
    retryPeriodMs: 200,
    onStartedLeading: () => void events.push(`${id} started`),
    onStoppedLeading: () => void events.push(`${id} stopped`),
    log: () => undefined,
  });
}

test('one candidate leads; stopping it releases the Lease and another takes over at once', async () => {
  const { core, client } = await setup();
  const events: string[] = [];
  const a = candidate(client, 'a', events);
  a.start();
  await until('a to lead', () => a.isLeader());
  const b = candidate(client, 'b', events);
  b.start();
  // b keeps retrying while a renews: give it several retry periods.
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(b.isLeader(), false);
  const lease = await client.get<Lease>(LEASES, 'kube-system', 'test-lock');
  assert.equal(lease.spec?.holderIdentity, 'a');
  assert.equal(lease.spec?.leaseDurationSeconds, 2);
  const stoppedAt = Date.now();
  await a.stop();
  await until('b to lead', () => b.isLeader());
  assert.ok(Date.now() - stoppedAt < 1500, 'a released Lease is taken without waiting for leaseDuration');
  assert.deepEqual(events, ['a started', 'a stopped', 'b started']);
  await b.stop();
  core.stop();
});

test('a Lease whose holder stopped renewing is taken once unchanged for leaseDuration', async () => {
  const { core, client } = await setup();
  const now = new Date().toISOString().replace('Z', '000Z');
  await client.create(LEASES, 'kube-system', {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'test-lock', namespace: 'kube-system' },
    spec: { holderIdentity: 'dead', leaseDurationSeconds: 2, renewTime: now, acquireTime: now, leaseTransitions: 3 },
  });
  const events: string[] = [];
  const b = candidate(client, 'b', events);
  const started = Date.now();
  b.start();
  await until('b to lead', () => b.isLeader());
  assert.ok(Date.now() - started >= 1900, `took the Lease after ${Date.now() - started} ms, before leaseDuration`);
  const lease = await client.get<Lease>(LEASES, 'kube-system', 'test-lock');
  assert.equal(lease.spec?.holderIdentity, 'b');
  assert.equal(lease.spec?.leaseTransitions, 4);
  await b.stop();
  core.stop();
});
