// The root CA publisher: kube-root-ca.crt in every active namespace, recreated and repaired.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { DESCRIPTION_ANNOTATION, ROOT_CA_CONFIGMAP, ROOT_CA_DESCRIPTION, RootCACertPublisher, newRootCACertPublisher } from '../../controllers/rootcacert/controller.js';
import { NamespaceController } from '../../controllers/namespace/controller.js';
import { R, eventually, harness, tryGet } from './controllers-housekeeping-fixture.js';
import type { Harness } from './controllers-housekeeping-fixture.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIBkite\n-----END CERTIFICATE-----\n';
let h: Harness;

beforeEach(async () => {
  h = await harness(['default', 'kube-system']);
  await h.run(
    (ctx) => new RootCACertPublisher(ctx, { rootCA: CA }),
    (ctx) => new NamespaceController(ctx),
  );
});

afterEach(async () => {
  await h.close();
});

const published = (ns: string) =>
  eventually(`${ROOT_CA_CONFIGMAP} in ${ns}`, async () => {
    const cm = await tryGet<ConfigMap>(h.client, R.configmaps, ns, ROOT_CA_CONFIGMAP);
    return cm?.data?.['ca.crt'] === CA && Object.keys(cm.data).length === 1 && cm.metadata?.annotations?.[DESCRIPTION_ANNOTATION] === ROOT_CA_DESCRIPTION ? cm : undefined;
  });

test('every namespace, existing and new, gets kube-root-ca.crt with the CA and the description', async () => {
  await published('default');
  await published('kube-system');
  await h.client.create(R.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'later' } });
  const cm = await published('later');
  assert.equal(cm.metadata?.annotations?.[DESCRIPTION_ANNOTATION], 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.');
});

test('a deleted ConfigMap is recreated; an edited one is restored, keeping foreign annotations', async () => {
  const first = await published('default');
  await h.client.delete(R.configmaps, 'default', ROOT_CA_CONFIGMAP);
  const again = await published('default');
  assert.notEqual(again.metadata?.uid, first.metadata?.uid);

  await h.client.update(R.configmaps, 'default', {
    ...again,
    metadata: { ...again.metadata, annotations: { team: 'x' } },
    data: { 'ca.crt': 'tampered', extra: 'y' },
  } as ConfigMap);
  const restored = await published('default');
  assert.equal(restored.metadata?.annotations?.team, 'x');
  assert.deepEqual(restored.data, { 'ca.crt': CA });
});

test('a terminating namespace gets nothing back', async () => {
  await h.client.create(R.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'going' } });
  await published('going');
  await h.client.create(R.configmaps, 'going', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hold', namespace: 'going', finalizers: ['test/hold'] } } as ConfigMap);
  await h.client.delete(R.namespaces, undefined, 'going');
  await eventually('root CA removed by the namespace controller', async () => !(await tryGet(h.client, R.configmaps, 'going', ROOT_CA_CONFIGMAP)));
  // Wait for quiet: the publisher's queue is drained and nothing came back.
  const publisher = h.controllers[0] as RootCACertPublisher;
  await eventually('publisher idle', () => publisher.queue.len() === 0);
  assert.equal(await tryGet(h.client, R.configmaps, 'going', ROOT_CA_CONFIGMAP), undefined);
  await h.client.patch(R.configmaps, 'going', 'hold', 'merge', { metadata: { finalizers: null } });
});

test('without a CA the manager gets an idle controller', async () => {
  const c = newRootCACertPublisher({ ...h.ctx, rootCACert: undefined });
  assert.ok(!(c instanceof RootCACertPublisher));
  await c.start();
  await c.stop();
});
