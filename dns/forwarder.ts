// Forwarding names outside the cluster zone to the host's resolvers (the nameservers of
// /etc/resolv.conf, as CoreDNS's `forward . /etc/resolv.conf`): UDP first, TCP when the
// answer is truncated, each upstream in turn with a timeout, and a cache of answers
// for their TTL (negative answers for the SOA minimum, both capped).
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { decode, encode } from 'dns-packet';
import type { Answer, DecodedPacket, Packet } from 'dns-packet';

export interface Upstream {
  host: string;
  port: number;
}

export interface ForwarderOptions {
  upstreams?: Upstream[];
  /** Where to read nameservers when `upstreams` is not given (default /etc/resolv.conf). */
  resolvConf?: string;
  /** Per upstream and attempt (default 2000 ms). */
  timeoutMs?: number;
  /** Largest TTL kept (default 300 s) and TTL for negative answers without SOA (default 30 s). */
  maxTtl?: number;
  negativeTtl?: number;
  /** Most entries cached (default 10,000). */
  cacheSize?: number;
  /** Addresses never to forward to (our own listening address: no loops). */
  exclude?: string[];
}

interface Entry {
  packet: DecodedPacket;
  expires: number;
  stored: number;
}

/** The nameservers a resolv.conf lists. */
export function readNameservers(path = '/etc/resolv.conf'): Upstream[] {
  try {
    const out: Upstream[] = [];
    for (const raw of readFileSync(path, 'utf8').split('\n')) {
      const m = /^\s*nameserver\s+(\S+)/.exec(raw);
      if (m && /^\d+\.\d+\.\d+\.\d+$/.test(m[1])) out.push({ host: m[1], port: 53 });
    }
    return out;
  } catch {
    return [];
  }
}

/** dns-packet decodes the response code as a string the types don't declare. */
export function rcodeOf(p: DecodedPacket): string {
  return (p as DecodedPacket & { rcode?: string }).rcode ?? 'NOERROR';
}

function minTtl(answers: readonly Answer[] | undefined): number | undefined {
  let min: number | undefined;
  for (const a of answers ?? []) {
    if (a.type === 'OPT') continue;
    const ttl = (a as { ttl?: number }).ttl;
    if (ttl !== undefined && (min === undefined || ttl < min)) min = ttl;
  }
  return min;
}

export class Forwarder {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<DecodedPacket>>();
  private readonly upstreams: Upstream[];
  private readonly timeoutMs: number;
  private readonly maxTtl: number;
  private readonly negativeTtl: number;
  private readonly cacheSize: number;
  stats = { queries: 0, cacheHits: 0, failures: 0 };

  constructor(opts: ForwarderOptions = {}) {
    const exclude = new Set(opts.exclude ?? []);
    this.upstreams = (opts.upstreams ?? readNameservers(opts.resolvConf)).filter((u) => !exclude.has(`${u.host}:${u.port}`) && !exclude.has(u.host));
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.maxTtl = opts.maxTtl ?? 300;
    this.negativeTtl = opts.negativeTtl ?? 30;
    this.cacheSize = opts.cacheSize ?? 10_000;
  }

  get servers(): readonly Upstream[] {
    return this.upstreams;
  }

  /**
   * The upstream answer to one question (answers, authorities, additionals and rcode;
   * the caller puts its own header on it). Throws when no upstream answers.
   */
  async resolve(name: string, type: string, flags: { cd?: boolean } = {}): Promise<DecodedPacket> {
    this.stats.queries++;
    const key = `${name.toLowerCase()}|${type}|${flags.cd ? 1 : 0}`;
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.expires > now) {
      this.stats.cacheHits++;
      // Refresh LRU position; age the TTLs.
      this.cache.delete(key);
      this.cache.set(key, hit);
      const age = Math.floor((now - hit.stored) / 1000);
      const aged = (list: Answer[] | undefined) => list?.map((a) => (a.type === 'OPT' ? a : { ...a, ttl: Math.max(0, ((a as { ttl?: number }).ttl ?? 0) - age) })) as Answer[] | undefined;
      return { ...hit.packet, answers: aged(hit.packet.answers), authorities: aged(hit.packet.authorities), additionals: aged(hit.packet.additionals) };
    }
    if (hit) this.cache.delete(key);
    let p = this.inflight.get(key);
    if (!p) {
      p = this.ask(name, type, flags).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    const res = await p;
    this.store(key, res);
    return res;
  }

  private store(key: string, res: DecodedPacket): void {
    let ttl: number | undefined;
    const rcode = rcodeOf(res);
    if (rcode === 'NOERROR' && (res.answers?.length ?? 0) > 0) ttl = minTtl(res.answers);
    else if (rcode === 'NXDOMAIN' || rcode === 'NOERROR') {
      const soa = res.authorities?.find((a) => a.type === 'SOA') as { ttl?: number; data?: { minimum?: number } } | undefined;
      ttl = soa ? Math.min(soa.ttl ?? this.negativeTtl, soa.data?.minimum ?? this.negativeTtl) : this.negativeTtl;
    }
    if (ttl === undefined || ttl <= 0) return;
    ttl = Math.min(ttl, this.maxTtl);
    this.cache.set(key, { packet: res, expires: Date.now() + ttl * 1000, stored: Date.now() });
    while (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
  }

  private async ask(name: string, type: string, flags: { cd?: boolean }): Promise<DecodedPacket> {
    if (this.upstreams.length === 0) throw new Error('no upstream nameservers');
    const query: Packet = {
      type: 'query',
      id: Math.floor(Math.random() * 65536),
      flags: 0x100 | (flags.cd ? 0x10 : 0),
      questions: [{ type: type as 'A', name, class: 'IN' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
    };
    let lastErr: unknown;
    for (const up of this.upstreams) {
      try {
        let res = await this.udp(up, query);
        if (res.flag_tc) res = await this.tcp(up, query);
        if (rcodeOf(res) === 'SERVFAIL' || rcodeOf(res) === 'REFUSED') {
          lastErr = new Error(`${up.host}: ${rcodeOf(res)}`);
          continue;
        }
        return res;
      } catch (err) {
        lastErr = err;
      }
    }
    this.stats.failures++;
    throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
  }

  private udp(up: Upstream, query: Packet): Promise<DecodedPacket> {
    return new Promise((resolve, reject) => {
      const sock = createSocket('udp4');
      const timer = setTimeout(() => {
        sock.close();
        reject(new Error(`${up.host}:${up.port}: timeout`));
      }, this.timeoutMs);
      sock.on('message', (msg) => {
        let res: DecodedPacket;
        try {
          res = decode(msg);
        } catch {
          return;
        }
        if (res.id !== query.id) return;
        clearTimeout(timer);
        sock.close();
        resolve(res);
      });
      sock.on('error', (err) => {
        clearTimeout(timer);
        sock.close();
        reject(err);
      });
      sock.send(encode(query), up.port, up.host);
    });
  }

  private tcp(up: Upstream, query: Packet): Promise<DecodedPacket> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host: up.host, port: up.port });
      let buf = Buffer.alloc(0);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`${up.host}:${up.port}: tcp timeout`));
      }, this.timeoutMs);
      sock.on('connect', () => {
        const body = encode(query);
        const len = Buffer.alloc(2);
        len.writeUInt16BE(body.length);
        sock.write(Buffer.concat([len, body]));
      });
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          clearTimeout(timer);
          sock.destroy();
          try {
            resolve(decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
          } catch (err) {
            reject(err as Error);
          }
        }
      });
      sock.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }
}
