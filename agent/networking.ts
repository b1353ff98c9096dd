// Everything service networking runs on a node, in one call: the proxy, the cluster
// DNS server, the ingress controller and NetworkPolicy enforcement. `kite server`
// starts this next to its kubelet:
//
//   const net = await startNodeNetworking({
//     clientFor,                        // each part's API client, with its own identity
//     clusterName,                      // names the cluster's own nftables tables
//     nodeName, nodeIP,                 // the kubelet's
//     podCIDR,                          // the node's pod CIDR (10.244.N.0/24)
//     bridge,                           // the node's pod bridge (nodeNetworkNames(nodeDir).bridge)
//   });
//   ...
//   await net.stop();                   // removes every rule, withdraws the DNS endpoint
//
// Each part can be turned off (`dns: false`, ...) or given its own options.
import type { ApiTransport } from '../client/transport.js';
import { startProxy } from '../proxy/index.js';
import type { Proxy, ProxyOptions } from '../proxy/index.js';
import { startDns } from '../dns/server.js';
import type { DnsServer, DnsServerOptions } from '../dns/server.js';
import { startIngress } from '../ingress/controller.js';
import type { IngressController, IngressOptions } from '../ingress/controller.js';
import { startNetworkPolicy } from '../netpol/controller.js';
import type { NetworkPolicyEnforcer } from '../netpol/controller.js';
import { proxyTableName } from '../proxy/nftables.js';

/** The node's networking parts, each an API client with its own identity. */
export type NetworkingPart = 'proxy' | 'dns' | 'ingress' | 'netpol';

export interface NodeNetworkingOptions {
  clientFor: (part: NetworkingPart) => ApiTransport;
  nodeName: string;
  nodeIP: string;
  /**
   * This node's pod CIDR; traffic to ClusterIPs from outside it is masqueraded. A promise
   * while the node's is being chosen: only the proxy needs it, DNS and ingress start meanwhile.
   */
  podCIDR: string | Promise<string>;
  /** The pod bridge: ClusterIPs then answer only this node's pods and the host. */
  bridge?: string;
  /** Names the nftables tables `kite-proxy-<name>`, `kite-netpol-<name>` (default: unsuffixed). */
  clusterName?: string;
  serviceCIDR?: string;
  /** Program the proxy's and NetworkPolicy's rules inside this network namespace (a node of a multi-node cluster). */
  netns?: string;
  proxy?: Partial<ProxyOptions>;
  dns?: false | Partial<DnsServerOptions>;
  ingress?: false | Partial<IngressOptions>;
  networkPolicy?: false;
  log?: (msg: string) => void;
}

export interface NodeNetworking {
  proxy: Proxy;
  dns?: DnsServer;
  ingress?: IngressController;
  networkPolicy?: NetworkPolicyEnforcer;
  stop(): Promise<void>;
}

export async function startNodeNetworking(o: NodeNetworkingOptions): Promise<NodeNetworking> {
  const log = o.log ?? ((m: string) => console.error(m));
  const suffix = o.clusterName ? `-${o.clusterName}` : '';
  const started: { stop(): Promise<void> }[] = [];
  try {
    // The proxy, DNS and ingress are independent: start them at once (`kite up` waits
    // for the ingress controller's address).
    const [proxyStart, dnsStart, ingressStart] = await Promise.allSettled([
      (async () => startProxy({
        transport: o.clientFor('proxy'),
        nodeName: o.nodeName,
        nodeIP: o.nodeIP,
        clusterCIDR: await o.podCIDR,
        serviceCIDR: o.serviceCIDR ?? '10.96.0.0/12',
        podInterfaces: o.bridge ? [o.bridge] : undefined,
        table: proxyTableName(o.clusterName),
        netns: o.netns,
        log,
        ...o.proxy,
      }))(),
      o.dns === false ? undefined : startDns({ transport: o.clientFor('dns'), listenIP: o.nodeIP, nodeName: o.nodeName, log, ...o.dns }),
      o.ingress === false ? undefined : startIngress({ transport: o.clientFor('ingress'), statusIP: o.nodeIP, log, ...o.ingress }),
    ]);
    for (const r of [proxyStart, dnsStart, ingressStart]) if (r.status === 'fulfilled' && r.value) started.push(r.value);
    for (const r of [proxyStart, dnsStart, ingressStart]) if (r.status === 'rejected') throw r.reason;
    const proxy = (proxyStart as PromiseFulfilledResult<Proxy>).value;
    const dns = (dnsStart as PromiseFulfilledResult<DnsServer | undefined>).value;
    const ingress = (ingressStart as PromiseFulfilledResult<IngressController | undefined>).value;
    // NetworkPolicy is enforced with nftables only.
    if (o.networkPolicy !== false && proxy.backend !== 'nftables') log('networking: no nft on this host: NetworkPolicy is not enforced');
    const networkPolicy = o.networkPolicy === false || proxy.backend !== 'nftables' ? undefined : await startNetworkPolicy({ transport: o.clientFor('netpol'), table: `kite-netpol${suffix}`, netns: o.netns, log });
    if (networkPolicy) started.push(networkPolicy);
    return {
      proxy,
      dns,
      ingress,
      networkPolicy,
      async stop() {
        for (const s of [...started].reverse()) await s.stop().catch((err) => log(`networking: stop: ${(err as Error).message}`));
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    throw err;
  }
}

/**
 * Remove what node networking leaves in the kernel for a cluster (its nftables tables),
 * e.g. after a crash, from `kite down`. Safe when nothing is there.
 */
export async function cleanupNodeNetworking(clusterName?: string): Promise<void> {
  const { commandRunner } = await import('../proxy/exec.js');
  const run = commandRunner();
  const suffix = clusterName ? `-${clusterName}` : '';
  const proxyTable = proxyTableName(clusterName);
  const r = await run(['nft', '-f', '-'], `add table ip ${proxyTable}\ndelete table ip ${proxyTable}\nadd table inet kite-netpol${suffix}\ndelete table inet kite-netpol${suffix}\n`);
  if (r.code === 127) {
    const { IptablesProxier } = await import('../proxy/iptables.js');
    await new IptablesProxier({ run }).cleanup();
  }
}
