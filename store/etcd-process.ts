// A cluster's own single-member etcd: Debian's etcd-server (/usr/bin/etcd, installed
// on demand when running as root), data under <cluster dir>/etcd, serving on loopback
// ports chosen free (and kept across restarts), TLS with certificates from the cluster
// CA and client certificates required, restarted if it dies, stopped on close.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { issueClientCert, issueServingCert, type CertKeyPair } from '../machinery/pki.js';

const run = promisify(execFile);

export const ETCD_BINARY = '/usr/bin/etcd';
export const ETCD_PACKAGE = 'etcd-server';

export interface EtcdProcessOptions {
  /** The cluster directory: etcd keeps its data, certificates and log in <dir>/etcd. */
  clusterDir: string;
  /** The cluster CA, which signs etcd's serving certificate and kite's client certificate. */
  ca: CertKeyPair;
  log?: (msg: string) => void;
}

export interface EtcdProcess {
  /** https://127.0.0.1:PORT */
  clientURL: string;
  /** PEM: CA, and the client certificate and key kite connects with. */
  tls: { ca: string; cert: string; key: string };
  /** The directory etcd owns (data, certificates, log). */
  dir: string;
  /** The current process id (changes if etcd was restarted). */
  pid(): number | undefined;
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

/** The ports used last time if still free (etcd remembers its peer URL), else new free ones. */
async function choosePorts(file: string): Promise<{ client: number; peer: number }> {
  let previous: { client: number; peer: number } | undefined;
  try {
    previous = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    previous = undefined;
  }
  const client = previous?.client && (await isPortFree(previous.client)) ? previous.client : await freePort();
  let peer = previous?.peer && previous.peer !== client && (await isPortFree(previous.peer)) ? previous.peer : await freePort();
  while (peer === client) peer = await freePort();
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
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0].endsWith('etcd');
  } catch {
    return false;
  }
}

async function waitExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Ends an etcd a killed kite server left running on this data directory (it holds the data lock). */
async function reapOrphan(pidFile: string, log?: (msg: string) => void): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (pid > 0 && isEtcd(pid)) {
    log?.(`etcd: stopping the etcd left running by an earlier server (pid ${pid})`);
    process.kill(pid, 'SIGTERM');
    if (!(await waitExit(pid, 10_000))) {
      process.kill(pid, 'SIGKILL');
      await waitExit(pid, 5_000);
    }
  }
  unlinkSync(pidFile);
}

/** Stops the cluster's etcd if a server that was killed left it running (`kite down`). */
export function stopLeftoverEtcd(clusterDir: string, log?: (msg: string) => void): Promise<void> {
  return reapOrphan(join(clusterDir, 'etcd', 'etcd.pid'), log);
}

/** Starts the cluster's etcd and returns once it was spawned (EtcdStore.open waits for it to serve). */
export async function startEtcd(opts: EtcdProcessOptions): Promise<EtcdProcess> {
  const log = opts.log ?? (() => {});
  await ensureEtcdInstalled(log);
  const dir = join(opts.clusterDir, 'etcd');
  const pkiDir = join(dir, 'pki');
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  const pidFile = join(dir, 'etcd.pid');
  await reapOrphan(pidFile, log);

  const ports = await choosePorts(join(dir, 'ports.json'));
  const server = await certPair(pkiDir, 'server', opts.ca, () =>
    issueServingCert(opts.ca, { commonName: 'kite-etcd', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }),
  );
  const client = await certPair(pkiDir, 'kite-client', opts.ca, () => issueClientCert(opts.ca, { commonName: 'kube-apiserver-etcd-client' }));
  const caFile = join(pkiDir, 'ca.crt');
  writeFileSync(caFile, opts.ca.cert, { mode: 0o644 });

  const clientURL = `https://127.0.0.1:${ports.client}`;
  const peerURL = `http://127.0.0.1:${ports.peer}`;
  const args = [
    '--name', 'kite',
    '--data-dir', join(dir, 'data'),
    '--listen-client-urls', clientURL,
    '--advertise-client-urls', clientURL,
    // A single member: the peer URL is never dialled, it only has to be unique.
    '--listen-peer-urls', peerURL,
    '--initial-advertise-peer-urls', peerURL,
    '--initial-cluster', `kite=${peerURL}`,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', `kite-${ports.peer}`,
    '--cert-file', server.certFile,
    '--key-file', server.keyFile,
    '--trusted-ca-file', caFile,
    '--client-cert-auth',
    '--logger', 'zap',
    '--log-outputs', 'stderr',
  ];
  const logFile = join(dir, 'etcd.log');

  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  const launch = (): void => {
    const fd = openSync(logFile, 'a', 0o644);
    try {
      // Its own process group: a Ctrl-C to a foreground `kite server` must not kill etcd
      // under the control plane's feet; the server stops it last.
      child = spawn(ETCD_BINARY, args, { detached: true, stdio: ['ignore', fd, fd], env: process.arch === 'arm64' ? { ...process.env, ETCD_UNSUPPORTED_ARCH: 'arm64' } : process.env });
    } finally {
      closeSync(fd);
    }
    const me = child;
    if (me.pid !== undefined) writeFileSync(pidFile, `${me.pid}\n`);
    me.once('error', (err) => log(`etcd: could not start ${ETCD_BINARY}: ${err.message}`));
    me.once('exit', (code, signal) => {
      if (stopping || child !== me) return;
      restarts++;
      const delay = Math.min(500 * 2 ** Math.min(restarts, 5), 15_000);
      log(`etcd: exited ${signal ? `on ${signal}` : `with code ${code}`} (see ${logFile}); restarting in ${delay} ms`);
      setTimeout(() => {
        if (!stopping) launch();
      }, delay).unref();
    });
  };
  launch();
  log(`etcd: ${ETCD_BINARY} serving ${clientURL} (data ${join(dir, 'data')}, log ${logFile})`);

  return {
    clientURL,
    tls: { ca: opts.ca.cert, cert: client.pair.cert, key: client.pair.key },
    dir,
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
        unlinkSync(pidFile);
      } catch {
        // already gone
      }
    },
  };
}
