// A strategic patch copies only the top-level members it names: a status patch keeps the
// stored object's spec as it is, and only what the patch changed is decoded again, with
// the same unknown-field warnings and Strict errors as a whole-object decode gives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { internalContext } from '../../apiserver/context.js';
import type { RequestContext } from '../../apiserver/context.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { StatusError } from '../../machinery/status.js';
import { PODS, startCluster, type Cluster } from './client-fixture.js';

let core: Cluster;

before(async () => {
  core = await startCluster();
  await core.registry.create(
    PODS,
    'default',
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default', labels: { app: 'a' } },
      spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '500m' } } }], serviceAccountName: 'default' },
    },
    internalContext('creator'),
  );
});

after(() => core.close());

function patch(body: object, ctx: RequestContext, subresource?: string) {
  return core.registry.patch(PODS, 'default', 'p', 'strategic', Buffer.from(JSON.stringify(body)), ctx, subresource);
}

test('a status patch keeps the stored spec as the same object, unchanged', async () => {
  const before = core.registry.get(PODS, 'default', 'p') as Pod;
  const specText = JSON.stringify(before.spec);
  await patch({ status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', lastProbeTime: null }] } }, internalContext('scheduler'), 'status');
  const after = core.registry.get(PODS, 'default', 'p') as Pod;
  assert.notEqual(after.metadata?.resourceVersion, before.metadata?.resourceVersion);
  assert.equal(after.spec, before.spec);
  assert.equal(JSON.stringify(after.spec), specText);
  assert.deepEqual(after.status?.conditions, [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }]);
  assert.deepEqual(after.metadata?.labels, { app: 'a' });
});

test('unknown fields in the members a patch changes are warned about, or rejected under Strict', async () => {
  const warn: RequestContext = { ...internalContext('kubelet'), fieldValidation: 'Warn', warnings: [] };
  await patch({ status: { phase: 'Pending', bogus: 1 }, junk: true }, warn, 'status');
  assert.deepEqual([...warn.warnings].sort(), ['unknown field "junk"', 'unknown field "status.bogus"']);
  const served = core.registry.get(PODS, 'default', 'p') as Pod & { junk?: unknown; status?: { bogus?: unknown } };
  assert.equal(served.status?.phase, 'Pending');
  assert.equal(served.junk, undefined);
  assert.equal(served.status?.bogus, undefined);

  const strict: RequestContext = { ...internalContext('kubelet'), fieldValidation: 'Strict', warnings: [] };
  await assert.rejects(patch({ status: { phase: 'Running', bogus: 1 } }, strict, 'status'), (err: unknown) => err instanceof StatusError && err.code === 400 && /unknown field "status.bogus"/.test(err.message));
  await assert.rejects(patch({ spec: { containers: [{ name: 'c', imagePullPolcy: 'Always' }] } }, strict), (err: unknown) => err instanceof StatusError && err.code === 400 && /unknown field "spec.containers\[0\].imagePullPolcy"/.test(err.message));
});
