// `kite join` (upstream: kubeadm join's discovery and the kubelet's TLS bootstrap):
//
//  1. discovery: read kube-public/cluster-info anonymously, over TLS not yet verified;
//     pin the CA it names by the SHA-256 of its public key (--ca-cert-hash) and check the
//     `jws-kubeconfig-<id>` signature (HS256 keyed by the token's secret: the ConfigMap
//     came from a server that knows the token). Only then is the token sent, and every
//     call verifies the server with that CA.
//  2. TLS bootstrap: a CertificateSigningRequest for `system:node:<name>` (O system:nodes,
//     signer kubernetes.io/kube-apiserver-client-kubelet) made with the bootstrap token;
//     the control plane's approver and signer issue it. Then, as the node, a
//     kubelet-serving request for its node name and IP (the API server verifies kubelets).
//  3. the node's kubeconfig, written under the node's directory.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ApiTransport } from '../client/transport.js';
import { CLUSTER_INFO_NAME, CLUSTER_INFO_NAMESPACE, JWS_KEY_PREFIX, TOKEN_PATTERN, verifyDetachedJws } from '../machinery/bootstrap-token.js';
import type { KubeObject } from '../machinery/object.js';
import { caCertHash, createCertificateRequest, type CertKeyPair } from '../machinery/pki.js';
import { resourceByPath } from '../machinery/resources.js';

const CSRS = resourceByPath('certificates.k8s.io', 'v1', 'certificatesigningrequests')!;

/** A failure the user can act on (bad token, wrong CA hash, refused request). */
export class JoinError extends Error {}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A GET, with the token only over TLS verified with `ca`. */
function getJson(url: string, token?: string, ca?: string): Promise<{ status: number; body: any }> {
  if (token && !ca) throw new Error('a token is only sent to a verified server');
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = request(url, { method: 'GET', headers, ...(ca ? { ca } : { rejectUnauthorized: false }), timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: any = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out after 10s')));
    req.on('error', reject);
    req.end();
  });
}

export interface DiscoveryResult {
  /** The cluster CA (PEM), pinned by its hash. */
  ca: string;
  /** The API server address cluster-info names. */
  server: string;
}

/** Reads and verifies cluster-info (step 1). */
export async function discoverCluster(server: string, token: string, caCertHashes: string[], log: (m: string) => void = () => undefined): Promise<DiscoveryResult> {
  const m = TOKEN_PATTERN.exec(token);
  if (!m) throw new JoinError(`the token "${token}" is not of the form "[a-z0-9]{6}.[a-z0-9]{16}"`);
  const [, id, secret] = m;
  const wanted = caCertHashes.map((h) => h.toLowerCase());
  for (const h of wanted) if (!/^sha256:[0-9a-f]{64}$/.test(h)) throw new JoinError(`invalid --ca-cert-hash "${h}" (want sha256:<64 hex digits>)`);
  const url = `${server.replace(/\/$/, '')}/api/v1/namespaces/${CLUSTER_INFO_NAMESPACE}/configmaps/${CLUSTER_INFO_NAME}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    // Anonymously (as kubeadm): the token is not sent to a server not yet trusted.
    let r: { status: number; body: any };
    try {
      r = await getJson(url);
    } catch (err) {
      if (Date.now() > deadline) throw new JoinError(`cannot reach ${server}: ${(err as Error).message}`);
      log(`discovery: ${server}: ${(err as Error).message}; retrying`);
      await sleep(2000);
      continue;
    }
    if (r.status !== 200) throw new JoinError(`reading ${CLUSTER_INFO_NAMESPACE}/${CLUSTER_INFO_NAME}: HTTP ${r.status}: ${r.body?.message ?? String(r.body).slice(0, 200)}`);
    const data = (r.body?.data ?? {}) as Record<string, string>;
    const kubeconfig = data.kubeconfig;
    if (!kubeconfig) throw new JoinError(`${CLUSTER_INFO_NAMESPACE}/${CLUSTER_INFO_NAME} has no kubeconfig`);
    const cfg = parseYaml(kubeconfig) as { clusters?: { cluster?: { 'certificate-authority-data'?: string; server?: string } }[] };
    const cluster = cfg.clusters?.[0]?.cluster;
    const ca = Buffer.from(cluster?.['certificate-authority-data'] ?? '', 'base64').toString('utf8');
    if (!ca.includes('BEGIN CERTIFICATE')) throw new JoinError(`${CLUSTER_INFO_NAME} names no CA certificate`);
    const actual = caCertHash(ca);
    if (!wanted.includes(actual)) throw new JoinError(`cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${actual}" are pinned (--ca-cert-hash ${wanted.join(',')})`);
    const jws = data[JWS_KEY_PREFIX + id];
    if (jws !== undefined) {
      if (!verifyDetachedJws(jws, kubeconfig, id, secret)) throw new JoinError(`failed to verify JWS signature of received cluster info object, can't trust this API Server`);
      return { ca, server: cluster?.server ?? server };
    }
    // No signature for this token: ask the server, now verified with the pinned CA,
    // whether it knows the token at all (401 when deleted or expired); if it does, the
    // bootstrap signer has not signed for it yet.
    const withToken = await getJson(url, token, ca).catch((err: Error) => ({ status: 0, body: err.message }));
    if (withToken.status === 401) throw new JoinError(`the API server refused the bootstrap token ${id} (401 Unauthorized): it does not exist, has expired or was deleted; create one with \`kite token create\``);
    if (Date.now() > deadline) throw new JoinError(`token id "${id}" is invalid for this cluster or it has expired (no signature in ${CLUSTER_INFO_NAME}); create a new one with \`kite token create\``);
    await sleep(1000);
  }
}

/** Creates a CSR through `client` and waits until it is issued (or denied/failed). */
async function requestCertificate(client: ApiTransport, spec: { commonName: string; organizations: string[]; dnsNames?: string[]; ipAddresses?: string[] }, signerName: string, usages: string[], log: (m: string) => void): Promise<CertKeyPair> {
  const { csr, key } = await createCertificateRequest(spec);
  const name = `${signerName.endsWith('kubelet-serving') ? 'csr' : 'node-csr'}-${randomBytes(6).toString('hex')}`;
  await client.create(CSRS, undefined, {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name },
    spec: { request: Buffer.from(csr).toString('base64'), signerName, usages },
  } as KubeObject);
  log(`certificate signing request ${name} (${signerName}) created; waiting for it to be approved and issued`);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const cur = await client.get<KubeObject & { status?: { certificate?: string; conditions?: { type: string; status: string; message?: string }[] } }>(CSRS, undefined, name);
    const bad = cur.status?.conditions?.find((c) => (c.type === 'Denied' || c.type === 'Failed') && c.status === 'True');
    if (bad) throw new JoinError(`certificate signing request ${name} ${bad.type.toLowerCase()}: ${bad.message ?? ''}`);
    if (cur.status?.certificate) return { cert: Buffer.from(cur.status.certificate, 'base64').toString('utf8'), key };
    await sleep(500);
  }
  throw new JoinError(`certificate signing request ${name} was not issued within 120s (approve it with \`kubectl certificate approve ${name}\`)`);
}

export interface NodeIdentity {
  pkiDir: string;
  ca: string;
  client: CertKeyPair;
  serving: CertKeyPair;
}

/** Steps 2 and 3: the node's client and serving certificates and kubeconfig under `pkiDir` (kept across restarts). */
export async function bootstrapNodeIdentity(o: { server: string; token: string; ca: string; nodeName: string; nodeIP: string; pkiDir: string; log: (m: string) => void }): Promise<NodeIdentity> {
  const { HttpTransport } = await import('../client/http-transport.js');
  mkdirSync(o.pkiDir, { recursive: true, mode: 0o700 });
  const path = (n: string) => join(o.pkiDir, n);
  writeFileSync(path('ca.crt'), o.ca, { mode: 0o644 });
  const have = (n: string) => existsSync(path(`${n}.crt`)) && existsSync(path(`${n}.key`));
  const read = (n: string): CertKeyPair => ({ cert: readFileSync(path(`${n}.crt`), 'utf8'), key: readFileSync(path(`${n}.key`), 'utf8') });
  const write = (n: string, p: CertKeyPair) => {
    writeFileSync(path(`${n}.key`), p.key, { mode: 0o600 });
    writeFileSync(path(`${n}.crt`), p.cert, { mode: 0o644 });
  };
  const subject = { commonName: `system:node:${o.nodeName}`, organizations: ['system:nodes'] };
  if (!have('kubelet-client')) {
    const bootstrap = new HttpTransport({ server: o.server, caData: o.ca, token: o.token }, { component: 'kite-join' });
    try {
      write('kubelet-client', await requestCertificate(bootstrap, subject, 'kubernetes.io/kube-apiserver-client-kubelet', ['digital signature', 'client auth'], o.log));
    } finally {
      bootstrap.close();
    }
  }
  const client = read('kubelet-client');
  if (!have('kubelet')) {
    const asNode = new HttpTransport({ server: o.server, caData: o.ca, certData: client.cert, keyData: client.key }, { component: 'kubelet' });
    try {
      write('kubelet', await requestCertificate(asNode, { ...subject, dnsNames: [o.nodeName], ipAddresses: [o.nodeIP] }, 'kubernetes.io/kubelet-serving', ['digital signature', 'server auth'], o.log));
    } finally {
      asNode.close();
    }
  }
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const kubeconfig = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: default-cluster`,
    `  cluster: {server: "${o.server}", certificate-authority-data: ${b64(o.ca)}}`,
    'contexts:',
    `- name: default-context`,
    `  context: {cluster: default-cluster, user: default-auth, namespace: default}`,
    'current-context: default-context',
    'users:',
    `- name: default-auth`,
    `  user: {client-certificate: ${path('kubelet-client.crt')}, client-key: ${path('kubelet-client.key')}}`,
    '',
  ].join('\n');
  writeFileSync(path('kubelet.conf'), kubeconfig, { mode: 0o600 });
  return { pkiDir: o.pkiDir, ca: o.ca, client, serving: read('kubelet') };
}
