// Acceptance on the etcd store, cheaply: the API semantics and custom resource files
// (test/e2e/api-semantics, test/e2e/crd; control plane only) run again here, their
// clusters created on etcd (KITE_E2E_STORE=etcd; names prefixed `etcd-` so they never
// meet the SQLite runs of the same files). The whole acceptance suite runs on etcd with
// `KITE_E2E_STORE=etcd node --test dist/test/e2e/*.test.js`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';

const canRun = existsSync('/usr/bin/etcd') || process.getuid?.() === 0;

if (canRun) {
  process.env.KITE_E2E_STORE = 'etcd';
  process.env.KITE_E2E_CLUSTER_PREFIX = `${process.env.KITE_E2E_CLUSTER_PREFIX ?? ''}etcd-`;
  const { clustersMade } = await import('./harness.js');
  await import('./api-semantics.test.js');
  await import('./crd.test.js');

  test('the re-run files ran on the etcd store', () => {
    assert.ok(clustersMade.length >= 2);
    for (const c of clustersMade) assert.equal(c.store(), 'etcd', `cluster ${c.name}`);
  });
} else {
  test('acceptance on etcd', { skip: 'needs etcd-server (root installs it)' }, () => {});
}
