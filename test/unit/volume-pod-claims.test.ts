// Pods filed by the claims they reference (the volume controllers' index and watches).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { indexPodByClaim } from '../../controllers/volume/util.js';

test('indexPodByClaim: a pod under each distinct claim it references, persistent or ephemeral; none without claims', () => {
  const pod = (volumes?: NonNullable<Pod['spec']>['volumes']): Pod => ({ metadata: { name: 'web', namespace: 'ns' }, spec: { containers: [{ name: 'c' }], volumes } });
  assert.deepEqual(indexPodByClaim(pod()), []);
  assert.deepEqual(indexPodByClaim(pod([{ name: 's', secret: { secretName: 'x' } }, { name: 'e', emptyDir: {} }])), []);
  assert.deepEqual(indexPodByClaim({ metadata: { name: 'bare' } }), []);
  assert.deepEqual(
    indexPodByClaim(
      pod([
        { name: 's', secret: { secretName: 'x' } },
        { name: 'data', persistentVolumeClaim: { claimName: 'db' } },
        { name: 'again', persistentVolumeClaim: { claimName: 'db', readOnly: true } },
        { name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: {} } } },
      ]),
    ),
    ['ns/db', 'ns/web-scratch'],
  );
});
