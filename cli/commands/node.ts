// `kite node add [NODE]` / `kite node rm NODE`: real nodes on the cluster's host,
// besides the control plane's. The list lives in cluster.json (`workers`); the running
// server is told with SIGHUP and starts or removes the node (agent/workers.ts). The
// command returns once the node is Ready, or gone.
import type { Command } from 'commander';
import { httpsGet, openCluster, readClusterState, requireRunning, serverURL, withClusterLock, writeClusterState, type Cluster } from '../cluster.js';
import { CliError } from '../errors.js';
import { DEFAULT_CLUSTER_NAME } from '../paths.js';
import { Progress } from '../progress.js';
import { sleep } from '../../machinery/process.js';

export interface NodeAddOptions {
  nodeName?: string;
  /** Seconds to wait for the node to be Ready. */
  waitSeconds?: number;
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

async function adminTLS(c: Cluster): Promise<{ ca: string; cert: string; key: string }> {
  const { loadOrCreateClusterPKI } = await import('../../machinery/pki.js');
  const pki = await loadOrCreateClusterPKI(c.paths.pki);
  return { ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key };
}

/** Polls GET /api/v1/nodes/NAME until `done(status, node)` holds. */
async function waitForNode(c: Cluster, name: string, timeoutMs: number, done: (status: number, node: any) => boolean, what: string): Promise<void> {
  const state = requireRunning(c);
  const url = `${serverURL(state.bindAddress, state.apiPort)}/api/v1/nodes/${name}`;
  const tls = await adminTLS(c);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await httpsGet(url, tls);
      const node = r.status === 200 ? JSON.parse(r.body) : undefined;
      if (done(r.status, node)) return;
      const ready = node?.status?.conditions?.find((x: any) => x.type === 'Ready');
      last = ready ? `Ready=${ready.status}: ${ready.message ?? ''}` : `HTTP ${r.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(500);
  }
  throw new CliError(`node ${name} is not ${what} after ${Math.round(timeoutMs / 1000)}s (${last}); see ${c.paths.log}`);
}

function signalServer(pid: number): void {
  process.kill(pid, 'SIGHUP');
}

export async function addNode(cluster: Cluster, opts: NodeAddOptions, progress = new Progress()): Promise<string> {
  const running = requireRunning(cluster);
  const { workerNodeName } = await import('../../agent/workers.js');
  const { localNodeName } = await import('../../kubelet/local-node.js');
  const name = await withClusterLock(cluster.paths, async () => {
    const state = readClusterState(cluster.paths)!;
    const workers = state.workers ?? [];
    let name = opts.nodeName;
    if (name === undefined) {
      for (let i = 1; ; i++) {
        name = workerNodeName(cluster.name, i);
        if (!workers.includes(name)) break;
      }
    }
    if (!NODE_NAME.test(name) || name.length > 63) throw new CliError(`invalid node name "${name}" (lower-case letters, digits and '-', at most 63)`);
    if (workers.includes(name) || name === localNodeName(cluster.name)) throw new CliError(`node "${name}" already exists in cluster "${cluster.name}"`);
    writeClusterState(cluster.paths, { ...state, workers: [...workers, name] });
    return name;
  });
  signalServer(running.pid);
  await progress.step(
    `Adding node ${name}`,
    () =>
      waitForNode(cluster, name, (opts.waitSeconds ?? 180) * 1000, (status, node) => status === 200 && node?.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'), 'Ready'),
    () => `Node ${name} is Ready`,
  );
  return name;
}

export async function removeNode(cluster: Cluster, name: string, opts: { waitSeconds?: number } = {}, progress = new Progress()): Promise<void> {
  const running = requireRunning(cluster);
  await withClusterLock(cluster.paths, async () => {
    const state = readClusterState(cluster.paths)!;
    const workers = state.workers ?? [];
    if (!workers.includes(name)) {
      const hint = workers.length ? ` (its nodes: ${workers.join(', ')})` : '';
      throw new CliError(`cluster "${cluster.name}" has no removable node "${name}"${hint}; the control plane's node stays`);
    }
    writeClusterState(cluster.paths, { ...state, workers: workers.filter((w) => w !== name), stoppedWorkers: (state.stoppedWorkers ?? []).filter((w) => w !== name) });
  });
  signalServer(running.pid);
  await progress.step(
    `Removing node ${name}`,
    () => waitForNode(cluster, name, (opts.waitSeconds ?? 120) * 1000, (status) => status === 404, 'gone'),
    () => `Node ${name} removed`,
  );
}

const isReady = (node: any) => !!node?.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True');

/**
 * `kite node stop NODE`: its kubelet and containerd stop (its pods with them, as when a
 * machine is powered off) but the node stays in the cluster and goes NotReady once the
 * node lifecycle controller notices (its grace period); `kite node start` runs it again.
 */
export async function stopNode(cluster: Cluster, name: string, opts: { waitSeconds?: number } = {}, progress = new Progress()): Promise<void> {
  const running = requireRunning(cluster);
  await withClusterLock(cluster.paths, async () => {
    const state = readClusterState(cluster.paths)!;
    const workers = state.workers ?? [];
    if (!workers.includes(name)) throw new CliError(`cluster "${cluster.name}" has no node "${name}" that kite runs on this host${workers.length ? ` (its nodes: ${workers.join(', ')})` : ''}`);
    if ((state.stoppedWorkers ?? []).includes(name)) throw new CliError(`node "${name}" is already stopped (start it with \`kite node start ${name}\`)`);
    writeClusterState(cluster.paths, { ...state, stoppedWorkers: [...(state.stoppedWorkers ?? []), name] });
  });
  signalServer(running.pid);
  await progress.step(
    `Stopping node ${name}`,
    () => waitForNode(cluster, name, (opts.waitSeconds ?? 180) * 1000, (status, node) => status === 200 && !isReady(node), 'NotReady'),
    () => `Node ${name} is stopped (NotReady)`,
  );
}

export async function startNode(cluster: Cluster, name: string, opts: { waitSeconds?: number } = {}, progress = new Progress()): Promise<void> {
  const running = requireRunning(cluster);
  await withClusterLock(cluster.paths, async () => {
    const state = readClusterState(cluster.paths)!;
    if (!(state.stoppedWorkers ?? []).includes(name)) throw new CliError(`node "${name}" of cluster "${cluster.name}" is not stopped`);
    writeClusterState(cluster.paths, { ...state, stoppedWorkers: (state.stoppedWorkers ?? []).filter((w) => w !== name) });
  });
  signalServer(running.pid);
  await progress.step(
    `Starting node ${name}`,
    () => waitForNode(cluster, name, (opts.waitSeconds ?? 180) * 1000, (status, node) => status === 200 && isReady(node), 'Ready'),
    () => `Node ${name} is Ready`,
  );
}

export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('Manage the real nodes of a cluster on this host');
  node
    .command('add')
    .description('Add a real node (its own network namespace, containerd and kubelet) to a running cluster')
    .argument('[node-name]', 'name of the new node (default: <cluster>-workerN)')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .action(async (nodeName: string | undefined, opts: { name: string }) => {
      await addNode(openCluster(opts.name), { nodeName });
    });
  node
    .command('rm')
    .alias('remove')
    .description('Remove a node added with `kite up --nodes` or `kite node add`: its pods, runtime and network, and its Node object')
    .argument('<node-name>', 'the node')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .action(async (nodeName: string, opts: { name: string }) => {
      await removeNode(openCluster(opts.name), nodeName);
    });
  node
    .command('stop')
    .description("Stop a node's kubelet and containerd (and so its pods) without removing it: it goes NotReady")
    .argument('<node-name>', 'the node')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .action(async (nodeName: string, opts: { name: string }) => {
      await stopNode(openCluster(opts.name), nodeName);
    });
  node
    .command('start')
    .description('Start a node stopped with `kite node stop` and wait until it is Ready')
    .argument('<node-name>', 'the node')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .action(async (nodeName: string, opts: { name: string }) => {
      await startNode(openCluster(opts.name), nodeName);
    });
}
