// The `kite` command line: subcommands and their options. main.ts runs it.
import { Command, InvalidArgumentError } from 'commander';
import { registerImageCommands } from './commands/image.js';
import { registerKubeletCommand } from './commands/kubelet.js';
import { registerNodeCommands } from './commands/node.js';
import { registerTokenCommands } from './commands/token.js';
import { registerJoinCommand } from './commands/join.js';
import { registerStoreCommands } from './commands/store.js';
import { parseStoreKind, type StoreKind } from '../store/open.js';
import { CliError, errorMessage } from './errors.js';
import { parseNodeCount } from './hollow.js';
import { DEFAULT_API_PORT, DEFAULT_BIND_ADDRESS, DEFAULT_CLUSTER_NAME } from './paths.js';
import { parsePort } from '../machinery/ports.js';

// Command implementations are imported when run, so `kite list` does not pay for loading
// the certificate library or the API server.

/** Adapts a parser that throws Error to commander's option-error reporting. */
function arg<T>(parse: (v: string) => T): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (err) {
      throw new InvalidArgumentError(errorMessage(err));
    }
  };
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0)) throw new Error(`invalid duration "${v}" (seconds)`);
  return n;
}

function parseServerCount(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 9) throw new Error(`invalid server count "${v}" (1-9)`);
  return n;
}

function parsePodNetwork(v: string): 'vxlan' | 'host-gw' {
  if (v !== 'vxlan' && v !== 'host-gw') throw new Error(`unknown pod network "${v}" (want vxlan or host-gw)`);
  return v;
}

function parseServerIndex(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 99) throw new Error(`invalid server index "${v}" (0-99)`);
  return n;
}

export function buildProgram(): Command {
  const program = new Command('kite')
    .description('Run local Kubernetes clusters (written from scratch in TypeScript)')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false });

  program
    .command('up')
    .description('Create or start a cluster in the background and point kubectl at it')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .option('--api-port <port>', `API server port; the next free one is used when taken (default: last used, else ${DEFAULT_API_PORT})`, arg(parsePort))
    .option('--bind-address <addr>', `address the API server listens on (default: last used, else ${DEFAULT_BIND_ADDRESS})`)
    .option('--wait <seconds>', 'how long to wait for the API server to become ready', arg(parseSeconds), 60)
    .option('--hollow-nodes <n>', 'simulated (hollow) nodes to run besides the real one, for scale tests', arg(parseNodeCount), 0)
    .option('--nodes <n>', 'real nodes on this host, the control plane\'s included (default: last used, else 1)', arg(parseNodeCount))
    .option('--registries <file>', "registry mirrors and settings (k3s registries.yaml format); copied to the cluster's registries.yaml")
    .option('--store <kind>', 'store backend for a new cluster: sqlite, or etcd (a local etcd the cluster manages) (default: last used, else sqlite)', arg(parseStoreKind))
    .option('--servers <n>', 'API servers to run (more than one needs --store etcd; the API port is then a load balancer in front of them) (default: last used, else 1)', arg(parseServerCount))
    .option('--pod-network <mode>', 'how pods reach nodes joined from other machines: vxlan (works across subnets) or host-gw (default: last used, else vxlan)', arg(parsePodNetwork))
    .action(async (o: { name: string; apiPort?: number; bindAddress?: string; wait: number; hollowNodes: number; nodes?: number; registries?: string; store?: StoreKind; servers?: number; podNetwork?: 'vxlan' | 'host-gw' }) => {
      const { up } = await import('./commands/up.js');
      await up({ name: o.name, apiPort: o.apiPort, bindAddress: o.bindAddress, waitSeconds: o.wait, hollowNodes: o.hollowNodes, nodes: o.nodes, registries: o.registries, store: o.store, servers: o.servers, podNetwork: o.podNetwork });
    });

  program
    .command('down')
    .description('Stop a cluster (its data is kept unless --purge)')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .option('--purge', 'also delete the cluster data and its kubeconfig context', false)
    .option('--timeout <seconds>', 'how long to wait after SIGTERM before SIGKILL', arg(parseSeconds), 30)
    .action(async (o: { name: string; purge: boolean; timeout: number }) => {
      const { down } = await import('./commands/down.js');
      await down({ name: o.name, purge: o.purge, timeoutSeconds: o.timeout });
    });

  program
    .command('list')
    .description('List clusters with their state and API port')
    .action(async () => (await import('./commands/info.js')).listClusters());

  program
    .command('kubeconfig')
    .description("Print a cluster's kubeconfig")
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .action(async (o: { name: string }) => (await import('./commands/info.js')).printKubeconfig(o.name));

  program
    .command('server')
    .description('Run a cluster control plane in the foreground (what `kite up` starts)')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .option('--data-dir <dir>', 'cluster directory (default: $KITE_HOME/NAME)')
    .option('--api-port <port>', 'API server port', arg(parsePort), DEFAULT_API_PORT)
    .option('--bind-address <addr>', 'address the API server listens on', DEFAULT_BIND_ADDRESS)
    .option('--hollow-nodes <n>', 'simulated (hollow) nodes to run besides the real one, for scale tests', arg(parseNodeCount), 0)
    .option('--registries <file>', 'registry mirrors and settings (k3s registries.yaml format; default: CLUSTER_DIR/registries.yaml)')
    .option('--store <kind>', 'store backend: sqlite or etcd (default: last used, else sqlite)', arg(parseStoreKind))
    .option('--etcd-servers <urls>', 'use this etcd cluster (comma-separated client URLs) instead of a local store', (v: string) => v.split(',').filter(Boolean))
    .option('--etcd-cafile <file>', 'CA bundle that verifies the etcd servers')
    .option('--etcd-certfile <file>', 'client certificate for etcd')
    .option('--etcd-keyfile <file>', 'client key for etcd')
    .option('--node-server <url>', "the API address this host's node uses (default: this server's)")
    .option('--pod-network <mode>', 'vxlan or host-gw (default: the cluster\'s, else vxlan)', arg(parsePodNetwork))
    .option('--server-index <n>', "0: the cluster's first server; N > 0: one more API server on the cluster's etcd (own pid file and data, no node)", arg(parseServerIndex), 0)
    .action(async (o: {
      name: string; dataDir?: string; apiPort: number; bindAddress: string; hollowNodes: number; registries?: string;
      store?: StoreKind; etcdServers?: string[]; etcdCafile?: string; etcdCertfile?: string; etcdKeyfile?: string; serverIndex: number; nodeServer?: string; podNetwork?: 'vxlan' | 'host-gw';
    }) => {
      const { runServer } = await import('./commands/server.js');
      await runServer({
        name: o.name, dataDir: o.dataDir, apiPort: o.apiPort, bindAddress: o.bindAddress, hollowNodes: o.hollowNodes, registries: o.registries,
        storeFlags: { store: o.store, etcdServers: o.etcdServers, etcdCAFile: o.etcdCafile, etcdCertFile: o.etcdCertfile, etcdKeyFile: o.etcdKeyfile },
        serverIndex: o.serverIndex,
        nodeServer: o.nodeServer,
        podNetwork: o.podNetwork,
      });
    });

  program
    .command('balancer')
    .description('Run the TCP load balancer in front of a cluster\'s API servers (what `kite up --servers N` starts)')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .requiredOption('--api-port <port>', 'port to listen on', arg(parsePort))
    .option('--bind-address <addr>', 'address to listen on', DEFAULT_BIND_ADDRESS)
    .requiredOption('--backends <addrs>', 'API servers, comma-separated host:port', (v: string) => v.split(',').filter(Boolean))
    .action(async (o: { name: string; apiPort: number; bindAddress: string; backends: string[] }) => {
      const { runBalancer } = await import('./commands/balancer.js');
      await runBalancer({ name: o.name, port: o.apiPort, bindAddress: o.bindAddress, backends: o.backends });
    });

  program
    .command('history')
    .description("Show an object's recorded changes (time, revision, user, field manager, diff), also after it was deleted")
    .argument('<KIND/NAME>', 'e.g. deploy/web, configmaps/cfg, nodes/n1')
    .option('-n, --namespace <ns>', 'namespace (default: the context\'s, else default)')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .option('--kubeconfig <file>', 'kubeconfig to use (default: the context kite-NAME of your kubeconfig)')
    .option('--context <ctx>', 'kubeconfig context')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .action(async (target: string, o: { namespace?: string; name: string; kubeconfig?: string; context?: string; output: string }) => {
      if (!['text', 'json', 'yaml'].includes(o.output)) throw new InvalidArgumentError(`unknown output format "${o.output}"`);
      const { history } = await import('./commands/history.js');
      await history(target, { ...o, output: o.output as 'text' | 'json' | 'yaml' });
    });

  program
    .command('dashboard')
    .description('Serve a web UI for the cluster on loopback, acting as your kubeconfig identity (RBAC applies)')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .option('--port <port>', 'local port', arg(parsePort), 8001)
    .option('--address <addr>', 'address to listen on', '127.0.0.1')
    .option('--kubeconfig <file>', 'kubeconfig to use (default: the context kite-NAME of your kubeconfig)')
    .option('--context <ctx>', 'kubeconfig context')
    .action(async (o: { name: string; port: number; address: string; kubeconfig?: string; context?: string }) => {
      const { dashboard } = await import('./commands/dashboard.js');
      await dashboard(o);
    });

  registerImageCommands(program);
  registerNodeCommands(program);
  registerTokenCommands(program);
  registerJoinCommand(program);
  registerStoreCommands(program, arg(parseStoreKind));
  registerKubeletCommand(program, arg(parsePort));
  return program;
}

/** Prints an error the kite way: one line on stderr (plus details), for exit code 1. */
export function reportError(err: unknown, stderr: NodeJS.WritableStream = process.stderr): void {
  stderr.write(`error: ${errorMessage(err)}\n`);
  if (err instanceof CliError) for (const line of err.details) stderr.write(`${line}\n`);
  if (process.env.KITE_DEBUG && err instanceof Error && err.stack) stderr.write(`${err.stack}\n`);
}

/** Parses argv and runs the command; resolves to the exit code (the server keeps running past this). */
export async function run(argv: string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    reportError(err);
    return 1;
  }
}
