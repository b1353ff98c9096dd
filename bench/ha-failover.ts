// Failover benchmark, one run: `kite up --servers 3 --store etcd` (3 API servers, a
// 3-member etcd, a load balancer on the kubeconfig's address; no node), a client writing
// ConfigMaps through the balancer all along; then kill -9 of the API server holding the
// controller manager's Lease, and later of one etcd member. Prints how long the
// controller manager's and scheduler's leadership took to move, how long until the
// `kubernetes` endpoints dropped the dead server, the longest gap between acknowledged
// writes around each kill, and how many acknowledged writes were lost.
// The cluster, the writer and the Lease lookups are test/ha.ts's (shared with the HA
// fault test).
//
//   node dist/bench/ha-failover.js
import { freePort } from '../test/e2e/harness.js';
import { HaCluster, Writer, printTable, until } from '../test/ha.js';

const cluster = new HaCluster(`${process.env.KITE_E2E_CLUSTER_PREFIX ?? ''}ha-bench`, { KITE_NODE: 'none' });

async function main(): Promise<void> {
  const port = await freePort();
  const t0 = Date.now();
  cluster.up(port);
  const upMs = Date.now() - t0;

  await cluster.api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
  const cmId = await until('a controller-manager leader', () => cluster.holderIdentity('kube-controller-manager'), 30_000, 100);
  await until('a scheduler leader', () => cluster.holderIdentity('kube-scheduler'), 30_000, 100);
  const leader = cluster.serverOf(cmId)!;

  // One writer through the balancer, as kubectl would reach the cluster.
  const writer = new Writer(cluster, 'bench');
  await new Promise((r) => setTimeout(r, 3000));

  const killed = Date.now();
  process.kill(leader.pid, 'SIGKILL');
  const [cmMs, schedMs, epMs] = await Promise.all([
    until('the controller-manager Lease to move', async () => {
      const h = await cluster.holderIdentity('kube-controller-manager');
      return h && h !== cmId ? Date.now() - killed : undefined;
    }, 60_000, 100),
    until('the scheduler Lease on a live server', async () => {
      const s = await cluster.holder('kube-scheduler');
      return s && s !== leader ? Date.now() - killed : undefined;
    }, 60_000, 100),
    until('the endpoints to drop the dead server', async () => (!(await cluster.endpointPorts()).includes(leader.port) ? Date.now() - killed : undefined), 60_000, 100),
  ]);
  const serverGap = writer.gapAround(killed - 1000, killed + 10_000);

  await new Promise((r) => setTimeout(r, 3000));
  const etcdKilled = Date.now();
  process.kill(cluster.etcdPid(2), 'SIGKILL');
  await new Promise((r) => setTimeout(r, 10_000));
  const etcdGap = writer.gapAround(etcdKilled - 1000, etcdKilled + 10_000);
  await writer.stop();

  const stored = await cluster.configMapNames('bench');
  const lost = writer.acked.filter((a) => !stored.has(a.name)).length;

  printTable('HA failover (one host, KITE_NODE=none)', [
    ['kite up --servers 3 (3 API servers, 3 etcd members)', `${(upMs / 1000).toFixed(1)} s`],
    ['controller-manager Lease moved after kill -9 of its holder', `${(cmMs / 1000).toFixed(1)} s (lease 15 s, retry 2 s)`],
    ['scheduler Lease held by a live server', `${(schedMs / 1000).toFixed(1)} s`],
    ['dead server gone from the kubernetes endpoints', `${(epMs / 1000).toFixed(1)} s (lease 15 s, reconcile 5 s)`],
    ['longest gap between acknowledged writes (API server kill)', `${serverGap} ms`],
    ['longest gap between acknowledged writes (etcd member kill)', `${etcdGap} ms`],
    ['acknowledged writes / lost', `${writer.acked.length} / ${lost}`],
  ]);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cluster.down());
