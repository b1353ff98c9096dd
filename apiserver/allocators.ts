// Cluster IP and NodePort allocation for Services (upstream: the service REST
// storage with its ipallocator and portallocator). Allocation state is derived from
// the Services in the watch cache plus reservations for creates still in flight, so
// concurrent creates never get the same address.
import type { KubeObject } from '../machinery/object.js';
import { invalid } from '../machinery/status.js';
import type { Registry } from './registry.js';

const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

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
}

export class ServiceAllocator {
  private readonly base: number;
  private readonly size: number;
  private readonly usedIPs = new Set<number>();
  private readonly usedPorts = new Set<number>();
  private loaded = false;

  constructor(
    private readonly registry: Registry,
    cidr: string,
  ) {
    const [ip, bits] = cidr.split('/');
    this.base = ipToInt(ip);
    this.size = 2 ** (32 - Number(bits));
  }

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    const services = this.registry.resourceOf('', 'v1', 'services');
    for (const svc of this.registry.resourceCache(services).objects.values()) this.reserve(svc);
  }

  private reserve(svc: KubeObject): void {
    const spec = (svc.spec ?? {}) as ServiceSpec;
    for (const ip of spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])) if (ip && ip !== 'None') this.usedIPs.add(ipToInt(ip));
    for (const p of spec.ports ?? []) if (p.nodePort) this.usedPorts.add(p.nodePort);
  }

  private release(svc: KubeObject): void {
    const spec = (svc.spec ?? {}) as ServiceSpec;
    for (const ip of spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])) if (ip && ip !== 'None') this.usedIPs.delete(ipToInt(ip));
    for (const p of spec.ports ?? []) if (p.nodePort) this.usedPorts.delete(p.nodePort);
  }

  install(): void {
    this.registry.onBeforeCreate('Service', (obj, ctx) => {
      this.load();
      this.allocate(obj);
      // A dry run must not keep what it reserved.
      if (ctx.dryRun) this.release(obj);
    });
    this.registry.onAfterDelete('Service', (obj) => {
      this.load();
      this.release(obj);
    });
  }

  private fail(obj: KubeObject, field: string, value: string, msg: string): never {
    throw invalid('', 'Service', obj.metadata?.name ?? '', [{ reason: 'FieldValueInvalid', field, message: `Invalid value: ${value}: ${msg}` }]);
  }

  private allocate(obj: KubeObject): void {
    const spec = (obj.spec ??= {}) as ServiceSpec;
    if (spec.type === 'ExternalName') return;
    const requested = spec.clusterIP ?? spec.clusterIPs?.[0];
    if (requested === 'None') {
      spec.clusterIP = 'None';
      spec.clusterIPs = ['None'];
    } else if (requested) {
      const n = ipToInt(requested);
      if (n < this.base || n >= this.base + this.size) {
        this.fail(obj, 'spec.clusterIPs', `[]string{"${requested}"}`, `failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is 10.96.0.0/12`);
      }
      if (this.usedIPs.has(n)) this.fail(obj, 'spec.clusterIPs', `[]string{"${requested}"}`, `failed to allocate IP ${requested}: provided IP is already allocated`);
      this.usedIPs.add(n);
      spec.clusterIP = requested;
      spec.clusterIPs = [requested];
    } else {
      // Random probing like upstream; skip the network address and the first ten
      // (.1 is the API server's, .10 is DNS's).
      let n = 0;
      for (let i = 0; i < 64 && !n; i++) {
        const c = this.base + 16 + Math.floor(Math.random() * (this.size - 17));
        if (!this.usedIPs.has(c)) n = c;
      }
      for (let c = this.base + 16; !n && c < this.base + this.size - 1; c++) if (!this.usedIPs.has(c)) n = c;
      if (!n) this.fail(obj, 'spec.clusterIPs', '[]string{}', 'failed to allocate a serviceIP: range is full');
      this.usedIPs.add(n);
      spec.clusterIP = intToIp(n);
      spec.clusterIPs = [spec.clusterIP];
    }
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
      for (const [i, p] of (spec.ports ?? []).entries()) {
        if (p.nodePort) {
          if (p.nodePort < NODE_PORT_MIN || p.nodePort > NODE_PORT_MAX) {
            this.fail(obj, `spec.ports[${i}].nodePort`, String(p.nodePort), `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`);
          }
          if (this.usedPorts.has(p.nodePort)) this.fail(obj, `spec.ports[${i}].nodePort`, String(p.nodePort), 'provided port is already allocated');
          this.usedPorts.add(p.nodePort);
        } else {
          let port = 0;
          for (let t = 0; t < 64 && !port; t++) {
            const c = NODE_PORT_MIN + Math.floor(Math.random() * (NODE_PORT_MAX - NODE_PORT_MIN + 1));
            if (!this.usedPorts.has(c)) port = c;
          }
          for (let c = NODE_PORT_MIN; !port && c <= NODE_PORT_MAX; c++) if (!this.usedPorts.has(c)) port = c;
          if (!port) this.fail(obj, `spec.ports[${i}].nodePort`, '0', 'range is full');
          this.usedPorts.add(port);
          p.nodePort = port;
        }
      }
    }
  }
}
