// The webhook admission plugins against a local HTTPS webhook (url clientConfig):
// rule matching, reinvocation of IfNeeded webhooks, timeouts under both failure
// policies, configuration changes picked up without a restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { KubeObject } from '../../machinery/object.js';
import { createCA, issueServingCert } from '../../machinery/pki.js';
import { resourceByPath } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';
import type { AdmissionRequest } from '../../apiserver/admission/chain.js';
import { mutatingWebhookAdmission, ruleMatches, validatingWebhookAdmission, type WebhookLookups } from '../../apiserver/admission/webhook.js';

const CONFIGMAPS = resourceByPath('', 'v1', 'configmaps')!;
const PODS = resourceByPath('', 'v1', 'pods')!;

function request(obj: KubeObject, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    operation: 'CREATE',
    resource: CONFIGMAPS,
    subresource: '',
    namespace: 'default',
    name: obj.metadata?.name ?? '',
    object: obj,
    user: { name: 'tester', groups: ['system:authenticated'] },
    dryRun: false,
    warnings: [],
    ...extra,
  };
}

class FakeLookups implements WebhookLookups {
  readonly objects = new Map<string, KubeObject[]>();
  private readonly listeners = new Map<string, (() => void)[]>();
  get(): KubeObject | undefined {
    return undefined;
  }
  list(group: string, plural: string): KubeObject[] {
    return this.objects.get(`${group}/${plural}`) ?? [];
  }
  onChange(group: string, plural: string, fn: () => void): void {
    const k = `${group}/${plural}`;
    this.listeners.set(k, [...(this.listeners.get(k) ?? []), fn]);
  }
  set(plural: string, objs: KubeObject[]): void {
    const k = `admissionregistration.k8s.io/${plural}`;
    this.objects.set(k, objs);
    for (const fn of this.listeners.get(k) ?? []) fn();
  }
}

describe('admission webhooks', () => {
  let server: Server;
  let base = '';
  let caBundle = '';
  const calls: string[] = [];

  before(async () => {
    const ca = await createCA('webhook-test-ca');
    const cert = await issueServingCert(ca, { commonName: 'webhook', ipAddresses: ['127.0.0.1'] });
    caBundle = Buffer.from(ca.cert).toString('base64');
    server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const path = (req.url ?? '').split('?')[0];
        calls.push(path);
        if (path === '/hang') return; // never answers
        const review = JSON.parse(body);
        const obj = review.request.object;
        const response: Record<string, unknown> = { uid: review.request.uid, allowed: true };
        const patch = (ops: unknown[]) => {
          response.patchType = 'JSONPatch';
          response.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
        };
        const labels = obj?.metadata?.labels;
        if (path === '/first') patch(labels ? [{ op: 'add', path: '/metadata/labels/first', value: String(calls.filter((c) => c === '/first').length) }] : [{ op: 'add', path: '/metadata/labels', value: { first: '1' } }]);
        if (path === '/second') patch([{ op: 'add', path: '/metadata/labels/second', value: 'yes' }]);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const webhook = (name: string, path: string, extra: Record<string, unknown> = {}) => ({
    name,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    timeoutSeconds: 10,
    namespaceSelector: {},
    objectSelector: {},
    clientConfig: { url: `${base}${path}`, caBundle },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], scope: '*' }],
    ...extra,
  });

  test('rules: resources, subresources and scope as upstream', () => {
    const req = (sub: string, ns = 'default') => request({ metadata: { name: 'x' } }, { resource: PODS, subresource: sub, namespace: ns, operation: 'UPDATE' });
    const rule = (resources: string[], scope = '*') => ({ operations: ['*'], apiGroups: [''], apiVersions: ['v1'], resources, scope });
    assert.equal(ruleMatches(rule(['*']), req(''), PODS), true);
    assert.equal(ruleMatches(rule(['*']), req('status'), PODS), false);
    assert.equal(ruleMatches(rule(['*/*']), req('status'), PODS), true);
    assert.equal(ruleMatches(rule(['pods/*']), req('status'), PODS), true);
    assert.equal(ruleMatches(rule(['*/status']), req('status'), PODS), true);
    assert.equal(ruleMatches(rule(['*/status']), req('log'), PODS), false);
    assert.equal(ruleMatches(rule(['pods'], 'Cluster'), req(''), PODS), false);
    assert.equal(ruleMatches(rule(['pods'], 'Namespaced'), req(''), PODS), true);
  });

  test('a webhook with IfNeeded is called again when a later webhook changed the object', async () => {
    const lookups = new FakeLookups();
    const plugin = mutatingWebhookAdmission(lookups);
    lookups.set('mutatingwebhookconfigurations', [
      { metadata: { name: 'a' }, webhooks: [webhook('first.example.com', '/first', { reinvocationPolicy: 'IfNeeded' })] },
      { metadata: { name: 'b' }, webhooks: [webhook('second.example.com', '/second', { reinvocationPolicy: 'Never' })] },
    ]);
    calls.length = 0;
    const req = request({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default' } });
    await plugin.admit!(req);
    assert.deepEqual(calls, ['/first', '/second', '/first']);
    assert.deepEqual(req.object!.metadata!.labels, { first: '2', second: 'yes' });
  });

  test('a webhook that does not answer in time: Fail refuses with upstream words, Ignore lets the request through', async () => {
    const lookups = new FakeLookups();
    const plugin = validatingWebhookAdmission(lookups);
    lookups.set('validatingwebhookconfigurations', [{ metadata: { name: 'slow' }, webhooks: [webhook('slow.example.com', '/hang', { timeoutSeconds: 1 })] }]);
    const req = request({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default' } });
    await assert.rejects(
      () => plugin.validate!(req) as Promise<void>,
      (err: unknown) =>
        err instanceof StatusError &&
        err.code === 500 &&
        err.message === `Internal error occurred: failed calling webhook "slow.example.com": failed to call webhook: Post "${base}/hang?timeout=1s": context deadline exceeded`,
    );
    // The configuration change is seen at once.
    lookups.set('validatingwebhookconfigurations', [{ metadata: { name: 'slow' }, webhooks: [webhook('slow.example.com', '/hang', { timeoutSeconds: 1, failurePolicy: 'Ignore' })] }]);
    await plugin.validate!(req);
  });

  test('a certificate from another CA is refused', async () => {
    const lookups = new FakeLookups();
    const plugin = validatingWebhookAdmission(lookups);
    const other = await createCA('other');
    const hook = webhook('tls.example.com', '/ok');
    (hook.clientConfig as { caBundle: string }).caBundle = Buffer.from(other.cert).toString('base64');
    lookups.set('validatingwebhookconfigurations', [{ metadata: { name: 'tls' }, webhooks: [hook] }]);
    await assert.rejects(
      () => plugin.validate!(request({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } })) as Promise<void>,
      /failed calling webhook "tls\.example\.com": failed to call webhook: Post ".*": tls: failed to verify certificate: x509: certificate signed by unknown authority/,
    );
  });
});
