// Bootstrap tokens: the API server's authenticator (which Secrets make a token valid),
// the detached JWS cluster-info carries, the CA hash `kite join` pins, and which CSRs
// the approver takes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapTokenAuthenticator } from '../../apiserver/bootstrap-tokens.js';
import { bootstrapTokenSecret, detachedJws, generateBootstrapToken, verifyDetachedJws } from '../../machinery/bootstrap-token.js';
import type { KubeObject } from '../../machinery/object.js';
import { caCertHash, createCA, createCertificateRequest, parseCertificateRequest } from '../../machinery/pki.js';
import { approvalKind } from '../../controllers/certificates/approver.js';

function authenticatorWith(secret: Record<string, unknown> | undefined) {
  return bootstrapTokenAuthenticator((name) => (secret && (secret.metadata as { name: string }).name === name ? (secret as unknown as KubeObject) : undefined));
}

test('a valid token is system:bootstrap:<id> in system:bootstrappers and its extra groups', async () => {
  const { id, secret, token } = generateBootstrapToken();
  assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  const auth = authenticatorWith(bootstrapTokenSecret({ id, secret, expires: new Date(Date.now() + 60_000) }));
  assert.deepEqual(await auth(token), {
    name: `system:bootstrap:${id}`,
    groups: ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token', 'system:authenticated'],
  });
});

test('refused: wrong secret, expired, no authentication usage, wrong type, being deleted, bad extra group, malformed', async () => {
  const { id, secret, token } = generateBootstrapToken();
  const base = () => bootstrapTokenSecret({ id, secret }) as Record<string, any>;
  assert.ok(await authenticatorWith(base())(token), 'no expiration: valid');
  assert.equal(await authenticatorWith(base())(`${id}.${'x'.repeat(16)}`), undefined);
  assert.equal(await authenticatorWith(bootstrapTokenSecret({ id, secret, expires: new Date(Date.now() - 1000) }))(token), undefined);
  assert.equal(await authenticatorWith(bootstrapTokenSecret({ id, secret, usages: ['signing'] }))(token), undefined);
  assert.equal(await authenticatorWith({ ...base(), type: 'Opaque' })(token), undefined);
  const deleting = base();
  deleting.metadata.deletionTimestamp = new Date().toISOString();
  assert.equal(await authenticatorWith(deleting)(token), undefined);
  assert.equal(await authenticatorWith(bootstrapTokenSecret({ id, secret, extraGroups: ['system:masters'] }))(token), undefined);
  assert.equal(await authenticatorWith(undefined)(token), undefined);
  assert.equal(await authenticatorWith(base())(`${id.toUpperCase()}.${secret}`), undefined);
  assert.equal(await authenticatorWith(base())('not-a-token'), undefined);
});

test('the detached JWS verifies only with the same token and content', () => {
  const { id, secret } = generateBootstrapToken();
  const jws = detachedJws('content', id, secret);
  assert.match(jws, /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/);
  assert.deepEqual(JSON.parse(Buffer.from(jws.split('.')[0], 'base64url').toString()), { alg: 'HS256', kid: id });
  assert.ok(verifyDetachedJws(jws, 'content', id, secret));
  assert.ok(!verifyDetachedJws(jws, 'content2', id, secret));
  assert.ok(!verifyDetachedJws(jws, 'content', id, 'y'.repeat(16)));
});

test("the CA hash is the SHA-256 of the CA's SubjectPublicKeyInfo", async () => {
  const { createHash, X509Certificate } = await import('node:crypto');
  const ca = await createCA('kubernetes');
  const spki = new X509Certificate(ca.cert).publicKey.export({ type: 'spki', format: 'der' });
  assert.equal(caCertHash(ca.cert), `sha256:${createHash('sha256').update(spki).digest('hex')}`);
  assert.notEqual(caCertHash((await createCA('kubernetes')).cert), caCertHash(ca.cert));
});

test('the approver takes node client requests (bootstrap or self) and a node’s own serving request, nothing else', async () => {
  const info = async (spec: Parameters<typeof createCertificateRequest>[0]) => (await parseCertificateRequest((await createCertificateRequest(spec)).csr)).info;
  const node = await info({ commonName: 'system:node:m2', organizations: ['system:nodes'] });
  const kubelet = 'kubernetes.io/kube-apiserver-client-kubelet';
  const csr = (signerName: string, username: string, usages = ['digital signature', 'client auth']) => ({ spec: { signerName, username, usages } });
  assert.equal(approvalKind(csr(kubelet, 'system:bootstrap:abcdef'), node)?.subresource, 'nodeclient');
  assert.equal(approvalKind(csr(kubelet, 'system:node:m2'), node)?.subresource, 'selfnodeclient');
  assert.equal(approvalKind(csr(kubelet, 'system:bootstrap:abcdef', ['digital signature', 'server auth']), node), undefined);
  assert.equal(approvalKind(csr(kubelet, 'x'), await info({ commonName: 'system:node:m2', organizations: ['system:masters'] })), undefined);
  assert.equal(approvalKind(csr(kubelet, 'x'), await info({ commonName: 'admin', organizations: ['system:nodes'] })), undefined);
  assert.equal(approvalKind(csr(kubelet, 'x'), await info({ commonName: 'system:node:m2', organizations: ['system:nodes'], dnsNames: ['m2'] })), undefined);
  assert.equal(approvalKind(csr('kubernetes.io/kube-apiserver-client', 'system:bootstrap:abcdef'), node), undefined);
  const serving = await info({ commonName: 'system:node:m2', organizations: ['system:nodes'], dnsNames: ['m2'], ipAddresses: ['172.31.1.2'] });
  const servingUsages = ['digital signature', 'server auth'];
  assert.equal(approvalKind(csr('kubernetes.io/kubelet-serving', 'system:node:m2', servingUsages), serving)?.subresource, 'selfnodeclient');
  assert.equal(approvalKind(csr('kubernetes.io/kubelet-serving', 'system:node:other', servingUsages), serving), undefined);
  assert.equal(approvalKind(csr('kubernetes.io/kubelet-serving', 'system:bootstrap:abcdef', servingUsages), serving), undefined);
  const otherName = await info({ commonName: 'system:node:m2', organizations: ['system:nodes'], dnsNames: ['kubernetes.default'], ipAddresses: ['172.31.1.2'] });
  assert.equal(approvalKind(csr('kubernetes.io/kubelet-serving', 'system:node:m2', servingUsages), otherName), undefined);
});

test('kite token --ttl takes Go durations as kubeadm does; 0 is forever', async () => {
  const { parseTtl } = await import('../../cli/commands/token.js');
  assert.equal(parseTtl('24h'), 24 * 3600_000);
  assert.equal(parseTtl('1h30m'), 90 * 60_000);
  assert.equal(parseTtl('90s'), 90_000);
  assert.equal(parseTtl('0'), 0);
  for (const bad of ['', '5x', 'h', '10', '1h-2m']) assert.throws(() => parseTtl(bad), /invalid duration/, bad);
});

test('VXLAN: a VNI per cluster, a locally administered MAC per node, the VNI the cluster announces', async () => {
  const { clusterVni, vtepMac, announcedVni, vxlanDevice } = await import('../../agent/vxlan.js');
  const vni = clusterVni('kite');
  assert.ok(vni >= 1 && vni < 2 ** 24);
  assert.equal(clusterVni('kite'), vni);
  assert.notEqual(clusterVni('other'), vni);
  assert.ok(vxlanDevice(2 ** 24 - 1).length <= 15, 'an interface name fits IFNAMSIZ');
  const mac = vtepMac('n1', '10.244.1.0/24');
  assert.match(mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  assert.equal(parseInt(mac.slice(0, 2), 16) & 3, 2, 'locally administered, unicast');
  assert.notEqual(vtepMac('n2', '10.244.2.0/24'), mac);
  const node = (annotations: Record<string, string>) => ({ metadata: { name: 'x', annotations } });
  assert.equal(announcedVni([node({})]), undefined);
  assert.equal(announcedVni([node({}), node({ 'flannel.alpha.coreos.com/backend-type': 'vxlan', 'flannel.alpha.coreos.com/backend-data': JSON.stringify({ VNI: 42, VtepMAC: mac }) })]), 42);
  assert.equal(announcedVni([node({ 'flannel.alpha.coreos.com/backend-type': 'host-gw', 'flannel.alpha.coreos.com/backend-data': '{"VNI":7}' })]), undefined);
});

test('anonymous callers are system:anonymous only for a GET of the allowed path, and not with a bad token', async () => {
  const { Authenticator } = await import('../../apiserver/authentication.js');
  const path = '/api/v1/namespaces/kube-public/configmaps/cluster-info';
  const auth = new Authenticator([() => undefined], { anonymousPaths: [path] });
  const req = (method: string, url: string, headers: Record<string, string> = {}) => ({ method, url, headers, socket: { authorized: false } }) as never;
  assert.deepEqual(await auth.authenticate(req('GET', path)), { name: 'system:anonymous', groups: ['system:unauthenticated'] });
  assert.deepEqual(await auth.authenticate(req('GET', `${path}?resourceVersion=0`)), { name: 'system:anonymous', groups: ['system:unauthenticated'] });
  assert.equal(await auth.authenticate(req('PUT', path)), undefined);
  assert.equal(await auth.authenticate(req('GET', '/api/v1/namespaces/kube-public/configmaps')), undefined);
  assert.equal(await auth.authenticate(req('GET', path, { authorization: 'Bearer abcdef.0123456789abcdef' })), undefined);
  assert.equal(await new Authenticator([]).authenticate(req('GET', path)), undefined);
});
