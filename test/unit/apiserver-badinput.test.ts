import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHttpApi, call, type HttpApi } from './apiserver-faults-fixture.js';

let h: HttpApi;
before(async () => {
  h = await startHttpApi();
});
after(() => h.close());

const CM = '/api/v1/namespaces/default/configmaps';
const DEPLOY = '/apis/apps/v1/namespaces/default/deployments';

function deployment(name: string, replicas: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'busybox', ...extra }] } } },
  });
}

test('a body over 3 MiB is answered 413 RequestEntityTooLarge, not a reset', async () => {
  const big = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { a: 'x'.repeat(3 * 1024 * 1024 + 10) } });
  const r = await call(h.port, 'POST', CM, big);
  assert.equal(r.status, 413);
  assert.equal(r.json().reason, 'RequestEntityTooLarge');
  // Chunked (no Content-Length): the limit is found while reading.
  const chunked = await call(h.port, 'POST', CM, Buffer.from(big), 'application/json', { 'transfer-encoding': 'chunked' });
  assert.equal(chunked.status, 413);
});

test('deeply nested JSON and a non-object metadata answer 400', async () => {
  for (const depth of [10_000, 100_000]) {
    const nested = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const r = await call(h.port, 'POST', CM, nested);
    assert.equal(r.status, 400, `depth ${depth}: ${r.body.slice(0, 200)}`);
    const obj = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep2"},"x":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    assert.equal((await call(h.port, 'POST', CM, obj)).status, 400);
  }
  const r = await call(h.port, 'POST', CM, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: 'str' }));
  assert.equal(r.status, 400);
  assert.equal(r.json().message, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal string into Go struct field ConfigMap.metadata of type v1.ObjectMeta');
});

test('wrongly typed fields of built-in kinds are rejected with Go-style unmarshal errors', async () => {
  const cases: [string, string, string][] = [
    [DEPLOY, deployment('d1', 'three'), 'json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32'],
    [DEPLOY, deployment('d2', 1.5), 'json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32'],
    [DEPLOY, deployment('d3', 3e9), 'json: cannot unmarshal number 3000000000 into Go struct field DeploymentSpec.spec.replicas of type int32'],
    [DEPLOY, deployment('d4', 1, { command: 'sleep 1' }), 'json: cannot unmarshal string into Go struct field Container.spec.template.spec.containers.command of type []string'],
    [CM, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: { a: 123 } }), 'json: cannot unmarshal number into Go struct field ConfigMap.data of type string'],
    [CM, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c2', labels: ['a'] } }), 'json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string'],
  ];
  for (const [path, body, message] of cases) {
    const r = await call(h.port, 'POST', path, body);
    assert.equal(r.status, 400, r.body);
    assert.ok(r.json().message.endsWith(message), r.json().message);
  }
  // Nothing was stored.
  const list = await call(h.port, 'GET', DEPLOY);
  assert.equal(list.json().items.length, 0);
  // The same through a patch.
  assert.equal((await call(h.port, 'POST', DEPLOY, deployment('ok', 2))).status, 201);
  const p = await call(h.port, 'PATCH', `${DEPLOY}/ok`, JSON.stringify({ spec: { replicas: 'x' } }), 'application/merge-patch+json');
  assert.equal(p.status, 400);
});

test('unknown fields are dropped: warned about by default, rejected under Strict; non-ASCII names are safe', async () => {
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'u1' }, data: { a: 'b' }, junk: 'x'.repeat(2_000_000), 'ünïcødé': 1 });
  const r = await call(h.port, 'POST', CM, body);
  assert.equal(r.status, 201, r.body);
  const warnings = String(r.headers.warning);
  assert.match(warnings, /unknown field \\"junk\\"/);
  assert.match(warnings, /unknown field \\"\\u00fcn/);
  const got = (await call(h.port, 'GET', `${CM}/u1`)).json();
  assert.equal(got.junk, undefined);
  assert.equal(got['ünïcødé'], undefined);
  const strict = await call(h.port, 'POST', `${CM}?fieldValidation=Strict`, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'u2' }, junk: 1 }));
  assert.equal(strict.status, 400);
  assert.equal(strict.json().message, 'strict decoding error: unknown field "junk"');
  assert.equal((await call(h.port, 'GET', `${CM}/u2`)).status, 404);
});

test('a YAML alias bomb is bounded', async () => {
  const lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: bomb}', 'a0: &a0 ["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]'];
  for (let i = 1; i < 30; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(',')}]`);
  const r = await call(h.port, 'POST', CM, lines.join('\n'), 'application/yaml');
  assert.equal(r.status, 400);
});

test('a watch from a future resourceVersion answers 504 Too large resource version', async () => {
  const list = (await call(h.port, 'GET', CM)).json();
  const future = Number(list.metadata.resourceVersion) + 1_000_000;
  const r = await call(h.port, 'GET', `${CM}?watch=true&resourceVersion=${future}`);
  assert.equal(r.status, 504);
  const s = r.json();
  assert.equal(s.reason, 'Timeout');
  assert.equal(s.message, `Timeout: Too large resource version: ${future}, current: ${list.metadata.resourceVersion}`);
  assert.deepEqual(s.details.causes, [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }]);
  assert.equal(s.details.retryAfterSeconds, 1);
});

test('paged lists are a snapshot at the first page’s resourceVersion', async () => {
  await call(h.port, 'POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'paged' } }));
  const path = '/api/v1/namespaces/paged/configmaps';
  for (let i = 0; i < 6; i++) await call(h.port, 'POST', path, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `p${i}` }, data: { v: '0' } }));
  const first = (await call(h.port, 'GET', `${path}?limit=2`)).json();
  assert.deepEqual(first.items.map((o: { metadata: { name: string } }) => o.metadata.name), ['p0', 'p1']);
  // Change the rest of the list: delete p2, modify p3, add p35.
  await call(h.port, 'DELETE', `${path}/p2`);
  await call(h.port, 'PATCH', `${path}/p3`, JSON.stringify({ data: { v: '1' } }), 'application/merge-patch+json');
  await call(h.port, 'POST', path, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'p35' } }));
  const names: string[] = [];
  let cont = first.metadata.continue as string | undefined;
  while (cont) {
    const page = (await call(h.port, 'GET', `${path}?limit=2&continue=${encodeURIComponent(cont)}`)).json();
    assert.equal(page.metadata.resourceVersion, first.metadata.resourceVersion);
    for (const o of page.items) {
      names.push(o.metadata.name);
      if (o.metadata.name === 'p3') assert.equal(o.data.v, '0');
    }
    cont = page.metadata.continue;
  }
  assert.deepEqual(names, ['p2', 'p3', 'p4', 'p5']);
  const bad = await call(h.port, 'GET', `${path}?limit=2&continue=${Buffer.from('{"k":"x","rv":999999999}').toString('base64')}`);
  assert.equal(bad.status, 400);
});

/** Sends `parts` of raw HTTP on one connection, `gapMs` apart, and collects `answers` responses (Content-Length bodies). */
async function rawExchange(port: number, parts: string[], answers: number, gapMs: number): Promise<{ status: number; body: string }[]> {
  const { connect } = await import('node:net');
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = Buffer.alloc(0);
  const out: { status: number; body: string }[] = [];
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      for (;;) {
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = received.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (received.length < end + 4 + length) return;
        out.push({ status: Number(head.split(' ')[1]), body: received.subarray(end + 4, end + 4 + length).toString('utf8') });
        received = received.subarray(end + 4 + length);
        if (out.length === answers) resolve();
      }
    });
    socket.on('error', reject);
  });
  for (const p of parts) {
    socket.write(p);
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
  }
  await done;
  socket.destroy();
  return out;
}

test('a write body is read whole however it arrives: with the headers, after them, or in pieces, and the connection serves the next request', async () => {
  const post = (name: string) => {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v'.repeat(3000) } });
    const head = `POST ${CM} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    return { head, body };
  };
  const a = post('body-with-headers');
  const b = post('body-after-headers');
  const c = post('body-in-pieces');
  const answers = await rawExchange(
    h.port,
    [a.head + a.body, b.head, b.body, c.head + c.body.slice(0, 100), c.body.slice(100, 2000), c.body.slice(2000)],
    3,
    20,
  );
  assert.deepEqual(answers.map((x) => x.status), [201, 201, 201], answers.map((x) => x.body).join('\n'));
  for (const [i, name] of ['body-with-headers', 'body-after-headers', 'body-in-pieces'].entries()) {
    const obj = JSON.parse(answers[i].body) as { metadata: { name: string }; data: { k: string } };
    assert.equal(obj.metadata.name, name);
    assert.equal(obj.data.k, 'v'.repeat(3000));
  }
  // Two requests in one write (pipelined): both read whole.
  const d = post('pipelined-1');
  const e = post('pipelined-2');
  const pipelined = await rawExchange(h.port, [d.head + d.body + e.head + e.body], 2, 0);
  assert.deepEqual(pipelined.map((x) => x.status), [201, 201]);
  assert.deepEqual(pipelined.map((x) => (JSON.parse(x.body) as { metadata: { name: string } }).metadata.name), ['pipelined-1', 'pipelined-2']);
});
