// A create's managedFields come from one walk of the new object (created-fields.ts); they
// must be, byte for byte, what the general Update path (compare against the empty object,
// set algebra, FieldSet.toFieldsV1) makes of the same create.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definitions } from '../../apiserver/openapi/index.js';
import { navigatorFor, updateManagedFields, zeroObject, defaultResetFields, managerKey, type TypeNode } from '../../apiserver/patch/index.js';
import { emptyManaged, recordUpdate, setManagedFields, fieldSetOf } from '../../apiserver/patch/managedfields.js';
import type { KubeObject } from '../../machinery/object.js';
import { definitions as miniDefinitions, DEPLOYMENT } from './patch-fixtures.js';

const NOW = new Date('2025-03-04T05:06:07.890Z');

function typeFor(definition: string | undefined): TypeNode | undefined {
  return definition ? navigatorFor(definitions(), definition).type : undefined;
}

/** The general path's managedFields for a create, as updateManagedFields made them before its create path. */
function generalPath(obj: KubeObject, type: TypeNode | undefined, manager: string, apiVersion: string, resetFields?: string[][]): unknown {
  const managed = emptyManaged();
  const ignore = resetFields ? fieldSetOf(resetFields) : defaultResetFields(type, undefined);
  const key = managerKey({ manager: manager || 'unknown', operation: 'Update', apiVersion });
  recordUpdate(zeroObject(type), obj, managed, key, apiVersion, ignore, type, '2025-03-04T05:06:07Z');
  setManagedFields(obj, managed);
  return obj.metadata?.managedFields;
}

function assertSame(name: string, obj: KubeObject, definition: string | undefined, opts: { manager?: string; apiVersion?: string; resetFields?: string[][] } = {}): void {
  const type = typeFor(definition);
  const manager = opts.manager ?? 'kubectl-create';
  const apiVersion = opts.apiVersion ?? String(obj.apiVersion ?? 'v1');
  const expected = JSON.stringify(generalPath(structuredClone(obj), type, manager, apiVersion, opts.resetFields));
  const created = updateManagedFields(undefined, structuredClone(obj), { manager, apiVersion, now: NOW, nav: type, resetFields: opts.resetFields });
  assert.equal(JSON.stringify(created.metadata?.managedFields), expected, name);
}

const container = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  image: `registry.example/${name}:1.0`,
  ports: [
    { containerPort: 8080, protocol: 'TCP', name: 'http' },
    { containerPort: 8080, protocol: 'UDP' },
    { containerPort: 9090 },
  ],
  env: [
    { name: 'A', value: '1' },
    { name: 'B', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  ],
  args: ['--v=2', '--v=2', '--zeta'],
  resources: { limits: { cpu: '1', memory: '1Gi' }, requests: {} },
  securityContext: { capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } },
  ...extra,
});

const podSpec = {
  containers: [container('web'), container('sidecar', { command: ['sh', '-c', 'sleep 1'] })],
  initContainers: [container('init')],
  volumes: [
    { name: 'data', emptyDir: {} },
    { name: 'cfg', configMap: { name: 'cfg', items: [{ key: 'a', path: 'a' }] } },
  ],
  tolerations: [{ key: 'k', operator: 'Exists' }, { key: 'k', operator: 'Exists' }],
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['x'] }] }] } } },
  hostAliases: [{ ip: '10.0.0.1', hostnames: ['a'] }],
  imagePullSecrets: [{ name: 'pull' }],
  terminationGracePeriodSeconds: 30,
  dnsConfig: { options: [{ name: 'ndots', value: '2' }] },
};

const objects: [string, KubeObject, string | undefined, { manager?: string; apiVersion?: string; resetFields?: string[][] }?][] = [
  ['configmap', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns', labels: { bench: 'yes' }, annotations: { x: '' } }, data: { payload: 'x'.repeat(50), 'b.c': '' }, binaryData: {} }, 'io.k8s.api.core.v1.ConfigMap'],
  ['configmap, stored fields only', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns', uid: 'u', creationTimestamp: '2025-01-01T00:00:00Z', resourceVersion: '5', generation: 1 } }, 'io.k8s.api.core.v1.ConfigMap'],
  ['configmap, empty metadata maps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', labels: {}, finalizers: [] }, data: {}, immutable: false }, 'io.k8s.api.core.v1.ConfigMap'],
  ['configmap, nulls', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', labels: null, annotations: { a: null } }, data: null } as unknown as KubeObject, 'io.k8s.api.core.v1.ConfigMap'],
  ['configmap, more keys than the insertion sort takes', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', labels: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${(i * 7919) % 40}`, `${i}`])) }, data: { z: '', Z: '', a: '', 'ä': '', '1': '', '-': '' } }, 'io.k8s.api.core.v1.ConfigMap'],
  ['configmap, reset fields below what the empty object lacks', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', labels: { a: '1', b: '2' } }, data: { a: '', b: '' }, binaryData: { c: '' } }, 'io.k8s.api.core.v1.ConfigMap', { resetFields: [['data', 'b'], ['binaryData'], ['metadata', 'labels', 'a']] }],
  ['secret', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', finalizers: ['a/b', 'a/b', 'c'], ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: 'u1' }, { apiVersion: 'v1', kind: 'X', name: 'o', uid: 'u2' }] }, type: 'Opaque', data: { k: 'dg==' }, stringData: { z: 'y' } }, 'io.k8s.api.core.v1.Secret'],
  ['pod with status', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', generateName: 'p-', labels: { app: 'web' } }, spec: podSpec, status: { phase: 'Pending', conditions: [{ type: 'Ready', status: 'False' }] } }, 'io.k8s.api.core.v1.Pod'],
  ['pod, keyless items and bad keys', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ image: 'no-name' }, { name: 'x', ports: [{ protocol: 'TCP' }, 'bad', null] }, 7], volumes: [] } }, 'io.k8s.api.core.v1.Pod'],
  ['pod, status reset as asked', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: 'b' } }, spec: { containers: [{ name: 'c' }] }, status: { phase: 'Running' } }, 'io.k8s.api.core.v1.Pod', { resetFields: [['spec'], ['metadata', 'labels']] }],
  ['deployment', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', labels: { app: 'web' } }, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, strategy: {}, template: { metadata: { labels: { app: 'web' } }, spec: podSpec } } }, 'io.k8s.api.apps.v1.Deployment'],
  ['deployment, zero-valued template', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: null, template: { metadata: {}, spec: { containers: null } }, strategy: { type: 'Recreate' } } }, 'io.k8s.api.apps.v1.Deployment'],
  ['deployment, shapes that differ from the empty object', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', creationTimestamp: null }, spec: { template: 'scalar', strategy: [], selector: { matchLabels: {} } } } as unknown as KubeObject, 'io.k8s.api.apps.v1.Deployment'],
  ['statefulset', { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's' }, spec: { serviceName: 's', selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [container('db')] } }, volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }], updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } } }, 'io.k8s.api.apps.v1.StatefulSet'],
  ['service', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' }, spec: { type: 'ClusterIP', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP', name: 'http' }, { port: 80, protocol: 'UDP' }, { port: 443, targetPort: 'https' }], clusterIPs: ['10.0.0.1'], ipFamilies: ['IPv4'] }, status: { loadBalancer: {} } }, 'io.k8s.api.core.v1.Service'],
  ['role', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] }, 'io.k8s.api.rbac.v1.Role'],
  ['role, empty rules', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r' }, rules: [] }, 'io.k8s.api.rbac.v1.Role'],
  ['clusterrolebinding', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'b' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'r' }, subjects: [{ kind: 'User', name: 'u' }, { kind: 'ServiceAccount', name: 'sa', namespace: 'ns' }] }, 'io.k8s.api.rbac.v1.ClusterRoleBinding'],
  ['networkpolicy', { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'n' }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 80 }] }] } }, 'io.k8s.api.networking.v1.NetworkPolicy'],
  ['ingress', { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i' }, spec: { rules: [{ host: 'a.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 's', port: { number: 80 } } } }] } }], tls: [{ hosts: ['a.example'], secretName: 't' }] } }, 'io.k8s.api.networking.v1.Ingress'],
  ['endpointslice', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'e' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }, 'io.k8s.api.discovery.v1.EndpointSlice'],
  ['job', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { backoffLimit: 2, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } }, 'io.k8s.api.batch.v1.Job'],
  ['node', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { a: 'b' } }, spec: { podCIDR: '10.0.0.0/24', podCIDRs: ['10.0.0.0/24'], taints: [{ key: 'k', effect: 'NoSchedule' }, { key: 'k', effect: 'NoExecute', value: 'v' }] } }, 'io.k8s.api.core.v1.Node'],
  ['custom resource (untyped)', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', labels: { a: 'b' } }, spec: { list: [1, 'two', { three: 3 }, [4]], nested: { deep: { deeper: true } }, empty: {}, none: null }, status: { ok: true } }, undefined],
  ['no manager', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { a: 'b' } }, 'io.k8s.api.core.v1.ConfigMap', { manager: '' }],
  ['manager to escape', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { '<&>': 'b' } }, 'io.k8s.api.core.v1.ConfigMap', { manager: 'a "quoted" <manager> & ü', apiVersion: '' }],
];

for (const [name, obj, definition, opts] of objects) {
  test(`a create's managedFields equal the general path's: ${name}`, () => assertSame(name, obj, definition, opts));
}

test('a create with only stripped fields has no managedFields, as the general path', () => {
  const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns', managedFields: [] } } as KubeObject;
  const created = updateManagedFields(undefined, structuredClone(obj), { manager: 'm', apiVersion: 'v1', now: NOW, nav: typeFor('io.k8s.api.core.v1.ConfigMap') });
  assert.equal(created.metadata?.managedFields, undefined);
  assert.ok(!('managedFields' in (created.metadata ?? {})));
  assert.equal(generalPath(structuredClone(obj), typeFor('io.k8s.api.core.v1.ConfigMap'), 'm', 'v1'), undefined);
});

test("a create's FieldsV1 keep structured-merge-diff's order: fields, then keys, then values, '.' first", () => {
  const obj = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', labels: { b: '1', a: '2', B: '3' }, finalizers: ['z', 'a'] },
    spec: { containers: [{ name: 'z', image: 'i' }, { name: 'a', ports: [{ containerPort: 2 }, { containerPort: 10 }] }] },
  } as KubeObject;
  const created = updateManagedFields(undefined, obj, { manager: 'm', apiVersion: 'v1', now: NOW, nav: typeFor('io.k8s.api.core.v1.Pod') });
  const [entry] = created.metadata!.managedFields as { fieldsV1: Record<string, unknown>; time: string; operation: string }[];
  assert.equal(entry.time, '2025-03-04T05:06:07Z');
  assert.equal(entry.operation, 'Update');
  assert.equal(
    JSON.stringify(entry.fieldsV1),
    JSON.stringify({
      'f:metadata': { 'f:finalizers': { '.': {}, 'v:"a"': {}, 'v:"z"': {} }, 'f:labels': { '.': {}, 'f:B': {}, 'f:a': {}, 'f:b': {} } },
      'f:spec': {
        'f:containers': {
          'k:{"name":"a"}': {
            '.': {},
            'f:name': {},
            'f:ports': { '.': {}, 'k:{"containerPort":2,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} }, 'k:{"containerPort":10,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
          },
          'k:{"name":"z"}': { '.': {}, 'f:image': {}, 'f:name': {} },
        },
      },
    }),
  );
});

test("a create's managedFields equal the general path's on the patch tests' own schema", () => {
  const type = navigatorFor(miniDefinitions, DEPLOYMENT).type;
  const obj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 1, template: { spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }] } } } } as KubeObject;
  const expected = JSON.stringify(generalPath(structuredClone(obj), type, 'm', 'apps/v1'));
  const created = updateManagedFields(undefined, structuredClone(obj), { manager: 'm', apiVersion: 'apps/v1', now: NOW, nav: type });
  assert.equal(JSON.stringify(created.metadata?.managedFields), expected);
});

/** A second write by another manager, on the created object itself (its FieldsV1 read in place) and on a copy (decoded). */
function assertLaterWriteSame(name: string, obj: KubeObject, definition: string | undefined, opts: { resetFields?: string[][] } = {}): void {
  const type = typeFor(definition);
  const apiVersion = String(obj.apiVersion ?? 'v1');
  // Whether the write removes nothing: then an entry it leaves alone keeps its FieldsV1 object.
  const writes: [string, (o: KubeObject) => void, string | undefined, boolean][] = [
    ['labels replaced', (o) => void ((o.metadata ??= {}).labels = { other: 'x' }), undefined, false],
    [
      'owned fields changed',
      (o) => {
        const meta = (o.metadata ??= {});
        meta.labels = Object.fromEntries(Object.keys(meta.labels ?? { a: '' }).map((k) => [k, 'changed']));
        const spec = (o as { spec?: unknown }).spec;
        if (spec && typeof spec === 'object') (spec as Record<string, unknown>).replicas = 7;
      },
      undefined,
      false,
    ],
    ['status replaced', (o) => void ((o as { status?: unknown }).status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }), 'status', false],
    [
      'status condition added',
      (o) => {
        const status = ((o as { status?: { conditions?: unknown[] } }).status ??= {});
        status.conditions = [...(status.conditions ?? []), { type: 'PodScheduled', status: 'False' }];
      },
      'status',
      true,
    ],
    ['nothing changed', () => undefined, undefined, true],
  ];
  for (const [what, change, subresource, removesNothing] of writes) {
    const later = (live: KubeObject): KubeObject => {
      const next = structuredClone(live);
      change(next);
      return updateManagedFields(live, next, { manager: 'later', apiVersion, subresource, now: NOW, nav: type });
    };
    const created = updateManagedFields(undefined, structuredClone(obj), { manager: 'creator', apiVersion, now: NOW, nav: type, resetFields: opts.resetFields });
    const inPlace = later(created);
    const decoded = later(structuredClone(created));
    assert.equal(JSON.stringify(inPlace.metadata?.managedFields), JSON.stringify(decoded.metadata?.managedFields), `${name}: ${what}`);
    const creatorsBefore = created.metadata?.managedFields?.find((e) => e.manager === 'creator')?.fieldsV1;
    const creatorsAfter = inPlace.metadata?.managedFields?.find((e) => e.manager === 'creator')?.fieldsV1;
    if (removesNothing && creatorsAfter && JSON.stringify(creatorsAfter) === JSON.stringify(creatorsBefore)) assert.equal(creatorsAfter, creatorsBefore, `${name}: ${what}: an unchanged created entry is kept as it is`);
  }
}

for (const [name, obj, definition, opts] of objects) {
  test(`a later write by another manager reads a created FieldsV1 in place as decoded: ${name}`, () => assertLaterWriteSame(name, obj, definition, opts));
}
