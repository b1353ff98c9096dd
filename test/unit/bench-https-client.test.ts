// The benchmarks' lean HTTPS client (bench/https-client.ts) against node's own HTTPS
// server: answers with Content-Length and chunked bodies, split across writes, bodiless
// and interim answers, keep-alive reuse, the pool's width, and a server that closes the
// connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createCA, issueServingCert } from '../../machinery/pki.js';
import { HttpsClient, type HttpsAnswer } from '../../bench/https-client.js';

/** An answer's code and body as a plain object (the client's answer decodes its body when read). */
const plain = (a: HttpsAnswer) => ({ code: a.code, body: a.body });

async function serve(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<{ server: Server; port: number; ca: string }> {
  const ca = await createCA('kite-test-ca');
  const serving = await issueServingCert(ca, { commonName: 'bench', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const server = createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, ca: ca.cert };
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

test('HTTPS client: status codes and bodies of Content-Length, chunked and bodiless answers; the request as sent', async () => {
  const seen: { method: string; url: string; auth?: string; type?: string; body: string }[] = [];
  const { server, port, ca } = await serve((req, body, res) => {
    seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, type: req.headers['content-type'], body });
    if (req.url === '/length') {
      const payload = Buffer.from(JSON.stringify({ kind: 'ConfigMap', data: { note: 'naïve 🚀' } }));
      res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': payload.length });
      // The header block, then the body in two writes cut inside the rocket's four bytes.
      res.flushHeaders();
      const rocket = payload.indexOf(Buffer.from('🚀'));
      res.write(payload.subarray(0, rocket + 2));
      setTimeout(() => res.end(payload.subarray(rocket + 2)), 20);
    } else if (req.url === '/chunked') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      res.write('{"items":[');
      setTimeout(() => {
        res.write('1,2,');
        setTimeout(() => res.end('3]}'), 10);
      }, 10);
    } else if (req.url === '/big' || req.url === '/big-chunked') {
      // 4 MiB in 64 KiB writes (many TLS records and reads), sized or chunked.
      const piece = Buffer.alloc(64 * 1024, 'abcdefgh');
      if (req.url === '/big') res.writeHead(200, { 'Content-Length': 64 * piece.length });
      else res.writeHead(200, { 'Transfer-Encoding': 'chunked' });
      for (let i = 0; i < 63; i++) res.write(piece);
      res.end(piece);
    } else if (req.url === '/interim') {
      // 103 Early Hints before the final answer.
      res.writeEarlyHints({ link: '</style.css>; rel=preload' });
      res.writeHead(200, { 'Content-Length': 5 });
      res.end('final');
    } else if (req.url === '/empty') {
      res.writeHead(204);
      res.end();
    } else {
      const payload = '{"kind":"Status","code":404}';
      res.writeHead(404, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
      res.end(payload);
    }
  });
  const client = new HttpsClient(port, { ca, token: 'abc.def.ghi' }, 1);
  try {
    const created = await client.call('POST', '/length', { data: { note: 'é' } });
    assert.equal(created.code, 201);
    assert.deepEqual(JSON.parse(created.body), { kind: 'ConfigMap', data: { note: 'naïve 🚀' } });
    assert.deepEqual(plain(await client.call('GET', '/chunked')), { code: 200, body: '{"items":[1,2,3]}' });
    assert.deepEqual(plain(await client.call('DELETE', '/empty')), { code: 204, body: '' });
    assert.deepEqual(plain(await client.call('GET', '/interim')), { code: 200, body: 'final' });
    assert.deepEqual(plain(await client.call('GET', '/missing?x=1')), { code: 404, body: '{"kind":"Status","code":404}' });
    assert.deepEqual(plain(await client.call('HEAD', '/length')), { code: 201, body: '' });
    for (const path of ['/big', '/big-chunked']) {
      const big = await client.call('GET', path);
      assert.equal(big.code, 200);
      assert.equal(big.body.length, 4 * 1024 * 1024, path);
      assert.equal(big.body, 'abcdefgh'.repeat(512 * 1024), path);
    }
    // A string body goes as it is (JSON the caller encoded once).
    assert.equal((await client.call('POST', '/length', '{"data":{"note":"as is"}}')).code, 201);
    assert.deepEqual(
      seen.map((s) => [s.method, s.url, s.auth, s.type, s.body]),
      [
        ['POST', '/length', 'Bearer abc.def.ghi', 'application/json', '{"data":{"note":"é"}}'],
        ['GET', '/chunked', 'Bearer abc.def.ghi', undefined, ''],
        ['DELETE', '/empty', 'Bearer abc.def.ghi', undefined, ''],
        ['GET', '/interim', 'Bearer abc.def.ghi', undefined, ''],
        ['GET', '/missing?x=1', 'Bearer abc.def.ghi', undefined, ''],
        ['HEAD', '/length', 'Bearer abc.def.ghi', undefined, ''],
        ['GET', '/big', 'Bearer abc.def.ghi', undefined, ''],
        ['GET', '/big-chunked', 'Bearer abc.def.ghi', undefined, ''],
        ['POST', '/length', 'Bearer abc.def.ghi', 'application/json', '{"data":{"note":"as is"}}'],
      ],
    );
  } finally {
    client.close();
    await close(server);
  }
});

test('HTTPS client: keep-alive connections, at most `sockets` of them; a connection the server closes is replaced', async () => {
  const connections = new Set<unknown>();
  let inFlight = 0;
  let maxInFlight = 0;
  const { server, port, ca } = await serve((req, _body, res) => {
    connections.add(req.socket);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      const payload = req.url!;
      res.writeHead(200, { 'Content-Length': Buffer.byteLength(payload), ...(req.url === '/bye' ? { Connection: 'close' } : {}) });
      res.end(payload);
    }, 5);
  });
  const client = new HttpsClient(port, { ca }, 3);
  try {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => client.call('GET', `/n/${i}`)));
    assert.deepEqual(
      answers.map((a) => a.body),
      Array.from({ length: 30 }, (_, i) => `/n/${i}`),
    );
    assert.equal(maxInFlight, 3);
    assert.equal(connections.size, 3);
    // The server ends the connection after this answer; the next calls get a new one.
    assert.deepEqual(plain(await client.call('GET', '/bye')), { code: 200, body: '/bye' });
    const after = await Promise.all(Array.from({ length: 6 }, (_, i) => client.call('GET', `/again/${i}`)));
    assert.ok(after.every((a, i) => a.code === 200 && a.body === `/again/${i}`));
    assert.equal(connections.size, 4);
  } finally {
    client.close();
    await close(server);
  }
});

test('HTTPS client: a call fails when the server ends the connection without an answer, and when nothing listens', async () => {
  const { server, port, ca } = await serve((req) => req.socket.destroy());
  const client = new HttpsClient(port, { ca }, 1);
  try {
    await assert.rejects(client.call('GET', '/x'));
  } finally {
    client.close();
    await close(server);
  }
  await assert.rejects(new HttpsClient(port, { ca }, 1).call('GET', '/x'), /ECONNREFUSED/);
});
