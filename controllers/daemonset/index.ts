// The DaemonSet controller.
export { DaemonSetsController, newDaemonSetsController, shouldIgnoreNodeUpdate } from './controller.js';
export { planRollingUpdate, findUpdatedPodsOnNode, updatedDesiredNodeCounts } from './update.js';
export * from './util.js';
