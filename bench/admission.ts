// Dynamic admission's cost: ConfigMap creates/s through the request pipeline of an
// in-process API core (SQLite file, the webhook and policy plugins in its admission
// chain) with nothing configured; with 50 webhook configurations and 50 policy bindings
// that do not match (the per-request matching cost); with one matching
// ValidatingAdmissionPolicy (CEL); with one matching validating webhook on a local HTTPS
// server (a round trip per request).
//
//   node dist/bench/admission.js [--objects 2000] [--concurrency 16]
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../store/sqlite.js';
import { startApiCore, type ApiPolicy } from '../apiserver/api.js';
import { internalContext } from '../apiserver/context.js';
import { mutatingWebhookAdmission, validatingWebhookAdmission } from '../apiserver/admission/webhook.js';
import { validatingAdmissionPolicyAdmission } from '../apiserver/admission/policy.js';
import type { KubeObject } from '../machinery/object.js';
import { createCA, issueServingCert } from '../machinery/pki.js';
import { resourceByPath } from '../machinery/resources.js';
import { runParallel } from './parallel.js';
import { benchArgs } from './args.js';

const args = benchArgs();
const OBJECTS = Number(args.get('objects') ?? 2000);
const CONCURRENCY = Number(args.get('concurrency') ?? 16);

const REG = 'admissionregistration.k8s.io';
const res = (group: string, plural: string) => resourceByPath(group, 'v1', plural)!;

const parallel = (n: number, work: (i: number) => Promise<void>): Promise<number> => runParallel(n, CONCURRENCY, work);

async function main(): Promise<void> {
  const ca = await createCA('bench-ca');
  const serving = await issueServingCert(ca, { commonName: 'bench', ipAddresses: ['127.0.0.1'] });
  const server = createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const uid = JSON.parse(body).request.uid;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/validate`;
  const caBundle = Buffer.from(ca.cert).toString('base64');

  const dir = mkdtempSync(join(tmpdir(), 'kite-bench-admission-'));
  const store = new SqliteStore(join(dir, 'state.db'));
  const policy = (lookups: Parameters<typeof validatingWebhookAdmission>[0]): ApiPolicy => ({
    authorizer: { authorize: () => ({ decision: 'allow', reason: '' }) },
    admission: [mutatingWebhookAdmission(lookups), validatingAdmissionPolicyAdmission(lookups), validatingWebhookAdmission(lookups)],
  });
  const core = await startApiCore(store, policy);
  const ctx = () => internalContext('bench');
  const create = (r: ReturnType<typeof res>, o: object) => core.registry.create(r, undefined, o as KubeObject, ctx());
  const webhook = (name: string, namespaces: string[]) => ({
    name,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    timeoutSeconds: 10,
    clientConfig: { url, caBundle },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
    namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: namespaces }] },
  });
  let round = 0;
  const run = async (label: string): Promise<void> => {
    const ns = `bench-${round++}`;
    await core.registry.create(res('', 'namespaces'), undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, ctx());
    const cms = res('', 'configmaps');
    const ms = await parallel(OBJECTS, async (i) => {
      await core.registry.create(cms, ns, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { n: String(i) } }, ctx());
    });
    console.log(`${label.padEnd(58)} ${Math.round((OBJECTS / ms) * 1000)
      .toString()
      .padStart(6)} creates/s`);
  };
  try {
    console.log(`ConfigMap creates through the pipeline, ${OBJECTS} objects, concurrency ${CONCURRENCY}:`);
    await run('no webhooks or policies');
    for (let i = 0; i < 50; i++) {
      await create(res(REG, 'validatingwebhookconfigurations'), { apiVersion: `${REG}/v1`, kind: 'ValidatingWebhookConfiguration', metadata: { name: `other-${i}` }, webhooks: [webhook(`w${i}.bench.example.com`, ['elsewhere'])] });
      await create(res(REG, 'validatingadmissionpolicies'), {
        apiVersion: `${REG}/v1`,
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: `other-${i}` },
        spec: { matchConstraints: { resourceRules: [{ operations: ['CREATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'] }] }, validations: [{ expression: 'true' }] },
      });
      await create(res(REG, 'validatingadmissionpolicybindings'), { apiVersion: `${REG}/v1`, kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: `other-${i}` }, spec: { policyName: `other-${i}`, validationActions: ['Deny'] } });
    }
    await run('50 webhooks + 50 policy bindings, none matching');
    await create(res(REG, 'validatingadmissionpolicies'), {
      apiVersion: `${REG}/v1`,
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'cm-size' },
      spec: {
        matchConstraints: { resourceRules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }] },
        validations: [{ expression: "!has(object.data) || size(object.data) < 10 && object.metadata.name.startsWith('cm-')" }],
      },
    });
    await create(res(REG, 'validatingadmissionpolicybindings'), { apiVersion: `${REG}/v1`, kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: 'cm-size' }, spec: { policyName: 'cm-size', validationActions: ['Deny'] } });
    await run('+ 1 matching ValidatingAdmissionPolicy (CEL)');
    await create(res(REG, 'validatingwebhookconfigurations'), {
      apiVersion: `${REG}/v1`,
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'matching' },
      webhooks: [{ ...webhook('match.bench.example.com', []), namespaceSelector: {} }],
    });
    await run('+ 1 matching validating webhook (local HTTPS)');
  } finally {
    core.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    server.closeAllConnections();
    server.close();
  }
}

await main();
