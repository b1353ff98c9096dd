// Create/update preparation: status handling, generation, subresources, field labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextTime, parseCron, podQOSClass, strategyFor, CronError } from '../../apiserver/admission/index.js';

type Any = any;

function created(group: string, version: string, kind: string, o: Any): Any {
  const s = strategyFor(group, version, kind);
  s.prepareForCreate(o);
  s.default(o);
  assert.deepEqual(s.validateCreate(o), []);
  o.metadata.resourceVersion = '1';
  return o;
}

function updated(group: string, version: string, kind: string, old: Any, mutate: (o: Any) => void, sub?: string): Any {
  const s = strategyFor(group, version, kind);
  const n = structuredClone(old);
  mutate(n);
  if (!sub) s.default(n);
  s.prepareForUpdate(n, old, sub);
  assert.deepEqual(s.validateUpdate(n, old, sub), []);
  return n;
}

const deployment = (): Any => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  },
  status: { replicas: 99 },
});

test('create clears status the client sent; generation starts at 1', () => {
  const d = created('apps', 'v1', 'Deployment', deployment());
  assert.deepEqual(d.status, {});
  assert.equal(d.metadata.generation, 1);
  const cm = created('', 'v1', 'ConfigMap', { metadata: { name: 'c', namespace: 'default' }, data: { a: '1' } });
  assert.equal(cm.metadata.generation, undefined, 'ConfigMaps have no generation');
});

test('update keeps status and bumps generation only when the spec changes', () => {
  const d = created('apps', 'v1', 'Deployment', deployment());
  d.status = { replicas: 3, observedGeneration: 1 };
  const labelsOnly = updated('apps', 'v1', 'Deployment', d, (o) => {
    o.metadata.labels = { team: 'a' };
    o.status = { replicas: 0 };
  });
  assert.equal(labelsOnly.metadata.generation, 1);
  assert.deepEqual(labelsOnly.status, { replicas: 3, observedGeneration: 1 });
  const scaled = updated('apps', 'v1', 'Deployment', d, (o) => (o.spec.replicas = 5));
  assert.equal(scaled.metadata.generation, 2);
  // Deployment annotations are copied to ReplicaSets, so they bump generation too
  const annotated = updated('apps', 'v1', 'Deployment', d, (o) => (o.metadata.annotations = { note: 'x' }));
  assert.equal(annotated.metadata.generation, 2);
  // a client can't move generation
  const forged = updated('apps', 'v1', 'Deployment', d, (o) => (o.metadata.generation = 42));
  assert.equal(forged.metadata.generation, 1);
});

test('status subresource writes only status (deployments keep their labels too)', () => {
  const d = created('apps', 'v1', 'Deployment', deployment());
  d.metadata.labels = { app: 'web' };
  const st = updated(
    'apps',
    'v1',
    'Deployment',
    d,
    (o) => {
      o.spec.replicas = 7;
      o.metadata.labels = { hacked: 'yes' };
      o.status = { replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1, observedGeneration: 1 };
    },
    'status',
  );
  assert.equal(st.spec.replicas, 1);
  assert.deepEqual(st.metadata.labels, { app: 'web' });
  assert.equal(st.status.readyReplicas, 1);
  assert.equal(st.metadata.generation, 1);

  const s = strategyFor('apps', 'v1', 'Deployment');
  const bad = structuredClone(d);
  bad.status = { replicas: 1, readyReplicas: 2 };
  s.prepareForUpdate(bad, d, 'status');
  assert.deepEqual(
    s.validateUpdate(bad, d, 'status').map((c) => `${c.field}: ${c.message}`),
    ['status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas'],
  );
});

test('pods: status via /status, QoS kept, spec immutable through /status', () => {
  const p = created('', 'v1', 'Pod', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u', controller: true }] },
    spec: { containers: [{ name: 'c', image: 'nginx', resources: { limits: { cpu: '1', memory: '1Gi' } } }] },
  });
  assert.equal(p.status.qosClass, 'Guaranteed');
  const running = updated(
    '',
    'v1',
    'Pod',
    p,
    (o) => {
      o.spec.nodeName = 'elsewhere';
      o.metadata.ownerReferences = [];
      o.status = { phase: 'Running', podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }] };
    },
    'status',
  );
  assert.equal(running.spec.nodeName, undefined);
  assert.equal(running.metadata.ownerReferences.length, 1);
  assert.equal(running.status.qosClass, 'Guaranteed');
  assert.deepEqual(strategyFor('', 'v1', 'Pod').fieldLabels(running), {
    'spec.nodeName': '',
    'spec.restartPolicy': 'Always',
    'spec.schedulerName': 'default-scheduler',
    'spec.serviceAccountName': 'default',
    'spec.hostNetwork': 'false',
    'status.phase': 'Running',
    'status.podIP': '10.0.0.5',
    'status.nominatedNodeName': '',
  });
  assert.equal(podQOSClass({ spec: { containers: [{ resources: { requests: { cpu: '1' } } }] } }), 'Burstable');
});

test('pods: a /status write keeping the stored spec object leaves it as stored; a sent spec is still decoded (bad quantities rejected) and then replaced', () => {
  const s = strategyFor('', 'v1', 'Pod');
  const stored = created('', 'v1', 'Pod', { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  // A stored spec missing a default (written before the default existed) is not defaulted by a status write.
  delete stored.spec.enableServiceLinks;
  const frozenSpec = structuredClone(stored.spec);
  Object.freeze(stored.spec);
  const kept = { ...stored, metadata: { ...stored.metadata }, status: { ...stored.status, phase: 'Running' } };
  s.prepareForUpdate(kept, stored, 'status');
  assert.equal(kept.spec, stored.spec);
  assert.deepEqual(stored.spec, frozenSpec);
  assert.equal(kept.status.phase, 'Running');
  const sent = { ...stored, spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: 'lots' } } }] }, status: { phase: 'Running' } };
  assert.throws(
    () => s.prepareForUpdate(sent, stored, 'status'),
    (e: unknown) => (e as { code?: number }).code === 400,
  );
  const fine = { ...stored, spec: { containers: [{ name: 'c', image: 'y' }] }, status: { phase: 'Running' } };
  s.prepareForUpdate(fine, stored, 'status');
  assert.equal(fine.spec, stored.spec, 'the stored spec is kept');
});

test('pods: scheduling gates', () => {
  const gated = created('', 'v1', 'Pod', {
    metadata: { name: 'g', namespace: 'default' },
    spec: { schedulingGates: [{ name: 'example.com/wait' }], containers: [{ name: 'c', image: 'x' }] },
  });
  assert.equal(gated.status.conditions[0].reason, 'SchedulingGated');
});

test('namespaces: kubernetes finalizer on create, finalizers only through /finalize', () => {
  const ns = created('', 'v1', 'Namespace', { metadata: { name: 'team' }, spec: { finalizers: ['example.com/x'] } });
  assert.deepEqual(ns.spec.finalizers, ['example.com/x', 'kubernetes']);
  const main = updated('', 'v1', 'Namespace', ns, (o) => (o.spec.finalizers = []));
  assert.deepEqual(main.spec.finalizers, ['example.com/x', 'kubernetes']);
  const fin = updated('', 'v1', 'Namespace', ns, (o) => (o.spec.finalizers = ['example.com/x']), 'finalize');
  assert.deepEqual(fin.spec.finalizers, ['example.com/x']);
  assert.deepEqual(strategyFor('', 'v1', 'Namespace').fieldLabels(ns), { 'status.phase': 'Active', name: 'team' });
  const terminating = structuredClone(ns);
  terminating.metadata.deletionTimestamp = '2024-01-01T00:00:00Z';
  const s = strategyFor('', 'v1', 'Namespace');
  const st = structuredClone(terminating);
  st.status = { phase: 'Active' };
  s.prepareForUpdate(st, terminating, 'status');
  assert.deepEqual(
    s.validateUpdate(st, terminating, 'status').map((c) => `${c.field}: ${c.message}`),
    ["status.Phase: Invalid value: \"Active\": may only be 'Terminating' if `deletionTimestamp` is not empty"],
  );
});

test('daemonsets track template generation in the deprecated annotation', () => {
  const ds = created('apps', 'v1', 'DaemonSet', {
    metadata: { name: 'd', namespace: 'default' },
    spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x:1' }] } } },
  });
  const up = updated('apps', 'v1', 'DaemonSet', ds, (o) => (o.spec.template.spec.containers[0].image = 'x:2'));
  assert.equal(up.metadata.annotations['deprecated.daemonset.template.generation'], '2');
  assert.equal(up.metadata.generation, 2);
  const same = updated('apps', 'v1', 'DaemonSet', ds, (o) => (o.spec.minReadySeconds = 5));
  assert.equal(same.metadata.annotations['deprecated.daemonset.template.generation'], '1');
  assert.equal(same.metadata.generation, 2);
});

test('field labels for selectable kinds', () => {
  assert.deepEqual(strategyFor('', 'v1', 'Secret').fieldLabels({ type: 'kubernetes.io/tls' }), { type: 'kubernetes.io/tls' });
  assert.deepEqual(strategyFor('', 'v1', 'Node').fieldLabels({ spec: { unschedulable: true } }), { 'spec.unschedulable': 'true' });
  assert.deepEqual(strategyFor('batch', 'v1', 'Job').fieldLabels({ status: { succeeded: 2 } }), { 'status.successful': '2' });
  assert.deepEqual(strategyFor('apps', 'v1', 'ReplicaSet').fieldLabels({ status: { replicas: 3 } }), { 'status.replicas': '3' });
  const ev = strategyFor('', 'v1', 'Event').fieldLabels({
    involvedObject: { kind: 'Pod', name: 'p', namespace: 'default', uid: 'u' },
    reason: 'Scheduled',
    type: 'Normal',
    source: { component: 'default-scheduler' },
  });
  assert.equal(ev['involvedObject.kind'], 'Pod');
  assert.equal(ev['involvedObject.name'], 'p');
  assert.equal(ev.reason, 'Scheduled');
  assert.equal(ev.source, 'default-scheduler');
  assert.equal(ev.type, 'Normal');
  assert.deepEqual(strategyFor('', 'v1', 'Service').fieldLabels({ spec: { clusterIP: '10.0.0.1', type: 'ClusterIP' } }), { 'spec.clusterIP': '10.0.0.1', 'spec.type': 'ClusterIP' });
  assert.deepEqual(strategyFor('', 'v1', 'ConfigMap').fieldLabels({}), {});
});

test('custom resources and unknown kinds get generic rules', () => {
  const s = strategyFor('example.com', 'v1', 'Widget');
  const w: Any = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'default' }, spec: { size: 1 } };
  s.prepareForCreate(w);
  assert.deepEqual(s.validateCreate(w), []);
  const w2 = structuredClone(w);
  w2.spec.size = 2;
  s.prepareForUpdate(w2, w);
  assert.equal(w2.metadata.generation, 2);
});

test('cron: parse and next activation', () => {
  const t0 = Date.UTC(2024, 0, 1, 10, 7, 30); // Mon 2024-01-01 10:07:30Z
  assert.equal(new Date(nextTime(parseCron('*/15 * * * *'), t0)!).toISOString(), '2024-01-01T10:15:00.000Z');
  assert.equal(new Date(nextTime(parseCron('0 9 * * MON-FRI'), t0)!).toISOString(), '2024-01-02T09:00:00.000Z');
  assert.equal(new Date(nextTime(parseCron('@monthly'), t0)!).toISOString(), '2024-02-01T00:00:00.000Z');
  assert.equal(new Date(nextTime(parseCron('0 0 29 2 *'), t0)!).toISOString(), '2024-02-29T00:00:00.000Z');
  assert.equal(new Date(nextTime(parseCron('0 9 * * *'), t0, 'Europe/Paris')!).toISOString(), '2024-01-02T08:00:00.000Z');
  assert.equal(nextTime(parseCron('@every 90s'), t0)! - Math.floor(t0 / 1000) * 1000, 90000);
  assert.throws(() => parseCron(''), (e: unknown) => e instanceof CronError && e.message === 'empty spec string');
  assert.throws(() => parseCron('*/0 * * * *'), { message: 'step of range should be a positive number: */0' });
  assert.throws(() => parseCron('1-2-3 * * * *'), { message: 'too many hyphens: 1-2-3' });
  assert.throws(() => parseCron('@every 5x'), { message: 'failed to parse duration @every 5x: time: unknown unit "x" in duration "5x"' });
});
