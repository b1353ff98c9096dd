// Objects every cluster has from the start (upstream: the API server's bootstrap
// controller and its endpoint reconciler), written through the request pipeline as the
// API server's own identity.
import type { ApiTransport } from '../client/transport.js';
import type { KubeObject } from '../machinery/object.js';
import { resourceByPath } from '../machinery/resources.js';
import { StatusError } from '../machinery/status.js';
import { kubeDnsService } from '../dns/config.js';
import { defaultIngressClass } from '../ingress/class.js';
import { defaultLocalPathStorageClass } from '../controllers/volume/storage-class.js';
import { KUBERNETES_SERVICE_IP } from '../machinery/pki.js';
import { reconcileBootstrapPolicy } from '../apiserver/authorization/bootstrap-policy.js';
import type { RbacKind } from '../apiserver/authorization/bootstrap-policy.js';
import { bootstrapFlowControl } from './flowcontrol.js';
import { bootstrapLocalAPIServices } from './apiservices.js';

const RBAC_PLURALS: Record<RbacKind, string> = { ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings', Role: 'roles', RoleBinding: 'rolebindings' };

const res = (group: string, plural: string) => resourceByPath(group, 'v1', plural)!;

/** Create `obj` unless it exists (looked up first: creating an existing Service would first collide on its cluster IP). */
async function ensure(client: ApiTransport, group: string, plural: string, obj: KubeObject): Promise<void> {
  try {
    await client.get(res(group, plural), obj.metadata?.namespace, obj.metadata!.name!);
    return;
  } catch (err) {
    if (!(err instanceof StatusError && err.code === 404)) throw err;
  }
  try {
    await client.create(res(group, plural), obj.metadata?.namespace, obj);
  } catch (err) {
    if (!(err instanceof StatusError)) throw err;
    // Another API server starting at the same time made it first (its create may also
    // have claimed the Service's cluster IP: 422 here): fine if it is there now.
    if (err.code === 409) return;
    try {
      await client.get(res(group, plural), obj.metadata?.namespace, obj.metadata!.name!);
    } catch {
      throw err;
    }
  }
}

async function reconcilePolicy(client: ApiTransport, rbac: (kind: RbacKind) => ReturnType<typeof res>): Promise<void> {
  await reconcileBootstrapPolicy({
    get: async (kind, ns, name) => {
      try {
        return await client.get(rbac(kind), ns, name);
      } catch (err) {
        if (err instanceof StatusError && err.code === 404) return undefined;
        throw err;
      }
    },
    create: (kind, obj) => client.create(rbac(kind), obj.metadata?.namespace, obj),
    update: (kind, obj) => client.update(rbac(kind), obj.metadata?.namespace, obj),
    delete: (kind, ns, name) => client.delete(rbac(kind), ns, name),
  });
}

export interface BootstrapOptions {
  /** The API server's port and the address pods reach it at (the `kubernetes` Service's endpoint). */
  port: number;
  advertise: string;
  /** Where the default local-path StorageClass provisions volumes. */
  storageDir: string;
}

export async function bootstrapCluster(client: ApiTransport, o: BootstrapOptions): Promise<void> {
  await Promise.all(['default', 'kube-system', 'kube-public', 'kube-node-lease'].map((name) => ensure(client, '', 'namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })));
  // Upstream's default roles and bindings, and one least-privilege role per component:
  // created when missing, topped up (never cut back) when they exist.
  const rbac = (kind: RbacKind) => res('rbac.authorization.k8s.io', RBAC_PLURALS[kind]);
  // Several API servers may reconcile at once: a 409 (made or changed by another) is
  // answered by reconciling again from what is stored now.
  for (let attempt = 0; ; attempt++) {
    try {
      await reconcilePolicy(client, rbac);
      break;
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 409) || attempt >= 5) throw err;
    }
  }
  await ensure(client, 'storage.k8s.io', 'storageclasses', defaultLocalPathStorageClass(o.storageDir) as unknown as KubeObject);
  await ensure(client, '', 'services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP: KUBERNETES_SERVICE_IP, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: o.port }], sessionAffinity: 'None' },
  });
  // Its Endpoints and EndpointSlices are the endpoint reconciler's (server/endpoint-reconciler.ts).
  await ensure(client, '', 'services', kubeDnsService() as unknown as KubeObject);
  await ensure(client, 'networking.k8s.io', 'ingressclasses', defaultIngressClass() as unknown as KubeObject);
  await bootstrapFlowControl(client);
  await bootstrapLocalAPIServices(client);
}
