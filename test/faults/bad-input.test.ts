// A generated corpus of bad requests against the real API handlers: each answered with a
// Status (never a 5xx, a crash or a hang), with the server's memory bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { startHttpApi, call, type HttpApi } from '../unit/apiserver-faults-fixture.js';

let h: HttpApi;
before(async () => {
  h = await startHttpApi();
});
after(() => h.close());

/** A small deterministic PRNG, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const PATHS = ['/api/v1/namespaces/default/configmaps', '/apis/apps/v1/namespaces/default/deployments', '/api/v1/namespaces/default/pods', '/api/v1/namespaces/default/services', '/api/v1/namespaces'];
const KINDS = ['ConfigMap', 'Deployment', 'Pod', 'Service', 'Namespace'];
const VALUES: unknown[] = ['three', 1.5, 3e9, -1, true, null, [], ['a'], {}, { a: 123 }, 'x'.repeat(300), '../../etc', 'ünï', 1e308];
const FIELDS = ['spec', 'metadata', 'data', 'spec.replicas', 'spec.containers', 'metadata.labels', 'metadata.name', 'spec.template.spec.containers', 'spec.ports', 'spec.selector', 'metadata.annotations', 'status'];

function setPath(obj: Record<string, unknown>, path: string, v: unknown): void {
  const parts = path.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null || Array.isArray(o[p])) o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  o[parts[parts.length - 1]] = v;
}

function corpus(n: number): { method: string; path: string; body?: string | Buffer; type: string }[] {
  const r = rng(17);
  const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)];
  const out: { method: string; path: string; body?: string | Buffer; type: string }[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.floor(r() * PATHS.length);
    const obj: Record<string, unknown> = { apiVersion: k === 1 ? 'apps/v1' : 'v1', kind: KINDS[k], metadata: { name: `f${i}` } };
    for (let j = 0; j < 1 + Math.floor(r() * 3); j++) setPath(obj, pick(FIELDS), structuredClone(pick(VALUES)));
    const text = JSON.stringify(obj);
    switch (i % 10) {
      case 0: // truncated JSON
        out.push({ method: 'POST', path: PATHS[k], body: text.slice(0, Math.floor(r() * text.length)), type: 'application/json' });
        break;
      case 1: // random bytes as protobuf
        out.push({ method: 'POST', path: PATHS[k], body: Buffer.from(Array.from({ length: 1 + Math.floor(r() * 200) }, () => Math.floor(r() * 256))), type: 'application/vnd.kubernetes.protobuf' });
        break;
      case 2: // bad selectors and resourceVersions
        out.push({ method: 'GET', path: `${PATHS[k]}?labelSelector=${encodeURIComponent(pick(['a in (', '!!', 'a=b,=', 'x notin b', '((']))}&resourceVersion=${pick(['abc', '-5', '99999999999', '1e3', ''])}`, type: 'application/json' });
        break;
      case 3: // path tricks in names
        out.push({ method: 'GET', path: `${PATHS[k]}/${pick(['..', '%2e%2e', '%2F', 'a%00b', '%E2%80%AE', 'x'.repeat(400)])}`, type: 'application/json' });
        break;
      case 4: // YAML with aliases
        out.push({ method: 'POST', path: PATHS[k], body: `a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b]\nkind: ${KINDS[k]}\n`, type: 'application/yaml' });
        break;
      case 5: // a bad patch
        out.push({ method: 'PATCH', path: `${PATHS[k]}/f1`, body: pick(['[{"op":"test","path":"/x","value":1}]', '{"spec":', '[1,2]', text]), type: pick(['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json']) });
        break;
      default:
        out.push({ method: pick(['POST', 'PUT']), path: i % 2 ? PATHS[k] : `${PATHS[k]}/f${i}`, body: text, type: 'application/json' });
    }
  }
  return out;
}

test('a few thousand generated bad requests: no 5xx, no crash, bounded memory', async () => {
  const requests = corpus(3000);
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const rss0 = process.memoryUsage().rss;
  const codes = new Map<number, number>();
  const fives: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < requests.length) {
        const q = requests[next++];
        const r = await call(h.port, q.method, q.path, q.body, q.type, {}, agent);
        codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
        if (r.status >= 500) fives.push(`${q.method} ${q.path} ${String(q.body).slice(0, 120)} → ${r.status} ${r.body.slice(0, 200)}`);
        else if (r.status >= 400) assert.equal(r.json().kind, 'Status', r.body);
      }
    }),
  );
  agent.destroy();
  const rssMb = (process.memoryUsage().rss - rss0) / 1e6;
  console.log('\nbad-input corpus');
  console.log('requests  5xx  crashes  RSS growth MB  answered with');
  const answered = [...codes].sort((a, b) => a[0] - b[0]).map(([c, n]) => `${c}×${n}`).join(' ');
  console.log(`${String(requests.length).padStart(8)} ${String(fives.length).padStart(4)} ${String(0).padStart(8)} ${rssMb.toFixed(0).padStart(14)}  ${answered}`);
  assert.deepEqual(fives.slice(0, 5), []);
  assert.ok(rssMb < 300, `RSS grew ${rssMb} MB`);
  // Still answering.
  assert.equal((await call(h.port, 'GET', '/api/v1/namespaces')).status, 200);
});
