// Seam for `kite image load IMAGE...`: copy images from the host's container runtime (or
// an archive) into the cluster's nodes. Not implemented yet.
import type { Command } from 'commander';
import { openCluster, requireRunning, type Cluster } from '../cluster.js';
import { CliError } from '../errors.js';
import { DEFAULT_CLUSTER_NAME } from '../paths.js';

export interface ImageLoadOptions {
  images: string[];
}

export async function loadImages(cluster: Cluster, _opts: ImageLoadOptions): Promise<void> {
  requireRunning(cluster);
  throw new CliError('`kite image load` is not implemented yet');
}

export function registerImageCommands(program: Command): void {
  const image = program.command('image').description('Manage container images in a cluster');
  image
    .command('load')
    .description('Load images into the cluster nodes (not implemented yet)')
    .argument('<images...>', 'image references or archive files')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .action(async (images: string[], opts: { name: string }) => {
      await loadImages(openCluster(opts.name), { images });
    });
}
