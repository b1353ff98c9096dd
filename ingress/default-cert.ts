// The certificate the ingress controller serves when no Ingress names the host a client
// asks for (ingress-nginx's "Kubernetes Ingress Controller Fake Certificate"): self-signed
// by a CA of its own, made once per controller state directory and kept there, because
// its RSA key takes a good part of a second to generate on a busy machine, which would
// otherwise be paid on every start of the node.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createCA, issueServingCert, type CertKeyPair } from '../machinery/pki.js';

const COMMON_NAME = 'Kite Ingress Controller Fake Certificate';
/** A kept certificate this close to its end is made anew. */
const RENEW_BEFORE_MS = 30 * 86400_000;

/** One generation per file in a process: an early caller (the node, at start) and the controller share it. */
const pending = new Map<string, Promise<CertKeyPair>>();

/** The certificate and key kept in `file` (PEM, certificate then key) if still good, else undefined. */
function keptCertificate(file: string): CertKeyPair | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
  const key = /-----BEGIN (?:RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA )?PRIVATE KEY-----/.exec(text)?.[0];
  if (!cert || !key) return undefined;
  try {
    const x509 = new X509Certificate(cert);
    const privateKey = createPrivateKey(key);
    // RSA: with an ECDSA default, OpenSSL keeps serving the default when SNI picks an RSA certificate.
    if (privateKey.asymmetricKeyType !== 'rsa' || !x509.checkPrivateKey(privateKey)) return undefined;
    if (Date.parse(x509.validTo) - Date.now() < RENEW_BEFORE_MS) return undefined;
    if (!x509.subject.split('\n').includes(`CN=${COMMON_NAME}`)) return undefined;
    return { cert: `${cert}\n`, key: `${key}\n` };
  } catch {
    return undefined;
  }
}

async function newDefaultCertificate(): Promise<CertKeyPair> {
  const ca = await createCA('kite-ingress-default-ca');
  return issueServingCert(ca, { commonName: COMMON_NAME, dnsNames: ['ingress.local'], keyType: 'rsa' });
}

/**
 * The controller's default certificate: the one kept in `file` while it is good, else a new
 * one, written there (0600). Without a file, a new one each call.
 */
export function defaultIngressCertificate(file?: string): Promise<CertKeyPair> {
  if (file === undefined) return newDefaultCertificate();
  const inFlight = pending.get(file);
  if (inFlight) return inFlight;
  const kept = keptCertificate(file);
  if (kept) return Promise.resolve(kept);
  const made = newDefaultCertificate().then((pair) => {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${pair.cert.trim()}\n${pair.key.trim()}\n`, { mode: 0o600 });
    return pair;
  });
  pending.set(file, made);
  void made.finally(() => pending.delete(file)).catch(() => undefined);
  return made;
}
