// `kite join --server https://HOST:PORT --token ID.SECRET --ca-cert-hash sha256:…`
// (upstream: kubeadm join for a worker): makes this machine a node of the cluster and
// runs it in the foreground until SIGTERM/SIGINT, which stop the node (its pods and
// runtime; the Node object stays, NotReady, as with a stopped kubelet).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { kiteHome } from '../paths.js';

export interface JoinOptions {
  server: string;
  token: string;
  caCertHash: string[];
  nodeName?: string;
  nodeIP?: string;
  dataDir?: string;
  registries?: string;
}

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The address this machine reaches `host` from (the kernel's source address choice). */
function sourceAddressTowards(host: string): string {
  const out = execFileSync('ip', ['route', 'get', host], { encoding: 'utf8' });
  const m = / src (\S+)/.exec(out);
  if (!m) throw new CliError(`cannot tell this machine's address towards ${host}; pass --node-ip`);
  return m[1];
}

/** The CA of an identity already in `pkiDir` (client and serving certificates included), if any. */
function knownCA(pkiDir: string): string | undefined {
  const files = ['ca.crt', 'kubelet-client.crt', 'kubelet-client.key', 'kubelet.crt', 'kubelet.key'].map((f) => join(pkiDir, f));
  if (!files.every((f) => existsSync(f))) return undefined;
  return readFileSync(files[0], 'utf8');
}

export async function joinCluster(o: JoinOptions): Promise<void> {
  let url: URL;
  try {
    url = new URL(o.server);
  } catch {
    throw new CliError(`--server: "${o.server}" is not a URL (want https://HOST:PORT)`);
  }
  if (url.protocol !== 'https:') throw new CliError(`--server: "${o.server}" must be https://HOST:PORT`);
  if (o.caCertHash.length === 0) throw new CliError('--ca-cert-hash is required (`kite token create --print-join-command` prints it)');
  const nodeName = (o.nodeName ?? hostname()).toLowerCase();
  if (!NODE_NAME.test(nodeName) || nodeName.length > 63) throw new CliError(`invalid node name "${nodeName}" (lower-case letters, digits, '-' and '.'); pass --name`);
  if (process.getuid?.() !== 0) throw new CliError('kite join runs a node (containerd, network set-up): run it as root');
  const nodeIP = o.nodeIP ?? sourceAddressTowards(url.hostname.replace(/^\[|\]$/g, ''));
  const nodeDir = o.dataDir ?? join(kiteHome(), 'join', nodeName);
  const { discoverCluster, bootstrapNodeIdentity, JoinError } = await import('../../agent/join.js');
  const { startJoinedNode } = await import('../../agent/joined-node.js');
  let node: { close(): Promise<void> };
  try {
    // A machine that joined before restarts with the identity it has (its token may have
    // expired since), when that identity is of the cluster the hash names.
    const known = knownCA(join(nodeDir, 'pki'));
    const { caCertHash } = await import('../../machinery/pki.js');
    let discovered: { ca: string };
    if (known && o.caCertHash.map((h) => h.toLowerCase()).includes(caCertHash(known))) {
      log(`this machine joined before: using its identity in ${join(nodeDir, 'pki')}`);
      discovered = { ca: known };
    } else {
      log(`discovery: reading cluster-info from ${o.server}`);
      discovered = await discoverCluster(o.server, o.token, o.caCertHash, log);
      log(`discovery: the cluster CA matches ${o.caCertHash.join(',')}`);
    }
    const identity = await bootstrapNodeIdentity({ server: o.server, token: o.token, ca: discovered.ca, nodeName, nodeIP, pkiDir: join(nodeDir, 'pki'), log });
    log(`TLS bootstrap: node ${nodeName} has its client certificate (${join(nodeDir, 'pki', 'kubelet.conf')})`);
    node = await startJoinedNode({ nodeName, nodeIP, server: o.server, nodeDir, identity, registries: o.registries, log });
  } catch (err) {
    if (err instanceof JoinError) throw new CliError(err.message);
    throw err;
  }
  log(`This node has joined the cluster; run 'kubectl get nodes' on the control plane to see it. Stop it with SIGTERM.`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping node ${nodeName}`);
    void node.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export function registerJoinCommand(program: Command): void {
  program
    .command('join')
    .description("Make this machine a node of a running cluster (as `kubeadm join`); runs in the foreground")
    .requiredOption('--server <url>', "the API server, https://HOST:PORT (`kite token create --print-join-command` prints it)")
    .requiredOption('--token <token>', 'a bootstrap token (ID.SECRET, from `kite token create`)')
    .option('--ca-cert-hash <hash>', "the cluster CA's public key hash, sha256:<hex> (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--name <node>', 'node name (default: the hostname)')
    .option('--node-ip <ip>', "the node's address (default: this machine's source address towards the server)")
    .option('--data-dir <dir>', "the node's directory (default: $KITE_HOME/join/NODE)")
    .option('--registries <file>', 'registry mirrors and settings (k3s registries.yaml format)')
    .action(async (o: { server: string; token: string; caCertHash: string[]; name?: string; nodeIp?: string; dataDir?: string; registries?: string }) => {
      await joinCluster({ server: o.server, token: o.token, caCertHash: o.caCertHash, nodeName: o.name, nodeIP: o.nodeIp, dataDir: o.dataDir, registries: o.registries });
    });
}
