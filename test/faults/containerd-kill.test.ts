// kill -9 of the node's containerd with pods running: the server restarts it, the running
// containers carry on (same container, restartCount 0), the node is Ready, logs and exec
// answer, and a new pod starts — no `kite down`/`kite up` needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, nodeDirOf, waitFor, waitForNodeReady, waitForPod } from '../e2e/harness.js';
import { isAlive } from '../../machinery/process.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function pod(name: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', `echo started-${name}; while true; do sleep 1; done`] }],
    },
  });
}

const running = (p: any) => p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.state?.running;

function containerdPid(cluster: Cluster): number {
  return Number(readFileSync(join(nodeDirOf(cluster), 'containerd', 'containerd.pid'), 'utf8').trim());
}

test('kill -9 of containerd: pods keep running untouched, the node is Ready, logs/exec work, new pods start', { skip: isRoot ? false : 'needs root: runs the node', timeout: 300_000 }, async () => {
  const cluster = new Cluster(`crash-ctrd-${process.pid}`);
  try {
    await cluster.up();
    await waitForNodeReady(cluster, 120_000);
    await cluster.k(['create', '-f', '-'], { stdin: pod('before-a') });
    await cluster.k(['create', '-f', '-'], { stdin: pod('before-b') });
    const before = new Map<string, any>();
    for (const name of ['before-a', 'before-b']) before.set(name, await waitForPod(cluster, name, 'running', running, 120_000));

    for (let kill = 1; kill <= 2; kill++) {
      const pid = containerdPid(cluster);
      assert.ok(pid > 0 && isAlive(pid), 'containerd is running');
      process.kill(pid, 'SIGKILL');
      await waitFor('containerd restarted', () => {
        try {
          const now = containerdPid(cluster);
          return now !== pid && isAlive(now);
        } catch {
          return false;
        }
      }, 60_000, 200);
      await waitForNodeReady(cluster, 60_000);

      // Running containers carried on: the same container id, never restarted.
      for (const [name, was] of before) {
        const p = await waitForPod(cluster, name, 'still running', running, 60_000);
        assert.equal(p.status.containerStatuses[0].containerID, was.status.containerStatuses[0].containerID, `${name} kept its container`);
        assert.equal(p.status.containerStatuses[0].restartCount, 0, `${name} was not restarted`);
        assert.equal(p.status.containerStatuses[0].state.running.startedAt, was.status.containerStatuses[0].state.running.startedAt);
      }

      // Logs and exec through the kubelet and the restarted containerd.
      const logs = await waitFor('logs answer', async () => {
        const r = await cluster.kubectl(['logs', 'before-a']);
        return r.code === 0 && r.stdout;
      }, 60_000, 500);
      assert.match(logs, /started-before-a/);
      const out = await waitFor('exec answers', async () => {
        const r = await cluster.kubectl(['exec', 'before-b', '--', 'echo', `exec-${kill}`]);
        return r.code === 0 && r.stdout;
      }, 60_000, 500);
      assert.equal(out.trim(), `exec-${kill}`);

      // A new pod starts.
      await cluster.k(['create', '-f', '-'], { stdin: pod(`after-${kill}`) });
      const fresh = await waitForPod(cluster, `after-${kill}`, 'running', running, 120_000);
      assert.equal(fresh.status.containerStatuses[0].restartCount, 0);
    }
  } finally {
    await cluster.down();
  }
});
