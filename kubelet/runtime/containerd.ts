// A private containerd per kite cluster node.
//
// Each node gets its own containerd daemon with its own generated config.toml:
// its own root/state directories, GRPC socket, CNI configuration, registry host
// configuration and runc root, all under the node's state directory. A system
// containerd (/run/containerd/containerd.sock, /var/lib/containerd) is never
// used, configured or stopped. See NOTES.md beside this file.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { isAlive, processArgs, readPidFile, sleep, terminate } from '../../machinery/process.js';
import { criAnswers } from '../cri/probe.js';
import { PAUSE_IMAGE } from '../images/pause.js';
import { findStaticBusybox } from '../images/busybox.js';
import { CNI_BIN_DIR, cniConfDir, cniDataDir, readCniConfig, writeCniConfig, type CniConfigOptions } from './cni.js';
import { readRegistryAuths, registryAuthToml, type RegistryAuth } from './registries.js';

const run = promisify(execFile);

// ---------------------------------------------------------------- packages

/** Debian packages the node runtime needs, with a file proving each is present. */
export const RUNTIME_PACKAGES: ReadonlyArray<{ pkg: string; check: () => boolean }> = [
  { pkg: 'containerd', check: () => existsSync('/usr/bin/containerd') && existsSync('/usr/bin/ctr') },
  { pkg: 'runc', check: () => existsSync('/usr/sbin/runc') || existsSync('/usr/bin/runc') },
  { pkg: 'containernetworking-plugins', check: () => ['bridge', 'host-local', 'portmap', 'loopback'].every((p) => existsSync(join(CNI_BIN_DIR, p))) },
  { pkg: 'busybox-static', check: () => findStaticBusybox() !== null },
];

/** Names of the runtime packages that are missing on this machine. */
export function missingRuntimePackages(): string[] {
  return RUNTIME_PACKAGES.filter((p) => !p.check()).map((p) => p.pkg);
}

export interface EnsurePackagesOptions {
  /** progress messages (default: none) */
  log?: (msg: string) => void;
}

/**
 * Makes sure containerd, runc, the CNI plugins and busybox-static are installed,
 * installing the missing ones with apt-get when running as root on Debian.
 * Throws with the command to run otherwise.
 */
export async function ensureRuntimePackages(opts: EnsurePackagesOptions = {}): Promise<void> {
  const missing = missingRuntimePackages();
  if (missing.length === 0) return;
  const cmd = `apt-get install -y ${missing.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) throw new Error(`kite node runtime: missing packages ${missing.join(', ')}; as root run: ${cmd}`);
  if (!existsSync('/usr/bin/apt-get')) throw new Error(`kite node runtime: missing packages ${missing.join(', ')} and no apt-get on this machine`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['install', '-y', '-q', ...missing], { env, timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  opts.log?.(`installing ${missing.join(' ')}`);
  try {
    await install();
  } catch {
    // The package lists may be missing or stale: refresh once and retry.
    opts.log?.('apt-get update');
    await run('apt-get', ['update', '-q'], { env, timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 });
    try {
      await install();
    } catch (err: any) {
      throw new Error(`kite node runtime: '${cmd}' failed: ${String(err?.stderr || err?.message).slice(-2000)}`, { cause: err });
    }
  }
  const still = missingRuntimePackages();
  if (still.length > 0) throw new Error(`kite node runtime: still missing after apt-get: ${still.join(', ')}`);
}

// ---------------------------------------------------------------- host facts

export type CgroupDriver = 'systemd' | 'cgroupfs';

/** systemd when systemd is the init system (its /run/systemd/system marker), cgroupfs otherwise. */
export function detectCgroupDriver(): CgroupDriver {
  return existsSync('/run/systemd/system') ? 'systemd' : 'cgroupfs';
}

/**
 * Whether this process may lower oom_score_adj (needs CAP_SYS_RESOURCE). Sandboxed
 * roots (some VMs, containers) lack it; then containerd must be told
 * restrict_oom_score_adj, or runc fails on the pause container's -998 with
 * "can't get final child's PID from pipe: EOF".
 */
export function canLowerOomScoreAdj(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (!m) return false;
    const CAP_SYS_RESOURCE = 24n;
    return ((BigInt(`0x${m[1]}`) >> CAP_SYS_RESOURCE) & 1n) === 1n;
  } catch {
    return false;
  }
}

/** 'v2' when /sys/fs/cgroup is the unified hierarchy, 'v1' otherwise (including hybrid). */
export function detectCgroupVersion(): 'v1' | 'v2' {
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1';
}

// ---------------------------------------------------------------- layout

/** Paths a private containerd uses under its state directory. */
export interface RuntimeLayout {
  stateDir: string;
  configPath: string;
  socket: string;
  root: string;
  state: string;
  runcRoot: string;
  optDir: string;
  registryConfigDir: string;
  cniConfDir: string;
  cniDataDir: string;
  netnsDir: string;
  logPath: string;
  pidPath: string;
  /** JSON written at start: socket, pid, bridge; read by cleanupRuntime */
  metaPath: string;
}

/** Longest socket path we accept (sun_path is 108 bytes; containerd adds ".ttrpc"). */
const MAX_SOCKET_PATH = 100;
const SYSTEM_SOCKETS = ['/run/containerd/containerd.sock', '/var/run/containerd/containerd.sock'];

/**
 * Default GRPC socket for a state dir: <stateDir>/containerd.sock, or, when that
 * path is too long for a unix socket, /run/kite/<hash of stateDir>/containerd.sock.
 */
export function defaultSocketPath(stateDir: string): string {
  const abs = resolve(stateDir);
  const p = join(abs, 'containerd.sock');
  if (Buffer.byteLength(p) <= MAX_SOCKET_PATH) return p;
  const h = createHash('sha256').update(abs).digest('hex').slice(0, 16);
  return join('/run/kite', h, 'containerd.sock');
}

export function runtimeLayout(stateDir: string, socketPath?: string): RuntimeLayout {
  const abs = resolve(stateDir);
  const state = join(abs, 'state');
  return {
    stateDir: abs,
    configPath: join(abs, 'config.toml'),
    socket: socketPath ? resolve(socketPath) : defaultSocketPath(abs),
    root: join(abs, 'root'),
    state,
    runcRoot: join(abs, 'runc'),
    optDir: join(abs, 'opt'),
    registryConfigDir: join(abs, 'certs.d'),
    cniConfDir: cniConfDir(abs),
    cniDataDir: cniDataDir(abs),
    // with netns_mounts_under_state_dir, the CRI plugin's own state dir holds them
    netnsDir: join(state, 'io.containerd.grpc.v1.cri', 'netns'),
    logPath: join(abs, 'containerd.log'),
    pidPath: join(abs, 'containerd.pid'),
    metaPath: join(abs, 'runtime.json'),
  };
}

// ---------------------------------------------------------------- config.toml

/**
 * Plugins a kite node does not need (other snapshotters, tracing). Not the v1
 * runtime (io.containerd.runtime.v1.linux): in 1.6 the tasks service, and so the
 * CRI plugin, fails to load without it.
 */
export const DISABLED_PLUGINS = [
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.tracing.processor.v1.otlp',
  'io.containerd.internal.v1.tracing',
];

export interface ContainerdConfigOptions {
  layout: RuntimeLayout;
  sandboxImage?: string;
  /** default: detectCgroupDriver() === 'systemd' */
  systemdCgroup?: boolean;
  /** default: !canLowerOomScoreAdj() */
  restrictOomScoreAdj?: boolean;
  cniBinDir?: string;
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** registry credentials by host (registry.configs."<host>".auth; see registries.ts) */
  registryAuth?: Record<string, RegistryAuth>;
}

const q = (s: string): string => JSON.stringify(s); // a JSON string is a valid TOML basic string here
const qa = (a: readonly string[]): string => `[${a.map(q).join(', ')}]`;

/** Renders containerd's config.toml (config version 2, containerd 1.6 keys). */
export function containerdConfig(opts: ContainerdConfigOptions): string {
  const l = opts.layout;
  const systemd = opts.systemdCgroup ?? detectCgroupDriver() === 'systemd';
  const restrictOom = opts.restrictOomScoreAdj ?? !canLowerOomScoreAdj();
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `# Generated by kite for a private containerd. Do not edit: rewritten at every start.
version = 2
root = ${q(l.root)}
state = ${q(l.state)}
oom_score = 0
required_plugins = ["io.containerd.grpc.v1.cri"]
disabled_plugins = ${qa(DISABLED_PLUGINS)}

[grpc]
  address = ${q(l.socket)}
  tcp_address = ""

[ttrpc]
  address = ${q(l.socket + '.ttrpc')}

[debug]
  address = ""
  level = ${q(opts.logLevel ?? 'info')}

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = ${q(l.optDir)}

  [${cri}]
    sandbox_image = ${q(opts.sandboxImage ?? PAUSE_IMAGE)}
    # network namespaces live under <state>/netns instead of /var/run/netns
    netns_mounts_under_state_dir = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    disable_tcp_service = true
    enable_unprivileged_ports = true
    enable_unprivileged_icmp = true
    max_container_log_line_size = 16384
    # true when this process lacks CAP_SYS_RESOURCE (cannot set negative oom_score_adj)
    restrict_oom_score_adj = ${restrictOom}
    tolerate_missing_hugetlb_controller = true
    disable_hugetlb_controller = true

    [${cri}.containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      discard_unpacked_layers = false

      [${cri}.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"

        [${cri}.containerd.runtimes.runc.options]
          SystemdCgroup = ${systemd}
          # runc state of this node's containers: <Root>/k8s.io/<id>
          Root = ${q(l.runcRoot)}

    [${cri}.cni]
      bin_dir = ${q(opts.cniBinDir ?? CNI_BIN_DIR)}
      conf_dir = ${q(l.cniConfDir)}
      max_conf_num = 1

    [${cri}.registry]
      # hosts.toml per registry host (mirrors, TLS) in <config_path>/<host>/, written
      # from registries.yaml by registries.ts; credentials below (hosts.toml has none)
      config_path = ${q(l.registryConfigDir)}
${registryAuthToml(cri, opts.registryAuth ?? {})}`;
}

// ---------------------------------------------------------------- process helpers

/** Pid of a still-running containerd started for this layout (from the pid file), or null. */
function livePrivateContainerd(layout: RuntimeLayout): number | null {
  const pid = readPidFile(layout.pidPath);
  if (pid === undefined || !isAlive(pid)) return null;
  const args = processArgs(pid) ?? [];
  if (!args.some((a) => a.endsWith('containerd')) || !args.includes(layout.configPath)) return null;
  return pid;
}

async function socketAnswers(socket: string, timeoutMs: number): Promise<boolean> {
  if (!existsSync(socket)) return false;
  return criAnswers(socket, timeoutMs);
}

function tail(path: string, bytes = 4000): string {
  try {
    const s = readFileSync(path, 'utf8');
    return s.slice(-bytes);
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------- start / stop

export interface StartContainerdOptions {
  /** node state directory; everything containerd writes goes below it */
  stateDir: string;
  /** GRPC socket (default: <stateDir>/containerd.sock, or /run/kite/<hash>/ when too long) */
  socketPath?: string;
  /** sandbox (pause) image reference (default kite.local/pause:3.10) */
  sandboxImage?: string;
  /** override the cgroup driver detection */
  systemdCgroup?: boolean;
  /** when set, the CNI conflist for this pod CIDR is (re)written before start */
  cni?: Omit<CniConfigOptions, 'dataDir'>;
  /** containerd binary (default: containerd on PATH) */
  containerdBin?: string;
  logLevel?: ContainerdConfigOptions['logLevel'];
  /** how long to wait for the socket to answer (default 30 s) */
  startTimeoutMs?: number;
  /**
   * Run containerd inside this network namespace (a bind-mounted netns file such as
   * /run/netns/NAME): the CNI plugins it runs then build the pod bridge and the pods'
   * veths there, so the pods live in that node's network.
   */
  netns?: string;
}

export interface RunningContainerd {
  /** absolute path of the GRPC (and CRI) socket */
  socket: string;
  pid: number;
  layout: RuntimeLayout;
  /** SIGTERM, then SIGKILL after graceMs (default 10 s). Containers keep running in their shims. */
  stop(graceMs?: number): Promise<void>;
  /** Settles when the containerd process is gone (for whatever reason). */
  exited: Promise<void>;
}

/** Starts this node's private containerd and waits until its CRI answers. */
export async function startContainerd(opts: StartContainerdOptions): Promise<RunningContainerd> {
  const layout = runtimeLayout(opts.stateDir, opts.socketPath);
  if (SYSTEM_SOCKETS.includes(layout.socket)) {
    throw new Error(`refusing to use the system containerd socket ${layout.socket}`);
  }
  for (const d of [layout.stateDir, layout.root, layout.state, layout.runcRoot, layout.optDir, layout.registryConfigDir, layout.cniConfDir, layout.cniDataDir]) {
    mkdirSync(d, { recursive: true, mode: 0o711 });
  }
  mkdirSync(join(layout.socket, '..'), { recursive: true, mode: 0o711 });

  // A containerd left running for this state dir (crashed parent): replace it.
  const stale = livePrivateContainerd(layout);
  if (stale) await terminate(stale, 10_000);
  if (await socketAnswers(layout.socket, 1000)) {
    throw new Error(`${layout.socket} is already served by another runtime; not starting a second containerd on it`);
  }
  for (const s of [layout.socket, layout.socket + '.ttrpc']) rmSync(s, { force: true });

  if (opts.cni) writeCniConfig({ ...opts.cni, confDir: layout.cniConfDir, dataDir: layout.cniDataDir });

  writeFileSync(
    layout.configPath,
    containerdConfig({
      layout,
      sandboxImage: opts.sandboxImage,
      systemdCgroup: opts.systemdCgroup,
      logLevel: opts.logLevel,
      // written by applyRegistries() from the cluster's registries.yaml
      registryAuth: readRegistryAuths(layout.stateDir),
    }),
  );

  // Recorded before the daemon starts so cleanupRuntime finds the socket and bridge even after a failed start.
  const net = readCniConfig(layout.cniConfDir);
  writeFileSync(
    layout.metaPath,
    JSON.stringify({ socket: layout.socket, bridge: net?.bridge ?? null, network: net?.name ?? null, netns: opts.netns ?? null }, null, 2) + '\n',
  );

  return spawnContainerd(layout, opts.containerdBin ?? 'containerd', opts.startTimeoutMs ?? 30_000, opts.netns);
}

/**
 * Starts containerd again for a state dir whose containerd died, with the config.toml
 * it ran with. The shims outlive containerd, so the restarted daemon reconnects to them
 * and every running container carries on untouched (same pid, same restart count).
 */
export async function restartContainerd(stateDir: string, socketPath?: string): Promise<RunningContainerd> {
  const abs = resolve(stateDir);
  let meta: { socket?: string; netns?: string | null } = {};
  try {
    meta = JSON.parse(readFileSync(join(abs, 'runtime.json'), 'utf8'));
  } catch {
    // no record: the default socket
  }
  const layout = runtimeLayout(abs, socketPath ?? meta.socket);
  const stale = livePrivateContainerd(layout);
  if (stale) await terminate(stale, 10_000);
  for (const s of [layout.socket, layout.socket + '.ttrpc']) rmSync(s, { force: true });
  return spawnContainerd(layout, 'containerd', 30_000, meta.netns ?? undefined);
}

/**
 * A containerd already running for this state dir (started by an earlier
 * process that exited without stopping it), or null. Its containers keep
 * running; stop() terminates it like a started one.
 */
export async function adoptContainerd(stateDir: string, socketPath?: string): Promise<RunningContainerd | null> {
  const abs = resolve(stateDir);
  let meta: { socket?: string };
  try {
    meta = JSON.parse(readFileSync(join(abs, 'runtime.json'), 'utf8'));
  } catch {
    return null;
  }
  const layout = runtimeLayout(abs, socketPath ?? meta.socket);
  const pid = livePrivateContainerd(layout);
  if (!pid) return null;
  if (!(await socketAnswers(layout.socket, 3000))) return null;
  return {
    socket: layout.socket,
    pid,
    layout,
    // Not our child: no exit event, so its pid is watched (unref'd: the watch alone keeps no process alive).
    exited: new Promise<void>((res) => {
      const check = () => (isAlive(pid) ? setTimeout(check, 500).unref() : res());
      check();
    }),
    async stop(graceMs = 10_000) {
      await terminate(pid, graceMs);
      rmSync(layout.pidPath, { force: true });
      for (const s of [layout.socket, layout.socket + '.ttrpc']) rmSync(s, { force: true });
    },
  };
}

// ---------------------------------------------------------------- cleanup

export interface CleanupReport {
  containers: string[];
  sandboxes: string[];
  runcContainers: string[];
  shims: number[];
  mounts: string[];
  netns: string[];
  bridge: string | null;
  iptablesRules: number;
  errors: string[];
}

export interface CleanupOptions {
  socketPath?: string;
  /** remove the whole state directory afterwards */
  removeStateDir?: boolean;
  log?: (msg: string) => void;
}

/** Mount points at or below dir, deepest first (from /proc/self/mountinfo). */
export function mountsUnder(dir: string): string[] {
  const abs = resolve(dir);
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const points = new Set<string>();
  for (const line of info.split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const p = unescape(mp);
    if (p === abs || p.startsWith(abs + '/')) points.add(p);
  }
  return [...points].sort((a, b) => b.length - a.length);
}

async function tryRun(cmd: string, args: string[], timeout = 30_000): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { timeout, maxBuffer: 64 * 1024 * 1024 });
    return { ok: true, stdout, stderr };
  } catch (err: any) {
    return { ok: false, stdout: String(err?.stdout ?? ''), stderr: String(err?.stderr ?? err?.message ?? '') };
  }
}

/** Splits one iptables-save rule line into arguments (double quotes, backslash escapes). */
export function splitIptablesRule(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuote = false;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      has = true;
    } else if (c === '"') {
      inQuote = !inQuote;
      has = true;
    } else if (c === ' ' && !inQuote) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** Removes nat rules the CNI bridge/portmap plugins left for network `name`, and their chains. */
async function cleanupIptables(name: string, report: CleanupReport): Promise<void> {
  for (const bin of ['iptables', 'ip6tables']) {
    const saved = await tryRun(`${bin}-save`, ['-t', 'nat']);
    if (!saved.ok) continue;
    const marker = `name: "${name}" id: "`;
    const chains = new Set<string>();
    for (const line of saved.stdout.split('\n')) {
      if (!line.startsWith('-A ')) continue;
      const args = splitIptablesRule(line);
      const comment = args[args.indexOf('--comment') + 1] ?? '';
      if (!args.includes('--comment') || !comment.includes(marker)) continue;
      const target = args[args.indexOf('-j') + 1];
      if (target && /^CNI-/.test(target) && !target.startsWith('CNI-HOSTPORT-')) chains.add(target);
      const del = await tryRun(bin, ['-w', '-t', 'nat', '-D', ...args.slice(1)]);
      if (del.ok) report.iptablesRules++;
      else report.errors.push(`${bin} -D ${args.slice(1).join(' ')}: ${del.stderr.trim()}`);
    }
    for (const chain of chains) {
      await tryRun(bin, ['-w', '-t', 'nat', '-F', chain]);
      await tryRun(bin, ['-w', '-t', 'nat', '-X', chain]);
    }
    await removeIdleHostportChains(bin, report);
  }
}

/**
 * portmap's shared chains (CNI-HOSTPORT-*) are host-wide. When CNI-HOSTPORT-DNAT
 * no longer sends anything to a per-pod chain, no pod on this host (of any CNI
 * user) has a hostPort, so the chains and their entry rules can go; portmap
 * recreates them on its next ADD.
 */
async function removeIdleHostportChains(bin: string, report: CleanupReport): Promise<void> {
  const dnat = await tryRun(bin, ['-w', '-t', 'nat', '-S', 'CNI-HOSTPORT-DNAT']);
  if (!dnat.ok) return; // chain absent
  if (dnat.stdout.split('\n').some((l) => l.startsWith('-A '))) return; // still in use
  const saved = await tryRun(`${bin}-save`, ['-t', 'nat']);
  if (!saved.ok) return;
  for (const line of saved.stdout.split('\n')) {
    if (!line.startsWith('-A ')) continue;
    const args = splitIptablesRule(line);
    const chain = args[1] ?? '';
    const target = args[args.indexOf('-j') + 1] ?? '';
    if (!chain.startsWith('CNI-HOSTPORT-') && target.startsWith('CNI-HOSTPORT-') && args.includes('-j')) {
      const del = await tryRun(bin, ['-w', '-t', 'nat', '-D', ...args.slice(1)]);
      if (del.ok) report.iptablesRules++;
    }
  }
  for (const chain of ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SNAT']) {
    await tryRun(bin, ['-w', '-t', 'nat', '-F', chain]);
    await tryRun(bin, ['-w', '-t', 'nat', '-X', chain]);
  }
}

/** Shim processes serving the containerd at `socket` (their -address argument). */
function shimPids(socket: string): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const args = processArgs(Number(e)) ?? [];
    if (args.length === 0 || !args[0]!.includes('containerd-shim')) continue;
    const i = args.indexOf('-address');
    if (i >= 0 && args[i + 1] === socket) out.push(Number(e));
  }
  return out;
}

/**
 * Removes what a node's runtime left behind: pod sandboxes and containers
 * (through CRI, so CNI tears their networking down), stray runc containers and
 * shims, mounts below the state dir (rootfs overlays, shm, network namespaces),
 * the node's bridge interface and the CNI iptables rules of its network. The
 * containerd of this state dir is stopped at the end if it is running; one is
 * started for the duration when only its config is left. Never touches anything
 * outside what this state dir's containerd made.
 */
export async function cleanupRuntime(stateDir: string, opts: CleanupOptions = {}): Promise<CleanupReport> {
  const report: CleanupReport = { containers: [], sandboxes: [], runcContainers: [], shims: [], mounts: [], netns: [], bridge: null, iptablesRules: 0, errors: [] };
  const log = opts.log ?? (() => {});
  let meta: { socket?: string; bridge?: string | null; network?: string | null; netns?: string | null } = {};
  const abs = resolve(stateDir);
  try {
    meta = JSON.parse(readFileSync(join(abs, 'runtime.json'), 'utf8'));
  } catch {
    // never started or already cleaned
  }
  const layout = runtimeLayout(abs, opts.socketPath ?? meta.socket);
  if (!existsSync(layout.stateDir)) return report;
  if (SYSTEM_SOCKETS.includes(layout.socket)) throw new Error(`refusing to clean up through the system containerd socket ${layout.socket}`);

  // 1. Through CRI: stop and remove containers and sandboxes.
  let temporary: RunningContainerd | null = null;
  let live = await socketAnswers(layout.socket, 2000);
  if (!live && existsSync(layout.configPath) && existsSync(join(layout.root, 'io.containerd.metadata.v1.bolt'))) {
    try {
      log('starting containerd to remove leftover pods');
      temporary = await startContainerdFromConfig(layout, meta.netns && existsSync(meta.netns) ? meta.netns : undefined);
      live = true;
    } catch (err: any) {
      report.errors.push(`could not start containerd for cleanup: ${err?.message ?? err}`);
    }
  }
  if (live) {
    // The gRPC client is loaded only here: a node's start asks no more of the CRI than whether it answers (criAnswers).
    const { CriClient } = await import('../cri/client.js');
    const cri = new CriClient(layout.socket, { timeoutMs: 60_000 });
    try {
      const { containers } = await cri.listContainers({});
      for (const c of containers) {
        try {
          if (c.state === 'CONTAINER_RUNNING' || c.state === 'CONTAINER_UNKNOWN') await cri.stopContainer({ containerId: c.id, timeout: 0 });
          await cri.removeContainer({ containerId: c.id });
          report.containers.push(c.id);
        } catch (err: any) {
          report.errors.push(`container ${c.id}: ${err?.message ?? err}`);
        }
      }
      const { items } = await cri.listPodSandbox({});
      for (const s of items) {
        try {
          await cri.stopPodSandbox({ podSandboxId: s.id });
          await cri.removePodSandbox({ podSandboxId: s.id });
          report.sandboxes.push(s.id);
        } catch (err: any) {
          report.errors.push(`sandbox ${s.id}: ${err?.message ?? err}`);
        }
      }
    } catch (err: any) {
      report.errors.push(`CRI listing failed: ${err?.message ?? err}`);
    } finally {
      cri.close();
    }
  }

  // 2. Stop this state dir's containerd (temporary or leftover).
  if (temporary) await temporary.stop();
  const leftover = livePrivateContainerd(layout);
  if (leftover) await terminate(leftover, 10_000);
  rmSync(layout.pidPath, { force: true });

  // 3. runc containers still registered under this node's runc root, then shims.
  const runcNsRoot = join(layout.runcRoot, 'k8s.io');
  if (existsSync(runcNsRoot)) {
    const list = await tryRun('runc', ['--root', runcNsRoot, 'list', '-q']);
    for (const id of list.stdout.split('\n').map((s) => s.trim()).filter(Boolean)) {
      const del = await tryRun('runc', ['--root', runcNsRoot, 'delete', '--force', id]);
      if (del.ok) report.runcContainers.push(id);
      else report.errors.push(`runc delete ${id}: ${del.stderr.trim()}`);
    }
  }
  for (const pid of shimPids(layout.socket)) {
    try {
      process.kill(pid, 'SIGKILL');
      report.shims.push(pid);
    } catch {
      // gone
    }
  }
  if (report.shims.length > 0) await sleep(200);

  // 4. Mounts below the state dir (rootfs overlays, sandbox shm, netns bind mounts).
  for (const m of mountsUnder(layout.stateDir)) {
    let r = await tryRun('umount', [m]);
    if (!r.ok) r = await tryRun('umount', ['-l', m]);
    if (r.ok) report.mounts.push(m);
    else report.errors.push(`umount ${m}: ${r.stderr.trim()}`);
  }
  if (existsSync(layout.netnsDir)) {
    for (const f of readdirSync(layout.netnsDir)) {
      rmSync(join(layout.netnsDir, f), { force: true });
      report.netns.push(f);
    }
  }

  // 5. Networking: CNI iptables leftovers, the bridge, host-local allocations.
  const net = readCniConfig(layout.cniConfDir);
  const network = net?.name ?? meta.network ?? null;
  const bridge = net?.bridge ?? meta.bridge ?? null;
  if (network) await cleanupIptables(network, report);
  if (bridge && existsSync(`/sys/class/net/${bridge}`)) {
    const del = await tryRun('ip', ['link', 'delete', bridge]);
    if (del.ok) report.bridge = bridge;
    else report.errors.push(`ip link delete ${bridge}: ${del.stderr.trim()}`);
  }
  rmSync(layout.cniDataDir, { recursive: true, force: true });

  // 6. Sockets (and, on request, everything else).
  for (const s of [layout.socket, layout.socket + '.ttrpc']) rmSync(s, { force: true });
  if (layout.socket.startsWith('/run/kite/')) rmSync(join(layout.socket, '..'), { recursive: true, force: true });
  if (opts.removeStateDir) {
    try {
      rmSync(layout.stateDir, { recursive: true, force: true });
    } catch (err: any) {
      report.errors.push(`remove ${layout.stateDir}: ${err?.message ?? err}`);
    }
  }
  for (const e of report.errors) log(e);
  return report;
}

/** Restarts containerd with the config.toml already in a state dir (used by cleanup). */
function startContainerdFromConfig(layout: RuntimeLayout, netns?: string): Promise<RunningContainerd> {
  return spawnContainerd(layout, 'containerd', 30_000, netns);
}

/**
 * Spawns `containerd --config <layout.configPath>` (log to layout.logPath) and
 * waits until its CRI answers Version. stop() sends SIGTERM, then SIGKILL after
 * graceMs, and removes the sockets.
 */
async function spawnContainerd(layout: RuntimeLayout, bin: string, timeoutMs: number, netns?: string): Promise<RunningContainerd> {
  const logFd = openSync(layout.logPath, 'a');
  let child: ChildProcess;
  // nsenter execs containerd in place: the pid stays containerd's.
  const argv = netns ? ['nsenter', `--net=${netns}`, bin, '--config', layout.configPath] : [bin, '--config', layout.configPath];
  try {
    child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', logFd, logFd],
      detached: true, // own process group: a ^C to the parent's group does not kill it mid-flight
    });
  } finally {
    closeSync(logFd);
  }
  let exitCode: number | null | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((res) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      res();
    });
    child.once('error', (err) => {
      spawnError = err;
      exitCode = -1;
      res();
    });
  });
  const pid = child.pid ?? -1;
  if (pid > 0) writeFileSync(layout.pidPath, `${pid}\n`);

  const stop = async (graceMs = 10_000): Promise<void> => {
    if (exitCode === undefined) {
      try {
        child.kill('SIGTERM');
      } catch {
        // already gone
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
      const outcome = await Promise.race([exited.then(() => 'exited' as const), timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        try {
          child.kill('SIGKILL');
        } catch {
          // already gone
        }
        await exited;
      }
    }
    rmSync(layout.pidPath, { force: true });
    for (const s of [layout.socket, layout.socket + '.ttrpc']) rmSync(s, { force: true });
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitCode !== undefined) {
      rmSync(layout.pidPath, { force: true });
      const why = spawnError ? spawnError.message : `exited with ${exitCode}`;
      throw new Error(`containerd ${why} before its socket answered; log ${layout.logPath}:\n${tail(layout.logPath)}`);
    }
    if (await socketAnswers(layout.socket, 1000)) break;
    if (Date.now() > deadline) {
      await stop(2000);
      throw new Error(`containerd did not answer on ${layout.socket} within ${timeoutMs} ms; log:\n${tail(layout.logPath)}`);
    }
    await sleep(100);
  }
  return { socket: layout.socket, pid, layout, stop, exited };
}

/** Facts about this host that matter to the runtime (for logs and NOTES). */
export function runtimeHostFacts(): Record<string, string> {
  const facts: Record<string, string> = {
    cgroupDriver: detectCgroupDriver(),
    cgroupVersion: detectCgroupVersion(),
  };
  try {
    facts.init = readlinkSync('/proc/1/exe');
  } catch {
    try {
      facts.init = readFileSync('/proc/1/comm', 'utf8').trim();
    } catch {
      // unknown
    }
  }
  try {
    facts.overlay = readFileSync('/proc/filesystems', 'utf8').includes('overlay') ? 'yes' : 'no';
  } catch {
    // unknown
  }
  try {
    statSync(CNI_BIN_DIR);
    facts.cniBinDir = CNI_BIN_DIR;
  } catch {
    // not installed
  }
  return facts;
}
