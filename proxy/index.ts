// kite's service proxy (upstream: kube-proxy): a node component that watches Services
// and EndpointSlices and programs the kernel so that ClusterIPs, NodePorts (on every
// node address and 127.0.0.1), external IPs and load-balancer ingress IPs reach ready
// endpoints. nftables (table `ip kite-proxy`, see nftables.ts) when `nft` is there,
// iptables otherwise (iptables.ts).
//
// Starting it (the lead wires this into `kite server`, next to the kubelet):
//
//   const proxy = await startProxy({
//     transport,                    // any ApiTransport (HttpTransport or LocalTransport)
//     nodeName: 'kite-node',        // this node: decides which endpoints are local
//     nodeIP: '192.0.2.2',          // this node's address (logs; LB/NodePort use every local address)
//     clusterCIDR: '10.244.0.0/16', // the pod network: traffic from outside it is masqueraded
//   });
//   ...
//   await proxy.stop();             // stops watching and removes every rule it made
//
// Syncs: a full one once both informers have synced, then — for every change to a
// Service or its slices — an incremental one for just those Services (at most one
// sync every `minSyncIntervalMs`, default 50 ms, changes in between coalesced), and a
// full one every `syncPeriodMs` (default an hour, as upstream) and after any failed
// sync, to repair drift. The nftables backend keeps one `nft -i` process for all its
// transactions (see NftSession). It also turns on
// the sysctls it relies on: net.ipv4.ip_forward, net.ipv4.conf.all.route_localnet
// (NodePorts on 127.0.0.1) and, if the module is loaded,
// net.bridge.bridge-nf-call-iptables (pod-to-Service traffic on the bridge).
import { writeFileSync } from 'node:fs';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { Informer } from '../client/informer.js';
import { namespacedKey, objectKey } from '../client/keys.js';
import type { ApiTransport } from '../client/transport.js';
import { resourceByPath } from '../machinery/resources.js';
import { NftSession, commandRunner, hasTool } from './exec.js';
import type { CommandRunner } from './exec.js';
import { endpointsFor, servicePorts } from './model.js';
import type { ServicePortState } from './model.js';
import { NftablesProxier } from './nftables.js';
import type { SyncStats } from './nftables.js';
import { IptablesProxier } from './iptables.js';

export { NftablesProxier, renderServicePort, sharedChainRules, proxyTableName, NFT_TABLE } from './nftables.js';
export { IptablesProxier } from './iptables.js';
export { commandRunner, NftSession } from './exec.js';
export type { ServicePortState, ServicePort, EndpointInfo } from './model.js';

const SERVICES = resourceByPath('', 'v1', 'services')!;
const SLICES = resourceByPath('discovery.k8s.io', 'v1', 'endpointslices')!;
const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
const BY_SERVICE = 'byServiceName';

export interface ProxyOptions {
  transport: ApiTransport;
  nodeName: string;
  nodeIP: string;
  /** The pod network (e.g. 10.244.0.0/16): ClusterIP traffic from outside it is masqueraded. */
  clusterCIDR: string;
  /**
   * The Service CIDR and this node's pod bridge(s): with both, ClusterIP traffic is
   * only taken from the bridge and the host (several kite clusters on one host share
   * 10.96.0.0/12 and must not answer each other's pods).
   */
  serviceCIDR?: string;
  podInterfaces?: string[];
  /** The nftables table (default `kite-proxy`); one per cluster on a shared host. */
  table?: string;
  /** Default 'auto': nftables when `nft` runs, else iptables. */
  backend?: 'auto' | 'nftables' | 'iptables';
  /** Masquerade all Service traffic, not only traffic from outside the pod network. */
  masqueradeAll?: boolean;
  /** Accept NodePorts on 127.0.0.1 too (default true). */
  localhostNodePorts?: boolean;
  minSyncIntervalMs?: number;
  syncPeriodMs?: number;
  /** Program the rules inside this network namespace (tests). */
  netns?: string;
  /** Leave sysctls alone. */
  skipSysctls?: boolean;
  log?: (msg: string) => void;
}

export interface SyncRecord extends SyncStats {
  kind: 'full' | 'partial';
  services: number;
  ms: number;
}

export interface Proxy {
  readonly backend: 'nftables' | 'iptables';
  /** Resolves once the first full sync is in the kernel. */
  readonly ready: Promise<void>;
  /** Sync now (what is pending, or everything with `full`); resolves when written. */
  sync(full?: boolean): Promise<void>;
  /** The last syncs, newest last (at most 20). */
  readonly history: readonly SyncRecord[];
  /** Stop watching and remove the rules. */
  stop(): Promise<void>;
}

interface Backend {
  fullSync(states: readonly ServicePortState[]): Promise<SyncStats>;
  partialSync(changes: ReadonlyMap<string, ServicePortState | undefined>): Promise<SyncStats>;
  cleanup(): Promise<void>;
}

async function setSysctls(run: CommandRunner, netns: string | undefined, localhost: boolean, log: (m: string) => void): Promise<void> {
  const want: [string, string][] = [['net.ipv4.ip_forward', '1']];
  if (localhost) want.push(['net.ipv4.conf.all.route_localnet', '1']);
  want.push(['net.bridge.bridge-nf-call-iptables', '1']);
  await Promise.all(
    want.map(async ([k, v]) => {
      // This process's own network namespace: /proc/sys is the sysctl tool's interface,
      // without a process started per setting on the node's start-up path.
      if (netns === undefined) {
        try {
          writeFileSync(`/proc/sys/${k.replaceAll('.', '/')}`, v);
        } catch (err) {
          if (!k.startsWith('net.bridge')) log(`proxy: could not set ${k}=${v}: ${(err as Error).message}`);
        }
        return;
      }
      const r = await run(['sysctl', '-w', `${k}=${v}`]);
      if (r.code !== 0 && !k.startsWith('net.bridge')) log(`proxy: could not set ${k}=${v}: ${r.stderr.trim()}`);
    }),
  );
}

export async function startProxy(opts: ProxyOptions): Promise<Proxy> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const run = commandRunner(opts.netns);
  let kind: 'nftables' | 'iptables';
  if (opts.backend === 'nftables' || opts.backend === 'iptables') kind = opts.backend;
  else kind = (await hasTool(run, 'nft')) ? 'nftables' : 'iptables';
  const localhost = opts.localhostNodePorts !== false;
  const common = { run, clusterCIDR: opts.clusterCIDR, masqueradeAll: opts.masqueradeAll, localhostNodePorts: localhost, serviceCIDR: opts.serviceCIDR, podInterfaces: opts.podInterfaces, table: opts.table };
  // nftables: one long-running `nft -i` for all transactions (no spawn per sync).
  const session = kind === 'nftables' ? new NftSession(opts.netns) : undefined;
  const backend: Backend = kind === 'nftables' ? new NftablesProxier({ ...common, session }) : new IptablesProxier(common);
  if (!opts.skipSysctls) await setSysctls(run, opts.netns, localhost, log);

  const services = new Informer<Service>(opts.transport, SERVICES, { name: 'proxy-services' });
  const slices = new Informer<EndpointSlice>(opts.transport, SLICES, {
    name: 'proxy-endpointslices',
    indexers: {
      [BY_SERVICE]: (s) => {
        const name = s.metadata?.labels?.[LABEL_SERVICE_NAME];
        return name ? [namespacedKey(s.metadata?.namespace, name)] : [];
      },
    },
  });

  const dirty = new Set<string>();
  /** ServicePort ids currently programmed, per Service key. */
  const portsOf = new Map<string, Set<string>>();
  let needFull = true;
  let synced = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let lastSync = 0;
  const history: SyncRecord[] = [];
  const minInterval = opts.minSyncIntervalMs ?? 50;
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));

  const statesOf = (key: string): ServicePortState[] => {
    const svc = services.store.getByKey(key);
    if (!svc) return [];
    const svcSlices = slices.store.byIndex(BY_SERVICE, key);
    return servicePorts(svc).map((sp) => ({ svc: sp, endpoints: endpointsFor(sp, svcSlices, opts.nodeName) }));
  };

  const record = (r: SyncRecord) => {
    history.push(r);
    if (history.length > 20) history.shift();
  };

  const doSync = async (): Promise<void> => {
    if (!synced || stopped) return;
    const began = performance.now();
    if (needFull) {
      needFull = false;
      dirty.clear();
      const all: ServicePortState[] = [];
      portsOf.clear();
      for (const key of services.store.listKeys()) {
        const states = statesOf(key);
        if (states.length) portsOf.set(key, new Set(states.map((s) => s.svc.id)));
        all.push(...states);
      }
      try {
        const stats = await backend.fullSync(all);
        record({ kind: 'full', services: portsOf.size, ms: performance.now() - began, ...stats });
        resolveReady();
      } catch (err) {
        needFull = true;
        throw err;
      }
      return;
    }
    if (dirty.size === 0) return;
    const keys = [...dirty];
    dirty.clear();
    const changes = new Map<string, ServicePortState | undefined>();
    const nextPorts = new Map<string, Set<string>>();
    for (const key of keys) {
      const states = statesOf(key);
      const ids = new Set(states.map((s) => s.svc.id));
      for (const old of portsOf.get(key) ?? []) if (!ids.has(old)) changes.set(old, undefined);
      for (const s of states) changes.set(s.svc.id, s);
      nextPorts.set(key, ids);
    }
    try {
      const stats = await backend.partialSync(changes);
      for (const [k, ids] of nextPorts) {
        if (ids.size) portsOf.set(k, ids);
        else portsOf.delete(k);
      }
      record({ kind: 'partial', services: keys.length, ms: performance.now() - began, ...stats });
    } catch (err) {
      // Something is off in the kernel or our model of it: rebuild everything.
      needFull = true;
      throw err;
    }
  };

  const loop = (): void => {
    timer = undefined;
    if (running || stopped) return;
    running = doSync()
      .catch((err) => {
        log(`proxy: sync failed: ${(err as Error).message}`);
        // Retry later.
        if (!stopped) setTimeout(() => schedule(), 1000).unref();
      })
      .finally(() => {
        lastSync = Date.now();
        running = undefined;
        if ((dirty.size > 0 || needFull) && !stopped) schedule();
        else if (kind === 'nftables' && (backend as NftablesProxier).pendingStaleChains > 0 && !stopped) {
          // Delete chains that fell out of use once their grace second is over.
          setTimeout(() => void (backend as NftablesProxier).deleteStaleChains().catch(() => {}), 1100).unref();
        }
      });
  };

  const schedule = (): void => {
    if (timer || stopped || !synced) return;
    if (running) return; // the finally() above reschedules
    const wait = Math.max(0, lastSync + minInterval - Date.now());
    timer = setTimeout(loop, wait);
  };

  const markService = (key: string) => {
    dirty.add(key);
    schedule();
  };

  services.addEventHandler({
    onAdd: (s) => markService(objectKey(s)),
    onUpdate: (a, b) => {
      if (a !== b && JSON.stringify(a.spec) === JSON.stringify(b.spec) && JSON.stringify(a.status) === JSON.stringify(b.status)) return;
      markService(objectKey(b));
    },
    onDelete: (s) => markService(objectKey(s)),
  });
  const sliceKey = (s: EndpointSlice) => {
    const name = s.metadata?.labels?.[LABEL_SERVICE_NAME];
    if (name) markService(namespacedKey(s.metadata?.namespace, name));
  };
  slices.addEventHandler({
    onAdd: sliceKey,
    onUpdate: (a, b) => {
      sliceKey(a);
      sliceKey(b);
    },
    onDelete: sliceKey,
  });

  services.start();
  slices.start();
  void Promise.all([services.waitForSync(), slices.waitForSync()]).then(([a, b]) => {
    if (!a || !b || stopped) return;
    synced = true;
    needFull = true;
    schedule();
  });
  const periodic = setInterval(() => {
    needFull = true;
    schedule();
  }, opts.syncPeriodMs ?? 60 * 60_000);
  periodic.unref();

  return {
    backend: kind,
    ready,
    history,
    async sync(full = false): Promise<void> {
      if (full) needFull = true;
      while (running) await running;
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      running = doSync().finally(() => {
        lastSync = Date.now();
        running = undefined;
      });
      await running;
    },
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(periodic);
      if (timer) clearTimeout(timer);
      await Promise.all([services.stop(), slices.stop()]);
      while (running) await running.catch(() => {});
      await backend.cleanup().catch((err) => log(`proxy: cleanup failed: ${(err as Error).message}`));
      session?.close();
    },
  };
}
