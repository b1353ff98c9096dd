// The ReplicaSet controller (also running ReplicationControllers) and the helpers the
// other workload controllers share.
export { ReplicaSetController, newReplicaSetController, newReplicationManager, REPLICASET_KIND, REPLICATIONCONTROLLER_KIND } from './replicaset.js';
