// A create through a version stored as another one (autoscaling/v1 HPAs as v2): stored
// converted and named as the stored version, answered in the request's version; a kind
// stored as it is sent keeps every member, with apiVersion and kind set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { internalContext } from '../../apiserver/context.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { KubeObject } from '../../machinery/object.js';
import { startCluster } from './client-fixture.js';

test('a create is stored in its storage version and answered in the request version', async () => {
  const c = await startCluster(['default']);
  try {
    const v1 = resourceByPath('autoscaling', 'v1', 'horizontalpodautoscalers')!;
    const v2 = resourceByPath('autoscaling', 'v2', 'horizontalpodautoscalers')!;
    const hpa = {
      metadata: { name: 'web' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 4, targetCPUUtilizationPercentage: 70 },
    } as KubeObject;
    const created = await c.registry.create(v1, 'default', hpa, internalContext('test'));
    assert.equal(created.apiVersion, 'autoscaling/v1');
    assert.equal(created.kind, 'HorizontalPodAutoscaler');
    assert.equal((created.spec as { targetCPUUtilizationPercentage?: number }).targetCPUUtilizationPercentage, 70);
    const stored = c.registry.getStored(v2, 'default', 'web')!;
    assert.equal(stored.apiVersion, 'autoscaling/v2');
    assert.deepEqual((stored.spec as { metrics?: unknown }).metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);

    const cms = resourceByPath('', 'v1', 'configmaps')!;
    const cm = await c.registry.create(cms, 'default', { metadata: { name: 'a' }, data: { k: 'v' }, immutable: false } as KubeObject, internalContext('test'));
    assert.deepEqual(Object.keys(cm), ['metadata', 'data', 'immutable', 'apiVersion', 'kind']);
    assert.equal(c.registry.getStored(cms, 'default', 'a')!.apiVersion, 'v1');
  } finally {
    await c.close();
  }
});
