// Cluster IP and NodePort allocation for Services (upstream: the service REST storage
// with its ipallocator and portallocator, and their repair controllers).
//
// What is taken is derived from the Services in the watch cache — kept current by a
// watch, so updates and deletes release what a Service no longer holds — plus
// reservations for creates still in flight, so concurrent creates never get the same
// address. Creates are allocated synchronously (a before-create hook). An update that
// makes a Service need what it lacks (ClusterIP → NodePort, ExternalName → ClusterIP,
// LoadBalancer with externalTrafficPolicy Local) is completed by a repair write right
// after it is stored, as upstream's allocation on update would have done.
import type { KubeObject } from '../machinery/object.js';
import { StoreError, type Store } from '../store/types.js';
import { invalid, StatusError } from '../machinery/status.js';
import type { Registry, WatchHandle } from './registry.js';

export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;
/** How long a create's reservation holds before it must have shown up in the cache. */
const RESERVATION_MS = 60_000;
/**
 * Claims on a store several API servers share (upstream: IPAddress objects and the
 * allocators' create-only writes): one key per cluster IP and per node port, created only
 * if absent, so two servers never hand out the same value. Outside /registry/: they are
 * not API objects.
 */
export const CLAIM_PREFIX = '/kite/allocations/';
/** A claim no Service holds after this long is released (its create failed or its server died). */
const CLAIM_GRACE_MS = 60_000;
const CLAIM_SWEEP_MS = 30_000;

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: { nodePort?: number; port?: number; name?: string }[];
  externalTrafficPolicy?: string;
  healthCheckNodePort?: number;
  allocateLoadBalancerNodePorts?: boolean;
}

interface Held {
  ips: number[];
  ports: number[];
}

function isIPv4(s: string | undefined): s is string {
  return !!s && /^\d{1,3}(\.\d{1,3}){3}$/.test(s);
}

function needsClusterIP(spec: ServiceSpec): boolean {
  return spec.type !== 'ExternalName';
}

function needsNodePorts(spec: ServiceSpec): boolean {
  return spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
}

function needsHealthCheckPort(spec: ServiceSpec): boolean {
  return spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
}

/** What a stored Service holds. */
function holdings(svc: KubeObject): Held {
  const spec = (svc.spec ?? {}) as ServiceSpec;
  const ips: number[] = [];
  for (const ip of spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])) if (isIPv4(ip)) ips.push(ipToInt(ip));
  const ports: number[] = [];
  for (const p of spec.ports ?? []) if (p.nodePort) ports.push(p.nodePort);
  if (spec.healthCheckNodePort) ports.push(spec.healthCheckNodePort);
  return { ips, ports };
}

export class ServiceAllocator {
  private readonly base: number;
  private readonly size: number;
  private readonly cidr: string;
  /** Service key → what its stored object holds. */
  private readonly held = new Map<string, Held>();
  private readonly ipRefs = new Map<number, number>();
  private readonly portRefs = new Map<number, number>();
  /** Values handed to creates not yet seen in the cache → reservation expiry. */
  private readonly pendingIPs = new Map<number, number>();
  private readonly pendingPorts = new Map<number, number>();
  private loaded = false;
  private watch?: WatchHandle;
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly registry: Registry,
    cidr: string,
    /** The shared store to claim values in (several API servers); absent: this server alone allocates. */
    private readonly claims?: Store,
  ) {
    const [ip, bits] = cidr.split('/');
    this.cidr = cidr;
    this.base = ipToInt(ip);
    this.size = 2 ** (32 - Number(bits));
  }

  private key(svc: KubeObject): string {
    return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
  }

  private refs(m: Map<number, number>, values: readonly number[], delta: number): void {
    for (const v of values) {
      const n = (m.get(v) ?? 0) + delta;
      if (n > 0) m.set(v, n);
      else m.delete(v);
    }
  }

  /** Record what a stored Service holds now (replacing what it held before). */
  private observe(key: string, svc: KubeObject | undefined): void {
    const before = this.held.get(key);
    if (before) {
      this.refs(this.ipRefs, before.ips, -1);
      this.refs(this.portRefs, before.ports, -1);
      this.held.delete(key);
    }
    if (!svc) return;
    const now = holdings(svc);
    this.held.set(key, now);
    this.refs(this.ipRefs, now.ips, 1);
    this.refs(this.portRefs, now.ports, 1);
    for (const ip of now.ips) this.pendingIPs.delete(ip);
    for (const p of now.ports) this.pendingPorts.delete(p);
  }

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    const services = this.registry.resourceOf('', 'v1', 'services');
    for (const svc of this.registry.resourceCache(services).objects.values()) this.observe(this.key(svc), svc);
  }

  private ipTaken(n: number): boolean {
    if (this.ipRefs.has(n)) return true;
    const exp = this.pendingIPs.get(n);
    if (exp === undefined) return false;
    if (exp > Date.now()) return true;
    this.pendingIPs.delete(n);
    return false;
  }

  private portTaken(n: number): boolean {
    if (this.portRefs.has(n)) return true;
    const exp = this.pendingPorts.get(n);
    if (exp === undefined) return false;
    if (exp > Date.now()) return true;
    this.pendingPorts.delete(n);
    return false;
  }

  install(): void {
    this.load();
    const services = this.registry.resourceOf('', 'v1', 'services');
    this.registry.onBeforeCreate('Service', async (obj, ctx) => {
      this.load();
      if (!this.claims || ctx.dryRun) {
        const got = this.allocate(obj, new Set(), new Set());
        // A dry run must not keep what it reserved.
        if (!ctx.dryRun) this.reserve(got);
        return;
      }
      const asked = structuredClone(obj.spec);
      for (let attempt = 0; ; attempt++) {
        const got = this.allocate(obj, new Set(), new Set());
        this.reserve(got);
        const taken = await this.claim(got, this.key(obj));
        if (!taken) return;
        // Another server holds it: seen as taken here until its Service shows up, then
        // allocate again (a value asked for explicitly now fails as already allocated).
        const until = Date.now() + RESERVATION_MS;
        if (taken.ip !== undefined) this.pendingIPs.set(taken.ip, until);
        if (taken.port !== undefined) this.pendingPorts.set(taken.port, until);
        obj.spec = structuredClone(asked);
        if (attempt >= 8) this.fail(obj, 'spec.clusterIPs', '[]string{}', 'failed to allocate: too many concurrent allocations');
      }
    });
    this.registry.onAfterDelete('Service', (obj) => {
      this.load();
      const held = this.held.get(this.key(obj)) ?? holdings(obj);
      this.observe(this.key(obj), undefined);
      if (this.claims) void this.release(held);
    });
    if (this.claims) {
      this.sweeper = setInterval(() => void this.sweep(), CLAIM_SWEEP_MS);
      this.sweeper.unref();
    }
    this.watch = this.registry.watch(services, undefined, {}, {
      event: (type, obj) => {
        const key = this.key(obj);
        if (type === 'DELETED') {
          this.observe(key, undefined);
          return;
        }
        this.observe(key, obj);
        if (type === 'MODIFIED' && this.incomplete(obj)) {
          // Never write from inside another write's notification.
          setImmediate(() => void this.repair(key));
        }
      },
    });
  }

  /** Stop following the cache (tests, shutdown). */
  uninstall(): void {
    this.watch?.stop();
    this.watch = undefined;
    if (this.sweeper) clearInterval(this.sweeper);
  }

  private ipClaim(n: number): string {
    return `${CLAIM_PREFIX}serviceips/${intToIp(n)}`;
  }

  private portClaim(n: number): string {
    return `${CLAIM_PREFIX}servicenodeports/${n}`;
  }

  /**
   * Claims every value in `got` for the Service `owner`; if one is claimed already, drops
   * the claims this call made and says which value was taken.
   */
  private async claim(got: Held, owner: string): Promise<{ ip?: number; port?: number } | undefined> {
    const store = this.claims!;
    const value = Buffer.from(JSON.stringify({ service: owner, at: Date.now() }));
    const made: string[] = [];
    const wanted: [string, { ip?: number; port?: number }][] = [
      ...got.ips.map((ip): [string, { ip: number }] => [this.ipClaim(ip), { ip }]),
      ...got.ports.map((port): [string, { port: number }] => [this.portClaim(port), { port }]),
    ];
    for (const [key, what] of wanted) {
      try {
        await store.create(key, value);
        made.push(key);
      } catch (err) {
        await Promise.all(made.map((k) => store.delete(k).catch(() => undefined)));
        if (err instanceof StoreError && err.code === 'KeyExists') return what;
        throw err;
      }
    }
    return undefined;
  }

  private async release(held: Held): Promise<void> {
    const keys = [...held.ips.map((ip) => this.ipClaim(ip)), ...held.ports.map((p) => this.portClaim(p))];
    await Promise.all(
      keys.map((k) =>
        this.claims!.delete(k).catch((err) => {
          if (!(err instanceof StoreError && err.code === 'KeyNotFound')) console.error(`service allocator: releasing ${k}: ${(err as Error).message}`);
        }),
      ),
    );
  }

  /** Releases claims no Service holds once their grace is over (a failed create, a dead server, an update that dropped them). */
  private async sweep(): Promise<void> {
    try {
      const { items } = await this.claims!.list(CLAIM_PREFIX);
      for (const kv of items) {
        let at = 0;
        try {
          at = Number((JSON.parse(kv.value.toString('utf8')) as { at?: number }).at) || 0;
        } catch {
          // unreadable: old enough
        }
        if (Date.now() - at < CLAIM_GRACE_MS) continue;
        const name = kv.key.slice(kv.key.lastIndexOf('/') + 1);
        const held = kv.key.startsWith(`${CLAIM_PREFIX}serviceips/`) ? this.ipRefs.has(ipToInt(name)) : this.portRefs.has(Number(name));
        if (held) continue;
        await this.claims!.delete(kv.key, kv.modRevision).catch(() => undefined);
      }
    } catch (err) {
      console.error(`service allocator: sweeping claims: ${(err as Error).message}`);
    }
  }

  private reserve(got: Held): void {
    const until = Date.now() + RESERVATION_MS;
    for (const ip of got.ips) this.pendingIPs.set(ip, until);
    for (const p of got.ports) this.pendingPorts.set(p, until);
  }

  /** Whether a stored Service lacks something its type needs. */
  private incomplete(svc: KubeObject): boolean {
    if (svc.metadata?.deletionTimestamp) return false;
    const spec = (svc.spec ?? {}) as ServiceSpec;
    if (needsClusterIP(spec) && !spec.clusterIP) return true;
    if (needsNodePorts(spec) && (spec.ports ?? []).some((p) => !p.nodePort)) return true;
    if (needsHealthCheckPort(spec) && !spec.healthCheckNodePort) return true;
    return false;
  }

  /** Complete a Service an update left without the addresses/ports its type needs. */
  private async repair(key: string): Promise<void> {
    const services = this.registry.resourceOf('', 'v1', 'services');
    const [namespace, name] = key.split('/');
    try {
      await this.registry.guaranteedUpdate(services, namespace, name, (cur) => {
        if (!cur || !this.incomplete(cur)) return undefined;
        const mine = this.held.get(key) ?? { ips: [], ports: [] };
        const got = this.allocate(cur, new Set(mine.ips), new Set(mine.ports));
        this.reserve(got);
        return cur;
      });
    } catch (err) {
      if (!(err instanceof StatusError)) console.error(`service allocator: repairing ${key}:`, err);
    }
  }

  private fail(obj: KubeObject, field: string, value: string, msg: string): never {
    throw invalid('', 'Service', obj.metadata?.name ?? '', [{ reason: 'FieldValueInvalid', field, message: `Invalid value: ${value}: ${msg}` }]);
  }

  private nextIP(): number {
    // Random probing like upstream; skip the network address and the first sixteen
    // (.1 is the API server's, .10 is DNS's).
    for (let i = 0; i < 64; i++) {
      const c = this.base + 16 + Math.floor(Math.random() * (this.size - 17));
      if (!this.ipTaken(c)) return c;
    }
    for (let c = this.base + 16; c < this.base + this.size - 1; c++) if (!this.ipTaken(c)) return c;
    return 0;
  }

  private nextPort(): number {
    for (let t = 0; t < 64; t++) {
      const c = NODE_PORT_MIN + Math.floor(Math.random() * (NODE_PORT_MAX - NODE_PORT_MIN + 1));
      if (!this.portTaken(c)) return c;
    }
    for (let c = NODE_PORT_MIN; c <= NODE_PORT_MAX; c++) if (!this.portTaken(c)) return c;
    return 0;
  }

  /**
   * Fill in what the Service's type needs, checking what it asks for. `own*`: values
   * the Service already holds (an update keeps them without conflicting with itself).
   * Returns what was newly taken.
   */
  private allocate(obj: KubeObject, ownIPs: Set<number>, ownPorts: Set<number>): Held {
    const spec = (obj.spec ??= {}) as ServiceSpec;
    const got: Held = { ips: [], ports: [] };
    if (!needsClusterIP(spec)) return got;
    const requested = spec.clusterIP ?? spec.clusterIPs?.[0];
    if (requested === 'None') {
      spec.clusterIP = 'None';
      spec.clusterIPs = ['None'];
    } else if (requested) {
      const n = ipToInt(requested);
      if (!isIPv4(requested) || n < this.base || n >= this.base + this.size) {
        this.fail(obj, 'spec.clusterIPs', `[]string{"${requested}"}`, `failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${this.cidr}`);
      }
      if (!ownIPs.has(n)) {
        if (this.ipTaken(n)) this.fail(obj, 'spec.clusterIPs', `[]string{"${requested}"}`, `failed to allocate IP ${requested}: provided IP is already allocated`);
        got.ips.push(n);
      }
      spec.clusterIP = requested;
      spec.clusterIPs = [requested];
    } else {
      const n = this.nextIP();
      if (!n) this.fail(obj, 'spec.clusterIPs', '[]string{}', 'failed to allocate a serviceIP: range is full');
      got.ips.push(n);
      spec.clusterIP = intToIp(n);
      spec.clusterIPs = [spec.clusterIP];
    }
    const taking = new Set<number>();
    const takePort = (field: string, wanted: number | undefined): number => {
      if (wanted) {
        if (wanted < NODE_PORT_MIN || wanted > NODE_PORT_MAX) {
          this.fail(obj, field, String(wanted), `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`);
        }
        if (!ownPorts.has(wanted)) {
          if (this.portTaken(wanted) || taking.has(wanted)) this.fail(obj, field, String(wanted), 'provided port is already allocated');
          got.ports.push(wanted);
        }
        taking.add(wanted);
        return wanted;
      }
      let port = 0;
      for (let i = 0; i < 8 && (!port || taking.has(port)); i++) port = this.nextPort();
      if (!port || taking.has(port)) this.fail(obj, field, '0', 'range is full');
      taking.add(port);
      got.ports.push(port);
      return port;
    };
    if (needsNodePorts(spec) || spec.type === 'LoadBalancer') {
      for (const [i, p] of (spec.ports ?? []).entries()) {
        // A LoadBalancer without node ports keeps only the ones asked for.
        if (!needsNodePorts(spec) && !p.nodePort) continue;
        p.nodePort = takePort(`spec.ports[${i}].nodePort`, p.nodePort);
      }
    }
    if (needsHealthCheckPort(spec)) spec.healthCheckNodePort = takePort('spec.healthCheckNodePort', spec.healthCheckNodePort);
    return got;
  }
}
