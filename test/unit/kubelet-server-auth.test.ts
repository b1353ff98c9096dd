// The kubelet's HTTPS API: client certificates and bearer tokens (TokenReview),
// SubjectAccessReviews on nodes/<subresource>, upstream's 401/403 answers, caching.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import type { ApiTransport } from '../../client/transport.js';
import { KubeletAuth, nodeRequestAttributes } from '../../kubelet/server/auth.js';
import { KubeletServer } from '../../kubelet/server/server.js';
import type { PodRuntime } from '../../kubelet/types.js';
import { createCA, issueClientCert, issueServingCert, type CertKeyPair } from '../../machinery/pki.js';

interface Review {
  kind: string;
  spec: Record<string, unknown>;
}

let ca: CertKeyPair;
let apiserverClient: CertKeyPair;
let server: KubeletServer;
const reviews: Review[] = [];
/** user name → may they use nodes/<subresource>? */
const allowed = new Map<string, Set<string>>();
let apiDown = false;

const fakeApi = {
  async create(res: { plural: string }, _ns: string | undefined, obj: Review) {
    if (apiDown) throw new Error('connect ECONNREFUSED');
    reviews.push(obj);
    if (res.plural === 'tokenreviews') {
      const token = obj.spec.token;
      if (token === 'alice-token') return { ...obj, status: { authenticated: true, user: { username: 'alice', uid: 'u-1', groups: ['devs', 'system:authenticated'] } } };
      return { ...obj, status: { user: {}, error: 'invalid bearer token' } };
    }
    if (res.plural === 'subjectaccessreviews') {
      const spec = obj.spec as { user: string; resourceAttributes: { subresource: string } };
      return { ...obj, status: { allowed: !!allowed.get(spec.user)?.has(spec.resourceAttributes.subresource) } };
    }
    throw new Error(`unexpected create ${res.plural}`);
  },
} as unknown as ApiTransport;

before(async () => {
  ca = await createCA('kubernetes');
  const serving = await issueServingCert(ca, { commonName: 'node-1@kubelet', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  apiserverClient = await issueClientCert(ca, { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'] });
  server = new KubeletServer({
    host: { getPod: () => undefined, pods: () => [], runtime: {} as PodRuntime, podStatus: () => undefined },
    address: '127.0.0.1',
    port: 0,
    tls: { cert: serving.cert, key: serving.key, ca: ca.cert },
    auth: new KubeletAuth({ nodeName: 'node-1', transport: fakeApi }),
  });
  await server.listen();
});

after(async () => {
  await server.close();
});

beforeEach(() => {
  reviews.length = 0;
  apiDown = false;
});

function call(path: string, opts: { method?: string; token?: string; cert?: CertKeyPair; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; type?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: opts.method ?? 'GET',
        ca: ca.cert,
        ...(opts.cert ? { cert: opts.cert.cert, key: opts.cert.key } : {}),
        headers: { ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}), ...(opts.headers ?? {}) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), type: res.headers['content-type'] }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const sars = () => reviews.filter((r) => r.kind === 'SubjectAccessReview').map((r) => r.spec);

test('no certificate and no token: 401 Unauthorized, nothing asked', async () => {
  const r = await call('/pods');
  assert.equal(r.status, 401);
  assert.equal(r.body, 'Unauthorized\n');
  assert.match(r.type ?? '', /^text\/plain/);
  assert.equal(reviews.length, 0);
  const bad = await call('/pods', { token: 'stolen' });
  assert.equal(bad.status, 401);
  assert.equal(reviews.filter((x) => x.kind === 'TokenReview').length, 1);
});

test("the API server's client certificate is authorized for nodes/proxy with a SubjectAccessReview", async () => {
  allowed.set('kube-apiserver-kubelet-client', new Set(['proxy', 'log', 'stats', 'metrics']));
  const r = await call('/pods', { cert: apiserverClient });
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).kind, 'PodList');
  assert.deepEqual(sars(), [
    {
      user: 'kube-apiserver-kubelet-client',
      groups: ['system:masters', 'system:authenticated'],
      resourceAttributes: { verb: 'get', group: '', version: 'v1', resource: 'nodes', subresource: 'proxy', name: 'node-1' },
    },
  ]);
  // Cached: the same request again asks nothing.
  assert.equal((await call('/pods', { cert: apiserverClient })).status, 200);
  assert.equal(sars().length, 1);
});

test('a bearer token is reviewed once; a denied user gets upstream\'s 403 wording', async () => {
  allowed.set('alice', new Set(['log']));
  const r = await call('/pods', { token: 'alice-token' });
  assert.equal(r.status, 403);
  assert.equal(r.body, 'Forbidden (user=alice, verb=get, resource=nodes, subresource=proxy)\n');
  const exec = await call('/exec/default/web/c?command=sh', { method: 'POST', token: 'alice-token' });
  assert.equal(exec.status, 403);
  assert.equal(exec.body, 'Forbidden (user=alice, verb=create, resource=nodes, subresource=proxy)\n');
  assert.equal(reviews.filter((x) => x.kind === 'TokenReview').length, 1, 'the token review is cached');
  const spec = sars()[0] as { uid?: string; groups: string[] };
  assert.equal(spec.uid, 'u-1');
  assert.deepEqual(spec.groups, ['devs', 'system:authenticated']);
  // Allowed for nodes/log: /logs/ passes authorization (then the route decides).
  const logs = await call('/logs/', { token: 'alice-token' });
  assert.equal(logs.status, 404);
});

test('a denied upgrade (exec over SPDY) is answered 403 before anything else', async () => {
  allowed.set('alice', new Set());
  const r = await call('/exec/default/web/c?command=sh&stdout=1', { method: 'POST', token: 'alice-token', headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' } });
  assert.equal(r.status, 403);
  assert.equal(r.body, 'Forbidden (user=alice, verb=create, resource=nodes, subresource=proxy)\n');
});

test('a serving certificate from the same CA is no client identity', async () => {
  const serving = await issueServingCert(ca, { commonName: 'other-node@kubelet', dnsNames: ['other'] });
  const r = await call('/pods', { cert: serving });
  assert.equal(r.status, 401);
  assert.equal(reviews.length, 0);
});

test('the API being unreachable for a review: 500 Authorization error', async () => {
  const other = await issueClientCert(ca, { commonName: 'someone', organizations: ['x'] });
  apiDown = true;
  const r = await call('/pods', { cert: other });
  assert.equal(r.status, 500);
  assert.equal(r.body, 'Authorization error (user=someone, verb=get, resource=nodes, subresource=proxy)\n');
});

test('paths map to nodes subresources as upstream', () => {
  const sub = (m: string, p: string) => {
    const a = nodeRequestAttributes('n', m, p);
    return `${a.verb} ${a.subresource}`;
  };
  assert.equal(sub('GET', '/stats/summary'), 'get stats');
  assert.equal(sub('GET', '/stats'), 'get stats');
  assert.equal(sub('GET', '/statsz'), 'get proxy');
  assert.equal(sub('GET', '/metrics/cadvisor'), 'get metrics');
  assert.equal(sub('GET', '/logs/syslog'), 'get log');
  assert.equal(sub('GET', '/containerLogs/ns/p/c'), 'get proxy');
  assert.equal(sub('POST', '/portForward/ns/p'), 'create proxy');
  assert.equal(sub('POST', '/run/ns/p/c'), 'create proxy');
  assert.equal(sub('DELETE', '/pods'), 'delete proxy');
  assert.equal(sub('PUT', '/x'), 'update proxy');
  assert.equal(sub('PATCH', '/x'), 'patch proxy');
});
