import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createCA,
  hostIPv4Addresses,
  primaryHostIPv4,
  issueClientCert,
  issueServingCert,
  loadOrCreateClusterPKI,
} from '../../machinery/pki.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const YEAR_MS = 365 * 24 * 3600 * 1000;

test('createCA makes a self-signed CA valid for about ten years', async () => {
  const ca = await createCA('kubernetes');
  const cert = new X509Certificate(ca.cert);
  assert.equal(cert.ca, true);
  assert.equal(cert.subject, 'CN=kubernetes');
  assert.equal(cert.issuer, 'CN=kubernetes');
  assert.ok(cert.verify(cert.publicKey));
  assert.ok(cert.checkPrivateKey(createPrivateKey(ca.key)));
  const years = (new Date(cert.validTo).getTime() - Date.now()) / YEAR_MS;
  assert.ok(years > 9.9 && years < 10.1, `CA validity ${years} years`);
  assert.ok(new Date(cert.validFrom).getTime() <= Date.now());
  assert.match(ca.key, /^-----BEGIN PRIVATE KEY-----\n/);
});

test('issueServingCert chains to the CA and covers its names and addresses', async () => {
  const ca = await createCA('test-ca');
  const caCert = new X509Certificate(ca.cert);
  const pair = await issueServingCert(ca, {
    commonName: 'kube-apiserver',
    dnsNames: ['localhost', 'kubernetes.default.svc'],
    ipAddresses: ['127.0.0.1', '::1', '10.96.0.1'],
  });
  const cert = new X509Certificate(pair.cert);
  assert.ok(cert.verify(caCert.publicKey));
  assert.ok(cert.checkIssued(caCert));
  assert.equal(cert.ca, false);
  assert.ok(cert.checkPrivateKey(createPrivateKey(pair.key)));
  assert.equal(cert.checkHost('kubernetes.default.svc'), 'kubernetes.default.svc');
  assert.equal(cert.checkHost('localhost'), 'localhost');
  assert.equal(cert.checkHost('example.com'), undefined);
  assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
  assert.ok(cert.checkIP('::1'));
  assert.equal(cert.checkIP('10.96.0.1'), '10.96.0.1');
  assert.equal(cert.checkIP('10.96.0.2'), undefined);
  assert.deepEqual(cert.keyUsage, [SERVER_AUTH]);
  const years = (new Date(cert.validTo).getTime() - Date.now()) / YEAR_MS;
  assert.ok(years > 0.99 && years < 1.01, `leaf validity ${years} years`);
  // A certificate from another CA does not verify.
  const other = new X509Certificate((await createCA('other')).cert);
  assert.equal(cert.verify(other.publicKey), false);
  assert.equal(cert.checkIssued(other), false);
});

test('issueClientCert carries user (CN) and groups (O)', async () => {
  const ca = await createCA('test-ca');
  const pair = await issueClientCert(ca, { commonName: 'kubernetes-admin', organizations: ['system:masters'] });
  const cert = new X509Certificate(pair.cert);
  assert.ok(cert.verify(new X509Certificate(ca.cert).publicKey));
  assert.deepEqual(cert.subject.split('\n').sort(), ['CN=kubernetes-admin', 'O=system:masters']);
  assert.deepEqual(cert.keyUsage, [CLIENT_AUTH]);
  assert.equal(cert.subjectAltName, undefined);

  const node = await issueClientCert(ca, { commonName: 'system:node:n1', organizations: ['system:nodes', 'extra'] });
  assert.deepEqual(new X509Certificate(node.cert).subject.split('\n').sort(), ['CN=system:node:n1', 'O=extra', 'O=system:nodes']);
});

test('leaves of several CAs issued in turn and at once each chain to their own CA, named by its key identifier', async () => {
  const cas = await Promise.all([createCA('ca-one'), createCA('ca-two'), createCA('ca-three')]);
  const leaves = await Promise.all(cas.flatMap((ca, i) => [0, 1].map((n) => issueClientCert(ca, { commonName: `user-${i}-${n}` }).then((leaf) => ({ leaf, i })))));
  for (const { leaf, i } of leaves) {
    const cert = new X509Certificate(leaf.cert);
    for (const [j, ca] of cas.entries()) {
      const caCert = new X509Certificate(ca.cert);
      assert.equal(cert.verify(caCert.publicKey), i === j, `leaf of CA ${i} verifies against CA ${j}: ${i === j}`);
      assert.equal(cert.checkIssued(caCert), i === j);
    }
  }
  // A CA whose key does not parse fails each issue, not only the first.
  const broken = { cert: cas[0]!.cert, key: 'not a key' };
  await assert.rejects(issueClientCert(broken, { commonName: 'x' }));
  await assert.rejects(issueClientCert(broken, { commonName: 'y' }));
});

test('loadOrCreateClusterPKI creates the files once and reuses them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-pki-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const first = await loadOrCreateClusterPKI(dir, { dnsNames: ['kite.example'], ipAddresses: ['192.0.2.10'] });
  const files = ['ca.crt', 'ca.key', 'apiserver.crt', 'apiserver.key', 'admin.crt', 'admin.key', 'service-account.key', 'service-account.pub'];
  for (const f of files) {
    const mode = statSync(join(dir, f)).mode & 0o777;
    if (f.endsWith('.key')) assert.equal(mode, 0o600, `${f} mode ${mode.toString(8)}`);
    else assert.equal(mode & 0o077 & ~0o044, 0, `${f} mode ${mode.toString(8)}`);
  }
  assert.equal(statSync(dir).mode & 0o777, 0o700);

  const ca = new X509Certificate(first.ca.cert);
  const apiserver = new X509Certificate(first.apiserver.cert);
  assert.ok(apiserver.verify(ca.publicKey));
  for (const host of ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'kite.example']) {
    assert.equal(apiserver.checkHost(host), host);
  }
  for (const ip of ['127.0.0.1', '10.96.0.1', '192.0.2.10', primaryHostIPv4()]) assert.equal(apiserver.checkIP(ip), ip);
  // Only the addresses the cluster uses: not every interface (other clusters' bridges).
  const named = apiserver.subjectAltName!.split(', ').filter((e) => e.startsWith('IP Address:')).map((e) => e.slice(11));
  assert.deepEqual(new Set(named), new Set(['127.0.0.1', '0:0:0:0:0:0:0:1', '10.96.0.1', '192.0.2.10', primaryHostIPv4()]));
  for (const ip of hostIPv4Addresses()) if (ip !== primaryHostIPv4()) assert.equal(apiserver.checkIP(ip), undefined, `${ip} is not named`);
  assert.ok(apiserver.checkIP('::1'));

  const admin = new X509Certificate(first.admin.cert);
  assert.ok(admin.verify(ca.publicKey));
  assert.deepEqual(admin.subject.split('\n').sort(), ['CN=kubernetes-admin', 'O=system:masters']);
  assert.equal(readFileSync(join(dir, 'admin.crt'), 'utf8'), first.admin.cert);

  // Service-account keys sign and verify (RS256-style).
  const data = Buffer.from('header.payload');
  const sig = sign('sha256', data, first.serviceAccount.privateKey);
  assert.ok(verify('sha256', data, first.serviceAccount.publicKey, sig));

  // Second call: everything reused byte for byte.
  const second = await loadOrCreateClusterPKI(dir, { dnsNames: ['kite.example'], ipAddresses: ['192.0.2.10'] });
  assert.deepEqual(second.ca, first.ca);
  assert.deepEqual(second.apiserver, first.apiserver);
  assert.deepEqual(second.admin, first.admin);
  assert.deepEqual(second.serviceAccount, first.serviceAccount);

  // A new required address re-issues only the serving certificate, from the same CA.
  const third = await loadOrCreateClusterPKI(dir, { ipAddresses: ['192.0.2.11'] });
  assert.deepEqual(third.ca, first.ca);
  assert.deepEqual(third.admin, first.admin);
  assert.notEqual(third.apiserver.cert, first.apiserver.cert);
  assert.equal(new X509Certificate(third.apiserver.cert).checkIP('192.0.2.11'), '192.0.2.11');
  assert.ok(new X509Certificate(third.apiserver.cert).verify(ca.publicKey));

  // Lost leaf files are re-created; a lost .pub is derived from the private key.
  unlinkSync(join(dir, 'admin.crt'));
  unlinkSync(join(dir, 'admin.key'));
  unlinkSync(join(dir, 'service-account.pub'));
  const fourth = await loadOrCreateClusterPKI(dir);
  assert.deepEqual(fourth.ca, first.ca);
  // An address no longer used (192.0.2.11) is dropped: the serving certificate is re-issued without it.
  assert.equal(new X509Certificate(fourth.apiserver.cert).checkIP('192.0.2.11'), undefined);
  assert.deepEqual((await loadOrCreateClusterPKI(dir)).apiserver, fourth.apiserver, 'stable once exact');
  assert.notEqual(fourth.admin.cert, first.admin.cert);
  assert.ok(new X509Certificate(fourth.admin.cert).verify(ca.publicKey));
  assert.equal(
    createPublicKey(readFileSync(join(dir, 'service-account.pub'), 'utf8')).export({ type: 'spki', format: 'pem' }),
    createPublicKey(first.serviceAccount.publicKey).export({ type: 'spki', format: 'pem' }),
  );

  // Half a pair is an error, not a silent new CA.
  unlinkSync(join(dir, 'ca.key'));
  await assert.rejects(loadOrCreateClusterPKI(dir), /incomplete PKI/);
});

test('mutual TLS works with the serving and admin certificates', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-pki-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pki = await loadOrCreateClusterPKI(dir);

  const server = createServer(
    { cert: pki.apiserver.cert, key: pki.apiserver.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      res.end(JSON.stringify({ authorized: socket.authorized, cn: peer.subject?.CN, o: peer.subject?.O }));
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;

  const get = (servername: string | undefined, withClientCert: boolean): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/',
          servername,
          ca: pki.ca.cert,
          ...(withClientCert ? { cert: pki.admin.cert, key: pki.admin.key } : {}),
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      req.end();
    });

  const body = JSON.parse(await get(undefined, true));
  assert.deepEqual(body, { authorized: true, cn: 'kubernetes-admin', o: 'system:masters' });
  assert.equal(JSON.parse(await get('kubernetes.default.svc', true)).authorized, true);
  // The server insists on a client certificate from the cluster CA.
  await assert.rejects(get(undefined, false));
});
