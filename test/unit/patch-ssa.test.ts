import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FieldSet,
  computeFieldSet,
  managerFromUserAgent,
  navigatorFor,
  parseApplyBody,
  serverSideApply,
  serverSideApplyResult,
  updateManagedFields,
  type ManagedFieldsEntry,
} from '../../apiserver/patch/index.js';
import type { KubeObject } from '../../machinery/object.js';
import { StatusError } from '../../machinery/status.js';
import { CONFIGMAP, DEPLOYMENT, definitions, liveDeployment } from './patch-fixtures.js';

type Obj = Record<string, any>;

const schema = navigatorFor(definitions, DEPLOYMENT);
const cmSchema = navigatorFor(definitions, CONFIGMAP);
const T0 = new Date('2024-05-01T10:00:00Z');
const T1 = new Date('2024-05-01T11:00:00Z');
const T2 = new Date('2024-05-01T12:00:00Z');

function mf(o: Obj): ManagedFieldsEntry[] {
  return o.metadata.managedFields ?? [];
}

function entry(o: Obj, manager: string): ManagedFieldsEntry | undefined {
  return mf(o).find((e) => e.manager === manager);
}

function paths(e: ManagedFieldsEntry | undefined): string[] {
  if (!e) return [];
  const out: string[] = [];
  FieldSet.fromFieldsV1(e.fieldsV1 ?? {}).iterate((p) => out.push(p.map((pe) => (pe.kind === 'field' ? '.' + pe.name : `[${pe.id}]`)).join('')));
  return out.sort();
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

function appliedDeployment(replicas: number, image = 'nginx:1.25'): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image, ports: [{ containerPort: 80 }] }] } },
    },
  };
}

/** What the API server stores after a create: system fields plus managedFields. */
function stored(obj: Obj, manager: string, now = T0): Obj {
  const o = structuredClone(obj);
  o.metadata = { ...o.metadata, uid: 'uid-1', resourceVersion: '1', generation: 1, creationTimestamp: '2024-05-01T10:00:00Z' };
  updateManagedFields(undefined, o as KubeObject, { manager, apiVersion: 'apps/v1', now, nav: schema });
  return o;
}

test('managedFields after a create: FieldsV1 as upstream encodes it', () => {
  const obj = stored(liveDeployment(), 'kubectl-create');
  const e = mf(obj);
  assert.equal(e.length, 1);
  assert.deepEqual(
    { ...e[0], fieldsV1: undefined },
    { manager: 'kubectl-create', operation: 'Update', apiVersion: 'apps/v1', time: '2024-05-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: undefined },
  );
  const f = e[0].fieldsV1 as Obj;
  // metadata identity fields and status are not owned; labels map gets ".", value structs do not.
  assert.deepEqual(f['f:metadata'], { 'f:labels': { '.': {}, 'f:app': {} } });
  assert.equal(f['f:status'], undefined);
  assert.equal(f['f:spec']['.'], undefined);
  assert.deepEqual(f['f:spec']['f:selector'], {});
  assert.deepEqual(f['f:spec']['f:strategy'], { 'f:rollingUpdate': { '.': {}, 'f:maxSurge': {}, 'f:maxUnavailable': {} }, 'f:type': {} });
  const containers = f['f:spec']['f:template']['f:spec']['f:containers'];
  assert.deepEqual(Object.keys(containers), ['k:{"name":"old"}', 'k:{"name":"web"}']);
  assert.deepEqual(containers['k:{"name":"web"}']['f:ports'], {
    '.': {},
    'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:protocol': {} },
  });
  assert.equal(JSON.stringify(Object.keys(containers['k:{"name":"web"}'])), JSON.stringify(['.', 'f:env', 'f:image', 'f:name', 'f:ports']));
});

test('managedFields after an Update: ownership moves to the writer, merged per manager', () => {
  const created = stored(liveDeployment(), 'kubectl-create');
  // kubectl scale (merge patch, manager kubectl-scale... here via the main resource)
  const scaled = structuredClone(created);
  scaled.spec.replicas = 5;
  updateManagedFields(created as KubeObject, scaled as KubeObject, 'kubectl-scale', 'Update', 'apps/v1', undefined, T1, schema);
  assert.deepEqual(paths(entry(scaled, 'kubectl-scale')), ['.spec.replicas']);
  assert.ok(!paths(entry(scaled, 'kubectl-create')).includes('.spec.replicas'));
  // Update entries sort by time after Apply entries; the same manager merges into one entry.
  const edited = structuredClone(scaled);
  edited.spec.paused = true;
  edited.spec.replicas = 6;
  updateManagedFields(scaled as KubeObject, edited as KubeObject, { manager: 'kubectl-scale', apiVersion: 'apps/v1', now: T2, nav: schema });
  assert.deepEqual(paths(entry(edited, 'kubectl-scale')), ['.spec.paused', '.spec.replicas']);
  assert.equal(entry(edited, 'kubectl-scale')!.time, '2024-05-01T12:00:00Z');
  assert.deepEqual(
    mf(edited).map((e) => e.manager),
    ['kubectl-create', 'kubectl-scale'],
  );
  // Removing a field takes it from its owner; an emptied entry disappears.
  const unpaused = structuredClone(edited);
  delete unpaused.spec.paused;
  delete unpaused.spec.replicas;
  updateManagedFields(edited as KubeObject, unpaused as KubeObject, { manager: 'kubectl-edit', apiVersion: 'apps/v1', now: T2, nav: schema });
  assert.equal(entry(unpaused, 'kubectl-scale'), undefined);
  assert.equal(entry(unpaused, 'kubectl-edit'), undefined);
  // A write through a subresource is recorded with it.
  const st = structuredClone(unpaused);
  st.status = { replicas: 3, observedGeneration: 1, readyReplicas: 2 };
  updateManagedFields(unpaused as KubeObject, st as KubeObject, { manager: 'kube-controller-manager', apiVersion: 'apps/v1', subresource: 'status', now: T2, nav: schema });
  const ctrl = entry(st, 'kube-controller-manager')!;
  assert.equal(ctrl.subresource, 'status');
  assert.deepEqual(paths(ctrl), ['.status.readyReplicas', '.status.replicas']);
});

test('managedFields: reset with [{}], client-provided entries, untracked objects stay untracked', () => {
  const created = stored(liveDeployment(), 'kubectl-create');
  const reset = structuredClone(created);
  reset.metadata.managedFields = [{}];
  updateManagedFields(created as KubeObject, reset as KubeObject, { manager: 'x', apiVersion: 'apps/v1', now: T1, nav: schema });
  assert.equal(reset.metadata.managedFields, undefined);
  const later = structuredClone(reset);
  later.spec.replicas = 9;
  updateManagedFields(reset as KubeObject, later as KubeObject, { manager: 'x', apiVersion: 'apps/v1', now: T1, nav: schema });
  assert.equal(later.metadata.managedFields, undefined);
  // A client may rewrite managedFields (kubectl's client-side → server-side migration).
  const migrated = structuredClone(created);
  migrated.metadata.managedFields = [{ ...created.metadata.managedFields[0], manager: 'kubectl', operation: 'Apply' }];
  delete migrated.metadata.managedFields[0].time;
  updateManagedFields(created as KubeObject, migrated as KubeObject, { manager: 'kubectl-client-side-apply', apiVersion: 'apps/v1', now: T1, nav: schema });
  assert.deepEqual(
    mf(migrated).map((e) => [e.manager, e.operation]),
    [['kubectl', 'Apply']],
  );
});

test('default manager from the User-Agent', () => {
  assert.equal(managerFromUserAgent('kubectl/v1.33.0 (linux/amd64) kubernetes/8adc0f0'), 'kubectl');
  assert.equal(managerFromUserAgent('Go-http-client/1.1'), 'Go-http-client');
  assert.equal(managerFromUserAgent('a\u0000b/1'), 'ab');
  assert.equal(managerFromUserAgent('x'.repeat(200)).length, 128);
  assert.equal(managerFromUserAgent(undefined), '');
  // The same agents again, in turn and repeated (the last one is remembered).
  for (const [agent, manager] of [['kubectl/v1', 'kubectl'], ['kubectl/v1', 'kubectl'], [undefined, ''], ['kite-bench/1', 'kite-bench'], ['', ''], ['kite-bench/1', 'kite-bench']] as const) {
    assert.equal(managerFromUserAgent(agent), manager);
  }
});

test('server-side apply creates, and re-applying by the same manager is a no-op', () => {
  const applied = appliedDeployment(2);
  const before = JSON.stringify(applied);
  const r = serverSideApply(undefined, applied as KubeObject, { manager: 'kubectl', apiVersion: 'apps/v1', kind: 'Deployment', now: T0 }, schema);
  assert.equal(JSON.stringify(applied), before, 'input not modified');
  assert.equal(r.created, true);
  assert.equal(r.object.spec && (r.object.spec as Obj).replicas, 2);
  const e = mf(r.object as Obj);
  assert.deepEqual(
    e.map((x) => [x.manager, x.operation, x.apiVersion, x.time]),
    [['kubectl', 'Apply', 'apps/v1', '2024-05-01T10:00:00Z']],
  );
  assert.deepEqual(paths(e[0]), [
    '.metadata.labels.app',
    '.spec.replicas',
    '.spec.selector',
    '.spec.template.metadata.labels.app',
    '.spec.template.spec.containers[k:{"name":"web"}]',
    '.spec.template.spec.containers[k:{"name":"web"}].image',
    '.spec.template.spec.containers[k:{"name":"web"}].name',
    '.spec.template.spec.containers[k:{"name":"web"}].ports[k:{"containerPort":80,"protocol":"TCP"}]',
    '.spec.template.spec.containers[k:{"name":"web"}].ports[k:{"containerPort":80,"protocol":"TCP"}].containerPort',
  ]);
  // Stored, then applied again unchanged: nothing changes, not even the time.
  const live = { ...r.object, metadata: { ...(r.object.metadata as Obj), uid: 'u', resourceVersion: '7' } } as KubeObject;
  const again = serverSideApply(live, appliedDeployment(2) as KubeObject, { manager: 'kubectl', apiVersion: 'apps/v1', kind: 'Deployment', now: T2 }, schema);
  assert.equal(again.changed, false);
  assert.deepEqual(again.object, live);
  // Applying a change updates the value and the time.
  const changed = serverSideApply(live, appliedDeployment(4) as KubeObject, { manager: 'kubectl', apiVersion: 'apps/v1', kind: 'Deployment', now: T2 }, schema);
  assert.equal(changed.changed, true);
  assert.equal((changed.object.spec as Obj).replicas, 4);
  assert.equal(mf(changed.object as Obj)[0].time, '2024-05-01T12:00:00Z');
});

test('server-side apply: conflict with another manager, then force moves ownership', () => {
  const created = stored(appliedDeployment(2, 'nginx:1.24'), 'kubectl-client-side-apply');
  const err = statusOf(() => serverSideApply(created as KubeObject, appliedDeployment(3, 'nginx:1.24') as KubeObject, { manager: 'my-ctl', apiVersion: 'apps/v1', kind: 'Deployment', now: T1 }, schema));
  assert.equal(err.code, 409);
  assert.equal(err.reason, 'Conflict');
  assert.equal(err.status.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
  assert.deepEqual(err.status.details, {
    causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using apps/v1', field: '.spec.replicas' }],
  });
  const two = statusOf(() => serverSideApply(created as KubeObject, appliedDeployment(3, 'nginx:1.25') as KubeObject, { manager: 'my-ctl', apiVersion: 'apps/v1', kind: 'Deployment', now: T1 }, schema));
  assert.equal(
    two.status.message,
    'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name="web"].image',
  );
  // Same values are no conflict: ownership is shared.
  const shared = serverSideApply(created as KubeObject, appliedDeployment(2, 'nginx:1.24') as KubeObject, { manager: 'my-ctl', apiVersion: 'apps/v1', kind: 'Deployment', now: T1 }, schema);
  assert.ok(paths(entry(shared.object as Obj, 'my-ctl')).includes('.spec.replicas'));
  assert.ok(paths(entry(shared.object as Obj, 'kubectl-client-side-apply')).includes('.spec.replicas'));
  // serverSideApplyResult returns the conflict instead of throwing.
  const res = serverSideApplyResult(created as KubeObject, appliedDeployment(3, 'nginx:1.24') as KubeObject, { manager: 'my-ctl', apiVersion: 'apps/v1', kind: 'Deployment' }, schema);
  assert.equal(res.conflicts?.code, 409);
  // force: the applier takes the field, the other manager loses it.
  const forced = serverSideApply(created as KubeObject, appliedDeployment(3, 'nginx:1.24') as KubeObject, { manager: 'my-ctl', force: true, apiVersion: 'apps/v1', kind: 'Deployment', now: T1 }, schema);
  assert.equal((forced.object.spec as Obj).replicas, 3);
  assert.ok(paths(entry(forced.object as Obj, 'my-ctl')).includes('.spec.replicas'));
  assert.ok(!paths(entry(forced.object as Obj, 'kubectl-client-side-apply')).includes('.spec.replicas'));
  assert.deepEqual(
    mf(forced.object as Obj).map((e) => [e.manager, e.operation]),
    [
      ['my-ctl', 'Apply'],
      ['kubectl-client-side-apply', 'Update'],
    ],
  );
});

test('server-side apply: conflicts name subresources and appliers as upstream', () => {
  const created = stored(appliedDeployment(2), 'kubectl-client-side-apply');
  const scaled = structuredClone(created);
  scaled.spec.replicas = 7;
  updateManagedFields(created as KubeObject, scaled as KubeObject, { manager: 'kubectl', apiVersion: 'apps/v1', subresource: 'scale', now: T1, nav: schema });
  let err = statusOf(() => serverSideApply(scaled as KubeObject, appliedDeployment(3) as KubeObject, { manager: 'ci', apiVersion: 'apps/v1', kind: 'Deployment', now: T2 }, schema));
  assert.equal(err.status.message, 'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas');
  const byApply = serverSideApply(undefined, appliedDeployment(2) as KubeObject, { manager: 'team-a', apiVersion: 'apps/v1', kind: 'Deployment', now: T0 }, schema).object;
  err = statusOf(() => serverSideApply(byApply, appliedDeployment(5) as KubeObject, { manager: 'team-b', apiVersion: 'apps/v1', kind: 'Deployment', now: T1 }, schema));
  assert.equal(err.status.message, 'Apply failed with 1 conflict: conflict with "team-a": .spec.replicas');
});

test('server-side apply: a field dropped from the applied config is removed unless someone else owns it', () => {
  const first = appliedDeployment(2);
  first.metadata.labels.tier = 'front';
  first.spec.template.spec.containers.push({ name: 'sidecar', image: 'busybox' });
  first.spec.paused = false;
  let live = serverSideApply(undefined, first as KubeObject, { manager: 'kubectl', apiVersion: 'apps/v1', kind: 'Deployment', now: T0 }, schema).object as Obj;
  // Someone else (an Update) also sets paused.
  const other = structuredClone(live);
  other.spec.paused = true;
  updateManagedFields(live as KubeObject, other as KubeObject, { manager: 'ops', apiVersion: 'apps/v1', now: T1, nav: schema });
  live = other;
  const second = appliedDeployment(2);
  const r = serverSideApply(live as KubeObject, second as KubeObject, { manager: 'kubectl', apiVersion: 'apps/v1', kind: 'Deployment', now: T2 }, schema).object as Obj;
  assert.deepEqual(r.metadata.labels, { app: 'web' }, 'label removed');
  assert.deepEqual(
    r.spec.template.spec.containers.map((c: Obj) => c.name),
    ['web'],
    'sidecar removed',
  );
  assert.equal(r.spec.paused, true, 'paused kept: ops owns it');
  assert.ok(!paths(entry(r, 'kubectl')).some((p) => p.includes('sidecar') || p.includes('tier') || p.includes('paused')));
});

test('server-side apply: list-type map merge by keys, sets, atomic lists, granular maps', () => {
  const base = appliedDeployment(1);
  let live = serverSideApply(undefined, base as KubeObject, { manager: 'a', apiVersion: 'apps/v1', kind: 'Deployment', now: T0 }, schema).object as Obj;
  const b: Obj = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { owner: 'b' }, finalizers: ['b.example.com/f'] },
    spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'X', value: '1' }] }, { name: 'logger', image: 'fluent' }] } } },
  };
  live = serverSideApply(live as KubeObject, b as KubeObject, { manager: 'b', apiVersion: 'apps/v1', kind: 'Deployment', now: T1 }, schema).object as Obj;
  assert.deepEqual(live.metadata.labels, { app: 'web', owner: 'b' });
  assert.deepEqual(live.metadata.finalizers, ['b.example.com/f']);
  const [web, logger] = live.spec.template.spec.containers;
  assert.deepEqual(web, { name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80 }], env: [{ name: 'X', value: '1' }] });
  assert.deepEqual(logger, { name: 'logger', image: 'fluent' });
  assert.ok(paths(entry(live, 'b')).includes('.metadata.finalizers[v:"b.example.com/f"]'));
  // An atomic field (selector) is owned and replaced as a whole.
  const c: Obj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web', x: 'y' } } } };
  const err = statusOf(() => serverSideApply(live as KubeObject, c as KubeObject, { manager: 'c', apiVersion: 'apps/v1', kind: 'Deployment', now: T2 }, schema));
  assert.equal(err.status.message, 'Apply failed with 1 conflict: conflict with "a": .spec.selector');
});

test('server-side apply: client-side-apply upgrade by `kubectl` and the last-applied annotation', () => {
  const csa = appliedDeployment(2);
  const lastApplied = JSON.stringify(csa) + '\n';
  csa.metadata.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied };
  const live = stored(csa, 'kubectl-client-side-apply');
  // Fields whose live value still equals last-applied do not conflict for `kubectl`.
  const r = serverSideApply(live as KubeObject, appliedDeployment(3) as KubeObject, { manager: 'kubectl', apiVersion: 'apps/v1', kind: 'Deployment', now: T1 }, schema).object as Obj;
  assert.equal(r.spec.replicas, 3);
  // ...and the annotation follows the applied configuration.
  const ann = r.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'];
  assert.ok(ann.endsWith('\n'));
  assert.equal(JSON.parse(ann).spec.replicas, 3);
  assert.ok(ann.startsWith('{"apiVersion":"apps/v1","kind":"Deployment","metadata":{'));
  // A field changed out of band is still a conflict.
  const drifted = structuredClone(live);
  drifted.spec.replicas = 5;
  updateManagedFields(live as KubeObject, drifted as KubeObject, { manager: 'kubectl-client-side-apply', apiVersion: 'apps/v1', now: T1, nav: schema });
  const err = statusOf(() => serverSideApply(drifted as KubeObject, appliedDeployment(3) as KubeObject, { manager: 'kubectl', apiVersion: 'apps/v1', kind: 'Deployment', now: T2 }, schema));
  assert.equal(err.status.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
});

test('server-side apply: objects without managedFields get a before-first-apply owner', () => {
  const live = liveDeployment();
  const err = statusOf(() => serverSideApply(live as KubeObject, appliedDeployment(3, 'nginx:1.24') as KubeObject, { manager: 'ci', apiVersion: 'apps/v1', kind: 'Deployment', now: T1 }, schema));
  assert.equal(err.status.message, 'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas');
});

test('server-side apply: request validation as upstream', () => {
  const opts = { manager: 'kubectl', apiVersion: 'apps/v1', kind: 'Deployment' };
  let err = statusOf(() => serverSideApply(undefined, { ...appliedDeployment(1), apiVersion: 'apps/v1beta1' } as KubeObject, opts, schema));
  assert.equal(err.code, 400);
  assert.equal(err.status.message, 'invalid object type: apps/v1beta1, Kind=Deployment');
  err = statusOf(() => serverSideApply(undefined, { apiVersion: 'v1', kind: 'ConfigMap' } as KubeObject, opts, schema));
  assert.equal(err.status.message, 'invalid object type: /v1, Kind=ConfigMap');
  const withMF = appliedDeployment(1);
  withMF.metadata.managedFields = [];
  err = statusOf(() => serverSideApply(undefined, withMF as KubeObject, opts, schema));
  assert.equal(err.status.message, 'metadata.managedFields must be nil');
  const unknown = appliedDeployment(1);
  unknown.spec.replicaz = 3;
  err = statusOf(() => serverSideApply(undefined, unknown as KubeObject, opts, schema));
  assert.equal(err.code, 500);
  assert.equal(err.status.message, 'failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.replicaz: field not declared in schema');
  const dup = appliedDeployment(1);
  dup.spec.template.spec.containers.push({ name: 'web' });
  err = statusOf(() => serverSideApply(undefined, dup as KubeObject, opts, schema));
  assert.equal(
    err.status.message,
    'failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: duplicate entries for key [name="web"]',
  );
});

test('server-side apply: YAML body and a ConfigMap without spec', () => {
  const body = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: "1"\n  b: two\n';
  const applied = parseApplyBody(body);
  const r = serverSideApply(undefined, applied, { manager: 'kubectl', apiVersion: 'v1', kind: 'ConfigMap', now: T0 }, cmSchema);
  assert.deepEqual((r.object as Obj).data, { a: '1', b: 'two' });
  // An applier owns exactly what it applied: map entries, not the map itself.
  assert.deepEqual(mf(r.object as Obj)[0].fieldsV1, { 'f:data': { 'f:a': {}, 'f:b': {} } });
  const r2 = serverSideApply(r.object, parseApplyBody('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"b":"two"}}'), { manager: 'kubectl', apiVersion: 'v1', kind: 'ConfigMap', now: T1 }, cmSchema);
  assert.deepEqual((r2.object as Obj).data, { b: 'two' });
  assert.equal(statusOf(() => parseApplyBody('a: [1, 2')).code, 400);
  assert.equal(statusOf(() => parseApplyBody('- 1\n- 2\n')).status.message, 'error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}');
});

test('computeFieldSet ignores identity fields, managedFields and status', () => {
  const obj = stored(liveDeployment(), 'x');
  const s = computeFieldSet(obj as KubeObject, schema);
  const all: string[] = [];
  s.iterate((p) => all.push(p.map((pe) => (pe.kind === 'field' ? pe.name : pe.id)).join('/')));
  assert.ok(all.includes('spec/replicas'));
  assert.ok(!all.some((p) => p.startsWith('status') || p === 'metadata/resourceVersion' || p === 'metadata/uid' || p === 'metadata/managedFields' || p === 'metadata/name'));
  // Untyped (no schema): lists are atomic and every map key is owned itself.
  const untyped = computeFieldSet({ apiVersion: 'x/v1', kind: 'Thing', spec: { items: [1, 2], m: { a: 1 } } } as KubeObject);
  const u: string[] = [];
  untyped.iterate((p) => u.push(p.map((pe) => (pe.kind === 'field' ? pe.name : pe.id)).join('/')));
  assert.deepEqual(u.sort(), ['spec', 'spec/items', 'spec/m', 'spec/m/a']);
});

test('managedFields: more than 10 Update managers merge the oldest into ancient-changes', () => {
  let obj = stored(liveDeployment(), 'kubectl-create', new Date('2024-05-01T00:00:00Z'));
  for (let i = 0; i < 12; i++) {
    const next = structuredClone(obj);
    next.metadata.labels[`l${i}`] = 'x';
    updateManagedFields(obj as KubeObject, next as KubeObject, { manager: `m${i}`, apiVersion: 'apps/v1', now: new Date(Date.UTC(2024, 4, 1, 1, i)), nav: schema });
    obj = next;
  }
  const updates = mf(obj).filter((e) => e.operation === 'Update');
  assert.equal(updates.length, 10);
  const ancient = entry(obj, 'ancient-changes')!;
  assert.ok(ancient);
  // The bucket holds the oldest entries' fields (the create's, then m0..m2) and the newest merged time.
  assert.ok(paths(ancient).includes('.spec.replicas'));
  assert.ok(paths(ancient).includes('.metadata.labels.l2'));
  assert.equal(ancient.time, '2024-05-01T01:02:00Z');
  assert.equal(entry(obj, 'm3')?.manager, 'm3');
});
