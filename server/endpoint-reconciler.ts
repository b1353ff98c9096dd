// The `kubernetes` Service's endpoints, from every live API server (upstream: the lease
// endpoint reconciler of pkg/controlplane/reconcilers, with the API server identity
// Leases of kube-system). Each API server keeps a Lease named after its identity renewed;
// every server writes the Endpoints and EndpointSlices of `default/kubernetes` from the
// Leases still live, so a server that dies drops out once its Lease expires, and one
// that shuts down removes itself at once.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { ApiTransport } from '../client/transport.js';
import type { KubeObject } from '../machinery/object.js';
import { resourceByPath } from '../machinery/resources.js';
import { StatusError } from '../machinery/status.js';
import { kubernetesEndpointSlice } from '../controllers/endpointslice/bootstrap.js';

const LEASES = resourceByPath('coordination.k8s.io', 'v1', 'leases')!;
const ENDPOINTS = resourceByPath('', 'v1', 'endpoints')!;
const SLICES = resourceByPath('discovery.k8s.io', 'v1', 'endpointslices')!;

/** Upstream's identity label on kube-apiserver Leases. */
export const IDENTITY_LABEL = 'apiserver.kubernetes.io/identity';
/** Where this server is reached (`ip:port`): what the `kubernetes` endpoints list. */
export const ADDRESS_ANNOTATION = 'kite.dev/apiserver-address';
/** Upstream's master lease TTL (--endpoint-reconciler-type=lease). */
export const APISERVER_LEASE_SECONDS = 15;
const RENEW_MS = 5_000;
/** Leases expired this long are deleted (the server is gone for good or came back as another identity). */
const EXPIRED_GC_MS = 5 * 60_000;

export interface EndpointReconcilerOptions {
  advertise: string;
  port: number;
  log?: (msg: string) => void;
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/(\.\d{3})Z$/, '$1000Z');
}

/** `kube-apiserver-<hash>` as upstream names identity Leases, from the host and the address served (several servers may share a host). */
export function apiserverIdentity(advertise: string, port: number): string {
  const h = createHash('sha256').update(`${hostname()}|${advertise}:${port}`).digest('hex').slice(0, 26);
  return `kube-apiserver-${h}`;
}

interface Live {
  ip: string;
  port: number;
}

export class EndpointReconciler {
  readonly identity: string;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly client: ApiTransport,
    private readonly opts: EndpointReconcilerOptions,
  ) {
    this.identity = apiserverIdentity(opts.advertise, opts.port);
  }

  private log(msg: string): void {
    (this.opts.log ?? console.error)(`endpoint reconciler: ${msg}`);
  }

  /** Renews this server's Lease and writes the endpoints once, then keeps doing so. */
  async start(): Promise<void> {
    await this.tick();
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.running = this.tick().finally(loop);
      }, RENEW_MS);
    };
    loop();
  }

  private async tick(): Promise<void> {
    try {
      await this.renew();
      await this.reconcile();
    } catch (err) {
      if (!this.stopped) this.log((err as Error).message);
    }
  }

  private async renew(): Promise<void> {
    const now = microTime(Date.now());
    for (let attempt = 0; attempt < 3; attempt++) {
      let lease: Lease | undefined;
      try {
        lease = await this.client.get<Lease>(LEASES, 'kube-system', this.identity);
      } catch (err) {
        if (!(err instanceof StatusError && err.code === 404)) throw err;
      }
      const meta = {
        name: this.identity,
        namespace: 'kube-system',
        labels: { [IDENTITY_LABEL]: 'kube-apiserver', 'kubernetes.io/hostname': hostname() },
        annotations: { [ADDRESS_ANNOTATION]: `${this.opts.advertise}:${this.opts.port}` },
      };
      try {
        if (!lease) {
          await this.client.create<Lease>(LEASES, 'kube-system', {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: meta,
            spec: { holderIdentity: this.identity, leaseDurationSeconds: APISERVER_LEASE_SECONDS, acquireTime: now, renewTime: now },
          });
        } else {
          await this.client.update<Lease>(LEASES, 'kube-system', {
            ...lease,
            metadata: { ...lease.metadata, labels: { ...lease.metadata?.labels, ...meta.labels }, annotations: { ...lease.metadata?.annotations, ...meta.annotations } },
            spec: { ...lease.spec, holderIdentity: this.identity, leaseDurationSeconds: APISERVER_LEASE_SECONDS, renewTime: now },
          });
        }
        return;
      } catch (err) {
        if (!(err instanceof StatusError && err.code === 409)) throw err;
      }
    }
  }

  /** The API servers whose Lease is live (and deletes ones long expired). */
  private async liveServers(): Promise<Live[]> {
    const { items } = await this.client.list<Lease>(LEASES, 'kube-system', { labelSelector: `${IDENTITY_LABEL}=kube-apiserver` });
    const now = Date.now();
    const live: Live[] = [];
    for (const l of items) {
      const addr = l.metadata?.annotations?.[ADDRESS_ANNOTATION];
      const renewed = l.spec?.renewTime ? Date.parse(l.spec.renewTime) : 0;
      const expires = renewed + (l.spec?.leaseDurationSeconds ?? APISERVER_LEASE_SECONDS) * 1000;
      if (expires < now) {
        if (now - expires > EXPIRED_GC_MS) {
          await this.client.delete(LEASES, 'kube-system', l.metadata!.name!).catch(() => undefined);
        }
        continue;
      }
      const m = addr ? /^(.+):(\d+)$/.exec(addr) : null;
      if (m) live.push({ ip: m[1], port: Number(m[2]) });
    }
    if (!this.stopped && !live.some((s) => s.ip === this.opts.advertise && s.port === this.opts.port)) live.push({ ip: this.opts.advertise, port: this.opts.port });
    return live;
  }

  private async reconcile(exclude?: Live): Promise<void> {
    let live = await this.liveServers();
    if (exclude) live = live.filter((s) => !(s.ip === exclude.ip && s.port === exclude.port));
    if (live.length === 0) return;
    // Servers on one host differ by port: one subset (and one slice) per port.
    const byPort = new Map<number, string[]>();
    for (const s of live) byPort.set(s.port, [...(byPort.get(s.port) ?? []), s.ip]);
    const ports = [...byPort.keys()].sort((a, b) => a - b);
    const subsets = ports.map((port) => ({
      addresses: [...new Set(byPort.get(port))].sort().map((ip) => ({ ip })),
      ports: [{ name: 'https', port, protocol: 'TCP' }],
    }));
    await this.write(ENDPOINTS, {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
      subsets,
    }, ['subsets']);
    const wanted = new Set<string>();
    for (const [i, port] of ports.entries()) {
      const ips = [...new Set(byPort.get(port))].sort();
      const slice = kubernetesEndpointSlice(ips[0], port);
      slice.endpoints = ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } }));
      // The first keeps upstream's name; more ports (servers sharing a host) get their own.
      if (i > 0) slice.metadata!.name = `kubernetes-${port}`;
      wanted.add(slice.metadata!.name!);
      await this.write(SLICES, slice as unknown as KubeObject, ['endpoints', 'ports']);
    }
    const { items } = await this.client.list<EndpointSlice>(SLICES, 'default', { labelSelector: 'kubernetes.io/service-name=kubernetes,endpointslice.kubernetes.io/managed-by=kube-apiserver' });
    for (const s of items) {
      if (!wanted.has(s.metadata!.name!)) await this.client.delete(SLICES, 'default', s.metadata!.name!).catch(() => undefined);
    }
  }

  /** Creates `obj` or updates `fields` of the stored one when they differ; another server's concurrent write (409) is left for the next round. */
  private async write(res: typeof ENDPOINTS, obj: KubeObject, fields: string[]): Promise<void> {
    let cur: KubeObject | undefined;
    try {
      cur = await this.client.get(res, 'default', obj.metadata!.name!);
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 404)) throw err;
    }
    try {
      if (!cur) {
        await this.client.create(res, 'default', obj);
        return;
      }
      if (fields.every((f) => JSON.stringify(cur![f]) === JSON.stringify(obj[f]))) return;
      const next = { ...cur };
      for (const f of fields) next[f] = obj[f];
      await this.client.update(res, 'default', next);
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 409)) throw err;
    }
  }

  /** Shutting down: this server's Lease is deleted and it leaves the endpoints at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    try {
      await this.client.delete(LEASES, 'kube-system', this.identity).catch(() => undefined);
      await this.reconcile({ ip: this.opts.advertise, port: this.opts.port });
    } catch (err) {
      this.log(`removing this server: ${(err as Error).message}`);
    }
  }
}
