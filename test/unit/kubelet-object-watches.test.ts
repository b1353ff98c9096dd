// The kubelet's per-object watches on the ConfigMaps and Secrets its pods use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.js';
import { ObjectWatches, podConfigMapNames, podSecretNames } from '../../kubelet/object-watches.js';
import { CONFIGMAPS, configMap, startCluster } from './client-fixture.js';

test('a pod references ConfigMaps and Secrets through volumes, projections, env, envFrom and pull secrets', () => {
  const pod: Pod = {
    spec: {
      imagePullSecrets: [{ name: 'pull' }],
      volumes: [
        { name: 'a', configMap: { name: 'cm-vol' } },
        { name: 'b', secret: { secretName: 's-vol' } },
        { name: 'c', projected: { sources: [{ configMap: { name: 'kube-root-ca.crt' } }, { secret: { name: 's-proj' } }, { serviceAccountToken: { path: 'token' } }] } },
      ],
      initContainers: [{ name: 'i', envFrom: [{ configMapRef: { name: 'cm-init' } }] }],
      containers: [{ name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm-env', key: 'k' } } }, { name: 'Y', valueFrom: { secretKeyRef: { name: 's-env', key: 'k' } } }], envFrom: [{ secretRef: { name: 's-from' } }] }],
    },
  };
  assert.deepEqual([...podConfigMapNames(pod)].sort(), ['cm-env', 'cm-init', 'cm-vol', 'kube-root-ca.crt']);
  assert.deepEqual([...podSecretNames(pod)].sort(), ['pull', 's-env', 's-from', 's-proj', 's-vol']);
});

test('one watch per referenced object, shared by pods, gone with the last of them; reads follow updates', async (t) => {
  const cluster = await startCluster(['default']);
  const watches = new ObjectWatches<ConfigMap>(cluster.transport, CONFIGMAPS);
  t.after(async () => {
    await watches.stop();
    await cluster.close();
  });
  await cluster.transport.create(CONFIGMAPS, 'default', configMap('app', { v: '1' }));
  // Before any pod references it: read from the API.
  assert.deepEqual((await watches.get('default', 'app'))?.data, { v: '1' });
  assert.equal(watches.watching('default', 'app'), false);

  watches.setPodReferences('pod-1', 'default', ['app', 'missing']);
  watches.setPodReferences('pod-2', 'default', ['app']);
  assert.ok(watches.watching('default', 'app'));
  await cluster.transport.patch(CONFIGMAPS, 'default', 'app', 'merge', { data: { v: '2' } });
  let seen: ConfigMap | undefined;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    seen = await watches.get('default', 'app');
    if (seen?.data?.v === '2') break;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(seen?.data?.v, '2');
  assert.equal(await watches.get('default', 'missing'), undefined);

  watches.removePod('pod-1');
  assert.ok(watches.watching('default', 'app'), 'pod-2 still uses it');
  assert.equal(watches.watching('default', 'missing'), false);
  watches.setPodReferences('pod-2', 'default', []);
  assert.equal(watches.watching('default', 'app'), false);
});
