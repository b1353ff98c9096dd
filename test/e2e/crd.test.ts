// Acceptance: CustomResourceDefinitions with the real kubectl against `kite up` (control
// plane only, KITE_NODE=none): a CRD with a schema, status and scale subresources,
// printer columns, short name and two versions; Established; custom resources applied,
// invalid ones rejected with upstream's messages; get (printer columns), explain, patch,
// scale, server-side apply, watch, label and field selectors; deleting the CRD deletes
// its resources.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, waitFor } from './harness.js';

const cluster = new Cluster('crd', { KITE_NODE: 'none' });

before(async () => {
  await cluster.up();
});

after(async () => {
  await cluster.down();
});

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
    categories: [all]
  versions:
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.selector
    selectableFields:
    - jsonPath: .spec.color
    additionalPrinterColumns:
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Color
      type: string
      jsonPath: .spec.color
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        description: A Widget is a thing the tests make.
        properties:
          spec:
            type: object
            description: The desired state of the widget.
            required: [color]
            x-kubernetes-validations:
            - rule: "!has(self.size) || self.replicas <= 5"
              message: sized widgets come at most 5 at a time
            properties:
              replicas:
                type: integer
                minimum: 0
                default: 1
                description: How many widgets.
              color:
                type: string
                enum: [red, green, blue]
              size:
                type: string
                pattern: '^[0-9]+(cm|m)$'
              tags:
                type: array
                x-kubernetes-list-type: set
                items: {type: string}
          status:
            type: object
            properties:
              replicas: {type: integer}
              selector: {type: string}
`;

const widget = (name: string, spec: string, labels = '') => `apiVersion: example.com/v1
kind: Widget
metadata:
  name: ${name}
${labels ? `  labels: {${labels}}\n` : ''}spec:
${spec}
`;

describe('CustomResourceDefinitions', () => {
  test('a CRD becomes Established and its resources are served', async () => {
    await cluster.k(['apply', '-f', cluster.writeFile('crd.yaml', CRD)]);
    await cluster.k(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=30s']);
    const crd = JSON.parse(await cluster.k(['get', 'crd', 'widgets.example.com', '-o', 'json']));
    const cond = (t: string) => crd.status.conditions.find((c: { type: string }) => c.type === t);
    assert.equal(cond('NamesAccepted').status, 'True');
    assert.equal(cond('NamesAccepted').reason, 'NoConflicts');
    assert.equal(cond('Established').reason, 'InitialNamesAccepted');
    assert.deepEqual(crd.status.storedVersions, ['v1']);
    assert.equal(crd.status.acceptedNames.listKind, 'WidgetList');

    const resources = await cluster.k(['api-resources', '--api-group=example.com', '--no-headers']);
    assert.match(resources, /^widgets\s+wd\s+example\.com\/v1\s+true\s+Widget$/m);
  });

  test('apply, defaulting, printer columns and short names', async () => {
    await cluster.k(['apply', '-f', cluster.writeFile('w1.yaml', widget('w1', '  color: red\n  size: 10cm', 'tier: gold'))]);
    await cluster.k(['apply', '-f', cluster.writeFile('w2.yaml', widget('w2', '  color: blue\n  replicas: 2'))]);
    const w1 = JSON.parse(await cluster.k(['get', 'widget', 'w1', '-o', 'json']));
    assert.equal(w1.spec.replicas, 1, 'default from the schema');
    assert.equal(w1.metadata.generation, 1);
    const table = await cluster.k(['get', 'wd']);
    assert.match(table, /^NAME\s+REPLICAS\s+COLOR\s+AGE$/m);
    assert.match(table, /^w1\s+1\s+red\s+\d+s$/m);
    assert.match(table, /^w2\s+2\s+blue\s+\d+s$/m);
    // categories: `all` includes widgets
    assert.match(await cluster.k(['get', 'all']), /widget\.example\.com\/w1/);
  });

  test('invalid resources are rejected with upstream messages', async () => {
    const r = await cluster.kubectl(['apply', '-f', cluster.writeFile('bad.yaml', widget('bad', '  color: purple\n  replicas: "string"\n  size: big'))]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /The Widget "bad" is invalid:/);
    assert.match(r.stderr, /spec\.color: Unsupported value: "purple": supported values: "red", "green", "blue"/);
    assert.match(r.stderr, /spec\.replicas: Invalid value: "string": spec\.replicas in body must be of type integer: "string"/);
    assert.match(r.stderr, /spec\.size: Invalid value: "big": spec\.size in body should match '\^\[0-9\]\+\(cm\|m\)\$'/);

    const missing = await cluster.kubectl(['apply', '-f', cluster.writeFile('bad2.yaml', widget('bad2', '  replicas: -1'))]);
    assert.match(missing.stderr, /spec\.color: Required value/);
    assert.match(missing.stderr, /spec\.replicas: Invalid value: -1: spec\.replicas in body should be greater than or equal to 0/);

    const cel = await cluster.kubectl(['apply', '-f', cluster.writeFile('bad4.yaml', widget('bad4', '  color: red\n  size: 1m\n  replicas: 6'))]);
    assert.match(cel.stderr, /spec: Invalid value: "object": sized widgets come at most 5 at a time/);

    const unknown = await cluster.kubectl(['apply', '-f', cluster.writeFile('bad3.yaml', widget('bad3', '  color: red\n  bogus: 1'))]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown field "spec\.bogus"/);
    // Without strict validation the unknown field is pruned.
    await cluster.k(['apply', '--validate=false', '-f', cluster.writeFile('bad3.yaml', widget('bad3', '  color: red\n  bogus: 1'))]);
    const pruned = JSON.parse(await cluster.k(['get', 'wd', 'bad3', '-o', 'json']));
    assert.equal(pruned.spec.bogus, undefined);
    await cluster.k(['delete', 'wd', 'bad3']);
  });

  test('explain reads the published schema', async () => {
    const out = await cluster.k(['explain', 'widgets.spec']);
    assert.match(out, /KIND:\s+Widget/);
    assert.match(out, /The desired state of the widget\./);
    assert.match(out, /color\s+<string> -required-/);
    assert.match(out, /replicas\s+<integer>/);
  });

  test('patch: merge and JSON patch work, strategic merge patch is 415', async () => {
    await cluster.k(['patch', 'wd', 'w1', '--type=merge', '-p', '{"spec":{"color":"green"}}']);
    await cluster.k(['patch', 'wd', 'w1', '--type=json', '-p', '[{"op":"add","path":"/spec/tags","value":["a"]}]']);
    const w1 = JSON.parse(await cluster.k(['get', 'wd', 'w1', '-o', 'json']));
    assert.equal(w1.spec.color, 'green');
    assert.deepEqual(w1.spec.tags, ['a']);
    assert.equal(w1.metadata.generation, 3);
    const smp = await cluster.kubectl(['patch', 'wd', 'w1', '-p', '{"spec":{"color":"red"}}']);
    assert.notEqual(smp.code, 0);
    assert.match(smp.stderr, /application\/strategic-merge-patch\+json is not supported/);
    assert.match(smp.stderr, /accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml/);
  });

  test('status and scale subresources', async () => {
    await cluster.k(['patch', 'wd', 'w1', '--subresource=status', '--type=merge', '-p', '{"status":{"replicas":1,"selector":"app=w1"},"spec":{"color":"blue"}}']);
    let w1 = JSON.parse(await cluster.k(['get', 'wd', 'w1', '-o', 'json']));
    assert.equal(w1.status.replicas, 1);
    assert.equal(w1.spec.color, 'green', 'the status subresource ignores spec');
    // The main resource ignores status.
    await cluster.k(['patch', 'wd', 'w1', '--type=merge', '-p', '{"status":{"replicas":9}}']);
    w1 = JSON.parse(await cluster.k(['get', 'wd', 'w1', '-o', 'json']));
    assert.equal(w1.status.replicas, 1);

    await cluster.k(['scale', 'wd', 'w1', '--replicas=4']);
    w1 = JSON.parse(await cluster.k(['get', 'wd', 'w1', '-o', 'json']));
    assert.equal(w1.spec.replicas, 4);
    const scale = JSON.parse(await cluster.k(['get', '--raw', '/apis/example.com/v1/namespaces/default/widgets/w1/scale']));
    assert.equal(scale.kind, 'Scale');
    assert.deepEqual(scale.spec, { replicas: 4 });
    assert.deepEqual(scale.status, { replicas: 1, selector: 'app=w1' });
  });

  test('server-side apply tracks managed fields', async () => {
    await cluster.k(['apply', '--server-side', '--field-manager=tester', '-f', cluster.writeFile('w3.yaml', widget('w3', '  color: red\n  tags: [p, q]'))]);
    const w3 = JSON.parse(await cluster.k(['get', 'wd', 'w3', '-o', 'json', '--show-managed-fields']));
    const entry = w3.metadata.managedFields.find((m: { manager: string }) => m.manager === 'tester');
    assert.equal(entry.operation, 'Apply');
    assert.ok(entry.fieldsV1['f:spec']['f:tags']['v:"p"'], 'a set list is owned per value');
    // Another manager changing an owned field conflicts.
    const conflict = await cluster.kubectl(['apply', '--server-side', '--field-manager=other', '-f', cluster.writeFile('w3b.yaml', widget('w3', '  color: blue'))]);
    assert.notEqual(conflict.code, 0);
    assert.match(conflict.stderr, /conflict/i);
  });

  test('label and field selectors', async () => {
    assert.match(await cluster.k(['get', 'wd', '-l', 'tier=gold', '-o', 'name']), /^widget\.example\.com\/w1\s*$/);
    assert.match(await cluster.k(['get', 'wd', '--field-selector', 'metadata.name=w2', '-o', 'name']), /^widget\.example\.com\/w2\s*$/);
    assert.match(await cluster.k(['get', 'wd', '-A', '--field-selector', 'metadata.namespace=default', '-o', 'name']), /w1/);
    // selectableFields
    assert.match(await cluster.k(['get', 'wd', '--field-selector', 'spec.color=blue', '-o', 'name']), /^widget\.example\.com\/w2\s*$/);
    const bad = await cluster.kubectl(['get', 'wd', '--field-selector', 'spec.size=1m']);
    assert.notEqual(bad.code, 0);
  });

  test('another served version shows the same objects with its apiVersion', async () => {
    const list = JSON.parse(await cluster.k(['get', '--raw', '/apis/example.com/v1beta1/namespaces/default/widgets']));
    assert.equal(list.kind, 'WidgetList');
    assert.ok(list.items.length >= 2);
    for (const item of list.items) assert.equal(item.apiVersion, 'example.com/v1beta1');
  });

  test('watch sees changes', async () => {
    const w = cluster.spawnKubectl(['get', 'wd', '-w', '--output-watch-events']);
    try {
      await waitFor('initial events', () => /ADDED\s+w2/.test(w.output()), 20_000);
      await cluster.k(['patch', 'wd', 'w2', '--type=merge', '-p', '{"spec":{"color":"red"}}']);
      await waitFor('MODIFIED event', () => /MODIFIED\s+w2\s+2\s+red/.test(w.output()), 20_000);
      await cluster.k(['delete', 'wd', 'w2']);
      await waitFor('DELETED event', () => /DELETED\s+w2/.test(w.output()), 20_000);
    } finally {
      w.stop();
    }
  });

  test('a custom resource owns other objects (garbage collection)', async () => {
    const owner = JSON.parse(await cluster.k(['get', 'wd', 'w3', '-o', 'json']));
    await cluster.k(['apply', '-f', cluster.writeFile('owned.yaml', `apiVersion: v1
kind: ConfigMap
metadata:
  name: owned-by-w3
  ownerReferences:
  - {apiVersion: example.com/v1, kind: Widget, name: w3, uid: ${owner.metadata.uid}}
data: {a: b}
`)]);
    await cluster.k(['delete', 'wd', 'w3']);
    await waitFor('owned ConfigMap collected', async () => (await cluster.kubectl(['get', 'cm', 'owned-by-w3'])).code !== 0, 30_000);
  });

  test('a cluster-scoped CRD, and a name conflict is not accepted', async () => {
    const gizmos = (name: string, plural: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${name}
spec:
  group: example.com
  scope: Cluster
  names: {plural: ${plural}, kind: Gizmo}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`;
    await cluster.k(['apply', '-f', cluster.writeFile('gizmos.yaml', gizmos('gizmos.example.com', 'gizmos'))]);
    await cluster.k(['wait', '--for=condition=Established', 'crd/gizmos.example.com', '--timeout=30s']);
    await cluster.k(['apply', '-f', cluster.writeFile('g1.yaml', 'apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: g1}\nspec: {anything: [1, 2]}\n')]);
    const g1 = JSON.parse(await cluster.k(['get', 'gizmo', 'g1', '-o', 'json']));
    assert.equal(g1.metadata.namespace, undefined);
    assert.deepEqual(g1.spec.anything, [1, 2]);

    await cluster.k(['apply', '-f', cluster.writeFile('gizmos2.yaml', gizmos('gizmoz.example.com', 'gizmoz'))]);
    const other = await waitFor('NamesAccepted=False', async () => {
      const crd = JSON.parse(await cluster.k(['get', 'crd', 'gizmoz.example.com', '-o', 'json']));
      const c = (crd.status?.conditions ?? []).find((x: { type: string }) => x.type === 'NamesAccepted');
      return c?.status === 'False' ? c : undefined;
    });
    assert.equal(other.reason, 'NameConflict');
    assert.match(other.message, /"gizmo" is already in use/);
    await cluster.k(['delete', 'crd', 'gizmoz.example.com', 'gizmos.example.com']);
  });

  test('deleting the CRD deletes its resources', async () => {
    await cluster.k(['delete', 'crd', 'widgets.example.com', '--timeout=60s']);
    const r = await cluster.kubectl(['get', 'crd', 'widgets.example.com']);
    assert.match(r.stderr, /NotFound/);
    const raw = await cluster.kubectl(['get', '--raw', '/apis/example.com/v1/namespaces/default/widgets']);
    assert.notEqual(raw.code, 0);
    // Recreated, the CRD starts empty: the old resources were deleted, not left behind.
    await cluster.k(['apply', '-f', cluster.writeFile('crd.yaml', CRD)]);
    await cluster.k(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=30s']);
    const list = JSON.parse(await cluster.k(['get', '--raw', '/apis/example.com/v1/namespaces/default/widgets']));
    assert.deepEqual(list.items, []);
  });
});
