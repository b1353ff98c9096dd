// Certificates for a kite cluster: a self-signed cluster CA, the API server's serving
// certificate, client certificates (the admin user, later kubelets), and the key pair
// that signs service-account tokens. Everything is PEM text; keys are ECDSA P-256
// (PKCS#8 "PRIVATE KEY" blocks), service-account keys RSA-2048 (what kubeadm uses and
// what every JWT library accepts as RS256).
import type * as X509 from '@peculiar/x509';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  randomBytes,
  webcrypto,
  X509Certificate as NodeX509Certificate,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';

// @peculiar/x509 resolves its algorithms through tsyringe, which refuses to load unless a
// Reflect metadata API exists. No polyfill package is installed, so install the small
// subset tsyringe uses (define/get/has[Own]Metadata, metadata) before loading it.
let x509Loaded: Promise<typeof X509> | undefined;
/**
 * @peculiar/x509, loaded on first use (a second and more of start-up otherwise, and a
 * server whose certificates exist issues none) and wired to Node's webcrypto. Other modules
 * that need it (CSR parsing, say) should load it through here: a plain
 * `import '@peculiar/x509'` that runs first throws for want of the Reflect metadata API.
 */
export function loadX509(): Promise<typeof X509> {
  return (x509Loaded ??= (async () => {
    installReflectMetadata();
    const lib = await import('@peculiar/x509');
    lib.cryptoProvider.set(webcrypto as unknown as Crypto);
    return lib;
  })());
}
const subtle = webcrypto.subtle;

function installReflectMetadata(): void {
  type Key = unknown;
  type Prop = string | symbol | undefined;
  const R = Reflect as unknown as Record<string, unknown>;
  if (typeof R.getMetadata === 'function') return;
  const store = new WeakMap<object, Map<Prop, Map<Key, unknown>>>();
  const bucket = (target: object, prop: Prop, create: boolean): Map<Key, unknown> | undefined => {
    let byProp = store.get(target);
    if (!byProp) {
      if (!create) return undefined;
      store.set(target, (byProp = new Map()));
    }
    let b = byProp.get(prop);
    if (!b && create) byProp.set(prop, (b = new Map()));
    return b;
  };
  const chain = function* (target: object): Generator<object> {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) yield t;
  };
  const defineMetadata = (key: Key, value: unknown, target: object, prop?: Prop): void => {
    bucket(target, prop, true)!.set(key, value);
  };
  Object.assign(R, {
    defineMetadata,
    getOwnMetadata: (key: Key, target: object, prop?: Prop) => bucket(target, prop, false)?.get(key),
    hasOwnMetadata: (key: Key, target: object, prop?: Prop) => bucket(target, prop, false)?.has(key) ?? false,
    getMetadata: (key: Key, target: object, prop?: Prop) => {
      for (const t of chain(target)) {
        const b = bucket(t, prop, false);
        if (b?.has(key)) return b.get(key);
      }
      return undefined;
    },
    hasMetadata: (key: Key, target: object, prop?: Prop) => {
      for (const t of chain(target)) if (bucket(t, prop, false)?.has(key)) return true;
      return false;
    },
    metadata: (key: Key, value: unknown) => (target: object, prop?: Prop) => defineMetadata(key, value, target, prop),
  });
}

/** A certificate and its private key, both PEM. */
export interface CertKeyPair {
  cert: string;
  key: string;
}

export interface ServingCertOptions {
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  organizations?: string[];
  validityDays?: number;
  /** ECDSA P-256 (default) or RSA 2048 (for servers that must offer an RSA certificate too). */
  keyType?: 'ecdsa' | 'rsa';
}

export interface ClientCertOptions {
  commonName: string;
  organizations?: string[];
  validityDays?: number;
}

/** Validity periods, as kubeadm chooses them: CA ten years, leaf certificates one year. */
export const CA_VALIDITY_DAYS = 3650;
export const LEAF_VALIDITY_DAYS = 365;
/** Leaf certificates closer than this to expiry are re-issued by loadOrCreateClusterPKI. */
export const RENEW_BEFORE_DAYS = 30;
/** The first address of the default service CIDR (10.96.0.0/12): the `kubernetes` Service. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
/** Names under which pods and the host reach the API server. */
export const APISERVER_DNS_NAMES = [
  'localhost',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];
export const ADMIN_USER = 'kubernetes-admin';
export const ADMIN_GROUP = 'system:masters';
/**
 * The identity the API server presents to kubelets (kubeadm's apiserver-kubelet-client).
 * kubeadm now puts it in kubeadm:cluster-admins; kite keeps system:masters so the
 * kubelet's SubjectAccessReview for it is allowed without extra RBAC bindings.
 */
export const APISERVER_KUBELET_CLIENT_USER = 'kube-apiserver-kubelet-client';
export const APISERVER_KUBELET_CLIENT_GROUP = 'system:masters';
/** The aggregator's identity towards aggregated API servers (kubeadm's front-proxy-client). */
export const FRONT_PROXY_CLIENT_USER = 'front-proxy-client';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates start a little in the past so small clock skew between hosts is harmless. */
const BACKDATE_MS = 5 * 60 * 1000;

const EC_ALGORITHM: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };

// ---------------------------------------------------------------------------------------
// Keys

const RSA_ALGORITHM: RsaHashedKeyGenParams = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };

async function newKeyPair(type: 'ecdsa' | 'rsa' = 'ecdsa'): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(type === 'rsa' ? RSA_ALGORITHM : EC_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

function toPem(der: ArrayBuffer | Buffer, label: string): string {
  const b64 = Buffer.from(der as ArrayBuffer).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return toPem(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

interface SigningKey {
  key: CryptoKey;
  algorithm: Algorithm | EcdsaParams;
}

/** Imports any PEM private key Node understands (PKCS#8, SEC1 "EC PRIVATE KEY", PKCS#1 RSA) for signing. */
async function importSigningKey(pem: string): Promise<SigningKey> {
  const keyObject = createPrivateKey(pem);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  if (keyObject.asymmetricKeyType === 'ec') {
    const curve = keyObject.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : undefined;
    if (!namedCurve) throw new Error(`unsupported EC curve ${curve ?? 'unknown'}`);
    const key = await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, ['sign']);
    return { key, algorithm: { name: 'ECDSA', hash: namedCurve === 'P-256' ? 'SHA-256' : 'SHA-384' } as EcdsaParams };
  }
  if (keyObject.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const key = await subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
    return { key, algorithm };
  }
  throw new Error(`unsupported key type ${keyObject.asymmetricKeyType ?? 'unknown'}`);
}

/** A positive, non-zero 128-bit serial number in hex (RFC 5280 allows up to 20 octets). */
function newSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function subjectName(commonName: string, organizations: string[] = []): X509.JsonName {
  const name: X509.JsonName = [];
  for (const o of organizations) name.push({ O: [o] });
  name.push({ CN: [commonName] });
  return name;
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + days * DAY_MS) };
}

// ---------------------------------------------------------------------------------------
// Certificates

/** Creates a self-signed certificate authority. */
export async function createCA(commonName: string, opts: { validityDays?: number } = {}): Promise<CertKeyPair> {
  const x509 = await loadX509();
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerialNumber(),
    name: subjectName(commonName),
    ...validity(opts.validityDays ?? CA_VALIDITY_DAYS),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await exportPrivateKeyPem(keys.privateKey) };
}

interface LeafSpec {
  commonName: string;
  organizations?: string[];
  validityDays?: number;
  usage: 'serverAuth' | 'clientAuth';
  dnsNames?: string[];
  ipAddresses?: string[];
  keyType?: 'ecdsa' | 'rsa';
}

/** What signing with a CA needs of it: its parsed certificate, its key, the identifier leaves name it by. */
interface Issuer {
  caCert: X509.X509Certificate;
  signer: SigningKey;
  authorityKeyIdentifier: X509.AuthorityKeyIdentifierExtension;
}

/**
 * Issuers by CA (certificate and key PEM), made once: a node's start issues a dozen leaves
 * from one CA, and parsing its certificate, importing its key and hashing its public key
 * again for each took ~5 ms of the event loop apiece.
 */
const issuers = new Map<string, Promise<Issuer>>();
const MAX_ISSUERS = 8;

function issuerOf(x509: typeof X509, ca: CertKeyPair): Promise<Issuer> {
  const id = ca.cert + ca.key;
  let issuer = issuers.get(id);
  if (!issuer) {
    issuer = (async () => {
      const caCert = new x509.X509Certificate(ca.cert);
      const [signer, authorityKeyIdentifier] = await Promise.all([importSigningKey(ca.key), x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey)]);
      return { caCert, signer, authorityKeyIdentifier };
    })();
    if (issuers.size >= MAX_ISSUERS) issuers.delete(issuers.keys().next().value!);
    issuers.set(id, issuer);
    // A CA that cannot sign is not remembered: the error is the caller's, each time.
    issuer.catch(() => issuers.delete(id));
  }
  return issuer;
}

async function issueLeaf(ca: CertKeyPair, spec: LeafSpec): Promise<CertKeyPair> {
  const x509 = await loadX509();
  const [{ caCert, signer, authorityKeyIdentifier }, keys] = await Promise.all([issuerOf(x509, ca), newKeyPair(spec.keyType)]);
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // ECDSA keys only sign (key encipherment is an RSA key-exchange notion).
    new x509.KeyUsagesExtension(spec.keyType === 'rsa' ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage[spec.usage]], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    authorityKeyIdentifier,
  ];
  const dnsNames = unique(spec.dnsNames ?? []);
  const ipAddresses = unique((spec.ipAddresses ?? []).map(normalizeIP));
  for (const ip of ipAddresses) if (!isIP(ip)) throw new Error(`invalid IP address for certificate: ${ip}`);
  if (dnsNames.length + ipAddresses.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ]),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerialNumber(),
    subject: subjectName(spec.commonName, spec.organizations),
    issuer: caCert.subjectName,
    ...validity(spec.validityDays ?? LEAF_VALIDITY_DAYS),
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions,
  });
  return { cert: cert.toString('pem') + '\n', key: await exportPrivateKeyPem(keys.privateKey) };
}

/** Issues a TLS server certificate (extended key usage serverAuth) signed by `ca`. */
export function issueServingCert(ca: CertKeyPair, opts: ServingCertOptions): Promise<CertKeyPair> {
  return issueLeaf(ca, { ...opts, usage: 'serverAuth' });
}

/**
 * Issues a TLS client certificate signed by `ca`. Kubernetes reads the user name from the
 * CN and the groups from the O attributes (e.g. CN=kubernetes-admin, O=system:masters).
 */
export function issueClientCert(ca: CertKeyPair, opts: ClientCertOptions): Promise<CertKeyPair> {
  return issueLeaf(ca, { ...opts, usage: 'clientAuth' });
}

/** What a PKCS#10 certificate request asks for. */
export interface CertificateRequestInfo {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  emailAddresses: string[];
  uris: string[];
}

const USAGE_FLAGS: Record<string, number> = {
  'digital signature': 1,
  'content commitment': 2,
  'key encipherment': 4,
  'data encipherment': 8,
  'key agreement': 16,
  'cert sign': 32,
  'crl sign': 64,
  'encipher only': 128,
  'decipher only': 256,
};

function subjectAltNames(x509: typeof X509, request: X509.Pkcs10CertificateRequest): X509.SubjectAlternativeNameExtension | undefined {
  const raw = request.getExtension('2.5.29.17');
  return raw ? new x509.SubjectAlternativeNameExtension(raw.rawData) : undefined;
}

/** Parse and verify (its self-signature) a PEM certificate request; throws when it is not one. */
export async function parseCertificateRequest(pem: string): Promise<{ info: CertificateRequestInfo; request: X509.Pkcs10CertificateRequest }> {
  const x509 = await loadX509();
  const request = new x509.Pkcs10CertificateRequest(pem);
  if (!(await request.verify())) throw new Error('the certificate request signature does not verify');
  const subject = request.subjectName.toJSON();
  const values = (type: string) => subject.flatMap((rdn) => (rdn[type] ?? []) as string[]);
  const info: CertificateRequestInfo = { commonName: values('CN')[0] ?? '', organizations: values('O'), dnsNames: [], ipAddresses: [], emailAddresses: [], uris: [] };
  const san = subjectAltNames(x509, request);
  for (const n of san?.names.items ?? []) {
    if (n.type === 'dns') info.dnsNames.push(n.value);
    else if (n.type === 'ip') info.ipAddresses.push(n.value);
    else if (n.type === 'email') info.emailAddresses.push(n.value);
    else if (n.type === 'url') info.uris.push(n.value);
  }
  return { info, request };
}

/**
 * Issue a certificate for a verified certificate request, signed by `ca`: the request's
 * subject and alternative names, the given key usages (Kubernetes names: `client auth`,
 * `server auth`, `digital signature`, …), valid for `seconds` but never past the CA.
 */
export async function signCertificateRequest(ca: CertKeyPair, pem: string, usages: readonly string[], seconds: number): Promise<string> {
  const x509 = await loadX509();
  const { request } = await parseCertificateRequest(pem);
  const caCert = new x509.X509Certificate(ca.cert);
  const signer = await importSigningKey(ca.key);
  let flags = 0;
  for (const u of usages) flags |= USAGE_FLAGS[u] ?? 0;
  const ext: X509.ExtendedKeyUsage[] = [];
  if (usages.includes('server auth')) ext.push(x509.ExtendedKeyUsage.serverAuth);
  if (usages.includes('client auth')) ext.push(x509.ExtendedKeyUsage.clientAuth);
  if (usages.includes('code signing')) ext.push(x509.ExtendedKeyUsage.codeSigning);
  if (usages.includes('email protection')) ext.push(x509.ExtendedKeyUsage.emailProtection);
  if (usages.includes('timestamping')) ext.push(x509.ExtendedKeyUsage.timeStamping);
  if (usages.includes('ocsp signing')) ext.push(x509.ExtendedKeyUsage.ocspSigning);
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ];
  if (flags) extensions.push(new x509.KeyUsagesExtension(flags, true));
  if (ext.length) extensions.push(new x509.ExtendedKeyUsageExtension(ext, false));
  const san = subjectAltNames(x509, request);
  if (san) extensions.push(new x509.SubjectAlternativeNameExtension(san.names.toJSON()));
  const now = Date.now();
  const notAfter = new Date(Math.min(now + seconds * 1000, caCert.notAfter.getTime()));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerialNumber(),
    subject: request.subjectName,
    issuer: caCert.subjectName,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter,
    publicKey: request.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions,
  });
  return cert.toString('pem') + '\n';
}

/** A fresh RSA-2048 key pair for signing service-account tokens (PKCS#8 / SPKI PEM). */
/** createServiceAccountKeyPair on the thread pool: a new cluster's server makes it while its modules load. */
export function createServiceAccountKeyPairAsync(): Promise<{ publicKey: string; privateKey: string }> {
  return new Promise((resolve, reject) =>
    generateKeyPair('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }, (err, publicKey, privateKey) =>
      err ? reject(err) : resolve({ publicKey, privateKey }),
    ),
  );
}

export function createServiceAccountKeyPair(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKey, privateKey };
}

// ---------------------------------------------------------------------------------------
// Addresses

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function normalizeIP(ip: string): string {
  return ip.replace(/^\[|\]$/g, '');
}

/** One spelling per address (IPv6 fully expanded, as X509Certificate prints it). */
function canonicalIP(ip: string): string {
  const a = normalizeIP(ip);
  if (isIP(a) !== 6) return a;
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => (g.includes('.') ? g : parseInt(g, 16).toString(16))).join(':');
}

/** The host's non-loopback IPv4 addresses. */
export function hostIPv4Addresses(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      // `family` is the string 'IPv4' on Node >= 18.4 (a number on a few 18.x releases).
      const v4 = a.family === 'IPv4' || (a.family as unknown) === 4;
      if (v4 && !a.internal) out.push(a.address);
    }
  }
  return unique(out);
}

/** Bridges and links container runtimes make (this cluster's and others'): never the host's own address. */
const VIRTUAL_LINK = /^(kite-|cni|docker|br-|virbr|veth|flannel|cali|vxlan|tun|tap|lxc|kube-)/;

/**
 * The host's own IPv4 address, the one the cluster is reached at: the address of the
 * interface carrying the default route (lowest metric), else the first address not on a
 * container bridge, else loopback.
 */
export function primaryHostIPv4(): string {
  const ifaces = networkInterfaces();
  const v4 = (name: string) =>
    (ifaces[name] ?? []).find((a) => (a.family === 'IPv4' || (a.family as unknown) === 4) && !a.internal)?.address;
  let best: { iface: string; metric: number } | undefined;
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 8 || f[1] !== '00000000' || f[7] !== '00000000') continue;
      const metric = Number(f[6]);
      if (!best || metric < best.metric) best = { iface: f[0]!, metric };
    }
  } catch {
    // no procfs
  }
  const routed = best && !VIRTUAL_LINK.test(best.iface) ? v4(best.iface) : undefined;
  if (routed) return routed;
  for (const name of Object.keys(ifaces)) {
    if (VIRTUAL_LINK.test(name)) continue;
    const a = v4(name);
    if (a) return a;
  }
  return '127.0.0.1';
}

/**
 * The subject alternative names every kite API server certificate carries: loopback, the
 * kubernetes Service's IP and the host's own address — not every interface (other
 * clusters' bridges, container links), which the cluster is never reached at.
 */
export function defaultAPIServerSANs(): { dnsNames: string[]; ipAddresses: string[] } {
  return {
    dnsNames: [...APISERVER_DNS_NAMES],
    ipAddresses: unique(['127.0.0.1', '::1', KUBERNETES_SERVICE_IP, primaryHostIPv4()]),
  };
}

// ---------------------------------------------------------------------------------------
// The cluster's PKI directory

export interface ClusterPKIPaths {
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  adminCert: string;
  adminKey: string;
  kubeletClientCert: string;
  kubeletClientKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  frontProxyCACert: string;
  frontProxyCAKey: string;
  frontProxyClientCert: string;
  frontProxyClientKey: string;
}

export interface ClusterPKI {
  dir: string;
  paths: ClusterPKIPaths;
  ca: CertKeyPair;
  apiserver: CertKeyPair;
  admin: CertKeyPair;
  /** The API server's client certificate towards kubelets (CN kube-apiserver-kubelet-client). */
  kubeletClient: CertKeyPair;
  serviceAccount: { publicKey: string; privateKey: string };
  /** The front-proxy CA (kubeadm's front-proxy-ca): aggregated API servers trust requests whose client certificate it signed. */
  frontProxyCA: CertKeyPair;
  /** The aggregator's client certificate towards aggregated API servers (CN front-proxy-client). */
  frontProxyClient: CertKeyPair;
}

export function clusterPKIPaths(dir: string): ClusterPKIPaths {
  return {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    apiserverCert: join(dir, 'apiserver.crt'),
    apiserverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    kubeletClientCert: join(dir, 'apiserver-kubelet-client.crt'),
    kubeletClientKey: join(dir, 'apiserver-kubelet-client.key'),
    serviceAccountKey: join(dir, 'service-account.key'),
    serviceAccountPub: join(dir, 'service-account.pub'),
    frontProxyCACert: join(dir, 'front-proxy-ca.crt'),
    frontProxyCAKey: join(dir, 'front-proxy-ca.key'),
    frontProxyClientCert: join(dir, 'front-proxy-client.crt'),
    frontProxyClientKey: join(dir, 'front-proxy-client.key'),
  };
}

/** Writes a file atomically (temp file + rename) with the given mode. */
function writeFileAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/**
 * What a client of the cluster needs from its PKI (the CA certificate, the admin's
 * certificate and key), read from the files loadOrCreateClusterPKI writes; undefined
 * while any is missing. No certificate library: `kite up` reads them in a process of its own.
 */
export function readAdminCredentials(dir: string): { ca: { cert: string }; admin: CertKeyPair } | undefined {
  const paths = clusterPKIPaths(dir);
  if (!existsSync(paths.caCert)) return undefined;
  const admin = readPair(paths.adminCert, paths.adminKey);
  return admin ? { ca: { cert: readFileSync(paths.caCert, 'utf8') }, admin } : undefined;
}

function readPair(certPath: string, keyPath: string): CertKeyPair | undefined {
  const haveCert = existsSync(certPath);
  const haveKey = existsSync(keyPath);
  if (!haveCert && !haveKey) return undefined;
  if (haveCert !== haveKey) {
    throw new Error(`incomplete PKI: ${haveCert ? keyPath : certPath} is missing`);
  }
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
}

function writePair(certPath: string, keyPath: string, pair: CertKeyPair): void {
  writeFileAtomic(keyPath, pair.key, 0o600);
  writeFileAtomic(certPath, pair.cert, 0o644);
}

/** True when `pair` is a certificate issued by `ca`, matching its key, valid for a while yet. */
function leafUsable(pair: CertKeyPair, ca: NodeX509Certificate): NodeX509Certificate | undefined {
  try {
    const cert = new NodeX509Certificate(pair.cert);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return undefined;
    if (!cert.checkPrivateKey(createPrivateKey(pair.key))) return undefined;
    if (new Date(cert.validTo).getTime() - Date.now() < RENEW_BEFORE_DAYS * DAY_MS) return undefined;
    return cert;
  } catch {
    return undefined;
  }
}

/** Whether a certificate's subject is exactly CN=`commonName` with these O attributes (any order). */
export function subjectIs(cert: NodeX509Certificate | string, commonName: string, organizations: readonly string[] = []): boolean {
  try {
    const x = typeof cert === 'string' ? new NodeX509Certificate(cert) : cert;
    const parts = x.subject.split('\n').sort();
    const want = [`CN=${commonName}`, ...organizations.map((o) => `O=${o}`)].sort();
    return parts.length === want.length && parts.every((p, i) => p === want[i]);
  } catch {
    return false;
  }
}

/** The certificate names exactly these addresses: none missing, and none the cluster no longer uses. */
function coversSANs(cert: NodeX509Certificate, dnsNames: string[], ipAddresses: string[]): boolean {
  const san = cert.subjectAltName ?? '';
  const entries = new Set(san.split(/,\s*/).map((e) => e.trim()));
  for (const d of dnsNames) if (!entries.has(`DNS:${d}`)) return false;
  for (const ip of ipAddresses) {
    if (cert.checkIP(normalizeIP(ip)) === undefined) return false;
  }
  const wanted = new Set(ipAddresses.map(canonicalIP));
  for (const e of entries) {
    if (e.startsWith('IP Address:') && !wanted.has(canonicalIP(e.slice('IP Address:'.length)))) return false;
  }
  return true;
}

/**
 * Loads the cluster PKI from `dir`, creating whatever is missing. The CA and the
 * service-account keys are created once and kept forever; the API server and admin
 * certificates are re-issued (from the same CA) when they are missing, near expiry,
 * or — for the API server — lack a required subject alternative name (e.g. the host
 * got a new IP address). `dnsNames`/`ipAddresses` are added to the defaults
 * (see defaultAPIServerSANs).
 */
export async function loadOrCreateClusterPKI(
  dir: string,
  opts: { dnsNames?: string[]; ipAddresses?: string[] } = {},
): Promise<ClusterPKI> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = clusterPKIPaths(dir);
  // A new service-account key (RSA: 0.1–0.3 s on the thread pool) is generated while the
  // certificates below are made on this thread, instead of after them.
  const newServiceAccountKey = existsSync(paths.serviceAccountKey) ? undefined : createServiceAccountKeyPairAsync();
  newServiceAccountKey?.catch(() => undefined); // awaited below; a failure before then is the caller's error

  let ca = readPair(paths.caCert, paths.caKey);
  if (!ca) {
    ca = await createCA('kubernetes');
    writePair(paths.caCert, paths.caKey, ca);
  }
  const caX509 = new NodeX509Certificate(ca.cert);
  if (!caX509.ca) throw new Error(`${paths.caCert} is not a CA certificate`);
  if (!caX509.checkPrivateKey(createPrivateKey(ca.key))) {
    throw new Error(`${paths.caKey} does not match ${paths.caCert}`);
  }
  if (new Date(caX509.validTo).getTime() <= Date.now()) {
    throw new Error(`the cluster CA ${paths.caCert} expired on ${caX509.validTo}`);
  }

  const defaults = defaultAPIServerSANs();
  const dnsNames = unique([...defaults.dnsNames, ...(opts.dnsNames ?? [])]);
  const ipAddresses = unique([...defaults.ipAddresses, ...(opts.ipAddresses ?? []).map(normalizeIP)]);

  // The certificates below depend on the CA only: made at once, their key generation and
  // signing (webcrypto, on the thread pool) overlap each other's encoding here.
  const servingCert = async (): Promise<CertKeyPair> => {
    const have = readPair(paths.apiserverCert, paths.apiserverKey);
    const x509 = have && leafUsable(have, caX509);
    if (have && x509 && coversSANs(x509, dnsNames, ipAddresses)) return have;
    const made = await issueServingCert(ca, { commonName: 'kube-apiserver', dnsNames, ipAddresses });
    writePair(paths.apiserverCert, paths.apiserverKey, made);
    return made;
  };
  const adminCert = async (): Promise<CertKeyPair> => {
    const have = readPair(paths.adminCert, paths.adminKey);
    if (have && leafUsable(have, caX509)) return have;
    const made = await issueClientCert(ca, { commonName: ADMIN_USER, organizations: [ADMIN_GROUP] });
    writePair(paths.adminCert, paths.adminKey, made);
    return made;
  };
  const kubeletClientCert = async (): Promise<CertKeyPair> => {
    const have = readPair(paths.kubeletClientCert, paths.kubeletClientKey);
    const x509 = have && leafUsable(have, caX509);
    if (have && x509 && subjectIs(x509, APISERVER_KUBELET_CLIENT_USER, [APISERVER_KUBELET_CLIENT_GROUP])) return have;
    const made = await issueClientCert(ca, { commonName: APISERVER_KUBELET_CLIENT_USER, organizations: [APISERVER_KUBELET_CLIENT_GROUP] });
    writePair(paths.kubeletClientCert, paths.kubeletClientKey, made);
    return made;
  };
  const serviceAccountKeys = async (): Promise<{ publicKey: string; privateKey: string }> => {
    if (newServiceAccountKey) {
      const made = await newServiceAccountKey;
      writeFileAtomic(paths.serviceAccountKey, made.privateKey, 0o600);
      writeFileAtomic(paths.serviceAccountPub, made.publicKey, 0o644);
      return made;
    }
    const privateKey = readFileSync(paths.serviceAccountKey, 'utf8');
    // The public half is derived from the private key, so a lost .pub is simply rewritten.
    const publicKey = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
    if (!existsSync(paths.serviceAccountPub) || readFileSync(paths.serviceAccountPub, 'utf8') !== publicKey) {
      writeFileAtomic(paths.serviceAccountPub, publicKey, 0o644);
    }
    return { publicKey, privateKey };
  };
  // A CA of its own, as kubeadm keeps it: a certificate it signs asserts only "this is the
  // aggregator", so no cluster client certificate can pass for the front proxy.
  const frontProxy = async (): Promise<{ frontProxyCA: CertKeyPair; frontProxyClient: CertKeyPair }> => {
    let frontProxyCA = readPair(paths.frontProxyCACert, paths.frontProxyCAKey);
    if (!frontProxyCA) {
      frontProxyCA = await createCA('front-proxy-ca');
      writePair(paths.frontProxyCACert, paths.frontProxyCAKey, frontProxyCA);
    }
    let frontProxyClient = readPair(paths.frontProxyClientCert, paths.frontProxyClientKey);
    if (!frontProxyClient || !leafUsable(frontProxyClient, new NodeX509Certificate(frontProxyCA.cert))) {
      frontProxyClient = await issueClientCert(frontProxyCA, { commonName: FRONT_PROXY_CLIENT_USER });
      writePair(paths.frontProxyClientCert, paths.frontProxyClientKey, frontProxyClient);
    }
    return { frontProxyCA, frontProxyClient };
  };
  const [apiserver, admin, kubeletClient, serviceAccount, { frontProxyCA, frontProxyClient }] = await Promise.all([servingCert(), adminCert(), kubeletClientCert(), serviceAccountKeys(), frontProxy()]);

  return { dir, paths, ca, apiserver, admin, kubeletClient, serviceAccount, frontProxyCA, frontProxyClient };
}

/**
 * A new key and a PKCS#10 request for it (what a kubelet sends in a
 * CertificateSigningRequest): subject CN/O and optional DNS/IP alternative names.
 */
export async function createCertificateRequest(spec: { commonName: string; organizations?: string[]; dnsNames?: string[]; ipAddresses?: string[] }): Promise<{ csr: string; key: string }> {
  const x509 = await loadX509();
  const keys = await newKeyPair();
  const names = [...unique(spec.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })), ...unique((spec.ipAddresses ?? []).map(normalizeIP)).map((value) => ({ type: 'ip' as const, value }))];
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectName(spec.commonName, spec.organizations),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions: names.length ? [new x509.SubjectAlternativeNameExtension(names)] : [],
  });
  return { csr: request.toString('pem') + '\n', key: await exportPrivateKeyPem(keys.privateKey) };
}

/** kubeadm's --discovery-token-ca-cert-hash of a CA: `sha256:` and the hex SHA-256 of its DER SubjectPublicKeyInfo. */
export function caCertHash(caPem: string): string {
  const spki = new NodeX509Certificate(caPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}
