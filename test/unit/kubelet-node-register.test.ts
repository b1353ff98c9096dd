// The kubelet's node registration against an in-process control plane, as the node:
// a new node is created with its status (Ready) in one write, as upstream's kubelet
// creates it (initialNode); a restart of the same node finds it registered and writes
// only its status; a node whose labels changed reconciles them first.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from 'kubernetes-types/core/v1.js';
import { startTestControlPlane, type TestControlPlane } from './control-plane-fixture.js';
import { resourceByPath } from '../../machinery/resources.js';
import { HollowRuntime } from '../../kubelet/hollow.js';
import { NodeAgent } from '../../kubelet/node.js';
import type { WatchEvent } from '../../client/transport.js';

const NODES = resourceByPath('', 'v1', 'nodes')!;
const NAME = 'register-1';

let t: TestControlPlane;

before(async () => {
  t = await startTestControlPlane('node-register');
});

after(() => t.close());

function agent(labels?: Record<string, string>): NodeAgent {
  return new NodeAgent({
    // The node's own identity: NodeRestriction and the Node authorizer apply.
    transport: t.cp.client('kubelet', { name: `system:node:${NAME}`, groups: ['system:nodes', 'system:authenticated'] }),
    nodeName: NAME,
    nodeIP: '127.0.0.1',
    podCIDR: '10.244.7.0/24',
    kubeletPort: 10250,
    maxPods: 110,
    runtime: new HollowRuntime({ nodeName: NAME }),
    rootDir: t.dir,
    labels,
    log: () => undefined,
  });
}

/** The Node's writes while `fn` runs: each event's type and whether the status changed. */
async function writesDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const admin = t.cp.client('test');
  const rv = (await admin.list<Node>(NODES, undefined)).resourceVersion;
  const seen: string[] = [];
  let last: Node | undefined = (await admin.list<Node>(NODES, undefined)).items.find((n) => n.metadata?.name === NAME);
  const w = admin.watch<Node>(NODES, undefined, { resourceVersion: rv }, (ev: WatchEvent<Node>) => {
    if (ev.object.metadata?.name !== NAME) return;
    const statusChanged = JSON.stringify(ev.object.status) !== JSON.stringify(last?.status);
    const labelsChanged = JSON.stringify(ev.object.metadata?.labels) !== JSON.stringify(last?.metadata?.labels);
    seen.push(`${ev.type}${labelsChanged ? ' labels' : ''}${statusChanged ? ' status' : ''}`);
    last = ev.object;
  });
  try {
    await fn();
    // A marker written after fn's writes: every event of fn's comes before its own.
    const marker = await admin.create<Node>(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: `marker-${seen.length}-${Date.now()}` } });
    await new Promise<void>((resolve) => {
      const m = admin.watch<Node>(NODES, undefined, { resourceVersion: rv }, (ev) => {
        if (ev.object.metadata?.name === marker.metadata?.name) {
          m.stop();
          resolve();
        }
      });
    });
  } finally {
    w.stop();
  }
  return seen;
}

test('a new node is created Ready in one write; a restart writes its status only', async () => {
  const first = agent();
  let node: Node | undefined;
  assert.deepEqual(await writesDuring(async () => (node = await first.register())), ['ADDED labels status']);
  const ready = node?.status?.conditions?.find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'True');
  assert.equal(ready?.reason, 'KubeletReady');
  assert.ok(ready?.lastHeartbeatTime, 'the Ready condition has a heartbeat');
  assert.ok(node?.status?.capacity?.cpu, 'capacity is reported with the create');
  assert.equal(node?.spec?.podCIDR, '10.244.7.0/24');
  first.stop();

  // The same node started again: already registered with these labels, so only the
  // status is written (nothing at all when it did not change within the same second).
  const again = agent();
  const restartWrites = await writesDuring(() => again.register());
  assert.ok(restartWrites.length <= 1 && restartWrites.every((w) => w === 'MODIFIED status'), `writes: ${restartWrites.join(', ')}`);
  again.stop();

  // A label added since (`kite node add --label`): reconciled, then the status.
  const relabelled = agent({ 'example.com/tier': 'gold' });
  const writes = await writesDuring(() => relabelled.register());
  assert.equal(writes[0], 'MODIFIED labels');
  assert.ok(writes.length <= 2 && writes.slice(1).every((w) => w === 'MODIFIED status'), `writes: ${writes.join(', ')}`);
  relabelled.stop();
  const stored = await t.cp.client('test').get<Node>(NODES, undefined, NAME);
  assert.equal(stored.metadata?.labels?.['example.com/tier'], 'gold');
});
