import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyStrategicMergePatch, navigatorFor } from '../../apiserver/patch/index.js';
import { StatusError } from '../../machinery/status.js';
import { DEPLOYMENT, definitions, liveDeployment } from './patch-fixtures.js';

const schema = navigatorFor(definitions, DEPLOYMENT);

type Obj = Record<string, any>;

function smp(doc: Obj, patch: unknown): Obj {
  return applyStrategicMergePatch(doc, patch, schema);
}

function names(list: Obj[]): string[] {
  return list.map((c) => c.name);
}

function statusOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  assert.fail('expected a StatusError');
}

test('strategic: the patch client-side `kubectl apply` sends for a changed Deployment', () => {
  // deploy-v2 changes web's image and env (B removed, C added), drops container "old",
  // adds "sidecar", and scales to 3; kubectl sends the three-way patch below.
  const lastApplied = '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"}}\n';
  const patch = {
    metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } },
    spec: {
      replicas: 3,
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'web' }, { name: 'sidecar' }],
          containers: [
            {
              name: 'web',
              image: 'nginx:1.25',
              '$setElementOrder/env': [{ name: 'A' }, { name: 'C' }],
              env: [{ name: 'C', value: '3' }, { $patch: 'delete', name: 'B' }],
            },
            { name: 'sidecar', image: 'busybox:1.36' },
            { $patch: 'delete', name: 'old' },
          ],
        },
      },
    },
  };
  const live = liveDeployment();
  const before = JSON.stringify(live);
  const out = smp(live, patch);
  assert.equal(JSON.stringify(live), before, 'input not modified');
  assert.equal(out.spec.replicas, 3);
  assert.equal(out.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], lastApplied);
  const containers = out.spec.template.spec.containers;
  assert.deepEqual(names(containers), ['web', 'sidecar']);
  assert.deepEqual(containers[0], {
    name: 'web',
    image: 'nginx:1.25',
    ports: [{ containerPort: 80, protocol: 'TCP' }],
    env: [{ name: 'A', value: '1' }, { name: 'C', value: '3' }],
  });
  assert.deepEqual(containers[1], { name: 'sidecar', image: 'busybox:1.36' });
  // No directive survives into the object.
  assert.ok(!JSON.stringify(out).includes('$setElementOrder'));
  assert.ok(!JSON.stringify(out).includes('$patch'));
});

test('strategic: $setElementOrder with server-only items keeps upstream order', () => {
  const live = liveDeployment();
  live.spec.template.spec.containers = [{ name: 'a' }, { name: 'b' }, { name: 'c' }];
  const out = smp(live, {
    spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }], containers: [{ name: 'a', image: 'a2' }] } } },
  });
  assert.deepEqual(out.spec.template.spec.containers, [{ name: 'b' }, { name: 'c' }, { name: 'a', image: 'a2' }]);
});

test('strategic: delete and add in one list follow upstream slice semantics', () => {
  // Upstream deletes in place and appends into the freed capacity; the order it then
  // enforces sees those writes (3 ends up last, after server-only 4).
  const live = liveDeployment();
  live.spec.template.spec.containers = [{ name: '1' }, { name: '2', image: 'b' }, { name: '4', image: 'c' }];
  const out = smp(live, {
    spec: {
      template: {
        spec: { '$setElementOrder/containers': [{ name: '2' }, { name: '3' }], containers: [{ name: '3' }, { name: '1', $patch: 'delete' }] },
      },
    },
  });
  assert.deepEqual(names(out.spec.template.spec.containers), ['2', '4', '3']);
});

test('strategic: kubectl set image and rollout restart', () => {
  let out = smp(liveDeployment(), { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } } });
  assert.deepEqual(
    out.spec.template.spec.containers.map((c: Obj) => [c.name, c.image]),
    [
      ['web', 'nginx:2'],
      ['old', 'busybox:1'],
    ],
  );
  out = smp(liveDeployment(), { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-01T12:00:00Z' } } } } });
  assert.deepEqual(out.spec.template.metadata, { labels: { app: 'web' }, annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-01T12:00:00Z' } });
});

test('strategic: merge keys other than name (ports by containerPort)', () => {
  const out = smp(liveDeployment(), {
    spec: {
      template: {
        spec: {
          containers: [{ name: 'web', '$setElementOrder/ports': [{ containerPort: 80 }, { containerPort: 8080 }], ports: [{ containerPort: 8080, name: 'alt' }] }],
        },
      },
    },
  });
  assert.deepEqual(out.spec.template.spec.containers[0].ports, [
    { containerPort: 80, protocol: 'TCP' },
    { containerPort: 8080, name: 'alt' },
  ]);
});

test('strategic: $retainKeys switches the Deployment strategy', () => {
  const out = smp(liveDeployment(), { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' } } });
  assert.deepEqual(out.spec.strategy, { type: 'Recreate' });
  const err = statusOf(() => smp(liveDeployment(), { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: { maxSurge: 1 } } } }));
  assert.equal(err.code, 400);
  assert.equal(err.status.message, 'invalid patch format of retainKeys');
});

test('strategic: primitive lists with merge strategy are sets; $deleteFromPrimitiveList', () => {
  const live = liveDeployment();
  live.metadata.finalizers = ['a', 'b', 'c'];
  let out = smp(live, { metadata: { '$setElementOrder/finalizers': ['a', 'c'], '$deleteFromPrimitiveList/finalizers': ['b'] } });
  assert.deepEqual(out.metadata.finalizers, ['a', 'c']);
  out = smp(live, { metadata: { finalizers: ['d', 'a'] } });
  assert.deepEqual(out.metadata.finalizers, ['d', 'a', 'b', 'c']);
  out = smp(live, { metadata: { '$deleteFromPrimitiveList/labels': ['x'], '$deleteFromPrimitiveList/nothing': ['x'] } });
  assert.deepEqual(out.metadata.finalizers, ['a', 'b', 'c']);
});

test('strategic: $patch replace and delete, null deletes, atomic lists replaced', () => {
  const live = liveDeployment();
  live.spec.template.spec.nodeSelector = { zone: 'a' };
  live.spec.template.spec.tolerations = [{ key: 'a' }, { key: 'b' }];
  const out = smp(live, {
    spec: {
      paused: null,
      selector: null,
      template: {
        metadata: { $patch: 'delete' },
        spec: {
          nodeSelector: { $patch: 'replace', disk: 'ssd' },
          tolerations: [{ key: 'c' }],
          containers: [{ $patch: 'replace' }, { name: 'only', image: 'x' }],
        },
      },
    },
  });
  assert.equal(out.spec.selector, undefined);
  assert.deepEqual(out.spec.template.metadata, {});
  assert.deepEqual(out.spec.template.spec.nodeSelector, { disk: 'ssd' });
  assert.deepEqual(out.spec.template.spec.tolerations, [{ key: 'c' }]);
  assert.deepEqual(out.spec.template.spec.containers, [{ name: 'only', image: 'x' }]);
  // $patch: replace at the top of a map replaces it.
  const whole = smp(live, { spec: { strategy: { $patch: 'replace', type: 'Recreate' } } });
  assert.deepEqual(whole.spec.strategy, { type: 'Recreate' });
});

test('strategic: without a schema it behaves like a JSON merge patch', () => {
  const doc = { spec: { list: [1, 2], map: { a: 1, b: 2 } } };
  const out = applyStrategicMergePatch(doc, { spec: { list: [3], map: { b: null, c: 3 } } });
  assert.deepEqual(out, { spec: { list: [3], map: { a: 1, c: 3 } } });
  // Unknown fields inside a known type are merged the same way.
  const live = liveDeployment();
  live.spec.custom = { list: [1], m: { x: 1 } };
  assert.deepEqual(smp(live, { spec: { custom: { list: [2], m: { y: 2 } } } }).spec.custom, { list: [2], m: { x: 1, y: 2 } });
});

test('strategic: errors as upstream reports them', () => {
  let err = statusOf(() => smp(liveDeployment(), { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }));
  assert.equal(err.code, 500);
  assert.equal(err.status.message, 'map: map[image:x] does not contain declared merge key: name');
  err = statusOf(() => smp(liveDeployment(), { spec: { template: { spec: { '$setElementOrderX/containers': [] } } } }));
  assert.equal(err.code, 400);
  assert.equal(err.status.message, 'invalid patch format of setElementOrder list');
  err = statusOf(() => smp(liveDeployment(), { metadata: { '$deleteFromPrimitiveListfinalizers': ['x'] } }));
  assert.equal(err.status.message, 'invalid patch format of primitive list');
  err = statusOf(() => smp(liveDeployment(), { spec: { $patch: 'frob' } }));
  assert.equal(err.code, 500);
  assert.equal(err.status.message, 'unknown patch type: frob in map: map[$patch:frob]');
  const live = liveDeployment();
  live.metadata.finalizers = [];
  err = statusOf(() => smp(live, { metadata: { finalizers: [['x']] } }));
  assert.equal(err.code, 422);
  assert.equal(err.status.message, 'the server rejected our request due to an error in our request');
  // Items out of $setElementOrder's order are rejected.
  err = statusOf(() =>
    smp(liveDeployment(), { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'web' }, { name: 'x' }], containers: [{ name: 'x' }, { name: 'web' }] } } } }),
  );
  assert.equal(err.code, 500);
  assert.match(err.status.message ?? '', /^The order in patch list:/);
  err = statusOf(() => smp(liveDeployment(), [1]));
  assert.equal(err.code, 400);
  assert.equal(err.status.message, 'json: cannot unmarshal array into Go value of type map[string]interface {}');
});

test('strategic: shareUntouched keeps the members the patch does not name, and gives the same result', () => {
  const live = liveDeployment();
  const before = structuredClone(live);
  const patch = { status: { replicas: 3, conditions: [{ type: 'Available', status: 'True' }] } };
  const shared = applyStrategicMergePatch(live, patch, schema, { shareUntouched: true }) as Obj;
  assert.deepEqual(shared, smp(live, patch));
  assert.deepEqual(live, before, 'the document is not modified');
  assert.equal(shared.spec, live.spec);
  assert.equal(shared.metadata, live.metadata);
  assert.notEqual(shared.status, live.status);
  assert.equal(shared.status.replicas, 3);
});

test('strategic: shareUntouched cleans a kept member with nulls on a copy, and shares nothing under a top-level directive', () => {
  const live = liveDeployment();
  live.spec.paused = null;
  const before = structuredClone(live);
  const patch = { status: { replicas: 3 } };
  const shared = applyStrategicMergePatch(live, patch, schema, { shareUntouched: true }) as Obj;
  assert.deepEqual(shared, smp(live, patch));
  assert.equal('paused' in shared.spec, false, 'nulls are dropped as without sharing');
  assert.notEqual(shared.spec, live.spec);
  assert.deepEqual(live, before, 'the document is not modified');
  // $retainKeys at the top level may drop any member: nothing is kept as it was.
  const retained = applyStrategicMergePatch(liveDeployment(), { $retainKeys: ['apiVersion', 'kind', 'metadata', 'spec'], spec: { replicas: 1 } }, schema, { shareUntouched: true }) as Obj;
  assert.deepEqual(retained, smp(liveDeployment(), { $retainKeys: ['apiVersion', 'kind', 'metadata', 'spec'], spec: { replicas: 1 } }));
  assert.equal(retained.status, undefined);
});
