// Acceptance: API semantics a kubectl user trips over (issue 18), on a cluster without a
// node (KITE_NODE=none): system namespaces can't be deleted, unconditional replace,
// bodies of the wrong kind, unknown subresources, Status bodies as upstream writes them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, waitFor } from './harness.js';

const cluster = new Cluster('semantics', { KITE_NODE: 'none' });
const SYSTEM = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

before(async () => {
  await cluster.up();
});

after(async () => {
  await cluster.down();
});

test('system namespaces may not be deleted, even with --dry-run=server or --all', async () => {
  const dry = await cluster.kubectl(['delete', 'ns', 'kube-system', '--dry-run=server']);
  assert.notEqual(dry.code, 0);
  assert.match(dry.stderr, /Error from server \(Forbidden\): namespaces "kube-system" is forbidden: this namespace may not be deleted/);

  await cluster.k(['create', 'namespace', 'scratch']);
  const all = await cluster.kubectl(['delete', 'namespace', '--all', '--wait=false']);
  assert.notEqual(all.code, 0, 'the refusals are reported');
  for (const ns of SYSTEM) assert.match(all.stderr, new RegExp(`namespaces "${ns}" is forbidden: this namespace may not be deleted`));
  // scratch is deleted (its removal is the namespace controller's business); the system ones stay.
  await waitFor('scratch deleting', async () => {
    const r = await cluster.kubectl(['get', 'ns', 'scratch', '-o', 'jsonpath={.metadata.deletionTimestamp}']);
    return r.code !== 0 || r.stdout !== '';
  }, 30_000);
  const left = (await cluster.k(['get', 'ns', '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ').filter((n) => n !== 'scratch').sort();
  assert.deepEqual(left, SYSTEM);
  for (const ns of SYSTEM) {
    assert.equal(await cluster.k(['get', 'ns', ns, '-o', 'jsonpath={.metadata.deletionTimestamp}']), '', `${ns} is not being deleted`);
  }
});

test('replace with resourceVersion "0" or none is unconditional; a stale one conflicts', async () => {
  const cm = (rv: string | undefined, v: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: uncond\n${rv === undefined ? '' : `  resourceVersion: "${rv}"\n`}data:\n  v: "${v}"\n`;
  await cluster.k(['create', '-f', '-'], { stdin: cm(undefined, 'a') });
  const first = await cluster.k(['get', 'cm', 'uncond', '-o', 'jsonpath={.metadata.resourceVersion}']);
  await cluster.k(['replace', '-f', '-'], { stdin: cm('0', 'b') });
  assert.equal(await cluster.k(['get', 'cm', 'uncond', '-o', 'jsonpath={.data.v}']), 'b');
  await cluster.k(['replace', '-f', '-'], { stdin: cm(undefined, 'c') });
  assert.equal(await cluster.k(['get', 'cm', 'uncond', '-o', 'jsonpath={.data.v}']), 'c');
  const stale = await cluster.kubectl(['replace', '-f', '-'], { stdin: cm(first, 'd') });
  assert.notEqual(stale.code, 0);
  assert.match(stale.stderr, /Operation cannot be fulfilled on configmaps "uncond": the object has been modified/);
});

test('a body that is not a ConfigMap is refused as upstream words it', async () => {
  const pod = cluster.writeFile('pod.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n');
  const raw = await cluster.kubectl(['create', '--raw', '/api/v1/namespaces/default/configmaps', '-f', pod]);
  assert.notEqual(raw.code, 0);
  assert.match(raw.stderr, /the object provided is unrecognized \(must be of type ConfigMap\): couldn't get version\/kind; json parse error: invalid character 'a' looking for beginning of value/);
  const json = cluster.writeFile('pod.json', JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }));
  const wrong = await cluster.kubectl(['create', '--raw', '/api/v1/namespaces/default/configmaps', '-f', json]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /Pod in version "v1" cannot be handled as a ConfigMap: converting \(v1\.Pod\) to \(core\.ConfigMap\): unknown conversion/);
});

test('an unknown subresource is 404 "the server could not find the requested resource"', async () => {
  await cluster.k(['create', 'configmap', 'sub']);
  const r = await cluster.kubectl(['get', '--raw', '/api/v1/namespaces/default/configmaps/sub/bogus']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /NotFound.*the server could not find the requested resource|the server could not find the requested resource/);
});

test('a JSON patch whose test operation fails is refused as upstream words it', async () => {
  await cluster.k(['create', 'configmap', 'guarded', '--from-literal=v=a']);
  const r = await cluster.kubectl(['patch', 'configmap', 'guarded', '--type=json', '-p', '[{"op":"test","path":"/data/v","value":"b"},{"op":"replace","path":"/data/v","value":"c"}]']);
  assert.notEqual(r.code, 0);
  // Upstream answers NewGenericServerResponse(422) without the library's message, so kubectl
  // prints exactly this (the operation is not named by upstream either).
  assert.equal(r.stderr.trim(), 'The request is invalid: the server rejected our request due to an error in our request');
  assert.equal(await cluster.k(['get', 'cm', 'guarded', '-o', 'jsonpath={.data.v}']), 'a');
  const raw = await cluster.kubectl(['patch', 'configmap', 'guarded', '--type=json', '-p', '[{"op":"test","path":"/data/v","value":"b"}]', '-v=8']);
  assert.match(raw.stderr, /"reason":"Invalid","details":\{\},"code":422/);
  await cluster.k(['patch', 'configmap', 'guarded', '--type=json', '-p', '[{"op":"test","path":"/data/v","value":"a"},{"op":"replace","path":"/data/v","value":"c"}]']);
  assert.equal(await cluster.k(['get', 'cm', 'guarded', '-o', 'jsonpath={.data.v}']), 'c');
});

test('pods a controller creates or replaces take priority and preemptionPolicy from the template and the PriorityClass', async () => {
  const spec = (name: string, extra: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      priorityClassName: fid-low
${extra}      containers: [{name: c, image: busybox}]
`;
  await cluster.k(['apply', '-f', '-'], { stdin: 'apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: fid-low}\nvalue: 1000\npreemptionPolicy: Never\n' });
  await cluster.k(['apply', '-f', '-'], { stdin: spec('fid-prio', '') });
  const fields = '{.items[*].metadata.name} {.items[*].spec.priorityClassName} {.items[*].spec.priority} {.items[*].spec.preemptionPolicy}';
  const first = await waitFor('the first pod', async () => {
    const out = (await cluster.k(['get', 'pods', '-l', 'app=fid-prio', '-o', `jsonpath=${fields}`])).trim().split(' ');
    return out.length === 4 && out[0] ? out : undefined;
  });
  assert.deepEqual(first.slice(1), ['fid-low', '1000', 'Never']);
  await cluster.k(['delete', 'pod', first[0], '--wait=false']);
  const second = await waitFor('the replacement pod', async () => {
    const out = (await cluster.k(['get', 'pods', '-l', 'app=fid-prio', '-o', `jsonpath=${fields}`])).trim().split(' ');
    return out.length === 4 && out[0] && out[0] !== first[0] ? out : undefined;
  }, 30_000);
  assert.deepEqual(second.slice(1), ['fid-low', '1000', 'Never']);
  // The template's own value is kept when it agrees with the class...
  await cluster.k(['apply', '-f', '-'], { stdin: spec('fid-agree', '      preemptionPolicy: Never\n') });
  await waitFor('a pod with the template value', async () => (await cluster.k(['get', 'pods', '-l', 'app=fid-agree', '-o', 'jsonpath={.items[*].spec.preemptionPolicy}'])).trim() === 'Never');
  // ...and refused by priority admission, as upstream, when it does not.
  await cluster.k(['apply', '-f', '-'], { stdin: spec('fid-clash', '      preemptionPolicy: PreemptLowerPriority\n') });
  const msg = await waitFor('FailedCreate', async () => {
    const ev = JSON.parse(await cluster.k(['get', 'events', '-o', 'json'])).items.find((e: any) => e.reason === 'FailedCreate' && /^fid-clash-/.test(e.involvedObject?.name ?? ''));
    return ev?.message as string | undefined;
  }, 30_000);
  assert.match(msg, /^Error creating: pods "fid-clash-[a-z0-9]+-" is forbidden: the string value of PreemptionPolicy \(PreemptLowerPriority\) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name$/);
});

test('server-side apply: a second manager forcing unchanged values becomes a co-owner', async () => {
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: co-owned\ndata:\n  k: v\n';
  await cluster.k(['apply', '--server-side', '--field-manager=first', '-f', '-'], { stdin: cm });
  await cluster.k(['apply', '--server-side', '--field-manager=second', '--force-conflicts', '-f', '-'], { stdin: cm });
  const o = JSON.parse(await cluster.k(['get', 'cm', 'co-owned', '-o', 'json', '--show-managed-fields']));
  const owners = o.metadata.managedFields.map((e: { manager: string; operation: string }) => `${e.manager}/${e.operation}`).sort();
  assert.deepEqual(owners, ['first/Apply', 'second/Apply']);
});

test('user-set managedFields: kubectl patch replaces them, [{}] clears them, and client-side to server-side apply migration drops removed fields', async () => {
  await cluster.k(['apply', '--server-side', '--field-manager=mine', '-f', '-'], { stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mf\ndata:\n  a: "1"\n' });
  const entry = { manager: 'theirs', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {} } } };
  const patched = await cluster.k(['patch', 'cm', 'mf', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/metadata/managedFields', value: [entry] }])]);
  assert.match(patched, /configmap\/mf patched/);
  assert.doesNotMatch(patched, /no change/);
  const managers = JSON.parse(await cluster.k(['get', 'cm', 'mf', '-o', 'json', '--show-managed-fields'])).metadata.managedFields.map((e: { manager: string }) => e.manager);
  assert.deepEqual(managers, ['theirs']);
  await cluster.k(['patch', 'cm', 'mf', '--type=json', '-p', '[{"op":"replace","path":"/metadata/managedFields","value":[{}]}]']);
  assert.equal(await cluster.k(['get', 'cm', 'mf', '-o', 'jsonpath={.metadata.managedFields}', '--show-managed-fields']), '');

  // kubectl's migration (client-side apply, then --server-side) rewrites managedFields so the
  // server-side manager owns what client-side apply set: a field left out is removed.
  await cluster.k(['apply', '-f', '-'], { stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: migrated\ndata:\n  keep: "1"\n  drop: "2"\n' });
  await cluster.k(['apply', '--server-side', '-f', '-'], { stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: migrated\ndata:\n  keep: "1"\n' });
  assert.equal(await cluster.k(['get', 'cm', 'migrated', '-o', 'jsonpath={.data}']), '{"keep":"1"}');
});

test('kubectl get in chunks lists every pod once; a later page is served as of the first one, also for pods the in-process informers hold', async () => {
  await cluster.k(['create', 'namespace', 'paging']);
  await cluster.k(['-n', 'paging', 'create', 'deployment', 'web', '--image=busybox', '--replicas=6']);
  const names = async (chunk: string) => (await cluster.k(['-n', 'paging', 'get', 'pods', `--chunk-size=${chunk}`, '-o', 'name'])).split('\n').filter(Boolean);
  await waitFor('six pods', async () => (await names('0')).length === 6, 30_000);
  const all = await names('0');
  assert.deepEqual(await names('2'), all, 'chunks of 2 list what one list does, in the same order');
  assert.match(await cluster.k(['get', 'pods', '-A', '--chunk-size=4']), /paging\s+web-/, 'Table pages across namespaces');

  const page = async (query: string) => JSON.parse(await cluster.k(['get', '--raw', `/api/v1/namespaces/paging/pods?limit=2${query}`]));
  const first = await page('');
  assert.equal(first.items.length, 2);
  assert.equal(first.metadata.remainingItemCount, 4);
  // A pod of a later page goes (its ReplicaSet makes another): the later pages still show
  // the pods as of the first page's resourceVersion.
  const gone = all[4].replace('pod/', '');
  await cluster.k(['-n', 'paging', 'delete', 'pod', gone, '--wait=false']);
  await waitFor('the replacement pod', async () => (await names('0')).length === 6 && !(await names('0')).includes(all[4]), 30_000);
  const second = await page(`&continue=${encodeURIComponent(first.metadata.continue)}`);
  const third = await page(`&continue=${encodeURIComponent(second.metadata.continue)}`);
  assert.equal(second.metadata.resourceVersion, first.metadata.resourceVersion);
  assert.equal(third.metadata.continue, undefined);
  assert.deepEqual([...first.items, ...second.items, ...third.items].map((p: any) => `pod/${p.metadata.name}`), all);
  assert.equal(third.items[0].metadata.deletionTimestamp, undefined, `${gone} as it was`);
});
