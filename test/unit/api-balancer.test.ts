// The node's API server balancer (client/api-balancer.ts): which backends the `kubernetes`
// Endpoints give (the https port of each subset, every address), in a stable order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendsFromEndpoints } from '../../client/api-balancer.js';

test('backends are every address of every subset on its https port', () => {
  const ep = {
    subsets: [
      { addresses: [{ ip: '10.0.0.2' }, { ip: '10.0.0.1' }], ports: [{ name: 'https', port: 7443, protocol: 'TCP' }] },
      { addresses: [{ ip: '10.0.0.1' }], ports: [{ name: 'metrics', port: 9000 }, { name: 'https', port: 6443 }] },
    ],
  };
  assert.deepEqual(backendsFromEndpoints(ep), [
    { host: '10.0.0.1', port: 6443 },
    { host: '10.0.0.1', port: 7443 },
    { host: '10.0.0.2', port: 7443 },
  ]);
});

test('no subsets, or subsets without addresses or ports, give no backends', () => {
  assert.deepEqual(backendsFromEndpoints({}), []);
  assert.deepEqual(backendsFromEndpoints({ subsets: [{ ports: [{ name: 'https', port: 6443 }] }, { addresses: [{ ip: '10.0.0.1' }] }] }), []);
});
