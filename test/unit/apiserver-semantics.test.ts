// The API server's wire-level semantics against upstream: Status field order and body
// endings, query parameter parsing, undecodable and wrong-kind bodies, unconditional
// updates. Runs the real ApiServer handler over plain HTTP on an in-memory store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SqliteStore } from '../../store/sqlite.js';
import { startApiCore, OPEN_POLICY, type ApiCore } from '../../apiserver/api.js';
import { ApiServer } from '../../apiserver/server.js';
import { Authenticator } from '../../apiserver/authentication.js';
import { internalContext } from '../../apiserver/context.js';
import { resourceByPath } from '../../machinery/resources.js';
import { queryBool, queryInt } from '../../apiserver/request.js';
import { goJsonSyntaxError } from '../../apiserver/decode-errors.js';
import { StatusError, notFound } from '../../machinery/status.js';

let server: Server;
let port = 0;
let core: ApiCore;
let store: SqliteStore;

before(async () => {
  store = new SqliteStore(':memory:');
  core = await startApiCore(store, OPEN_POLICY);
  await core.registry.create(resourceByPath('', 'v1', 'namespaces')!, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, internalContext('test'));
  const api = new ApiServer({
    pipeline: core.pipeline,
    authenticator: new Authenticator([() => ({ name: 'admin', groups: ['system:masters', 'system:authenticated'] })]),
    serverAddress: '127.0.0.1:6443',
  });
  server = createServer(api.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  core.stop();
  await store.close();
});

interface Reply {
  status: number;
  text: string;
}

function call(method: string, path: string, body?: string | object, contentType = 'application/json'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = { authorization: 'Bearer t' };
    if (payload !== undefined) headers['content-type'] = contentType;
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const CM = '/api/v1/namespaces/default/configmaps';

test('Status bodies list their fields in the Go struct order and end with a newline', async () => {
  const r = await call('GET', `${CM}/absent`);
  assert.equal(r.status, 404);
  assert.equal(
    r.text,
    '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \\"absent\\" not found","reason":"NotFound","details":{"name":"absent","kind":"configmaps"},"code":404}\n',
  );
  // details and causes are reordered whatever order the code built them in
  const err = new StatusError(422, 'Invalid', 'm', { causes: [{ field: 'f', message: 'x', reason: 'R' }], kind: 'k', name: 'n' });
  assert.equal(JSON.stringify(err.status), '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"m","reason":"Invalid","details":{"name":"n","kind":"k","causes":[{"reason":"R","message":"x","field":"f"}]},"code":422}');
  assert.deepEqual(Object.keys(notFound('apps', 'deployments', 'd').status), ['kind', 'apiVersion', 'metadata', 'status', 'message', 'reason', 'details', 'code']);
});

test('objects, lists, deletions and discovery end with a newline; /version is indented like WriteRawJSON', async () => {
  const created = await call('POST', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nl' }, data: { a: '1' } });
  assert.equal(created.status, 201);
  assert.ok(created.text.endsWith('}\n'));
  const list = await call('GET', CM);
  assert.ok(list.text.endsWith(']}\n'));
  assert.equal(JSON.parse(list.text).items.length, 1);
  assert.ok((await call('GET', '/api/v1')).text.endsWith('}\n'));
  const version = await call('GET', '/version');
  assert.ok(version.text.startsWith('{\n  "major": '), version.text);
  assert.ok(version.text.endsWith('}'));
  const del = await call('DELETE', `${CM}/nl`);
  assert.equal(del.status, 200);
  assert.ok(del.text.endsWith('}\n'));
});

test('boolean query parameters follow upstream conversion: only absent, "0" and "false" (any case) are false', () => {
  const q = (s: string) => new URLSearchParams(s);
  for (const v of ['true', 'True', 'TRUE', '1', 't', 'yes', '', 'f']) assert.equal(queryBool(q(`watch=${v}`), 'watch'), true, v);
  for (const v of ['false', 'False', 'FALSE', '0']) assert.equal(queryBool(q(`watch=${v}`), 'watch'), false, v);
  assert.equal(queryBool(q(''), 'watch'), undefined);
  assert.equal(queryInt(q('limit=%2B5'), 'limit'), 5);
  assert.equal(queryInt(q('limit='), 'limit'), undefined);
  for (const v of ['0x10', '1e3', ' 5', '2.5', 'abc']) {
    assert.throws(() => queryInt(q(`limit=${encodeURIComponent(v)}`), 'limit'), (e: StatusError) => e.code === 400 && e.message === `strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  }
});

test('?watch=True (the Python client) opens a watch that sees events', async () => {
  const lines: string[] = [];
  const req = request({ host: '127.0.0.1', port, path: `${CM}?watch=True&timeoutSeconds=5`, headers: { authorization: 'Bearer t' } });
  const opened = new Promise<void>((resolve, reject) => {
    req.on('response', (res) => {
      assert.equal(res.statusCode, 200);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
      resolve();
    });
    req.on('error', reject);
  });
  req.end();
  await opened;
  await call('POST', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched' } });
  const deadline = Date.now() + 5000;
  while (!lines.some((l) => l.includes('"watched"')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  req.destroy();
  const ev = JSON.parse(lines.find((l) => l.includes('"watched"'))!);
  assert.equal(ev.type, 'ADDED');
  await call('DELETE', `${CM}/watched`);
});

test('a body that is not JSON is "unrecognized (must be of type <Kind>)" with Go\'s syntax error and a hex summary', async () => {
  const yaml = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n';
  const r = await call('POST', CM, yaml);
  assert.equal(r.status, 400);
  const s = JSON.parse(r.text);
  assert.equal(s.reason, 'BadRequest');
  assert.equal(
    s.message,
    `the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: invalid character 'a' looking for beginning of value (${Buffer.from(yaml).subarray(0, 30).toString('hex')} ...)`,
  );
  const deploy = JSON.parse((await call('POST', '/apis/apps/v1/namespaces/default/deployments', '{"kind": Deployment}')).text);
  assert.equal(deploy.message, `the object provided is unrecognized (must be of type Deployment): couldn't get version/kind; json parse error: invalid character 'D' looking for beginning of value ({"kind": Deployment})`);
});

test('a body of another kind "cannot be handled as" the target kind, as upstream\'s conversion failure reads', async () => {
  const r = await call('POST', CM, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } });
  assert.equal(r.status, 400);
  assert.equal(JSON.parse(r.text).message, 'Pod in version "v1" cannot be handled as a ConfigMap: converting (v1.Pod) to (core.ConfigMap): unknown conversion');
  const d = await call('POST', '/apis/apps/v1/namespaces/default/deployments', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
  assert.equal(JSON.parse(d.text).message, 'ConfigMap in version "v1" cannot be handled as a Deployment: converting (v1.ConfigMap) to (apps.Deployment): unknown conversion');
});

test('Go JSON syntax errors name the first bad character and the scanner state', () => {
  assert.equal(goJsonSyntaxError('{"a":1}'), undefined);
  assert.equal(goJsonSyntaxError(''), 'unexpected end of JSON input');
  assert.equal(goJsonSyntaxError('{"a" 1}'), "invalid character '1' after object key");
  assert.equal(goJsonSyntaxError('{"a":1 "b"}'), `invalid character '"' after object key:value pair`);
  assert.equal(goJsonSyntaxError('{a:1}'), "invalid character 'a' looking for beginning of object key string");
  assert.equal(goJsonSyntaxError('[1 2]'), "invalid character '2' after array element");
  assert.equal(goJsonSyntaxError('{"a":tru}'), "invalid character '}' in literal true (expecting 'e')");
  assert.equal(goJsonSyntaxError('{} x'), "invalid character 'x' after top-level value");
  assert.equal(goJsonSyntaxError('{"a":"\\q"}'), "invalid character 'q' in string escape code");
  assert.equal(goJsonSyntaxError('{"a":-}'), "invalid character '}' in numeric literal");
  assert.equal(goJsonSyntaxError('{"a":1.}'), "invalid character '}' after decimal point in numeric literal");
  assert.equal(goJsonSyntaxError('{"a":'), 'unexpected end of JSON input');
});

test('an update with resourceVersion "0" or none is unconditional where the kind allows it; a stale one conflicts', async () => {
  const created = JSON.parse((await call('POST', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'u' }, data: { v: '1' } })).text);
  for (const rv of ['0', '', undefined]) {
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'u', ...(rv === undefined ? {} : { resourceVersion: rv }) }, data: { v: `rv-${rv}` } };
    const r = await call('PUT', `${CM}/u`, body);
    assert.equal(r.status, 200, r.text);
    assert.equal(JSON.parse(r.text).data.v, `rv-${rv}`);
  }
  const stale = await call('PUT', `${CM}/u`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'u', resourceVersion: created.metadata.resourceVersion }, data: {} });
  assert.equal(stale.status, 409);
  assert.equal(JSON.parse(stale.text).message, 'Operation cannot be fulfilled on configmaps "u": the object has been modified; please apply your changes to the latest version and try again');

  // CustomResourceDefinitions do not allow it (upstream's strategy): 422 on metadata.resourceVersion.
  const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
  const made = await call('POST', crdPath, crd);
  assert.equal(made.status, 201, made.text);
  const r = await call('PUT', `${crdPath}/widgets.example.com`, { ...crd, metadata: { name: 'widgets.example.com', resourceVersion: '0' } });
  assert.equal(r.status, 422, r.text);
  assert.equal(JSON.parse(r.text).message, 'customresourcedefinitions.apiextensions.k8s.io "widgets.example.com" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update');
});

function patchCall(path: string, type: string, body: string): Promise<Reply> {
  return call('PATCH', path, body, type);
}

test('a forced apply of unchanged values records the second manager as co-owner', async () => {
  const applied = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'co' }, data: { k: 'v' } });
  assert.equal((await patchCall(`${CM}/co?fieldManager=first`, 'application/apply-patch+yaml', applied)).status, 201);
  const before = JSON.parse((await call('GET', `${CM}/co`)).text);
  const r = await patchCall(`${CM}/co?fieldManager=second&force=true`, 'application/apply-patch+yaml', applied);
  assert.equal(r.status, 200, r.text);
  const after = JSON.parse(r.text);
  const owners = after.metadata.managedFields.map((e: { manager: string; operation: string }) => `${e.manager}/${e.operation}`).sort();
  assert.deepEqual(owners, ['first/Apply', 'second/Apply']);
  for (const e of after.metadata.managedFields) assert.deepEqual(e.fieldsV1, { 'f:data': { 'f:k': {} } });
  assert.notEqual(after.metadata.resourceVersion, before.metadata.resourceVersion, 'the new owner is stored');
  // Applying the same again changes nothing at all.
  const again = JSON.parse((await patchCall(`${CM}/co?fieldManager=second&force=true`, 'application/apply-patch+yaml', applied)).text);
  assert.equal(again.metadata.resourceVersion, after.metadata.resourceVersion);
});

test('an apply body in JSON or in YAML: duplicate keys take the last value, except under Strict field validation (400)', async () => {
  const dup = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dupkeys"},"data":{"k":"first","k":"last"}}';
  const r = await patchCall(`${CM}/dupkeys?fieldManager=m`, 'application/apply-patch+yaml', dup);
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(JSON.parse(r.text).data, { k: 'last' });
  const strict = await patchCall(`${CM}/dupkeys?fieldManager=m&fieldValidation=Strict`, 'application/apply-patch+yaml', dup);
  assert.equal(strict.status, 400, strict.text);
  assert.equal(JSON.parse(strict.text).reason, 'BadRequest');
  assert.deepEqual(JSON.parse((await call('GET', `${CM}/dupkeys`)).text).data, { k: 'last' }, 'the refused apply changed nothing');
  // YAML, block and flow style (the latter starts like JSON but is not JSON).
  const block = await patchCall(`${CM}/dupkeys?fieldManager=m`, 'application/apply-patch+yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dupkeys\ndata:\n  k: block\n');
  assert.equal(block.status, 200, block.text);
  assert.deepEqual(JSON.parse(block.text).data, { k: 'block' });
  const flow = await patchCall(`${CM}/dupkeys?fieldManager=m`, 'application/apply-patch+yaml', '{apiVersion: v1, kind: ConfigMap, metadata: {name: dupkeys}, data: {k: flow}}');
  assert.equal(flow.status, 200, flow.text);
  assert.deepEqual(JSON.parse(flow.text).data, { k: 'flow' });
  const broken = await patchCall(`${CM}/dupkeys?fieldManager=m`, 'application/apply-patch+yaml', '{"apiVersion": "v1", "kind": ');
  assert.equal(broken.status, 400, broken.text);
  assert.match(JSON.parse(broken.text).message, /error decoding YAML/);
});

test('user-set managedFields: a JSON patch replacing them takes effect and [{}] clears them', async () => {
  const applied = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mf' }, data: { a: '1', b: '2' } });
  await patchCall(`${CM}/mf?fieldManager=mine`, 'application/apply-patch+yaml', applied);
  const entry = { manager: 'mine', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {} } } };
  const replaced = await patchCall(`${CM}/mf`, 'application/json-patch+json', JSON.stringify([{ op: 'replace', path: '/metadata/managedFields', value: [entry] }]));
  assert.equal(replaced.status, 200, replaced.text);
  const mf = JSON.parse(replaced.text).metadata.managedFields;
  assert.deepEqual(mf.map((e: { manager: string; fieldsV1: unknown }) => [e.manager, e.fieldsV1]), [['mine', { 'f:data': { 'f:a': {} } }]]);
  // Now `mine` no longer owns data.b: applying without it leaves b (owned by nobody) in place,
  // and applying without a removes a.
  const next = JSON.parse((await patchCall(`${CM}/mf?fieldManager=mine`, 'application/apply-patch+yaml', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mf' }, data: { c: '3' } }))).text);
  assert.deepEqual(next.data, { b: '2', c: '3' });
  const cleared = await patchCall(`${CM}/mf`, 'application/json-patch+json', JSON.stringify([{ op: 'replace', path: '/metadata/managedFields', value: [{}] }]));
  assert.equal(cleared.status, 200, cleared.text);
  assert.equal(JSON.parse(cleared.text).metadata.managedFields, undefined);
  assert.equal(JSON.parse((await call('GET', `${CM}/mf`)).text).metadata.managedFields, undefined);
});

test('a closed ApiServer leaves the process-wide metrics registry, so nothing keeps it reachable', async () => {
  // The in-flight gauge's collector is registered on the process-wide registry; before
  // close() dropped it, every closed server (and the control plane it points to) stayed
  // in memory for the life of the process: ~210 MB per scenario in the scheduler bench.
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const make = (): WeakRef<ApiServer> => {
    const api = new ApiServer({ pipeline: core.pipeline, authenticator: new Authenticator([() => undefined]), serverAddress: '127.0.0.1:0' });
    api.close();
    return new WeakRef(api);
  };
  const ref = make();
  for (let i = 0; i < 10 && ref.deref(); i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  assert.equal(ref.deref(), undefined, 'the closed server is still reachable');
});
