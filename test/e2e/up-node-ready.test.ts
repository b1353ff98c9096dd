// Acceptance: `kite up` returns with its node Ready, so a pod created at once is scheduled
// (no FailedScheduling "no nodes available"), for a new cluster and for a stopped one
// started again. Needs root (the node runs containers).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
  test("a node whose kept pod CIDR is not its Node's (this host's claims lost) starts containerd again with the Node's: pods get its addresses", async () => {
    const down = await cluster.kite(['down', '--name', cluster.name]);
    assert.equal(down.code, 0, down.stderr);
    const nodeDir = join(cluster.home, cluster.name, 'node');
    const configPath = join(nodeDir, 'kubelet.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as { podCIDR: string };
    const registered = config.podCIDR;
    // What the node starts its runtime with before it can ask the API server; the Node keeps its own.
    config.podCIDR = registered === '10.250.77.0/24' ? '10.250.78.0/24' : '10.250.77.0/24';
    writeFileSync(configPath, JSON.stringify(config));
    await cluster.up();
    const log = readFileSync(join(cluster.home, cluster.name, 'server.log'), 'utf8');
    assert.match(log.slice(log.lastIndexOf('kite server "')), new RegExp(`pod CIDR ${config.podCIDR.replace(/\./g, '\\.')} differs from the Node's ${registered.replace(/\./g, '\\.')}`));
    const node = JSON.parse(await cluster.k(['get', 'node', nodeNameOf(cluster), '-o', 'json']));
    assert.equal(node.spec.podCIDR, registered);
    assert.equal((JSON.parse(readFileSync(configPath, 'utf8')) as { podCIDR: string }).podCIDR, registered, "the kubelet's configuration has the Node's CIDR again");
    await cluster.k(['run', 'third', '--image=busybox', '--image-pull-policy=IfNotPresent', '--restart=Never', '--', 'sleep', '3600']);
    const pod = await waitForPod(cluster, 'third', 'running with an IP', (p) => p.status?.phase === 'Running' && !!p.status?.podIP, 120_000);
    const prefix = registered.split('.').slice(0, 3).join('.') + '.';
    assert.ok(pod.status.podIP.startsWith(prefix), `pod IP ${pod.status.podIP} is in the Node's ${registered}`);
  });
});
