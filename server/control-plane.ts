// The control plane, assembled from one cluster configuration (upstream: what
// kube-apiserver, kube-controller-manager and kube-scheduler start; k3s: pkg/server):
// the store, the API core with the cluster's policy, the HTTPS front door, the objects
// every cluster starts with, and the controller manager and scheduler as in-process API
// clients, each with its own least-privilege identity.
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { dirname, join } from 'node:path';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { primaryHostIPv4 } from '../machinery/pki.js';
import { listenOn } from '../machinery/ports.js';
import { startApiCore } from '../apiserver/api.js';
import type { HistoryOptions } from '../apiserver/history/recorder.js';
import { historyOptionsFromEnv } from '../apiserver/history/options.js';
import type { ApiCore } from '../apiserver/api.js';
import { ApiServer } from '../apiserver/server.js';
import { Authenticator } from '../apiserver/authentication.js';
import type { UserInfo } from '../apiserver/context.js';
import { ServiceAccountTokens } from '../apiserver/serviceaccount-tokens.js';
import { bootstrapTokenAuthenticator, BOOTSTRAP_TOKEN_NAMESPACE } from '../apiserver/bootstrap-tokens.js';
import { ServiceAllocator } from '../apiserver/allocators.js';
import { KubeletProxy } from '../apiserver/kubelet-proxy.js';
import { ResourceMetrics } from '../apiserver/metrics/resource-metrics.js';
import type { Registry } from '../apiserver/registry.js';
import { ALL_CONTROLLERS, startControllerManager } from '../controllers/index.js';
import { controller } from '../controllers/manager.js';
import { NodeIpamController, type NodeIpamOptions } from '../controllers/nodeipam/controller.js';
import { LocalTransport } from '../client/local-transport.js';
import { startScheduler } from '../scheduler/index.js';
import { clusterPolicy } from './policy.js';
import type { AuthorizationMode } from './policy.js';
import { bootstrapCluster } from './bootstrap.js';
import { EndpointReconciler } from './endpoint-reconciler.js';
import { LeaderElector } from '../client/leaderelection.js';
import { COMPONENT_USERS, serviceAccountUser } from './identities.js';
import { FlowSchemaStatusController } from './flowcontrol.js';
import { Aggregator } from '../apiserver/aggregator.js';
import { APIServiceAvailabilityController, publishExtensionAuthentication } from './aggregation.js';
import { CLUSTER_INFO_PATH, publishClusterInfo } from './cluster-info.js';

export interface ControlPlaneOptions {
  /** Cluster name. */
  name: string;
  /** Directory the control plane owns for its state. */
  dataDir: string;
  /** TCP port for the API server (0 picks a free one). */
  port: number;
  bindAddress: string;
  /** PEM: the cluster CA (client certificates are verified against it), serving cert and key. */
  tls: { caCert: string; cert: string; key: string; /** The CA's key: the CSR signer issues certificates with it. */ caKey?: string };
  /** PEM: the key pair that signs / verifies service-account tokens. */
  serviceAccountKeys: { publicKey: string; privateKey: string };
  /** Client certificate the API server presents to kubelets (streaming subresources). */
  kubeletClient?: { cert: string; key: string };
  /** The front-proxy CA and the client certificate it signed, presented to aggregated API servers. */
  frontProxy?: { caCert: string; cert: string; key: string };
  /** Store to use instead of the default SQLite file (tests, benchmarks, etcd). */
  store?: Store;
  /** `Node,RBAC` (default) or `AlwaysAllow`. */
  authorizationMode?: AuthorizationMode;
  /** Nodes that run on the control plane's host: labelled node-role.kubernetes.io/control-plane once they register. */
  controlPlaneNodes?: string[];
  /**
   * Run the controller manager and scheduler only while holding their Leases (default:
   * when the store is shared with other API servers, i.e. etcd).
   */
  leaderElect?: boolean;
  /** Object history settings; default from the environment (KITE_HISTORY*), `false` turns it off. */
  history?: HistoryOptions | false;
  /** Runs the node IPAM controller: nodes without spec.podCIDR get one (upstream --allocate-node-cidrs). */
  nodeIpam?: NodeIpamOptions;
}

export interface ControlPlane {
  port: number;
  registry: Registry;
  api: ApiServer;
  core: ApiCore;
  /** An in-process client with the given identity (through the same pipeline as HTTP). */
  client(component: string, user?: UserInfo): LocalTransport;
  close(): Promise<void>;
}

export const SERVICE_CIDR = '10.96.0.0/12';

/** The address nodes and pods reach the API server at: the host's own address (machinery/pki.ts primaryHostIPv4). */
export function hostIPv4(): string {
  return primaryHostIPv4();
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address.startsWith('127.') || address === '::1';
}

const CONTROL_PLANE_ROLE = 'node-role.kubernetes.io/control-plane';

/**
 * A kubelet may not give its node a role (NodeRestriction), so the control plane labels
 * the nodes on its own host, as kubeadm and k3s do after registration.
 */
function labelControlPlaneNodes(core: ApiCore, client: LocalTransport, names: string[]): () => void {
  if (names.length === 0) return () => undefined;
  const wanted = new Set(names);
  const nodes = core.registry.resourceOf('', 'v1', 'nodes');
  const inFlight = new Set<string>();
  const check = (node: { metadata?: { name?: string; labels?: Record<string, string> } } | undefined) => {
    const name = node?.metadata?.name;
    if (!name || !wanted.has(name) || inFlight.has(name) || node.metadata?.labels?.[CONTROL_PLANE_ROLE] !== undefined) return;
    inFlight.add(name);
    client
      .patch(nodes, undefined, name, 'merge', { metadata: { labels: { [CONTROL_PLANE_ROLE]: '' } } })
      .catch((err) => console.error(`apiserver: labelling node ${name}: ${(err as Error).message}`))
      .finally(() => inFlight.delete(name));
  };
  for (const n of core.lookups.list('', 'nodes')) check(n);
  return core.lookups.onChange('', 'nodes', (ev) => {
    if (ev.type !== 'DELETED') check(ev.object);
  });
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const store: Store = opts.store ?? new SqliteStore(join(opts.dataDir, 'state.db'));
  const history = opts.history === false ? undefined : (opts.history ?? historyOptionsFromEnv(opts.dataDir));
  const core = await startApiCore(store, (lookups) => clusterPolicy(lookups, opts.authorizationMode), { history });
  const { registry, pipeline } = core;

  // On a store other API servers share, cluster IPs and node ports are claimed in it.
  const allocator = new ServiceAllocator(registry, SERVICE_CIDR, store.freshRevision ? store : undefined);
  allocator.install();

  let ready = false;
  const tlsOptions = { cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.caCert, requestCert: true, rejectUnauthorized: false };
  const servers: Server[] = [createServer(tlsOptions)];
  const port = await listenOn(servers[0], opts.port, opts.bindAddress);
  // Pods reach the API server through the `kubernetes` Service, whose endpoint is the
  // host's address: a loopback-only API server listens there too, on the same port.
  const advertise = opts.bindAddress === '0.0.0.0' || opts.bindAddress === '::' || isLoopback(opts.bindAddress) ? hostIPv4() : opts.bindAddress;
  if (isLoopback(opts.bindAddress) && !isLoopback(advertise)) {
    const extra = createServer(tlsOptions);
    try {
      await listenOn(extra, port, advertise);
      servers.push(extra);
    } catch (err) {
      console.error(`apiserver: cannot also listen on ${advertise}:${port} (pods will not reach the API): ${(err as Error).message}`);
    }
  }

  const tokens = new ServiceAccountTokens(registry, opts.serviceAccountKeys);
  // `kite join`'s credentials (kube-system/bootstrap-token-<id> Secrets).
  const bootstrapTokens = bootstrapTokenAuthenticator((name) => core.lookups.get('', 'secrets', BOOTSTRAP_TOKEN_NAMESPACE, name));
  tokens.install(pipeline);
  // The aggregation layer: APIServices with a spec.service are proxied to their servers.
  const aggregator = new Aggregator(core.lookups, { proxyClient: opts.frontProxy });
  const api = new ApiServer({ pipeline, authenticator: new Authenticator([bootstrapTokens, tokens.authenticate], { anonymousPaths: [CLUSTER_INFO_PATH] }), serverAddress: `${advertise}:${port}`, isReady: () => ready, aggregator });
  new KubeletProxy(registry, { caCert: opts.tls.caCert, ...opts.kubeletClient }).install(api);
  // metrics.k8s.io, fed by scraping the kubelets' /stats/summary.
  const resourceMetrics = new ResourceMetrics(registry, { caCert: opts.tls.caCert, ...opts.kubeletClient });
  resourceMetrics.install(pipeline);
  resourceMetrics.start();
  for (const s of servers) {
    // Slow or silent clients (authenticated or not) are cut off as Go's http.Server does
    // for kube-apiserver: 32 s to send the headers, 60 s for the whole request (its body;
    // watches and streams only answer for long), 10 s for the TLS handshake.
    s.headersTimeout = 32_000;
    s.requestTimeout = 60_000;
    s.keepAliveTimeout = 65_000;
    (s as Server & { handshakeTimeout?: number }).handshakeTimeout = 10_000;
    s.on('request', api.handle);
    s.on('upgrade', api.handleUpgrade);
  }

  const client = (component: string, user?: UserInfo) => new LocalTransport(pipeline, { component, user });
  await bootstrapCluster(client('kube-apiserver'), { port, advertise, storageDir: join(dirname(opts.dataDir), 'storage') });
  await publishExtensionAuthentication(client('kube-apiserver', COMPONENT_USERS.apiserver), opts.tls.caCert, opts.frontProxy?.caCert);
  await publishClusterInfo(client('kube-apiserver', COMPONENT_USERS.apiserver), `https://${advertise.includes(':') ? `[${advertise}]` : advertise}:${port}`, opts.tls.caCert);
  const availability = new APIServiceAvailabilityController(client('kube-apiserver', COMPONENT_USERS.apiserver), core.lookups, aggregator);
  availability.start();
  const endpoints = new EndpointReconciler(client('kube-apiserver'), { advertise, port });
  await endpoints.start();
  // Serving does not wait for the controllers (upstream's run in their own process): their
  // first lists of a big store take seconds. Only a new cluster waits for them, until its
  // default ServiceAccount exists, without which the first pods are refused.
  const serviceAccounts = registry.resourceOf('', 'v1', 'serviceaccounts');
  if (serviceAccounts && registry.getStored(serviceAccounts, 'default', 'default')) ready = true;
  // Controllers and the scheduler are API clients; in this process they use the
  // in-process transport, authorized as their own identities.
  // The API server's own FlowSchema status keeper (upstream: the APF config controller).
  const flowSchemaStatus = new FlowSchemaStatusController(client('kube-apiserver', COMPONENT_USERS.apiserver));
  void flowSchemaStatus.start().catch((err) => console.error('flowschema status controller failed to start:', err));
  const ipam = opts.nodeIpam;
  const descriptors = ipam ? [...ALL_CONTROLLERS, controller('node-controller', (ctx) => new NodeIpamController(ctx, ipam))] : ALL_CONTROLLERS;
  const startControllers = () =>
    startControllerManager(client('kube-controller-manager', COMPONENT_USERS.controllerManager), descriptors, {
      rootCACert: opts.tls.caCert,
      clusterSigning: opts.tls.caKey ? { cert: opts.tls.caCert, key: opts.tls.caKey } : undefined,
      clientFor: (sa) => client(`kube-controller-manager/${sa}`, serviceAccountUser('kube-system', sa)),
    });
  const startDefaultScheduler = () => startScheduler(client('default-scheduler', COMPONENT_USERS.scheduler));
  // With API servers sharing the store, each runs a controller manager and a scheduler
  // that act only while they hold their Lease (upstream's --leader-elect).
  const leaderElect = opts.leaderElect ?? !!store.freshRevision;
  let controllers: Awaited<ReturnType<typeof startControllers>> | undefined;
  let scheduler: ReturnType<typeof startDefaultScheduler> | undefined;
  const electors: LeaderElector[] = [];
  if (leaderElect) {
    const cm = new LeaderElector(client('kube-controller-manager', COMPONENT_USERS.controllerManager), {
      namespace: 'kube-system',
      name: 'kube-controller-manager',
      onStartedLeading: async () => {
        controllers = await startControllers();
      },
      onStoppedLeading: async () => {
        const c = controllers;
        controllers = undefined;
        await c?.stop();
      },
    });
    const sched = new LeaderElector(client('default-scheduler', COMPONENT_USERS.scheduler), {
      namespace: 'kube-system',
      name: 'kube-scheduler',
      onStartedLeading: () => {
        scheduler = startDefaultScheduler();
      },
      onStoppedLeading: async () => {
        const s = scheduler;
        scheduler = undefined;
        await s?.stop();
      },
    });
    electors.push(cm, sched);
    for (const e of electors) e.start();
  } else {
    controllers = await startControllers();
    scheduler = startDefaultScheduler();
  }
  const stopLabelling = labelControlPlaneNodes(core, client('kube-apiserver', COMPONENT_USERS.apiserver), opts.controlPlaneNodes ?? []);
  ready = true;

  return {
    port,
    registry,
    api,
    core,
    client,
    async close() {
      ready = false;
      resourceMetrics.stop();
      stopLabelling();
      await Promise.all(electors.map((e) => e.stop()));
      await scheduler?.stop();
      await controllers?.stop();
      await endpoints.stop();
      await flowSchemaStatus.stop();
      availability.stop();
      aggregator.stop();
      api.close();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      allocator.uninstall();
      core.stop();
      if (!opts.store) await store.close();
    },
  };
}
