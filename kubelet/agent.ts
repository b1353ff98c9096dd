// Wiring of one kubelet process: runtime (CRI or hollow), the Kubelet, its
// HTTPS server. `kite kubelet --config FILE` runs this until SIGTERM; the pods
// keep running when it stops (a restarted kubelet adopts them).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient } from './cri/client.js';
import { loadKubeletConfig, type KubeletConfig } from './config.js';
import { HollowRuntime } from './hollow.js';
import { Kubelet } from './kubelet.js';
import { KubeRuntime } from './kuberuntime.js';
import { nodeCapacity } from './node.js';
import { HttpTransport } from '../client/http-transport.js';
import { startApiServerBalancer } from '../client/api-balancer.js';
import { KubeletAuth } from './server/auth.js';
import { KubeletServer } from './server/server.js';
import type { PodRuntime } from './types.js';
import { errorMessage, sleep } from './util.js';
import { networkInterfaces } from 'node:os';
import { StatsProvider, type StatsHost } from './stats.js';
import { MetricsRegistry } from '../machinery/metrics.js';

/** The kubelet's own metrics (upstream names), counted from its pods' statuses at each scrape. */
function kubeletMetrics(host: StatsHost): MetricsRegistry {
  const reg = new MetricsRegistry();
  const pods = reg.gauge('kubelet_running_pods', 'Number of pods that have a running pod sandbox');
  const containers = reg.gauge('kubelet_running_containers', 'Number of containers currently running', ['container_state']);
  reg.collect(() => {
    let running = 0;
    const states = { running: 0, exited: 0, created: 0, unknown: 0 };
    for (const pod of host.pods()) {
      const st = host.podStatus(pod.metadata!.uid!) ?? pod.status;
      if (st?.phase === 'Running' || st?.phase === 'Pending' && (st.containerStatuses ?? []).some((c) => c.state?.running)) running++;
      for (const c of [...(st?.containerStatuses ?? []), ...(st?.initContainerStatuses ?? []), ...(st?.ephemeralContainerStatuses ?? [])]) {
        if (c.state?.running) states.running++;
        else if (c.state?.terminated) states.exited++;
        else if (c.containerID) states.created++;
      }
    }
    pods.set({}, running);
    for (const [state, n] of Object.entries(states)) containers.set({ container_state: state }, n);
  });
  return reg;
}

/** The host's first non-loopback IPv4 address. */
export function hostIPv4(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

export interface RunningKubelet {
  kubelet: Kubelet;
  server: KubeletServer;
  port: number;
  stop(): Promise<void>;
}

export interface StartKubeletOptions {
  log?: (msg: string) => void;
  /** provide a runtime (tests, hollow nodes sharing a process) */
  runtime?: PodRuntime;
  /**
   * A CRI client connected before the configuration came (kite server's prewarmed kubelet
   * thread, kubelet/thread.ts): used when it is for the configured socket, else closed.
   */
  cri?: Promise<CriClient | undefined>;
}

async function connectCri(socket: string, log: (m: string) => void): Promise<CriClient> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await CriClient.connect(socket, { connectTimeoutMs: 2000 });
    } catch (err) {
      if (attempt >= 300) throw new Error(`container runtime at ${socket} does not answer: ${errorMessage(err)}`, { cause: err });
      if (attempt % 50 === 10) log(`waiting for the container runtime at ${socket}: ${errorMessage(err)}`);
      await sleep(100);
    }
  }
}

export async function startKubelet(config: KubeletConfig, opts: StartKubeletOptions = {}): Promise<RunningKubelet> {
  const log = opts.log ?? ((m: string) => process.stdout.write(`${new Date().toISOString()} kubelet: ${m}\n`));
  const nodeIP = config.nodeIP ?? hostIPv4() ?? '127.0.0.1';
  const credentials = { caData: readFileSync(config.caFile, 'utf8'), certData: readFileSync(config.clientCertFile, 'utf8'), keyData: readFileSync(config.clientKeyFile, 'utf8') };
  const balancer = config.apiServerBalancer
    ? await startApiServerBalancer({ servers: [config.apiServer], credentials, component: 'kubelet', stateFile: join(config.rootDir, 'api-servers.json'), log })
    : undefined;
  const cfg: KubeletConfig = { ...config, nodeIP, apiServer: balancer?.url ?? config.apiServer };
  let runtime = opts.runtime;
  if (!runtime) {
    if (cfg.runtime === 'hollow') runtime = new HollowRuntime({ nodeName: cfg.nodeName });
    else {
      if (!cfg.containerdSocket) throw new Error('containerdSocket is required for the containerd runtime');
      let cri = await opts.cri;
      if (cri && cri.socket !== cfg.containerdSocket) {
        cri.close();
        cri = undefined;
      }
      cri ??= await connectCri(cfg.containerdSocket, log);
      runtime = new KubeRuntime(cri, { memoryCapacity: nodeCapacity(cfg.rootDir).memoryBytes, offlineImageFallback: cfg.offlineImageFallback, log });
    }
  }
  // One API client (the node's identity) for the kubelet and for its server's
  // TokenReviews and SubjectAccessReviews.
  const transport = new HttpTransport({ server: cfg.apiServer, ...credentials }, { component: 'kubelet' });
  // The server goes up first so the node reports the port it really got.
  const holder: { kubelet?: Kubelet } = {};
  const rt = runtime;
  const statsHost = {
    pods: () => holder.kubelet?.pods() ?? [],
    podStatus: (uid: string) => holder.kubelet?.statusManager.get(uid),
  };
  const stats = new StatsProvider(rt, statsHost, cfg.nodeName, cfg.rootDir, log);
  const metrics = kubeletMetrics(statsHost);
  const server = new KubeletServer({
    host: {
      getPod: (ns, name) => holder.kubelet?.getPod(ns, name),
      pods: () => holder.kubelet?.pods() ?? [],
      runtime: rt,
      podStatus: (uid) => holder.kubelet?.statusManager.get(uid),
      log,
      stats,
      metrics: () => metrics.render(),
    },
    address: cfg.address,
    port: cfg.port,
    tls: { cert: readFileSync(cfg.servingCertFile, 'utf8'), key: readFileSync(cfg.servingKeyFile, 'utf8'), ca: readFileSync(cfg.caFile, 'utf8') },
    auth: new KubeletAuth({ nodeName: cfg.nodeName, transport, log }),
  });
  const port = await server.listen();
  const k = new Kubelet({ config: { ...cfg, port }, runtime: rt, transport, log, hollow: cfg.runtime === 'hollow' });
  holder.kubelet = k;
  await k.start();
  stats.start();
  return {
    kubelet: k,
    server,
    port,
    async stop() {
      stats.stop();
      await server.close();
      await k.stop();
      await balancer?.close();
    },
  };
}

/**
 * The kubelet a config file describes, with `overrides` on top: what `kite kubelet --config`
 * runs as a process (standalone and joined nodes) and what runs in a thread of `kite server`
 * for its own host's node (kubelet/thread.ts). `where` names the process or thread in the log.
 */
export async function startKubeletFromFile(
  configPath: string,
  overrides: Partial<KubeletConfig>,
  where: string,
  log: (msg: string) => void,
  opts: Pick<StartKubeletOptions, 'cri'> = {},
): Promise<RunningKubelet> {
  const config: KubeletConfig = { ...loadKubeletConfig(configPath), ...overrides };
  log(`kite kubelet for node ${config.nodeName} starting (${where})`);
  const running = await startKubelet(config, { log, ...opts });
  log(`kubelet serving on ${config.address}:${running.port}`);
  return running;
}
