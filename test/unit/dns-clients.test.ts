import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isClusterClient } from '../../dns/server.js';

test('cluster DNS answers the node and its pods, not outsiders reaching the host address', () => {
  const node = ['192.168.1.20', '172.17.0.1'];
  for (const a of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '192.168.1.20', '172.17.0.1', '10.244.0.5', '10.250.3.9', '::ffff:10.245.1.2']) assert.ok(isClusterClient(a, node), a);
  for (const a of ['192.168.1.21', '8.8.8.8', '10.243.0.1', '10.251.0.1', '10.96.0.10', '::ffff:203.0.113.7', 'fe80::1']) assert.ok(!isClusterClient(a, node), a);
});
