// The API servers' TCP load balancer (machinery/tcp-balancer.ts): connections are spread
// over the backends, and a dead backend is skipped so the address keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server } from 'node:net';
import { TcpLoadBalancer, parseBackend } from '../../machinery/tcp-balancer.js';

function echoServer(tag: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.end(tag));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = connect({ host: '127.0.0.1', port });
    s.on('data', (d) => (out += d));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

test('parseBackend takes host:port and URLs', () => {
  assert.deepEqual(parseBackend('127.0.0.1:6443'), { host: '127.0.0.1', port: 6443 });
  assert.deepEqual(parseBackend('https://10.0.0.1:7443'), { host: '10.0.0.1', port: 7443 });
  assert.throws(() => parseBackend('nohost'));
});

test('connections go to every backend in turn, and skip one that died', async () => {
  const a = await echoServer('a');
  const b = await echoServer('b');
  const lb = new TcpLoadBalancer([parseBackend(`127.0.0.1:${a.port}`), parseBackend(`127.0.0.1:${b.port}`)]);
  const port = await lb.listen(0, '127.0.0.1');
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) seen.add(await ask(port));
  assert.deepEqual([...seen].sort(), ['a', 'b']);
  await new Promise<void>((r) => a.server.close(() => r()));
  for (let i = 0; i < 4; i++) assert.equal(await ask(port), 'b');
  await lb.close();
  b.server.close();
});
