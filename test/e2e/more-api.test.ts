// Acceptance: more of the API, with the real kubectl against a real cluster:
//   - node.k8s.io RuntimeClass: the handler goes to containerd (`runc` runs the pod, an
//     unknown handler fails the sandbox with containerd's words in a
//     FailedCreatePodSandBox event), and an unknown class is refused at admission;
//   - certificates.k8s.io CertificateSigningRequests: `kubectl certificate approve|deny`,
//     the requester stamped on create, the cluster CA issuing kube-apiserver-client and
//     kubelet-serving certificates (the client certificate then logs in), a request the
//     signer refuses marked Failed;
//   - flowcontrol.apiserver.k8s.io: upstream's bootstrap FlowSchemas and priority levels.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, applyYaml, run, waitFor, waitForNodeReady, waitForPod } from './harness.js';

const cluster = new Cluster('hooks-more');
const skip = process.getuid?.() !== 0 ? 'needs root for a real node' : false;

async function json(args: string[]): Promise<any> {
  return JSON.parse(await cluster.k([...args, '-o', 'json']));
}

/** A key and a PEM certificate request for `subject` (openssl), with optional SANs. */
async function certificateRequest(name: string, subject: string, san?: string): Promise<{ key: string; csr: string }> {
  const key = join(cluster.home, `${name}.key`);
  const csr = join(cluster.home, `${name}.csr`);
  const args = ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', subject, '-keyout', key, '-out', csr];
  if (san) args.push('-addext', `subjectAltName=${san}`);
  const r = await run('openssl', args);
  assert.equal(r.code, 0, r.stderr);
  return { key, csr: readFileSync(csr, 'utf8') };
}

const csrObject = (name: string, pem: string, signerName: string, usages: string[]) =>
  JSON.stringify({
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name },
    spec: { request: Buffer.from(pem).toString('base64'), signerName, usages, expirationSeconds: 3600, username: 'someone-else' },
  });

describe('RuntimeClass, CertificateSigningRequest, flowcontrol', { skip }, () => {
  before(async () => {
    await cluster.up();
    await waitForNodeReady(cluster, 120_000);
  });

  after(async () => {
    await cluster.down();
  });

  test('RuntimeClass: runc runs the pod, an unknown handler fails the sandbox, an unknown class is refused', async () => {
    await applyYaml(
      cluster,
      'runtimeclasses',
      `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: runc}
handler: runc
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: nowhere}
handler: nonexistent
`,
    );
    assert.match(await cluster.k(['get', 'runtimeclass']), /^nowhere\s+nonexistent\s+\S+$/m);
    const pod = (name: string, rc: string) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: { runtimeClassName: rc, containers: [{ name: 'c', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] },
      });
    await cluster.k(['apply', '-f', '-'], { stdin: pod('with-runc', 'runc') });
    await waitForPod(cluster, 'with-runc', 'running', (p) => p.status?.phase === 'Running', 120_000);
    await cluster.k(['apply', '-f', '-'], { stdin: pod('with-nowhere', 'nowhere') });
    const event = await waitFor(
      'FailedCreatePodSandBox event',
      async () => {
        const list = await json(['get', 'events', '--field-selector', 'involvedObject.name=with-nowhere,reason=FailedCreatePodSandBox']);
        return list.items[0];
      },
      90_000,
      500,
    );
    assert.equal(event.type, 'Warning');
    assert.match(event.message, /^Failed to create pod sandbox: rpc error: code = \w+ desc = .*no runtime for "nonexistent" is configured/);
    const p = await json(['get', 'pod', 'with-nowhere']);
    assert.equal(p.status.phase, 'Pending');
    const refused = await cluster.kubectl(['apply', '-f', '-'], { stdin: pod('with-missing', 'missing') });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /pods "with-missing" is forbidden: pod rejected: RuntimeClass "missing" not found/);
  });

  test('CertificateSigningRequest: approve issues a client certificate that logs in; deny; kubelet-serving; refusals', async () => {
    const alice = await certificateRequest('alice', '/CN=alice/O=devs');
    await cluster.k(['apply', '-f', '-'], { stdin: csrObject('alice', alice.csr, 'kubernetes.io/kube-apiserver-client', ['client auth', 'digital signature']) });
    const created = await json(['get', 'csr', 'alice']);
    assert.equal(created.spec.username, 'kubernetes-admin');
    assert.ok(created.spec.groups.includes('system:masters'));
    assert.match(await cluster.k(['get', 'csr', 'alice']), /^alice\s+\S+\s+kubernetes\.io\/kube-apiserver-client\s+kubernetes-admin\s+60m\s+Pending$/m);
    assert.match(await cluster.k(['certificate', 'approve', 'alice']), /certificatesigningrequest\.certificates\.k8s\.io\/alice approved/);
    const issued = await waitFor('alice certificate', async () => (await json(['get', 'csr', 'alice'])).status?.certificate, 30_000, 300);
    assert.match(await cluster.k(['get', 'csr', 'alice']), /Approved,Issued$/m);
    const crt = cluster.writeFile('alice.crt', Buffer.from(issued, 'base64').toString('utf8'));
    // The issued certificate authenticates as alice in group devs.
    await cluster.k(['config', 'set-credentials', 'alice-user', '--client-certificate', crt, '--client-key', alice.key, '--embed-certs']);
    const whoami = await cluster.k(['auth', 'whoami', '-o', 'json', '--user', 'alice-user']);
    const who = JSON.parse(whoami).status.userInfo;
    assert.equal(who.username, 'alice');
    assert.ok(who.groups.includes('devs'));

    const bob = await certificateRequest('bob', '/CN=bob');
    await cluster.k(['apply', '-f', '-'], { stdin: csrObject('bob', bob.csr, 'kubernetes.io/kube-apiserver-client', ['client auth']) });
    assert.match(await cluster.k(['certificate', 'deny', 'bob']), /certificatesigningrequest\.certificates\.k8s\.io\/bob denied/);
    const denied = await json(['get', 'csr', 'bob']);
    assert.equal(denied.status.conditions[0].type, 'Denied');
    assert.equal(denied.status.certificate, undefined);
    // kubectl refuses to approve a denied request; the server does too.
    assert.match((await cluster.kubectl(['certificate', 'approve', 'bob', '--force'])).stderr, /certificate signing request "bob" is already Denied/);
    denied.status.conditions.push({ type: 'Approved', status: 'True', reason: 'Manual', message: 'approved by hand' });
    const both = await cluster.kubectl(['replace', '--raw', '/apis/certificates.k8s.io/v1/certificatesigningrequests/bob/approval', '-f', cluster.writeFile('bob.json', JSON.stringify(denied))]);
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /status\.conditions\[1\]\.type: Invalid value: "Approved": Approved and Denied conditions are mutually exclusive/);

    const node = await certificateRequest('serving', '/O=system:nodes/CN=system:node:worker-1', 'DNS:worker-1,IP:10.0.0.7');
    await cluster.k(['apply', '-f', '-'], { stdin: csrObject('serving', node.csr, 'kubernetes.io/kubelet-serving', ['server auth', 'digital signature']) });
    await cluster.k(['certificate', 'approve', 'serving']);
    const servingCert = await waitFor('serving certificate', async () => (await json(['get', 'csr', 'serving'])).status?.certificate, 30_000, 300);
    const text = await run('openssl', ['x509', '-noout', '-text'], { stdin: Buffer.from(servingCert, 'base64').toString('utf8') });
    assert.match(text.stdout, /DNS:worker-1, IP Address:10\.0\.0\.7/);
    assert.match(text.stdout, /TLS Web Server Authentication/);

    // The signer refuses a serving certificate outside system:nodes.
    const wrong = await certificateRequest('wrong', '/CN=system:node:worker-2', 'DNS:worker-2');
    await cluster.k(['apply', '-f', '-'], { stdin: csrObject('wrong', wrong.csr, 'kubernetes.io/kubelet-serving', ['server auth']) });
    await cluster.k(['certificate', 'approve', 'wrong']);
    const failed = await waitFor(
      'Failed condition',
      async () => ((await json(['get', 'csr', 'wrong'])).status?.conditions ?? []).find((c: any) => c.type === 'Failed'),
      30_000,
      300,
    );
    assert.equal(failed.reason, 'SignerValidationFailure');
    assert.match(await cluster.k(['get', 'csr', 'wrong']), /Approved,Failed$/m);
  });

  test('flowcontrol: upstream bootstrap FlowSchemas and PriorityLevelConfigurations', async () => {
    // The Dangling conditions are written by the API server's status controller just after start.
    const fs = await waitFor('flowschemas with their Dangling status', async () => {
      const out = await cluster.k(['get', 'flowschemas']);
      return /^catch-all\s.*\sFalse$/m.test(out) ? out : undefined;
    });
    assert.match(fs, /^NAME\s+PRIORITYLEVEL\s+MATCHINGPRECEDENCE\s+DISTINGUISHERMETHOD\s+AGE\s+MISSINGPL$/m);
    const names = fs
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[0]);
    assert.deepEqual(names, [
      'exempt',
      'probes',
      'system-leader-election',
      'endpoint-controller',
      'workload-leader-election',
      'system-node-high',
      'system-nodes',
      'kube-controller-manager',
      'kube-scheduler',
      'kube-system-service-accounts',
      'service-accounts',
      'global-default',
      'catch-all',
    ]);
    assert.match(fs, /^catch-all\s+catch-all\s+10000\s+ByUser\s+\S+\s+False$/m);
    const plc = await cluster.k(['get', 'prioritylevelconfigurations']);
    assert.match(plc, /^exempt\s+Exempt\s+<none>\s+<none>\s+<none>\s+<none>\s+\S+$/m);
    assert.match(plc, /^workload-low\s+Limited\s+100\s+128\s+6\s+50\s+\S+$/m);
    // A schema naming a missing level is Dangling until the level exists.
    await applyYaml(
      cluster,
      'flowschema',
      `apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: hooks-fs}
spec:
  priorityLevelConfiguration: {name: hooks-level}
  matchingPrecedence: 5000
  rules:
  - subjects: [{kind: Group, group: {name: hooks}}]
    nonResourceRules: [{verbs: ["*"], nonResourceURLs: ["*"]}]
`,
    );
    await waitFor('Dangling True', async () => /^hooks-fs\s+hooks-level\s+5000\s+<none>\s+\S+\s+True$/m.test(await cluster.k(['get', 'flowschema', 'hooks-fs'])), 30_000, 300);
    await applyYaml(
      cluster,
      'level',
      `apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata: {name: hooks-level}
spec:
  type: Limited
  limited: {nominalConcurrencyShares: 5, limitResponse: {type: Reject}}
`,
    );
    await waitFor('Dangling False', async () => /^hooks-fs\s+hooks-level\s+5000\s+<none>\s+\S+\s+False$/m.test(await cluster.k(['get', 'flowschema', 'hooks-fs'])), 30_000, 300);
  });

  test('apiregistration: local APIServices for the built-in groups', async () => {
    const table = await cluster.k(['get', 'apiservices']);
    assert.match(table, /^NAME\s+SERVICE\s+AVAILABLE\s+AGE$/m);
    for (const name of ['v1', 'v1.apps', 'v2.autoscaling', 'v1.admissionregistration.k8s.io', 'v1.apiregistration.k8s.io']) {
      assert.match(table, new RegExp(`^${name.replace(/\./g, '\\.')}\\s+Local\\s+True\\s+\\S+$`, 'm'));
    }
    const apps = await json(['get', 'apiservice', 'v1.apps']);
    assert.deepEqual(apps.spec, { group: 'apps', version: 'v1', groupPriorityMinimum: 17800, versionPriority: 15 });
    const bad = await cluster.kubectl(['apply', '-f', '-'], {
      stdin: JSON.stringify({ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: 'wrong' }, spec: { group: 'example.com', version: 'v1', groupPriorityMinimum: 100, versionPriority: 10 } }),
    });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /metadata\.name: Invalid value: "wrong": must be v1\.example\.com/);
  });
});
