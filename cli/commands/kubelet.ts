// `kite kubelet`: the node agent. `kite server` runs one for its own host (with
// --config written by kubelet/local-node.ts); it can also run on its own with a
// config file naming the API server, certificates and the containerd socket.
import type { Command } from 'commander';
import { loadKubeletConfig, type KubeletConfig } from '../../kubelet/config.js';
import { errorMessage } from '../errors.js';

export interface KubeletCommandOptions {
  config: string;
  port?: number;
  nodeIp?: string;
  hollow?: boolean;
}

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
}

export async function runKubelet(opts: KubeletCommandOptions): Promise<void> {
  const { startKubelet } = await import('../../kubelet/agent.js');
  let config: KubeletConfig = loadKubeletConfig(opts.config);
  if (opts.port !== undefined) config = { ...config, port: opts.port };
  if (opts.nodeIp) config = { ...config, nodeIP: opts.nodeIp };
  if (opts.hollow) config = { ...config, runtime: 'hollow' };
  log(`kite kubelet for node ${config.nodeName} starting (pid ${process.pid})`);
  const running = await startKubelet(config, { log: (m) => log(m) });
  log(`kubelet serving on ${config.address}:${running.port}`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log(`${signal} received: stopping the kubelet (pods keep running)`);
    const timer = setTimeout(() => process.exit(0), 5000);
    timer.unref();
    running
      .stop()
      .catch((err) => log(`error while stopping: ${errorMessage(err)}`))
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

export function registerKubeletCommand(program: Command, parsePort: (v: string) => number): void {
  program
    .command('kubelet')
    .description('Run a node agent (what `kite server` starts for its host)')
    .requiredOption('--config <file>', 'kubelet configuration (JSON)')
    .option('--port <port>', 'HTTPS port (overrides the config)', parsePort)
    .option('--node-ip <ip>', 'InternalIP to report (overrides the config)')
    .option('--hollow', 'simulate containers instead of running them', false)
    .action(async (o: { config: string; port?: number; nodeIp?: string; hollow: boolean }) => {
      await runKubelet(o);
    });
}
