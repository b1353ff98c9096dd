// kill -9 in a highly available control plane on one host (`kite up --store etcd
// --servers 3`: 3 etcd members, 3 API servers, the load balancer, the real node): a
// client writes ConfigMaps through the kubeconfig's address all along while the API
// server holding the controller manager's Lease and then an etcd member are killed.
// No acknowledged write is lost (all read back), a watch opened before the kills resumes
// through another server without missing an event (or is told 410 and relists), the
// controller manager's and scheduler's Leases move to a live server within 20 s of the
// dead holder's last renewal (the Leases' own times), and a Deployment created during
// the failure becomes available with real pods. Prints its figures as a table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HaCluster, ResumingWatch, Writer, printTable, until } from '../ha.js';
import { isAlive } from '../../machinery/process.js';
import { freePort } from '../e2e/harness.js';

const canRun = process.getuid?.() === 0 && process.platform === 'linux';
const NS = 'faults';

interface LeaseView {
  holder?: string;
  renew?: number;
  acquire?: number;
}

test('kill -9 of an API server and an etcd member: nothing acknowledged lost, the watch resumes, leadership moves, a Deployment comes up', { skip: canRun ? undefined : 'needs root (a real node) and etcd-server' }, async () => {
  const cluster = new HaCluster(`${process.env.KITE_E2E_CLUSTER_PREFIX ?? ''}ha-kill`);
  // The watch and the writer are stopped in `finally` too: left running after a failed
  // assertion, they kept this test's process (and so the whole test command) alive.
  const running: { stop(): Promise<void> }[] = [];
  try {
    cluster.up(await freePort());
    assert.equal((await cluster.api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })).code, 201);
    const lease = async (name: string, base?: string): Promise<LeaseView> => {
      const l = (await cluster.api('GET', `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${name}`, undefined, base)).json;
      return { holder: l?.spec?.holderIdentity, renew: l?.spec?.renewTime ? Date.parse(l.spec.renewTime) : undefined, acquire: l?.spec?.acquireTime ? Date.parse(l.spec.acquireTime) : undefined };
    };
    const leader = await until('a controller-manager leader', () => cluster.holder('kube-controller-manager'), 60_000);
    await until('a scheduler leader', () => cluster.holder('kube-scheduler'), 60_000);
    await until('the node Ready', async () => {
      const n = (await cluster.api('GET', `/api/v1/nodes/${cluster.name}-control-plane`)).json;
      return n?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    }, 180_000, 500);

    // The watch goes through the server about to die, then (resumed) through the balancer.
    const watch = new ResumingWatch(cluster, NS, () => (isAlive(leader.pid) ? leader.url : cluster.balancerURL));
    running.push(watch);
    await watch.started;
    const writer = new Writer(cluster, NS);
    running.push(writer);
    await until('some writes', async () => (writer.acked.length >= 20 ? true : undefined), 60_000);

    // 1. The API server holding the controller manager's Lease.
    const before = { cm: await lease('kube-controller-manager'), sched: await lease('kube-scheduler') };
    const serverKilled = Date.now();
    process.kill(leader.pid, 'SIGKILL');
    await until('the server to die', async () => (!isAlive(leader.pid) ? true : undefined), 10_000);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'during-failover', namespace: NS },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'during-failover' } },
        template: {
          metadata: { labels: { app: 'during-failover' } },
          spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] },
        },
      },
    };
    // A create whose answer was lost with its connection is retried: 409 then says it was stored.
    await until('the Deployment created', async () => {
      const r = await cluster.api('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, deployment);
      return r.code === 201 || r.code === 409 ? r.code : undefined;
    }, 30_000);
    const moved = async (name: string, old: LeaseView) =>
      until(`${name} to move`, async () => {
        const now = await lease(name);
        if (now.holder && now.holder !== old.holder && cluster.serverOf(now.holder) !== leader) return now;
        // The dead holder's last renewal, as the Lease says.
        if (now.holder === old.holder) old.renew = now.renew;
        return undefined;
      }, 60_000, 250);
    const [cm, sched] = await Promise.all([moved('kube-controller-manager', before.cm), moved('kube-scheduler', before.sched)]);
    const cmMoveMs = cm.acquire! - before.cm.renew!;
    // The scheduler's Lease only has to move when the dead server held it.
    const schedWasDead = cluster.serverOf(before.sched.holder ?? '') === leader;
    const schedMoveMs = schedWasDead ? sched.acquire! - before.sched.renew! : 0;
    assert.ok(cmMoveMs <= 20_000, `controller-manager Lease acquired ${cmMoveMs} ms after the dead holder's last renewal`);
    assert.ok(schedMoveMs <= 20_000, `scheduler Lease acquired ${schedMoveMs} ms after the dead holder's last renewal`);
    const serverGap = writer.gapAround(serverKilled - 1000, Date.now());

    // 2. An etcd member (not the one the first server's supervisor would restart first: any will do).
    const etcdKilled = Date.now();
    process.kill(cluster.etcdPid(2), 'SIGKILL');
    const atEtcdKill = writer.acked.length;
    await until('writes after the etcd member died', async () => (writer.acked.length >= atEtcdKill + 30 ? true : undefined), 60_000);
    const etcdGap = writer.gapAround(etcdKilled - 1000, Date.now());

    const available = await until('the Deployment available', async () => {
      const d = (await cluster.api('GET', `/apis/apps/v1/namespaces/${NS}/deployments/during-failover`)).json;
      return d?.status?.availableReplicas === 2 && d?.status?.observedGeneration >= 1 ? Date.now() : undefined;
    }, 180_000, 1000);
    const pods = (await cluster.api('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dduring-failover`)).json.items as any[];
    assert.equal(pods.filter((p) => p.status?.phase === 'Running' && p.status?.containerStatuses?.[0]?.containerID?.startsWith('containerd://')).length, 2, 'two real pods running');

    await writer.stop();
    const last = writer.acked[writer.acked.length - 1]!.name;
    await until('the watch to see the last write', async () => (watch.seen.has(last) ? true : undefined), 60_000);
    await watch.stop();
    const stored = await cluster.configMapNames(NS);
    const lost = writer.acked.filter((a) => !stored.has(a.name));
    const missed = writer.acked.filter((a) => !watch.seen.has(a.name));
    assert.deepEqual(lost.map((a) => a.name), [], 'acknowledged writes lost');
    assert.deepEqual(missed.map((a) => a.name), [], 'events the watch missed');
    assert.ok(watch.resumes + watch.relists >= 1, 'the watch through the killed server was resumed');

    printTable('kill -9 in a highly available control plane (3 API servers, 3 etcd members, one host)', [
      ['acknowledged writes / lost', `${writer.acked.length} / ${lost.length}`],
      ['watch: events missed / resumes / relists (410)', `${missed.length} / ${watch.resumes} / ${watch.relists}`],
      [`controller-manager Lease moved (from server ${leader.index}'s last renewal)`, `${(cmMoveMs / 1000).toFixed(1)} s (lease 15 s)`],
      ['scheduler Lease moved', schedWasDead ? `${(schedMoveMs / 1000).toFixed(1)} s` : 'held by a live server'],
      ['longest write gap, API server kill', `${serverGap} ms`],
      ['longest write gap, etcd member kill', `${etcdGap} ms`],
      ['Deployment created during the failure available after', `${((available - serverKilled) / 1000).toFixed(1)} s`],
    ]);
  } finally {
    await Promise.all(running.map((r) => r.stop()));
    cluster.down();
  }
});
