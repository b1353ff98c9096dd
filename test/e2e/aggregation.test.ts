// Acceptance: the aggregation layer, with a tiny aggregated API server written for the
// test (the host's python3 in a busybox pod, HTTPS with a certificate for
// `demo-api.aggr-demo.svc`, trusting only client certificates from the front-proxy CA
// that kube-system/extension-apiserver-authentication publishes), driven by the real
// kubectl:
//   - an APIService for demo.kite.test/v1 becomes Available (Passed);
//   - `get --raw`, `api-resources`, `get widgets` reach the backend through the API
//     server, which passes the kubectl user in X-Remote-User;
//   - with the backend scaled to 0 the APIService turns Available=False
//     (MissingEndpoints) and requests answer 503.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, applyYaml, waitFor, waitForNodeReady, waitForServiceEndpoints } from './harness.js';
import { deployPythonHttpsServer, hostPythonSkip } from './host-python.js';

const cluster = new Cluster('aggr-aggregation');
const skip = hostPythonSkip();

const NS = 'aggr-demo';
let caBundle = '';

const SERVER = `
import json, ssl, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
GV = 'demo.kite.test/v1'
RESOURCES = {'kind': 'APIResourceList', 'apiVersion': 'v1', 'groupVersion': GV, 'resources': [
    {'name': 'widgets', 'singularName': 'widget', 'namespaced': True, 'kind': 'Widget', 'verbs': ['get', 'list', 'watch'], 'shortNames': ['wdg']}]}
WIDGET = {'apiVersion': GV, 'kind': 'Widget', 'metadata': {'name': 'first', 'namespace': 'default', 'creationTimestamp': '2026-01-01T00:00:00Z'}, 'spec': {'size': 3}}
class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header('content-type', 'application/json')
        self.send_header('content-length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        cert = self.connection.getpeercert() or {}
        cn = dict(x[0] for x in cert.get('subject', ())).get('commonName')
        groups = ','.join(self.headers.get_all('X-Remote-Group') or [])
        print('request', self.path, 'cn=%s' % cn, 'user=%s' % self.headers.get('X-Remote-User'), 'groups=%s' % groups, flush=True)
        if cn != 'front-proxy-client' or not self.headers.get('X-Remote-User'):
            return self.reply(401, {'kind': 'Status', 'apiVersion': 'v1', 'status': 'Failure', 'reason': 'Unauthorized', 'code': 401})
        path, _, query = self.path.partition('?')
        if 'watch=true' in query or 'watch=1' in query:
            # A watch: one event now, then the stream stays open (it must reach the client before the end).
            self.send_response(200)
            self.send_header('content-type', 'application/json')
            self.send_header('transfer-encoding', 'chunked')
            self.end_headers()
            second = dict(WIDGET, metadata=dict(WIDGET['metadata'], name='second', resourceVersion='2'))
            event = json.dumps({'type': 'ADDED', 'object': second}).encode() + b'\\n'
            self.wfile.write(b'%x\\r\\n%s\\r\\n' % (len(event), event))
            self.wfile.flush()
            time.sleep(300)
            return
        if path == '/apis/' + GV:
            return self.reply(200, RESOURCES)
        if path in ('/apis/' + GV + '/widgets', '/apis/' + GV + '/namespaces/default/widgets'):
            return self.reply(200, {'apiVersion': GV, 'kind': 'WidgetList', 'metadata': {'resourceVersion': '1'}, 'items': [WIDGET]})
        if path == '/apis/' + GV + '/namespaces/default/widgets/first':
            return self.reply(200, WIDGET)
        self.reply(404, {'kind': 'Status', 'apiVersion': 'v1', 'status': 'Failure', 'reason': 'NotFound', 'code': 404, 'message': 'not found'})
    def log_message(self, *args):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain('/tls/tls.crt', '/tls/tls.key')
ctx.verify_mode = ssl.CERT_REQUIRED
ctx.load_verify_locations('/front-proxy/ca.crt')
server = ThreadingHTTPServer(('0.0.0.0', 8443), H)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print('serving', flush=True)
server.serve_forever()
`;

const APISERVICE = () => `apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1.demo.kite.test}
spec:
  group: demo.kite.test
  version: v1
  groupPriorityMinimum: 1000
  versionPriority: 15
  service: {namespace: ${NS}, name: demo-api, port: 443}
  caBundle: ${caBundle}
`;

async function available(): Promise<{ status?: string; reason?: string; message?: string } | undefined> {
  const r = await cluster.kubectl(['get', 'apiservice', 'v1.demo.kite.test', '-o', 'json']);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout).status?.conditions ?? []).find((c: { type: string }) => c.type === 'Available');
}

const endpointsReady = (want: boolean): Promise<void> => waitForServiceEndpoints(cluster, NS, 'demo-api', want);

describe('API aggregation to a server in the cluster', { skip }, () => {
  before(async () => {
    await cluster.up();
    await waitForNodeReady(cluster, 120_000);
    await cluster.k(['create', 'namespace', NS]);
    // The backend trusts what the API server publishes for aggregated servers, as a real one reads it.
    const frontProxyCA = await cluster.k(['get', 'configmap', 'extension-apiserver-authentication', '-n', 'kube-system', '-o', 'jsonpath={.data.requestheader-client-ca-file}']);
    await cluster.k(['create', 'configmap', 'front-proxy-ca', '-n', NS, `--from-file=ca.crt=${cluster.writeFile('front-proxy-ca.crt', frontProxyCA)}`]);
    caBundle = await deployPythonHttpsServer(cluster, {
      namespace: NS,
      name: 'demo-api',
      script: SERVER,
      files: [{ name: 'front-proxy', mountPath: '/front-proxy', configMap: 'front-proxy-ca' }],
    });
  });

  after(async () => {
    await cluster.down();
  });

  test('extension-apiserver-authentication publishes the front-proxy settings', async () => {
    const data = JSON.parse(await cluster.k(['get', 'configmap', 'extension-apiserver-authentication', '-n', 'kube-system', '-o', 'jsonpath={.data}']));
    assert.match(data['client-ca-file'], /BEGIN CERTIFICATE/);
    assert.match(data['requestheader-client-ca-file'], /BEGIN CERTIFICATE/);
    assert.notEqual(data['requestheader-client-ca-file'], data['client-ca-file']);
    assert.deepEqual(JSON.parse(data['requestheader-allowed-names']), ['front-proxy-client']);
    assert.deepEqual(JSON.parse(data['requestheader-username-headers']), ['X-Remote-User']);
    assert.deepEqual(JSON.parse(data['requestheader-group-headers']), ['X-Remote-Group']);
    assert.deepEqual(JSON.parse(data['requestheader-extra-headers-prefix']), ['X-Remote-Extra-']);
  });

  test('an APIService becomes Available and its group is served through the API server', async () => {
    await applyYaml(cluster, 'apiservice', APISERVICE());
    await waitFor('APIService Available', async () => (await available())?.status === 'True', 120_000, 500);
    const cond = await available();
    assert.equal(cond?.reason, 'Passed');
    assert.equal(cond?.message, 'all checks passed');
    assert.match(await cluster.k(['get', 'apiservices', 'v1.demo.kite.test']), /^v1\.demo\.kite\.test\s+aggr-demo\/demo-api\s+True\s+\S+$/m);

    const resourceList = JSON.parse(await cluster.k(['get', '--raw', '/apis/demo.kite.test/v1']));
    assert.equal(resourceList.groupVersion, 'demo.kite.test/v1');
    const groups = JSON.parse(await cluster.k(['get', '--raw', '/apis']));
    assert.deepEqual(
      groups.groups.find((g: { name: string }) => g.name === 'demo.kite.test'),
      { name: 'demo.kite.test', versions: [{ groupVersion: 'demo.kite.test/v1', version: 'v1' }], preferredVersion: { groupVersion: 'demo.kite.test/v1', version: 'v1' } },
    );
    const group = JSON.parse(await cluster.k(['get', '--raw', '/apis/demo.kite.test']));
    assert.equal(group.kind, 'APIGroup');

    // Discovery (kubectl asks for aggregated discovery first) lists the backend's resources.
    await waitFor('widgets in discovery', async () => /^widgets\s+wdg\s+demo\.kite\.test\/v1\s+true\s+Widget$/m.test((await cluster.kubectl(['api-resources'])).stdout), 60_000, 1000);
    assert.match(await cluster.k(['api-resources', '--api-group=demo.kite.test', '-o', 'name']), /^widgets\.demo\.kite\.test$/m);

    assert.match(await cluster.k(['get', 'widgets']), /^first\s/m);
    const w = JSON.parse(await cluster.k(['get', 'wdg', 'first', '-o', 'json']));
    assert.equal(w.spec.size, 3);

    // The backend saw the front-proxy client certificate and the kubectl user.
    const logs = await cluster.k(['logs', 'deploy/demo-api', '-n', NS]);
    assert.match(logs, /request \/apis\/demo\.kite\.test\/v1\/namespaces\/default\/widgets\/first cn=front-proxy-client user=kubernetes-admin groups=\S*system:masters/);
  });

  test('a watch is streamed through', async () => {
    const watch = cluster.spawnKubectl(['get', 'widgets', '--watch', '--output-watch-events']);
    try {
      await waitFor('the watch event through the proxy', async () => /ADDED\s+second\s/.test(watch.output()), 60_000, 200);
    } finally {
      watch.stop();
      await watch.exited;
    }
  });

  test('a user the API server does not authorize is refused before the backend', async () => {
    const r = await cluster.kubectl(['get', 'widgets', '--as=someone']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(Forbidden\): widgets\.demo\.kite\.test is forbidden: User "someone" cannot list resource "widgets" in API group "demo\.kite\.test" in the namespace "default"/);
  });

  test('without endpoints the APIService is unavailable (MissingEndpoints) and requests answer 503', async () => {
    await cluster.k(['scale', 'deployment', 'demo-api', '-n', NS, '--replicas=0']);
    await endpointsReady(false);
    await waitFor('APIService unavailable', async () => (await available())?.status === 'False', 120_000, 500);
    const cond = await available();
    assert.equal(cond?.reason, 'MissingEndpoints');
    assert.match(cond?.message ?? '', /endpoints for service\/demo-api in "aggr-demo" have no addresses with port name "https"/);
    assert.match(await cluster.k(['get', 'apiservices', 'v1.demo.kite.test']), /^v1\.demo\.kite\.test\s+aggr-demo\/demo-api\s+False \(MissingEndpoints\)\s+\S+$/m);
    const r = await cluster.kubectl(['get', '--raw', '/apis/demo.kite.test/v1/widgets']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(ServiceUnavailable\): the server is currently unable to handle the request/);
  });
});
