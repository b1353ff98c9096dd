import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { ControllerExpectations, QueueController, UIDTrackingExpectations } from '../../client/controller.js';
import { SharedInformerFactory } from '../../client/informer.js';
import type { Informer } from '../../client/informer.js';
import { splitKey } from '../../client/keys.js';
import type { ApiObject, ApiTransport } from '../../client/transport.js';
import { isAlreadyExists } from '../../client/transport.js';
import { CONFIGMAPS, PODS, configMap, pod, sleep, startCluster, waitFor } from './client-fixture.js';

test('expectations: unset and fulfilled are satisfied; pending are not until observed or expired', () => {
  let now = 0;
  const e = new ControllerExpectations(1000, () => now);
  assert.equal(e.satisfiedExpectations('k'), true, 'no record: act');
  e.expectCreations('k', 2);
  assert.equal(e.satisfiedExpectations('k'), false);
  e.creationObserved('k');
  assert.equal(e.satisfiedExpectations('k'), false);
  e.creationObserved('k');
  assert.equal(e.satisfiedExpectations('k'), true);
  e.expectDeletions('k', 1);
  e.raiseExpectations('k', 1, 0);
  assert.deepEqual(e.getExpectations('k'), { add: 1, del: 1, timestamp: 0 });
  e.lowerExpectations('k', 1, 0);
  assert.equal(e.satisfiedExpectations('k'), false, 'a deletion is still pending');
  now = 1001;
  assert.equal(e.satisfiedExpectations('k'), true, 'expired expectations do not wedge the key');
  e.deleteExpectations('k');
  assert.equal(e.getExpectations('k'), undefined);
  e.creationObserved('unknown'); // no record: harmless
  assert.equal(e.satisfiedExpectations('unknown'), true);
});

test('UID-tracking expectations count only the deletions asked for, each once', () => {
  const e = new UIDTrackingExpectations();
  e.expectDeletionsOf('rs', ['ns/a', 'ns/b']);
  assert.equal(e.satisfiedExpectations('rs'), false);
  e.deletionObservedOf('rs', 'ns/other');
  e.deletionObservedOf('rs', 'ns/a');
  e.deletionObservedOf('rs', 'ns/a');
  assert.equal(e.getExpectations('rs')!.del, 1);
  assert.deepEqual(e.pendingDeletions('rs'), ['ns/b']);
  e.deletionObservedOf('rs', 'ns/b');
  assert.equal(e.satisfiedExpectations('rs'), true);
  e.expectDeletionsOf('rs', ['ns/c']);
  e.deleteExpectations('rs');
  assert.deepEqual(e.pendingDeletions('rs'), []);
});

/**
 * A small real controller: every ConfigMap labelled mirror=yes gets a `<name>-mirror`
 * copy of its data, owned by the source. Creates are guarded by expectations.
 */
class MirrorController extends QueueController {
  readonly expectations = new ControllerExpectations();
  creates = 0;
  updates = 0;
  alreadyExists = 0;
  readonly cms: Informer<ConfigMap>;

  constructor(
    private readonly client: ApiTransport,
    factory: SharedInformerFactory,
  ) {
    super({ name: 'mirror', workers: 4 });
    this.cms = factory.informerFor<ConfigMap>(CONFIGMAPS);
    // Sources enqueue themselves; mirrors enqueue their source.
    this.watch(this.cms, (cm) => {
      const owner = cm.metadata?.annotations?.['mirror-of'];
      if (owner) return `${cm.metadata!.namespace}/${owner}`;
      return cm.metadata?.labels?.mirror === 'yes' ? `${cm.metadata!.namespace}/${cm.metadata!.name}` : undefined;
    });
    this.cms.addEventHandler({
      onAdd: (cm) => {
        const owner = cm.metadata?.annotations?.['mirror-of'];
        if (owner) this.expectations.creationObserved(`${cm.metadata!.namespace}/${owner}`);
      },
    });
  }

  protected override async reconcile(key: string): Promise<void> {
    if (!this.expectations.satisfiedExpectations(key)) return;
    const { namespace, name } = splitKey(key);
    const src = this.cms.store.get(namespace, name);
    if (!src) return;
    const mirror = this.cms.store.get(namespace, `${name}-mirror`);
    if (!mirror) {
      this.expectations.expectCreations(key, 1);
      this.creates++;
      try {
        await this.client.create(CONFIGMAPS, namespace, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `${name}-mirror`, namespace, annotations: { 'mirror-of': name } },
          data: src.data ?? {},
        });
      } catch (err) {
        this.expectations.creationObserved(key); // it will never be observed
        if (isAlreadyExists(err)) this.alreadyExists++;
        throw err;
      }
      return;
    }
    if (JSON.stringify(mirror.data ?? {}) !== JSON.stringify(src.data ?? {})) {
      this.updates++;
      await this.client.patch(CONFIGMAPS, namespace, `${name}-mirror`, 'merge', { data: src.data ?? {} });
    }
  }
}

test('a QueueController reconciles keys from informers; expectations prevent double creates', async () => {
  const c = await startCluster();
  const t = c.transport;
  const factory = new SharedInformerFactory(t);
  const ctl = new MirrorController(t, factory);
  try {
    await t.create(CONFIGMAPS, 'default', { ...configMap('src', { a: '1' }), metadata: { name: 'src', namespace: 'default', labels: { mirror: 'yes' } } });
    await t.create(CONFIGMAPS, 'default', configMap('plain', { a: '1' }));
    factory.start();
    await ctl.start();
    // Hammer the key while the first create is in flight.
    for (let i = 0; i < 50; i++) ctl.enqueue('default/src');
    await waitFor(() => ctl.cms.store.has('default/src-mirror'), 'the mirror');
    await sleep(20);
    assert.equal(ctl.creates, 1);
    assert.equal(ctl.alreadyExists, 0);
    assert.equal(ctl.cms.store.has('default/plain-mirror'), false, 'unlabelled sources are ignored');

    await t.patch(CONFIGMAPS, 'default', 'src', 'merge', { data: { a: '2' } });
    await waitFor(() => ctl.cms.store.get('default', 'src-mirror')?.data?.a === '2', 'the mirror to follow');
    // Someone edits the mirror: the controller puts it back.
    await t.patch(CONFIGMAPS, 'default', 'src-mirror', 'merge', { data: { a: 'tampered' } });
    await waitFor(() => ctl.cms.store.get('default', 'src-mirror')?.data?.a === '2', 'the mirror to be restored');
    // Deleted mirror: recreated.
    await t.delete(CONFIGMAPS, 'default', 'src-mirror');
    await waitFor(() => ctl.creates === 2 && ctl.cms.store.has('default/src-mirror'), 'the mirror to be recreated');
    assert.equal(ctl.alreadyExists, 0);
  } finally {
    await ctl.stop();
    await factory.stop();
    await c.close();
  }
});

test('ownersListed: the dependents of the initial list map to no keys (the owners list them all); later ones do', async () => {
  const c = await startCluster();
  const t = c.transport;
  const factory = new SharedInformerFactory(t);
  const mapped: string[] = [];
  const reconciled: string[] = [];
  // Owners are ConfigMaps; each pod names its owner in a label.
  const ctl = new QueueController({
    name: 'owners',
    reconcile: async (key) => {
      reconciled.push(key);
    },
  });
  const cms = factory.informerFor<ConfigMap>(CONFIGMAPS);
  const pods = factory.informerFor<ApiObject>(PODS);
  ctl.watch(cms);
  ctl.watch(
    pods,
    (p) => {
      mapped.push(p.metadata!.name!);
      return `default/${p.metadata?.labels?.owner}`;
    },
    { ownersListed: true },
  );
  try {
    for (const name of ['a', 'b']) await t.create(CONFIGMAPS, 'default', configMap(name));
    for (const [name, owner] of [['p1', 'a'], ['p2', 'a'], ['p3', 'b']]) await t.create(PODS, 'default', pod(name, { labels: { owner } }));
    factory.start();
    await ctl.start();
    await ctl.queue.whenIdle();
    assert.deepEqual(mapped, [], 'initial pods are not mapped');
    assert.deepEqual([...reconciled].sort(), ['default/a', 'default/b'], 'every owner reconciled once, from its own list');
    await t.create(PODS, 'default', pod('p4', { labels: { owner: 'b' } }));
    await waitFor(() => reconciled.length === 3, 'the new pod’s owner');
    assert.deepEqual(mapped, ['p4']);
    assert.equal(reconciled[2], 'default/b');
  } finally {
    await ctl.stop();
    await factory.stop();
    await c.close();
  }
});
