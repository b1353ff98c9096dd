// Debian's nginx as the ingress data plane: installing it on demand, and running the
// controller's own nginx master (its configuration, pid, logs and temporary files in
// the controller's directory; the host's /etc/nginx and nginx service are left alone).
// Configuration changes are checked with `nginx -t` before the master is told to
// reload (SIGHUP), so a configuration nginx rejects never replaces a working one.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { processArgs, readPidFile, terminate } from '../machinery/process.js';

const run = promisify(execFile);
export const NGINX_BINARY = '/usr/sbin/nginx';
/** Debian 12's `nginx` is the server itself (nginx-light only adds the echo module). */
export const NGINX_PACKAGE = 'nginx';

export function nginxInstalled(): boolean {
  return existsSync(NGINX_BINARY);
}

/**
 * Installs nginx through apt-get when it is missing (root on Debian), like the node's
 * runtime packages. The package starts a host-wide nginx on port 80 where services
 * may start; kite runs its own, so that one is stopped and disabled again.
 */
export async function ensureNginxInstalled(log?: (msg: string) => void): Promise<void> {
  if (nginxInstalled()) return;
  const cmd = `apt-get install -y ${NGINX_PACKAGE}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) throw new Error(`no ${NGINX_BINARY}; as root run: ${cmd}`);
  if (!existsSync('/usr/bin/apt-get')) throw new Error(`no ${NGINX_BINARY} and no apt-get on this machine`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const opts = { env, timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 };
  const hostPid = '/run/nginx.pid';
  const hadHostNginx = existsSync(hostPid);
  log?.(`installing ${NGINX_PACKAGE}`);
  try {
    await run('apt-get', ['install', '-y', '-q', NGINX_PACKAGE], opts);
  } catch {
    // The package lists may be missing or stale: refresh once and retry.
    log?.('apt-get update');
    await run('apt-get', ['update', '-q'], opts);
    try {
      await run('apt-get', ['install', '-y', '-q', NGINX_PACKAGE], opts);
    } catch (err: any) {
      throw new Error(`'${cmd}' failed: ${String(err?.stderr || err?.message).slice(-2000)}`, { cause: err });
    }
  }
  if (!nginxInstalled()) throw new Error(`${NGINX_BINARY} is still missing after '${cmd}'`);
  if (existsSync('/run/systemd/system')) {
    await run('systemctl', ['disable', '--now', 'nginx'], { timeout: 60_000 }).catch(() => undefined);
  } else if (!hadHostNginx && existsSync(hostPid)) {
    await run(NGINX_BINARY, ['-s', 'quit'], { timeout: 30_000 }).catch(() => undefined);
  }
}

export interface NginxProcessOptions {
  /** nginx's prefix: nginx.conf, nginx.pid, error.log, tmp/. */
  dir: string;
  /** An address and port nginx listens on, to know it is up. */
  probe: { host: string; port: number };
  log: (msg: string) => void;
}

/** Why nginx rejected a configuration (the last lines of `nginx -t`). */
export class NginxConfigError extends Error {}

/** The controller's own nginx master process. */
export class NginxProcess {
  private child?: ChildProcess;
  private stopped = false;
  private restarts = 0;
  readonly confFile: string;

  constructor(private readonly o: NginxProcessOptions) {
    this.confFile = join(o.dir, 'nginx.conf');
    for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(o.dir, 'tmp', d), { recursive: true, mode: 0o700 });
  }

  private args(conf: string): string[] {
    return ['-p', `${this.o.dir}/`, '-c', conf, '-e', join(this.o.dir, 'error.log')];
  }

  /** `nginx -t` on a configuration text; throws NginxConfigError with nginx's words. */
  async check(text: string): Promise<void> {
    const file = join(this.o.dir, 'nginx.conf.next');
    writeFileSync(file, text, { mode: 0o600 });
    try {
      await run(NGINX_BINARY, ['-t', '-q', ...this.args(file)], { timeout: 60_000 });
    } catch (err: any) {
      const words = String(err?.stderr || err?.message)
        .split('\n')
        .filter((l) => l.trim() && !/test failed/.test(l))
        .slice(-3)
        .join('; ');
      throw new NginxConfigError(words.replace(/^nginx: /gm, ''));
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Whether nginx takes a PEM file (certificate and key) as a server's certificate; throws NginxConfigError if not. */
  async checkCertificate(pemFile: string): Promise<void> {
    const q = (f: string) => JSON.stringify(f);
    const tmp = (w: string) => q(join(this.o.dir, 'tmp', w));
    await this.check(
      `pid ${q(join(this.o.dir, 'check.pid'))};\nerror_log ${q(join(this.o.dir, 'error.log'))} warn;\nevents {}\nhttp {\n` +
        `  client_body_temp_path ${tmp('body')};\n  proxy_temp_path ${tmp('proxy')};\n  fastcgi_temp_path ${tmp('fastcgi')};\n  uwsgi_temp_path ${tmp('uwsgi')};\n  scgi_temp_path ${tmp('scgi')};\n` +
        `  server { listen 127.0.0.1:9 ssl; ssl_certificate ${q(pemFile)}; ssl_certificate_key ${q(pemFile)}; }\n}\n`,
    );
  }

  /** Starts the master on a configuration already checked; resolves once it accepts connections. */
  async start(text: string): Promise<void> {
    await stopLeftoverNginx(this.o.dir);
    writeFileSync(this.confFile, text, { mode: 0o600 });
    await this.spawn();
  }

  private async spawn(): Promise<void> {
    if (this.stopped) return;
    // daemon off: the master stays our child, so it is stopped with us.
    const child = spawn(NGINX_BINARY, [...this.args(this.confFile), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.once('exit', (code, signal) => {
      if (this.stopped || this.child !== child) return;
      this.o.log(`nginx exited (${signal ?? code}): ${stderr.trim().split('\n').slice(-2).join('; ')}`);
      // Crashed or killed under us: start it again on the configuration in effect.
      if (this.restarts++ < 5) setTimeout(() => void this.spawn().catch((err) => this.o.log(`nginx restart: ${(err as Error).message}`)), 1000);
    });
    const deadline = Date.now() + 15_000;
    for (;;) {
      const up = await Promise.race([
        new Promise<boolean>((resolve) => {
          const s = connect(this.o.probe, () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
        exited.then(() => 'exited' as const),
      ]);
      if (up === 'exited') throw new Error(`nginx did not start: ${stderr.trim().split('\n').slice(-3).join('; ')}`);
      if (up) return;
      if (Date.now() > deadline) throw new Error('nginx did not accept connections within 15 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Puts a checked configuration in effect (SIGHUP: new workers, old ones finish their
   * requests). Resolves once the workers of the previous configuration are gone: until
   * then some new connections may still be accepted by them.
   */
  async reload(text: string): Promise<void> {
    const file = join(this.o.dir, 'nginx.conf.next');
    writeFileSync(file, text, { mode: 0o600 });
    renameSync(file, this.confFile);
    const master = this.pid;
    if (master === undefined) return;
    const old = childrenOf(master);
    this.child?.kill('SIGHUP');
    const deadline = Date.now() + 30_000;
    while (old.some((p) => existsSync(`/proc/${p}`)) && Date.now() < deadline && this.pid === master) await new Promise((r) => setTimeout(r, 20));
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    rmSync(join(this.o.dir, 'nginx.pid'), { force: true });
  }
}

/** Process ids whose parent is `pid` (nginx's workers, of its master). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // pid (comm) state ppid …; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** Stops an nginx a killed controller left running in `dir` (its pid file; only if it is ours). */
export async function stopLeftoverNginx(dir: string): Promise<void> {
  const pidFile = join(dir, 'nginx.pid');
  const pid = readPidFile(pidFile);
  if (pid === undefined) return;
  const cmdline = processArgs(pid)?.join(' ') ?? '';
  if (pid > 1 && cmdline.includes('nginx') && cmdline.includes(dir)) await terminate(pid, 5_000);
  rmSync(pidFile, { force: true });
}
