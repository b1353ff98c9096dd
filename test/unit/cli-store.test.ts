import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveStoreConfig } from '../../cli/commands/store.js';
import { parseStoreKind } from '../../store/open.js';
import { CliError } from '../../cli/errors.js';

test('the store: flags first, then what the cluster used last, then sqlite', () => {
  assert.deepEqual(resolveStoreConfig({}, undefined), { store: 'sqlite', etcd: undefined });
  assert.deepEqual(resolveStoreConfig({}, { store: 'etcd' }), { store: 'etcd', etcd: undefined });
  assert.deepEqual(resolveStoreConfig({ store: 'sqlite' }, { store: 'etcd' }), { store: 'sqlite', etcd: undefined });
  const external = { servers: ['https://10.0.0.1:2379'], caFile: '/ca', certFile: '/c', keyFile: '/k' };
  assert.deepEqual(resolveStoreConfig({}, { store: 'etcd', etcd: external }), { store: 'etcd', etcd: external });
  assert.deepEqual(
    resolveStoreConfig({ etcdServers: ['https://a:2379', 'https://b:2379'], etcdCAFile: '/ca', etcdCertFile: '/c', etcdKeyFile: '/k' }, undefined),
    { store: 'etcd', etcd: { servers: ['https://a:2379', 'https://b:2379'], caFile: '/ca', certFile: '/c', keyFile: '/k' } },
  );
});

test('contradictory store flags are refused', () => {
  assert.throws(() => resolveStoreConfig({ store: 'sqlite', etcdServers: ['https://a:2379'] }, undefined), (e: unknown) => e instanceof CliError && /--etcd-servers needs --store etcd/.test(e.message));
  assert.throws(() => resolveStoreConfig({ etcdCAFile: '/ca' }, undefined), (e: unknown) => e instanceof CliError && /go with --etcd-servers/.test(e.message));
  assert.equal(parseStoreKind('etcd'), 'etcd');
  assert.throws(() => parseStoreKind('mysql'), /invalid store "mysql": use sqlite or etcd/);
});
