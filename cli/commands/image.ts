// `kite image load [--name CLUSTER] FILE.tar...`: loads image archives (docker-archive
// as `docker save` writes them, or OCI image layouts as tar) into the cluster node's
// containerd, in the `k8s.io` namespace where the kubelet finds them. Pods waiting
// in ErrImagePull/ImagePullBackOff for such an image start on their own.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { openCluster, requireRunning, type Cluster } from '../cluster.js';
import { CliError, errorMessage } from '../errors.js';
import { DEFAULT_CLUSTER_NAME } from '../paths.js';

export interface ImageLoadOptions {
  images: string[];
  /** where to print progress (default stdout) */
  out?: NodeJS.WritableStream;
}

/** The containerd socket of the cluster's node, from the runtime's state file. */
export function nodeContainerdSocket(cluster: Cluster): string {
  const meta = join(cluster.paths.dir, 'node', 'containerd', 'runtime.json');
  if (!existsSync(meta)) throw new CliError(`cluster "${cluster.name}" has no node runtime (was it started as root?)`);
  const socket = (JSON.parse(readFileSync(meta, 'utf8')) as { socket?: string }).socket;
  if (!socket || !existsSync(socket)) throw new CliError(`the node runtime of cluster "${cluster.name}" is not running`);
  return socket;
}

export async function loadImages(cluster: Cluster, opts: ImageLoadOptions): Promise<string[]> {
  requireRunning(cluster);
  const out = opts.out ?? process.stdout;
  const socket = nodeContainerdSocket(cluster);
  const { importImage } = await import('../../kubelet/images/import.js');
  const loaded: string[] = [];
  for (const arg of opts.images) {
    const path = resolve(arg);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new CliError(`${arg}: not an image archive file (create one with \`docker save -o FILE IMAGE\` or an OCI layout tar)`);
    }
    let result: { images: string[] };
    try {
      result = await importImage(socket, path);
    } catch (err) {
      throw new CliError(`loading ${arg} failed: ${errorMessage(err)}`);
    }
    if (result.images.length === 0) throw new CliError(`${arg}: the archive holds no named image`);
    for (const name of result.images) {
      out.write(`Loaded image: ${name}\n`);
      loaded.push(name);
    }
  }
  return loaded;
}

export function registerImageCommands(program: Command): void {
  const image = program.command('image').description('Manage container images in a cluster');
  image
    .command('load')
    .description("Load image archives (docker save / OCI tar) into the cluster's node")
    .argument('<files...>', 'image archive files')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .action(async (files: string[], opts: { name: string }) => {
      await loadImages(openCluster(opts.name), { images: files });
    });
}
