import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { createCA, issueClientCert, issueServingCert } from '../../machinery/pki.js';
import { resourceByPath } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';
import { HttpTransport } from '../../client/http-transport.js';
import type { WatchEvent } from '../../client/transport.js';

const CONFIGMAPS = resourceByPath('', 'v1', 'configmaps')!;

async function pki() {
  const ca = await createCA('kite-test-ca');
  const serving = await issueServingCert(ca, { commonName: 'kube-apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const admin = await issueClientCert(ca, { commonName: 'kubernetes-admin', organizations: ['system:masters'] });
  return { ca, serving, admin };
}

test('HTTP watch reader: lines split across chunks and inside UTF-8 characters; ERROR ends the watch', async () => {
  const { ca, serving, admin } = await pki();
  const requests: { url: string; ua: string | undefined }[] = [];
  const srv = createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    requests.push({ url: req.url!, ua: req.headers['user-agent'] });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    if (req.url!.includes('resourceVersion=old')) {
      res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version: 1 (5)', reason: 'Expired', code: 410 } }) + '\n');
      return;
    }
    const lines = [
      JSON.stringify({ type: 'ADDED', object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'a', resourceVersion: '2' } } }),
      JSON.stringify({ type: 'MODIFIED', object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'a', resourceVersion: '3' }, data: { note: 'naïve 🚀 ok' } } }),
      JSON.stringify({ type: 'BOOKMARK', object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: '4' } } }),
    ];
    const bytes = Buffer.from(lines.join('\n') + '\n', 'utf8');
    // Cut at awkward places: mid-line, right before a newline, and inside the rocket's four bytes.
    const rocket = bytes.indexOf(Buffer.from('🚀', 'utf8'));
    const cuts = [7, bytes.indexOf(10) , rocket + 2, rocket + 3, bytes.length - 5];
    let at = 0;
    const chunks: Buffer[] = [];
    for (const c of cuts) {
      chunks.push(bytes.subarray(at, c));
      at = c;
    }
    chunks.push(bytes.subarray(at));
    let i = 0;
    const next = () => {
      if (i < chunks.length) {
        res.write(chunks[i++]);
        setTimeout(next, 5);
      } else res.end();
    };
    next();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  const t = new HttpTransport({ server: `https://127.0.0.1:${port}`, caData: ca.cert, certData: admin.cert, keyData: admin.key }, { component: 'watch-test' });
  try {
    const got: WatchEvent<ConfigMap>[] = [];
    const w = t.watch<ConfigMap>(CONFIGMAPS, 'default', { resourceVersion: '1', allowWatchBookmarks: true, timeoutSeconds: 30 }, (ev) => got.push(ev));
    assert.deepEqual(await w.done, { reason: 'closed' });
    assert.deepEqual(got.map((e) => `${e.type}:${e.object.metadata!.resourceVersion}`), ['ADDED:2', 'MODIFIED:3', 'BOOKMARK:4']);
    assert.equal(got[1].object.data!.note, 'naïve 🚀 ok');
    const q = new URL(requests[0].url, 'https://x').searchParams;
    assert.equal(new URL(requests[0].url, 'https://x').pathname, '/api/v1/namespaces/default/configmaps');
    assert.equal(q.get('watch'), 'true');
    assert.equal(q.get('resourceVersion'), '1');
    assert.equal(q.get('allowWatchBookmarks'), 'true');
    assert.equal(q.get('timeoutSeconds'), '30');
    assert.equal(requests[0].ua, 'kite-watch-test');

    const e = t.watch(CONFIGMAPS, 'default', { resourceVersion: 'old' }, () => assert.fail('no events'));
    const end = await e.done;
    assert.equal(end.reason, 'error');
    assert.equal(end.error!.code, 410);
    assert.equal(end.error!.reason, 'Expired');
    assert.equal(end.error!.message, 'too old resource version: 1 (5)');
  } finally {
    t.close();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test('HTTP transport: an unreachable server is a ConnectionError (503) carrying ECONNREFUSED', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const t = new HttpTransport({ server: `https://127.0.0.1:${port}` }, { component: 'x' });
  try {
    await assert.rejects(t.get(CONFIGMAPS, 'default', 'a'), (e: unknown) => e instanceof StatusError && e.code === 503 && (e as { errno?: string }).errno === 'ECONNREFUSED');
    const w = t.watch(CONFIGMAPS, 'default', {}, () => undefined);
    const end = await w.done;
    assert.equal(end.reason, 'error');
    assert.equal(end.error!.code, 503);
  } finally {
    t.close();
  }
});
