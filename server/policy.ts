// The cluster's policy, as the control plane assembles it: who may do what (the
// authorizer chain) and what every write passes through (the admission chain), each
// built once at start-up over the in-memory lookups.
import type { KubeObject } from '../machinery/object.js';
import type { ClusterLookups } from '../apiserver/lookups.js';
import type { AdmissionPlugin } from '../apiserver/admission/chain.js';
import type { Authorizer, Decision, RequestAttributes } from '../apiserver/authorization/types.js';
import { AuthorizerChain } from '../apiserver/authorization/types.js';
import { priorityAdmission } from '../apiserver/admission/priority.js';
import { namespaceLifecycleAdmission } from '../apiserver/admission/namespace-lifecycle.js';
import { defaultStorageClassAdmission } from '../controllers/volume/default-class.js';
import type { RulesResolver } from '../apiserver/pipeline.js';

/** Members of system:masters may do everything, before any other authorizer is asked (upstream's privileged-group authorizer). */
export const MASTERS_GROUP = 'system:masters';

const privilegedGroup: Authorizer = {
  authorize: (a: RequestAttributes): Decision => (a.user.groups.includes(MASTERS_GROUP) ? { decision: 'allow', reason: '' } : { decision: 'noOpinion', reason: '' }),
};

export interface ClusterPolicy {
  authorizer: Authorizer;
  rules?: RulesResolver;
  admission: AdmissionPlugin[];
}

export function clusterPolicy(lookups: ClusterLookups): ClusterPolicy {
  const authorizer = new AuthorizerChain([privilegedGroup]);
  const admission: AdmissionPlugin[] = [
    namespaceLifecycleAdmission(),
    priorityAdmission({
      priorityClass: (name) => lookups.get('scheduling.k8s.io', 'priorityclasses', undefined, name),
      priorityClasses: () => lookups.list('scheduling.k8s.io', 'priorityclasses'),
    }),
    defaultStorageClassAdmission(() => lookups.list('storage.k8s.io', 'storageclasses') as KubeObject[]),
  ];
  return { authorizer, admission };
}
