// Hand-written OpenAPI v2 definitions for the patch tests: a miniature Deployment,
// PodSpec and ConfigMap carrying the same patch/list/map extensions as upstream's.

import type { Definitions, Schema } from '../../apiserver/patch/index.js';

const ref = (name: string, extra: Record<string, unknown> = {}): Schema => ({ $ref: `#/definitions/${name}`, ...extra });
const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer', format: 'int32' };
const bool: Schema = { type: 'boolean' };
const stringMap: Schema = { type: 'object', additionalProperties: { type: 'string' } };
const mapList = (item: string, keys: string[], mergeKey = keys[0], strategy = 'merge'): Schema => ({
  type: 'array',
  items: ref(item),
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': keys,
  'x-kubernetes-patch-merge-key': mergeKey,
  'x-kubernetes-patch-strategy': strategy,
});

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

export const definitions: Definitions = {
  'io.k8s.api.apps.v1.Deployment': {
    type: 'object',
    properties: {
      apiVersion: str,
      kind: str,
      metadata: ref(`${META}.ObjectMeta`),
      spec: ref('io.k8s.api.apps.v1.DeploymentSpec'),
      status: ref('io.k8s.api.apps.v1.DeploymentStatus'),
    },
    'x-kubernetes-group-version-kind': [{ group: 'apps', kind: 'Deployment', version: 'v1' }],
  },
  'io.k8s.api.apps.v1.DeploymentSpec': {
    type: 'object',
    properties: {
      replicas: int,
      paused: bool,
      minReadySeconds: int,
      revisionHistoryLimit: int,
      progressDeadlineSeconds: int,
      selector: ref(`${META}.LabelSelector`),
      template: ref('io.k8s.api.core.v1.PodTemplateSpec'),
      strategy: ref('io.k8s.api.apps.v1.DeploymentStrategy', { 'x-kubernetes-patch-strategy': 'retainKeys' }),
    },
  },
  'io.k8s.api.apps.v1.DeploymentStrategy': {
    type: 'object',
    properties: { type: str, rollingUpdate: ref('io.k8s.api.apps.v1.RollingUpdateDeployment') },
  },
  'io.k8s.api.apps.v1.RollingUpdateDeployment': {
    type: 'object',
    properties: {
      maxSurge: ref('io.k8s.apimachinery.pkg.util.intstr.IntOrString'),
      maxUnavailable: ref('io.k8s.apimachinery.pkg.util.intstr.IntOrString'),
    },
  },
  'io.k8s.api.apps.v1.DeploymentStatus': {
    type: 'object',
    properties: { replicas: int, observedGeneration: int, readyReplicas: int },
  },
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string' },
  [`${META}.Time`]: { type: 'string', format: 'date-time' },
  [`${META}.FieldsV1`]: { type: 'object' },
  [`${META}.ManagedFieldsEntry`]: {
    type: 'object',
    properties: {
      manager: str,
      operation: str,
      apiVersion: str,
      time: ref(`${META}.Time`),
      fieldsType: str,
      fieldsV1: ref(`${META}.FieldsV1`),
      subresource: str,
    },
  },
  [`${META}.OwnerReference`]: {
    type: 'object',
    properties: { apiVersion: str, kind: str, name: str, uid: str, controller: bool, blockOwnerDeletion: bool },
    'x-kubernetes-map-type': 'atomic',
  },
  [`${META}.ObjectMeta`]: {
    type: 'object',
    properties: {
      name: str,
      generateName: str,
      namespace: str,
      uid: str,
      resourceVersion: str,
      generation: { type: 'integer', format: 'int64' },
      creationTimestamp: ref(`${META}.Time`),
      deletionTimestamp: ref(`${META}.Time`),
      labels: stringMap,
      annotations: stringMap,
      finalizers: { type: 'array', items: str, 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
      ownerReferences: mapList(`${META}.OwnerReference`, ['uid']),
      managedFields: { type: 'array', items: ref(`${META}.ManagedFieldsEntry`), 'x-kubernetes-list-type': 'atomic' },
    },
  },
  [`${META}.LabelSelectorRequirement`]: {
    type: 'object',
    properties: { key: str, operator: str, values: { type: 'array', items: str, 'x-kubernetes-list-type': 'atomic' } },
  },
  [`${META}.LabelSelector`]: {
    type: 'object',
    properties: {
      matchLabels: stringMap,
      matchExpressions: { type: 'array', items: ref(`${META}.LabelSelectorRequirement`), 'x-kubernetes-list-type': 'atomic' },
    },
    'x-kubernetes-map-type': 'atomic',
  },
  'io.k8s.api.core.v1.PodTemplateSpec': {
    type: 'object',
    properties: { metadata: ref(`${META}.ObjectMeta`), spec: ref('io.k8s.api.core.v1.PodSpec') },
  },
  'io.k8s.api.core.v1.PodSpec': {
    type: 'object',
    properties: {
      containers: mapList('io.k8s.api.core.v1.Container', ['name']),
      initContainers: mapList('io.k8s.api.core.v1.Container', ['name']),
      volumes: mapList('io.k8s.api.core.v1.Volume', ['name'], 'name', 'merge,retainKeys'),
      tolerations: { type: 'array', items: ref('io.k8s.api.core.v1.Toleration'), 'x-kubernetes-list-type': 'atomic' },
      nodeSelector: { ...stringMap, 'x-kubernetes-map-type': 'atomic' },
      restartPolicy: str,
      dnsPolicy: str,
      schedulerName: str,
      terminationGracePeriodSeconds: { type: 'integer', format: 'int64' },
      securityContext: ref('io.k8s.api.core.v1.PodSecurityContext'),
    },
  },
  'io.k8s.api.core.v1.PodSecurityContext': { type: 'object', properties: { runAsUser: int, runAsNonRoot: bool } },
  'io.k8s.api.core.v1.Container': {
    type: 'object',
    properties: {
      name: str,
      image: str,
      imagePullPolicy: str,
      command: { type: 'array', items: str, 'x-kubernetes-list-type': 'atomic' },
      args: { type: 'array', items: str, 'x-kubernetes-list-type': 'atomic' },
      ports: mapList('io.k8s.api.core.v1.ContainerPort', ['containerPort', 'protocol'], 'containerPort'),
      env: mapList('io.k8s.api.core.v1.EnvVar', ['name']),
      volumeMounts: mapList('io.k8s.api.core.v1.VolumeMount', ['mountPath']),
      resources: ref('io.k8s.api.core.v1.ResourceRequirements'),
      terminationMessagePath: str,
      terminationMessagePolicy: str,
    },
  },
  'io.k8s.api.core.v1.ContainerPort': {
    type: 'object',
    properties: { name: str, containerPort: int, hostPort: int, protocol: { type: 'string', default: 'TCP' } },
  },
  'io.k8s.api.core.v1.EnvVar': {
    type: 'object',
    properties: {
      name: str,
      value: str,
      valueFrom: { type: 'object', properties: { fieldRef: { type: 'object', properties: { fieldPath: str } } } },
    },
  },
  'io.k8s.api.core.v1.VolumeMount': { type: 'object', properties: { name: str, mountPath: str, readOnly: bool } },
  'io.k8s.api.core.v1.Volume': {
    type: 'object',
    properties: {
      name: str,
      configMap: { type: 'object', properties: { name: str } },
      emptyDir: { type: 'object', properties: { medium: str } },
      secret: { type: 'object', properties: { secretName: str } },
    },
  },
  'io.k8s.api.core.v1.Toleration': { type: 'object', properties: { key: str, operator: str, value: str, effect: str } },
  'io.k8s.api.core.v1.ResourceRequirements': { type: 'object', properties: { limits: stringMap, requests: stringMap } },
  'io.k8s.api.core.v1.ConfigMap': {
    type: 'object',
    properties: { apiVersion: str, kind: str, metadata: ref(`${META}.ObjectMeta`), data: stringMap, binaryData: stringMap, immutable: bool },
    'x-kubernetes-group-version-kind': [{ group: '', kind: 'ConfigMap', version: 'v1' }],
  },
};

export const DEPLOYMENT = 'io.k8s.api.apps.v1.Deployment';
export const CONFIGMAP = 'io.k8s.api.core.v1.ConfigMap';

/** A Deployment as a live server holds it (defaults filled in). */
export function liveDeployment(): Record<string, any> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: '7d3c0b9e-0000-4000-8000-000000000001',
      resourceVersion: '100',
      generation: 1,
      creationTimestamp: '2024-05-01T10:00:00Z',
      labels: { app: 'web' },
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            { name: 'web', image: 'nginx:1.24', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
            { name: 'old', image: 'busybox:1' },
          ],
          restartPolicy: 'Always',
        },
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    },
    status: { replicas: 2, observedGeneration: 1 },
  };
}
