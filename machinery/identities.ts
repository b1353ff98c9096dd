// The identities kite's own components use toward the API server (upstream's well-known
// users and groups), shared by the control plane, which grants them their roles, and
// the node agent, which issues their client certificates.
export const GROUP_AUTHENTICATED = 'system:authenticated';
export const GROUP_MASTERS = 'system:masters';
export const GROUP_NODES = 'system:nodes';

/** The API server's own (loopback) identity. */
export const APISERVER_USER = 'system:apiserver';
export const CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';
export const SCHEDULER_USER = 'system:kube-scheduler';
export const KUBE_PROXY_USER = 'system:kube-proxy';
/** kite's node components besides the proxy: cluster DNS, the ingress controller, NetworkPolicy enforcement. */
export const DNS_USER = 'system:kite:dns';
export const INGRESS_USER = 'system:kite:ingress';
export const NETPOL_USER = 'system:kite:netpol';

export function nodeUser(nodeName: string): string {
  return `system:node:${nodeName}`;
}
