// Which apiVersion/kind pairs the protobuf codec understands, and the message
// each one is carried as.

import { MESSAGES, addListMessage, linkSchema, type MessageDef } from './schema.js';

/** Kinds that are stored objects: their `…List` is supported too. */
const OBJECT_KINDS: ReadonlyArray<[apiVersion: string, kind: string, message: string]> = [
  ['v1', 'ConfigMap', 'core.ConfigMap'],
  ['v1', 'Secret', 'core.Secret'],
  ['v1', 'Namespace', 'core.Namespace'],
  ['v1', 'Service', 'core.Service'],
  ['v1', 'ServiceAccount', 'core.ServiceAccount'],
  ['v1', 'ResourceQuota', 'core.ResourceQuota'],
  ['v1', 'Pod', 'core.Pod'],
  ['v1', 'ReplicationController', 'core.ReplicationController'],
  ['v1', 'PersistentVolumeClaim', 'core.PersistentVolumeClaim'],
  ['apps/v1', 'Deployment', 'apps.Deployment'],
  ['apps/v1', 'StatefulSet', 'apps.StatefulSet'],
  ['apps/v1', 'DaemonSet', 'apps.DaemonSet'],
  ['apps/v1', 'ReplicaSet', 'apps.ReplicaSet'],
  ['batch/v1', 'Job', 'batch.Job'],
  ['batch/v1', 'CronJob', 'batch.CronJob'],
  ['networking.k8s.io/v1', 'Ingress', 'networking.Ingress'],
  ['networking.k8s.io/v1', 'IngressClass', 'networking.IngressClass'],
  ['policy/v1', 'PodDisruptionBudget', 'policy.PodDisruptionBudget'],
  ['scheduling.k8s.io/v1', 'PriorityClass', 'scheduling.PriorityClass'],
  ['rbac.authorization.k8s.io/v1', 'Role', 'rbac.Role'],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole', 'rbac.ClusterRole'],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'rbac.RoleBinding'],
  ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'rbac.ClusterRoleBinding'],
  ['certificates.k8s.io/v1', 'CertificateSigningRequest', 'certificates.CertificateSigningRequest'],
  ['autoscaling/v1', 'HorizontalPodAutoscaler', 'autoscaling1.HorizontalPodAutoscaler'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler', 'autoscaling2.HorizontalPodAutoscaler'],
];

/** Kinds that are only ever request/response bodies. */
const OTHER_KINDS: ReadonlyArray<[apiVersion: string, kind: string, message: string]> = [
  ['v1', 'Status', 'meta.Status'],
  ['policy/v1', 'Eviction', 'policy.Eviction'],
  ['authorization.k8s.io/v1', 'SelfSubjectAccessReview', 'authorization.SelfSubjectAccessReview'],
  ['authorization.k8s.io/v1', 'SelfSubjectRulesReview', 'authorization.SelfSubjectRulesReview'],
  ['authorization.k8s.io/v1', 'SubjectAccessReview', 'authorization.SubjectAccessReview'],
  ['authorization.k8s.io/v1', 'LocalSubjectAccessReview', 'authorization.LocalSubjectAccessReview'],
  ['authentication.k8s.io/v1', 'TokenRequest', 'authentication.TokenRequest'],
  ['authentication.k8s.io/v1', 'TokenReview', 'authentication.TokenReview'],
  ['authentication.k8s.io/v1', 'SelfSubjectReview', 'authentication.SelfSubjectReview'],
  ['autoscaling/v1', 'Scale', 'autoscaling1.Scale'],
];

/**
 * DeleteOptions travels under whatever group version the client talks to
 * (kubectl's typed RBAC client sends `rbac.authorization.k8s.io/v1`), so it is
 * accepted with any apiVersion; these are the ones listed in PROTOBUF_KINDS.
 */
export const DELETE_OPTIONS_MESSAGE = 'meta.DeleteOptions';

const table = new Map<string, string>();
for (const [apiVersion, kind, message] of OBJECT_KINDS) {
  table.set(`${apiVersion}/${kind}`, message);
  table.set(`${apiVersion}/${kind}List`, addListMessage(MESSAGES, message));
}
for (const [apiVersion, kind, message] of OTHER_KINDS) table.set(`${apiVersion}/${kind}`, message);
const groupVersions = new Set([...table.keys()].map((k) => k.slice(0, k.lastIndexOf('/'))));
groupVersions.add('meta.k8s.io/v1');
for (const gv of groupVersions) table.set(`${gv}/DeleteOptions`, DELETE_OPTIONS_MESSAGE);
linkSchema(MESSAGES);

export const KIND_MESSAGES: ReadonlyMap<string, string> = table;

/** The message for apiVersion/kind, or undefined when not supported. */
export function messageFor(apiVersion: string, kind: string): MessageDef | undefined {
  const name = table.get(`${apiVersion}/${kind}`) ?? (kind === 'DeleteOptions' && apiVersion ? DELETE_OPTIONS_MESSAGE : undefined);
  return name ? MESSAGES.get(name) : undefined;
}
