// Acceptance: `kite up` returns with its node Ready, so a pod created at once is scheduled
// (no FailedScheduling "no nodes available"), for a new cluster and for a stopped one
// started again. Needs root (the node runs containers).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, nodeNameOf, waitFor, waitForPod } from './harness.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = isRoot ? false : 'needs root: runs containers';

const cluster = new Cluster('upready');

/** Right after `kite up`: the node is Ready, and a pod created now gets scheduled without a FailedScheduling event. */
async function nodeReadyAndPodScheduled(podName: string): Promise<void> {
  const nodes = JSON.parse(await cluster.k(['get', 'nodes', '-o', 'json'])) as { items: any[] };
  const node = nodes.items.find((n) => n.metadata.name === nodeNameOf(cluster));
  assert.ok(node, `kubectl get nodes lists ${nodeNameOf(cluster)} (got ${nodes.items.map((n) => n.metadata.name).join(', ')})`);
  const ready = (node.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
  assert.equal(ready?.status, 'True', `node Ready condition: ${JSON.stringify(ready)}`);

  await cluster.k(['run', podName, '--image=busybox', '--image-pull-policy=IfNotPresent', '--restart=Never', '--', 'sleep', '3600']);
  const pod = await waitForPod(cluster, podName, 'scheduled', (p) => !!p.spec?.nodeName);
  assert.equal(pod.spec.nodeName, nodeNameOf(cluster));
  // The scheduler records its events in order: once Scheduled is there, a FailedScheduling
  // recorded before it would be too.
  const events = await waitFor(
    `Scheduled event of ${podName}`,
    async () => {
      const list = JSON.parse(await cluster.k(['get', 'events', '--field-selector', `involvedObject.name=${podName}`, '-o', 'json'])) as { items: any[] };
      return list.items.some((e) => e.reason === 'Scheduled') ? list.items : undefined;
    },
    60_000,
    250,
  );
  const failed = events.filter((e: any) => e.reason === 'FailedScheduling');
  assert.deepEqual(
    failed.map((e: any) => e.message),
    [],
    'no FailedScheduling event',
  );
}

describe('kite up returns with the node Ready', { skip }, () => {
  after(async () => {
    await cluster.down();
  });

  test('a new cluster: the node is Ready and a pod created at once is scheduled', async () => {
    await cluster.up();
    assert.match(cluster.upOutput, /Ready/);
    await nodeReadyAndPodScheduled('first');
  });

  test('a stopped cluster started again: the same', async () => {
    const down = await cluster.kite(['down', '--name', cluster.name]);
    assert.equal(down.code, 0, down.stderr);
    await cluster.up();
    await nodeReadyAndPodScheduled('second');
  });
});
