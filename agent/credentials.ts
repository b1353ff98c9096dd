// Client certificates for the node's own API clients (proxy, DNS, ingress,
// NetworkPolicy), each with its component's identity, signed by the cluster CA and
// kept under the node's directory until they near expiry.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueClientCert, type CertKeyPair } from '../machinery/pki.js';

const RENEW_BEFORE_MS = 30 * 86400_000;

function usable(certPem: string, ca: CertKeyPair, commonName: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const caCert = new X509Certificate(ca.cert);
    if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return false;
    if (new Date(cert.validTo).getTime() - Date.now() < RENEW_BEFORE_MS) return false;
    return cert.subject.split('\n').includes(`CN=${commonName}`);
  } catch {
    return false;
  }
}

/** The certificate and key for `commonName` (groups `organizations`), issued on first use. */
export async function componentCredentials(dir: string, ca: CertKeyPair, file: string, commonName: string, organizations: string[] = []): Promise<CertKeyPair> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certPath = join(dir, `${file}.crt`);
  const keyPath = join(dir, `${file}.key`);
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, 'utf8');
    if (usable(cert, ca, commonName)) return { cert, key: readFileSync(keyPath, 'utf8') };
  }
  const pair = await issueClientCert(ca, { commonName, organizations });
  writeFileSync(keyPath, pair.key, { mode: 0o600 });
  writeFileSync(certPath, pair.cert, { mode: 0o644 });
  return pair;
}
