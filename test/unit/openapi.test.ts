import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { CRUD_VERBS, RESOURCES, setResources, type ResourceInfo } from '../../machinery/resources.js';
import {
  definitionNameFor,
  definitions,
  openapiV2,
  openapiV2Document,
  openapiV3,
  openapiV3Index,
  resolveSchema,
  schemaFor,
  unknownFieldErrors,
  type Schema,
} from '../../apiserver/openapi/index.js';
import { decodeDocument } from '../../apiserver/openapi/proto.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function prop(schema: Schema, ...path: string[]): Schema {
  let s = schema;
  for (const p of path) {
    s = resolveSchema(s);
    if (s.items && !s.properties) s = resolveSchema(s.items);
    const next = s.properties?.[p];
    assert.ok(next, `property ${p} missing (path ${path.join('.')})`);
    s = next;
  }
  return s;
}

function collectRefs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => collectRefs(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else collectRefs(v, out);
    }
  }
  return out;
}

test('every served kind, its list and subresource bodies have a definition', () => {
  const defs = definitions();
  for (const res of RESOURCES) {
    const name = definitionNameFor(res.group, res.version, res.kind);
    assert.ok(name && defs[name], `no definition for ${res.group}/${res.version} ${res.kind}`);
    const gvks = defs[name]['x-kubernetes-group-version-kind'] ?? [];
    assert.ok(gvks.some((g) => g.group === res.group && g.version === res.version && g.kind === res.kind));
    if (res.verbs.includes('list')) assert.ok(definitionNameFor(res.group, res.version, `${res.kind}List`), `${res.kind}List`);
    for (const sub of res.subresources ?? []) {
      if (sub.kind.endsWith('Options') || sub.name === 'log') continue;
      assert.ok(definitionNameFor(sub.group ?? res.group, sub.version ?? res.version, sub.kind), `${res.plural}/${sub.name} ${sub.kind}`);
    }
  }
  assert.equal(definitionNameFor('apps', 'v1', 'Deployment'), 'io.k8s.api.apps.v1.Deployment');
  assert.equal(definitionNameFor('autoscaling', 'v1', 'Scale'), 'io.k8s.api.autoscaling.v1.Scale');
  assert.equal(definitionNameFor('', 'v1', 'Status'), 'io.k8s.apimachinery.pkg.apis.meta.v1.Status');
  assert.equal(definitionNameFor('apps', 'v1', 'DeleteOptions'), 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions');
  assert.equal(definitionNameFor('batch', 'v1', 'WatchEvent'), 'io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent');
  assert.equal(definitionNameFor('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition'), 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition');
  assert.equal(definitionNameFor('nope', 'v1', 'Deployment'), undefined);
});

test('special definitions and formats follow upstream', () => {
  const defs = definitions();
  const meta = 'io.k8s.apimachinery.pkg.apis.meta.v1';
  assert.deepEqual(
    { type: defs['io.k8s.apimachinery.pkg.util.intstr.IntOrString'].type, format: defs['io.k8s.apimachinery.pkg.util.intstr.IntOrString'].format },
    { type: 'string', format: 'int-or-string' },
  );
  assert.equal(defs[`${meta}.Time`].format, 'date-time');
  assert.equal(defs[`${meta}.MicroTime`].format, 'date-time');
  assert.equal(defs['io.k8s.apimachinery.pkg.api.resource.Quantity'].type, 'string');
  assert.equal(defs['io.k8s.apimachinery.pkg.runtime.RawExtension'].type, 'object');
  assert.equal(defs['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON'].type, undefined);
  const om = defs[`${meta}.ObjectMeta`];
  assert.equal(prop(om, 'generation').format, 'int64');
  assert.equal(prop(om, 'finalizers')['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(prop(om, 'finalizers')['x-kubernetes-list-type'], 'set');
  assert.equal(prop(om, 'ownerReferences')['x-kubernetes-patch-merge-key'], 'uid');
  assert.deepEqual(prop(om, 'ownerReferences')['x-kubernetes-list-map-keys'], ['uid']);
  assert.equal(prop(om, 'managedFields')['x-kubernetes-list-type'], 'atomic');
  assert.ok(om.description?.startsWith('ObjectMeta is metadata'));
  const secret = defs['io.k8s.api.core.v1.Secret'];
  assert.deepEqual(prop(secret, 'data').additionalProperties, { type: 'string', format: 'byte' });
  assert.equal(prop(defs['io.k8s.api.core.v1.Container'], 'ports', 'containerPort').format, 'int32');
  assert.deepEqual(prop(defs['io.k8s.api.core.v1.Container'], 'ports')['x-kubernetes-list-map-keys'], ['containerPort', 'protocol']);
  assert.equal(prop(defs['io.k8s.api.apps.v1.DeploymentSpec'], 'strategy')['x-kubernetes-patch-strategy'], 'retainKeys');
  assert.equal(prop(defs['io.k8s.api.core.v1.PodSpec'], 'volumes')['x-kubernetes-patch-strategy'], 'merge,retainKeys');
  assert.equal(prop(defs['io.k8s.api.core.v1.ServiceSpec'], 'ports')['x-kubernetes-patch-merge-key'], 'port');
  assert.equal(defs[`${meta}.LabelSelector`]['x-kubernetes-map-type'], 'atomic');
  assert.equal(prop(defs['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps'], 'maximum').type, 'number');
  assert.ok(prop(defs['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps'], 'x-kubernetes-preserve-unknown-fields'));
  assert.deepEqual(defs['io.k8s.api.apps.v1.Deployment']['x-kubernetes-group-version-kind'], [{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
});

test('Deployment resolves down to containers merged by name', () => {
  const deployment = schemaFor('apps', 'v1', 'Deployment');
  assert.ok(deployment);
  const containers = prop(deployment, 'spec', 'template', 'spec', 'containers');
  assert.equal(containers.type, 'array');
  assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(containers['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(containers['x-kubernetes-list-type'], 'map');
  assert.deepEqual(containers['x-kubernetes-list-map-keys'], ['name']);
  assert.equal(resolveSchema(containers.items!).properties?.image?.type, 'string');
  assert.deepEqual(prop(deployment, 'spec', 'template', 'spec', 'containers', 'env')['x-kubernetes-patch-merge-key'], 'name');
});

test('every $ref of every definition resolves', () => {
  const defs = definitions();
  for (const ref of collectRefs(defs)) {
    assert.ok(ref.startsWith('#/definitions/'), ref);
    assert.ok(defs[ref.slice('#/definitions/'.length)], `dangling ${ref}`);
  }
});

test('unknownFieldErrors reports upstream-worded paths', () => {
  const bad = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labelz: { a: 'b' } },
    spec: {
      replicas: 1,
      foo: 'bar',
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            { name: 'a', image: 'nginx' },
            { name: 'b', image: 'nginx', imagePullPolcy: 'Always', ports: [{ containerPort: 80, hostPortt: 1 }] },
          ],
        },
      },
    },
  };
  assert.deepEqual(unknownFieldErrors('apps', 'v1', 'Deployment', bad), [
    'unknown field "metadata.labelz"',
    'unknown field "spec.foo"',
    'unknown field "spec.template.spec.containers[1].imagePullPolcy"',
    'unknown field "spec.template.spec.containers[1].ports[0].hostPortt"',
  ]);
  const good = structuredClone(bad) as Record<string, any>;
  delete good.metadata.labelz;
  delete good.spec.foo;
  good.spec.template.spec.containers[1] = { name: 'b', image: 'nginx', imagePullPolicy: 'Always' };
  good.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } };
  assert.deepEqual(unknownFieldErrors('apps', 'v1', 'Deployment', good), []);
  assert.deepEqual(
    unknownFieldErrors('', 'v1', 'Pod', { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', resources: { limits: { cpu: '1' } }, volumeMounts: [{ name: 'v', mountPath: '/x', bogus: 1 }] }] } }),
    ['unknown field "spec.containers[0].volumeMounts[0].bogus"'],
  );
  assert.deepEqual(unknownFieldErrors('nope', 'v1', 'Thing', { x: 1 }), []);
});

test('unknownFieldErrors accepts anything under RawExtension, JSON and preserve-unknown-fields', () => {
  assert.deepEqual(
    unknownFieldErrors('apps', 'v1', 'ControllerRevision', { metadata: { name: 'r' }, revision: 1, data: { anything: { goes: [1, 2] } } }),
    [],
  );
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              'x-kubernetes-preserve-unknown-fields': true,
              properties: { spec: { type: 'object', default: { size: 1 }, 'x-kubernetes-validations': [{ rule: 'self.size > 0' }] } },
            },
          },
        },
      ],
    },
  };
  assert.deepEqual(unknownFieldErrors('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', crd), []);
  // Maps of objects are walked with `.key` segments.
  (crd.spec.versions[0].schema.openAPIV3Schema.properties.spec as Record<string, unknown>).typ = 'string';
  assert.deepEqual(unknownFieldErrors('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', crd), [
    'unknown field "spec.versions[0].schema.openAPIV3Schema.properties.spec.typ"',
  ]);
  delete (crd.spec.versions[0].schema.openAPIV3Schema.properties.spec as Record<string, unknown>).typ;
  (crd.spec.versions[0] as Record<string, unknown>).servd = true;
  assert.deepEqual(unknownFieldErrors('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', crd), ['unknown field "spec.versions[0].servd"']);
});

test('v2 document lists every resource with its operations', () => {
  const doc = openapiV2Document() as { paths: Record<string, Record<string, any>>; definitions: Record<string, Schema>; swagger: string; info: any };
  assert.equal(doc.swagger, '2.0');
  assert.deepEqual(doc.info, { title: 'Kubernetes', version: 'v1.33.0' });
  const dep = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'];
  assert.ok(dep.get && dep.put && dep.patch && dep.delete);
  assert.equal(dep.patch['x-kubernetes-action'], 'patch');
  assert.deepEqual(dep.patch['x-kubernetes-group-version-kind'], { group: 'apps', kind: 'Deployment', version: 'v1' });
  assert.deepEqual(dep.patch.consumes, [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/strategic-merge-patch+json',
    'application/apply-patch+yaml',
  ]);
  const names = dep.patch.parameters.map((p: any) => p.name);
  for (const n of ['body', 'dryRun', 'fieldManager', 'fieldValidation', 'force']) assert.ok(names.includes(n), n);
  assert.equal(doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'].patch['x-kubernetes-group-version-kind'].kind, 'Scale');
  assert.equal(doc.paths['/api/v1/namespaces/{namespace}/pods/{name}/exec'].post['x-kubernetes-action'], 'connect');
  assert.equal(doc.paths['/api/v1/namespaces/{namespace}/pods/{name}/eviction'].post['x-kubernetes-group-version-kind'].group, 'policy');
  assert.equal(doc.paths['/apis/apps/v1/watch/namespaces/{namespace}/deployments'].get['x-kubernetes-action'], 'watchlist');
  assert.equal(doc.paths['/apis/apps/v1/deployments'].get.operationId, 'listAppsV1DeploymentForAllNamespaces');
  assert.equal(doc.paths['/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'].post.operationId, 'createAuthorizationV1SelfSubjectAccessReview');
  assert.equal(doc.paths['/api/v1/namespaces/{name}'].delete.operationId, 'deleteCoreV1Namespace');
  assert.equal(doc.paths['/api/v1/namespaces'].delete, undefined); // namespaces have no deletecollection
  for (const res of RESOURCES) {
    const base = res.group ? `/apis/${res.group}/${res.version}` : `/api/${res.version}`;
    const coll = `${base}${res.namespaced ? '/namespaces/{namespace}' : ''}/${res.plural}`;
    assert.ok(doc.paths[coll], coll);
    if (res.verbs.includes('get')) assert.ok(doc.paths[`${coll}/{name}`].get, `${coll}/{name}`);
    for (const sub of res.subresources ?? []) assert.ok(doc.paths[`${coll}/{name}/${sub.name}`], `${coll}/{name}/${sub.name}`);
  }
  // Every reference in the document resolves inside it.
  for (const ref of collectRefs(doc)) assert.ok(doc.definitions[ref.slice('#/definitions/'.length)], `dangling ${ref}`);
  // Unserved kinds are left out.
  assert.equal(doc.definitions['io.k8s.api.core.v1.ComponentStatus'], undefined);
});

test('v2 protobuf round-trips through the gnostic message definitions', () => {
  const json = JSON.parse(openapiV2('application/json').body.toString('utf8'));
  const pb = openapiV2('application/com.github.proto-openapi.spec.v2@v1.0+protobuf');
  assert.equal(pb.contentType, 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
  assert.equal(openapiV2('application/com.github.proto-openapi.spec.v2.v1.0+protobuf').body, pb.body);
  const doc = decodeDocument(pb.body) as any;
  assert.equal(doc.swagger, '2.0');
  assert.equal(doc.info.title, 'Kubernetes');
  assert.equal(doc.paths.path.length, Object.keys(json.paths).length);
  assert.equal(doc.definitions.additionalProperties.length, Object.keys(json.definitions).length);
  const deployment = doc.definitions.additionalProperties.find((d: any) => d.name === 'io.k8s.api.apps.v1.Deployment').value;
  assert.deepEqual(deployment.type.value, ['object']);
  const gvk = deployment.vendorExtension.find((e: any) => e.name === 'x-kubernetes-group-version-kind');
  assert.deepEqual(parseYaml(gvk.value.yaml), [{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
  const podSpec = doc.definitions.additionalProperties.find((d: any) => d.name === 'io.k8s.api.core.v1.PodSpec').value;
  const containers = podSpec.properties.additionalProperties.find((p: any) => p.name === 'containers').value;
  assert.equal(containers.items.schema[0]._ref, '#/definitions/io.k8s.api.core.v1.Container');
  const ext = Object.fromEntries(containers.vendorExtension.map((e: any) => [e.name, parseYaml(e.value.yaml)]));
  assert.equal(ext['x-kubernetes-patch-merge-key'], 'name');
  assert.deepEqual(ext['x-kubernetes-list-map-keys'], ['name']);
  const item = doc.paths.path.find((p: any) => p.name === '/apis/apps/v1/namespaces/{namespace}/deployments/{name}').value;
  const patchGvk = item.patch.vendorExtension.find((e: any) => e.name === 'x-kubernetes-group-version-kind');
  assert.deepEqual(parseYaml(patchGvk.value.yaml), { group: 'apps', kind: 'Deployment', version: 'v1' });
  const queryNames = item.patch.parameters
    .map((p: any) => p.parameter?.nonBodyParameter?.queryParameterSubSchema?.name)
    .filter(Boolean);
  assert.ok(queryNames.includes('fieldValidation'));
  assert.ok(item.patch.parameters.some((p: any) => p.parameter?.bodyParameter?.schema?._ref === '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch'));
  assert.ok(item.parameters.some((p: any) => p.parameter?.nonBodyParameter?.pathParameterSubSchema?.name === 'namespace'));
  assert.equal(item.get.responses.responseCode.find((r: any) => r.name === '200').value.response.schema.schema._ref, '#/definitions/io.k8s.api.apps.v1.Deployment');
  assert.ok(pb.body.length > 100_000);
});

test('v3 index lists every group-version and discovery document', () => {
  const index = openapiV3Index();
  const keys = Object.keys(index.paths);
  for (const k of ['api', 'apis', 'api/v1', 'apis/apps', 'apis/apps/v1', 'apis/autoscaling/v1', 'apis/autoscaling/v2', 'apis/rbac.authorization.k8s.io/v1', 'apis/apiextensions.k8s.io/v1']) {
    assert.ok(keys.includes(k), k);
  }
  for (const res of RESOURCES) assert.ok(keys.includes(res.group ? `apis/${res.group}/${res.version}` : `api/${res.version}`));
  for (const [k, v] of Object.entries(index.paths)) assert.match(v.serverRelativeURL, new RegExp(`^/openapi/v3/${k.replace(/\./g, '\\.')}\\?hash=[0-9A-F]{128}$`));
  // Stable: the same hash twice.
  assert.deepEqual(openapiV3Index(), index);
});

test('v3 group-version document has what explain and kubectl apply need', () => {
  const doc = JSON.parse(openapiV3('apis/apps/v1')!.body.toString('utf8'));
  assert.equal(doc.openapi, '3.0.0');
  const schemas = doc.components.schemas as Record<string, Schema>;
  assert.deepEqual(schemas['io.k8s.api.apps.v1.Deployment']['x-kubernetes-group-version-kind'], [{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
  assert.equal(schemas['io.k8s.api.apps.v1.Deployment'].properties!.spec.$ref, '#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec');
  for (const ref of collectRefs(doc)) {
    assert.ok(ref.startsWith('#/components/schemas/'), ref);
    assert.ok(schemas[ref.slice('#/components/schemas/'.length)], `dangling ${ref}`);
  }
  const item = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'];
  assert.deepEqual(item.patch['x-kubernetes-group-version-kind'], { group: 'apps', kind: 'Deployment', version: 'v1' });
  assert.ok(item.patch.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query'));
  assert.deepEqual(Object.keys(item.patch.requestBody.content), [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/strategic-merge-patch+json',
    'application/apply-patch+yaml',
  ]);
  assert.equal(item.get.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/io.k8s.api.apps.v1.Deployment');
  assert.ok(doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments'].post.parameters.some((p: any) => p.name === 'fieldValidation'));
  assert.ok(doc.paths['/apis/apps/v1/']);
  // Only this group-version's paths.
  assert.ok(Object.keys(doc.paths).every((p) => p.startsWith('/apis/apps/v1/')));
  // Core and discovery documents.
  const core = JSON.parse(openapiV3('/api/v1')!.body.toString('utf8'));
  assert.ok(core.components.schemas['io.k8s.api.core.v1.Pod']);
  assert.ok(core.paths['/api/v1/namespaces/{namespace}/pods/{name}/log'].get);
  const apps = JSON.parse(openapiV3('apis/apps')!.body.toString('utf8'));
  assert.ok(apps.paths['/apis/apps/'].get);
  assert.equal(openapiV3('apis/nope/v1'), undefined);
});

test('generation is deterministic', async () => {
  const { buildDefinitions } = await import('../../scripts/gen-openapi.js');
  const a = JSON.stringify(buildDefinitions(repoRoot));
  const b = JSON.stringify(buildDefinitions(repoRoot));
  assert.equal(a, b);
});

test("a $ref resolves to the definition of the served resources as they are now, after a custom resource's schema changes", () => {
  const widget = (field: string): ResourceInfo => ({
    group: 'resolve-test.example',
    version: 'v1',
    kind: 'Widget',
    plural: 'widgets',
    singular: 'widget',
    namespaced: true,
    verbs: CRUD_VERBS,
    custom: { crdName: 'widgets.resolve-test.example', terminating: false, version: { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { [field]: { type: 'string' } } } } } },
  });
  const ref = { $ref: '#/definitions/example.resolve-test.v1.Widget' };
  try {
    setResources('widgets.resolve-test.example', [widget('first')]);
    assert.ok(resolveSchema(ref).properties?.first);
    setResources('widgets.resolve-test.example', [widget('second')]);
    const now = resolveSchema(ref);
    assert.ok(now.properties?.second && !now.properties.first);
    setResources('widgets.resolve-test.example', []);
    assert.deepEqual(resolveSchema(ref), {});
  } finally {
    setResources('widgets.resolve-test.example', []);
  }
});
