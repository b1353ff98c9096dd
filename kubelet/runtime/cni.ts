// CNI configuration for a kite node: one network list for the node's pod CIDR,
// used by the private containerd's CRI plugin.
//
//   bridge (kite0, gateway, masquerade, hairpin) + host-local IPAM
//   -> portmap (hostPort support through the portMappings capability)
//   -> loopback (passes the bridge result through; brings `lo` up)
//
// The plugins come from Debian's containernetworking-plugins in /usr/lib/cni.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../images/archive.js';

export const CNI_BIN_DIR = '/usr/lib/cni';
export const DEFAULT_BRIDGE = 'kite0';
export const DEFAULT_NETWORK_NAME = 'kite';
/** Highest CNI spec version that Debian 12's plugins (1.1.1) and containerd 1.6 both speak. */
export const DEFAULT_CNI_VERSION = '1.0.0';

/** Versions kite's conflist is written for, preferred first. */
const KNOWN_VERSIONS = ['1.0.0', '0.4.0', '0.3.1'];

/** Where the CNI configuration of a runtime state directory lives. */
export function cniConfDir(stateDir: string): string {
  return join(stateDir, 'cni', 'net.d');
}

/** Where host-local keeps its IP allocations for a runtime state directory. */
export function cniDataDir(stateDir: string): string {
  return join(stateDir, 'cni', 'networks');
}

/** Asks a plugin binary which CNI versions it supports (CNI_COMMAND=VERSION). */
export function cniPluginVersions(plugin = join(CNI_BIN_DIR, 'bridge')): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      plugin,
      [],
      { env: { CNI_COMMAND: 'VERSION', PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 10_000 },
      (err, stdout) => {
        if (err) return reject(new Error(`${plugin} VERSION failed: ${err.message}`));
        try {
          const parsed = JSON.parse(stdout) as { supportedVersions?: string[] };
          resolve(parsed.supportedVersions ?? []);
        } catch {
          reject(new Error(`${plugin} VERSION printed no JSON: ${stdout.slice(0, 200)}`));
        }
      },
    );
    // Plugins may exit without reading stdin; ignore the resulting EPIPE.
    child.stdin?.on('error', () => {});
    child.stdin?.end(JSON.stringify({ cniVersion: DEFAULT_CNI_VERSION }));
  });
}

/** The newest CNI version kite knows that the installed bridge plugin supports. */
export async function detectCniVersion(binDir = CNI_BIN_DIR): Promise<string> {
  const supported = await cniPluginVersions(join(binDir, 'bridge'));
  const v = KNOWN_VERSIONS.find((k) => supported.includes(k));
  if (!v) throw new Error(`CNI bridge plugin supports none of ${KNOWN_VERSIONS.join(', ')} (it has ${supported.join(', ')})`);
  return v;
}

export interface ParsedCidr {
  family: 4 | 6;
  address: string;
  prefix: number;
}

/** Validates a CIDR such as 10.244.0.0/24 (host bits must be zero for IPv4). */
export function parseCidr(cidr: string): ParsedCidr {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
  if (!m) throw new Error(`invalid CIDR ${JSON.stringify(cidr)}`);
  const address = m[1]!;
  const prefix = Number(m[2]);
  if (/^\d+\.\d+\.\d+\.\d+$/.test(address)) {
    const octets = address.split('.').map(Number);
    if (octets.some((o) => o > 255) || prefix > 32) throw new Error(`invalid IPv4 CIDR ${cidr}`);
    if (prefix > 30) throw new Error(`pod CIDR ${cidr} is too small (need at least a /30)`);
    const n = octets.reduce((acc, o) => acc * 256 + o, 0);
    const size = 2 ** (32 - prefix);
    if (n % size !== 0) throw new Error(`CIDR ${cidr} has host bits set`);
    return { family: 4, address, prefix };
  }
  if (address.includes(':') && prefix <= 128) return { family: 6, address, prefix };
  throw new Error(`invalid CIDR ${JSON.stringify(cidr)}`);
}

export interface CniConfigOptions {
  /** the node's pod CIDR, e.g. 10.244.0.0/24 */
  podCIDR: string;
  /** network name (appears in iptables comments and host-local's data dir) */
  name?: string;
  /** bridge interface name (max 15 chars) */
  bridge?: string;
  cniVersion?: string;
  /** host-local allocation directory */
  dataDir?: string;
  /** MTU of the bridge and veths (default: the plugin's, 1500) */
  mtu?: number;
  /**
   * Masquerade pod traffic leaving the pod CIDR (default true). A node of a multi-node
   * cluster turns it off and masquerades only traffic leaving the cluster, so pods on
   * other nodes see the real pod address (NetworkPolicy matches on it).
   */
  ipMasq?: boolean;
}

/** The network configuration list as an object (ready for JSON). */
export function buildCniConflist(opts: CniConfigOptions): Record<string, unknown> {
  const cidr = parseCidr(opts.podCIDR);
  const bridge = opts.bridge ?? DEFAULT_BRIDGE;
  if (bridge.length > 15) throw new Error(`bridge name ${bridge} is longer than 15 characters`);
  const bridgePlugin: Record<string, unknown> = {
    type: 'bridge',
    bridge,
    isGateway: true,
    ipMasq: opts.ipMasq ?? true,
    hairpinMode: true,
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: opts.podCIDR.trim() }]],
      routes: [{ dst: cidr.family === 4 ? '0.0.0.0/0' : '::/0' }],
      ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    },
  };
  if (opts.mtu) bridgePlugin.mtu = opts.mtu;
  return {
    cniVersion: opts.cniVersion ?? DEFAULT_CNI_VERSION,
    name: opts.name ?? DEFAULT_NETWORK_NAME,
    plugins: [
      bridgePlugin,
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'loopback' },
    ],
  };
}

/** File name of kite's conflist in the conf dir. */
export function cniConfFileName(name = DEFAULT_NETWORK_NAME): string {
  return `10-${name}.conflist`;
}

/**
 * Writes the conflist into confDir (atomically: containerd watches the directory)
 * and returns its path. Other *.conf/*.conflist files there are left alone, but
 * containerd (max_conf_num = 1) only uses the first one in lexical order.
 */
export function writeCniConfig(opts: CniConfigOptions & { confDir: string }): string {
  const path = join(opts.confDir, cniConfFileName(opts.name));
  writeFileAtomic(path, JSON.stringify(buildCniConflist(opts), null, 2) + '\n');
  return path;
}

/** Reads kite's conflist back from a conf dir (first *.conflist), or null. */
export function readCniConfig(confDir: string): { name: string; bridge: string; path: string } | null {
  if (!existsSync(confDir)) return null;
  const files = readdirSync(confDir).filter((f) => f.endsWith('.conflist')).sort();
  for (const f of files) {
    try {
      const path = join(confDir, f);
      const conf = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; plugins?: Array<{ type?: string; bridge?: string }> };
      const br = conf.plugins?.find((p) => p.type === 'bridge');
      if (conf.name && br) return { name: conf.name, bridge: br.bridge ?? 'cni0', path };
    } catch {
      // not ours / unreadable: skip
    }
  }
  return null;
}

/** MTU of the interface carrying the default IPv4 route, or null. */
export function defaultRouteMtu(): number | null {
  try {
    const lines = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1);
    for (const line of lines) {
      const [iface, dest, , , , , , mask] = line.trim().split(/\s+/);
      if (iface && dest === '00000000' && mask === '00000000') {
        const mtu = Number(readFileSync(`/sys/class/net/${iface}/mtu`, 'utf8').trim());
        return Number.isFinite(mtu) && mtu > 0 ? mtu : null;
      }
    }
  } catch {
    // no procfs/sysfs: unknown
  }
  return null;
}
