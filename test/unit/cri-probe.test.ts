// criAnswers: whether a CRI runtime answers Version on a socket, asked over HTTP/2 as
// gRPC frames it, without the gRPC library; against gRPC servers of grpc-js on unix sockets.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { criServices } from '../../kubelet/cri/client.js';
import { criAnswers } from '../../kubelet/cri/probe.js';

const dir = mkdtempSync(join(tmpdir(), 'kite-cri-probe-'));
const servers: grpc.Server[] = [];
after(() => {
  for (const s of servers) s.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(socket: string, version?: (cb: grpc.sendUnaryData<unknown>) => void): Promise<void> {
  const server = new grpc.Server();
  const { runtime, image } = criServices();
  // Without a runtime service, Version is UNIMPLEMENTED (containerd before its CRI plugin is up).
  if (version) server.addService(runtime.service, { Version: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => version(cb) });
  else server.addService(image.service, {});
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  servers.push(server);
}

test('a runtime that answers Version: true', async () => {
  const socket = join(dir, 'ok.sock');
  await serve(socket, (cb) => cb(null, { version: '0.1.0', runtimeName: 'fake', runtimeVersion: '1', runtimeApiVersion: 'v1' }));
  assert.equal(await criAnswers(socket, 5000), true);
});

test('a gRPC server without the runtime service, or whose Version fails: false', async () => {
  const without = join(dir, 'no-runtime.sock');
  await serve(without);
  assert.equal(await criAnswers(without, 5000), false);
  const failing = join(dir, 'failing.sock');
  await serve(failing, (cb) => cb({ code: grpc.status.UNAVAILABLE, details: 'starting' }));
  assert.equal(await criAnswers(failing, 5000), false);
});

test('no socket, or a socket that does not speak HTTP/2 (answers nothing within the timeout): false', async () => {
  assert.equal(await criAnswers(join(dir, 'missing.sock'), 2000), false);
  const silent = join(dir, 'silent.sock');
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(silent, resolve));
  try {
    const t = Date.now();
    assert.equal(await criAnswers(silent, 300), false);
    assert.ok(Date.now() - t < 5000, 'gave up at its timeout');
  } finally {
    server.close();
  }
});
