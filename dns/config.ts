// Cluster DNS facts other components share: the kubelet writes pods' resolv.conf from
// them (nameserver DNS_SERVICE_IP, search <ns>.svc.<domain> svc.<domain> <domain>,
// ndots:5), the control plane creates the `kube-dns` Service from them.
import type { Service } from 'kubernetes-types/core/v1.js';

export const CLUSTER_DOMAIN = 'cluster.local';
/** The ClusterIP of `kube-system/kube-dns` (the 10th address of 10.96.0.0/12, as kubeadm). */
export const DNS_SERVICE_IP = '10.96.0.10';
export const DNS_SERVICE_NAME = 'kube-dns';
export const DNS_NAMESPACE = 'kube-system';
/** The DNS server's metrics port (as CoreDNS's). */
export const DNS_METRICS_PORT = 9153;
/** The schema version answered at `dns-version.<domain>` TXT. */
export const DNS_SCHEMA_VERSION = '1.1.0';

/** What the kubelet needs for pods' resolv.conf (the shape of its DnsSettings). */
export function clusterDnsSettings(): { clusterDNS: string[]; clusterDomain: string } {
  return { clusterDNS: [DNS_SERVICE_IP], clusterDomain: CLUSTER_DOMAIN };
}

/**
 * The `kube-dns` Service the control plane creates at bootstrap. It has no selector:
 * the DNS server publishes its own endpoints (the node address it listens on).
 * The `kubernetes.io/cluster-service` label makes `kubectl cluster-info` list it.
 */
export function kubeDnsService(): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: DNS_SERVICE_NAME,
      namespace: DNS_NAMESPACE,
      labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'KubeDNS' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: DNS_SERVICE_IP,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: DNS_METRICS_PORT, protocol: 'TCP', targetPort: DNS_METRICS_PORT },
      ],
      sessionAffinity: 'None',
    },
  };
}
