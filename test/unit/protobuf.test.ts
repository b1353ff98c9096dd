// Unit tests of the Kubernetes protobuf codec: envelope, errors, special types,
// JSON presence rules, and round trips of kinds kubectl does not send.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKubernetesProtobuf, encodeKubernetesProtobuf, PROTOBUF_KINDS, isKubernetesProtobuf } from '../../apiserver/protobuf/index.js';
import { MESSAGES, parseSchema, linkSchema } from '../../apiserver/protobuf/schema.js';
import { decodeMessage, encodeMessage } from '../../apiserver/protobuf/codec.js';
import { Writer } from '../../apiserver/protobuf/wire.js';
import { StatusError } from '../../machinery/status.js';

function envelope(apiVersion: string, kind: string, raw: Uint8Array): Buffer {
  const tm = new Writer();
  tm.stringField(1, apiVersion);
  tm.stringField(2, kind);
  const u = new Writer();
  u.raw(Uint8Array.of(0x6b, 0x38, 0x73, 0));
  u.bytesField(1, tm.finish());
  u.bytesField(2, raw);
  return Buffer.from(u.finish());
}

function statusOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StatusError, `expected a StatusError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

/** Encode then decode; the result must be stable under another trip. */
function trip(apiVersion: string, kind: string, obj: Record<string, unknown>): Record<string, unknown> {
  const bytes = encodeKubernetesProtobuf(apiVersion, kind, obj);
  assert.ok(isKubernetesProtobuf(bytes));
  const d = decodeKubernetesProtobuf(bytes);
  assert.equal(d.kind, kind);
  assert.equal(d.apiVersion, apiVersion);
  const again = encodeKubernetesProtobuf(apiVersion, kind, d.object);
  assert.equal(again.toString('hex'), bytes.toString('hex'));
  return d.object;
}

test('PROTOBUF_KINDS lists the kinds kubectl 1.32/1.33 send', () => {
  for (const k of [
    'apps/v1/Deployment', 'batch/v1/Job', 'batch/v1/CronJob', 'v1/ConfigMap', 'v1/Secret', 'v1/Namespace', 'v1/Service', 'v1/ServiceAccount',
    'v1/ResourceQuota', 'v1/Pod', 'networking.k8s.io/v1/Ingress', 'policy/v1/PodDisruptionBudget', 'policy/v1/Eviction',
    'scheduling.k8s.io/v1/PriorityClass', 'rbac.authorization.k8s.io/v1/Role', 'rbac.authorization.k8s.io/v1/ClusterRole',
    'rbac.authorization.k8s.io/v1/RoleBinding', 'rbac.authorization.k8s.io/v1/ClusterRoleBinding', 'rbac.authorization.k8s.io/v1/DeleteOptions',
    'authorization.k8s.io/v1/SelfSubjectAccessReview', 'authorization.k8s.io/v1/SelfSubjectRulesReview', 'authentication.k8s.io/v1/TokenRequest',
    'authentication.k8s.io/v1/SelfSubjectReview', 'certificates.k8s.io/v1/CertificateSigningRequest', 'autoscaling/v1/HorizontalPodAutoscaler',
    'autoscaling/v2/HorizontalPodAutoscaler', 'meta.k8s.io/v1/DeleteOptions', 'v1/DeleteOptions', 'apps/v1/DeploymentList', 'v1/Status',
  ]) {
    assert.ok(PROTOBUF_KINDS.has(k), k);
  }
});

test('field numbers match upstream for a sample of messages', () => {
  const facts: Array<[string, string, number]> = [
    ['meta.ObjectMeta', 'creationTimestamp', 8], ['meta.ObjectMeta', 'managedFields', 17], ['meta.ObjectMeta', 'finalizers', 14],
    ['meta.OwnerReference', 'apiVersion', 5], ['meta.OwnerReference', 'blockOwnerDeletion', 7], ['meta.ManagedFieldsEntry', 'fieldsV1', 7],
    ['meta.ManagedFieldsEntry', 'subresource', 8], ['meta.DeleteOptions', 'dryRun', 5], ['meta.DeleteOptions', 'preconditions', 2],
    ['core.PodSpec', 'containers', 2], ['core.PodSpec', 'initContainers', 20], ['core.PodSpec', 'ephemeralContainers', 34],
    ['core.PodSpec', 'topologySpreadConstraints', 33], ['core.PodSpec', 'hostUsers', 37], ['core.PodSpec', 'schedulingGates', 38],
    ['core.Container', 'envFrom', 19], ['core.Container', 'resizePolicy', 23], ['core.Container', 'restartPolicy', 24],
    ['core.Container', 'startupProbe', 22], ['core.Container', 'volumeDevices', 21], ['core.ServiceSpec', 'clusterIPs', 18],
    ['core.ServiceSpec', 'ipFamilyPolicy', 17], ['core.ServiceSpec', 'trafficDistribution', 23], ['core.Secret', 'immutable', 5],
    ['core.Secret', 'stringData', 4], ['apps.DeploymentSpec', 'progressDeadlineSeconds', 9], ['batch.JobSpec', 'successPolicy', 16],
    ['batch.JobSpec', 'managedBy', 15], ['authentication.TokenRequestSpec', 'expirationSeconds', 4],
    ['authentication.TokenRequestSpec', 'boundObjectRef', 3], ['authorization.ResourceAttributes', 'labelSelector', 9],
  ];
  for (const [msg, json, num] of facts) {
    const m = MESSAGES.get(msg);
    assert.ok(m, msg);
    assert.equal(m.fields.find((f) => f.json === json)?.num, num, `${msg}.${json}`);
  }
  // Inline (embedded) structs.
  assert.deepEqual(MESSAGES.get('core.Volume')!.fields.map((f) => [f.num, f.json, f.inline]), [[1, 'name', false], [2, '', true]]);
  assert.equal(MESSAGES.get('core.Probe')!.lookup.get(1)!.type, 'core.ProbeHandler');
});

test('every message in the schema links and has unique field numbers', () => {
  assert.ok(MESSAGES.size > 250);
  for (const m of MESSAGES.values()) {
    for (const f of m.fields) if (f.kind === 'message') assert.ok(f.msg, `${m.name}.${f.json}`);
    assert.equal(new Set(m.fields.map((f) => f.num)).size, m.fields.length, m.name);
  }
});

test('body without the k8s magic is a 400', () => {
  const e = statusOf(() => decodeKubernetesProtobuf(Buffer.from('{"kind":"Pod"}')));
  assert.equal(e.code, 400);
  assert.equal(e.reason, 'BadRequest');
  assert.equal(statusOf(() => decodeKubernetesProtobuf(Buffer.alloc(0))).code, 400);
  assert.equal(statusOf(() => decodeKubernetesProtobuf(Buffer.from([0x6b, 0x38, 0x73, 0]))).code, 400);
});

test('truncated and garbage bodies are a 400', () => {
  const good = encodeKubernetesProtobuf('v1', 'ConfigMap', { metadata: { name: 'x' }, data: { a: 'b' } });
  // Cutting anywhere inside the raw field (not at a field boundary) must fail.
  const rawKeyAt = 4 + 2 + good[5];
  assert.equal(good[rawKeyAt], 0x12);
  assert.ok(good[rawKeyAt + 1] < 0x80);
  const rawEnd = rawKeyAt + 2 + good[rawKeyAt + 1];
  for (let n = rawKeyAt + 1; n < rawEnd; n++) {
    const e = statusOf(() => decodeKubernetesProtobuf(good.subarray(0, n)));
    assert.equal(e.code, 400, `cut at ${n}`);
  }
  const garbage = Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0]), Buffer.from([0x0a, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
  assert.equal(statusOf(() => decodeKubernetesProtobuf(garbage)).code, 400);
  // A string field sent as a varint.
  const w = new Writer();
  w.varintField(1, 7); // ObjectMeta in field 1 must be length-delimited
  assert.equal(statusOf(() => decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', w.finish()))).code, 400);
});

test('an unknown kind is a 415 naming the kind', () => {
  const e = statusOf(() => decodeKubernetesProtobuf(envelope('example.com/v1', 'Widget', new Uint8Array(0))));
  assert.equal(e.code, 415);
  assert.equal(e.reason, 'UnsupportedMediaType');
  assert.match(e.message, /Widget/);
  assert.match(e.message, /example\.com\/v1/);
  assert.equal(statusOf(() => encodeKubernetesProtobuf('example.com/v1', 'Widget', {})).code, 415);
});

test('missing kind or apiVersion is a 400', () => {
  assert.equal(statusOf(() => decodeKubernetesProtobuf(envelope('v1', '', new Uint8Array(0)))).code, 400);
  assert.equal(statusOf(() => decodeKubernetesProtobuf(envelope('', 'Pod', new Uint8Array(0)))).code, 400);
});

test('DeleteOptions is accepted under any group version', () => {
  const w = new Writer();
  w.varintField(1, 0); // gracePeriodSeconds: 0 (a pointer, so present)
  w.stringField(4, 'Foreground');
  w.stringField(5, 'All');
  const d = decodeKubernetesProtobuf(envelope('storage.k8s.io/v1', 'DeleteOptions', w.finish()));
  assert.deepEqual(d.object, { kind: 'DeleteOptions', apiVersion: 'storage.k8s.io/v1', gracePeriodSeconds: 0, propagationPolicy: 'Foreground', dryRun: ['All'] });
});

test('Secret data bytes are base64; maps are sorted; absent omitempty fields are absent', () => {
  const obj = {
    kind: 'Secret', apiVersion: 'v1',
    metadata: { name: 's', namespace: 'ns', creationTimestamp: null, labels: { z: '1', a: '2' } },
    data: { 'b.bin': Buffer.from([0, 1, 2, 255]).toString('base64'), a: Buffer.from('hello').toString('base64') },
    type: 'Opaque',
  };
  const got = trip('v1', 'Secret', obj);
  assert.deepEqual(got, obj);
  assert.deepEqual(Object.keys(got.data as object), ['a', 'b.bin']);
  assert.ok(!('immutable' in got));
  assert.ok(!('stringData' in got));
});

test('Time, IntOrString, Quantity and negative integers', () => {
  const pod = {
    kind: 'Pod', apiVersion: 'v1',
    metadata: { name: 'p', creationTimestamp: '2024-02-29T12:34:56Z', deletionTimestamp: '2024-03-01T00:00:00Z', deletionGracePeriodSeconds: 30 },
    spec: {
      containers: [{
        name: 'c', image: 'i',
        ports: [{ containerPort: 8080 }],
        resources: { limits: { cpu: '500m', memory: '1Gi' }, requests: { cpu: '0' } },
        livenessProbe: { httpGet: { path: '/', port: 'http' } },
        readinessProbe: { tcpSocket: { port: 8080 } },
        securityContext: { runAsUser: -1, runAsGroup: 0 },
      }],
      priority: -5,
      terminationGracePeriodSeconds: 0,
    },
    status: { startTime: '2024-02-29T12:35:00Z', phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2024-02-29T12:35:01Z' }] },
  };
  const got = trip('v1', 'Pod', pod) as typeof pod & Record<string, unknown>;
  assert.equal(got.metadata.creationTimestamp, '2024-02-29T12:34:56Z');
  assert.equal(got.metadata.deletionTimestamp, '2024-03-01T00:00:00Z');
  const c = got.spec.containers[0];
  assert.equal(c.livenessProbe.httpGet.port, 'http');
  assert.equal(c.readinessProbe.tcpSocket.port, 8080);
  assert.deepEqual(c.resources, { limits: { cpu: '500m', memory: '1Gi' }, requests: { cpu: '0' } });
  assert.equal(c.securityContext.runAsUser, -1);
  assert.equal(c.securityContext.runAsGroup, 0);
  assert.equal(got.spec.priority, -5);
  assert.equal(got.spec.terminationGracePeriodSeconds, 0);
  assert.equal(got.status.conditions[0].lastProbeTime, null);
  assert.equal(got.status.startTime, '2024-02-29T12:35:00Z');
});

test('special types through a small private schema (MicroTime, RawExtension, FieldsV1, StringList, packed ints)', () => {
  const schema = parseSchema(`@t
Msg
  1 micro MicroTime?
  2 time Time
  3 raw RawExtension
  4 fields FieldsV1?
  5 extra {}StringList
  6 nums []int32
  7 flag bool?!
  8 big int64
  9 ratio double
`);
  linkSchema(schema);
  const def = schema.get('t.Msg')!;
  const obj = {
    micro: '2024-01-02T03:04:05.123456Z',
    time: null,
    raw: { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'x' } },
    fields: { 'f:metadata': { 'f:labels': {} } },
    extra: { a: ['1', '2'], b: [] },
    nums: [1, -2, 2147483647],
    flag: null,
    big: 9007199254740991,
    ratio: 0.25,
  };
  const bytes = encodeMessage(def, obj);
  assert.deepEqual(decodeMessage(def, bytes, ''), obj);
  // MicroTime keeps microseconds only.
  assert.equal(decodeMessage(def, encodeMessage(def, { micro: '2024-01-02T03:04:05.123456789Z' }), '').micro, '2024-01-02T03:04:05.123456Z');
  // Time drops fractions and converts offsets to UTC.
  assert.equal(decodeMessage(def, encodeMessage(def, { time: '2024-01-02T05:04:05.9+02:00' }), '').time, '2024-01-02T03:04:05Z');
  // Packed repeated varints are accepted too.
  const w = new Writer();
  const packed = new Writer();
  packed.svarint(3);
  packed.svarint(-4);
  w.bytesField(6, packed.finish());
  assert.deepEqual(decodeMessage(def, w.finish(), '').nums, [3, -4]);
});

test('pointer fields: present when set (even to zero), null when required-but-unset', () => {
  const tr = trip('authentication.k8s.io/v1', 'TokenRequest', { metadata: {}, spec: { audiences: null } });
  assert.deepEqual(tr, {
    kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: { audiences: null, expirationSeconds: null, boundObjectRef: null },
    status: { token: '', expirationTimestamp: null },
  });
  const dep = trip('apps/v1', 'Deployment', { metadata: { name: 'd' }, spec: { replicas: 0, selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [] } } } });
  assert.equal((dep.spec as Record<string, unknown>).replicas, 0);
  assert.ok(!('paused' in (dep.spec as object)));
  assert.deepEqual((dep.spec as Record<string, unknown>).strategy, {});
  assert.deepEqual(dep.status, {});
  assert.equal(((dep.spec as Record<string, Record<string, Record<string, unknown>>>).template.spec).containers, null);
});

test('round trips of kinds kubectl does not send as protobuf', () => {
  const sts = trip('apps/v1', 'StatefulSet', {
    metadata: { name: 'db', ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u', controller: true }] },
    spec: {
      replicas: 3, serviceName: 'db', selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'pg' }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1, maxUnavailable: '50%' } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
      ordinals: { start: 5 },
    },
  });
  assert.deepEqual((sts.spec as Record<string, Record<string, unknown>>).updateStrategy.rollingUpdate, { partition: 1, maxUnavailable: '50%' });
  trip('apps/v1', 'DaemonSet', { metadata: { name: 'ds' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'c', image: 'i' }] } }, updateStrategy: { rollingUpdate: { maxSurge: 1 } } } });
  trip('apps/v1', 'ReplicaSet', { metadata: { name: 'rs' }, spec: { replicas: 1, selector: {}, template: {} }, status: { replicas: 1, conditions: [{ type: 'ReplicaFailure', status: 'False', lastTransitionTime: '2025-01-01T00:00:00Z' }] } });
  const svc = trip('v1', 'Service', {
    metadata: { name: 's' },
    spec: { ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'web', nodePort: 30001, appProtocol: 'http' }], type: 'LoadBalancer', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' },
    status: { loadBalancer: { ingress: [{ ip: '1.2.3.4', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP', error: 'x' }] }] }, conditions: [{ type: 'T', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'R', message: 'M', observedGeneration: 2 }] },
  });
  assert.equal(((svc.spec as Record<string, unknown[]>).ports[0] as Record<string, unknown>).targetPort, 'web');
  const ev = trip('policy/v1', 'Eviction', { metadata: { name: 'p', namespace: 'ns' }, deleteOptions: { gracePeriodSeconds: 10, preconditions: { uid: 'u1', resourceVersion: '5' }, dryRun: ['All'] } });
  assert.deepEqual(ev.deleteOptions, { gracePeriodSeconds: 10, preconditions: { uid: 'u1', resourceVersion: '5' }, dryRun: ['All'] });
  const sar = trip('authorization.k8s.io/v1', 'SubjectAccessReview', { spec: { resourceAttributes: { verb: 'get', resource: 'pods', fieldSelector: { rawSelector: 'a=b' }, labelSelector: { requirements: [{ key: 'k', operator: 'Exists' }] } }, user: 'u', groups: ['g'], extra: { e: ['1'] }, uid: 'x' }, status: { allowed: true, reason: 'ok' } });
  assert.deepEqual((sar.spec as Record<string, unknown>).extra, { e: ['1'] });
  trip('authorization.k8s.io/v1', 'LocalSubjectAccessReview', { metadata: { namespace: 'ns' }, spec: { nonResourceAttributes: { path: '/x', verb: 'get' } } });
  trip('authentication.k8s.io/v1', 'TokenReview', { spec: { token: 't', audiences: ['a'] }, status: { authenticated: true, user: { username: 'u', uid: '1', groups: ['g'], extra: { k: ['v'] } }, audiences: ['a'] } });
  trip('autoscaling/v1', 'Scale', { metadata: { name: 'd' }, spec: { replicas: 3 }, status: { replicas: 2, selector: 'app=d' } });
  trip('autoscaling/v2', 'HorizontalPodAutoscaler', {
    metadata: { name: 'h' },
    spec: {
      scaleTargetRef: { kind: 'Deployment', name: 'd', apiVersion: 'apps/v1' }, minReplicas: 1, maxReplicas: 5,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }, { type: 'External', external: { metric: { name: 'q', selector: { matchLabels: { a: 'b' } } }, target: { type: 'AverageValue', averageValue: '30' } } }],
      behavior: { scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 60 }], tolerance: '0.05' } },
    },
    status: { currentReplicas: 1, desiredReplicas: 2, lastScaleTime: '2025-01-01T00:00:00Z', conditions: [{ type: 'AbleToScale', status: 'True', lastTransitionTime: null }] },
  });
  trip('networking.k8s.io/v1', 'IngressClass', { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx', parameters: { apiGroup: 'k8s.example.com', kind: 'P', name: 'p', scope: 'Namespace', namespace: 'ns' } } });
  trip('v1', 'Namespace', { metadata: { name: 'n' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active', conditions: [{ type: 'NamespaceDeletionContentFailure', status: 'False', lastTransitionTime: '2025-01-01T00:00:00Z' }] } });
  trip('v1', 'Status', { metadata: {}, status: 'Failure', message: 'm', reason: 'NotFound', details: { name: 'x', kind: 'pods', causes: [{ reason: 'FieldValueInvalid', message: 'bad', field: 'spec' }] }, code: 404 });
  const list = trip('apps/v1', 'DeploymentList', { metadata: { resourceVersion: '12', continue: 'c' }, items: [{ metadata: { name: 'a' }, spec: { selector: {}, template: {} } }] });
  assert.equal(((list.items as unknown[])[0] as Record<string, Record<string, unknown>>).metadata.name, 'a');
  assert.deepEqual(trip('v1', 'ConfigMapList', { metadata: {} }).items, null);
});

test('managedFields survive a trip (FieldsV1 carried as JSON)', () => {
  const cm = trip('v1', 'ConfigMap', {
    metadata: {
      name: 'c',
      managedFields: [{ manager: 'kubectl-create', operation: 'Update', apiVersion: 'v1', time: '2025-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:a': {} } } }],
    },
    data: { a: '1' },
    binaryData: { b: 'AAE=' },
    immutable: false,
  });
  const mf = (cm.metadata as Record<string, unknown[]>).managedFields[0] as Record<string, unknown>;
  assert.deepEqual(mf.fieldsV1, { 'f:data': { '.': {}, 'f:a': {} } });
  assert.equal(cm.immutable, false);
  assert.deepEqual(cm.binaryData, { b: 'AAE=' });
});

test('encode rejects values of the wrong shape with a 400', () => {
  assert.equal(statusOf(() => encodeKubernetesProtobuf('apps/v1', 'Deployment', { spec: { replicas: 'many' } })).code, 400);
  assert.equal(statusOf(() => encodeKubernetesProtobuf('v1', 'ConfigMap', { data: ['x'] })).code, 400);
  assert.equal(statusOf(() => encodeKubernetesProtobuf('v1', 'Pod', { spec: { containers: {} } })).code, 400);
});
