// The node IPAM controller: nodes without spec.podCIDR get the next free subnet of the
// cluster CIDRs, skipping subnets other nodes hold and ones the host vetoes; a node
// with its own pod CIDR keeps it.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from 'kubernetes-types/core/v1.js';
import { NodeIpamController, subnetsOf } from '../../controllers/nodeipam/controller.js';
import { buildCniConflist } from '../../kubelet/runtime/cni.js';
import { workerNodeNames } from '../../agent/workers.js';
import { R, eventually, harness, tryGet } from './controllers-housekeeping-fixture.js';
import type { Harness } from './controllers-housekeeping-fixture.js';

let h: Harness;
const vetoed: string[] = [];

beforeEach(async () => {
  vetoed.length = 0;
  h = await harness(['default']);
  await h.run((ctx) => new NodeIpamController(ctx, { clusterCIDRs: ['10.250.0.0/22'], reserve: (cidr) => !vetoed.includes(cidr) }));
});

afterEach(async () => {
  await h.close();
});

const node = (name: string, podCIDR?: string): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {} });
const cidrOf = (name: string) => eventually(`${name}'s pod CIDR`, async () => (await tryGet<Node>(h.client, R.nodes, undefined, name))?.spec?.podCIDR);

test('subnetsOf cuts a CIDR into node subnets in address order', () => {
  assert.deepEqual([...subnetsOf('10.244.0.0/22', 24)], ['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24']);
  assert.deepEqual([...subnetsOf('10.244.255.0/24', 25)], ['10.244.255.0/25', '10.244.255.128/25']);
  assert.throws(() => [...subnetsOf('10.244.0.0/24', 16)]);
});

test('nodes get distinct free subnets; taken and vetoed ones are skipped; set ones are kept', async () => {
  vetoed.push('10.250.1.0/24');
  await h.client.create(R.nodes, undefined, node('own', '10.250.0.0/24'));
  assert.equal(await cidrOf('own'), '10.250.0.0/24');
  await h.client.create(R.nodes, undefined, node('a'));
  assert.equal(await cidrOf('a'), '10.250.2.0/24');
  await h.client.create(R.nodes, undefined, node('b'));
  const b = await cidrOf('b');
  assert.equal(b, '10.250.3.0/24');
  const got = await tryGet<Node>(h.client, R.nodes, undefined, 'b');
  assert.deepEqual(got?.spec?.podCIDRs, [b]);
});

test('worker names follow kind; a worker\'s CNI bridge does not masquerade', () => {
  assert.deepEqual(workerNodeNames('c', 3), ['c-worker', 'c-worker2', 'c-worker3']);
  const plugins = (conf: Record<string, unknown>) => conf.plugins as Array<Record<string, unknown>>;
  assert.equal(plugins(buildCniConflist({ podCIDR: '10.244.1.0/24' }))[0]!.ipMasq, true);
  assert.equal(plugins(buildCniConflist({ podCIDR: '10.244.1.0/24', ipMasq: false }))[0]!.ipMasq, false);
});
