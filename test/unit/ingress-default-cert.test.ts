// The ingress controller's default ("fake") certificate: made once per state directory and
// kept there, shared by callers that ask at once, made anew when what is kept is unusable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultIngressCertificate } from '../../ingress/default-cert.js';

function tempFile(): { file: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'kite-ingress-cert-'));
  return { file: join(dir, 'state', 'default.pem'), done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a new certificate is an RSA pair for ingress.local, written to the file (0600) and kept for the next start', async () => {
  const { file, done } = tempFile();
  try {
    const first = await defaultIngressCertificate(file);
    const x509 = new X509Certificate(first.cert);
    assert.equal(createPrivateKey(first.key).asymmetricKeyType, 'rsa');
    assert.ok(x509.checkPrivateKey(createPrivateKey(first.key)));
    assert.match(x509.subject, /CN=Kite Ingress Controller Fake Certificate/);
    assert.match(x509.subjectAltName ?? '', /DNS:ingress\.local/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, 'utf8'), `${first.cert.trim()}\n${first.key.trim()}\n`);
    const again = await defaultIngressCertificate(file);
    assert.equal(again.cert.trim(), first.cert.trim());
    assert.equal(again.key.trim(), first.key.trim());
  } finally {
    done();
  }
});

test('callers that ask at once share one generation', async () => {
  const { file, done } = tempFile();
  try {
    const [a, b] = await Promise.all([defaultIngressCertificate(file), defaultIngressCertificate(file)]);
    assert.equal(a.cert, b.cert);
    assert.equal(readFileSync(file, 'utf8'), `${a.cert.trim()}\n${a.key.trim()}\n`);
  } finally {
    done();
  }
});

test('an unusable kept file (garbage, a key of another certificate) is replaced by a new certificate', async () => {
  const { file, done } = tempFile();
  try {
    const first = await defaultIngressCertificate(file);
    writeFileSync(file, 'not a certificate\n');
    const second = await defaultIngressCertificate(file);
    assert.notEqual(second.cert.trim(), first.cert.trim());
    assert.ok(new X509Certificate(second.cert).checkPrivateKey(createPrivateKey(second.key)));
    // The certificate of one pair with the key of another.
    writeFileSync(file, `${first.cert.trim()}\n${second.key.trim()}\n`);
    const third = await defaultIngressCertificate(file);
    assert.notEqual(third.cert.trim(), first.cert.trim());
    assert.ok(new X509Certificate(third.cert).checkPrivateKey(createPrivateKey(third.key)));
  } finally {
    done();
  }
});

test('without a file, every call makes a new certificate', async () => {
  const a = await defaultIngressCertificate();
  const b = await defaultIngressCertificate();
  assert.notEqual(a.cert, b.cert);
});
