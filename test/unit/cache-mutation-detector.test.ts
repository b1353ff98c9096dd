// KITE_CACHE_MUTATION_DETECTOR=1 (set by the test command for every test): an object the
// API server shares with in-process informers cannot be changed by the component holding it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';

// Before the transport's module is loaded: it reads the setting once.
process.env.KITE_CACHE_MUTATION_DETECTOR = '1';
const { Informer } = await import('../../client/informer.js');
const { CONFIGMAPS, configMap, startCluster, waitFor } = await import('./client-fixture.js');

test('a component writing to an object its in-process informer shares with the API server throws, and what the server serves stays as written', async () => {
  const c = await startCluster(['default']);
  const t = c.transport;
  try {
    await t.create(CONFIGMAPS, 'default', configMap('cfg', { a: '1' }));
    const informer = new Informer<ConfigMap>(t, CONFIGMAPS, { stripManagedFields: true });
    informer.start();
    assert.equal(await informer.waitForSync(2000), true);
    const held = informer.store.get('default', 'cfg')!;
    assert.throws(() => {
      held.data!.a = 'changed';
    }, TypeError);
    assert.throws(() => {
      held.metadata!.labels = { sneaky: 'yes' };
    }, TypeError);
    // A private copy (a plain get) may be changed freely.
    const copy = await t.get<ConfigMap>(CONFIGMAPS, 'default', 'cfg');
    copy.data!.a = 'mine';
    assert.deepEqual((await t.get<ConfigMap>(CONFIGMAPS, 'default', 'cfg')).data, { a: '1' });
    await t.create(CONFIGMAPS, 'default', configMap('later', { b: '2' }));
    await waitFor(() => informer.store.get('default', 'later') !== undefined);
    assert.ok(Object.isFrozen(informer.store.get('default', 'later')!.data), 'watched objects are frozen too');
    await informer.stop();
  } finally {
    await c.close();
  }
});
