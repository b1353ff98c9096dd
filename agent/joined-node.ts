// A node on another machine, started by `kite join` once it has its identity
// (agent/join.ts): the machine's own containerd and kubelet, then the service proxy and
// NetworkPolicy enforcement (as the node: kite has no kube-proxy DaemonSet), and the pod
// network to the other nodes: VXLAN to those with a VTEP, host-gw routes to the rest. Cluster DNS is the control plane's, reached
// through the kube-dns Service.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node } from 'kubernetes-types/core/v1.js';
import { HttpTransport } from '../client/http-transport.js';
import { isNotFound } from '../client/transport.js';
import { errorMessage } from '../machinery/errors.js';
import { resourceByPath } from '../machinery/resources.js';
import type { NodeIdentity } from './join.js';
import type { NodeNetworking } from './networking.js';
import { HostGwRoutes } from './routes.js';

const NODES = resourceByPath('', 'v1', 'nodes')!;

export interface JoinedNodeOptions {
  nodeName: string;
  nodeIP: string;
  server: string;
  /** The node's directory (containerd, kubelet, pki, logs). */
  nodeDir: string;
  identity: NodeIdentity;
  /** k3s-style registries file for the containerd (optional). */
  registries?: string;
  log: (m: string) => void;
}

export interface JoinedNode {
  podCIDR: string;
  close(): Promise<void>;
}

export async function startJoinedNode(o: JoinedNodeOptions): Promise<JoinedNode> {
  const local = await import('../kubelet/local-node.js');
  const runtime = await import('../kubelet/runtime/index.js');
  const { defaultKubeletConfig } = await import('../kubelet/config.js');
  const log = o.log;
  mkdirSync(o.nodeDir, { recursive: true, mode: 0o700 });
  await runtime.ensureRuntimePackages({ log });
  const pkiDir = o.identity.pkiDir;
  const containerdDir = join(o.nodeDir, 'containerd');
  if (o.registries) {
    const { applyRegistries } = await import('../kubelet/runtime/registries.js');
    applyRegistries(o.registries, containerdDir);
  }
  const api = new HttpTransport({ server: o.server, caData: o.identity.ca, certData: o.identity.client.cert, keyData: o.identity.client.key }, { component: 'kite-join' });
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const s of [...started].reverse()) await s.stop().catch((err) => log(`stop: ${errorMessage(err)}`));
    started.length = 0;
  };
  try {
    // No CNI config until the node IPAM controller gives the node its pod CIDR.
    const containerd = (await runtime.adoptContainerd(containerdDir)) ?? (await runtime.startContainerd({ stateDir: containerdDir }));
    log(`containerd running (pid ${containerd.pid})`);
    const supervisor = new local.ContainerdSupervisor(containerdDir, containerd, log);
    started.push({
      stop: async () => {
        await local.cleanupNode(o.nodeDir, { log, containerd: await supervisor.stop() });
      },
    });
    await local.ensureImages(containerd.socket, join(o.nodeDir, 'images'), log);
    const names = local.nodeNetworkNames(o.nodeDir);
    const config = defaultKubeletConfig({
      nodeName: o.nodeName,
      apiServer: o.server,
      caFile: join(pkiDir, 'ca.crt'),
      clientCertFile: join(pkiDir, 'kubelet-client.crt'),
      clientKeyFile: join(pkiDir, 'kubelet-client.key'),
      servingCertFile: join(pkiDir, 'kubelet.crt'),
      servingKeyFile: join(pkiDir, 'kubelet.key'),
      rootDir: join(o.nodeDir, 'kubelet'),
      runtime: 'containerd',
      containerdSocket: containerd.socket,
      nodeIP: o.nodeIP,
      cgroupRoot: runtime.detectCgroupDriver() === 'cgroupfs' ? names.cgroupRoot : '',
    });
    const configPath = join(o.nodeDir, 'kubelet.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
    const kubelet = new local.KubeletSupervisor(o.nodeDir, configPath, log);
    kubelet.start();
    started.push(kubelet);

    const podCIDR = await waitForPodCidr(api, o.nodeName, log);
    local.reservePodCidr(podCIDR, o.nodeDir);
    runtime.writeCniConfig({
      podCIDR,
      bridge: names.bridge,
      name: names.network,
      cniVersion: await runtime.detectCniVersion(),
      confDir: runtime.cniConfDir(containerdDir),
      dataDir: runtime.cniDataDir(containerdDir),
      ipMasq: false,
    });
    // The pod network the cluster announces: VXLAN when its nodes carry a VTEP (the
    // control plane's host does unless it runs host-gw), else host-gw routes only.
    const { VxlanNetwork, announcedVni, BACKEND_TYPE_ANNOTATION } = await import('./vxlan.js');
    const vni = announcedVni((await api.list<Node>(NODES, undefined)).items.filter((n) => n.metadata?.name !== o.nodeName));
    if (vni !== undefined) {
      const vxlan = new VxlanNetwork({ transport: api, nodeName: o.nodeName, nodeIP: o.nodeIP, podCIDR, vni, log });
      await vxlan.start();
      started.push(vxlan);
    } else {
      log('the cluster announces no VXLAN network: host-gw routes only');
      const { withdrawVtep } = await import('./vxlan.js');
      await withdrawVtep({ server: o.server, ca: o.identity.ca, pkiDir, nodeName: o.nodeName });
    }
    const routes = new HostGwRoutes({ transport: api, selfName: o.nodeName, skip: (n) => vni !== undefined && n.metadata?.annotations?.[BACKEND_TYPE_ANNOTATION] === 'vxlan', log });
    routes.start();
    started.push(routes);
    const { startNodeNetworking } = await import('./networking.js');
    const networking: NodeNetworking = await startNodeNetworking({
      clientFor: (part) => new HttpTransport({ server: o.server, caData: o.identity.ca, certData: o.identity.client.cert, keyData: o.identity.client.key }, { component: part === 'proxy' ? 'kube-proxy' : `kite-${part}` }),
      nodeName: o.nodeName,
      nodeIP: o.nodeIP,
      podCIDR,
      bridge: names.bridge,
      clusterName: `j${o.nodeName}`.slice(0, 24),
      dns: false,
      ingress: false,
      log,
    });
    started.push(networking);
    log(`node ${o.nodeName} started (IP ${o.nodeIP}, pod CIDR ${podCIDR})`);
    return {
      podCIDR,
      async close() {
        await stopAll();
        api.close();
      },
    };
  } catch (err) {
    await stopAll();
    api.close();
    throw err;
  }
}

async function waitForPodCidr(api: HttpTransport, name: string, log: (m: string) => void): Promise<string> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      const node = await api.get<Node>(NODES, undefined, name);
      if (node.spec?.podCIDR) return node.spec.podCIDR;
    } catch (err) {
      if (!isNotFound(err)) log(`reading node ${name}: ${errorMessage(err)}`);
    }
    if (Date.now() > deadline) throw new Error(`node ${name} got no pod CIDR within 180s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
