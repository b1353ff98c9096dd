// Shared by the HA failover benchmark (bench/ha-failover.ts), the HA fault test
// (test/faults/ha-kill.test.ts) and the node-through-failover e2e (test/e2e/ha-node.test.ts):
// a cluster of `kite up --store etcd --servers N` in a private KITE_HOME, its servers and
// etcd members found from their logs and pid files, plain HTTPS calls with the admin
// certificate, which server holds a Lease, and a writer that creates ConfigMaps all along
// and remembers when each was acknowledged.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from '../machinery/process.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/cli/main.js, from dist/test/ha.js. */
const KITE_MAIN = join(here, '..', 'cli', 'main.js');

export interface HaServer {
  index: number;
  port: number;
  url: string;
  log: string;
  pid: number;
}

export interface Acked {
  name: string;
  at: number;
}

export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export class HaCluster {
  readonly home: string;
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  servers: HaServer[] = [];
  /** The kubeconfig's address: the load balancer in front of the servers. */
  balancerURL = '';
  agent?: Agent;

  constructor(
    readonly name: string,
    extraEnv: NodeJS.ProcessEnv = {},
  ) {
    this.home = mkdtempSync(join(tmpdir(), `kite-ha-${name}-`));
    this.dir = join(this.home, name);
    this.env = { ...process.env, ...extraEnv, KITE_HOME: this.home, KUBECONFIG: join(this.home, 'user-kubeconfig'), HOME: this.home };
  }

  get kubeconfig(): string {
    return join(this.dir, 'kubeconfig');
  }

  kite(args: string[], timeoutMs = 300_000): { code: number; out: string } {
    const r = spawnSync(process.execPath, [KITE_MAIN, ...args, '--name', this.name], { env: this.env, encoding: 'utf8', timeout: timeoutMs });
    return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
  }

  /** `kite up --store etcd --servers N` on `port`; finds the servers. */
  up(port: number, servers = 3, extra: string[] = []): string {
    const r = this.kite(['up', '--store', 'etcd', '--servers', String(servers), '--api-port', String(port), ...extra]);
    if (r.code !== 0) throw new Error(`kite up failed:\n${r.out}`);
    this.balancerURL = `https://127.0.0.1:${port}`;
    const pki = join(this.dir, 'pki');
    this.agent = new Agent({ ca: readFileSync(join(pki, 'ca.crt')), cert: readFileSync(join(pki, 'admin.crt')), key: readFileSync(join(pki, 'admin.key')), keepAlive: false });
    this.servers = Array.from({ length: servers }, (_, index) => {
      const log = join(this.dir, index ? `server-${index}.log` : 'server.log');
      const m = /API server listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(log, 'utf8'));
      if (!m) throw new Error(`no listening line in ${log}`);
      const pid = Number(readFileSync(join(this.dir, index ? `server-${index}.pid` : 'server.pid'), 'utf8').trim());
      return { index, port: Number(m[1]), url: `https://127.0.0.1:${m[1]}`, log, pid };
    });
    return r.out;
  }

  down(): void {
    this.kite(['down', '--purge'], 120_000);
    rmSync(this.home, { recursive: true, force: true });
  }

  /** The pid of the `kite balancer` process. */
  balancerPid(): number {
    return Number(readFileSync(join(this.dir, 'balancer.pid'), 'utf8').trim());
  }

  /** The pid of etcd member `i` (0-based). */
  etcdPid(i: number): number {
    return Number(readFileSync(join(this.dir, 'etcd', i ? `etcd-${i}.pid` : 'etcd.pid'), 'utf8').trim());
  }

  /** One HTTPS call with the admin certificate to `base` (the balancer by default). */
  api(method: string, path: string, body?: object, base = this.balancerURL): Promise<{ code: number; json: any }> {
    return new Promise((resolve, reject) => {
      const req = request(`${base}${path}`, { method, agent: this.agent, headers: { 'content-type': 'application/json' }, timeout: 10_000 }, (res) => {
        let data = '';
        res.on('data', (d) => (data += d));
        res.on('end', () => {
          try {
            resolve({ code: res.statusCode ?? 0, json: data ? JSON.parse(data) : undefined });
          } catch (err) {
            reject(err);
          }
        });
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end(body ? JSON.stringify(body) : undefined);
    });
  }

  /** A live server's URL (for reads when the balancer itself is gone). */
  liveURL(): string {
    const s = this.servers.find((x) => isAlive(x.pid));
    if (!s) throw new Error('no live API server');
    return s.url;
  }

  async holderIdentity(lease: string, base = this.balancerURL): Promise<string | undefined> {
    return (await this.api('GET', `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${lease}`, undefined, base)).json?.spec?.holderIdentity;
  }

  /** The server whose log says it acquired a Lease as this identity. */
  serverOf(identity: string): HaServer | undefined {
    return this.servers.find((s) => readFileSync(s.log, 'utf8').includes(`${identity} acquired the lease`));
  }

  /** The server holding `lease` now (undefined: none yet). */
  async holder(lease: string, base = this.balancerURL): Promise<HaServer | undefined> {
    const id = await this.holderIdentity(lease, base);
    return id ? this.serverOf(id) : undefined;
  }

  async endpointPorts(base = this.balancerURL): Promise<number[]> {
    const ep = (await this.api('GET', '/api/v1/namespaces/default/endpoints/kubernetes', undefined, base)).json;
    return (ep?.subsets ?? []).flatMap((s: any) => s.ports.map((p: any) => p.port)).sort((a: number, b: number) => a - b);
  }

  /** Names of the ConfigMaps in `namespace`, read back through `base`. */
  async configMapNames(namespace: string, base = this.balancerURL): Promise<Set<string>> {
    const list = await this.api('GET', `/api/v1/namespaces/${namespace}/configmaps`, undefined, base);
    if (list.code !== 200) throw new Error(`list configmaps: ${list.code}`);
    return new Set((list.json.items as any[]).map((o) => o.metadata.name));
  }
}

/** Creates ConfigMaps `<prefix>-N` in `namespace` one after another until stopped; remembers each acknowledged one. */
export class Writer {
  readonly acked: Acked[] = [];
  private writing = true;
  private readonly done: Promise<void>;

  constructor(cluster: HaCluster, namespace: string, prefix = 'w', base = () => cluster.balancerURL) {
    this.done = (async () => {
      for (let n = 0; this.writing; n++) {
        const name = `${prefix}-${n}`;
        try {
          const r = await cluster.api('POST', `/api/v1/namespaces/${namespace}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } }, base());
          if (r.code === 201) this.acked.push({ name, at: Date.now() });
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.writing = false;
    await this.done;
  }

  /** The longest time between acknowledged writes from `from` to `to`. */
  gapAround(from: number, to: number): number {
    let worst = 0;
    let prev = from;
    for (const a of this.acked) {
      if (a.at < from) continue;
      if (a.at > to) break;
      worst = Math.max(worst, a.at - prev);
      prev = a.at;
    }
    return worst;
  }
}

/** Prints a figures table as the fault tests and benchmarks do. */
export function printTable(title: string, rows: [string, string][]): void {
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`\n${title}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
}

/**
 * A watch of ConfigMaps in `namespace` as a client keeps one: through `base()` (the
 * balancer), resumed from the last resourceVersion seen whenever the stream breaks (its
 * server died), relisting on 410 Gone. Remembers every name it saw added.
 */
export class ResumingWatch {
  readonly seen = new Set<string>();
  resumes = 0;
  relists = 0;
  private rv = '';
  private stopped = false;
  private current?: { destroy(): void };
  private readonly done: Promise<void>;

  constructor(
    private readonly cluster: HaCluster,
    private readonly namespace: string,
    private readonly base = () => cluster.balancerURL,
  ) {
    this.done = this.run();
  }

  private onStarted: () => void = () => {};
  /** Resolves once the first list is in and the watch is open. */
  readonly started = new Promise<void>((resolve) => (this.onStarted = resolve));

  private async relist(): Promise<void> {
    const list = await this.cluster.api('GET', `/api/v1/namespaces/${this.namespace}/configmaps`, undefined, this.base());
    if (list.code !== 200) throw new Error(`list: ${list.code}`);
    for (const o of list.json.items) this.seen.add(o.metadata.name);
    this.rv = list.json.metadata.resourceVersion;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.rv) await this.relist();
        const code = await this.stream();
        if (code === 410) {
          this.relists++;
          this.rv = '';
          continue;
        }
        if (!this.stopped) this.resumes++;
      } catch {
        if (!this.stopped) this.resumes++;
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** One watch request; resolves with 410 when told the resourceVersion is gone, else 0 when the stream ends. */
  private stream(): Promise<number> {
    return new Promise((resolve, reject) => {
      const path = `/api/v1/namespaces/${this.namespace}/configmaps?watch=1&allowWatchBookmarks=true&resourceVersion=${this.rv}`;
      const req = request(`${this.base()}${path}`, { method: 'GET', agent: this.cluster.agent }, (res) => {
        if (res.statusCode === 410) {
          res.resume();
          return resolve(410);
        }
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`watch: ${res.statusCode}`));
        }
        this.onStarted();
        let buf = '';
        let gone = false;
        res.on('data', (d) => {
          buf += d;
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (!line) continue;
            const ev = JSON.parse(line);
            if (ev.type === 'ERROR') {
              if (ev.object?.code === 410) gone = true;
              continue;
            }
            this.rv = ev.object.metadata.resourceVersion;
            if (ev.type === 'ADDED') this.seen.add(ev.object.metadata.name);
          }
        });
        res.on('end', () => resolve(gone ? 410 : 0));
        res.on('error', () => resolve(gone ? 410 : 0));
        res.on('aborted', () => resolve(0));
      });
      this.current = req;
      req.on('error', reject);
      req.end();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.destroy();
    await this.done;
  }
}
