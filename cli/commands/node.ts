// Seam for `kite node add`: join another node (a kubelet with a client certificate from
// the cluster CA, CN system:node:NAME, O system:nodes) to a running cluster. Not
// implemented yet.
import type { Command } from 'commander';
import { openCluster, requireRunning, type Cluster } from '../cluster.js';
import { CliError } from '../errors.js';
import { DEFAULT_CLUSTER_NAME } from '../paths.js';

export interface NodeAddOptions {
  nodeName?: string;
}

export async function addNode(cluster: Cluster, _opts: NodeAddOptions): Promise<void> {
  requireRunning(cluster);
  throw new CliError('`kite node add` is not implemented yet');
}

export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('Manage the nodes of a cluster');
  node
    .command('add')
    .description('Add a node to a running cluster (not implemented yet)')
    .argument('[node-name]', 'name of the new node')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .action(async (nodeName: string | undefined, opts: { name: string }) => {
      await addNode(openCluster(opts.name), { nodeName });
    });
}
