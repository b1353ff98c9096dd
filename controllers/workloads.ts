// The workloads controllers, in the order the controller manager starts them.
import type { ControllerDescriptor } from './manager.js';
import { controller } from './manager.js';
import { newReplicaSetController, newReplicationManager } from './replicaset/index.js';
import { newDeploymentController } from './deployment/index.js';
import { newStatefulSetController } from './statefulset/index.js';
import { newDaemonSetsController } from './daemonset/index.js';
import { newHorizontalController } from './podautoscaler/index.js';

export const WORKLOADS_CONTROLLERS: ControllerDescriptor[] = [
  controller('replicaset-controller', newReplicaSetController),
  controller('replication-controller', newReplicationManager),
  controller('deployment-controller', newDeploymentController),
  controller('statefulset-controller', newStatefulSetController),
  controller('daemon-set-controller', newDaemonSetsController),
  controller('horizontal-pod-autoscaler', newHorizontalController),
];
