// One node, assembled (upstream: what kubeadm/kind start on a node; k3s: pkg/agent):
// the private containerd and kubelet, then the node's service proxy, cluster DNS,
// ingress controller and NetworkPolicy enforcement — API clients over HTTPS, each with
// its own identity and least-privilege role.
import { join, resolve } from 'node:path';
import { errorMessage } from '../machinery/errors.js';
import { primaryHostIPv4, type CertKeyPair } from '../machinery/pki.js';
import { DNS_USER, INGRESS_USER, KUBE_PROXY_USER, NETPOL_USER } from '../machinery/identities.js';
import type { ApiTransport } from '../client/transport.js';
import type { NetworkingPart } from './networking.js';
import type { NodeRuntime } from '../kubelet/local-node.js';

export interface AgentOptions {
  clusterName: string;
  clusterDir: string;
  /** The API server's URL. */
  server: string;
  /** The cluster CA (with its key: a node on the control plane's host issues its own client certificates). */
  ca: CertKeyPair;
  /**
   * Several API servers: the node's clients reach them through balancers of the node's
   * own (client/api-balancer.ts) fed from the `kubernetes` endpoints, `server` being only
   * where they start — the kubelet keeps one in its process, the networking parts share
   * one here.
   */
  balanceApiServers?: boolean;
  /** How pods reach other machines' nodes: a VXLAN device (default) or host-gw routes only. */
  podNetwork?: 'vxlan' | 'host-gw';
  log: (message: string) => void;
}

export interface Agent {
  close(): Promise<void>;
}

const PART_USERS: Record<NetworkingPart, { file: string; user: string; component: string }> = {
  proxy: { file: 'kube-proxy', user: KUBE_PROXY_USER, component: 'kube-proxy' },
  dns: { file: 'dns', user: DNS_USER, component: 'kite-dns' },
  ingress: { file: 'ingress', user: INGRESS_USER, component: 'kite-ingress' },
  netpol: { file: 'netpol', user: NETPOL_USER, component: 'kite-netpol' },
};

/**
 * The node's container runtime, started before the API server serves (it needs nothing of
 * it): containerd and the image import then run beside the control plane's start instead
 * of after it. Undefined when no node can run on this host.
 */
export interface PreparedNode {
  runtime: Promise<NodeRuntime | undefined>;
  /**
   * The node's certificates, issued as soon as the cluster CA exists (while the control
   * plane starts) instead of after the API server listens, where they were on the path
   * `kite up` waits for: the kubelet's (client and serving, on disk) and its networking
   * parts' client credentials. Undefined when no node runs here.
   */
  credentials: Promise<PartCredentials | undefined>;
  /** When the node will not start after all (the control plane failed): stops the containerd it started (one it adopted keeps running). */
  abandon(): Promise<void>;
}

/** Each networking part with its identity and client certificate. */
type PartCredentials = (readonly [NetworkingPart, (typeof PART_USERS)[NetworkingPart], CertKeyPair])[];

export function prepareNode(o: { clusterName: string; clusterDir: string; registries: string; ca: Promise<CertKeyPair>; log: (message: string) => void }): PreparedNode {
  const log = o.log;
  const runtime = (async () => {
    const { localNodeUnsupported, nodeDirOf, startNodeRuntime } = await import('../kubelet/local-node.js');
    const why = localNodeUnsupported();
    if (why) {
      log(`no node on this host: ${why}`);
      return undefined;
    }
    // A new node's ingress certificate takes an RSA key: it is made on the thread pool from now on.
    const nodeDir = nodeDirOf(o.clusterDir);
    (await import('../ingress/default-cert.js')).defaultIngressCertificate(join(nodeDir, 'ingress', 'default.pem')).catch(() => undefined); // the ingress controller asks for it again (sharing this generation) and reports a failure
    // Mirrors/TLS (hosts.toml under certs.d) and auth for the private containerd,
    // written before it starts (a missing file clears earlier settings).
    const { applyRegistries } = await import('../kubelet/runtime/registries.js');
    const applied = applyRegistries(o.registries, join(nodeDir, 'containerd'));
    if (applied.hosts.length > 0) log(`node: registries from ${o.registries}: ${applied.hosts.join(', ')}`);
    for (const w of applied.warnings) log(`node: ${o.registries}: ${w}`);
    return startNodeRuntime({ clusterDir: o.clusterDir, log: (m) => log(`node: ${m}`) });
  })();
  runtime.catch(() => undefined); // the agent awaits it (and logs its failure)
  const credentials = (async (): Promise<PartCredentials | undefined> => {
    const ca = await o.ca;
    if (!(await runtime)) return undefined;
    const [{ ensureNodeCerts, localNodeName, nodeDirOf }, { componentCredentials }] = await Promise.all([import('../kubelet/local-node.js'), import('./credentials.js')]);
    const pkiDir = join(nodeDirOf(o.clusterDir), 'pki');
    const [, parts] = await Promise.all([
      ensureNodeCerts(pkiDir, ca, localNodeName(o.clusterName), primaryHostIPv4()),
      Promise.all((Object.entries(PART_USERS) as [NetworkingPart, (typeof PART_USERS)[NetworkingPart]][]).map(async ([part, who]) => [part, who, await componentCredentials(pkiDir, ca, who.file, who.user)] as const)),
    ]);
    return parts;
  })();
  credentials.catch(() => undefined); // the agent awaits it (and logs its failure)
  return {
    runtime,
    credentials,
    async abandon() {
      const started = await runtime.catch(() => undefined);
      if (!started) return;
      const { abandonNodeRuntime } = await import('../kubelet/local-node.js');
      await abandonNodeRuntime(started, (m) => log(`node: ${m}`));
    },
  };
}

/**
 * Starts this host's node on the runtime prepareNode started (none when no node can run
 * here: not root, KITE_NODE=none). Runs in the background: failures are logged and the
 * control plane keeps running.
 */
export function startAgent(o: AgentOptions & { prepared: PreparedNode }): Agent {
  const log = o.log;
  const starting = (async () => {
    const runtime = await o.prepared.runtime;
    if (!runtime) return undefined;
    const { localNodeName, nodeDirOf, nodeNetworkNames, startLocalNode } = await import('../kubelet/local-node.js');
    const nodeDir = nodeDirOf(o.clusterDir);
    // The networking parts' code needs nothing of the node: it loads while the kubelet starts.
    const ingressStateDir = join(nodeDir, 'ingress');
    const networkingPrepared = (async () => {
      const [networking, { HttpTransport }, creds] = await Promise.all([import('./networking.js'), import('../client/http-transport.js'), o.prepared.credentials]);
      return { startNodeNetworking: networking.startNodeNetworking, HttpTransport, creds: creds! };
    })();
    networkingPrepared.catch(() => undefined); // awaited (and its failure logged) below
    const nodeStarted = startLocalNode({
      clusterName: o.clusterName,
      clusterDir: o.clusterDir,
      server: o.server,
      apiServerBalancer: o.balanceApiServers,
      runtime,
      certificates: o.prepared.credentials,
      log: (m) => log(`node: ${m}`),
    });
    nodeStarted.catch(() => undefined); // awaited below, after networking has started
    let balancer: { url: string; close(): Promise<void> } | undefined;
    // The networking parts start beside the node: DNS and the ingress controller need only
    // its name and address (what startLocalNode gives it too), the proxy waits for its pod
    // CIDR. `kite up` waits for the ingress controller, so it should not queue behind
    // containerd's start and the images.
    const nodeName = localNodeName(o.clusterName);
    const nodeIP = primaryHostIPv4();
    const { bridge } = nodeNetworkNames(nodeDir);
    const networkingStart = (async (): Promise<{ stop(): Promise<void> } | undefined> => {
      try {
        const { startNodeNetworking, HttpTransport, creds: partCreds } = await networkingPrepared;
        const clients = {} as Record<NetworkingPart, ApiTransport>;
        if (o.balanceApiServers) {
          // kube-proxy's identity may watch the endpoints.
          const { startApiServerBalancer } = await import('../client/api-balancer.js');
          const creds = partCreds.find(([part]) => part === 'proxy')![2];
          balancer = await startApiServerBalancer({ servers: [o.server], credentials: { caData: o.ca.cert, certData: creds.cert, keyData: creds.key }, component: 'kite-node-balancer', stateFile: join(nodeDir, 'api-servers.json'), log: (m) => log(`node: ${m}`) });
        }
        const server = balancer?.url ?? o.server;
        for (const [part, who, creds] of partCreds) {
          clients[part] = new HttpTransport({ server, caData: o.ca.cert, certData: creds.cert, keyData: creds.key }, { component: who.component });
        }
        const started = await startNodeNetworking({
          clientFor: (part) => clients[part],
          clusterName: o.clusterName,
          nodeName,
          nodeIP,
          podCIDR: nodeStarted.then((n) => n.podCIDR),
          bridge,
          // The ingress's nginx keeps its configuration, certificates and pid with the node.
          ingress: { stateDir: ingressStateDir },
          log: (m) => log(`networking: ${m}`),
        });
        log('networking: proxy, DNS, ingress and NetworkPolicy started');
        return started;
      } catch (err) {
        log(`networking failed to start: ${errorMessage(err)}`);
        return undefined;
      }
    })();
    let node: Awaited<typeof nodeStarted>;
    try {
      node = await nodeStarted;
    } catch (err) {
      const started = await networkingStart;
      if (started) await started.stop().catch((e) => log(`networking: stop failed: ${errorMessage(e)}`));
      await balancer?.close();
      // Its containerd may be running already.
      await o.prepared.abandon().catch((e) => log(`node: stop failed: ${errorMessage(e)}`));
      throw err;
    }
    try {
      await node.images;
    } catch (err) {
      const started = await networkingStart;
      if (started) await started.stop().catch((e) => log(`networking: stop failed: ${errorMessage(e)}`));
      await balancer?.close();
      await node.close().catch((e) => log(`node: stop failed: ${errorMessage(e)}`));
      throw err;
    }
    // `kite up` waits for this line: pods created after it find their images.
    log('node: images ready');
    const networking = await networkingStart;
    let vxlan: { stop(): Promise<void> } | undefined;
    if ((o.podNetwork ?? 'vxlan') === 'vxlan') {
      try {
        // Nodes joined from other machines reach this one's pods over VXLAN; the device
        // is announced on this node's Node, written as the node itself.
        const { VxlanNetwork, clusterVni } = await import('./vxlan.js');
        const { HttpTransport } = await import('../client/http-transport.js');
        const { readFileSync } = await import('node:fs');
        const pki = join(nodeDir, 'pki');
        const asNode = new HttpTransport(
          { server: balancer?.url ?? o.server, caData: o.ca.cert, certData: readFileSync(join(pki, 'kubelet-client.crt'), 'utf8'), keyData: readFileSync(join(pki, 'kubelet-client.key'), 'utf8') },
          { component: 'kite-vxlan' },
        );
        const net = new VxlanNetwork({ transport: asNode, nodeName: node.nodeName, nodeIP: node.nodeIP, podCIDR: node.podCIDR, vni: clusterVni(resolve(o.clusterDir)), log: (m) => log(`networking: ${m}`) });
        await net.start();
        vxlan = { stop: async () => (await net.stop(), asNode.close()) };
      } catch (err) {
        log(`networking: vxlan failed to start: ${errorMessage(err)}`);
      }
    } else {
      // host-gw: a VTEP announced by an earlier run (--pod-network vxlan) is withdrawn.
      try {
        const { withdrawVtep } = await import('./vxlan.js');
        await withdrawVtep({ server: o.server, ca: o.ca.cert, pkiDir: join(nodeDir, 'pki'), nodeName: node.nodeName });
      } catch (err) {
        log(`networking: withdrawing the VXLAN annotations: ${errorMessage(err)}`);
      }
    }
    return {
      async close() {
        if (vxlan) await vxlan.stop().catch((err) => log(`vxlan: stop failed: ${errorMessage(err)}`));
        if (networking) await networking.stop().catch((err) => log(`networking: stop failed: ${errorMessage(err)}`));
        await balancer?.close();
        await node.close();
      },
    };
  })().catch((err) => {
    log(`node failed to start: ${errorMessage(err)}`);
    return undefined;
  });
  return {
    async close() {
      const node = await starting;
      if (node) await node.close();
      else {
        // A half-started node may have left a containerd or pods behind.
        const { cleanupNode, nodeDirOf } = await import('../kubelet/local-node.js');
        await cleanupNode(nodeDirOf(o.clusterDir), { log: (m) => log(`node: ${m}`) });
      }
    },
  };
}
