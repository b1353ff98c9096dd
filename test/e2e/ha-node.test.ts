// Acceptance: a node of a cluster with several API servers reaches them through balancers
// of its own (client/api-balancer.ts: the kubelet has one, the node's proxy,
// DNS, ingress and NetworkPolicy parts share one), fed from the `kubernetes` endpoints,
// as k3s agents do. With `kite up --store etcd --servers 3` and the real node: kill -9 of
// the first host's `kite balancer` (the address the node was configured with) and of an
// API server the node's connections go to, and the node carries on through the others:
// its Lease keeps being renewed, it stays Ready, and a new pod runs on it — and so does a
// worker node's kubelet in its network namespace; the worker's kubelet process
// restarted then starts from the servers it last saw listed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HaCluster, until } from '../ha.js';
import { isAlive } from '../../machinery/process.js';
import { freePort } from './harness.js';

const canRun = process.getuid?.() === 0 && process.platform === 'linux';
const cluster = new HaCluster(`${process.env.KITE_E2E_CLUSTER_PREFIX ?? ''}ha-node`);
const nodeName = `${cluster.name}-control-plane`;
/** A second node (`--nodes 2`): its kubelet runs in its own network namespace, its proxy and NetworkPolicy clients in the server. */
const workerName = `${cluster.name}-worker`;

describe('a node of several API servers balances over them itself', { skip: canRun ? undefined : 'needs root (a real node) and etcd-server' }, () => {
  before(async () => {
    cluster.up(await freePort(), 3, ['--nodes', '2']);
  });

  after(() => {
    cluster.down();
  });

  test('kill -9 of the balancer process and of an API server: the node stays Ready and runs a new pod', async () => {
    const kubeletLog = join(cluster.dir, 'node', 'kubelet.log');
    // Both balancers switch from the configured address to the three servers the endpoints list.
    // (the last list logged: servers may join one by one)
    const listed = (text: string) => ([...text.matchAll(/API servers: (\S+) \(from the kubernetes endpoints\)/g)].pop()?.[1] ?? '').split(',').filter(Boolean);
    await until('the kubelet to balance over the endpoints', async () => (existsSync(kubeletLog) && listed(readFileSync(kubeletLog, 'utf8')).length === 3 ? true : undefined), 120_000, 500);
    await until('the node networking to balance over the endpoints', async () => (listed(readFileSync(cluster.servers[0].log, 'utf8')).length === 3 ? true : undefined), 120_000, 500);
    const ports = listed(readFileSync(kubeletLog, 'utf8')).map((a) => Number(a.split(':').pop())).sort();
    assert.deepEqual(ports, cluster.servers.map((s) => s.port).sort(), 'the kubelet balances over every API server');
    const workerLog = join(cluster.dir, 'nodes', workerName, 'kubelet.log');
    await until('the worker kubelet to balance over the endpoints', async () => (existsSync(workerLog) && listed(readFileSync(workerLog, 'utf8')).length === 3 ? true : undefined), 180_000, 500);
    for (const name of [nodeName, workerName]) {
      await until(`node ${name} Ready`, async () => {
        const n = await cluster.api('GET', `/api/v1/nodes/${name}`);
        return n.json?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
      }, 180_000, 500);
    }

    // The first host's balancer (the node's configured address) and server 1 die.
    const victim = cluster.servers[1];
    process.kill(cluster.balancerPid(), 'SIGKILL');
    process.kill(victim.pid, 'SIGKILL');
    await until('both to die', async () => (!isAlive(cluster.balancerPid()) && !isAlive(victim.pid) ? true : undefined), 10_000);
    const killedAt = Date.now();
    const via = cluster.servers[2].url;

    // Each kubelet keeps renewing its Lease (every 10 s) through a live server: two renewals after the kill.
    for (const name of [nodeName, workerName]) {
      const renewals = new Set<string>();
      await until(`two Lease renewals of ${name} after the kill`, async () => {
        const lease = await cluster.api('GET', `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`, undefined, via);
        const renew = lease.json?.spec?.renewTime as string | undefined;
        if (renew && Date.parse(renew) > killedAt) renewals.add(renew);
        return renewals.size >= 2 ? true : undefined;
      }, 60_000, 1000);
    }

    // A new pod is scheduled onto the node and runs (leadership may have to move first).
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'after-failover', namespace: 'default' },
      spec: {
        nodeSelector: { 'kubernetes.io/hostname': nodeName },
        containers: [{ name: 'c', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
        terminationGracePeriodSeconds: 0,
      },
    };
    assert.equal((await cluster.api('POST', '/api/v1/namespaces/default/pods', pod, via)).code, 201);
    await until('the pod running on the node', async () => {
      const p = (await cluster.api('GET', '/api/v1/namespaces/default/pods/after-failover', undefined, via)).json;
      return p?.spec?.nodeName === nodeName && p?.status?.phase === 'Running' ? true : undefined;
    }, 120_000, 1000);

    for (const name of [nodeName, workerName]) {
      const node = (await cluster.api('GET', `/api/v1/nodes/${name}`, undefined, via)).json;
      const ready = node.status.conditions.find((c: any) => c.type === 'Ready');
      assert.equal(ready?.status, 'True', `node ${name} Ready after the kill: ${JSON.stringify(ready)}`);
    }

    // A kubelet restarted now (its configured address is dead) starts from the servers
    // it last saw listed, which it kept on disk, and goes on renewing the Lease: the worker
    // node's kubelet, a process of its own (the control-plane node's runs in a thread of
    // server 0 and would die with it).
    const pidFile = join(cluster.dir, 'nodes', workerName, 'kubelet.pid');
    const oldKubelet = Number(readFileSync(pidFile, 'utf8').trim());
    process.kill(oldKubelet, 'SIGKILL');
    const restartedAt = await until('the kubelet restarted', async () => {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      return pid !== oldKubelet && isAlive(pid) ? Date.now() : undefined;
    }, 60_000, 500);
    const afterRestart = new Set<string>();
    await until('a Lease renewal by the restarted kubelet', async () => {
      const lease = await cluster.api('GET', `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${workerName}`, undefined, via);
      const renew = lease.json?.spec?.renewTime as string | undefined;
      if (renew && Date.parse(renew) > restartedAt) afterRestart.add(renew);
      return afterRestart.size >= 1 ? true : undefined;
    }, 60_000, 1000);
  });
});
