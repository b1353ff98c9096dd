// `kite kubelet`: the node agent as a process of its own, as the worker nodes of
// `kite up --nodes` and `kite join` run it, with a config file naming the API server,
// certificates and the containerd socket. (`kite server` runs its own host's kubelet
// in a thread: kubelet/thread.ts, the same code.)
import type { Command } from 'commander';
import type { KubeletConfig } from '../../kubelet/config.js';
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
  const { startKubeletFromFile } = await import('../../kubelet/agent.js');
  const overrides: Partial<KubeletConfig> = {
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.nodeIp ? { nodeIP: opts.nodeIp } : {}),
    ...(opts.hollow ? { runtime: 'hollow' as const } : {}),
  };
  const running = await startKubeletFromFile(opts.config, overrides, `pid ${process.pid}`, log);
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
