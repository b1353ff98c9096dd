// The kubelet's configuration: what `kite kubelet --config FILE` reads (JSON).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KubeletConfig {
  nodeName: string;
  /** https URL of the API server */
  apiServer: string;
  /**
   * Reach the API servers through a balancer of the kubelet's own on loopback, its
   * backends following the `kubernetes` endpoints (several API servers: the node carries
   * on through another when one dies).
   */
  apiServerBalancer?: boolean;
  /** PEM files: the cluster CA, the kubelet's client certificate (CN system:node:<name>, O system:nodes) */
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** PEM files of the serving certificate (SANs: node IP, node name, hostname) */
  servingCertFile: string;
  servingKeyFile: string;
  /** the kubelet's state (pods/, logs/) */
  rootDir: string;
  /** 'containerd' (CRI) or 'hollow' (simulated) */
  runtime: 'containerd' | 'hollow';
  /** containerd's CRI socket (runtime containerd) */
  containerdSocket?: string;
  /** HTTPS server address and port (default 0.0.0.0:10250) */
  address: string;
  port: number;
  /** InternalIP to report (default: the host's first non-loopback IPv4) */
  nodeIP?: string;
  podCIDR?: string;
  controlPlane?: boolean;
  labels?: Record<string, string>;
  clusterDNS: string[];
  clusterDomain: string;
  /** cgroupfs parent of every pod cgroup (`<cgroupRoot>/pod<uid>`); '' leaves it to the runtime */
  cgroupRoot: string;
  maxPods: number;
  /** use the node's own busybox image when its Always pull fails (offline clusters); other images fail as upstream */
  offlineImageFallback: boolean;
  /** pod resync period (ms): refreshes ConfigMap/Secret volumes, re-checks state */
  syncPeriodMs: number;
}

export const DEFAULT_KUBELET_PORT = 10250;

export function defaultKubeletConfig(partial: Partial<KubeletConfig> & Pick<KubeletConfig, 'nodeName' | 'apiServer' | 'rootDir' | 'caFile' | 'clientCertFile' | 'clientKeyFile' | 'servingCertFile' | 'servingKeyFile'>): KubeletConfig {
  return {
    runtime: 'containerd',
    address: '0.0.0.0',
    port: DEFAULT_KUBELET_PORT,
    clusterDNS: ['10.96.0.10'],
    clusterDomain: 'cluster.local',
    cgroupRoot: '',
    maxPods: 110,
    offlineImageFallback: true,
    syncPeriodMs: 10_000,
    ...partial,
  };
}

export function loadKubeletConfig(path: string): KubeletConfig {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<KubeletConfig>;
  for (const k of ['nodeName', 'apiServer', 'rootDir', 'caFile', 'clientCertFile', 'clientKeyFile', 'servingCertFile', 'servingKeyFile'] as const) {
    if (!raw[k]) throw new Error(`${path}: ${k} is required`);
  }
  return defaultKubeletConfig(raw as KubeletConfig);
}

export function podsDir(cfg: KubeletConfig): string {
  return join(cfg.rootDir, 'pods');
}

export function podLogsDir(cfg: KubeletConfig): string {
  return join(cfg.rootDir, 'logs', 'pods');
}
