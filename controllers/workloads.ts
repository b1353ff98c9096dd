// The workloads controllers, in the order the controller manager starts them.
import type { ControllerConstructor } from './manager.js';
import { newReplicaSetController, newReplicationManager } from './replicaset/index.js';
import { newDeploymentController } from './deployment/index.js';
import { newStatefulSetController } from './statefulset/index.js';
import { newDaemonSetsController } from './daemonset/index.js';

export const WORKLOADS_CONTROLLERS: ControllerConstructor[] = [newReplicaSetController, newReplicationManager, newDeploymentController, newStatefulSetController, newDaemonSetsController];
