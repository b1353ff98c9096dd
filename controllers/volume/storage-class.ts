// The StorageClass every kite cluster starts with: `local-path`, the default class,
// provisioned by kite's built-in local-path provisioner (rancher.io/local-path) into
// <cluster dir>/storage on the node the pod lands on, WaitForFirstConsumer, Delete.
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { ANN_DEFAULT_CLASS, LOCAL_PATH_CLASS, LOCAL_PATH_PROVISIONER } from './util.js';

export function defaultLocalPathStorageClass(nodePath: string): StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: LOCAL_PATH_CLASS, annotations: { [ANN_DEFAULT_CLASS]: 'true' } },
    provisioner: LOCAL_PATH_PROVISIONER,
    parameters: { nodePath },
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
    allowVolumeExpansion: false,
  };
}
