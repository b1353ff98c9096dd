// The NamespaceLifecycle admission plugin (upstream: plugin/pkg/admission/namespace/
// lifecycle): the namespaces the cluster itself needs can't be deleted.
import { forbidden } from '../../machinery/status.js';
import type { AdmissionPlugin } from './chain.js';

/** Upstream's immortal namespaces (default, kube-system, kube-public) plus kube-node-lease, which the node heartbeat needs. */
export const SYSTEM_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

export function namespaceLifecycleAdmission(): AdmissionPlugin {
  return {
    name: 'NamespaceLifecycle',
    validate(req) {
      if (req.operation !== 'DELETE' || req.resource.group !== '' || req.resource.plural !== 'namespaces') return;
      if (SYSTEM_NAMESPACES.has(req.name)) throw forbidden('', 'namespaces', req.name, 'this namespace may not be deleted');
    },
  };
}
