// ControllerRevision helpers shared by the StatefulSet and DaemonSet controllers.
export * from './hash.js';
export * from './history.js';
