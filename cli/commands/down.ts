// `kite down`: stops a cluster's control plane; `--purge` also deletes its data and
// removes its kubeconfig context.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { contextName, defaultUserKubeconfigPath, removeFromUserKubeconfig } from '../../machinery/kubeconfig.js';
import { clusterExists, clusterStatus, openCluster, readClusterState, withClusterLock } from '../cluster.js';
import { CliError } from '../errors.js';
import { isAlive, processArgs, readPidFile, removePidFile, terminate } from '../../machinery/process.js';
import { isKiteServer } from '../process.js';
import { balancerPidFile } from './balancer.js';
import { serverPidFile } from './server.js';
import { Progress } from '../progress.js';

export interface DownOptions {
  name: string;
  purge: boolean;
  /** Seconds between SIGTERM and SIGKILL. */
  timeoutSeconds: number;
}

export async function down(opts: DownOptions, progress = new Progress()): Promise<void> {
  const c = openCluster(opts.name);
  if (!clusterExists(c) && !existsSync(c.paths.pid)) {
    throw new CliError(`no cluster named "${c.name}" (see \`kite list\`)`);
  }
  await withClusterLock(c.paths, async () => {
    // A cluster with several API servers: the load balancer and the additional servers
    // first (each leaves the `kubernetes` endpoints), the first server (and its etcd) last.
    const extras = readdirSync(c.paths.dir)
      .map((f) => /^server-(\d+)\.pid$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));
    const others = [
      { what: 'load balancer', file: balancerPidFile(c.paths), isOurs: (pid: number) => isAlive(pid) && (processArgs(pid) ?? []).includes('balancer') },
      ...extras.map((i) => ({ what: `API server ${i + 1}`, file: serverPidFile(c.paths, i), isOurs: isKiteServer })),
    ];
    await Promise.all(
      others.map(async ({ what, file, isOurs }) => {
        const pid = readPidFile(file);
        if (pid !== undefined && isOurs(pid)) {
          await progress.step(`Stopping ${what} (pid ${pid})`, () => terminate(pid, opts.timeoutSeconds * 1000), () => `Stopped ${what}`);
        }
        if (pid !== undefined) removePidFile(file, pid);
      }),
    );
    const status = clusterStatus(c.paths);
    if (status.state === 'running') {
      progress.info(`Stopping cluster "${c.name}" ...`);
      const timeoutMs = opts.timeoutSeconds * 1000;
      await progress.step(
        `Stopping control plane (pid ${status.pid})`,
        () => terminate(status.pid, timeoutMs),
        (r) => (r === 'killed' ? `Killed control plane (no exit ${opts.timeoutSeconds}s after SIGTERM)` : 'Stopped control plane'),
      );
      removePidFile(c.paths.pid, status.pid);
    } else {
      progress.info(`Cluster "${c.name}" is not running.`);
    }
    // The server removes its node's pods and containerd when it stops; if it could not
    // (killed, crashed), do it here so nothing is left behind.
    const nodeDir = join(c.paths.dir, 'node');
    if (existsSync(join(nodeDir, 'containerd')) && process.env.KITE_CONTROL_PLANE !== 'stub') {
      const { cleanupNode } = await import('../../kubelet/local-node.js');
      await progress.step('Removing node containers and networking', () => cleanupNode(nodeDir));
    }
    // The ingress's nginx, left running by a killed server.
    if (existsSync(join(nodeDir, 'ingress', 'nginx.pid'))) {
      const { stopLeftoverNginx } = await import('../../ingress/nginx.js');
      await stopLeftoverNginx(join(nodeDir, 'ingress'));
    }
    // The node's VXLAN device (agent/vxlan.ts) and the service proxy's and NetworkPolicy's
    // nftables tables, left by a server that was killed: a stale proxy table would go on
    // DNATing (or rejecting) the cluster's Service IPs for every later cluster on this host.
    if (process.env.KITE_CONTROL_PLANE !== 'stub') {
      const { cleanupNodeNetworking } = await import('../../agent/networking.js');
      await cleanupNodeNetworking(c.name);
      const { clusterVni, vxlanDevice } = await import('../../agent/vxlan.js');
      const dev = vxlanDevice(clusterVni(resolve(c.paths.dir)));
      if (existsSync(`/sys/class/net/${dev}`)) {
        const { commandRunner } = await import('../../proxy/exec.js');
        await commandRunner()(['ip', 'link', 'del', dev]);
      }
    }
    const workers = readClusterState(c.paths)?.workers ?? [];
    if ((workers.length > 0 || existsSync(join(c.paths.dir, 'underlay.json'))) && process.env.KITE_CONTROL_PLANE !== 'stub') {
      const { cleanupWorkers } = await import('../../agent/workers.js');
      await cleanupWorkers(c.paths.dir, workers);
    }
    // Likewise the cluster's own etcd (store etcd), left running by a killed server.
    if (existsSync(join(c.paths.dir, 'etcd', 'etcd.pid'))) {
      const { stopLeftoverEtcd } = await import('../../store/etcd-process.js');
      await stopLeftoverEtcd(c.paths.dir);
    }
    if (!opts.purge) return;

    const state = readClusterState(c.paths);
    const ctx = contextName(c.name);
    const files = new Set([defaultUserKubeconfigPath(), ...(state?.userKubeconfig ? [state.userKubeconfig] : [])]);
    for (const file of files) {
      if (removeFromUserKubeconfig(file, ctx)) progress.info(` ✓ Removed context "${ctx}" from ${file}`);
    }
    await progress.step(`Deleting ${c.paths.dir}`, () => rmSync(c.paths.dir, { recursive: true, force: true }));
  });
}
