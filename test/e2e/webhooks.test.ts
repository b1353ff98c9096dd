// Acceptance: dynamic admission webhooks served by a pod in the cluster (a small HTTPS
// server in Python — the host's python3 run inside a busybox pod — behind a Service,
// with a certificate for `webhook.hooks-test.svc` from a CA given as `caBundle`), driven
// by the real kubectl:
//   - a validating webhook rejects a ConfigMap with its message, upstream's wording;
//   - namespaceSelector, objectSelector and matchConditions decide which requests go;
//   - a mutating webhook adds a label (JSONPatch), dry-run included;
//   - with the webhook down, failurePolicy Ignore lets requests through and Fail refuses them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, applyYaml, waitForNodeReady, waitForServiceEndpoints } from './harness.js';
import { deployPythonHttpsServer, hostPythonSkip } from './host-python.js';

const cluster = new Cluster('hooks-webhooks');
const skip = hostPythonSkip();

const NS = 'hooks-test';
let caBundle = '';

const SERVER = `
import base64, json, ssl
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        review = json.loads(self.rfile.read(int(self.headers['content-length'])))
        req = review['request']
        obj = req.get('object') or {}
        resp = {'uid': req['uid'], 'allowed': True}
        if self.path.startswith('/validate'):
            if 'forbidden' in (obj.get('data') or {}):
                resp = {'uid': req['uid'], 'allowed': False, 'status': {'code': 403, 'reason': 'Forbidden', 'message': 'the key "forbidden" is not allowed here'}}
            elif 'warn' in (obj.get('data') or {}):
                resp['warnings'] = ['the key "warn" is deprecated']
        elif self.path.startswith('/mutate'):
            ops = []
            if (obj.get('metadata') or {}).get('labels') is None:
                ops.append({'op': 'add', 'path': '/metadata/labels', 'value': {}})
            ops.append({'op': 'add', 'path': '/metadata/labels/mutated-by', 'value': 'webhook'})
            if req.get('dryRun'):
                ops.append({'op': 'add', 'path': '/metadata/labels/dry-run', 'value': 'seen'})
            resp['patchType'] = 'JSONPatch'
            resp['patch'] = base64.b64encode(json.dumps(ops).encode()).decode()
        body = json.dumps({'apiVersion': 'admission.k8s.io/v1', 'kind': 'AdmissionReview', 'response': resp}).encode()
        self.send_response(200)
        self.send_header('content-type', 'application/json')
        self.send_header('content-length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        print(self.path, req['operation'], req.get('namespace'), req.get('name'), flush=True)
    def log_message(self, *args):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain('/tls/tls.crt', '/tls/tls.key')
server = ThreadingHTTPServer(('0.0.0.0', 8443), H)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print('serving', flush=True)
server.serve_forever()
`;

function validating(name: string, failurePolicy = 'Fail'): string {
  return `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: ${name}}
webhooks:
- name: deny.hooks.kite.dev
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: ${failurePolicy}
  timeoutSeconds: 5
  clientConfig:
    service: {namespace: ${NS}, name: webhook, path: /validate}
    caBundle: ${caBundle}
  rules:
  - {operations: [CREATE, UPDATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps], scope: Namespaced}
  namespaceSelector: {matchLabels: {webhooks: "on"}}
  objectSelector: {matchExpressions: [{key: skip-webhooks, operator: DoesNotExist}]}
  matchConditions:
  - {name: not-root-ca, expression: "object.metadata.name != 'kube-root-ca.crt'"}
`;
}

const MUTATING = () => `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: hooks-label}
webhooks:
- name: label.hooks.kite.dev
  admissionReviewVersions: [v1]
  sideEffects: None
  reinvocationPolicy: IfNeeded
  clientConfig:
    service: {namespace: ${NS}, name: webhook, path: /mutate}
    caBundle: ${caBundle}
  rules:
  - {operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}
  namespaceSelector: {matchLabels: {webhooks: "on"}}
  objectSelector: {matchLabels: {mutate: "yes"}}
`;

const cm = (name: string, data: Record<string, string>, labels: Record<string, string> = {}, ns = 'guarded') =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels }, data });

const webhookReady = (want: boolean): Promise<void> => waitForServiceEndpoints(cluster, NS, 'webhook', want);

describe('admission webhooks served by a pod', { skip }, () => {
  before(async () => {
    await cluster.up();
    await waitForNodeReady(cluster, 120_000);
    await cluster.k(['create', 'namespace', NS]);
    await cluster.k(['create', 'namespace', 'guarded']);
    await cluster.k(['label', 'namespace', 'guarded', 'webhooks=on']);
    await cluster.k(['create', 'namespace', 'open']);
    caBundle = await deployPythonHttpsServer(cluster, { namespace: NS, name: 'webhook', script: SERVER });
  });

  after(async () => {
    await cluster.down();
  });

  test('webhook configurations are served: discovery, table, explain', async () => {
    const resources = await cluster.k(['api-resources', '--api-group=admissionregistration.k8s.io', '-o', 'name']);
    for (const r of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations', 'validatingadmissionpolicies', 'validatingadmissionpolicybindings']) {
      assert.match(resources, new RegExp(`^${r}\\.admissionregistration\\.k8s\\.io$`, 'm'));
    }
    await applyYaml(cluster, 'validating', validating('hooks-deny'));
    const table = await cluster.k(['get', 'validatingwebhookconfigurations', 'hooks-deny']);
    assert.match(table, /^NAME\s+WEBHOOKS\s+AGE\n^hooks-deny\s+1\s+\S+$/m);
    const obj = JSON.parse(await cluster.k(['get', 'validatingwebhookconfiguration', 'hooks-deny', '-o', 'json']));
    assert.equal(obj.webhooks[0].matchPolicy, 'Equivalent');
    assert.equal(obj.webhooks[0].timeoutSeconds, 5);
    assert.equal(obj.webhooks[0].clientConfig.service.port, 443);
    assert.match(await cluster.k(['explain', 'validatingwebhookconfiguration.webhooks.failurePolicy']), /FIELD:\s+failurePolicy/);
    const bad = await cluster.kubectl(['apply', '-f', '-'], {
      stdin: JSON.stringify({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: 'bad' },
        webhooks: [{ name: 'short', admissionReviewVersions: ['v1'], clientConfig: { url: 'https://example.com/' } }],
      }),
    });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /webhooks\[0\]\.name: Invalid value: "short": should be a domain with at least three segments separated by dots/);
    assert.match(bad.stderr, /webhooks\[0\]\.sideEffects: Unsupported value: "": supported values: "None", "NoneOnDryRun"/);
  });

  test('a validating webhook rejects an object with its message', async () => {
    await applyYaml(cluster, 'validating', validating('hooks-deny'));
    const denied = await cluster.kubectl(['apply', '-f', '-'], { stdin: cm('bad', { forbidden: 'x' }) });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Error from server \(Forbidden\): error when creating "STDIN": admission webhook "deny\.hooks\.kite\.dev" denied the request: the key "forbidden" is not allowed here/);
    // Allowed objects pass, and the webhook's warnings reach kubectl.
    const warned = await cluster.kubectl(['apply', '-f', '-'], { stdin: cm('warned', { warn: 'x' }) });
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /Warning: the key "warn" is deprecated/);
    // Not sent: a namespace outside the namespaceSelector, an object outside the objectSelector.
    await cluster.k(['apply', '-f', '-'], { stdin: cm('bad', { forbidden: 'x' }, {}, 'open') });
    await cluster.k(['apply', '-f', '-'], { stdin: cm('skipped', { forbidden: 'x' }, { 'skip-webhooks': 'true' }) });
    // An update is checked too.
    const upd = await cluster.kubectl(['patch', 'configmap', 'warned', '-n', 'guarded', '--type=merge', '-p', '{"data":{"forbidden":"y"}}']);
    assert.notEqual(upd.code, 0);
    assert.match(upd.stderr, /admission webhook "deny\.hooks\.kite\.dev" denied the request: the key "forbidden" is not allowed here/);
  });

  test('a mutating webhook adds a label', async () => {
    await applyYaml(cluster, 'mutating', MUTATING());
    await cluster.k(['apply', '-f', '-'], { stdin: cm('labelled', { a: 'b' }, { mutate: 'yes' }) });
    const labels = JSON.parse(await cluster.k(['get', 'configmap', 'labelled', '-n', 'guarded', '-o', 'jsonpath={.metadata.labels}']));
    assert.deepEqual(labels, { mutate: 'yes', 'mutated-by': 'webhook' });
    // A dry run is sent with dryRun=true (the webhook has no side effects) and answers the mutated object.
    const dry = JSON.parse(await cluster.k(['create', '-f', '-', '--dry-run=server', '-o', 'json'], { stdin: cm('dry', { a: 'b' }, { mutate: 'yes' }) }));
    assert.equal(dry.metadata.labels['mutated-by'], 'webhook');
    assert.equal(dry.metadata.labels['dry-run'], 'seen');
    assert.equal((await cluster.kubectl(['get', 'configmap', 'dry', '-n', 'guarded'])).code, 1);
    // Objects outside the objectSelector are left alone.
    await cluster.k(['apply', '-f', '-'], { stdin: cm('plain', { a: 'b' }) });
    assert.equal(await cluster.k(['get', 'configmap', 'plain', '-n', 'guarded', '-o', 'jsonpath={.metadata.labels}']), '');
  });

  test('with the webhook down, failurePolicy Ignore lets requests through and Fail refuses them', async () => {
    await cluster.k(['delete', 'mutatingwebhookconfiguration', 'hooks-label']);
    await cluster.k(['scale', 'deployment', 'webhook', '-n', NS, '--replicas=0']);
    await webhookReady(false);
    await applyYaml(cluster, 'validating', validating('hooks-deny', 'Ignore'));
    await cluster.k(['apply', '-f', '-'], { stdin: cm('while-down', { forbidden: 'x' }) });
    await applyYaml(cluster, 'validating', validating('hooks-deny', 'Fail'));
    const failed = await cluster.kubectl(['apply', '-f', '-'], { stdin: cm('while-down-2', { a: 'b' }) });
    assert.notEqual(failed.code, 0);
    assert.match(
      failed.stderr,
      /Error from server \(InternalError\): error when creating "STDIN": Internal error occurred: failed calling webhook "deny\.hooks\.kite\.dev": failed to call webhook: Post "https:\/\/webhook\.hooks-test\.svc:443\/validate\?timeout=5s": no endpoints available for service "webhook"/,
    );
    // The configuration itself is never sent to webhooks, so it can always be removed.
    await cluster.k(['delete', 'validatingwebhookconfiguration', 'hooks-deny']);
    await cluster.k(['apply', '-f', '-'], { stdin: cm('while-down-2', { a: 'b' }) });
  });
});
