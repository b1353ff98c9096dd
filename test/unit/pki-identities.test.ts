// Identities in the cluster PKI: the API server's client certificate towards kubelets,
// and the kubelet's own (system:node:<name>), re-issued when the subject is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNodeCerts } from '../../kubelet/local-node.js';
import { issueClientCert, loadOrCreateClusterPKI, subjectIs } from '../../machinery/pki.js';

test('the cluster PKI has apiserver-kubelet-client (CN kube-apiserver-kubelet-client, O system:masters), kept across loads', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-pki-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = await loadOrCreateClusterPKI(dir);
  const cert = new X509Certificate(first.kubeletClient.cert);
  assert.deepEqual(cert.subject.split('\n').sort(), ['CN=kube-apiserver-kubelet-client', 'O=system:masters']);
  assert.ok(cert.verify(new X509Certificate(first.ca.cert).publicKey));
  assert.equal(statSync(join(dir, 'apiserver-kubelet-client.key')).mode & 0o777, 0o600);
  assert.equal(readFileSync(join(dir, 'apiserver-kubelet-client.crt'), 'utf8'), first.kubeletClient.cert);
  const second = await loadOrCreateClusterPKI(dir);
  assert.deepEqual(second.kubeletClient, first.kubeletClient);

  // A certificate with another subject in its place is replaced.
  const wrong = await issueClientCert(first.ca, { commonName: 'kubernetes-admin', organizations: ['system:masters'] });
  writeFileSync(join(dir, 'apiserver-kubelet-client.crt'), wrong.cert);
  writeFileSync(join(dir, 'apiserver-kubelet-client.key'), wrong.key);
  const third = await loadOrCreateClusterPKI(dir);
  assert.ok(subjectIs(third.kubeletClient.cert, 'kube-apiserver-kubelet-client', ['system:masters']));
});

test('the kubelet client certificate is system:node:<name> in system:nodes, re-issued when its subject is wrong', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-node-pki-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pki = await loadOrCreateClusterPKI(join(dir, 'cluster'));
  const nodePki = join(dir, 'node');
  // What an older kite wrote.
  const old = await issueClientCert(pki.ca, { commonName: 'kubelet-client' });
  await ensureNodeCerts(nodePki, pki.ca, 'n1', '127.0.0.1');
  writeFileSync(join(nodePki, 'kubelet-client.crt'), old.cert);
  writeFileSync(join(nodePki, 'kubelet-client.key'), old.key);
  await ensureNodeCerts(nodePki, pki.ca, 'n1', '127.0.0.1');
  const cert = readFileSync(join(nodePki, 'kubelet-client.crt'), 'utf8');
  assert.deepEqual(new X509Certificate(cert).subject.split('\n').sort(), ['CN=system:node:n1', 'O=system:nodes']);
  // Kept while right.
  await ensureNodeCerts(nodePki, pki.ca, 'n1', '127.0.0.1');
  assert.equal(readFileSync(join(nodePki, 'kubelet-client.crt'), 'utf8'), cert);
  // A renamed node gets its new identity.
  await ensureNodeCerts(nodePki, pki.ca, 'n2', '127.0.0.1');
  assert.ok(subjectIs(readFileSync(join(nodePki, 'kubelet-client.crt'), 'utf8'), 'system:node:n2', ['system:nodes']));
});
