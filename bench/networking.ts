// Networking benchmark: the data path of a real `kite up` cluster (one real node: the
// nftables service proxy, cluster DNS and the ingress controller). Brings up one
// cluster, deploys 2 busybox httpd replicas behind a ClusterIP Service and an Ingress,
// waits until they serve, then measures, in one run:
//
//   1. HTTP through the ClusterIP (host traffic: the proxy DNATs it in nat-output) next
//      to the same load sent straight to the pod IPs: same in-process client, same
//      concurrency, same duration (interleaved A/B four times: the machine is shared
//      and drifts), keep-alive OFF (a new TCP connection per request, so every request
//      goes through conntrack + DNAT setup for the ClusterIP case). The
//      client resets each connection once httpd has sent its response and closed, so no
//      TIME_WAIT socket is left in the pod: with an orderly close (`--close fin`) both
//      paths meet the kernel's PAWS drops of SYNs that reuse a TIME_WAIT tuple with an
//      older TCP timestamp (1 s retransmits; proxy/NOTES.md, "Many short connections
//      from the host"), which measures TIME_WAIT collisions rather than the DNAT path;
//   2. cluster DNS queries/s over UDP (dns-packet, ~32 outstanding queries), both via
//      the DNS ClusterIP 10.96.0.10:53 (DNAT) and straight at the kube-dns endpoint;
//   3. Ingress requests/s (Host-header routed, client keep-alive on) next to Debian's
//      nginx configured by hand (as many workers as the ingress's nginx: one per core;
//      upstream keepalive) proxying to the same two pod IPs (interleaved A/B/A/B;
//      busybox httpd closes every connection, so neither proxy actually reuses upstream
//      connections); goal: the ingress at ≥ 0.9× nginx. The ingress's data plane is
//      nginx where installed (installed here when missing), else its Node one
//      (`--data-plane node` measures that one);
//   4. proxy sync time with 1,000 Services (dist/bench/proxy.js as a child process).
//
// Then tears the cluster (and nginx) down. Root only; traffic goes only to loopback,
// the node's own address and pod/Service addresses on the node's bridge.
//
//   node dist/bench/networking.js [--duration 8] [--concurrency 32] [--dns-concurrency 32] [--services 1000] [--data-plane nginx|node] [--close reset|fin]
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync, rmSync, mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus } from 'node:os';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { NGINX_BINARY, ensureNginxInstalled } from '../ingress/nginx.js';
import { Cluster, WEB_APP, applyYaml, freePort, run, waitFor, waitForNodeReady } from '../test/e2e/harness.js';
import { benchArgs } from './args.js';

const args = benchArgs();
const DURATION_MS = Number(args.get('duration') ?? 8) * 1000;
const CONCURRENCY = Number(args.get('concurrency') ?? 32);
const DNS_CONCURRENCY = Number(args.get('dns-concurrency') ?? 32);
const SERVICES = Number(args.get('services') ?? 1000);
const DATA_PLANE = args.get('data-plane');
/** How the keep-alive-off client ends a connection once httpd has closed its side. */
const CLOSE = args.get('close') ?? 'reset';
if (CLOSE !== 'reset' && CLOSE !== 'fin') throw new Error('--close takes reset or fin');
/** What the ingress's nginx runs (`worker_processes auto`): one worker per core. */
const WORKERS = cpus().length;
const INGRESS_GOAL = 0.9;
const CLUSTER_IP_GOAL = 0.95;
const here = dirname(fileURLToPath(import.meta.url));

const WEB = `${WEB_APP}---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: web.kite.test
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}]
`;

// ---------------------------------------------------------------------------------------
// Measurement helpers.

interface Result {
  ok: number;
  errors: number;
  seconds: number;
  lat: number[]; // ms, sorted
  /** The host's SYN retransmissions during a TCP load (TcpExt TCPSynRetrans: host-wide). */
  synRetrans?: number;
  /** CPU time of this process (the client, user + system) during an HTTP load, µs. */
  clientCpuUs?: number;
}

/** The host network namespace's count of retransmitted SYNs. */
function synRetransmits(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const names = lines.find((l) => l.startsWith('TcpExt:'))!.split(' ');
  const values = lines.filter((l) => l.startsWith('TcpExt:'))[1]!.split(' ');
  return Number(values[names.indexOf('TCPSynRetrans')]);
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function fmt(label: string, r: Result): string {
  const rate = r.ok / r.seconds;
  return `  ${label.padEnd(52)} ${rate.toFixed(0).padStart(7)} req/s   p50 ${pct(r.lat, 0.5).toFixed(2).padStart(6)} ms   p99 ${pct(r.lat, 0.99).toFixed(2).padStart(7)} ms   (${r.ok} ok, ${r.errors} errors, ${r.synRetrans === undefined ? '' : `${r.synRetrans} SYN retransmits, `}${r.clientCpuUs === undefined ? '' : `client CPU ${(r.clientCpuUs / r.ok).toFixed(0)} µs/req, `}${r.seconds.toFixed(1)} s)`;
}

/** One GET; resolves with the status code (or throws). */
function get(host: string, port: number, agent: Agent | false, hostHeader?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request({ host, port, path: '/', agent, timeout: 5000, headers: hostHeader ? { host: hostHeader } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end();
  });
}

/** One GET on a new connection that the client resets (RST instead of FIN) once httpd has
 * sent its response and closed its side: httpd closes first, so an orderly close leaves
 * the pod a TIME_WAIT socket per request. Resolves with the status code (or throws). */
function getAndReset(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let head = '';
    // Half-open allowed: Node then sends no FIN of its own when httpd's arrives.
    const sock = connect({ host, port, allowHalfOpen: true });
    sock.setTimeout(5000, () => sock.destroy(new Error('timeout')));
    sock.on('connect', () => sock.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    sock.on('data', (d: Buffer) => {
      if (head.length < 16) head += d.toString('latin1', 0, 16);
    });
    sock.on('end', () => {
      sock.resetAndDestroy();
      resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0));
    });
    sock.on('error', reject);
  });
}

/** Closed-loop HTTP load: `concurrency` workers each issue GETs back to back for `ms`, each
 * to one of `hosts` at random (as the proxy's `numgen random` picks an endpoint).
 * Requests still in flight at the deadline are awaited but not counted, and the rate is
 * over `ms`: a worker waiting out a 1 s SYN retransmission at the end would otherwise
 * stretch the load's time by up to a second with hardly any requests in it. */
async function httpLoad(hosts: string | string[], port: number, o: { keepAlive: boolean; hostHeader?: string; concurrency?: number; ms?: number }): Promise<Result> {
  const targets = typeof hosts === 'string' ? [hosts] : hosts;
  const concurrency = o.concurrency ?? CONCURRENCY;
  const ms = o.ms ?? DURATION_MS;
  const agent = o.keepAlive ? new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency }) : false;
  const one = !agent && CLOSE === 'reset' ? (host: string) => getAndReset(host, port) : (host: string) => get(host, port, agent, o.hostHeader);
  const lat: number[] = [];
  let errors = 0;
  const syn0 = synRetransmits();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        const code = await one(targets[Math.floor(Math.random() * targets.length)]!);
        const done = performance.now();
        if (done > end) break;
        if (code === 200) lat.push(done - t);
        else errors++;
      } catch {
        if (performance.now() > end) break;
        errors++;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = ms / 1000;
  if (agent) agent.destroy();
  lat.sort((a, b) => a - b);
  const cpu = process.cpuUsage(cpu0);
  return { ok: lat.length, errors, seconds, lat, synRetrans: synRetransmits() - syn0, clientCpuUs: cpu.user + cpu.system };
}

/** Runs loads a and b alternately, `rounds` times each at ms/rounds, and merges each side:
 * the machine is shared, so drift in background load hits both sides alike. */
async function abRounds(a: (ms: number) => Promise<Result>, b: (ms: number) => Promise<Result>, rounds = 2, ms = DURATION_MS): Promise<[Result, Result]> {
  const acc: [Result, Result] = [
    { ok: 0, errors: 0, seconds: 0, lat: [], synRetrans: 0, clientCpuUs: 0 },
    { ok: 0, errors: 0, seconds: 0, lat: [], synRetrans: 0, clientCpuUs: 0 },
  ];
  for (let i = 0; i < rounds; i++) {
    for (const [k, f] of [a, b].entries()) {
      const r = await f(ms / rounds);
      const t = acc[k]!;
      t.ok += r.ok;
      t.errors += r.errors;
      t.seconds += r.seconds;
      t.synRetrans! += r.synRetrans ?? 0;
      t.clientCpuUs! += r.clientCpuUs ?? 0;
      for (const x of r.lat) t.lat.push(x);
    }
  }
  for (const t of acc) t.lat.sort((x, y) => x - y);
  return acc;
}

/** Closed-loop DNS load: `concurrency` UDP sockets, each with one query outstanding. */
async function dnsLoad(server: string, port: number, names: string[], concurrency = DNS_CONCURRENCY, ms = DURATION_MS): Promise<Result & { answered: number; nx: number }> {
  const lat: number[] = [];
  let errors = 0;
  let answered = 0;
  let nx = 0;
  const start = performance.now();
  const end = start + ms;
  const worker = (w: number) =>
    new Promise<void>((done) => {
      const sock = createSocket('udp4');
      let id = (w * 2039) & 0xffff;
      let sentAt = 0;
      let timer: NodeJS.Timeout | undefined;
      let n = w;
      const next = () => {
        if (performance.now() >= end) {
          sock.close();
          done();
          return;
        }
        id = (id + 1) & 0xffff;
        const name = names[n++ % names.length]!;
        const buf = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
        sentAt = performance.now();
        timer = setTimeout(() => {
          errors++;
          next();
        }, 1000);
        sock.send(buf, port, server);
      };
      sock.on('message', (msg) => {
        let p: ReturnType<typeof dnsPacket.decode>;
        try {
          p = dnsPacket.decode(msg);
        } catch {
          return;
        }
        if (p.id !== id) return; // a late answer to a timed-out query
        clearTimeout(timer);
        lat.push(performance.now() - sentAt);
        if ((p.answers?.length ?? 0) > 0) answered++;
        if (((p.flags ?? 0) & 0xf) === 3) nx++; // NXDOMAIN
        next();
      });
      sock.on('error', () => {
        clearTimeout(timer);
        errors++;
        setTimeout(next, 5);
      });
      sock.bind(0, () => next());
    });
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const seconds = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return { ok: lat.length, errors, seconds, lat, answered, nx };
}

// ---------------------------------------------------------------------------------------
// nginx, as the reference reverse proxy.

async function startNginx(backends: string[]): Promise<{ port: number; stop: () => Promise<void> }> {
  await ensureNginxInstalled((m) => console.log(`  (${m})`));
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kite-bench-nginx-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  const conf = `worker_processes ${WORKERS};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream web { ${backends.map((b) => `server ${b};`).join(' ')} keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    server_name web.kite.test;
    location / {
      proxy_pass http://web;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(NGINX_BINARY, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor('nginx listening', async () => (await get('127.0.0.1', port, false, 'web.kite.test').catch(() => 0)) === 200, 10_000, 100);
  return {
    port,
    stop: async () => {
      child.kill('SIGQUIT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root: runs containers and programs the kernel');
  const t0 = performance.now();
  // kite up would install nginx for the ingress; done here first so it is timed with neither.
  if (DATA_PLANE !== 'node') await ensureNginxInstalled((m) => console.log(`(${m})`));
  const cluster = new Cluster('bench-net', DATA_PLANE ? { KITE_INGRESS_DATA_PLANE: DATA_PLANE } : {});
  const json = async (a: string[]): Promise<any> => JSON.parse(await cluster.k([...a, '-o', 'json']));
  let nginx: { port: number; stop: () => Promise<void> } | undefined;
  try {
    await cluster.up();
    const node = await waitForNodeReady(cluster, 90_000);
    const nodeIP: string = node.status.addresses.find((a: any) => a.type === 'InternalIP').address;
    const dnsEp = await waitFor(
      'kube-dns endpoints',
      async () => {
        const r = await cluster.kubectl(['get', 'endpoints', '-n', 'kube-system', 'kube-dns', '-o', 'json']);
        const s = r.code === 0 ? JSON.parse(r.stdout).subsets?.[0] : undefined;
        return s?.addresses?.length ? s : undefined;
      },
      60_000,
      500,
    );
    await applyYaml(cluster, 'web', WEB);
    const podIPs: string[] = await waitFor(
      'web endpoints (2 ready pods)',
      async () => {
        const e = await json(['get', 'endpoints', 'web']);
        const a = e.subsets?.[0]?.addresses ?? [];
        return a.length === 2 ? a.map((x: any) => x.ip as string).sort() : undefined;
      },
      120_000,
      500,
    );
    const clusterIP: string = (await json(['get', 'svc', 'web'])).spec.clusterIP;
    const cls = await json(['get', 'ingressclass', 'kite']);
    const ingressPort = Number(cls.metadata.annotations?.['ingress.kite.dev/http-port'] ?? 80);
    await waitFor('ClusterIP serves', async () => (await get(clusterIP, 80, false).catch(() => 0)) === 200, 30_000, 200);
    await waitFor('pod IP serves', async () => (await get(podIPs[0]!, 8080, false).catch(() => 0)) === 200, 30_000, 200);
    await waitFor('ingress routes', async () => (await get('127.0.0.1', ingressPort, false, 'web.kite.test').catch(() => 0)) === 200, 30_000, 200);
    const setupS = (performance.now() - t0) / 1000;

    console.log(`kite networking benchmark: node ${nodeIP}, web pods ${podIPs.join(', ')}, ClusterIP ${clusterIP}, ingress :${ingressPort}`);
    console.log(`  (cluster up + workload ready in ${setupS.toFixed(1)} s; each load: ${DURATION_MS / 1000} s closed loop, in-process Node client on this host)`);

    // 1. ClusterIP vs pod IPs, keep-alive off. The direct load picks one of the two pod IPs
    // at random per connection, as the proxy does: a strict alternation would balance
    // the pods better than the ClusterIP can, which counts once httpd's accept queue
    // (backlog 9) overflows at 32 concurrent.
    for (const c of [...new Set([8, CONCURRENCY])]) {
      console.log(`\n1. HTTP GET /, ${c} concurrent, keep-alive OFF (new TCP connection per request)`);
      await httpLoad(podIPs, 8080, { keepAlive: false, concurrency: c, ms: 1000 }); // warm-up
      const [viaPod, viaCIP] = await abRounds(
        (ms) => httpLoad(podIPs, 8080, { keepAlive: false, concurrency: c, ms }),
        (ms) => httpLoad(clusterIP, 80, { keepAlive: false, concurrency: c, ms }),
        4,
      );
      console.log(fmt(`pod IPs :8080, one at random (no DNAT)`, viaPod));
      console.log(fmt(`ClusterIP ${clusterIP}:80 (nftables DNAT)`, viaCIP));
      const ratio = viaCIP.ok / viaCIP.seconds / (viaPod.ok / viaPod.seconds);
      console.log(`  ClusterIP / pod IP rate: ${(ratio * 100).toFixed(0)}%   goal ≥ ${CLUSTER_IP_GOAL * 100}%: ${ratio >= CLUSTER_IP_GOAL ? 'met' : 'NOT met'}`);
    }

    // 2. DNS.
    const names = ['web.default.svc.cluster.local', 'kubernetes.default.svc.cluster.local', 'kube-dns.kube-system.svc.cluster.local'];
    const dnsIP: string = dnsEp.addresses[0].ip;
    const dnsPort: number = (dnsEp.ports ?? []).find((p: any) => (p.protocol ?? 'UDP') === 'UDP')?.port ?? 53;
    console.log(`\n2. DNS A queries (${names.join(', ')}), ${DNS_CONCURRENCY} outstanding, UDP`);
    await dnsLoad(dnsIP, dnsPort, names, DNS_CONCURRENCY, 1000); // warm-up
    const dnsDirect = await dnsLoad(dnsIP, dnsPort, names);
    console.log(fmt(`kube-dns endpoint ${dnsIP}:${dnsPort}`, dnsDirect).replace('req/s', 'qps  ') + `  [${dnsDirect.answered} with answers, ${dnsDirect.nx} NXDOMAIN]`);
    const dnsCIP = await dnsLoad('10.96.0.10', 53, names, DNS_CONCURRENCY, DURATION_MS / 2);
    console.log(fmt('Service 10.96.0.10:53 (DNAT)', dnsCIP).replace('req/s', 'qps  ') + `  [${dnsCIP.answered} with answers, ${dnsCIP.nx} NXDOMAIN]`);
    if (dnsCIP.nx > 0) console.log('  (NXDOMAIN via 10.96.0.10: another kite cluster on this host also DNATs 10.96.0.10 from host traffic; its DNS has no web Service)');

    // 3. Ingress vs nginx.
    console.log(`\n3. Reverse proxy, Host: web.kite.test, ${CONCURRENCY} concurrent, client keep-alive ON`);
    nginx = await startNginx(podIPs.map((ip) => `${ip}:8080`));
    const ngxPort = nginx.port;
    await httpLoad('127.0.0.1', ingressPort, { keepAlive: true, hostHeader: 'web.kite.test', ms: 1000 });
    await httpLoad('127.0.0.1', ngxPort, { keepAlive: true, hostHeader: 'web.kite.test', ms: 1000 });
    const [ing, ngx] = await abRounds(
      (ms) => httpLoad('127.0.0.1', ingressPort, { keepAlive: true, hostHeader: 'web.kite.test', ms }),
      (ms) => httpLoad('127.0.0.1', ngxPort, { keepAlive: true, hostHeader: 'web.kite.test', ms }),
    );
    const plane = existsSync(join(cluster.home, cluster.name, 'node', 'ingress', 'nginx.pid')) ? 'nginx data plane' : 'Node data plane';
    console.log(fmt(`kite ingress (${plane}) 127.0.0.1:${ingressPort}`, ing));
    console.log(fmt(`nginx by hand (${WORKERS} workers, upstream keepalive) 127.0.0.1:${ngxPort}`, ngx));
    await nginx.stop();
    nginx = undefined;
    const ratio = ing.ok / ing.seconds / (ngx.ok / ngx.seconds);
    console.log(`  kite ingress / nginx rate: ${(ratio * 100).toFixed(0)}%   goal ≥ ${INGRESS_GOAL * 100}%: ${ratio >= INGRESS_GOAL ? 'met' : 'NOT met'}`);

    // 4. Proxy sync, 1,000 Services (own network namespace; not this cluster's table).
    console.log(`\n4. Proxy sync (dist/bench/proxy.js --services ${SERVICES}, private netns)`);
    const r = await run(process.execPath, [join(here, 'proxy.js'), '--services', String(SERVICES)], { timeoutMs: 120_000 });
    console.log((r.stdout + r.stderr).trimEnd().replace(/^/gm, '  '));
    if (r.code !== 0) console.log(`  (proxy bench exited ${r.code})`);
  } finally {
    if (nginx) await nginx.stop().catch(() => undefined);
    await cluster.down();
    console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(0)} s (torn down)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
