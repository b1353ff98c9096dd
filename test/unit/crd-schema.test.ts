// Structural schemas of CRDs: pruning, defaulting and validation messages (upstream's
// wording), the JSONPath subset, and the CRD controller serving, establishing and
// cleaning up through a real in-process API.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults, prune, validate } from '../../apiserver/crd/schema.js';
import { jsonPathValue, jsonPathValues, setJsonPath } from '../../apiserver/crd/jsonpath.js';
import { validateRules } from '../../apiserver/crd/cel.js';
import { resourceByPath, resourcesGeneration } from '../../machinery/resources.js';
import { internalContext } from '../../apiserver/context.js';
import { StatusError } from '../../machinery/status.js';
import { startCluster, waitFor } from './client-fixture.js';

const SCHEMA = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['color'],
      properties: {
        replicas: { type: 'integer', minimum: 0, maximum: 10, default: 1 },
        color: { type: 'string', enum: ['red', 'green'] },
        name: { type: 'string', minLength: 2, maxLength: 5, pattern: '^[a-z]+$' },
        when: { type: 'string', format: 'date-time' },
        port: { 'x-kubernetes-int-or-string': true },
        note: { type: 'string', nullable: true },
        tags: { type: 'array', maxItems: 3, 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
        ports: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: { type: 'object', properties: { name: { type: 'string' }, port: { type: 'integer', default: 80 } } },
        },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        template: { type: 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
      },
    },
  },
};

const messages = (value: unknown) => validate(SCHEMA, value).map((c) => `${c.field}: ${c.message}`);

describe('CRD structural schema', () => {
  test('type errors are worded as upstream', () => {
    assert.deepEqual(messages({ spec: { color: 'red', replicas: 'string' } }), ['spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"']);
    assert.deepEqual(messages({ spec: { color: 'red', replicas: 1.5 } }), ['spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"']);
    assert.deepEqual(messages({ spec: 'x' }), ['spec: Invalid value: "string": spec in body must be of type object: "string"']);
  });

  test('required, enum, bounds, lengths, pattern, format', () => {
    assert.deepEqual(messages({ spec: {} }), ['spec.color: Required value']);
    assert.deepEqual(messages({ spec: { color: 'blue' } }), ['spec.color: Unsupported value: "blue": supported values: "red", "green"']);
    assert.deepEqual(messages({ spec: { color: 'red', replicas: -1 } }), ['spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0']);
    assert.deepEqual(messages({ spec: { color: 'red', replicas: 11 } }), ['spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10']);
    assert.deepEqual(messages({ spec: { color: 'red', name: 'a' } }), ['spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long']);
    assert.deepEqual(messages({ spec: { color: 'red', name: 'abcdef' } }), ['spec.name: Too long: may not be more than 5 bytes']);
    assert.deepEqual(messages({ spec: { color: 'red', name: 'AB' } }), ["spec.name: Invalid value: \"AB\": spec.name in body should match '^[a-z]+$'"]);
    assert.deepEqual(messages({ spec: { color: 'red', when: 'yesterday' } }), ['spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"']);
    assert.deepEqual(messages({ spec: { color: 'red', when: '2024-01-02T03:04:05Z' } }), []);
  });

  test('int-or-string, nullable, arrays, list types, maps, embedded resources', () => {
    assert.deepEqual(messages({ spec: { color: 'red', port: 80 } }), []);
    assert.deepEqual(messages({ spec: { color: 'red', port: 'http' } }), []);
    assert.equal(messages({ spec: { color: 'red', port: true } }).length, 1);
    assert.deepEqual(messages({ spec: { color: 'red', note: null } }), []);
    assert.deepEqual(messages({ spec: { color: null } }), ['spec.color: Invalid value: "null": spec.color in body must be of type string: "null"']);
    assert.deepEqual(messages({ spec: { color: 'red', tags: ['a', 'b', 'a'] } }), ['spec.tags[2]: Duplicate value: "a"']);
    assert.deepEqual(messages({ spec: { color: 'red', tags: ['a', 'b', 'c', 'd'] } }), ['spec.tags: Too many: 4: must have at most 3 items']);
    assert.deepEqual(messages({ spec: { color: 'red', ports: [{ name: 'a' }, { name: 'a' }] } }), ['spec.ports[1]: Duplicate value: map[string]interface {}{"name":"a"}']);
    assert.deepEqual(messages({ spec: { color: 'red', labels: { a: 1 } } }), ['spec.labels[a]: Invalid value: "integer": spec.labels[a] in body must be of type string: "integer"']);
    assert.deepEqual(messages({ spec: { color: 'red', template: {} } }), ['spec.template.apiVersion: Required value: must not be empty', 'spec.template.kind: Required value: must not be empty']);
  });

  test('pruning drops undeclared fields and keeps preserved ones', () => {
    const obj: any = {
      apiVersion: 'example.com/v1',
      kind: 'W',
      metadata: { name: 'w' },
      extra: 1,
      spec: { color: 'red', bogus: true, free: { any: { thing: 1 } }, labels: { a: 'b' }, ports: [{ name: 'a', junk: 1 }], template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {} } },
    };
    const dropped = prune(SCHEMA, obj);
    assert.deepEqual(dropped.sort(), ['extra', 'spec.bogus', 'spec.ports[0].junk']);
    assert.deepEqual(obj.spec.free, { any: { thing: 1 } });
    assert.deepEqual(obj.spec.labels, { a: 'b' });
    assert.equal(obj.spec.template.kind, 'Pod');
    assert.equal(obj.apiVersion, 'example.com/v1');
  });

  test('defaults fill absent fields, also in list items, never present ones', () => {
    const obj: any = { spec: { color: 'red', ports: [{ name: 'a' }, { name: 'b', port: 8080 }] } };
    applyDefaults(SCHEMA, obj);
    assert.equal(obj.spec.replicas, 1);
    assert.deepEqual(obj.spec.ports, [{ name: 'a', port: 80 }, { name: 'b', port: 8080 }]);
    const zero: any = { spec: { color: 'red', replicas: 0 } };
    applyDefaults(SCHEMA, zero);
    assert.equal(zero.spec.replicas, 0);
  });
});

describe('CRD JSONPath subset', () => {
  const obj = { spec: { replicas: 3 }, status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'Other', status: 'False' }] }, metadata: { labels: { 'a.b/c': 'd' } } };
  test('paths, filters and wildcards', () => {
    assert.equal(jsonPathValue(obj, '.spec.replicas'), 3);
    assert.equal(jsonPathValue(obj, '.status.conditions[?(@.type=="Ready")].status'), 'True');
    assert.deepEqual(jsonPathValues(obj, '.status.conditions[*].type'), ['Ready', 'Other']);
    assert.equal(jsonPathValue(obj, ".metadata.labels['a.b/c']"), 'd');
    assert.equal(jsonPathValue(obj, '.spec.missing'), undefined);
    const o: Record<string, unknown> = {};
    setJsonPath(o, '.spec.size.replicas', 2);
    assert.deepEqual(o, { spec: { size: { replicas: 2 } } });
  });
});

const CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'things.unit.example.com' },
  spec: {
    group: 'unit.example.com',
    scope: 'Namespaced',
    names: { plural: 'things', kind: 'Thing' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer', default: 3 } } } } } } }],
  },
};

describe('CRD controller', () => {
  test('serves, establishes and, on deletion, deletes the resources first', async () => {
    const c = await startCluster();
    try {
      const crds = resourceByPath('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
      const ctx = internalContext('test');
      const before = resourcesGeneration();
      await c.registry.create(crds, undefined, structuredClone(CRD), ctx);
      await waitFor(() => !!resourceByPath('unit.example.com', 'v1', 'things'), 'things served');
      assert.ok(resourcesGeneration() > before);
      await waitFor(() => {
        const st = c.registry.getStored(crds, undefined, 'things.unit.example.com')?.status as any;
        return st?.conditions?.some((x: any) => x.type === 'Established' && x.status === 'True');
      }, 'Established');
      const things = resourceByPath('unit.example.com', 'v1', 'things')!;
      const t = await c.registry.create(things, 'default', { apiVersion: 'unit.example.com/v1', kind: 'Thing', metadata: { name: 't1' }, spec: { junk: 1 } } as any, ctx);
      assert.deepEqual(t.spec, { size: 3 });
      await assert.rejects(
        c.registry.create(things, 'default', { apiVersion: 'unit.example.com/v1', kind: 'Thing', metadata: { name: 't2' }, spec: { size: 'big' } } as any, ctx),
        (err: unknown) => err instanceof StatusError && err.code === 422 && /spec\.size: Invalid value: "string"/.test(err.message),
      );

      await assert.rejects(
        c.registry.create(things, 'default', { apiVersion: 'unit.example.com/v1', kind: 'Thing', metadata: { name: 'Bad_Name' } } as any, ctx),
        (err: unknown) => err instanceof StatusError && err.code === 422 && /metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/.test(err.message),
      );

      const { pending } = await c.registry.delete(crds, undefined, 'things.unit.example.com', {}, ctx);
      assert.equal(pending, true, 'held by the cleanup finalizer');
      await waitFor(() => !c.registry.getStored(crds, undefined, 'things.unit.example.com'), 'CRD gone');
      await waitFor(() => !resourceByPath('unit.example.com', 'v1', 'things'), 'things no longer served');
      assert.equal(c.registry.getStored(things, 'default', 't1'), undefined);
    } finally {
      await c.close();
    }
  });
});

describe('CRD CEL rules (x-kubernetes-validations)', () => {
  const schema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        'x-kubernetes-validations': [
          { rule: 'self.replicas <= self.maxReplicas', message: 'replicas must not exceed maxReplicas' },
          { rule: 'self.replicas + 1 > 0' },
          { rule: 'self.name == oldSelf.name', message: 'name is immutable', fieldPath: '.name', reason: 'FieldValueForbidden' },
        ],
        properties: {
          replicas: { type: 'integer' },
          maxReplicas: { type: 'integer' },
          name: { type: 'string' },
          tags: { type: 'array', items: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self.size() <= 3', messageExpression: '"tag " + self + " is too long"' }] } },
        },
      },
    },
  };
  const run = (obj: unknown, old?: unknown) => validateRules(schema, obj, old).map((c) => `${c.field}: ${c.message}`);

  test('rules pass, fail with their message, and integers are CEL ints', () => {
    assert.deepEqual(run({ spec: { replicas: 2, maxReplicas: 3, name: 'a' } }), []);
    assert.deepEqual(run({ spec: { replicas: 5, maxReplicas: 3, name: 'a' } }), ['spec: Invalid value: "object": replicas must not exceed maxReplicas']);
  });

  test('messageExpression, list items and transition rules', () => {
    assert.deepEqual(run({ spec: { replicas: 1, maxReplicas: 1, tags: ['ok', 'toolong'] } }), ['spec.tags[1]: Invalid value: "string": tag toolong is too long']);
    // oldSelf rules only run on update.
    assert.deepEqual(run({ spec: { replicas: 1, maxReplicas: 1, name: 'b' } }), []);
    assert.deepEqual(run({ spec: { replicas: 1, maxReplicas: 1, name: 'b' } }, { spec: { replicas: 1, maxReplicas: 1, name: 'a' } }), ['spec.name: Forbidden: name is immutable']);
  });

  test('a rule without a message reports the rule', () => {
    const s = { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-validations': [{ rule: 'has(self.a)' }] } } };
    assert.deepEqual(validateRules(s, { spec: {} }).map((c) => c.message), ['Invalid value: "object": failed rule: has(self.a)']);
  });
});
