// The `default/kubernetes` EndpointSlice (upstream: the API server's endpoint reconciler
// writes it next to the Endpoints): the Service has no selector, so no controller makes
// it, and the proxy reads slices, not Endpoints.
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { LABEL_SERVICE_NAME } from './util.js';

export function kubernetesEndpointSlice(ip: string, port: number): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { [LABEL_SERVICE_NAME]: 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'kube-apiserver' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } }],
    ports: [{ name: 'https', port, protocol: 'TCP' }],
  };
}
