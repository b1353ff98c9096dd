// kube-public/cluster-info (what kubeadm init publishes): a kubeconfig naming the API
// server's address and the cluster CA, which `kite join` reads and checks against the
// CA hash it was given. The bootstrap signer adds a JWS per bootstrap token.
import type { ApiTransport } from '../client/transport.js';
import type { KubeObject } from '../machinery/object.js';
import { resourceByPath } from '../machinery/resources.js';
import { StatusError } from '../machinery/status.js';
import { CLUSTER_INFO_NAME, CLUSTER_INFO_NAMESPACE } from '../machinery/bootstrap-token.js';

const CONFIGMAPS = resourceByPath('', 'v1', 'configmaps')!;

/**
 * The one path kite serves to anonymous callers, as kubeadm makes cluster-info readable
 * by `system:anonymous` (the kubeadm:bootstrap-signer-clusterinfo RoleBinding): a joining
 * machine reads it before it trusts the server, so before it sends its token.
 */
export const CLUSTER_INFO_PATH = `/api/v1/namespaces/${CLUSTER_INFO_NAMESPACE}/configmaps/${CLUSTER_INFO_NAME}`;

/** The kubeconfig cluster-info carries (kubeadm's: one cluster with an empty name, no users). */
export function clusterInfoKubeconfig(server: string, caCert: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${Buffer.from(caCert).toString('base64')}`,
    `    server: ${server}`,
    '  name: ""',
    'contexts: null',
    'current-context: ""',
    'preferences: {}',
    'users: null',
    '',
  ].join('\n');
}

export async function publishClusterInfo(client: ApiTransport, server: string, caCert: string): Promise<void> {
  const kubeconfig = clusterInfoKubeconfig(server, caCert);
  for (let attempt = 0; attempt < 5; attempt++) {
    let cur: (KubeObject & { data?: Record<string, string> }) | undefined;
    try {
      cur = await client.get(CONFIGMAPS, CLUSTER_INFO_NAMESPACE, CLUSTER_INFO_NAME);
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 404)) throw err;
    }
    try {
      if (!cur) {
        await client.create(CONFIGMAPS, CLUSTER_INFO_NAMESPACE, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CLUSTER_INFO_NAME, namespace: CLUSTER_INFO_NAMESPACE }, data: { kubeconfig } });
      } else if (cur.data?.kubeconfig !== kubeconfig) {
        // The signatures of the old content are stale: the bootstrap signer redoes them.
        await client.update(CONFIGMAPS, CLUSTER_INFO_NAMESPACE, { ...cur, data: { kubeconfig } });
      }
      return;
    } catch (err) {
      if (!(err instanceof StatusError && (err.code === 409 || err.code === 404))) throw err;
    }
  }
}
