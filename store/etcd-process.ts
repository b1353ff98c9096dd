// A cluster's own single-member etcd: Debian's etcd-server (/usr/bin/etcd, installed
// on demand when running as root), data under <cluster dir>/etcd, serving on loopback
// ports chosen free (and kept across restarts), TLS with certificates from the cluster
// CA and client certificates required, restarted if it dies, stopped on close.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, writeFileSync, unlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { issueClientCert, issueServingCert, type CertKeyPair } from '../machinery/pki.js';
import { processArgs, readPidFile, terminate } from '../machinery/process.js';

const run = promisify(execFile);

export const ETCD_BINARY = '/usr/bin/etcd';
export const ETCD_PACKAGE = 'etcd-server';

export interface EtcdProcessOptions {
  /** The cluster directory: etcd keeps its data, certificates and log in <dir>/etcd. */
  clusterDir: string;
  /** The cluster CA, which signs etcd's serving certificate and kite's client certificate. */
  ca: CertKeyPair;
  /**
   * Members to run on this host (default 1; `kite up --servers 3` runs 3). Fixed when the
   * etcd is first created: an existing one keeps its own count.
   */
  members?: number;
  log?: (msg: string) => void;
}

export interface EtcdProcess {
  /** https://127.0.0.1:PORT (the first member's) */
  clientURL: string;
  /** Every member's client URL. */
  clientURLs: string[];
  /** PEM: CA, and the client certificate and key kite connects with. */
  tls: { ca: string; cert: string; key: string };
  /** The directory etcd owns (data, certificates, log). */
  dir: string;
  /** The current process id of the first member (changes if etcd was restarted). */
  pid(): number | undefined;
  /** Every member's current process id. */
  pids(): (number | undefined)[];
  /** Stops etcd (SIGTERM, then SIGKILL after 10 s); no restart after this. */
  stop(): Promise<void>;
}

/** Installs etcd-server through apt-get when it is missing (root on Debian), like the node's runtime packages. */
export async function ensureEtcdInstalled(log?: (msg: string) => void): Promise<void> {
  if (existsSync(ETCD_BINARY)) return;
  const cmd = `apt-get install -y ${ETCD_PACKAGE}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) throw new Error(`the etcd store needs ${ETCD_BINARY}; as root run: ${cmd}`);
  if (!existsSync('/usr/bin/apt-get')) throw new Error(`the etcd store needs ${ETCD_BINARY} and there is no apt-get on this machine`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const opts = { env, timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 };
  log?.(`installing ${ETCD_PACKAGE}`);
  try {
    await run('apt-get', ['install', '-y', '-q', ETCD_PACKAGE], opts);
  } catch {
    // The package lists may be missing or stale: refresh once and retry.
    log?.('apt-get update');
    await run('apt-get', ['update', '-q'], opts);
    try {
      await run('apt-get', ['install', '-y', '-q', ETCD_PACKAGE], opts);
    } catch (err: any) {
      throw new Error(`'${cmd}' failed: ${String(err?.stderr || err?.message).slice(-2000)}`, { cause: err });
    }
  }
  if (!existsSync(ETCD_BINARY)) throw new Error(`${ETCD_BINARY} is still missing after '${cmd}'`);
  // The package enables a system-wide etcd on port 2379; kite runs its own per cluster.
  if (existsSync('/run/systemd/system')) {
    await run('systemctl', ['disable', '--now', 'etcd'], { timeout: 60_000 }).catch(() => undefined);
  }
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A free port not in `taken`. */
async function freePortBesides(taken: readonly number[]): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (!taken.includes(p)) return p;
  }
}

/** How long a member with data waits for its peer port to be free again (a process of the last run still closing). */
const PEER_PORT_WAIT_MS = 15_000;

/**
 * The ports used last time if still free, else new free ones (never one in `taken`).
 * A member that has data keeps its peer port: its peer URL is part of the etcd
 * membership the other members dial, so it waits for that port rather than move.
 */
async function choosePorts(file: string, taken: readonly number[], hasData: boolean): Promise<{ client: number; peer: number }> {
  let previous: { client?: number; peer?: number } | undefined;
  try {
    previous = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    previous = undefined;
  }
  let peer: number;
  if (hasData && previous?.peer) {
    const deadline = Date.now() + PEER_PORT_WAIT_MS;
    while (!(await isPortFree(previous.peer))) {
      if (Date.now() > deadline) throw new Error(`etcd: peer port ${previous.peer} (${file}) is taken by another process; the member's peer URL is part of the etcd membership and cannot move`);
      await new Promise((r) => setTimeout(r, 500));
    }
    peer = previous.peer;
  } else {
    peer = previous?.peer && !taken.includes(previous.peer) && (await isPortFree(previous.peer)) ? previous.peer : await freePortBesides(taken);
  }
  const client = previous?.client && previous.client !== peer && !taken.includes(previous.client) && (await isPortFree(previous.client)) ? previous.client : await freePortBesides([...taken, peer]);
  writeFileSync(file, JSON.stringify({ client, peer }) + '\n');
  return { client, peer };
}

function usable(pair: { cert: string; key: string } | undefined, ca: string): boolean {
  if (!pair) return false;
  try {
    const cert = new X509Certificate(pair.cert);
    const caCert = new X509Certificate(ca);
    return cert.checkIssued(caCert) && cert.verify(caCert.publicKey) && cert.checkPrivateKey(createPrivateKey(pair.key)) && new Date(cert.validTo).getTime() - Date.now() > 30 * 86_400_000;
  } catch {
    return false;
  }
}

/** Loads a certificate pair from dir, issuing it from the CA when missing or near expiry. */
async function certPair(dir: string, name: string, ca: CertKeyPair, issue: () => Promise<CertKeyPair>): Promise<{ pair: CertKeyPair; certFile: string; keyFile: string }> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  let pair: CertKeyPair | undefined = existsSync(certFile) && existsSync(keyFile) ? { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') } : undefined;
  if (!usable(pair, ca.cert)) {
    pair = await issue();
    writeFileSync(keyFile, pair.key, { mode: 0o600 });
    writeFileSync(certFile, pair.cert, { mode: 0o644 });
  }
  return { pair: pair!, certFile, keyFile };
}

/** Is pid a live etcd (left behind by a kite server that was killed)? */
function isEtcd(pid: number): boolean {
  return processArgs(pid)?.[0]?.endsWith('etcd') ?? false;
}

/** Ends an etcd a killed kite server left running on this data directory (it holds the data lock). */
async function reapOrphan(pidFile: string, log?: (msg: string) => void): Promise<void> {
  const pid = readPidFile(pidFile);
  if (pid === undefined) return;
  if (isEtcd(pid)) {
    log?.(`etcd: stopping the etcd left running by an earlier server (pid ${pid})`);
    // It may exit between the check and the signal (a server stopping it as it went):
    // a member already gone is what we want, not an error (`kite down` failed on ESRCH).
    await terminate(pid, 10_000);
  }
  rmSync(pidFile, { force: true });
}

/** Stops the cluster's etcd members if a server that was killed left them running (`kite down`). */
export async function stopLeftoverEtcd(clusterDir: string, log?: (msg: string) => void): Promise<void> {
  const dir = join(clusterDir, 'etcd');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^etcd(-\d+)?\.pid$/.test(f)) : [];
  await Promise.all(files.map((f) => reapOrphan(join(dir, f), log)));
}

/** File names of member i (the first keeps the names of a single-member etcd). */
function memberFiles(dir: string, i: number): { name: string; data: string; pid: string; log: string; ports: string } {
  return i === 0
    ? { name: 'kite', data: join(dir, 'data'), pid: join(dir, 'etcd.pid'), log: join(dir, 'etcd.log'), ports: join(dir, 'ports.json') }
    : { name: `kite-${i}`, data: join(dir, `data-${i}`), pid: join(dir, `etcd-${i}.pid`), log: join(dir, `etcd-${i}.log`), ports: join(dir, `ports-${i}.json`) };
}

/** How many members: what the etcd was created with (members.json), else what is asked for. */
function memberCount(dir: string, wanted: number, log: (msg: string) => void): number {
  const file = join(dir, 'members.json');
  let recorded: number | undefined;
  try {
    recorded = (JSON.parse(readFileSync(file, 'utf8')) as { members?: number }).members;
  } catch {
    recorded = existsSync(join(dir, 'data')) ? 1 : undefined;
  }
  if (recorded !== undefined && recorded !== wanted) log(`etcd: keeping the ${recorded} member(s) it was created with (asked for ${wanted})`);
  const n = recorded ?? wanted;
  writeFileSync(file, JSON.stringify({ members: n }) + '\n');
  return n;
}

/** Starts the cluster's etcd members and returns once they were spawned (EtcdStore.open waits for them to serve). */
export async function startEtcd(opts: EtcdProcessOptions): Promise<EtcdProcess> {
  const log = opts.log ?? (() => {});
  await ensureEtcdInstalled(log);
  const dir = join(opts.clusterDir, 'etcd');
  const pkiDir = join(dir, 'pki');
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  const count = memberCount(dir, opts.members ?? 1, log);
  const members = Array.from({ length: count }, (_, i) => memberFiles(dir, i));
  await Promise.all(members.map((m) => reapOrphan(m.pid, log)));

  // Members with data keep their peer ports (the membership lists them): those first,
  // then the others' ports around them.
  const chosen = new Map<number, { client: number; peer: number }>();
  // (A single member's peer URL is never dialled: it may move.)
  const order = members.map((m, i) => ({ m, i, hasData: count > 1 && existsSync(m.data) })).sort((a, b) => Number(b.hasData) - Number(a.hasData));
  const previousPeer = (file: string): number | undefined => {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as { peer?: number }).peer;
    } catch {
      return undefined;
    }
  };
  const pinned = order.filter((o) => o.hasData).map((o) => previousPeer(o.m.ports)).filter((p): p is number => !!p);
  for (const { m, i, hasData } of order) {
    const taken = [...pinned, ...[...chosen.values()].flatMap((q) => [q.client, q.peer])];
    // A member with data takes its own peer port whatever `taken` says.
    chosen.set(i, await choosePorts(m.ports, taken, hasData));
  }
  const ports = members.map((_, i) => chosen.get(i)!);
  const server = await certPair(pkiDir, 'server', opts.ca, () =>
    issueServingCert(opts.ca, { commonName: 'kite-etcd', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }),
  );
  const client = await certPair(pkiDir, 'kite-client', opts.ca, () => issueClientCert(opts.ca, { commonName: 'kube-apiserver-etcd-client' }));
  const caFile = join(pkiDir, 'ca.crt');
  writeFileSync(caFile, opts.ca.cert, { mode: 0o644 });

  const clientURLs = ports.map((p) => `https://127.0.0.1:${p.client}`);
  const peerURLs = ports.map((p) => `http://127.0.0.1:${p.peer}`);
  // Other API servers of the cluster read every member's client URL here.
  writeFileSync(members[0].ports, JSON.stringify({ ...ports[0], clients: ports.map((p) => p.client) }) + '\n');
  const initialCluster = members.map((m, i) => `${m.name}=${peerURLs[i]}`).join(',');

  const procs = members.map((m, i) =>
    superviseMember(
      [
        '--name', m.name,
        '--data-dir', m.data,
        '--listen-client-urls', clientURLs[i],
        '--advertise-client-urls', clientURLs[i],
        // Peers talk over loopback only; a single member's peer URL is never dialled.
        '--listen-peer-urls', peerURLs[i],
        '--initial-advertise-peer-urls', peerURLs[i],
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', `kite-${ports[0].peer}`,
        '--cert-file', server.certFile,
        '--key-file', server.keyFile,
        '--trusted-ca-file', caFile,
        '--client-cert-auth',
        '--logger', 'zap',
        '--log-outputs', 'stderr',
        // Members sharing one (possibly busy) host: twice etcd's heartbeat and election
        // timeouts, so a slow moment does not start an election.
        ...(count > 1 ? ['--heartbeat-interval', '200', '--election-timeout', '2000'] : []),
      ],
      m,
      log,
    ),
  );
  log(`etcd: ${ETCD_BINARY} serving ${clientURLs.join(', ')} (${count} member${count > 1 ? 's' : ''}, data and logs in ${dir})`);

  return {
    clientURL: clientURLs[0],
    clientURLs,
    tls: { ca: opts.ca.cert, cert: client.pair.cert, key: client.pair.key },
    dir,
    pid: () => procs[0].pid(),
    pids: () => procs.map((p) => p.pid()),
    async stop() {
      await Promise.all(procs.map((p) => p.stop()));
    },
  };
}

/** One etcd member, restarted if it dies, until stop(). */
function superviseMember(args: string[], m: ReturnType<typeof memberFiles>, log: (msg: string) => void): { pid(): number | undefined; stop(): Promise<void> } {
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  const launch = (): void => {
    const fd = openSync(m.log, 'a', 0o644);
    try {
      // Its own process group: a Ctrl-C to a foreground `kite server` must not kill etcd
      // under the control plane's feet; the server stops it last.
      child = spawn(ETCD_BINARY, args, { detached: true, stdio: ['ignore', fd, fd], env: process.arch === 'arm64' ? { ...process.env, ETCD_UNSUPPORTED_ARCH: 'arm64' } : process.env });
    } finally {
      closeSync(fd);
    }
    const me = child;
    if (me.pid !== undefined) writeFileSync(m.pid, `${me.pid}\n`);
    me.once('error', (err) => log(`etcd: could not start ${ETCD_BINARY}: ${err.message}`));
    me.once('exit', (code, signal) => {
      if (stopping || child !== me) return;
      restarts++;
      const delay = Math.min(500 * 2 ** Math.min(restarts, 5), 15_000);
      log(`etcd ${m.name}: exited ${signal ? `on ${signal}` : `with code ${code}`} (see ${m.log}); restarting in ${delay} ms`);
      setTimeout(() => {
        if (!stopping) launch();
      }, delay).unref();
    });
  };
  launch();
  return {
    pid: () => child?.pid,
    async stop() {
      stopping = true;
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      try {
        unlinkSync(m.pid);
      } catch {
        // already gone
      }
    },
  };
}
