// The control plane's entry point, called by `kite server`: the store, the watch
// cache, the registry and the HTTPS API server, plus the bootstrap objects every
// cluster starts with (namespaces, the `kubernetes` Service).
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { networkInterfaces } from 'node:os';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { RESOURCES, resourceByPath } from '../machinery/resources.js';
import { StatusError } from '../machinery/status.js';
import type { KubeObject } from '../machinery/object.js';
import { WatchCache } from './watchcache.js';
import { Registry } from './registry.js';
import { ApiServer } from './server.js';
import { internalContext } from './context.js';
import { registerReviews } from './reviews.js';
import { ServiceAccountTokens } from './serviceaccount-tokens.js';
import { ServiceAllocator } from './allocators.js';
import { KubeletProxy } from './kubelet-proxy.js';
import { ALL_CONTROLLERS, startControllerManager } from '../controllers/index.js';
import { LocalTransport } from '../client/local-transport.js';
import { kubernetesEndpointSlice } from '../controllers/endpointslice/bootstrap.js';
import { kubeDnsService } from '../dns/config.js';
import { defaultIngressClass } from '../ingress/class.js';
import { startScheduler } from '../scheduler/index.js';
import { installDefaultStorageClassAdmission } from '../controllers/volume/default-class.js';
import { defaultLocalPathStorageClass } from '../controllers/volume/storage-class.js';

export interface ControlPlaneOptions {
  /** Cluster name. */
  name: string;
  /** Directory the control plane owns for its state. */
  dataDir: string;
  /** TCP port for the API server (0 picks a free one). */
  port: number;
  bindAddress: string;
  /** PEM: the cluster CA (client certificates are verified against it), serving cert and key. */
  tls: { caCert: string; cert: string; key: string };
  /** PEM: the key pair that signs / verifies service-account tokens. */
  serviceAccountKeys: { publicKey: string; privateKey: string };
  /** Client certificate the API server presents to kubelets (streaming subresources). */
  kubeletClient?: { cert: string; key: string };
  /** Store to use instead of the default SQLite file (tests, benchmarks, etcd later). */
  store?: Store;
}

export interface ControlPlane {
  port: number;
  registry: Registry;
  api: ApiServer;
  close(): Promise<void>;
}

export const SERVICE_CIDR = '10.96.0.0/12';

/** The host's first non-loopback IPv4 address (what nodes and endpoints advertise). */
export function hostIPv4(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const store = opts.store ?? new SqliteStore(join(opts.dataDir, 'state.db'));
  const cache = new WatchCache(store);
  const prefixes = [...new Set(RESOURCES.filter((r) => !r.virtual).map((r) => Registry.storagePrefix(r)))];
  await cache.start(prefixes);
  const registry = new Registry(store, cache);

  const allocator = new ServiceAllocator(registry, SERVICE_CIDR);
  allocator.install();
  installDefaultStorageClassAdmission(registry);

  let ready = false;
  const server = createServer({
    cert: opts.tls.cert,
    key: opts.tls.key,
    ca: opts.tls.caCert,
    requestCert: true,
    rejectUnauthorized: false,
  });
  // Watches and streams live long; Node's defaults would cut them.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.bindAddress, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const advertise = opts.bindAddress === '0.0.0.0' || opts.bindAddress === '::' ? '127.0.0.1' : opts.bindAddress;
  const tokens = new ServiceAccountTokens(registry, opts.serviceAccountKeys);
  const api = new ApiServer({ registry, serverAddress: `${advertise}:${port}`, isReady: () => ready, tokenAuthenticators: [tokens.authenticate] });
  registerReviews(api);
  tokens.install(api);
  new KubeletProxy(registry, { caCert: opts.tls.caCert, ...opts.kubeletClient }).install(api);
  server.on('request', api.handle);
  server.on('upgrade', api.handleUpgrade);

  await bootstrap(registry, port, join(dirname(opts.dataDir), 'storage'));
  // Controllers are API clients; in this process they use the in-process transport.
  const controllers = await startControllerManager(new LocalTransport(registry, { component: 'kube-controller-manager' }), ALL_CONTROLLERS);
  const scheduler = startScheduler(new LocalTransport(registry, { component: 'default-scheduler' }));
  ready = true;

  return {
    port,
    registry,
    api,
    async close() {
      ready = false;
      await scheduler.stop();
      await controllers.stop();
      api.closeWatches();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      cache.stop();
      if (!opts.store) await store.close();
    },
  };
}

async function ensure(registry: Registry, group: string, version: string, plural: string, obj: KubeObject): Promise<void> {
  const res = resourceByPath(group, version, plural)!;
  if (registry.getStored(res, obj.metadata?.namespace, obj.metadata!.name!)) return;
  try {
    await registry.create(res, obj.metadata?.namespace, obj, internalContext('kube-apiserver'));
  } catch (err) {
    if (!(err instanceof StatusError && err.code === 409)) throw err;
  }
}

/** Objects every cluster has from the start (upstream: the bootstrap controller). */
async function bootstrap(registry: Registry, port: number, storageDir: string): Promise<void> {
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    await ensure(registry, '', 'v1', 'namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  // The default StorageClass: local-path, provisioned under <cluster dir>/storage.
  await ensure(registry, 'storage.k8s.io', 'v1', 'storageclasses', defaultLocalPathStorageClass(storageDir) as unknown as KubeObject);
  await ensure(registry, '', 'v1', 'services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }], sessionAffinity: 'None' },
  });
  const ip = hostIPv4();
  const endpoints = registry.resourceOf('', 'v1', 'endpoints');
  const want = { subsets: [{ addresses: [{ ip }], ports: [{ name: 'https', port, protocol: 'TCP' }] }] };
  await registry.guaranteedUpdate(endpoints, 'default', 'kubernetes', (cur) => {
    const next = cur ?? {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' }, uid: crypto.randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') },
    };
    return { ...next, subsets: want.subsets };
  });
  // Service networking: the `kubernetes` EndpointSlice (what the proxy reads), the
  // kube-dns Service (its endpoints are published by the DNS server), the default
  // IngressClass.
  const slice = kubernetesEndpointSlice(ip, port) as unknown as KubeObject;
  await registry.guaranteedUpdate(registry.resourceOf('discovery.k8s.io', 'v1', 'endpointslices'), 'default', 'kubernetes', (cur) => ({
    ...(cur ?? { ...slice, metadata: { ...slice.metadata, uid: crypto.randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') } }),
    endpoints: slice.endpoints,
    ports: slice.ports,
  }));
  await ensure(registry, '', 'v1', 'services', kubeDnsService() as unknown as KubeObject);
  await ensure(registry, 'networking.k8s.io', 'v1', 'ingressclasses', defaultIngressClass() as unknown as KubeObject);
}
