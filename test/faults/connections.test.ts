// Connection abuse within bounds: thousands of idle connections and hundreds of watches
// don't stop the API answering a namespace list promptly, and their file descriptors are
// released once the clients go.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { request, type ClientRequest } from 'node:http';
import { readdirSync } from 'node:fs';
import { startHttpApi, call, type HttpApi } from '../unit/apiserver-faults-fixture.js';

const IDLE = 2000;
const WATCHES = 300;

let h: HttpApi;
before(async () => {
  h = await startHttpApi();
});
after(() => h.close());

const openFds = () => readdirSync('/proc/self/fd').length;
const connections = () => new Promise<number>((resolve, reject) => h.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));

test('idle connections and many watches do not stop `get ns` answering; fds are released', async () => {
  const fds0 = openFds();
  const idle: Socket[] = [];
  for (let i = 0; i < IDLE; i++) {
    const s = connect(h.port, '127.0.0.1');
    s.on('error', () => {});
    idle.push(s);
    if (i % 200 === 0) s.write('GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n'); // headers never finished
  }
  const watches: ClientRequest[] = await Promise.all(
    Array.from(
      { length: WATCHES },
      () =>
        new Promise<ClientRequest>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: h.port, path: '/api/v1/namespaces/default/configmaps?watch=true', headers: { authorization: 'Bearer admin' } }, () => resolve(req));
          req.on('error', reject);
          req.end();
        }),
    ),
  );
  // Once the server holds every one of them, a list is still answered (the time it took is printed, not asserted).
  const held = Date.now() + 20_000;
  while ((await connections()) < IDLE + WATCHES && Date.now() < held) await new Promise((res) => setTimeout(res, 50));
  const peak = await connections();
  assert.ok(peak >= IDLE + WATCHES, `the server holds all ${IDLE + WATCHES} connections (saw ${peak})`);
  const t0 = Date.now();
  const r = await call(h.port, 'GET', '/api/v1/namespaces');
  const ms = Date.now() - t0;
  assert.equal(r.status, 200);
  for (const s of idle) s.destroy();
  for (const w of watches) w.destroy();
  const deadline = Date.now() + 20_000;
  while ((await connections()) > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  assert.equal(await connections(), 0);
  const fds1 = openFds();
  console.log('\nconnection abuse');
  console.log('idle  watches  server saw  get ns ms  fds before  fds after');
  console.log(`${String(IDLE).padStart(4)} ${String(WATCHES).padStart(8)} ${String(peak).padStart(11)} ${String(ms).padStart(10)} ${String(fds0).padStart(11)} ${String(fds1).padStart(10)}`);
  assert.ok(fds1 <= fds0 + 10, `fds ${fds0} → ${fds1}`);
});
