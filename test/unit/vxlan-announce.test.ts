// The VXLAN device is announced on the node's Node, which the node's kubelet registers:
// a node's networking may start first (it does not wait for the kubelet), so the
// announcement waits for the Node instead of failing with 404.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from 'kubernetes-types/core/v1.js';
import { startTestControlPlane, type TestControlPlane } from './control-plane-fixture.js';
import { HttpTransport } from '../../client/http-transport.js';
import { issueClientCert } from '../../machinery/pki.js';
import { resourceByPath } from '../../machinery/resources.js';
import { VxlanNetwork } from '../../agent/vxlan.js';
import type { CommandRunner } from '../../proxy/exec.js';

const NODES = resourceByPath('', 'v1', 'nodes')!;
let t: TestControlPlane;
let admin: HttpTransport;

before(async () => {
  t = await startTestControlPlane('vxlan');
  const adminCert = await issueClientCert(t.ca, { commonName: 'kubernetes-admin', organizations: ['system:masters'] });
  admin = new HttpTransport({ server: t.server, caData: t.ca.cert, certData: adminCert.cert, keyData: adminCert.key }, { component: 'test' });
});

after(async () => {
  admin.close();
  await t.close();
});

test('the VTEP is announced once the Node is registered, not refused while it is not', async () => {
  // The kernel's side (ip link) is not what this tests: the device is answered for.
  const commands: string[] = [];
  const run: CommandRunner = async (argv) => {
    commands.push(argv.join(' '));
    const line = argv.join(' ');
    if (line === 'ip link show kvx4242') return { code: commands.some((c) => c.startsWith('ip link add kvx4242')) ? 0 : 1, stdout: '', stderr: '' };
    if (line === 'ip -o link show dev kvx4242') return { code: 0, stdout: '9: kvx4242: <UP> mtu 1450 link/ether 02:aa:bb:cc:dd:ee brd ff:ff:ff:ff:ff:ff\n', stderr: '' };
    return { code: 0, stdout: '', stderr: '' };
  };
  const net = new VxlanNetwork({ transport: admin, nodeName: 'late-node', nodeIP: '192.0.2.7', podCIDR: '10.244.7.0/24', vni: 4242, log: () => undefined, run });
  let started = false;
  const starting = net.start().then(() => (started = true));
  try {
  // Not registered yet: start() keeps waiting (a few retries' worth).
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(started, false);
  await admin.create<Node>(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'late-node' } });
  await starting;
  const node = await admin.get<Node>(NODES, undefined, 'late-node');
  assert.equal(node.metadata?.annotations?.['flannel.alpha.coreos.com/backend-type'], 'vxlan');
  assert.deepEqual(JSON.parse(node.metadata?.annotations?.['flannel.alpha.coreos.com/backend-data'] ?? '{}'), { VNI: 4242, VtepMAC: '02:aa:bb:cc:dd:ee' });
  assert.equal(node.metadata?.annotations?.['flannel.alpha.coreos.com/public-ip'], '192.0.2.7');
  assert.ok(commands.some((c) => c.startsWith('ip link add kvx4242')), 'the device was made');
  } finally {
    const stopped = net.stop();
    await starting.catch(() => undefined);
    await stopped;
  }
});
